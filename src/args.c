/* SPDX-License-Identifier: ISC */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "args.h"
#include "escape.h"
#include "suggest.h"

const char usage_text[] =
"usage: smtpsend [-itv] [-B type] [-C file] [-F name] [-f sender] [-N dsn]\n"
"                [-R ret] [-V envid] [-a account] [long options] [--]\n"
"                [recipient ...]\n"
"       smtpsend --serverinfo | --check [-a account] [long options]\n"
"       smtpsend -bp [--json]\n"
"       smtpsend -bs | -q [-qI id | -qR rcpt | -qS sender] [--due]\n"
"       smtpsend --remove id ...\n"
"       smtpsend --authorize [-a account]\n"
"       smtpsend --help | --version\n"
"\n"
"  -t               also take recipients from To, Cc and Bcc (Bcc removed)\n"
"  -i, -oi          a line of a single dot is data, not the end\n"
"  -f ADDR, --from=ADDR  envelope sender (-f '' for <>); picks the account\n"
"  -F NAME          full name for a From header smtpsend adds\n"
"  -N LIST          DSN: never, or success,failure,delay\n"
"  -R full|hdrs     DSN: what a bounce returns\n"
"  -V ENVID         DSN envelope id\n"
"  -B 7BIT|8BITMIME body type\n"
"  -C FILE          this configuration file instead of the user's\n"
"  -a NAME          use this account (also --account=NAME)\n"
"  -v               show the SMTP conversation (secrets hidden), timings\n"
"  -bp              list the outbox (mailq), in Postfix's format\n"
"  --json           with -bp: Postfix's postqueue -j format\n"
"  -bs              speak SMTP on stdin and stdout\n"
"  -q               send everything the outbox holds now\n"
"  -qI/-qR/-qS STR  only entries whose id, recipient or sender has STR\n"
"  --due            with -q: only entries whose retry time has come\n"
"  --remove ID...   delete outbox entries (smtpsend -bp shows the ids)\n"
"  --authorize      OAuth2: authorize the account once, at a terminal\n"
"  --pretend        show the account, envelope and bytes; send nothing\n"
"  --serverinfo     show the server's extensions, TLS and certificate\n"
"  --check          log in and out (TLS, AUTH, QUIT): does the account work?\n"
"  --read-envelope-from  take the envelope sender from From\n"
"  --host=HOST --port=PORT  the smarthost (a person at a terminal only,\n"
"                   for an account with a password)\n"
"  --tls[=on|off] --tls-starttls[=on|off] --tls-certcheck[=on|off]\n"
"  --tls-trust-file=FILE --tls-fingerprint=SHA256  TLS, as the keys\n"
"  --auth[=on|off|METHOD] --user=USER  authentication\n"
"  --passwordeval=CMD  a command printing the password (at a terminal)\n"
"  --domain=NAME    the EHLO name\n"
"  --timeout=SECONDS  each wait (600 s for the end of data by default)\n"
"  --logfile=FILE   append a log line (at a terminal only)\n"
"  --syslog[=on|off|FACILITY]  log to syslog (default: on, LOG_MAIL)\n"
"  --help --version this text; the version, files and libraries\n"
"compose (builds a MIME message; never with -t, -i or -bs):\n"
"  --to=ADDR --cc=ADDR --bcc=ADDR  recipients, also in the header\n"
"  --subject=TEXT   the subject (encoded when not ASCII)\n"
"  --body=TEXT      the body (else stdin, when it is not a terminal)\n"
"  --attach=FILE    attach a file (base64, with its content type)\n"
"  --header='Name: value'  add a header field\n";

/* Long options that only carry a value: index = 256 + key. */
#define KEYOPT(k)	(256 + (k))

enum {
	OPT_HELP = 1000, OPT_VERSION, OPT_PRETEND, OPT_SERVERINFO,
	OPT_READ_ENVELOPE_FROM, OPT_TO, OPT_CC, OPT_BCC, OPT_SUBJECT, OPT_BODY,
	OPT_ATTACH, OPT_HEADER, OPT_DUE, OPT_REMOVE, OPT_AUTHORIZE, OPT_JSON,
	OPT_CHECK, OPT_FROM
};

