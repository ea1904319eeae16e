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
#include "compose.h"
#include "encode.h"
#include "escape.h"

#define MIME_TYPES	"/etc/mime.types"

/* Everything written goes through the reader, as stdin would. */
struct out {
	struct reader	*r;
	struct failure	*f;
};

static int
put(void *arg, const char *p, size_t n)
{
	struct out *o = arg;

	return reader_feed(o->r, p, n, o->f);
}

static int
putf(struct out *o, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = buf_vprintf(&b, fmt, ap);
	va_end(ap);
	if (r == 0)
		r = put(o, b.data, b.len);
	buf_free(&b);
	return r;
}

static int
buf_put(void *arg, const char *p, size_t n)
{
	return buf_add(arg, p, n);
}

/*
 * RFC 2047: encoded words of at most 75 characters, each holding whole
 * UTF-8 characters, separated by CRLF SPACE (a fold, so a long subject
 * stays decodable).
 */
#define WORD_TEXT_MAX	45	/* bytes: base64 of 45 is 60, +12 = 72 */

static int
one_word(struct buf *b, const char *p, size_t n)
{
	struct b64 e;

	if (buf_addstr(b, "=?UTF-8?B?") == -1)
		return -1;
	b64_init(&e, buf_put, b);
	e.line = 0;
	if (b64_feed(&e, p, n) == -1 || b64_finish(&e) == -1)
		return -1;
	return buf_addstr(b, "?=");
}

char *
compose_encoded_word(const char *text)
{
	struct buf b = BUF_INIT;
	size_t len = strlen(text), n;

	if (!has_8bit(text, len))
		return strdup(text);
	while (len > 0) {
		n = len < WORD_TEXT_MAX ? len : WORD_TEXT_MAX;
		/* Never cut a character: back up to a lead byte. */
		while (n < len && n > 1 && ((unsigned char)text[n] & 0xc0) ==
		    0x80)
			n--;
		if ((b.len > 0 && buf_addstr(&b, "\r\n ") == -1) ||
		    one_word(&b, text, n) == -1) {
			buf_free(&b);
			return NULL;
		}
		text += n;
		len -= n;
	}
	return b.data;
}

/* The text of a display name: a quoted string's quotes and escapes gone. */
static char *
display_text(const char *name)
{
	size_t n = strlen(name), i, k = 0;
	char *t;

	if (n < 2 || name[0] != '"' || name[n - 1] != '"')
		return strdup(name);
	if ((t = malloc(n)) == NULL)
		return NULL;
	for (i = 1; i + 1 < n; i++) {
		if (name[i] == '\\' && i + 2 < n)
			i++;
		t[k++] = name[i];
	}
	t[k] = '\0';
	return t;
}

int
compose_mailbox(struct buf *b, const char *name, const char *spec)
{
	char *text = NULL, *word = NULL;
	const char *p;
	int r = -1;

	if (name == NULL || *name == '\0')
		return buf_addstr(b, spec);
	if ((text = display_text(name)) == NULL)
		return -1;
	if (has_8bit(text, strlen(text))) {
		/* RFC 2047 section 5 (3): an encoded word is a whole word of
		 * the phrase, never inside quotes. */
		if ((word = compose_encoded_word(text)) != NULL)
			r = buf_printf(b, "%s <%s>", word, spec);
	} else if (strpbrk(text, "()<>[]:;@\\,.\"") == NULL)
		r = buf_printf(b, "%s <%s>", text, spec);
	else {
		r = buf_addch(b, '"');
		for (p = text; r == 0 && *p != '\0'; p++) {
			if (*p == '"' || *p == '\\')
				r = buf_addch(b, '\\');
			if (r == 0)
				r = buf_addch(b, *p);
		}
		if (r == 0)
			r = buf_printf(b, "\" <%s>", spec);
	}
	free(text);
	free(word);
	return r;
}

/* "application/pdf" for report.pdf, from /etc/mime.types. */
static void
mime_type(const char *path, char *type, size_t size)
{
	const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
	char line[1024], *t, *ext, *save;
	FILE *fp;

	strlcpy(type, "application/octet-stream", size);
	if (dot == NULL || (slash != NULL && dot < slash) ||
	    (fp = fopen(MIME_TYPES, "re")) == NULL)
		return;
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (line[0] == '#' || (t = strtok_r(line, " \t\r\n", &save))
		    == NULL)
			continue;
		while ((ext = strtok_r(NULL, " \t\r\n", &save)) != NULL)
			if (strcasecmp(ext, dot + 1) == 0) {
				strlcpy(type, t, size);
				fclose(fp);
				return;
			}
	}
	fclose(fp);
}

