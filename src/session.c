/*
 * Design: with CURLOPT_CONNECT_ONLY, curl_easy_perform() runs the greeting,
 * EHLO, STARTTLS, EHLO again and AUTH, then stops. TLS, certificates, SASL
 * and proxies stay in libcurl. The mail transaction is ours, over
 * curl_easy_send/recv, because libcurl alone cannot pipeline, use CHUNKING
 * or BODY=8BITMIME, tells 4xx from 5xx apart on RCPT only as error 55, and
 * waits up to 120 s for QUIT's reply.
 *
 * libcurl shows us the server's replies only through the debug callback,
 * so the greeting and the EHLO capabilities are taken from there.
 */
#include <curl/curl.h>
#include <idn2.h>
#include <json-c/json_c_version.h>

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "buf.h"
#include "encode.h"
#include "escape.h"
#include "hostname.h"
#include "idna.h"
#include "interrupt.h"
#include "reply.h"
#include "sasl.h"
#include "session.h"
#include "txn.h"
#include "smtpcmd.h"
#include "tlspin.h"

#define DEFAULT_TIMEOUT		60
#define END_OF_DATA_TIMEOUT	600
#define SEND_CHUNK		(256 * 1024)

struct session {
	CURL			*curl;
	const struct settings	*s;
	int			 verbose;
	struct timespec		 t0;
	/* What libcurl's phase showed us. */
	struct reply_parser	 dbg_parser;
	struct reply		 ehlo;
	bool			 have_ehlo;
	struct reply		 last;		/* the last reply libcurl saw */
	struct reply		 greeting;
	int			 short_wait;	/* seconds, for replies already due */
	enum stage		 stage;
	bool			 in_auth;
	int			 fd;		/* the socket, once open */
	/* Our phase. */
	curl_socket_t		 sock;
	struct reply_parser	 parser;
	char			 rbuf[8192];
	size_t			 rlen, rpos;
	struct caps		 caps;
	char			 errbuf[CURL_ERROR_SIZE];
	/* A person watching a large message go out (stderr a terminal). */
	off_t			 progress_total;	/* 0: no progress line */
	off_t			 progress_sent;
	double			 progress_at, progress_start;
};

static double
elapsed(const struct session *ss)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - ss->t0.tv_sec) +
	    (double)(t.tv_nsec - ss->t0.tv_nsec) / 1e9;
}

/* -v: one line of the transcript, escaped, with a timestamp. */
static void
trace(const struct session *ss, const char *dir, const char *p, size_t n)
{
	char line[600];

	while (n > 0 && (p[n - 1] == '\n' || p[n - 1] == '\r'))
		n--;
	escape_line(line, sizeof(line), p, n);
	fprintf(stderr, "smtpsend: [%8.3f ms] %s %s\n", elapsed(ss) * 1000,
	    dir, line);
}

/* Each line of a command batch we send, for -v. */
static void
trace_commands(const struct session *ss, const char *p, size_t n)
{
	const char *nl;

	while (n > 0 && (nl = memchr(p, '\n', n)) != NULL) {
		trace(ss, ">", p, (size_t)(nl - p));
		n -= (size_t)(nl - p) + 1;
		p = nl + 1;
	}
}

