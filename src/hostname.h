/* Names of this host, looked up once and only when needed. */
#ifndef SMTPSEND_HOSTNAME_H
#define SMTPSEND_HOSTNAME_H

/* This host's fully qualified name (falls back to the plain hostname). */
const char *host_fqdn(void);
/* The mail domain: `configured`, else /etc/mailname, else host_fqdn(). */
const char *mail_domain(const char *configured);
/* The name of the user running smtpsend, or NULL. */
const char *user_name(void);

#endif
