/* SPDX-License-Identifier: ISC */
/*
 * Reading the configuration files (CONTRACT section 3): msmtp's syntax,
 * every error as FILE:LINE, the rules on who may have written a file that
 * holds secrets or writes files. The keys are config_keys.c; an account
 * resolved into settings is settings.c.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

#include "addr.h"
#include "buf.h"
#include "config.h"
#include "suggest.h"
#include "escape.h"
#include "harden.h"
#include "hostname.h"

const char *config_system_path = "/etc/smtpsend.conf";

/* Parsing state for one file. */
struct parser {
	struct config	*cfg;
	const char	*path;
	int		 line;
	int		 errors;
	FILE		*errs;
	struct account	 defaults;
	struct account	*cur;		/* NULL: the defaults section */
	size_t		 first;		/* index of this file's first account */
	bool		 has_secret;
	bool		 named;		/* given with -C */
	const char	*writes;	/* a key that writes or runs, or NULL */
	const char	*secret_words;	/* "a password", "passwordeval", ... */
};

static void
perr(struct parser *p, const char *fmt, const char *arg)
{
	/* Line 0: about the file as a whole. */
	if (p->line > 0)
		fprintf(p->errs, "smtpsend: %s:%d: ", p->path, p->line);
	else
		fprintf(p->errs, "smtpsend: %s: ", p->path);
	fprintf(p->errs, fmt, arg);
	fputc('\n', p->errs);
	p->errors++;
}

static void
account_clear(struct account *a)
{
	int k;

	free(a->name);
	for (k = 0; k < KEY_COUNT; k++)
		free(a->value[k]);
	memset(a, 0, sizeof(*a));
}

static bool
is_secret(int k)
{
	return k == K_PASSWORD || k == K_PASSWORDEVAL ||
	    k == K_OAUTH2_CLIENT_SECRET || k == K_OAUTH2_CLIENT_SECRETEVAL;
}

/*
 * Copy every value set in src over dst, with where it came from. A secret
 * never crosses into another file's account: `account evil : default` in a
 * -C file must not carry the system file's password to evil's host.
 */
static int
account_inherit(struct account *dst, const struct account *src,
    const char *dst_file)
{
	int k;

	for (k = 0; k < KEY_COUNT; k++) {
		if (src->value[k] == NULL || (is_secret(k) && dst_file != NULL &&
		    src->origin[k] != dst_file))
			continue;
		free(dst->value[k]);
		if ((dst->value[k] = strdup(src->value[k])) == NULL)
			return -1;
		dst->origin[k] = src->origin[k];
	}
	return 0;
}

static struct account *
find_in(struct account *v, size_t from, size_t n, const char *name)
{
	size_t i;

	for (i = from; i < n; i++)
		if (strcmp(v[i].name, name) == 0)
			return &v[i];
	return NULL;
}

/* "NAME" or "NAME : PARENT[,PARENT]" */
static int
start_account(struct parser *p, char *arg)
{
	struct config *c = p->cfg;
	char *colon = strchr(arg, ':'), *name = arg, *parent, *save;
	struct account *a, *v;

	if (colon != NULL)
		*colon = '\0';
	name[strcspn(name, " \t")] = '\0';
	if (*name == '\0' || strchr(name, ',') != NULL) {
		perr(p, "account needs a name%s", "");
		return 0;
	}
	if (find_in(c->accounts, p->first, c->naccounts, name) != NULL) {
		perr(p, "account %s defined twice", name);
		return 0;
	}
	if ((a = find_in(c->accounts, 0, c->naccounts, name)) != NULL) {
		/* A user-file account replaces the system one of that name. */
		account_clear(a);
	} else {
		v = reallocarray(c->accounts, c->naccounts + 1, sizeof(*v));
		if (v == NULL)
			return -1;
		c->accounts = v;
		a = &v[c->naccounts++];
		memset(a, 0, sizeof(*a));
	}
	if ((a->name = strdup(name)) == NULL ||
	    account_inherit(a, &p->defaults, p->path) == -1)
		return -1;
	a->file = p->path;
	a->line = p->line;
	p->cur = a;
	if (colon == NULL)
		return 0;
	for (parent = strtok_r(colon + 1, ", \t", &save); parent != NULL;
	    parent = strtok_r(NULL, ", \t", &save)) {
		const struct account *from =
		    find_in(c->accounts, 0, c->naccounts, parent);

		if (from == NULL || from == a)
			perr(p, "account %s is not defined before", parent);
		else if (account_inherit(a, from, p->path) == -1)
			return -1;
	}
	return 0;
}

