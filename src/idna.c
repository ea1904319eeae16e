/* SPDX-License-Identifier: ISC */
#include <idn2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "idna.h"

/* 0: done (*out allocated); -1: a non-ASCII local part; -2: bad domain. */
static int
ascii_address(const char *spec, char **out)
{
	const char *at = strrchr(spec, '@');
	char *alabel = NULL;

	*out = NULL;
	if (has_8bit(spec, at != NULL ? (size_t)(at - spec) : strlen(spec)))
		return -1;
	if (at == NULL || at[1] == '[' || !has_8bit(at + 1, strlen(at + 1)))
		return (*out = strdup(spec)) == NULL ? -2 : 0;
	if (idn2_to_ascii_8z(at + 1, &alabel, IDN2_NFC_INPUT |
	    IDN2_NONTRANSITIONAL) != IDN2_OK)
		return -2;
	if (asprintf(out, "%.*s@%s", (int)(at - spec), spec, alabel) == -1)
		*out = NULL;
	idn2_free(alabel);
	return *out == NULL ? -2 : 0;
}

static int
refused(struct failure *f, const char *spec, int why)
{
	if (why == -1)
		fail(f, STAGE_MAIL, CAUSE_UNAVAILABLE, 0, "the address '%.300s' "
		    "has a non-ASCII local part, which needs SMTPUTF8; the server "
		    "does not offer it", spec);
	else
		fail(f, STAGE_NONE, CAUSE_DATAERR, 0, "the domain of '%.300s' is "
		    "not a valid internationalized domain name", spec);
	return -1;
}

int
idna_envelope(const struct envelope *e, struct envelope *a,
    struct failure *f)
{
	char *spec;
	size_t i;
	int r;

	*a = *e;
	memset(&a->rcpts, 0, sizeof(a->rcpts));
	a->envid = NULL;
	a->smtputf8 = false;
	if ((r = ascii_address(e->sender, &a->sender)) != 0) {
		a->sender = NULL;
		return refused(f, e->sender, r);
	}
	for (i = 0; i < e->rcpts.n; i++) {
		if ((r = ascii_address(e->rcpts.v[i].spec, &spec)) != 0)
			return refused(f, e->rcpts.v[i].spec, r);
		r = addrlist_add_unique(&a->rcpts, spec);
		free(spec);
		if (r == -1)
			return fail_errno(f, CAUSE_OSERR, "out of memory"), -1;
	}
	if (e->envid != NULL && (a->envid = strdup(e->envid)) == NULL)
		return fail_errno(f, CAUSE_OSERR, "out of memory"), -1;
	return 0;
}
