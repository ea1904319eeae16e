/* SPDX-License-Identifier: ISC */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "bodyfile.h"
#include "interrupt.h"
#include "message.h"

#define OUT_SIZE	(256 * 1024)

void
message_init(struct message *m)
{
	memset(m, 0, sizeof(*m));
	spool_init(&m->body);
	m->nul_offset = -1;
}

void
message_free(struct message *m)
{
	size_t i;

	for (i = 0; i < m->nheaders; i++)
		free(m->headers[i].text);
	free(m->headers);
	spool_free(&m->body);
	message_init(m);
}

int
reader_init(struct reader *r, struct message *m, bool dot_is_data)
{
	memset(r, 0, sizeof(*r));
	r->m = m;
	r->dot_is_data = dot_is_data;
	r->at_line_start = true;
	r->first_line = true;
	r->header_max = HEADER_SECTION_MAX;
	r->body_at = r->end_at = -1;
	if ((r->out = malloc(OUT_SIZE)) == NULL)
		return -1;
	return 0;
}

void
reader_free(struct reader *r)
{
	buf_free(&r->line);
	free(r->out);
	r->out = NULL;
}

static int
flush_body(struct reader *r, struct failure *f)
{
	if (r->outlen > 0 && spool_write(&r->m->body, r->out, r->outlen) == -1) {
		fail_errno(f, CAUSE_OSERR, "cannot store the message");
		return -1;
	}
	r->outlen = 0;
	return 0;
}

static int
body_put(struct reader *r, const char *p, size_t n, struct failure *f)
{
	if (n == 0 || p == NULL)
		return 0;
	if (r->count_only) {
		r->m->body.size += (off_t)n;
		return 0;
	}
	if (r->outlen + n > OUT_SIZE && flush_body(r, f) == -1)
		return -1;
	if (n > OUT_SIZE) {
		if (spool_write(&r->m->body, p, n) == -1) {
			fail_errno(f, CAUSE_OSERR, "cannot store the message");
			return -1;
		}
		return 0;
	}
	memcpy(r->out + r->outlen, p, n);
	r->outlen += n;
	return 0;
}

/*
 * A field name: printable, no colon, then a colon; RFC 5322's obsolete
 * syntax allows white space before the colon ("Bcc :"), which the length
 * includes (header_is() looks past it).
 */
static size_t
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
		if (c < ' ' || c > '~' || name < i)
			return 0;	/* nothing after the white space */
		name = i + 1;
	}
	return 0;
}

static int
append_field(struct message *m, const char *text, size_t len, size_t namelen)
{
	struct header *v;
	char *t;

	if ((t = strndup(text, len)) == NULL)
		return -1;
	v = reallocarray(m->headers, m->nheaders + 1, sizeof(*v));
	if (v == NULL) {
		free(t);
		return -1;
	}
	m->headers = v;
	v[m->nheaders].text = t;
	v[m->nheaders].namelen = namelen;
	m->nheaders++;
	return 0;
}

static int
continue_field(struct message *m, const char *text, size_t len)
{
	struct header *h = &m->headers[m->nheaders - 1];
	size_t old = strlen(h->text);
	char *t;

	if ((t = realloc(h->text, old + 2 + len + 1)) == NULL)
		return -1;
	memcpy(t + old, "\r\n", 2);
	memcpy(t + old + 2, text, len);
	t[old + 2 + len] = '\0';
	h->text = t;
	return 0;
}

/*
 * The header section ends without a blank line: the line held so far is
 * body, with its line end when it was complete.
 */
static int
end_headers(struct reader *r, bool complete, struct failure *f)
{
	r->in_body = true;
	if (r->line.len > 0 && body_put(r, r->line.data, r->line.len, f) == -1)
		return -1;
	if (complete && body_put(r, "\r\n", 2, f) == -1)
		return -1;
	buf_reset(&r->line);
	return 0;
}

