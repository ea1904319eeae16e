/*
 * The outbox (CONTRACT section 7): a message that was read and could not
 * be submitted is kept here, durably, with its envelope, until `-q`
 * delivers it or a person removes it.
 */
#ifndef SMTPSEND_OUTBOX_H
#define SMTPSEND_OUTBOX_H

#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include "config.h"
#include "envelope.h"
#include "message.h"
#include "status.h"

enum outbox_state {
	OUTBOX_TEMPORARY,		/* -q retries it */
	OUTBOX_POSSIBLY_DELIVERED,	/* lost after the final dot: retried */
	OUTBOX_PERMANENT		/* kept, marked, until removed by hand */
};

/* One entry as read back from its file. */
struct outbox_entry {
	char			 id[64];
	char			*account;	/* NULL: the default */
	char			*notify;	/* owns env.notify */
	struct envelope		 env;
	struct message		 msg;
	time_t			 created;
	time_t			 last_attempt;
	int			 attempts;
	enum outbox_state	 state;
	int			 exit_status;
	char			 error[1024];
	int			 fd;		/* open and locked while in use */
};

/* The directory: `outbox` from the settings, else the default. NULL: off. */
const char *outbox_dir(const struct settings *);
/* The state a failure leaves a message in. */
enum outbox_state outbox_state_of(const struct failure *);

/*
 * Save a message after a failure. `env` may be NULL (the envelope was never
 * built: configuration error, bad input); then `rcpts` from argv are noted.
 * `note` says where the message was kept, or "message NOT saved" and why.
 */
int	outbox_save(const char *dir, const char *account,
	    const struct envelope *env, char *const *rcpts, int nrcpts,
	    const struct message *m, const struct failure *why, char *note,
	    size_t notesize);

/* Entry ids, oldest first; the caller frees each and the array. */
int	outbox_ids(const char *dir, char ***ids, size_t *n, struct failure *f);
/* Open, lock (without waiting) and read an entry; 1 when someone else has
 * it locked or it is gone, 0 when loaded, -1 on error. */
int	outbox_load(const char *dir, const char *id, struct outbox_entry *,
	    struct failure *f);
/* After an attempt: remove it (delivered) or record the failure. */
int	outbox_remove(const char *dir, struct outbox_entry *);
int	outbox_update(const char *dir, struct outbox_entry *,
	    const struct failure *why);
void	outbox_entry_free(struct outbox_entry *);

/* -bp: one line per entry. */
int	outbox_list(const char *dir, FILE *out, struct failure *f);

#endif
