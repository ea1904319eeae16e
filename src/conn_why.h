/* SPDX-License-Identifier: ISC */
/* conn.c's failures explained (src/conn_why.c); `rc` is a CURLcode. */
#ifndef SMTPSEND_CONN_WHY_H
#define SMTPSEND_CONN_WHY_H

#include "conn.h"
#include "status.h"

void	conn_perform_failure(struct conn *, int rc, struct failure *f);

#endif
