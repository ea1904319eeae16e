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

enum txn_state { TXN_RSET, TXN_MAIL, TXN_RCPT, TXN_DATA, TXN_EOD, TXN_END };

/* What the connection can do after this transaction (txn_next). */
enum txn_next {
	TXN_NEXT_CLOSE,	/* nothing more: out of step, inside DATA, 421,
			 * a lost connection or a per-connection cap */
	TXN_NEXT_CLEAN,	/* another MAIL may follow at once */
	TXN_NEXT_RSET	/* a transaction may still be open: RSET first */
};

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
	bool			 rset;		/* RSET goes ahead of MAIL */
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
	bool			 data_open;	/* 354 met, the body not sent */
	bool			 capped;	/* no recipient at all taken on
						 * this connection any more */
	char			 cap[300];	/* the reply that said so */
	struct failure		 f;
};

/* Start: the first transaction's commands are in `out`, after RSET when
 * `rset` (the connection's previous transaction may still be open). */
enum txn_step txn_init(struct txn *, const struct envelope *,
	    const struct caps *, off_t size, bool partial, const char *host,
	    bool rset);
/*
 * Capped (a per-connection recipient limit: 452 4.5.3 met again in a
 * later transaction, or Haraka's 450 "too many recipient attempts"): go
 * on over a new connection with the recipients not yet done.
 */
enum txn_step txn_resume(struct txn *, const struct caps *);
/* After TXN_DONE or TXN_FAILED (and the replies still due drained): may
 * the connection carry another message, and is RSET needed first? */
enum txn_next txn_next(const struct txn *, enum txn_step last);
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
