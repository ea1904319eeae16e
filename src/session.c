/* SPDX-License-Identifier: ISC */
/*
 * The SMTP session over a connection (src/conn.c, the one that knows
 * libcurl): AUTH, EHLO again when the message needs more, the mail
 * transaction driven by its state machine (src/txn.c), QUIT, and the next
 * host of a list when one cannot be reached.
 */
#include <idn2.h>
#include <json-c/json_c_version.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "conn.h"
#include "encode.h"
#include "escape.h"
#include "idna.h"
#include "interrupt.h"
#include "reply.h"
#include "sasl.h"
#include "session.h"
#include "smtpcmd.h"
#include "tlspin.h"
#include "txn.h"

#define END_OF_DATA_TIMEOUT	600
#define SEND_CHUNK		(256 * 1024)

/* libcurl's phase, with its timings for -v and the log. */
static int
open_conn(struct conn *ss, struct session_report *rep, struct failure *f)
{
	int r = conn_open(ss, f);

	rep->t_connect = ss->t_connect;
	rep->t_tls = ss->t_tls;
	rep->t_greeting = ss->t_ehlo;	/* not authentication */
	rep->connected = ss->connected;
	rep->greeted = ss->stage != STAGE_NONE;
	rep->tls = ss->tls_used;
	return r;
}

/* -v shows "AUTH PLAIN <redacted>": the mechanism, never the secret. */
static void
trace_secret(const struct conn *ss, const struct buf *b, bool command)
{
	char shown[64];
	const char *sp = command ? memchr(b->data + 5, ' ', b->len - 5) : NULL;

	snprintf(shown, sizeof(shown), "%.*s%s", command ? (int)((sp ?
	    sp : b->data + b->len - 2) - b->data) : 0, b->data,
	    !command || sp ? (command ? " <redacted>" : "<redacted>") : "");
	conn_trace(ss, ">", shown, strlen(shown));
}

/* An AUTH line or a response: on the wire, never in -v. */
static int
send_secret(struct conn *ss, const struct buf *b, bool command,
    struct failure *f)
{
	if (ss->verbose)
		trace_secret(ss, b, command);
	return conn_send(ss, b->data, b->len, STAGE_AUTH, f);
}

static int
auth_refused(struct conn *ss, const struct reply *r, const char *said,
    struct failure *f)
{
	char text[600];

	escape_line(text, sizeof(text), r->text, r->textlen);
	fail(f, STAGE_AUTH, CAUSE_REPLY, r->code, "authentication refused by "
	    "%s: %d %s%s%s%s", ss->s->host, r->code, text, said ? " (the "
	    "server said: " : "", said ? said : "", said ? ")" : "");
	return -1;
}

static int
no_mechanism(struct conn *ss, struct failure *f)
{
	if (!ss->caps.auth)
		fail(f, STAGE_AUTH, CAUSE_UNAVAILABLE, 0, "%s does not offer "
		    "AUTH, and credentials are configured; nothing was sent",
		    ss->s->host);
	else
		fail(f, STAGE_AUTH, CAUSE_UNAVAILABLE, 0, "no authentication "
		    "method in common with the server (it offers: %s)",
		    ss->caps.auth_mechs);
	return -1;
}

/* The challenges and answers until 235, or the refusal. */
static int
auth_exchange(struct conn *ss, struct sasl *sa, struct buf *b,
    struct failure *f)
{
	char *said = NULL;
	struct reply r;
	int rc = -1;

	while (conn_read_reply(ss, &r, STAGE_AUTH, conn_timeout(ss->s), f) == 0) {
		if (r.code == 235) {
			rc = 0;
			break;
		}
		if (r.code != 334 || sa->round > 4) {
			auth_refused(ss, &r, said, f);
			break;
		}
		if (sa->round > 0 && said == NULL)
			said = sasl_decode(r.text);	/* an error status */
		buf_reset(b);
		if (sasl_step(sa, r.text, b) == -1 ||
		    send_secret(ss, b, false, f) == -1) {
			if (!failed(f))
				fail(f, STAGE_AUTH, CAUSE_PROTOCOL, r.code, "%s "
				    "sent an AUTH challenge that cannot be "
				    "answered", ss->s->host);
			break;
		}
	}
	free(said);
	return rc;
}

