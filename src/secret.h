/* SPDX-License-Identifier: ISC */
/* The password: from the file, or from passwordeval's first line. */
#ifndef SMTPSEND_SECRET_H
#define SMTPSEND_SECRET_H

#include "buf.h"
#include "config.h"
#include "status.h"

/* Leaves `out` empty when no secret is needed. Fails with 78. */
int	secret_obtain(const struct settings *, struct buf *out, int verbose,
	    struct failure *f);

#endif
