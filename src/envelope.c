/* SPDX-License-Identifier: ISC */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "aliases.h"
#include "compose.h"
#include "envelope.h"
#include "escape.h"
#include "hostname.h"

static int
bad_address(struct failure *f, const char *what, const char *value,
    const char *why)
{
	/* fail() escapes the whole line: the value is not escaped twice. */
	fail(f, STAGE_NONE, CAUSE_DATAERR, 0, "invalid %s '%.300s': %s", what,
	    value, why);
	return -1;
}

static bool
is_null_sender(const char *s)
{
	return *s == '\0' || strcmp(s, "<>") == 0;
}

/* One address list (argv or header) into `out`, each address checked. */
static int
add_list(struct addrlist *out, const char *what, const char *text,
    struct failure *f)
{
	struct addrlist l = { 0 };
	char why[160];
	size_t i;
	int r = -1;

	if (has_control(text, strlen(text)) && strstr(what, "header") == NULL)
		return bad_address(f, what, text, "control character");
	if (addrlist_parse(&l, text, why, sizeof(why)) == -1) {
		bad_address(f, what, text, why);
		goto out;
	}
	for (i = 0; i < l.n; i++) {
		if (addr_check(l.v[i].spec, why, sizeof(why)) == -1) {
			bad_address(f, what, l.v[i].spec, why);
			goto out;
		}
		if (out != NULL && addrlist_add_unique(out, l.v[i].spec) == -1) {
			fail_errno(f, CAUSE_OSERR, "out of memory");
			goto out;
		}
	}
	r = 0;
out:
	addrlist_free(&l);
	return r;
}

/* --to, --cc and --bcc: recipients like the arguments. */
static int
compose_recipients(struct addrlist *out, const struct options *o,
    struct failure *f)
{
	const struct strlist *lists[] = { &o->to, &o->cc, &o->bcc };
	static const char *const what[] = { "--to", "--cc", "--bcc" };
	size_t k;
	int i;

	for (k = 0; k < 3; k++)
		for (i = 0; i < lists[k]->n; i++)
			if (add_list(out, what[k], lists[k]->v[i], f) == -1)
				return -1;
	return 0;
}

int
envelope_check_args(const struct options *o, struct failure *f)
{
	char why[160];
	int i;

	if (o->nrecipients == 0 && !o->recipients_from_headers &&
	    o->to.n + o->cc.n + o->bcc.n == 0) {
		fail(f, STAGE_NONE, CAUSE_USAGE, 0, "no recipients: give them "
		    "as arguments or use -t");
		return -1;
	}

	for (i = 0; i < o->nrecipients; i++)
		if (add_list(NULL, "recipient", o->recipients[i], f) == -1)
			return -1;
	if (compose_recipients(NULL, o, f) == -1)
		return -1;
	if (o->sender != NULL && !is_null_sender(o->sender) &&
	    addr_check(o->sender, why, sizeof(why)) == -1)
		return bad_address(f, "sender (-f)", o->sender, why);
	if (o->full_name != NULL && has_control(o->full_name,
	    strlen(o->full_name)))
		return bad_address(f, "full name (-F)", o->full_name,
		    "control character");
	if (o->envid != NULL && has_control(o->envid, strlen(o->envid)))
		return bad_address(f, "envelope id (-V)", o->envid,
		    "control character");
	return 0;
}

/* The first address of a header field, or NULL. */
static char *
first_address(const struct message *m, const char *name, struct failure *f)
{
	const struct header *h = header_find(m, name, 0);
	struct addrlist l = { 0 };
	char why[160], *r = NULL;

	if (h == NULL)
		return NULL;
	if (addrlist_parse(&l, header_value(h), why, sizeof(why)) == -1)
		bad_address(f, name, header_value(h), why);
	else if (l.n > 0)
		r = strdup(l.v[0].spec);
	addrlist_free(&l);
	return r;
}

