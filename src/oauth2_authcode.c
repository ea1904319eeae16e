/* SPDX-License-Identifier: ISC */
/*
 * The authorization code grant with PKCE (RFC 7636, S256) and a loopback
 * redirect (RFC 8252 section 7.3): the person opens our address in a
 * browser on this machine, logs in, and the provider sends the browser
 * back to a listener on 127.0.0.1 with the code, which only our verifier
 * turns into tokens.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <stdbool.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "oauth2_int.h"

#define WAIT_SECONDS	300	/* for the person to log in */
#define REQUEST_SECONDS	10	/* for one connection's request */
#define REQUEST_MAX	8192

struct pkce {
	char	verifier[64];	/* a secret */
	char	challenge[64];
	char	state[32];
	char	redirect[64];
};

/* Base64url without padding (RFC 7636 appendix A). */
static void
b64url(char *dst, size_t size, const unsigned char *in, int n)
{
	unsigned char out[128];
	int len = EVP_EncodeBlock(out, in, n), i, j = 0;

	for (i = 0; i < len && (size_t)j + 1 < size; i++) {
		if (out[i] == '=')
			break;
		dst[j++] = out[i] == '+' ? '-' : out[i] == '/' ? '_' :
		    (char)out[i];
	}
	dst[j] = '\0';
	explicit_bzero(out, sizeof(out));
}

static int
pkce_make(struct pkce *p, struct failure *f)
{
	unsigned char raw[32], md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;

	arc4random_buf(raw, sizeof(raw));
	b64url(p->verifier, sizeof(p->verifier), raw, sizeof(raw)); /* 43 */
	arc4random_buf(raw, 16);
	b64url(p->state, sizeof(p->state), raw, 16);
	explicit_bzero(raw, sizeof(raw));
	if (EVP_Digest(p->verifier, strlen(p->verifier), md, &mdlen,
	    EVP_sha256(), NULL) != 1) {
		fail(f, STAGE_NONE, CAUSE_SOFTWARE, 0, "oauth2: SHA-256 failed");
		return -1;
	}
	b64url(p->challenge, sizeof(p->challenge), md, (int)mdlen);
	return 0;
}

/* One socket on 127.0.0.1: oauth2_redirect_port, else one the system
 * picks (RFC 8252 section 7.3 lets the port vary). */
static int
listen_loopback(struct pkce *p, unsigned port, struct failure *f)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd, one = 1;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)port);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd != -1 && port != 0)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd == -1 || bind(fd, (struct sockaddr *)&a, sizeof(a)) == -1 ||
	    listen(fd, 4) == -1 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) == -1) {
		if (port != 0)
			fail_errno(f, CAUSE_OSERR, "oauth2: a listener on "
			    "127.0.0.1 port %u (oauth2_redirect_port)", port);
		else
			fail_errno(f, CAUSE_OSERR, "oauth2: a listener on "
			    "127.0.0.1");
		if (fd != -1)
			close(fd);
		return -1;
	}
	snprintf(p->redirect, sizeof(p->redirect), "http://127.0.0.1:%u/",
	    (unsigned)ntohs(a.sin_port));
	return fd;
}

static int
auth_url(const struct oauth2_conf *c, const struct pkce *p, struct buf *u)
{
	struct buf q = BUF_INIT;
	int rc;

	rc = oauth2_form_add(&q, "client_id", c->s->oauth2_client_id) |
	    oauth2_form_add(&q, "response_type", "code") |
	    oauth2_form_add(&q, "redirect_uri", p->redirect) |
	    (c->scope ? oauth2_form_add(&q, "scope", c->scope) : 0) |
	    oauth2_form_add(&q, "code_challenge", p->challenge) |
	    oauth2_form_add(&q, "code_challenge_method", "S256") |
	    oauth2_form_add(&q, "state", p->state);
	/* Google gives a refresh token only with these. */
	if (c->google)
		rc |= oauth2_form_add(&q, "access_type", "offline") |
		    oauth2_form_add(&q, "prompt", "consent");
	if (rc == 0)
		rc = buf_printf(u, "%s%c%s", c->auth_url,
		    strchr(c->auth_url, '?') ? '&' : '?', q.data);
	buf_free(&q);
	return rc;
}

