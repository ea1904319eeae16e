/* SPDX-License-Identifier: ISC */
/* The sendmail command line (CONTRACT section 2). */
#ifndef SMTPSEND_ARGS_H
#define SMTPSEND_ARGS_H

#include <stdbool.h>

#include "config.h"
#include "status.h"

enum mode {
	MODE_DELIVER,		/* -bm, the default */
	MODE_PRETEND,		/* --pretend */
	MODE_HELP,
	MODE_VERSION,
	MODE_NOOP,		/* -bi, -I, newaliases */
	MODE_LIST_OUTBOX,	/* -bp, mailq */
	MODE_RUN_OUTBOX,	/* -q */
	MODE_SMTP_STDIO,	/* -bs */
	MODE_SERVERINFO,	/* --serverinfo */
	MODE_REMOVE,		/* --remove ID... */
	MODE_AUTHORIZE,		/* --authorize: OAuth2, at a terminal */
	MODE_CHECK		/* --check: connect, TLS, AUTH, QUIT */
};
/* The last mode: a new one goes before this line and moves it. */
#define MODE_LAST MODE_CHECK

/* A repeatable option's values, in order. */
struct strlist {
	char	**v;
	int	  n;
};

struct options {
	enum mode	 mode;
	bool		 recipients_from_headers;	/* -t */
	bool		 dot_is_data;			/* -i, -oi */
	bool		 read_envelope_from;
	const char	*sender;			/* -f, -r; "" = <> */
	const char	*full_name;			/* -F */
	const char	*dsn_notify;			/* -N */
	const char	*dsn_return;			/* -R */
	const char	*envid;				/* -V */
	bool		 body_8bitmime;			/* -B 8BITMIME */
	int		 verbose;			/* -v */
	bool		 at_terminal;	/* stdin or stderr is a terminal */
	bool		 as_sendmail;	/* called as sendmail */
	const char	*config_file;			/* -C */
	const char	*account;			/* -a */
	char		*over[KEY_COUNT];		/* long options */
	/* Compose mode: any of these builds the message. */
	bool		 compose;
	struct strlist	 to, cc, bcc, attach, header;
	const char	*subject;
	const char	*body;
	/* -q: -qI, -qR or -qS select by id, recipient or sender ('\0':
	 * all); --due honours the backoff. */
	char		 queue_select;
	const char	*queue_match;
	bool		 due;
	bool		 system_only;	/* -q: the maildrop's mail alone */
	bool		 json;		/* -bp --json: postqueue -j */
	char	       **recipients;			/* argv after options;
							 * --remove's ids */
	int		 nrecipients;
};

/* Parse argv; on failure f says why (exit 64). argv[0]'s name selects
 * the mode for mailq and newaliases. */
int	args_parse(struct options *, int argc, char **argv, struct failure *f);
/*
 * Options that run a command (--passwordeval) or write a file (--logfile)
 * are what an injected argument would use (the PHP mail() family): they are
 * refused unless a person is at a terminal. (--host with an account's
 * stored credentials is checked once the account is known.)
 */
int	args_check_caller(const struct options *, bool at_terminal,
	    struct failure *f);
void	args_free(struct options *);
/* The usage text, for --help and smtpsend.1's SYNOPSIS. */
extern const char usage_text[];

#endif
