/* SPDX-License-Identifier: ISC */
/*
 * --serverinfo (what a server is, without credentials) and the library
 * versions --version names: read-only looks at a connection, kept apart
 * from the session that sends mail.
 */
#include <idn2.h>
#include <json-c/json_c_version.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "conn.h"
#include "escape.h"
#include "session.h"
#include "tlspin.h"

/* The libraries that matter to mail, not every protocol curl knows. */
const char *
session_library(void)
{
	static char text[256];

	snprintf(text, sizeof(text), "%s, libidn2 %s, json-c %s",
	    conn_library(), idn2_check_version(NULL), json_c_version());
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
print_extensions(FILE *out, const struct conn *ss)
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
print_tls(FILE *out, const struct conn *ss)
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
	struct conn ss;
	char text[600], host[256];
	int r = -1;

	/* What the server is, not who we are: no credentials are sent. The
	 * first host of a list. */
	noauth.auth = AUTH_OFF;
	if (settings_host_at(s->host, 0, host, sizeof(host)) == 0)
		noauth.host = host;
	conn_init(&ss, &noauth, verbose);
	if (conn_open(&ss, f) == -1)
		goto out;
	escape_line(text, sizeof(text), ss.greeting.text, ss.greeting.textlen);
	fprintf(out, "server: %s port %u (%s)\ngreeting: %d %s\n", noauth.host,
	    s->port, !s->tls ? "no TLS" : s->starttls ? "STARTTLS" :
	    "implicit TLS", ss.greeting.code, text);
	print_extensions(out, &ss);
	print_tls(out, &ss);
	conn_quit(&ss);
	r = fflush(out) == 0 ? 0 : -1;
out:
	conn_close(&ss);
	return r;
}
