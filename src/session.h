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
#include "buf.h"
#include "config.h"
#include "conn.h"
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

/*
 * Several messages over one connection (CONTRACT section 5: -q, -bs): the
 * first message opens it (the first host of the list that answers) and
 * authenticates; each next one follows at once, or after RSET when the
 * last transaction may still be open (src/txn.c decides); an idle
 * connection the server dropped, or one it ends before MAIL is answered,
 * is opened again. A server that takes nothing (no connection, refused
 * credentials, lost at once) gets no new try: session_send fails with
 * the same reason for every later message. settings and password must
 * outlive the session.
 */
struct session {
	const struct settings	*given;
	struct settings		 s;		/* with the host in use */
	char			 host[256];
	const char		*password;
	int			 verbose;
	struct conn		 conn;
	bool			 open;
	bool			 authenticated;
	bool			 ehlo_twice;	/* asked again after AUTH */
	bool			 rset;		/* before the next MAIL */
	int			 carried;	/* messages on this connection */
	bool			 dead;		/* no new try this run */
	struct failure		 why;
	struct buf		 auth;		/* AUTH to go with the first */
};

void	session_begin(struct session *, const struct settings *,
	    const char *password, int verbose);
int	session_send(struct session *, const struct envelope *,
	    const struct message *, struct session_report *,
	    struct failure *f);
/* QUIT and close. */
void	session_end(struct session *);

/* One message alone: begin, send, end. */
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
