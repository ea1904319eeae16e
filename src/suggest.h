/* SPDX-License-Identifier: ISC */
/*
 * "Did you mean": the known name closest to a mistyped one, by edit
 * distance (insertions, deletions, substitutions and swaps of neighbours).
 */
#ifndef SMTPSEND_SUGGEST_H
#define SMTPSEND_SUGGEST_H

#include <stddef.h>

struct suggest {
	const char	*word;		/* what was typed */
	size_t		 wordlen;
	const char	*best;		/* the closest name so far, or NULL */
	size_t		 dist;
};

void	suggest_init(struct suggest *, const char *word, size_t wordlen);
/* Consider one known name. */
void	suggest_try(struct suggest *, const char *name);
/* The closest name when it is close enough to be the one meant, or NULL. */
const char *suggest_best(const struct suggest *);

#endif
