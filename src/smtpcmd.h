/* SPDX-License-Identifier: ISC */
/* The envelope commands, built once from the envelope and capabilities. */
#ifndef SMTPSEND_SMTPCMD_H
#define SMTPSEND_SMTPCMD_H

#include <stdbool.h>
#include <sys/types.h>

#include "buf.h"
#include "envelope.h"
#include "reply.h"
#include "status.h"

/*
 * Check the envelope against the server's capabilities: SMTPUTF8 and DSN
 * when needed, SIZE. Fails with 69 before anything is sent.
 */
int	smtpcmd_check(const struct envelope *, const struct caps *,
	    off_t size, struct failure *f);
/* "MAIL FROM:<...> SIZE=n BODY=8BITMIME SMTPUTF8 RET= ENVID=\r\n" */
int	smtpcmd_mail(struct buf *, const struct envelope *,
	    const struct caps *, off_t size);
/* "RCPT TO:<...> NOTIFY=...\r\n" for recipient i */
int	smtpcmd_rcpt(struct buf *, const struct envelope *, size_t i);

#endif
