/* SPDX-License-Identifier: ISC */
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

enum vtype {
	V_STRING, V_HOST, V_PORT, V_BOOL, V_SECONDS, V_AUTH, V_ONOFF_AUTO,
	V_AUTO_OFF, V_NOTIFY, V_RETURN, V_SYSLOG, V_FINGERPRINT, V_FROM,
	V_DEFERRED, V_HOSTS, V_PROVIDER, V_URL, V_GRANT, V_TIMEFMT
};

struct keydef {
	const char	*name;
	enum vtype	 type;
};

static const struct keydef keys[KEY_COUNT] = {
	[K_HOST] = { "host", V_HOSTS },
	[K_PORT] = { "port", V_PORT },
	[K_TLS] = { "tls", V_BOOL },
	[K_TLS_STARTTLS] = { "tls_starttls", V_BOOL },
	[K_TLS_TRUST_FILE] = { "tls_trust_file", V_STRING },
	[K_TLS_FINGERPRINT] = { "tls_fingerprint", V_FINGERPRINT },
	[K_TLS_CERT_FILE] = { "tls_cert_file", V_STRING },
	[K_TLS_KEY_FILE] = { "tls_key_file", V_STRING },
	[K_TLS_CERTCHECK] = { "tls_certcheck", V_BOOL },
	[K_AUTH] = { "auth", V_AUTH },
	[K_USER] = { "user", V_STRING },
	[K_PASSWORD] = { "password", V_STRING },
	[K_PASSWORDEVAL] = { "passwordeval", V_STRING },
	[K_FROM] = { "from", V_FROM },
	[K_FROM_FULL_NAME] = { "from_full_name", V_STRING },
	[K_ALLOW_FROM_OVERRIDE] = { "allow_from_override", V_BOOL },
	[K_DOMAIN] = { "domain", V_HOST },
	[K_TIMEOUT] = { "timeout", V_SECONDS },
	[K_DSN_NOTIFY] = { "dsn_notify", V_NOTIFY },
	[K_DSN_RETURN] = { "dsn_return", V_RETURN },
	[K_SET_FROM_HEADER] = { "set_from_header", V_ONOFF_AUTO },
	[K_SET_DATE_HEADER] = { "set_date_header", V_AUTO_OFF },
	[K_SET_MSGID_HEADER] = { "set_msgid_header", V_AUTO_OFF },
	[K_REMOVE_BCC_HEADERS] = { "remove_bcc_headers", V_BOOL },
	[K_ALIASES] = { "aliases", V_STRING },
	[K_MAILDOMAIN] = { "maildomain", V_HOST },
	[K_LOGFILE] = { "logfile", V_STRING },
	[K_SYSLOG] = { "syslog", V_SYSLOG },
	[K_SOURCE_IP] = { "source_ip", V_HOST },
	[K_PROXY_HOST] = { "proxy_host", V_HOST },
	[K_PROXY_PORT] = { "proxy_port", V_PORT },
	[K_OUTBOX] = { "outbox", V_STRING },
	[K_PARTIAL_DELIVERY] = { "partial_delivery", V_BOOL },
	[K_DEFERRED_STATUS] = { "deferred_status", V_DEFERRED },
	[K_LOGFILE_TIME_FORMAT] = { "logfile_time_format", V_TIMEFMT },
	[K_OAUTH2_PROVIDER] = { "oauth2_provider", V_PROVIDER },
	[K_OAUTH2_TOKEN_ENDPOINT] = { "oauth2_token_endpoint", V_URL },
	[K_OAUTH2_DEVICE_ENDPOINT] = { "oauth2_device_endpoint", V_URL },
	[K_OAUTH2_AUTH_ENDPOINT] = { "oauth2_auth_endpoint", V_URL },
	[K_OAUTH2_SCOPE] = { "oauth2_scope", V_STRING },
	[K_OAUTH2_CLIENT_ID] = { "oauth2_client_id", V_STRING },
	[K_OAUTH2_CLIENT_SECRET] = { "oauth2_client_secret", V_STRING },
	[K_OAUTH2_CLIENT_SECRETEVAL] = { "oauth2_client_secreteval", V_STRING },
	[K_OAUTH2_TENANT] = { "oauth2_tenant", V_STRING },
	[K_OAUTH2_GRANT] = { "oauth2_grant", V_GRANT },
	[K_OAUTH2_REDIRECT_PORT] = { "oauth2_redirect_port", V_PORT },
};

