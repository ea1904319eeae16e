/* SPDX-License-Identifier: ISC */
/*
 * The mail transaction as a state machine fed replies, in the shape of
 * OpenSMTPD's smtp_client.c: it knows SMTP, never a socket. The session
 * sends what it asks for (commands in `out`, or the message body) and
 * feeds it each reply; a table of replies tests it without a server.
 *
 * Recipients go in batches (CONTRACT section 5): at most LIMITS RCPTMAX
 * per transaction, and the ones a server refuses with "too many
 * recipients" (452, 4.5.3) go in the next transaction on the same
 * connection. Each transaction is all-or-nothing unless partial delivery.
 */
#ifndef SMTPSEND_TXN_H
#define SMTPSEND_TXN_H

#include <stdbool.h>
#include <sys/types.h>

#include "addr.h"
#include "buf.h"
#include "envelope.h"
#include "reply.h"
#include "status.h"

/* What the session does next. */
enum txn_step {
	TXN_SEND,	/* send `out`, then read the next reply */
	TXN_SEND_BODY,	/* send `out` (BDAT n LAST, or nothing after 354)
			 * and the message body, then read the next reply */
	TXN_READ,	/* read the next reply */
	TXN_DONE,	/* delivered to every recipient (or partly: see f) */
	TXN_FAILED	/* f says why; `delivered` recipients got it */
};

enum txn_state { TXN_MAIL, TXN_RCPT, TXN_DATA, TXN_EOD, TXN_END };

struct txn {
	/* Given. */
	const struct envelope	*env;
	const struct caps	*caps;
	off_t			 size;
	bool			 partial;	/* partial_delivery on */
	const char		*host;		/* for messages */
	/* Chosen by txn_init from the capabilities. */
	bool			 pipelined;
	bool			 bdat;
	bool			 body_early;	/* the body goes with the envelope */
	/* The transaction under way: recipients [first, end). */
	enum txn_state		 state;
	size_t			 first, end, next;
	size_t			 accepted;	/* in this transaction */
	size_t			 overflow;	/* first "too many", or end */
	bool			 data_sent;
	/* Across transactions. */
	struct addrlist		 delivered;
	struct addrlist		 accepted_now;	/* this transaction's */
	size_t			 batch_refused;	/* in this transaction */
	struct addrlist		 deferred;	/* refused with 4xx */
	struct addrlist		 refused5;	/* refused with 5xx */
	int			 worst;		/* highest refusal code */
	struct buf		 refused;	/* "a@x: 550 ...; b@y: ..." */
	int			 code;		/* the reply to the end of data */
	char			 text[512];
	struct buf		 out;		/* commands to send */
	size_t			 unanswered;	/* replies still due */
	bool			 body_sent;	/* all of it, with BDAT */
	struct failure		 f;
};

/* Start: the first transaction's commands are in `out`. */
enum txn_step txn_init(struct txn *, const struct envelope *,
	    const struct caps *, off_t size, bool partial, const char *host);
/* The next reply. */
enum txn_step txn_reply(struct txn *, const struct reply *);
/* What the step asked for went out (`whole`: all of it): its replies
 * are due. */
void	txn_sent(struct txn *, enum txn_step, bool whole);
/* Recipients not delivered and not refused for good: what -q retries. */
int	txn_remaining(const struct txn *, struct addrlist *);
void	txn_free(struct txn *);

/* A refusal that only means "not in this transaction" (RFC 5321 4.5.3.1.10). */
bool	txn_too_many(const struct reply *);

/* The most a message may be to travel with its envelope (one chunk). */
#define TXN_EARLY_MAX	(256 * 1024)

#endif
