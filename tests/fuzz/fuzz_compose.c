/* SPDX-License-Identifier: ISC */
/*
 * Compose mode: compose_message() with --subject, --to, --cc, --bcc,
 * --header, --body (or the body on the fd) and --attach taken from the
 * input, then the message as it would go on the wire, to a server with
 * 8BITMIME and to one without (session.c's prepare_body(): re-encoded by
 * encode_for_transport() when a line is over 998 octets or 8-bit data
 * meets a 7-bit server).
 *
 * Input: byte 0 = flags: bit 0 a --subject; bit 1 the body as --body,
 * else on the fd; bit 2 the fd is /dev/null (else a memfd holding the
 * body); bit 3 an --attach (a file holding the body bytes); bit 4 its name
 * from the input (else "report.pdf"). Byte 1: the number of list items
 * (low 4 bits). Then fields separated by NUL bytes: the subject, the
 * attachment's name, the list items (the first byte says which: 't' --to,
 * 'c' --cc, 'b' --bcc, anything else --header), and the rest, NULs and
 * all, is the body (--body stops at its first NUL, as an argv string).
 *
 * Invariants (names for SMTPSEND_FUZZ_KNOWN, see fuzz_common.h):
 *   compose-result   compose_message() fails only for what it refuses (a
 *                    control character in --subject, a --header that is
 *                    not "Name: value" on one line), with a one-line text;
 *                    otherwise it succeeds and the message is complete
 *   compose-fields   the header fields are exactly To, Cc, Subject, each
 *                    --header, MIME-Version, Content-Type and (one part)
 *                    Content-Transfer-Encoding, in that order: no --to or
 *                    --cc value can add a field or end the header section
 *   compose-unique   To, Cc, Subject, MIME-Version, Content-Type and
 *                    Content-Transfer-Encoding appear at most once (RFC 5322
 *                    3.6, RFC 2045): a --header cannot duplicate them
 *   compose-nul      no NUL byte in the message (message_read_fd() refuses
 *                    one; compose must encode or refuse it)
 *   compose-crlf     the wire bytes have no bare CR or LF, end in CRLF
 *   compose-line     no wire line is over 998 octets
 *   compose-dot      after dot-stuffing no wire line is a lone "."
 *   compose-parse    the wire bytes read back by the message reader give
 *                    the same header field names, in order
 *   compose-7bit     for a server without 8BITMIME the body is 7-bit
 *   compose-subject  Subject is ASCII, and when the input was not, its RFC
 *                    2047 encoded words decode (after unfolding the wire
 *                    bytes) to the input exactly; an ASCII subject is kept
 *                    as it is in the message
 *   compose-subject-word  no encoded word is over 75 characters (RFC 2047
 *                    section 2)
 *   compose-text     the text part decodes to the body: quoted-printable
 *                    or 7bit, with the line ends made CRLF
 *   compose-attach   the attachment part's base64 decodes to the file
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "args.h"
#include "buf.h"
#include "compose.h"
#include "encode.h"
#include "message.h"
#include "spool.h"
#include "status.h"
#include "fuzz_common.h"

#define MAXITEMS	15

static char dir[4096];
static char attach_path[4400];

static void
cleanup(void)
{
	if (attach_path[0] != '\0')
		unlink(attach_path);
	if (dir[0] != '\0')
		rmdir(dir);
}

static void
setup(void)
{
	const char *tmp = getenv("TMPDIR");

	if (tmp == NULL || *tmp != '/')
		tmp = "/tmp";
	snprintf(dir, sizeof(dir), "%s/fuzz_compose.XXXXXX", tmp);
	if (mkdtemp(dir) == NULL || chmod(dir, 0700) == -1) {
		perror("fuzz_compose: setup");
		abort();
	}
	atexit(cleanup);
}

/* ---- small decoders ------------------------------------------------ */

FUZZ_NOCOV static int
b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Base64, CRLF allowed between groups; -1 when malformed. */
FUZZ_NOCOV static int
b64_decode(const char *p, size_t n, struct buf *out)
{
	unsigned v = 0;
	int bits = 0;
	size_t i, pad = 0;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		int d;

		if (c == '\r' || c == '\n')
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		if (pad > 0 || (d = b64val(c)) < 0)
			return -1;
		v = v << 6 | (unsigned)d;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			FUZZ_ASSERT(buf_addch(out, (char)(v >> bits & 0xff)) ==
			    0);
		}
	}
	return pad <= 2 ? 0 : -1;
}

