/* SPDX-License-Identifier: ISC */
/*
 * reply_parse() fed the input in pieces, caps_parse() on every complete
 * reply, as session.c does with the bytes a server sends.
 *
 * Input: byte 0 = k (low 3 bits: 0..7 piece lengths follow), the next k
 * bytes are piece lengths (byte + 1, used in turn), the rest is what the
 * server sends. k = 0: one piece.
 *
 * Invariants (names for SMTPSEND_FUZZ_KNOWN, see fuzz_common.h):
 *   reply-progress   a call consumes at most what it is given, all of it
 *                    unless a reply completed or an error stopped it
 *   reply-done       a complete reply: no error, code 200..599, 1..1000
 *                    lines, text NUL-terminated at textlen < REPLY_TEXT_MAX
 *   reply-text       the text is each line without its code, '\n' between
 *                    (the contract in reply.h), cut at REPLY_TEXT_MAX - 1
 *   caps-line        caps_parse() reads each capability from its own line
 *                    only (SIZE's number, AUTH's mechanisms)
 */
#include <ctype.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "reply.h"
#include "fuzz_common.h"

/* What the text of the reply made of lines[0..n) must be. */
struct model {
	struct buf	text;
	size_t		lines;
};

/* A line as reply_parse keeps it: its first 512 bytes, one CR dropped. */
FUZZ_NOCOV static void
model_line(struct model *m, const char *l, size_t len)
{
	if (len > 512)
		len = 512;
	if (len > 0 && l[len - 1] == '\r')
		len--;
	if (m->lines++ > 0)
		buf_addch(&m->text, '\n');
	if (len > 4)
		buf_add(&m->text, l + 4, len - 4);
	else if (m->text.data == NULL)
		buf_add(&m->text, "", 0);
}

FUZZ_NOCOV static void
check_caps(const struct reply *r)
{
	struct caps c;
	const char *line, *nl;
	unsigned long long want_size = 0, want_strict = 0;

	caps_parse(&c, r);
	FUZZ_ASSERT(memchr(c.auth_mechs, '\0', sizeof(c.auth_mechs)) != NULL);
	/* Reference: each line on its own, as a NUL-terminated copy. */
	if ((nl = strchr(r->text, '\n')) == NULL)
		return;
	for (line = nl + 1; ; line = nl + 1) {
		char copy[REPLY_TEXT_MAX];
		size_t len;

		nl = strchr(line, '\n');
		len = nl ? (size_t)(nl - line) : strlen(line);
		memcpy(copy, line, len);
		copy[len] = '\0';
		if (strncasecmp(copy, "SIZE", 4) == 0 &&
		    (copy[4] == '\0' || copy[4] == ' ' || copy[4] == '=')) {
			/* caps_parse keeps the last SIZE; so does this. A
			 * number that does not start right after "SIZE " may
			 * be taken as none: either reading is of this line. */
			const char *arg = copy[4] ? copy + 5 : copy + 4;

			want_size = strtoull(arg, NULL, 10);
			want_strict = isdigit((unsigned char)*arg) ?
			    want_size : 0;
		}
		if (strncasecmp(copy, "AUTH", 4) == 0 && (copy[4] == '\0' ||
		    copy[4] == ' ' || copy[4] == '='))
			FUZZ_CHECK("caps-line", strchr(c.auth_mechs, '\n') ==
			    NULL);
		if (nl == NULL)
			break;
	}
	if (c.size && c.size_max != want_size && c.size_max != want_strict &&
	    !fuzz_known("caps-line")) {
		fuzz_dump("EHLO text", r->text, r->textlen, 400);
		fprintf(stderr, "size_max %llu, the SIZE line says %llu\n",
		    c.size_max, want_size);
	}
	FUZZ_CHECK("caps-line", !c.size || c.size_max == want_size ||
	    c.size_max == want_strict);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reply_parser *p;
	struct reply *out;
	struct model m = { BUF_INIT, 0 };
	const char *in;
	size_t k, nsizes, pos = 0, piece = 0, line_start;
	uint8_t sizes[7];

	if (size < 1)
		return 0;
	k = data[0] & 7;
	if (k > 7 || 1 + k > size)
		return 0;
	nsizes = k;
	memcpy(sizes, data + 1, k);
	in = (const char *)data + 1 + k;
	size -= 1 + k;

	/* Heap, not stack: ASan then sees any overrun of these structs. */
	p = malloc(sizeof(*p));
	out = malloc(sizeof(*out));
	if (p == NULL || out == NULL)
		goto out;
	reply_parser_init(p);
	line_start = 0;
	while (pos < size) {
		size_t n = nsizes ? (size_t)sizes[piece++ % nsizes] + 1 :
		    size - pos, used, i;
		bool done = false;

		if (n > size - pos)
			n = size - pos;
		memset(out, 0xa5, sizeof(*out));
		used = reply_parse(p, in + pos, n, out, &done);
		FUZZ_CHECK("reply-progress", used <= n);
		FUZZ_CHECK("reply-progress", done || p->error || used == n);
		FUZZ_CHECK("reply-progress", used > 0 || p->error);
		/* Model: the complete lines within what was consumed. */
		for (i = pos; i < pos + used; i++)
			if (in[i] == '\n') {
				model_line(&m, in + line_start, i - line_start);
				line_start = i + 1;
			}
		pos += used;
		if (p->error) {
			FUZZ_ASSERT(memchr(p->why, '\0', sizeof(p->why)) !=
			    NULL && p->why[0] != '\0');
			FUZZ_CHECK("reply-done", !done);
			break;
		}
		if (!done)
			continue;
		FUZZ_CHECK("reply-done", out->code >= 200 && out->code <= 599);
		FUZZ_CHECK("reply-done", out->lines >= 1 &&
		    out->lines <= REPLY_LINES_MAX);
		FUZZ_CHECK("reply-done", out->textlen < REPLY_TEXT_MAX);
		FUZZ_CHECK("reply-done", out->textlen < REPLY_TEXT_MAX &&
		    out->text[out->textlen] == '\0' &&
		    strlen(out->text) == out->textlen);
		FUZZ_CHECK("reply-done", in[pos - 1] == '\n');
		FUZZ_CHECK("reply-text", m.lines == out->lines);
		{
			size_t want = m.text.len < REPLY_TEXT_MAX - 1 ?
			    m.text.len : REPLY_TEXT_MAX - 1;
			bool same = out->textlen == want && memcmp(out->text,
			    m.text.data ? m.text.data : "", want) == 0;

			if (!same && !fuzz_known("reply-text")) {
				fuzz_dump("reply text", out->text,
				    out->textlen, 300);
				fuzz_dump("expected", m.text.data, m.text.len,
				    300);
			}
			FUZZ_CHECK("reply-text", same);
		}
		check_caps(out);
		buf_reset(&m.text);
		m.lines = 0;
	}
out:
	buf_free(&m.text);
	free(p);
	free(out);
	return 0;
}
