/* SPDX-License-Identifier: ISC */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "smtpcmd.h"

int
smtpcmd_check(const struct envelope *e, const struct caps *c, off_t size,
    struct failure *f)
{
	if (e->smtputf8 && !c->smtputf8) {
		fail(f, STAGE_MAIL, CAUSE_UNAVAILABLE, 0, "a non-ASCII address "
		    "needs SMTPUTF8, which the server does not offer");
		return -1;
	}
	if ((e->notify || e->ret || e->envid) && !c->dsn) {
		fail(f, STAGE_MAIL, CAUSE_UNAVAILABLE, 0, "delivery status "
		    "notification was asked for, but the server does not offer "
		    "DSN");
		return -1;
	}
	if (c->size && c->size_max > 0 &&
	    (unsigned long long)size > c->size_max) {
		fail(f, STAGE_MAIL, CAUSE_UNAVAILABLE, 0, "the message (%lld "
		    "bytes) exceeds the server's size limit of %llu bytes",
		    (long long)size, c->size_max);
		return -1;
	}
	return 0;
}

int
smtpcmd_mail(struct buf *b, const struct envelope *e, const struct caps *c,
    off_t size)
{
	int r = buf_printf(b, "MAIL FROM:<%s>", e->sender);

	if (r == 0 && c->size)
		r = buf_printf(b, " SIZE=%lld", (long long)size);
	if (r == 0 && e->body_8bitmime && c->eightbitmime)
		r = buf_addstr(b, " BODY=8BITMIME");
	if (r == 0 && e->smtputf8)
		r = buf_addstr(b, " SMTPUTF8");
	if (r == 0 && e->ret != NULL)
		r = buf_printf(b, " RET=%s", e->ret);
	if (r == 0 && e->envid != NULL)
		r = buf_printf(b, " ENVID=%s", e->envid);
	return r == 0 ? buf_add(b, "\r\n", 2) : -1;
}

static int
add_notify(struct buf *b, const char *notify)
{
	const char *p;

	if (buf_addstr(b, " NOTIFY=") == -1)
		return -1;
	for (p = notify; *p != '\0'; p++)
		if (buf_addch(b, (char)toupper((unsigned char)*p)) == -1)
			return -1;
	return 0;
}

int
smtpcmd_rcpt(struct buf *b, const struct envelope *e, size_t i)
{
	if (buf_printf(b, "RCPT TO:<%s>", e->rcpts.v[i].spec) == -1)
		return -1;
	if (e->notify != NULL && add_notify(b, e->notify) == -1)
		return -1;
	return buf_add(b, "\r\n", 2);
}