/* A parsed reply, line by line, as the server wrote it. */
static void
trace_reply(const struct session *ss, const struct reply *r)
{
	const char *line = r->text, *nl;
	char shown[600];

	do {
		nl = strchr(line, '\n');
		snprintf(shown, sizeof(shown), "%d%c%.*s", r->code,
		    nl ? '-' : ' ', (int)(nl ? (size_t)(nl - line) :
		    strlen(line)), line);
		trace(ss, "<", shown, strlen(shown));
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
quick_ack(const struct session *ss)
{
	int one = 1;

	if (ss->fd >= 0)
		setsockopt(ss->fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
}

/* A command libcurl sent: AUTH and what follows it are secrets. */
static void
debug_out(struct session *ss, const char *p, size_t n)
{
	enum stage st;
	const char *sp;

	quick_ack(ss);
	/* Inside AUTH every line is a secret, whatever it looks like. */
	if (ss->in_auth) {
		if (ss->verbose)
			trace(ss, ">", "<redacted>", 10);
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
			trace(ss, ">", shown, strlen(shown));
		}
		return;
	}
	if (ss->verbose)
		trace(ss, ">", p, n);
}

static void
debug_in(struct session *ss, const char *p, size_t n)
{
	struct reply r;
	size_t used;
	bool done;

	if (ss->verbose)
		trace(ss, "<", p, n);
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

static int
debug_cb(CURL *h, curl_infotype type, char *data, size_t n, void *arg)
{
	struct session *ss = arg;

	(void)h;
	if (type == CURLINFO_HEADER_OUT)
		debug_out(ss, data, n);
	else if (type == CURLINFO_HEADER_IN)
		debug_in(ss, data, n);
	else if (type == CURLINFO_TEXT && ss->verbose > 1)
		trace(ss, "*", data, n);
	return 0;
}

static int
timeout_of(const struct settings *s)
{
	return s->timeout > 0 ? s->timeout : DEFAULT_TIMEOUT;
}

/* `domain`, this host's name with a dot, else the address literal of the
 * local end: never a name without a dot (CONTRACT section 4). */
static void
ehlo_name(const struct settings *s, char *dst, size_t size)
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

	ehlo_name(s, ehlo, sizeof(ehlo));
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
	struct session *ss = arg;

	(void)h;
	tls_watch_install(ssl_ctx, &ss->fd);
	if (ss->s->fingerprint != NULL &&
	    tlspin_install(ssl_ctx, ss->s->fingerprint) == -1)
		return CURLE_SSL_CERTPROBLEM;
	return CURLE_OK;
}

static CURLcode
setup_tls(struct session *ss)
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
setup_network(struct session *ss)
{
	const struct settings *s = ss->s;
	CURL *h = ss->curl;
	long t = timeout_of(s);
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
	if (rc == CURLE_OK && s->proxy_host != NULL)
		rc = curl_easy_setopt(h, CURLOPT_PROXY, s->proxy_host);
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
	struct session *ss = arg;

	(void)dt;
	(void)dn;
	(void)ut;
	(void)un;
	return ss->dbg_parser.error || interrupt_signal() != 0;
}

/* Our socket, so that a signal can shut it down (see interrupt.h). */
static curl_socket_t
open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct session *ss = arg;
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
	struct session *ss = arg;

	if (ss->fd == fd)
		ss->fd = -1;
	interrupt_unwatch(fd);
	return close(fd);
}

static int
setup(struct session *ss, struct failure *f)
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
static void
interrupted(struct failure *f)
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

static long
last_code(const struct session *ss)
{
	long code = 0;

	curl_easy_getinfo(ss->curl, CURLINFO_RESPONSE_CODE, &code);
	return code;
}

static const char *
curl_why(const struct session *ss, CURLcode rc)
{
	return ss->errbuf[0] != '\0' ? ss->errbuf : curl_easy_strerror(rc);
}

/* The server's words for a failure in libcurl's phase, else curl's. */
static const char *
server_said(struct session *ss, CURLcode rc)
{
	static char text[600];

	if (ss->last.code >= 400) {
		snprintf(text, sizeof(text), "%d ", ss->last.code);
		escape_line(text + strlen(text), sizeof(text) - strlen(text),
		    ss->last.text, ss->last.textlen);
		return text;
	}
	return curl_why(ss, rc);
}

/* The stage a perform() failure happened in. */
static enum stage
perform_stage(const struct session *ss)
{
	if (ss->stage == STAGE_NONE)
		return ss->s->tls && !ss->s->starttls && ss->errbuf[0] != '\0' &&
		    strstr(ss->errbuf, "SSL") != NULL ? STAGE_TLS :
		    STAGE_CONNECT;
	return ss->stage;
}

/* The fix for the classic TLS mistakes (CONTRACT section 9). */
static const char *
tls_hint(const struct session *ss, char *dst, size_t size)
{
	const char *why = ss->errbuf;
	char seen[100];

	if (ss->s->fingerprint != NULL && tlspin_seen(seen, sizeof(seen)) == 0 &&
	    strcasecmp(seen, ss->s->fingerprint) != 0)
		snprintf(dst, size, "; the server's certificate has SHA-256 "
		    "fingerprint %s, not the tls_fingerprint %s (if its "
		    "certificate changed, set the new one)", seen,
		    ss->s->fingerprint);
	else if (strstr(why, "wrong version number") != NULL && ss->s->tls &&
	    !ss->s->starttls)
		snprintf(dst, size, "; the server did not answer TLS: a "
		    "STARTTLS port such as 587? set tls_starttls on");
	else if (strstr(why, "self-signed") != NULL ||
	    strstr(why, "unable to get local issuer") != NULL)
		snprintf(dst, size, "; the certificate is not trusted: see it "
		    "with smtpsend --serverinfo --tls-certcheck=off and set "
		    "tls_fingerprint (or tls_trust_file)");
	else
		*dst = '\0';
	return dst;
}

static void
tls_failure(struct session *ss, CURLcode rc, struct failure *f)
{
	char hint[400];

	if (rc == CURLE_SSL_CACERT_BADFILE || rc == CURLE_SSL_CERTPROBLEM) {
		fail(f, STAGE_TLS, CAUSE_CONFIG, 0, "TLS setup failed: %s",
		    curl_why(ss, rc));
		return;
	}
	fail(f, STAGE_TLS, CAUSE_TEMPORARY, 0, "TLS with %s failed, nothing "
	    "was sent: %s%s", ss->s->host, curl_why(ss, rc),
	    tls_hint(ss, hint, sizeof(hint)));
}

/* Connection errors in the system's own words: "Connection refused". */
static void
connect_failure(struct session *ss, CURLcode rc, struct failure *f)
{
	long os = 0;
	double connected = 0;

	curl_easy_getinfo(ss->curl, CURLINFO_OS_ERRNO, &os);
	curl_easy_getinfo(ss->curl, CURLINFO_CONNECT_TIME, &connected);
	if (rc == CURLE_OPERATION_TIMEDOUT && connected > 0 &&
	    ss->stage == STAGE_NONE)
		fail(f, STAGE_GREETING, CAUSE_TEMPORARY, 0, "%s:%u accepted the "
		    "connection but sent no greeting%s", ss->s->host,
		    ss->s->port, ss->s->tls && ss->s->starttls ? ": an "
		    "implicit-TLS port such as 465? set tls_starttls off" : "");
	else if (rc == CURLE_COULDNT_CONNECT && os != 0)
		fail(f, STAGE_CONNECT, CAUSE_TEMPORARY, 0, "cannot connect to "
		    "%s port %u: %s", ss->s->host, ss->s->port,
		    strerror((int)os));
	else
		fail(f, perform_stage(ss), CAUSE_TEMPORARY, 0, "%s with %s:%u "
		    "failed: %s", stage_name(perform_stage(ss)), ss->s->host,
		    ss->s->port, curl_why(ss, rc));
}

/* A name that does not exist (68), or a resolver that failed now (75). */
static void
resolve_failure(struct session *ss, struct failure *f)
{
	struct addrinfo hints, *ai = NULL;
	int e;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	e = getaddrinfo(ss->s->host, NULL, &hints, &ai);
	if (ai != NULL)
		freeaddrinfo(ai);
	if (e == EAI_AGAIN || e == EAI_FAIL || e == 0)
		fail(f, STAGE_CONNECT, CAUSE_TEMPORARY, 0, "cannot resolve %s: "
		    "temporary DNS failure", ss->s->host);
	else
		fail(f, STAGE_CONNECT, CAUSE_NOHOST, 0, "cannot resolve %s: %s",
		    ss->s->host, e == EAI_NONAME || e == EAI_NODATA ?
		    "no such host" : gai_strerror(e));
}

static void
login_failure(struct session *ss, CURLcode rc, struct failure *f)
{
	long code = last_code(ss);

	if (code >= 400)
		fail(f, STAGE_AUTH, CAUSE_REPLY, (int)code, "authentication "
		    "refused by %s: %s", ss->s->host, server_said(ss, rc));
	else
		fail(f, STAGE_AUTH, CAUSE_UNAVAILABLE, 0, "no authentication "
		    "method in common with the server (it offers: %s)",
		    ss->have_ehlo && ss->caps.auth ? ss->caps.auth_mechs :
		    "none");
}

/* A reply curl did not like: the code says whose fault it was. */
static void
reply_failure(struct session *ss, CURLcode rc, struct failure *f)
{
	enum stage st = perform_stage(ss);
	long code = last_code(ss);

	if (st == STAGE_TLS || st == STAGE_STARTTLS) {
		if (code == 220)
			fail(f, STAGE_STARTTLS, CAUSE_TEMPORARY, 0, "STARTTLS: "
			    "the server sent data after its 220 reply "
			    "(possible injection); nothing was sent");
		else
			fail(f, STAGE_STARTTLS, CAUSE_TEMPORARY, (int)code,
			    "STARTTLS refused by %s, nothing was sent: %s",
			    ss->s->host, server_said(ss, rc));
		return;
	}
	if (code >= 400 && code <= 599)
		fail(f, st == STAGE_NONE ? STAGE_GREETING : st, CAUSE_REPLY,
		    (int)code, "%s refused by %s: %s", stage_name(st),
		    ss->s->host, server_said(ss, rc));
	else
		fail(f, st, CAUSE_PROTOCOL, (int)code, "%s: unexpected reply "
		    "from %s: %s", stage_name(st), ss->s->host,
		    curl_why(ss, rc));
}

static void
perform_failure(struct session *ss, CURLcode rc, struct failure *f)
{
	if (ss->dbg_parser.error) {
		fail(f, perform_stage(ss), CAUSE_PROTOCOL, 0, "%s is not an SMTP "
		    "server: %s", ss->s->host, ss->dbg_parser.why);
		return;
	}
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
		resolve_failure(ss, f);
		break;
	case CURLE_COULDNT_RESOLVE_PROXY:
		fail(f, STAGE_CONNECT, CAUSE_NOHOST, 0, "cannot resolve %s: %s",
		    ss->s->proxy_host, curl_why(ss, rc));
		break;
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
		connect_failure(ss, rc, f);
		break;
	case CURLE_USE_SSL_FAILED:
		if (ss->stage == STAGE_STARTTLS)
			fail(f, STAGE_STARTTLS, CAUSE_TEMPORARY, 0, "STARTTLS "
			    "refused by %s, nothing was sent: %s", ss->s->host,
			    server_said(ss, rc));
		else
			fail(f, STAGE_STARTTLS, CAUSE_TEMPORARY, 0, "%s does "
			    "not offer STARTTLS; nothing was sent",
			    ss->s->host);
		break;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
		tls_failure(ss, rc, f);
		break;
	case CURLE_LOGIN_DENIED:
		login_failure(ss, rc, f);
		break;
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_REMOTE_ACCESS_DENIED:
		reply_failure(ss, rc, f);
		break;
	default:
		/* libcurl has no code of its own for a reply line past its
		 * limit (a 20 MB greeting): that is not SMTP (76). */
		fail(f, perform_stage(ss), strncmp(ss->errbuf, "Too large "
		    "response", 18) == 0 ? CAUSE_PROTOCOL : CAUSE_TEMPORARY, 0,
		    "%s with %s:%u failed: %s", stage_name(perform_stage(ss)),
		    ss->s->host, ss->s->port, curl_why(ss, rc));
		break;
	}
}

