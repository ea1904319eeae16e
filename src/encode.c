/* SPDX-License-Identifier: ISC */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "encode.h"
#include "escape.h"

#define QP_LINE_MAX	76	/* RFC 2045, the '=' of a soft break included */
#define SMTP_LINE_MAX	998

size_t
dotstuff(struct dotstuffer *ds, const char *in, size_t n, char *out)
{
	const char *nl;
	size_t i = 0, o = 0, run;

	/* Line by line with memchr: only a line's first byte is looked at. */
	while (i < n) {
		if (ds->bol && in[i] == '.')
			out[o++] = '.';
		nl = memchr(in + i, '\n', n - i);
		run = nl != NULL ? (size_t)(nl - (in + i)) + 1 : n - i;
		memcpy(out + o, in + i, run);
		o += run;
		i += run;
		ds->bol = nl != NULL;
	}
	return o;
}

void
qp_init(struct qp *q, int (*put)(void *, const char *, size_t), void *arg)
{
	memset(q, 0, sizeof(*q));
	q->put = put;
	q->arg = arg;
}

static void
qp_put(struct qp *q, const char *p, size_t n)
{
	if (!q->failed && q->put(q->arg, p, n) == -1)
		q->failed = true;
}

/* One token on the current QP line, with a soft break when it is full. */
static void
qp_token(struct qp *q, const char *tok, size_t n)
{
	if (q->col + n > QP_LINE_MAX - 1) {
		qp_put(q, "=\r\n", 3);
		q->col = 0;
	}
	qp_put(q, tok, n);
	q->col += n;
}

static void
qp_encoded(struct qp *q, unsigned char c)
{
	char tok[4];

	snprintf(tok, sizeof(tok), "=%02X", c);
	qp_token(q, tok, 3);
}

static void
qp_byte(struct qp *q, char c)
{
	if (c == '\r')
		return;		/* line ends are LF or CRLF: CRLF is written */
	if (c == '\n') {
		/* Whitespace at the end of a line must be encoded. */
		if (q->pending_ws)
			qp_encoded(q, (unsigned char)q->pending_ws);
		q->pending_ws = 0;
		qp_put(q, "\r\n", 2);
		q->col = 0;
		return;
	}
	if (q->pending_ws) {
		qp_token(q, &q->pending_ws, 1);
		q->pending_ws = 0;
	}
	if (c == ' ' || c == '\t')
		q->pending_ws = c;
	else if (c >= '!' && c <= '~' && c != '=')
		qp_token(q, &c, 1);
	else
		qp_encoded(q, (unsigned char)c);
}

int
qp_feed(struct qp *q, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		qp_byte(q, p[i]);
	return q->failed ? -1 : 0;
}

int
qp_finish(struct qp *q)
{
	if (q->pending_ws)
		qp_encoded(q, (unsigned char)q->pending_ws);
	q->pending_ws = 0;
	return q->failed ? -1 : 0;
}

void
b64_init(struct b64 *b, int (*put)(void *, const char *, size_t), void *arg)
{
	memset(b, 0, sizeof(*b));
	b->put = put;
	b->arg = arg;
	b->line = 76;
}

/* Three bytes in, four characters out; `line` characters a line. */
static int
b64_group(struct b64 *b, const unsigned char *in, size_t n)
{
	static const char abc[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned v = (unsigned)in[0] << 16 | (n > 1 ? (unsigned)in[1] << 8 : 0)
	    | (n > 2 ? in[2] : 0);
	char out[6];
	size_t len = 4;

	out[0] = abc[v >> 18 & 63];
	out[1] = abc[v >> 12 & 63];
	out[2] = n > 1 ? abc[v >> 6 & 63] : '=';
	out[3] = n > 2 ? abc[v & 63] : '=';
	if (b->line > 0 && (b->col += 4) >= b->line) {
		out[4] = '\r';
		out[5] = '\n';
		len = 6;
		b->col = 0;
	}
	return b->put(b->arg, out, len);
}

int
b64_feed(struct b64 *b, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		b->held[b->nheld++] = (unsigned char)p[i];
		if (b->nheld == 3) {
			b->nheld = 0;
			if (b64_group(b, b->held, 3) == -1)
				return -1;
		}
	}
	return 0;
}

int
b64_finish(struct b64 *b)
{
	if (b->nheld > 0 && b64_group(b, b->held, b->nheld) == -1)
		return -1;
	b->nheld = 0;
	return b->col > 0 ? b->put(b->arg, "\r\n", 2) : 0;
}

