/* SPDX-License-Identifier: ISC */
/*
 * The HTTPS requests of OAuth2: a form POSTed to a token or device
 * endpoint, the JSON answer bounded and parsed, its error mapped to one
 * failure. An easy handle of its own per request, never the SMTP one.
 * Nothing here prints: libcurl's verbose mode would show the form, which
 * holds the client secret and the refresh token.
 */
#include <arpa/inet.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "oauth2_int.h"

#define DEFAULT_TIMEOUT	30	/* seconds, when `timeout` is not set */
#define DEFAULT_EXPIRY	3600	/* an answer without expires_in */

static bool
host_is_loopback(const char *host)
{
	char v6[64];
	struct in_addr a4;
	struct in6_addr a6;
	size_t n = strlen(host);

	if (strcasecmp(host, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (n < 3 || n - 2 >= sizeof(v6) || host[0] != '[' ||
	    host[n - 1] != ']')
		return false;
	memcpy(v6, host + 1, n - 2);
	v6[n - 2] = '\0';
	return inet_pton(AF_INET6, v6, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

/* 1: plain http to loopback, 0: https, -1 (78): anything else. */
static int
url_kind(const char *url, struct failure *f)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL;
	int kind = -1;

	if (u != NULL && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
		if (strcmp(scheme, "https") == 0)
			kind = 0;
		else if (strcmp(scheme, "http") == 0 && host_is_loopback(host))
			kind = 1;
		else
			fail(f, STAGE_NONE, CAUSE_CONFIG, 0, "oauth2: %s: plain "
			    "http only to a loopback address; use https", url);
	} else {
		fail(f, STAGE_NONE, CAUSE_CONFIG, 0, "oauth2: %s is not a "
		    "URL", url);
	}
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return kind;
}

int
oauth2_url_check(const char *url, struct failure *f)
{
	return url_kind(url, f) == -1 ? -1 : 0;
}

int
oauth2_form_add(struct buf *form, const char *name, const char *value)
{
	/* Since curl 7.82 the handle is not used: NULL is fine. */
	char *v = curl_easy_escape(NULL, value, 0);
	int rc;

	if (v == NULL)
		return -1;
	rc = buf_printf(form, "%s%s=%s", form->len ? "&" : "", name, v);
	explicit_bzero(v, strlen(v));
	curl_free(v);
	return rc;
}

struct sink {
	struct buf	*body;
	bool		 over;
};

static size_t
on_data(char *p, size_t size, size_t n, void *arg)
{
	struct sink *k = arg;

	if (k->body->len + n > OAUTH2_REPLY_MAX ||
	    buf_add(k->body, p, n) == -1) {
		k->over = true;
		return 0;	/* libcurl stops with CURLE_WRITE_ERROR */
	}
	return size * n;
}

static CURLcode
setup(CURL *h, const struct oauth2_conf *c, const char *url, bool plain,
    const struct buf *form, struct curl_slist *hdr, struct sink *k)
{
	long t = c->s->timeout > 0 ? c->s->timeout : DEFAULT_TIMEOUT;
	CURLcode rc;

	rc = curl_easy_setopt(h, CURLOPT_URL, url);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR,
		    plain ? "http" : "https");
	if (rc == CURLE_OK && plain)	/* tests on loopback: no proxy */
		rc = curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_CAINFO, c->s->trust_file);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_CAPATH, c->s->trust_file ?
		    NULL : "/etc/ssl/certs");
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, t);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_TIMEOUT, 2 * t);
	if (rc == CURLE_OK)	/* not copied: we wipe it afterwards */
		rc = curl_easy_setopt(h, CURLOPT_POSTFIELDS, form->data);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)form->len);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_USERAGENT, "smtpsend");
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_WRITEDATA, k);
	return rc;
}

/* libcurl's words for the usual failures are long; ours are short. */
static const char *
curl_words(CURLcode rc, const char *errbuf)
{
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
		return "connection refused or no route";
	case CURLE_COULDNT_RESOLVE_HOST:
		return "the host name does not resolve";
	case CURLE_OPERATION_TIMEDOUT:
		return "timed out";
	default:
		return *errbuf != '\0' ? errbuf : curl_easy_strerror(rc);
	}
}

/* A transfer done: its answer as a reply, or a failure. */
static int
judge(const char *url, CURLcode rc, const char *errbuf, long status,
    const struct sink *k, struct oauth2_reply *r, struct failure *f)
{
	const char *why;

	if (k->over) {
		fail(f, STAGE_NONE, CAUSE_TEMPORARY, 0, "oauth2: %s answered "
		    "more than %d bytes", url, OAUTH2_REPLY_MAX);
		return -1;
	}
	if (rc != CURLE_OK) {
		fail(f, STAGE_NONE, CAUSE_TEMPORARY, 0, "oauth2: %s: %s (the "
		    "message is kept and tried again)", url,
		    curl_words(rc, errbuf));
		return -1;
	}
	if (oauth2_reply_parse(k->body->data, k->body->len, r, &why) == 0)
		return 0;
	if (status >= 400 && status < 500)
		fail(f, STAGE_NONE, CAUSE_CONFIG, 0, "oauth2: %s: HTTP %ld "
		    "without an OAuth2 answer (%s): is it the right endpoint?",
		    url, status, why);
	else
		fail(f, STAGE_NONE, CAUSE_TEMPORARY, 0, "oauth2: %s: HTTP %ld: "
		    "%s", url, status, why);
	return -1;
}