static const struct option long_options[] = {
	{ "account",		required_argument, NULL, 'a' },
	{ "attach",		required_argument, NULL, OPT_ATTACH },
	{ "bcc",		required_argument, NULL, OPT_BCC },
	{ "body",		required_argument, NULL, OPT_BODY },
	{ "cc",			required_argument, NULL, OPT_CC },
	{ "check",		no_argument,	   NULL, OPT_CHECK },
	{ "header",		required_argument, NULL, OPT_HEADER },
	{ "subject",		required_argument, NULL, OPT_SUBJECT },
	{ "to",			required_argument, NULL, OPT_TO },
	{ "auth",		optional_argument, NULL, KEYOPT(K_AUTH) },
	{ "authorize",		no_argument,	   NULL, OPT_AUTHORIZE },
	{ "domain",		required_argument, NULL, KEYOPT(K_DOMAIN) },
	{ "due",		no_argument,	   NULL, OPT_DUE },
	{ "from",		required_argument, NULL, OPT_FROM },
	{ "help",		no_argument,	   NULL, OPT_HELP },
	{ "host",		required_argument, NULL, KEYOPT(K_HOST) },
	{ "json",		no_argument,	   NULL, OPT_JSON },
	{ "logfile",		required_argument, NULL, KEYOPT(K_LOGFILE) },
	{ "passwordeval",	required_argument, NULL,
	    KEYOPT(K_PASSWORDEVAL) },
	{ "port",		required_argument, NULL, KEYOPT(K_PORT) },
	{ "pretend",		no_argument,	   NULL, OPT_PRETEND },
	{ "read-envelope-from",	no_argument,	   NULL,
	    OPT_READ_ENVELOPE_FROM },
	{ "remove",		no_argument,	   NULL, OPT_REMOVE },
	{ "serverinfo",		no_argument,	   NULL, OPT_SERVERINFO },
	{ "syslog",		optional_argument, NULL, KEYOPT(K_SYSLOG) },
	{ "timeout",		required_argument, NULL, KEYOPT(K_TIMEOUT) },
	{ "tls",		optional_argument, NULL, KEYOPT(K_TLS) },
	{ "tls-certcheck",	optional_argument, NULL,
	    KEYOPT(K_TLS_CERTCHECK) },
	{ "tls-fingerprint",	required_argument, NULL,
	    KEYOPT(K_TLS_FINGERPRINT) },
	{ "tls-starttls",	optional_argument, NULL,
	    KEYOPT(K_TLS_STARTTLS) },
	{ "tls-trust-file",	required_argument, NULL,
	    KEYOPT(K_TLS_TRUST_FILE) },
	{ "user",		required_argument, NULL, KEYOPT(K_USER) },
	{ "version",		no_argument,	   NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 }
};

/*
 * '+': stop at the first non-option (a recipient is never an option).
 * ':': report a missing value as ':' so we can word the error.
 */
static const char short_options[] =
    "+:A:B:C:F:GIL:N:O:R:UV:X:a:b:f:h:io:q::r:tv";

static int
set_key(struct options *o, enum key k, const char *value, struct failure *f)
{
	const char *why;

	if (value == NULL)
		value = "on";
	if ((why = key_check(k, value)) != NULL) {
		fail(f, STAGE_NONE, CAUSE_USAGE, 0, "--%s: %s", key_name(k),
		    why);
		return -1;
	}
	free(o->over[k]);
	if ((o->over[k] = strdup(value)) == NULL) {
		fail_errno(f, CAUSE_OSERR, "out of memory");
		return -1;
	}
	return 0;
}

/* -b MODE */
static int
set_b_mode(struct options *o, const char *m, struct failure *f)
{
	if (strcmp(m, "m") == 0)
		o->mode = MODE_DELIVER;
	else if (strcmp(m, "i") == 0)
		o->mode = MODE_NOOP;
	else if (strcmp(m, "p") == 0)
		o->mode = MODE_LIST_OUTBOX;
	else if (strcmp(m, "s") == 0)
		o->mode = MODE_SMTP_STDIO;
	else {
		fail(f, STAGE_NONE, CAUSE_USAGE, 0,
		    "-b%s is not supported: only -bm, -bi, -bp and -bs are", m);
		return -1;
	}
	return 0;
}

/* -o and -O: only -oi means something; the rest is sendmail tuning. */
static void
set_o_option(struct options *o, int c, const char *v)
{
	if (c == 'o' && strcmp(v, "i") == 0)
		o->dot_is_data = true;
}

static int
set_body_type(struct options *o, const char *v, struct failure *f)
{
	if (strcasecmp(v, "8BITMIME") == 0)
		o->body_8bitmime = true;
	else if (strcasecmp(v, "7BIT") == 0)
		o->body_8bitmime = false;
	else {
		fail(f, STAGE_NONE, CAUSE_USAGE, 0,
		    "-B %s: body type must be 7BIT or 8BITMIME", v);
		return -1;
	}
	return 0;
}

