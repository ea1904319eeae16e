/* SPDX-License-Identifier: ISC */
/* The connection to the SMTP server: see conn.h. */
#include <curl/curl.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "buf.h"
#include "conn.h"
#include "conn_why.h"
#include "escape.h"
#include "hostname.h"
#include "interrupt.h"
#include "reply.h"
#include "tlspin.h"

_Static_assert(sizeof(((struct conn *)0)->errbuf) >= CURL_ERROR_SIZE,
    "room for libcurl's error buffer");
_Static_assert(sizeof(curl_socket_t) == sizeof(int), "a socket is an int");

#define DEFAULT_TIMEOUT		60

double
conn_elapsed(const struct conn *ss)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - ss->t0.tv_sec) +
	    (double)(t.tv_nsec - ss->t0.tv_nsec) / 1e9;
}

/* -v: one line of the transcript, escaped, with a timestamp. */
void
conn_trace(const struct conn *ss, const char *dir, const char *p, size_t n)
{
	char line[600];

	while (n > 0 && (p[n - 1] == '\n' || p[n - 1] == '\r'))
		n--;
	escape_line(line, sizeof(line), p, n);
	fprintf(stderr, "smtpsend: [%8.3f ms] %s %s\n", conn_elapsed(ss) * 1000,
	    dir, line);
}

/* Each line of a command batch we send, for -v. */
void
conn_trace_commands(const struct conn *ss, const char *p, size_t n)
{
	const char *nl;

	while (n > 0 && (nl = memchr(p, '\n', n)) != NULL) {
		conn_trace(ss, ">", p, (size_t)(nl - p));
		n -= (size_t)(nl - p) + 1;
		p = nl + 1;
	}
}

/* A parsed reply, line by line, as the server wrote it. */
static void
trace_reply(const struct conn *ss, const struct reply *r)
{
	const char *line = r->text, *nl;
	char shown[600];

	do {
		nl = strchr(line, '\n');
		snprintf(shown, sizeof(shown), "%d%c%.*s", r->code,
		    nl ? '-' : ' ', (int)(nl ? (size_t)(nl - line) :
		    strlen(line)), line);
		conn_trace(ss, "<", shown, strlen(shown));
		line = nl + 1;
	} while (nl != NULL);
}

static enum stage
stage_of_command(const char *p, size_t n)
{
	if (n >= 4 && (strncasecmp(p, "EHLO", 4) == 0 ||
	    strncasecmp(p, "HELO", 4) == 0))
		return STAGE_EHLO;
	if (n >= 8 && strncasecmp(p, "STARTTLS", 8) == 0)
		return STAGE_STARTTLS;
	if (n >= 4 && strncasecmp(p, "AUTH", 4) == 0)
		return STAGE_AUTH;
	return STAGE_NONE;
}

/*
 * Acknowledge what arrives at once. After the TLS handshake the server's
 * session ticket would otherwise wait ~40 ms for a delayed ACK, and its
 * next reply behind it (Nagle): once per connection, a whole round trip.
 * Linux drops quick-ACK mode on its own, so it is set again before each
 * wait.
 */
