/* SPDX-License-Identifier: ISC */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "addr.h"
#include "buf.h"
#include "fdio.h"
#include "escape.h"
#include "hostname.h"
#include "interrupt.h"
#include "outbox.h"
#include "run.h"
#include "session.h"
#include "sessions.h"
#include "smtpstdio.h"
#include "spool.h"

#define COMMAND_MAX	2048	/* a longer command line: 500 */
#define DATA_LINE_MAX	1000	/* RFC 5321 4.5.3.1.6, CRLF included */
#define RCPTS_MAX	1000

enum phase { GREETED, READY, HAVE_MAIL, HAVE_RCPT };

/* Input and output of the pipe, and the transaction being built. */
struct conv {
	int		 in, out;
	char		 ibuf[65536];
	size_t		 ilen, ipos;
	bool		 eof;
	struct buf	 obuf;
	enum phase	 phase;
	bool		 quit;
	/* The transaction */
	char		*sender;
	char		*rcpts[RCPTS_MAX];
	int		 nrcpts;
	char		*notify;
	char		*ret;
	char		*envid;
	bool		 body8;
	const struct options *base;
	struct sessions	 pool;		/* the smarthost connections */
};

/* One input line; `ending` says how it ended. */
enum ending { END_CRLF, END_LF, END_EOF };

struct line {
	struct buf	 text;		/* without the line end */
	enum ending	 end;
	size_t		 length;	/* as received, even past the limit */
	bool		 nul;
};

/* Queue one reply line; handlers return what this returns. */
static int
reply(struct conv *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&c->obuf, fmt, ap);
	va_end(ap);
	return buf_add(&c->obuf, "\r\n", 2);
}

static void
flush(struct conv *c)
{
	size_t off = 0;
	ssize_t w;

	while (off < c->obuf.len) {
		w = write(c->out, c->obuf.data + off, c->obuf.len - off);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			break;		/* the client is gone; EOF follows */
		off += (size_t)w;
	}
	buf_reset(&c->obuf);
}

/* Replies wait while pipelined commands are buffered (RFC 2920). */
static bool
fill(struct conv *c)
{
	ssize_t n;

	flush(c);
	for (;;) {
		n = read(c->in, c->ibuf, sizeof(c->ibuf));
		/* SIGTERM, SIGINT, SIGHUP: the end of input, with 75. */
		if (n == -1 && errno == EINTR && interrupt_signal() == 0)
			continue;
		if (n <= 0) {
			c->eof = true;
			return false;
		}
		c->ilen = (size_t)n;
		c->ipos = 0;
		return true;
	}
}

/* The next line, keeping at most `max` bytes of it. */
static bool
read_line(struct conv *c, struct line *l, size_t max)
{
	bool cr = false;	/* the line so far ends in CR */

	buf_reset(&l->text);
	l->length = 0;
	l->nul = false;
	for (;;) {
		char *nl, *p;
		size_t n;

		if (c->ipos == c->ilen && !fill(c)) {
			l->end = END_EOF;
			return l->length > 0;
		}
		p = c->ibuf + c->ipos;
		nl = memchr(p, '\n', c->ilen - c->ipos);
		n = nl ? (size_t)(nl - p) : c->ilen - c->ipos;
		if (memchr(p, '\0', n) != NULL)
			l->nul = true;
		if (l->text.len < max)
			buf_add(&l->text, p, n < max - l->text.len ? n :
			    max - l->text.len);
		l->length += n;
		c->ipos += n + (nl ? 1 : 0);
		if (n > 0)
			cr = p[n - 1] == '\r';
		if (nl == NULL)
			continue;
		l->end = cr ? END_CRLF : END_LF;
		/* The CR is in the text unless the line was cut short. */
		if (cr && l->length <= max)
			l->text.data[--l->text.len] = '\0';
		return true;
	}
}

static void
transaction_reset(struct conv *c)
{
	int i;

	free(c->sender);
	for (i = 0; i < c->nrcpts; i++)
		free(c->rcpts[i]);
	free(c->notify);
	free(c->ret);
	free(c->envid);
	c->sender = c->notify = c->ret = c->envid = NULL;
	c->nrcpts = 0;
	c->body8 = false;
	if (c->phase > READY)
		c->phase = READY;
}

