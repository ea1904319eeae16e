#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "interrupt.h"
#include "maildrop.h"
#include "outbox.h"
#include "queue.h"
#include "secret.h"
#include "session.h"
#include "sessions.h"
#include "submitlog.h"

/* One pass over one directory of entries. */
struct pass {
	const struct config	*c;
	const struct options	*o;
	int			 dirfd;
	const char		*dir;
	uid_t			 owner;		/* of the entries; -1: any */
	int			 sent, left;
	struct sessions		 open;		/* one connection an account */
};

/* Settings for an account name (NULL: the default one). */
static int
settings_for(const struct config *c, const char *name,
    const struct options *o, struct settings *s, struct failure *f)
{
	const struct account *a;

	if (envelope_account(c, name, NULL, &a, f) == -1 ||
	    config_check_origins(a, o->over, o->at_terminal, f) == -1)
		return -1;
	return settings_resolve(s, a, o->over, f);
}

/* The outbox of the account given with -a, or of the default account. */
static const char *
queue_dir(const struct config *c, const struct options *o)
{
	struct failure ignored = { 0 };
	struct settings s;

	if (settings_for(c, o->account, o, &s, &ignored) == -1)
		return outbox_dir(NULL);
	return outbox_dir(&s);
}

static bool
chatty(const struct options *o)
{
	return o->verbose > 0 || o->at_terminal;
}

/* Record a failed attempt; true when the entry is still to be sent. */
static bool
record(const struct pass *p, struct outbox_entry *x, const struct failure *f)
{
	fprintf(stderr, "smtpsend: %s: %s\n", x->id, f->text);
	if (outbox_update_at(p->dirfd, x, f) == -1)
		fprintf(stderr, "smtpsend: %s: could not record the attempt: "
		    "%s\n", x->id, strerror(errno));
	return x->state != OUTBOX_PERMANENT;
}

/*
 * The connection this entry's account already has in this run, else a new
 * session for it: the entries of one account go over one connection, AUTH
 * once (CONTRACT section 5). NULL with f set when the account's settings
 * or secret cannot be had.
 */
static struct session *
session_for_entry(struct pass *p, const struct outbox_entry *x,
    struct failure *f)
{
	struct session *se = sessions_find(&p->open, x->account);
	struct settings s;
	struct buf pw = BUF_INIT;

	if (se != NULL)
		return se;
	if (settings_for(p->c, x->account, p->o, &s, f) == 0 &&
	    secret_obtain(&s, &pw, p->o->verbose, f) == 0)
		se = sessions_add(&p->open, &s, &pw, NULL, f);
	buf_free_secret(&pw);
	return se;
}

/* One attempt at one entry; true when it is still to be delivered. */
static bool
retry(struct pass *p, struct outbox_entry *x)
{
	struct failure f = { 0 };
	struct session_report rep;
	struct session *se;

	memset(&rep, 0, sizeof(rep));
	if ((se = session_for_entry(p, x, &f)) == NULL) {
		/* A configuration problem is not the message's: no attempt. */
		fprintf(stderr, "smtpsend: %s: kept, not tried now: %s\n", x->id,
		    f.text);
		return true;
	}
	/* Removed (or updated) as soon as its own end of data is answered:
	 * a connection lost at the next one duplicates nothing. */
	session_send(se, &x->env, &x->msg, &rep, &f);
	submitlog_write(se->given, &x->env, message_size(&x->msg), &rep, &f);
	if (rep.delivered && rep.deferred.n > 0) {
		/* Some got it; the entry goes on for the deferred ones only. */
		addrlist_free(&x->env.rcpts);
		x->env.rcpts = rep.deferred;
		f.cause = CAUSE_TEMPORARY;
		return record(p, x, &f);
	}
	addrlist_free(&rep.deferred);
	if (failed(&f) && !rep.delivered)
		return record(p, x, &f);
	if (outbox_remove_at(p->dirfd, x->id) == -1)
		fprintf(stderr, "smtpsend: %s delivered, but could not be "
		    "removed from %s\n", x->id, p->dir);
	else if (chatty(p->o))
		fprintf(stderr, "smtpsend: %s delivered\n", x->id);
	p->sent++;
	return false;
}

static bool
contains(const char *hay, const char *needle)
{
	return hay != NULL && strcasestr(hay, needle) != NULL;
}

/* -qI, -qR, -qS; a permanent entry only when a person named it. */
static bool
selected(const struct options *o, const struct outbox_entry *x)
{
	size_t i;

	if (x->state == OUTBOX_PERMANENT)
		return o->queue_select == 'I' &&
		    strcmp(o->queue_match, x->id) == 0;
	switch (o->queue_select) {
	case 'I': return contains(x->id, o->queue_match);
	case 'S': return contains(x->env.sender, o->queue_match);
	case 'R':
		for (i = 0; i < x->env.rcpts.n; i++)
			if (contains(x->env.rcpts.v[i].spec, o->queue_match))
				return true;
		return false;
	default: return true;
	}
}

/* Load, skip what is not chosen (or not due with --due), try the rest. */
static void
run_entry(struct pass *p, const char *id, struct failure *f)
{
	struct outbox_entry x;
	int r = outbox_load_at(p->dirfd, id, &x, p->owner, f);

	if (r == 1)
		return;		/* another -q has it, or it is gone */
	if (r == -1) {
		/* Damaged: a person must look at it; the exit status says so. */
		fprintf(stderr, "smtpsend: %s\n", f->text);
		memset(f, 0, sizeof(*f));
		p->left++;
		return;
	}
	if (!selected(p->o, &x) || x.env.sender == NULL)
		;	/* not chosen, or kept without an envelope: a person's */
	/* Not due yet (with --due), or tried and failed again. */
	else if ((p->o->due && time(NULL) < outbox_next_try(&x)) ||
	    retry(p, &x))
		p->left++;
	outbox_entry_free(&x);
}

