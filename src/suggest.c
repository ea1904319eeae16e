/* SPDX-License-Identifier: ISC */
#include <string.h>

#include "suggest.h"

#define LONGEST	64	/* longer words are not typos of our names */

void
suggest_init(struct suggest *s, const char *word, size_t wordlen)
{
	s->word = word;
	s->wordlen = wordlen;
	s->best = NULL;
	s->dist = (size_t)-1;
}

static size_t
min3(size_t a, size_t b, size_t c)
{
	size_t m = a < b ? a : b;

	return m < c ? m : c;
}

/* Optimal string alignment distance: three rows are enough. */
static size_t
distance(const char *a, size_t n, const char *b, size_t m)
{
	size_t rows[3][LONGEST + 1], *prev2 = rows[0], *prev = rows[1],
	    *cur = rows[2], *t, i, j;

	for (j = 0; j <= m; j++)
		prev[j] = j;
	for (i = 1; i <= n; i++) {
		cur[0] = i;
		for (j = 1; j <= m; j++) {
			cur[j] = min3(prev[j] + 1, cur[j - 1] + 1,
			    prev[j - 1] + (a[i - 1] != b[j - 1]));
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && prev2[j - 2] + 1 < cur[j])
				cur[j] = prev2[j - 2] + 1;
		}
		t = prev2;
		prev2 = prev;
		prev = cur;
		cur = t;
	}
	return prev[m];
}

void
suggest_try(struct suggest *s, const char *name)
{
	size_t n = strlen(name), d;

	if (s->wordlen == 0 || s->wordlen > LONGEST || n > LONGEST)
		return;
	d = distance(s->word, s->wordlen, name, n);
	if (d < s->dist) {
		s->dist = d;
		s->best = name;
	}
}

/* One edit in a short name, two in a longer one: never a wild guess. */
const char *
suggest_best(const struct suggest *s)
{
	size_t limit = s->wordlen < 5 ? 1 : 2;

	return s->best != NULL && s->dist > 0 && s->dist <= limit ? s->best :
	    NULL;
}
