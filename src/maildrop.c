#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "hostname.h"
#include "maildrop.h"
#include "outbox.h"

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

/*
 * Never a setting the entry names that the system file does not have: its
 * account if the system file has one of that name, else the default. The
 * envelope sender as that account allows; local names qualified and
 * aliased with its settings, as if the user had sent it with them.
 */
static const char *
system_account(const struct config *sys, struct outbox_entry *x,
    struct failure *f)
{
	const struct account *a = x->account != NULL ?
	    config_find(sys, x->account) : NULL;
	struct settings s;

	if (a == NULL && envelope_account(sys, NULL, NULL, &a, f) == -1)
		return NULL;
	if (settings_resolve(&s, a, (char *[KEY_COUNT]){ NULL }, f) == -1)
		return NULL;
	if (s.from != NULL && strchr(s.from, '*') == NULL &&
	    !s.allow_from_override) {
		free(x->env.sender);
		if ((x->env.sender = strdup(s.from)) == NULL)
			return fail_errno(f, CAUSE_OSERR, "memory"), NULL;
	}
	if (envelope_finish(&x->env, &s, &x->msg, f) == -1)
		return NULL;
	return a->name != NULL ? a->name : "";
}

/* A damaged entry is kept for a person, out of the way of the next run. */
static void
set_aside(int fd, const char *id, const struct failure *why)
{
	char aside[96];

	snprintf(aside, sizeof(aside), ".damaged-%s", id);
	renameat(fd, id, fd, aside);
	fprintf(stderr, "smtpsend: maildrop: %s; set aside as %s/%s\n",
	    why->text, MAILDROP_DIR, aside);
}

static int
pick_one(const struct config *sys, int fd, int outbox_fd, const char *id)
{
	struct failure why = { 0 }, kept = { 0 };
	struct outbox_entry x;
	const char *account = NULL;
	char newid[64];
	int r = outbox_load_at(fd, id, &x, (uid_t)-1, &why);

	if (r == 1)
		return 0;
	if (r == 0 && message_size(&x.msg) > MAILDROP_MAX)
		fail(&why, STAGE_NONE, CAUSE_DATAERR, 0, "entry %s is over the "
		    "maildrop's size limit", id);
	else if (r == 0 && (account = system_account(sys, &x, &why)) == NULL)
		;	/* why says it */
	else if (r == 0 && add_received(&x) == -1)
		fail_errno(&why, CAUSE_OSERR, "entry %s", id);
	if (failed(&why) && why.cause == CAUSE_CONFIG) {
		/* The system file's fault, not the entry's: it waits. */
		fprintf(stderr, "smtpsend: maildrop: %s: not picked up: %s\n",
		    id, why.text);
		outbox_entry_free(&x);
		return -1;
	}
	if (failed(&why) || account == NULL) {
		set_aside(fd, id, &why);
		if (r == 0)
			outbox_entry_free(&x);
		return -1;
	}
	/* A copy kept for a permanent failure stays a person's (CONTRACT 6):
	 * the maildrop takes whatever the user's outbox could not. */
	fail(&kept, STAGE_NONE, x.state == OUTBOX_PERMANENT ?
	    CAUSE_UNAVAILABLE : CAUSE_TEMPORARY, 0, "picked up from the "
	    "maildrop (userid %lu)%s%s", (unsigned long)x.owner,
	    *x.error ? ": " : "", x.error);
	r = outbox_save_origin_at(outbox_fd, &(struct outbox_origin){
	    *account ? account : NULL, NULL, NULL, id }, &x.env, &x.msg, &kept,
	    newid, sizeof(newid));
	if (r == 0)
		unlinkat(fd, id, 0);
	outbox_entry_free(&x);
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
		if (pick_one(sys, fd, outbox_fd, ids[i]) == -1)
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