int
oauth2_post(const struct oauth2_conf *c, const char *url,
    const struct buf *form, struct oauth2_reply *r, long *status,
    struct failure *f)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct buf body = BUF_INIT;
	struct sink k = { &body, false };
	struct curl_slist *hdr;
	CURL *h;
	CURLcode rc;
	int kind, ret;

	memset(r, 0, sizeof(*r));
	*status = 0;
	if ((kind = url_kind(url, f)) == -1)
		return -1;
	hdr = curl_slist_append(NULL, "Accept: application/json");
	if (hdr == NULL || (h = curl_easy_init()) == NULL) {
		curl_slist_free_all(hdr);
		fail(f, STAGE_NONE, CAUSE_OSERR, 0, "oauth2: out of memory");
		return -1;
	}
	rc = setup(h, c, url, kind == 1, form, hdr, &k);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	if (rc == CURLE_OK)
		rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	ret = judge(url, rc, errbuf, *status, &k, r, f);
	curl_easy_cleanup(h);
	curl_slist_free_all(hdr);
	buf_free_secret(&body);
	return ret;
}

/* What each error of RFC 6749 5.2 and RFC 8628 3.5 means for us. */
static const struct {
	const char	*error;
	enum cause	 cause;
	const char	*hint;	/* %s: the account */
} errors[] = {
	{ "invalid_grant", CAUSE_TEMPORARY, "expired or revoked; run "
	    "smtpsend --authorize -a %s" },
	{ "expired_token", CAUSE_TEMPORARY, "the code expired before it was "
	    "entered: run smtpsend --authorize -a %s again" },
	{ "access_denied", CAUSE_USAGE, "the authorization was declined" },
	{ "invalid_client", CAUSE_NOPERM, "the client was refused: check "
	    "oauth2_client_id and oauth2_client_secret" },
	{ "unauthorized_client", CAUSE_NOPERM, "the client may not use this "
	    "grant: check its registration with the provider" },
	{ "invalid_scope", CAUSE_CONFIG, "check oauth2_scope" },
	{ "unsupported_grant_type", CAUSE_CONFIG, "check oauth2_grant" },
	{ "invalid_request", CAUSE_CONFIG, "check the oauth2_ settings" },
	{ "server_error", CAUSE_TEMPORARY, "the provider failed; tried again "
	    "later" },
	{ "temporarily_unavailable", CAUSE_TEMPORARY, "tried again later" },
};

void
oauth2_fail_reply(const struct oauth2_conf *c, const char *what,
    const struct oauth2_reply *r, long status, struct failure *f)
{
	enum cause cause = status >= 500 ? CAUSE_TEMPORARY : CAUSE_CONFIG;
	const char *e = r->error ? r->error : "no access token", *fmt = NULL;
	char hint[256] = "";
	size_t i;

	for (i = 0; i < sizeof(errors) / sizeof(errors[0]); i++)
		if (strcmp(errors[i].error, e) == 0) {
			cause = errors[i].cause;
			fmt = errors[i].hint;
		}
	if (fmt != NULL)
		snprintf(hint, sizeof(hint), fmt, c->account);
	/* The hint first: fail() cuts long texts, the fix must stay. */
	fail(f, STAGE_NONE, cause, 0, "oauth2 %s: %s refused%s%s (%s%s%.300s; "
	    "HTTP %ld)", c->account, what, *hint ? ": " : "", hint, e,
	    r->error_description ? ": " : "",
	    r->error_description ? r->error_description : "", status);
	/* Revoked or expired: only a person's --authorize mends it. */
	f->act = strcmp(e, "invalid_grant") == 0 ||
	    strcmp(e, "expired_token") == 0;
}

int
oauth2_answered(const struct oauth2_conf *c, const char *what,
    const struct oauth2_reply *r, long status, struct failure *f)
{
	if (status == 200 && r->error == NULL && r->access_token != NULL)
		return 0;
	oauth2_fail_reply(c, what, r, status, f);
	return -1;
}

int
oauth2_take_tokens(const struct oauth2_conf *c, struct oauth2_reply *r,
    struct oauth2_tokens *t, struct failure *f)
{
	/* Moved, not copied: one copy of each secret to wipe. */
	oauth2_wipe(&t->access_token);
	t->access_token = r->access_token;
	r->access_token = NULL;
	if (r->refresh_token != NULL) {	/* new or rotated */
		oauth2_wipe(&t->refresh_token);
		t->refresh_token = r->refresh_token;
		r->refresh_token = NULL;
	}
	t->expires_at = (long long)time(NULL) +
	    (r->expires_in >= 0 ? r->expires_in : DEFAULT_EXPIRY);
	if (oauth2_tokens_bind(t, c->s, c->token_url) == -1) {
		fail(f, STAGE_NONE, CAUSE_OSERR, 0, "oauth2: out of memory");
		return -1;
	}
	return 0;
}
