/* SPDX-License-Identifier: ISC */
/*
 * The body of a message whose standard input is a regular file, read in
 * place instead of copied into the spool: a 200 MB message sent from a
 * file would otherwise spend a third of its time writing the copy.
 *
 * The file is read twice. The first pass (src/message.c) checks and
 * measures everything as for any input; this one produces the same
 * normalised bytes again, in order, as the message goes out: CR+ LF
 * becomes CRLF, a CR before anything else a space, and a missing final
 * line end is added (CONTRACT section 5). A file changed in between (a
 * caller writing its own input file: another size, modification or change
 * time than when the first pass began) is an I/O error, and so are bytes
 * that no longer give the size measured: never a message of another size
 * than the one announced.
 */
#ifndef SMTPSEND_BODYFILE_H
#define SMTPSEND_BODYFILE_H

#include <sys/stat.h>
#include <sys/types.h>

#include "spool.h"

/*
 * The input bytes [from, to) of fd as the body `size` bytes long once
 * normalised, into s (fd is dup'ed); st is fstat() of fd from before the
 * first pass. 0, or -1 with errno set.
 */
int	bodyfile_attach(struct spool *s, int fd, off_t from, off_t to,
	    off_t size, const struct stat *st);

#endif
