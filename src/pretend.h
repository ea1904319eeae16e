/* SPDX-License-Identifier: ISC */
/* --pretend: what would be sent, exactly, with the secrets masked. */
#ifndef SMTPSEND_PRETEND_H
#define SMTPSEND_PRETEND_H

#include <stdio.h>

#include "config.h"
#include "envelope.h"
#include "message.h"

int	pretend_print(FILE *, const struct settings *, const struct envelope *,
	    const struct message *);

#endif