static void
phase_times(struct session *ss, struct session_report *rep)
{
	double connect = 0, app = 0;

	curl_easy_getinfo(ss->curl, CURLINFO_CONNECT_TIME, &connect);
	curl_easy_getinfo(ss->curl, CURLINFO_APPCONNECT_TIME, &app);
	rep->t_connect = connect;
	rep->t_tls = app > connect ? app - connect : 0;
	rep->t_auth = elapsed(ss) - (app > connect ? app : connect);
	if (rep->t_auth < 0)
		rep->t_auth = 0;
	rep->tls = app > 0;
}

/* Connect, greeting, EHLO, STARTTLS, EHLO: libcurl's part. */
static int
open_session(struct session *ss, struct session_report *rep,
    struct failure *f)
{
	CURLcode rc;

	if (setup(ss, f) == -1)
		return -1;
	rc = curl_easy_perform(ss->curl);
	/* Also after a failure: -v and the log tell what was reached. */
	phase_times(ss, rep);
	if (ss->have_ehlo)
		caps_parse(&ss->caps, &ss->ehlo);
	if (rc != CURLE_OK) {
		perform_failure(ss, rc, f);
		interrupted(f);
		return -1;
	}
	if (ss->verbose && ss->s->tls && tls_captured() != NULL) {
		char tls[512];

		tls_summary(tls_captured(), ss->s->certcheck ||
		    ss->s->fingerprint, tls, sizeof(tls));
		trace(ss, "*", tls, strlen(tls));
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
wait_socket(const struct session *ss, short events,
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
static int
send_all(struct session *ss, const char *p, size_t n, enum stage st,
    struct failure *f)
{
	struct timespec deadline;
	size_t sent;
	CURLcode rc;

	deadline_in(&deadline, timeout_of(ss->s));
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
		deadline_in(&deadline, timeout_of(ss->s));
	}
	return 0;
}

static int
send_commands(struct session *ss, const struct buf *b, enum stage st,
    struct failure *f)
{
	if (ss->verbose)
		trace_commands(ss, b->data, b->len);
	return send_all(ss, b->data, b->len, st, f);
}

/* Receive more bytes; 0 when the server closed, -1 on error. */
static int
fill(struct session *ss, const struct timespec *deadline, enum stage st,
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

static int
read_reply(struct session *ss, struct reply *r, enum stage st, int seconds,
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

/* -v shows "AUTH PLAIN <redacted>": the mechanism, never the secret. */
static void
trace_secret(const struct session *ss, const struct buf *b, bool command)
{
	char shown[64];
	const char *sp = command ? memchr(b->data + 5, ' ', b->len - 5) : NULL;

	snprintf(shown, sizeof(shown), "%.*s%s", command ? (int)((sp ?
	    sp : b->data + b->len - 2) - b->data) : 0, b->data,
	    !command || sp ? (command ? " <redacted>" : "<redacted>") : "");
	trace(ss, ">", shown, strlen(shown));
}

/* An AUTH line or a response: on the wire, never in -v. */
static int
send_secret(struct session *ss, const struct buf *b, bool command,
    struct failure *f)
{
	if (ss->verbose)
		trace_secret(ss, b, command);
	return send_all(ss, b->data, b->len, STAGE_AUTH, f);
}

static int
auth_refused(struct session *ss, const struct reply *r, const char *said,
    struct failure *f)
{
	char text[600];

	escape_line(text, sizeof(text), r->text, r->textlen);
	fail(f, STAGE_AUTH, CAUSE_REPLY, r->code, "authentication refused by "
	    "%s: %d %s%s%s%s", ss->s->host, r->code, text, said ? " (the "
	    "server said: " : "", said ? said : "", said ? ")" : "");
	return -1;
}

static int
no_mechanism(struct session *ss, struct failure *f)
{
	if (!ss->caps.auth)
		fail(f, STAGE_AUTH, CAUSE_UNAVAILABLE, 0, "%s does not offer "
		    "AUTH, and credentials are configured; nothing was sent",
		    ss->s->host);
	else
		fail(f, STAGE_AUTH, CAUSE_UNAVAILABLE, 0, "no authentication "
		    "method in common with the server (it offers: %s)",
		    ss->caps.auth_mechs);
	return -1;
}

/* The challenges and answers until 235, or the refusal. */
static int
auth_exchange(struct session *ss, struct sasl *sa, struct buf *b,
    struct failure *f)
{
	char *said = NULL;
	struct reply r;
	int rc = -1;

	while (read_reply(ss, &r, STAGE_AUTH, timeout_of(ss->s), f) == 0) {
		if (r.code == 235) {
			rc = 0;
			break;
		}
		if (r.code != 334 || sa->round > 4) {
			auth_refused(ss, &r, said, f);
			break;
		}
		if (sa->round > 0 && said == NULL)
			said = sasl_decode(r.text);	/* an error status */
		buf_reset(b);
		if (sasl_step(sa, r.text, b) == -1 ||
		    send_secret(ss, b, false, f) == -1) {
			if (!failed(f))
				fail(f, STAGE_AUTH, CAUSE_PROTOCOL, r.code, "%s "
				    "sent an AUTH challenge that cannot be "
				    "answered", ss->s->host);
			break;
		}
	}
	free(said);
	return rc;
}

/*
 * AUTH ourselves, not libcurl: every reply is ours to see, so a refusal
 * is followed by QUIT and reported with what the server said.
 */
static int
authenticate(struct session *ss, const char *password, struct failure *f)
{
	struct sasl sa = { SASL_NONE, ss->s->user ? ss->s->user : "",
	    password ? password : "", ss->s->host, ss->s->port, 0, false };
	struct buf b = BUF_INIT;
	int rc = -1;

	if (!ss->caps.auth ||
	    (sa.mech = sasl_choose(ss->s->auth, ss->caps.auth_mechs)) ==
	    SASL_NONE)
		return no_mechanism(ss, f);
	if (sasl_start(&sa, &b) == -1)
		fail_errno(f, CAUSE_OSERR, "out of memory");
	else if (send_secret(ss, &b, true, f) == 0)
		rc = auth_exchange(ss, &sa, &b, f);
	buf_free_secret(&b);
	return rc;
}

#define PROGRESS_MIN	(1024 * 1024)

/* "sent 12.0 of 51.0 MiB (2.5 MiB/s)", at most twice a second. */
static void
progress(struct session *ss, size_t n, bool done)
{
	double now = elapsed(ss), mib = 1024.0 * 1024.0;

	if (ss->progress_total == 0)
		return;
	ss->progress_sent += (off_t)n;
	if (!done && now - ss->progress_at < 0.5)
		return;
	ss->progress_at = now;
	if (done)
		ss->progress_sent = ss->progress_total;
	fprintf(stderr, "\rsmtpsend: sent %.1f of %.1f MiB (%.1f MiB/s)%s",
	    (double)ss->progress_sent / mib, (double)ss->progress_total / mib,
	    now > ss->progress_start ? (double)ss->progress_sent / mib /
	    (now - ss->progress_start) : 0.0, done ? "\n" : "");
}

/* The whole message, dot-stuffed for DATA, after `prefix`. */
static int
send_message(struct session *ss, bool bdat, const struct message *m,
    const struct buf *prefix, struct failure *f)
{
	struct buf out = BUF_INIT, head = BUF_INIT;
	struct dotstuffer ds = { true };
	static char chunk[SEND_CHUNK];
	off_t off = 0;
	ssize_t n;
	int r = -1;

	/* Room for the prefix, headers and one chunk, all doubled by
	 * dot-stuffing at worst, and the final dot. */
	if (message_header_bytes(m, &head) == -1 ||
	    buf_add(&out, prefix->data, prefix->len) == -1 ||
	    buf_reserve(&out, 2 * SEND_CHUNK + 2 * head.len + 3) == -1)
		goto nomem;
	out.len += bdat ? (memcpy(out.data + out.len, head.data, head.len),
	    head.len) : dotstuff(&ds, head.data, head.len, out.data + out.len);
	do {
		if ((n = spool_read(&m->body, off, chunk, sizeof(chunk))) == -1) {
			fail_errno(f, CAUSE_OSERR, "reading the stored message");
			goto out;
		}
		off += n;
		out.len += bdat ? (memcpy(out.data + out.len, chunk, (size_t)n),
		    (size_t)n) : dotstuff(&ds, chunk, (size_t)n,
		    out.data + out.len);
		if (n == 0 && !bdat)
			buf_add(&out, ".\r\n", 3);
		if (send_all(ss, out.data, out.len, STAGE_END_OF_DATA, f) == -1)
			goto out;
		progress(ss, (size_t)n, n == 0);
		out.len = 0;
	} while (n > 0);
	if (ss->verbose)
		trace(ss, ">", "[message sent]", 14);
	r = 0;
	goto out;
nomem:
	fail_errno(f, CAUSE_OSERR, "out of memory");
out:
	buf_free(&out);
	buf_free(&head);
	return r;
}

static enum stage
txn_stage(const struct txn *t)
{
	switch (t->state) {
	case TXN_MAIL:	return STAGE_MAIL;
	case TXN_RCPT:	return STAGE_RCPT;
	case TXN_DATA:	return STAGE_DATA;
	default:	return STAGE_END_OF_DATA;
	}
}

/* The reply to the final dot may take long; a lost one may be delivered. */
static int
txn_read(struct session *ss, struct txn *t, struct reply *r,
    struct failure *f)
{
	int tmo = t->state == TXN_EOD ? (ss->s->timeout > 0 ? ss->s->timeout :
	    END_OF_DATA_TIMEOUT) : ss->short_wait > 0 ? ss->short_wait :
	    timeout_of(ss->s);

	if (read_reply(ss, r, txn_stage(t), tmo, f) == 0)
		return 0;
	if (t->state == TXN_EOD && f->cause == CAUSE_TEMPORARY)
		fail(f, STAGE_END_OF_DATA, CAUSE_POSSIBLY_SENT, 0, "%s; the "
		    "message may have been delivered", f->text);
	return -1;
}

/*
 * The connection broke while the message was going out with the envelope:
 * a server that refused MAIL or RCPT and hung up said why in replies that
 * are already here. They explain the failure better than the lost send.
 */
static void
explain_lost_send(struct session *ss, struct txn *t, struct failure *f)
{
	struct failure ignored = { 0 };
	struct reply r;
	enum txn_step st = TXN_READ;

	ss->short_wait = 2;
	while (st == TXN_READ && t->state != TXN_EOD &&
	    txn_read(ss, t, &r, &ignored) == 0)
		st = txn_reply(t, &r);
	if (st == TXN_FAILED && t->f.cause == CAUSE_REPLY)
		*f = t->f;
	ss->short_wait = 0;
}

/*
 * What the machine asks for, with the AUTH line in front of the first
 * flight when it goes early (see auth_goes_early).
 */
static int
send_step(struct session *ss, struct txn *t, enum txn_step st,
    const struct message *m, const struct buf *auth, struct failure *f)
{
	struct buf joined = BUF_INIT;
	const struct buf *out = &t->out;
	int r = -1;

	if (ss->verbose && auth != NULL)
		trace_secret(ss, auth, true);
	if (ss->verbose)
		trace_commands(ss, t->out.data, t->out.len);
	if (auth != NULL) {
		if (buf_add(&joined, auth->data, auth->len) == -1 ||
		    buf_add(&joined, t->out.data, t->out.len) == -1) {
			fail_errno(f, CAUSE_OSERR, "out of memory");
			goto out;
		}
		out = &joined;
	}
	r = st == TXN_SEND_BODY ? send_message(ss, t->bdat, m, out, f) :
	    send_all(ss, out->data, out->len, auth ? STAGE_AUTH :
	    txn_stage(t), f);
	txn_sent(t, st);
	if (r == -1 && t->body_early)
		explain_lost_send(ss, t, f);
out:
	buf_free_secret(&joined);
	return r;
}

/*
 * The AUTH that went ahead of the transaction was refused, and the
 * commands after it reached a server that may take mail without AUTH
 * (mynetworks): their replies say whether it did. Nothing more is sent.
 */
static bool
taken_anyway(struct session *ss, struct txn *t, const struct failure *f)
{
	enum txn_step st = TXN_READ;
	struct failure ignored = { 0 };
	struct reply r;

	while (st == TXN_READ && txn_read(ss, t, &r, &ignored) == 0)
		st = txn_reply(t, &r);
	if (st != TXN_DONE || failed(&t->f))
		return false;
	fprintf(stderr, "smtpsend: warning: %s; %s took the message without "
	    "authentication: check user and password\n", f->text,
	    ss->s->host);
	return true;
}

/* The reply to an early AUTH: 0 on 235, else -1 with f set. */
static int
early_auth_reply(struct session *ss, struct session_report *rep,
    struct failure *f)
{
	struct reply r;

	if (read_reply(ss, &r, STAGE_AUTH, timeout_of(ss->s), f) == -1)
		return -1;
	if (r.code != 235)
		return auth_refused(ss, &r, NULL, f);
	rep->authenticated = true;
	return 0;
}

/*
 * A refusal in the middle of a pipelined group: the replies to the rest
 * are on their way. Read them before QUIT, so that the close does not
 * meet unread data and reset the connection before the server sees QUIT.
 */
static void
drain_unanswered(struct session *ss, struct txn *t)
{
	struct failure ignored = { 0 };
	struct reply r;

	while (t->unanswered > 0 &&
	    read_reply(ss, &r, txn_stage(t), 2, &ignored) == 0)
		t->unanswered--;
}

static void
report_txn(const struct txn *t, struct session_report *rep,
    struct failure *f)
{
	rep->code = t->code;
	strlcpy(rep->text, t->text, sizeof(rep->text));
	rep->accepted = t->delivered.n;
	rep->delivered = t->delivered.n > 0;
	/* Delivered to some: the others are worth keeping for -q. */
	if (rep->delivered && failed(f) && txn_remaining(t, &rep->deferred) == -1)
		fail_errno(f, CAUSE_OSERR, "out of memory");
}

/*
 * Drive the transaction machine (src/txn.c) over the connection; `auth`,
 * when not NULL, goes in the same write as the first commands.
 */
static int
transaction(struct session *ss, struct txn *t, const struct envelope *e,
    const struct message *m, const struct buf *auth,
    struct session_report *rep, struct failure *f)
{
	enum txn_step st = txn_init(t, e, &ss->caps, message_size(m),
	    ss->s->partial_delivery, ss->s->host);
	struct reply r;

	while (st != TXN_DONE && st != TXN_FAILED) {
		if (st != TXN_READ && send_step(ss, t, st, m, auth, f) == -1)
			break;
		if (auth != NULL && (auth = NULL,
		    early_auth_reply(ss, rep, f) == -1)) {
			if (f->cause == CAUSE_REPLY && taken_anyway(ss, t, f))
				st = TXN_DONE;
			break;
		}
		if (txn_read(ss, t, &r, f) == -1)
			break;
		st = txn_reply(t, &r);
	}
	if (st == TXN_FAILED || st == TXN_DONE)
		*f = t->f;
	if (f->cause == CAUSE_REPLY)
		drain_unanswered(ss, t);
	report_txn(t, rep, f);
	return failed(f) ? -1 : 0;
}

/* An extension this message needs that the first EHLO lacked. */
static bool
needs_more(const struct caps *c, const struct envelope *e,
    const struct message *m)
{
	return ((e->notify || e->ret || e->envid) && !c->dsn) ||
	    (e->smtputf8 && !c->smtputf8) || (m->eight_bit &&
	    !c->eightbitmime) || (c->size_max > 0 &&
	    (unsigned long long)message_size(m) > c->size_max);
}

/*
 * Some servers (Dovecot's submission) offer more once the client has
 * authenticated: ask again before giving up (CONTRACT section 5).
 */
static int
ehlo_again(struct session *ss, struct failure *f)
{
	struct buf b = BUF_INIT;
	char name[300];
	struct reply r;
	int rc = -1;

	ehlo_name(ss->s, name, sizeof(name));
	if (buf_printf(&b, "EHLO %s\r\n", name) == -1)
		fail_errno(f, CAUSE_OSERR, "out of memory");
	else if (send_commands(ss, &b, STAGE_EHLO, f) == 0 &&
	    read_reply(ss, &r, STAGE_EHLO, timeout_of(ss->s), f) == 0) {
		if (r.code / 100 == 2) {
			caps_parse(&ss->caps, &r);
			rc = 0;
		} else
			fail(f, STAGE_EHLO, CAUSE_REPLY, r.code, "EHLO after "
			    "AUTH refused by %s: %d", ss->s->host, r.code);
	}
	buf_free(&b);
	return rc;
}

/* QUIT is polite; its reply changes nothing, so nobody waits for it. */
static void
quit(struct session *ss)
{
	size_t sent;

	if (ss->verbose)
		trace(ss, ">", "QUIT", 4);
	curl_easy_send(ss->curl, "QUIT\r\n", 6, &sent);
}

static void
print_timings(const struct session_report *rep)
{
	fprintf(stderr, "smtpsend: timings: connect %.1f ms, tls %.1f ms, "
	    "auth %.1f ms, transfer %.1f ms\n", rep->t_connect * 1000,
	    rep->t_tls * 1000, rep->t_auth * 1000, rep->t_transfer * 1000);
}

/*
 * Lines over 998 octets, or 8-bit data for a server without 8BITMIME:
 * re-encode (CONTRACT section 5). *use points at what is to be sent.
 */
static int
prepare_body(struct session *ss, const struct message *m,
    struct message *encoded, const struct message **use, struct failure *f)
{
	bool to7bit = m->eight_bit && !ss->caps.eightbitmime;

	*use = m;
	if (!to7bit && m->longest_line <= 998)
		return 0;
	if (encode_for_transport(m, encoded, to7bit, f) == -1)
		return -1;
	*use = encoded;
	return 0;
}

/* Both ways in (a submission, --serverinfo) start the same. */
static void
session_init(struct session *ss, const struct settings *s, int verbose)
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

static void
session_close(struct session *ss)
{
	if (ss->curl != NULL)
		curl_easy_cleanup(ss->curl);
	ss->curl = NULL;
}

/* AUTH in a round trip of its own, then EHLO again if need be. */
static int
auth_alone(struct session *ss, const char *password,
    const struct envelope *e, const struct message *m,
    struct session_report *rep, struct failure *f)
{
	double t = elapsed(ss);

	if (authenticate(ss, password, f) == -1)
		return -1;
	rep->t_auth += elapsed(ss) - t;
	rep->authenticated = true;
	if (m != NULL && needs_more(&ss->caps, e, m))
		return ehlo_again(ss, f);
	return 0;
}

/*
 * RFC 4954 section 4: PLAIN with its initial response ends in one
 * exchange and sets up no security layer, so with PIPELINING the
 * transaction may share its write: one round trip less. Only to a peer
 * TLS verified (or loopback, the one place auth goes without TLS), and
 * not when the message needs what a server may offer only after AUTH.
 * True with the AUTH line in `line`.
 */
static bool
auth_early(struct session *ss, const char *password,
    const struct envelope *e, const struct message *m, struct buf *line)
{
	const struct settings *s = ss->s;
	struct sasl sa = { SASL_PLAIN, s->user ? s->user : "",
	    password ? password : "", s->host, s->port, 0, false };

	if (!ss->caps.pipelining || !ss->caps.auth ||
	    sasl_choose(s->auth, ss->caps.auth_mechs) != SASL_PLAIN ||
	    (s->tls && !s->certcheck && s->fingerprint == NULL) ||
	    needs_more(&ss->caps, e, m))
		return false;
	/* Without its initial response PLAIN takes two exchanges. */
	if (sasl_start(&sa, line) == -1 || line->len <= strlen("AUTH PLAIN\r\n")) {
		buf_free_secret(line);
		return false;
	}
	return true;
}

/* Connected and, unless AUTH goes with the transaction, authenticated. */
static int
submit_start(struct session *ss, const char *password,
    const struct envelope *e, const struct message *m, struct buf *auth,
    struct session_report *rep, struct failure *f)
{
	if (open_session(ss, rep, f) == -1)
		return -1;
	if (interrupt_signal() != 0) {
		fail(f, STAGE_CONNECT, CAUSE_TEMPORARY, 0, "interrupted");
		interrupted(f);
		return -1;
	}
	if (ss->s->auth == AUTH_OFF || auth_early(ss, password, e, m, auth))
		return 0;
	return auth_alone(ss, password, e, m, rep, f);
}

static int
submit_to(const struct settings *s, const char *password,
    const struct envelope *e, const struct message *m, int verbose,
    struct session_report *rep, struct failure *f)
{
	struct session ss;
	struct message encoded;
	struct envelope ascii;
	struct buf auth = BUF_INIT;
	const struct message *use;
	struct txn t;
	double t_open;
	int r = -1;

	memset(&t, 0, sizeof(t));
	memset(&ascii, 0, sizeof(ascii));
	memset(rep, 0, sizeof(*rep));
	message_init(&encoded);
	session_init(&ss, s, verbose);
	if (submit_start(&ss, password, e, m, &auth, rep, f) == -1)
		goto out;
	t_open = elapsed(&ss);
	if (prepare_body(&ss, m, &encoded, &use, f) == -1)
		goto out;
	/* Without SMTPUTF8, domains go as A-labels (xn--). */
	if (e->smtputf8 && !ss.caps.smtputf8) {
		if (idna_envelope(e, &ascii, f) == -1)
			goto out;
		e = &ascii;
	}
	if (smtpcmd_check(e, &ss.caps, message_size(use), f) == -1)
		goto out;
	if (isatty(STDERR_FILENO) && message_size(use) > PROGRESS_MIN) {
		ss.progress_total = message_size(use);
		ss.progress_start = ss.progress_at = elapsed(&ss);
	}
	r = transaction(&ss, &t, e, use, auth.len > 0 ? &auth : NULL, rep, f);
	if (r == -1)
		interrupted(f);
	rep->t_transfer = elapsed(&ss) - t_open;
out:
	if (ss.sock != 0 && ss.curl != NULL)
		quit(&ss);
	session_close(&ss);
	buf_free_secret(&auth);
	txn_free(&t);
	envelope_free(&ascii);
	message_free(&encoded);
	if (verbose)
		print_timings(rep);
	return r == 0 && !failed(f) ? 0 : -1;
}

/*
 * The next host is worth a try when this one could not be reached or
 * would not talk: never after a 5xx, a refused AUTH, or once MAIL was
 * answered (the message may be on its way).
 */
static bool
worth_next(const struct failure *f)
{
	if (f->stage > STAGE_TLS || interrupt_signal() != 0)
		return false;
	if (f->cause == CAUSE_REPLY)
		return f->code >= 400 && f->code < 500;
	return f->cause == CAUSE_TEMPORARY || f->cause == CAUSE_NOHOST;
}

int
session_submit(const struct settings *s, const char *password,
    const struct envelope *e, const struct message *m, int verbose,
    struct session_report *rep, struct failure *f)
{
	struct settings one = *s;
	char host[256];
	int i, r = -1;

	for (i = 0; settings_host_at(s->host, i, host, sizeof(host)) == 0;
	    i++) {
		if (i > 0 && verbose)
			fprintf(stderr, "smtpsend: %s; trying %s\n", f->text,
			    host);
		memset(f, 0, sizeof(*f));
		one.host = host;
		r = submit_to(&one, password, e, m, verbose, rep, f);
		strlcpy(rep->host, host, sizeof(rep->host));
		if (r == 0 || !worth_next(f))
			break;
	}
	if (verbose && r == 0)
		fprintf(stderr, "smtpsend: %s took the message\n", rep->host);
	return r;
}

/* The libraries that matter to mail, not every protocol curl knows. */
const char *
session_library(void)
{
	static char text[256];
	const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);

	snprintf(text, sizeof(text), "libcurl %s, %s, libidn2 %s, json-c %s",
	    v->version, v->ssl_version ? v->ssl_version : "no TLS",
	    idn2_check_version(NULL), json_c_version());
	return text;
}

/* SIZE in the units people read. */
static void
human_size(char *dst, size_t size, unsigned long long n)
{
	static const char *const units[] = { "bytes", "KiB", "MiB", "GiB" };
	double v = (double)n;
	int u = 0;

	while (v >= 1024 && u < 3) {
		v /= 1024;
		u++;
	}
	snprintf(dst, size, u ? "%.1f %s" : "%.0f %s", v, units[u]);
}

static void
print_extensions(FILE *out, const struct session *ss)
{
	const char *line = strchr(ss->ehlo.text, '\n'), *nl;
	char human[32], shown[600];

	fprintf(out, "extensions:\n");
	for (; line != NULL; line = nl) {
		line++;
		nl = strchr(line, '\n');
		escape_line(shown, sizeof(shown), line, nl ? (size_t)(nl -
		    line) : strlen(line));
		fprintf(out, "    %s", shown);
		if (strncasecmp(line, "SIZE ", 5) == 0 && ss->caps.size_max) {
			human_size(human, sizeof(human), ss->caps.size_max);
			fprintf(out, " (%s)", human);
		}
		fputc('\n', out);
	}
	escape_line(shown, sizeof(shown), ss->caps.auth_mechs,
	    strlen(ss->caps.auth_mechs));
	fprintf(out, "AUTH mechanisms: %s\n", ss->caps.auth ? shown :
	    "none offered");
}

static void
print_tls(FILE *out, const struct session *ss)
{
	/* CURLINFO_TLS_SSL_PTR is NULL after a CONNECT_ONLY perform on
	 * 7.88: the SSL is taken from the handshake instead. */
	if (!ss->s->tls || tls_captured() == NULL) {
		fprintf(out, "TLS: none\n");
		return;
	}
	tls_describe(out, tls_captured());
}

int
session_serverinfo(const struct settings *s, int verbose, FILE *out,
    struct failure *f)
{
	struct settings noauth = *s;
	struct session_report rep;
	struct session ss;
	char text[600], host[256];
	int r = -1;

	/* What the server is, not who we are: no credentials are sent. The
	 * first host of a list. */
	noauth.auth = AUTH_OFF;
	if (settings_host_at(s->host, 0, host, sizeof(host)) == 0)
		noauth.host = host;
	memset(&rep, 0, sizeof(rep));
	session_init(&ss, &noauth, verbose);
	if (open_session(&ss, &rep, f) == -1)
		goto out;
	escape_line(text, sizeof(text), ss.greeting.text, ss.greeting.textlen);
	fprintf(out, "server: %s port %u (%s)\ngreeting: %d %s\n", noauth.host,
	    s->port, !s->tls ? "no TLS" : s->starttls ? "STARTTLS" :
	    "implicit TLS", ss.greeting.code, text);
	print_extensions(out, &ss);
	print_tls(out, &ss);
	quit(&ss);
	r = fflush(out) == 0 ? 0 : -1;
out:
	session_close(&ss);
	return r;
}
