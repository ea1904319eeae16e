/* Names of this host and of its user, looked up only when needed. */
#ifndef SMTPSEND_HOSTNAME_H
#define SMTPSEND_HOSTNAME_H

/* This host's fully qualified name (falls back to the plain hostname). */
const char *host_fqdn(void);
/* The mail domain: `configured`, else /etc/mailname, else host_fqdn(). */
const char *mail_domain(const char *configured);
/* The name of the user running smtpsend, or NULL. */
const char *user_name(void);
/* A variable of the environment, or NULL when that environment is not the
 * user's own (set-id: the real and effective uid differ). */
const char *user_env(const char *name);
/* $HOME when trusted and absolute, else the password file's home. */
const char *user_home(void);

#endif