/* "FROM:<path> params" (keyword "FROM:" or "TO:"); NULL path on error. */
static char *
parse_path(const char *arg, const char *keyword, const char **params)
{
	size_t k = strlen(keyword);
	const char *p = arg, *start;
	bool quoted = false;

	p += strspn(p, " ");
	if (strncasecmp(p, keyword, k) != 0)
		return NULL;
	p += k;
	p += strspn(p, " ");
	if (*p++ != '<')
		return NULL;
	for (start = p; *p != '\0' && (quoted || *p != '>'); p++) {
		if (*p == '\\' && quoted && p[1] != '\0')
			p++;
		else if (*p == '"')
			quoted = !quoted;
	}
	if (*p != '>')
		return NULL;
	*params = p + 1 + strspn(p + 1, " ");
	return strndup(start, (size_t)(p - start));
}

static char *
xtext_decode(const char *s)
{
	char *out = malloc(strlen(s) + 1), *o = out;
	unsigned int byte;

	if (out == NULL)
		return NULL;
	for (; *s != '\0'; s++) {
		if (*s == '+' && sscanf(s + 1, "%2x", &byte) == 1 &&
		    isxdigit((unsigned char)s[1]) &&
		    isxdigit((unsigned char)s[2]) && byte != 0) {
			*o++ = (char)byte;
			s += 2;
		} else
			*o++ = *s;
	}
	*o = '\0';
	return out;
}

/* MAIL parameters: what we offer, and nothing else. */
static const char *
mail_params(struct conv *c, const char *params)
{
	char copy[COMMAND_MAX], *w, *save;

	strlcpy(copy, params, sizeof(copy));
	for (w = strtok_r(copy, " ", &save); w != NULL;
	    w = strtok_r(NULL, " ", &save)) {
		if (strncasecmp(w, "SIZE=", 5) == 0 || strcasecmp(w, "SMTPUTF8")
		    == 0 || strcasecmp(w, "BODY=7BIT") == 0)
			continue;
		if (strcasecmp(w, "BODY=8BITMIME") == 0)
			c->body8 = true;
		else if ((strcasecmp(w, "RET=FULL") == 0 ||
		    strcasecmp(w, "RET=HDRS") == 0) && c->ret == NULL)
			c->ret = strdup(w + 4);
		else if (strncasecmp(w, "ENVID=", 6) == 0 && c->envid == NULL)
			c->envid = xtext_decode(w + 6);
		else
			return w[0] == '\0' ? NULL : "555 5.5.4 Unsupported "
			    "MAIL parameter";
	}
	return NULL;
}

static bool
bad_address(const char *a)
{
	char why[160];

	return *a != '\0' && addr_check(a, why, sizeof(why)) == -1;
}

static int
cmd_mail(struct conv *c, const char *arg)
{
	const char *params, *why;
	char *path;

	if (c->phase == GREETED)
		return reply(c, "503 5.5.1 Send EHLO or HELO first");
	if (c->phase != READY)
		return reply(c, "503 5.5.1 Nested MAIL command");
	if ((path = parse_path(arg, "FROM:", &params)) == NULL)
		return reply(c, "501 5.5.4 Syntax: MAIL FROM:<address>");
	if (bad_address(path)) {
		free(path);
		return reply(c, "553 5.1.7 Invalid sender address");
	}
	c->sender = path;
	if ((why = mail_params(c, params)) != NULL) {
		transaction_reset(c);
		return reply(c, "%s", why);
	}
	c->phase = HAVE_MAIL;
	return reply(c, "250 2.1.0 Ok");
}

static int
cmd_rcpt(struct conv *c, const char *arg)
{
	const char *params;
	char *path;

	if (c->phase < HAVE_MAIL)
		return reply(c, "503 5.5.1 Need MAIL before RCPT");
	if ((path = parse_path(arg, "TO:", &params)) == NULL)
		return reply(c, "501 5.5.4 Syntax: RCPT TO:<address>");
	if (*path == '\0' || bad_address(path)) {
		free(path);
		return reply(c, "553 5.1.3 Invalid recipient address");
	}
	if (c->nrcpts == RCPTS_MAX) {
		free(path);
		return reply(c, "452 4.5.3 Too many recipients");
	}
	/* NOTIFY applies to the whole envelope: the first one given. */
	for (; *params != '\0' && c->notify == NULL; params += strcspn(params,
	    " "), params += strspn(params, " "))
		if (strncasecmp(params, "NOTIFY=", 7) == 0)
			c->notify = strndup(params + 7,
			    strcspn(params + 7, " "));
	c->rcpts[c->nrcpts++] = path;
	c->phase = HAVE_RCPT;
	return reply(c, "250 2.1.5 Ok");
}

