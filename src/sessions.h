/* SPDX-License-Identifier: ISC */
/*
 * The connections kept open across messages, one per account (CONTRACT
 * section 5): -q sends the entries of one account over one connection, and
 * -bs the messages of its session. Each holds the settings it was opened
 * with and the secret it authenticated with, until sessions_end.
 */
#ifndef SMTPSEND_SESSIONS_H
#define SMTPSEND_SESSIONS_H

#include "buf.h"
#include "config.h"
#include "session.h"
#include "status.h"

struct pooled;

struct sessions {
	struct pooled	*first;		/* each apart: a session's connection
					 * points at its settings */
	int		 verbose;
};

#define SESSIONS_INIT(verbose)	{ NULL, verbose }

/* The session of this account (NULL: the default one), or NULL. */
struct session *sessions_find(struct sessions *, const char *account);
/*
 * A new session for s->account. It takes the secret in `password` (left
 * empty) and, when cfg is not NULL, the configuration s points into (left
 * empty: config_free on it is harmless). NULL with f set when out of memory.
 */
struct session *sessions_add(struct sessions *, const struct settings *s,
	    struct buf *password, struct config *cfg, struct failure *f);
/* QUIT every connection, free everything. */
void	sessions_end(struct sessions *);

#endif
