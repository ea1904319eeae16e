/* SPDX-License-Identifier: ISC */
/*
 * A byte store with bounded memory: small messages stay in memory, larger
 * ones spill to an unlinked temporary file. Written once, read many times.
 */
#ifndef SMTPSEND_SPOOL_H
#define SMTPSEND_SPOOL_H

#include <stddef.h>
#include <sys/types.h>

#define SPOOL_MEMORY_MAX	(256 * 1024)

/* Bytes something else produces on demand (src/bodyfile.c), read in
 * order: from 0, or where the last read ended. */
struct spool_source {
	ssize_t	(*read)(void *ctx, off_t offset, void *dst, size_t len);
	void	(*release)(void *ctx);
	void	*ctx;
};

struct spool {
	char	*mem;		/* the first bytes, or everything */
	size_t	 memlen;
	int	 fd;		/* -1 until spilled */
	off_t	 base;		/* where our bytes start in fd */
	off_t	 size;		/* total bytes written */
	struct spool_source src;	/* read: NULL unless a source */
};

void	spool_init(struct spool *);
/* An unlinked read-write file in $TMPDIR (or /tmp); -1 with errno. */
int	spool_tmpfile(void);
/* Append; 0, or -1 with errno set. */
int	spool_write(struct spool *, const void *, size_t);
/*
 * Copy up to `len` bytes from `offset` into dst; returns the count
 * (0 at the end) or -1 with errno set.
 */
ssize_t	spool_read(const struct spool *, off_t offset, void *dst, size_t len);
/* Read-only view of `size` bytes of an open file from `base` (dup'ed). */
int	spool_attach(struct spool *, int fd, off_t base, off_t size);
/* `size` bytes from a source, which the spool releases when freed. */
void	spool_attach_source(struct spool *, off_t size,
	    const struct spool_source *);
void	spool_free(struct spool *);

#endif
