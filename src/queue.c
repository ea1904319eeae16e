#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "interrupt.h"
#include "outbox.h"
#include "queue.h"
#include "secret.h"
#include "session.h"
#include "submitlog.h"

#define BACKOFF_FIRST	300		/* 5 minutes, doubling */
#define BACKOFF_MAX	(4 * 3600)

long
queue_backoff(int attempts)
{
	long wait = BACKOFF_FIRST;

	if (attempts <= 0)
		return 0;
	while (--attempts > 0 && wait < BACKOFF_MAX)
		wait *= 2;
	return wait < BACKOFF_MAX ? wait : BACKOFF_MAX;
}

/* Settings for an account name (NULL: the default one). */
static int
settings_for(const struct config *c, const char *name,
    const struct options *o, struct settings *s, struct failure *f)
{
	const struct account *a;

	if (envelope_account(c, name, NULL, &a, f) == -1)
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

/* One attempt at one entry; true when it is still to be delivered. */
static bool
retry(const char *dir, struct outbox_entry *x, const struct config *c,
    const struct options *o)
{
	struct failure f = { 0 };
	struct session_report rep;
	struct settings s;
	struct buf pw = BUF_INIT;

	memset(&rep, 0, sizeof(rep));
	if (settings_for(c, x->account, o, &s, &f) == -1 ||
	    secret_obtain(&s, &pw, &f) == -1) {
		/* A configuration problem is not the message's: no attempt. */
		fprintf(stderr, "smtpsend: %s: not retried: %s\n", x->id, f.text);
		return true;
	}
	session_submit(&s, pw.data, &x->env, &x->msg, o->verbose, &rep, &f);
	buf_free_secret(&pw);
	submitlog_write(&s, &x->env, message_size(&x->msg), &rep, &f);
	if (rep.delivered && rep.deferred.n > 0) {
		/* Some got it; the entry goes on for the deferred ones. */
		addrlist_free(&x->env.rcpts);
		x->env.rcpts = rep.deferred;
		f.cause = CAUSE_TEMPORARY;
		fprintf(stderr, "smtpsend: %s: %s\n", x->id, f.text);
		if (outbox_update(dir, x, &f) == -1)
			fprintf(stderr, "smtpsend: %s: could not record the "
			    "attempt\n", x->id);
		return true;
	}
	addrlist_free(&rep.deferred);
	if (!failed(&f) || rep.delivered) {
		if (outbox_remove(dir, x) == -1)
			fprintf(stderr, "smtpsend: %s delivered, but could not be "
			    "removed from %s\n", x->id, dir);
		else if (o->verbose)
			fprintf(stderr, "smtpsend: %s delivered\n", x->id);
		return false;
	}
	fprintf(stderr, "smtpsend: %s: %s\n", x->id, f.text);
	if (outbox_update(dir, x, &f) == -1)
		fprintf(stderr, "smtpsend: %s: could not record the attempt\n",
		    x->id);
	return x->state != OUTBOX_PERMANENT;
}

/* Load, skip what is not due, try the rest; counts what is left. */
static void
run_entry(const char *dir, const char *id, const struct config *c,
    const struct options *o, int *left, struct failure *f)
{
	struct outbox_entry x;
	int r = outbox_load(dir, id, &x, f);

	if (r == 1)
		return;		/* another -q has it, or it is gone */
	if (r == -1) {
		/* Damaged: a person must look at it; the exit status says so. */
		fprintf(stderr, "smtpsend: %s\n", f->text);
		memset(f, 0, sizeof(*f));
		(*left)++;
	} else if (x.state == OUTBOX_PERMANENT)
		;		/* kept for a person to look at */
	else if (time(NULL) - x.last_attempt < queue_backoff(x.attempts) ||
	    retry(dir, &x, c, o))
		(*left)++;		/* not due yet, or failed again */
	outbox_entry_free(&x);
}

int
queue_run(const struct options *o, struct failure *f)
{
	struct config c;
	const char *d;
	char **ids, dir[4096];
	size_t n, i;
	int left = 0;

	if (config_load(&c, o->config_file, stderr, f) == -1)
		return -1;
	if ((d = queue_dir(&c, o)) == NULL) {
		config_free(&c);
		return 0;
	}
	strlcpy(dir, d, sizeof(dir));
	if (outbox_ids(dir, &ids, &n, f) == 0) {
		for (i = 0; i < n; i++) {
			/* A signal stops the run; what is not tried is left. */
			if (interrupt_signal() != 0)
				left++;
			else
				run_entry(dir, ids[i], &c, o, &left, f);
			free(ids[i]);
		}
		free(ids);
	}
	config_free(&c);
	if (!failed(f) && left > 0)
		fail(f, STAGE_NONE, CAUSE_TEMPORARY, 0, "%d message%s left in "
		    "the outbox %s for later", left, left == 1 ? "" : "s", dir);
	return failed(f) ? -1 : 0;
}

int
queue_list(const struct options *o, struct failure *f)
{
	struct config c;
	int r;

	if (config_load(&c, o->config_file, stderr, f) == -1)
		return -1;
	r = outbox_list(queue_dir(&c, o), stdout, f);
	config_free(&c);
	return r;
}
