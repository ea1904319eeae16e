/* SPDX-License-Identifier: ISC */
#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <netdb.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "hostname.h"

/* gethostname(), as set: "vm" or "vm.example.org". */
static const char *
host_raw(void)
{
	static char name[256];

	if (name[0] == '\0' && (gethostname(name, sizeof(name) - 1) == -1 ||
	    name[0] == '\0'))
		strlcpy(name, "localhost", sizeof(name));
	return name;
}

const char *
host_fqdn(void)
{
	static char name[256];
	static bool looked;
	struct addrinfo hints, *ai;

	if (looked)
		return name[0] != '\0' ? name : NULL;
	looked = true;
	if (strchr(host_raw(), '.') != NULL)
		return strlcpy(name, host_raw(), sizeof(name)), name;
	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_CANONNAME;
	hints.ai_family = AF_UNSPEC;
	if (getaddrinfo(host_raw(), NULL, &hints, &ai) == 0) {
		if (ai->ai_canonname != NULL && strchr(ai->ai_canonname, '.') &&
		    strcasecmp(ai->ai_canonname, "localhost.localdomain") != 0)
			strlcpy(name, ai->ai_canonname, sizeof(name));
		freeaddrinfo(ai);
	}
	return name[0] != '\0' ? name : NULL;
}

const char *
host_name_or_localhost(void)
{
	const char *fqdn = host_fqdn();

	return fqdn != NULL ? fqdn : host_raw();
}

bool
host_is_local(const char *domain)
{
	const char *raw = host_raw(), *fqdn = host_fqdn();
	size_t shortlen = strcspn(raw, ".");

	if (domain == NULL)
		return false;
	if ((strlen(domain) == shortlen && strncasecmp(domain, raw,
	    shortlen) == 0) || strcasecmp(domain, raw) == 0)
		return true;
	return fqdn != NULL && strcasecmp(domain, fqdn) == 0;
}

/* The first word of /etc/mailname, "" when empty; NULL when there is
 * none (or it cannot be read). Read once. */
static const char *
read_mailname(void)
{
	static char mailname[256];
	static int state;	/* 0: not read, 1: read, -1: none */
	FILE *fp;

	if (state == 0) {
		state = -1;
		if ((fp = fopen("/etc/mailname", "re")) != NULL) {
			if (fgets(mailname, sizeof(mailname), fp) == NULL)
				mailname[0] = '\0';
			mailname[strcspn(mailname, " \t\r\n")] = '\0';
			fclose(fp);
			state = 1;
		}
	}
	return state == 1 ? mailname : NULL;
}

void
mail_domain_why(char *dst, size_t size)
{
	const char *m = read_mailname();

	if (m == NULL)
		snprintf(dst, size, "there is no /etc/mailname");
	else if (*m == '\0')
		snprintf(dst, size, "/etc/mailname is empty");
	else
		snprintf(dst, size, "/etc/mailname holds '%.100s', which has no "
		    "dot", m);
}

const char *
mail_domain(const char *configured, const char *from)
{
	const char *mailname = read_mailname(), *at;

	if (configured != NULL && *configured != '\0')
		return configured;
	if (mailname != NULL && strchr(mailname, '.') != NULL)
		return mailname;
	if (host_fqdn() != NULL)
		return host_fqdn();
	/* The domain of a plain `from`, never of a pattern. */
	if (from != NULL && strchr(from, '*') == NULL &&
	    (at = strrchr(from, '@')) != NULL && strchr(at, '.') != NULL)
		return at + 1;
	return NULL;
}

const char *
user_env(const char *name)
{
	return getuid() == geteuid() ? getenv(name) : NULL;
}

/*
 * A directory of this user's, that no other user can write into: a $HOME
 * or $XDG_CONFIG_HOME of somebody else's (www-data started by root's
 * start-stop-daemon keeps HOME=/root; root under su, su -m or sudo -E keeps
 * the user's), or HOME=/tmp, holds files that are not ours.
 */
bool
user_own_dir(const char *dir)
{
	struct stat st;

	return dir != NULL && *dir == '/' && stat(dir, &st) == 0 &&
	    S_ISDIR(st.st_mode) && st.st_uid == geteuid() &&
	    !(st.st_mode & S_IWOTH);
}

const char *
user_home(void)
{
	const char *home = user_env("HOME");
	struct passwd *pw;

	if (user_own_dir(home))
		return home;
	pw = getpwuid(geteuid());
	return pw != NULL ? pw->pw_dir : NULL;
}

const char *
user_name(void)
{
	static char name[256];
	struct passwd *pw;

	if (name[0] == '\0' && (pw = getpwuid(getuid())) != NULL)
		strlcpy(name, pw->pw_name, sizeof(name));
	return name[0] != '\0' ? name : NULL;
}

int
host_local_literal(const char *host, unsigned port, char *dst, size_t size)
{
	struct addrinfo hints, *ai;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char num[INET6_ADDRSTRLEN], service[8];
	int fd, r = -1;

	memset(&hints, 0, sizeof(hints));
	memset(&ss, 0, sizeof(ss));
	hints.ai_socktype = SOCK_DGRAM;
	snprintf(service, sizeof(service), "%u", port);
	if (getaddrinfo(host, service, &hints, &ai) != 0)
		return -1;
	/* A datagram socket's connect() only picks the route: nothing is
	 * sent, and getsockname() gives the address the server will see. */
	if ((fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0)) != -1 &&
	    connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
	    getsockname(fd, (struct sockaddr *)&ss, &len) == 0 &&
	    getnameinfo((struct sockaddr *)&ss, len, num, sizeof(num), NULL, 0,
	    NI_NUMERICHOST) == 0) {
		num[strcspn(num, "%")] = '\0';	/* no IPv6 scope */
		r = snprintf(dst, size, ss.ss_family == AF_INET6 ?
		    "[IPv6:%s]" : "[%s]", num) < (int)size ? 0 : -1;
	}
	if (fd != -1)
		close(fd);
	freeaddrinfo(ai);
	return r;
}
