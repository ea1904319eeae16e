/* SPDX-License-Identifier: ISC */
/*
 * The message reader (the SMTP-smuggling defence) fed the input in chunks,
 * then what would go on the wire: the header bytes and the body, dot-stuffed
 * as for DATA, and re-encoded by encode_for_transport() for a server
 * without 8BITMIME.
 *
 * Input: byte 0 = flags: bit 0 dot_is_data (-i); bits 2-3 the chunking
 * (whole, single bytes, 1..16 or 1..4096 bytes a call); byte 1 seeds the
 * chunk sizes; the rest is the message as on stdin.
 *
 * SMTPSEND_FUZZ_AMPLIFY=1: inputs whose byte 0 is 0xfe or 0xff are repeated
 * past SPOOL_MEMORY_MAX so the spool spills to its file. Off by default:
 * each such run costs a hundred others and libFuzzer keeps every one of
 * them (their loop counts are new features), so a run of its own.
 *
 * Invariants (names for SMTPSEND_FUZZ_KNOWN, see fuzz_common.h):
 *   message-nul       nul_offset is the offset of the first NUL read (before
 *                     a lone "."), or -1; a NUL is never in the header block
 *                     (it is a space there) and in the body only when
 *                     nul_offset says so (then message_read_fd() refuses it)
 *   message-crlf      the output has no bare CR, no bare LF, and is empty
 *                     or ends in CRLF; no NUL unless nul_offset is set
 *   message-model     the output is exactly the input normalised as
 *                     tests/unit/test_message.c specifies: every CR* LF a
 *                     CRLF, any other CR a space, a lone "." ends the input
 *                     unless -i, a leading "From " line dropped, headers
 *                     until a blank line or a line that is not a field
 *                     (a name, white space allowed before its colon),
 *                     the separator added when a body follows headers
 *   message-facts     message_size() is the output's size; eight_bit is set
 *                     when the output has a byte >= 0x80; longest_line is at
 *                     least the longest output line
 *   message-in-place  the input as a regular file read in place
 *                     (message_read_in_place, src/bodyfile.c) gives the
 *                     same bytes and facts as the reader, or is rewound
 *   dotstuff-lone-dot after dot-stuffing, no line is a lone "."
 *   dotstuff-roundtrip removing one leading dot per line gives the input
 *   encode-crlf       as message-crlf, for encode_for_transport()'s output
 *   encode-line-body  no body line of the re-encoded message is over 998
 *   encode-line-header no header line of the re-encoded message is over 998
 *   encode-fold-wsp   folding long header lines makes no line of only
 *                     spaces and tabs (RFC 5322 3.2.2; some parsers take it
 *                     for the blank line that ends the header section)
 *   encode-8bit       a single-part message re-encoded for a 7-bit server
 *                     has no byte >= 0x80 in its body (Content-Transfer-
 *                     Encoding 7bit, 8bit, binary or none: re-encoded QP)
 *   encode-8bit-encoded  the same when the body says it is already encoded
 *                     (base64, quoted-printable, anything else) yet holds
 *                     bytes >= 0x80: malformed input, re-encoded too since
 *                     the working tree after 371e375
 *   encode-facts      the re-encoded message's eight_bit is false after
 *                     quoted-printable, which is used whenever the label
 *                     is 7bit, 8bit, binary or absent (single part)
 *   encode-qp         when re-encoded as quoted-printable: lines of at most
 *                     76 octets, and decoding gives back the body exactly
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#include "buf.h"
#include "encode.h"
#include "message.h"
#include "spool.h"
#include "status.h"
#include "fuzz_common.h"

/* ---- the model ---------------------------------------------------- */

struct line {
	size_t	off, len;	/* in the model's normalised text */
};

struct model {
	off_t		nul_offset;	/* of the first NUL read, or -1 */
	struct buf	norm;		/* normalised lines, back to back */
	struct line	*v;
	size_t		n, cap;
	struct buf	want;		/* the expected output */
};

