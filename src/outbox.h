/* SPDX-License-Identifier: ISC */
/*
 * The outbox (CONTRACT section 7): a message that was read and could not
 * be submitted is kept here, durably, with its envelope, until `-q`
 * delivers it or a person removes it.
 */
#ifndef SMTPSEND_OUTBOX_H
#define SMTPSEND_OUTBOX_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>
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

/*
 * The arguments of a message kept before its envelope could be made (a
 * configuration error): -q resolves them with the configuration as it is
 * then. Saved from struct options (borrowed), or read back (owned).
 */
struct outbox_args {
	bool		  present;	/* resolved when sent */
	bool		  t;		/* -t */
	bool		  read_envelope_from;
	bool		  b8;		/* -B 8BITMIME */
	char		 *f, *F, *N, *R, *V;	/* NULL: not given */
	char		**rcpts;	/* the recipient arguments */
	int		  nrcpts;
};

/* One entry as read back from its file. */
struct outbox_entry {
	char			 id[64];
	char			*account;	/* NULL: the default */
	char			*config;	/* -C, absolute; NULL: default */
	struct outbox_args	 args;
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
	uid_t			 owner;		/* the file's owner */
};

/* The directory: `outbox` from the settings, else the default. NULL: off. */
const char *outbox_dir(const struct settings *);
/* Make (mkdir -p, 0700) and open the directory: ours and private, or
 * refused with `why`. */
int	outbox_dir_create(const char *dir, char *why, size_t size);
/* The state a failure leaves a message in. */
enum outbox_state outbox_state_of(const struct failure *);

/* Where a message was kept, for the one line on stderr and for -bs. */
struct kept {
	char	id[64];		/* "" when not saved */
	char	note[4400];	/* where, or "message NOT saved" and why */
};

/* Who made a kept message and with what: -q sends it the same way. */
struct options;
struct outbox_origin {
	const char		*account;	/* NULL: the default */
	const char		*config;	/* -C, absolute; NULL: default */
	const struct options	*args;		/* kept when env is NULL */
	const char		*id;		/* keep this id, if free */
};

/*
 * Save a message after a failure. `env` may be NULL (the envelope was never
 * built: configuration error, bad input); then the arguments are kept.
 */
int	outbox_save(const char *dir, const struct outbox_origin *,
	    const struct envelope *env, const struct message *m,
	    const struct failure *why, struct kept *k);
int	outbox_save_origin_at(int dirfd, const struct outbox_origin *,
	    const struct envelope *env, const struct message *m,
	    const struct failure *why, char *id, size_t idsize);

/* The same into an open directory; `id` gets the entry's id. */
int	outbox_save_at(int dirfd, const char *account,
	    const struct envelope *env, char *const *rcpts, int nrcpts,
	    const struct message *m, const struct failure *why, char *id,
	    size_t idsize);
/*
 * Reading goes through a directory opened and checked once: the user's,
 * not a symlink, not writable by others (-1 with errno ENOENT and f
 * untouched when there is none).
 */
int	outbox_open_checked(const char *dir, struct failure *f);
/* Entry ids, oldest first; the caller frees each and the array. `tidy`
 * removes what a crashed save left behind, once it is old. */
int	outbox_ids_at(int dirfd, bool tidy, char ***ids, size_t *n,
	    struct failure *f);
/* Their order (qsort, bsearch over a char * array). */
int	outbox_compare_ids(const void *, const void *);
/*
 * Open, lock (without waiting) and read an entry: a regular file with one
 * link, owned by `owner` ((uid_t)-1: anyone, see x->owner), its length
 * what its header says, every field valid. 1 when someone else has it
 * locked or it is gone, 0 when loaded, -1 when damaged (f says so).
 */
int	outbox_load_at(int dirfd, const char *id, struct outbox_entry *,
	    uid_t owner, struct failure *f);
/* The entry open at fd (which it takes), as outbox_load_at reads one:
 * root's copy of a maildrop entry. */
int	outbox_load_fd(int fd, const char *id, struct outbox_entry *,
	    struct failure *f);
/* The same without the lock, for listing. */
int	outbox_peek_at(int dirfd, const char *id, struct outbox_entry *,
	    uid_t owner, struct failure *f);
/* After an attempt: remove it (delivered) or record the failure. */
int	outbox_remove_at(int dirfd, const char *id);
int	outbox_update_at(int dirfd, struct outbox_entry *,
	    const struct failure *why);
/* After a partial delivery that outbox_update_at could not record: made
 * `permanent` in place, a person's (1: it was recorded after all). */
int	outbox_hold_at(int dirfd, struct outbox_entry *);
void	outbox_entry_free(struct outbox_entry *);
/* When the entry is next due: 5 minutes after the first attempt, doubling,
 * at most 4 hours. */
time_t	outbox_next_try(const struct outbox_entry *);

/* -bp: Postfix's mailq format (or postqueue -j's with `json`), over
 * several directories (the outbox, the maildrop); `config` is the -C file
 * of this run (absolute, NULL: the default files). */
int	outbox_list_at(const int *dirfds, int ndirs, const char *config,
	    bool json, FILE *out, struct failure *f);

/* The entry's arguments (src/outbox_args.c). */
void	outbox_args_from(struct outbox_args *, const struct options *);
/* 1: a field of the arguments, taken; 0: not one; -1: invalid. */
int	outbox_args_field(struct outbox_args *, const char *k, const char *v);
struct buf;
void	outbox_args_format(struct buf *, const struct outbox_args *);
/* Options as the command line gave them, pointing into the entry. */
void	outbox_args_options(const struct outbox_args *, const char *account,
	    struct options *);
void	outbox_args_free(struct outbox_args *);

/* The configuration an entry goes with (src/outbox_config.c). */
/* -C's file as an absolute path (NULL for the default files). */
const char *outbox_config_path(const char *file, char *dst, size_t size);
/* Made with the system file alone (a maildrop entry picked up by root):
 * sent with it alone, never with root's own file's accounts. */
bool	outbox_entry_system_only(const struct outbox_entry *);
/* The entry was made with the configuration `config` (NULL: default). */
bool	outbox_entry_for_config(const struct outbox_entry *,
	    const char *config);
/* Why the entry's recorded -C file cannot be used now, or NULL. */
const char *outbox_config_problem(const struct outbox_entry *, char *why,
	    size_t size);

#endif