/* A value, unquoted if it is in double quotes; NULL if malformed. */
static char *
unquote(char *v)
{
	char *r, *w;

	if (*v != '"')
		return v;
	for (r = v + 1, w = v; *r != '"'; r++, w++) {
		if (*r == '\0')
			return NULL;
		if (*r == '\\' && r[1] != '\0')
			r++;
		*w = *r;
	}
	if (r[1] != '\0')
		return NULL;
	*w = '\0';
	return v;
}

/* Keys naming a file: "~/" is the user's home there, as in msmtp. */
static bool
is_file_key(int k)
{
	return k == K_TLS_TRUST_FILE || k == K_TLS_CERT_FILE ||
	    k == K_TLS_KEY_FILE || k == K_ALIASES || k == K_LOGFILE ||
	    k == K_OUTBOX;
}

static int
set_home_path(struct parser *p, struct account *a, int k, const char *rest)
{
	const char *home = user_home();
	char *v;

	if (home == NULL) {
		perr(p, "%s: ~/ but no home directory is known", key_name((enum key)k));
		return 0;
	}
	if (asprintf(&v, "%s%s", home, rest) == -1)
		return -1;
	free(a->value[k]);
	a->value[k] = v;	/* the account's: account_clear frees it */
	/* NOLINTNEXTLINE(clang-analyzer-unix.Malloc): see above */
	a->origin[k] = p->path;
	return 0;
}

static int
set_value(struct parser *p, int k, const char *value)
{
	struct account *a = p->cur != NULL ? p->cur : &p->defaults;
	const char *why;

	if (*value == '\0' && (key_is_bool((enum key)k)))
		value = "on";
	if ((why = key_check((enum key)k, value)) != NULL) {
		fprintf(p->errs, "smtpsend: %s:%d: %s: %s\n", p->path, p->line,
		    key_name((enum key)k), why);
		p->errors++;
		return 0;
	}
	/* Before the ~/ branch returns: `logfile ~/x` writes a file too. */
	if ((k == K_PASSWORDEVAL || k == K_OAUTH2_CLIENT_SECRETEVAL ||
	    k == K_LOGFILE || k == K_OUTBOX) && p->writes == NULL)
		p->writes = key_name((enum key)k);
	if (is_file_key(k) && strncmp(value, "~/", 2) == 0)
		return set_home_path(p, a, k, value + 1);
	if (is_secret(k)) {
		p->has_secret = true;
		harden_nodump();	/* before the secret is in memory */
		/* What the file is said to hold: what it holds. */
		if (p->secret_words == NULL || k == K_PASSWORD)
			p->secret_words = k == K_PASSWORD ? "a password" :
			    key_name((enum key)k);
	}
	free(a->value[k]);
	a->origin[k] = p->path;
	return (a->value[k] = strdup(value)) == NULL ? -1 : 0;
}