/* A complete header-section line (without its line end). */
static int
header_line(struct reader *r, struct failure *f)
{
	const char *s = r->line.data ? r->line.data : "";
	size_t len = r->line.len, namelen;
	bool first = r->first_line;
	int rc = 0;

	r->first_line = false;
	if (first && !r->keep_from_line && len >= 5 &&
	    memcmp(s, "From ", 5) == 0)
		rc = 0;			/* an mbox separator: dropped */
	else if (len == 0) {
		r->m->separator = true;
		r->in_body = true;
		r->body_at = r->at + 1;		/* after this LF */
	} else if ((s[0] == ' ' || s[0] == '\t') && r->m->nheaders > 0)
		rc = continue_field(r->m, s, len);
	else if ((namelen = field_name_len(s, len)) > 0)
		rc = append_field(r->m, s, len, namelen);
	else
		return end_headers(r, true, f);
	if (rc == -1) {
		fail_errno(f, CAUSE_OSERR, "reading the message");
		return -1;
	}
	buf_reset(&r->line);
	return 0;
}

/* One normalised byte (never CR or LF). */
static int
put_byte(struct reader *r, char c, struct failure *f)
{
	if (r->at_line_start && c == '.' && !r->dot_is_data && !r->dot_held) {
		r->dot_held = true;	/* may be the end of input */
		r->dot_at = r->at;
		return 0;
	}
	if (r->dot_held) {
		r->dot_held = false;
		r->at_line_start = false;
		if (put_byte(r, '.', f) == -1)
			return -1;
	}
	r->at_line_start = false;
	r->line_len++;
	if ((unsigned char)c >= 0x80)
		r->m->eight_bit = true;
	if (r->in_body)
		return body_put(r, &c, 1, f);
	if (r->header_bytes++ >= r->header_max)
		return end_headers(r, false, f) == -1 ? -1 :
		    body_put(r, &c, 1, f);
	if (buf_addch(&r->line, c) == -1) {
		fail_errno(f, CAUSE_OSERR, "reading the message");
		return -1;
	}
	return 0;
}

static int
put_eol(struct reader *r, struct failure *f)
{
	if (r->dot_held && r->line_len == 0) {
		r->done = true;		/* a lone "." ends the input */
		r->end_at = r->dot_at;
		return 0;
	}
	if (r->line_len > r->m->longest_line)
		r->m->longest_line = r->line_len;
	r->line_len = 0;
	r->at_line_start = true;
	r->header_bytes += 2;
	if (r->in_body)
		return body_put(r, "\r\n", 2, f);
	return header_line(r, f);
}

/* Eight bytes at a time: the special bytes of v, each one's high bit
 * (exact for the lowest one, which is all that is used). */
static uint64_t
special_mask(uint64_t v)
{
	const uint64_t ones = 0x0101010101010101ULL, high = ones << 7;
	uint64_t lf = v ^ (ones * '\n'), cr = v ^ (ones * '\r');

	return (((v - ones) & ~v) | ((lf - ones) & ~lf) | ((cr - ones) & ~cr)) &
	    high;
}

/*
 * Body bytes up to the next CR, LF or NUL, without a call per byte: this
 * is where a 200 MB message spends its time.
 */
static size_t
body_run(struct reader *r, const char *p, size_t n, struct failure *f)
{
	uint64_t word, any8 = 0;
	unsigned char any = 0;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		memcpy(&word, p + i, 8);
		if (special_mask(word) != 0)
			break;
		any8 |= word;
	}
	if (any8 & 0x8080808080808080ULL)
		any = 0x80;
	for (; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '\n' || c == '\r' || c == '\0')
			break;
		any |= c;
	}
	if (any & 0x80)
		r->m->eight_bit = true;
	if (i > 0 && body_put(r, p, i, f) == -1)
		return (size_t)-1;
	r->line_len += i;
	return i;
}

/*
 * Sixteen bytes at p: a bit for each LF in *ends, for each CR or NUL in
 * *bad, for each "." in *dots, and one for each 8-bit byte (returned).
 * SSE2 is in every x86-64; the loop says the same for any other machine.
 */
