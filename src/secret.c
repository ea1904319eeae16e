/* SPDX-License-Identifier: ISC */
#include "eval.h"
#include "harden.h"
#include "oauth2.h"
#include "secret.h"

int
secret_obtain(const struct settings *s, struct buf *out, int verbose,
    struct failure *f)
{
	if (s->auth == AUTH_OFF || s->auth == AUTH_EXTERNAL)
		return 0;
	harden_nodump();
	if ((s->auth == AUTH_XOAUTH2 || s->auth == AUTH_OAUTHBEARER) &&
	    oauth2_configured(s))
		return oauth2_access_token(s, out, verbose, f);
	if (s->password != NULL)
		return buf_addstr(out, s->password) == -1 ?
		    (fail_errno(f, CAUSE_OSERR, "out of memory"), -1) : 0;
	if (s->passwordeval == NULL) {
		fail(f, STAGE_NONE, CAUSE_CONFIG, 0, "auth is on but neither "
		    "password nor passwordeval is set");
		return -1;
	}
	return eval_first_line("passwordeval", s->passwordeval, out, f);
}