FUZZ_NOCOV static void
model_add(struct model *md, const char *p, size_t len)
{
	if (md->n == md->cap) {
		md->cap = md->cap ? md->cap * 2 : 64;
		md->v = realloc(md->v, md->cap * sizeof(*md->v));
		FUZZ_ASSERT(md->v != NULL);
	}
	md->v[md->n].off = md->norm.len;
	md->v[md->n].len = len;
	md->n++;
	FUZZ_ASSERT(buf_add(&md->norm, p, len) == 0);
}

/* A field name: printable, no colon, then a colon; white space may come
 * between the name and the colon (RFC 5322 4.5.3, obsolete syntax: "Bcc :",
 * read as a field since 6cfa605). */
FUZZ_NOCOV static size_t
field_name_len(const char *s, size_t len)
{
	size_t i, name = 0;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == ':')
			return name > 0 ? i : 0;
		if (c == ' ' || c == '\t') {
			if (name == 0)
				return 0;
			continue;
		}
		if (c <= ' ' || c > '~' || name < i)
			return 0;
		name = i + 1;
	}
	return 0;
}

FUZZ_NOCOV static void
model_run(struct model *md, const char *in, size_t n, bool dot_is_data)
{
	size_t pos = 0, i, nh = 0;
	bool separator = false, in_body = false;
	char *tmp = malloc(n + 1);
	const char *z;

	FUZZ_ASSERT(tmp != NULL);
	md->nul_offset = -1;
	while (pos < n) {
		const char *lf = memchr(in + pos, '\n', n - pos);
		size_t len = lf ? (size_t)(lf - (in + pos)) : n - pos;
		bool complete = lf != NULL;

		/* The first NUL read: reader_feed stops at a lone ".". */
		if (md->nul_offset == -1 &&
		    (z = memchr(in + pos, '\0', len)) != NULL)
			md->nul_offset = (off_t)(z - in);
		memcpy(tmp, in + pos, len);
		if (complete)
			while (len > 0 && tmp[len - 1] == '\r')
				len--;
		for (i = 0; i < len; i++)
			if (tmp[i] == '\r')
				tmp[i] = ' ';
		if (!dot_is_data && len == 1 && tmp[0] == '.') {
			/* Bytes after the dot on its line are not read. */
			break;
		}
		if (!complete && len == 0)
			break;
		model_add(md, tmp, len);
		pos = complete ? (size_t)(lf - in) + 1 : n;
	}
	free(tmp);

	/* Structure: mbox line, headers, separator, body. In the header
	 * section a NUL becomes a space (the line that ends it included). */
	i = 0;
	for (; i < md->n; i++) {
		char *s = md->norm.data + md->v[i].off;
		size_t len = md->v[i].len, j;

		for (j = 0; j < len; j++)
			if (s[j] == '\0')
				s[j] = ' ';
		if (i == 0 && len >= 5 && memcmp(s, "From ", 5) == 0)
			continue;	/* an mbox separator: dropped */
		if (len == 0) {
			separator = true;
			i++;
			break;
		}
		if ((s[0] == ' ' || s[0] == '\t') && nh > 0)
			;	/* a fold of the previous field */
		else if (field_name_len(s, len) > 0)
			nh++;
		else {
			in_body = true;
			break;
		}
		FUZZ_ASSERT(buf_add(&md->want, s, len) == 0);
		FUZZ_ASSERT(buf_add(&md->want, "\r\n", 2) == 0);
	}
	(void)in_body;
	if (separator || (i < md->n && nh > 0))
		FUZZ_ASSERT(buf_add(&md->want, "\r\n", 2) == 0);
	for (; i < md->n; i++) {
		FUZZ_ASSERT(buf_add(&md->want, md->norm.data + md->v[i].off,
		    md->v[i].len) == 0);
		FUZZ_ASSERT(buf_add(&md->want, "\r\n", 2) == 0);
	}
}

FUZZ_NOCOV static void
model_free(struct model *md)
{
	buf_free(&md->norm);
	buf_free(&md->want);
	free(md->v);
}

