/* SPDX-License-Identifier: ISC */
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlspin.h"

/* One session per process: the pin lives here for the callback, and what
 * the server showed instead, for the error message. */
static unsigned char pin[32], seen[32];
static int have_seen;

static int
parse_pin(const char *fp)
{
	unsigned int byte;
	int i;

	if (strlen(fp) != 95)
		return -1;
	for (i = 0; i < 32; i++) {
		if (sscanf(fp + 3 * i, "%2x", &byte) != 1)
			return -1;
		pin[i] = (unsigned char)byte;
	}
	return 0;
}

/*
 * The pin replaces the CA chain: only the leaf (depth 0) is judged, by
 * its digest alone.
 */
static int
verify_leaf(int preverify_ok, X509_STORE_CTX *x)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	X509 *cert;

	(void)preverify_ok;
	if (X509_STORE_CTX_get_error_depth(x) != 0)
		return 1;
	cert = X509_STORE_CTX_get_current_cert(x);
	if (cert != NULL && X509_digest(cert, EVP_sha256(), md, &n) == 1 &&
	    n == sizeof(seen)) {
		memcpy(seen, md, sizeof(seen));
		have_seen = 1;
	}
	if (cert == NULL || n != sizeof(pin) ||
	    memcmp(md, pin, sizeof(pin)) != 0) {
		X509_STORE_CTX_set_error(x, X509_V_ERR_CERT_REJECTED);
		return 0;
	}
	X509_STORE_CTX_set_error(x, X509_V_OK);
	return 1;
}

int
tlspin_install(void *ssl_ctx, const char *fingerprint)
{
	if (parse_pin(fingerprint) == -1)
		return -1;
	SSL_CTX_set_verify((SSL_CTX *)ssl_ctx, SSL_VERIFY_PEER, verify_leaf);
	return 0;
}

static void
print_name(FILE *out, const char *label, X509_NAME *name)
{
	char *text = X509_NAME_oneline(name, NULL, 0);

	fprintf(out, "    %s: %s\n", label, text ? text : "?");
	OPENSSL_free(text);
}

static void
print_time(FILE *out, const char *label, const ASN1_TIME *t)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *text = NULL;
	long n;

	if (b == NULL)
		return;
	ASN1_TIME_print(b, t);
	n = BIO_get_mem_data(b, &text);
	fprintf(out, "    %s: %.*s\n", label, (int)n, text ? text : "");
	BIO_free(b);
}

static void
print_fingerprint(FILE *out, X509 *cert)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;

	if (X509_digest(cert, EVP_sha256(), md, &n) != 1)
		return;
	fprintf(out, "    SHA-256 fingerprint: ");
	for (i = 0; i < n; i++)
		fprintf(out, "%02X%s", md[i], i + 1 < n ? ":" : "\n");
}

void
tls_describe(FILE *out, void *ssl_ptr)
{
	SSL *ssl = ssl_ptr;
	STACK_OF(X509) *chain;
	int i;

	fprintf(out, "TLS: %s, cipher %s\n", SSL_get_version(ssl),
	    SSL_get_cipher_name(ssl));
	if ((chain = SSL_get_peer_cert_chain(ssl)) == NULL)
		return;
	for (i = 0; i < sk_X509_num(chain); i++) {
		X509 *c = sk_X509_value(chain, i);

		fprintf(out, "certificate %d%s:\n", i, i == 0 ? " (server)" : "");
		print_name(out, "subject", X509_get_subject_name(c));
		print_name(out, "issuer", X509_get_issuer_name(c));
		print_time(out, "valid from", X509_get0_notBefore(c));
		print_time(out, "valid until", X509_get0_notAfter(c));
		if (i == 0)
			print_fingerprint(out, c);
	}
}

/* The connection's SSL, seen at the end of the handshake. */
static const SSL *captured;
static const int *ack_fd;

/*
 * At the end of the handshake the server's session ticket is on its way;
 * acknowledging it at once keeps the server's next reply from waiting
 * behind it (Nagle against a delayed ACK: ~40 ms).
 */
static void
on_info(const SSL *ssl, int where, int ret)
{
	int one = 1;

	(void)ret;
	if (!(where & SSL_CB_HANDSHAKE_DONE))
		return;
	captured = ssl;
	if (ack_fd != NULL && *ack_fd >= 0)
		setsockopt(*ack_fd, IPPROTO_TCP, TCP_QUICKACK, &one,
		    sizeof(one));
}

void
tls_watch_install(void *ssl_ctx, const int *fd)
{
	ack_fd = fd;
	SSL_CTX_set_info_callback((SSL_CTX *)ssl_ctx, on_info);
}

void *
tls_captured(void)
{
	return (void *)captured;
}

/* The leaf the server showed, said when the check refuses it. */
static char peer_seen[900];

static void
fingerprint_text(X509 *cert, char *dst, size_t size)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;

	*dst = '\0';
	if (X509_digest(cert, EVP_sha256(), md, &n) != 1 || size < 3 * n)
		return;
	for (i = 0; i < n; i++)
		snprintf(dst + 3 * i, 4, "%02X%s", md[i], i + 1 < n ? ":" : "");
}

/* Verification goes on as libcurl asked: this only looks. */
static int
record_leaf(int preverify_ok, X509_STORE_CTX *x)
{
	X509 *cert = X509_STORE_CTX_get0_cert(x);
	char *subject, *issuer, fp[100];

	if (cert == NULL || peer_seen[0] != '\0')
		return preverify_ok;
	subject = X509_NAME_oneline(X509_get_subject_name(cert), NULL, 0);
	issuer = X509_NAME_oneline(X509_get_issuer_name(cert), NULL, 0);
	fingerprint_text(cert, fp, sizeof(fp));
	snprintf(peer_seen, sizeof(peer_seen), "subject %.300s, issuer %.300s, "
	    "SHA-256 %s", subject ? subject : "?", issuer ? issuer : "?", fp);
	OPENSSL_free(subject);
	OPENSSL_free(issuer);
	return preverify_ok;
}

void
tls_peer_record_install(void *ssl_ctx)
{
	SSL_CTX *ctx = ssl_ctx;

	peer_seen[0] = '\0';
	SSL_CTX_set_verify(ctx, SSL_CTX_get_verify_mode(ctx), record_leaf);
}

int
tls_peer_seen(char *dst, size_t size)
{
	if (peer_seen[0] == '\0')
		return -1;
	strlcpy(dst, peer_seen, size);
	return 0;
}

const char *
tls_version(void *ssl)
{
	return SSL_get_version(ssl);
}

int
tlspin_seen(char *dst, size_t size)
{
	size_t i;

	if (!have_seen || size < 96)
		return -1;
	for (i = 0; i < sizeof(seen); i++)
		snprintf(dst + 3 * i, 4, "%02X%s", seen[i],
		    i + 1 < sizeof(seen) ? ":" : "");
	return 0;
}

void
tls_summary(void *p, bool verified, char *dst, size_t size)
{
	SSL *ssl = p;
	X509 *cert = SSL_get1_peer_certificate(ssl);
	char *subject = cert ? X509_NAME_oneline(X509_get_subject_name(cert),
	    NULL, 0) : NULL;

	snprintf(dst, size, "TLS %s, cipher %s, certificate %s %s",
	    SSL_get_version(ssl), SSL_get_cipher_name(ssl),
	    subject ? subject : "(none)", verified ? "verified" :
	    "NOT verified (tls_certcheck off)");
	OPENSSL_free(subject);
	X509_free(cert);
}