/* The mechanism this account and server have in common, ready to start. */
static struct sasl
sasl_for(const struct conn *ss, const char *password)
{
	struct sasl sa = { SASL_NONE, ss->s->user ? ss->s->user : "",
	    password ? password : "", ss->s->host, ss->s->port, 0, false };

	if (ss->caps.auth)
		sa.mech = sasl_choose(ss->s->auth, ss->caps.auth_mechs);
	return sa;
}

/*
 * AUTH ourselves, not libcurl: every reply is ours to see, so a refusal
 * is followed by QUIT and reported with what the server said.
 */
static int
authenticate(struct conn *ss, const char *password, struct failure *f)
{
	struct sasl sa = sasl_for(ss, password);
	struct buf b = BUF_INIT;
	int rc = -1;

	if (sa.mech == SASL_NONE)
		return no_mechanism(ss, f);
	if (sasl_start(&sa, &b) == -1)
		fail_errno(f, CAUSE_OSERR, "out of memory");
	else if (send_secret(ss, &b, true, f) == 0)
		rc = auth_exchange(ss, &sa, &b, f);
	buf_free_secret(&b);
	return rc;
}

#define PROGRESS_MIN	(1024 * 1024)

/* "sent 12.0 of 51.0 MiB (2.5 MiB/s)", at most twice a second. */
static void
progress(struct conn *ss, size_t n, bool done)
{
	double now = conn_elapsed(ss), mib = 1024.0 * 1024.0;

	if (ss->progress_total == 0)
		return;
	ss->progress_sent += (off_t)n;
	if (!done && now - ss->progress_at < 0.5)
		return;
	ss->progress_at = now;
	if (done)
		ss->progress_sent = ss->progress_total;
	fprintf(stderr, "\rsmtpsend: sent %.1f of %.1f MiB (%.1f MiB/s)%s",
	    (double)ss->progress_sent / mib, (double)ss->progress_total / mib,
	    now > ss->progress_start ? (double)ss->progress_sent / mib /
	    (now - ss->progress_start) : 0.0, done ? "\n" : "");
}

/* The whole message, dot-stuffed for DATA, after `prefix`. */
static int
send_message(struct conn *ss, bool bdat, const struct message *m,
    const struct buf *prefix, struct failure *f)
{
	struct buf out = BUF_INIT, head = BUF_INIT;
	struct dotstuffer ds = { true };
	static char chunk[SEND_CHUNK];
	off_t off = 0;
	ssize_t n;
	int r = -1;

	/* Room for the prefix, headers and one chunk, all doubled by
	 * dot-stuffing at worst, and the final dot. */
	if (message_header_bytes(m, &head) == -1 ||
	    buf_add(&out, prefix->data, prefix->len) == -1 ||
	    buf_reserve(&out, 2 * SEND_CHUNK + 2 * head.len + 3) == -1)
		goto nomem;
	out.len += bdat ? (memcpy(out.data + out.len, head.data, head.len),
	    head.len) : dotstuff(&ds, head.data, head.len, out.data + out.len);
	do {
		if ((n = spool_read(&m->body, off, chunk, sizeof(chunk))) == -1) {
			fail_errno(f, CAUSE_OSERR, m->body.src.read != NULL ?
			    "reading the message's file again (did it change?)" :
			    "reading the stored message");
			/* Part of it is out: QUIT would complete the chunk. */
			if (off > 0)
				conn_abandon(ss);
			goto out;
		}
		off += n;
		out.len += bdat ? (memcpy(out.data + out.len, chunk, (size_t)n),
		    (size_t)n) : dotstuff(&ds, chunk, (size_t)n,
		    out.data + out.len);
		if (n == 0 && !bdat)
			buf_add(&out, ".\r\n", 3);
		if (conn_send(ss, out.data, out.len, STAGE_END_OF_DATA, f) == -1)
			goto out;
		progress(ss, (size_t)n, n == 0);
		out.len = 0;
	} while (n > 0);
	if (ss->verbose)
		conn_trace(ss, ">", "[message sent]", 14);
	r = 0;
	goto out;
nomem:
	fail_errno(f, CAUSE_OSERR, "out of memory");
out:
	buf_free_secret(&out);	/* the first flight's AUTH line */
	buf_free(&head);
	return r;
}

static enum stage
txn_stage(const struct txn *t)
{
	switch (t->state) {
	case TXN_MAIL:	return STAGE_MAIL;
	case TXN_RCPT:	return STAGE_RCPT;
	case TXN_DATA:	return STAGE_DATA;
	default:	return STAGE_END_OF_DATA;
	}
}

