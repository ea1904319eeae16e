/* SPDX-License-Identifier: ISC */
/* A command that prints a secret: passwordeval and its kin. */
#ifndef SMTPSEND_EVAL_H
#define SMTPSEND_EVAL_H

#include "buf.h"
#include "status.h"

/* Run `cmd` (/bin/sh -c) and keep its first line in `out`, a secret;
 * fails with 78 naming `what` (the key). */
int	eval_first_line(const char *what, const char *cmd, struct buf *out,
	    struct failure *f);

#endif
