/* SPDX-License-Identifier: ISC */
/*
 * The client's identity in a token request: client_id and, for a
 * confidential client, its secret (oauth2_client_secret, or the first
 * line of oauth2_client_secreteval, obtained once). A floor below
 * oauth2.c and the two --authorize flows, which all send it, so that the
 * flows need nothing from oauth2.c, which calls them.
 */
#include "eval.h"
#include "oauth2_int.h"

const char *
oauth2_conf_secret(struct oauth2_conf *c, struct failure *f)
{
	const struct settings *s = c->s;

	if (!c->secret_done) {
		if (s->oauth2_client_secret != NULL) {
			if (buf_addstr(&c->secret, s->oauth2_client_secret)) {
				fail_errno(f, CAUSE_OSERR, "oauth2");
				return NULL;
			}
		} else if (s->oauth2_client_secreteval != NULL &&
		    eval_first_line("oauth2_client_secreteval",
		    s->oauth2_client_secreteval, &c->secret,
		    f) == -1) {
			return NULL;
		}
		c->secret_done = true;
	}
	return c->secret.data != NULL ? c->secret.data : "";
}

/* client_id, and the secret of a confidential client. */
int
oauth2_add_client(struct buf *form, struct oauth2_conf *c, struct failure *f)
{
	const char *secret = oauth2_conf_secret(c, f);

	if (secret == NULL)
		return -1;
	if (oauth2_form_add(form, "client_id", c->s->oauth2_client_id) == -1 ||
	    (*secret != '\0' &&
	    oauth2_form_add(form, "client_secret", secret) == -1)) {
		fail(f, STAGE_NONE, CAUSE_OSERR, 0, "oauth2: out of memory");
		return -1;
	}
	return 0;
}