FUZZ_NOCOV static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Quoted-printable with CRLF lines and "=" soft breaks; -1: malformed. */
FUZZ_NOCOV static int
qp_decode(const char *p, size_t n, struct buf *out)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] != '=') {
			FUZZ_ASSERT(buf_addch(out, p[i]) == 0);
			continue;
		}
		if (i + 2 < n && p[i + 1] == '\r' && p[i + 2] == '\n') {
			i += 2;
			continue;
		}
		if (i + 2 >= n || hexval(p[i + 1]) < 0 || hexval(p[i + 2]) < 0)
			return -1;
		FUZZ_ASSERT(buf_addch(out, (char)(hexval(p[i + 1]) * 16 +
		    hexval(p[i + 2]))) == 0);
		i += 2;
	}
	return 0;
}

/* One RFC 2047 encoded word [p, p+n), decoded into out; -1 if not one. */
FUZZ_NOCOV static int
encoded_word(const char *p, size_t n, struct buf *out)
{
	const char *q1, *q2, *text;
	size_t tlen, i;

	if (n < 8 || memcmp(p, "=?", 2) != 0 || memcmp(p + n - 2, "?=", 2) != 0)
		return -1;
	if ((q1 = memchr(p + 2, '?', n - 4)) == NULL ||
	    (size_t)(q1 - p) + 3 > n - 2 || q1[2] != '?')
		return -1;
	q2 = q1 + 2;
	if ((size_t)(q1 - (p + 2)) != 5 || strncasecmp(p + 2, "UTF-8", 5) != 0)
		return -1;
	text = q2 + 1;
	tlen = (size_t)(p + n - 2 - text);
	if (q1[1] == 'B' || q1[1] == 'b')
		return b64_decode(text, tlen, out);
	if (q1[1] != 'Q' && q1[1] != 'q')
		return -1;
	for (i = 0; i < tlen; i++) {
		if (text[i] == '_')
			FUZZ_ASSERT(buf_addch(out, ' ') == 0);
		else if (text[i] == '=' && i + 2 < tlen &&
		    hexval(text[i + 1]) >= 0 && hexval(text[i + 2]) >= 0) {
			FUZZ_ASSERT(buf_addch(out, (char)(hexval(text[i + 1]) *
			    16 + hexval(text[i + 2]))) == 0);
			i += 2;
		} else if (text[i] == '?' || text[i] == ' ' || text[i] == '=')
			return -1;
		else
			FUZZ_ASSERT(buf_addch(out, text[i]) == 0);
	}
	return 0;
}

/*
 * An unstructured field value (unfolded) with encoded words decoded: the
 * whitespace between two adjacent encoded words goes, other text stays.
 * *longest is the longest encoded word.
 */
FUZZ_NOCOV static void
rfc2047_decode(const char *v, struct buf *out, size_t *longest)
{
	const char *p = v;
	bool prev_word = false;
	struct buf ws = BUF_INIT;

	*longest = 0;
	while (*p != '\0') {
		size_t wl = strspn(p, " \t"), tl;
		struct buf dec = BUF_INIT;

		buf_reset(&ws);
		if (wl > 0)
			FUZZ_ASSERT(buf_add(&ws, p, wl) == 0);
		p += wl;
		if (*p == '\0') {
			if (ws.len > 0)
				FUZZ_ASSERT(buf_add(out, ws.data, ws.len) == 0);
			break;
		}
		tl = strcspn(p, " \t");
		if (encoded_word(p, tl, &dec) == 0) {
			if (!prev_word && ws.len > 0)
				FUZZ_ASSERT(buf_add(out, ws.data, ws.len) == 0);
			if (dec.len > 0)
				FUZZ_ASSERT(buf_add(out, dec.data, dec.len) ==
				    0);
			if (tl > *longest)
				*longest = tl;
			prev_word = true;
		} else {
			if (ws.len > 0)
				FUZZ_ASSERT(buf_add(out, ws.data, ws.len) == 0);
			FUZZ_ASSERT(buf_add(out, p, tl) == 0);
			prev_word = false;
		}
		buf_free(&dec);
		p += tl;
	}
	if (out->data == NULL)
		FUZZ_ASSERT(buf_add(out, "", 0) == 0);
	buf_free(&ws);
}