/* msmtp keys we read past with a warning rather than an error. */
static const char *const msmtp_only_keys[] = {
	"add_missing_date_header", "add_missing_from_header", "auto_from",
	"eval", "keepbcc", "ntlmdomain", "protocol",
	"socket", "tls_crl_file", "tls_force_sslv3", "tls_host_override",
	"tls_min_dh_prime_bits", "tls_nocertcheck", "tls_priorities",
	"undisclosed_recipients", NULL
};

static const struct {
	const char	*name;
	int		 facility;
} facilities[] = {
	{ "LOG_MAIL", LOG_MAIL }, { "LOG_USER", LOG_USER },
	{ "LOG_LOCAL0", LOG_LOCAL0 }, { "LOG_LOCAL1", LOG_LOCAL1 },
	{ "LOG_LOCAL2", LOG_LOCAL2 }, { "LOG_LOCAL3", LOG_LOCAL3 },
	{ "LOG_LOCAL4", LOG_LOCAL4 }, { "LOG_LOCAL5", LOG_LOCAL5 },
	{ "LOG_LOCAL6", LOG_LOCAL6 }, { "LOG_LOCAL7", LOG_LOCAL7 },
};

const char *
key_name(enum key k)
{
	return keys[k].name;
}

static int
key_lookup(const char *name)
{
	int k;

	for (k = 0; k < KEY_COUNT; k++)
		if (strcmp(keys[k].name, name) == 0)
			return k;
	return -1;
}

static bool
word_in(const char *v, const char *const *words)
{
	for (; *words != NULL; words++)
		if (strcasecmp(v, *words) == 0)
			return true;
	return false;
}

static int
syslog_facility(const char *v)
{
	size_t i;

	if (strcasecmp(v, "on") == 0)
		return LOG_MAIL;
	if (strcasecmp(v, "off") == 0)
		return -1;
	for (i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++)
		if (strcasecmp(v, facilities[i].name) == 0)
			return facilities[i].facility;
	return -2;
}

/* "never" or any subset of success,failure,delay. */
static const char *
check_notify(const char *v)
{
	static const char *const words[] = { "success", "failure", "delay",
	    NULL };
	char copy[64], *w, *save;

	if (strcasecmp(v, "never") == 0)
		return NULL;
	if (strlcpy(copy, v, sizeof(copy)) >= sizeof(copy) || *v == '\0')
		return "must be never or a list of success, failure, delay";
	for (w = strtok_r(copy, ",", &save); w != NULL;
	    w = strtok_r(NULL, ",", &save))
		if (!word_in(w, words))
			return "must be never or a list of success, failure, "
			    "delay";
	return NULL;
}

/* 32 hex pairs with colons: the certificate's SHA-256 as msmtp writes it. */
static const char *
check_fingerprint(const char *v)
{
	int i;

	if (strlen(v) != 95)
		return "must be a SHA-256 fingerprint, 32 hex pairs separated "
		    "by colons";
	for (i = 0; i < 95; i++)
		if ((i % 3 == 2) ? v[i] != ':' : !isxdigit((unsigned char)v[i]))
			return "must be a SHA-256 fingerprint, 32 hex pairs "
			    "separated by colons";
	return NULL;
}

static const char *
check_number(const char *v, long long lo, long long hi, const char *what)
{
	const char *errstr;

	strtonum(v, lo, hi, &errstr);
	return errstr != NULL ? what : NULL;
}

/* "a.example b.example": tried in order (CONTRACT section 5). */
static const char *
check_hosts(const char *v)
{
	char copy[1024], *w, *save;
	int n = 0;

	if (*v == '\0' || strlcpy(copy, v, sizeof(copy)) >= sizeof(copy))
		return "must be one host name or several separated by spaces";
	for (w = strtok_r(copy, " \t", &save); w != NULL;
	    w = strtok_r(NULL, " \t", &save), n++)
		if (strpbrk(w, "/%@?#\\,;") != NULL || n >= HOSTS_MAX)
			return "must be one host name or several separated by "
			    "spaces (at most 8)";
	return n == 0 ? "must be a host name" : NULL;
}

static const char *
check_address(const char *v)
{
	static char why[160];

	if (*v == '\0')
		return NULL;
	return addr_check(v, why, sizeof(why)) == -1 ? why : NULL;
}

/* https only; http for a loopback test server, checked where it is
 * used. No blanks: it is one URL. */
