/* SPDX-License-Identifier: ISC */
/*
 * The envelope (CONTRACT section 4): who the message is from, who gets it,
 * the DSN and BODY parameters, and the header fields smtpsend adds.
 */
#ifndef SMTPSEND_ENVELOPE_H
#define SMTPSEND_ENVELOPE_H

#include <stdbool.h>

#include "addr.h"
#include "buf.h"
#include "args.h"
#include "config.h"
#include "message.h"
#include "status.h"

/* More would take one message past what any smarthost accepts. */
#define RECIPIENTS_MAX	10000

struct envelope {
	char		*sender;	/* "" is the null sender <> */
	struct addrlist	 rcpts;
	const char	*notify;	/* DSN NOTIFY, NULL when not asked */
	const char	*ret;		/* DSN RET: FULL or HDRS, or NULL */
	char		*envid;		/* DSN ENVID, xtext-encoded, or NULL */
	bool		 body_8bitmime;	/* -B 8BITMIME or 8-bit data */
	bool		 smtputf8;	/* a non-ASCII envelope address */
	/* Compose mode: a bare name must be an alias or a local account,
	 * and what each bare name became is shown ("bob\tbob@x\n"). */
	bool		 typed;
	struct buf	 shown;
};

/* Check every address given on the command line, before anything else. */
int	envelope_check_args(const struct options *, struct failure *f);
/* The sender named by -f or --read-envelope-from, for account choice. */
int	envelope_sender_hint(const struct options *, const struct message *,
	    char **hint, struct failure *f);
/* Choose the account: -a, the sender's match, else "default". */
int	envelope_account(const struct config *, const char *name,
	    const char *hint, const struct account **, struct failure *f);
/* The account chosen as above, refused when `over` (or a file other than
 * the secret's) would send its credentials elsewhere, and its settings. */
int	envelope_settings(const struct config *, const char *name,
	    const char *hint, char *const over[KEY_COUNT], bool person,
	    struct settings *, struct failure *f);
/* Sender and recipients; headers completed as CONTRACT section 4 says. */
int	envelope_build(struct envelope *, const struct options *,
	    const struct settings *, struct message *, const char *hint,
	    struct failure *f);
/*
 * For the maildrop, where the user has no settings: the sender (-f, else
 * the user name) and recipients as given, nothing mapped or added; root's
 * pickup finishes it with the system file's settings.
 */
int	envelope_collect_raw(struct envelope *, const struct options *,
	    struct message *, const char *hint, struct failure *f);
int	envelope_finish(struct envelope *, const struct settings *,
	    struct message *, struct failure *f);
void	envelope_free(struct envelope *);

#endif