/* ---- wire bytes ---------------------------------------------------- */

FUZZ_NOCOV static bool
has_8bit_bytes(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)p[i] >= 0x80)
			return true;
	return false;
}

FUZZ_NOCOV static void
wire_bytes(const struct message *m, struct buf *head, struct buf *body)
{
	char chunk[16384];
	off_t off = 0;
	ssize_t r;

	FUZZ_ASSERT(message_header_bytes(m, head) == 0);
	while ((r = spool_read(&m->body, off, chunk, sizeof(chunk))) > 0) {
		FUZZ_ASSERT(buf_add(body, chunk, (size_t)r) == 0);
		off += r;
	}
	FUZZ_ASSERT(r == 0 && off == m->body.size);
}

FUZZ_NOCOV static void
check_dot(const char *p, size_t n)
{
	struct dotstuffer ds = { true };
	char *out = malloc(2 * n + 1);
	size_t o, start;

	FUZZ_ASSERT(out != NULL);
	o = dotstuff(&ds, p, n, out);
	for (start = 0; start < o; ) {
		const char *lf = memchr(out + start, '\n', o - start);
		size_t end = lf ? (size_t)(lf - out) : o, len = end - start;

		if (len > 0 && out[start + len - 1] == '\r')
			len--;
		FUZZ_CHECK("compose-dot", !(len == 1 && out[start] == '.'));
		start = end + 1;
	}
	free(out);
}

/* The field names of a header block read back by the message reader. */
FUZZ_NOCOV static void
reread(const struct buf *head, const struct buf *body, struct message *back)
{
	struct reader r;
	struct failure f;

	memset(&f, 0, sizeof(f));
	message_init(back);
	FUZZ_ASSERT(reader_init(&r, back, true) == 0);
	FUZZ_ASSERT(reader_feed(&r, head->data ? head->data : "", head->len,
	    &f) == 0);
	FUZZ_ASSERT(reader_feed(&r, body->data ? body->data : "", body->len,
	    &f) == 0);
	FUZZ_ASSERT(reader_finish(&r, &f) == 0);
	reader_free(&r);
}

/* The value of the first Subject in a header block, unfolded. */
FUZZ_NOCOV static bool
subject_of(const struct message *m, struct buf *out)
{
	const struct header *h = header_find(m, "Subject", 0);
	const char *v, *p;

	if (h == NULL)
		return false;
	/* Unfolded (CRLF before whitespace removed), then the whitespace
	 * after the colon skipped, as an RFC 5322 reader does. */
	v = h->text + h->namelen + 1;
	for (p = v; *p != '\0'; p++) {
		if (p[0] == '\r' && p[1] == '\n') {
			p++;
			continue;
		}
		if (out->len == 0 && (*p == ' ' || *p == '\t'))
			continue;
		FUZZ_ASSERT(buf_addch(out, *p) == 0);
	}
	if (out->data == NULL)
		FUZZ_ASSERT(buf_add(out, "", 0) == 0);
	return true;
}

FUZZ_NOCOV static void
check_subject(const struct message *m, const char *subject, bool wire)
{
	struct buf v = BUF_INIT, dec = BUF_INIT;
	size_t longest;
	bool eight = has_8bit_bytes(subject, strlen(subject)), ok;

	FUZZ_CHECK("compose-fields", subject_of(m, &v));
	FUZZ_CHECK("compose-subject", !has_8bit_bytes(v.data, v.len));
	if (!eight) {
		/* As it is in the message; on the wire a forced fold may add
		 * a space (warned about), so only the message is compared. */
		if (!wire)
			FUZZ_CHECK("compose-subject", strcmp(v.data, subject +
			    strspn(subject, " \t")) == 0);
		buf_free(&v);
		return;
	}
	rfc2047_decode(v.data, &dec, &longest);
	ok = dec.len == strlen(subject) && memcmp(dec.data, subject,
	    dec.len) == 0;
	if (!ok && !fuzz_known("compose-subject")) {
		fprintf(stderr, "Subject (%s) does not decode to the input\n",
		    wire ? "on the wire" : "in the message");
		fuzz_dump("subject", subject, strlen(subject), 200);
		fuzz_dump("Subject", v.data, v.len, 300);
		fuzz_dump("decoded", dec.data, dec.len, 200);
	}
	FUZZ_CHECK("compose-subject", ok);
	if (longest > 75 && !fuzz_known("compose-subject-word"))
		fprintf(stderr, "an encoded word of %zu characters\n", longest);
	FUZZ_CHECK("compose-subject-word", longest <= 75);
	buf_free(&v);
	buf_free(&dec);
}

