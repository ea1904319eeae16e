/* SPDX-License-Identifier: ISC */
/*
 * -bs: SMTP on stdin and stdout (Symfony Mailer, SwiftMailer). Each message
 * accepted goes through the same reader, engine and outbox as a message
 * on stdin, and the reply to its final dot carries the smarthost's outcome.
 */
#ifndef SMTPSEND_SMTPSTDIO_H
#define SMTPSEND_SMTPSTDIO_H

#include "args.h"
#include "status.h"

/* Serve until QUIT or the end of input; fails (65) on EOF inside DATA. */
int	smtpstdio_serve(const struct options *, int in, int out,
	    struct failure *f);

#endif
