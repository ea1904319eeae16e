/* SPDX-License-Identifier: ISC */
/*
 * The outbox entry reader (with the config, resolve, arg- and argument
 * fields of an entry still to be resolved): the input is written as an
 * entry (mode 0600, in a private directory of ours, mode 0700, under
 * $TMPDIR) named like an id, "20261201T000000Z-00000001", then loaded as
 * -q loads it, the message read back as it would be sent, and freed.
 *
 * The reader's API is being reworked (outbox_load(dir, ...) becomes
 * outbox_load_at(dirfd, ..., owner, ...)): both are declared weak here and
 * whichever the library has is used, so the harness builds on either side
 * of that change. Once it is done, the fallback can go.
 *
 * Seeds are entries as entry_header() in src/outbox.c writes them, and
 * damaged ones (see corpus/README).
 *
 * Invariants (names for SMTPSEND_FUZZ_KNOWN, see fuzz_common.h):
 *   outbox-fail    a refused entry has a non-empty one-line text (no
 *                  control character) and an exit status
 *   outbox-addr    a loaded entry has a sender, "" (the null sender) or one
 *                  addr_check() accepts, and at least one recipient, each
 *                  accepted by addr_check(); none holds a control character
 *                  (they go into MAIL FROM and RCPT TO as they are)
 *   outbox-fields  the other fields of a loaded entry are what a save
 *                  writes: state one of the three, attempts >= 0, exit
 *                  0..255, notify accepted by key_check(), envid xtext
 *                  (RFC 3461: it goes into MAIL FROM as it is), account and
 *                  error without control characters (-bp prints them)
 *   outbox-size    the message read back is not larger than the file: its
 *                  body is not negative and ends within the file (after
 *                  the entry text and header-bytes, as the harness reads
 *                  the entry), and reading it gives exactly that many bytes
 *                  (a truncated entry is damaged, not sent short)
 *   outbox-body    the body bytes, sent as they are, are CRLF-normalised as
 *                  the reader leaves a message: no bare CR or LF, no NUL,
 *                  empty or ending in CRLF (else SMTP smuggling from a
 *                  tampered entry)
 *   outbox-header-block  the header-bytes of a loaded entry are header
 *                  fields only: what the reader takes for body there is
 *                  dropped when the body is attached (data lost)
 *   outbox-leak    (a leak, not a check) those bytes are in a spool that
 *                  spool_attach() forgets: 256 KiB leaked per entry. When
 *                  tolerated such inputs are not loaded at all (else a long
 *                  run ends out of memory); see also known-leaks.supp
 *   outbox-facts   the stored facts the session trusts match the bytes:
 *                  eight_bit when a byte >= 0x80 is in the message,
 *                  longest_line at least the longest line (else lines over
 *                  998 octets or 8-bit data go out without re-encoding)
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "buf.h"
#include "config.h"
#include "outbox.h"
#include "message.h"
#include "spool.h"
#include "status.h"
#include "fuzz_common.h"

#define ID	"20261201T000000Z-00000001"

/* Either API, whichever the library has (see the top of the file). */
int	outbox_load(const char *dir, const char *id, struct outbox_entry *,
	    struct failure *f) __attribute__((weak));
int	outbox_load_at(int dirfd, const char *id, struct outbox_entry *,
	    uid_t owner, struct failure *f) __attribute__((weak));

static char dir[4096], path[4200];
static int dirfd = -1;

static void
cleanup(void)
{
	if (path[0] != '\0')
		unlink(path);
	if (dir[0] != '\0')
		rmdir(dir);
}

static void
setup(void)
{
	const char *tmp = getenv("TMPDIR");
	struct stat st;

	if (tmp == NULL || *tmp != '/')
		tmp = "/tmp";
	snprintf(dir, sizeof(dir), "%s/fuzz_outbox.XXXXXX", tmp);
	if (mkdtemp(dir) == NULL || chmod(dir, 0700) == -1 ||
	    (dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    fstat(dirfd, &st) == -1 || st.st_uid != geteuid()) {
		perror("fuzz_outbox: setup");
		abort();
	}
	snprintf(path, sizeof(path), "%s/%s", dir, ID);
	atexit(cleanup);
	if (outbox_load_at == NULL && outbox_load == NULL) {
		fprintf(stderr, "fuzz_outbox: the library has neither "
		    "outbox_load_at nor outbox_load\n");
		abort();
	}
}

/* The entry, fresh each time: a regular file of ours, mode 0600. */
static void
write_entry(const uint8_t *data, size_t size)
{
	int fd;

	unlink(path);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1 || fchmod(fd, 0600) == -1 ||
	    (size > 0 && write(fd, data, size) != (ssize_t)size)) {
		perror("fuzz_outbox: writing the entry");
		abort();
	}
	close(fd);
}

