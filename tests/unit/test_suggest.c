/* SPDX-License-Identifier: ISC */
/* "Did you mean": the closest known name, never a wild guess. */
#include "check.h"
#include "suggest.h"

static const char *const names[] = {
	"subject", "serverinfo", "tls-trust-file", "tls-starttls", "from",
	"host", "to", "cc", "syslog", "tls_trust_file", "timeout", NULL
};

static const char *
meant(const char *word)
{
	struct suggest s;
	const char *const *n;

	suggest_init(&s, word, strlen(word));
	for (n = names; *n != NULL; n++)
		suggest_try(&s, *n);
	return suggest_best(&s);
}

int
main(void)
{
	static const struct {
		const char	*typed, *want;
	} table[] = {
		{ "subjet", "subject" },		/* a letter left out */
		{ "sbuject", "subject" },		/* two swapped */
		{ "subjects", "subject" },		/* one too many */
		{ "form", "from" },			/* a swap in a short name */
		{ "tls-trustfile", "tls-trust-file" },
		{ "tls_trustfile", "tls_trust_file" },
		{ "sylog", "syslog" },
		{ "hots", "host" },
		{ "subject", NULL },			/* known: nothing to say */
		{ "frobnicate", NULL },			/* nothing close */
		{ "xy", NULL },				/* two edits from "to" */
		{ "tmieuot", "timeout" },		/* two swaps */
		{ "timxxxt", NULL },			/* three edits */
		{ "", NULL },
	};
	size_t i;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		CHECK_STR(meant(table[i].typed), table[i].want, table[i].typed);
	return check_summary();
}