/* filename="x" when it can be said plainly, else RFC 2231 filename*. */
static int
put_filename(struct out *o, const char *path)
{
	const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	const unsigned char *p;
	bool plain = true;

	for (p = (const unsigned char *)name; *p != '\0'; p++)
		if (*p < 0x20 || *p >= 0x7f || *p == '"' || *p == '\\')
			plain = false;
	if (plain)
		return putf(o, "; filename=\"%s\"\r\n", name);
	if (putf(o, ";\r\n filename*=UTF-8''") == -1)
		return -1;
	for (p = (const unsigned char *)name; *p != '\0'; p++)
		if ((isalnum(*p) || strchr("!#$&+-.^_`|~", *p)) ?
		    putf(o, "%c", *p) == -1 : putf(o, "%%%02X", *p) == -1)
			return -1;
	return put(o, "\r\n", 2);
}

/* Bytes of a UTF-8 sequence led by c (0: not a lead byte). */
static int
utf8_length(unsigned char c)
{
	return c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 &&
	    c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
}

#define CHARSET_SCAN_MAX	(16 * 1024 * 1024)

/*
 * A text file's charset: us-ascii, utf-8 when its bytes follow UTF-8's
 * lead and continuation pattern, else none is said (a reader guesses, as without this). Read with
 * pread: the file position stays where the attachment starts.
 */
static const char *
text_charset(int fd)
{
	unsigned char b[8192];
	int want = 0, k;
	bool eight = false;
	off_t off = 0;
	ssize_t n, i;

	while ((n = pread(fd, b, sizeof(b), off)) > 0) {
		for (i = 0; i < n; i++) {
			if (want > 0) {
				if ((b[i] & 0xc0) != 0x80)
					return NULL;
				want--;
				continue;
			}
			if ((k = utf8_length(b[i])) == 0)
				return NULL;
			eight |= k > 1;
			want = k - 1;
		}
		if ((off += n) > CHARSET_SCAN_MAX)
			return NULL;
	}
	return n == -1 || want > 0 ? NULL : eight ? "utf-8" : "us-ascii";
}

static int
put_attachment(struct out *o, const char *boundary, const char *path,
    int fd)
{
	char type[160], chunk[49152];
	const char *charset;
	struct b64 e;
	ssize_t n;

	mime_type(path, type, sizeof(type));
	if (strncasecmp(type, "text/", 5) == 0 && strchr(type, ';') == NULL &&
	    (charset = text_charset(fd)) != NULL) {
		strlcat(type, "; charset=", sizeof(type));
		strlcat(type, charset, sizeof(type));
	}
	if (putf(o, "\r\n--%s\r\nContent-Type: %s\r\n"
	    "Content-Transfer-Encoding: base64\r\n"
	    "Content-Disposition: attachment", boundary, type) == -1 ||
	    put_filename(o, path) == -1 || put(o, "\r\n", 2) == -1)
		return -1;
	b64_init(&e, put, o);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		if (b64_feed(&e, chunk, (size_t)n) == -1)
			return -1;
	if (n == -1) {
		fail_errno(o->f, CAUSE_IOERR, "reading %s", path);
		return -1;
	}
	return b64_finish(&e);
}

/* The text part's bytes and the facts that choose its encoding. */
struct text {
	struct spool	sp;
	bool		eight_bit;
	size_t		longest;
	size_t		col;
};

static int
text_add(struct text *t, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		/* A NUL goes quoted-printable (=00), losslessly. */
		if ((unsigned char)p[i] >= 0x80 || p[i] == '\0')
			t->eight_bit = true;
		t->col = p[i] == '\n' ? 0 : t->col + 1;
		if (t->col > t->longest)
			t->longest = t->col;
	}
	return spool_write(&t->sp, p, n);
}

static int
text_collect(const struct options *o, int fd, struct text *t,
    struct failure *f)
{
	char chunk[65536];
	ssize_t n;

