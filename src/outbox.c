/* SPDX-License-Identifier: ISC */
/*
 * The outbox (CONTRACT section 7): saving a message after a failure,
 * loading an entry for -q, recording an attempt. The entry's format is
 * outbox_entry.c, the directory outbox_dir.c, the listing outbox_list.c.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "args.h"
#include "fdio.h"
#include "outbox_entry.h"

enum outbox_state
outbox_state_of(const struct failure *f)
{
	if (f->cause == CAUSE_POSSIBLY_SENT)
		return OUTBOX_POSSIBLY_DELIVERED;
	return status_temporary(f) ? OUTBOX_TEMPORARY : OUTBOX_PERMANENT;
}

/* The message bytes as they would be sent. */
static int
write_message(int fd, const struct message *m)
{
	struct buf head = BUF_INIT;
	char chunk[65536];
	off_t off = 0;
	ssize_t n;
	int r = -1;

	if (message_header_bytes(m, &head) == -1 ||
	    write_all(fd, head.data, head.len) == -1)
		goto out;
	while ((n = spool_read(&m->body, off, chunk, sizeof(chunk))) > 0) {
		if (write_all(fd, chunk, (size_t)n) == -1)
			goto out;
		off += n;
	}
	r = n == 0 ? 0 : -1;
out:
	buf_free(&head);
	return r;
}

/*
 * A new temporary file under a name nobody can guess: one that a crash
 * left behind (tidied only after a day) never blocks a save or the update
 * of an entry (the review's M3).
 */
static int
open_temporary(int dirfd, const char *id, char *tmp, size_t size)
{
	int fd = -1, tries;

	for (tries = 0; fd == -1 && tries < 4; tries++) {
		snprintf(tmp, size, ".tmp-%s-%08x", id, arc4random());
		fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd == -1 && errno != EEXIST)
			break;
	}
	return fd;
}

/*
 * Durably: a new file (never through a planted symlink), written in full,
 * fsynced, renamed into place, and the directory fsynced.
 */
static int
write_entry(int dirfd, const char *id, const struct buf *header,
    const struct message *m)
{
	char tmp[96];
	int fd, saved;

	if ((fd = open_temporary(dirfd, id, tmp, sizeof(tmp))) == -1)
		return -1;
	if (write_all(fd, header->data, header->len) == -1 ||
	    write_message(fd, m) == -1 || fsync(fd) == -1)
		goto fail;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	if (renameat(dirfd, tmp, dirfd, id) == -1) {
		fd = -1;
		goto fail;
	}
	/* A user writing into the maildrop holds it O_PATH (it may not read
	 * it): the kernel will not fsync that. The entry itself is synced. */
	if (fsync(dirfd) == -1 && errno != EBADF)
		return -1;
	return 0;
fail:
	saved = errno;
	if (fd != -1)
		close(fd);
	unlinkat(dirfd, tmp, 0);
	errno = saved;
	return -1;
}

static void
new_id(char *id, size_t size)
{
	time_t now = time(NULL);
	struct tm tm;
	char stamp[32];

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	snprintf(id, size, "%s-%08x", stamp, arc4random());
}

/* An id as new_id() makes them (the maildrop's names are anyone's):
 * letters, digits and '-', never first, and short. */
static bool
id_as_made(const char *id)
{
	size_t n = strspn(id, "0123456789abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ-");

	return n > 0 && id[n] == '\0' && n < 64 && id[0] != '-';
}

static int
save_entry_at(int dirfd, const struct outbox_origin *from,
    const struct envelope *env, char *const *rcpts, int nrcpts,
    const struct message *m, const struct failure *why, char *id,
    size_t idsize)
{
	struct outbox_entry x;
	struct buf header = BUF_INIT;
	int r = -1;

	memset(&x, 0, sizeof(x));
	/* An entry moved from the maildrop keeps the id its sender was
	 * told, unless this directory has one so named. */
	if (from->id != NULL && id_as_made(from->id) &&
	    faccessat(dirfd, from->id, F_OK, AT_SYMLINK_NOFOLLOW) == -1 &&
	    errno == ENOENT)
		strlcpy(x.id, from->id, sizeof(x.id));
	else
		new_id(x.id, sizeof(x.id));
	x.account = (char *)from->account;
	x.config = (char *)from->config;
	if (env == NULL)
		outbox_args_from(&x.args, from->args);
	x.created = x.last_attempt = time(NULL);
	x.attempts = why->stage >= STAGE_CONNECT ? 1 : 0;
	x.state = outbox_state_of(why);
	x.exit_status = status_exit(why);
	strlcpy(x.error, why->text, sizeof(x.error));
	if (outbox_entry_format(&header, &x, env, rcpts, nrcpts, m) == 0 &&
	    write_entry(dirfd, x.id, &header, m) == 0)
		r = 0;
	strlcpy(id, x.id, idsize);
	buf_free(&header);
	return r;
}

