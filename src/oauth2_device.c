/* SPDX-License-Identifier: ISC */
/*
 * The device authorization grant (RFC 8628): ask for a code, show it to
 * the person with the address where they enter it (on any device), then
 * poll the token endpoint as the provider says until they have.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "interrupt.h"
#include "oauth2_int.h"

#define DEVICE_GRANT	"urn:ietf:params:oauth:grant-type:device_code"
#define POLL_DEFAULT	5	/* seconds, RFC 8628 section 3.5 */
#define EXPIRY_DEFAULT	900
#define SLOW_DOWN	5

/* Sleep, unless a signal asks us to stop. */
static int
pause_for(long long seconds, const struct oauth2_conf *c, struct failure *f)
{
	struct timespec t = { (time_t)seconds, 0 };

	while (nanosleep(&t, &t) == -1 && errno == EINTR)
		if (interrupt_signal() != 0) {
			fail(f, STAGE_NONE, CAUSE_USAGE, 0, "oauth2 %s: "
			    "authorization interrupted", c->account);
			return -1;
		}
	return 0;
}

/* The device endpoint's code for this client and scope. */
static int
ask_code(struct oauth2_conf *c, struct oauth2_reply *d, struct failure *f)
{
	struct buf form = BUF_INIT;
	long status;
	int rc = -1;

	memset(d, 0, sizeof(*d));
	if (oauth2_form_add(&form, "client_id", c->s->oauth2_client_id) == -1 ||
	    (c->scope != NULL &&
	    oauth2_form_add(&form, "scope", c->scope) == -1))
		fail(f, STAGE_NONE, CAUSE_OSERR, 0, "oauth2: out of memory");
	else if (oauth2_post(c, c->device_url, &form, d, &status, f) == 0) {
		if (status == 200 && d->error == NULL && d->device_code &&
		    d->user_code && d->verification_uri)
			rc = 0;
		else
			oauth2_fail_reply(c, "the device code request was", d,
			    status, f);
	}
	buf_free(&form);
	return rc;
}

static int
poll_form(struct oauth2_conf *c, const struct oauth2_reply *d,
    struct buf *form, struct failure *f)
{
	if (oauth2_form_add(form, "grant_type", DEVICE_GRANT) == -1 ||
	    oauth2_form_add(form, "device_code", d->device_code) == -1) {
		fail(f, STAGE_NONE, CAUSE_OSERR, 0, "oauth2: out of memory");
		return -1;
	}
	return oauth2_add_client(form, c, f);
}

/* One poll: 0 done (tokens in `got`), 1 not yet, -1 failed. */
static int
poll_once(struct oauth2_conf *c, const struct buf *form, long long *interval,
    struct oauth2_reply *got, struct failure *f)
{
	long status;

	if (oauth2_post(c, c->token_url, form, got, &status, f) == -1)
		return -1;
	if (status == 200 && got->error == NULL && got->access_token != NULL)
		return 0;
	if (got->error != NULL && (strcmp(got->error, "slow_down") == 0 ||
	    strcmp(got->error, "authorization_pending") == 0)) {
		if (strcmp(got->error, "slow_down") == 0)
			*interval += SLOW_DOWN;
		oauth2_reply_free(got);
		return 1;
	}
	oauth2_fail_reply(c, "the authorization was", got, status, f);
	oauth2_reply_free(got);
	return -1;
}

static int
wait_tokens(struct oauth2_conf *c, const struct oauth2_reply *d,
    struct oauth2_reply *got, struct failure *f)
{
	long long interval = d->interval > 0 ? d->interval : POLL_DEFAULT;
	time_t end = time(NULL) + (d->expires_in > 0 ? d->expires_in :
	    EXPIRY_DEFAULT);
	struct buf form = BUF_INIT;
	int r = -1;

	if (poll_form(c, d, &form, f) == -1)
		goto out;
	for (;;) {
		if (pause_for(interval, c, f) == -1)
			break;
		if (time(NULL) >= end) {
			fail(f, STAGE_NONE, CAUSE_TEMPORARY, 0, "oauth2 %s: the "
			    "code expired before it was entered: run smtpsend "
			    "--authorize -a %s again", c->account, c->account);
			break;
		}
		if ((r = poll_once(c, &form, &interval, got, f)) != 1)
			break;
		r = -1;
	}
out:
	buf_free_secret(&form);
	return r;
}

int
oauth2_device_flow(struct oauth2_conf *c, FILE *out, struct oauth2_reply *got,
    struct failure *f)
{
	struct oauth2_reply d;
	int rc = -1;

	if (*c->device_url == '\0') {
		fail(f, STAGE_NONE, CAUSE_CONFIG, 0, "oauth2 %s: the device "
		    "flow needs oauth2_device_endpoint (or oauth2_grant "
		    "authcode)", c->account);
		return -1;
	}
	if (ask_code(c, &d, f) == 0) {
		fprintf(out, "To authorize smtpsend for %s, open %s and enter "
		    "the code %s\n", c->account, d.verification_uri,
		    d.user_code);
		if (d.verification_uri_complete != NULL)
			fprintf(out, "(or open %s, which holds the code)\n",
			    d.verification_uri_complete);
		fprintf(out, "Waiting for the authorization...\n");
		fflush(out);
		rc = wait_tokens(c, &d, got, f);
	}
	oauth2_reply_free(&d);
	return rc;
}