static int
cmd_ehlo(struct conv *c, const char *arg, bool extended)
{
	transaction_reset(c);
	c->phase = READY;
	(void)arg;
	if (!extended)
		return reply(c, "250 %s", host_name_or_localhost());
	return reply(c, "250-%s\r\n250-PIPELINING\r\n250-SIZE\r\n250-8BITMIME\r\n"
	    "250-SMTPUTF8\r\n250-DSN\r\n250 ENHANCEDSTATUSCODES", host_name_or_localhost());
}

/* What the data held that cannot be relayed, found while reading it. */
struct data_faults {
	bool	bare_eol;	/* LF without CR, or CR without LF */
	bool	nul;
	bool	too_long;
};

/* Lines up to CRLF.CRLF, unstuffed, into fd; -1 at EOF or error. */
static int
read_data(struct conv *c, int fd, struct data_faults *df, struct failure *f)
{
	struct line l = { BUF_INIT, END_EOF, 0, false };
	const char *t;
	int r = -1;

	while (read_line(c, &l, DATA_LINE_MAX) && l.end != END_EOF) {
		t = l.text.data ? l.text.data : "";
		/* The length, not strcmp: ".\0" is not the end of data. */
		if (l.end == END_CRLF && l.text.len == 1 && t[0] == '.' &&
		    !l.nul) {
			r = 0;
			break;
		}
		if (l.end == END_LF || memchr(t, '\r', l.text.len) != NULL)
			df->bare_eol = true;
		df->nul |= l.nul;
		if (l.length - (l.end == END_CRLF) > DATA_LINE_MAX - 2)
			df->too_long = true;
		if (*t == '.')
			t++;
		if (write_all(fd, t, strlen(t)) == -1 ||
		    write_all(fd, "\r\n", 2) == -1) {
			fail_errno(f, CAUSE_OSERR, "storing the message");
			break;
		}
	}
	if (r == -1 && !failed(f) && interrupt_signal() != 0)
		fail(f, STAGE_NONE, CAUSE_TEMPORARY, 0, "interrupted by signal "
		    "%d inside DATA; the message was discarded",
		    interrupt_signal());
	else if (r == -1 && !failed(f))
		fail(f, STAGE_NONE, CAUSE_DATAERR, 0, "the input ended inside "
		    "DATA; the message was discarded");
	buf_free(&l.text);
	return r;
}

/* The envelope of this transaction, as if given on the command line. */
static void
relay_options(const struct conv *c, struct options *o)
{
	*o = *c->base;
	o->mode = MODE_DELIVER;
	o->sender = c->sender;
	o->recipients = (char **)c->rcpts;
	o->nrecipients = c->nrcpts;
	o->recipients_from_headers = false;
	o->dot_is_data = true;
	o->compose = false;
	o->dsn_notify = c->notify != NULL &&
	    key_check(K_DSN_NOTIFY, c->notify) == NULL ? c->notify : NULL;
	o->dsn_return = c->ret;
	o->envid = c->envid;
	o->body_8bitmime = c->body8;
}

/* The reply to the final dot carries what the smarthost said. */
static int
relay(struct conv *c, int fd)
{
	struct session_report rep;
	struct failure f = { 0 };
	struct options o;
	char text[400];

	relay_options(c, &o);
	if (lseek(fd, 0, SEEK_SET) == -1)
		return reply(c, "451 4.3.0 Local error storing the message");
	run_message(&o, fd, &c->pool, &rep, &f);
	/* rep.text and f.text are escaped already: never twice. */
	if (!failed(&f))
		return reply(c, "250 2.0.0 Ok: relayed: %d %.400s", rep.code,
		    rep.text);
	fprintf(stderr, "smtpsend: %s\n", f.text);
	strlcpy(text, f.text, sizeof(text));
	/* deferred_status 0: accepted, as a queueing MTA would. */
	if (f.queued)
		return reply(c, "250 2.0.0 Ok: queued as %s", rep.queued_id);
	if (rep.delivered)
		return reply(c, "250 2.0.0 Ok, but not for everyone: %s", text);
	if (status_exit(&f) == 75 || (strstr(f.text, "kept in the outbox") &&
	    outbox_state_of(&f) != OUTBOX_PERMANENT))
		return reply(c, "451 4.3.0 %s", text);
	if (f.cause == CAUSE_REPLY && f.code >= 500 && f.code <= 599)
		return reply(c, "%d 5.0.0 %s", f.code, text);
	return reply(c, "554 5.3.0 %s", text);
}

