/* SPDX-License-Identifier: ISC */
/*
 * The arguments an entry keeps until it is resolved (src/outbox_args.c):
 * written from the command line's options and read back field by field,
 * they give the same options; hostile values are refused on reading.
 */
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "buf.h"
#include "check.h"
#include "outbox.h"

/* Feed the "key: value" lines of a formatted block back to the parser. */
static int
read_back(const char *text, struct outbox_args *a)
{
	char *copy = strdup(text), *line, *next, *colon;
	int r = 0;

	memset(a, 0, sizeof(*a));
	for (line = copy; line != NULL && *line != '\0'; line = next) {
		next = strchr(line, '\n');
		*next++ = '\0';
		colon = strstr(line, ": ");
		*colon = '\0';
		if (outbox_args_field(a, line, colon + 2) != 1)
			r = -1;
	}
	free(copy);
	return r;
}

static void
test_round_trip(void)
{
	char r0[] = "ops", r1[] = "\"Joe, Jr\" <joe@example.org>, b@example.net";
	char *rcpts[] = { r0, r1 };
	struct options o, back;
	struct outbox_args a, parsed;
	struct buf b = BUF_INIT;

	memset(&o, 0, sizeof(o));
	o.recipients_from_headers = true;
	o.read_envelope_from = true;
	o.body_8bitmime = true;
	o.sender = "";			/* -f '': the null sender */
	o.full_name = "Cron Daemon";
	o.dsn_notify = "failure,delay";
	o.dsn_return = "hdrs";
	o.envid = "id 1";
	o.recipients = rcpts;
	o.nrecipients = 2;
	outbox_args_from(&a, &o);
	CHECK(a.present, "plain values are kept");
	outbox_args_format(&b, &a);
	CHECK_INT(read_back(b.data, &parsed), 0, "every line is an argument");
	outbox_args_options(&parsed, "work", &back);
	CHECK(back.recipients_from_headers && back.read_envelope_from &&
	    back.body_8bitmime, "the flags");
	CHECK_STR(back.sender, "", "-f '' stays the null sender");
	CHECK_STR(back.full_name, "Cron Daemon", "-F");
	CHECK_STR(back.dsn_notify, "failure,delay", "-N");
	CHECK_STR(back.dsn_return, "hdrs", "-R");
	CHECK_STR(back.envid, "id 1", "-V");
	CHECK_STR(back.account, "work", "-a from the entry's account");
	CHECK_INT(back.nrecipients, 2, "recipient arguments");
	CHECK_STR(back.recipients[1], rcpts[1], "a list, as given");
	outbox_args_free(&parsed);
	buf_free(&b);
}

static void
test_refused(void)
{
	char r0[] = "a@example.org\r\nRCPT TO:<x@evil>";
	char *rcpts[] = { r0 };
	struct outbox_args a;
	struct options o;

	memset(&o, 0, sizeof(o));
	o.recipients = rcpts;
	o.nrecipients = 1;
	outbox_args_from(&a, &o);
	CHECK(!a.present, "a control character: not kept to be resolved");
	o.nrecipients = 0;
	o.compose = true;
	outbox_args_from(&a, &o);
	CHECK(!a.present, "compose mode is a person's");

	memset(&a, 0, sizeof(a));
	CHECK_INT(outbox_args_field(&a, "arg-f", "a\tb"), -1,
	    "a control character read back");
	CHECK_INT(outbox_args_field(&a, "sender", "x"), 0, "not an argument");
	CHECK_INT(outbox_args_field(&a, "arg-later", "x"), 0,
	    "a later version's argument is ignored");
	outbox_args_free(&a);
}

int
main(void)
{
	test_round_trip();
	test_refused();
	return check_summary();
}
