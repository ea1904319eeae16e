/* SPDX-License-Identifier: ISC */
/* Whole writes to a file descriptor. */
#ifndef SMTPSEND_FDIO_H
#define SMTPSEND_FDIO_H

#include <stddef.h>

/* Write all n bytes, retrying short writes and EINTR; 0 or -1 (errno). */
int	write_all(int fd, const void *p, size_t n);

#endif
