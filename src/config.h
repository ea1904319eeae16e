/* SPDX-License-Identifier: ISC */
/*
 * Configuration: msmtp's file syntax, accounts with inheritance, and the
 * typed settings one submission uses.
 */
#ifndef SMTPSEND_CONFIG_H
#define SMTPSEND_CONFIG_H

#include <stdbool.h>
#include <stdio.h>

#include "status.h"

enum key {
	K_HOST, K_PORT, K_TLS, K_TLS_STARTTLS, K_TLS_TRUST_FILE,
	K_TLS_FINGERPRINT, K_TLS_CERT_FILE, K_TLS_KEY_FILE, K_TLS_CERTCHECK,
	K_AUTH, K_USER, K_PASSWORD, K_PASSWORDEVAL, K_FROM, K_FROM_FULL_NAME,
	K_ALLOW_FROM_OVERRIDE, K_DOMAIN, K_TIMEOUT, K_DSN_NOTIFY, K_DSN_RETURN,
	K_SET_FROM_HEADER, K_SET_DATE_HEADER, K_SET_MSGID_HEADER,
	K_REMOVE_BCC_HEADERS, K_ALIASES, K_MAILDOMAIN, K_LOGFILE, K_SYSLOG,
	K_SOURCE_IP, K_PROXY_HOST, K_PROXY_PORT, K_OUTBOX, K_PARTIAL_DELIVERY,
	K_DEFERRED_STATUS, K_LOGFILE_TIME_FORMAT,
	K_OAUTH2_PROVIDER, K_OAUTH2_TOKEN_ENDPOINT, K_OAUTH2_DEVICE_ENDPOINT,
	K_OAUTH2_AUTH_ENDPOINT, K_OAUTH2_SCOPE, K_OAUTH2_CLIENT_ID,
	K_OAUTH2_CLIENT_SECRET, K_OAUTH2_CLIENT_SECRETEVAL, K_OAUTH2_TENANT,
	K_OAUTH2_GRANT, K_OAUTH2_REDIRECT_PORT, KEY_COUNT
};

/* One account: the raw value of each key, NULL when not set. */
struct account {
	char		*name;
	char		*value[KEY_COUNT];
	const char	*origin[KEY_COUNT];	/* the file that set each value */
	const char	*file;		/* where it was defined */
	int		 line;
};

struct config {
	struct account	*accounts;
	size_t		 naccounts;
	struct account	 defaults;	/* used when no account is defined */
	char		*files[2];	/* the files read, for messages */
	bool		 system_unreadable;	/* EACCES: root's credentials */
};

enum auth_mode {
	AUTH_OFF, AUTH_AUTO, AUTH_PLAIN, AUTH_LOGIN, AUTH_CRAM_MD5,
	AUTH_XOAUTH2, AUTH_OAUTHBEARER, AUTH_EXTERNAL
};
enum header_policy { HEADER_AUTO, HEADER_ON, HEADER_OFF };

/* What one submission uses: typed, defaults applied, checked. */
struct settings {
	const char	*account;
	const char	*host;		/* one, or several separated by spaces */
	unsigned	 port;
	bool		 tls;
	bool		 starttls;
	bool		 certcheck;
	const char	*trust_file;	/* NULL: the system store */
	const char	*fingerprint;	/* "AA:BB:..", 32 bytes, or NULL */
	const char	*cert_file;
	const char	*key_file;
	enum auth_mode	 auth;
	const char	*user;
	const char	*password;
	const char	*passwordeval;
	const char	*from;
	const char	*from_full_name;
	bool		 allow_from_override;
	const char	*domain;
	int		 timeout;	/* seconds; -1 when not set */
	const char	*dsn_notify;
	const char	*dsn_return;
	enum header_policy set_from_header;
	enum header_policy set_date_header;
	enum header_policy set_msgid_header;
	bool		 remove_bcc_headers;
	const char	*aliases;
	const char	*maildomain;
	const char	*logfile;
	int		 syslog_facility;	/* -1: off */
	const char	*source_ip;
	const char	*proxy_host;
	unsigned	 proxy_port;
	const char	*outbox;	/* NULL: the default; "off" */
	bool		 partial_delivery;
	int		 deferred_status;	/* 0, 75, or -1: by name */
	const char	*logfile_time_format;
	/* OAuth2 (CONTRACT section 11); NULL when not set. */
	const char	*oauth2_provider;	/* microsoft, google */
	const char	*oauth2_token_endpoint;
	const char	*oauth2_device_endpoint;
	const char	*oauth2_auth_endpoint;
	const char	*oauth2_scope;
	const char	*oauth2_client_id;
	const char	*oauth2_client_secret;	/* a secret */
	const char	*oauth2_client_secreteval;
	const char	*oauth2_tenant;
	const char	*oauth2_grant;	/* device, authcode, client_credentials */
	unsigned	 oauth2_redirect_port;	/* authcode's listener; 0: any */
};

/* `host a.example b.example`: the i-th (from 0) into dst; -1 past the
 * last. At most HOSTS_MAX. */
#define HOSTS_MAX	8
int	settings_host_at(const char *hosts, int i, char *dst, size_t size);

/* The key's name in files, "host" for K_HOST. */
const char *key_name(enum key);
/* Check a value for a key; NULL when fine, else a reason. */
const char *key_check(enum key, const char *value);
/* The key of a name, or -1. */
int	key_lookup(const char *name);
/* An on/off key (an empty value means on). */
bool	key_is_bool(enum key);
/* A key msmtp has and smtpsend reads past with a warning. */
bool	key_is_msmtp_only(const char *name);
/* The facility of "LOG_MAIL" ("on": LOG_MAIL), -1 for "off", -2 unknown. */
int	syslog_facility(const char *v);

/*
 * Read the system file and the user file (or `cfile` instead of the user
 * file). Errors go to `errs` one per line as FILE:LINE: message; returns 0,
 * or -1 with f set (exit 78) after reporting every error.
 */
int	config_load(struct config *, const char *cfile, FILE *errs,
	    struct failure *f);
/* The system file alone: what root uses for the maildrop's entries. */
int	config_load_system(struct config *, FILE *errs, struct failure *f);
void	config_free(struct config *);
const struct account *config_find(const struct config *, const char *name);
/* The account whose `from` matches the address (exact or *@domain). */
const struct account *config_match_from(const struct config *,
	    const char *address);

/*
 * Typed settings from an account (may be NULL) overlaid by command-line
 * values (`over`, indexed by key, NULL when not given). Strings point into
 * the account or `over`; both must outlive the settings.
 */
int	settings_resolve(struct settings *, const struct account *,
	    char *const over[KEY_COUNT], struct failure *f);

/*
 * What a calling program can make us do (CONTRACT section 8): credentials
 * go only to the host, port, proxy and TLS settings of the file that holds
 * them. A command-line value counts as another file's unless `person` (a
 * terminal). Fails with 78 naming the option or key.
 */
int	config_check_origins(const struct account *, char *const over[KEY_COUNT],
	    bool person, struct failure *f);

/* The user configuration file path (for messages and tests). */
int	config_user_path(char *dst, size_t size);
/* Every user file searched, in order, the recommended one first:
 * "/home/u/.config/smtpsend/config, /home/u/.smtpsendrc". */
int	config_user_candidates(char *dst, size_t size);
extern const char *config_system_path;

#endif
