/* SPDX-License-Identifier: ISC */
/*
 * The SMTP session over a connection (src/conn.c, the one that knows
 * libcurl): AUTH, EHLO again when the message needs more, the mail
 * transaction driven by its state machine (src/txn.c), QUIT, and the next
 * host of a list when one cannot be reached.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "buf.h"
#include "conn.h"
#include "encode.h"
#include "idna.h"
#include "interrupt.h"
#include "reply.h"
#include "session.h"
#include "smtpcmd.h"
#include "submitlog.h"
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
	case TXN_RSET:
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
		auth_trace(ss, auth, true);
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
 * (mynetworks): their replies say whether it did. No new command is sent;
 * after a 354 to the DATA that went with them the server reads data, so
 * the message follows (a command there would be taken as its text), and
 * a message delivered so is reported so, never kept (CONTRACT section 8).
 */
static bool
taken_anyway(struct conn *ss, struct txn *t, const struct message *m,
    const struct failure *f)
{
	enum txn_step st = TXN_READ;
	struct failure ignored = { 0 };
	struct reply r;
	bool all;

	for (;;) {
		if (st == TXN_SEND_BODY && !t->bdat &&
		    send_step(ss, t, st, m, NULL, &ignored) == 0)
			st = TXN_READ;
		if (st != TXN_READ || txn_read(ss, t, &r, &ignored) == -1)
			break;
		st = txn_reply(t, &r);
	}
	if (t->data_open)
		conn_abandon(ss);	/* the body could not go: close */
	all = st == TXN_DONE && !failed(&t->f);
	if (all || t->delivered.n > 0)
		submitlog_warn(ss->s, "%s; %s took the message without "
		    "authentication%s: check user and password", f->text,
		    ss->s->host, all ? "" : " for some recipients");
	return all;
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

	if (auth != NULL && auth_early_reply(ss, 2, rep, &af) == -1) {
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
	    conn_read_reply(ss, &r, txn_stage(t), 2, &ignored) == 0) {
		t->unanswered--;
		if (r.code == 354) {
			/* Reading data now: QUIT or RSET would be data. */
			t->data_open = true;
			conn_abandon(ss);
		}
	}
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
    const struct message *m, const struct buf *auth, bool rset, bool resume,
    struct session_report *rep, struct failure *f)
{
	enum txn_step st = resume ? txn_resume(t, &ss->caps) : txn_init(t, e,
	    &ss->caps, message_size(m), ss->s->partial_delivery, ss->s->host,
	    rset);
	struct reply r;

