#include "oauth2.h"

bool
oauth2_configured(const struct settings *s)
{
	return s->oauth2_client_id != NULL;
}

int
oauth2_access_token(const struct settings *s, struct buf *token,
    struct failure *f)
{
	(void)s;
	(void)token;
	fail(f, STAGE_NONE, CAUSE_CONFIG, 0, "built-in OAuth2 is not "
	    "available yet; use passwordeval with a token helper");
	return -1;
}

int
oauth2_authorize(const struct settings *s, FILE *in, FILE *out,
    struct failure *f)
{
	(void)s;
	(void)in;
	(void)out;
	fail(f, STAGE_NONE, CAUSE_CONFIG, 0, "built-in OAuth2 is not "
	    "available yet");
	return -1;
}
