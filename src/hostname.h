/* SPDX-License-Identifier: ISC */
/* Names of this host and of its user, looked up only when needed. */
#ifndef SMTPSEND_HOSTNAME_H
#define SMTPSEND_HOSTNAME_H

#include <stdbool.h>
#include <stddef.h>

/* This host's fully qualified name: the host name if it holds a dot, else
 * the resolver's canonical name if that does; NULL when there is none. */
const char *host_fqdn(void);
/* For greetings: host_fqdn(), else the host name as set. */
const char *host_name_or_localhost(void);
/* `domain` is this host's short or full name (compared without case). */
bool	host_is_local(const char *domain);
/*
 * The mail domain (CONTRACT section 4): `configured` (maildomain), else
 * /etc/mailname, else host_fqdn(), else the domain of `from` when that is
 * a plain address. Never a name without a dot: NULL when there is none.
 */
const char *mail_domain(const char *configured, const char *from);
/* Why /etc/mailname gave no domain, for the error that asks for one:
 * "there is no /etc/mailname", "/etc/mailname holds 'vm', which has no
 * dot". */
void	mail_domain_why(char *dst, size_t size);
/* "[192.0.2.7]": the local address a connection to host:port would use,
 * the EHLO name of last resort. */
int	host_local_literal(const char *host, unsigned port, char *dst,
	    size_t size);
/* The name of the user running smtpsend, or NULL. */
const char *user_name(void);
/* A variable of the environment, or NULL when that environment is not the
 * user's own (set-id: the real and effective uid differ). */
const char *user_env(const char *name);
/* $HOME when trusted and absolute, else the password file's home. */
const char *user_home(void);
/* `dir` is this user's and no other user can write into it. */
bool	user_own_dir(const char *dir);

#endif