	memset(t, 0, sizeof(*t));
	spool_init(&t->sp);
	if (o->body != NULL)
		return text_add(t, o->body, strlen(o->body)) == -1 ||
		    (strlen(o->body) > 0 && o->body[strlen(o->body) - 1] != '\n'
		    && text_add(t, "\n", 1) == -1) ?
		    (fail_errno(f, CAUSE_OSERR, "storing the body"), -1) : 0;
	if (isatty(fd))
		return 0;
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 || text_add(t, chunk, (size_t)n) == -1) {
			fail_errno(f, n == -1 ? CAUSE_IOERR : CAUSE_OSERR,
			    "reading the body");
			return -1;
		}
	}
	return 0;
}

/* UTF-8 text, quoted-printable when 7-bit short lines will not do. */
static int
put_text(struct out *o, struct text *t)
{
	bool qp = t->eight_bit || t->longest > 76;
	char chunk[65536];
	struct qp q;
	off_t off = 0;
	ssize_t n;

	if (putf(o, "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: %s\r\n\r\n", qp ? "quoted-printable" :
	    "7bit") == -1)
		return -1;
	qp_init(&q, put, o);
	while ((n = spool_read(&t->sp, off, chunk, sizeof(chunk))) > 0) {
		if ((qp ? qp_feed(&q, chunk, (size_t)n) :
		    put(o, chunk, (size_t)n)) == -1)
			return -1;
		off += n;
	}
	return n == -1 ? -1 : qp ? qp_finish(&q) : 0;
}

/*
 * One --to or --cc value. ASCII goes as written; a display name that is
 * not ASCII goes as RFC 2047 encoded words (raw UTF-8 in a header is
 * only for SMTPUTF8), each address rewritten from the parse.
 */
static int
put_value(struct out *o, const char *value)
{
	struct addrlist l = { 0 };
	struct buf b = BUF_INIT;
	char why[160];
	size_t i;
	int r = -1;

	if (!has_8bit(value, strlen(value)))
		return putf(o, "%s", value);
	if (addrlist_parse(&l, value, why, sizeof(why)) == -1 || l.n == 0) {
		addrlist_free(&l);
		return putf(o, "%s", value);	/* refused later, as ever */
	}
	for (i = 0; i < l.n; i++)
		if ((i > 0 && buf_addstr(&b, ",\r\n ") == -1) ||
		    compose_mailbox(&b, l.v[i].display ? l.v[i].display :
		    l.v[i].comment, l.v[i].spec) == -1)
			goto out;
	r = putf(o, "%s", b.data);
out:
	buf_free(&b);
	addrlist_free(&l);
	return r;
}

static int
put_list(struct out *o, const char *name, const struct strlist *l)
{
	int i;

	if (l->n == 0)
		return 0;
	if (putf(o, "%s: ", name) == -1)
		return -1;
	for (i = 0; i < l->n; i++)
		if ((i > 0 && put(o, ",\r\n ", 4) == -1) ||
		    put_value(o, l->v[i]) == -1)
			return -1;
	return put(o, "\r\n", 2);
}

/* --header and --subject: one line each, a real field name. */
/* Fields compose writes itself: a --header must not give them twice. */
static bool
composed_field(const char *h, size_t n)
{
	static const char *const own[] = { "To", "Cc", "Bcc", "Subject",
	    "MIME-Version", "Content-Type", "Content-Transfer-Encoding", NULL };
	const char *const *w;

	for (w = own; *w != NULL; w++)
		if (strlen(*w) == n && strncasecmp(h, *w, n) == 0)
			return true;
	return false;
}

static int
check_list(const struct strlist *l, const char *what, struct failure *f)
{
	int i;

	for (i = 0; i < l->n; i++)
		if (has_control(l->v[i], strlen(l->v[i]))) {
			fail(f, STAGE_NONE, CAUSE_DATAERR, 0, "%s holds a control "
			    "character", what);
			return -1;
		}
	return 0;
}