/* ---- checks on wire bytes ------------------------------------------ */

FUZZ_NOCOV /* Lines made only of spaces and tabs (not empty ones). */
FUZZ_NOCOV static size_t
wsp_lines(const char *p, size_t n)
{
	size_t i, start = 0, count = 0;

	for (i = 0; i < n; i++)
		if (p[i] == '\n') {
			size_t len = i - start, j;

			if (len > 0 && p[i - 1] == '\r')
				len--;
			for (j = 0; j < len && (p[start + j] == ' ' ||
			    p[start + j] == '\t'); j++)
				;
			if (len > 0 && j == len)
				count++;
			start = i + 1;
		}
	return count;
}

static bool
has_8bit(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)p[i] >= 0x80)
			return true;
	return false;
}

/* The bytes as sent: the header block then the body, read in pieces. */
FUZZ_NOCOV static void
wire_bytes(const struct message *m, struct buf *head, struct buf *body,
    uint32_t *seed)
{
	char chunk[8192];
	off_t off = 0;
	ssize_t r;

	FUZZ_ASSERT(message_header_bytes(m, head) == 0);
	for (;;) {
		size_t want = 1 + fuzz_rand(seed) % sizeof(chunk);

		r = spool_read(&m->body, off, chunk, want);
		FUZZ_ASSERT(r >= 0 && (size_t)r <= want);
		if (r == 0)
			break;
		FUZZ_ASSERT(buf_add(body, chunk, (size_t)r) == 0);
		off += r;
	}
	FUZZ_ASSERT(off == m->body.size);
}

/* Dot-stuff in random pieces as session.c does; check the result. */
FUZZ_NOCOV static void
check_dotstuff(const char *p, size_t n, uint32_t *seed)
{
	struct dotstuffer ds = { true };
	char *out = malloc(2 * n + 1);
	size_t i = 0, o = 0, start;

	FUZZ_ASSERT(out != NULL);
	while (i < n) {
		size_t len = 1 + fuzz_rand(seed) % 512;

		if (len > n - i)
			len = n - i;
		o += dotstuff(&ds, p + i, len, out + o);
		FUZZ_ASSERT(o <= 2 * n);
		i += len;
	}
	/* No lone "." line: it would end DATA early (and smuggle the rest). */
	for (start = 0; start < o; ) {
		const char *lf = memchr(out + start, '\n', o - start);
		size_t end = lf ? (size_t)(lf - out) : o;
		size_t len = end - start;

		if (len > 0 && out[start + len - 1] == '\r')
			len--;
		FUZZ_CHECK("dotstuff-lone-dot", !(len == 1 &&
		    out[start] == '.'));
		start = end + 1;
	}
	/* Lines that started with "." got one more; undo exactly that. */
	{
		size_t j = 0, k = 0;
		bool bol = true, ok = true;

		for (j = 0; j < n; j++) {
			if (bol && p[j] == '.') {
				if (k >= o || out[k] != '.') {
					ok = false;
					break;
				}
				k++;
			}
			if (k >= o || out[k] != p[j]) {
				ok = false;
				break;
			}
			k++;
			bol = p[j] == '\n';
		}
		FUZZ_CHECK("dotstuff-roundtrip", ok && k == o);
	}
	free(out);
}

FUZZ_NOCOV static void
check_crlf(const char *name, const char *what, const char *p, size_t n,
    bool allow_nul)
{
	size_t bad;
	bool ok = fuzz_crlf_clean(p, n, allow_nul, &bad);

	if (!ok && !fuzz_known(name)) {
		fprintf(stderr, "%s: offset %zu\n", what, bad);
		fuzz_dump(what, p + (bad > 40 ? bad - 40 : 0),
		    n - (bad > 40 ? bad - 40 : 0), 120);
	}
	FUZZ_CHECK(name, ok);
}

/* ---- encode_for_transport ------------------------------------------ */