static int
set_dsn(struct options *o, int c, const char *v, struct failure *f)
{
	const char *why = key_check(c == 'N' ? K_DSN_NOTIFY : K_DSN_RETURN, v);

	if (why != NULL) {
		fail(f, STAGE_NONE, CAUSE_USAGE, 0, "-%c %s: %s", c, v, why);
		return -1;
	}
	if (c == 'N')
		o->dsn_notify = v;
	else
		o->dsn_return = v;
	return 0;
}

/*
 * -q, -q15m (sendmail's queue daemon: we run once), -qIID, -qRSTR,
 * -qSSTR; the value may also be the next argument (-qI ID).
 */
static int
set_queue(struct options *o, const char *v, struct failure *f)
{
	o->mode = MODE_RUN_OUTBOX;
	if (v == NULL || strchr("IRS", *v) == NULL || *v == '\0')
		return 0;
	o->queue_select = *v;
	o->queue_match = v[1] != '\0' ? v + 1 : NULL;
	if (o->queue_match != NULL && has_control(v, strlen(v))) {
		fail(f, STAGE_NONE, CAUSE_USAGE, 0, "-q%c: control character",
		    *v);
		return -1;
	}
	return 0;
}

static int
short_option(struct options *o, int c, struct failure *f)
{
	switch (c) {
	case 'a': o->account = optarg; break;
	case 'B': return set_body_type(o, optarg, f);
	case 'b': return set_b_mode(o, optarg, f);
	case 'C': o->config_file = optarg; break;
	case 'F': o->full_name = optarg; break;
	case 'f':
	case 'r': o->sender = optarg; break;
	case 'I': o->mode = MODE_NOOP; break;
	case 'i': o->dot_is_data = true; break;
	case 'N':
	case 'R': return set_dsn(o, c, optarg, f);
	case 'O':
	case 'o': set_o_option(o, c, optarg); break;
	case 'q': return set_queue(o, optarg, f);
	case 't': o->recipients_from_headers = true; break;
	case 'V': o->envid = optarg; break;
	case 'v': o->verbose++; break;
	case 'A': case 'G': case 'h': case 'L': case 'U':
		break;		/* sendmail tuning: accepted and ignored */
	case 'X':
		fail(f, STAGE_NONE, CAUSE_USAGE, 0,
		    "-X is not supported: it would write a file named on the "
		    "command line");
		return -1;
	default:
		fail(f, STAGE_NONE, CAUSE_USAGE, 0, "unknown option -%c", c);
		return -1;
	}
	return 0;
}

static int
strlist_add(struct strlist *l, char *value, struct failure *f)
{
	char **v = reallocarray(l->v, (size_t)l->n + 1, sizeof(*v));

	if (v == NULL) {
		fail_errno(f, CAUSE_OSERR, "out of memory");
		return -1;
	}
	v[l->n++] = value;
	l->v = v;
	return 0;
}

/* --to, --cc, ...: compose mode. */
static int
compose_option(struct options *o, int c, struct failure *f)
{
	o->compose = true;
	switch (c) {
	case OPT_TO:		return strlist_add(&o->to, optarg, f);
	case OPT_CC:		return strlist_add(&o->cc, optarg, f);
	case OPT_BCC:		return strlist_add(&o->bcc, optarg, f);
	case OPT_ATTACH:	return strlist_add(&o->attach, optarg, f);
	case OPT_HEADER:	return strlist_add(&o->header, optarg, f);
	case OPT_SUBJECT:	o->subject = optarg; return 0;
	default:		o->body = optarg; return 0;
	}
}

static int
long_option(struct options *o, int c, struct failure *f)
{
	if (c >= OPT_TO && c <= OPT_HEADER)
		return compose_option(o, c, f);
	switch (c) {
	case OPT_HELP: o->mode = MODE_HELP; return 0;
	case OPT_VERSION: o->mode = MODE_VERSION; return 0;
	case OPT_PRETEND: o->mode = MODE_PRETEND; return 0;
	case OPT_SERVERINFO: o->mode = MODE_SERVERINFO; return 0;
	case OPT_READ_ENVELOPE_FROM: o->read_envelope_from = true; return 0;
	case OPT_DUE: o->due = true; return 0;
	case OPT_JSON: o->json = true; return 0;
	case OPT_REMOVE: o->mode = MODE_REMOVE; return 0;
	case OPT_AUTHORIZE: o->mode = MODE_AUTHORIZE; return 0;
	case OPT_CHECK: o->mode = MODE_CHECK; return 0;
	case OPT_FROM: return short_option(o, 'f', f);
	default:
		break;
	}
	if (c >= KEYOPT(0) && c < KEYOPT(KEY_COUNT))
		return set_key(o, (enum key)(c - KEYOPT(0)), optarg, f);
	return short_option(o, c, f);
}