/* What goes on the wire to one kind of server: prepare_body()'s choice. */
FUZZ_NOCOV static void
check_wire(const struct message *m, bool eightbitmime, const char *subject,
    const char *const *names, size_t nnames)
{
	struct message enc, back;
	struct failure f;
	struct buf head = BUF_INIT, body = BUF_INIT;
	const struct message *use = m;
	bool to7bit = m->eight_bit && !eightbitmime, nul = false, ok;
	size_t bad, i;
	int r;

	message_init(&enc);
	if (to7bit || m->longest_line > 998) {
		memset(&f, 0, sizeof(f));
		FILE *saved = fuzz_quiet_begin();	/* its warnings */

		r = encode_for_transport(m, &enc, to7bit, &f);
		fuzz_quiet_end(saved);
		FUZZ_ASSERT(r == 0);
		use = &enc;
	}
	wire_bytes(use, &head, &body);

	ok = fuzz_crlf_clean(head.data ? head.data : "", head.len, true,
	    &bad);
	nul = head.len > 0 && memchr(head.data, '\0', head.len) != NULL;
	if (!ok && !fuzz_known("compose-crlf"))
		fuzz_dump("header bytes", head.data, head.len, 400);
	FUZZ_CHECK("compose-crlf", ok);
	ok = fuzz_crlf_clean(body.data ? body.data : "", body.len, true,
	    &bad);
	nul = nul || (body.len > 0 &&
	    memchr(body.data, '\0', body.len) != NULL);
	if (!ok && !fuzz_known("compose-crlf")) {
		fprintf(stderr, "body: offset %zu\n", bad);
		fuzz_dump("body", body.data, body.len, 400);
	}
	FUZZ_CHECK("compose-crlf", ok);
	if (nul && !fuzz_known("compose-nul"))
		fprintf(stderr, "a NUL byte on the wire (%s)\n",
		    eightbitmime ? "8BITMIME" : "7-bit server");
	FUZZ_CHECK("compose-nul", !nul);
	if ((fuzz_longest_line(head.data, head.len) > 998 ||
	    fuzz_longest_line(body.data, body.len) > 998) &&
	    !fuzz_known("compose-line"))
		fprintf(stderr, "a wire line of %zu octets\n",
		    fuzz_longest_line(head.data, head.len) > 998 ?
		    fuzz_longest_line(head.data, head.len) :
		    fuzz_longest_line(body.data, body.len));
	FUZZ_CHECK("compose-line", fuzz_longest_line(head.data, head.len) <= 998);
	FUZZ_CHECK("compose-line", fuzz_longest_line(body.data, body.len) <= 998);
	check_dot(head.data ? head.data : "", head.len);
	check_dot(body.data ? body.data : "", body.len);
	if (!eightbitmime)
		FUZZ_CHECK("compose-7bit", !has_8bit_bytes(body.data,
		    body.len));

	reread(&head, &body, &back);
	ok = back.nheaders == use->nheaders;
	for (i = 0; ok && i < back.nheaders; i++)
		ok = back.headers[i].namelen == use->headers[i].namelen &&
		    strncasecmp(back.headers[i].text, use->headers[i].text,
		    use->headers[i].namelen) == 0;
	if (!ok && !fuzz_known("compose-parse"))
		fprintf(stderr, "read back: %zu fields, sent %zu\n",
		    back.nheaders, use->nheaders);
	FUZZ_CHECK("compose-parse", ok);
	/* The names expected of compose hold on the wire too (unless a
	 * --header duplicated a MIME field re-encoding replaces: nnames 0). */
	ok = nnames == 0 || back.nheaders == nnames;
	for (i = 0; ok && i < nnames; i++)
		ok = back.headers[i].namelen == strlen(names[i]) &&
		    strncasecmp(back.headers[i].text, names[i],
		    strlen(names[i])) == 0;
	FUZZ_CHECK("compose-parse", ok);
	if (subject != NULL)
		check_subject(&back, subject, true);
	message_free(&back);
	message_free(&enc);
	buf_free(&head);
	buf_free(&body);
}