int
outbox_save_at(int dirfd, const char *account,
    const struct envelope *env, char *const *rcpts, int nrcpts,
    const struct message *m, const struct failure *why, char *id,
    size_t idsize)
{
	struct outbox_origin from = { account, NULL, NULL, NULL };

	return save_entry_at(dirfd, &from, env, rcpts, nrcpts, m, why, id,
	    idsize);
}

int
outbox_save_origin_at(int dirfd, const struct outbox_origin *from,
    const struct envelope *env, const struct message *m,
    const struct failure *why, char *id, size_t idsize)
{
	const struct options *o = from->args;

	return save_entry_at(dirfd, from, env, o ? o->recipients : NULL,
	    o ? o->nrecipients : 0, m, why, id, idsize);
}

int
outbox_save(const char *dir, const struct outbox_origin *from,
    const struct envelope *env, const struct message *m,
    const struct failure *why, struct kept *k)
{
	char reason[4300];
	int dirfd, r;

	k->id[0] = '\0';
	if (dir == NULL) {
		strlcpy(k->note, "message NOT saved: the outbox is off",
		    sizeof(k->note));
		return -1;
	}
	if ((dirfd = outbox_dir_create(dir, reason, sizeof(reason))) == -1) {
		snprintf(k->note, sizeof(k->note), "message NOT saved: %s",
		    reason);
		return -1;
	}
	r = outbox_save_origin_at(dirfd, from, env, m, why, k->id,
	    sizeof(k->id));
	if (r == -1) {
		snprintf(k->note, sizeof(k->note), "message NOT saved in %s: "
		    "%s", dir, strerror(errno));
		k->id[0] = '\0';
	} else
		snprintf(k->note, sizeof(k->note), "message kept in the outbox "
		    "as %s/%s", dir, k->id);
	close(dirfd);
	return r;
}

/*
 * Only a regular file with one link, owned by `owner` ((uid_t)-1: anyone,
 * noted in x->owner), whose length is exactly what its header says.
 * O_NONBLOCK: a planted FIFO is damaged, not a hang.
 */
static int
open_entry(int dirfd, struct outbox_entry *x, uid_t owner, bool lock,
    struct stat *st, const char **why)
{
	if ((x->fd = openat(dirfd, x->id, O_RDWR | O_NOFOLLOW | O_NONBLOCK |
	    O_NOCTTY | O_CLOEXEC)) == -1) {
		*why = strerror(errno);
		return errno == ENOENT ? 1 : -1;
	}
	if (fstat(x->fd, st) == -1 || !S_ISREG(st->st_mode))
		return *why = "not a regular file", -1;
	if (st->st_nlink > 1)
		return *why = "more than one link", -1;
	if (owner != (uid_t)-1 && st->st_uid != owner)
		return *why = "owned by another user", -1;
	x->owner = st->st_uid;
	if (!lock)
		return 0;
	/* Another -q has it, or delivered and removed it meanwhile. */
	if (flock(x->fd, LOCK_EX | LOCK_NB) == -1 || fstat(x->fd, st) == -1 ||
	    st->st_nlink == 0)
		return 1;
	return 0;
}

/* The entry open at x->fd, of `length` bytes, read and checked. */
static int
parse_open(struct outbox_entry *x, off_t length, int r, const char *why,
    struct failure *f)
{
	struct entry_layout l = { 0, 0, 0 };