static void
quick_ack(const struct conn *ss)
{
	int one = 1;

	if (ss->fd >= 0)
		setsockopt(ss->fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
}

/*
 * A command libcurl sent. libcurl is given no credentials (AUTH is the
 * session's), so it never sends AUTH; should it ever, that line and what
 * follows it are redacted all the same.
 */
static void
debug_out(struct conn *ss, const char *p, size_t n)
{
	enum stage st;
	const char *sp;

	quick_ack(ss);
	/* Inside AUTH every line is a secret, whatever it looks like. */
	if (ss->in_auth) {
		if (ss->verbose)
			conn_trace(ss, ">", "<redacted>", 10);
		return;
	}
	if ((st = stage_of_command(p, n)) != STAGE_NONE)
		ss->stage = st;
	if (st == STAGE_AUTH) {
		ss->in_auth = true;
		sp = memchr(p + 5 < p + n ? p + 5 : p + n, ' ',
		    n > 5 ? n - 5 : 0);
		if (ss->verbose) {
			char shown[64];

			snprintf(shown, sizeof(shown), "%.*s%s",
			    (int)((sp ? sp : p + n) - p), p,
			    sp ? " <redacted>" : "");
			conn_trace(ss, ">", shown, strlen(shown));
		}
		return;
	}
	if (ss->verbose)
		conn_trace(ss, ">", p, n);
}

static void
debug_in(struct conn *ss, const char *p, size_t n)
{
	struct reply r;
	size_t used;
	bool done;

	if (ss->verbose)
		conn_trace(ss, "<", p, n);
	while (n > 0) {
		used = reply_parse(&ss->dbg_parser, p, n, &r, &done);
		p += used;
		n -= used;
		if (ss->dbg_parser.error)
			return;
		if (!done)
			continue;
		ss->last = r;
		if (r.code != 334)
			ss->in_auth = false;
		if (ss->stage == STAGE_EHLO && r.code == 250) {
			ss->ehlo = r;
			ss->have_ehlo = true;
		} else if (ss->stage == STAGE_STARTTLS && r.code == 220)
			ss->stage = STAGE_TLS;
		if (ss->stage == STAGE_NONE) {
			ss->greeting = r;
			ss->stage = STAGE_GREETING;
		}
	}
}

/*
 * TCP is up: -v says so, and that what comes next is the greeting (or,
 * on an implicit-TLS port, the handshake first).
 */
static void
on_connected(struct conn *ss)
{
	char line[400], ip[64] = "";
	char *primary = NULL;

	if (ss->connected)
		return;
	ss->connected = true;
	ss->t_connected = conn_elapsed(ss);
	if (!ss->verbose)
		return;
	if (curl_easy_getinfo(ss->curl, CURLINFO_PRIMARY_IP, &primary) ==
	    CURLE_OK && primary != NULL && strcmp(primary, ss->s->host) != 0)
		snprintf(ip, sizeof(ip), " (%.45s)", primary);
	snprintf(line, sizeof(line), "connected to %.255s%s port %u; %s",
	    ss->s->host, ip, ss->s->port, ss->s->tls && !ss->s->starttls ?
	    "TLS handshake, then waiting for the greeting" :
	    "waiting for the greeting");
	conn_trace(ss, "*", line, strlen(line));
}

/*
 * Still no greeting 5 s after connecting: at a terminal, say so once
 * instead of a minute of silence, and name the classic mistake.
 */
#define GREETING_NOTICE	5.0

static void
greeting_notice(struct conn *ss)
{
	if (ss->greeting_noticed || !ss->connected || ss->stage != STAGE_NONE ||
	    conn_elapsed(ss) - ss->t_connected < GREETING_NOTICE)
		return;
	ss->greeting_noticed = true;
	if (!isatty(STDERR_FILENO))
		return;
	fprintf(stderr, "smtpsend: %s port %u: connected, no greeting after "
	    "%.0f s%s (waiting up to %d s; Ctrl-C stops)\n", ss->s->host,
	    ss->s->port, GREETING_NOTICE, ss->s->tls && ss->s->starttls ?
	    ": an implicit-TLS port such as 465? set tls_starttls off" : "",
	    conn_timeout(ss->s));
}

static int
debug_cb(CURL *h, curl_infotype type, char *data, size_t n, void *arg)
{
	struct conn *ss = arg;

	(void)h;
	if (type == CURLINFO_TEXT && n > 13 &&
	    strncmp(data, "Connected to ", 13) == 0)
		on_connected(ss);
	if (type == CURLINFO_HEADER_OUT)
		debug_out(ss, data, n);
	else if (type == CURLINFO_HEADER_IN)
		debug_in(ss, data, n);
	else if (type == CURLINFO_TEXT && ss->verbose > 1)
		conn_trace(ss, "*", data, n);
	return 0;
}

int
conn_timeout(const struct settings *s)
{
	return s->timeout > 0 ? s->timeout : DEFAULT_TIMEOUT;
}

/* `domain`, this host's name with a dot, else the address literal of the
 * local end: never a name without a dot (CONTRACT section 4). */
void
conn_ehlo_name(const struct settings *s, char *dst, size_t size)
{
	const char *name = s->domain != NULL ? s->domain : host_fqdn();

	if (name != NULL)
		strlcpy(dst, name, size);
	else if (host_local_literal(s->host, s->port, dst, size) == -1)
		strlcpy(dst, "[127.0.0.1]", size);
}

/* smtp[s]://host:port/ehlo-name: curl takes the EHLO name from the path. */
static int
build_url(struct buf *url, const struct settings *s)
{
	bool implicit = s->tls && !s->starttls;
	bool v6 = strchr(s->host, ':') != NULL;
	char ehlo[300];
	char *path;
	int r;

	conn_ehlo_name(s, ehlo, sizeof(ehlo));
	/* libcurl URL-decodes the path: what we give must be encoded. */
	if ((path = curl_easy_escape(NULL, ehlo, 0)) == NULL)
		return -1;
	r = buf_printf(url, "%s://%s%s%s:%u/%s", implicit ? "smtps" : "smtp",
	    v6 ? "[" : "", s->host, v6 ? "]" : "", s->port, path);
	curl_free(path);
	return r;
}

static CURLcode
ctx_cb(CURL *h, void *ssl_ctx, void *arg)
{
	struct conn *ss = arg;

	(void)h;
	tls_watch_install(ssl_ctx, &ss->fd);
	if (ss->s->fingerprint == NULL && ss->s->certcheck)
		tls_peer_record_install(ssl_ctx);
	if (ss->s->fingerprint != NULL &&
	    tlspin_install(ssl_ctx, ss->s->fingerprint) == -1)
		return CURLE_SSL_CERTPROBLEM;
	return CURLE_OK;
}

static CURLcode
setup_tls(struct conn *ss)
{
	const struct settings *s = ss->s;
	CURL *h = ss->curl;
	bool verify = s->certcheck && s->fingerprint == NULL;
	CURLcode rc;

	rc = curl_easy_setopt(h, CURLOPT_USE_SSL, (long)(!s->tls ?
	    CURLUSESSL_NONE : CURLUSESSL_ALL));
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, verify ? 1L : 0L);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, verify ? 2L : 0L);
	/* The CA directory, not the bundle: loading it costs ~30 ms a run. */
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_CAINFO, s->trust_file);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_CAPATH, s->trust_file ? NULL :
		    "/etc/ssl/certs");
	if (rc == CURLE_OK && s->cert_file != NULL)
		rc = curl_easy_setopt(h, CURLOPT_SSLCERT, s->cert_file);
	if (rc == CURLE_OK && s->key_file != NULL)
		rc = curl_easy_setopt(h, CURLOPT_SSLKEY, s->key_file);
	if (rc == CURLE_OK && s->tls)
		rc = curl_easy_setopt(h, CURLOPT_SSL_CTX_FUNCTION, ctx_cb);
	if (rc == CURLE_OK && s->tls)
		rc = curl_easy_setopt(h, CURLOPT_SSL_CTX_DATA, ss);
	return rc;
}

