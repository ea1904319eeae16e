/* SPDX-License-Identifier: ISC */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "escape.h"
#include "smtpcmd.h"
#include "txn.h"

bool
txn_too_many(const struct reply *r)
{
	if (r->code / 100 != 4)
		return false;
	return r->code == 452 || strncmp(r->text, "4.5.3", 5) == 0 ||
	    strcasestr(r->text, "too many recipient") != NULL;
}

static enum txn_step
failed_with(struct txn *t, enum stage st, const struct reply *r)
{
	char text[600];

	escape_line(text, sizeof(text), r->text, r->textlen);
	fail(&t->f, st, CAUSE_REPLY, r->code, "%s refused by %s: %d %s",
	    stage_name(st), t->host, r->code, text);
	return TXN_FAILED;
}

static enum txn_step
out_of_memory(struct txn *t)
{
	fail_errno(&t->f, CAUSE_OSERR, "out of memory");
	return TXN_FAILED;
}

static enum txn_step
refusals(struct txn *t)
{
	size_t refused = t->refused5.n + t->deferred.n;
	bool some = t->delivered.n > 0 || (t->state == TXN_END &&
	    t->accepted > 0);

	fail(&t->f, STAGE_RCPT, CAUSE_REPLY, t->worst, "recipient%s refused%s: "
	    "%s", refused > 1 ? "s" : "", some ? " (delivered to the others)" :
	    t->accepted > 0 ? " (so nobody was sent the message)" : "",
	    t->refused.data ? t->refused.data : "");
	return TXN_FAILED;
}

/* At most RCPTMAX recipients in one transaction. */
static size_t
batch_end(const struct txn *t)
{
	size_t n = t->env->rcpts.n, max = t->caps->rcptmax;

	return max > 0 && t->first + max < n ? t->first + max : n;
}

static int
add_rcpt(struct txn *t, size_t i)
{
	return smtpcmd_rcpt(&t->out, t->env, i);
}

/* MAIL, and with PIPELINING every RCPT of the batch (and DATA or BDAT). */
static enum txn_step
begin(struct txn *t)
{
	size_t i;

	buf_reset(&t->out);
	addrlist_free(&t->accepted_now);
	t->state = TXN_MAIL;
	t->end = t->overflow = batch_end(t);
	t->next = t->first;
	t->accepted = 0;
	t->batch_refused = 0;
	t->data_sent = false;
	if (t->rset) {
		/* Pipelined, RSET costs no round trip of its own. */
		if (buf_addstr(&t->out, "RSET\r\n") == -1)
			return out_of_memory(t);
		t->state = TXN_RSET;
		if (!t->pipelined)
			return TXN_SEND;
	}
	if (smtpcmd_mail(&t->out, t->env, t->caps, t->size) == -1)
		return out_of_memory(t);
	if (!t->pipelined)
		return TXN_SEND;
	for (i = t->first; i < t->end; i++)
		if (add_rcpt(t, i) == -1)
			return out_of_memory(t);
	if (t->body_early && t->bdat) {
		if (buf_printf(&t->out, "BDAT %lld LAST\r\n",
		    (long long)t->size) == -1)
			return out_of_memory(t);
		return TXN_SEND_BODY;
	}
	if (t->body_early) {
		if (buf_addstr(&t->out, "DATA\r\n") == -1)
			return out_of_memory(t);
		t->data_sent = true;
	}
	return TXN_SEND;
}

enum txn_step
txn_init(struct txn *t, const struct envelope *e, const struct caps *c,
    off_t size, bool partial, const char *host, bool rset)
{
	bool all_or_nothing = !partial && e->rcpts.n > 1;

	memset(t, 0, sizeof(*t));
	t->env = e;
	t->caps = c;
	t->size = size;
	t->partial = partial;
	t->host = host;
	t->pipelined = c->pipelining;
	t->bdat = c->chunking;
	/* With one recipient (or partial delivery) nothing waits for RCPT:
	 * a small message goes in the first flight. A large one waits for
	 * the replies, so that a refusal costs one chunk at most. */
	t->body_early = t->pipelined && !all_or_nothing &&
	    size <= TXN_EARLY_MAX && batch_end(t) == e->rcpts.n;
	t->rset = rset;
	return begin(t);
}