static int
check_fields(const struct options *o, struct failure *f)
{
	const char *h, *p;
	int i;

	if (o->subject != NULL && has_control(o->subject, strlen(o->subject))) {
		fail(f, STAGE_NONE, CAUSE_DATAERR, 0, "--subject holds a "
		    "control character");
		return -1;
	}
	/* An address with a line break would become a header field. */
	if (check_list(&o->to, "--to", f) == -1 ||
	    check_list(&o->cc, "--cc", f) == -1 ||
	    check_list(&o->bcc, "--bcc", f) == -1)
		return -1;
	for (i = 0; i < o->header.n; i++) {
		h = o->header.v[i];
		for (p = h; *p > ' ' && *p < 0x7f && *p != ':'; p++)
			;
		if (p == h || *p != ':' || has_control(h, strlen(h)) ||
		    p - h > 76) {
			fail(f, STAGE_NONE, CAUSE_USAGE, 0, "--header needs "
			    "'Name: value' on one line, the name at most 76 "
			    "characters");
			return -1;
		}
		if (composed_field(h, (size_t)(p - h))) {
			fail(f, STAGE_NONE, CAUSE_USAGE, 0, "--header %.*s: "
			    "compose writes that field; use its own option",
			    (int)(p - h), h);
			return -1;
		}
	}
	return 0;
}

static int
put_headers(struct out *o, const struct options *opt, const char *boundary)
{
	char *subject = NULL;
	int i, r = -1;

	if (put_list(o, "To", &opt->to) == -1 ||
	    put_list(o, "Cc", &opt->cc) == -1)
		return -1;
	if (opt->subject != NULL && ((subject =
	    compose_encoded_word(opt->subject)) == NULL ||
	    putf(o, "Subject: %s\r\n", subject) == -1))
		goto out;
	for (i = 0; i < opt->header.n; i++)
		if (putf(o, "%s\r\n", opt->header.v[i]) == -1)
			goto out;
	if (put(o, "MIME-Version: 1.0\r\n", 19) == -1)
		goto out;
	if (boundary != NULL && putf(o, "Content-Type: multipart/mixed; "
	    "boundary=\"%s\"\r\n\r\nThis is a message in MIME format.\r\n"
	    "\r\n--%s\r\n", boundary, boundary) == -1)
		goto out;
	r = 0;
out:
	free(subject);
	return r;
}

static int
open_attachments(const struct options *o, int *fds, struct failure *f)
{
	int i;

	for (i = 0; i < o->attach.n; i++)
		if ((fds[i] = open(o->attach.v[i], O_RDONLY | O_CLOEXEC)) ==
		    -1) {
			fail_errno(f, CAUSE_IOERR, "cannot read the attachment "
			    "%s", o->attach.v[i]);
			while (i-- > 0)
				close(fds[i]);
			return -1;
		}
	return 0;
}

static int
write_message(struct out *out, const struct options *o, struct text *t,
    const int *fds)
{
	char boundary[64];
	int i;

	snprintf(boundary, sizeof(boundary), "=_smtpsend_%08x%08x",
	    arc4random(), arc4random());
	if (put_headers(out, o, o->attach.n ? boundary : NULL) == -1 ||
	    put_text(out, t) == -1)
		return -1;
	for (i = 0; i < o->attach.n; i++)
		if (put_attachment(out, boundary, o->attach.v[i], fds[i]) == -1)
			return -1;
	return o->attach.n ? putf(out, "\r\n--%s--\r\n", boundary) : 0;
}

int
compose_message(const struct options *o, int fd, struct message *m,
    struct failure *f)
{
	struct out out = { NULL, f };
	struct reader r;
	struct text t;
	int *fds, i, rc = -1;

	if (check_fields(o, f) == -1 ||
	    (fds = calloc((size_t)o->attach.n + 1, sizeof(*fds))) == NULL)
		return failed(f) ? -1 : (fail_errno(f, CAUSE_OSERR, "compose"),
		    -1);
	if (open_attachments(o, fds, f) == -1) {
		free(fds);
		return -1;
	}
	if (text_collect(o, fd, &t, f) == 0 &&
	    reader_init(&r, m, true) == 0) {
		out.r = &r;
		if (write_message(&out, o, &t, fds) == 0 &&
		    reader_finish(&r, f) == 0)
			rc = 0;
		reader_free(&r);
	}
	if (rc == -1 && !failed(f))
		fail_errno(f, CAUSE_OSERR, "composing the message");
	m->complete = rc == 0;
	for (i = 0; i < o->attach.n; i++)
		close(fds[i]);
	free(fds);
	spool_free(&t.sp);
	return rc;
}
