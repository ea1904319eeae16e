/* SPDX-License-Identifier: ISC */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "escape.h"
#include "submitlog.h"

/*
 * msmtp's log line, exactly (CONTRACT section 10): people's scripts and
 * checks read it. Plain values as they are, the server's and our messages
 * in single quotes; control characters and quotes escaped.
 */
static void
quoted(struct buf *b, const char *key, const char *value)
{
	const char *p;

	buf_printf(b, " %s='", key);
	for (p = value; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			buf_printf(b, "\\x%02x", (unsigned char)*p);
		else if (*p == '\'' || *p == '\\')
			buf_printf(b, "\\%c", *p);
		else
			buf_addch(b, *p);
	}
	buf_addch(b, '\'');
}

/* A plain value: never with a space or a control character. */
static void
plain(struct buf *b, const char *key, const char *value)
{
	const char *p;

	buf_printf(b, "%s%s=", b->len ? " " : "", key);
	for (p = value; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			buf_printf(b, "\\x%02x", (unsigned char)*p);
		else
			buf_addch(b, *p);
}

/* The server's reply that failed it, as quoted in the failure's text:
 * "... rcpt@x: 550 5.1.1 no such user; ..." */
static void
refusal(struct buf *b, const struct failure *f)
{
	char num[16], msg[sizeof(f->text)];
	const char *at;

	snprintf(num, sizeof(num), "%d ", f->code);
	plain(b, "smtpstatus", (num[3] = '\0', num));
	num[3] = ' ';
	for (at = f->text; (at = strstr(at, num)) != NULL; at++)
		if (at == f->text || at[-1] == ' ')
			break;
	if (at == NULL)
		return;
	strlcpy(msg, at, sizeof(msg));
	msg[strcspn(msg, ";")] = '\0';
	quoted(b, "smtpmsg", msg);
}

static void
build_line(struct buf *b, const struct settings *s, const struct envelope *e,
    off_t size, const struct session_report *rep, const struct failure *f,
    bool deferred)
{
	struct buf rcpts = BUF_INIT, msg = BUF_INIT;
	char num[32];
	size_t i;

	plain(b, "host", rep->host[0] != '\0' ? rep->host : s->host);
	/* The account's settings, as msmtp writes them: a refused
	 * connection still says what was meant to be used. */
	plain(b, "tls", s->tls || rep->tls ? "on" : "off");
	plain(b, "auth", s->auth != AUTH_OFF || rep->authenticated ? "on" :
	    "off");
	if (s->user != NULL && s->auth != AUTH_OFF)
		plain(b, "user", s->user);
	plain(b, "from", e->sender ? e->sender : "");
	for (i = 0; i < e->rcpts.n; i++)
		buf_printf(&rcpts, "%s%s", i ? "," : "", e->rcpts.v[i].spec);
	plain(b, "recipients", rcpts.data ? rcpts.data : "");
	if (!failed(f)) {
		snprintf(num, sizeof(num), "%lld", (long long)size);
		plain(b, "mailsize", num);
	}
	if (rep->code) {
		snprintf(num, sizeof(num), "%d", rep->code);
		plain(b, "smtpstatus", num);
		buf_printf(&msg, "%d %s", rep->code, rep->text);
		quoted(b, "smtpmsg", msg.data ? msg.data : "");
	} else if (failed(f) && f->cause == CAUSE_REPLY && f->code != 0)
		refusal(b, f);
	if (failed(f) && f->detail[0] != '\0') {
		buf_reset(&msg);
		buf_printf(&msg, "%s (%s)", f->text, f->detail);
		quoted(b, "errormsg", msg.data ? msg.data : f->text);
	} else if (failed(f))
		quoted(b, "errormsg", f->text);
	plain(b, "exitcode", status_name(deferred ? EX_TEMPFAIL :
	    status_exit(f)));
	buf_free(&rcpts);
	buf_free(&msg);
}

/* Only a regular file, never through a symlink (CONTRACT section 8). */
static void
append_logfile(const char *path, const char *format, const char *line)
{
	char stamp[128];
	time_t now = time(NULL);
	struct stat st;
	struct tm tm;
	int fd;

	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY |
	    O_NOFOLLOW | O_NONBLOCK, 0600);
	if (fd == -1 || fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		fprintf(stderr, "smtpsend: warning: cannot write the log file "
		    "%s: %s\n", path, fd == -1 ? strerror(errno) :
		    "not a regular file");
		if (fd != -1)
			close(fd);
		return;
	}
	localtime_r(&now, &tm);
	if (strftime(stamp, sizeof(stamp), format ? format : "%b %d %H:%M:%S",
	    &tm) == 0)
		stamp[0] = '\0';
	dprintf(fd, "%s %s\n", stamp, line);
	close(fd);
}

void
submitlog_write(const struct settings *s, const struct envelope *e,
    off_t size, const struct session_report *rep, const struct failure *f,
    bool deferred)
{
	struct buf line = BUF_INIT;

	build_line(&line, s, e, size, rep, f, deferred);
	if (line.data == NULL)
		return;
	if (s->logfile != NULL)
		append_logfile(s->logfile, s->logfile_time_format, line.data);
	if (s->syslog_facility >= 0) {
		openlog("smtpsend", LOG_PID, s->syslog_facility);
		syslog(!failed(f) ? LOG_INFO : deferred ||
		    status_temporary(f) ? LOG_WARNING : LOG_ERR, "%s",
		    line.data);
		closelog();
	}
	buf_free(&line);
}

void
submitlog_warn(const struct settings *s, const char *fmt, ...)
{
	char text[1200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap); /* NOLINT(clang-analyzer-valist.Uninitialized) */
	va_end(ap);
	fprintf(stderr, "smtpsend: warning: %s\n", text);
	if (s->syslog_facility >= 0) {
		openlog("smtpsend", LOG_PID, s->syslog_facility);
		syslog(LOG_WARNING, "warning: %s", text);
		closelog();
	}
}