enum txn_step
txn_resume(struct txn *t, const struct caps *c)
{
	t->caps = c;
	t->pipelined = c->pipelining;
	t->bdat = c->chunking;
	t->body_early = t->body_early && t->pipelined;
	t->rset = t->capped = t->data_open = t->body_sent = false;
	t->unanswered = 0;
	memset(&t->f, 0, sizeof(t->f));
	return begin(t);
}

static void
note_refusal(struct txn *t, const char *rcpt, const struct reply *r)
{
	char text[300];

	/* 4xx: worth another try, for these recipients alone. */
	addrlist_add_unique(r->code / 100 == 4 ? &t->deferred : &t->refused5,
	    rcpt);
	t->batch_refused++;
	escape_line(text, sizeof(text), r->text, r->textlen);
	if (t->refused.len > 0)
		buf_addstr(&t->refused, "; ");
	buf_printf(&t->refused, "%s: %d %s", rcpt, r->code, text);
	if (r->code > t->worst)
		t->worst = r->code;
}

/* Every RCPT of the batch answered: on to the data, or stop. */
static enum txn_step
after_rcpts(struct txn *t)
{
	bool all_or_nothing = !t->partial && t->env->rcpts.n > 1;

	if (t->accepted == 0 && t->batch_refused == 0) {
		/* Every one "too many": a cap of the connection, not of this
		 * transaction; the rest goes over a new one. */
		t->capped = true;
		fail(&t->f, STAGE_RCPT, CAUSE_TEMPORARY, 0, "%s takes no more "
		    "recipients on this connection: %s", t->host, t->cap);
		return TXN_FAILED;
	}
	if (t->accepted == 0 || (all_or_nothing && t->batch_refused > 0))
		return refusals(t);
	buf_reset(&t->out);
	if (t->bdat) {
		t->state = TXN_EOD;
		if (t->body_early)
			return TXN_READ;
		if (buf_printf(&t->out, "BDAT %lld LAST\r\n",
		    (long long)t->size) == -1)
			return out_of_memory(t);
		return TXN_SEND_BODY;
	}
	t->state = TXN_DATA;
	if (t->data_sent)
		return TXN_READ;
	if (buf_addstr(&t->out, "DATA\r\n") == -1)
		return out_of_memory(t);
	t->data_sent = true;
	return TXN_SEND;
}

static enum txn_step
rcpt_reply(struct txn *t, const struct reply *r)
{
	const char *rcpt = t->env->rcpts.v[t->next].spec;

	if (r->code / 100 == 2) {
		t->accepted++;
		if (addrlist_add_unique(&t->accepted_now, rcpt) == -1)
			return out_of_memory(t);
	} else if (txn_too_many(r)) {
		snprintf(t->cap, sizeof(t->cap), "%d ", r->code);
		escape_line(t->cap + 4, sizeof(t->cap) - 4, r->text, r->textlen);
		if (t->overflow > t->next)
			t->overflow = t->next;	/* the rest: next time */
	} else
		note_refusal(t, rcpt, r);
	t->next++;
	if (!t->pipelined && t->overflow < t->end)
		t->end = t->next;	/* no more RCPT this time */
	if (t->next < t->end) {
		if (t->pipelined)
			return TXN_READ;
		buf_reset(&t->out);
		return add_rcpt(t, t->next) == -1 ? out_of_memory(t) : TXN_SEND;
	}
	return after_rcpts(t);
}

/* Delivered to this batch; the next one, or the end. */
static enum txn_step
delivered(struct txn *t, const struct reply *r)
{
	size_t i;

	t->code = r->code;
	escape_line(t->text, sizeof(t->text), r->text, r->textlen);
	for (i = 0; i < t->accepted_now.n; i++)
		if (addrlist_add_unique(&t->delivered,
		    t->accepted_now.v[i].spec) == -1)
			return out_of_memory(t);
	t->first = t->overflow;
	if (t->first < t->env->rcpts.n)
		return begin(t);
	t->state = TXN_END;
	if (t->refused.len > 0)
		return refusals(t);	/* partial delivery: say so */
	return TXN_DONE;
}

