/* SPDX-License-Identifier: ISC */
/*
 * A user's own ids in the maildrop (CONTRACT section 7: mailq lists the
 * user's maildrop entries). Users may not list the maildrop (mode 1733),
 * so each keeps a file .index-UID there, owned by that user, with the ids
 * of the entries it left; root's pickup ignores dot files. The index is
 * only a list of names to look at: each entry is still opened as the
 * user's own file and read as input, and a gone one is skipped.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "fdio.h"
#include "maildrop.h"

#define INDEX_MAX	(256 * 1024)	/* thousands of ids: plenty */

static void
index_name(char *dst, size_t size, const char *suffix)
{
	snprintf(dst, size, ".index-%lu%s", (unsigned long)geteuid(), suffix);
}

/* An id as smtpsend makes them: never a path, never a dot file. */
static bool
plain_id(const char *id, size_t len)
{
	size_t i;

	if (len == 0 || len >= 64 || id[0] == '.')
		return false;
	for (i = 0; i < len; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'A' &&
		    id[i] <= 'Z') || (id[i] >= 'a' && id[i] <= 'z') ||
		    id[i] == '-'))
			return false;
	return true;
}

/* The index's text: ours, a regular file with one link, not too big. */
static int
read_index(int dirfd, struct buf *b)
{
	char name[64], chunk[4096];
	struct stat st;
	ssize_t n;
	int fd;

	index_name(name, sizeof(name), "");
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC);
	if (fd == -1)
		return errno == ENOENT ? 0 : -1;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_nlink != 1 || st.st_uid != geteuid() ||
	    st.st_size > INDEX_MAX) {
		close(fd);
		return -1;
	}
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		if (buf_add(b, chunk, (size_t)n) == -1 || b->len > INDEX_MAX)
			break;
	close(fd);
	return n == 0 ? 0 : -1;
}

int
maildrop_index_ids(int dirfd, char ***ids, size_t *n)
{
	struct buf b = BUF_INIT;
	char **v = NULL, **nv, *line, *next;

	*ids = NULL;
	*n = 0;
	if (read_index(dirfd, &b) == -1 || b.data == NULL) {
		buf_free(&b);
		return 0;	/* no index, or not ours: nothing to show */
	}
	for (line = b.data; line < b.data + b.len; line = next + 1) {
		if ((next = memchr(line, '\n', (size_t)(b.data + b.len - line)))
		    == NULL)
			break;
		if (!plain_id(line, (size_t)(next - line)))
			continue;
		if ((nv = reallocarray(v, *n + 1, sizeof(*v))) == NULL ||
		    (nv[*n] = strndup(line, (size_t)(next - line))) == NULL) {
			free(nv ? nv : v);
			buf_free(&b);
			return -1;
		}
		v = nv;
		(*n)++;
	}
	buf_free(&b);
	*ids = v;
	return 0;
}

/*
 * The ids still there and the new one, written anew and renamed into
 * place: the index never grows past the entries that wait.
 */
int
maildrop_index_add(int dirfd, const char *id)
{
	struct buf out = BUF_INIT;
	char **ids, name[64], tmp[64];
	struct stat st;
	size_t n, i;
	int fd, r = -1;

	if (geteuid() == 0 || maildrop_index_ids(dirfd, &ids, &n) == -1)
		return geteuid() == 0 ? 0 : -1;
	for (i = 0; i < n; i++) {
		if (fstatat(dirfd, ids[i], &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    st.st_uid == geteuid() && strcmp(ids[i], id) != 0)
			buf_printf(&out, "%s\n", ids[i]);
		free(ids[i]);
	}
	free(ids);
	buf_printf(&out, "%s\n", id);
	index_name(name, sizeof(name), "");
	index_name(tmp, sizeof(tmp), ".new");
	unlinkat(dirfd, tmp, 0);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (fd != -1 && out.data != NULL &&
	    write_all(fd, out.data, out.len) == 0 && close(fd) == 0) {
		fd = -1;
		r = renameat(dirfd, tmp, dirfd, name);
	}
	if (fd != -1)
		close(fd);
	if (r == -1)
		unlinkat(dirfd, tmp, 0);
	buf_free(&out);
	return r;
}