/* RFC 3461 xtext: "!".."~" but "+" and "=", or "+" and two HEXCHARs. */
FUZZ_NOCOV static bool
is_xtext(const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '+') {
			if (strchr("0123456789ABCDEF", s[1]) == NULL ||
			    s[1] == '\0' || strchr("0123456789ABCDEF", s[2]) ==
			    NULL || s[2] == '\0')
				return false;
			s += 2;
		} else if (c < '!' || c > '~' || c == '=')
			return false;
	}
	return true;
}

FUZZ_NOCOV static void
check_failure(const struct failure *f)
{
	bool ok = failed(f) && f->text[0] != '\0' &&
	    memchr(f->text, '\0', sizeof(f->text)) != NULL &&
	    !fuzz_has_ctl(f->text);

	if (!ok && !fuzz_known("outbox-fail"))
		fuzz_dump("failure text", f->text, strnlen(f->text,
		    sizeof(f->text)), 300);
	FUZZ_CHECK("outbox-fail", ok);
	FUZZ_CHECK("outbox-fail", status_exit(f) != 0);
}

FUZZ_NOCOV static void
check_address(const char *what, const char *a, bool null_ok)
{
	char why[160] = "";
	bool ok = a != NULL && ((null_ok && *a == '\0') ||
	    addr_check(a, why, sizeof(why)) == 0) && !fuzz_has_ctl(a);

	if (!ok && !fuzz_known("outbox-addr")) {
		if (a == NULL)
			fprintf(stderr, "loaded entry: no %s\n", what);
		else {
			fprintf(stderr, "loaded entry: %s: %s\n", what, why);
			fuzz_dump(what, a, strlen(a), 300);
		}
	}
	FUZZ_CHECK("outbox-addr", ok);
}

/* Where the entry says its message is: the harness's own reading. */
struct layout {
	off_t	start;		/* after the blank line ending the entry text */
	size_t	header_bytes;	/* the last "header-bytes: " line */
};

FUZZ_NOCOV static bool
layout_of(const uint8_t *data, size_t size, struct layout *l)
{
	const char *p = (const char *)data, *end, *line;

	l->start = 0;
	l->header_bytes = 0;
	for (end = p; end + 1 < p + size; end++)
		if (end[0] == '\n' && end[1] == '\n')
			break;
	if (end + 1 >= p + size)
		return false;
	l->start = (off_t)(end + 2 - p);
	for (line = p; line < end; ) {
		const char *nl = memchr(line, '\n', (size_t)(end + 1 - line));

		if ((size_t)(nl - line) > 14 &&
		    memcmp(line, "header-bytes: ", 14) == 0)
			l->header_bytes = strtoull(line + 14, NULL, 10);
		line = nl + 1;
	}
	return true;
}

/*
 * Would the reader take part of the saved header block for body? That is
 * what read_entry_message() loses (spool_attach() drops the spool it was
 * written to: outbox-header-block, and the leak outbox-leak). The same
 * reader, set up as there.
 */
FUZZ_NOCOV static bool
header_block_has_body(const uint8_t *data, size_t size, const struct layout *l)
{
	struct message m;
	struct reader r;
	struct failure f;
	bool body;

	if (l->start < 0 || (size_t)l->start > size ||
	    l->header_bytes > size - (size_t)l->start)
		return false;		/* a short read: refused before */
	memset(&f, 0, sizeof(f));
	message_init(&m);
	FUZZ_ASSERT(reader_init(&r, &m, true) == 0);
	r.keep_from_line = true;
	r.header_max = SIZE_MAX;
	body = reader_feed(&r, (const char *)data + l->start, l->header_bytes,
	    &f) == 0 && reader_finish(&r, &f) == 0 && m.body.size > 0;
	reader_free(&r);
	message_free(&m);
	return body;
}

