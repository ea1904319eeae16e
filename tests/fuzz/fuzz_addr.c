/* SPDX-License-Identifier: ISC */
/*
 * addrlist_parse() on arbitrary text, then addr_check(), addr_domain(),
 * addr_equal() and addrlist_add_unique() on every address it returns.
 *
 * Invariants (names for SMTPSEND_FUZZ_KNOWN, see fuzz_common.h):
 *   addr-spec-control   no parsed spec holds a byte < 0x20 or 0x7f: the
 *                       parser's contract is that control characters other
 *                       than folding are errors (addr.h)
 *   addr-spec-tab       nor a TAB (inside quotes or a domain literal it is
 *                       RFC 5322 whitespace, but no SMTP path may hold it,
 *                       and addr_check() refuses it)
 *   addr-spec-empty     no parsed spec is empty
 *   addr-err            on failure, err is a non-empty terminated string
 *   addr-domain         addr_domain() points inside the spec after its last @
 *   addr-equal          addr_equal() is reflexive and symmetric
 *   addr-check-safe     a spec addr_check() accepts holds no CR, LF, NUL,
 *                       space or angle bracket outside quotes
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "fuzz_common.h"

/* What must hold of a spec addr_check() accepted (it goes into RCPT TO:<>). */
FUZZ_NOCOV static bool
envelope_safe(const char *s)
{
	bool quoted = false;

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f)
			return false;
		if (quoted && c == '\\' && s[1] != '\0')
			s++;
		else if (c == '"')
			quoted = !quoted;
		else if (!quoted && (c == ' ' || c == '<' || c == '>'))
			return false;
	}
	return !quoted;
}

static void
check_one(const struct address *a, const char *first)
{
	char err[160];
	const char *d, *at;
	size_t i, len = strlen(a->spec);
	bool control = false, tab = false;

	for (i = 0; i < len; i++)
		if (a->spec[i] == '\t')
			tab = true;
		else if ((unsigned char)a->spec[i] < 0x20 ||
		    (unsigned char)a->spec[i] == 0x7f)
			control = true;
	if ((control && !fuzz_known("addr-spec-control")) ||
	    (tab && !fuzz_known("addr-spec-tab")))
		fuzz_dump("spec with a control character", a->spec, len, 200);
	FUZZ_CHECK("addr-spec-control", !control);
	FUZZ_CHECK("addr-spec-tab", !tab);
	FUZZ_CHECK("addr-spec-empty", len > 0);

	d = addr_domain(a->spec);
	at = strrchr(a->spec, '@');
	FUZZ_CHECK("addr-domain", at == NULL ? d == NULL : d == at + 1);

	FUZZ_CHECK("addr-equal", addr_equal(a->spec, a->spec));
	FUZZ_CHECK("addr-equal", addr_equal(a->spec, first) ==
	    addr_equal(first, a->spec));

	err[0] = '\0';
	if (addr_check(a->spec, err, sizeof(err)) == 0) {
		FUZZ_CHECK("addr-check-safe", envelope_safe(a->spec));
		FUZZ_CHECK("addr-check-safe", len <= 254);
	} else
		FUZZ_CHECK("addr-err", err[0] != '\0' &&
		    memchr(err, '\0', sizeof(err)) != NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct addrlist l = { 0 }, u = { 0 };
	char err[160], *s;
	size_t i;
	int r;

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';		/* a NUL inside ends the string, as in C */

	memset(err, 0, sizeof(err));
	r = addrlist_parse(&l, s, err, sizeof(err));
	if (r == -1)
		FUZZ_CHECK("addr-err", err[0] != '\0' &&
		    memchr(err, '\0', sizeof(err)) != NULL);
	/* On failure the caller discards the list: only free it then. */
	for (i = 0; r == 0 && i < l.n; i++) {
		FUZZ_ASSERT(l.v[i].spec != NULL);
		check_one(&l.v[i], l.v[0].spec);
		if (l.v[i].display != NULL)
			FUZZ_ASSERT(strlen(l.v[i].display) <= 2 * size);
		if (l.v[i].comment != NULL)
			FUZZ_ASSERT(strlen(l.v[i].comment) <= size);
		FUZZ_ASSERT(addrlist_add_unique(&u, l.v[i].spec) != -1);
	}
	/* Unique: no two entries equal, every parsed one present. */
	for (i = 0; i < u.n; i++) {
		size_t j;

		for (j = i + 1; j < u.n; j++)
			FUZZ_CHECK("addr-equal",
			    !addr_equal(u.v[i].spec, u.v[j].spec));
	}
	for (i = 0; r == 0 && i < l.n; i++)
		FUZZ_CHECK("addr-equal", addrlist_add_unique(&u, l.v[i].spec)
		    == 0);
	addrlist_free(&u);
	addrlist_free(&l);
	free(s);
	return 0;
}