	if (r == 0 && outbox_entry_parse_header(x->fd, x, &l) == -1) {
		why = "its header is malformed";
		r = -1;
	} else if (r == 0 && length != l.start + l.size) {
		why = "its length does not match its header";
		r = -1;
	}
	if (r == -1) {
		fail(f, STAGE_NONE, CAUSE_DATAERR, 0, "outbox entry %s is "
		    "damaged (%s); it is left for you to look at", x->id, why);
		outbox_entry_free(x);
		return -1;
	}
	if (outbox_entry_parse_message(x->fd, x, &l, f) == -1) {
		outbox_entry_free(x);
		return -1;
	}
	return 0;
}

int
outbox_load_fd(int fd, const char *id, struct outbox_entry *x,
    struct failure *f)
{
	struct stat st;

	outbox_entry_init(x, id);
	x->fd = fd;
	if (fstat(fd, &st) == -1)
		return parse_open(x, 0, -1, strerror(errno), f);
	return parse_open(x, st.st_size, 0, NULL, f);
}

static int
load_at(int dirfd, const char *id, struct outbox_entry *x, uid_t owner,
    bool lock, struct failure *f)
{
	const char *why = NULL;
	struct stat st;
	int r;

	outbox_entry_init(x, id);
	if ((r = open_entry(dirfd, x, owner, lock, &st, &why)) == 1) {
		if (x->fd != -1)
			close(x->fd);
		x->fd = -1;
		return 1;
	}
	return parse_open(x, r == 0 ? st.st_size : 0, r, why, f);
}

int
outbox_load_at(int dirfd, const char *id, struct outbox_entry *x,
    uid_t owner, struct failure *f)
{
	return load_at(dirfd, id, x, owner, true, f);
}

int
outbox_peek_at(int dirfd, const char *id, struct outbox_entry *x,
    uid_t owner, struct failure *f)
{
	return load_at(dirfd, id, x, owner, false, f);
}

int
outbox_update_at(int dirfd, struct outbox_entry *x, const struct failure *why)
{
	struct buf header = BUF_INIT;
	int r = -1;

	x->attempts++;
	x->last_attempt = time(NULL);
	x->state = outbox_state_of(why);
	x->exit_status = status_exit(why);
	strlcpy(x->error, why->text, sizeof(x->error));
	if (outbox_entry_format(&header, x, &x->env, NULL, 0, &x->msg) == 0 &&
	    write_entry(dirfd, x->id, &header, &x->msg) == 0)
		r = 0;
	buf_free(&header);
	return r;
}

/*
 * After a partial delivery whose entry could not be rewritten: the entry
 * made `permanent` in place, its state line overwritten with one of the
 * same length (the unknown field "held" fills the rest), so that -q never
 * sends it again to the recipients who got it. 1: the rewrite was renamed
 * into place after all (only the directory's fsync failed).
 */
int
outbox_hold_at(int dirfd, struct outbox_entry *x)
{
	static const char *const was[] = { "\nstate: permanent\n",
	    "\nstate: temporary\n", "\nstate: possibly-delivered\n" };
	static const char *const now[] = { "\nstate: permanent\n",
	    "\nstate: permanent\n", "\nstate: permanent\nheld: on\n" };
	struct stat named, open;
	char head[512], *at;
	ssize_t n;
	size_t i, len;

	if (fstatat(dirfd, x->id, &named, AT_SYMLINK_NOFOLLOW) == 0 &&
	    fstat(x->fd, &open) == 0 && named.st_ino != open.st_ino)
		return 1;
	if ((n = pread(x->fd, head, sizeof(head) - 1, 0)) <= 0)
		return -1;
	head[n] = '\0';
	for (i = 0; i < 3; i++) {
		if ((at = strstr(head, was[i])) == NULL)
			continue;
		len = strlen(now[i]);
		if (pwrite(x->fd, now[i], len, at - head) != (ssize_t)len ||
		    fsync(x->fd) == -1)
			return -1;
		x->state = OUTBOX_PERMANENT;
		return 0;
	}
	errno = EINVAL;
	return -1;
}

#define BACKOFF_FIRST	300		/* 5 minutes, doubling */
#define BACKOFF_MAX	(4 * 3600)

time_t
outbox_next_try(const struct outbox_entry *x)
{
	long wait = BACKOFF_FIRST;
	int n = x->attempts;

	if (n <= 0)
		return x->last_attempt;
	while (--n > 0 && wait < BACKOFF_MAX)
		wait *= 2;
	return x->last_attempt + (wait < BACKOFF_MAX ? wait : BACKOFF_MAX);
}
