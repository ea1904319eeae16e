/* SPDX-License-Identifier: ISC */
/*
 * tls_fingerprint: the server certificate's SHA-256, checked inside the
 * TLS handshake, so a mismatch ends the session before AUTH.
 */
#ifndef SMTPSEND_TLSPIN_H
#define SMTPSEND_TLSPIN_H

#include <stddef.h>

/* Install the check on an OpenSSL SSL_CTX; 0, or -1 for a bad pin. */
int	tlspin_install(void *ssl_ctx, const char *fingerprint);
/* The fingerprint the server showed when the pin did not match, in the
 * same format (95 characters and a NUL); -1 when none was seen. */
int	tlspin_seen(char *dst, size_t size);

#endif

#ifndef SMTPSEND_TLSINFO
#define SMTPSEND_TLSINFO
#include <stdbool.h>
#include <stdio.h>
/*
 * --serverinfo: the TLS version and cipher of an OpenSSL SSL*, and the
 * peer's certificate chain (subject, issuer, validity) with the leaf's
 * SHA-256 fingerprint in tls_fingerprint's format.
 */
void	tls_describe(FILE *, void *ssl);
/* At the end of each handshake with this SSL_CTX: remember the SSL (for
 * tls_captured) and acknowledge at once on the socket *fd. */
void	tls_watch_install(void *ssl_ctx, const int *fd);
void	*tls_captured(void);
/* Remember the certificate the server shows (subject, issuer, SHA-256)
 * during verification, for -v when the check refuses it. */
void	tls_peer_record_install(void *ssl_ctx);
/* "subject /CN=x, issuer /CN=y, SHA-256 AB:..."; -1 when none was seen. */
int	tls_peer_seen(char *dst, size_t size);
/* "TLSv1.3" */
const char *tls_version(void *ssl);
/* -v: "TLS TLSv1.3, cipher ..., certificate /CN=... verified". */
void	tls_summary(void *ssl, bool verified, char *dst, size_t size);
#endif
