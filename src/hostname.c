#include <sys/socket.h>

#include <netdb.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hostname.h"

const char *
host_fqdn(void)
{
	static char name[256];
	struct addrinfo hints, *ai;

	if (name[0] != '\0')
		return name;
	if (gethostname(name, sizeof(name) - 1) == -1 || name[0] == '\0')
		strlcpy(name, "localhost", sizeof(name));
	if (strchr(name, '.') != NULL)
		return name;
	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_CANONNAME;
	hints.ai_family = AF_UNSPEC;
	if (getaddrinfo(name, NULL, &hints, &ai) == 0) {
		if (ai->ai_canonname != NULL && strchr(ai->ai_canonname, '.'))
			strlcpy(name, ai->ai_canonname, sizeof(name));
		freeaddrinfo(ai);
	}
	return name;
}

const char *
mail_domain(const char *configured)
{
	static char mailname[256];
	FILE *fp;

	if (configured != NULL && *configured != '\0')
		return configured;
	if (mailname[0] != '\0')
		return mailname;
	if ((fp = fopen("/etc/mailname", "re")) != NULL) {
		if (fgets(mailname, sizeof(mailname), fp) == NULL)
			mailname[0] = '\0';
		mailname[strcspn(mailname, " \t\r\n")] = '\0';
		fclose(fp);
		if (mailname[0] != '\0')
			return mailname;
	}
	return host_fqdn();
}

const char *
user_env(const char *name)
{
	return getuid() == geteuid() ? getenv(name) : NULL;
}

const char *
user_home(void)
{
	const char *home = user_env("HOME");
	struct passwd *pw;

	if (home != NULL && *home == '/')
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
