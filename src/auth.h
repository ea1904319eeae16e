/* SPDX-License-Identifier: ISC */
/* AUTH over a connection (src/conn.c), for the session (src/session.c). */
#ifndef SMTPSEND_AUTH_H
#define SMTPSEND_AUTH_H

#include <stdbool.h>

#include "buf.h"
#include "conn.h"
#include "envelope.h"
#include "message.h"
#include "session.h"
#include "status.h"

/* -v shows "AUTH PLAIN <redacted>": the mechanism, never the secret. */
const char *auth_mech_name(const struct conn *, const char *password);
void	auth_trace(const struct conn *, const struct buf *, bool command);
/* An extension this message needs that the first EHLO lacked. */
bool	auth_needs_more(const struct caps *, const struct envelope *,
	    const struct message *);
/* EHLO again after AUTH; a refusal other than 421 keeps what the first
 * EHLO offered (qpsmtpd answers 503). */
int	auth_ehlo_again(struct conn *, struct failure *f);
/* AUTH in a round trip of its own, then EHLO again if the message (when
 * not NULL) needs more. */
int	auth_alone(struct conn *, const char *password,
	    const struct envelope *, const struct message *,
	    struct session_report *, struct failure *f);
/* True with the AUTH PLAIN line in `line` when it may go in one write
 * with the transaction. */
bool	auth_early(struct conn *, const char *password,
	    const struct envelope *, const struct message *, struct buf *line);
/* The reply to an early AUTH: 0 on 235, else -1 with f set. */
int	auth_early_reply(struct conn *, int seconds, struct session_report *,
	    struct failure *f);

#endif