static int
queue_pass(const struct config *c, const struct options *o, int dirfd,
    const char *dir, uid_t owner, int *sent, int *left, struct failure *f)
{
	struct pass p = { c, o, dirfd, dir, owner, 0, 0,
	    SESSIONS_INIT(o->verbose) };
	char **ids;
	size_t n, i;

	if (outbox_ids_at(dirfd, true, &ids, &n, f) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		/* A signal stops the run; what is not tried is left. */
		if (interrupt_signal() != 0)
			p.left++;
		else
			run_entry(&p, ids[i], f);
		free(ids[i]);
	}
	free(ids);
	sessions_end(&p.open);	/* QUIT */
	*sent += p.sent;
	*left += p.left;
	return 0;
}

/* Root: what users left in the maildrop joins root's outbox first, with
 * the system file's accounts only. */
/* A maildrop that cannot be used is reported; root's own outbox still
 * goes out. */
static void
pickup(int dirfd, int *left)
{
	struct failure f = { 0 };
	struct config sys;

	if (config_load_system(&sys, stderr, &f) == 0)
		maildrop_pickup(&sys, dirfd, left, &f);
	config_free(&sys);
	if (failed(&f)) {
		fprintf(stderr, "smtpsend: %s\n", f.text);
		(*left)++;
	}
}

/* The user's outbox; as root, also the maildrop. */
static int
run_outbox(const struct config *c, const struct options *o, const char *dir,
    int *sent, int *left, struct failure *f)
{
	char why[512];
	int dirfd, r;

	if (geteuid() == 0 && o->config_file == NULL) {
		/* Root's outbox is made here if the maildrop needs it. */
		if ((dirfd = outbox_dir_create(dir, why, sizeof(why))) != -1) {
			pickup(dirfd, left);
			close(dirfd);
		}
	}
	if (failed(f))
		return -1;
	if ((dirfd = outbox_open_checked(dir, f)) == -1)
		return failed(f) ? -1 : 0;
	r = queue_pass(c, o, dirfd, dir, geteuid(), sent, left, f);
	close(dirfd);
	return r;
}

int
queue_run(const struct options *o, struct failure *f)
{
	struct config c;
	const char *d;
	char dir[4096];
	int sent = 0, left = 0;

	if (config_load(&c, o->config_file, stderr, f) == -1)
		return -1;
	if ((d = queue_dir(&c, o)) != NULL) {
		strlcpy(dir, d, sizeof(dir));
		run_outbox(&c, o, dir, &sent, &left, f);
	}
	config_free(&c);
	if (failed(f))
		return -1;
	if (left > 0)
		fail(f, STAGE_NONE, CAUSE_TEMPORARY, 0, "%d sent, %d message%s "
		    "left in %s; smtpsend -bp lists them", sent, left,
		    left == 1 ? "" : "s", dir);
	else if (chatty(o))
		fprintf(stderr, "smtpsend: %d sent, nothing left\n", sent);
	return failed(f) ? -1 : 0;
}

int
queue_list(const struct options *o, struct failure *f)
{
	struct config c;
	const char *dir;
	int fds[2], n = 0, r;

	if (config_load(&c, o->config_file, stderr, f) == -1)
		return -1;
	if ((dir = queue_dir(&c, o)) != NULL &&
	    (fds[n] = outbox_open_checked(dir, f)) != -1)
		n++;
	/* Root also sees what waits in the maildrop. */
	if (!failed(f) && geteuid() == 0) {
		struct failure md = { 0 };

		if ((fds[n] = maildrop_open(&md)) != -1)
			n++;
		else if (failed(&md))
			fprintf(stderr, "smtpsend: %s\n", md.text);
	}
	r = failed(f) ? -1 : outbox_list_at(fds, n, stdout, f);
	while (n > 0)
		close(fds[--n]);
	config_free(&c);
	return r;
}

/* An id as -bp shows it: never a path. */
static bool
valid_id(const char *id)
{
	return *id != '\0' && *id != '.' && strchr(id, '/') == NULL &&
	    strlen(id) < 64;
}

int
queue_remove(const struct options *o, struct failure *f)
{
	struct config c;
	const char *dir;
	int dirfd = -1, i, missing = 0;

	if (config_load(&c, o->config_file, stderr, f) == -1)
		return -1;
	if ((dir = queue_dir(&c, o)) != NULL)
		dirfd = outbox_open_checked(dir, f);
	memset(f, 0, sizeof(*f));
	for (i = 0; i < o->nrecipients; i++) {
		const char *id = o->recipients[i];

		if (valid_id(id) && ((dirfd != -1 &&
		    outbox_remove_at(dirfd, id) == 0) ||
		    maildrop_remove(id) == 0)) {
			fprintf(stderr, "smtpsend: %s removed\n", id);
			continue;
		}
		fprintf(stderr, "smtpsend: %s: no such entry of yours\n", id);
		missing++;
	}
	if (dirfd != -1)
		close(dirfd);
	config_free(&c);
	if (missing > 0)
		fail(f, STAGE_NONE, CAUSE_USAGE, 0, "%d of %d entries not found",
		    missing, o->nrecipients);
	return failed(f) ? -1 : 0;
}