static int
hexval(int c)
{
	return isdigit(c) ? c - '0' : isxdigit(c) ? tolower(c) - 'a' + 10 : -1;
}

/* Percent-decoded, or NULL when it has a bad escape or would hold a
 * control character: codes and states never do. */
static char *
pct_decode(const char *s, size_t len)
{
	char *v = malloc(len + 1);
	size_t i, j = 0;
	int c;

	for (i = 0; v != NULL && i < len; i++) {
		c = (unsigned char)s[i];
		if (c == '%') {
			if (i + 2 >= len || hexval((unsigned char)s[i + 1]) < 0 ||
			    hexval((unsigned char)s[i + 2]) < 0)
				goto bad;
			c = hexval((unsigned char)s[i + 1]) * 16 +
			    hexval((unsigned char)s[i + 2]);
			i += 2;
		} else if (c == '+') {
			c = ' ';
		}
		if (c < 0x20 || c == 0x7f)
			goto bad;
		v[j++] = (char)c;
	}
	if (v != NULL)
		v[j] = '\0';
	return v;
bad:
	explicit_bzero(v, len + 1);
	free(v);
	return NULL;
}

char *
oauth2_query_get(const char *q, size_t qlen, const char *name)
{
	size_t n = strlen(name), i = 0, end;

	while (i < qlen) {
		for (end = i; end < qlen && q[end] != '&'; end++)
			;
		if (end - i > n && strncmp(q + i, name, n) == 0 &&
		    q[i + n] == '=')
			return pct_decode(q + i + n + 1, end - i - n - 1);
		i = end + 1;
	}
	return NULL;
}

/* What the browser brought back to the redirect URI. */
struct answer {
	char	*code, *state, *error, *error_description;
};

static void
answer_free(struct answer *a)
{
	oauth2_wipe(&a->code);
	oauth2_wipe(&a->state);
	oauth2_wipe(&a->error);
	oauth2_wipe(&a->error_description);
}

/* The request head, within REQUEST_SECONDS and REQUEST_MAX bytes. */
static int
read_request(int fd, char *req, size_t size)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	time_t end = time(NULL) + REQUEST_SECONDS;
	size_t len = 0;
	ssize_t n;

	while (len + 1 < size && time(NULL) < end) {
		if (poll(&pfd, 1, 1000) <= 0)
			continue;
		if ((n = read(fd, req + len, size - 1 - len)) <= 0)
			return -1;
		len += (size_t)n;
		req[len] = '\0';
		if (strstr(req, "\r\n\r\n") != NULL)
			return 0;
	}
	return -1;
}

/* "GET /?QUERY HTTP/1.1": 0 with the answer, -1 when it is no answer. */
static int
parse_request(const char *req, struct answer *a)
{
	const char *q, *sp;

	memset(a, 0, sizeof(*a));
	if (strncmp(req, "GET /?", 6) != 0)
		return -1;
	q = req + 6;
	if ((sp = strchr(q, ' ')) == NULL)
		return -1;
	a->code = oauth2_query_get(q, (size_t)(sp - q), "code");
	a->state = oauth2_query_get(q, (size_t)(sp - q), "state");
	a->error = oauth2_query_get(q, (size_t)(sp - q), "error");
	a->error_description = oauth2_query_get(q, (size_t)(sp - q),
	    "error_description");
	if (a->code == NULL && a->error == NULL) {
		answer_free(a);
		return -1;
	}
	return 0;
}

static void
respond(int fd, const char *status, const char *text)
{
	char body[256], page[512];
	int n, m;

	n = snprintf(body, sizeof(body), "<!doctype html><title>smtpsend"
	    "</title><p>%s</p>\n", text);
	m = snprintf(page, sizeof(page), "HTTP/1.1 %s\r\nContent-Type: "
	    "text/html; charset=utf-8\r\nCache-Control: no-store\r\n"
	    "Connection: close\r\nContent-Length: %d\r\n\r\n%s", status, n,
	    body);
	if (n > 0 && (size_t)n < sizeof(body) && m > 0 &&
	    (size_t)m < sizeof(page))
		(void)!send(fd, page, (size_t)m, MSG_NOSIGNAL);
}

/* One connection: 0 with the code, 1 not the answer, -1 a failure. */
static int
serve(int fd, struct oauth2_conf *c, const struct pkce *p, char **code,
    struct failure *f)
{
	char req[REQUEST_MAX];
	struct answer a;
	struct oauth2_reply r;

