/*
 * tls_fingerprint: the server certificate's SHA-256, checked inside the
 * TLS handshake, so a mismatch ends the session before AUTH.
 */
#ifndef SMTPSEND_TLSPIN_H
#define SMTPSEND_TLSPIN_H

/* Install the check on an OpenSSL SSL_CTX; 0, or -1 for a bad pin. */
int	tlspin_install(void *ssl_ctx, const char *fingerprint);

#endif
