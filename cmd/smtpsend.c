/* SPDX-License-Identifier: ISC */
/*
 * smtpsend: a queue-less, sendmail-compatible mail submission client.
 * main() only: the work is in libsmtpsend (src/).
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "args.h"
#include "interrupt.h"
#include "queue.h"
#include "smtpstdio.h"
#include "run.h"
#include "status.h"

/* fds 0-2 open before anything else is, so no socket becomes stderr. */
static void
check_fds(void)
{
	int fd;

	while ((fd = open("/dev/null", O_RDWR)) >= 0 && fd <= 2)
		;
	if (fd > 2)
		close(fd);
}

static int verbose;

/*
 * One line. The library's words behind a hint are for -v, the log and a
 * program; a person at a terminal reads the hint, shorter.
 */
static int
report(const struct failure *f)
{
	status_print(stderr, f, isatty(STDERR_FILENO), verbose);
	return status_exit(f);
}

int
main(int argc, char **argv)
{
	struct failure f = { 0 };
	struct options o;
	int status;

	check_fds();
	signal(SIGPIPE, SIG_IGN);
	interrupt_install();
	umask(077);
	if (args_parse(&o, argc, argv, &f) == 0)
		o.at_terminal = isatty(STDIN_FILENO) || isatty(STDERR_FILENO);
	verbose = o.verbose;
	if (failed(&f) || args_check_caller(&o, o.at_terminal, &f) == -1) {
		args_free(&o);
		return report(&f);
	}
	switch (o.mode) {
	case MODE_HELP:
		fputs(usage_text, stdout);
		status = 0;
		break;
	case MODE_VERSION:
		run_version();
		status = 0;
		break;
	case MODE_NOOP:
		status = 0;
		break;
	case MODE_LIST_OUTBOX:
		status = queue_list(&o, &f) == -1 ? report(&f) : 0;
		break;
	case MODE_SMTP_STDIO:
		status = smtpstdio_serve(&o, STDIN_FILENO, STDOUT_FILENO, &f)
		    == -1 ? report(&f) : 0;
		break;
	case MODE_SERVERINFO:
		status = run_serverinfo(&o, &f) == -1 ? report(&f) : 0;
		break;
	case MODE_RUN_OUTBOX:
		status = queue_run(&o, &f) == -1 ? report(&f) : 0;
		break;
	case MODE_CHECK:
		status = run_check(&o, &f) == -1 ? report(&f) : 0;
		break;
	case MODE_AUTHORIZE:
		status = run_authorize(&o, &f) == -1 ? report(&f) : 0;
		break;
	case MODE_REMOVE:
		status = queue_remove(&o, &f) == -1 ? report(&f) : 0;
		break;
	default:
		status = run_submit(&o, STDIN_FILENO, &f) == -1 || failed(&f) ?
		    report(&f) : 0;
		break;
	}
	args_free(&o);
	return status;
}
