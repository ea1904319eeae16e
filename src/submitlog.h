/* SPDX-License-Identifier: ISC */
/* One line per message to the logfile and syslog (CONTRACT section 10). */
#ifndef SMTPSEND_SUBMITLOG_H
#define SMTPSEND_SUBMITLOG_H

#include <sys/types.h>

#include "config.h"
#include "envelope.h"
#include "session.h"
#include "status.h"

void	submitlog_write(const struct settings *, const struct envelope *,
	    off_t size, const struct session_report *,
	    const struct failure *f);
/* A warning a person must see and the log must keep: "smtpsend: warning:
 * TEXT" on stderr, and syslog at LOG_WARNING when it is on. */
void	submitlog_warn(const struct settings *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

#endif
