/* SPDX-License-Identifier: ISC */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "fdio.h"
#include "hostname.h"
#include "maildrop.h"
#include "outbox.h"
#include "spool.h"

/* The whole file: the message's limit and the text before it (10,000
 * recipients take under 3 MiB). Read no further. */
#define MAILDROP_FILE_MAX	(MAILDROP_MAX + 4 * 1024 * 1024)

#define MAILDROP_MODE	(S_ISVTX | S_IRWXU | S_IWGRP | S_IXGRP | S_IWOTH | \
	S_IXOTH)			/* 1733 */

/* Root's, 1733, not a symlink: anything else is refused, never used. */
static int
open_checked(struct failure *f)
{
	struct stat st;
	int fd;

	fd = open(MAILDROP_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	/* Users may not list it (1733): a path to create entries in. */
	if (fd == -1 && errno == EACCES)
		fd = open(MAILDROP_DIR, O_PATH | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
	if (fd == -1) {
		if (errno != ENOENT && errno != EACCES)
			fail_errno(f, CAUSE_CONFIG, "maildrop %s", MAILDROP_DIR);
		return -1;
	}
	if (fstat(fd, &st) == -1 || st.st_uid != 0 ||
	    (st.st_mode & 07777) != MAILDROP_MODE) {
		close(fd);
		fail(f, STAGE_NONE, CAUSE_CONFIG, 0, "the maildrop %s must be "
		    "root's with mode 1733 (make install-sendmail creates it); "
		    "not used", MAILDROP_DIR);
		errno = EPERM;
		return -1;
	}
	return fd;
}

int
maildrop_open(struct failure *f)
{
	return open_checked(f);
}

int
maildrop_save(const char *account, const struct envelope *env,
    const struct message *m, const struct failure *why, struct kept *k)
{
	struct failure check = { 0 };
	int fd, r;

	k->id[0] = '\0';
	if ((fd = open_checked(&check)) == -1) {
		snprintf(k->note, sizeof(k->note), "message NOT saved: %s",
		    failed(&check) ? check.text : "there is no system maildrop "
		    MAILDROP_DIR);
		return -1;
	}
	/* Root uses the account only if the system file has one so named. */
	r = outbox_save_at(fd, account, env, NULL, 0, m, why, k->id,
	    sizeof(k->id));
	if (r == -1) {
		snprintf(k->note, sizeof(k->note), "message NOT saved in the "
		    "maildrop %s: %s", MAILDROP_DIR, strerror(errno));
		k->id[0] = '\0';
	} else {
		snprintf(k->note, sizeof(k->note), "message left in the system "
		    "maildrop as %s; root's periodic smtpsend -q sends it",
		    k->id);
		maildrop_index_add(fd, k->id);	/* for the user's mailq */
	}
	close(fd);
	return r;
}

/* Postfix's pickup records the submitting user the same way. */
static int
add_received(struct outbox_entry *x)
{
	struct passwd *pw = getpwuid(x->owner);
	char value[512], date[64];
	time_t now = time(NULL);
	struct tm tm;

	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
	snprintf(value, sizeof(value), "by %s (smtpsend maildrop, from userid "
	    "%lu%s%s%s);\r\n\t%s", host_name_or_localhost(), (unsigned long)x->owner,
	    pw != NULL ? " (" : "", pw != NULL ? pw->pw_name : "",
	    pw != NULL ? ")" : "", date);
	return header_prepend(&x->msg, "Received", value);
}

/* The submitter's login name, for a sender root chooses. */
static char *
submitter(uid_t uid, struct failure *f)
{
	struct passwd *pw = getpwuid(uid);
	char *name;

	if (pw == NULL) {
		fail(f, STAGE_NONE, CAUSE_DATAERR, 0, "userid %lu has no name "
		    "to send as", (unsigned long)uid);
		return NULL;
	}
	if ((name = strdup(pw->pw_name)) == NULL)
		fail_errno(f, CAUSE_OSERR, "memory");
	return name;
}

/*
 * Never a setting the entry names that the system file does not have: its
 * account if the system file has one of that name, else the default. The
 * envelope sender as that account allows (with allow_from_override off:
 * its from, or for a *@domain pattern the submitter's name qualified, as
 * the direct path ignores -f); local names qualified and aliased with its
 * settings, as if the user had sent it with them.
 */
static const char *
system_account(const struct config *sys, struct outbox_entry *x,
    struct failure *f)
{
	const struct account *a = x->account != NULL ?
	    config_find(sys, x->account) : NULL;
	struct settings s;
	char *sender;

	if (a == NULL && envelope_account(sys, NULL, NULL, &a, f) == -1)
		return NULL;
	if (settings_resolve(&s, a, (char *[KEY_COUNT]){ NULL }, f) == -1)
		return NULL;
	if (s.from != NULL && !s.allow_from_override) {
		sender = strchr(s.from, '*') == NULL ? strdup(s.from) :
		    submitter(x->owner, f);
		if (sender == NULL)
			return failed(f) ? NULL : (fail_errno(f, CAUSE_OSERR,
			    "memory"), NULL);
		free(x->env.sender);
		x->env.sender = sender;
	}
	if (envelope_finish(&x->env, &s, &x->msg, f) == -1)
		return NULL;
	if (x->env.rcpts.n == 0 || x->env.rcpts.n > RECIPIENTS_MAX)
		return fail(f, STAGE_NONE, CAUSE_DATAERR, 0, "entry %s has %zu "
		    "recipients once aliased", x->id, x->env.rcpts.n), NULL;
	return a->name != NULL ? a->name : "";
}

/* Rename, never over an existing name; link(2) where the file system has
 * no RENAME_NOREPLACE. */
static int
rename_new(int fd, const char *from, const char *to)
{
	if (renameat2(fd, from, fd, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL || linkat(fd, from, fd, to, 0) == -1)
		return -1;
	return unlinkat(fd, from, 0);
}

/*
 * A damaged entry is kept for a person, out of the way of the next run:
 * never over a name the user took (a directory .damaged-ID, say), then
 * under a name nobody can guess; an entry that cannot be moved at all is
 * removed rather than read again on every run.
 */
static void
set_aside(int fd, const char *id, const struct failure *why)
{
	char aside[96];
	int tries;

	snprintf(aside, sizeof(aside), ".damaged-%s", id);
	for (tries = 0; rename_new(fd, id, aside) == -1; tries++) {
		if (errno == ENOENT)
			return;
		if (tries == 3) {
			unlinkat(fd, id, 0);
			fprintf(stderr, "smtpsend: maildrop: %s; it cannot be "
			    "set aside (%s), so it is removed\n", why->text,
			    strerror(errno));
			return;
		}
		snprintf(aside, sizeof(aside), ".damaged-%s-%08x", id,
		    arc4random());
	}
	fprintf(stderr, "smtpsend: maildrop: %s; set aside as %s/%s\n",
	    why->text, MAILDROP_DIR, aside);
}

/*
 * The user's entry: a regular file with one link (never followed through
 * a link, never blocking on a FIFO), not over the size limit, locked
 * against another root -q. 1: gone, or another run has it.
 */
static int
open_user_entry(int dirfd, const char *id, int *fd, uid_t *owner,
    struct failure *f)
{
	const char *why = NULL;
	struct stat st;

	*fd = openat(dirfd, id, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
	    O_CLOEXEC);
	if (*fd == -1 && errno == ENOENT)
		return 1;
	if (*fd == -1)
		return fail(f, STAGE_NONE, CAUSE_DATAERR, 0, "entry %s is "
		    "damaged (%s)", id, strerror(errno)), -1;
	if (fstat(*fd, &st) == -1 || !S_ISREG(st.st_mode))
		why = "not a regular file";
	else if (st.st_nlink > 1)
		why = "more than one link";
	else if (st.st_size > MAILDROP_FILE_MAX)
		why = "over the maildrop's size limit";
	else if (flock(*fd, LOCK_EX | LOCK_NB) == -1 || fstat(*fd, &st) == -1 ||
	    st.st_nlink == 0)
		return 1;
	if (why != NULL)
		return fail(f, STAGE_NONE, CAUSE_DATAERR, 0, "entry %s is "
		    "damaged (%s)", id, why), -1;
	*owner = st.st_uid;
	return 0;
}

/* Root's private copy: an unnamed file in root's spool, else in $TMPDIR. */
static int
private_file(int outbox_fd)
{
	int fd = openat(outbox_fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	return fd != -1 ? fd : spool_tmpfile();
}

/*
 * One read of the user's file into root's copy, refused as soon as it
 * passes the limit. What root checks and sends is the copy, never the
 * user's file again: its owner may change that at any moment. The copy's
 * fd, or -1 (f: the entry's fault, or ours).
 */
static int
copy_entry(int src, int outbox_fd, const char *id, struct failure *f)
{
	char chunk[65536];
	off_t total = 0;
	ssize_t n;
	int dst;

	if ((dst = private_file(outbox_fd)) == -1)
		return fail_errno(f, CAUSE_OSERR, "entry %s: a copy", id), -1;
	while ((n = read(src, chunk, sizeof(chunk))) > 0) {
		if ((total += n) > MAILDROP_FILE_MAX) {
			close(dst);
			return fail(f, STAGE_NONE, CAUSE_DATAERR, 0, "entry %s "
			    "is over the maildrop's size limit", id), -1;
		}
		if (write_all(dst, chunk, (size_t)n) == -1)
			break;
	}
	if (n != 0) {
		fail_errno(f, CAUSE_OSERR, "entry %s: copying it", id);
		close(dst);
		return -1;
	}
	return dst;
}

/*
 * A complete message that -q can send, within the limits of the direct
 * path: an entry of the outbox's format (every field checked, as the
 * outbox's are), with a sender and 1 to RECIPIENTS_MAX recipients,
 * whatever its state says. Then made the system file's.
 */
static const char *
check_copy(const struct config *sys, int copy, const char *id, uid_t owner,
    struct outbox_entry *x, struct failure *f)
{
	const char *account;

	if (outbox_load_fd(copy, id, x, f) == -1)
		return NULL;
	x->owner = owner;
	if (x->env.sender == NULL)
		fail(f, STAGE_NONE, CAUSE_DATAERR, 0, "entry %s has no sender",
		    id);
	else if (x->env.rcpts.n == 0 || x->env.rcpts.n > RECIPIENTS_MAX)
		fail(f, STAGE_NONE, CAUSE_DATAERR, 0, "entry %s has %zu "
		    "recipients (1 to %d are sent)", id, x->env.rcpts.n,
		    RECIPIENTS_MAX);
	else if (message_size(&x->msg) > MAILDROP_MAX)
		fail(f, STAGE_NONE, CAUSE_DATAERR, 0, "entry %s is over the "
		    "maildrop's size limit", id);
	else if ((account = system_account(sys, x, f)) == NULL)
		;	/* f says why */
	else if (add_received(x) == -1)
		fail_errno(f, CAUSE_OSERR, "entry %s", id);
	else
		return account;
	outbox_entry_free(x);
	return NULL;
}

/*
 * Root's outbox already holds an entry of this id, a regular file of
 * root's: an earlier run saved its copy and stopped (a crash, a kill)
 * before it removed the user's entry. Taking it again would send it twice.
 */
static bool
moved_before(int outbox_fd, const char *id)
{
	struct stat st;

	return fstatat(outbox_fd, id, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(st.st_mode) && st.st_uid == geteuid();
}

/* Root's copy is there already: the user's entry is only removed. */
static int
forget_moved(int fd, int src, const char *id)
{
	close(src);
	if (unlinkat(fd, id, 0) == 0)
		fprintf(stderr, "smtpsend: maildrop: %s was picked up before (a "
		    "run stopped before it removed it): removed\n", id);
	return 0;
}

/*
 * The user's entry, once root's copy is saved: removed, else root's copy
 * is (once sent, it would no longer stop the next run from taking the
 * user's entry again): the entry waits in the maildrop, said each run.
 */
static int
finish_move(int fd, int outbox_fd, const char *id, const char *newid)
{
	int e;

	if (unlinkat(fd, id, 0) == 0)
		return 0;
	e = errno;
	if (outbox_remove_at(outbox_fd, newid) == 0)
		fprintf(stderr, "smtpsend: maildrop: %s: not picked up: it "
		    "cannot be removed (%s)\n", id, strerror(e));
	else
		fprintf(stderr, "smtpsend: maildrop: %s: it cannot be removed "
		    "(%s), nor root's copy %s: it may be sent twice\n", id,
		    strerror(e), newid);
	return -1;
}

/*
 * One entry: validated completely, in root's copy, before anything is
 * done with it. A damaged entry is set aside; one that the system file
 * or this machine keeps from going (no host, a full disk) waits.
 */
int
maildrop_pick_at(const struct config *sys, int fd, int outbox_fd,
    const char *id)
{
	struct failure why = { 0 }, kept = { 0 };
	struct outbox_entry x;
	const char *account = NULL;
	char newid[64];
	uid_t owner = (uid_t)-1;
	int src = -1, copy, r;

	if ((r = open_user_entry(fd, id, &src, &owner, &why)) == 0 &&
	    moved_before(outbox_fd, id))
		return forget_moved(fd, src, id);
	if (r == 0 && (copy = copy_entry(src, outbox_fd, id, &why)) != -1)
		account = check_copy(sys, copy, id, owner, &x, &why);
	if (r == 1 || account == NULL) {
		if (r == 1)
			;
		else if (why.cause == CAUSE_CONFIG || why.cause == CAUSE_OSERR)
			fprintf(stderr, "smtpsend: maildrop: %s: not picked up: "
			    "%s\n", id, why.text);
		else
			set_aside(fd, id, &why);
		if (src != -1)
			close(src);
		return r == 1 ? 0 : -1;
	}
	/* A copy kept for a permanent failure stays a person's (CONTRACT 6):
	 * the maildrop takes whatever the user's outbox could not. */
	fail(&kept, STAGE_NONE, x.state == OUTBOX_PERMANENT ?
	    CAUSE_UNAVAILABLE : CAUSE_TEMPORARY, 0, "picked up from the "
	    "maildrop (userid %lu)%s%s", (unsigned long)owner,
	    *x.error ? ": " : "", x.error);
	r = outbox_save_origin_at(outbox_fd, &(struct outbox_origin){
	    *account ? account : NULL, config_system_path, NULL, id }, &x.env,
	    &x.msg, &kept, newid, sizeof(newid));
	if (r == 0)
		r = finish_move(fd, outbox_fd, id, newid);
	outbox_entry_free(&x);
	close(src);
	return r;
}

int
maildrop_pickup(const struct config *sys, int outbox_fd, int *left,
    struct failure *f)
{
	char **ids;
	size_t n, i;
	int fd;

	if ((fd = open_checked(f)) == -1)
		return failed(f) ? -1 : 0;
	if (outbox_ids_at(fd, true, &ids, &n, f) == -1) {
		close(fd);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (maildrop_pick_at(sys, fd, outbox_fd, ids[i]) == -1)
			(*left)++;
		free(ids[i]);
	}
	free(ids);
	close(fd);
	return 0;
}

int
maildrop_remove(const char *id)
{
	/* The sticky bit lets a user remove only their own entries. */
	int fd = open(MAILDROP_DIR, O_PATH | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC), r;

	if (fd == -1)
		return -1;
	r = unlinkat(fd, id, 0);
	close(fd);
	return r;
}
