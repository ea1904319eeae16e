/* SPDX-License-Identifier: ISC */
/*
 * Root's maildrop pickup (CONTRACT sections 7 and 8): the input is a
 * user's maildrop entry, written into a private maildrop directory of
 * ours, then picked up as root's -q does (maildrop_pick_at, with a system
 * file of the harness's own, config_system_path pointed at it) into a
 * private outbox. Root's decision is the output.
 *
 * Seeds are maildrop entries as a user's smtpsend writes them, and hostile
 * ones (no envelope, numbers out of range, many recipients).
 *
 * Invariants (names for SMTPSEND_FUZZ_KNOWN, see fuzz_common.h):
 *   pickup-decided  the entry is decided: gone from its name, and either
 *                  set aside (one .damaged- file in the maildrop, nothing
 *                  in the outbox) or picked up (one entry in the outbox,
 *                  nothing set aside); never left to be read again
 *   pickup-sendable an entry in root's outbox is one -q can send: the
 *                  outbox's reader accepts it, with a sender (an address
 *                  addr_check() accepts, or <>) and 1 to RECIPIENTS_MAX
 *                  recipients, each accepted, state temporary
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "config.h"
#include "envelope.h"
#include "maildrop.h"
#include "outbox.h"
#include "status.h"
#include "fuzz_common.h"

#define ID	"20261201T000000Z-00000001"

static char top[4096], drop[4200], box[4200], conf[4200];
static int dropfd = -1, boxfd = -1;
static struct config sys;

/* The names in a directory (up to max), and how many there are. */
FUZZ_NOCOV static int
list_dir(const char *dir, char names[][64], int max)
{
	struct dirent *d;
	DIR *dp = opendir(dir);
	int n = 0;

	FUZZ_ASSERT(dp != NULL);
	while ((d = readdir(dp)) != NULL) {
		if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
			continue;
		if (n < max)
			snprintf(names[n], 64, "%s", d->d_name);
		n++;
	}
	closedir(dp);
	return n;
}

/* Everything in it removed, for the next input. */
FUZZ_NOCOV static void
empty_dir(const char *dir, int dirfd)
{
	char names[64][64];
	int n, i;

	while ((n = list_dir(dir, names, 64)) > 0)
		for (i = 0; i < n && i < 64; i++)
			if (unlinkat(dirfd, names[i], 0) == -1 &&
			    errno == EISDIR)
				FUZZ_ASSERT(unlinkat(dirfd, names[i],
				    AT_REMOVEDIR) == 0);
}

static void
cleanup(void)
{
	if (dropfd != -1)
		empty_dir(drop, dropfd);
	if (boxfd != -1)
		empty_dir(box, boxfd);
	unlink(conf);
	rmdir(drop);
	rmdir(box);
	rmdir(top);
}

static void
setup(void)
{
	const char *tmp = getenv("TMPDIR");
	struct failure f;
	FILE *fp;

	if (tmp == NULL || *tmp != '/')
		tmp = "/tmp";
	snprintf(top, sizeof(top), "%s/fuzz_pickup.XXXXXX", tmp);
	FUZZ_ASSERT(mkdtemp(top) != NULL && chmod(top, 0700) == 0);
	snprintf(drop, sizeof(drop), "%s/maildrop", top);
	snprintf(box, sizeof(box), "%s/outbox", top);
	snprintf(conf, sizeof(conf), "%s/smtpsend.conf", top);
	FUZZ_ASSERT(mkdir(drop, 0700) == 0 && mkdir(box, 0700) == 0);
	dropfd = open(drop, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	boxfd = open(box, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	FUZZ_ASSERT(dropfd != -1 && boxfd != -1);
	atexit(cleanup);
	/* The system file: what root's pickup reads, here the harness's. */
	FUZZ_ASSERT((fp = fopen(conf, "w")) != NULL);
	fputs("defaults\nsyslog off\nhost 127.0.0.1\nport 1\ntls off\n"
	    "maildomain example.org\naccount other\nhost 127.0.0.1\n"
	    "from *@example.org\nallow_from_override off\n"
	    "account default : other\n", fp);
	FUZZ_ASSERT(fclose(fp) == 0 && chmod(conf, 0600) == 0);
	config_system_path = conf;
	memset(&f, 0, sizeof(f));
	FUZZ_ASSERT(config_load_system(&sys, stderr, &f) == 0);
}

FUZZ_NOCOV static void
write_entry(const uint8_t *data, size_t size)
{
	int fd = openat(dropfd, ID, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600);

	FUZZ_ASSERT(fd != -1);
	FUZZ_ASSERT(size == 0 || write(fd, data, size) == (ssize_t)size);
	close(fd);
}

/*
 * A copy of a permanent failure stays a person's (CONTRACT 6): permanent in
 * root's outbox too, and only when the user's entry said so.
 */
FUZZ_NOCOV static bool
said_permanent(const uint8_t *data, size_t size)
{
	static const char line[] = "\nstate: permanent\n";

	return memmem(data, size, line, sizeof(line) - 1) != NULL;
}

FUZZ_NOCOV static void
check_sendable(const char *id, bool permanent)
{
	struct outbox_entry x;
	struct failure f;
	char why[160];
	size_t i;
	bool ok;

	memset(&f, 0, sizeof(f));
	ok = outbox_load_at(boxfd, id, &x, geteuid(), &f) == 0;
	if (!ok)
		fprintf(stderr, "root's entry: %s\n", f.text);
	FUZZ_CHECK("pickup-sendable", ok);
	if (!ok)
		return;
	FUZZ_CHECK("pickup-sendable", x.state == OUTBOX_TEMPORARY ||
	    (permanent && x.state == OUTBOX_PERMANENT));
	FUZZ_CHECK("pickup-sendable", x.env.sender != NULL &&
	    (*x.env.sender == '\0' ||
	    addr_check(x.env.sender, why, sizeof(why)) == 0));
	FUZZ_CHECK("pickup-sendable", x.env.rcpts.n >= 1 &&
	    x.env.rcpts.n <= RECIPIENTS_MAX);
	for (i = 0; i < x.env.rcpts.n; i++)
		FUZZ_CHECK("pickup-sendable", addr_check(x.env.rcpts.v[i].spec,
		    why, sizeof(why)) == 0);
	outbox_entry_free(&x);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	char aside[4][64], kept[4][64];
	int naside, nkept, i;
	bool gone;
	FILE *saved;

	if (!ready) {
		setup();
		ready = true;
	}
	write_entry(data, size);
	saved = fuzz_quiet_begin();
	(void)maildrop_pick_at(&sys, dropfd, boxfd, ID);
	fuzz_quiet_end(saved);
	gone = faccessat(dropfd, ID, F_OK, AT_SYMLINK_NOFOLLOW) == -1;
	nkept = list_dir(box, kept, 4);
	naside = list_dir(drop, aside, 4);
	for (i = 0; i < nkept && i < 4; i++)
		check_sendable(kept[i], said_permanent(data, size));
	empty_dir(box, boxfd);
	empty_dir(drop, dropfd);
	FUZZ_CHECK("pickup-decided", gone);
	FUZZ_CHECK("pickup-decided", (nkept == 1 && naside == 0) ||
	    (nkept == 0 && naside == 1 &&
	    strncmp(aside[0], ".damaged-", 9) == 0));
	return 0;
}
