/* SPDX-License-Identifier: ISC */
/*
 * OAuth2 for SMTP (CONTRACT section 11): the provider presets, the
 * access token of a submission (cached, refreshed or fetched with the
 * client's own credentials) and `smtpsend --authorize`. The requests are
 * in oauth2_http.c, the token file in oauth2_store.c, the client's
 * identity in a form in oauth2_client.c, the two interactive flows in
 * oauth2_device.c and oauth2_authcode.c.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harden.h"
#include "oauth2.h"
#include "oauth2_int.h"

#define MS_LOGIN	"https://login.microsoftonline.com/"
#define EARLY		60	/* seconds: a token this close to expiry is old */

struct preset {
	const char	*name;
	bool		 tenant;	/* the URLs are MS_LOGIN TENANT tail */
	const char	*device, *token, *auth;
	const char	*scope, *app_scope;	/* delegated, client_credentials */
	enum oauth2_grant grant;
};

static const struct preset presets[] = {
	{ "microsoft", true, "/oauth2/v2.0/devicecode", "/oauth2/v2.0/token",
	    "/oauth2/v2.0/authorize",
	    "offline_access https://outlook.office.com/SMTP.Send",
	    "https://outlook.office365.com/.default", GRANT_DEVICE },
	/* Google's device flow refuses mail scopes: no device endpoint. */
	{ "google", false, NULL, "https://oauth2.googleapis.com/token",
	    "https://accounts.google.com/o/oauth2/v2/auth",
	    "https://mail.google.com/", NULL, GRANT_AUTHCODE },
};

static const struct preset *
preset_of(const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < sizeof(presets) / sizeof(presets[0]);
	    i++)
		if (strcmp(presets[i].name, name) == 0)
			return &presets[i];
	return NULL;
}

bool
oauth2_configured(const struct settings *s)
{
	return s->oauth2_client_id != NULL;
}

