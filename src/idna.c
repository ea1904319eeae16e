/* SPDX-License-Identifier: ISC */
#include <idn2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "escape.h"
#include "idna.h"

/* 0: done (*out allocated); -1: a non-ASCII local part; -2: bad domain. */
static int
ascii_address(const char *spec, char **out)
{
	const char *at = strrchr(spec, '@');
	char *alabel = NULL;

	*out = NULL;
	if (has_8bit(spec, at != NULL ? (size_t)(at - spec) : strlen(spec)))
		return -1;
	if (at == NULL || at[1] == '[' || !has_8bit(at + 1, strlen(at + 1)))
		return (*out = strdup(spec)) == NULL ? -2 : 0;
	if (idn2_to_ascii_8z(at + 1, &alabel, IDN2_NFC_INPUT |
	    IDN2_NONTRANSITIONAL) != IDN2_OK)
		return -2;
	if (asprintf(out, "%.*s@%s", (int)(at - spec), spec, alabel) == -1)
		*out = NULL;
	idn2_free(alabel);
	return *out == NULL ? -2 : 0;
}

static int
refused(struct failure *f, const char *spec, int why)
{
	if (why == -1)
		fail(f, STAGE_MAIL, CAUSE_UNAVAILABLE, 0, "the address '%.300s' "
		    "has a non-ASCII local part, which needs SMTPUTF8; the server "
		    "does not offer it", spec);
	else
		fail(f, STAGE_NONE, CAUSE_DATAERR, 0, "the domain of '%.300s' is "
		    "not a valid internationalized domain name", spec);
	return -1;
}

int
idna_envelope(const struct envelope *e, struct envelope *a,
    struct failure *f)
{
	char *spec;
	size_t i;
	int r;

	*a = *e;
	memset(&a->rcpts, 0, sizeof(a->rcpts));
	a->envid = NULL;
	a->smtputf8 = false;
	if ((r = ascii_address(e->sender, &a->sender)) != 0) {
		a->sender = NULL;
		return refused(f, e->sender, r);
	}
	for (i = 0; i < e->rcpts.n; i++) {
		if ((r = ascii_address(e->rcpts.v[i].spec, &spec)) != 0)
			return refused(f, e->rcpts.v[i].spec, r);
		r = addrlist_add_unique(&a->rcpts, spec);
		free(spec);
		if (r == -1)
			return fail_errno(f, CAUSE_OSERR, "out of memory"), -1;
	}
	if (e->envid != NULL && (a->envid = strdup(e->envid)) == NULL)
		return fail_errno(f, CAUSE_OSERR, "out of memory"), -1;
	return 0;
}

static const char *const address_fields[] = { "From", "Sender", "Reply-To",
	"To", "Cc", "Message-ID" };

static bool
address_field(const struct header *h)
{
	size_t i;

	for (i = 0; i < sizeof(address_fields) / sizeof(address_fields[0]); i++)
		if (header_is(h, address_fields[i], strlen(address_fields[i])))
			return true;
	return false;
}

/* The field with every non-ASCII domain after an '@' as its A-label; a
 * domain IDNA 2008 refuses stays as written. NULL when out of memory. */
static char *
alabel_domains(const char *text)
{
	struct buf b = BUF_INIT;
	const char *p = text, *at;
	char *dom, *alabel;
	size_t n;

	while ((at = strchr(p, '@')) != NULL) {
		n = strcspn(at + 1, " \t\r\n<>,;()\"[]");
		buf_add(&b, p, (size_t)(at + 1 - p));
		alabel = NULL;
		if (has_8bit(at + 1, n) && (dom = strndup(at + 1, n)) != NULL) {
			if (idn2_to_ascii_8z(dom, &alabel, IDN2_NFC_INPUT |
			    IDN2_NONTRANSITIONAL) != IDN2_OK)
				alabel = NULL;
			free(dom);
		}
		if (alabel != NULL)
			buf_addstr(&b, alabel);
		else
			buf_add(&b, at + 1, n);
		idn2_free(alabel);
		p = at + 1 + n;
	}
	buf_addstr(&b, p);
	return b.data;
}

int
idna_headers(const struct message *m, struct message *a, struct failure *f)
{
	size_t i, n = 0;

	for (i = 0; i < m->nheaders; i++)
		if (address_field(&m->headers[i]) &&
		    has_8bit(m->headers[i].text, strlen(m->headers[i].text)))
			n++;
	if (n == 0)
		return 0;
	*a = *m;
	if ((a->headers = calloc(m->nheaders, sizeof(*a->headers))) == NULL)
		goto nomem;
	for (i = 0; i < m->nheaders; i++) {
		a->headers[i].namelen = m->headers[i].namelen;
		a->headers[i].text = address_field(&m->headers[i]) ?
		    alabel_domains(m->headers[i].text) :
		    strdup(m->headers[i].text);
		if (a->headers[i].text == NULL) {
			idna_headers_free(a);
			goto nomem;
		}
	}
	a->longest_line = m->longest_line;
	message_analyse_headers(a);
	return 1;
nomem:
	fail_errno(f, CAUSE_OSERR, "out of memory");
	return -1;
}

void
idna_headers_free(struct message *a)
{
	size_t i;

	if (a->headers != NULL)
		for (i = 0; i < a->nheaders; i++)
			free(a->headers[i].text);
	free(a->headers);
	a->headers = NULL;
	a->nheaders = 0;
}
