/* SPDX-License-Identifier: ISC */
/*
 * -bs: smtpstdio_serve() reading the input as the client's bytes (a memfd)
 * and writing its replies to another memfd, which is then checked.
 *
 * Each message accepted is relayed through run_message(), the real
 * pipeline: configuration, reader, envelope, then the session. So that no
 * network is touched, the configuration (a private file; the system file
 * and the user's home are pointed into $TMPDIR by LLVMFuzzerInitialize)
 * says `auth on` with a user and no password: secret_obtain() fails before
 * any connection, and `outbox off` keeps nothing. SMTPSEND_FUZZ_BS_CONNECT=1
 * instead relays to 127.0.0.1 on a port bound here and never listened on,
 * so each relay is refused at once (connection refused, 451) and the
 * session's start is exercised too. SMTPSEND_FUZZ_BS_SHOW=1 prints the
 * replies (with run.sh repro).
 *
 * Invariants (names for SMTPSEND_FUZZ_KNOWN, see fuzz_common.h):
 *   bs-reply     every line written is "NNN" + " " or "-" + text + CRLF,
 *                the code 200..599, no other CR or LF, no control
 *                character; a multi-line reply keeps its code and ends
 *                with a " " line; the output ends with a complete reply
 *   bs-length    no reply line is over 512 octets, CRLF included (RFC 5321
 *                4.5.3.1.5)
 *   bs-sequence  the greeting is 220; then one reply per command line, in
 *                order (a line without its end gets none); after a 354 the
 *                data lines up to "." CRLF, then one reply; 354 only to
 *                DATA; nothing after the 221 of QUIT
 *   bs-dot-nul   only "." CRLF ends the data: not a line of "." and a NUL
 *                (then anything) before its CRLF, after which the rest of
 *                the message would be read as commands
 *   bs-result    smtpstdio_serve() fails (65, one-line text) exactly when
 *                the input ends inside DATA
 */
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "args.h"
#include "buf.h"
#include "config.h"
#include "smtpstdio.h"
#include "status.h"
#include "fuzz_common.h"

static char base[4096], config_path[4200], system_path[4200];
static struct options opts;

static int
rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	remove(path);		/* best effort */
	return 0;
}

static void
cleanup(void)
{
	if (base[0] != '\0')
		nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void
make_dir(const char *fmt, const char *env)
{
	char path[4300];

	snprintf(path, sizeof(path), fmt, base);
	if (mkdir(path, 0700) == -1 && errno != EEXIST) {
		perror(path);
		abort();
	}
	if (env != NULL)
		setenv(env, path, 1);
}

/* 127.0.0.1 and a port bound (so no one else gets it) but not listened
 * on: a connection is refused at once. */
static int
refusing_port(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int s;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(s, (struct sockaddr *)&a, sizeof(a)) == -1 ||
	    getsockname(s, (struct sockaddr *)&a, &len) == -1) {
		perror("fuzz_bs: a port");
		abort();
	}
	return ntohs(a.sin_port);	/* s stays open for the whole run */
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR"), *connect = getenv(
	    "SMTPSEND_FUZZ_BS_CONNECT");
	char path[4300];
	FILE *fp;
	int fd;

	(void)argc;
	(void)argv;
	if (tmp == NULL || *tmp != '/')
		tmp = "/tmp";
	snprintf(base, sizeof(base), "%s/fuzz_bs.XXXXXX", tmp);
	if (mkdtemp(base) == NULL || chmod(base, 0700) == -1) {
		perror("fuzz_bs: setup");
		abort();
	}
	atexit(cleanup);
	/* Nothing of the real user's: home, configuration, state. */
	make_dir("%s/home", "HOME");
	make_dir("%s/home/.config", "XDG_CONFIG_HOME");
	unsetenv("EMAIL");
	/* The default outbox (used only if the configuration were not read)
	 * cannot be made: its parent is a file. */
	snprintf(path, sizeof(path), "%s/state", base);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600)) == -1) {
		perror(path);
		abort();
	}
	close(fd);
	setenv("XDG_STATE_HOME", path, 1);
	snprintf(system_path, sizeof(system_path), "%s/smtpsend.conf.absent",
	    base);
	config_system_path = system_path;

	snprintf(config_path, sizeof(config_path), "%s/config", base);
	if ((fd = open(config_path, O_WRONLY | O_CREAT | O_EXCL, 0600)) == -1 ||
	    (fp = fdopen(fd, "w")) == NULL) {
		perror(config_path);
		abort();
	}
	if (connect != NULL && strcmp(connect, "1") == 0)
		fprintf(fp, "defaults\nhost 127.0.0.1\nport %d\ntls off\n"
		    "auth off\ntimeout 2\n", refusing_port());
	else
		fprintf(fp, "defaults\nhost 127.0.0.1\nport 9\ntls off\n"
		    "auth on\nuser fuzz\ntimeout 1\n");
	fprintf(fp, "outbox off\nsyslog off\nset_msgid_header auto\n");
	if (fclose(fp) != 0) {
		perror(config_path);
		abort();
	}

	memset(&opts, 0, sizeof(opts));
	opts.mode = MODE_SMTP_STDIO;
	opts.config_file = config_path;
	return 0;
}

