/* SPDX-License-Identifier: ISC */
#include <stdlib.h>
#include <string.h>

#include "sessions.h"

struct pooled {
	struct pooled	*next;
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
	struct pooled *x;

	for (x = p->first; x != NULL; x = x->next)
		if (strcmp(x->account, key(account)) == 0)
			return &x->se;
	return NULL;
}

struct session *
sessions_add(struct sessions *p, const struct settings *s,
    struct buf *password, struct config *cfg, struct failure *f)
{
	struct pooled *x;

	if ((x = calloc(1, sizeof(*x))) == NULL ||
	    (x->account = strdup(key(s->account))) == NULL) {
		free(x);
		fail_errno(f, CAUSE_OSERR, "out of memory");
		return NULL;
	}
	x->next = p->first;
	p->first = x;
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
	struct pooled *x;

	while ((x = p->first) != NULL) {
		p->first = x->next;
		session_end(&x->se);
		buf_free_secret(&x->password);
		config_free(&x->cfg);
		free(x->account);
		free(x);
	}
}
