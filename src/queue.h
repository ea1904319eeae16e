/* SPDX-License-Identifier: ISC */
/* -q, -bp and --remove: the outbox (and, for root, the maildrop) as
 * sendmail's queue. */
#ifndef SMTPSEND_QUEUE_H
#define SMTPSEND_QUEUE_H

#include "args.h"
#include "config.h"
#include "status.h"

/* Send what is chosen now (-q, -qI/-qR/-qS; --due: only what is due);
 * fails with 75 while something is left for later. */
int	queue_run(const struct options *, struct failure *f);
int	queue_list(const struct options *, struct failure *f);
int	queue_remove(const struct options *, struct failure *f);
#endif