/* An unknown key, with the known one it is a typo of (tls_trustfile). */
static void
unknown_key(struct parser *p, const char *key)
{
	struct suggest sg;
	const char *meant;
	char text[160];
	size_t i, n;

	suggest_init(&sg, key, strlen(key));
	for (i = 0; i < KEY_COUNT; i++)
		if (key_name((enum key)i) != NULL)
			suggest_try(&sg, key_name((enum key)i));
	/* `password=secret`, or a pasted secret on a line of its own: the
	 * line is not shown (these errors go to syslog too). */
	n = strspn(key, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-");
	if (n > 0 && n <= 64 && (key[n] == '=' || key[n] == ':')) {
		snprintf(text, sizeof(text), "unknown key %.*s%c...: a key and "
		    "its value are separated by a space", (int)n, key, key[n]);
		perr(p, "%s", text);
		return;
	}
	if (key[n] != '\0' || n > 64) {
		perr(p, "%s", "this line starts with no key name (not shown: "
		    "it may hold a secret)");
		return;
	}
	if ((meant = suggest_best(&sg)) == NULL) {
		perr(p, "unknown key %.64s", key);
		return;
	}
	snprintf(text, sizeof(text), "unknown key %.64s (did you mean %s?)",
	    key, meant);
	perr(p, "%s", text);
}

static int
parse_line(struct parser *p, char *line)
{
	char *key, *value;
	int k;

	line[strcspn(line, "\r\n")] = '\0';
	key = line + strspn(line, " \t");
	if (*key == '\0' || *key == '#')
		return 0;
	value = key + strcspn(key, " \t");
	if (*value != '\0')
		*value++ = '\0';
	value += strspn(value, " \t");
	while (*value != '\0' && strchr(" \t", value[strlen(value) - 1]))
		value[strlen(value) - 1] = '\0';
	if (strcmp(key, "defaults") == 0) {
		p->cur = NULL;
		return 0;
	}
	if (strcmp(key, "account") == 0)
		return start_account(p, value);
	if ((value = unquote(value)) == NULL) {
		perr(p, "%s: unterminated quoted value", key);
		return 0;
	}
	/* key_lookup gives -1 or a key below KEY_COUNT; the bound is for the
	 * analyzer, which cannot see into config_keys.c. */
	if ((k = key_lookup(key)) >= 0 && k < KEY_COUNT)
		return set_value(p, k, value);
	if (key_is_msmtp_only(key)) {
		fprintf(p->errs, "smtpsend: %s:%d: warning: msmtp key %s is not "
		    "supported and is ignored\n", p->path, p->line, key);
	} else
		unknown_key(p, key);
	return 0;
}

/*
 * A program's upload directory (/tmp) can hold a file of the caller's that
 * the caller never wrote: a command runs only from a file in the home.
 */
static bool
inside_home(const char *path)
{
	const char *home = user_home();
	char real[PATH_MAX], rhome[PATH_MAX];
	size_t n;

	if (home == NULL || realpath(path, real) == NULL ||
	    realpath(home, rhome) == NULL)
		return false;
	n = strlen(rhome);
	return strcmp(rhome, "/") != 0 && strncmp(real, rhome, n) == 0 &&
	    real[n] == '/';
}

/* ~/.msmtprc and the other names a configuration has in the home: files
 * a person wrote, never an upload's name (CONTRACT 3: an existing
 * ~/.msmtprc works with -C). */
static bool
home_config_name(const char *path)
{
	static const char *const names[] = { ".msmtprc",
	    ".config/msmtp/config", ".smtpsendrc", ".config/smtpsend/config" };
	const char *home = user_home();
	char real[PATH_MAX], rhome[PATH_MAX], want[PATH_MAX * 2];
	size_t i;

	if (home == NULL || realpath(path, real) == NULL ||
	    realpath(home, rhome) == NULL)
		return false;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(want, sizeof(want), "%s/%s", rhome, names[i]);
		if (strcmp(real, want) == 0)
			return true;
	}
	return false;
}

/*
 * Secrets only in a file nobody else can read or change: owned by us (or
 * root for the system file), no access for others (and no group write).
 */
static void
check_secret_file(struct parser *p, int fd, bool system)
{
	struct stat st;
	mode_t forbidden = system ? (S_IWGRP | S_IRWXO) : (S_IRWXG | S_IRWXO);

	if (fstat(fd, &st) == -1) {
		perr(p, "%s", strerror(errno));
		return;
	}
	p->line = 0;
	if (st.st_uid != getuid() && !(system && st.st_uid == 0))
		perr(p, "holds %s but is owned by another user; it must be "
		    "yours", p->secret_words);
	else if (st.st_mode & forbidden)
		perr(p, "holds %s but others can access it; run chmod 600 on "
		    "it", p->secret_words);
}

