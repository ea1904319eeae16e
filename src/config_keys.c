/* SPDX-License-Identifier: ISC */
/*
 * The configuration keys (CONTRACT section 3): their names, what each may
 * hold, and the msmtp keys read past with a warning.
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

int
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

int
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
		else if (strlen(w) > 253)	/* DNS's limit, RFC 1035 */
			return "a host name is at most 253 characters";
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

bool
key_is_bool(enum key k)
{
	return keys[k].type == V_BOOL;
}

/* A key msmtp has and smtpsend reads past with a warning. */
bool
key_is_msmtp_only(const char *name)
{
	return word_in(name, msmtp_only_keys);
}
