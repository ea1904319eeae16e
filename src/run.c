/* SPDX-License-Identifier: ISC */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
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
	/* Compose at a terminal with nothing read from a pipe: after a
	 * usage, configuration or address error the person types the
	 * command again, so nothing is kept (CONTRACT section 9). */
	bool		 retypable;
	char		 kept_id[64];	/* deferred and kept as this id */
	char		 config[4096];	/* -C as an absolute path */
	char		 config_errors[1024];	/* each FILE:LINE: error */
	bool		 logged;	/* submitlog_write has seen it */
	bool		 partial;	/* kept for the deferred recipients */
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
	else {
		if (isatty(fd) && isatty(STDERR_FILENO))
			fputs("smtpsend: type the message, end with Ctrl-D\n",
			    stderr);
		message_read_fd(&j->msg, fd, o->dot_is_data, f);
	}
	j->msg_read = j->msg.complete;
	if (failed(&early))
		*f = early;
	return failed(f) ? -1 : 0;
}

/* The lines that are errors (not warnings), joined: what the entry keeps
 * and -bp shows, rather than "1 error in the configuration". */
static void
error_lines(char *text, char *joined, size_t size)
{
	char *line, *next;

	for (line = text; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (strncmp(line, "smtpsend: ", 10) == 0)
			line += 10;
		if (strstr(line, ": warning: ") != NULL)
			continue;
		if (*joined != '\0')
			strlcat(joined, "; ", size);
		strlcat(joined, line, size);
	}
}

/* The configuration; its errors on stderr as ever, and kept whole for
 * the entry. */
