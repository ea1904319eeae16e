#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compose.h"
#include "config.h"
#include "envelope.h"
#include "interrupt.h"
#include "maildrop.h"
#include "message.h"
#include "oauth2.h"
#include "outbox.h"
#include "pretend.h"
#include "run.h"
#include "secret.h"
#include "session.h"
#include "sessions.h"
#include "submitlog.h"

/* Everything one submission holds, freed in one place. */
struct job {
	struct config	 cfg;
	bool		 cfg_ok;
	struct message	 msg;
	bool		 msg_read;	/* the whole message is in hand */
	struct envelope	 env;
	bool		 env_ok;
	struct settings	 set;
	bool		 set_ok;
	bool		 built;		/* the envelope was attempted */
	char		 kept_id[64];	/* deferred and kept as this id */
	char		*hint;
	struct buf	 password;
};

static void
job_free(struct job *j)
{
	config_free(&j->cfg);
	message_free(&j->msg);
	envelope_free(&j->env);
	free(j->hint);
	buf_free_secret(&j->password);
}

/*
 * A bad argument or a broken configuration still lets the message be read
 * and kept (cron's mail must not be lost to a typo), unless a person typed
 * it at a terminal.
 */
static int
read_message(struct job *j, const struct options *o, int fd,
    struct failure *f)
{
	struct failure early = *f;

	if (failed(&early) && isatty(fd))
		return -1;
	memset(f, 0, sizeof(*f));
	if (o->compose)
		compose_message(o, fd, &j->msg, f);
	else
		message_read_fd(&j->msg, fd, o->dot_is_data, f);
	j->msg_read = j->msg.complete;
	if (failed(&early))
		*f = early;
	return failed(f) ? -1 : 0;
}

/* Configuration, message, account, settings, envelope: all before a
 * connection is made. */
static int
prepare(struct job *j, const struct options *o, int fd, struct failure *f)
{
	struct failure later = { 0 }, cf = { 0 };
	const struct account *a;

	/* The configuration even after a bad argument: it names the outbox
	 * (or turns it off) where the message is kept. */
	envelope_check_args(o, f);
	if (config_load(&j->cfg, o->config_file, stderr, &cf) == 0)
		j->cfg_ok = true;
	else if (!failed(f))
		*f = cf;
	if (read_message(j, o, fd, f) == -1 && !j->msg_read)
		return -1;
	/* From here on the whole message is in hand. The settings are
	 * resolved even after bad input: they say where the outbox is. */
	if (j->cfg_ok && envelope_sender_hint(o, &j->msg, &j->hint, &later) ==
	    0 && envelope_account(&j->cfg, o->account, j->hint, &a, &later) ==
	    0 && settings_resolve(&j->set, a, o->over, &later) == 0) {
		j->set_ok = true;	/* enough to know where the outbox is */
		config_check_origins(a, o->over, o->at_terminal, &later);
	}
	if (!failed(f))
		*f = later;
	if (failed(f))
		return -1;
	j->built = true;
	if (envelope_build(&j->env, o, &j->set, &j->msg, j->hint, f) == -1)
		return -1;
	j->env_ok = true;
	return 0;
}

/* Called as sendmail, a kept message is "accepted" (CONTRACT 6). */
static bool
deferred_is_success(const struct job *j, const struct options *o)
{
	if (j->set_ok && j->set.deferred_status != -1)
		return j->set.deferred_status == 0;
	return o->as_sendmail;
}

/*
 * A user who cannot send for themselves (the configuration with the
 * credentials is root's, or no outbox can be written) leaves the message
 * in the system maildrop for root's -q.
 */
static int
drop(struct job *j, const struct options *o, const struct failure *f,
    struct kept *k)
{
	struct envelope raw;
	int r;

	const char *account = j->set_ok ? j->set.account : o->account;

	if (j->env_ok)
		return maildrop_save(account, &j->env, &j->msg, f, k);
	if (envelope_collect_raw(&raw, o, &j->msg, j->hint,
	    &(struct failure){ 0 }) == -1) {
		envelope_free(&raw);
		snprintf(k->note, sizeof(k->note), "message NOT saved: its "
		    "recipients are not valid");
		return -1;
	}
	r = maildrop_save(account, &raw, &j->msg, f, k);
	envelope_free(&raw);
	return r;
}

static int
save(struct job *j, const struct options *o, const struct failure *why,
    struct kept *k, bool *dropped)
{
	const char *dir = outbox_dir(j->set_ok ? &j->set : NULL);
	char first[2048];

