/* SPDX-License-Identifier: ISC */
/*
 * -bp and mailq: the kept messages in Postfix's mailq format, or in
 * postqueue -j's JSON (one object per line), which monitoring reads.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "maildrop.h"
#include "outbox_entry.h"

/* One listing: where it goes, in which format, and what it added up to. */
struct listing {
	FILE		*out;
	bool		 json;
	const char	*config;	/* this run's -C, absolute; NULL */
	size_t		 listed;
	long long	 bytes;
};

/* Postfix's arrival time: "Tue Dec  1 20:51:59". */
static void
arrival(char *dst, size_t size, time_t t)
{
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(dst, size, "%a %b %e %H:%M:%S", &tm);
}

/*
 * Which configuration sends the entry, when it is not this run's (CONTRACT
 * 7): "" for this one's. A maildrop entry is root's system file's.
 */
static const char *
config_note(const struct listing *l, const struct outbox_entry *x,
    bool maildrop, char *dst, size_t size)
{
	char why[4400];

	*dst = '\0';
	if (maildrop)
		return dst;
	if (outbox_config_problem(x, why, sizeof(why)) != NULL)
		snprintf(dst, size, "; not sent: %s (smtpsend --remove %s)", why,
		    x->id);
	else if (!outbox_entry_for_config(x, l->config))
		snprintf(dst, size, "; sent by smtpsend -q%s%s", x->config ?
		    " -C " : "", x->config ? x->config : "");
	return dst;
}

/* The sender as a listing shows it; an entry still to be resolved shows
 * its -f, if any. */
static const char *
sender_of(const struct outbox_entry *x)
{
	if (x->env.sender != NULL)
		return x->env.sender;
	if (x->args.present && x->args.f != NULL)
		return x->args.f;
	return NULL;
}

/* Its recipients: the envelope's, or the arguments still to resolve. */
static size_t
recipients_of(const struct outbox_entry *x, const char ***v)
{
	static const char *none[1];
	size_t i, n = x->env.sender != NULL ? x->env.rcpts.n :
	    (size_t)x->args.nrcpts;
	const char **r = n > 0 ? calloc(n, sizeof(*r)) : none;

	for (i = 0; r != NULL && i < n; i++)
		r[i] = x->env.sender != NULL ? x->env.rcpts.v[i].spec :
		    x->args.rcpts[i];
	*v = r;
	return r == NULL ? 0 : n;
}

/* One entry as Postfix's mailq shows it, with our state in the reason. */
static void
list_text(struct listing *l, const struct outbox_entry *x, const char *note)
{
	const char *sender = sender_of(x), **rcpts;
	char when[32], next[32];
	size_t i, n;

	arrival(when, sizeof(when), x->created);
	fprintf(l->out, "%s%c %8lld %s  %s\n", x->id,
	    x->state == OUTBOX_PERMANENT ? '!' : ' ',
	    (long long)message_size(&x->msg), when, sender == NULL ?
	    "(no envelope)" : *sender != '\0' ? sender : "MAILER-DAEMON");
	if (x->state == OUTBOX_PERMANENT)
		fprintf(l->out, "(permanent, %d attempt%s, kept until removed",
		    x->attempts, x->attempts == 1 ? "" : "s");
	else {
		arrival(next, sizeof(next), outbox_next_try(x));
		fprintf(l->out, "(%s, %d attempt%s, next try %s",
		    outbox_state_name(x->state), x->attempts,
		    x->attempts == 1 ? "" : "s", x->attempts ? next : "now");
	}
	fprintf(l->out, "%s%s%s)\n", *x->error ? ": " : "", x->error, note);
	n = recipients_of(x, &rcpts);
	for (i = 0; i < n; i++)
		fprintf(l->out, "%41s%s\n", "", rcpts[i]);
	if (x->env.sender == NULL && x->args.t)
		fprintf(l->out, "%41s%s\n", "", "(-t: the message's To, Cc, Bcc)");
	if (n > 0)
		free(rcpts);
	fputc('\n', l->out);
}

/* Postfix's queue names: hold for what waits for a person, active for
 * what a -q is trying now. */