static CURLcode
setup_network(struct conn *ss)
{
	const struct settings *s = ss->s;
	CURL *h = ss->curl;
	long t = conn_timeout(s);
	CURLcode rc;

	rc = curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, t);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_SERVER_RESPONSE_TIMEOUT, t);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	if (rc == CURLE_OK && s->source_ip != NULL)
		rc = curl_easy_setopt(h, CURLOPT_INTERFACE, s->source_ip);
	/* Only the configured proxy: "" keeps libcurl from taking one from
	 * all_proxy or smtp_proxy, which no binding of a secret names. */
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_PROXY, s->proxy_host != NULL ?
		    s->proxy_host : "");
	if (rc == CURLE_OK && s->proxy_host != NULL)
		rc = curl_easy_setopt(h, CURLOPT_PROXYPORT, (long)s->proxy_port);
	if (rc == CURLE_OK && s->proxy_host != NULL)
		rc = curl_easy_setopt(h, CURLOPT_PROXYTYPE,
		    (long)CURLPROXY_SOCKS5_HOSTNAME);
	return rc;
}

/*
 * Called by libcurl while it works: a reply that is not SMTP (an SSH or
 * HTTP server on the port) ends the wait at once instead of at the timeout.
 */
static int
progress_cb(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut,
    curl_off_t un)
{
	struct conn *ss = arg;

	curl_off_t connect_us = 0;

	(void)dt;
	(void)dn;
	(void)ut;
	(void)un;
	if (!ss->connected && curl_easy_getinfo(ss->curl,
	    CURLINFO_CONNECT_TIME_T, &connect_us) == CURLE_OK && connect_us > 0)
		on_connected(ss);
	greeting_notice(ss);
	return ss->dbg_parser.error || interrupt_signal() != 0;
}

