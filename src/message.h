/* SPDX-License-Identifier: ISC */
/*
 * The message as read from stdin: header fields in memory, the body in a
 * spool, line endings already normalised to CRLF (CONTRACT section 5), and
 * the facts the SMTP session needs, computed once while reading.
 */
#ifndef SMTPSEND_MESSAGE_H
#define SMTPSEND_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "buf.h"
#include "spool.h"
#include "status.h"

/* The most header bytes kept in memory; past it the rest is body. */
#define HEADER_SECTION_MAX	(1024 * 1024)

struct header {
	char	*text;		/* "Name: value" with inner CRLF folds, no final CRLF */
	size_t	 namelen;
};

struct message {
	struct header	*headers;
	size_t		 nheaders;
	bool		 separator;	/* a blank line follows the headers */
	struct spool	 body;
	/* Facts about the normalised bytes, headers and body. */
	bool		 eight_bit;	/* a byte >= 0x80 */
	size_t		 longest_line;	/* octets, without CRLF */
	bool		 complete;	/* all of the input was read */
	off_t		 nul_offset;	/* of the first NUL byte, or -1 */
};

/* A push parser: feed bytes as they come, then finish. */
struct reader {
	struct message	*m;
	bool		 dot_is_data;	/* -i: a lone "." is not the end */
	bool		 keep_from_line;	/* re-reading a saved message */
	size_t		 header_max;	/* HEADER_SECTION_MAX */
	bool		 done;		/* a lone "." ended the input */
	bool		 in_body;
	bool		 at_line_start;
	bool		 dot_held;	/* a "." at line start, not yet emitted */
	bool		 first_line;
	unsigned	 pending_cr;
	size_t		 line_len;
	off_t		 offset;
	size_t		 header_bytes;
	/* Where things are in the input, for a body read in place
	 * (src/bodyfile.c): offsets from the first byte fed. */
	bool		 count_only;	/* measure the body, store nothing */
	off_t		 at;		/* the CR, LF, NUL or byte at hand */
	off_t		 dot_at;	/* the "." last held */
	off_t		 body_at;	/* after the blank line, or -1 */
	off_t		 end_at;	/* the lone "." that ended it, or -1 */
	struct buf	 line;		/* the current header line */
	char		*out;		/* body bytes waiting for the spool */
	size_t		 outlen;
};

void	message_init(struct message *);
void	message_free(struct message *);

int	reader_init(struct reader *, struct message *, bool dot_is_data);
/* 0, or -1 with f set (NUL byte: 65; spool error: 71). */
int	reader_feed(struct reader *, const char *, size_t, struct failure *f);
int	reader_finish(struct reader *, struct failure *f);
void	reader_free(struct reader *);

/* Read all of fd (the rest is drained after a lone "."). */
int	message_read_fd(struct message *, int fd, bool dot_is_data,
	    struct failure *f);

/*
 * A regular file, whatever its size, without a copy of its body: the
 * spool reads it again as it is sent (src/bodyfile.c). 1 when done; 0,
 * rewound, when fd is not a regular file or the body does not start
 * after a blank line; -1 with f set. message_read_fd() uses it for files
 * of a MiB or more.
 */
int	message_read_in_place(struct message *, int fd, bool dot_is_data,
	    struct failure *f);

/* Header fields, by name without case. */
struct header *header_find(const struct message *, const char *name,
	    size_t from);
/* The value after the colon. */
const char *header_value(const struct header *);
/* The field's name is `name` (len bytes), without case. */
bool	header_is(const struct header *, const char *name, size_t len);
int	header_remove(struct message *, const char *name);
int	header_add(struct message *, const char *name, const char *value);
/* Append a copy of a field from another message. */
int	header_copy(struct message *, const struct header *);
/* Add a field before all others (Received). */
int	header_prepend(struct message *, const char *name, const char *value);
/* Replace (or add) the first field of that name. */
int	header_set(struct message *, const char *name, const char *value);

/* Fold the header fields as they are now into eight_bit and
 * longest_line (after fields were added or rewritten). */
void	message_analyse_headers(struct message *);
/* Single-part (so it can be re-encoded quoted-printable)? */
bool	message_single_part(const struct message *);
/* The header block as sent: every field, CRLF ends, and the separator. */
int	message_header_bytes(const struct message *, struct buf *);
/* Total size as sent, before any dot-stuffing. */
off_t	message_size(const struct message *);

#endif