	if (read_request(fd, req, sizeof(req)) == -1)
		return 1;
	if (parse_request(req, &a) == -1) {
		respond(fd, "404 Not Found", "smtpsend: not here");
		return 1;
	}
	explicit_bzero(req, sizeof(req));
	if (a.state == NULL || strcmp(a.state, p->state) != 0) {
		/* Any local user can reach the port: a stale or forged
		 * redirect is answered and ignored, the browser awaited. */
		respond(fd, "400 Bad Request", "smtpsend: this answer is not "
		    "for the authorization in progress");
		answer_free(&a);
		return 1;
	} else if (a.error != NULL || a.code == NULL ||
	    strpbrk(a.code, " ") != NULL) {
		respond(fd, "200 OK", "smtpsend: not authorized; see the "
		    "terminal");
		memset(&r, 0, sizeof(r));
		r.error = a.error ? a.error : (char *)"no code";
		r.error_description = a.error_description;
		oauth2_fail_reply(c, "the authorization was", &r, 0, f);
	} else {
		respond(fd, "200 OK", "smtpsend: authorized, you may close "
		    "this window");
		*code = a.code;
		a.code = NULL;
	}
	answer_free(&a);
	return *code != NULL ? 0 : -1;
}

/*
 * The address the browser was sent to, pasted at the terminal: for a
 * browser that cannot reach our listener (on another machine, over SSH).
 * The same state check as the listener's. 0 with the code, 1 to keep
 * waiting, 2 when the terminal is gone, -1 a failure.
 */
static int
pasted(int in, FILE *out, struct oauth2_conf *c, const struct pkce *p,
    char **code, struct failure *f)
{
	char line[REQUEST_MAX];
	struct oauth2_reply r;
	struct answer a;
	const char *q;
	ssize_t n;
	int rc = 1;

	if ((n = read(in, line, sizeof(line) - 1)) <= 0)
		return 2;
	line[n] = '\0';
	line[strcspn(line, " \t\r\n")] = '\0';
	memset(&a, 0, sizeof(a));
	if ((q = strchr(line, '?')) != NULL) {
		q++;
		a.code = oauth2_query_get(q, strlen(q), "code");
		a.state = oauth2_query_get(q, strlen(q), "state");
		a.error = oauth2_query_get(q, strlen(q), "error");
		a.error_description = oauth2_query_get(q, strlen(q),
		    "error_description");
	}
	explicit_bzero(line, sizeof(line));
	if (a.code == NULL && a.error == NULL)
		fprintf(out, "smtpsend: that is not the address with ?code=...; "
		    "paste the whole address from the browser's bar\n");
	else if (a.state == NULL || strcmp(a.state, p->state) != 0)
		fprintf(out, "smtpsend: that address belongs to another "
		    "authorization (its state differs); still waiting\n");
	else if (a.error != NULL || strpbrk(a.code, " ") != NULL) {
		memset(&r, 0, sizeof(r));
		r.error = a.error ? a.error : (char *)"no code";
		r.error_description = a.error_description;
		oauth2_fail_reply(c, "the authorization was", &r, 0, f);
		rc = -1;
	} else {
		*code = a.code;
		a.code = NULL;
		rc = 0;
	}
	fflush(out);
	answer_free(&a);
	return rc;
}

/* Connections (or a pasted address) until one brings the answer or the
 * person's time is up. */
static int
wait_code(int lfd, int in, FILE *out, struct oauth2_conf *c,
    const struct pkce *p, char **code, struct failure *f)
{
	struct pollfd pfd[2] = { { lfd, POLLIN, 0 }, { in, POLLIN, 0 } };
	time_t end = time(NULL) + WAIT_SECONDS;
	int fd, r = 1;

	*code = NULL;
	while (r == 1 && time(NULL) < end) {
		if (poll(pfd, 2, 1000) <= 0)
			continue;
		if (pfd[1].revents != 0 && (r = pasted(in, out, c, p, code,
		    f)) == 2) {
			pfd[1].fd = -1;		/* no terminal: the listener */
			r = 1;
		}
		if (r != 1 || (pfd[0].revents & POLLIN) == 0 ||
		    (fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) == -1)
			continue;
		r = serve(fd, c, p, code, f);
		close(fd);
	}
	if (r == 1)
		fail(f, STAGE_NONE, CAUSE_USAGE, 0, "oauth2 %s: no answer from "
		    "the browser within %d minutes: run smtpsend --authorize "
		    "-a %s again", c->account, WAIT_SECONDS / 60, c->account);
	return r == 0 ? 0 : -1;
}

