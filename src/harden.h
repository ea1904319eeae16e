/* SPDX-License-Identifier: ISC */
/* The process itself: what no secret may leak through. */
#ifndef SMTPSEND_HARDEN_H
#define SMTPSEND_HARDEN_H

/* Not dumpable and no core file from here to exit: called as soon as a
 * secret is in memory (a password read from a file, passwordeval). */
void	harden_nodump(void);

#endif