static const char *
check_url(const char *v)
{
	return (strncmp(v, "https://", 8) == 0 || strncmp(v, "http://", 7) ==
	    0) && strpbrk(v, " \t") == NULL ? NULL : "must be an https:// URL";
}


/*
 * A strftime format and nothing else: its output lands in the log file's
 * bytes, so a file that is read as code (a .php in a web root) must never
 * get markup from it. Conversions (no %n or %t: one line per entry) and
 * letters, digits, space and -:/.,_+[] as literal text; 64 bytes at most.
 */
static const char *
check_time_format(const char *v)
{
	static const char conversions[] = "aAbBcCdDeFgGhHIjklmMpPrRsSTuUVwWxXyYzZ%";
	const char *why = "must be a strftime format: % conversions, letters, "
	    "digits, spaces and -:/.,_+[] only";

	if (strlen(v) > 64)
		return why;
	for (; *v != '\0'; v++) {
		if (*v == '%') {
			if (v[1] == 'E' || v[1] == 'O')
				v++;
			if (v[1] == '\0' || strchr(conversions, v[1]) == NULL)
				return why;
			v++;
		} else if (!isalnum((unsigned char)*v) &&
		    strchr(" -:/.,_+[]", *v) == NULL)
			return why;
	}
	return NULL;
}

const char *
key_check(enum key k, const char *v)
{
	static const char *const onoff[] = { "on", "off", NULL };
	static const char *const onoffauto[] = { "on", "off", "auto", NULL };
	static const char *const autooff[] = { "auto", "off", NULL };
	static const char *const auths[] = { "on", "off", "plain", "login",
	    "cram-md5", "xoauth2", "oauthbearer", "external", NULL };
	static const char *const returns[] = { "full", "hdrs", "headers",
	    NULL };
	static const char *const providers[] = { "microsoft", "google", NULL };
	static const char *const grants[] = { "device", "authcode",
	    "client_credentials", NULL };

	if (has_control(v, strlen(v)))
		return "control character in value";
	switch (keys[k].type) {
	case V_STRING:	return NULL;
	case V_FROM:	return check_address(v);
	case V_HOST:
		/* Also what libcurl would read as URL syntax: "x%20y" would
		 * reach EHLO as "x y". */
		return *v == '\0' || strpbrk(v, " \t/%@?#\\,;") != NULL ?
		    "must be a host name" : NULL;
	case V_PORT:
		return check_number(v, 1, 65535, "must be a port, 1 to 65535");
	case V_SECONDS:
		return check_number(v, 1, 86400,
		    "must be a number of seconds, 1 to 86400");
	case V_BOOL:
		return word_in(v, onoff) ? NULL : "must be on or off";
	case V_ONOFF_AUTO:
		return word_in(v, onoffauto) ? NULL : "must be auto, on or off";
	case V_AUTO_OFF:
		return word_in(v, autooff) ? NULL : "must be auto or off";
	case V_AUTH:
		return word_in(v, auths) ? NULL : "must be on, off, plain, "
		    "login, cram-md5, xoauth2, oauthbearer or external";
	case V_NOTIFY:	return check_notify(v);
	case V_RETURN:
		return word_in(v, returns) ? NULL : "must be full or hdrs";
	case V_SYSLOG:
		return syslog_facility(v) == -2 ? "must be on, off or a "
		    "facility such as LOG_MAIL" : NULL;
	case V_FINGERPRINT: return check_fingerprint(v);
	case V_HOSTS:	return check_hosts(v);
	case V_PROVIDER:
		return word_in(v, providers) ? NULL : "must be microsoft or "
		    "google";
	case V_GRANT:
		return word_in(v, grants) ? NULL : "must be device, authcode "
		    "or client_credentials";
	case V_URL:	return check_url(v);
	case V_TIMEFMT:	return check_time_format(v);
	case V_DEFERRED:
		return strcmp(v, "0") == 0 || strcmp(v, "75") == 0 ? NULL :
		    "must be 0 or 75";
	}
	return NULL;
}

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
		perr(p, "%s: ~/ but no home directory is known", keys[k].name);
		return 0;
	}
	if (asprintf(&v, "%s%s", home, rest) == -1)
		return -1;
	free(a->value[k]);
	a->value[k] = v;
	a->origin[k] = p->path;
	return 0;
}