static int
cmd_data(struct conv *c, const char *arg, struct failure *f)
{
	struct data_faults df = { false, false, false };
	int fd, r;

	(void)arg;
	if (c->phase != HAVE_RCPT)
		return reply(c, c->phase == HAVE_MAIL ? "554 5.5.1 No valid "
		    "recipients" : "503 5.5.1 Need MAIL and RCPT before DATA");
	if ((fd = spool_tmpfile()) == -1)
		return reply(c, "451 4.3.0 Local error: no temporary file");
	reply(c, "354 End data with <CR><LF>.<CR><LF>");
	if (read_data(c, fd, &df, f) == -1)
		r = -1;
	else if (df.bare_eol)
		r = reply(c, "550 5.6.2 Bare CR or LF in the message; use CRLF");
	else if (df.nul)
		r = reply(c, "554 5.6.0 The message holds a NUL byte");
	else if (df.too_long)
		r = reply(c, "552 5.6.0 A line is longer than 998 octets");
	else
		r = relay(c, fd);
	close(fd);
	transaction_reset(c);
	return r;
}

static int
cmd_simple(struct conv *c, const char *verb)
{
	if (strcmp(verb, "RSET") == 0) {
		transaction_reset(c);
		return reply(c, "250 2.0.0 Ok");
	}
	if (strcmp(verb, "NOOP") == 0)
		return reply(c, "250 2.0.0 Ok");
	if (strcmp(verb, "QUIT") == 0) {
		c->quit = true;
		return reply(c, "221 2.0.0 Bye");
	}
	if (strcmp(verb, "VRFY") == 0)
		return reply(c, "252 2.5.0 Cannot VRFY; send and see");
	if (strcmp(verb, "HELP") == 0)
		return reply(c, "214 2.0.0 EHLO HELO MAIL RCPT DATA RSET NOOP "
		    "QUIT");
	/* Not offered: AUTH, STARTTLS (the pipe is local), BDAT, ETRN... */
	if (strcmp(verb, "AUTH") == 0 || strcmp(verb, "STARTTLS") == 0 ||
	    strcmp(verb, "BDAT") == 0 || strcmp(verb, "ETRN") == 0 ||
	    strcmp(verb, "EXPN") == 0)
		return reply(c, "502 5.5.1 %s is not offered", verb);
	return reply(c, "500 5.5.2 Command not recognized");
}

static int
dispatch(struct conv *c, const struct line *l, struct failure *f)
{
	const char *t = l->text.data ? l->text.data : "";
	char verb[16];
	size_t n = strcspn(t, " ");

	if (l->length > COMMAND_MAX)
		return reply(c, "500 5.5.2 Line too long");
	if (l->nul || has_control(t, l->text.len))
		return reply(c, "500 5.5.2 Control character in command");
	if (l->end != END_CRLF)
		return reply(c, "500 5.5.2 Bare LF: end commands with CRLF");
	snprintf(verb, sizeof(verb), "%.*s", (int)(n < 15 ? n : 15), t);
	for (n = 0; verb[n] != '\0'; n++)
		verb[n] = (char)toupper((unsigned char)verb[n]);
	t += strlen(verb);
	if (strcmp(verb, "EHLO") == 0 || strcmp(verb, "HELO") == 0)
		return cmd_ehlo(c, t, verb[0] == 'E');
	if (strcmp(verb, "MAIL") == 0)
		return cmd_mail(c, t);
	if (strcmp(verb, "RCPT") == 0)
		return cmd_rcpt(c, t);
	if (strcmp(verb, "DATA") == 0)
		return cmd_data(c, t, f);
	return cmd_simple(c, verb);
}

int
smtpstdio_serve(const struct options *o, int in, int out, struct failure *f)
{
	struct line l = { BUF_INIT, END_EOF, 0, false };
	struct conv c;

	memset(&c, 0, sizeof(c));
	c.in = in;
	c.out = out;
	c.base = o;
	c.pool = (struct sessions)SESSIONS_INIT(o->verbose);
	reply(&c, "220 %s ESMTP smtpsend", host_name_or_localhost());
	while (!c.quit && !failed(f) && interrupt_signal() == 0 &&
	    read_line(&c, &l, COMMAND_MAX)) {
		if (l.end == END_EOF)
			break;		/* a last line without its end */
		dispatch(&c, &l, f);
	}
	flush(&c);
	sessions_end(&c.pool);	/* QUIT to the smarthost */
	transaction_reset(&c);
	buf_free(&l.text);
	buf_free(&c.obuf);
	if (!c.quit && interrupt_signal() != 0)
		fail(f, STAGE_NONE, CAUSE_TEMPORARY, 0, "interrupted by signal "
		    "%d", interrupt_signal());
	return failed(f) ? -1 : 0;
}
