/* SPDX-License-Identifier: ISC */
/*
 * An entry goes with its configuration (CONTRACT section 7): the -C file
 * it was made with, by its absolute path, or none for the default files.
 * -q sends only the entries of the configuration it runs with, so a trial
 * with a broken -C file is never delivered later through another account.
 */
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "outbox.h"

/* realpath() when the file is there; else the path made absolute, so that
 * the same -C names the same entries before and after it is created. */
const char *
outbox_config_path(const char *file, char *dst, size_t size)
{
	char resolved[PATH_MAX], cwd[PATH_MAX];

	if (file == NULL)
		return NULL;
	if (realpath(file, resolved) != NULL)
		snprintf(dst, size, "%s", resolved);
	else if (*file == '/' || getcwd(cwd, sizeof(cwd)) == NULL)
		snprintf(dst, size, "%s", file);
	else
		snprintf(dst, size, "%s/%s", cwd, file);
	return dst;
}

bool
outbox_entry_system_only(const struct outbox_entry *x)
{
	return x->config != NULL && strcmp(x->config, config_system_path) == 0;
}

/* Root's default run sends the system file's entries too: what the
 * maildrop brought, which that file alone checked (CONTRACT 7). */
bool
outbox_entry_for_config(const struct outbox_entry *x, const char *config)
{
	if (config == NULL && geteuid() == 0 && outbox_entry_system_only(x))
		return true;
	if (x->config == NULL || config == NULL)
		return x->config == config;
	return strcmp(x->config, config) == 0;
}

/*
 * A file someone else could have written is not used to send: it may have
 * been replaced since (the same checks as for a file with secrets).
 */
const char *
outbox_config_problem(const struct outbox_entry *x, char *why, size_t size)
{
	struct stat st;

	if (x->config == NULL)
		return NULL;
	if (stat(x->config, &st) == -1)
		snprintf(why, size, "its configuration %s %s", x->config,
		    errno == ENOENT ? "no longer exists" : strerror(errno));
	else if (!S_ISREG(st.st_mode))
		snprintf(why, size, "its configuration %s is not a regular "
		    "file", x->config);
	else if (st.st_uid != geteuid() && st.st_uid != 0)
		snprintf(why, size, "its configuration %s is owned by another "
		    "user", x->config);
	else if (st.st_mode & (S_IWGRP | S_IWOTH))
		snprintf(why, size, "its configuration %s can be written by "
		    "others", x->config);
	else
		return NULL;
	return why;
}
