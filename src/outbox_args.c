/* SPDX-License-Identifier: ISC */
/*
 * The arguments an entry keeps when it was saved before its envelope could
 * be made (CONTRACT section 7: a configuration error): -t, -f, -F, -N, -R,
 * -V, --read-envelope-from, -B and the recipient arguments, so that -q
 * resolves them with the configuration as it is then. Read back as hostile
 * input: every value is checked again when the envelope is built.
 */
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "buf.h"
#include "escape.h"
#include "outbox.h"

/* Values written as they are: one line each, so no control character. */
static bool
plain(const char *v)
{
	return v == NULL || !has_control(v, strlen(v));
}

void
outbox_args_from(struct outbox_args *a, const struct options *o)
{
	int i;

	memset(a, 0, sizeof(*a));
	/* Compose mode is a person's, at a terminal: not resolved later. */
	if (o == NULL || o->compose || !plain(o->sender) ||
	    !plain(o->full_name) || !plain(o->dsn_notify) ||
	    !plain(o->dsn_return) || !plain(o->envid))
		return;
	for (i = 0; i < o->nrecipients; i++)
		if (!plain(o->recipients[i]))
			return;
	a->present = true;
	a->t = o->recipients_from_headers;
	a->read_envelope_from = o->read_envelope_from;
	a->b8 = o->body_8bitmime;
	a->f = (char *)o->sender;
	a->F = (char *)o->full_name;
	a->N = (char *)o->dsn_notify;
	a->R = (char *)o->dsn_return;
	a->V = (char *)o->envid;
	a->rcpts = o->recipients;
	a->nrcpts = o->nrecipients;
}

void
outbox_args_format(struct buf *b, const struct outbox_args *a)
{
	int i;

	if (!a->present)
		return;
	buf_printf(b, "resolve: yes\n");
	if (a->t)
		buf_printf(b, "arg-t: yes\n");
	if (a->read_envelope_from)
		buf_printf(b, "arg-read-envelope-from: yes\n");
	if (a->b8)
		buf_printf(b, "arg-B: 8BITMIME\n");
	if (a->f != NULL)
		buf_printf(b, "arg-f: %s\n", a->f);
	if (a->F != NULL)
		buf_printf(b, "arg-F: %s\n", a->F);
	if (a->N != NULL)
		buf_printf(b, "arg-N: %s\n", a->N);
	if (a->R != NULL)
		buf_printf(b, "arg-R: %s\n", a->R);
	if (a->V != NULL)
		buf_printf(b, "arg-V: %s\n", a->V);
	for (i = 0; i < a->nrcpts; i++)
		buf_printf(b, "argument: %s\n", a->rcpts[i]);
}

static int
set_arg(char **dst, const char *v)
{
	free(*dst);
	return (*dst = strdup(v)) == NULL ? -1 : 1;
}

static int
add_rcpt(struct outbox_args *a, const char *v)
{
	char **nv;

	/* As many as a command line could hold, no more. */
	if (a->nrcpts >= 100000 ||
	    (nv = reallocarray(a->rcpts, (size_t)a->nrcpts + 1,
	    sizeof(*nv))) == NULL)
		return -1;
	a->rcpts = nv;
	if ((nv[a->nrcpts] = strdup(v)) == NULL)
		return -1;
	a->nrcpts++;
	return 1;
}

int
outbox_args_field(struct outbox_args *a, const char *k, const char *v)
{
	bool yes = strcmp(v, "yes") == 0;

	if (strncmp(k, "arg", 3) != 0 && strcmp(k, "resolve") != 0)
		return 0;
	if (has_control(v, strlen(v)))
		return -1;
	if (strcmp(k, "resolve") == 0)
		return (a->present = yes), 1;
	if (strcmp(k, "arg-t") == 0)
		return (a->t = yes), 1;
	if (strcmp(k, "arg-read-envelope-from") == 0)
		return (a->read_envelope_from = yes), 1;
	if (strcmp(k, "arg-B") == 0)
		return (a->b8 = strcmp(v, "8BITMIME") == 0), 1;
	if (strcmp(k, "arg-f") == 0)
		return set_arg(&a->f, v);
	if (strcmp(k, "arg-F") == 0)
		return set_arg(&a->F, v);
	if (strcmp(k, "arg-N") == 0)
		return set_arg(&a->N, v);
	if (strcmp(k, "arg-R") == 0)
		return set_arg(&a->R, v);
	if (strcmp(k, "arg-V") == 0)
		return set_arg(&a->V, v);
	if (strcmp(k, "argument") == 0)
		return add_rcpt(a, v);
	return 0;	/* a later version's: ignored */
}

void
outbox_args_options(const struct outbox_args *a, const char *account,
    struct options *o)
{
	memset(o, 0, sizeof(*o));
	o->mode = MODE_DELIVER;
	o->recipients_from_headers = a->t;
	o->read_envelope_from = a->read_envelope_from;
	o->body_8bitmime = a->b8;
	o->sender = a->f;
	o->full_name = a->F;
	o->dsn_notify = a->N;
	o->dsn_return = a->R;
	o->envid = a->V;
	o->account = account;
	o->recipients = a->rcpts;
	o->nrecipients = a->nrcpts;
}

void
outbox_args_free(struct outbox_args *a)
{
	int i;

	free(a->f);
	free(a->F);
	free(a->N);
	free(a->R);
	free(a->V);
	for (i = 0; i < a->nrcpts; i++)
		free(a->rcpts[i]);
	free(a->rcpts);
	memset(a, 0, sizeof(*a));
}
