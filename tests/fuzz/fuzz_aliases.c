/* SPDX-License-Identifier: ISC */
/*
 * aliases_load() on a file holding the input (a private temporary file in
 * $TMPDIR), then aliases_expand() for names a recipient could be: "root",
 * "postmaster", "default", "ROOT" (names match without case), a qualified
 * address, and names taken from the table itself (the first, the last and
 * one chosen by the input's size), each into a list of its own.
 *
 * Invariants (names for SMTPSEND_FUZZ_KNOWN, see fuzz_common.h):
 *   aliases-fail      a failure has a non-empty one-line text (no control
 *                     character, struct failure's contract) and exit 78
 *   aliases-values    after a successful load every value is non-empty and
 *                     holds no control character
 *   aliases-addr      every address an expansion gives passes addr_check()
 *                     (envelope.c puts them into RCPT TO without checking
 *                     them again) and holds no control character
 *   aliases-nonempty  a successful expansion gives at least one address: a
 *                     recipient never vanishes without an error
 *   aliases-unique    no address twice in one expansion (addr_equal)
 *   aliases-qualified a qualified address expands to itself, unchanged
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addr.h"
#include "aliases.h"
#include "status.h"
#include "fuzz_common.h"

static char path[4096];

static void
cleanup(void)
{
	if (path[0] != '\0')
		unlink(path);
}

static void
setup(void)
{
	const char *dir = getenv("TMPDIR");
	int fd;

	if (dir == NULL || *dir != '/')
		dir = "/tmp";
	snprintf(path, sizeof(path), "%s/fuzz_aliases.XXXXXX", dir);
	if ((fd = mkstemp(path)) == -1 || fchmod(fd, 0600) == -1) {
		perror("fuzz_aliases: setup");
		abort();
	}
	close(fd);
	atexit(cleanup);
}

static void
write_file(const uint8_t *data, size_t size)
{
	int fd;

	if ((fd = open(path, O_WRONLY | O_TRUNC)) == -1 ||
	    (size > 0 && write(fd, data, size) != (ssize_t)size)) {
		perror("fuzz_aliases: writing the file");
		abort();
	}
	close(fd);
}

FUZZ_NOCOV static void
check_failure(const struct failure *f)
{
	if ((f->text[0] == '\0' || fuzz_has_ctl(f->text)) &&
	    !fuzz_known("aliases-fail"))
		fuzz_dump("failure text", f->text, strlen(f->text), 300);
	FUZZ_CHECK("aliases-fail", failed(f) && f->text[0] != '\0' &&
	    memchr(f->text, '\0', sizeof(f->text)) != NULL &&
	    strchr(f->text, '\n') == NULL && !fuzz_has_ctl(f->text));
	FUZZ_CHECK("aliases-fail", status_exit(f) == 78);
}

static void
expand_one(const struct aliases *a, const char *name)
{
	struct addrlist out = { 0 };
	struct failure f;
	char why[160];
	size_t i, j;
	int r;

	memset(&f, 0, sizeof(f));
	r = aliases_expand(a, name, &out, &f);
	FUZZ_ASSERT(r == 0 || r == -1);
	if (r == -1) {
		check_failure(&f);
		addrlist_free(&out);
		return;
	}
	FUZZ_ASSERT(!failed(&f));
	if (out.n == 0 && !fuzz_known("aliases-nonempty"))
		fprintf(stderr, "aliases_expand(\"%s\") gave no address\n",
		    name);
	FUZZ_CHECK("aliases-nonempty", out.n > 0);
	for (i = 0; i < out.n; i++) {
		const char *spec = out.v[i].spec;
		bool ok = addr_check(spec, why, sizeof(why)) == 0 &&
		    !fuzz_has_ctl(spec);

		if (!ok && !fuzz_known("aliases-addr")) {
			fprintf(stderr, "aliases_expand(\"%s\"): %s\n", name,
			    why);
			fuzz_dump("address", spec, strlen(spec), 300);
		}
		FUZZ_CHECK("aliases-addr", ok);
		for (j = i + 1; j < out.n; j++)
			FUZZ_CHECK("aliases-unique", !addr_equal(spec,
			    out.v[j].spec));
	}
	if (strchr(name, '@') != NULL)
		FUZZ_CHECK("aliases-qualified", out.n == 1 &&
		    strcmp(out.v[0].spec, name) == 0);
	addrlist_free(&out);
}

static void
expand_table_name(const struct aliases *a, const char *name)
{
	char why[160];

	if (addr_check(name, why, sizeof(why)) == 0)
		expand_one(a, name);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	static const char *const fixed[] = { "root", "postmaster", "default",
	    "ROOT", "root@example.org" };
	struct aliases a;
	struct failure f;
	size_t i;
	int r;

	if (!ready) {
		setup();
		ready = true;
	}
	write_file(data, size);
	memset(&f, 0, sizeof(f));
	r = aliases_load(&a, path, &f);
	FUZZ_ASSERT(r == 0 || r == -1);
	if (r == -1) {
		check_failure(&f);
		aliases_free(&a);
		return 0;
	}
	FUZZ_ASSERT(!failed(&f));
	for (i = 0; i < a.n; i++) {
		FUZZ_ASSERT(a.names[i] != NULL && a.values[i] != NULL);
		FUZZ_CHECK("aliases-values", a.values[i][0] != '\0' &&
		    !fuzz_has_ctl(a.values[i]));
	}
	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		expand_one(&a, fixed[i]);
	if (a.n > 0) {
		/* Names from the table, as a recipient that passed add_list()
		 * (envelope.c) would be: those addr_check() refuses are not. */
		expand_table_name(&a, a.names[0]);
		expand_table_name(&a, a.names[a.n - 1]);
		expand_table_name(&a, a.names[size % a.n]);
	}
	aliases_free(&a);
	return 0;
}