int
envelope_sender_hint(const struct options *o, const struct message *m,
    char **hint, struct failure *f)
{
	*hint = NULL;
	if (o->sender != NULL)
		*hint = strdup(is_null_sender(o->sender) ? "" : o->sender);
	else if (o->read_envelope_from) {
		/* Resent-From names the sender of a resent message. */
		*hint = first_address(m, "Resent-From", f);
		if (*hint == NULL && !failed(f))
			*hint = first_address(m, "From", f);
		if (*hint == NULL && !failed(f))
			fail(f, STAGE_NONE, CAUSE_DATAERR, 0,
			    "--read-envelope-from: the message has no From");
		return failed(f) ? -1 : 0;
	} else
		return 0;
	if (*hint == NULL)
		fail_errno(f, CAUSE_OSERR, "out of memory");
	return *hint == NULL ? -1 : 0;
}

int
envelope_account(const struct config *c, const char *name, const char *hint,
    const struct account **a, struct failure *f)
{
	*a = NULL;
	if (name != NULL) {
		if ((*a = config_find(c, name)) == NULL) {
			fail(f, STAGE_NONE, CAUSE_CONFIG, 0, "no account %s in "
			    "the configuration", name);
			return -1;
		}
		return 0;
	}
	if (hint != NULL && *hint != '\0')
		*a = config_match_from(c, hint);
	if (*a == NULL)
		*a = config_find(c, "default");
	if (*a == NULL && c->naccounts == 1)
		*a = &c->accounts[0];
	if (*a == NULL && c->naccounts == 0)
		*a = &c->defaults;
	if (*a == NULL && c->naccounts > 1) {
		fail(f, STAGE_NONE, CAUSE_CONFIG, 0, "no default account: use "
		    "-a or define 'account default : NAME'");
		return -1;
	}
	return 0;
}

int
envelope_settings(const struct config *c, const char *name, const char *hint,
    char *const over[KEY_COUNT], bool person, struct settings *s,
    struct failure *f)
{
	const struct account *a;

	if (envelope_account(c, name, hint, &a, f) == -1 ||
	    config_check_origins(a, over, person, f) == -1)
		return -1;
	return settings_resolve(s, a, over, f);
}

static char *
choose_sender(const struct options *o, const struct settings *s,
    const char *hint)
{
	const char *email = user_env("EMAIL"), *user, *dom;
	char buf[512];

	if (hint != NULL && (o->sender == NULL || s->allow_from_override ||
	    s->from == NULL))
		return strdup(hint);
	if (s->from != NULL && strchr(s->from, '*') == NULL)
		return strdup(s->from);
	if (email != NULL && *email != '\0')
		return strdup(email);
	if ((user = user_name()) == NULL)
		return NULL;
	if ((dom = mail_domain(s->maildomain, s->from)) == NULL)
		return strdup(user);	/* qualify() says what is missing */
	snprintf(buf, sizeof(buf), "%s@%s", user, dom);
	return strdup(buf);
}

/* -t: To, Cc, Bcc, or only the first block of Resent- fields. */
static int
header_recipients(struct envelope *e, const struct message *m,
    struct failure *f)
{
	static const char *const plain[] = { "To", "Cc", "Bcc", NULL };
	static const char *const resent[] = { "Resent-To", "Resent-Cc",
	    "Resent-Bcc", NULL };
	const char *const *names = plain;
	const struct header *h;
	size_t i, from, block_end = m->nheaders;
	char what[64];

	for (i = 0; i < m->nheaders; i++)
		if (strncasecmp(m->headers[i].text, "Resent-", 7) == 0)
			break;
	if (i < m->nheaders) {
		/* The first Resent- block is the newest resending. */
		names = resent;
		for (block_end = i; block_end < m->nheaders &&
		    strncasecmp(m->headers[block_end].text, "Resent-", 7) == 0;
		    block_end++)
			;
	}
	for (; *names != NULL; names++)
		for (from = 0; (h = header_find(m, *names, from)) != NULL;
		    from = (size_t)(h - m->headers) + 1) {
			if ((size_t)(h - m->headers) >= block_end)
				break;
			snprintf(what, sizeof(what), "%s header", *names);
			if (add_list(&e->rcpts, what, header_value(h), f) == -1)
				return -1;
		}
	return 0;
}

