/* SPDX-License-Identifier: ISC */
/*
 * msmtp's aliases file: "name: a@x, b@y" and "default: a@x", for bare
 * local names such as root. Expansion recurses, with a loop guard.
 */
#ifndef SMTPSEND_ALIASES_H
#define SMTPSEND_ALIASES_H

#include <stdbool.h>

#include "addr.h"
#include "status.h"

struct aliases {
	char	**names;
	char	**values;
	size_t	  n;
};

/* Errors are FILE:LINE and exit 78. */
int	aliases_load(struct aliases *, const char *path, struct failure *f);
/*
 * Append what a name stands for to `out` (each address once): a qualified
 * address as it is; a bare name through the table (or its default), and
 * as it is when neither applies. Fails (78) on a loop.
 */
int	aliases_expand(const struct aliases *, const char *name,
	    struct addrlist *out, struct failure *f);
/* The table has this name itself (not only a default line). */
bool	aliases_has(const struct aliases *, const char *name);
void	aliases_free(struct aliases *);

#endif
