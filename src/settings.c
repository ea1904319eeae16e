/* SPDX-License-Identifier: ISC */
/*
 * An account resolved into the settings a send uses: defaults, the checks
 * of combinations, and what a calling program may not redirect or weaken
 * (CONTRACT sections 3 and 8).
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