/*
 * The keys that write files or run commands (CONTRACT section 8) only
 * from a file nobody else can have written: the system file, a file of
 * root's that others cannot write, or the caller's own inside the
 * caller's home, writable by nobody else. A caller's file in /tmp or an
 * upload directory may hold what a web form put there (CVE-2016-10033).
 * www-data's home is /var/www, web root and uploads included, and an
 * upload is 0644: a -C file must also be one only its owner can read,
 * unless it is one of the home's configuration files (~/.msmtprc).
 */
static void
check_writer_file(struct parser *p, const struct stat *st, bool system)
{
	mode_t others = p->named && !home_config_name(p->path) ?
	    S_IRWXG | S_IRWXO : S_IWGRP | S_IWOTH;

	if (p->writes == NULL || system ||
	    (st->st_uid == 0 && !(st->st_mode & S_IWOTH)))
		return;
	p->line = 0;
	if (st->st_uid != getuid() || (st->st_mode & others) ||
	    !inside_home(p->path))
		perr(p, "%s writes a file or runs a command, so it is honoured "
		    "only in /etc/smtpsend.conf, a file of root's, or a file in "
		    "your home that only you can write (for -C, only you can "
		    "read: chmod 600); refused", p->writes);
}

/* Bigger is no configuration file: -C /dev/zero is refused at once. */
#define CONFIG_MAX	(1024 * 1024)

