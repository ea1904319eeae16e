/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "bodyfile.h"

#define IN_SIZE	(128 * 1024)

struct bodyfile {
	int		 fd;
	off_t		 from, to;	/* the input bytes of the body */
	off_t		 size;		/* once normalised */
	off_t		 pos;		/* the next input byte not in `in` */
	off_t		 out;		/* normalised bytes produced */
	unsigned	 pending_cr;	/* CRs not yet known to end a line */
	bool		 line_open;	/* bytes since the last line end */
	bool		 lf_owed;	/* a CRLF split by a one-byte read */
	struct stat	 st;		/* the file when the first pass began */
	size_t		 inpos, inlen;
	char		 in[IN_SIZE];
};

static void
restart(struct bodyfile *b)
{
	b->pos = b->from;
	b->out = 0;
	b->pending_cr = 0;
	b->line_open = b->lf_owed = false;
	b->inpos = b->inlen = 0;
}

/*
 * The same file as when it was measured: a caller that rewrote it meanwhile
 * (even to the same size) changed its modification or change time.
 */
static bool
unchanged(const struct bodyfile *b)
{
	struct stat now;

	return fstat(b->fd, &now) == 0 && now.st_ino == b->st.st_ino &&
	    now.st_dev == b->st.st_dev && now.st_size == b->st.st_size &&
	    now.st_mtim.tv_sec == b->st.st_mtim.tv_sec &&
	    now.st_mtim.tv_nsec == b->st.st_mtim.tv_nsec &&
	    now.st_ctim.tv_sec == b->st.st_ctim.tv_sec &&
	    now.st_ctim.tv_nsec == b->st.st_ctim.tv_nsec;
}

/* A line end into room for one byte: CR now, LF at the next read. */
static size_t
line_end(struct bodyfile *b, char *dst, size_t room)
{
	dst[0] = '\r';
	if (room < 2) {
		b->lf_owed = true;
		return 1;
	}
	dst[1] = '\n';
	return 2;
}

/* More input: 1, 0 at the end of the body, -1 (a file cut short: EIO). */
static int
refill(struct bodyfile *b)
{
	size_t want;
	ssize_t r;

	if (b->pos >= b->to)
		return 0;
	want = b->to - b->pos < IN_SIZE ? (size_t)(b->to - b->pos) : IN_SIZE;
	do
		r = pread(b->fd, b->in, want, b->pos);
	while (r == -1 && errno == EINTR);
	if (r == 0)
		errno = EIO;
	if (r <= 0)
		return -1;
	b->pos += r;
	b->inpos = 0;
	b->inlen = (size_t)r;
	return 1;
}

/* Bytes up to the next CR or LF, as they are (memchr is the fast part). */
static size_t
copy_run(struct bodyfile *b, char *dst, size_t room)
{
	const char *p = b->in + b->inpos, *stop;
	size_t n = b->inlen - b->inpos;

	if (n > room)
		n = room;
	if ((stop = memchr(p, '\n', n)) != NULL)
		n = (size_t)(stop - p);
	if ((stop = memchr(p, '\r', n)) != NULL)
		n = (size_t)(stop - p);
	memcpy(dst, p, n);
	b->inpos += n;
	b->line_open = b->line_open || n > 0;
	return n;
}

/* Held CRs not followed by LF: a space each (as src/message.c). */
static size_t
release_crs(struct bodyfile *b, char *dst, size_t room)
{
	size_t n = b->pending_cr < room ? b->pending_cr : room;

	memset(dst, ' ', n);
	b->pending_cr -= (unsigned)n;
	b->line_open = b->line_open || n > 0;
	return n;
}

/* One step at the input's current byte; *moved when input was used. */
static size_t
step(struct bodyfile *b, char *dst, size_t room, bool *moved)
{
	char c = b->in[b->inpos];

	*moved = true;
	if (c == '\r') {
		b->pending_cr++;
		b->inpos++;
		return 0;
	}
	if (c != '\n')
		return b->pending_cr > 0 ? release_crs(b, dst, room) :
		    copy_run(b, dst, room);
	b->inpos++;
	b->pending_cr = 0;
	b->line_open = false;
	return line_end(b, dst, room);
}

/* At the end of the input: held CRs, then the missing final line end. */
static size_t
finish(struct bodyfile *b, char *dst, size_t room)
{
	size_t n = release_crs(b, dst, room);

	if (b->pending_cr == 0 && b->line_open && room > n) {
		b->line_open = false;
		n += line_end(b, dst + n, room - n);
	}
	return n;
}

static bool
all_used(const struct bodyfile *b)
{
	return b->pos == b->to && b->inpos == b->inlen &&
	    b->pending_cr == 0 && !b->line_open && !b->lf_owed;
}

static ssize_t
bodyfile_read(void *ctx, off_t offset, void *dst, size_t len)
{
	struct bodyfile *b = ctx;
	char *d = dst;
	size_t n = 0, k;
	bool moved = true;
	int r;

	if (offset == 0 && b->out != 0)
		restart(b);
	if (offset != b->out || len == 0) {
		errno = EINVAL;
		return -1;
	}
	if (offset == 0 && !unchanged(b)) {
		errno = EIO;
		return -1;
	}
	if (b->lf_owed) {
		d[n++] = '\n';
		b->lf_owed = false;
	}
	while (n < len && moved) {
		if (b->inpos == b->inlen && (r = refill(b)) <= 0) {
			if (r == -1)
				return -1;
			n += finish(b, d + n, len - n);
			break;
		}
		k = step(b, d + n, len - n, &moved);
		n += k;
	}
	b->out += (off_t)n;
	/* Not the bytes measured: the file changed since. */
	if (n == 0 || (b->out == b->size && (!all_used(b) || !unchanged(b))) ||
	    b->out > b->size) {
		errno = EIO;
		return -1;
	}
	return (ssize_t)n;
}

static void
bodyfile_release(void *ctx)
{
	struct bodyfile *b = ctx;

	close(b->fd);
	free(b);
}

int
bodyfile_attach(struct spool *s, int fd, off_t from, off_t to, off_t size,
    const struct stat *st)
{
	struct spool_source src = { bodyfile_read, bodyfile_release, NULL };
	struct bodyfile *b;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		return -1;
	if ((b->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3)) == -1) {
		free(b);
		return -1;
	}
	b->from = from;
	b->to = to;
	b->size = size;
	b->st = *st;
	restart(b);
	src.ctx = b;
	spool_attach_source(s, size, &src);
	return 0;
}
