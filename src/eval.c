/* SPDX-License-Identifier: ISC */
/*
 * passwordeval and oauth2_client_secreteval: a command that prints a
 * secret, run without a shell-visible secret (CONTRACT section 8): stdin
 * from /dev/null, a process group of its own killed whole after 30 s,
 * bounded output, the first line kept.
 */
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "eval.h"

#define EVAL_TIMEOUT_MS	30000
#define EVAL_OUTPUT_MAX	8192

static void
child(const char *cmd, int out)
{
	int null = open("/dev/null", O_RDONLY);

	/* stdin closed off: the command cannot wait on the user's input.
	 * Its own process group: a timeout kills all it started. */
	if (null == -1 || dup2(null, 0) == -1 || dup2(out, 1) == -1 ||
	    setpgid(0, 0) == -1)
		_exit(127);
	execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
	_exit(127);
}

static int
ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int)((now.tv_sec - t0->tv_sec) * 1000 +
	    (now.tv_nsec - t0->tv_nsec) / 1000000);
}

/* Read the child's output until EOF, the limit or the timeout. */
static int
collect(int fd, struct buf *out, const struct timespec *t0)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	char chunk[512];
	ssize_t n;
	int left, r;

	for (;;) {
		if ((left = EVAL_TIMEOUT_MS - ms_since(t0)) <= 0)
			return -1;
		r = poll(&pfd, 1, left);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		if ((n = read(fd, chunk, sizeof(chunk))) <= 0)
			return n == 0 ? 0 : -1;
		if (out->len + (size_t)n > EVAL_OUTPUT_MAX ||
		    buf_add(out, chunk, (size_t)n) == -1)
			return -1;
		explicit_bzero(chunk, sizeof(chunk));
	}
}

/*
 * A command that closed its output may still run: it has what is left of
 * its time to exit, as one that keeps it open has (then its group is
 * killed).
 */
static int
reap(pid_t pid, int *status, const struct timespec *t0)
{
	pid_t w;

	while ((w = waitpid(pid, status, WNOHANG)) == 0 ||
	    (w == -1 && errno == EINTR)) {
		if (ms_since(t0) >= EVAL_TIMEOUT_MS)
			return -1;
		usleep(10000);
	}
	return w == pid ? 0 : -1;
}

static int
run_eval(const char *what, const char *cmd, struct buf *out,
    struct failure *f)
{
	int fds[2], status = 0, r;
	struct timespec t0;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) == -1 || (pid = fork()) == -1) {
		fail_errno(f, CAUSE_OSERR, "%s", what);
		return -1;
	}
	if (pid == 0)
		child(cmd, fds[1]);
	setpgid(pid, pid);	/* also here: no race with the child's */
	close(fds[1]);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = collect(fds[0], out, &t0);
	close(fds[0]);
	if (r == 0 && reap(pid, &status, &t0) == -1)
		r = -1;
	if (r == -1) {
		kill(-pid, SIGKILL);
		while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
			;
	}
	if (r == -1) {
		fail(f, STAGE_NONE, CAUSE_CONFIG, 0, "%s timed out or wrote "
		    "too much", what);
		return -1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fail(f, STAGE_NONE, CAUSE_CONFIG, 0, "%s failed (exit "
		    "status %d)", what, WIFEXITED(status) ?
		    WEXITSTATUS(status) : 128 + WTERMSIG(status));
		return -1;
	}
	return 0;
}

int
eval_first_line(const char *what, const char *cmd, struct buf *out,
    struct failure *f)
{
	if (run_eval(what, cmd, out, f) == -1)
		return -1;
	out->len = out->data != NULL ? strcspn(out->data, "\r\n") : 0;
	if (out->len == 0) {
		fail(f, STAGE_NONE, CAUSE_CONFIG, 0, "%s printed nothing", what);
		return -1;
	}
	out->data[out->len] = '\0';
	return 0;
}
