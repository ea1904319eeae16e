/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fdio.h"
#include "spool.h"

void
spool_init(struct spool *s)
{
	memset(s, 0, sizeof(*s));
	s->fd = -1;
}

/* An unlinked file in $TMPDIR: nothing is left behind whatever happens. */
int
spool_tmpfile(void)
{
	const char *dir = getenv("TMPDIR");
	char path[4096];
	int fd;

	if (dir == NULL || *dir != '/')
		dir = "/tmp";
	fd = open(dir, O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC, 0600);
	if (fd != -1 || (errno != EOPNOTSUPP && errno != EISDIR &&
	    errno != ENOENT))
		return fd;
	if ((size_t)snprintf(path, sizeof(path), "%s/smtpsend.XXXXXX", dir) >=
	    sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = mkostemp(path, O_CLOEXEC)) != -1)
		unlink(path);
	return fd;
}

int
spool_write(struct spool *s, const void *p, size_t n)
{
	size_t room;

	if (s->fd == -1 && s->memlen + n <= SPOOL_MEMORY_MAX) {
		if (s->mem == NULL && (s->mem = malloc(SPOOL_MEMORY_MAX)) ==
		    NULL)
			return -1;
		memcpy(s->mem + s->memlen, p, n);
		s->memlen += n;
		s->size += (off_t)n;
		return 0;
	}
	if (s->fd == -1) {
		if ((s->fd = spool_tmpfile()) == -1)
			return -1;
		/* Fill memory to the brim so reads need no file at the start. */
		room = SPOOL_MEMORY_MAX - s->memlen;
		if (room > 0) {
			if (s->mem == NULL &&
			    (s->mem = malloc(SPOOL_MEMORY_MAX)) == NULL)
				return -1;
			memcpy(s->mem + s->memlen, p, room);
			s->memlen += room;
			s->size += (off_t)room;
			p = (const char *)p + room;
			n -= room;
		}
	}
	if (write_all(s->fd, p, n) == -1)
		return -1;
	s->size += (off_t)n;
	return 0;
}

ssize_t
spool_read(const struct spool *s, off_t offset, void *dst, size_t len)
{
	size_t n;
	ssize_t r;

	if (offset >= s->size)
		return 0;
	if (s->src.read != NULL)
		return s->src.read(s->src.ctx, offset, dst,
		    (off_t)len < s->size - offset ? len :
		    (size_t)(s->size - offset));
	if ((size_t)offset < s->memlen) {
		n = s->memlen - (size_t)offset;
		n = n < len ? n : len;
		memcpy(dst, s->mem + offset, n);
		return (ssize_t)n;
	}
	do
		r = pread(s->fd, dst, len, s->base + offset - (off_t)s->memlen);
	while (r == -1 && errno == EINTR);
	return r;
}

int
spool_attach(struct spool *s, int fd, off_t base, off_t size)
{
	spool_init(s);
	if ((s->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3)) == -1)
		return -1;
	s->base = base;
	s->size = size;
	return 0;
}

void
spool_attach_source(struct spool *s, off_t size,
    const struct spool_source *src)
{
	spool_init(s);
	s->size = size;
	s->src = *src;
}

void
spool_free(struct spool *s)
{
	if (s->src.release != NULL)
		s->src.release(s->src.ctx);
	free(s->mem);
	if (s->fd != -1)
		close(s->fd);
	spool_init(s);
}
