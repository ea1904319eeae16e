/* SPDX-License-Identifier: ISC */
/*
 * args_parse() on an argv made of the input split at NUL bytes (at most 32
 * arguments after argv[0] = "smtpsend").
 *
 * Invariants (names for SMTPSEND_FUZZ_KNOWN, see fuzz_common.h):
 *   args-result   success: the recipients are the tail of argv, every
 *                 long-option value passes key_check(), -N/-R values are
 *                 valid; failure: a reason and exit status 64
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "config.h"
#include "status.h"
#include "fuzz_common.h"

#define MAXARGS	32

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *argv[MAXARGS + 2], *copy[MAXARGS + 2];
	struct options o;
	struct failure f;
	size_t pos = 0;
	int argc = 1, r, k;

	argv[0] = strdup("smtpsend");
	FUZZ_ASSERT(argv[0] != NULL);
	while (pos < size && argc < MAXARGS + 1) {
		const uint8_t *nul = memchr(data + pos, '\0', size - pos);
		size_t len = nul ? (size_t)(nul - (data + pos)) : size - pos;

		argv[argc] = malloc(len + 1);
		FUZZ_ASSERT(argv[argc] != NULL);
		memcpy(argv[argc], data + pos, len);
		argv[argc][len] = '\0';
		argc++;
		pos += len + 1;
	}
	argv[argc] = NULL;
	memcpy(copy, argv, sizeof(argv));

	memset(&f, 0, sizeof(f));
	r = args_parse(&o, argc, argv, &f);
	FUZZ_ASSERT(r == 0 || r == -1);
	/* '+' in the option string: argv is never permuted. */
	for (k = 0; k <= argc; k++)
		FUZZ_CHECK("args-result", argv[k] == copy[k]);
	if (r == 0) {
		FUZZ_CHECK("args-result", !failed(&f));
		FUZZ_CHECK("args-result", o.nrecipients >= 0 &&
		    o.nrecipients <= argc - 1 &&
		    o.recipients == argv + (argc - o.nrecipients));
		for (k = 0; k < KEY_COUNT; k++)
			FUZZ_CHECK("args-result", o.over[k] == NULL ||
			    key_check((enum key)k, o.over[k]) == NULL);
		FUZZ_CHECK("args-result", o.dsn_notify == NULL ||
		    key_check(K_DSN_NOTIFY, o.dsn_notify) == NULL);
		FUZZ_CHECK("args-result", o.dsn_return == NULL ||
		    key_check(K_DSN_RETURN, o.dsn_return) == NULL);
		FUZZ_CHECK("args-result", o.mode >= MODE_DELIVER &&
		    o.mode <= MODE_LAST);
	} else {
		FUZZ_CHECK("args-result", failed(&f) &&
		    status_exit(&f) == 64 && f.text[0] != '\0');
	}
	args_free(&o);
	for (k = 0; k < argc; k++)
		free(copy[k]);
	return 0;
}