static unsigned
block_masks(const char *p, unsigned *ends, unsigned *bad, unsigned *dots)
{
#ifdef __SSE2__
	__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);

	*ends = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v,
	    _mm_set1_epi8('\n')));
	*bad = (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v,
	    _mm_set1_epi8('\r')), _mm_cmpeq_epi8(v, _mm_setzero_si128())));
	*dots = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v,
	    _mm_set1_epi8('.')));
	return (unsigned)_mm_movemask_epi8(v);
#else
	unsigned high = 0;
	int k;

	*ends = *bad = *dots = 0;
	for (k = 0; k < 16; k++) {
		*ends |= (unsigned)(p[k] == '\n') << k;
		*bad |= (unsigned)(p[k] == '\r' || p[k] == '\0') << k;
		*dots |= (unsigned)(p[k] == '.') << k;
		high |= (unsigned)((unsigned char)p[k] >= 0x80) << k;
	}
	return high;
#endif
}

/*
 * Whole body lines at once, the common case: no CR, no NUL, no "." first,
 * found sixteen bytes at a time. Anything else, and a line that runs past
 * the end of p, is left for the byte-by-byte path. Returns the bytes used.
 * The 8-bit bytes counted are those before the first such stop: all of
 * them are the message's (a lone "." can only come after them).
 */
static size_t
body_lines(struct reader *r, const char *p, size_t n, struct failure *f)
{
	size_t start = 0, j, e, lines = 0, longest = r->m->longest_line;
	unsigned ends, bad, dots, high, any = 0, stop;

	for (j = 0; j + 16 <= n; j += 16) {
		high = block_masks(p + j, &ends, &bad, &dots);
		/* A CR, a NUL, or a line that starts with ".". */
		stop = bad | (((ends << 1) | (start == j)) & dots & 0xffffu);
		if (stop != 0) {
			ends &= (stop & -stop) - 1;
			high &= (stop & -stop) - 1;
		}
		any |= high;
		for (; ends != 0; ends &= ends - 1) {
			e = j + (size_t)__builtin_ctz(ends);
			if (e - start > longest)
				longest = e - start;
			if (!r->count_only && (body_put(r, p + start, e - start,
			    f) == -1 || body_put(r, "\r\n", 2, f) == -1))
				return (size_t)-1;
			lines++;
			start = e + 1;
		}
		if (stop != 0)
			break;
	}
	r->m->longest_line = longest;
	if (r->count_only)	/* each LF a CRLF */
		r->m->body.size += (off_t)(start + lines);
	if (any != 0)
		r->m->eight_bit = true;
	return start;
}

static int
release_crs(struct reader *r, struct failure *f)
{
	/* A CR not followed by LF becomes a space. */
	for (; r->pending_cr > 0; r->pending_cr--)
		if (put_byte(r, ' ', f) == -1)
			return -1;
	return 0;
}

int
reader_feed(struct reader *r, const char *p, size_t n, struct failure *f)
{
	size_t i = 0, run;

	while (i < n && !r->done) {
		if (r->in_body && r->at_line_start && r->pending_cr == 0 &&
		    !r->dot_held) {
			if ((run = body_lines(r, p + i, n - i, f)) == (size_t)-1)
				return -1;
			if ((i += run) == n)
				break;
		}
		if (r->in_body && !r->at_line_start && r->pending_cr == 0) {
			if ((run = body_run(r, p + i, n - i, f)) == (size_t)-1)
				return -1;
			i += run;
			if (i == n)
				break;
		}
		r->at = r->offset + (off_t)i;
		switch (p[i]) {
		case '\0':
			/* Refused once all is read, so the message can be
			 * kept; a header line cannot hold it: a space. */
			if (r->m->nul_offset == -1)
				r->m->nul_offset = r->offset + (off_t)i;
			if (release_crs(r, f) == -1 || put_byte(r,
			    r->in_body ? '\0' : ' ', f) == -1)
				return -1;
			break;
		case '\r':
			r->pending_cr++;	/* CR+ LF is one line end */
			break;
		case '\n':
			r->pending_cr = 0;
			if (put_eol(r, f) == -1)
				return -1;
			break;
		default:
			if (release_crs(r, f) == -1 ||
			    put_byte(r, p[i], f) == -1)
				return -1;
		}
		i++;
	}
	r->offset += (off_t)n;
	return 0;
}