	while (st != TXN_DONE && st != TXN_FAILED) {
		if (st != TXN_READ && send_step(ss, t, st, m, auth, f) == -1) {
			if (t->body_early)
				lost_send(ss, t, auth, rep, f);
			break;
		}
		if (auth != NULL) {	/* its reply comes first */
			auth = NULL;
			if (auth_early_reply(ss, reply_wait(ss, t), rep, f) ==
			    -1) {
				if (f->cause == CAUSE_REPLY &&
				    taken_anyway(ss, t, m, f))
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
	return auth_alone(ss, password, e, NULL, rep, f);	/* EHLO again: fit_message */
}

/* QUIT when it still speaks SMTP, and close. */
static void
session_close(struct session *se)
{
	if (se->open && conn_speaks(&se->conn))
		conn_quit(&se->conn);
	if (se->open)
		conn_close(&se->conn);
	se->open = se->rset = se->authenticated = se->ehlo_twice = false;
	se->carried = 0;
	buf_free_secret(&se->auth);
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

/* A new connection, to the first host of the list that answers. */
static int
session_connect(struct session *se, const struct envelope *e,
    const struct message *m, struct session_report *rep, struct failure *f)
{
	int i, r = -1;
	bool tried = false;

	for (i = 0; settings_host_at(se->given->host, i, se->host,
	    sizeof(se->host)) == 0; i++) {
		tried = true;
		if (i > 0 && se->verbose)
			fprintf(stderr, "smtpsend: %s; trying %s\n", f->text,
			    se->host);
		memset(f, 0, sizeof(*f));
		se->s.host = se->host;
		conn_init(&se->conn, &se->s, se->verbose);
		se->open = true;
		r = submit_start(&se->conn, se->password, e, m, &se->auth, rep,
		    f);
		if (r == 0)
			break;
		session_close(se);
		if (!worth_next(f))
			break;
	}
	if (!tried)	/* never: check_hosts bounds each name */
		fail(f, STAGE_NONE, CAUSE_CONFIG, 0, "no host to connect to");
	strlcpy(rep->host, se->host, sizeof(rep->host));
	se->authenticated = rep->authenticated;
	/* A server that takes nothing gets no second try this run. */
	if (r == -1 && f->cause != CAUSE_OSERR) {
		se->dead = true;
		se->why = *f;
	}
	return r;
}

/* The message as this server can take it: 7-bit, A-labels, SIZE. */
static int
fit_message(struct session *se, const struct envelope **e,
    const struct message **m, struct envelope *ascii, struct message *hm,
    struct message *encoded, struct failure *f)
{
	if (se->authenticated && !se->ehlo_twice &&
	    auth_needs_more(&se->conn.caps, *e, *m)) {
		se->ehlo_twice = true;
		if (auth_ehlo_again(&se->conn, f) == -1)
			return -1;
	}
	/* Without SMTPUTF8, domains go as A-labels (xn--), in the address
	 * fields and Message-ID as in the envelope. */
	if (!se->conn.caps.smtputf8) {
		switch (idna_headers(*m, hm, f)) {
		case -1:
			return -1;
		case 1:
			*m = hm;
			break;
		}
	}
	if (prepare_body(&se->conn, *m, encoded, m, f) == -1)
		return -1;
	if ((*e)->smtputf8 && !se->conn.caps.smtputf8) {
		if (idna_envelope(*e, ascii, f) == -1)
			return -1;
		*e = ascii;
	}
	return smtpcmd_check(*e, &se->conn.caps, message_size(*m), f);
}

/*
 * A per-connection recipient cap: the rest over a new connection, if
 * this one took something (a fresh connection that takes no recipient
 * at all would take none the next time either).
 */
static bool
capped_again(struct session *se, struct txn *t, size_t before,
    const struct envelope *e, const struct message *m,
    struct session_report *rep, struct failure *f)
{
	struct session_report ignored;

	if (!t->capped || (t->delivered.n == before && se->carried == 0))
		return false;
	if (se->verbose)
		fprintf(stderr, "smtpsend: %s; the rest over a new "
		    "connection\n", f->text);
	session_close(se);
	memset(&ignored, 0, sizeof(ignored));
	if (session_connect(se, e, m, &ignored, f) == -1)
		return false;
	rep->authenticated = se->authenticated;
	memset(f, 0, sizeof(*f));
	return true;
}

/*
 * After a message: keep the connection for the next one (RSET first if a
 * transaction may be open: txn_next decides), or QUIT and close it.
 */
static void
after_message(struct session *se, const struct txn *t, bool ran,
    const struct session_report *rep, const struct failure *f)
{
	bool lost = f->cause == CAUSE_TEMPORARY || f->cause ==
	    CAUSE_PROTOCOL || f->cause == CAUSE_POSSIBLY_SENT ||
	    (f->cause == CAUSE_REPLY && f->code == 421);
	enum txn_next next = ran ? txn_next(t, failed(f) ? TXN_FAILED :
	    TXN_DONE) : lost ? TXN_NEXT_CLOSE : TXN_NEXT_CLEAN;

	if (!se->open)
		return;
	if (rep->delivered)
		se->carried++;
	/* Refused credentials: no next message on this connection without
	 * them (the server may relay anyway); when they were refused and
	 * nothing was taken, no other login this run. */
	if (se->s.auth != AUTH_OFF && !se->authenticated && !rep->authenticated)
		next = TXN_NEXT_CLOSE;
	if (failed(f) && f->stage == STAGE_AUTH) {
		se->dead = true;
		se->why = *f;
	}
	se->authenticated |= rep->authenticated;
	if (interrupt_signal() != 0 || !conn_speaks(&se->conn))
		next = TXN_NEXT_CLOSE;
	if (next == TXN_NEXT_CLOSE) {
		/* A fresh connection lost before it carried anything: the
		 * server takes nothing now; no new try this run. */
		if (lost && se->carried == 0 && !se->dead && !rep->delivered) {
			se->dead = true;
			se->why = *f;
		}
		session_close(se);
		return;
	}
	se->rset = next == TXN_NEXT_RSET;
}

/* One message over the session's connection, opening it if need be. */
static int
send_once(struct session *se, const struct envelope *e,
    const struct message *m, struct session_report *rep, struct failure *f)
{
	struct message encoded, hm;
	struct envelope ascii;
	struct txn t;
	size_t before = 0;
	double t_open;
	int r = -1;
	bool resume = false, ran = false;

	memset(&t, 0, sizeof(t));
	memset(&ascii, 0, sizeof(ascii));
	memset(&hm, 0, sizeof(hm));
	message_init(&encoded);
	if (!se->open && session_connect(se, e, m, rep, f) == -1)
		goto out;
	rep->authenticated = se->authenticated;
	t_open = conn_elapsed(&se->conn);
	if (fit_message(se, &e, &m, &ascii, &hm, &encoded, f) == -1)
		goto out;
	se->conn.progress_total = se->conn.progress_sent = 0;
	if (isatty(STDERR_FILENO) && message_size(m) > PROGRESS_MIN) {
		se->conn.progress_total = message_size(m);
		se->conn.progress_start = se->conn.progress_at = t_open;
	}
	do {
		ran = true;
		before = t.delivered.n;
		r = transaction(&se->conn, &t, e, m, se->auth.len > 0 ?
		    &se->auth : NULL, se->rset, resume, rep, f);
		buf_free_secret(&se->auth);	/* sent once */
		resume = true;
	} while (r == -1 && capped_again(se, &t, before, e, m, rep, f));
	/* A progress line left open: the error goes on a line of its own. */
	if (r == -1 && se->conn.progress_at > se->conn.progress_start &&
	    se->conn.progress_sent < se->conn.progress_total)
		fputc('\n', stderr);
	if (r == -1)
		conn_interrupted(f);
	if (se->open)
		rep->t_transfer = conn_elapsed(&se->conn) - t_open;
out:
	after_message(se, &t, ran, rep, f);
	txn_free(&t);
	envelope_free(&ascii);
	idna_headers_free(&hm);
	message_free(&encoded);
	return r == 0 && !failed(f) ? 0 : -1;
}
/* Lost before MAIL was answered, on a connection that carried mail: the
 * server ended it (421, "too many messages", an idle timeout). */
static bool
dropped_early(const struct failure *f)
{
	if (f->stage > STAGE_MAIL || f->stage < STAGE_AUTH ||
	    interrupt_signal() != 0)
		return false;
	return f->cause == CAUSE_TEMPORARY ||
	    (f->cause == CAUSE_REPLY && f->code == 421);
}

void
session_begin(struct session *se, const struct settings *s,
    const char *password, int verbose)
{
	memset(se, 0, sizeof(*se));
	se->given = s;
	se->s = *s;
	se->password = password;
	se->verbose = verbose;
	se->auth = (struct buf)BUF_INIT;
}

int
session_send(struct session *se, const struct envelope *e,
    const struct message *m, struct session_report *rep, struct failure *f)
{
	bool reused;
	int r;

	memset(rep, 0, sizeof(*rep));
	memset(f, 0, sizeof(*f));
	if (se->dead) {
		*f = se->why;	/* tried already in this run */
		strlcpy(rep->host, se->host, sizeof(rep->host));
		return -1;
	}
	if (se->open && !conn_idle_ok(&se->conn)) {
		if (se->verbose)
			fprintf(stderr, "smtpsend: %s closed the idle "
			    "connection; connecting again\n", se->host);
		session_close(se);
	}
	reused = se->open;
	r = send_once(se, e, m, rep, f);
	if (r == -1 && reused && !se->open && !rep->delivered &&
	    dropped_early(f) && !se->dead) {
		if (se->verbose)
			fprintf(stderr, "smtpsend: %s; connecting again\n",
			    f->text);
		memset(rep, 0, sizeof(*rep));
		memset(f, 0, sizeof(*f));
		r = send_once(se, e, m, rep, f);
	}
	strlcpy(rep->host, se->host, sizeof(rep->host));
	if (se->verbose)
		print_timings(rep, f);
	if (se->verbose && r == 0)
		fprintf(stderr, "smtpsend: %s took the message\n", rep->host);
	return r;
}

void
session_end(struct session *se)
{
	session_close(se);
}

int
session_submit(const struct settings *s, const char *password,
    const struct envelope *e, const struct message *m, int verbose,
    struct session_report *rep, struct failure *f)
{
	struct session se;
	int r;

	session_begin(&se, s, password, verbose);
	r = session_send(&se, e, m, rep, f);
	session_end(&se);
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
		    auth_mech_name(&ss, password), mechsize);
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
	bool tried = false;

	for (i = 0; settings_host_at(s->host, i, host, sizeof(host)) == 0;
	    i++) {
		tried = true;
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
	if (!tried)	/* never: check_hosts bounds each name */
		fail(f, STAGE_NONE, CAUSE_CONFIG, 0, "no host to connect to");
	return r;
}
