/* SPDX-License-Identifier: ISC */
/* The message reader: normalisation, headers, the lone dot, analysis. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "check.h"
#include "message.h"

/* Feed `in` in pieces of `step` bytes; return the bytes as sent. */
static int
read_all(const char *in, size_t len, bool dot_is_data, size_t step,
    struct message *m, struct buf *out, struct failure *f)
{
	struct reader r;
	char chunk[4096];
	off_t off = 0;
	ssize_t n;
	size_t i;

	message_init(m);
	reader_init(&r, m, dot_is_data);
	for (i = 0; i < len && !r.done; i += step)
		if (reader_feed(&r, in + i, len - i < step ? len - i : step, f)
		    == -1) {
			reader_free(&r);
			return -1;
		}
	if (reader_finish(&r, f) == -1) {
		reader_free(&r);
		return -1;
	}
	reader_free(&r);
	message_header_bytes(m, out);
	while ((n = spool_read(&m->body, off, chunk, sizeof(chunk))) > 0) {
		buf_add(out, chunk, (size_t)n);
		off += n;
	}
	return 0;
}

struct norm_case {
	const char	*name;
	const char	*in;
	bool		 dot_is_data;
	const char	*want;
};

static const struct norm_case norm[] = {
	{ "LF", "A: b\n\nx\n", true, "A: b\r\n\r\nx\r\n" },
	{ "CRLF", "A: b\r\n\r\nx\r\n", true, "A: b\r\n\r\nx\r\n" },
	{ "mixed", "A: b\r\n\nx\ny\r\n", true, "A: b\r\n\r\nx\r\ny\r\n" },
	{ "CR CR LF", "A: b\r\r\n\r\nx\r\r\n", true, "A: b\r\n\r\nx\r\n" },
	{ "lone CR", "A: b\n\nx\ry\n", true, "A: b\r\n\r\nx y\r\n" },
	{ "CR at end", "A: b\n\nx\r", true, "A: b\r\n\r\nx \r\n" },
	{ "no final newline", "A: b\n\nx", true, "A: b\r\n\r\nx\r\n" },
	{ "dot ends input", "A: b\n\nx\n.\ny\n", false, "A: b\r\n\r\nx\r\n" },
	{ "dot CRLF ends input", "A: b\n\nx\r\n.\r\ny\n", false,
	    "A: b\r\n\r\nx\r\n" },
	{ "dot at EOF", "A: b\n\nx\n.", false, "A: b\r\n\r\nx\r\n" },
	{ "dot with -i", "A: b\n\nx\n.\ny\n", true,
	    "A: b\r\n\r\nx\r\n.\r\ny\r\n" },
	{ "dot-dot", "A: b\n\n..\n.x\n", false, "A: b\r\n\r\n..\r\n.x\r\n" },
	{ "smuggling LF.LF", "A: b\n\nx\n.\nMAIL FROM:<e@v>\n", true,
	    "A: b\r\n\r\nx\r\n.\r\nMAIL FROM:<e@v>\r\n" },
	{ "mbox From", "From me Sat Jan  1\nA: b\n\nx\n", true,
	    "A: b\r\n\r\nx\r\n" },
	{ "folding", "A: b\n c\n\nx\n", true, "A: b\r\n c\r\n\r\nx\r\n" },
	{ "no headers", "hello\nworld\n", true, "hello\r\nworld\r\n" },
	{ "headers only", "A: b\n", true, "A: b\r\n" },
	{ "empty", "", true, "" },
};

static void
test_normalisation(void)
{
	static const size_t steps[] = { 1, 2, 3, 4096 };
	size_t i, s;

	for (i = 0; i < sizeof(norm) / sizeof(norm[0]); i++)
		for (s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
			struct failure f = { 0 };
			struct message m;
			struct buf out = BUF_INIT;
			char ctx[128];

			snprintf(ctx, sizeof(ctx), "%s (pieces of %zu)",
			    norm[i].name, steps[s]);
			CHECK_INT(read_all(norm[i].in, strlen(norm[i].in),
			    norm[i].dot_is_data, steps[s], &m, &out, &f), 0,
			    ctx);
			CHECK_STR(out.data ? out.data : "", norm[i].want, ctx);
			buf_free(&out);
			message_free(&m);
		}
}