/* Output through a buffer into a spool. */
struct sink {
	struct spool	*spool;
	char		 buf[16384];
	size_t		 len;
	size_t		 col;		/* octets on the current line */
	bool		 failed;
};

static int
sink_put(void *arg, const char *p, size_t n)
{
	struct sink *k = arg;

	if (k->len + n > sizeof(k->buf)) {
		if (spool_write(k->spool, k->buf, k->len) == -1)
			k->failed = true;
		k->len = 0;
	}
	memcpy(k->buf + k->len, p, n);
	k->len += n;
	return k->failed ? -1 : 0;
}

static void
sink_flush(struct sink *k)
{
	if (k->len > 0 && spool_write(k->spool, k->buf, k->len) == -1)
		k->failed = true;
	k->len = 0;
}

static void
fold_byte(struct sink *k, char c)
{
	if (c == '\n' || c == '\r') {
		k->col = 0;
	} else if (++k->col > SMTP_LINE_MAX) {
		sink_put(k, "\r\n ", 3);
		k->col = 2;
	}
	sink_put(k, &c, 1);
}

/*
 * A field with a line over 998 octets, folded: before the last whitespace
 * that fits (lossless), else with CRLF SPACE at the limit.
 */
/*
 * Where to break a line that is too long: before the last whitespace that
 * fits and has text before it on the line (a fold, lossless), else at the
 * limit (CRLF SPACE goes in). NULL when there is no text at all.
 */
static const char *
fold_point(const char *line, const char *end, size_t room, bool *forced)
{
	const char *p, *cut = NULL, *limit = line + room;
	bool text = false;

	for (p = line; p < limit && p < end; p++) {
		if (*p != ' ' && *p != '\t')
			text = true;
		else if (text)
			cut = p;
	}
	*forced = cut == NULL;
	return cut != NULL ? cut : text ? limit : NULL;
}

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * One physical line [line, end) of a field, folded to lines of at most 998
 * octets, none of them whitespace only. The only losses, warned about:
 * CRLF SPACE where no whitespace fits, and whitespace that cannot be kept
 * (a run longer than a line, or trailing past the limit).
 */
static void
fold_line(struct buf *b, const char *line, const char *end, bool *lossy)
{
	const char *tail = end, *cut;
	size_t extra = 0;	/* the SPACE a forced break put in front */
	bool forced;

	while (tail > line && is_blank(tail[-1]))
		tail--;
	while ((size_t)(end - line) + extra > SMTP_LINE_MAX) {
		if ((size_t)(tail - line) + extra <= SMTP_LINE_MAX) {
			*lossy = true;		/* trailing whitespace */
			end = tail > line ? tail : line + 1;
			break;
		}
		cut = fold_point(line, tail, SMTP_LINE_MAX - extra, &forced);
		if (cut == NULL) {
			*lossy = true;		/* a run of whitespace */
			while (line + 1 < tail && is_blank(line[1]))
				line++;
			continue;
		}
		*lossy |= forced;
		buf_add(b, line, (size_t)(cut - line));
		buf_addstr(b, forced ? "\r\n " : "\r\n");
		extra = forced ? 1 : 0;
		line = cut;
	}
	buf_add(b, line, (size_t)(end - line));
}

static bool
all_blank(const char *p, const char *end)
{
	for (; p < end; p++)
		if (!is_blank(*p))
			return false;
	return true;
}

static char *
fold_field(const char *text, bool *lossy)
{
	struct buf b = BUF_INIT;
	const char *line = text, *end;

	for (;;) {
		end = strstr(line, "\r\n");
		end = end ? end : line + strlen(line);
		/* A continuation line of nothing but too much whitespace
		 * goes, line end and all: a blank line would end the header. */
		if (line != text && (size_t)(end - line) > SMTP_LINE_MAX &&
		    all_blank(line, end)) {
			*lossy = true;
			b.len -= 2;
			b.data[b.len] = '\0';
		} else
			fold_line(&b, line, end, lossy);
		if (*end == '\0')
			return b.data;
		buf_addstr(&b, "\r\n");
		line = end + 2;
	}
}

static int
copy_field(struct message *out, const struct header *h, bool *lossy)
{
	struct header folded = *h;
	int r;

	if ((folded.text = fold_field(h->text, lossy)) == NULL)
		return -1;
	r = header_copy(out, &folded);
	free(folded.text);
	return r;
}