static int
load_config(struct job *j, const struct options *o, struct failure *f)
{
	char *text = NULL;
	size_t len = 0;
	FILE *errs = open_memstream(&text, &len);
	int r = config_load(&j->cfg, o->config_file, errs ? errs : stderr, f);

	outbox_config_path(o->config_file, j->config, sizeof(j->config));
	if (errs == NULL)
		return r;
	fclose(errs);
	if (text != NULL)
		fputs(text, stderr);
	if (r == -1 && f->cause == CAUSE_CONFIG && text != NULL)
		error_lines(text, j->config_errors, sizeof(j->config_errors));
	free(text);
	return r;
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
	if (load_config(j, o, &cf) == 0)
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

/* A program, not a person: the sendmail name or deferred_status 0. */
static bool
calling_program(const struct job *j, const struct options *o)
{
	return o->as_sendmail || deferred_is_success(j, o);
}

/* Who made the message and with what, for the entry. */
static struct outbox_origin
origin(const struct job *j, const struct options *o)
{
	struct outbox_origin from = { j->set_ok ? j->set.account : o->account,
	    o->config_file != NULL ? j->config : NULL, o, NULL };

	return from;
}

/*
 * A user who cannot send for themselves (the configuration with the
 * credentials is root's, or no outbox can be written) leaves the message
 * in the system maildrop for root's -q, which resolves it with the system
 * file whatever the user's configuration said.
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
	if (j->hint == NULL)
		envelope_sender_hint(o, &j->msg, &j->hint,
		    &(struct failure){ 0 });
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

/* `outbox off` is a choice: then nothing is kept anywhere. */
static bool
outbox_off(const struct job *j)
{
	return j->set_ok && j->set.outbox != NULL &&
	    strcmp(j->set.outbox, "off") == 0;
}

/* The user's outbox, else the maildrop (CONTRACT 7: whatever failed). */
static int
save(struct job *j, const struct options *o, const struct failure *why,
    struct kept *k, bool *dropped)
{
	const char *dir = outbox_dir(j->set_ok ? &j->set : NULL);
	struct outbox_origin from = origin(j, o);
	char first[2048];

	*dropped = false;
	if (geteuid() != 0 && j->cfg.system_unreadable && !j->set_ok) {
		*dropped = true;
		return drop(j, o, why, k);
	}
	if (outbox_save(dir, &from, j->env_ok ? &j->env : NULL, &j->msg, why,
	    k) == 0)
		return 0;
	/* No outbox of one's own (www-data's home): the maildrop. Not when
	 * it is off by choice, nor for root, whose outbox is the spool. */
	if (outbox_off(j) || geteuid() == 0)
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

/* A failure of the set-up, for a calling program: deferred, not the
 * message's own failure (CONTRACT 6). */
static bool
setup_deferral(const struct job *j, const struct options *o,
    const struct failure *f)
{
	return !cancelled(o) && status_setup(f) && calling_program(j, o);
}

/* What happens to a kept message next, said where it was kept; `brief`:
 * the line said "kept as ID" just before, so no second "kept". */
static void
next_step(struct failure *f, const struct options *o, const struct job *j,
    const struct kept *k, bool temporary, const char *fix, bool brief)
{
	char tail[4600], q[4200], c[4120];

	/* The entry goes with its -C (CONTRACT 7): so does the command. */
	snprintf(c, sizeof(c), "%s%s", o->config_file ? " -C " : "",
	    o->config_file ? j->config : "");
	snprintf(q, sizeof(q), "smtpsend -q%s", c);
	if (cancelled(o))
		snprintf(tail, sizeof(tail), "; not sent on its own: smtpsend%s "
		    "-qI %s sends it, smtpsend --remove %s forgets it", c, k->id,
		    k->id);
	else if (temporary)
		snprintf(tail, sizeof(tail), "; %s%s%s sends it%s%s%s", fix,
		    *fix ? ", then " : "", q, o->at_terminal ?
		    ", smtpsend --remove " : "", o->at_terminal ? k->id : "",
		    o->at_terminal ? " forgets it" : "");
	else
		snprintf(tail, sizeof(tail), "%s, never sent on its "
		    "own: %s%s%s -qI %s sends it%s%s%s", brief ? " for you" :
		    "; kept for you", *fix ? fix : "",
		    *fix ? ", then smtpsend" : "smtpsend", c, k->id,
		    o->at_terminal ? ", smtpsend --remove " : "",
		    o->at_terminal ? k->id : "",
		    o->at_terminal ? " forgets it" : "");
	strlcat(f->text, tail, sizeof(f->text));
}

/*
 * Syslog's copy of the line on stderr, whole (CONTRACT 6 and 10): every
 * deferral, with where the message waits and what sends it, and any
 * failure the log line did not report (met before any attempt: the
 * configuration, the input), so that none is only on a stderr nobody
 * reads. LOG_ERR when a person must act: a failure that is not temporary,
 * a failure of the set-up, whose fix the line names, a revoked OAuth2
 * grant; even when the configuration (and its syslog setting) could not
 * be read. Not for a person who cancelled at a terminal.
 */
static void
log_kept(const struct job *j, const struct options *o, bool temporary,
    bool act, const char *line)
{
	int facility = j->set_ok ? j->set.syslog_facility : LOG_MAIL;

	if (facility < 0 || cancelled(o) || (!temporary && j->logged))
		return;
	openlog("smtpsend", LOG_PID, facility);
	syslog(act || !temporary ? LOG_ERR : LOG_WARNING, "%s", line);
	closelog();
}

/* In the maildrop: for a user who cannot read root's file, the normal
 * path, said calmly; else what failed, and where the message waits. */
static void
say_dropped(struct failure *f, const char *text, const struct kept *k,
    bool normal, bool temporary, const char *fix)
{
	if (normal) {
		snprintf(f->text, sizeof(f->text), "queued in the system "
		    "maildrop as %s; it is sent shortly", k->id);
		return;
	}
	strlcpy(f->text, temporary ? "deferred: " : "", sizeof(f->text));
	strlcat(f->text, text, sizeof(f->text));
	strlcat(f->text, temporary ? "; queued in the system maildrop as " :
	    "; kept in the system maildrop as ", sizeof(f->text));
	strlcat(f->text, k->id, sizeof(f->text));
	if (temporary && *fix != '\0') {	/* the set-up's: root must act */
		strlcat(f->text, "; ", sizeof(f->text));
		strlcat(f->text, fix, sizeof(f->text));
		strlcat(f->text, ", then", sizeof(f->text));
	} else if (temporary)
		strlcat(f->text, ";", sizeof(f->text));
	strlcat(f->text, temporary ? " root's smtpsend -q sends it" :
	    "; for root, never sent on its own", sizeof(f->text));
}

/*
 * Still one line: what failed, the library's words (`detail`, "" for
 * none), where the message is; `brief`: the id alone (-bp shows where
 * and why).
 */
static void
say_kept(char *out, size_t size, const char *text, const char *detail,
    const struct kept *k, bool deferred, bool brief)
{
	bool words = *detail != '\0';

	snprintf(out, size, "%s%s%s%s%s; ", deferred ? "deferred: " : "",
	    text, words ? " (" : "", detail, words ? ")" : "");
	if (brief) {
		strlcat(out, "kept as ", size);
		strlcat(out, k->id, size);
	} else
		strlcat(out, k->note, size);
}

/* Some recipients got it: the words say who the kept copy is for. */
static void
for_deferred(char *text, size_t size, struct kept *k, bool dropped)
{
	char note[sizeof(k->note)];

	if (dropped) {
		strlcat(text, "; for the deferred recipients", size);
		return;
	}
	strlcpy(note, "for the deferred recipients: ", sizeof(note));
	strlcat(note, k->note, sizeof(note));
	strlcpy(k->note, note, sizeof(k->note));
}

/*
 * Nothing is lost: a message read in full that was not submitted is kept.
 * A failure of the set-up defers it for a calling program (CONTRACT 6):
 * temporary, sent by -q once a person has fixed the set-up.
 */
static void
keep(struct job *j, const struct options *o, struct failure *f)
{
	struct failure why = *f, whole;
	char text[sizeof(f->text)], detail[sizeof(f->detail)];
	const char *fix = status_setup_fix(f);
	struct kept k;
	bool dropped, temporary, act, brief, whole_err;
	bool setup = false, normal = false;
	int r;

	if (!j->msg_read || (f->cause == CAUSE_USAGE && !j->built))
		return;
	if (j->retypable && (f->cause == CAUSE_USAGE || f->cause ==
	    CAUSE_CONFIG || f->cause == CAUSE_DATAERR))
		return;
	if (cancelled(o))
		why.cause = CAUSE_UNAVAILABLE;	/* kept as permanent */
	else if (j->partial)
		why.cause = CAUSE_TEMPORARY;	/* those refused with 4xx */
	else if (j->cfg.system_unreadable && !j->set_ok && geteuid() != 0)
		normal = true;			/* root sends it */
	else if (setup_deferral(j, o, f))
		setup = true;
	if (normal || setup)
		why.cause = f->cause = CAUSE_TEMPORARY;
	if (!j->cfg_ok && *j->config_errors != '\0')
		strlcpy(why.text, j->config_errors, sizeof(why.text));
	r = save(j, o, &why, &k, &dropped);
	temporary = status_temporary(&why);
	strlcpy(text, f->text, sizeof(text));
	f->text[0] = '\0';
	if (j->partial)
		for_deferred(text, sizeof(text), &k, dropped);
	if (r == 0 && temporary) {
		f->queued = deferred_is_success(j, o);
		strlcpy(j->kept_id, k.id, sizeof(j->kept_id));
	}
	act = setup || *fix != '\0' || why.act;
	if (r == 0 && dropped) {
		say_dropped(f, text, &k, normal, temporary, fix);
		if (!normal) {
			whole = why;
			say_dropped(&whole, why.text, &k, false, temporary,
			    fix);
			log_kept(j, o, temporary, act, whole.text);
		}
		return;
	}
	strlcpy(detail, f->detail, sizeof(detail));
	f->detail[0] = '\0';
	/* At a terminal the id is enough and the library's words are left
	 * out (CONTRACT 9); -v and a program get them. */
	whole_err = o->verbose || !isatty(STDERR_FILENO);
	brief = r == 0 && k.id[0] != '\0' && !whole_err && !j->partial;
	say_kept(f->text, sizeof(f->text), text, whole_err ? detail : "", &k,
	    r == 0 && temporary, brief);
	if (r == 0)
		next_step(f, o, j, &k, temporary, fix, brief);
	/* Syslog has no stderr above it: the configuration's own errors
	 * rather than their count, the library's words, the full place. */
	whole = why;
	say_kept(whole.text, sizeof(whole.text), why.text, detail, &k, r == 0 &&
	    temporary, false);
	if (r == 0)
		next_step(&whole, o, j, &k, temporary, fix, false);
	log_kept(j, o, temporary, act, whole.text);
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

/*
 * Delivered to some recipients; those refused with 4xx are kept as any
 * deferred message is, in the outbox or else the maildrop (CONTRACT 7),
 * with only their addresses; the exit and the line follow from that.
 */
static void
keep_deferred(struct job *j, const struct options *o,
    const struct addrlist *deferred, struct failure *f)
{
	struct addrlist all = j->env.rcpts;

	j->env.rcpts = *deferred;
	j->partial = true;
	keep(j, o, f);
	j->env.rcpts = all;
}

/* -v: which files and account this run uses. */
static void
say_configuration(const struct config *c, const char *account,
    const struct options *o)
{
	if (o->verbose == 0)
		return;
	fprintf(stderr, "smtpsend: configuration: %s%s, %s%s; account %s\n",
	    c->files[0] ? c->files[0] : config_system_path,
	    access(c->files[0] ? c->files[0] : config_system_path,
	    F_OK) == 0 ? "" : " (absent)", c->files[1] ? c->files[1] :
	    "(no user file)", c->files[1] && access(c->files[1],
	    F_OK) != 0 ? " (absent)" : "", account ? account : "(defaults)");
}

/* The arrow where the terminal can show it. */
static const char *
arrow(void)
{
	const char *v = getenv("LC_ALL");

	if (v == NULL || *v == '\0')
		v = getenv("LC_CTYPE");
	if (v == NULL || *v == '\0')
		v = getenv("LANG");
	return v != NULL && (strcasestr(v, "UTF-8") != NULL ||
	    strcasestr(v, "utf8") != NULL) ? "\u2192" : "->";
}

/* Compose at a terminal: what bare names became ("bob → bob@x"). */
static void
say_mapping(const struct job *j, const struct options *o)
{
	const char *line, *tab, *nl;

	if (!o->compose || !isatty(STDERR_FILENO) || j->env.shown.len == 0)
		return;
	for (line = j->env.shown.data; (tab = strchr(line, '\t')) != NULL &&
	    (nl = strchr(tab, '\n')) != NULL; line = nl + 1)
		fprintf(stderr, "smtpsend: %.*s %s %.*s\n", (int)(tab - line),
		    line, arrow(), (int)(nl - tab - 1), tab + 1);
}

/* Compose at a terminal: one line when it went (CONTRACT section 9). */
static void
say_sent(const struct job *j, const struct options *o,
    const struct session_report *rep)
{
	const struct addrlist *l = &j->env.rcpts;
	size_t i, shown = l->n > 3 ? 3 : l->n;

	if (!o->compose || !isatty(STDERR_FILENO))
		return;
	fputs("smtpsend: sent to ", stderr);
	for (i = 0; i < shown; i++)
		fprintf(stderr, "%s%s", i ? ", " : "", l->v[i].spec);
	if (l->n > shown)
		fprintf(stderr, " and %zu more", l->n - shown);
	fprintf(stderr, " via %s: %d %.200s\n", rep->host, rep->code,
	    rep->text);
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
	j.retypable = o->compose && o->at_terminal && (o->body != NULL ||
	    isatty(fd));
	if (prepare(&j, o, fd, f) == -1)
		goto out;
	if (o->mode == MODE_PRETEND) {
		if (pretend_print(stdout, &j.set, &j.env, &j.msg) == -1)
			fail_errno(f, CAUSE_IOERR, "writing to stdout");
		goto out;
	}
	say_configuration(&j.cfg, j.set_ok ? j.set.account : NULL, o);
	say_mapping(&j, o);
	submit(&j, o, pool, &rep, f);
	if (!failed(f))
		say_sent(&j, o, &rep);
	submitlog_write(&j.set, &j.env, message_size(&j.msg), &rep, f,
	    setup_deferral(&j, o, f));
	j.logged = true;
out:
	/* Partial delivery: delivered, though some recipients refused. */
	if (failed(f) && !rep.delivered && o->mode != MODE_PRETEND)
		keep(&j, o, f);
	else if (failed(f) && rep.deferred.n > 0)
		keep_deferred(&j, o, &rep.deferred, f);
	addrlist_free(&rep.deferred);
	strlcpy(rep.queued_id, j.kept_id, sizeof(rep.queued_id));
	*out = rep;
	job_free(&j);
	return failed(f) ? -1 : 0;
}

void
run_version(void)
{
	char user[8300], found[4096];
	const char *box = outbox_dir(NULL);

	if (config_user_candidates(user, sizeof(user)) == -1)
		strlcpy(user, "(no home directory)", sizeof(user));
	if (config_user_path(found, sizeof(found)) == -1 ||
	    access(found, F_OK) != 0)
		strlcpy(found, "none of them exists", sizeof(found));
	printf("smtpsend %s\n"
	    "configuration: %s, then the first of %s (or -C FILE); "
	    "user file: %s\n"
	    "outbox: %s\n"
	    "maildrop: " MAILDROP_DIR "\n"
	    "libraries: %s\n", SMTPSEND_VERSION, config_system_path, user,
	    found, box != NULL ? box : "(none)", session_library());
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

/* --check: the account works, or what failed, as a send would say it. */
static int
check_account(const struct settings *s, const struct options *o,
    struct failure *f)
{
	struct session_report rep;
	struct buf password = BUF_INIT;
	char mech[32] = "", tls[32] = "";
	struct timespec t0, t1;
	int r = -1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (secret_obtain(s, &password, o->verbose, f) == 0 &&
	    session_check(s, password.data, o->verbose, &rep, mech,
	    sizeof(mech), tls, sizeof(tls), f) == 0) {
		clock_gettime(CLOCK_MONOTONIC, &t1);
		printf("smtpsend: account %s works: %s port %u, %s%s, %s%s%s%s, "
		    "%.0f ms\n", s->account ? s->account : "(defaults)",
		    rep.host, s->port, strcmp(tls, "no TLS") == 0 ? "" :
		    s->starttls ? "STARTTLS " : "implicit TLS ", tls,
		    rep.authenticated ? "AUTH " : "no AUTH", rep.authenticated ?
		    mech : "", rep.authenticated && s->user ? " as " : "",
		    rep.authenticated && s->user ? s->user : "",
		    (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
		    (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
		r = fflush(stdout) == 0 ? 0 : -1;
	}
	buf_free_secret(&password);
	return r;
}

int
run_check(const struct options *o, struct failure *f)
{
	struct settings s;
	struct config c;
	int r = -1;

	if (config_load(&c, o->config_file, stderr, f) == 0 &&
	    envelope_settings(&c, o->account, o->sender, o->over,
	    o->at_terminal, &s, f) == 0) {
		say_configuration(&c, s.account, o);
		r = check_account(&s, o, f);
		if (r != 0 && *status_setup_fix(f) != '\0') {
			strlcat(f->text, "; ", sizeof(f->text));
			strlcat(f->text, status_setup_fix(f), sizeof(f->text));
		}
	}
	config_free(&c);
	return r;
}

int
run_authorize(const struct options *o, struct failure *f)
{
	struct settings s;
	struct config c;
	int r = -1;

	if (!isatty(STDIN_FILENO) || !isatty(STDERR_FILENO)) {
		fail(f, STAGE_NONE, CAUSE_USAGE, 0, "--authorize needs a person "
		    "at a terminal");
		return -1;
	}
	if (config_load(&c, o->config_file, stderr, f) == 0 &&
	    envelope_settings(&c, o->account, NULL, o->over, true, &s, f) == 0)
		r = oauth2_authorize(&s, stdin, stderr, f);
	config_free(&c);
	return r;
}
