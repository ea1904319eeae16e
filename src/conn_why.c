/* SPDX-License-Identifier: ISC */
/*
 * Why libcurl's phase (connect, greeting, EHLO, STARTTLS, TLS) failed, in
 * words a person can act on: the server's reply when there is one, the
 * fix for the classic TLS mistakes, the exit status's cause. Part of the
 * connection's room (src/conn.c), the other file that knows libcurl.
 */
#include <curl/curl.h>
#include <netdb.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "conn.h"
#include "conn_why.h"
#include "escape.h"
#include "interrupt.h"
#include "tlspin.h"

static long
last_code(const struct conn *ss)
{
	long code = 0;

	curl_easy_getinfo(ss->curl, CURLINFO_RESPONSE_CODE, &code);
	return code;
}

static const char *
curl_why(const struct conn *ss, CURLcode rc)
{
	return ss->errbuf[0] != '\0' ? ss->errbuf : curl_easy_strerror(rc);
}

/* The server's words for a failure in libcurl's phase, else curl's. */
static const char *
server_said(struct conn *ss, CURLcode rc)
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
perform_stage(const struct conn *ss)
{
	if (ss->stage == STAGE_NONE)
		return ss->s->tls && !ss->s->starttls && ss->errbuf[0] != '\0' &&
		    strstr(ss->errbuf, "SSL") != NULL ? STAGE_TLS :
		    STAGE_CONNECT;
	return ss->stage;
}

/* The fix for the classic TLS mistakes (CONTRACT section 9). */
static const char *
tls_hint(const struct conn *ss, char *dst, size_t size)
{
	const char *why = ss->errbuf;
	char seen[100];

	if (ss->s->fingerprint != NULL && tlspin_seen(seen, sizeof(seen)) == 0 &&
	    strcasecmp(seen, ss->s->fingerprint) != 0)
		snprintf(dst, size, "the server's certificate has SHA-256 "
		    "fingerprint %s, not the tls_fingerprint %s (if its "
		    "certificate changed, set the new one)", seen,
		    ss->s->fingerprint);
	else if (strstr(why, "wrong version number") != NULL && ss->s->tls &&
	    !ss->s->starttls)
		snprintf(dst, size, "the server did not answer TLS: a STARTTLS "
		    "port such as 587? set tls_starttls on");
	else if (strstr(why, "self-signed") != NULL ||
	    strstr(why, "unable to get local issuer") != NULL)
		snprintf(dst, size, "the certificate is not trusted: see it "
		    "with smtpsend --serverinfo --tls-certcheck=off and set "
		    "tls_fingerprint (or tls_trust_file)");
	else
		*dst = '\0';
	return dst;
}

static void
tls_failure(struct conn *ss, CURLcode rc, struct failure *f)
{
	char hint[400], seen[900];

	if (rc == CURLE_SSL_CACERT_BADFILE || rc == CURLE_SSL_CERTPROBLEM) {
		fail(f, STAGE_TLS, CAUSE_CONFIG, 0, "TLS setup failed: %s",
		    curl_why(ss, rc));
		return;
	}
	/* The fix first; OpenSSL's words after it, as detail. */
	if (*tls_hint(ss, hint, sizeof(hint)) != '\0') {
		fail(f, STAGE_TLS, CAUSE_TEMPORARY, 0, "TLS with %s failed: %s; "
		    "nothing was sent", ss->s->host, hint);
		fail_detail(f, curl_why(ss, rc));
	} else
		fail(f, STAGE_TLS, CAUSE_TEMPORARY, 0, "TLS with %s failed, "
		    "nothing was sent: %s", ss->s->host, curl_why(ss, rc));
	/* -v: the certificate that was refused, to compare or to pin. */
	if (ss->verbose && tls_peer_seen(seen, sizeof(seen)) == 0) {
		char line[sizeof(seen) + 32];

		snprintf(line, sizeof(line), "refused certificate: %s", seen);
		conn_trace(ss, "*", line, strlen(line));
	}
}

/* Connection errors in the system's own words: "Connection refused". */
static void
connect_failure(struct conn *ss, CURLcode rc, struct failure *f)
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
		    "%s, port %u: %s", ss->s->host, ss->s->port,
		    strerror((int)os));
	else
		fail(f, perform_stage(ss), CAUSE_TEMPORARY, 0, "%s with %s:%u "
		    "failed: %s", stage_name(perform_stage(ss)), ss->s->host,
		    ss->s->port, curl_why(ss, rc));
}

/* A name that does not exist (68), or a resolver that failed now (75). */
static void
resolve_failure(struct conn *ss, struct failure *f)
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

/* A reply curl did not like: the code says whose fault it was. */
static void
reply_failure(struct conn *ss, CURLcode rc, struct failure *f)
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

/*
 * A reply line past libcurl's limit (a 20 MB greeting) is not SMTP (76).
 * libcurl 8.6 and later say so with CURLE_TOO_LARGE; 7.88 has no code of its
 * own for it and only its message tells.
 */
static bool
too_large(const struct conn *ss, CURLcode rc)
{
#if LIBCURL_VERSION_NUM >= 0x080600
	if (rc == CURLE_TOO_LARGE)
		return true;
#else
	(void)rc;
#endif
	return strncmp(ss->errbuf, "Too large response", 18) == 0;
}

/*
 * Connected, then closed (or reset) before any greeting: a 465 server
 * given up on the TLS handshake that never came looks like this.
 */
static bool
closed_before_greeting(struct conn *ss, CURLcode rc, struct failure *f)
{
	/* Not a reply past libcurl's limit: that is no SMTP (76). */
	if (!ss->connected || ss->stage != STAGE_NONE ||
	    (rc != CURLE_RECV_ERROR && rc != CURLE_GOT_NOTHING) ||
	    too_large(ss, rc) ||
	    interrupt_signal() != 0 || (ss->s->tls && !ss->s->starttls))
		return false;
	fail(f, STAGE_GREETING, CAUSE_TEMPORARY, 0, "%s:%u closed the "
	    "connection without a greeting%s", ss->s->host, ss->s->port,
	    ss->s->tls ? ": an implicit-TLS port such as 465? set "
	    "tls_starttls off" : "");
	fail_detail(f, curl_why(ss, rc));
	return true;
}

void
conn_perform_failure(struct conn *ss, int code, struct failure *f)
{
	CURLcode rc = (CURLcode)code;

	if (!ss->dbg_parser.error && closed_before_greeting(ss, rc, f))
		return;
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
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_REMOTE_ACCESS_DENIED:
		reply_failure(ss, rc, f);
		break;
	default:
		fail(f, perform_stage(ss), too_large(ss, rc) ? CAUSE_PROTOCOL :
		    CAUSE_TEMPORARY, 0, "%s with %s:%u failed: %s",
		    stage_name(perform_stage(ss)), ss->s->host, ss->s->port,
		    curl_why(ss, rc));
		break;
	}
}
