/* SPDX-License-Identifier: ISC */
/* Transformations of the bytes on the wire: dot-stuffing, re-encoding. */
#ifndef SMTPSEND_ENCODE_H
#define SMTPSEND_ENCODE_H

#include <stdbool.h>
#include <stddef.h>

#include "message.h"
#include "status.h"

struct dotstuffer {
	bool	bol;		/* at the beginning of a line */
};

/*
 * Dot-stuff CRLF-normalised bytes: a '.' that starts a line is doubled.
 * `out` must hold 2 * n bytes; returns the bytes written.
 */
size_t	dotstuff(struct dotstuffer *, const char *in, size_t n, char *out);

/* Streaming quoted-printable (RFC 2045): LF or CRLF in, CRLF out. */
struct qp {
	int	(*put)(void *, const char *, size_t);
	void	*arg;
	size_t	 col;
	char	 pending_ws;	/* whitespace not yet known to end a line */
	bool	 failed;
};
void	qp_init(struct qp *, int (*put)(void *, const char *, size_t),
	    void *arg);
int	qp_feed(struct qp *, const char *, size_t);
int	qp_finish(struct qp *);

/* Streaming base64 in lines of 76 characters, CRLF (or one line). */
struct b64 {
	int		(*put)(void *, const char *, size_t);
	void		*arg;
	unsigned char	 held[3];
	size_t		 nheld;
	size_t		 col;
	size_t		 line;	/* 76; 0 for no line breaks */
};
void	b64_init(struct b64 *, int (*put)(void *, const char *, size_t),
	    void *arg);
int	b64_feed(struct b64 *, const char *, size_t);
int	b64_finish(struct b64 *);

/*
 * A copy of `in` fit for the server: a single-part message re-encoded as
 * quoted-printable (lossless); any other has lines over 998 octets broken
 * with CRLF SPACE, and a warning on stderr.
 */
int	encode_for_transport(const struct message *in, struct message *out,
	    bool to7bit, struct failure *f);

#endif