/* ---- the composed message's structure ------------------------------- */

/*
 * The body text as compose normalises it: CRLF line ends, and in a single
 * part one at the end (the reader adds it). In a multipart the CRLF before
 * the next delimiter is the delimiter's (RFC 2046 5.1.1), so a text
 * without a final line end has none, and CRs at its very end become part
 * of that CRLF.
 */
FUZZ_NOCOV static void
text_model(const char *t, size_t n, bool qp, bool multipart, struct buf *out)
{
	size_t i;

	if (multipart && !qp)
		while (n > 0 && t[n - 1] == '\r')
			n--;

	for (i = 0; i < n; i++) {
		if (t[i] == '\r') {
			/* 7bit: CR LF is a line end, any other CR a space
			 * (the reader); quoted-printable drops every CR. */
			size_t j = i;

			while (j < n && t[j] == '\r')
				j++;
			if (j < n && t[j] == '\n') {
				i = j - 1;
				continue;
			}
			if (!qp)
				FUZZ_ASSERT(buf_addch(out, ' ') == 0);
			continue;
		}
		if (t[i] == '\n')
			FUZZ_ASSERT(buf_add(out, "\r\n", 2) == 0);
		else
			FUZZ_ASSERT(buf_addch(out, t[i]) == 0);
	}
	if (!multipart && out->len > 0 && out->data[out->len - 1] != '\n')
		FUZZ_ASSERT(buf_add(out, "\r\n", 2) == 0);
	if (out->data == NULL)
		FUZZ_ASSERT(buf_add(out, "", 0) == 0);
}

/* A MIME part's header lines (without the blank line) and its content. */
FUZZ_NOCOV static bool
split_part(const char *p, size_t n, const char **hdr, size_t *hlen,
    const char **content, size_t *clen)
{
	const char *sep = memmem(p, n, "\r\n\r\n", 4);

	if (n >= 2 && memcmp(p, "\r\n", 2) == 0) {
		*hdr = p;
		*hlen = 0;
		*content = p + 2;
		*clen = n - 2;
		return true;
	}
	if (sep == NULL)
		return false;
	*hdr = p;
	*hlen = (size_t)(sep - p) + 2;
	*content = sep + 4;
	*clen = n - (size_t)(sep + 4 - p);
	return true;
}

FUZZ_NOCOV static void
check_text(const char *hdr, size_t hlen, const char *content, size_t clen,
    const char *text, size_t tlen, bool multipart)
{
	struct buf want = BUF_INIT, got = BUF_INIT;
	bool qp = memmem(hdr, hlen, "Content-Transfer-Encoding: "
	    "quoted-printable\r\n", 45) != NULL, ok;

	FUZZ_CHECK("compose-text", qp || memmem(hdr, hlen,
	    "Content-Transfer-Encoding: 7bit\r\n", 33) != NULL);
	text_model(text, tlen, qp, multipart, &want);
	if (qp)
		ok = qp_decode(content, clen, &got) == 0;
	else
		ok = buf_add(&got, clen ? content : "", clen) == 0;
	ok = ok && got.len == want.len && memcmp(got.data ? got.data : "",
	    want.data, want.len) == 0;
	if (!ok && !fuzz_known("compose-text")) {
		fuzz_dump("text", text, tlen, 300);
		fuzz_dump("decoded part", got.data, got.len, 300);
		fuzz_dump("expected", want.data, want.len, 300);
	}
	FUZZ_CHECK("compose-text", ok);
	buf_free(&want);
	buf_free(&got);
}

