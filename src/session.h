/* SPDX-License-Identifier: ISC */
/*
 * The SMTP session: one message to the configured host (or the next of a
 * list), over a connection that libcurl opens (src/conn.c): AUTH, the
 * mail transaction (src/txn.c) and QUIT are ours.
 */
#ifndef SMTPSEND_SESSION_H
#define SMTPSEND_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "addr.h"
#include "config.h"
#include "envelope.h"
#include "message.h"
#include "status.h"

struct session_report {
	double	 t_connect;	/* seconds spent on each phase */
	double	 t_tls;
	double	 t_auth;
	double	 t_transfer;
	double	 t_greeting;	/* greeting and EHLO (and STARTTLS's) */
	bool	 connected;	/* else t_connect is the failed attempt */
	bool	 greeted;	/* a greeting came */
	bool	 tls;		/* the session was encrypted */
	bool	 authenticated;
	bool	 delivered;	/* 2xx to the end of data */
	int	 code;		/* the last reply that decided the outcome */
	char	 text[512];
	size_t	 accepted;	/* recipients accepted */
	struct addrlist deferred; /* refused with 4xx when others got it;
				   * the caller frees it */
	char	 queued_id[64];	/* run_message: deferred, kept as this */
	char	 host[256];	/* the host of the list that was tried last */
};

int	session_submit(const struct settings *, const char *password,
	    const struct envelope *, const struct message *, int verbose,
	    struct session_report *, struct failure *f);
/* --serverinfo: connect without credentials and describe the server. */
int	session_serverinfo(const struct settings *, int verbose, FILE *out,
	    struct failure *f);
/* --check: connect, TLS, AUTH and QUIT, no mail; what worked in `rep`
 * (host, tls, authenticated, timings) and in mech/tls_version. */
int	session_check(const struct settings *, const char *password,
	    int verbose, struct session_report *, char *mech, size_t mechsize,
	    char *tls_version, size_t tlssize, struct failure *f);
/* "libcurl/7.88.1 OpenSSL/3.0..." */
const char *session_library(void);

#endif
