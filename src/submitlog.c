#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "escape.h"
#include "submitlog.h"

/* key=value, quoted with control characters and quotes escaped. */
static void
field(struct buf *b, const char *key, const char *value)
{
	char shown[1024], *o = shown;
	const char *p;

	for (p = value; *p != '\0' && o < shown + sizeof(shown) - 5; p++) {
		if (*p == '"' || *p == '\\')
			*o++ = '\\';
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			o += snprintf(o, 5, "\\x%02x", (unsigned char)*p);
			continue;
		}
		*o++ = *p;
	}
	*o = '\0';
	buf_printf(b, "%s%s=%s%s%s", b->len ? " " : "", key,
	    strpbrk(shown, " =") ? "\"" : "", shown,
	    strpbrk(shown, " =") ? "\"" : "");
}

static void
build_line(struct buf *b, const struct settings *s, const struct envelope *e,
    off_t size, const struct session_report *rep, const struct failure *f)
{
	struct buf rcpts = BUF_INIT;
	char num[32];
	size_t i;

	field(b, "host", s->host);
	field(b, "tls", rep->tls ? "on" : "off");
	field(b, "auth", rep->authenticated ? "on" : "off");
	if (s->user)
		field(b, "user", s->user);
	field(b, "from", e->sender ? e->sender : "");
	for (i = 0; i < e->rcpts.n; i++)
		buf_printf(&rcpts, "%s%s", i ? "," : "", e->rcpts.v[i].spec);
	field(b, "recipients", rcpts.data ? rcpts.data : "");
	snprintf(num, sizeof(num), "%lld", (long long)size);
	field(b, "mailsize", num);
	if (rep->code) {
		snprintf(num, sizeof(num), "%d", rep->code);
		field(b, "smtpstatus", num);
		field(b, "smtpmsg", rep->text);
	}
	if (failed(f))
		field(b, "errormsg", f->text);
	snprintf(num, sizeof(num), "%d", status_exit(f));
	field(b, "exitcode", num);
	buf_free(&rcpts);
}

static void
append_logfile(const char *path, const char *line)
{
	char stamp[64];
	time_t now = time(NULL);
	struct tm tm;
	int fd;

	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
	    O_NOCTTY, 0600)) == -1) {
		fprintf(stderr, "smtpsend: warning: cannot write the log file "
		    "%s\n", path);
		return;
	}
	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%b %d %H:%M:%S", &tm);
	dprintf(fd, "%s %s\n", stamp, line);
	close(fd);
}

void
submitlog_write(const struct settings *s, const struct envelope *e,
    off_t size, const struct session_report *rep, const struct failure *f)
{
	struct buf line = BUF_INIT;

	build_line(&line, s, e, size, rep, f);
	if (line.data == NULL)
		return;
	if (s->logfile != NULL)
		append_logfile(s->logfile, line.data);
	if (s->syslog_facility >= 0) {
		openlog("smtpsend", LOG_PID, s->syslog_facility);
		syslog(failed(f) ? LOG_ERR : LOG_INFO, "%s", line.data);
		closelog();
	}
	buf_free(&line);
}
