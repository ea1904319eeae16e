/* SPDX-License-Identifier: ISC */
/*
 * -bp and mailq: the kept messages in Postfix's mailq format.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "outbox_entry.h"

/* Postfix's arrival time: "Tue Dec  1 20:51:59". */
static void
arrival(char *dst, size_t size, time_t t)
{
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(dst, size, "%a %b %e %H:%M:%S", &tm);
}

/* One entry as Postfix's mailq shows it, with our state in the reason. */
static void
list_entry(FILE *out, const struct outbox_entry *x, off_t size)
{
	char when[32], next[32];
	size_t i;

	arrival(when, sizeof(when), x->created);
	fprintf(out, "%s%c %8lld %s  %s\n", x->id,
	    x->state == OUTBOX_PERMANENT ? '!' : ' ', (long long)size, when,
	    x->env.sender == NULL ? "(no envelope)" : *x->env.sender != '\0' ?
	    x->env.sender : "MAILER-DAEMON");
	if (x->state == OUTBOX_PERMANENT)
		fprintf(out, "(permanent, %d attempt%s, kept until removed",
		    x->attempts, x->attempts == 1 ? "" : "s");
	else {
		arrival(next, sizeof(next), outbox_next_try(x));
		fprintf(out, "(%s, %d attempt%s, next try %s",
		    outbox_state_name(x->state), x->attempts,
		    x->attempts == 1 ? "" : "s", x->attempts ? next : "now");
	}
	fprintf(out, "%s%s)\n", *x->error ? ": " : "", x->error);
	for (i = 0; i < x->env.rcpts.n; i++)
		fprintf(out, "%41s%s\n", "", x->env.rcpts.v[i].spec);
	fputc('\n', out);
}

/* The entries of one directory; adds to the totals. */
static void
list_dir(int dirfd, FILE *out, size_t *listed, long long *bytes)
{
	struct outbox_entry x;
	struct failure damaged, ignored = { 0 };
	char **ids;
	size_t n, i;
	/* The maildrop's entries are anyone's; the outbox's only ours. */
	struct stat st;
	uid_t owner = fstat(dirfd, &st) == 0 && (st.st_mode & S_ISVTX) ?
	    (uid_t)-1 : geteuid();

	if (outbox_ids_at(dirfd, false, &ids, &n, &ignored) == -1)
		return;
	for (i = 0; i < n; i++) {
		memset(&damaged, 0, sizeof(damaged));
		if (outbox_peek_at(dirfd, ids[i], &x, owner, &damaged) == 0) {
			if ((*listed)++ == 0)
				fputs("-Queue ID-  --Size-- ----Arrival Time---- "
				    "-Sender/Recipient-------\n", out);
			list_entry(out, &x, message_size(&x.msg));
			*bytes += message_size(&x.msg);
			outbox_entry_free(&x);
		} else if (failed(&damaged))
			fprintf(stderr, "smtpsend: %s\n", damaged.text);
		free(ids[i]);
	}
	free(ids);
}

int
outbox_list_at(const int *dirfds, int ndirs, FILE *out, struct failure *f)
{
	long long bytes = 0;
	size_t listed = 0;
	int i;

	(void)f;
	for (i = 0; i < ndirs; i++)
		list_dir(dirfds[i], out, &listed, &bytes);
	if (listed == 0)
		fputs("Mail queue is empty\n", out);
	else
		fprintf(out, "-- %lld Kbytes in %zu Request%s.\n",
		    (bytes + 1023) / 1024, listed, listed == 1 ? "" : "s");
	return ferror(out) ? -1 : 0;
}
