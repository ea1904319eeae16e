/* SPDX-License-Identifier: ISC */
/* Growable byte buffer: the one way this library builds strings. */
#ifndef SMTPSEND_BUF_H
#define SMTPSEND_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char	*data;	/* always NUL-terminated when cap > 0 */
	size_t	 len;
	size_t	 cap;
};

#define BUF_INIT { NULL, 0, 0 }

/* Each returns 0, or -1 with errno set (ENOMEM) leaving the buffer as it was. */
int	buf_reserve(struct buf *, size_t more);
int	buf_add(struct buf *, const void *, size_t);
int	buf_addstr(struct buf *, const char *);
int	buf_addch(struct buf *, char);
int	buf_printf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
int	buf_vprintf(struct buf *, const char *, va_list)
	    __attribute__((format(printf, 2, 0)));
void	buf_consume(struct buf *, size_t n);	/* drop n bytes from the front */
void	buf_reset(struct buf *);
void	buf_free(struct buf *);
/* Wipe then free: for anything that held a secret. */
void	buf_free_secret(struct buf *);

#endif
