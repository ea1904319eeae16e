/* SPDX-License-Identifier: ISC */
/*
 * config_load() on a file holding the input (mode 0600, ours), then
 * settings_resolve() for every account and for the defaults, with no
 * command-line overrides.
 *
 * When the input holds a NUL byte, what comes before the first one is the
 * system file (config_system_path, pointed at a second temporary file) and
 * the rest the user file: accounts of one replacing or inheriting those of
 * the other. Otherwise the system file does not exist.
 *
 * Invariants (names for SMTPSEND_FUZZ_KNOWN, see fuzz_common.h):
 *   config-values    after a successful load every value set anywhere
 *                    passes key_check() (no control characters included)
 *   config-accounts  accounts have names (no blank, ':' or ','), and
 *                    config_find() finds each one as itself
 *   config-settings  resolved settings of a valid file are in range: port
 *                    and proxy port 1..65535, timeout -1 or 1..86400, a
 *                    syslog facility or -1, a host when resolve succeeded
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "status.h"
#include "fuzz_common.h"

static char path[4096], syspath[4096], nopath[4096];
static FILE *devnull;

static void
cleanup(void)
{
	if (path[0] != '\0')
		unlink(path);
	if (syspath[0] != '\0')
		unlink(syspath);
}

static int
make_temp(char *dst, size_t size, const char *dir, const char *name)
{
	int fd;

	snprintf(dst, size, "%s/%s.XXXXXX", dir, name);
	if ((fd = mkstemp(dst)) == -1)
		return -1;
	close(fd);
	return chmod(dst, 0600);
}

static void
write_file(const char *p, const uint8_t *data, size_t size)
{
	int fd;

	if ((fd = open(p, O_WRONLY | O_TRUNC)) == -1 ||
	    (size > 0 && write(fd, data, size) != (ssize_t)size)) {
		perror("fuzz_config: writing the file");
		abort();
	}
	close(fd);
}

static int
setup(void)
{
	const char *dir = getenv("TMPDIR");

	if (dir == NULL || *dir != '/')
		dir = "/tmp";
	atexit(cleanup);
	if (make_temp(path, sizeof(path), dir, "fuzz_config") == -1 ||
	    make_temp(syspath, sizeof(syspath), dir, "fuzz_sysconfig") == -1)
		return -1;
	snprintf(nopath, sizeof(nopath), "%s.absent", syspath);
	if ((devnull = fopen("/dev/null", "w")) == NULL)
		return -1;
	return 0;
}

static void
check_account(const struct account *a, bool named)
{
	int k;

	for (k = 0; k < KEY_COUNT; k++) {
		const char *why;

		if (a->value[k] == NULL)
			continue;
		why = key_check((enum key)k, a->value[k]);
		if (why != NULL && !fuzz_known("config-values"))
			fprintf(stderr, "%s %s: %s\n", key_name((enum key)k),
			    a->value[k], why);
		FUZZ_CHECK("config-values", why == NULL);
	}
	if (named) {
		FUZZ_CHECK("config-accounts", a->name != NULL &&
		    a->name[0] != '\0' && strpbrk(a->name, " \t:,") == NULL);
	}
}

static void
check_settings(const struct account *a, bool valid)
{
	char *over[KEY_COUNT] = { NULL };
	struct settings s;
	struct failure f;
	int r;

	memset(&f, 0, sizeof(f));
	r = settings_resolve(&s, a, over, &f);
	FUZZ_ASSERT(r == 0 || r == -1);
	FUZZ_ASSERT(r == 0 ? !failed(&f) : failed(&f));
	if (!valid)
		return;
	if (r == -1) {
		FUZZ_CHECK("config-settings", status_exit(&f) == 78);
		return;
	}
	FUZZ_CHECK("config-settings", s.host != NULL &&
	    key_check(K_HOST, s.host) == NULL);
	FUZZ_CHECK("config-settings", s.port >= 1 && s.port <= 65535);
	FUZZ_CHECK("config-settings", s.proxy_port >= 1 &&
	    s.proxy_port <= 65535);
	FUZZ_CHECK("config-settings", s.timeout == -1 ||
	    (s.timeout >= 1 && s.timeout <= 86400));
	FUZZ_CHECK("config-settings", s.syslog_facility >= -1);
	FUZZ_CHECK("config-settings", s.fingerprint == NULL ||
	    strlen(s.fingerprint) == 95);
	FUZZ_CHECK("config-settings", s.auth >= AUTH_OFF &&
	    s.auth <= AUTH_EXTERNAL);
	FUZZ_CHECK("config-settings", s.auth == AUTH_OFF ||
	    s.auth == AUTH_EXTERNAL || s.user != NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct config c;
	struct failure f;
	const uint8_t *nul;
	size_t i;
	int r;
	bool valid;

	if (!ready) {
		if (setup() == -1) {
			perror("fuzz_config: setup");
			abort();
		}
		ready = true;
	}
	if ((nul = memchr(data, '\0', size)) != NULL) {
		write_file(syspath, data, (size_t)(nul - data));
		write_file(path, nul + 1, size - (size_t)(nul - data) - 1);
		config_system_path = syspath;
	} else {
		write_file(path, data, size);
		config_system_path = nopath;
	}

	memset(&f, 0, sizeof(f));
	r = config_load(&c, path, devnull, &f);
	FUZZ_ASSERT(r == 0 || r == -1);
	valid = r == 0;
	if (r == -1)
		FUZZ_ASSERT(failed(&f));
	for (i = 0; valid && i < c.naccounts; i++) {
		check_account(&c.accounts[i], true);
		FUZZ_CHECK("config-accounts", config_find(&c,
		    c.accounts[i].name) == &c.accounts[i]);
		if (c.accounts[i].value[K_FROM] != NULL)
			(void)config_match_from(&c,
			    c.accounts[i].value[K_FROM]);
	}
	if (valid)
		check_account(&c.defaults, false);
	for (i = 0; i < c.naccounts; i++)
		if (c.accounts[i].name != NULL)
			check_settings(&c.accounts[i], valid);
	check_settings(&c.defaults, valid);
	check_settings(NULL, valid);
	config_free(&c);
	return 0;
}
