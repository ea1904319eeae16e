/* SPDX-License-Identifier: ISC */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "reply.h"

void
reply_parser_init(struct reply_parser *p)
{
	memset(p, 0, sizeof(*p));
}

static void
protocol_error(struct reply_parser *p, const char *why)
{
	p->error = true;
	snprintf(p->why, sizeof(p->why), "%s", why);
}

/* One complete line (its first bytes in p->line); true when last. */
static bool
reply_line(struct reply_parser *p)
{
	struct reply *r = &p->cur;
	size_t len = p->linelen < sizeof(p->line) ? p->linelen :
	    sizeof(p->line), tlen;
	char *l = p->line;
	int code;

	if (len > 0 && l[len - 1] == '\r')
		len--;
	if (len < 3 || !isdigit((unsigned char)l[0]) ||
	    !isdigit((unsigned char)l[1]) || !isdigit((unsigned char)l[2]) ||
	    (len > 3 && l[3] != ' ' && l[3] != '-')) {
		protocol_error(p, "reply line does not start with a code");
		return true;
	}
	code = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
	if (code < 200 || code > 599) {
		protocol_error(p, "reply code out of range");
		return true;
	}
	if (r->lines > 0 && code != r->code) {
		protocol_error(p, "reply lines with different codes");
		return true;
	}
	if (++r->lines > REPLY_LINES_MAX) {
		protocol_error(p, "reply longer than 1000 lines");
		return true;
	}
	r->code = code;
	tlen = len > 4 ? len - 4 : 0;
	/* Lines are joined by '\n', an empty first line included. */
	if (r->lines > 1 && r->textlen + 1 < sizeof(r->text))
		r->text[r->textlen++] = '\n';
	if (tlen > sizeof(r->text) - 1 - r->textlen)
		tlen = sizeof(r->text) - 1 - r->textlen;
	memcpy(r->text + r->textlen, l + 4, tlen);
	r->textlen += tlen;
	r->text[r->textlen] = '\0';
	return len == 3 || l[3] == ' ';
}

size_t
reply_parse(struct reply_parser *p, const char *buf, size_t n,
    struct reply *out, bool *done)
{
	size_t i;

	*done = false;
	for (i = 0; i < n && !p->error; i++) {
		char c = buf[i];

		if (c == '\0') {
			protocol_error(p, "NUL byte in reply");
			break;
		}
		if (c != '\n') {
			if (p->linelen < sizeof(p->line))
				p->line[p->linelen] = c;
			if (++p->linelen > REPLY_LINE_MAX)
				protocol_error(p, "reply line over 64 KB");
			continue;
		}
		if (reply_line(p) && !p->error) {
			*out = p->cur;
			memset(&p->cur, 0, sizeof(p->cur));
			p->linelen = 0;
			*done = true;
			return i + 1;
		}
		p->linelen = 0;
	}
	return i;
}

static bool
keyword(const char *line, size_t len, const char *kw, const char **arg)
{
	size_t k = strlen(kw);

	if (len < k || strncasecmp(line, kw, k) != 0 ||
	    (len > k && line[k] != ' ' && line[k] != '='))
		return false;
	/* Without an argument the line ends here, not at the next one. */
	*arg = len > k ? line + k + 1 : "";
	return true;
}

/* RFC 9422: "LIMITS RCPTMAX=100 MAILMAX=10"; 0 when absent or absurd. */
static size_t
limits_rcptmax(const char *arg, size_t len)
{
	char copy[256], *w, *save;
	unsigned long long n;

	if (len >= sizeof(copy))
		len = sizeof(copy) - 1;
	memcpy(copy, arg, len);
	copy[len] = '\0';
	for (w = strtok_r(copy, " ", &save); w != NULL;
	    w = strtok_r(NULL, " ", &save))
		if (strncasecmp(w, "RCPTMAX=", 8) == 0 &&
		    isdigit((unsigned char)w[8])) {
			n = strtoull(w + 8, NULL, 10);
			return n > 0 && n < 1000000 ? (size_t)n : 0;
		}
	return 0;
}

static void
caps_line(struct caps *c, const char *line, size_t len)
{
	const char *arg;

	if (keyword(line, len, "PIPELINING", &arg))
		c->pipelining = true;
	else if (keyword(line, len, "CHUNKING", &arg))
		c->chunking = true;
	else if (keyword(line, len, "8BITMIME", &arg))
		c->eightbitmime = true;
	else if (keyword(line, len, "SMTPUTF8", &arg))
		c->smtputf8 = true;
	else if (keyword(line, len, "DSN", &arg))
		c->dsn = true;
	else if (keyword(line, len, "STARTTLS", &arg))
		c->starttls = true;
	else if (keyword(line, len, "ENHANCEDSTATUSCODES", &arg))
		c->enhancedstatuscodes = true;
	else if (keyword(line, len, "SIZE", &arg)) {
		c->size = true;
		c->size_max = isdigit((unsigned char)*arg) ?
		    strtoull(arg, NULL, 10) : 0;
	} else if (keyword(line, len, "LIMITS", &arg))
		/* Without an argument `arg` is not inside the line. */
		c->rcptmax = *arg != '\0' ? limits_rcptmax(arg, len -
		    (size_t)(arg - line)) : 0;
	else if (keyword(line, len, "AUTH", &arg) && *arg != '\0') {
		size_t n = len - (size_t)(arg - line);

		c->auth = true;
		if (n >= sizeof(c->auth_mechs))
			n = sizeof(c->auth_mechs) - 1;
		memcpy(c->auth_mechs, arg, n);
		c->auth_mechs[n] = '\0';
	}
}

void
caps_parse(struct caps *c, const struct reply *r)
{
	const char *line = r->text, *nl;

	memset(c, 0, sizeof(*c));
	/* The first line is the server's name. */
	if ((nl = strchr(line, '\n')) == NULL)
		return;
	for (line = nl + 1; *line != '\0'; line = nl + 1) {
		nl = strchr(line, '\n');
		caps_line(c, line, nl ? (size_t)(nl - line) : strlen(line));
		if (nl == NULL)
			break;
	}
}

void
caps_all(struct caps *c)
{
	memset(c, 0, sizeof(*c));
	c->pipelining = c->chunking = c->eightbitmime = c->smtputf8 = true;
	c->dsn = c->enhancedstatuscodes = c->size = true;
}
