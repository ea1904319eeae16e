/* SPDX-License-Identifier: ISC */
/*
 * The entry format, shared by the outbox's saving, loading and listing:
 * "smtpsend-outbox: 1", "key: value" lines, a blank line, the message.
 */
#ifndef SMTPSEND_OUTBOX_ENTRY_H
#define SMTPSEND_OUTBOX_ENTRY_H

#include "buf.h"
#include "outbox.h"

/* Where the message starts, and the numbers needed to read it back. */
struct entry_layout {
	off_t	 start;
	size_t	 header_bytes;
	off_t	 size;
};

const char *outbox_state_name(enum outbox_state);
void	outbox_entry_init(struct outbox_entry *, const char *id);
/* Everything before the message bytes. */
int	outbox_entry_format(struct buf *, const struct outbox_entry *,
	    const struct envelope *, char *const *rcpts, int nrcpts,
	    const struct message *);
/* Read and parse the text before the message; fills l->start. */
int	outbox_entry_parse_header(int fd, struct outbox_entry *,
	    struct entry_layout *);
/* The message: its header block through the reader, the body in place. */
int	outbox_entry_parse_message(int fd, struct outbox_entry *,
	    const struct entry_layout *, struct failure *);

#endif
