#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "envelope.h"
#include "message.h"
#include "pretend.h"
#include "run.h"
#include "secret.h"
#include "session.h"
#include "submitlog.h"

/* Everything one submission holds, freed in one place. */
struct job {
	struct config	 cfg;
	struct message	 msg;
	struct envelope	 env;
	struct settings	 set;
	char		*hint;
	struct buf	 password;
};

static void
job_free(struct job *j)
{
	config_free(&j->cfg);
	message_free(&j->msg);
	envelope_free(&j->env);
	free(j->hint);
	buf_free_secret(&j->password);
}

/* Configuration, message, account, settings, envelope: all before a
 * connection is made. */
static int
prepare(struct job *j, const struct options *o, int fd, struct failure *f)
{
	const struct account *a;

	if (envelope_check_args(o, f) == -1)
		return -1;
	if (config_load(&j->cfg, o->config_file, stderr, f) == -1)
		return -1;
	if (message_read_fd(&j->msg, fd, o->dot_is_data, f) == -1)
		return -1;
	/* From here on the whole message is in hand. */
	if (envelope_sender_hint(o, &j->msg, &j->hint, f) == -1 ||
	    envelope_account(&j->cfg, o->account, j->hint, &a, f) == -1 ||
	    settings_resolve(&j->set, a, o->over, f) == -1)
		return -1;
	return envelope_build(&j->env, o, &j->set, &j->msg, j->hint, f);
}

int
run_submit(const struct options *o, int fd, struct failure *f)
{
	struct session_report rep;
	struct job j;
	int r = -1;

	memset(&j, 0, sizeof(j));
	message_init(&j.msg);
	if (prepare(&j, o, fd, f) == -1)
		goto out;
	if (o->mode == MODE_PRETEND) {
		if (pretend_print(stdout, &j.set, &j.env, &j.msg) == -1)
			fail_errno(f, CAUSE_IOERR, "writing to stdout");
		r = failed(f) ? -1 : 0;
		goto out;
	}
	if (secret_obtain(&j.set, &j.password, f) == -1)
		goto out;
	r = session_submit(&j.set, j.password.data, &j.env, &j.msg,
	    o->verbose, &rep, f);
	submitlog_write(&j.set, &j.env, message_size(&j.msg), &rep, f);
out:
	job_free(&j);
	return r;
}

void
run_version(void)
{
	printf("smtpsend %s (%s)\n", SMTPSEND_VERSION, session_library());
}
