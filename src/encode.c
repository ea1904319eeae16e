#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "encode.h"

#define QP_LINE_MAX	76	/* RFC 2045, the '=' of a soft break included */
#define SMTP_LINE_MAX	998

size_t
dotstuff(struct dotstuffer *ds, const char *in, size_t n, char *out)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		if (ds->bol && in[i] == '.')
			out[o++] = '.';
		out[o++] = in[i];
		ds->bol = in[i] == '\n';
	}
	return o;
}

/* Output through a buffer into a spool. */
struct sink {
	struct spool	*spool;
	char		 buf[16384];
	size_t		 len;
	size_t		 col;		/* octets on the current line */
	char		 pending_ws;	/* whitespace not yet known to be last */
	bool		 failed;
};

static void
sink_put(struct sink *k, const char *p, size_t n)
{
	if (k->len + n > sizeof(k->buf)) {
		if (spool_write(k->spool, k->buf, k->len) == -1)
			k->failed = true;
		k->len = 0;
	}
	memcpy(k->buf + k->len, p, n);
	k->len += n;
}

static void
sink_flush(struct sink *k)
{
	if (k->len > 0 && spool_write(k->spool, k->buf, k->len) == -1)
		k->failed = true;
	k->len = 0;
}

/* One token on the current QP line, with a soft break when it is full. */
static void
qp_token(struct sink *k, const char *tok, size_t n)
{
	if (k->col + n > QP_LINE_MAX - 1) {
		sink_put(k, "=\r\n", 3);
		k->col = 0;
	}
	sink_put(k, tok, n);
	k->col += n;
}

static void
qp_encoded(struct sink *k, unsigned char c)
{
	char tok[4];

	snprintf(tok, sizeof(tok), "=%02X", c);
	qp_token(k, tok, 3);
}

static void
qp_byte(struct sink *k, char c)
{
	if (c == '\r')
		return;		/* normalised: always followed by LF */
	if (c == '\n') {
		/* Whitespace at the end of a line must be encoded. */
		if (k->pending_ws)
			qp_encoded(k, (unsigned char)k->pending_ws);
		k->pending_ws = 0;
		sink_put(k, "\r\n", 2);
		k->col = 0;
		return;
	}
	if (k->pending_ws) {
		qp_token(k, &k->pending_ws, 1);
		k->pending_ws = 0;
	}
	if (c == ' ' || c == '\t')
		k->pending_ws = c;
	else if (c >= '!' && c <= '~' && c != '=')
		qp_token(k, &c, 1);
	else
		qp_encoded(k, (unsigned char)c);
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

static int
copy_headers(const struct message *in, struct message *out, bool qp)
{
	size_t i, skip;

	for (i = 0; i < in->nheaders; i++) {
		const struct header *h = &in->headers[i];

		skip = qp && h->namelen == 25 &&
		    strncasecmp(h->text, "Content-Transfer-Encoding", 25) == 0;
		if (!skip && header_copy(out, h) == -1)
			return -1;
	}
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

/* Can the body be re-encoded without touching what it already is? */
static bool
can_quote(const struct message *m)
{
	const struct header *h = header_find(m, "Content-Transfer-Encoding", 0);
	const char *v = h != NULL ? header_value(h) : "7bit";

	return message_single_part(m) && (strncasecmp(v, "7bit", 4) == 0 ||
	    strncasecmp(v, "8bit", 4) == 0 || strncasecmp(v, "binary", 6) == 0);
}

int
encode_for_transport(const struct message *in, struct message *out,
    bool to7bit, struct failure *f)
{
	struct sink *k;
	char chunk[65536];
	off_t off = 0;
	ssize_t n, i;
	bool qp = can_quote(in);

	if (!qp)
		fprintf(stderr, "smtpsend: warning: %s\n", to7bit &&
		    in->longest_line <= SMTP_LINE_MAX ? "8-bit data sent to a "
		    "server without 8BITMIME (the message is multipart)" :
		    "lines over 998 octets were broken with CRLF SPACE");
	if ((k = calloc(1, sizeof(*k))) == NULL || copy_headers(in, out, qp)
	    == -1) {
		free(k);
		fail_errno(f, CAUSE_OSERR, "re-encoding the message");
		return -1;
	}
	k->spool = &out->body;
	while ((n = spool_read(&in->body, off, chunk, sizeof(chunk))) > 0) {
		for (i = 0; i < n; i++)
			qp ? qp_byte(k, chunk[i]) : fold_byte(k, chunk[i]);
		off += n;
	}
	if (qp && k->pending_ws)
		qp_encoded(k, (unsigned char)k->pending_ws);
	sink_flush(k);
	out->eight_bit = qp ? false : in->eight_bit;
	out->longest_line = qp ? QP_LINE_MAX : SMTP_LINE_MAX;
	if (n == -1 || k->failed)
		fail_errno(f, CAUSE_OSERR, "re-encoding the message");
	free(k);
	return failed(f) ? -1 : 0;
}
