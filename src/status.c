/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "escape.h"
#include "status.h"

static const char *const stage_names[STAGE_COUNT] = {
	[STAGE_NONE] = "none",
	[STAGE_CONNECT] = "connect",
	[STAGE_GREETING] = "greeting",
	[STAGE_EHLO] = "EHLO",
	[STAGE_STARTTLS] = "STARTTLS",
	[STAGE_TLS] = "TLS",
	[STAGE_AUTH] = "AUTH",
	[STAGE_MAIL] = "MAIL",
	[STAGE_RCPT] = "RCPT",
	[STAGE_DATA] = "DATA",
	[STAGE_END_OF_DATA] = "end of data",
};

const char *
stage_name(enum stage s)
{
	return s < STAGE_COUNT ? stage_names[s] : "?";
}

static void
vfail(struct failure *f, const char *suffix, const char *fmt, va_list ap)
{
	char raw[sizeof(f->text)];

	vsnprintf(raw, sizeof(raw), fmt, ap); /* NOLINT(clang-analyzer-valist.Uninitialized) */
	if (suffix != NULL) {
		strlcat(raw, ": ", sizeof(raw));
		strlcat(raw, suffix, sizeof(raw));
	}
	escape_line(f->text, sizeof(f->text), raw, strlen(raw));
}

void
fail(struct failure *f, enum stage stage, enum cause cause, int code,
    const char *fmt, ...)
{
	va_list ap;

	f->stage = stage;
	f->cause = cause;
	f->code = code;
	f->queued = false;
	f->act = false;
	f->detail[0] = '\0';
	va_start(ap, fmt);
	vfail(f, NULL, fmt, ap);
	va_end(ap);
}

void
fail_errno(struct failure *f, enum cause cause, const char *fmt, ...)
{
	const char *why = strerror(errno);
	va_list ap;

	f->stage = STAGE_NONE;
	f->cause = cause;
	f->code = 0;
	f->queued = false;
	f->act = false;
	f->detail[0] = '\0';
	va_start(ap, fmt);
	vfail(f, why, fmt, ap);
	va_end(ap);
}

void
fail_detail(struct failure *f, const char *text)
{
	escape_line(f->detail, sizeof(f->detail), text, strlen(text));
}

bool
failed(const struct failure *f)
{
	return f->cause != CAUSE_NONE;
}

/* A server reply: 4xx defers, 5xx depends on what it refused. */
static int
reply_exit(const struct failure *f)
{
	if (f->code >= 400 && f->code < 500)
		return EX_TEMPFAIL;
	if (f->code < 500 || f->code > 599)
		return EX_PROTOCOL;
	switch (f->stage) {
	case STAGE_RCPT:
		return EX_NOUSER;
	case STAGE_AUTH:
		return EX_NOPERM;
	case STAGE_STARTTLS:
	case STAGE_TLS:
		return EX_TEMPFAIL;	/* as Postfix defers */
	default:
		return EX_UNAVAILABLE;
	}
}

/* What the failure itself says, whoever holds the message. */
static int
failure_exit(const struct failure *f)
{
	switch (f->cause) {
	case CAUSE_NONE:		return 0;
	case CAUSE_REPLY:		return reply_exit(f);
	case CAUSE_USAGE:		return EX_USAGE;
	case CAUSE_CONFIG:		return EX_CONFIG;
	case CAUSE_DATAERR:		return EX_DATAERR;
	case CAUSE_NOHOST:		return EX_NOHOST;
	case CAUSE_TEMPORARY:
	case CAUSE_POSSIBLY_SENT:	return EX_TEMPFAIL;
	case CAUSE_PROTOCOL:		return EX_PROTOCOL;
	case CAUSE_UNAVAILABLE:		return EX_UNAVAILABLE;
	case CAUSE_NOPERM:		return EX_NOPERM;
	case CAUSE_IOERR:		return EX_IOERR;
	case CAUSE_OSERR:		return EX_OSERR;
	case CAUSE_SOFTWARE:		return EX_SOFTWARE;
	}
	return EX_SOFTWARE;
}

int
status_exit(const struct failure *f)
{
	int code = failure_exit(f);

	return f->queued && code == EX_TEMPFAIL ? 0 : code;
}

