/* SPDX-License-Identifier: ISC */
/*
 * The transaction machine (src/txn.c) from tables of replies, without a
 * socket: for each reply fed, the step it asks for and the commands it
 * wants sent.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "txn.h"

struct exchange {
	int		 code;		/* reply fed (0: none, the start) */
	const char	*text;
	enum txn_step	 want;		/* the step that follows */
	const char	*sent;		/* prefix of `out` after it, or NULL */
};

struct scenario {
	const char		*name;
	int			 nrcpts;
	bool			 pipelining, chunking, partial;
	size_t			 rcptmax;
	const struct exchange	 steps[24];
	int			 delivered;	/* recipients delivered at the end */
	int			 remaining;	/* what -q would retry */
	bool			 rset;		/* RSET ahead of MAIL */
	int			 next;		/* 1 + txn_next at the end;
						 * 0: not checked */
};

#define CLOSE	(1 + TXN_NEXT_CLOSE)
#define CLEAN	(1 + TXN_NEXT_CLEAN)
#define RSET	(1 + TXN_NEXT_RSET)

static const struct scenario scenarios[] = {
	{ "one recipient, pipelined, BDAT in the first flight", 1, true, true,
	  false, 0, {
		{ 0, NULL, TXN_SEND_BODY, "MAIL FROM:<s@x.org> SIZE=10\r\n"
		    "RCPT TO:<r0@y.org>\r\nBDAT 10 LAST\r\n" },
		{ 250, "ok", TXN_READ, NULL },
		{ 250, "ok", TXN_READ, NULL },
		{ 250, "queued", TXN_DONE, NULL },
		{ -1, NULL, 0, NULL } }, 1, 0, false, 0 },
	{ "two recipients, all or nothing: DATA waits for RCPT", 2, true,
	  false, false, 0, {
		{ 0, NULL, TXN_SEND, "MAIL FROM:<s@x.org> SIZE=10\r\n"
		    "RCPT TO:<r0@y.org>\r\nRCPT TO:<r1@y.org>\r\n" },
		{ 250, "ok", TXN_READ, NULL },
		{ 250, "ok", TXN_READ, NULL },
		{ 250, "ok", TXN_SEND, "DATA\r\n" },
		{ 354, "go", TXN_SEND_BODY, NULL },
		{ 250, "queued", TXN_DONE, NULL },
		{ -1, NULL, 0, NULL } }, 2, 0, false, 0 },
	{ "one refusal stops all: nothing delivered", 2, true, false, false, 0, {
		{ 0, NULL, TXN_SEND, NULL },
		{ 250, "ok", TXN_READ, NULL },
		{ 550, "5.1.1 no", TXN_READ, NULL },
		{ 250, "ok", TXN_FAILED, NULL },
		{ -1, NULL, 0, NULL } }, 0, 1, false, 0 },
	{ "452 too many: the rest in a second transaction", 3, true, true,
	  false, 0, {
		{ 0, NULL, TXN_SEND, NULL },
		{ 250, "ok", TXN_READ, NULL },
		{ 250, "ok", TXN_READ, NULL },
		{ 250, "ok", TXN_READ, NULL },
		{ 452, "4.5.3 Too many recipients", TXN_SEND_BODY,
		    "BDAT 10 LAST\r\n" },
		{ 250, "queued 1", TXN_SEND, "MAIL FROM:<s@x.org> SIZE=10\r\n"
		    "RCPT TO:<r2@y.org>\r\n" },
		{ 250, "ok", TXN_READ, NULL },
		{ 250, "ok", TXN_SEND_BODY, "BDAT 10 LAST\r\n" },
		{ 250, "queued 2", TXN_DONE, NULL },
		{ -1, NULL, 0, NULL } }, 3, 0, false, 0 },
	{ "LIMITS RCPTMAX=2: batches of two, never more", 5, true, true, false,
	  2, {
		{ 0, NULL, TXN_SEND, "MAIL FROM:<s@x.org> SIZE=10\r\n"
		    "RCPT TO:<r0@y.org>\r\nRCPT TO:<r1@y.org>\r\n" },
		{ 250, "ok", TXN_READ, NULL },
		{ 250, "ok", TXN_READ, NULL },
		{ 250, "ok", TXN_SEND_BODY, NULL },
		{ 250, "q1", TXN_SEND, "MAIL FROM:<s@x.org> SIZE=10\r\n"
		    "RCPT TO:<r2@y.org>\r\nRCPT TO:<r3@y.org>\r\n" },
		{ 250, "ok", TXN_READ, NULL },
		{ 250, "ok", TXN_READ, NULL },
		{ 250, "ok", TXN_SEND_BODY, NULL },
		{ 250, "q2", TXN_SEND, "MAIL FROM:<s@x.org> SIZE=10\r\n"
		    "RCPT TO:<r4@y.org>\r\n" },
		{ 250, "ok", TXN_READ, NULL },
		{ 250, "ok", TXN_SEND_BODY, NULL },
		{ 250, "q3", TXN_DONE, NULL },
		{ -1, NULL, 0, NULL } }, 5, 0, false, 0 },
	{ "second batch deferred: the first batch is not sent again", 4, true,
	  true, false, 2, {
		{ 0, NULL, TXN_SEND, NULL },
		{ 250, "ok", TXN_READ, NULL },
		{ 250, "ok", TXN_READ, NULL },
		{ 250, "ok", TXN_SEND_BODY, NULL },
		{ 250, "q1", TXN_SEND, NULL },
		{ 250, "ok", TXN_READ, NULL },
		{ 250, "ok", TXN_READ, NULL },
		{ 450, "4.2.0 greylisted", TXN_FAILED, NULL },
		{ -1, NULL, 0, NULL } }, 2, 2, false, 0 },
	{ "no PIPELINING: one command per reply, DATA", 2, false, false, false,
	  0, {
		{ 0, NULL, TXN_SEND, "MAIL FROM:<s@x.org> SIZE=10\r\n" },
		{ 250, "ok", TXN_SEND, "RCPT TO:<r0@y.org>\r\n" },
		{ 250, "ok", TXN_SEND, "RCPT TO:<r1@y.org>\r\n" },
		{ 250, "ok", TXN_SEND, "DATA\r\n" },
		{ 354, "go", TXN_SEND_BODY, NULL },
		{ 250, "queued", TXN_DONE, NULL },
		{ -1, NULL, 0, NULL } }, 2, 0, false, 0 },
	{ "no PIPELINING, 452 at the second: the rest next time", 3, false,
	  false, false, 0, {
		{ 0, NULL, TXN_SEND, NULL },
		{ 250, "ok", TXN_SEND, "RCPT TO:<r0@y.org>\r\n" },
		{ 250, "ok", TXN_SEND, "RCPT TO:<r1@y.org>\r\n" },
		{ 452, "too many recipients", TXN_SEND, "DATA\r\n" },
		{ 354, "go", TXN_SEND_BODY, NULL },
		{ 250, "q1", TXN_SEND, "MAIL FROM:<s@x.org> SIZE=10\r\n" },
		{ 250, "ok", TXN_SEND, "RCPT TO:<r1@y.org>\r\n" },
		{ 250, "ok", TXN_SEND, "RCPT TO:<r2@y.org>\r\n" },
		{ 250, "ok", TXN_SEND, "DATA\r\n" },
		{ 354, "go", TXN_SEND_BODY, NULL },
		{ 250, "q2", TXN_DONE, NULL },
		{ -1, NULL, 0, NULL } }, 3, 0, false, 0 },
	{ "partial delivery: the refused one is named, the rest delivered", 2,
	  true, true, true, 0, {
		{ 0, NULL, TXN_SEND_BODY, NULL },
		{ 250, "ok", TXN_READ, NULL },
		{ 550, "5.1.1 unknown", TXN_READ, NULL },
		{ 250, "ok", TXN_READ, NULL },
		{ 250, "queued", TXN_FAILED, NULL },
		{ -1, NULL, 0, NULL } }, 1, 0, false, 0 },
	{ "MAIL refused", 1, true, true, false, 0, {
		{ 0, NULL, TXN_SEND_BODY, NULL },
		{ 553, "5.7.1 sender rejected", TXN_FAILED, NULL },
		{ -1, NULL, 0, NULL } }, 0, 1, false, 0 },
	{ "the next message: RSET in the same write as MAIL", 1, true, true,
	  false, 0, {
		{ 0, NULL, TXN_SEND_BODY, "RSET\r\nMAIL FROM:<s@x.org> "
		    "SIZE=10\r\nRCPT TO:<r0@y.org>\r\nBDAT 10 LAST\r\n" },
		{ 250, "reset", TXN_READ, NULL },
		{ 250, "ok", TXN_READ, NULL },
		{ 250, "ok", TXN_READ, NULL },
		{ 250, "queued", TXN_DONE, NULL },
		{ -1, NULL, 0, NULL } }, 1, 0, true, CLEAN },
	{ "without PIPELINING, RSET alone, then MAIL", 1, false, false,
	  false, 0, {
		{ 0, NULL, TXN_SEND, "RSET\r\n" },
		{ 250, "reset", TXN_SEND, "MAIL FROM:<s@x.org> SIZE=10\r\n" },
		{ 250, "ok", TXN_SEND, "RCPT TO:<r0@y.org>\r\n" },
		{ 250, "ok", TXN_SEND, "DATA\r\n" },
		{ 354, "go", TXN_SEND_BODY, NULL },
		{ 250, "queued", TXN_DONE, NULL },
		{ -1, NULL, 0, NULL } }, 1, 0, true, CLEAN },
	{ "a refused RSET: the connection is not trusted again", 1, true,
	  true, false, 0, {
		{ 0, NULL, TXN_SEND_BODY, "RSET\r\n" },
		{ 500, "what", TXN_FAILED, NULL },
		{ -1, NULL, 0, NULL } }, 0, 1, true, CLOSE },
	{ "a refused recipient leaves MAIL open: RSET before the next", 2,
	  true, false, false, 0, {
		{ 0, NULL, TXN_SEND, "MAIL" },
		{ 250, "ok", TXN_READ, NULL },
		{ 550, "5.1.1 no", TXN_READ, NULL },
		{ 250, "ok", TXN_FAILED, NULL },
		{ -1, NULL, 0, NULL } }, 0, 1, false, RSET },
	{ "a refused MAIL opens nothing: the next goes at once", 1, false,
	  false, false, 0, {
		{ 0, NULL, TXN_SEND, "MAIL" },
		{ 553, "5.7.1 sender rejected", TXN_FAILED, NULL },
		{ -1, NULL, 0, NULL } }, 0, 1, false, CLEAN },
	{ "a refused final dot ends the transaction", 1, false, false,
	  false, 0, {
		{ 0, NULL, TXN_SEND, "MAIL" },
		{ 250, "ok", TXN_SEND, "RCPT" },
		{ 250, "ok", TXN_SEND, "DATA" },
		{ 354, "go", TXN_SEND_BODY, NULL },
		{ 554, "5.7.1 spam", TXN_FAILED, NULL },
		{ -1, NULL, 0, NULL } }, 0, 1, false, CLEAN },
	{ "421 to MAIL: the server is closing", 1, true, true, false, 0, {
		{ 0, NULL, TXN_SEND_BODY, "MAIL" },
		{ 421, "4.7.0 too many messages", TXN_FAILED, NULL },
		{ -1, NULL, 0, NULL } }, 0, 1, false, CLOSE },
	{ "per-connection cap: 452 again in the second transaction", 3, true,
	  true, false, 0, {
		{ 0, NULL, TXN_SEND, NULL },
		{ 250, "ok", TXN_READ, NULL },
		{ 250, "ok", TXN_READ, NULL },
		{ 250, "ok", TXN_READ, NULL },
		{ 452, "4.5.3 Too many recipients", TXN_SEND_BODY,
		    "BDAT 10 LAST\r\n" },
		{ 250, "queued 1", TXN_SEND, "MAIL FROM:<s@x.org> SIZE=10\r\n"
		    "RCPT TO:<r2@y.org>\r\n" },
		{ 250, "ok", TXN_READ, NULL },
		{ 452, "4.5.3 Too many recipients", TXN_FAILED, NULL },
		{ -1, NULL, 0, NULL } }, 2, 1, false, CLOSE },
	{ "Haraka's limit: 450 Too many recipient attempts", 1, true, true,
	  false, 0, {
		{ 0, NULL, TXN_SEND_BODY, "MAIL" },
		{ 250, "ok", TXN_READ, NULL },
		{ 450, "Too many recipient attempts", TXN_FAILED, NULL },
		{ -1, NULL, 0, NULL } }, 0, 1, false, CLOSE },
};