static int
collect_recipients(struct envelope *e, const struct options *o,
    const struct message *m, struct failure *f)
{
	int i;

	for (i = 0; i < o->nrecipients; i++)
		if (add_list(&e->rcpts, "recipient", o->recipients[i], f) == -1)
			return -1;
	if (compose_recipients(&e->rcpts, o, f) == -1)
		return -1;
	if (o->recipients_from_headers && header_recipients(e, m, f) == -1)
		return -1;
	/* Only -t gets here without any: the message is read, and kept. */
	if (e->rcpts.n == 0) {
		fail(f, STAGE_NONE, CAUSE_USAGE, 0, "no recipients: the "
		    "message has no To, Cc or Bcc (or Resent-) addresses");
		return -1;
	}
	if (e->rcpts.n > RECIPIENTS_MAX) {
		fail(f, STAGE_NONE, CAUSE_DATAERR, 0, "more than %d recipients",
		    RECIPIENTS_MAX);
		return -1;
	}
	return 0;
}

/* A bare name, or name@ this host's short or full name. */
static bool
is_local(const char *spec)
{
	const char *at = strrchr(spec, '@');

	return *spec != '\0' && (at == NULL || host_is_local(at + 1));
}

/* The local part of a local address, for the aliases. */
static char *
local_part(const char *spec)
{
	const char *at = strrchr(spec, '@');

	return at == NULL ? strdup(spec) : strndup(spec, (size_t)(at - spec));
}

/* A local name gets @maildomain; there must be one with a dot. */
static int
qualify(char **spec, const struct settings *s, struct failure *f)
{
	char why[160];
	const char *dom;
	char *q, *local;

	if (!is_local(*spec))
		return 0;
	if ((dom = mail_domain(s->maildomain, s->from)) == NULL) {
		mail_domain_why(why, sizeof(why));
		fail(f, STAGE_NONE, CAUSE_CONFIG, 0, "cannot qualify the local "
		    "name '%.300s': this host's name has no dot and %s; set "
		    "maildomain in the configuration (a smarthost refuses "
		    "unqualified addresses)", *spec, why);
		return -1;
	}
	if ((local = local_part(*spec)) == NULL ||
	    asprintf(&q, "%s@%s", local, dom) == -1) {
		free(local);
		fail_errno(f, CAUSE_OSERR, "out of memory");
		return -1;
	}
	free(local);
	free(*spec);
	*spec = q;
	return 0;
}

/*
 * A local recipient through the aliases (when there are any), then
 * qualified; a sender (`sender`) is only qualified, never aliased: a
 * `default:` line catches recipients only.
 */
static int
map_local(const char *spec, const struct aliases *al, bool sender,
    const struct settings *s, struct addrlist *out, struct failure *f)
{
	struct addrlist l = { 0 };
	char *local = NULL;
	size_t i;
	int r = -1;

	if (al == NULL || sender || !is_local(spec)) {
		if (addrlist_add_unique(&l, spec) == -1)
			goto nomem;
	} else if ((local = local_part(spec)) == NULL)
		goto nomem;
	else if (aliases_expand(al, local, &l, f) == -1)
		goto out;
	for (i = 0; i < l.n; i++) {
		if (qualify(&l.v[i].spec, s, f) == -1)
			goto out;
		if (addrlist_add_unique(out, l.v[i].spec) == -1)
			goto nomem;
	}
	r = 0;
	goto out;
nomem:
	fail_errno(f, CAUSE_OSERR, "out of memory");
out:
	free(local);
	addrlist_free(&l);
	return r;
}

/*
 * A word without @ typed in compose mode is a name this host knows, or a
 * typo (`--to bob gmail.com`): never qualified into a stranger's address.
 */