static const char *
queue_name(const struct outbox_entry *x, bool maildrop)
{
	if (maildrop)
		return "maildrop";
	if (x->state == OUTBOX_PERMANENT)
		return "hold";
	if (flock(x->fd, LOCK_SH | LOCK_NB) == -1 && errno == EWOULDBLOCK)
		return "active";
	flock(x->fd, LOCK_UN);
	return "deferred";
}

static void
add_string(json_object *o, const char *key, const char *value)
{
	json_object_object_add(o, key, json_object_new_string(value));
}

/* postqueue -j: one object per line, Postfix's documented fields. */
static void
list_json(struct listing *l, const struct outbox_entry *x, bool maildrop,
    const char *note)
{
	json_object *o = json_object_new_object(), *rs, *r;
	const char *sender = sender_of(x), **rcpts;
	char reason[sizeof(x->error) + 4800];
	size_t i, n;

	add_string(o, "queue_name", queue_name(x, maildrop));
	add_string(o, "queue_id", x->id);
	json_object_object_add(o, "arrival_time",
	    json_object_new_int64((int64_t)x->created));
	json_object_object_add(o, "message_size",
	    json_object_new_int64((int64_t)message_size(&x->msg)));
	json_object_object_add(o, "forced_expire", json_object_new_boolean(0));
	add_string(o, "sender", sender != NULL ? sender : "");
	snprintf(reason, sizeof(reason), "%s%s", x->error,
	    *x->error ? note : note + (*note ? 2 : 0));
	rs = json_object_new_array();
	n = recipients_of(x, &rcpts);
	for (i = 0; i < n; i++) {
		r = json_object_new_object();
		add_string(r, "address", rcpts[i]);
		if (*reason != '\0')
			add_string(r, "delay_reason", reason);
		json_object_array_add(rs, r);
	}
	if (n > 0)
		free(rcpts);
	json_object_object_add(o, "recipients", rs);
	fprintf(l->out, "%s\n", json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

static void
list_entry(struct listing *l, const struct outbox_entry *x, bool maildrop)
{
	char note[4600];

	config_note(l, x, maildrop, note, sizeof(note));
	if (l->json) {
		list_json(l, x, maildrop, note);
	} else {
		if (l->listed == 0)
			fputs("-Queue ID-  --Size-- ----Arrival Time---- "
			    "-Sender/Recipient-------\n", l->out);
		list_text(l, x, note);
	}
	l->listed++;
	l->bytes += message_size(&x->msg);
}

/* The entries of one directory; adds to the totals. */
static void
list_dir(struct listing *l, int dirfd)
{
	struct outbox_entry x;
	struct failure damaged, ignored = { 0 };
	char **ids;
	size_t n, i;
	/* The maildrop's entries are anyone's for root; the outbox's, and
	 * for a user the maildrop's found through the user's index, only
	 * the user's own. */
	struct stat st;
	bool maildrop = fstat(dirfd, &st) == 0 && (st.st_mode & S_ISVTX);
	uid_t owner = maildrop && geteuid() == 0 ? (uid_t)-1 : geteuid();

	if (maildrop && geteuid() != 0 ? maildrop_index_ids(dirfd, &ids, &n)
	    == -1 : outbox_ids_at(dirfd, false, &ids, &n, &ignored) == -1)
		return;
	for (i = 0; i < n; i++) {
		memset(&damaged, 0, sizeof(damaged));
		if (outbox_peek_at(dirfd, ids[i], &x, owner, &damaged) == 0) {
			list_entry(l, &x, maildrop);
			outbox_entry_free(&x);
		} else if (failed(&damaged))
			fprintf(stderr, "smtpsend: %s\n", damaged.text);
		free(ids[i]);
	}
	free(ids);
}

int
outbox_list_at(const int *dirfds, int ndirs, const char *config, bool json,
    FILE *out, struct failure *f)
{
	struct listing l = { out, json, config, 0, 0 };
	int i;

	(void)f;
	for (i = 0; i < ndirs; i++)
		list_dir(&l, dirfds[i]);
	if (json)
		;	/* postqueue -j prints nothing for an empty queue */
	else if (l.listed == 0)
		fputs("Mail queue is empty\n", out);
	else
		fprintf(out, "-- %lld Kbytes in %zu Request%s.\n",
		    (l.bytes + 1023) / 1024, l.listed, l.listed == 1 ? "" : "s");
	return ferror(out) ? -1 : 0;
}