FUZZ_NOCOV static void
check_structure(const struct message *m, const char *text, size_t tlen,
    const char *file, size_t flen, bool attach)
{
	struct buf head = BUF_INIT, body = BUF_INIT, delim = BUF_INIT,
	    dec = BUF_INIT;
	const char *hdr, *content, *p, *b, *e;
	size_t hlen, clen;

	wire_bytes(m, &head, &body);
	if (!attach) {
		/* The part's own fields are the message's last two. */
		const char *cte = memmem(head.data, head.len,
		    "\r\nContent-Type: text/plain; charset=utf-8\r\n", 43);

		FUZZ_CHECK("compose-text", cte != NULL);
		if (cte != NULL)
			check_text(cte + 2, head.len - (size_t)(cte + 2 -
			    head.data), body.data ? body.data : "", body.len,
			    text, tlen, false);
		goto out;
	}
	/* multipart/mixed: preamble, the text, the attachment, the end. */
	/* The field compose writes, not a Subject that says boundary=". */
	p = memmem(head.data, head.len,
	    "\r\nContent-Type: multipart/mixed; boundary=\"", 43);
	FUZZ_CHECK("compose-attach", p != NULL);
	if (p == NULL)
		goto out;
	p += 43;
	e = memchr(p, '"', head.len - (size_t)(p - head.data));
	FUZZ_ASSERT(e != NULL);
	FUZZ_ASSERT(buf_add(&delim, "\r\n--", 4) == 0 &&
	    buf_add(&delim, p, (size_t)(e - p)) == 0);
	b = body.data ? body.data : "";
	/* The text part: after the first delimiter line. */
	p = memmem(b, body.len, delim.data + 2, delim.len - 2);
	FUZZ_CHECK("compose-attach", p != NULL);
	if (p == NULL)
		goto out;
	p += delim.len - 2 + 2;		/* the delimiter and its CRLF */
	e = memmem(p, body.len - (size_t)(p - b), delim.data, delim.len);
	FUZZ_CHECK("compose-attach", e != NULL);
	if (e == NULL)
		goto out;
	/* The CRLF before the delimiter is the delimiter's. */
	FUZZ_CHECK("compose-text", split_part(p, (size_t)(e - p), &hdr,
	    &hlen, &content, &clen));
	check_text(hdr, hlen, content, clen, text, tlen, true);
	/* The attachment. */
	p = e + delim.len + 2;
	e = memmem(p, body.len - (size_t)(p - b), delim.data, delim.len);
	FUZZ_CHECK("compose-attach", e != NULL && split_part(p, (size_t)(e -
	    p), &hdr, &hlen, &content, &clen));
	FUZZ_CHECK("compose-attach", memmem(hdr, hlen,
	    "Content-Transfer-Encoding: base64\r\n", 35) != NULL);
	FUZZ_CHECK("compose-attach", b64_decode(content, clen, &dec) == 0 &&
	    dec.len == flen && (flen == 0 || memcmp(dec.data, file, flen) ==
	    0));
	FUZZ_CHECK("compose-attach", (size_t)(e - b) + delim.len + 4 ==
	    body.len && memcmp(e + delim.len, "--\r\n", 4) == 0);
out:
	buf_free(&head);
	buf_free(&body);
	buf_free(&delim);
	buf_free(&dec);
}

/* ---- the target ---------------------------------------------------- */

static int
body_fd(const char *p, size_t n, bool devnull)
{
	int fd;

	if (devnull)
		return open("/dev/null", O_RDONLY | O_CLOEXEC);
	if ((fd = memfd_create("fuzz_compose", MFD_CLOEXEC)) == -1 ||
	    (n > 0 && write(fd, p, n) != (ssize_t)n) ||
	    lseek(fd, 0, SEEK_SET) == -1) {
		perror("fuzz_compose: memfd");
		abort();
	}
	return fd;
}