/* Our socket, so that a signal can shut it down (see interrupt.h). */
static curl_socket_t
open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct conn *ss = arg;
	int fd;

	(void)purpose;
	fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
	if (fd != -1) {
		interrupt_watch(fd);
		ss->fd = fd;
	}
	return fd == -1 ? CURL_SOCKET_BAD : fd;
}

static int
close_socket(void *arg, curl_socket_t fd)
{
	struct conn *ss = arg;

	if (ss->fd == fd)
		ss->fd = -1;
	interrupt_unwatch(fd);
	return close(fd);
}

static int
setup(struct conn *ss, struct failure *f)
{
	struct buf url = BUF_INIT;
	CURL *h;
	CURLcode rc;

	if ((h = ss->curl = curl_easy_init()) == NULL) {
		fail(f, STAGE_NONE, CAUSE_OSERR, 0, "cannot start libcurl");
		return -1;
	}
	if (build_url(&url, ss->s) == -1) {
		fail_errno(f, CAUSE_OSERR, "out of memory");
		return -1;
	}
	rc = curl_easy_setopt(h, CURLOPT_URL, url.data);
	buf_free(&url);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_CONNECT_ONLY, 1L);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ss->errbuf);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, debug_cb);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_DEBUGDATA, ss);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, progress_cb);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_XFERINFODATA, ss);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_socket);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, ss);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_CLOSESOCKETFUNCTION,
		    close_socket);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(h, CURLOPT_CLOSESOCKETDATA, ss);
	if (rc == CURLE_OK)
		rc = setup_network(ss);
	/* No credentials for libcurl: AUTH is ours, see authenticate(). */
	if (rc == CURLE_OK)
		rc = setup_tls(ss);
	if (rc != CURLE_OK) {
		fail(f, STAGE_NONE, CAUSE_CONFIG, 0, "libcurl refused a "
		    "setting: %s", curl_easy_strerror(rc));
		return -1;
	}
	return 0;
}

/* A signal turns whatever failure it caused into "interrupted". */
void
conn_interrupted(struct failure *f)
{
	int sig = interrupt_signal();

	if (sig != 0)
		fail(f, f->stage, f->cause == CAUSE_POSSIBLY_SENT ?
		    CAUSE_POSSIBLY_SENT : CAUSE_TEMPORARY, 0, "interrupted by "
		    "signal %d (%s)%s", sig, strsignal(sig),
		    f->cause == CAUSE_POSSIBLY_SENT ? " after the end of data: "
		    "the message may have been delivered" : " before the end of "
		    "data: nothing was delivered");
}

static void
phase_times(struct conn *ss)
{
	double connect = 0, app = 0;

	curl_easy_getinfo(ss->curl, CURLINFO_CONNECT_TIME, &connect);
	curl_easy_getinfo(ss->curl, CURLINFO_APPCONNECT_TIME, &app);
	if (connect > 0)
		ss->connected = true;
	/* Not connected: how long the attempt took, said as such. */
	if (!ss->connected) {
		ss->t_connect = conn_elapsed(ss);
		ss->t_tls = ss->t_ehlo = 0;
		ss->tls_used = false;
		return;
	}
	ss->t_connect = connect;
	ss->t_tls = app > connect ? app - connect : 0;
	ss->t_ehlo = conn_elapsed(ss) - (app > connect ? app : connect);
	if (ss->t_ehlo < 0)
		ss->t_ehlo = 0;
	ss->tls_used = app > 0;
}

