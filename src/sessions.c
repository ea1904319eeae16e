/* SPDX-License-Identifier: ISC */
#include <stdlib.h>
#include <string.h>

#include "sessions.h"

struct pooled {
	char		*account;	/* "" for the default */
	struct config	 cfg;		/* what `set` points into, or empty */
	struct settings	 set;
	struct buf	 password;
	struct session	 se;		/* points at set and password */
};

static const char *
key(const char *account)
{
	return account != NULL ? account : "";
}

struct session *
sessions_find(struct sessions *p, const char *account)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (strcmp(p->v[i]->account, key(account)) == 0)
			return &p->v[i]->se;
	return NULL;
}

struct session *
sessions_add(struct sessions *p, const struct settings *s,
    struct buf *password, struct config *cfg, struct failure *f)
{
	struct pooled *x, **v;

	/* Each apart: a session's connection points at its settings. */
	if ((x = calloc(1, sizeof(*x))) == NULL ||
	    (x->account = strdup(key(s->account))) == NULL ||
	    (v = reallocarray(p->v, p->n + 1, sizeof(*v))) == NULL) {
		if (x != NULL)
			free(x->account);
		free(x);
		fail_errno(f, CAUSE_OSERR, "out of memory");
		return NULL;
	}
	p->v = v;
	p->v[p->n++] = x;
	if (cfg != NULL) {
		x->cfg = *cfg;
		memset(cfg, 0, sizeof(*cfg));
	}
	x->set = *s;
	x->password = *password;
	*password = (struct buf)BUF_INIT;
	session_begin(&x->se, &x->set, x->password.data, p->verbose);
	return &x->se;
}

void
sessions_end(struct sessions *p)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		session_end(&p->v[i]->se);
		buf_free_secret(&p->v[i]->password);
		config_free(&p->v[i]->cfg);
		free(p->v[i]->account);
		free(p->v[i]);
	}
	free(p->v);
	p->v = NULL;
	p->n = 0;
}