int
reader_finish(struct reader *r, struct failure *f)
{
	if (!r->done) {
		if (release_crs(r, f) == -1)
			return -1;
		if (r->dot_held && r->line_len == 0) {
			r->done = true;		/* "." at the very end */
			r->end_at = r->dot_at;
		}
		else if ((!r->at_line_start || r->line.len > 0) &&
		    put_eol(r, f) == -1)
			return -1;	/* no final newline: one is added */
	}
	if (!r->in_body && r->line.len > 0 && header_line(r, f) == -1)
		return -1;
	return flush_body(r, f);
}

/* All of fd into the reader (the rest is drained after a lone "."). */
static int
feed_fd(struct reader *r, int fd, struct failure *f)
{
	static char in[256 * 1024];
	ssize_t n;

	for (;;) {
		n = read(fd, in, sizeof(in));
		if (n == -1 && errno == EINTR && interrupt_signal() != 0) {
			fail(f, STAGE_NONE, CAUSE_IOERR, 0, "interrupted by "
			    "signal %d while reading the message",
			    interrupt_signal());
			return -1;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			fail_errno(f, CAUSE_IOERR, "reading the message");
			return -1;
		}
		if (n == 0)
			return reader_finish(r, f);
		if (!r->done && reader_feed(r, in, (size_t)n, f) == -1)
			return -1;
	}
}

/* Smaller files are copied: the spool holds them in memory anyway. */
#define IN_PLACE_MIN	(1024 * 1024)

/* message_read_in_place() for a file of at least `min` bytes from here. */
static int
read_in_place(struct message *m, int fd, bool dot_is_data, off_t min,
    struct failure *f)
{
	struct stat st;
	struct reader r;
	off_t start, end;
	int rc;

	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (start = lseek(fd, 0, SEEK_CUR)) == -1 || st.st_size - start < min)
		return 0;
	if (reader_init(&r, m, dot_is_data) == -1) {
		fail_errno(f, CAUSE_OSERR, "reading the message");
		return -1;
	}
	r.count_only = true;
	rc = feed_fd(&r, fd, f);
	end = r.done ? r.end_at : r.offset;
	if (rc == 0 && r.body_at >= 0 && r.body_at <= end)
		rc = bodyfile_attach(&m->body, fd, start + r.body_at,
		    start + end, m->body.size, &st) == 0 ? 1 : -1;
	else if (rc == 0) {
		message_free(m);	/* a body of another shape: copy it */
		if (lseek(fd, start, SEEK_SET) == -1)
			rc = -1;
	}
	if (rc == -1 && !failed(f))
		fail_errno(f, CAUSE_IOERR, "reading the message");
	reader_free(&r);
	return rc;
}

int
message_read_in_place(struct message *m, int fd, bool dot_is_data,
    struct failure *f)
{
	return read_in_place(m, fd, dot_is_data, 0, f);
}

int
message_read_fd(struct message *m, int fd, bool dot_is_data,
    struct failure *f)
{
	struct reader r;
	int rc;

	if ((rc = read_in_place(m, fd, dot_is_data, IN_PLACE_MIN, f)) == 0) {
		if (reader_init(&r, m, dot_is_data) == -1) {
			fail_errno(f, CAUSE_OSERR, "reading the message");
			return -1;
		}
		rc = feed_fd(&r, fd, f);
		reader_free(&r);
	}
	if (rc == -1)
		return -1;
	m->complete = true;
	if (m->nul_offset != -1) {
		fail(f, STAGE_NONE, CAUSE_DATAERR, 0, "the message holds a NUL "
		    "byte at offset %lld", (long long)m->nul_offset);
		return -1;
	}
	return 0;
}