static int
set_value(struct parser *p, int k, const char *value)
{
	struct account *a = p->cur != NULL ? p->cur : &p->defaults;
	const char *why;

	if (*value == '\0' && (keys[k].type == V_BOOL))
		value = "on";
	if ((why = key_check((enum key)k, value)) != NULL) {
		fprintf(p->errs, "smtpsend: %s:%d: %s: %s\n", p->path, p->line,
		    keys[k].name, why);
		p->errors++;
		return 0;
	}
	if (is_file_key(k) && strncmp(value, "~/", 2) == 0)
		return set_home_path(p, a, k, value + 1);
	if (is_secret(k)) {
		p->has_secret = true;
		harden_nodump();	/* before the secret is in memory */
		/* What the file is said to hold: what it holds. */
		if (p->secret_words == NULL || k == K_PASSWORD)
			p->secret_words = k == K_PASSWORD ? "a password" :
			    keys[k].name;
	}
	if ((k == K_PASSWORDEVAL || k == K_OAUTH2_CLIENT_SECRETEVAL ||
	    k == K_LOGFILE || k == K_OUTBOX) && p->writes == NULL)
		p->writes = keys[k].name;
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
	size_t i;

	suggest_init(&sg, key, strlen(key));
	for (i = 0; i < KEY_COUNT; i++)
		if (keys[i].name != NULL)
			suggest_try(&sg, keys[i].name);
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
	if ((k = key_lookup(key)) >= 0)
		return set_value(p, k, value);
	if (word_in(key, msmtp_only_keys)) {
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
 */
static void
check_writer_file(struct parser *p, const struct stat *st, bool system)
{
	if (p->writes == NULL || system ||
	    (st->st_uid == 0 && !(st->st_mode & S_IWOTH)))
		return;
	p->line = 0;
	if (st->st_uid != getuid() || (st->st_mode & (S_IWGRP | S_IWOTH)) ||
	    !inside_home(p->path))
		perr(p, "%s writes a file or runs a command, so it is honoured "
		    "only in /etc/smtpsend.conf, a file of root's, or a file in "
		    "your home that only you can write; refused", p->writes);
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
parse_file(struct config *c, const char *path, bool system, FILE *errs,
    int *errors)
{
	struct parser p = { .cfg = c, .path = path, .errs = errs,
	    .first = c->naccounts };
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

	if (xdg != NULL && *xdg == '/') {
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
	if (xdg != NULL && *xdg == '/')
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
	r = parse_file(c, c->files[0], true, errs, &errors);
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
		r = parse_file(c, c->files[1], false, errs, &errors);
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

static bool
is_on(const char *v, bool unset)
{
	return v == NULL ? unset : strcasecmp(v, "on") == 0;
}

static enum header_policy
policy(const char *v)
{
	if (v == NULL || strcasecmp(v, "auto") == 0)
		return HEADER_AUTO;
	return strcasecmp(v, "on") == 0 ? HEADER_ON : HEADER_OFF;
}

static enum auth_mode
auth_mode(const char *v, bool have_user)
{
	static const char *const names[] = { "off", "on", "plain", "login",
	    "cram-md5", "xoauth2", "oauthbearer", "external" };
	size_t i;

	if (v == NULL)
		return have_user ? AUTH_AUTO : AUTH_OFF;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(v, names[i]) == 0)
			return (enum auth_mode)i;
	return AUTH_AUTO;
}

/* localhost, 127.0.0.0/8 or ::1, written as an address (not a name). */
static bool
is_loopback(const char *host)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (strcmp(host, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return inet_pton(AF_INET6, host, &a6) == 1 &&
	    IN6_IS_ADDR_LOOPBACK(&a6);
}

static bool
all_loopback(const char *hosts)
{
	char host[256];
	int i;

	for (i = 0; settings_host_at(hosts, i, host, sizeof(host)) == 0; i++)
		if (!is_loopback(host))
			return false;
	return true;
}

int
settings_host_at(const char *hosts, int i, char *dst, size_t size)
{
	const char *p = hosts;
	size_t n;

	for (;;) {
		p += strspn(p, " \t");
		n = strcspn(p, " \t");
		if (n == 0)
			return -1;
		if (i-- == 0)
			break;
		p += n;
	}
	if (n >= size)
		return -1;
	memcpy(dst, p, n);
	dst[n] = '\0';
	return 0;
}

/* Combinations that no single value shows wrong. */
static int
settings_check(const struct settings *s, struct failure *f)
{
	if (s->host == NULL) {
		char user[8300];

		if (config_user_candidates(user, sizeof(user)) == -1)
			strlcpy(user, "~/.config/smtpsend/config",
			    sizeof(user));
		fail(f, STAGE_NONE, CAUSE_CONFIG, 0, "no smarthost: write "
		    "host (and from, user) in %.*s (see smtpsend(1), "
		    "CONFIGURATION); searched %s, then %s, or the file of -C",
		    (int)strcspn(user, ","), user, config_system_path, user);
		return -1;
	}
	if (s->auth != AUTH_OFF && s->auth != AUTH_EXTERNAL &&
	    s->user == NULL) {
		fail(f, STAGE_NONE, CAUSE_CONFIG, 0, "auth is on but no user "
		    "is set");
		return -1;
	}
	if (s->auth != AUTH_OFF && !s->tls && (!all_loopback(s->host) ||
	    (s->proxy_host != NULL && !is_loopback(s->proxy_host)))) {
		fail(f, STAGE_NONE, CAUSE_CONFIG, 0, "refusing to send "
		    "credentials to %s without TLS (tls is off)", s->host);
		return -1;
	}
	if ((s->key_file != NULL) != (s->cert_file != NULL)) {
		fail(f, STAGE_NONE, CAUSE_CONFIG, 0, "tls_cert_file and "
		    "tls_key_file go together");
		return -1;
	}
	return 0;
}

/* The OAuth2 keys (CONTRACT section 11), as they are. */
static void
settings_oauth2(struct settings *s, const char *const v[KEY_COUNT])
{
	s->oauth2_provider = v[K_OAUTH2_PROVIDER];
	s->oauth2_token_endpoint = v[K_OAUTH2_TOKEN_ENDPOINT];
	s->oauth2_device_endpoint = v[K_OAUTH2_DEVICE_ENDPOINT];
	s->oauth2_auth_endpoint = v[K_OAUTH2_AUTH_ENDPOINT];
	s->oauth2_scope = v[K_OAUTH2_SCOPE];
	s->oauth2_client_id = v[K_OAUTH2_CLIENT_ID];
	s->oauth2_client_secret = v[K_OAUTH2_CLIENT_SECRET];
	s->oauth2_client_secreteval = v[K_OAUTH2_CLIENT_SECRETEVAL];
	s->oauth2_tenant = v[K_OAUTH2_TENANT];
	s->oauth2_grant = v[K_OAUTH2_GRANT];
	/* Checked as a port when read: strtonum cannot fail here. */
	s->oauth2_redirect_port = v[K_OAUTH2_REDIRECT_PORT] != NULL ?
	    (unsigned)strtonum(v[K_OAUTH2_REDIRECT_PORT], 1, 65535, NULL) : 0;
}

int
settings_resolve(struct settings *s, const struct account *a,
    char *const over[KEY_COUNT], struct failure *f)
{
	const char *v[KEY_COUNT];
	const char *errstr;
	int k;

	for (k = 0; k < KEY_COUNT; k++)
		v[k] = over[k] != NULL ? over[k] :
		    a != NULL ? a->value[k] : NULL;
	memset(s, 0, sizeof(*s));
	s->account = a != NULL ? a->name : NULL;
	s->host = v[K_HOST];
	s->tls = is_on(v[K_TLS], true);
	s->starttls = is_on(v[K_TLS_STARTTLS], true);
	s->port = v[K_PORT] != NULL ? (unsigned)strtonum(v[K_PORT], 1, 65535,
	    &errstr) : s->tls && !s->starttls ? 465 : 587;
	s->certcheck = is_on(v[K_TLS_CERTCHECK], true);
	s->trust_file = v[K_TLS_TRUST_FILE] != NULL &&
	    strcmp(v[K_TLS_TRUST_FILE], "system") != 0 &&
	    *v[K_TLS_TRUST_FILE] != '\0' ? v[K_TLS_TRUST_FILE] : NULL;
	s->fingerprint = v[K_TLS_FINGERPRINT];
	s->cert_file = v[K_TLS_CERT_FILE];
	s->key_file = v[K_TLS_KEY_FILE];
	s->user = v[K_USER];
	s->auth = auth_mode(v[K_AUTH], s->user != NULL);
	s->password = v[K_PASSWORD];
	s->passwordeval = v[K_PASSWORDEVAL];
	s->from = v[K_FROM];
	s->from_full_name = v[K_FROM_FULL_NAME];
	s->allow_from_override = is_on(v[K_ALLOW_FROM_OVERRIDE], true);
	s->domain = v[K_DOMAIN];
	s->timeout = v[K_TIMEOUT] != NULL ? (int)strtonum(v[K_TIMEOUT], 1,
	    86400, &errstr) : -1;
	s->dsn_notify = v[K_DSN_NOTIFY];
	s->dsn_return = v[K_DSN_RETURN];
	s->set_from_header = policy(v[K_SET_FROM_HEADER]);
	s->set_date_header = policy(v[K_SET_DATE_HEADER]);
	s->set_msgid_header = policy(v[K_SET_MSGID_HEADER]);
	s->remove_bcc_headers = is_on(v[K_REMOVE_BCC_HEADERS], true);
	s->aliases = v[K_ALIASES];
	s->maildomain = v[K_MAILDOMAIN];
	s->logfile = v[K_LOGFILE];
	s->syslog_facility = v[K_SYSLOG] != NULL ?
	    syslog_facility(v[K_SYSLOG]) : LOG_MAIL;
	s->source_ip = v[K_SOURCE_IP];
	s->proxy_host = v[K_PROXY_HOST];
	s->proxy_port = v[K_PROXY_PORT] != NULL ? (unsigned)strtonum(
	    v[K_PROXY_PORT], 1, 65535, &errstr) : 1080;
	s->outbox = v[K_OUTBOX];
	s->partial_delivery = is_on(v[K_PARTIAL_DELIVERY], false);
	s->deferred_status = v[K_DEFERRED_STATUS] != NULL ?
	    atoi(v[K_DEFERRED_STATUS]) : -1;
	s->logfile_time_format = v[K_LOGFILE_TIME_FORMAT];
	settings_oauth2(s, v);
	return settings_check(s, f);
}

/* Where credentials go: change any of these and they go elsewhere. */
static const enum key destination_keys[] = {
	K_HOST, K_PORT, K_TLS, K_TLS_STARTTLS, K_TLS_TRUST_FILE,
	K_TLS_FINGERPRINT, K_TLS_CERTCHECK, K_AUTH, K_PROXY_HOST, K_PROXY_PORT,
	K_OAUTH2_TOKEN_ENDPOINT, K_OAUTH2_PROVIDER, K_OAUTH2_TENANT
};

static int
origin_refused(struct failure *f, const struct account *a, enum key k,
    bool option)
{
	char name[64], *p;

	/* The option is the key with '-' for '_': --tls-certcheck. */
	snprintf(name, sizeof(name), "%s%s", option ? "--" : "", key_name(k));
	for (p = name; option && *p != '\0'; p++)
		if (*p == '_')
			*p = '-';
	fail(f, STAGE_NONE, CAUSE_CONFIG, 0, "%s would send the stored "
	    "credentials of account %s elsewhere; refused (set it in the file "
	    "that holds them, or use -a with an account for that host)", name,
	    a->name != NULL ? a->name : "(defaults)");
	return -1;
}

int
config_check_origins(const struct account *a, char *const over[KEY_COUNT],
    bool person, struct failure *f)
{
	const char *home = NULL;
	size_t i;

	if (a == NULL)
		return 0;
	if (a->value[K_PASSWORD] != NULL)
		home = a->origin[K_PASSWORD];
	else if (a->value[K_PASSWORDEVAL] != NULL)
		home = a->origin[K_PASSWORDEVAL];
	else if (a->value[K_OAUTH2_CLIENT_SECRET] != NULL)
		home = a->origin[K_OAUTH2_CLIENT_SECRET];
	else if (a->value[K_OAUTH2_CLIENT_SECRETEVAL] != NULL)
		home = a->origin[K_OAUTH2_CLIENT_SECRETEVAL];
	else if (a->value[K_OAUTH2_CLIENT_ID] != NULL)
		/* Its secret is a stored token: guarded the same way. */
		home = a->origin[K_OAUTH2_CLIENT_ID];
	if (home == NULL)
		return 0;
	for (i = 0; i < sizeof(destination_keys) /
	    sizeof(destination_keys[0]); i++) {
		enum key k = destination_keys[i];

		if (over[k] != NULL && !person)
			return origin_refused(f, a, k, true);
		/* The system file is trusted more than the one with the
		 * secret: its host is the administrator's choice. */
		if (a->value[k] != NULL && a->origin[k] != home &&
		    strcmp(a->origin[k], config_system_path) != 0)
			return origin_refused(f, a, k, false);
	}
	return 0;
}
