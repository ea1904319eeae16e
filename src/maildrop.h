/* SPDX-License-Identifier: ISC */
/*
 * The system maildrop (CONTRACT section 7): where a user who cannot send
 * for themselves (no writable outbox, or no access to the configuration
 * that holds the credentials) leaves a message, and where root's -q picks
 * it up, as Postfix's postdrop and pickup do, without a set-id binary.
 *
 * /var/spool/smtpsend/maildrop is root's, mode 1733: anyone may add an
 * entry, nobody but root may list, read or remove another's. Root reads
 * the entries as hostile input: the submitter is the file's owner.
 */
#ifndef SMTPSEND_MAILDROP_H
#define SMTPSEND_MAILDROP_H

#include <stdio.h>

#include "config.h"
#include "envelope.h"
#include "message.h"
#include "outbox.h"
#include "status.h"

#define MAILDROP_DIR	"/var/spool/smtpsend/maildrop"
/* Larger entries are set aside, not sent: root would spool them. */
#define MAILDROP_MAX	((off_t)64 * 1024 * 1024)

/* Leave a message; `k` says where, or "message NOT saved" and why. */
int	maildrop_save(const char *account, const struct envelope *,
	    const struct message *, const struct failure *why, struct kept *k);
/*
 * Root: move every acceptable entry into root's outbox (open at
 * outbox_fd), rewritten for an account of the system file `sys`; the rest
 * is set aside as .damaged-ID and reported. Fails (78) when the maildrop's
 * owner or mode is wrong.
 */
int	maildrop_pickup(const struct config *sys, int outbox_fd, int *left,
	    struct failure *f);
/*
 * One entry of the maildrop open at `fd`: validated completely in root's
 * copy, then moved into root's outbox, or set aside as .damaged-ID (0
 * when gone or another run has it; -1 when not picked up). For
 * maildrop_pickup and tests/fuzz/fuzz_pickup.c.
 */
int	maildrop_pick_at(const struct config *sys, int fd, int outbox_fd,
	    const char *id);
/* Root: the maildrop open for reading, checked; -1 and errno ENOENT (f
 * untouched) when there is none. */
int	maildrop_open(struct failure *f);
/* A user's own ids in the maildrop, which users may not list
 * (src/maildrop_index.c): added to when an entry is left, read by -bp. */
int	maildrop_index_add(int dirfd, const char *id);
int	maildrop_index_ids(int dirfd, char ***ids, size_t *n);
/* Remove an entry by id (the kernel's sticky bit: only one's own). */
int	maildrop_remove(const char *id);

#endif