static int
memfd_with(const char *name, const uint8_t *data, size_t size)
{
	int fd = memfd_create(name, MFD_CLOEXEC);

	if (fd == -1 || (size > 0 && write(fd, data, size) != (ssize_t)size) ||
	    lseek(fd, 0, SEEK_SET) == -1) {
		perror("fuzz_bs: memfd");
		abort();
	}
	return fd;
}

/* ---- the checks ----------------------------------------------------- */

struct reply {
	int	code;
	size_t	lines;
};

/* Split the output into replies; checks bs-reply and bs-length. */
FUZZ_NOCOV static size_t
parse_replies(const char *p, size_t n, struct reply **out)
{
	struct reply *v = NULL;
	size_t nv = 0, pos = 0;
	bool open = false;

	while (pos < n) {
		const char *lf = memchr(p + pos, '\n', n - pos);
		size_t len = lf ? (size_t)(lf - (p + pos)) + 1 : n - pos, i;
		const char *l = p + pos;
		bool ok = lf != NULL && len >= 6 && l[len - 2] == '\r' &&
		    l[0] >= '2' && l[0] <= '5' && isdigit((unsigned char)l[1])
		    && isdigit((unsigned char)l[2]) && (l[3] == ' ' ||
		    l[3] == '-');
		int code;

		for (i = 4; ok && i < len - 2; i++)
			if ((unsigned char)l[i] < 0x20 ||
			    (unsigned char)l[i] == 0x7f)
				ok = false;
		if (!ok && !fuzz_known("bs-reply")) {
			fprintf(stderr, "reply line at offset %zu\n", pos);
			fuzz_dump("line", l, len, 200);
		}
		FUZZ_CHECK("bs-reply", ok);
		if (len > 512 && !fuzz_known("bs-length"))
			fuzz_dump("reply line over 512 octets", l, len, 200);
		FUZZ_CHECK("bs-length", len <= 512);
		pos += len;
		if (!ok)
			continue;
		code = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
		if (open) {
			FUZZ_CHECK("bs-reply", v[nv - 1].code == code);
			v[nv - 1].lines++;
		} else {
			v = realloc(v, (nv + 1) * sizeof(*v));
			FUZZ_ASSERT(v != NULL);
			v[nv].code = code;
			v[nv].lines = 1;
			nv++;
		}
		open = l[3] == '-';
	}
	FUZZ_CHECK("bs-reply", !open);
	*out = v;
	return nv;
}

/* The next input line [*pos, ...): false at the end; *ended when it has
 * its LF (the last one may not). */
FUZZ_NOCOV static bool
next_line(const char *p, size_t n, size_t *pos, const char **l, size_t *len,
    bool *ended)
{
	const char *lf;

	if (*pos >= n)
		return false;
	*l = p + *pos;
	lf = memchr(*l, '\n', n - *pos);
	*len = lf ? (size_t)(lf - *l) : n - *pos;
	*ended = lf != NULL;
	*pos += *len + (lf ? 1 : 0);
	return true;
}

FUZZ_NOCOV static bool
verb_is(const char *l, size_t len, const char *verb)
{
	size_t k = strlen(verb);

	return len >= k && strncasecmp(l, verb, k) == 0 && (len == k ||
	    l[k] == ' ' || (l[k] == '\r' && len == k + 1));
}

/*
 * Walk the input as smtpstdio.c reads it, replies in hand: one per command
 * line; data lines after a 354, up to "." CRLF. With `nul_dot`, a data
 * line of "." then a NUL (and anything) before its CRLF ends the data too,
 * as read_data() takes it today (strcmp on the line: see bs-dot-nul).
 * Returns NULL when the replies fit, else what does not; *eof_in_data
 * says whether the input ended inside DATA.
 */
