/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aliases.h"
#include "escape.h"

#define ALIAS_DEPTH_MAX	16

static int
add_alias(struct aliases *a, const char *name, const char *value)
{
	char **n, **v;

	if ((n = reallocarray(a->names, a->n + 1, sizeof(*n))) == NULL)
		return -1;
	a->names = n;
	if ((v = reallocarray(a->values, a->n + 1, sizeof(*v))) == NULL)
		return -1;
	a->values = v;
	if ((n[a->n] = strdup(name)) == NULL)
		return -1;
	if ((v[a->n] = strdup(value)) == NULL) {
		free(n[a->n]);
		return -1;
	}
	a->n++;
	return 0;
}

/* "name: list"; returns 0, or -1 with why set. */
static int
parse_alias_line(struct aliases *a, char *line, const char **why)
{
	char *colon, *name, *value, *end;

	line[strcspn(line, "\r\n")] = '\0';
	name = line + strspn(line, " \t");
	if (*name == '\0' || *name == '#')
		return 0;
	if ((colon = strchr(name, ':')) == NULL) {
		*why = "expected 'name: address, ...'";
		return -1;
	}
	*colon = '\0';
	for (end = colon; end > name && strchr(" \t", end[-1]); end--)
		end[-1] = '\0';
	value = colon + 1 + strspn(colon + 1, " \t");
	if (*name == '\0' || *value == '\0' || has_control(value,
	    strlen(value))) {
		*why = "expected 'name: address, ...'";
		return -1;
	}
	if (add_alias(a, name, value) == -1) {
		*why = strerror(errno);
		return -1;
	}
	return 0;
}

int
aliases_load(struct aliases *a, const char *path, struct failure *f)
{
	const char *why = NULL;
	char *line = NULL;
	size_t cap = 0;
	int lineno = 0;
	FILE *fp;

	memset(a, 0, sizeof(*a));
	if ((fp = fopen(path, "re")) == NULL) {
		fail_errno(f, CAUSE_CONFIG, "aliases file %s", path);
		return -1;
	}
	while (getline(&line, &cap, fp) != -1) {
		lineno++;
		if (parse_alias_line(a, line, &why) == -1)
			break;
	}
	free(line);
	fclose(fp);
	if (why != NULL) {
		fail(f, STAGE_NONE, CAUSE_CONFIG, 0, "%s:%d: %s", path, lineno,
		    why);
		aliases_free(a);	/* what was read before the error */
		return -1;
	}
	return 0;
}

static const char *
lookup(const struct aliases *a, const char *name)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		if (strcasecmp(a->names[i], name) == 0)
			return a->values[i];
	return NULL;
}

/* The names being expanded, outermost first: a loop ends at a repeat.
 * `steps` bounds the whole walk: a fan-out (a: b, b, b, b ...) would
 * otherwise take exponential time. */
#define ALIAS_STEPS_MAX	10000

struct path {
	const char	*names[ALIAS_DEPTH_MAX];
	int		 depth;
	int		 steps;
};

static bool
on_path(const struct path *p, const char *name)
{
	int i;

	for (i = 0; i < p->depth; i++)
		if (strcasecmp(p->names[i], name) == 0)
			return true;
	return false;
}

static int
expand(const struct aliases *a, const char *name, struct addrlist *out,
    struct path *p, bool use_default, struct failure *f)
{
	struct addrlist l = { 0 };
	const char *value = NULL;
	char why[160] = "";
	size_t i;
	int r = -1;

	if (strchr(name, '@') == NULL && !on_path(p, name)) {
		value = lookup(a, name);
		if (value == NULL && use_default)
			value = lookup(a, "default");
	}
	if (++p->steps > ALIAS_STEPS_MAX) {
		fail(f, STAGE_NONE, CAUSE_CONFIG, 0, "aliases: %s expands to "
		    "too many names", name);
		return -1;
	}
	if (value == NULL || p->depth >= ALIAS_DEPTH_MAX) {
		/* What the table gives is checked as an argument would be. */
		if (addr_check(name, why, sizeof(why)) == -1) {
			fail(f, STAGE_NONE, CAUSE_CONFIG, 0, "aliases: '%s': %s",
			    name, why);
			return -1;
		}
		return addrlist_add_unique(out, name) == -1 ? -1 : 0;
	}
	if (addrlist_parse(&l, value, why, sizeof(why)) == -1 || l.n == 0) {
		fail(f, STAGE_NONE, CAUSE_CONFIG, 0, "aliases: %s: %s", name,
		    l.n == 0 && why[0] == '\0' ? "stands for no address" : why);
		addrlist_free(&l);
		return -1;
	}
	p->names[p->depth++] = name;
	for (i = 0; i < l.n; i++)
		if (expand(a, l.v[i].spec, out, p, lookup(a, name) != NULL, f)
		    == -1)
			goto out;
	r = 0;
out:
	p->depth--;
	addrlist_free(&l);
	return r;
}

int
aliases_expand(const struct aliases *a, const char *name,
    struct addrlist *out, struct failure *f)
{
	struct path p = { { NULL }, 0, 0 };

	return expand(a, name, out, &p, true, f);
}

bool
aliases_has(const struct aliases *a, const char *name)
{
	return lookup(a, name) != NULL;
}

void
aliases_free(struct aliases *a)
{
	size_t i;

	for (i = 0; i < a->n; i++) {
		free(a->names[i]);
		free(a->values[i]);
	}
	free(a->names);
	free(a->values);
	memset(a, 0, sizeof(*a));
}