/* The code and our verifier for the tokens. */
static int
exchange(struct oauth2_conf *c, const struct pkce *p, const char *code,
    struct oauth2_reply *got, struct failure *f)
{
	struct buf form = BUF_INIT;
	long status;
	int rc = -1;

	if (oauth2_form_add(&form, "grant_type", "authorization_code") |
	    oauth2_form_add(&form, "code", code) |
	    oauth2_form_add(&form, "redirect_uri", p->redirect) |
	    oauth2_form_add(&form, "code_verifier", p->verifier))
		fail(f, STAGE_NONE, CAUSE_OSERR, 0, "oauth2: out of memory");
	else if (oauth2_add_client(&form, c, f) == 0 &&
	    oauth2_post(c, c->token_url, &form, got, &status, f) == 0)
		rc = oauth2_answered(c, "the authorization code was", got,
		    status, f);
	buf_free_secret(&form);
	return rc;
}

/*
 * Logged in over SSH, the browser is on the person's own machine: the
 * forward that brings its redirect to our listener, port for port.
 */
static void
over_ssh(FILE *out, const struct pkce *p)
{
	static const char name_chars[] = "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";
	const char *conn = getenv("SSH_CONNECTION"), *user = getenv("USER");
	char server[64] = "";
	unsigned port = 0;
	bool named;

	/* "client port server port": the server's address, checked. */
	if (conn == NULL || sscanf(conn, "%*s %*s %63s", server) != 1 ||
	    strspn(server, "0123456789abcdefABCDEF.:") != strlen(server) ||
	    sscanf(p->redirect, "http://127.0.0.1:%u/", &port) != 1)
		return;
	named = user != NULL && *user != '\0' && *user != '-' &&
	    strspn(user, name_chars) == strlen(user);
	fprintf(out, "Over SSH, run this on the machine with the browser "
	    "first (oauth2_redirect_port\nkeeps the port the same from one "
	    "run to the next):\n\n  ssh -L %u:127.0.0.1:%u %s%s%s\n\n",
	    port, port, named ? user : "", named ? "@" : "", server);
}

int
oauth2_authcode_flow(struct oauth2_conf *c, FILE *out,
    struct oauth2_reply *got, struct failure *f)
{
	struct pkce p;
	struct buf url = BUF_INIT;
	char *code = NULL;
	int lfd, rc = -1;

	if (*c->auth_url == '\0') {
		fail(f, STAGE_NONE, CAUSE_CONFIG, 0, "oauth2 %s: the "
		    "authorization code flow needs oauth2_auth_endpoint",
		    c->account);
		return -1;
	}
	memset(&p, 0, sizeof(p));
	if (pkce_make(&p, f) == -1 || (lfd = listen_loopback(&p,
	    c->s->oauth2_redirect_port, f)) == -1)
		return -1;
	if (auth_url(c, &p, &url) == -1) {
		fail(f, STAGE_NONE, CAUSE_OSERR, 0, "oauth2: out of memory");
	} else {
		fprintf(out, "To authorize smtpsend for %s, open this address "
		    "in a browser on this machine:\n\n  %s\n\n", c->account,
		    url.data);
		over_ssh(out, &p);
		fprintf(out, "If the browser cannot reach this machine, paste "
		    "here the address it ends up at\n(%s?code=...) and press "
		    "Enter.\nWaiting for the browser (%d minutes)...\n",
		    p.redirect, WAIT_SECONDS / 60);
		fflush(out);
		rc = wait_code(lfd, isatty(STDIN_FILENO) ? STDIN_FILENO : -1,
		    out, c, &p, &code, f);
	}
	close(lfd);	/* one answer only, before the exchange */
	if (rc == 0)
		rc = exchange(c, &p, code, got, f);
	oauth2_wipe(&code);
	buf_free(&url);
	explicit_bzero(&p, sizeof(p));
	return rc;
}
