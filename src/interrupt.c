/* SPDX-License-Identifier: ISC */
#include <sys/socket.h>

#include <signal.h>
#include <string.h>

#include "interrupt.h"

static volatile sig_atomic_t received;
static volatile sig_atomic_t watched = -1;

static void
on_signal(int sig)
{
	int fd = watched;

	received = sig;
	/* shutdown(2) is async-signal-safe and wakes every wait on it. */
	if (fd >= 0)
		shutdown(fd, SHUT_RDWR);
}

void
interrupt_install(void)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP };
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

void
interrupt_watch(int fd)
{
	watched = fd;
}

void
interrupt_unwatch(int fd)
{
	if (watched == fd)
		watched = -1;
}

int
interrupt_signal(void)
{
	return received;
}