FUZZ_NOCOV static bool
will_quote(const struct message *m)
{
	const struct header *h = header_find(m, "Content-Transfer-Encoding", 0);
	const char *v = h != NULL ? header_value(h) : "7bit";

	return message_single_part(m) && (strncasecmp(v, "7bit", 4) == 0 ||
	    strncasecmp(v, "8bit", 4) == 0 || strncasecmp(v, "binary", 6) == 0);
}

FUZZ_NOCOV static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode quoted-printable (CRLF lines, "=" soft breaks, "=XX") into out
 * (room for n bytes); the decoded length, or -1 when malformed. */
FUZZ_NOCOV static ssize_t
qp_decode(const char *p, size_t n, char *out)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		if (p[i] != '=') {
			out[o++] = p[i];
			continue;
		}
		if (i + 2 < n && p[i + 1] == '\r' && p[i + 2] == '\n') {
			i += 2;
			continue;
		}
		if (i + 2 >= n || hexval(p[i + 1]) < 0 || hexval(p[i + 2]) < 0)
			return -1;
		out[o++] = (char)(hexval(p[i + 1]) * 16 + hexval(p[i + 2]));
		i += 2;
	}
	return (ssize_t)o;
}

static void
check_encode(const struct message *m, const struct buf *orig_body,
    bool quick, uint32_t *seed)
{
	struct message enc;
	struct failure f;
	struct buf head = BUF_INIT, body = BUF_INIT;
	bool qp = will_quote(m), lib_qp;
	int saved = -1, devnull, r;

	message_init(&enc);
	memset(&f, 0, sizeof(f));
	if (!qp) {
		/* The multipart warning: keep the fuzzer's log readable. */
		fflush(stderr);
		saved = dup(2);
		if ((devnull = open("/dev/null", O_WRONLY)) != -1) {
			dup2(devnull, 2);
			close(devnull);
		}
	}
	r = encode_for_transport(m, &enc, true, &f);
	if (saved != -1) {
		fflush(stderr);
		dup2(saved, 2);
		close(saved);
	}
	FUZZ_ASSERT(r == 0);	/* only ENOMEM or a spool error may fail */
	/* What encode_for_transport chose: 76 after quoted-printable, 998
	 * after folding. It may quote more than will_quote() says (a body
	 * labelled base64 that holds 8-bit bytes), never less. */
	lib_qp = enc.longest_line == 76;
	FUZZ_CHECK("encode-facts", !qp || lib_qp);

	wire_bytes(&enc, &head, &body, seed);
	check_crlf("encode-crlf", "encoded header bytes", head.data ?
	    head.data : "", head.len, false);
	check_crlf("encode-crlf", "encoded body", body.data ? body.data : "",
	    body.len, m->nul_offset != -1);
	if (fuzz_longest_line(body.data, body.len) > 998 &&
	    !fuzz_known("encode-line-body"))
		fprintf(stderr, "encoded body line of %zu octets\n",
		    fuzz_longest_line(body.data, body.len));
	FUZZ_CHECK("encode-line-body", fuzz_longest_line(body.data, body.len) <=
	    998);
	if (fuzz_longest_line(head.data, head.len) > 998 &&
	    !fuzz_known("encode-line-header"))
		fprintf(stderr, "encoded header line of %zu octets\n",
		    fuzz_longest_line(head.data, head.len));
	FUZZ_CHECK("encode-line-header", fuzz_longest_line(head.data, head.len) <=
	    998);
	{
		struct buf in_head = BUF_INIT;

		FUZZ_ASSERT(message_header_bytes(m, &in_head) == 0);
		FUZZ_CHECK("encode-fold-wsp", wsp_lines(head.data, head.len) <=
		    wsp_lines(in_head.data, in_head.len));
		buf_free(&in_head);
	}
	if (message_single_part(m)) {
		/* qp: the Content-Transfer-Encoding is 7bit, 8bit, binary or
		 * absent; otherwise the body says it is already encoded
		 * (base64, quoted-printable, ...) and is sent as it is. */
		const char *name = qp ? "encode-8bit" : "encode-8bit-encoded";

		if (has_8bit(body.data, body.len) && !fuzz_known(name)) {
			const struct header *h = header_find(m,
			    "Content-Transfer-Encoding", 0);

			fprintf(stderr, "single-part body keeps 8-bit bytes "
			    "(Content-Transfer-Encoding: %s)\n",
			    h ? header_value(h) : "(none)");
		}
		FUZZ_CHECK(name, !has_8bit(body.data, body.len));
	}

	if (lib_qp) {
		char *dec = malloc(body.len + 1);
		ssize_t len;
		bool ok;

		FUZZ_ASSERT(dec != NULL);
		FUZZ_CHECK("encode-qp", fuzz_longest_line(body.data, body.len) <=
		    76);
		len = qp_decode(body.data ? body.data : "", body.len, dec);
		ok = len >= 0 && (size_t)len == orig_body->len && (len == 0 ||
		    memcmp(dec, orig_body->data, (size_t)len) == 0);
		if (!ok && !fuzz_known("encode-qp")) {
			fuzz_dump("body", orig_body->data, orig_body->len, 300);
			fuzz_dump("quoted-printable", body.data, body.len, 300);
		}
		FUZZ_CHECK("encode-qp", ok);
		free(dec);
		FUZZ_CHECK("encode-facts", !enc.eight_bit);
	}
	if (!quick) {
		check_dotstuff(head.data ? head.data : "", head.len, seed);
		check_dotstuff(body.data ? body.data : "", body.len, seed);
	}
	buf_free(&head);
	buf_free(&body);
	message_free(&enc);
}

