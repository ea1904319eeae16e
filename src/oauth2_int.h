/* SPDX-License-Identifier: ISC */
/*
 * Inside the OAuth2 module (oauth2*.c): what its files share. The rest of
 * the library sees only oauth2.h. The parsers here are pure (bytes in,
 * structures out) so that tests/fuzz/fuzz_oauth2.c can drive them.
 */
#ifndef SMTPSEND_OAUTH2_INT_H
#define SMTPSEND_OAUTH2_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "buf.h"
#include "config.h"
#include "status.h"

#define OAUTH2_URL_MAX		1024
#define OAUTH2_REPLY_MAX	65536	/* bytes of an endpoint's answer */
#define OAUTH2_VALUE_MAX	16384	/* one token, code or URL */

enum oauth2_grant {
	GRANT_DEVICE, GRANT_AUTHCODE, GRANT_CLIENT_CREDENTIALS
};

/* One account's OAuth2 settings, presets applied (oauth2.c). */
struct oauth2_conf {
	const struct settings *s;
	const char	*account;	/* "default" when unnamed */
	enum oauth2_grant grant;
	bool		 google;	/* access_type=offline, prompt=consent */
	char		 token_url[OAUTH2_URL_MAX];
	char		 device_url[OAUTH2_URL_MAX];	/* "" when none */
	char		 auth_url[OAUTH2_URL_MAX];	/* "" when none */
	const char	*scope;		/* NULL: none sent */
	struct buf	 secret;	/* the client secret, once obtained */
	bool		 secret_done;
};

int	oauth2_conf_init(struct oauth2_conf *, const struct settings *,
	    struct failure *);
void	oauth2_conf_free(struct oauth2_conf *);
/* oauth2_client.c: client_id and, for a confidential client,
 * client_secret to a form. */
int	oauth2_add_client(struct buf *form, struct oauth2_conf *,
	    struct failure *);
/* The client secret (oauth2_client_secret or its eval), or "" if none. */
const char *oauth2_conf_secret(struct oauth2_conf *, struct failure *);

/*
 * oauth2_json.c: the JSON answer of a token or device endpoint. Every
 * string is checked: printable ASCII, no space in a token or code, at
 * most OAUTH2_VALUE_MAX. Missing fields are NULL (numbers -1).
 */
struct oauth2_reply {
	char		*error, *error_description;
	char		*access_token, *refresh_token, *device_code; /* secrets */
	char		*user_code, *verification_uri;
	char		*verification_uri_complete;
	long long	 expires_in, interval;
};

/* 0, or -1 with `why` (a static text) when it is not such an answer. */
int	oauth2_reply_parse(const char *body, size_t len, struct oauth2_reply *,
	    const char **why);
void	oauth2_reply_free(struct oauth2_reply *);

/*
 * oauth2_store.c: the token file of an account. `key value` lines; the
 * tokens are bound to what they were issued for (token endpoint, client
 * id, SMTP host and port), so that a configuration naming the same
 * account cannot send them elsewhere.
 */
struct oauth2_tokens {
	char		*refresh_token, *access_token;	/* secrets, or NULL */
	long long	 expires_at;	/* of the access token; 0: none */
	char		*token_endpoint, *client_id, *host, *port;
	/* How they travel: tls (tls, starttls or off) and certcheck (on,
	 * off) always, since this version; the trust file, the pin and the
	 * proxy (host:port) when set. */
	char		*tls, *certcheck, *trust_file, *fingerprint, *proxy;
};

/* Whether stored tokens may be used under the settings of now. */
enum oauth2_bound {
	BOUND_EXACTLY,		/* everything: the access token too */
	BOUND_TO_REFRESH,	/* same host, another port, TLS as safe: a
				 * refresh (or client_credentials) rebinds */
	BOUND_ELSEWHERE		/* the refresh token must not go */
};

int	oauth2_tokens_parse(const char *text, size_t len,
	    struct oauth2_tokens *, const char **why);
/* The file's text (a secret) for the tokens. */
int	oauth2_tokens_format(const struct oauth2_tokens *, struct buf *);
void	oauth2_tokens_free(struct oauth2_tokens *);
/* Record what the tokens are issued under (the settings, the token URL). */
int	oauth2_tokens_bind(struct oauth2_tokens *, const struct settings *,
	    const char *token_url);
enum oauth2_bound oauth2_tokens_bound(const struct oauth2_tokens *,
	    const struct settings *, const char *token_url);
/* The account's lock for a refresh (a file beside the token file, as
 * that one is replaced): an fd to close, or -1. Waits at most a minute. */
int	oauth2_store_lock(const char *account, struct failure *);
/* A safe file name: not empty, no '/', not starting with '.'. */
bool	oauth2_account_name_ok(const char *);
/* $XDG_STATE_HOME/smtpsend/oauth2 (root: /var/lib/smtpsend/oauth2). */
int	oauth2_store_dir(char *dst, size_t size, struct failure *);
/* 0 when read, 1 when there is no file yet, -1 (78) when it is unsafe. */
int	oauth2_store_read(const char *account, struct oauth2_tokens *,
	    struct failure *);
/* Atomically replace the file (temporary file, fsync, rename, dir fsync). */
int	oauth2_store_write(const char *account, const struct oauth2_tokens *,
	    struct failure *);

/* oauth2_http.c: a form POSTed over HTTPS, its JSON answer parsed. */
int	oauth2_form_add(struct buf *form, const char *name, const char *value);
/* 0 with the answer (and the HTTP status); -1 when there is none. */
int	oauth2_post(const struct oauth2_conf *, const char *url,
	    const struct buf *form, struct oauth2_reply *, long *status,
	    struct failure *);
/* http:// only to a loopback host; anything else than https is 78. */
int	oauth2_url_check(const char *url, struct failure *);
/* An error answer as a failure; `what` says which request it was. */
void	oauth2_fail_reply(const struct oauth2_conf *, const char *what,
	    const struct oauth2_reply *, long status, struct failure *);
/* 0 when a token endpoint answered with an access token, else the
 * failure its answer means. */
int	oauth2_answered(const struct oauth2_conf *, const char *what,
	    const struct oauth2_reply *, long status, struct failure *);
/* A token grant answered: the tokens to store (access token, expiry). */
int	oauth2_take_tokens(const struct oauth2_conf *, struct oauth2_reply *,
	    struct oauth2_tokens *, struct failure *);


/* oauth2_device.c and oauth2_authcode.c: --authorize's two flows; the
 * token answer in `got`. */
int	oauth2_device_flow(struct oauth2_conf *, FILE *out,
	    struct oauth2_reply *got, struct failure *);
int	oauth2_authcode_flow(struct oauth2_conf *, FILE *out,
	    struct oauth2_reply *got, struct failure *);

/* The value of `name` in the query string of the redirect the browser
 * brings back (any local program can send one), percent-decoded; NULL
 * when absent or when it would hold a control character. */
char	*oauth2_query_get(const char *q, size_t qlen, const char *name);

/* Free and wipe a string that held a secret. */
void	oauth2_wipe(char **);

#endif
