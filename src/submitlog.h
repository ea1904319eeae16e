/* SPDX-License-Identifier: ISC */
/* One line per message to the logfile and syslog (CONTRACT section 10). */
#ifndef SMTPSEND_SUBMITLOG_H
#define SMTPSEND_SUBMITLOG_H

#include <sys/types.h>

#include <stdbool.h>

#include "config.h"
#include "envelope.h"
#include "session.h"
#include "status.h"

/* `deferred`: kept for -q whatever the failure says (a failure of the
 * set-up, CONTRACT 6): logged as EX_TEMPFAIL at LOG_WARNING. */
void	submitlog_write(const struct settings *, const struct envelope *,
	    off_t size, const struct session_report *,
	    const struct failure *f, bool deferred);
/* A warning a person must see and the log must keep: "smtpsend: warning:
 * TEXT" on stderr, and syslog at LOG_WARNING when it is on. */
void	submitlog_warn(const struct settings *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

#endif
