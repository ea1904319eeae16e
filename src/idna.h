/* SPDX-License-Identifier: ISC */
/*
 * Non-ASCII addresses for a server without SMTPUTF8 (CONTRACT section 5):
 * a domain needs no extension once written as its A-label (IDNA 2008,
 * libidn2); a non-ASCII local part cannot be written in ASCII at all.
 */
#ifndef SMTPSEND_IDNA_H
#define SMTPSEND_IDNA_H

#include "envelope.h"
#include "message.h"
#include "status.h"

/* The envelope with every non-ASCII domain as its A-label; fails with 69
 * for a non-ASCII local part, 65 for a domain IDNA 2008 refuses. */
int	idna_envelope(const struct envelope *, struct envelope *ascii,
	    struct failure *f);

/*
 * The address fields smtpsend writes or passes (From, Sender, Reply-To,
 * To, Cc) and Message-ID with each non-ASCII domain as its A-label, for a
 * server without SMTPUTF8: 1 with `ascii` a copy of m that shares its body
 * (free it with idna_headers_free, never message_free), 0 when nothing
 * needs it, -1 with f set.
 */
int	idna_headers(const struct message *m, struct message *ascii,
	    struct failure *f);
void	idna_headers_free(struct message *ascii);

#endif