/* ---- a body read in place (src/bodyfile.c) -------------------------- */

/* The same input as a regular file: the same bytes and facts as the
 * reader stored, or a rewind when its body does not follow a blank line. */
FUZZ_NOCOV static void
check_in_place(const char *in, size_t n, bool dot_is_data,
    const struct message *want, const struct buf *all)
{
	struct message m;
	struct failure f = { 0 };
	struct buf got = BUF_INIT;
	char chunk[1000];
	off_t off = 0;
	ssize_t r;
	int fd = memfd_create("fuzz_message", MFD_CLOEXEC), rc;

	FUZZ_ASSERT(fd != -1 && write(fd, in, n) == (ssize_t)n &&
	    lseek(fd, 0, SEEK_SET) == 0);
	message_init(&m);
	rc = message_read_in_place(&m, fd, dot_is_data, &f);
	FUZZ_ASSERT(rc != -1);
	if (rc == 0) {
		FUZZ_CHECK("message-in-place", lseek(fd, 0, SEEK_CUR) == 0);
		goto out;
	}
	FUZZ_ASSERT(message_header_bytes(&m, &got) == 0);
	while ((r = spool_read(&m.body, off, chunk, sizeof(chunk))) > 0) {
		FUZZ_ASSERT(buf_add(&got, chunk, (size_t)r) == 0);
		off += r;
	}
	FUZZ_CHECK("message-in-place", r == 0 && got.len == all->len &&
	    (got.len == 0 || memcmp(got.data, all->data, got.len) == 0));
	FUZZ_CHECK("message-in-place", m.longest_line == want->longest_line &&
	    m.eight_bit == want->eight_bit && m.nul_offset ==
	    want->nul_offset && message_size(&m) == message_size(want));
out:
	buf_free(&got);
	message_free(&m);
	close(fd);
}

/* ---- the target ---------------------------------------------------- */