/*
 * How long a reply may take. Once the whole message is out (the end of
 * data, or BDAT LAST in the first flight) the server may be busy with it:
 * a server that answers a pipelined group at once (Postfix) answers MAIL
 * only after it has queued the message, so MAIL waits as long as the end
 * of data, or the message would be sent again by a -q while delivered.
 */
static int
reply_wait(const struct conn *ss, const struct txn *t)
{
	if (t->state == TXN_EOD || t->body_sent)
		return ss->s->timeout > 0 ? ss->s->timeout :
		    END_OF_DATA_TIMEOUT;
	return ss->short_wait > 0 ? ss->short_wait : conn_timeout(ss->s);
}

/* The reply to the final dot may take long; a lost one may be delivered. */
static int
txn_read(struct conn *ss, struct txn *t, struct reply *r,
    struct failure *f)
{
	if (conn_read_reply(ss, r, txn_stage(t), reply_wait(ss, t), f) == 0)
		return 0;
	if (t->state == TXN_EOD && f->cause == CAUSE_TEMPORARY)
		fail(f, STAGE_END_OF_DATA, CAUSE_POSSIBLY_SENT, 0, "%s; the "
		    "message may have been delivered", f->text);
	return -1;
}

/*
 * The connection broke while the message was going out with the envelope:
 * a server that refused MAIL or RCPT and hung up said why in replies that
 * are already here. They explain the failure better than the lost send.
 */
static void
explain_lost_send(struct conn *ss, struct txn *t, struct failure *f)
{
	struct failure ignored = { 0 };
	struct reply r;
	enum txn_step st = TXN_READ;

	ss->short_wait = 2;
	while (st == TXN_READ && t->state != TXN_EOD &&
	    txn_read(ss, t, &r, &ignored) == 0)
		st = txn_reply(t, &r);
	if (st == TXN_FAILED && t->f.cause == CAUSE_REPLY)
		*f = t->f;
	ss->short_wait = 0;
}

/*
 * What the machine asks for, with the AUTH line in front of the first
 * flight when it goes early (see auth_goes_early).
 */
static int
send_step(struct conn *ss, struct txn *t, enum txn_step st,
    const struct message *m, const struct buf *auth, struct failure *f)
{
	struct buf joined = BUF_INIT;
	const struct buf *out = &t->out;
	int r = -1;

	if (ss->verbose && auth != NULL)
		trace_secret(ss, auth, true);
	if (ss->verbose)
		conn_trace_commands(ss, t->out.data, t->out.len);
	if (auth != NULL) {
		if (buf_add(&joined, auth->data, auth->len) == -1 ||
		    buf_add(&joined, t->out.data, t->out.len) == -1) {
			fail_errno(f, CAUSE_OSERR, "out of memory");
			goto out;
		}
		out = &joined;
	}
	r = st == TXN_SEND_BODY ? send_message(ss, t->bdat, m, out, f) :
	    conn_send(ss, out->data, out->len, auth ? STAGE_AUTH :
	    txn_stage(t), f);
	txn_sent(t, st, r == 0);
out:
	buf_free_secret(&joined);
	return r;
}

/*
 * The AUTH that went ahead of the transaction was refused, and the
 * commands after it reached a server that may take mail without AUTH
 * (mynetworks): their replies say whether it did. Nothing more is sent.
 */
static bool
taken_anyway(struct conn *ss, struct txn *t, const struct failure *f)
{
	enum txn_step st = TXN_READ;
	struct failure ignored = { 0 };
	struct reply r;
	bool all;

	while (st == TXN_READ && txn_read(ss, t, &r, &ignored) == 0)
		st = txn_reply(t, &r);
	if (st == TXN_SEND_BODY && !t->bdat)
		conn_abandon(ss);	/* after 354: closed, not delivered */
	all = st == TXN_DONE && !failed(&t->f);
	if (all || t->delivered.n > 0)
		fprintf(stderr, "smtpsend: warning: %s; %s took the message "
		    "without authentication%s: check user and password\n",
		    f->text, ss->s->host, all ? "" : " for some recipients");
	return all;
}

/* The reply to an early AUTH: 0 on 235, else -1 with f set. */
static int
early_auth_reply(struct conn *ss, int seconds, struct session_report *rep,
    struct failure *f)
{
	struct reply r;