static void
make_envelope(struct envelope *e, int n)
{
	char spec[32];
	int i;

	memset(e, 0, sizeof(*e));
	e->sender = strdup("s@x.org");
	for (i = 0; i < n; i++) {
		snprintf(spec, sizeof(spec), "r%d@y.org", i);
		addrlist_add_unique(&e->rcpts, spec);
	}
}

static void
run(const struct scenario *sc)
{
	struct envelope e;
	struct caps c;
	struct txn t;
	struct addrlist left = { 0 };
	enum txn_step st = TXN_READ;
	char ctx[200];
	int i;

	make_envelope(&e, sc->nrcpts);
	memset(&c, 0, sizeof(c));
	c.pipelining = sc->pipelining;
	c.chunking = sc->chunking;
	c.size = true;
	c.rcptmax = sc->rcptmax;
	for (i = 0; sc->steps[i].code != -1; i++) {
		const struct exchange *x = &sc->steps[i];
		struct reply r;

		snprintf(ctx, sizeof(ctx), "%s, step %d", sc->name, i);
		if (x->code == 0)
			st = txn_init(&t, &e, &c, 10, sc->partial, "mx.test",
			    sc->rset);
		else {
			memset(&r, 0, sizeof(r));
			r.code = x->code;
			r.textlen = strlcpy(r.text, x->text, sizeof(r.text));
			st = txn_reply(&t, &r);
		}
		CHECK_INT(st, x->want, ctx);
		if (st == TXN_SEND || st == TXN_SEND_BODY)
			txn_sent(&t, st, true);
		if (x->sent != NULL) {
			CHECK(t.out.data != NULL && strncmp(t.out.data, x->sent,
			    strlen(x->sent)) == 0, ctx);
		}
	}
	snprintf(ctx, sizeof(ctx), "%s: delivered", sc->name);
	CHECK_INT(t.delivered.n, sc->delivered, ctx);
	txn_remaining(&t, &left);
	snprintf(ctx, sizeof(ctx), "%s: left for -q", sc->name);
	CHECK_INT(left.n, sc->remaining, ctx);
	if (st == TXN_FAILED) {
		snprintf(ctx, sizeof(ctx), "%s: failure text", sc->name);
		CHECK(t.f.text[0] != '\0' && strchr(t.f.text, '\n') == NULL, ctx);
		/* Never "refused: " naming nobody, never a bare protocol
		 * error for a cap. */
		snprintf(ctx, sizeof(ctx), "%s: names what failed", sc->name);
		CHECK(strstr(t.f.text, "refused: ") == NULL ||
		    t.refused.len > 0, ctx);
		CHECK(t.f.cause != CAUSE_PROTOCOL, ctx);
	}
	if (sc->next != 0) {
		snprintf(ctx, sizeof(ctx), "%s: what the connection does next",
		    sc->name);
		CHECK_INT(txn_next(&t, st), sc->next - 1, ctx);
	}
	addrlist_free(&left);
	txn_free(&t);
	envelope_free(&e);
}