	*dropped = false;
	if (geteuid() != 0 && j->cfg.system_unreadable && !j->set_ok) {
		*dropped = true;
		return drop(j, o, why, k);
	}
	if (outbox_save(dir, j->set_ok ? j->set.account : o->account,
	    j->env_ok ? &j->env : NULL, o->recipients, o->nrecipients,
	    &j->msg, why, k) == 0)
		return 0;
	/* No outbox of one's own (www-data's home): the maildrop. Not when
	 * it is off by choice, nor for root, whose outbox is the spool. */
	if (dir == NULL || geteuid() == 0 || !status_temporary(why))
		return -1;
	strlcpy(first, k->note, sizeof(first));
	if (drop(j, o, why, k) == 0) {
		*dropped = true;
		return 0;
	}
	strlcat(k->note, " (and ", sizeof(k->note));
	strlcat(k->note, first, sizeof(k->note));
	strlcat(k->note, ")", sizeof(k->note));
	return -1;
}

/* Ctrl-C at a terminal: a person cancelled, nothing is sent on its own. */
static bool
cancelled(const struct options *o)
{
	return interrupt_signal() == SIGINT && o->at_terminal;
}

/* What happens to a kept message next, said where it was kept. */
static void
next_step(struct failure *f, const struct options *o, const struct kept *k,
    bool dropped, bool temporary)
{
	char tail[256];

	if (dropped)
		return;
	if (cancelled(o))
		snprintf(tail, sizeof(tail), "; not sent on its own: smtpsend "
		    "-qI %s sends it, smtpsend --remove %s forgets it", k->id,
		    k->id);
	else if (temporary)
		snprintf(tail, sizeof(tail), "; smtpsend -q sends it%s%s",
		    o->at_terminal ? ", smtpsend --remove " : "",
		    o->at_terminal ? k->id : "");
	else
		snprintf(tail, sizeof(tail), "; kept for you, never sent on its "
		    "own%s%s", o->at_terminal ? ": smtpsend --remove " : "",
		    o->at_terminal ? k->id : "");
	strlcat(f->text, tail, sizeof(f->text));
	if (o->at_terminal && temporary && !cancelled(o))
		strlcat(f->text, " forgets it", sizeof(f->text));
}

/* Nothing is lost: a message read in full that was not submitted is kept. */
static void
keep(struct job *j, const struct options *o, struct failure *f)
{
	struct failure why = *f;
	char text[sizeof(f->text)];
	struct kept k;
	bool dropped, temporary;
	int r;

	if (!j->msg_read || (f->cause == CAUSE_USAGE && !j->built))
		return;
	if (cancelled(o))
		why.cause = CAUSE_UNAVAILABLE;	/* kept as permanent */
	else if (j->cfg.system_unreadable && !j->set_ok && geteuid() != 0)
		why.cause = f->cause = CAUSE_TEMPORARY;	/* root sends it */
	r = save(j, o, &why, &k, &dropped);
	temporary = status_temporary(&why);
	strlcpy(text, f->text, sizeof(text));
	/* Still one line: what failed, where the message is, what next. */
	f->text[0] = '\0';
	if (r == 0 && temporary) {
		f->queued = deferred_is_success(j, o);
		strlcpy(f->text, "deferred: ", sizeof(f->text));
		strlcpy(j->kept_id, k.id, sizeof(j->kept_id));
	}
	strlcat(f->text, text, sizeof(f->text));
	strlcat(f->text, "; ", sizeof(f->text));
	strlcat(f->text, k.note, sizeof(f->text));
	if (r == 0)
		next_step(f, o, &k, dropped, temporary);
}

/* A signal that came before any connection: nothing is sent. */
static bool
stopped(struct failure *f)
{
	int sig = interrupt_signal();

	if (sig == 0)
		return false;
	fail(f, STAGE_NONE, CAUSE_TEMPORARY, 0, "interrupted by signal %d "
	    "(%s) before the end of data: nothing was delivered", sig,
	    strsignal(sig));
	return true;
}

/* Delivered to some recipients; those refused with 4xx are kept. */
static void
keep_deferred(struct job *j, const struct addrlist *deferred,
    struct failure *f)
{
	struct envelope partial = j->env;
	struct failure why = *f;
	struct kept k;

	partial.rcpts = *deferred;
	why.cause = CAUSE_TEMPORARY;	/* kept for -q to retry */
	outbox_save(outbox_dir(&j->set), j->set.account, &partial, NULL, 0,
	    &j->msg, &why, &k);
	strlcat(f->text, "; for the deferred recipients: ", sizeof(f->text));
	strlcat(f->text, k.note, sizeof(f->text));
}