/* A regular file of bounded size, opened without blocking on a FIFO. */
static FILE *
open_config(struct parser *p, struct stat *st)
{
	int fd = open(p->path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	FILE *fp;

	if (fd == -1)
		return NULL;
	if (fstat(fd, st) == -1 || !S_ISREG(st->st_mode) ||
	    st->st_size > CONFIG_MAX) {
		perr(p, "%s", S_ISREG(st->st_mode) ? "larger than 1 MiB; not a "
		    "configuration file" : "not a regular file");
		close(fd);
		errno = 0;
		return NULL;
	}
	if ((fp = fdopen(fd, "r")) == NULL)
		close(fd);
	return fp;
}

static int
parse_file(struct config *c, const char *path, bool system, bool named,
    FILE *errs, int *errors)
{
	struct parser p = { .cfg = c, .path = path, .errs = errs,
	    .first = c->naccounts, .named = named };
	char *line = NULL;
	size_t cap = 0, total = 0;
	struct stat st;
	ssize_t n;
	int r = 0;
	FILE *fp;

	if ((fp = open_config(&p, &st)) == NULL) {
		*errors += p.errors;
		return errno == 0 ? 0 : -1;
	}
	while (r == 0 && (n = getline(&line, &cap, fp)) != -1) {
		/* It may grow while read: no further than its limit. */
		if ((total += (size_t)n) > CONFIG_MAX) {
			perr(&p, "larger than 1 MiB%s", "; not a configuration "
			    "file");
			break;
		}
		p.line++;
		r = parse_line(&p, line);
	}
	if (r == 0 && ferror(fp)) {
		perr(&p, "read error: %s", strerror(errno));
	}
	if (r == 0 && p.has_secret)
		check_secret_file(&p, fileno(fp), system);
	if (r == 0)
		check_writer_file(&p, &st, system);
	free(line);
	fclose(fp);
	/* Without any account, the defaults are what there is to use. */
	if (r == 0 && account_inherit(&c->defaults, &p.defaults, NULL) == -1)
		r = -1;
	account_clear(&p.defaults);
	*errors += p.errors;
	return r == -1 ? -2 : 0;
}

int
config_user_path(char *dst, size_t size)
{
	const char *xdg = user_env("XDG_CONFIG_HOME"), *home = user_home();
	char path[4096];

	if (user_own_dir(xdg)) {
		snprintf(path, sizeof(path), "%s/smtpsend/config", xdg);
		if (access(path, F_OK) == 0)
			return strlcpy(dst, path, size) < size ? 0 : -1;
	}
	if (home == NULL || *home != '/')
		return -1;
	snprintf(path, sizeof(path), "%s/.config/smtpsend/config", home);
	if (access(path, F_OK) == 0)
		return strlcpy(dst, path, size) < size ? 0 : -1;
	snprintf(dst, size, "%s/.smtpsendrc", home);
	return 0;
}

int
config_user_candidates(char *dst, size_t size)
{
	const char *xdg = user_env("XDG_CONFIG_HOME"), *home = user_home();
	bool have_home = home != NULL && *home == '/';

	*dst = '\0';
	if (user_own_dir(xdg))
		snprintf(dst, size, "%s/smtpsend/config%s", xdg,
		    have_home ? ", " : "");
	if (have_home)
		snprintf(dst + strlen(dst), size - strlen(dst), "%s/.config/"
		    "smtpsend/config, %s/.smtpsendrc", home, home);
	return *dst != '\0' ? 0 : -1;
}

static int
load(struct config *c, const char *cfile, bool system_only, FILE *errs,
    struct failure *f)
{
	char user[4096];
	int errors = 0, r;

	memset(c, 0, sizeof(*c));
	if ((c->files[0] = strdup(config_system_path)) == NULL)
		goto nomem;
	r = parse_file(c, c->files[0], true, false, errs, &errors);
	if (r == -2)
		goto nomem;
	if (r == -1 && errno == EACCES)
		c->system_unreadable = true;	/* the maildrop's case */
	else if (r == -1 && errno != ENOENT) {
		fprintf(errs, "smtpsend: %s: %s\n", c->files[0],
		    strerror(errno));
		errors++;
	}
	if (cfile == NULL && config_user_path(user, sizeof(user)) == -1)
		user[0] = '\0';
	if (system_only)
		user[0] = '\0';
	if (cfile != NULL || user[0] != '\0') {
		if ((c->files[1] = strdup(cfile ? cfile : user)) == NULL)
			goto nomem;
		r = parse_file(c, c->files[1], false, cfile != NULL, errs,
		    &errors);
		if (r == -2)
			goto nomem;
		if (r == -1 && (cfile != NULL || errno != ENOENT)) {
			fprintf(errs, "smtpsend: %s: %s\n", c->files[1],
			    strerror(errno));
			errors++;
		}
	}
	/* Root's file with the credentials is not for us: only an error when
	 * ours does not name a smarthost of its own. */
	if (errors == 0 && c->system_unreadable && c->naccounts == 0 &&
	    c->defaults.value[K_HOST] == NULL) {
		fail(f, STAGE_NONE, CAUSE_CONFIG, 0, "cannot read %s: "
		    "Permission denied", c->files[0]);
		return -1;
	}
	if (errors == 0)
		return 0;
	fail(f, STAGE_NONE, CAUSE_CONFIG, 0, "%d error%s in the configuration",
	    errors, errors == 1 ? "" : "s");
	return -1;
nomem:
	fail_errno(f, CAUSE_OSERR, "reading the configuration");
	return -1;
}

int
config_load(struct config *c, const char *cfile, FILE *errs, struct failure *f)
{
	return load(c, cfile, false, errs, f);
}

int
config_load_system(struct config *c, FILE *errs, struct failure *f)
{
	return load(c, NULL, true, errs, f);
}

void
config_free(struct config *c)
{
	size_t i;

	for (i = 0; i < c->naccounts; i++)
		account_clear(&c->accounts[i]);
	free(c->accounts);
	account_clear(&c->defaults);
	free(c->files[0]);
	free(c->files[1]);
	memset(c, 0, sizeof(*c));
}

const struct account *
config_find(const struct config *c, const char *name)
{
	return find_in(c->accounts, 0, c->naccounts, name);
}

const struct account *
config_match_from(const struct config *c, const char *address)
{
	const char *dom = addr_domain(address), *from;
	size_t i;

	for (i = 0; i < c->naccounts; i++) {
		from = c->accounts[i].value[K_FROM];
		if (from != NULL && addr_equal(from, address))
			return &c->accounts[i];
	}
	for (i = 0; dom != NULL && i < c->naccounts; i++) {
		from = c->accounts[i].value[K_FROM];
		if (from != NULL && strncmp(from, "*@", 2) == 0 &&
		    strcasecmp(from + 2, dom) == 0)
			return &c->accounts[i];
	}
	return NULL;
}