/* One reply per command line, and one for a DATA body's final dot. */
void
txn_sent(struct txn *t, enum txn_step st, bool whole)
{
	size_t i;

	for (i = 0; i < t->out.len; i++)
		if (t->out.data[i] == '\n')
			t->unanswered++;
	if (st == TXN_SEND_BODY && !t->bdat)
		t->unanswered++;
	if (st == TXN_SEND_BODY && t->bdat && whole)
		t->body_sent = true;
	if (st == TXN_SEND_BODY && !t->bdat && whole)
		t->data_open = false;
}

enum txn_step
txn_reply(struct txn *t, const struct reply *r)
{
	if (t->unanswered > 0)
		t->unanswered--;
	switch (t->state) {
	case TXN_RSET:
		if (r->code / 100 != 2)
			return failed_with(t, STAGE_MAIL, r);
		t->rset = false;
		if (!t->pipelined)
			return begin(t);
		t->state = TXN_MAIL;
		return TXN_READ;
	case TXN_MAIL:
		if (r->code / 100 != 2)
			return failed_with(t, STAGE_MAIL, r);
		t->state = TXN_RCPT;
		if (t->pipelined)
			return TXN_READ;
		buf_reset(&t->out);
		return add_rcpt(t, t->next) == -1 ? out_of_memory(t) : TXN_SEND;
	case TXN_RCPT:
		return rcpt_reply(t, r);
	case TXN_DATA:
		if (r->code != 354)
			return failed_with(t, STAGE_DATA, r);
		t->state = TXN_EOD;
		t->data_open = true;
		buf_reset(&t->out);
		return TXN_SEND_BODY;
	case TXN_EOD:
		if (r->code / 100 != 2)
			return failed_with(t, STAGE_END_OF_DATA, r);
		return delivered(t, r);
	case TXN_END:
		break;
	}
	fail(&t->f, STAGE_NONE, CAUSE_PROTOCOL, r->code, "a reply from %s "
	    "that nothing asked for", t->host);
	return TXN_FAILED;
}

enum txn_next
txn_next(const struct txn *t, enum txn_step last)
{
	/* Replies still due, or the server reading message data: only a
	 * close ends it (a command would be taken as data). */
	if (t->unanswered > 0 || t->data_open || t->state == TXN_RSET)
		return TXN_NEXT_CLOSE;
	if (last == TXN_DONE || t->state == TXN_END)
		return TXN_NEXT_CLEAN;
	if (last != TXN_FAILED || t->f.cause != CAUSE_REPLY ||
	    t->f.code == 421 || t->capped)
		return TXN_NEXT_CLOSE;
	/* A refused MAIL opens nothing; the final dot's reply ends it. */
	if (t->f.stage == STAGE_MAIL ||
	    (t->f.stage == STAGE_END_OF_DATA && !t->bdat))
		return TXN_NEXT_CLEAN;
	return TXN_NEXT_RSET;
}

static bool
in(const struct addrlist *l, const char *spec)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i].spec, spec) == 0)
			return true;
	return false;
}

int
txn_remaining(const struct txn *t, struct addrlist *out)
{
	size_t i;

	for (i = 0; i < t->env->rcpts.n; i++) {
		const char *spec = t->env->rcpts.v[i].spec;

		/* Refused for good: named on stderr, never retried. */
		if (in(&t->delivered, spec) || in(&t->refused5, spec))
			continue;
		if (addrlist_add_unique(out, spec) == -1)
			return -1;
	}
	return 0;
}

void
txn_free(struct txn *t)
{
	addrlist_free(&t->delivered);
	addrlist_free(&t->accepted_now);
	addrlist_free(&t->deferred);
	addrlist_free(&t->refused5);
	buf_free(&t->refused);
	buf_free(&t->out);
}
