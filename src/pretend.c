/* SPDX-License-Identifier: ISC */
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "pretend.h"
#include "reply.h"
#include "smtpcmd.h"

static const char *
onoff(bool v)
{
	return v ? "on" : "off";
}

static const char *const auth_names[] = {
	"off", "on", "plain", "login", "cram-md5", "xoauth2", "oauthbearer",
	"external"
};

static void
print_account(FILE *out, const struct settings *s)
{
	fprintf(out, "account: %s\n", s->account ? s->account : "(none)");
	fprintf(out, "host: %s\nport: %u\n", s->host, s->port);
	fprintf(out, "tls: %s\ntls_starttls: %s\ntls_certcheck: %s\n",
	    onoff(s->tls), onoff(s->starttls), onoff(s->certcheck));
	fprintf(out, "tls_trust_file: %s\n", s->trust_file ? s->trust_file :
	    "system");
	if (s->fingerprint)
		fprintf(out, "tls_fingerprint: %s\n", s->fingerprint);
	if (s->cert_file)
		fprintf(out, "tls_cert_file: %s\ntls_key_file: %s\n",
		    s->cert_file, s->key_file);
	fprintf(out, "auth: %s\n", auth_names[s->auth]);
	fprintf(out, "user: %s\n", s->user ? s->user : "(none)");
	fprintf(out, "password: %s\n", s->password ? "********" : "(none)");
	if (s->passwordeval)
		fprintf(out, "passwordeval: %s\n", s->passwordeval);
	fprintf(out, "domain: %s\n", s->domain ? s->domain : "(this host)");
	if (s->timeout > 0)
		fprintf(out, "timeout: %d\n", s->timeout);
	else
		fprintf(out, "timeout: 60 (600 for the end of data)\n");
	fprintf(out, "partial_delivery: %s\n", onoff(s->partial_delivery));
}

int
pretend_print(FILE *out, const struct settings *s, const struct envelope *e,
    const struct message *m)
{
	struct buf b = BUF_INIT;
	struct caps all;
	off_t size = message_size(m), off = 0;
	char chunk[65536];
	ssize_t n;
	size_t i;
	int r = -1;

	caps_all(&all);
	print_account(out, s);
	fprintf(out, "envelope (parameters as sent to a server offering "
	    "them):\n");
	if (smtpcmd_mail(&b, e, &all, size) == -1)
		goto done;
	for (i = 0; i < e->rcpts.n; i++)
		if (smtpcmd_rcpt(&b, e, i) == -1)
			goto done;
	fwrite(b.data, 1, b.len, out);
	fprintf(out, "message: %lld bytes\n", (long long)size);
	buf_reset(&b);
	if (message_header_bytes(m, &b) == -1)
		goto done;
	fwrite(b.data, 1, b.len, out);
	while ((n = spool_read(&m->body, off, chunk, sizeof(chunk))) > 0) {
		fwrite(chunk, 1, (size_t)n, out);
		off += n;
	}
	r = n == 0 && fflush(out) == 0 ? 0 : -1;
done:
	buf_free(&b);
	return r;
}