bool
status_temporary(const struct failure *f)
{
	return failure_exit(f) == EX_TEMPFAIL;
}

/*
 * The sending side's set-up failed, not the message (CONTRACT section 6):
 * the configuration, the smarthost's name, the credentials. (An untrusted
 * certificate or a pin mismatch already defers: 75.)
 */
bool
status_setup(const struct failure *f)
{
	switch (failure_exit(f)) {
	case EX_CONFIG:
	case EX_NOHOST:
	case EX_NOPERM:
		return true;
	default:
		return false;
	}
}

/* What a person must fix, for the deferred: line of a set-up failure
 * ("" for any other). */
const char *
status_setup_fix(const struct failure *f)
{
	switch (failure_exit(f)) {
	case EX_NOHOST:
		return "check the smarthost's name (host)";
	case EX_NOPERM:
		return "check the credentials (user, password, passwordeval "
		    "or the OAuth2 grant)";
	case EX_CONFIG:
		return "fix the configuration";
	case EX_TEMPFAIL:
		return f->stage == STAGE_TLS ? "check the TLS set-up "
		    "(tls_trust_file, tls_fingerprint, port)" : "";
	default:
		return "";
	}
}

const char *
status_name(int code)
{
	static const struct {
		int		 code;
		const char	*name;
	} names[] = {
		{ EX_OK, "EX_OK" }, { EX_USAGE, "EX_USAGE" },
		{ EX_DATAERR, "EX_DATAERR" }, { EX_NOINPUT, "EX_NOINPUT" },
		{ EX_NOUSER, "EX_NOUSER" }, { EX_NOHOST, "EX_NOHOST" },
		{ EX_UNAVAILABLE, "EX_UNAVAILABLE" },
		{ EX_SOFTWARE, "EX_SOFTWARE" }, { EX_OSERR, "EX_OSERR" },
		{ EX_OSFILE, "EX_OSFILE" }, { EX_CANTCREAT, "EX_CANTCREAT" },
		{ EX_IOERR, "EX_IOERR" }, { EX_TEMPFAIL, "EX_TEMPFAIL" },
		{ EX_PROTOCOL, "EX_PROTOCOL" }, { EX_NOPERM, "EX_NOPERM" },
		{ EX_CONFIG, "EX_CONFIG" },
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].code == code)
			return names[i].name;
	return "EX_SOFTWARE";
}

#define COLUMNS	80

/* Words of p[0..n) from column *col, wrapped with a two-space indent. */
static void
print_words(FILE *out, const char *p, size_t n, size_t *col)
{
	size_t w;

	while (n > 0) {
		w = 0;
		while (w < n && p[w] != ' ')
			w++;
		if (*col > 2 && *col + 1 + w > COLUMNS) {
			fputs("\n ", out);
			*col = 1;
		}
		if (*col > 0) {
			fputc(' ', out);
			(*col)++;
		}
		fwrite(p, 1, w, out);
		*col += w;
		p += w;
		n -= w;
		while (n > 0 && *p == ' ') {
			p++;
			n--;
		}
	}
}

void
status_print(FILE *out, const struct failure *f, bool terminal, bool verbose)
{
	const char *p = f->text, *end;
	size_t col = 9;

	if (!terminal || (strlen(f->text) + 10 <= COLUMNS &&
	    (f->detail[0] == '\0' || !verbose))) {
		fprintf(out, "smtpsend: %s", f->text);
		if (f->detail[0] != '\0' && (!terminal || verbose))
			fprintf(out, " (%s)", f->detail);
		fputc('\n', out);
		return;
	}
	/* A clause per line: what failed, what became of the message, what
	 * to do next. */
	fputs("smtpsend:", out);
	for (;;) {
		end = strstr(p, "; ");
		print_words(out, p, end ? (size_t)(end - p) : strlen(p), &col);
		if (end == NULL)
			break;
		fputs(";\n ", out);
		col = 1;
		p = end + 2;
	}
	if (verbose && f->detail[0] != '\0') {	/* the library's words */
		char shown[sizeof(f->detail) + 2];

		snprintf(shown, sizeof(shown), "(%s)", f->detail);
		fputs("\n ", out);
		col = 1;
		print_words(out, shown, strlen(shown), &col);
	}
	fputc('\n', out);
}