static void
test_nul(void)
{
	struct failure f = { 0 };
	struct message m;
	struct buf out = BUF_INIT;
	int fds[2];

	/* The reader keeps going so the message can be saved... */
	CHECK_INT(read_all("A: b\n\nab\0c\n", 11, true, 4096, &m, &out, &f),
	    0, "NUL read through");
	CHECK_INT(m.nul_offset, 8, "NUL offset recorded");
	CHECK_INT(out.len, 14, "NUL kept in the body");
	buf_free(&out);
	message_free(&m);
	/* ...and reading refuses it once everything is in. */
	if (pipe(fds) == -1)
		return;
	if (write(fds[1], "A: b\n\nab\0c\n", 11) != 11)
		return;
	close(fds[1]);
	message_init(&m);
	CHECK_INT(message_read_fd(&m, fds[0], true, &f), -1, "NUL refused");
	CHECK_INT(status_exit(&f), 65, "NUL exit status");
	CHECK(strstr(f.text, "offset 8") != NULL, "NUL offset named");
	CHECK(m.complete, "whole message read");
	close(fds[0]);
	message_free(&m);
}

static void
test_analysis(void)
{
	struct failure f = { 0 };
	struct message m;
	struct buf out = BUF_INIT;
	char *big = malloc(2000);

	memset(big, 'a', 1999);
	big[1999] = '\0';
	memcpy(big, "X: y\n\n", 6);
	read_all(big, 1999, true, 7, &m, &out, &f);
	CHECK_INT(m.longest_line, 1993, "longest line");
	CHECK(!m.eight_bit, "7-bit");
	message_free(&m);
	buf_free(&out);
	read_all("X: y\n\n\xc3\xa9\n", 9, true, 4096, &m, &out, &f);
	CHECK(m.eight_bit, "8-bit body");
	CHECK(message_single_part(&m), "no Content-Type is single part");
	message_free(&m);
	buf_free(&out);
	read_all("Content-Type: multipart/mixed; boundary=x\n\n", 44, true,
	    4096, &m, &out, &f);
	CHECK(!message_single_part(&m), "multipart");
	message_free(&m);
	buf_free(&out);
	free(big);
}

static void
test_headers(void)
{
	struct failure f = { 0 };
	struct message m;
	struct buf out = BUF_INIT;
	const char *in = "To: a@x\nBcc: b@y\nSubject: s\nbcc: c@z\n\nbody\n";

	read_all(in, strlen(in), true, 4096, &m, &out, &f);
	CHECK_INT(m.nheaders, 4, "four fields");
	CHECK_STR(header_value(header_find(&m, "subject", 0)), "s",
	    "value by name without case");
	header_remove(&m, "Bcc");
	CHECK_INT(m.nheaders, 2, "both Bcc removed");
	header_set(&m, "To", "z@z");
	CHECK_STR(m.headers[0].text, "To: z@z", "replaced in place");
	CHECK_INT(message_size(&m), 9 + 12 + 2 + 6, "size");
	buf_free(&out);
	message_free(&m);
}

/* `len` bytes of in as a file, read in place, as sent: 1, 0 or -1. */
static int
read_file(const char *in, size_t len, bool dot_is_data, int *fdp,
    struct message *m, struct buf *out)
{
	struct failure f = { 0 };
	char path[] = "/tmp/test_message.XXXXXX", chunk[4096];
	off_t off = 0;
	ssize_t n;
	int fd = mkstemp(path), rc;

	unlink(path);
	if (fd == -1 || write(fd, in, len) != (ssize_t)len ||
	    lseek(fd, 0, SEEK_SET) != 0)
		return -1;
	message_init(m);
	rc = message_read_in_place(m, fd, dot_is_data, &f);
	if (rc == 1) {
		message_header_bytes(m, out);
		while ((n = spool_read(&m->body, off, chunk, sizeof(chunk))) >
		    0) {
			buf_add(out, chunk, (size_t)n);
			off += n;
		}
		if (n == -1)
			rc = -1;
	}
	if (fdp != NULL)
		*fdp = fd;
	else
		close(fd);
	return rc;
}

/* A body read in place (src/bodyfile.c) is what the reader stores. */
static void
test_in_place_cases(void)
{
	size_t i;

	for (i = 0; i < sizeof(norm) / sizeof(norm[0]); i++) {
		struct message m;
		struct buf out = BUF_INIT;
		int fd, rc = read_file(norm[i].in, strlen(norm[i].in),
		    norm[i].dot_is_data, &fd, &m, &out);

		if (rc == 0)	/* no blank line: rewound for a copy */
			CHECK_INT((int)lseek(fd, 0, SEEK_CUR), 0, norm[i].name);
		else
			CHECK_STR(out.data ? out.data : "", norm[i].want,
			    norm[i].name);
		close(fd);
		buf_free(&out);
		message_free(&m);
	}
}