static void
test_too_many(void)
{
	static const struct {
		int		 code;
		const char	*text;
		bool		 want;
	} t[] = {
		{ 452, "4.5.3 Error: too many recipients", true },
		{ 451, "4.5.3 Too many recipients", true },
		{ 452, "too many recipients", true },
		{ 450, "4.2.0 greylisted", false },
		{ 550, "5.5.3 too many recipients", false },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct reply r;

		memset(&r, 0, sizeof(r));
		r.code = t[i].code;
		strlcpy(r.text, t[i].text, sizeof(r.text));
		CHECK_INT(txn_too_many(&r), t[i].want, t[i].text);
	}
}

static enum txn_step
feed(struct txn *t, int code)
{
	struct reply r;

	memset(&r, 0, sizeof(r));
	r.code = code;
	r.textlen = strlcpy(r.text, "x", sizeof(r.text));
	return txn_reply(t, &r);
}

/* The replies still due after a refusal are what the session drains. */
static void
test_unanswered(void)
{
	struct envelope e;
	struct caps c;
	struct txn t;
	enum txn_step st;

	make_envelope(&e, 1);
	memset(&c, 0, sizeof(c));
	c.pipelining = c.chunking = true;
	st = txn_init(&t, &e, &c, 10, false, "mx.test", false);
	txn_sent(&t, st, true);
	CHECK_INT(t.unanswered, 3, "MAIL, RCPT and BDAT due");
	CHECK(t.body_sent, "all of it went with BDAT LAST");
	CHECK_INT(feed(&t, 550), TXN_FAILED, "MAIL refused");
	CHECK_INT(t.unanswered, 2, "RCPT and BDAT still due");
	txn_free(&t);
	envelope_free(&e);

	make_envelope(&e, 2);
	c.chunking = false;
	st = txn_init(&t, &e, &c, 10, false, "mx.test", false);
	txn_sent(&t, st, true);
	CHECK_INT(t.unanswered, 3, "MAIL and two RCPT due");
	CHECK(!t.body_sent, "nothing of the body yet");
	feed(&t, 250);
	feed(&t, 250);
	st = feed(&t, 250);
	txn_sent(&t, st, true);
	CHECK_INT(t.unanswered, 1, "DATA due");
	st = feed(&t, 354);
	CHECK_INT(st, TXN_SEND_BODY, "354");
	CHECK_INT(txn_next(&t, TXN_FAILED), TXN_NEXT_CLOSE, "after 354, the "
	    "body or a close, never a command");
	txn_sent(&t, st, true);
	CHECK_INT(t.unanswered, 1, "the final dot's reply due");
	CHECK_INT(feed(&t, 250), TXN_DONE, "delivered");
	CHECK_INT(t.unanswered, 0, "nothing due");
	txn_free(&t);
	envelope_free(&e);
}