/* A tenant goes into a URL: a name or GUID, nothing else. */
static bool
tenant_ok(const char *t)
{
	return *t != '\0' && strspn(t, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") == strlen(t);
}

static int
grant_of(const char *g, const struct preset *p, enum oauth2_grant *dst)
{
	if (g == NULL)
		*dst = p != NULL ? p->grant : GRANT_AUTHCODE;
	else if (strcmp(g, "device") == 0)
		*dst = GRANT_DEVICE;
	else if (strcmp(g, "authcode") == 0)
		*dst = GRANT_AUTHCODE;
	else if (strcmp(g, "client_credentials") == 0)
		*dst = GRANT_CLIENT_CREDENTIALS;
	else
		return -1;
	return 0;
}

/* An endpoint: the key's value, else the preset's. */
static int
endpoint(char *dst, const char *set, const struct preset *p,
    const char *tail, const char *tenant, struct failure *f)
{
	int n = 0;

	if (set != NULL)
		n = snprintf(dst, OAUTH2_URL_MAX, "%s", set);
	else if (p != NULL && tail != NULL && p->tenant)
		n = snprintf(dst, OAUTH2_URL_MAX, MS_LOGIN "%s%s", tenant, tail);
	else if (p != NULL && tail != NULL)
		n = snprintf(dst, OAUTH2_URL_MAX, "%s", tail);
	else
		*dst = '\0';
	if (n < 0 || n >= OAUTH2_URL_MAX) {
		fail(f, STAGE_NONE, CAUSE_CONFIG, 0, "oauth2: an endpoint URL "
		    "is too long");
		return -1;
	}
	return *dst != '\0' ? oauth2_url_check(dst, f) : 0;
}

/* What a preset and a grant cannot do together. */
static int
check_grant(const struct oauth2_conf *c, const struct preset *p,
    const char *tenant, struct failure *f)
{
	const char *why = NULL;

	if (p == NULL)
		return 0;
	if (strcmp(p->name, "google") == 0 && c->grant == GRANT_DEVICE)
		why = "Google's device flow refuses the mail scope: use "
		    "oauth2_grant authcode";
	else if (strcmp(p->name, "google") == 0 &&
	    c->grant == GRANT_CLIENT_CREDENTIALS)
		why = "Google has no client_credentials grant for Gmail: use "
		    "oauth2_grant authcode";
	else if (p->tenant && c->grant == GRANT_CLIENT_CREDENTIALS &&
	    (c->s->oauth2_tenant == NULL || strcmp(tenant, "common") == 0 ||
	    strcmp(tenant, "organizations") == 0))
		why = "client_credentials needs the directory's own "
		    "oauth2_tenant (its ID or domain), not common";
	if (why != NULL)
		fail(f, STAGE_NONE, CAUSE_CONFIG, 0, "oauth2 %s: %s",
		    c->account, why);
	return why != NULL ? -1 : 0;
}

int
oauth2_conf_init(struct oauth2_conf *c, const struct settings *s,
    struct failure *f)
{
	const struct preset *p = preset_of(s->oauth2_provider);
	const char *tenant = s->oauth2_tenant ? s->oauth2_tenant : "common";

	memset(c, 0, sizeof(*c));
	c->s = s;
	c->account = s->account != NULL ? s->account : "default";
	c->google = p != NULL && strcmp(p->name, "google") == 0;
	if (s->oauth2_client_id == NULL || *s->oauth2_client_id == '\0' ||
	    grant_of(s->oauth2_grant, p, &c->grant) == -1 ||
	    !tenant_ok(tenant)) {
		fail(f, STAGE_NONE, CAUSE_CONFIG, 0, "oauth2 %s: %s", c->account,
		    !tenant_ok(tenant) ? "oauth2_tenant is not a tenant name" :
		    s->oauth2_client_id == NULL || *s->oauth2_client_id == '\0' ?
		    "oauth2_client_id is not set" : "unknown oauth2_grant");
		return -1;
	}
	if (check_grant(c, p, tenant, f) == -1 ||
	    endpoint(c->token_url, s->oauth2_token_endpoint, p,
	    p ? p->token : NULL, tenant, f) == -1 ||
	    endpoint(c->device_url, s->oauth2_device_endpoint, p,
	    p ? p->device : NULL, tenant, f) == -1 ||
	    endpoint(c->auth_url, s->oauth2_auth_endpoint, p,
	    p ? p->auth : NULL, tenant, f) == -1)
		return -1;
	if (*c->token_url == '\0') {
		fail(f, STAGE_NONE, CAUSE_CONFIG, 0, "oauth2 %s: no token "
		    "endpoint: set oauth2_provider or oauth2_token_endpoint",
		    c->account);
		return -1;
	}
	c->scope = s->oauth2_scope != NULL ? s->oauth2_scope : p == NULL ?
	    NULL : c->grant == GRANT_CLIENT_CREDENTIALS ? p->app_scope :
	    p->scope;
	return 0;
}

void
oauth2_conf_free(struct oauth2_conf *c)
{
	buf_free_secret(&c->secret);
}

/* The refresh or client_credentials grant: the form for it. */
static int
grant_form(struct oauth2_conf *c, const struct oauth2_tokens *t,
    struct buf *form, struct failure *f)
{
	bool app = c->grant == GRANT_CLIENT_CREDENTIALS;

	if (app && c->s->oauth2_client_secret == NULL &&
	    c->s->oauth2_client_secreteval == NULL) {
		fail(f, STAGE_NONE, CAUSE_CONFIG, 0, "oauth2 %s: "
		    "client_credentials needs oauth2_client_secret or "
		    "oauth2_client_secreteval", c->account);
		return -1;
	}
	if (oauth2_form_add(form, "grant_type", app ? "client_credentials" :
	    "refresh_token") == -1 || (!app && oauth2_form_add(form,
	    "refresh_token", t->refresh_token) == -1) ||
	    (c->scope != NULL && oauth2_form_add(form, "scope",
	    c->scope) == -1)) {
		fail(f, STAGE_NONE, CAUSE_OSERR, 0, "oauth2: out of memory");
		return -1;
	}
	return oauth2_add_client(form, c, f);
}

/* Refresh or client_credentials; the new tokens stored before use. */
static int
grant(struct oauth2_conf *c, struct oauth2_tokens *t, struct failure *f)
{
	struct buf form = BUF_INIT;
	struct oauth2_reply r;
	long status;
	int rc = -1;

	if (grant_form(c, t, &form, f) == 0 &&
	    oauth2_post(c, c->token_url, &form, &r, &status, f) == 0) {
		if (oauth2_answered(c, c->grant == GRANT_CLIENT_CREDENTIALS ?
		    "the client credentials were" : "the refresh token was",
		    &r, status, f) == 0 &&
		    oauth2_take_tokens(c, &r, t, f) == 0 &&
		    oauth2_store_write(c->account, t, f) == 0)
			rc = 0;
		oauth2_reply_free(&r);
	}
	buf_free_secret(&form);
	return rc;
}

/*
 * The stored tokens as far as they may be used now (CONTRACT sections 8
 * and 11): 0 with an access token to use, 1 when a grant must be made
 * first (t holds the refresh token, if any), -1 when refused.
 */
static int
usable(const struct oauth2_conf *c, struct oauth2_tokens *t,
    struct failure *f)
{
	bool app = c->grant == GRANT_CLIENT_CREDENTIALS;
	int got = oauth2_store_read(c->account, t, f);
	enum oauth2_bound b;

	if (got == -1)
		return -1;
	b = got == 1 ? BOUND_EXACTLY : oauth2_tokens_bound(t, c->s,
	    c->token_url);
	if (b == BOUND_ELSEWHERE && !app) {
		fail(f, STAGE_NONE, CAUSE_CONFIG, 0, "oauth2 %s: the stored "
		    "tokens were issued for another token endpoint, client, "
		    "SMTP host or TLS setting: run smtpsend --authorize -a %s",
		    c->account, c->account);
		return -1;
	}
	/* An app simply fetches a token of its own; a refresh rebinds. */
	if (b != BOUND_EXACTLY && app)
		oauth2_tokens_free(t);
	else if (b != BOUND_EXACTLY) {
		oauth2_wipe(&t->access_token);
		t->expires_at = 0;
	}
	/* A cached token, good for more than a minute, else a new one. */
	if (t->access_token != NULL && t->expires_at - EARLY > time(NULL))
		return 0;
	if (!app && t->refresh_token == NULL) {
		fail(f, STAGE_NONE, CAUSE_TEMPORARY, 0, "oauth2 %s: not "
		    "authorized yet: run smtpsend --authorize -a %s",
		    c->account, c->account);
		f->act = true;		/* a person must run it */
		return -1;
	}
	return 1;
}

/*
 * A grant under the account's lock, with the store read again inside it:
 * of several sends at once, one refreshes and the others take its rotated
 * tokens (spending a refresh token twice makes providers revoke them all).
 */
static int
renew(struct oauth2_conf *c, struct oauth2_tokens *t, bool *fresh,
    struct failure *f)
{
	int lock = oauth2_store_lock(c->account, f), got = -1;

	if (lock == -1)
		return -1;
	oauth2_tokens_free(t);
	if ((got = usable(c, t, f)) == 1) {
		got = grant(c, t, f);
		*fresh = got == 0;
	}
	close(lock);
	return got;
}

static int
give(struct buf *token, const char *v, struct failure *f)
{
	if (buf_addstr(token, v) == -1) {
		fail_errno(f, CAUSE_OSERR, "oauth2");
		return -1;
	}
	return 0;
}

int
oauth2_access_token(const struct settings *s, struct buf *token,
    int verbose, struct failure *f)
{
	struct oauth2_conf c;
	struct oauth2_tokens t;
	bool fresh = false;
	int got, rc = -1;

	if (oauth2_conf_init(&c, s, f) == -1) {
		oauth2_conf_free(&c);
		return -1;
	}
	if ((got = usable(&c, &t, f)) == -1 ||
	    (got == 1 && renew(&c, &t, &fresh, f) == -1))
		goto out;
	if (verbose)	/* where it came from, never what it is */
		fprintf(stderr, "smtpsend: oauth2 %s: %s access token, good for "
		    "%lld more s\n", c.account, !fresh ? "the cached" :
		    c.grant == GRANT_CLIENT_CREDENTIALS ? "a client_credentials" :
		    "a refreshed", t.expires_at - (long long)time(NULL));
	rc = give(token, t.access_token, f);
out:
	oauth2_tokens_free(&t);
	oauth2_conf_free(&c);
	return rc;
}

/* --authorize for client_credentials: one token, to show it works. */
static int
authorize_app(struct oauth2_conf *c, FILE *out, struct failure *f)
{
	struct oauth2_tokens t;

	memset(&t, 0, sizeof(t));
	if (grant(c, &t, f) == -1) {
		oauth2_tokens_free(&t);
		return -1;
	}
	fprintf(out, "smtpsend: %s uses client_credentials, which needs no "
	    "authorization: a token was fetched and cached (valid for %lld "
	    "s)\n", c->account, t.expires_at - (long long)time(NULL));
	oauth2_tokens_free(&t);
	return 0;
}

/* The first tokens of a delegated grant: a refresh token is the point. */
static int
keep_first(struct oauth2_conf *c, struct oauth2_reply *r, FILE *out,
    struct failure *f)
{
	struct oauth2_tokens t;
	char dir[4096];
	int rc = -1;

	memset(&t, 0, sizeof(t));
	if (r->refresh_token == NULL)
		fail(f, STAGE_NONE, CAUSE_CONFIG, 0, "oauth2 %s: the provider "
		    "gave no refresh token (for Microsoft, oauth2_scope needs "
		    "offline_access)", c->account);
	else if (oauth2_take_tokens(c, r, &t, f) == 0 &&
	    oauth2_store_write(c->account, &t, f) == 0 &&
	    oauth2_store_dir(dir, sizeof(dir), f) == 0) {
		fprintf(out, "smtpsend: %s is authorized; its tokens are in "
		    "%s/%s\n", c->account, dir, c->account);
		rc = 0;
	}
	oauth2_tokens_free(&t);
	return rc;
}

int
oauth2_authorize(const struct settings *s, FILE *in, FILE *out,
    struct failure *f)
{
	struct oauth2_conf c;
	struct oauth2_reply r;
	int rc = -1;

	(void)in;	/* both flows end in a browser, not on this terminal */
	harden_nodump();	/* tokens and the client secret ahead */
	memset(&r, 0, sizeof(r));
	if (oauth2_conf_init(&c, s, f) == 0) {
		if (c.grant == GRANT_CLIENT_CREDENTIALS)
			rc = authorize_app(&c, out, f);
		else if ((c.grant == GRANT_DEVICE ? oauth2_device_flow(&c, out,
		    &r, f) : oauth2_authcode_flow(&c, out, &r, f)) == 0)
			rc = keep_first(&c, &r, out, f);
	}
	oauth2_reply_free(&r);
	oauth2_conf_free(&c);
	return rc;
}
