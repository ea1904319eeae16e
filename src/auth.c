/* SPDX-License-Identifier: ISC */
/*
 * AUTH ourselves, not libcurl: every reply is ours to see, so a refusal is
 * followed by QUIT and reported with what the server said. Also the AUTH
 * PLAIN that goes in one write with the transaction (RFC 4954 section 4),
 * and EHLO again after AUTH for what a server offers only then.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "escape.h"
#include "sasl.h"

/* -v shows "AUTH PLAIN <redacted>": the mechanism, never the secret. */
void
auth_trace(const struct conn *ss, const struct buf *b, bool command)
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
		auth_trace(ss, b, command);
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
/* The mechanism AUTH would use here, for --check's line. */
const char *
auth_mech_name(const struct conn *ss, const char *password)
{
	return sasl_name(sasl_for(ss, password).mech);
}

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

/* An extension this message needs that the first EHLO lacked. */
bool
auth_needs_more(const struct caps *c, const struct envelope *e,
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
int
auth_ehlo_again(struct conn *ss, struct failure *f)
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
		if (r.code / 100 == 2)
			caps_parse(&ss->caps, &r);
		/* qpsmtpd: "503 but you already said HELO". What the first
		 * EHLO offered stands; only what the message truly needs
		 * ends it, named by smtpcmd_check. */
		if (r.code != 421)
			rc = 0;
		else
			fail(f, STAGE_EHLO, CAUSE_REPLY, r.code, "EHLO after "
			    "AUTH refused by %s: %d", ss->s->host, r.code);
	}
	buf_free(&b);
	return rc;
}

/* AUTH in a round trip of its own, then EHLO again if need be. */
int
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
	if (e != NULL && m != NULL && auth_needs_more(&ss->caps, e, m))
		return auth_ehlo_again(ss, f);
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
bool
auth_early(struct conn *ss, const char *password,
    const struct envelope *e, const struct message *m, struct buf *line)
{
	const struct settings *s = ss->s;
	struct sasl sa = sasl_for(ss, password);

	if (!ss->caps.pipelining || sa.mech != SASL_PLAIN ||
	    (s->tls && !s->certcheck && s->fingerprint == NULL) ||
	    auth_needs_more(&ss->caps, e, m))
		return false;
	/* Without its initial response PLAIN takes two exchanges. */
	if (sasl_start(&sa, line) == -1 || line->len <= strlen("AUTH PLAIN\r\n")) {
		buf_free_secret(line);
		return false;
	}
	return true;
}

/* The reply to an early AUTH: 0 on 235, else -1 with f set. */
int
auth_early_reply(struct conn *ss, int seconds, struct session_report *rep,
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
