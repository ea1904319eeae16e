/* SPDX-License-Identifier: ISC */
/* The submission pipeline that main runs: a straight line of steps. */
#ifndef SMTPSEND_RUN_H
#define SMTPSEND_RUN_H

#include "args.h"
#include "status.h"

/* Read, resolve, and submit (or show, with --pretend). */
int	run_submit(const struct options *, int input_fd, struct failure *f);
/*
 * The same, with the session's report (for -bs, which answers with it),
 * over the connection the pool keeps for the account (NULL: alone).
 */
struct session_report;
struct sessions;
int	run_message(const struct options *, int input_fd, struct sessions *,
	    struct session_report *, struct failure *f);
/* --authorize (OAuth2), at a terminal */
int	run_authorize(const struct options *, struct failure *f);
/* --check: connect, TLS, AUTH, QUIT; one line that the account works */
int	run_check(const struct options *, struct failure *f);
/* --serverinfo */
int	run_serverinfo(const struct options *, struct failure *f);
/* "smtpsend X.Y.Z (libcurl ...)" */
void	run_version(void);

#define SMTPSEND_VERSION "0.1.0"

#endif