	if (conn_read_reply(ss, &r, STAGE_AUTH, seconds, f) == -1)
		return -1;
	if (r.code != 235)
		return auth_refused(ss, &r, NULL, f);
	rep->authenticated = true;
	return 0;
}

/*
 * The connection broke while the first flight went out: the replies that
 * are already here, AUTH's first, say why better than the lost send.
 */
static void
lost_send(struct conn *ss, struct txn *t, const struct buf *auth,
    struct session_report *rep, struct failure *f)
{
	struct failure af = { 0 };

	if (auth != NULL && early_auth_reply(ss, 2, rep, &af) == -1) {
		if (af.cause == CAUSE_REPLY)
			*f = af;
		return;
	}
	explain_lost_send(ss, t, f);
}

/*
 * A refusal in the middle of a pipelined group: the replies to the rest
 * are on their way. Read them before QUIT, so that the close does not
 * meet unread data and reset the connection before the server sees QUIT.
 */
static void
drain_unanswered(struct conn *ss, struct txn *t)
{
	struct failure ignored = { 0 };
	struct reply r;

	while (t->unanswered > 0 &&
	    conn_read_reply(ss, &r, txn_stage(t), 2, &ignored) == 0)
		t->unanswered--;
}

static void
report_txn(const struct txn *t, struct session_report *rep,
    struct failure *f)
{
	rep->code = t->code;
	strlcpy(rep->text, t->text, sizeof(rep->text));
	rep->accepted = t->delivered.n;
	rep->delivered = t->delivered.n > 0;
	/* Delivered to some: the others are worth keeping for -q. */
	if (rep->delivered && failed(f) && txn_remaining(t, &rep->deferred) == -1)
		fail_errno(f, CAUSE_OSERR, "out of memory");
}

/*
 * Drive the transaction machine (src/txn.c) over the connection; `auth`,
 * when not NULL, goes in the same write as the first commands.
 */
static int
transaction(struct conn *ss, struct txn *t, const struct envelope *e,
    const struct message *m, const struct buf *auth,
    struct session_report *rep, struct failure *f)
{
	enum txn_step st = txn_init(t, e, &ss->caps, message_size(m),
	    ss->s->partial_delivery, ss->s->host);
	struct reply r;

	while (st != TXN_DONE && st != TXN_FAILED) {
		if (st != TXN_READ && send_step(ss, t, st, m, auth, f) == -1) {
			if (t->body_early)
				lost_send(ss, t, auth, rep, f);
			break;
		}
		if (auth != NULL) {	/* its reply comes first */
			auth = NULL;
			if (early_auth_reply(ss, reply_wait(ss, t), rep, f) ==
			    -1) {
				if (f->cause == CAUSE_REPLY &&
				    taken_anyway(ss, t, f))
					st = TXN_DONE;
				break;
			}
		}
		if (txn_read(ss, t, &r, f) == -1)
			break;
		st = txn_reply(t, &r);
	}
	if (st == TXN_FAILED || st == TXN_DONE)
		*f = t->f;
	if (f->cause == CAUSE_REPLY)
		drain_unanswered(ss, t);
	report_txn(t, rep, f);
	return failed(f) ? -1 : 0;
}

/* An extension this message needs that the first EHLO lacked. */
static bool
needs_more(const struct caps *c, const struct envelope *e,
    const struct message *m)
{
	return ((e->notify || e->ret || e->envid) && !c->dsn) ||
	    (e->smtputf8 && !c->smtputf8) || (m->eight_bit &&
	    !c->eightbitmime) || (c->size_max > 0 &&
	    (unsigned long long)message_size(m) > c->size_max);
}

/*
 * Some servers (Dovecot's submission) offer more once the client has
 * authenticated: ask again before giving up (CONTRACT section 5).
 */
static int
ehlo_again(struct conn *ss, struct failure *f)
{
	struct buf b = BUF_INIT;
	char name[300];
	struct reply r;
	int rc = -1;

	conn_ehlo_name(ss->s, name, sizeof(name));
	if (buf_printf(&b, "EHLO %s\r\n", name) == -1)
		fail_errno(f, CAUSE_OSERR, "out of memory");
	else if (conn_send_commands(ss, &b, STAGE_EHLO, f) == 0 &&
	    conn_read_reply(ss, &r, STAGE_EHLO, conn_timeout(ss->s), f) == 0) {
		if (r.code / 100 == 2) {
			caps_parse(&ss->caps, &r);
			rc = 0;
		} else
			fail(f, STAGE_EHLO, CAUSE_REPLY, r.code, "EHLO after "
			    "AUTH refused by %s: %d", ss->s->host, r.code);
	}
	buf_free(&b);
	return rc;
}


