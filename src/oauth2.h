/* SPDX-License-Identifier: ISC */
/*
 * OAuth2 for SMTP (CONTRACT section 11): the access token XOAUTH2 and
 * OAUTHBEARER send, from a cached token, a refresh, or the client
 * credentials grant; and `smtpsend --authorize`, the first authorization
 * (device flow, RFC 8628, or the authorization code with PKCE and a
 * loopback redirect, RFC 8252). HTTPS on an easy handle of its own; JSON
 * with json-c. Token files are the user's, 0600, replaced atomically.
 */
#ifndef SMTPSEND_OAUTH2_H
#define SMTPSEND_OAUTH2_H

#include <stdbool.h>
#include <stdio.h>

#include "buf.h"
#include "config.h"
#include "status.h"

/* This account uses the built-in flows (oauth2_client_id is set). */
bool	oauth2_configured(const struct settings *);
/*
 * A fresh access token into `token` (a secret): the cached one until a
 * minute before it expires, else a refresh (a rotated refresh token is
 * stored before it is used), else client_credentials. invalid_grant and an
 * unreachable endpoint are temporary failures (75) naming
 * `smtpsend --authorize -a NAME`; a bad configuration is 78. verbose:
 * one line on stderr says which it was (never the token).
 */
int	oauth2_access_token(const struct settings *, struct buf *token,
	    int verbose, struct failure *f);
/* --authorize: at a terminal, the first authorization; the refresh token
 * is stored. `in`/`out` are the person's terminal. */
int	oauth2_authorize(const struct settings *, FILE *in, FILE *out,
	    struct failure *f);

#endif