/* -v: which files and account this run uses. */
static void
say_configuration(const struct job *j, const struct options *o)
{
	if (o->verbose == 0)
		return;
	fprintf(stderr, "smtpsend: configuration: %s%s, %s%s; account %s\n",
	    j->cfg.files[0] ? j->cfg.files[0] : config_system_path,
	    access(j->cfg.files[0] ? j->cfg.files[0] : config_system_path,
	    F_OK) == 0 ? "" : " (absent)", j->cfg.files[1] ? j->cfg.files[1] :
	    "(no user file)", j->cfg.files[1] && access(j->cfg.files[1],
	    F_OK) != 0 ? " (absent)" : "", j->set_ok && j->set.account ?
	    j->set.account : "(defaults)");
}

int
run_submit(const struct options *o, int fd, struct failure *f)
{
	struct session_report rep;

	return run_message(o, fd, NULL, &rep, f);
}

/*
 * Over the connection this account already has in the pool (-bs), else
 * a new one; alone when there is no pool.
 */
static void
submit(struct job *j, const struct options *o, struct sessions *pool,
    struct session_report *rep, struct failure *f)
{
	struct session *se = pool ? sessions_find(pool, j->set.account) : NULL;

	if (se == NULL && secret_obtain(&j->set, &j->password, o->verbose, f)
	    == -1) {
		stopped(f);	/* a signal, not the configuration, stopped it */
		return;
	}
	if (stopped(f))
		return;
	if (pool == NULL) {
		session_submit(&j->set, j->password.data, &j->env, &j->msg,
		    o->verbose, rep, f);
		return;
	}
	/* The pool keeps the configuration the settings point into. */
	if (se == NULL && (se = sessions_add(pool, &j->set, &j->password,
	    &j->cfg, f)) == NULL)
		return;
	session_send(se, &j->env, &j->msg, rep, f);
}

int
run_message(const struct options *o, int fd, struct sessions *pool,
    struct session_report *out, struct failure *f)
{
	struct session_report rep;
	struct job j;

	memset(&j, 0, sizeof(j));
	memset(&rep, 0, sizeof(rep));
	message_init(&j.msg);
	if (prepare(&j, o, fd, f) == -1)
		goto out;
	if (o->mode == MODE_PRETEND) {
		if (pretend_print(stdout, &j.set, &j.env, &j.msg) == -1)
			fail_errno(f, CAUSE_IOERR, "writing to stdout");
		goto out;
	}
	say_configuration(&j, o);
	submit(&j, o, pool, &rep, f);
	submitlog_write(&j.set, &j.env, message_size(&j.msg), &rep, f);
out:
	/* Partial delivery: delivered, though some recipients refused. */
	if (failed(f) && !rep.delivered && o->mode != MODE_PRETEND)
		keep(&j, o, f);
	else if (failed(f) && rep.deferred.n > 0)
		keep_deferred(&j, &rep.deferred, f);
	addrlist_free(&rep.deferred);
	strlcpy(rep.queued_id, j.kept_id, sizeof(rep.queued_id));
	*out = rep;
	job_free(&j);
	return failed(f) ? -1 : 0;
}

void
run_version(void)
{
	char user[4096];
	const char *box = outbox_dir(NULL);

	if (config_user_path(user, sizeof(user)) == -1)
		strlcpy(user, "(no home directory)", sizeof(user));
	printf("smtpsend %s\n"
	    "configuration: %s, then %s (or -C FILE)\n"
	    "outbox: %s\n"
	    "maildrop: " MAILDROP_DIR "\n"
	    "libraries: %s\n", SMTPSEND_VERSION, config_system_path, user,
	    box != NULL ? box : "(none)", session_library());
}


int
run_serverinfo(const struct options *o, struct failure *f)
{
	const struct account *a;
	struct settings s;
	struct config c;
	int r = -1;

	if (config_load(&c, o->config_file, stderr, f) == 0 &&
	    envelope_account(&c, o->account, NULL, &a, f) == 0 &&
	    settings_resolve(&s, a, o->over, f) == 0)
		r = session_serverinfo(&s, o->verbose, stdout, f);
	config_free(&c);
	return r;
}

int
run_authorize(const struct options *o, struct failure *f)
{
	const struct account *a;
	struct settings s;
	struct config c;
	int r = -1;

	if (!isatty(STDIN_FILENO) || !isatty(STDERR_FILENO)) {
		fail(f, STAGE_NONE, CAUSE_USAGE, 0, "--authorize needs a person "
		    "at a terminal");
		return -1;
	}
	if (config_load(&c, o->config_file, stderr, f) == 0 &&
	    envelope_account(&c, o->account, NULL, &a, f) == 0 &&
	    settings_resolve(&s, a, o->over, f) == 0)
		r = oauth2_authorize(&s, stdin, stderr, f);
	config_free(&c);
	return r;
}