static void
make_attachment(const char *name, size_t nlen, const char *p, size_t n)
{
	char safe[201];
	size_t i;
	int fd;

	if (nlen > 200)
		nlen = 200;
	for (i = 0; i < nlen; i++)
		safe[i] = name[i] == '/' ? '_' : name[i];
	safe[nlen] = '\0';
	if (nlen == 0 || strcmp(safe, ".") == 0 || strcmp(safe, "..") == 0)
		strlcpy(safe, "report.pdf", sizeof(safe));
	if (attach_path[0] != '\0')
		unlink(attach_path);
	snprintf(attach_path, sizeof(attach_path), "%s/%s", dir, safe);
	if ((fd = open(attach_path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1 ||
	    (n > 0 && write(fd, p, n) != (ssize_t)n)) {
		perror("fuzz_compose: the attachment");
		abort();
	}
	close(fd);
}

static void
list_add(struct strlist *l, char *v)
{
	char **nv = realloc(l->v, ((size_t)l->n + 1) * sizeof(*nv));

	FUZZ_ASSERT(nv != NULL);
	l->v = nv;
	l->v[l->n++] = v;
}

/* What check_fields() in compose.c must refuse. */
FUZZ_NOCOV static bool
bad_header(const char *h)
{
	const char *p;

	static const char *const own[] = { "To", "Cc", "Bcc", "Subject",
	    "MIME-Version", "Content-Type", "Content-Transfer-Encoding", NULL };
	const char *const *w;

	for (p = h; *p > ' ' && *p < 0x7f && *p != ':'; p++)
		;
	if (p == h || *p != ':' || fuzz_has_ctl(h) || p - h > 76)
		return true;
	/* Fields compose writes itself are refused, not doubled. */
	for (w = own; *w != NULL; w++)
		if ((size_t)(p - h) == strlen(*w) &&
		    strncasecmp(h, *w, strlen(*w)) == 0)
			return true;
	return false;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct options o;
	struct message m;
	struct failure f;
	const char *in = (const char *)data + 2, *field[2 + MAXITEMS];
	const char *names[2 + 3 + MAXITEMS + 3], *body, *file;
	char *copy, *subject = NULL, *body_arg = NULL, *hn[MAXITEMS] = { NULL };
	char *text_copy = NULL;
	const char *text;
	size_t tlen;
	size_t n, pos = 0, len[2 + MAXITEMS], nfields, nitems, i, nnames = 0;
	size_t blen, flen;
	bool expect_ok = true, attach, devnull, unique = true;
	int fd, r;

	if (!ready) {
		setup();
		ready = true;
	}
	if (size < 2)
		return 0;
	n = size - 2;
	nitems = data[1] & 15;
	nfields = 2 + nitems;
	for (i = 0; i < nfields; i++) {
		const char *nul = memchr(in + pos, '\0', n - pos);

		field[i] = in + pos;
		len[i] = nul ? (size_t)(nul - (in + pos)) : n - pos;
		pos += len[i] + (nul ? 1 : 0);
		if (nul == NULL) {
			for (i++; i < nfields; i++) {
				field[i] = in + n;
				len[i] = 0;
			}
			break;
		}
	}
	body = in + pos;
	blen = n - pos;
	/* Every string argv could hold: copies, NUL-terminated. */
	copy = malloc(n + nfields + 2);
	FUZZ_ASSERT(copy != NULL);

	memset(&o, 0, sizeof(o));
	o.compose = true;
	{
		char *c = copy;

		for (i = 0; i < nfields; i++) {
			memcpy(c, field[i], len[i]);
			c[len[i]] = '\0';
			field[i] = c;
			c += len[i] + 1;
		}
		memcpy(c, body, blen);
		c[blen] = '\0';
		body_arg = c;
	}
	if (data[0] & 1) {
		subject = (char *)field[0];
		o.subject = subject;
		if (fuzz_has_ctl(subject))
			expect_ok = false;
	}
	for (i = 0; i < nitems; i++) {
		char *v = (char *)field[2 + i];

		/* An address with a control character is refused. */
		if (strchr("tcb", v[0]) != NULL && fuzz_has_ctl(v + 1))
			expect_ok = false;
		switch (v[0]) {
		case 't': list_add(&o.to, v + 1); break;
		case 'c': list_add(&o.cc, v + 1); break;
		case 'b': list_add(&o.bcc, v + 1); break;
		default:
			list_add(&o.header, v[0] == 'h' ? v + 1 : v);
			if (bad_header(o.header.v[o.header.n - 1]))
				expect_ok = false;
		}
	}
	/* The body's text: --body (a C string, with its '\n' added), or the
	 * fd's bytes. */
	devnull = !(data[0] & 2) && (data[0] & 4);
	if (data[0] & 2) {
		o.body = body_arg;
		blen = strlen(body_arg);
		body = body_arg;
	} else if (devnull)
		blen = 0;
	attach = data[0] & 8;
	file = body;
	flen = blen;
	/* The text compose makes of --body: a final '\n' added. */
	text = body;
	tlen = blen;
	if (o.body != NULL && blen > 0 && body[blen - 1] != '\n') {
		text_copy = malloc(blen + 1);
		FUZZ_ASSERT(text_copy != NULL);
		memcpy(text_copy, body, blen);
		text_copy[blen] = '\n';
		text = text_copy;
		tlen = blen + 1;
	}
	if (attach) {
		if (data[0] & 16)
			make_attachment(field[1], len[1], body, blen);
		else
			make_attachment("report.pdf", 10, body, blen);
		list_add(&o.attach, attach_path);
	}
	fd = body_fd(body, blen, devnull);

	message_init(&m);
	memset(&f, 0, sizeof(f));
	r = compose_message(&o, fd, &m, &f);
	close(fd);
	FUZZ_ASSERT(r == 0 || r == -1);
	if (r == -1) {
		bool one_line = failed(&f) && f.text[0] != '\0' &&
		    memchr(f.text, '\0', sizeof(f.text)) != NULL &&
		    !fuzz_has_ctl(f.text);

		if (expect_ok && !fuzz_known("compose-result"))
			fprintf(stderr, "compose_message failed: %s\n", f.text);
		FUZZ_CHECK("compose-result", !expect_ok && one_line);
		goto out;
	}
	if (!expect_ok && !fuzz_known("compose-result"))
		fprintf(stderr, "compose_message accepted a control character "
		    "in --subject or a malformed --header\n");
	FUZZ_CHECK("compose-result", expect_ok && m.complete && !failed(&f));

	/* The fields compose writes, in its order. */
	if (o.to.n > 0)
		names[nnames++] = "To";
	if (o.cc.n > 0)
		names[nnames++] = "Cc";
	if (subject != NULL)
		names[nnames++] = "Subject";
	for (i = 0; i < (size_t)o.header.n; i++) {
		hn[i] = strndup(o.header.v[i], strcspn(o.header.v[i], ":"));
		FUZZ_ASSERT(hn[i] != NULL);
		names[nnames++] = hn[i];
	}
	names[nnames++] = "MIME-Version";
	names[nnames++] = "Content-Type";
	if (!attach)
		names[nnames++] = "Content-Transfer-Encoding";
	{
		bool same = m.nheaders == nnames;

		for (i = 0; same && i < nnames; i++)
			same = m.headers[i].namelen == strlen(names[i]) &&
			    strncasecmp(m.headers[i].text, names[i],
			    m.headers[i].namelen) == 0;
		if (!same && !fuzz_known("compose-fields")) {
			fprintf(stderr, "fields: %zu, expected %zu:", m.nheaders,
			    nnames);
			for (i = 0; i < m.nheaders; i++)
				fprintf(stderr, " %.*s", (int)m.headers[i].namelen,
				    m.headers[i].text);
			fputc('\n', stderr);
		}
		FUZZ_CHECK("compose-fields", same);
		if (!same)
			goto out;	/* the rest would only repeat it */
	}
	{
		static const char *const once[] = { "To", "Cc", "Subject",
		    "MIME-Version", "Content-Type",
		    "Content-Transfer-Encoding" };
		size_t k;

		for (k = 0; k < sizeof(once) / sizeof(once[0]); k++) {
			const struct header *h = header_find(&m, once[k], 0);

			if (h != NULL && header_find(&m, once[k],
			    (size_t)(h - m.headers) + 1) != NULL)
				unique = false;
		}
		if (!unique && !fuzz_known("compose-unique"))
			fprintf(stderr, "a field compose writes is there "
			    "twice\n");
		FUZZ_CHECK("compose-unique", unique);
	}
	FUZZ_CHECK("compose-nul", m.nul_offset == -1);
	if (subject != NULL)
		check_subject(&m, subject, false);
	/* A --header of ours may change what the structure is: only check
	 * it when the MIME fields are compose's own. */
	if (header_find(&m, "Content-Type", 0) == &m.headers[nnames - (attach ?
	    1 : 2)] && header_find(&m, "Content-Transfer-Encoding", 0) ==
	    (attach ? NULL : &m.headers[nnames - 1]))
		check_structure(&m, text, tlen, file, flen, attach);
	check_wire(&m, true, subject, names, unique ? nnames : 0);
	check_wire(&m, false, subject, names, unique ? nnames : 0);
out:
	message_free(&m);
	free(o.to.v);
	free(o.cc.v);
	free(o.bcc.v);
	free(o.header.v);
	free(o.attach.v);
	free(copy);
	free(text_copy);
	for (i = 0; i < MAXITEMS; i++)
		free(hn[i]);
	return 0;
}