/* Random bodies over several of its 128 KiB reads, both ways. */
static void
test_in_place_random(void)
{
	static const char alphabet[] = "ab\r\n.\n \xc3\n\r.";
	static char in[300 * 1024];
	unsigned seed;
	size_t i, len;

	for (seed = 1; seed <= 40; seed++) {
		struct message a, b;
		struct buf x = BUF_INIT, y = BUF_INIT;
		struct failure f = { 0 };
		char ctx[64];

		srandom(seed);
		len = 200 * 1024 + (size_t)(random() % (100 * 1024));
		memcpy(in, "A: b\n\n", 6);
		for (i = 6; i < len; i++)
			in[i] = alphabet[random() % (sizeof(alphabet) - 1)];
		if (seed % 5 == 0)
			in[len / 2] = '\0';
		snprintf(ctx, sizeof(ctx), "random body, seed %u", seed);
		read_all(in, len, seed % 2, 4096, &a, &x, &f);
		CHECK_INT(read_file(in, len, seed % 2, NULL, &b, &y), 1, ctx);
		CHECK(x.len == y.len && memcmp(x.data, y.data, x.len) == 0, ctx);
		CHECK_INT(a.longest_line, b.longest_line, ctx);
		CHECK_INT(a.eight_bit, b.eight_bit, ctx);
		CHECK_INT((int)a.nul_offset, (int)b.nul_offset, ctx);
		CHECK_INT((int)message_size(&a), (int)message_size(&b), ctx);
		buf_free(&x);
		buf_free(&y);
		message_free(&a);
		message_free(&b);
	}
}

/* Reads of one, two and three bytes give the same body (a CRLF split). */
static void
test_in_place_small_reads(void)
{
	static char in[1100 * 1024];
	struct message m;
	struct buf want = BUF_INIT, got = BUF_INIT;
	char chunk[3];
	size_t i, step;
	off_t off;
	ssize_t n;
	int fd;

	memcpy(in, "A: b\n\n", 6);
	for (i = 6; i < sizeof(in); i++)
		in[i] = "ab\r\n.\n"[i % 7];
	CHECK_INT(read_file(in, sizeof(in), true, &fd, &m, &want), 1,
	    "small reads");
	for (step = 1; step <= 3; step++) {
		buf_reset(&got);
		message_header_bytes(&m, &got);
		for (off = 0; (n = spool_read(&m.body, off, chunk, step)) > 0;
		    off += n)
			buf_add(&got, chunk, (size_t)n);
		CHECK(n == 0 && got.len == want.len && memcmp(got.data,
		    want.data, got.len) == 0, "reads of a few bytes");
	}
	close(fd);
	buf_free(&want);
	buf_free(&got);
	message_free(&m);
}

/* A caller that rewrites its input file meanwhile: an error, never a
 * body of another size than the one announced. */
static void
test_in_place_changed(void)
{
	static const char *what[] = { "shorter", "longer lines", "more lines",
	    "same size" };
	static char in[400 * 1024];
	size_t i, k;

	for (k = 0; k < 4; k++) {
		struct message m;
		struct buf out = BUF_INIT;
		char chunk[65536];
		off_t off = 0, total = 0;
		ssize_t n;
		int fd;

		memcpy(in, "A: b\n\n", 6);
		for (i = 6; i < sizeof(in); i++)
			in[i] = i % 64 == 0 ? '\n' : 'x';
		CHECK_INT(read_file(in, sizeof(in), true, &fd, &m, &out), 1,
		    what[k]);
		if (k == 0)
			CHECK_INT(ftruncate(fd, 300 * 1024), 0, what[k]);
		else if (k == 1)
			CHECK_INT((int)pwrite(fd, "y", 1, 200 * 1024 + 64), 1,
			    what[k]);
		else if (k == 2)
			CHECK_INT((int)pwrite(fd, "\n", 1, 200 * 1024 + 1), 1,
			    what[k]);
		else {
			/* Past a coarse clock's tick: a new modification time. */
			usleep(20000);
			CHECK_INT((int)pwrite(fd, "y", 1, 300 * 1024 + 1), 1,
			    what[k]);
		}
		while ((n = spool_read(&m.body, off, chunk, sizeof(chunk))) >
		    0) {
			off += n;
			total += n;
		}
		CHECK_INT((int)n, -1, what[k]);
		CHECK(total <= m.body.size, what[k]);
		close(fd);
		buf_free(&out);
		message_free(&m);
	}
}

int
main(void)
{
	test_in_place_cases();
	test_in_place_random();
	test_in_place_small_reads();
	test_in_place_changed();
	test_normalisation();
	test_nul();
	test_analysis();
	test_headers();
	return check_summary();
}