/* The body as the session reads it, through spool_read(). */
FUZZ_NOCOV static void
read_body(const struct message *m, struct buf *body, size_t limit)
{
	char chunk[8192];
	off_t off = 0;
	ssize_t r;

	while (body->len <= limit &&
	    (r = spool_read(&m->body, off, chunk, sizeof(chunk))) > 0) {
		FUZZ_ASSERT(buf_add(body, chunk, (size_t)r) == 0);
		off += r;
	}
}

FUZZ_NOCOV static void
check_loaded(const struct outbox_entry *x, const struct layout *lay,
    size_t file_size)
{
	struct buf head = BUF_INIT, body = BUF_INIT;
	size_t i, start, longest = 0, bad = 0;
	bool eight = false, clean = true;
	off_t end;

	/* The envelope; only an entry kept for a person, or one whose
	 * arguments are kept to be resolved when sent, may lack it. Those
	 * arguments go through the command line's checks then; here they
	 * hold no control character. */
	for (i = 0; i < (size_t)x->args.nrcpts; i++)
		FUZZ_CHECK("outbox-fields", !fuzz_has_ctl(x->args.rcpts[i]));
	FUZZ_CHECK("outbox-fields", x->config == NULL ||
	    (x->config[0] == '/' && !fuzz_has_ctl(x->config)));
	FUZZ_CHECK("outbox-addr", !x->args.present ||
	    x->state == OUTBOX_PERMANENT || (x->env.sender == NULL &&
	    x->env.rcpts.n == 0));
	if ((x->state == OUTBOX_PERMANENT || x->args.present) &&
	    x->env.sender == NULL)
		FUZZ_CHECK("outbox-addr", x->env.rcpts.n == 0 ||
		    x->env.rcpts.n > 0);
	else {
		check_address("sender", x->env.sender, true);
		if (x->env.rcpts.n == 0 && !fuzz_known("outbox-addr"))
			fprintf(stderr, "loaded entry: no recipient\n");
		FUZZ_CHECK("outbox-addr", x->env.rcpts.n > 0 ||
		    x->state == OUTBOX_PERMANENT);
	}
	for (i = 0; i < x->env.rcpts.n; i++)
		check_address("recipient", x->env.rcpts.v[i].spec, false);

	/* The other fields. */
	FUZZ_CHECK("outbox-fields", x->state == OUTBOX_TEMPORARY ||
	    x->state == OUTBOX_POSSIBLY_DELIVERED ||
	    x->state == OUTBOX_PERMANENT);
	FUZZ_CHECK("outbox-fields", x->attempts >= 0);
	FUZZ_CHECK("outbox-fields", x->exit_status >= 0 &&
	    x->exit_status <= 255);
	FUZZ_CHECK("outbox-fields", x->env.notify == NULL ||
	    key_check(K_DSN_NOTIFY, x->env.notify) == NULL);
	if (x->env.envid != NULL && !is_xtext(x->env.envid) &&
	    !fuzz_known("outbox-fields"))
		fuzz_dump("envid (not xtext)", x->env.envid,
		    strlen(x->env.envid), 200);
	FUZZ_CHECK("outbox-fields", x->env.envid == NULL ||
	    is_xtext(x->env.envid));
	FUZZ_CHECK("outbox-fields", x->account == NULL ||
	    !fuzz_has_ctl(x->account));
	FUZZ_ASSERT(memchr(x->error, '\0', sizeof(x->error)) != NULL);
	if (fuzz_has_ctl(x->error) && !fuzz_known("outbox-fields"))
		fuzz_dump("error", x->error, strlen(x->error), 200);
	FUZZ_CHECK("outbox-fields", !fuzz_has_ctl(x->error));

	/* The message as it would be sent: its body is the file's bytes
	 * after the entry text and the header block, never past the end. */
	FUZZ_ASSERT(message_header_bytes(&x->msg, &head) == 0);
	end = lay->start + (off_t)lay->header_bytes + x->msg.body.size;
	if ((x->msg.body.size < 0 || end > (off_t)file_size) &&
	    !fuzz_known("outbox-size"))
		fprintf(stderr, "loaded entry of %zu bytes: the message starts "
		    "at %lld, header-bytes %zu, body %lld bytes (to %lld)\n",
		    file_size, (long long)lay->start, lay->header_bytes,
		    (long long)x->msg.body.size, (long long)end);
	FUZZ_CHECK("outbox-size", x->msg.body.size >= 0);
	FUZZ_CHECK("outbox-size", end <= (off_t)file_size);
	FUZZ_CHECK("outbox-size", message_size(&x->msg) >= 0);
	read_body(&x->msg, &body, file_size);
	if ((off_t)body.len != x->msg.body.size && !fuzz_known("outbox-size"))
		fprintf(stderr, "the body says %lld bytes, %zu could be "
		    "read\n", (long long)x->msg.body.size, body.len);
	FUZZ_CHECK("outbox-size", (off_t)body.len == x->msg.body.size);

	for (i = 0; i < body.len && clean; i++) {
		char c = body.data[i];

		if (c == '\0' || (c == '\r' && (i + 1 == body.len ||
		    body.data[i + 1] != '\n')) || (c == '\n' && (i == 0 ||
		    body.data[i - 1] != '\r'))) {
			clean = false;
			bad = i;
		}
	}
	if (clean && body.len > 0 && (body.len < 2 ||
	    body.data[body.len - 2] != '\r' ||
	    body.data[body.len - 1] != '\n')) {
		clean = false;
		bad = body.len;
	}
	if (!clean && !fuzz_known("outbox-body")) {
		fprintf(stderr, "loaded body: offset %zu\n", bad);
		fuzz_dump("body", body.data + (bad > 40 ? bad - 40 : 0),
		    body.len - (bad > 40 ? bad - 40 : 0), 120);
	}
	FUZZ_CHECK("outbox-body", clean);

	/* The facts, over the header block and the body. */
	{
		const struct buf *parts[2] = { &head, &body };
		int k;

		for (k = 0; k < 2; k++) {
			const char *p = parts[k]->data ? parts[k]->data : "";
			size_t n = parts[k]->len;

			for (i = 0, start = 0; i < n; i++) {
				if ((unsigned char)p[i] >= 0x80)
					eight = true;
				if (p[i] == '\n') {
					size_t len = i - start;

					if (len > 0 && p[i - 1] == '\r')
						len--;
					longest = len > longest ? len : longest;
					start = i + 1;
				}
			}
			if (n - start > longest)
				longest = n - start;
		}
	}
	if (((eight && !x->msg.eight_bit) || x->msg.longest_line < longest) &&
	    !fuzz_known("outbox-facts"))
		fprintf(stderr, "stored facts: eight-bit %s, longest-line %zu; "
		    "the message: %s, %zu\n", x->msg.eight_bit ? "yes" : "no",
		    x->msg.longest_line, eight ? "8-bit" : "7-bit", longest);
	FUZZ_CHECK("outbox-facts", !eight || x->msg.eight_bit);
	FUZZ_CHECK("outbox-facts", x->msg.longest_line >= longest);
	buf_free(&head);
	buf_free(&body);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct outbox_entry x;
	struct failure f;
	struct layout lay;
	bool have_layout, header_body;
	int r;

	if (!ready) {
		setup();
		ready = true;
	}
	write_entry(data, size);
	have_layout = layout_of(data, size, &lay);
	header_body = have_layout && header_block_has_body(data, size, &lay);
	if (header_body && fuzz_known("outbox-leak")) {
		/* Tolerated: not loaded, or each such input would leak 256 KiB
		 * and a long run end out of memory. */
		fuzz_violation("outbox-leak", __FILE__, __LINE__, "the header "
		    "block holds body bytes: not loaded");
		return 0;
	}
	memset(&f, 0, sizeof(f));
	if (outbox_load_at != NULL)
		r = outbox_load_at(dirfd, ID, &x, geteuid(), &f);
	else
		r = outbox_load(dir, ID, &x, &f);
	/* 1: locked by someone else or gone; neither can be here. */
	FUZZ_ASSERT(r == 0 || r == -1);
	if (r == -1)
		check_failure(&f);
	else {
		FUZZ_ASSERT(!failed(&f));
		FUZZ_ASSERT(strcmp(x.id, ID) == 0);
		FUZZ_ASSERT(have_layout);
		if (header_body && !fuzz_known("outbox-header-block"))
			fprintf(stderr, "loaded entry: its header block holds "
			    "bytes the reader takes for body; they are lost\n");
		FUZZ_CHECK("outbox-header-block", !header_body);
		check_loaded(&x, &lay, size);
	}
	outbox_entry_free(&x);
	return 0;
}
