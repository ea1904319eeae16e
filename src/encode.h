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

/*
 * A copy of `in` fit for the server: a single-part message re-encoded as
 * quoted-printable (lossless); any other has lines over 998 octets broken
 * with CRLF SPACE, and a warning on stderr.
 */
int	encode_for_transport(const struct message *in, struct message *out,
	    bool to7bit, struct failure *f);

#endif
