/* SPDX-License-Identifier: ISC */
/*
 * The outbox directory: where it is, made private, opened and checked
 * before it is read, and the entries it holds.
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

#include "hostname.h"
#include "outbox.h"

const char *
outbox_dir(const struct settings *s)
{
	static char path[4096];
	const char *state = user_env("XDG_STATE_HOME"), *home;

	if (s != NULL && s->outbox != NULL)
		return strcmp(s->outbox, "off") == 0 ? NULL : s->outbox;
	if (geteuid() == 0)
		return "/var/spool/smtpsend";
	if (state != NULL && *state == '/')
		snprintf(path, sizeof(path), "%s/smtpsend/outbox", state);
	else if ((home = user_home()) != NULL)
		snprintf(path, sizeof(path), "%s/.local/state/smtpsend/outbox",
		    home);
	else
		return NULL;
	return path;
}

/*
 * `mkdir -p` leaves 0755: a directory of ours that others may only read
 * and enter is made private (0711 keeps root's spool reachable for the
 * maildrop inside it) rather than refused. One that others may write is
 * refused: what is in it may not be ours.
 */
static void
repair(int fd, struct stat *st, const char *dir)
{
	mode_t mode = st->st_mode & 07777;

	if (st->st_uid != geteuid() || !S_ISDIR(st->st_mode) ||
	    (mode & 022) != 0 || (mode & 044) == 0 ||
	    fchmod(fd, mode & ~(mode_t)044) == -1)
		return;
	st->st_mode &= ~(mode_t)044;
	fprintf(stderr, "smtpsend: %s could be read by others: now mode %04o\n",
	    dir, (unsigned)(mode & ~(mode_t)044));
}

/* The fix a refused outbox needs: root's spool holds the maildrop. */
static const char *
private_mode(void)
{
	return geteuid() == 0 ? "chmod 711: users reach the maildrop inside "
	    "it, never list it" : "chmod 700";
}

/* mkdir -p with mode 0700, then open it: ours and private, or refused. */
int
outbox_dir_create(const char *dir, char *why, size_t size)
{
	char path[4096], *p;
	struct stat st = { 0 };
	int fd;

	if (strlcpy(path, dir, sizeof(path)) >= sizeof(path) || *path != '/')
		return snprintf(why, size, "%s is not an absolute path", dir), -1;
	for (p = path + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		if (mkdir(path, 0700) == -1 && errno != EEXIST)
			return snprintf(why, size, "%s: %s", path,
			    strerror(errno)), -1;
		*p = '/';
	}
	if (mkdir(path, 0700) == -1 && errno != EEXIST)
		return snprintf(why, size, "%s: %s", path, strerror(errno)), -1;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		return snprintf(why, size, "%s: %s", path, strerror(errno)), -1;
	/* 0711 is private too: root's spool lets users reach the maildrop
	 * inside it, never list or change what is root's. */
	if (fstat(fd, &st) == -1)
		st.st_mode = 0777;	/* refused below */
	repair(fd, &st, path);
	if (st.st_uid != geteuid() || (st.st_mode & 066) != 0) {
		close(fd);
		return snprintf(why, size, "%s is not a private directory of "
		    "this user (%s)", path, private_mode()), -1;
	}
	return fd;
}

int
outbox_compare_ids(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The outbox read back is input too (CONTRACT section 8): a directory of
 * the user's, not a symlink, not writable by others; else refused.
 * ENOENT: there is no outbox yet (-1 with errno set, f untouched).
 */
int
outbox_open_checked(const char *dir, struct failure *f)
{
	struct stat st = { 0 };
	int fd;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC))
	    == -1) {
		if (errno == ENOENT)
			return -1;
		fail_errno(f, CAUSE_CONFIG, "outbox %s (it must be a directory, "
		    "not a symlink)", dir);
		return -1;
	}
	if (fstat(fd, &st) == -1)
		st.st_mode = 0777;	/* refused below */
	repair(fd, &st, dir);
	if (st.st_uid != geteuid() || (st.st_mode & 066) != 0) {
		close(fd);
		fail(f, STAGE_NONE, CAUSE_CONFIG, 0, "outbox %s is not a "
		    "directory of this user closed to others (%s); refusing to "
		    "read it", dir, private_mode());
		errno = EPERM;
		return -1;
	}
	return fd;
}

/* Crashed saves leave .tmp- files: gone once they are a day old. */
static void
remove_stale(int dirfd, const char *name)
{
	struct stat st;

	if (strncmp(name, ".tmp-", 5) == 0 &&
	    fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(st.st_mode) && (st.st_uid == geteuid() || geteuid() == 0) &&
	    time(NULL) - st.st_mtime > 86400)
		unlinkat(dirfd, name, 0);
}

int
outbox_ids_at(int dirfd, bool tidy, char ***ids, size_t *n,
    struct failure *f)
{
	struct dirent *d;
	char **v = NULL, **nv;
	DIR *dp;
	int fd;

	*ids = NULL;
	*n = 0;
	if ((fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3)) == -1 ||
	    (dp = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		fail_errno(f, CAUSE_OSERR, "reading the outbox");
		return -1;
	}
	rewinddir(dp);
	while ((d = readdir(dp)) != NULL) {
		if (tidy)
			remove_stale(dirfd, d->d_name);
		/* Subdirectories (root's spool holds the maildrop) are not
		 * entries; anything else that is not an entry is damaged. */
		if (d->d_name[0] == '.' || strlen(d->d_name) >= 64 ||
		    d->d_type == DT_DIR)
			continue;
		if ((nv = reallocarray(v, *n + 1, sizeof(*v))) == NULL ||
		    (nv[*n] = strdup(d->d_name)) == NULL) {
			free(nv ? nv : v);
			closedir(dp);
			fail_errno(f, CAUSE_OSERR, "reading the outbox");
			return -1;
		}
		v = nv;
		(*n)++;
	}
	closedir(dp);
	if (*n > 1)
		qsort(v, *n, sizeof(*v), outbox_compare_ids);
	*ids = v;
	return 0;
}

int
outbox_remove_at(int dirfd, const char *id)
{
	return unlinkat(dirfd, id, 0) == 0 && fsync(dirfd) == 0 ? 0 : -1;
}