/* -v's closing line: only the phases that happened (CONTRACT 9). */
static void
print_timings(const struct session_report *rep, const struct failure *f)
{
	if (!rep->connected) {
		fprintf(stderr, "smtpsend: timings: connect failed after %.1f "
		    "ms\n", rep->t_connect * 1000);
		return;
	}
	fprintf(stderr, "smtpsend: timings: connect %.1f ms", rep->t_connect *
	    1000);
	if (rep->tls)
		fprintf(stderr, ", tls %.1f ms", rep->t_tls * 1000);
	fprintf(stderr, f->stage == STAGE_TLS && !rep->tls ? (rep->greeted ?
	    ", greeting, EHLO and STARTTLS %.1f ms (TLS failed)" :
	    ", TLS failed after %.1f ms") : rep->greeted ?
	    ", greeting and EHLO %.1f ms" : ", no greeting after %.1f ms",
	    rep->t_greeting * 1000);
	if (rep->t_auth > 0)
		fprintf(stderr, ", auth %.1f ms", rep->t_auth * 1000);
	if (rep->t_transfer > 0)
		fprintf(stderr, ", transfer %.1f ms", rep->t_transfer * 1000);
	fputc('\n', stderr);
}

/*
 * Lines over 998 octets, or 8-bit data for a server without 8BITMIME:
 * re-encode (CONTRACT section 5). *use points at what is to be sent.
 */
static int
prepare_body(struct conn *ss, const struct message *m,
    struct message *encoded, const struct message **use, struct failure *f)
{
	bool to7bit = m->eight_bit && !ss->caps.eightbitmime;

	*use = m;
	if (!to7bit && m->longest_line <= 998)
		return 0;
	if (encode_for_transport(m, encoded, to7bit, f) == -1)
		return -1;
	*use = encoded;
	return 0;
}



/* AUTH in a round trip of its own, then EHLO again if need be. */
static int
auth_alone(struct conn *ss, const char *password,
    const struct envelope *e, const struct message *m,
    struct session_report *rep, struct failure *f)
{
	double t = conn_elapsed(ss);
	int r = authenticate(ss, password, f);

	rep->t_auth += conn_elapsed(ss) - t;	/* refused too: it happened */
	if (r == -1)
		return -1;
	rep->authenticated = true;
	if (e != NULL && m != NULL && needs_more(&ss->caps, e, m))
		return ehlo_again(ss, f);
	return 0;
}

/*
 * RFC 4954 section 4: PLAIN with its initial response ends in one
 * exchange and sets up no security layer, so with PIPELINING the
 * transaction may share its write: one round trip less. Only to a peer
 * TLS verified (or loopback, the one place auth goes without TLS), and
 * not when the message needs what a server may offer only after AUTH.
 * True with the AUTH line in `line`.
 */
static bool
auth_early(struct conn *ss, const char *password,
    const struct envelope *e, const struct message *m, struct buf *line)
{
	const struct settings *s = ss->s;
	struct sasl sa = sasl_for(ss, password);

	if (!ss->caps.pipelining || sa.mech != SASL_PLAIN ||
	    (s->tls && !s->certcheck && s->fingerprint == NULL) ||
	    needs_more(&ss->caps, e, m))
		return false;
	/* Without its initial response PLAIN takes two exchanges. */
	if (sasl_start(&sa, line) == -1 || line->len <= strlen("AUTH PLAIN\r\n")) {
		buf_free_secret(line);
		return false;
	}
	return true;
}

/* Connected and, unless AUTH goes with the transaction, authenticated. */
static int
submit_start(struct conn *ss, const char *password,
    const struct envelope *e, const struct message *m, struct buf *auth,
    struct session_report *rep, struct failure *f)
{
	if (open_conn(ss, rep, f) == -1)
		return -1;
	if (interrupt_signal() != 0) {
		fail(f, STAGE_CONNECT, CAUSE_TEMPORARY, 0, "interrupted");
		conn_interrupted(f);
		return -1;
	}
	if (ss->s->auth == AUTH_OFF || auth_early(ss, password, e, m, auth))
		return 0;
	return auth_alone(ss, password, e, m, rep, f);
}

