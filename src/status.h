/* SPDX-License-Identifier: ISC */
/*
 * One error contract for the whole library: every layer describes a failure
 * as (stage, cause, SMTP reply code, text) and status_exit() alone turns it
 * into the exit status of CONTRACT section 6.
 */
#ifndef SMTPSEND_STATUS_H
#define SMTPSEND_STATUS_H

#include <stdbool.h>
#include <stdio.h>

/* Where in the submission the failure happened. */
enum stage {
	STAGE_NONE,
	STAGE_CONNECT,		/* DNS, TCP, proxy */
	STAGE_GREETING,
	STAGE_EHLO,
	STAGE_STARTTLS,
	STAGE_TLS,		/* handshake and certificate checks */
	STAGE_AUTH,
	STAGE_MAIL,
	STAGE_RCPT,
	STAGE_DATA,		/* DATA or the BDAT command */
	STAGE_END_OF_DATA,	/* reply to the final dot or BDAT LAST */
	STAGE_COUNT
};

/* What kind of failure it was. */
enum cause {
	CAUSE_NONE,
	CAUSE_REPLY,		/* the server answered with `code` */
	CAUSE_USAGE,		/* bad command line */
	CAUSE_CONFIG,		/* configuration missing, invalid, insecure */
	CAUSE_DATAERR,		/* malformed input or address */
	CAUSE_NOHOST,		/* smarthost name does not resolve */
	CAUSE_TEMPORARY,	/* refused, reset, timed out, TLS failed */
	CAUSE_POSSIBLY_SENT,	/* connection lost after the final dot */
	CAUSE_PROTOCOL,		/* the server's reply is not SMTP */
	CAUSE_UNAVAILABLE,	/* required extension missing, too big */
	CAUSE_NOPERM,		/* authentication refused */
	CAUSE_IOERR,		/* reading the input failed */
	CAUSE_OSERR,		/* fork, memory, temporary files */
	CAUSE_SOFTWARE		/* a bug of ours */
};

struct failure {
	enum stage	stage;
	enum cause	cause;
	int		code;		/* SMTP reply code, 0 if none */
	char		text[1024];	/* one line, control characters escaped */
	bool		queued;		/* a temporary failure, the message safely
					 * kept for -q: "accepted" (exit 0, as a
					 * queueing sendmail; deferred_status 0) */
	/* The library's own words (OpenSSL's, libcurl's) behind a hint in
	 * `text`: in -v, the log and syslog, and for a program; a person at a
	 * terminal reads the hint alone (CONTRACT section 9). */
	char		detail[512];
	/* A temporary failure that waits for a person (a revoked OAuth2
	 * grant: smtpsend --authorize): syslog at LOG_ERR, as a failure of
	 * the set-up (CONTRACT 6). */
	bool		act;
};

/* Record a failure; the formatted text is escaped to one line. */
void	fail(struct failure *, enum stage, enum cause, int code,
	    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Like fail() with the text of errno appended. */
void	fail_errno(struct failure *, enum cause, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
bool	failed(const struct failure *);
/* Set the library's words behind the failure's hint (escaped). */
void	fail_detail(struct failure *, const char *text);

/*
 * The failure on `out` as "smtpsend: text": one line for a program (with
 * the detail); for a person at a terminal the hint alone (the detail with
 * -v), each clause on a line of its own within 80 columns.
 */
void	status_print(FILE *out, const struct failure *, bool terminal,
	    bool verbose);
/* The exit status of CONTRACT section 6 for a failure (0 when none). */
int	status_exit(const struct failure *);
/* A temporary failure (75), whatever `queued` makes of it. */
bool	status_temporary(const struct failure *);
/* A failure of the set-up (configuration, smarthost name, credentials):
 * deferred for a calling program (CONTRACT section 6). */
bool	status_setup(const struct failure *);
/* "fix the configuration", "check the credentials (...)"... */
const char *status_setup_fix(const struct failure *);
const char *stage_name(enum stage);
/* "EX_OK", "EX_TEMPFAIL": sysexits names, as msmtp's log has them. */
const char *status_name(int code);

#endif
