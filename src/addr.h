/* SPDX-License-Identifier: ISC */
/*
 * RFC 5322 address lists: a pure parser, string in, addresses out.
 * Used for recipient arguments, To/Cc/Bcc/From headers and the config.
 */
#ifndef SMTPSEND_ADDR_H
#define SMTPSEND_ADDR_H

#include <stdbool.h>
#include <stddef.h>

struct address {
	char	*spec;		/* local@domain (or a bare local name), no CFWS */
	char	*display;	/* display name as written, or NULL */
	char	*comment;	/* last comment, e.g. "Cron Daemon", or NULL */
};

/* Initialise with { 0 }. */
struct addrlist {
	struct address	*v;
	size_t		 n;
	size_t		 cap;		/* of v: it grows by doubling */
	/* addrlist_add_unique's hash index of v (slot: i + 1, 0 empty), so
	 * that n additions take linear time, not quadratic. */
	size_t		*slot;
	size_t		 nslot;		/* a power of two, or 0 */
	size_t		 indexed;	/* v[0..indexed) are in it */
};

/*
 * Parse an address list (mailboxes and groups). Folding (CRLF before
 * whitespace) is allowed; any other control character is an error.
 * Returns 0, or -1 with a reason in err (errno ENOMEM or EINVAL).
 * Parsed addresses are appended to `out`.
 */
int	addrlist_parse(struct addrlist *out, const char *s, char *err,
	    size_t errsize);
/* Append unless an equal address (addr_equal) is present; 1 if added. */
int	addrlist_add_unique(struct addrlist *, const char *spec);
void	addrlist_free(struct addrlist *);

/* Same mailbox: local part exact, domain without case. */
bool	addr_equal(const char *a, const char *b);
/* The domain part after the last '@', or NULL for a bare name. */
const char *addr_domain(const char *spec);
/*
 * Check an address for use in the envelope: not empty, no control
 * character, no angle bracket, no space outside quotes, at most 254 octets.
 */
int	addr_check(const char *spec, char *err, size_t errsize);

#endif
