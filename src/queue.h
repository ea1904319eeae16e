/* -q and -bp: the outbox retried and listed. */
#ifndef SMTPSEND_QUEUE_H
#define SMTPSEND_QUEUE_H

#include "args.h"
#include "status.h"

/* Retry what is due; fails with 75 while something is left for later. */
int	queue_run(const struct options *, struct failure *f);
int	queue_list(const struct options *, struct failure *f);
/* Seconds to wait after `attempts` failed tries before the next. */
long	queue_backoff(int attempts);

#endif
