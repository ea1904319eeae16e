/* SPDX-License-Identifier: ISC */
/*
 * The connection to the SMTP server: the only file of the session that
 * knows libcurl. With CURLOPT_CONNECT_ONLY, curl_easy_perform() connects
 * (directly or through the SOCKS5 proxy), reads the greeting, sends EHLO,
 * STARTTLS and EHLO again, then stops; everything after that goes over
 * curl_easy_send/recv as bytes and parsed replies. TLS, certificates and
 * proxies stay in libcurl; AUTH and the transaction are the session's
 * (src/session.c), because libcurl alone cannot pipeline, use CHUNKING or
 * BODY=8BITMIME, tells 4xx from 5xx apart on RCPT only as error 55, and
 * waits up to 120 s for QUIT's reply.
 *
 * libcurl shows us the server's replies only through its debug callback,
 * so the greeting and the EHLO capabilities are taken from there, and
 * every command it sends, a secret or not, is redacted there for -v.
 */
#ifndef SMTPSEND_CONN_H
#define SMTPSEND_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "buf.h"
#include "config.h"
#include "reply.h"
#include "status.h"

struct conn {
	void			*curl;		/* CURL *, or NULL */
	const struct settings	*s;
	int			 verbose;
	struct timespec		 t0;
	/* What libcurl's phase showed us. */
	struct reply		 greeting;
	struct caps		 caps;
	double			 t_connect, t_tls, t_ehlo;	/* seconds */
	bool			 tls_used;
	int			 short_wait;	/* seconds, for replies already due */
	bool			 abandoned;	/* mid-message: close, no QUIT */
	/* A person watching a large message go out (stderr a terminal). */
	off_t			 progress_total;	/* 0: no progress line */
	off_t			 progress_sent;
	double			 progress_at, progress_start;
	/* conn.c's own. */
	struct reply_parser	 dbg_parser;
	struct reply		 ehlo;
	bool			 have_ehlo;
	struct reply		 last;		/* the last reply libcurl saw */
	enum stage		 stage;
	bool			 in_auth;
	int			 fd;		/* the socket, once open */
	int			 sock;		/* libcurl's, once connected */
	struct reply_parser	 parser;
	char			 rbuf[8192];
	size_t			 rlen, rpos;
	char			 errbuf[256];	/* CURL_ERROR_SIZE */
	/* What a person is told while libcurl waits (CONTRACT 9). */
	bool			 connected;	/* TCP is up */
	double			 t_connected;	/* when, since t0 */
	bool			 greeting_noticed; /* the 5 s line was said */
};

/* Start the clock (-v's timestamps); warn when certificates go unchecked. */
void	conn_init(struct conn *, const struct settings *, int verbose);
/* Connect, greeting, EHLO, STARTTLS, EHLO: 0, or -1 with f set. */
int	conn_open(struct conn *, struct failure *f);
/* Still connected and speaking SMTP: worth a QUIT. */
bool	conn_speaks(const struct conn *);
/*
 * Stop in the middle of a message (a chunk half sent, data after 354):
 * QUIT would be read as its bytes, so only the close ends it, undelivered.
 */
void	conn_abandon(struct conn *);
/* Before an idle connection carries the next message: false when the
 * server closed it or said something unasked (a 421 before closing). */
bool	conn_idle_ok(struct conn *);
/* QUIT, without waiting for its reply (it changes nothing). */
void	conn_quit(struct conn *);
void	conn_close(struct conn *);

/* Everything, or -1 with f set (lost connection, timeout). */
int	conn_send(struct conn *, const char *p, size_t n, enum stage,
	    struct failure *f);
/* The same, each line shown by -v. */
int	conn_send_commands(struct conn *, const struct buf *, enum stage,
	    struct failure *f);
/* The next reply within `seconds`, or -1 with f set. */
int	conn_read_reply(struct conn *, struct reply *, enum stage,
	    int seconds, struct failure *f);

/* The timeout setting, or its default. */
int	conn_timeout(const struct settings *);
/* `domain`, this host's name with a dot, else the local address literal. */
void	conn_ehlo_name(const struct settings *, char *dst, size_t size);
/* Seconds since conn_init. */
double	conn_elapsed(const struct conn *);
/* -v: one line of the transcript; each line of a batch of commands. */
void	conn_trace(const struct conn *, const char *dir, const char *p,
	    size_t n);
void	conn_trace_commands(const struct conn *, const char *p, size_t n);
/* A signal turns whatever failure it caused into "interrupted". */
void	conn_interrupted(struct failure *f);
/* "libcurl 7.88.1, OpenSSL/3.0.19" */
const char *conn_library(void);

#endif