static int
known_name(const char *spec, const struct aliases *al, struct failure *f)
{
	if (strchr(spec, '@') != NULL || (al != NULL && aliases_has(al, spec))
	    || getpwnam(spec) != NULL)
		return 0;
	fail(f, STAGE_NONE, CAUSE_DATAERR, 0, "recipient '%.100s' has no @ and "
	    "is neither an alias nor a local account; nothing was sent", spec);
	return -1;
}

/* "bob → bob@example.com": what a bare name became, for the person. */
static void
show_mapping(struct buf *shown, const char *spec, const struct addrlist *all,
    size_t from)
{
	size_t i;

	if (all->n == from + 1 && strcmp(all->v[from].spec, spec) == 0)
		return;
	buf_printf(shown, "%s\t", spec);
	for (i = from; i < all->n; i++)
		buf_printf(shown, "%s%s", all->v[i].spec, i + 1 < all->n ?
		    ", " : "\n");
}

static int
map_envelope(struct envelope *e, const struct aliases *al,
    const struct settings *s, struct failure *f)
{
	struct addrlist rcpts = { 0 };
	size_t i, before;

	for (i = 0; i < e->rcpts.n; i++) {
		before = rcpts.n;
		if ((e->typed && known_name(e->rcpts.v[i].spec, al, f) == -1) ||
		    map_local(e->rcpts.v[i].spec, al, false, s, &rcpts, f) == -1)
			goto fail;
		if (e->typed && rcpts.n > before)
			show_mapping(&e->shown, e->rcpts.v[i].spec, &rcpts,
			    before);
	}
	addrlist_free(&e->rcpts);
	e->rcpts = rcpts;
	if (*e->sender != '\0' && qualify(&e->sender, s, f) == -1)
		return -1;
	e->smtputf8 = has_8bit(e->sender, strlen(e->sender));
	for (i = 0; i < e->rcpts.n; i++)
		if (has_8bit(e->rcpts.v[i].spec, strlen(e->rcpts.v[i].spec)))
			e->smtputf8 = true;
	return 0;
fail:
	addrlist_free(&rcpts);
	return -1;
}

/* Display names as written when they are plain words, else quoted. */
static void
render(struct buf *b, const char *name, const char *spec)
{
	const char *p;

	if (b->len > 0)
		buf_addstr(b, ", ");
	if (name == NULL || *name == '\0') {
		buf_addstr(b, spec);
		return;
	}
	if (*name == '"' || strpbrk(name, "()<>[]:;@\\,.\"") == NULL)
		buf_printf(b, "%s <%s>", name, spec);
	else {
		buf_addch(b, '"');
		for (p = name; *p != '\0'; p++) {
			if (*p == '"' || *p == '\\')
				buf_addch(b, '\\');
			buf_addch(b, *p);
		}
		buf_printf(b, "\" <%s>", spec);
	}
}

static bool
any_local(const struct addrlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (is_local(l->v[i].spec))
			return true;
	return false;
}

/* Author fields name senders: qualified, never aliased. */
static bool
is_sender_field(const char *name)
{
	return strcasecmp(name, "From") == 0 || strcasecmp(name, "Sender") ==
	    0 || strcasecmp(name, "Reply-To") == 0;
}

/*
 * From, To and Cc with bare local names ("root (Cron Daemon)") are
 * rewritten with the envelope's mapping, keeping the names people read.
 */
static int
map_field(struct header *h, const struct aliases *al,
    const struct settings *s, struct failure *f)
{
	struct addrlist l = { 0 }, mapped;
	struct buf v = BUF_INIT;
	char why[160], name[128];
	size_t i, k;
	int r = 0;
	bool from;

	snprintf(name, sizeof(name), "%.*s", (int)h->namelen, h->text);
	name[strcspn(name, " \t")] = '\0';
	from = is_sender_field(name);
	if (addrlist_parse(&l, header_value(h), why, sizeof(why)) == -1 ||
	    !any_local(&l))
		goto out;
	for (i = 0; i < l.n && r == 0; i++) {
		memset(&mapped, 0, sizeof(mapped));
		r = map_local(l.v[i].spec, al, from, s, &mapped, f);
		/* An author is one mailbox: the first the name stands for. */
		for (k = 0; r == 0 && k < mapped.n && (!from || k == 0); k++)
			render(&v, l.v[i].display ? l.v[i].display :
			    l.v[i].comment, mapped.v[k].spec);
		addrlist_free(&mapped);
	}
	if (r == 0 && v.data != NULL) {
		free(h->text);
		if (asprintf(&h->text, "%s: %s", name, v.data) == -1) {
			h->text = NULL;
			r = -1;
		}
	}
out:
	buf_free(&v);
	addrlist_free(&l);
	return r;
}