/* A cap: the rest over a new connection, only the recipients not done. */
static void
test_resume(void)
{
	struct envelope e;
	struct caps c;
	struct txn t;
	enum txn_step st;

	make_envelope(&e, 3);
	memset(&c, 0, sizeof(c));
	c.pipelining = c.chunking = true;
	st = txn_init(&t, &e, &c, 10, false, "mx.test", false);
	CHECK_INT(st, TXN_SEND, "three recipients");
	feed(&t, 250);
	feed(&t, 250);
	feed(&t, 250);
	st = feed(&t, 452);
	CHECK_INT(st, TXN_SEND_BODY, "two of three");
	st = feed(&t, 250);
	CHECK_INT(st, TXN_SEND, "the third in a second transaction");
	feed(&t, 250);
	CHECK_INT(feed(&t, 452), TXN_FAILED, "capped");
	CHECK(t.capped, "capped");
	CHECK_INT(t.f.cause, CAUSE_TEMPORARY, "a cap is temporary, not 76");
	CHECK(strstr(t.f.text, ": 452 x") != NULL, t.f.text);
	st = txn_resume(&t, &c);
	CHECK_INT(st, TXN_SEND, "resumed");
	CHECK(strstr(t.out.data, "RCPT TO:<r2@y.org>") != NULL &&
	    strstr(t.out.data, "r0@") == NULL && strstr(t.out.data, "r1@") ==
	    NULL, "only the third");
	feed(&t, 250);
	st = feed(&t, 250);
	CHECK_INT(st, TXN_SEND_BODY, "its data");
	CHECK_INT(feed(&t, 250), TXN_DONE, "all three delivered");
	CHECK_INT(t.delivered.n, 3, "three delivered");
	txn_free(&t);
	envelope_free(&e);
}

int
main(void)
{
	size_t i;

	for (i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		run(&scenarios[i]);
	test_too_many();
	test_unanswered();
	test_resume();
	return check_summary();
}