static int
copy_headers(const struct message *in, struct message *out, bool qp)
{
	bool lossy = false;
	size_t i, skip;

	for (i = 0; i < in->nheaders; i++) {
		const struct header *h = &in->headers[i];

		skip = qp && h->namelen == 25 &&
		    strncasecmp(h->text, "Content-Transfer-Encoding", 25) == 0;
		if (!skip && copy_field(out, h, &lossy) == -1)
			return -1;
	}
	if (lossy)
		fprintf(stderr, "smtpsend: warning: a header line over 998 "
		    "octets could not be folded without a change (CRLF SPACE "
		    "added, or a long run of whitespace shortened)\n");
	out->separator = in->separator;
	if (!qp)
		return 0;
	if (header_find(in, "MIME-Version", 0) == NULL &&
	    header_add(out, "MIME-Version", "1.0") == -1)
		return -1;
	/* Without a Content-Type the charset is a guess: UTF-8, the norm. */
	if (header_find(in, "Content-Type", 0) == NULL &&
	    header_add(out, "Content-Type", "text/plain; charset=utf-8") == -1)
		return -1;
	return header_add(out, "Content-Transfer-Encoding",
	    "quoted-printable");
}

static bool
body_has_8bit(const struct message *m)
{
	char chunk[65536];
	off_t off = 0;
	ssize_t n;

	while ((n = spool_read(&m->body, off, chunk, sizeof(chunk))) > 0) {
		if (has_8bit(chunk, (size_t)n))
			return true;
		off += n;
	}
	return false;
}

/*
 * Can the body be re-encoded without changing what it means? Yes for
 * 7bit, 8bit and binary; for base64 or quoted-printable only when the body
 * holds 8-bit bytes, which those encodings cannot: the label is false, and
 * the bytes themselves are what must arrive.
 */
static bool
can_quote(const struct message *m)
{
	const struct header *h = header_find(m, "Content-Transfer-Encoding", 0);
	const char *v = h != NULL ? header_value(h) : "7bit";

	if (!message_single_part(m))
		return false;
	if (strncasecmp(v, "7bit", 4) == 0 || strncasecmp(v, "8bit", 4) == 0 ||
	    strncasecmp(v, "binary", 6) == 0)
		return true;
	return body_has_8bit(m);
}

static bool
headers_8bit(const struct message *m)
{
	size_t i;

	for (i = 0; i < m->nheaders; i++)
		if (has_8bit(m->headers[i].text, strlen(m->headers[i].text)))
			return true;
	return false;
}

int
encode_for_transport(const struct message *in, struct message *out,
    bool to7bit, struct failure *f)
{
	struct sink *k;
	struct qp q;
	char chunk[65536];
	off_t off = 0;
	ssize_t n, i;
	bool qp = can_quote(in);

	if (to7bit && headers_8bit(in))
		fprintf(stderr, "smtpsend: warning: 8-bit header fields sent "
		    "as they are to a server without 8BITMIME\n");
	if (!qp)
		fprintf(stderr, "smtpsend: warning: %s\n", to7bit &&
		    in->longest_line <= SMTP_LINE_MAX ? "8-bit data sent to a "
		    "server without 8BITMIME (the message is multipart or "
		    "already encoded)" :
		    "lines over 998 octets were broken with CRLF SPACE");
	if ((k = calloc(1, sizeof(*k))) == NULL || copy_headers(in, out, qp)
	    == -1) {
		free(k);
		fail_errno(f, CAUSE_OSERR, "re-encoding the message");
		return -1;
	}
	k->spool = &out->body;
	qp_init(&q, sink_put, k);
	while ((n = spool_read(&in->body, off, chunk, sizeof(chunk))) > 0) {
		if (qp)
			qp_feed(&q, chunk, (size_t)n);
		else
			for (i = 0; i < n; i++)
				fold_byte(k, chunk[i]);
		off += n;
	}
	if (qp)
		qp_finish(&q);
	sink_flush(k);
	out->eight_bit = qp ? false : in->eight_bit;
	out->longest_line = qp ? QP_LINE_MAX : SMTP_LINE_MAX;
	if (n == -1 || k->failed || q.failed)
		fail_errno(f, CAUSE_OSERR, "re-encoding the message");
	free(k);
	return failed(f) ? -1 : 0;
}
