/* SPDX-License-Identifier: ISC */
/*
 * SIGTERM, SIGINT and SIGHUP before the final dot: the connection is shut
 * down at once, so the server discards the unfinished message, and the
 * session fails with a temporary error that puts the message in the outbox.
 */
#ifndef SMTPSEND_INTERRUPT_H
#define SMTPSEND_INTERRUPT_H

/* Install the handlers (without SA_RESTART, so waits are interrupted). */
void	interrupt_install(void);
/* The socket a signal should shut down, or -1. */
void	interrupt_watch(int fd);
/* Forget fd if it is the one watched (another may have replaced it). */
void	interrupt_unwatch(int fd);
/* The signal received, or 0. */
int	interrupt_signal(void);

#endif