static int
map_headers(struct message *m, const struct aliases *al,
    const struct settings *s, struct failure *f)
{
	static const char *const names[] = { "From", "Sender", "Reply-To",
	    "To", "Cc" };
	size_t i, k;

	for (k = 0; k < sizeof(names) / sizeof(names[0]); k++)
		for (i = 0; i < m->nheaders; i++)
			if (header_is(&m->headers[i], names[k],
			    strlen(names[k])) &&
			    map_field(&m->headers[i], al, s, f) == -1)
				return -1;
	return 0;
}

/* Aliases and maildomain for the envelope and the From/To/Cc fields. */
static int
map_all(struct envelope *e, struct message *m, const struct settings *s,
    struct failure *f)
{
	struct aliases al;
	int r;

	if (s->aliases != NULL && aliases_load(&al, s->aliases, f) == -1)
		return -1;
	r = map_envelope(e, s->aliases ? &al : NULL, s, f);
	if (r == 0)
		r = map_headers(m, s->aliases ? &al : NULL, s, f);
	if (s->aliases != NULL)
		aliases_free(&al);
	if (r == -1 && !failed(f))
		fail_errno(f, CAUSE_OSERR, "out of memory");
	return r;
}

/* RFC 5322 date in the C locale's English names, local time. */
static int
add_date(struct message *m)
{
	static const char days[][4] = { "Sun", "Mon", "Tue", "Wed", "Thu",
	    "Fri", "Sat" };
	static const char months[][4] = { "Jan", "Feb", "Mar", "Apr", "May",
	    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t now = time(NULL);
	struct tm tm;
	char date[64], zone[8];

	if (localtime_r(&now, &tm) == NULL)
		return -1;
	strftime(zone, sizeof(zone), "%z", &tm);
	snprintf(date, sizeof(date), "%s, %d %s %d %02d:%02d:%02d %s",
	    days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec, zone);
	return header_add(m, "Date", date);
}

static int
add_message_id(struct message *m, const char *sender,
    const struct settings *s)
{
	const char *dom = sender != NULL ? addr_domain(sender) : NULL;
	unsigned char r[12];
	char id[320];
	size_t i, n;

	if (dom == NULL || *dom == '\0' || strchr(dom, '*') != NULL)
		dom = mail_domain(s->maildomain, s->from);
	if (dom == NULL)
		dom = "localhost.invalid";
	arc4random_buf(r, sizeof(r));
	n = (size_t)snprintf(id, sizeof(id), "<");
	for (i = 0; i < sizeof(r); i++)
		n += (size_t)snprintf(id + n, sizeof(id) - n, "%02x", r[i]);
	snprintf(id + n, sizeof(id) - n, "@%s>", dom);
	return header_add(m, "Message-ID", id);
}

static int
complete_headers(struct message *m, const struct options *o,
    const struct settings *s, const char *sender)
{
	const char *name = o->full_name ? o->full_name : s->from_full_name;
	struct buf from = BUF_INIT;
	int r;

	if (o->recipients_from_headers && s->remove_bcc_headers &&
	    (header_remove(m, "Bcc") == -1 ||
	    header_remove(m, "Resent-Bcc") == -1))
		return -1;
	if (s->set_date_header == HEADER_AUTO &&
	    header_find(m, "Date", 0) == NULL && add_date(m) == -1)
		return -1;
	if (s->set_msgid_header == HEADER_AUTO &&
	    header_find(m, "Message-ID", 0) == NULL &&
	    add_message_id(m, sender, s) == -1)
		return -1;
	if (*sender == '\0' || s->set_from_header == HEADER_OFF ||
	    (s->set_from_header == HEADER_AUTO && header_find(m, "From", 0)))
		return 0;
	/* A name that is not ASCII goes as RFC 2047 encoded words. */
	r = compose_mailbox(&from, name, sender) == 0 && from.data != NULL ?
	    header_set(m, "From", from.data) : -1;
	buf_free(&from);
	return r;
}

int
envelope_collect_raw(struct envelope *e, const struct options *o,
    struct message *m, const char *hint, struct failure *f)
{
	const char *user = user_name();

	memset(e, 0, sizeof(*e));
	if ((e->sender = strdup(hint != NULL ? hint : user != NULL ? user :
	    "")) == NULL || collect_recipients(e, o, m, f) == -1)
		return failed(f) ? -1 : (fail_errno(f, CAUSE_OSERR, "out of "
		    "memory"), -1);
	e->notify = o->dsn_notify;
	e->ret = o->dsn_return == NULL ? NULL :
	    strcasecmp(o->dsn_return, "full") == 0 ? "FULL" : "HDRS";
	if (o->envid != NULL && (e->envid = xtext_encode(o->envid)) == NULL)
		return fail_errno(f, CAUSE_OSERR, "out of memory"), -1;
	/* -t's Bcc goes now: whoever finishes the envelope cannot tell. */
	if (o->recipients_from_headers && (header_remove(m, "Bcc") == -1 ||
	    header_remove(m, "Resent-Bcc") == -1))
		return fail_errno(f, CAUSE_OSERR, "out of memory"), -1;
	e->body_8bitmime = o->body_8bitmime || m->eight_bit;
	return 0;
}

int
envelope_finish(struct envelope *e, const struct settings *s,
    struct message *m, struct failure *f)
{
	struct options none;

	memset(&none, 0, sizeof(none));
	if (map_all(e, m, s, f) == -1)
		return -1;
	if (complete_headers(m, &none, s, e->sender) == -1) {
		fail_errno(f, CAUSE_OSERR, "out of memory");
		return -1;
	}
	message_analyse_headers(m);
	return 0;
}

int
envelope_build(struct envelope *e, const struct options *o,
    const struct settings *s, struct message *m, const char *hint,
    struct failure *f)
{
	char why[160];

	memset(e, 0, sizeof(*e));
	e->typed = o->compose;
	if ((e->sender = choose_sender(o, s, hint)) == NULL) {
		fail(f, STAGE_NONE, CAUSE_CONFIG, 0, "no envelope sender: set "
		    "from in the configuration or use -f");
		return -1;
	}
	if (*e->sender != '\0' && addr_check(e->sender, why, sizeof(why))
	    == -1)
		return bad_address(f, "sender", e->sender, why);
	if (collect_recipients(e, o, m, f) == -1 || map_all(e, m, s, f) == -1)
		return -1;
	e->notify = o->dsn_notify ? o->dsn_notify : s->dsn_notify;
	e->ret = o->dsn_return ? o->dsn_return : s->dsn_return;
	if (e->ret != NULL)
		e->ret = strcasecmp(e->ret, "full") == 0 ? "FULL" : "HDRS";
	if (o->envid != NULL && (e->envid = xtext_encode(o->envid)) == NULL)
		goto nomem;
	if (complete_headers(m, o, s, e->sender) == -1)
		goto nomem;
	message_analyse_headers(m);
	e->body_8bitmime = o->body_8bitmime || m->eight_bit;
	return 0;
nomem:
	fail_errno(f, CAUSE_OSERR, "out of memory");
	return -1;
}

void
envelope_free(struct envelope *e)
{
	free(e->sender);
	free(e->envid);
	addrlist_free(&e->rcpts);
	buf_free(&e->shown);
	memset(e, 0, sizeof(*e));
}