/* Connect, greeting, EHLO, STARTTLS, EHLO: libcurl's part. */
int
conn_open(struct conn *ss, struct failure *f)
{
	CURLcode rc;

	if (setup(ss, f) == -1)
		return -1;
	if (ss->verbose) {
		char line[600];

		snprintf(line, sizeof(line), "connecting to %.255s port %u%s%.255s",
		    ss->s->host, ss->s->port, ss->s->proxy_host ? " through the "
		    "SOCKS5 proxy " : "", ss->s->proxy_host ? ss->s->proxy_host :
		    "");
		conn_trace(ss, "*", line, strlen(line));
	}
	rc = curl_easy_perform(ss->curl);
	/* Also after a failure: -v and the log tell what was reached. */
	phase_times(ss);
	if (ss->have_ehlo)
		caps_parse(&ss->caps, &ss->ehlo);
	if (rc != CURLE_OK) {
		conn_perform_failure(ss, rc, f);
		conn_interrupted(f);
		return -1;
	}
	if (ss->verbose && ss->s->tls && tls_captured() != NULL) {
		char tls[512];

		tls_summary(tls_captured(), ss->s->certcheck ||
		    ss->s->fingerprint, tls, sizeof(tls));
		conn_trace(ss, "*", tls, strlen(tls));
	}
	if (curl_easy_getinfo(ss->curl, CURLINFO_ACTIVESOCKET, &ss->sock) !=
	    CURLE_OK || ss->sock == CURL_SOCKET_BAD) {
		fail(f, STAGE_CONNECT, CAUSE_SOFTWARE, 0, "no socket after "
		    "connecting");
		return -1;
	}
	return 0;
}

static int
remaining_ms(const struct timespec *deadline)
{
	struct timespec now;
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long long)(deadline->tv_sec - now.tv_sec) * 1000 +
	    (deadline->tv_nsec - now.tv_nsec) / 1000000;
	return ms < 0 ? 0 : ms > 86400000 ? 86400000 : (int)ms;
}

static void
deadline_in(struct timespec *d, int seconds)
{
	clock_gettime(CLOCK_MONOTONIC, d);
	d->tv_sec += seconds;
}

/* Wait for the socket; false on timeout. */
static bool
wait_socket(const struct conn *ss, short events,
    const struct timespec *deadline)
{
	struct pollfd pfd = { ss->sock, events, 0 };
	int r;

	quick_ack(ss);
	do
		r = poll(&pfd, 1, remaining_ms(deadline));
	while (r == -1 && errno == EINTR);
	return r > 0;
}

/* Send everything; a failure is a lost connection or a timeout. */
int
conn_send(struct conn *ss, const char *p, size_t n, enum stage st,
    struct failure *f)
{
	struct timespec deadline;
	size_t sent;
	CURLcode rc;

	deadline_in(&deadline, conn_timeout(ss->s));
	while (n > 0) {
		rc = curl_easy_send(ss->curl, p, n, &sent);
		if (rc == CURLE_AGAIN) {
			if (!wait_socket(ss, POLLOUT, &deadline)) {
				fail(f, st, CAUSE_TEMPORARY, 0, "timed out "
				    "sending %s to %s", stage_name(st),
				    ss->s->host);
				return -1;
			}
			continue;
		}
		if (rc != CURLE_OK) {
			fail(f, st, CAUSE_TEMPORARY, 0, "connection to %s lost "
			    "while sending %s: %s", ss->s->host,
			    stage_name(st), curl_easy_strerror(rc));
			return -1;
		}
		p += sent;
		n -= sent;
		deadline_in(&deadline, conn_timeout(ss->s));
	}
	return 0;
}

int
conn_send_commands(struct conn *ss, const struct buf *b, enum stage st,
    struct failure *f)
{
	if (ss->verbose)
		conn_trace_commands(ss, b->data, b->len);
	return conn_send(ss, b->data, b->len, st, f);
}

/* Receive more bytes; 0 when the server closed, -1 on error. */
static int
fill(struct conn *ss, const struct timespec *deadline, enum stage st,
    struct failure *f)
{
	size_t got;
	CURLcode rc;