struct header *
header_find(const struct message *m, const char *name, size_t from)
{
	size_t i, len = strlen(name);

	for (i = from; i < m->nheaders; i++)
		if (header_is(&m->headers[i], name, len))
			return &m->headers[i];
	return NULL;
}

/* The obsolete syntax allows space before the colon: "Bcc :" is Bcc. */
bool
header_is(const struct header *h, const char *name, size_t len)
{
	size_t n = h->namelen;

	while (n > 0 && (h->text[n - 1] == ' ' || h->text[n - 1] == '\t'))
		n--;
	return n == len && strncasecmp(h->text, name, len) == 0;
}

const char *
header_value(const struct header *h)
{
	const char *v = h->text + h->namelen + 1;

	return v + strspn(v, " \t\r\n");
}

int
header_remove(struct message *m, const char *name)
{
	struct header *h;
	size_t at;

	while ((h = header_find(m, name, 0)) != NULL) {
		at = (size_t)(h - m->headers);
		free(h->text);
		memmove(h, h + 1, (m->nheaders - at - 1) * sizeof(*h));
		m->nheaders--;
	}
	return 0;
}

static char *
field_text(const char *name, const char *value)
{
	struct buf b = BUF_INIT;

	if (buf_printf(&b, "%s: %s", name, value) == -1)
		return NULL;
	return b.data;
}

int
header_add(struct message *m, const char *name, const char *value)
{
	char *t = field_text(name, value);
	int r;

	if (t == NULL)
		return -1;
	r = append_field(m, t, strlen(t), strlen(name));
	free(t);
	return r;
}

int
header_prepend(struct message *m, const char *name, const char *value)
{
	struct header h;

	if (header_add(m, name, value) == -1)
		return -1;
	h = m->headers[m->nheaders - 1];
	memmove(&m->headers[1], &m->headers[0],
	    (m->nheaders - 1) * sizeof(h));
	m->headers[0] = h;
	return 0;
}

int
header_copy(struct message *m, const struct header *h)
{
	return append_field(m, h->text, strlen(h->text), h->namelen);
}

int
header_set(struct message *m, const char *name, const char *value)
{
	struct header *h = header_find(m, name, 0);
	char *t;

	if (h == NULL)
		return header_add(m, name, value);
	if ((t = field_text(name, value)) == NULL)
		return -1;
	free(h->text);
	h->text = t;
	h->namelen = strlen(name);
	return 0;
}

void
message_analyse_headers(struct message *m)
{
	const char *p, *line;
	size_t i;

	for (i = 0; i < m->nheaders; i++)
		for (line = p = m->headers[i].text;; p++) {
			if (*p == '\r' || *p == '\0') {
				if ((size_t)(p - line) > m->longest_line)
					m->longest_line = (size_t)(p - line);
				if (*p == '\0')
					break;
				line = p + 2;
				p++;
			} else if ((unsigned char)*p >= 0x80)
				m->eight_bit = true;
		}
}

bool
message_single_part(const struct message *m)
{
	const struct header *h = header_find(m, "Content-Type", 0);
	const char *v;

	if (h == NULL)
		return true;
	v = header_value(h);
	return strncasecmp(v, "multipart/", 10) != 0 &&
	    strncasecmp(v, "message/", 8) != 0;
}

int
message_header_bytes(const struct message *m, struct buf *b)
{
	size_t i;

	for (i = 0; i < m->nheaders; i++)
		if (buf_addstr(b, m->headers[i].text) == -1 ||
		    buf_add(b, "\r\n", 2) == -1)
			return -1;
	/* A body needs its separator even when the input had none. */
	if ((m->separator || (m->body.size > 0 && m->nheaders > 0)) &&
	    buf_add(b, "\r\n", 2) == -1)
		return -1;
	return 0;
}

off_t
message_size(const struct message *m)
{
	off_t n = m->body.size;
	size_t i;

	for (i = 0; i < m->nheaders; i++)
		n += (off_t)strlen(m->headers[i].text) + 2;
	if (m->separator || (m->body.size > 0 && m->nheaders > 0))
		n += 2;
	return n;
}
