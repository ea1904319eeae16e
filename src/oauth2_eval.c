/*
 * oauth2_client_secreteval: a command that prints the client secret, run
 * exactly as passwordeval is (src/secret.c): /bin/sh -c, stdin from
 * /dev/null, a process group of its own killed after 30 s, the first line
 * kept. A copy because secret.c keeps its runner static; once it exports
 * one, this file goes.
 */
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "oauth2_int.h"

#define EVAL_TIMEOUT_MS	30000
#define EVAL_OUTPUT_MAX	8192

static void
child(const char *cmd, int out)
{
	int null = open("/dev/null", O_RDONLY);

	if (null == -1 || dup2(null, 0) == -1 || dup2(out, 1) == -1 ||
	    setpgid(0, 0) == -1)
		_exit(127);
	execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
	_exit(127);
}

static long
ms_left(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return EVAL_TIMEOUT_MS - ((now.tv_sec - t0->tv_sec) * 1000L +
	    (now.tv_nsec - t0->tv_nsec) / 1000000L);
}

/* The child's output until EOF; -1 on the timeout or too much of it. */
static int
collect(int fd, struct buf *out)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	struct timespec t0;
	char chunk[512];
	ssize_t n;
	long left;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		if ((left = ms_left(&t0)) <= 0)
			return -1;
		r = poll(&pfd, 1, (int)left);
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

int
oauth2_eval(const char *cmd, struct buf *out, struct failure *f)
{
	int fds[2], status = 0, r;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) == -1 || (pid = fork()) == -1) {
		fail_errno(f, CAUSE_OSERR, "oauth2_client_secreteval");
		return -1;
	}
	if (pid == 0)
		child(cmd, fds[1]);
	setpgid(pid, pid);
	close(fds[1]);
	r = collect(fds[0], out);
	close(fds[0]);
	if (r == -1)
		kill(-pid, SIGKILL);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (r == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fail(f, STAGE_NONE, CAUSE_CONFIG, 0, "oauth2_client_secreteval "
		    "failed, timed out or wrote too much");
		return -1;
	}
	out->len = out->data != NULL ? strcspn(out->data, "\r\n") : 0;
	if (out->len == 0) {
		fail(f, STAGE_NONE, CAUSE_CONFIG, 0, "oauth2_client_secreteval "
		    "printed nothing");
		return -1;
	}
	out->data[out->len] = '\0';
	return 0;
}
