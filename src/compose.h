/* SPDX-License-Identifier: ISC */
/*
 * Compose mode (CONTRACT section 9): --to, --cc, --bcc, --subject, --body,
 * --attach and --header build a complete MIME message, fed to the same
 * reader as a message on stdin.
 */
#ifndef SMTPSEND_COMPOSE_H
#define SMTPSEND_COMPOSE_H

#include "args.h"
#include "message.h"
#include "status.h"

/* Build the message; the body is --body, else stdin (fd) unless a tty. */
int	compose_message(const struct options *, int fd, struct message *,
	    struct failure *f);
/* RFC 2047 "B" encoded word for a non-ASCII header text (as is if ASCII);
 * allocated. */
char	*compose_encoded_word(const char *text);

#endif