static int
submit_to(const struct settings *s, const char *password,
    const struct envelope *e, const struct message *m, int verbose,
    struct session_report *rep, struct failure *f)
{
	struct conn ss;
	struct message encoded;
	struct envelope ascii;
	struct buf auth = BUF_INIT;
	const struct message *use;
	struct txn t;
	double t_open;
	int r = -1;

	memset(&t, 0, sizeof(t));
	memset(&ascii, 0, sizeof(ascii));
	memset(rep, 0, sizeof(*rep));
	message_init(&encoded);
	conn_init(&ss, s, verbose);
	if (submit_start(&ss, password, e, m, &auth, rep, f) == -1)
		goto out;
	t_open = conn_elapsed(&ss);
	if (prepare_body(&ss, m, &encoded, &use, f) == -1)
		goto out;
	/* Without SMTPUTF8, domains go as A-labels (xn--). */
	if (e->smtputf8 && !ss.caps.smtputf8) {
		if (idna_envelope(e, &ascii, f) == -1)
			goto out;
		e = &ascii;
	}
	if (smtpcmd_check(e, &ss.caps, message_size(use), f) == -1)
		goto out;
	if (isatty(STDERR_FILENO) && message_size(use) > PROGRESS_MIN) {
		ss.progress_total = message_size(use);
		ss.progress_start = ss.progress_at = conn_elapsed(&ss);
	}
	r = transaction(&ss, &t, e, use, auth.len > 0 ? &auth : NULL, rep, f);
	/* A progress line left open: the error goes on a line of its own. */
	if (r == -1 && ss.progress_at > ss.progress_start &&
	    ss.progress_sent < ss.progress_total)
		fputc('\n', stderr);
	if (r == -1)
		conn_interrupted(f);
	rep->t_transfer = conn_elapsed(&ss) - t_open;
out:
	if (conn_speaks(&ss))
		conn_quit(&ss);
	conn_close(&ss);
	buf_free_secret(&auth);
	txn_free(&t);
	envelope_free(&ascii);
	message_free(&encoded);
	if (verbose)
		print_timings(rep, f);
	return r == 0 && !failed(f) ? 0 : -1;
}

/*
 * The next host is worth a try when this one could not be reached or
 * would not talk: never after a 5xx, a refused AUTH, or once MAIL was
 * answered (the message may be on its way).
 */
static bool
worth_next(const struct failure *f)
{
	if (f->stage > STAGE_TLS || interrupt_signal() != 0)
		return false;
	if (f->cause == CAUSE_REPLY)
		return f->code >= 400 && f->code < 500;
	return f->cause == CAUSE_TEMPORARY || f->cause == CAUSE_NOHOST;
}

int
session_submit(const struct settings *s, const char *password,
    const struct envelope *e, const struct message *m, int verbose,
    struct session_report *rep, struct failure *f)
{
	struct settings one = *s;
	char host[256];
	int i, r = -1;

	for (i = 0; settings_host_at(s->host, i, host, sizeof(host)) == 0;
	    i++) {
		if (i > 0 && verbose)
			fprintf(stderr, "smtpsend: %s; trying %s\n", f->text,
			    host);
		memset(f, 0, sizeof(*f));
		one.host = host;
		r = submit_to(&one, password, e, m, verbose, rep, f);
		strlcpy(rep->host, host, sizeof(rep->host));
		if (r == 0 || !worth_next(f))
			break;
	}
	if (verbose && r == 0)
		fprintf(stderr, "smtpsend: %s took the message\n", rep->host);
	return r;
}

/* The libraries that matter to mail, not every protocol curl knows. */
const char *
session_library(void)
{
	static char text[256];

	snprintf(text, sizeof(text), "%s, libidn2 %s, json-c %s",
	    conn_library(), idn2_check_version(NULL), json_c_version());
	return text;
}

/* SIZE in the units people read. */
static void
human_size(char *dst, size_t size, unsigned long long n)
{
	static const char *const units[] = { "bytes", "KiB", "MiB", "GiB" };
	double v = (double)n;
	int u = 0;

	while (v >= 1024 && u < 3) {
		v /= 1024;
		u++;
	}
	snprintf(dst, size, u ? "%.1f %s" : "%.0f %s", v, units[u]);
}