FUZZ_NOCOV static const char *
walk(const char *in, size_t n, const struct reply *r, size_t nr, bool nul_dot,
    bool *eof_in_data, size_t *where)
{
	size_t pos = 0, k, len;
	const char *l;
	bool ended, in_data = false;

	*eof_in_data = false;
	*where = 0;
	if (nr < 1 || r[0].code != 220)
		return "the greeting is not 220";
	k = 1;
	while (next_line(in, n, &pos, &l, &len, &ended)) {
		*where = (size_t)(l - in);
		if (in_data) {
			if (!ended)
				break;		/* EOF inside DATA */
			if ((len == 2 && l[0] == '.' && l[1] == '\r') ||
			    (nul_dot && len >= 3 && l[0] == '.' &&
			    l[1] == '\0' && l[len - 1] == '\r')) {
				in_data = false;
				if (k >= nr)
					return "no reply to the end of data";
				if (r[k].code == 354)
					return "354 to the end of data";
				k++;
			}
			continue;
		}
		if (!ended)
			break;		/* a last line without its end: no reply */
		if (k >= nr)
			return "no reply to a command line";
		if (r[k].code == 354) {
			if (!verb_is(l, len, "DATA"))
				return "354 to a command that is not DATA";
			in_data = true;
		}
		if (r[k].code == 221) {
			if (!verb_is(l, len, "QUIT"))
				return "221 to a command that is not QUIT";
			k++;
			break;
		}
		k++;
	}
	*where = n;
	*eof_in_data = in_data;
	return k == nr ? NULL : in_data ? "replies after the input ended "
	    "inside DATA" : "more replies than command lines";
}

/* The sequence as RFC 5321 has it; if it does not fit but fits with
 * ".<NUL>..." ending the data, that is bs-dot-nul. */
FUZZ_NOCOV static bool
check_sequence(const char *in, size_t n, const struct reply *r, size_t nr)
{
	const char *why;
	size_t where, where2;
	bool eof, eof2;

	if ((why = walk(in, n, r, nr, false, &eof, &where)) == NULL)
		return eof;
	if (walk(in, n, r, nr, true, &eof2, &where2) == NULL) {
		if (!fuzz_known("bs-dot-nul"))
			fprintf(stderr, "a data line \".\" + NUL + ... + CRLF "
			    "ended DATA; what follows was read as commands\n");
		FUZZ_CHECK("bs-dot-nul", false);
		return eof2;
	}
	if (!fuzz_known("bs-sequence")) {
		fprintf(stderr, "replies do not fit the input: %s, input "
		    "offset %zu\n", why, where);
		fuzz_dump("input from there", in + where, n - where, 200);
	}
	FUZZ_CHECK("bs-sequence", false);
	return eof;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct failure f;
	struct buf out = BUF_INIT;
	struct reply *replies = NULL;
	size_t nreplies;
	char chunk[16384];
	FILE *saved;
	ssize_t n;
	int in, outfd, r;
	bool eof_in_data;

	in = memfd_with("fuzz_bs.in", data, size);
	outfd = memfd_with("fuzz_bs.out", NULL, 0);
	memset(&f, 0, sizeof(f));
	saved = fuzz_quiet_begin();	/* "smtpsend: ..." after each relay */
	r = smtpstdio_serve(&opts, in, outfd, &f);
	fuzz_quiet_end(saved);
	FUZZ_ASSERT(r == 0 || r == -1);
	FUZZ_ASSERT(lseek(outfd, 0, SEEK_SET) == 0);
	while ((n = read(outfd, chunk, sizeof(chunk))) > 0)
		FUZZ_ASSERT(buf_add(&out, chunk, (size_t)n) == 0);
	FUZZ_ASSERT(n == 0);
	close(in);
	close(outfd);

	if (getenv("SMTPSEND_FUZZ_BS_SHOW") != NULL)
		fprintf(stderr, "fuzz_bs: smtpstdio_serve returned %d (%s); "
		    "replies:\n%.*s", r, f.text, (int)out.len,
		    out.data ? out.data : "");
	nreplies = parse_replies(out.data ? out.data : "", out.len, &replies);
	eof_in_data = check_sequence((const char *)data, size, replies,
	    nreplies);
	if (r == -1)
		FUZZ_CHECK("bs-result", failed(&f) && f.text[0] != '\0' &&
		    strchr(f.text, '\n') == NULL && status_exit(&f) == 65);
	if ((r == -1) != eof_in_data && !fuzz_known("bs-result"))
		fprintf(stderr, "smtpstdio_serve returned %d (%s), the input "
		    "%s inside DATA\n", r, f.text, eof_in_data ? "ended" :
		    "did not end");
	FUZZ_CHECK("bs-result", (r == -1) == eof_in_data);
	free(replies);
	buf_free(&out);
	return 0;
}
