/* SPDX-License-Identifier: ISC */
/* The sendmail command line. */
#include "args.h"
#include "check.h"

#define MAXARGS 16

static int
parse(struct options *o, struct failure *f, const char *const *words)
{
	char *argv[MAXARGS + 1];
	int argc = 0;

	while (words[argc] != NULL && argc < MAXARGS) {
		argv[argc] = (char *)words[argc];
		argc++;
	}
	argv[argc] = NULL;
	memset(f, 0, sizeof(*f));
	return args_parse(o, argc, argv, f);
}

#define ARGS(...) ((const char *const[]){ __VA_ARGS__, NULL })

static void
test_callers(void)
{
	struct options o;
	struct failure f;

	/* Debian cron */
	CHECK_INT(parse(&o, &f, ARGS("sendmail", "-FCronDaemon", "-i",
	    "-B8BITMIME", "-oem", "root,admin@x")), 0, "cron");
	CHECK_STR(o.full_name, "CronDaemon", "cron -F glued");
	CHECK(o.dot_is_data && o.body_8bitmime, "cron -i -B8BITMIME");
	CHECK_INT(o.nrecipients, 1, "cron recipients");
	args_free(&o);
	/* cronie */
	CHECK_INT(parse(&o, &f, ARGS("sendmail", "-FCronDaemon", "-i", "-odi",
	    "-oem", "-oi", "-t", "-f", "root")), 0, "cronie");
	CHECK(o.recipients_from_headers, "cronie -t");
	CHECK_STR(o.sender, "root", "cronie -f separate");
	args_free(&o);
	/* mutt */
	CHECK_INT(parse(&o, &f, ARGS("sendmail", "-oem", "-oi", "-B8BITMIME",
	    "-f", "me@x", "--", "-weird@x", "b@y")), 0, "mutt");
	CHECK_INT(o.nrecipients, 2, "mutt recipients after --");
	CHECK_STR(o.recipients[0], "-weird@x", "recipient that starts with -");
	args_free(&o);
	/* grouped flags and stop at first non-option */
	CHECK_INT(parse(&o, &f, ARGS("smtpsend", "-ti", "a@x", "-v")), 0,
	    "grouped");
	CHECK(o.recipients_from_headers && o.dot_is_data && o.verbose == 0,
	    "-ti then stop at a@x");
	CHECK_INT(o.nrecipients, 2, "-v after a recipient is a recipient");
	args_free(&o);
}

static void
test_long_options(void)
{
	struct options o;
	struct failure f;

	CHECK_INT(parse(&o, &f, ARGS("smtpsend", "--host=h.example", "--port",
	    "2525", "--tls=off", "--auth", "--pretend", "a@x")), 0, "long");
	CHECK_STR(o.over[K_HOST], "h.example", "--host");
	CHECK_STR(o.over[K_PORT], "2525", "--port separate");
	CHECK_STR(o.over[K_TLS], "off", "--tls=off");
	CHECK_STR(o.over[K_AUTH], "on", "--auth alone is on");
	CHECK_INT(o.mode, MODE_PRETEND, "--pretend");
	args_free(&o);
	CHECK_INT(parse(&o, &f, ARGS("smtpsend", "--port=0")), -1, "port 0");
	CHECK_INT(status_exit(&f), 64, "bad port is a usage error");
	args_free(&o);
}

static void
test_refused_and_ignored(void)
{
	static const char *const refused[] = { "-X/tmp/log", "-be", "-bh",
	    "-bd", "-bD", "-bt", "-bv", "-bx", "-y", "--password=x" };
	static const char *const ignored[] = { "-odi", "-oem", "-Ox=y",
	    "-Am", "-Ac", "-G", "-U", "-bm", "-oi" };
	struct options o;
	struct failure f;
	size_t i;

	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		CHECK_INT(parse(&o, &f, ARGS("smtpsend", refused[i], "a@x")),
		    -1, refused[i]);
		CHECK_INT(status_exit(&f), 64, refused[i]);
		args_free(&o);
	}
	for (i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++) {
		CHECK_INT(parse(&o, &f, ARGS("smtpsend", ignored[i], "a@x")),
		    0, ignored[i]);
		args_free(&o);
	}
	CHECK_INT(parse(&o, &f, ARGS("smtpsend", "-L", "tag", "-h", "5",
	    "a@x")), 0, "-L tag -h N");
	CHECK_INT(o.nrecipients, 1, "-L and -h take their value");
	args_free(&o);
	CHECK_INT(parse(&o, &f, ARGS("smtpsend", "-f")), -1, "-f needs value");
	CHECK(strstr(f.text, "needs a value") != NULL, "missing value named");
	args_free(&o);
}

static void
test_names(void)
{
	struct options o;
	struct failure f;

	CHECK_INT(parse(&o, &f, ARGS("/usr/sbin/newaliases")), 0, "newaliases");
	CHECK_INT(o.mode, MODE_NOOP, "newaliases is a no-op");
	args_free(&o);
	CHECK_INT(parse(&o, &f, ARGS("/usr/bin/mailq")), 0, "mailq");
	CHECK_INT(o.mode, MODE_LIST_OUTBOX, "mailq lists the outbox");
	args_free(&o);
	CHECK_INT(parse(&o, &f, ARGS("smtpsend", "-bp")), 0, "-bp");
	CHECK_INT(o.mode, MODE_LIST_OUTBOX, "-bp lists the outbox");
	args_free(&o);
	CHECK_INT(parse(&o, &f, ARGS("smtpsend", "-q15m")), 0, "-q15m");
	CHECK_INT(o.mode, MODE_RUN_OUTBOX, "-q runs the outbox once");
	args_free(&o);
	CHECK_INT(parse(&o, &f, ARGS("smtpsend", "-bi")), 0, "-bi");
	CHECK_INT(o.mode, MODE_NOOP, "-bi is a no-op");
	args_free(&o);
	CHECK_INT(parse(&o, &f, ARGS("sendmail", "-N", "success,delay", "-R",
	    "hdrs", "-V", "id1", "a@x")), 0, "DSN");
	CHECK_STR(o.dsn_notify, "success,delay", "-N");
	args_free(&o);
	CHECK_INT(parse(&o, &f, ARGS("sendmail", "-N", "bogus", "a@x")), -1,
	    "-N bogus");
	args_free(&o);
}

int
main(void)
{
	test_callers();
	test_long_options();
	test_refused_and_ignored();
	test_names();
	return check_summary();
}