static const char *
base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash != NULL ? slash + 1 : path;
}

/* The long option meant by a mistyped --name[=value], or NULL. */
static const char *
meant_option(const char *arg)
{
	struct suggest s;
	size_t i;

	if (strncmp(arg, "--", 2) != 0)
		return NULL;
	suggest_init(&s, arg + 2, strcspn(arg + 2, "="));
	for (i = 0; long_options[i].name != NULL; i++)
		suggest_try(&s, long_options[i].name);
	return suggest_best(&s);
}

static void
bad_option(struct failure *f, int c, char **argv)
{
	const char *arg = argv[optind - 1], *meant;

	if (c == ':')
		fail(f, STAGE_NONE, CAUSE_USAGE, 0, "option %s needs a value",
		    optopt ? (char[]){ '-', (char)optopt, '\0' } : arg);
	else if (optopt)
		fail(f, STAGE_NONE, CAUSE_USAGE, 0, "unknown option -%c",
		    optopt);
	else if ((meant = meant_option(arg)) != NULL)
		fail(f, STAGE_NONE, CAUSE_USAGE, 0, "unknown option %.100s (did "
		    "you mean --%s?)", arg, meant);
	else
		fail(f, STAGE_NONE, CAUSE_USAGE, 0, "unknown option %.100s", arg);
}

/* --name or --name=value for one of our long options. */
static bool
names_long_option(const char *arg)
{
	size_t i, len;

	if (strncmp(arg, "--", 2) != 0)
		return false;
	len = strcspn(arg + 2, "=");
	for (i = 0; long_options[i].name != NULL; i++)
		if (strlen(long_options[i].name) == len &&
		    strncmp(arg + 2, long_options[i].name, len) == 0)
			return true;
	return meant_option(arg) != NULL;
}

/*
 * Parsing stops at the first recipient, so an option typed after one
 * would be a recipient: `--to bob gmail.com --subject hi` would mail
 * --subject@ and hi@ the local domain. In compose mode no word after a
 * recipient may start with '-'; in any mode one of our long options (or
 * a near miss of one) there is a mistake, not an address.
 */
static int
check_order(const struct options *o, struct failure *f)
{
	int i;

	if (o->mode != MODE_DELIVER && o->mode != MODE_PRETEND)
		return 0;
	for (i = 0; i < o->nrecipients; i++) {
		const char *w = o->recipients[i];

		if (*w != '-' || !(o->compose || names_long_option(w)))
			continue;
		fail(f, STAGE_NONE, CAUSE_USAGE, 0, "options come before the "
		    "recipients: %.100s after %.100s; nothing was sent", w,
		    i > 0 ? o->recipients[0] : "--");
		return -1;
	}
	return 0;
}

/*
 * getopt_long accepts any unambiguous prefix: "--password=x" would be
 * --passwordeval, a command to run. Only full names are options here.
 */
static bool
abbreviated(const char *arg, const char *name)
{
	size_t len = strlen(name);

	return strncmp(arg, "--", 2) != 0 || strncmp(arg + 2, name, len) != 0 ||
	    (arg[2 + len] != '\0' && arg[2 + len] != '=');
}

/* -qI ID: the value was the next argument; --due only with -q. */
static int
finish_queue(struct options *o, struct failure *f)
{
	if (o->due && o->mode != MODE_RUN_OUTBOX) {
		fail(f, STAGE_NONE, CAUSE_USAGE, 0, "--due goes with -q");
		return -1;
	}
	if (o->mode == MODE_CHECK && o->nrecipients > 0) {
		fail(f, STAGE_NONE, CAUSE_USAGE, 0, "--check sends no mail: "
		    "give it no recipients");
		return -1;
	}
	if (o->json && o->mode != MODE_LIST_OUTBOX) {
		fail(f, STAGE_NONE, CAUSE_USAGE, 0, "--json goes with -bp or "
		    "mailq");
		return -1;
	}
	if (o->mode == MODE_REMOVE && o->nrecipients == 0) {
		fail(f, STAGE_NONE, CAUSE_USAGE, 0, "--remove needs the ids of "
		    "the entries (smtpsend -bp lists them)");
		return -1;
	}
	if (o->mode != MODE_RUN_OUTBOX || o->queue_select == '\0' ||
	    o->queue_match != NULL)
		return 0;
	if (o->nrecipients == 0 || has_control(o->recipients[0],
	    strlen(o->recipients[0]))) {
		fail(f, STAGE_NONE, CAUSE_USAGE, 0, "-q%c needs a value",
		    o->queue_select);
		return -1;
	}
	o->queue_match = o->recipients[0];
	o->recipients++;
	o->nrecipients--;
	return 0;
}

