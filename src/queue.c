/* SPDX-License-Identifier: ISC */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "envelope.h"
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
	const char		*config;	/* -C, absolute; NULL: default */
	int			 sent, left;
	int			 other;		/* of other configurations */
	int			 named;		/* -qI: entries it matched */
	struct sessions		 open;		/* one connection an account */
	char		       **only;		/* sorted; NULL: every id */
	size_t			 nonly;
	/* For the system file's entries (the maildrop's): that file alone,
	 * loaded when the first comes, and connections of its own. */
	struct config		 sys;
	bool			 sys_loaded;
	struct sessions		 sys_open;
};

/* The configuration an entry is sent with; NULL with f set. */
static const struct config *
config_of(struct pass *p, const struct outbox_entry *x, struct failure *f)
{
	if (!outbox_entry_system_only(x))
		return p->c;
	if (!p->sys_loaded && config_load_system(&p->sys, stderr, f) == -1) {
		config_free(&p->sys);
		return NULL;
	}
	p->sys_loaded = true;
	return &p->sys;
}

/* The outbox of the account given with -a, or of the default account. */
static const char *
queue_dir(const struct config *c, const struct options *o)
{
	struct failure ignored = { 0 };
	struct settings s;

	if (envelope_settings(c, o->account, NULL, o->over,
	    o->at_terminal, &s, &ignored) == -1)
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
 * Some recipients got it: the entry goes on for the deferred ones only.
 * One that cannot be rewritten (a full disk) must not go to the others
 * again (CONTRACT 5): it is held for a person, else removed; stderr names
 * who did not get it.
 */
static bool
record_partial(const struct pass *p, struct outbox_entry *x,
    const struct failure *f)
{
	char rest[300];
	int e;

	fprintf(stderr, "smtpsend: %s: %s\n", x->id, f->text);
	if (outbox_update_at(p->dirfd, x, f) == 0)
		return true;
	e = errno;
	snprintf(rest, sizeof(rest), "%.200s%s", x->env.rcpts.v[0].spec,
	    x->env.rcpts.n > 1 ? " and others" : "");
	if (outbox_hold_at(p->dirfd, x) >= 0)
		fprintf(stderr, "smtpsend: %s: could not record the attempt "
		    "(%s): held for a person (permanent), as -q would send it "
		    "again to the recipients who got it; %s did not: send it to "
		    "them, then smtpsend --remove %s\n", x->id, strerror(e),
		    rest, x->id);
	else if (outbox_remove_at(p->dirfd, x->id) == 0)
		fprintf(stderr, "smtpsend: %s: could not record the attempt "
		    "(%s) nor hold it: removed, as -q would send it again to the "
		    "recipients who got it; %s did not get it\n", x->id,
		    strerror(e), rest);
	else
		fprintf(stderr, "smtpsend: %s: could not record the attempt "
		    "(%s), hold it or remove it: -q may send it again to every "
		    "recipient\n", x->id, strerror(e));
	return false;
}

/*
 * An entry kept before its envelope could be made: its arguments resolved
 * now, with the configuration as it is (CONTRACT 7), as the first run
 * would have. The message's headers are completed as they would have been.
 */
static int
resolve(struct pass *p, struct outbox_entry *x, struct settings *s,
    struct failure *f)
{
	const struct config *c = config_of(p, x, f);
	struct options o;
	char *hint = NULL, *name;
	int r = -1;

	outbox_args_options(&x->args, x->account, &o);
	o.at_terminal = p->o->at_terminal;
	if (c != NULL && envelope_check_args(&o, f) == 0 &&
	    envelope_sender_hint(&o, &x->msg, &hint, f) == 0 &&
	    envelope_settings(c, o.account, hint, p->o->over,
	    p->o->at_terminal, s, f) == 0 &&
	    envelope_build(&x->env, &o, s, &x->msg, hint, f) == 0)
		r = 0;
	free(hint);
	if (r == -1) {
		envelope_free(&x->env);	/* the arguments stay, for later */
		return -1;
	}
	/* From here on the entry is an ordinary one, recorded as such. */
	name = s->account != NULL ? strdup(s->account) : NULL;
	free(x->account);
	x->account = name;
	if (x->env.notify != NULL && x->env.notify == x->args.N) {
		free(x->notify);	/* the entry owns -N's value now */
		x->notify = x->args.N;
		x->args.N = NULL;
	}
	outbox_args_free(&x->args);
	return 0;
}

/*
 * The connection this entry's account already has in this run, else a new
 * session for it: the entries of one account go over one connection, AUTH
 * once (CONTRACT section 5). NULL with f set when the account's settings
 * or secret cannot be had.
 */
static struct session *
session_for_entry(struct pass *p, struct outbox_entry *x, struct failure *f)
{
	bool resolved = x->env.sender == NULL;
	struct sessions *open = outbox_entry_system_only(x) ? &p->sys_open :
	    &p->open;
	const struct config *c;
	struct session *se;
	struct settings s;
	struct buf pw = BUF_INIT;

	/* An entry kept before its envelope was known: its account is
	 * known once it is resolved. */
	if (resolved && resolve(p, x, &s, f) == -1)
		return NULL;
	if ((se = sessions_find(open, x->account)) != NULL)
		return se;
	if ((c = config_of(p, x, f)) != NULL && (resolved ||
	    envelope_settings(c, x->account, NULL, p->o->over,
	    p->o->at_terminal, &s, f) == 0) &&
	    secret_obtain(&s, &pw, p->o->verbose, f) == 0)
		se = sessions_add(open, &s, &pw, NULL, f);
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
	bool done;
	int removed = 0;

	memset(&rep, 0, sizeof(rep));
	if ((se = session_for_entry(p, x, &f)) == NULL) {
		if (interrupt_signal() == 0 && !status_setup(&f))
			return record(p, x, &f);	/* the message's own fault */
		/* A configuration problem is not the message's: no attempt. */
		fprintf(stderr, "smtpsend: %s: kept, not tried now: %s\n", x->id,
		    f.text);
		return true;
	}
	/* Removed (or updated) as soon as its own end of data is answered:
	 * a connection lost at the next one duplicates nothing. */
	session_send(se, &x->env, &x->msg, &rep, &f);
	/* Delivered to all: gone before the log line is written, so a run
	 * stopped while it logs (a slow disk, a full /dev/log) sends it no
	 * second time. */
	done = rep.delivered ? rep.deferred.n == 0 : !failed(&f);
	if (done)
		removed = outbox_remove_at(p->dirfd, x->id);
	submitlog_write(se->given, &x->env, message_size(&x->msg), &rep, &f,
	    false);
	/* The set-up's fault (535, no such host) waits for its fix. */
	if (failed(&f) && !rep.delivered && status_setup(&f))
		f.cause = CAUSE_TEMPORARY;
	if (rep.delivered && rep.deferred.n > 0) {
		/* Some got it; the entry goes on for the deferred ones only. */
		addrlist_free(&x->env.rcpts);
		x->env.rcpts = rep.deferred;
		f.cause = CAUSE_TEMPORARY;
		return record_partial(p, x, &f);
	}
	addrlist_free(&rep.deferred);
	if (!done)
		return record(p, x, &f);
	if (removed == -1)
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

/* -qI with the whole id: a person chose this entry. */
static bool
named(const struct options *o, const struct outbox_entry *x)
{
	return o->queue_select == 'I' && strcmp(o->queue_match, x->id) == 0;
}

/*
 * Only the entries of the configuration this run uses (CONTRACT 7): an
 * entry of another -C is counted, never sent through this one; one whose
 * -C file is gone or unsafe is left, with the reason, when it is named.
 */
static bool
for_this_configuration(struct pass *p, const struct outbox_entry *x)
{
	char why[4400];

	if (p->o->system_only && !outbox_entry_system_only(x)) {
		p->left++;	/* root's own, and root's file is broken */
		return false;
	}
	if (outbox_entry_for_config(x, p->config) &&
	    outbox_config_problem(x, why, sizeof(why)) == NULL)
		return true;
	p->other++;
	if (!named(p->o, x))
		return false;
	if (outbox_config_problem(x, why, sizeof(why)) != NULL)
		fprintf(stderr, "smtpsend: %s: not sent: %s; smtpsend --remove %s "
		    "forgets it\n", x->id, why, x->id);
	else
		fprintf(stderr, "smtpsend: %s: not sent: it was made with %s%s; "
		    "smtpsend -q%s%s -qI %s sends it\n", x->id, x->config ?
		    "-C " : "the default configuration files", x->config ?
		    x->config : "", x->config ? " -C " : "", x->config ?
		    x->config : "", x->id);
	p->left++;
	return false;
}

/* -qI with part of a permanent entry's id: said, never silently passed
 * over (only the whole id sends a copy kept for a person). */
static void
held(const struct pass *p, const struct outbox_entry *x)
{
	if (p->o->queue_select == 'I' && x->state == OUTBOX_PERMANENT &&
	    contains(x->id, p->o->queue_match))
		fprintf(stderr, "smtpsend: %s: kept for a person (permanent); "
		    "smtpsend -qI %s, with the whole id, sends it\n", x->id,
		    x->id);
}

/* Kept without an envelope or the arguments to make one (older entries):
 * a person's to look at. */
static bool
sendable(const struct pass *p, const struct outbox_entry *x)
{
	if ((x->env.sender != NULL && x->env.rcpts.n > 0) ||
	    (x->env.sender == NULL && x->args.present))
		return true;
	if (named(p->o, x))
		fprintf(stderr, "smtpsend: %s: cannot be sent: it was kept "
		    "without its envelope or its arguments; smtpsend --remove "
		    "%s forgets it\n", x->id, x->id);
	return false;
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
	if (p->o->queue_select == 'I' && contains(x.id, p->o->queue_match))
		p->named++;
	if (!for_this_configuration(p, &x))
		;	/* another configuration's */
	else if (!selected(p->o, &x))
		held(p, &x);
	else if (!sendable(p, &x))
		p->left += named(p->o, &x);
	/* Not due yet (with --due), or tried and failed again. */
	else if ((p->o->due && time(NULL) < outbox_next_try(&x)) ||
	    retry(p, &x))
		p->left++;
	outbox_entry_free(&x);
}

/* What a run adds up to, over its directories. */
struct totals {
	int	sent, left, other, named;
};

static int
queue_pass(const struct config *c, const struct options *o, int dirfd,
    const char *dir, char **only, size_t nonly, struct totals *t,
    struct failure *f)
{
	char config[4096];
	struct pass p = { c, o, dirfd, dir, geteuid(), outbox_config_path(
	    o->config_file, config, sizeof(config)), 0, 0, 0, 0,
	    SESSIONS_INIT(o->verbose), only, nonly, { 0 }, false,
	    SESSIONS_INIT(o->verbose) };
	char **ids;
	size_t n, i;

	if (outbox_ids_at(dirfd, true, &ids, &n, f) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		/* A signal stops the run; what is not tried is left. */
		if (only != NULL && bsearch(&ids[i], only, nonly,
		    sizeof(*only), outbox_compare_ids) == NULL)
			;	/* not among those asked for */
		else if (interrupt_signal() != 0)
			p.left++;
		else
			run_entry(&p, ids[i], f);
		free(ids[i]);
	}
	free(ids);
	sessions_end(&p.open);	/* QUIT */
	sessions_end(&p.sys_open);
	if (p.sys_loaded)
		config_free(&p.sys);
	t->sent += p.sent;
	t->left += p.left;
	t->other += p.other;
	t->named += p.named;
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

static void
free_ids(char **ids, size_t n)
{
	while (n > 0)
		free(ids[--n]);
	free(ids);
}

/* Send the entries of `after` that are not in `before` (both sorted):
 * what a pickup just brought. The number sent for. */
static int
pass_new(const struct config *c, const struct options *o, int dirfd,
    const char *dir, char **before, size_t nb, char **after, size_t na,
    struct totals *t, struct failure *f)
{
	char **fresh;
	size_t i, j = 0, n = 0;

	if ((fresh = calloc(na + 1, sizeof(*fresh))) == NULL)
		return 0;
	for (i = 0; i < na; i++) {
		while (j < nb && strcmp(before[j], after[i]) < 0)
			j++;
		if (j >= nb || strcmp(before[j], after[i]) != 0)
			fresh[n++] = after[i];
	}
	/* One pass, one connection an account, for all of them; as any
	 * run's, never a copy kept for a person (CONTRACT 6). */
	if (n > 0)
		queue_pass(c, o, dirfd, dir, fresh, n, t, f);
	free(fresh);
	return (int)n;
}

/*
 * Mail that lands in the maildrop while this run sends is picked up and
 * sent by this run: the trigger (a path unit) starts no second run while
 * one is active, and the next would be the timer's, minutes later. A few
 * rounds, each sending only what it picked up.
 */
#define LATE_ROUNDS	8

static void
pick_up_late(const struct config *c, const struct options *o, int dirfd,
    const char *dir, struct totals *t, struct failure *f)
{
	char **before, **after;
	size_t nb, na;
	int round, waiting, fresh = 1;

	for (round = 0; round < LATE_ROUNDS && fresh > 0 &&
	    interrupt_signal() == 0; round++) {
		if (outbox_ids_at(dirfd, false, &before, &nb, f) == -1)
			return;
		waiting = 0;
		pickup(dirfd, &waiting);
		if (outbox_ids_at(dirfd, false, &after, &na, f) == -1) {
			free_ids(before, nb);
			return;
		}
		fresh = pass_new(c, o, dirfd, dir, before, nb, after, na, t, f);
		free_ids(before, nb);
		free_ids(after, na);
	}
}

/* The user's outbox; as root, also the maildrop. */
static int
run_outbox(const struct config *c, const struct options *o, const char *dir,
    struct totals *t, struct failure *f)
{
	char why[512];
	int dirfd, r, waiting = 0;
	bool root = geteuid() == 0 && o->config_file == NULL;

	if (root) {
		/* Root's outbox is made here if the maildrop needs it. */
		if ((dirfd = outbox_dir_create(dir, why, sizeof(why))) != -1) {
			pickup(dirfd, &waiting);
			close(dirfd);
		} else
			fprintf(stderr, "smtpsend: the maildrop is not picked "
			    "up: %s\n", why);
	}
	t->left += waiting;
	if (failed(f))
		return -1;
	if ((dirfd = outbox_open_checked(dir, f)) == -1)
		return failed(f) ? -1 : 0;
	r = queue_pass(c, o, dirfd, dir, NULL, 0, t, f);
	/* Not when the system file keeps the maildrop waiting: it would
	 * again. Nor for -qI, -qR, -qS: a person chose what to send. */
	if (r == 0 && root && waiting == 0 && o->queue_select == '\0')
		pick_up_late(c, o, dirfd, dir, t, f);
	close(dirfd);
	return r;
}

/* A user's own entry of the maildrop, by its whole id: root's to send. */
static bool
in_maildrop(const char *id)
{
	struct failure ignored = { 0 };
	struct stat st;
	int fd;
	bool r;

	if (geteuid() == 0 || strchr(id, '/') != NULL || *id == '.' ||
	    (fd = maildrop_open(&ignored)) == -1)
		return false;
	r = fstatat(fd, id, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(st.st_mode) && st.st_uid == geteuid();
	close(fd);
	return r;
}

/* How the run ended: what is left, what other configurations hold, an
 * id that -qI named and nothing matched. */
static void
conclude(const struct options *o, const struct totals *t, const char *dir,
    struct failure *f)
{
	/* Not from the periodic runner (--due): cron would mail the line
	 * every five minutes. */
	if (t->other > 0 && (!o->due || chatty(o)))
		fprintf(stderr, "smtpsend: %d kept with other configurations: "
		    "smtpsend -bp\n", t->other);
	if (o->queue_select == 'I' && t->named == 0)
		fail(f, STAGE_NONE, CAUSE_USAGE, 0, "no entry %s in %s; "
		    "smtpsend -bp lists them", o->queue_match, dir);
	else if (t->left > 0)
		fail(f, STAGE_NONE, CAUSE_TEMPORARY, 0, "%d sent, %d message%s "
		    "left in %s; smtpsend -bp lists them", t->sent, t->left,
		    t->left == 1 ? "" : "s", dir);
	else if (chatty(o))
		fprintf(stderr, "smtpsend: %d sent, nothing left\n", t->sent);
}

/*
 * Root's own configuration is broken (its user file, say): the users' mail
 * still goes, picked up and sent with the system file alone as always;
 * root's own entries wait for the fix, which the exit status asks for.
 */
static void
system_mail_only(const struct options *o)
{
	struct options so = *o;
	struct failure ignored = { 0 };
	struct totals t = { 0, 0, 0, 0 };
	struct config c;
	const char *d;

	if (geteuid() != 0 || o->config_file != NULL ||
	    o->queue_select != '\0')
		return;
	if (config_load_system(&c, stderr, &ignored) == -1) {
		config_free(&c);
		return;
	}
	so.system_only = true;
	if ((d = queue_dir(&c, &so)) != NULL) {
		run_outbox(&c, &so, d, &t, &ignored);
		fprintf(stderr, "smtpsend: the system maildrop's mail sent with "
		    "%s alone: %d sent, %d left\n", config_system_path, t.sent,
		    t.left);
	}
	config_free(&c);
}

int
queue_run(const struct options *o, struct failure *f)
{
	struct totals t = { 0, 0, 0, 0 };
	struct config c;
	const char *d;
	char dir[4096] = "the outbox";

	/* Named by its id as stderr gave it: root's, whatever the user's
	 * configuration (which may not be readable at all). */
	if (o->queue_select == 'I' && in_maildrop(o->queue_match)) {
		fail(f, STAGE_NONE, CAUSE_TEMPORARY, 0, "%s waits in the system "
		    "maildrop: root's smtpsend -q sends it", o->queue_match);
		return -1;
	}
	if (config_load(&c, o->config_file, stderr, f) == -1) {
		config_free(&c);	/* what was read before the error */
		system_mail_only(o);
		return -1;
	}
	if ((d = queue_dir(&c, o)) != NULL) {
		strlcpy(dir, d, sizeof(dir));
		run_outbox(&c, o, dir, &t, f);
	}
	config_free(&c);
	if (failed(f))
		return -1;
	conclude(o, &t, dir, f);
	return failed(f) ? -1 : 0;
}

/*
 * The outbox to list: the account's (-a) if the configuration can be read,
 * else the default one. Monitoring runs mailq as its own user, who may not
 * read root's 0600 file: listing needs no configuration (CONTRACT 7).
 */
static const char *
list_dir_of(const struct options *o, char *dst, size_t size)
{
	struct failure ignored = { 0 };
	struct config c;
	const char *d;
	char *text = NULL;
	size_t len = 0;
	FILE *errs = open_memstream(&text, &len);

	memset(&c, 0, sizeof(c));
	if (errs != NULL && config_load(&c, o->config_file, errs, &ignored)
	    == 0)
		d = queue_dir(&c, o);
	else
		d = outbox_dir(NULL);
	if (d != NULL)
		strlcpy(dst, d, size);
	if (errs != NULL)
		fclose(errs);
	free(text);
	config_free(&c);
	return d != NULL ? dst : NULL;
}

int
queue_list(const struct options *o, struct failure *f)
{
	char dir[4096], config[4096];
	int fds[2], n = 0, r;

	if (list_dir_of(o, dir, sizeof(dir)) != NULL &&
	    (fds[n] = outbox_open_checked(dir, f)) != -1)
		n++;
	/* What waits in the maildrop: root sees all of it, a user the
	 * user's own entries. */
	if (!failed(f)) {
		struct failure md = { 0 };

		if ((fds[n] = maildrop_open(&md)) != -1)
			n++;
		else if (failed(&md) && geteuid() == 0)
			fprintf(stderr, "smtpsend: %s\n", md.text);
	}
	r = failed(f) ? -1 : outbox_list_at(fds, n, outbox_config_path(
	    o->config_file, config, sizeof(config)), o->json, stdout, f);
	while (n > 0)
		close(fds[--n]);
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

	if (config_load(&c, o->config_file, stderr, f) == -1) {
		config_free(&c);
		return -1;
	}
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