static void
print_extensions(FILE *out, const struct conn *ss)
{
	const char *line = strchr(ss->ehlo.text, '\n'), *nl;
	char human[32], shown[600];

	fprintf(out, "extensions:\n");
	for (; line != NULL; line = nl) {
		line++;
		nl = strchr(line, '\n');
		escape_line(shown, sizeof(shown), line, nl ? (size_t)(nl -
		    line) : strlen(line));
		fprintf(out, "    %s", shown);
		if (strncasecmp(line, "SIZE ", 5) == 0 && ss->caps.size_max) {
			human_size(human, sizeof(human), ss->caps.size_max);
			fprintf(out, " (%s)", human);
		}
		fputc('\n', out);
	}
	escape_line(shown, sizeof(shown), ss->caps.auth_mechs,
	    strlen(ss->caps.auth_mechs));
	fprintf(out, "AUTH mechanisms: %s\n", ss->caps.auth ? shown :
	    "none offered");
}

static void
print_tls(FILE *out, const struct conn *ss)
{
	/* CURLINFO_TLS_SSL_PTR is NULL after a CONNECT_ONLY perform on
	 * 7.88: the SSL is taken from the handshake instead. */
	if (!ss->s->tls || tls_captured() == NULL) {
		fprintf(out, "TLS: none\n");
		return;
	}
	tls_describe(out, tls_captured());
}

int
session_serverinfo(const struct settings *s, int verbose, FILE *out,
    struct failure *f)
{
	struct settings noauth = *s;
	struct session_report rep;
	struct conn ss;
	char text[600], host[256];
	int r = -1;

	/* What the server is, not who we are: no credentials are sent. The
	 * first host of a list. */
	noauth.auth = AUTH_OFF;
	if (settings_host_at(s->host, 0, host, sizeof(host)) == 0)
		noauth.host = host;
	memset(&rep, 0, sizeof(rep));
	conn_init(&ss, &noauth, verbose);
	if (open_conn(&ss, &rep, f) == -1)
		goto out;
	escape_line(text, sizeof(text), ss.greeting.text, ss.greeting.textlen);
	fprintf(out, "server: %s port %u (%s)\ngreeting: %d %s\n", noauth.host,
	    s->port, !s->tls ? "no TLS" : s->starttls ? "STARTTLS" :
	    "implicit TLS", ss.greeting.code, text);
	print_extensions(out, &ss);
	print_tls(out, &ss);
	conn_quit(&ss);
	r = fflush(out) == 0 ? 0 : -1;
out:
	conn_close(&ss);
	return r;
}

/* One host of the list: connect, TLS, AUTH, QUIT. */
static int
check_one(const struct settings *s, const char *password, int verbose,
    struct session_report *rep, char *mech, size_t mechsize, char *tls,
    size_t tlssize, struct failure *f)
{
	struct conn ss;
	int r = -1;

	memset(rep, 0, sizeof(*rep));
	conn_init(&ss, s, verbose);
	if (open_conn(&ss, rep, f) == 0) {
		/* The SSL is libcurl's: its version is read while it lives. */
		strlcpy(tls, rep->tls && tls_captured() != NULL ?
		    tls_version(tls_captured()) : "no TLS", tlssize);
		strlcpy(mech, s->auth == AUTH_OFF ? "none" :
		    sasl_name(sasl_for(&ss, password).mech), mechsize);
		r = s->auth == AUTH_OFF ? 0 : auth_alone(&ss, password, NULL,
		    NULL, rep, f);
		if (r == -1)
			conn_interrupted(f);
	}
	if (conn_speaks(&ss))
		conn_quit(&ss);
	conn_close(&ss);
	if (verbose)
		print_timings(rep, f);
	return r;
}

int
session_check(const struct settings *s, const char *password, int verbose,
    struct session_report *rep, char *mech, size_t mechsize,
    char *tls_version_out, size_t tlssize, struct failure *f)
{
	struct settings one = *s;
	char host[256];
	int i, r = -1;

	for (i = 0; settings_host_at(s->host, i, host, sizeof(host)) == 0;
	    i++) {
		if (i > 0 && verbose)
			fprintf(stderr, "smtpsend: %s; trying %s\n", f->text,
			    host);
		memset(f, 0, sizeof(*f));
		one.host = host;
		*mech = '\0';
		*tls_version_out = '\0';
		r = check_one(&one, password, verbose, rep, mech, mechsize,
		    tls_version_out, tlssize, f);
		strlcpy(rep->host, host, sizeof(rep->host));
		if (r == 0 || !worth_next(f))
			break;
	}
	return r;
}