FUZZ_NOCOV static bool
amplify_on(void)
{
	static int on = -1;

	if (on == -1) {
		const char *e = getenv("SMTPSEND_FUZZ_AMPLIFY");

		on = e != NULL && strcmp(e, "1") == 0;
	}
	return on;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct message m;
	struct reader r;
	struct failure f;
	struct model md;
	struct buf head = BUF_INIT, body = BUF_INIT, all = BUF_INIT;
	const char *in;
	char *big = NULL;
	size_t n, pos = 0, bad;
	uint32_t seed;
	bool dot_is_data, amplify;
	int mode, rc = 0;

	if (size < 2)
		return 0;
	dot_is_data = data[0] & 1;
	amplify = (data[0] | 1) == 0xff && amplify_on();
	mode = (data[0] >> 2) & 3;
	seed = 0x10001u * (data[1] + 1u) ^ data[0];
	in = (const char *)data + 2;
	n = size - 2;
	if (amplify && n > 0) {
		size_t total = SPOOL_MEMORY_MAX + 4096 + n, o;

		if ((big = malloc(total)) == NULL)
			return 0;
		for (o = 0; o < total; o += n)
			memcpy(big + o, in, total - o < n ? total - o : n);
		in = big;
		n = total;
	}

	memset(&f, 0, sizeof(f));
	memset(&md, 0, sizeof(md));
	message_init(&m);
	FUZZ_ASSERT(reader_init(&r, &m, dot_is_data) == 0);
	while (pos < n && !r.done) {
		size_t len;

		switch (mode) {
		case 0: len = n - pos; break;
		case 1: len = 1; break;
		case 2: len = 1 + fuzz_rand(&seed) % 16; break;
		default: len = 1 + fuzz_rand(&seed) % 4096; break;
		}
		if (len > n - pos)
			len = n - pos;
		if ((rc = reader_feed(&r, in + pos, len, &f)) == -1)
			break;
		pos += len;
	}
	if (rc == 0)
		rc = reader_finish(&r, &f);
	reader_free(&r);

	model_run(&md, in, n, dot_is_data);
	/* NUL: read through (the message is kept), then refused. */
	FUZZ_ASSERT(rc == 0);
	if (m.nul_offset != md.nul_offset && !fuzz_known("message-nul"))
		fprintf(stderr, "nul_offset %lld, the first NUL read is at "
		    "%lld\n", (long long)m.nul_offset,
		    (long long)md.nul_offset);
	FUZZ_CHECK("message-nul", m.nul_offset == md.nul_offset);

	wire_bytes(&m, &head, &body, &seed);
	FUZZ_ASSERT(buf_add(&all, head.data, head.len) == 0);
	FUZZ_ASSERT(buf_add(&all, body.data, body.len) == 0);
	check_crlf("message-crlf", "header bytes", head.data ? head.data : "",
	    head.len, false);
	check_crlf("message-crlf", "body", body.data ? body.data : "",
	    body.len, m.nul_offset != -1);
	check_crlf("message-crlf", "output", all.data ? all.data : "",
	    all.len, m.nul_offset != -1);

	if (HEADER_SECTION_MAX > n) {
		bool same = md.want.len == all.len && (all.len == 0 ||
		    memcmp(md.want.data, all.data, all.len) == 0);

		if (!same && !fuzz_known("message-model")) {
			for (bad = 0; bad < all.len && bad < md.want.len &&
			    all.data[bad] == md.want.data[bad]; bad++)
				;
			fprintf(stderr, "output differs from the model at "
			    "offset %zu (lengths %zu, %zu)\n", bad, all.len,
			    md.want.len);
			fuzz_dump("output", all.data, all.len, 400);
			fuzz_dump("model", md.want.data, md.want.len, 400);
		}
		FUZZ_CHECK("message-model", same);
	}
	FUZZ_CHECK("message-facts", message_size(&m) == (off_t)all.len);
	FUZZ_CHECK("message-facts", !has_8bit(all.data, all.len) ||
	    m.eight_bit);
	FUZZ_CHECK("message-facts", m.longest_line >=
	    fuzz_longest_line(all.data, all.len));

	check_in_place(in, n, dot_is_data, &m, &all);

	/* Amplified: the spool's file is what is tested; the per-byte checks
	 * run on every other input, at a hundredth of the cost. */
	if (!amplify)
		check_dotstuff(all.data ? all.data : "", all.len, &seed);
	check_encode(&m, &body, amplify, &seed);
	model_free(&md);
	buf_free(&head);
	buf_free(&body);
	buf_free(&all);
	message_free(&m);
	free(big);
	return 0;
}