	ss->rlen = ss->rpos = 0;
	for (;;) {
		/* recv first: TLS may hold decrypted bytes poll cannot see. */
		rc = curl_easy_recv(ss->curl, ss->rbuf, sizeof(ss->rbuf), &got);
		if (rc == CURLE_OK) {
			ss->rlen = got;
			return got > 0 ? 1 : 0;
		}
		if (rc != CURLE_AGAIN) {
			fail(f, st, CAUSE_TEMPORARY, 0, "connection to %s lost "
			    "waiting for the reply to %s: %s", ss->s->host,
			    stage_name(st), curl_easy_strerror(rc));
			return -1;
		}
		if (!wait_socket(ss, POLLIN, deadline)) {
			fail(f, st, CAUSE_TEMPORARY, 0, "timed out waiting for "
			    "the reply to %s from %s", stage_name(st),
			    ss->s->host);
			return -1;
		}
	}
}

int
conn_read_reply(struct conn *ss, struct reply *r, enum stage st, int seconds,
    struct failure *f)
{
	struct timespec deadline;
	bool done = false;
	size_t used;
	int got;

	deadline_in(&deadline, seconds);
	while (!done) {
		if (ss->rpos == ss->rlen) {
			if ((got = fill(ss, &deadline, st, f)) == -1)
				return -1;
			if (got == 0) {
				fail(f, st, CAUSE_TEMPORARY, 0, "%s closed the "
				    "connection waiting for the reply to %s",
				    ss->s->host, stage_name(st));
				return -1;
			}
		}
		used = reply_parse(&ss->parser, ss->rbuf + ss->rpos,
		    ss->rlen - ss->rpos, r, &done);
		ss->rpos += used;
		if (ss->parser.error) {
			fail(f, st, CAUSE_PROTOCOL, 0, "reply to %s from %s is "
			    "not SMTP: %s", stage_name(st), ss->s->host,
			    ss->parser.why);
			return -1;
		}
	}
	if (ss->verbose)
		trace_reply(ss, r);
	return 0;
}


/* Both ways in (a submission, --serverinfo) start the same. */
void
conn_init(struct conn *ss, const struct settings *s, int verbose)
{
	memset(ss, 0, sizeof(*ss));
	ss->fd = -1;
	ss->s = s;
	ss->verbose = verbose;
	clock_gettime(CLOCK_MONOTONIC, &ss->t0);
	if (s->tls && !s->certcheck && s->fingerprint == NULL)
		fprintf(stderr, "smtpsend: warning: tls_certcheck is off: the "
		    "identity of %s is not verified\n", s->host);
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

void
conn_close(struct conn *ss)
{
	if (ss->curl != NULL)
		curl_easy_cleanup(ss->curl);
	ss->curl = NULL;
}

/* QUIT is polite; its reply changes nothing, so nobody waits for it. */
void
conn_quit(struct conn *ss)
{
	size_t sent;

	if (ss->verbose)
		conn_trace(ss, ">", "QUIT", 4);
	curl_easy_send(ss->curl, "QUIT\r\n", 6, &sent);
}

bool
conn_speaks(const struct conn *ss)
{
	return ss->sock != 0 && ss->curl != NULL && !ss->abandoned;
}

bool
conn_idle_ok(struct conn *ss)
{
	struct pollfd pfd = { ss->sock, POLLIN, 0 };
	size_t got;

	if (!conn_speaks(ss) || ss->rpos < ss->rlen)
		return false;	/* a reply nothing asked for: 421 */
	if (poll(&pfd, 1, 0) <= 0)
		return true;
	/* Readable: the close, a 421, or only TLS records (tickets). */
	ss->rpos = ss->rlen = 0;
	return curl_easy_recv(ss->curl, ss->rbuf, sizeof(ss->rbuf), &got) ==
	    CURLE_AGAIN;
}

void
conn_abandon(struct conn *ss)
{
	ss->abandoned = true;
}

const char *
conn_library(void)
{
	static char text[128];
	const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);

	snprintf(text, sizeof(text), "libcurl %s, %s", v->version,
	    v->ssl_version ? v->ssl_version : "no TLS");
	return text;
}
