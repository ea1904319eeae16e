/* SPDX-License-Identifier: ISC */
/*
 * SMTP AUTH (RFC 4954) client mechanisms, pure: which mechanism to use,
 * the initial response, the answer to each 334 challenge. The session
 * sends what this builds, so that it, not libcurl, sees every reply: a
 * refused AUTH is followed by QUIT, an XOAUTH2 error challenge is answered
 * and reported (CONTRACT sections 5, 11), and no second connection is made
 * to find a mechanism.
 */
#ifndef SMTPSEND_SASL_H
#define SMTPSEND_SASL_H

#include <stdbool.h>

#include "buf.h"
#include "config.h"

enum sasl_mech {
	SASL_NONE, SASL_PLAIN, SASL_LOGIN, SASL_CRAM_MD5, SASL_XOAUTH2,
	SASL_OAUTHBEARER, SASL_EXTERNAL
};

struct sasl {
	enum sasl_mech	 mech;
	const char	*user;
	const char	*secret;	/* password or bearer token */
	const char	*host;		/* OAUTHBEARER's host and port */
	unsigned	 port;
	int		 round;		/* challenges answered */
	bool		 error_seen;	/* an OAuth2 error challenge */
};

/* The mechanism for `mode` among those offered ("PLAIN LOGIN ..."):
 * auto prefers PLAIN, then LOGIN, then CRAM-MD5. SASL_NONE: none. */
enum sasl_mech sasl_choose(enum auth_mode mode, const char *offered);
const char *sasl_name(enum sasl_mech);

/*
 * "AUTH MECH [initial-response]\r\n" into b. An initial response that
 * would make the line longer than SMTP allows (512) is left for the first
 * 334 instead. Every byte of it is a secret.
 */
int	sasl_start(struct sasl *, struct buf *b);
/* The answer to a 334 challenge (its text, base64) into b, with CRLF. */
int	sasl_step(struct sasl *, const char *challenge, struct buf *b);
/* A challenge's text decoded for a person (an OAuth2 JSON status), or
 * NULL. Allocated. */
char	*sasl_decode(const char *challenge);

#endif
