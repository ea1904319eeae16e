#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tlspin.h"

/* One session per process: the pin lives here for the callback. */
static unsigned char pin[32];

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
	if (cert == NULL || X509_digest(cert, EVP_sha256(), md, &n) != 1 ||
	    n != sizeof(pin) || memcmp(md, pin, sizeof(pin)) != 0) {
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
