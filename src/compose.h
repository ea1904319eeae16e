/* SPDX-License-Identifier: ISC */
/*
 * Compose mode (CONTRACT section 9): --to, --cc, --bcc, --subject, --body,
 * --attach and --header build a complete MIME message, fed to the same
 * reader as a message on stdin.
 */
#ifndef SMTPSEND_COMPOSE_H
#define SMTPSEND_COMPOSE_H

#include "args.h"
#include "buf.h"
#include "message.h"
#include "status.h"

/* Build the message; the body is --body, else stdin (fd) unless a tty. */
int	compose_message(const struct options *, int fd, struct message *,
	    struct failure *f);
/* RFC 2047 "B" encoded word for a non-ASCII header text (as is if ASCII);
 * allocated. */
char	*compose_encoded_word(const char *text);
/* A display name (quotes of a quoted string removed) and its address,
 * "=?UTF-8?B?...?= <spec>" when the name is not ASCII, else as a phrase
 * or quoted string: appended to b. 0, or -1 (ENOMEM). */
int	compose_mailbox(struct buf *b, const char *name, const char *spec);

#endif