int
args_parse(struct options *o, int argc, char **argv, struct failure *f)
{
	const char *name = argc > 0 ? base_name(argv[0]) : "smtpsend";
	int c;

	memset(o, 0, sizeof(*o));
	o->as_sendmail = strcmp(name, "sendmail") == 0;
	if (strcmp(name, "newaliases") == 0)
		o->mode = MODE_NOOP;
	else if (strcmp(name, "mailq") == 0)
		o->mode = MODE_LIST_OUTBOX;
	optind = 0;	/* glibc: full reinitialisation, for the tests */
	opterr = 0;
	for (;;) {
		int at = optind > 0 ? optind : 1, li = -1;

		if ((c = getopt_long(argc, argv, short_options, long_options,
		    &li)) == -1)
			break;
		if (c == '?' || c == ':') {
			bad_option(f, c, argv);
			return -1;
		}
		if (li >= 0 && abbreviated(argv[at], long_options[li].name)) {
			fail(f, STAGE_NONE, CAUSE_USAGE, 0, "unknown option "
			    "%.100s (did you mean --%s? long options are not "
			    "abbreviated)", argv[at], long_options[li].name);
			return -1;
		}
		if (long_option(o, c, f) == -1)
			return -1;
	}
	o->recipients = argv + optind;
	o->nrecipients = argc - optind;
	if (check_order(o, f) == -1)
		return -1;
	return finish_queue(o, f);
}

/*
 * A compose option reads a file and sends it: never together with the
 * flags that say the message comes on stdin, which is how an injected
 * `--attach` rides along with `sendmail -t -i` (the CVE-2016-10033 family).
 */
static int
check_compose(const struct options *o, bool at_terminal, struct failure *f)
{
	const char *with = o->recipients_from_headers ? "-t" :
	    o->dot_is_data ? "-i" : o->mode == MODE_SMTP_STDIO ? "-bs" : NULL;

	if (!o->compose)
		return 0;
	if (with != NULL) {
		fail(f, STAGE_NONE, CAUSE_USAGE, 0, "compose options (--to, "
		    "--attach, ...) build a message and cannot be used with %s, "
		    "which reads one from stdin", with);
		return -1;
	}
	if (o->as_sendmail && !at_terminal) {
		fail(f, STAGE_NONE, CAUSE_USAGE, 0, "compose options are not "
		    "accepted by sendmail from a program; run smtpsend --to ... "
		    "instead");
		return -1;
	}
	return 0;
}

int
args_check_caller(const struct options *o, bool at_terminal,
    struct failure *f)
{
	static const enum key risky[] = { K_PASSWORDEVAL, K_LOGFILE };
	size_t i;

	if (check_compose(o, at_terminal, f) == -1)
		return -1;
	if (o->account != NULL && (*o->account == '\0' ||
	    strpbrk(o->account, " \t,:") != NULL ||
	    has_control(o->account, strlen(o->account)))) {
		fail(f, STAGE_NONE, CAUSE_USAGE, 0, "-a: not an account name");
		return -1;
	}
	if (at_terminal)
		return 0;
	for (i = 0; i < sizeof(risky) / sizeof(risky[0]); i++)
		if (o->over[risky[i]] != NULL) {
			fail(f, STAGE_NONE, CAUSE_USAGE, 0, "--%s is honoured only "
			    "at a terminal; put it in the configuration file",
			    key_name(risky[i]));
			return -1;
		}
	return 0;
}

void
args_free(struct options *o)
{
	int k;

	for (k = 0; k < KEY_COUNT; k++)
		free(o->over[k]);
	free(o->to.v);
	free(o->cc.v);
	free(o->bcc.v);
	free(o->attach.v);
	free(o->header.v);
}
