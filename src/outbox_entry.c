/* SPDX-License-Identifier: ISC */
/*
 * The outbox entry's format (CONTRACT sections 7 and 8): the text before
 * the message written, and read back as the hostile input it may be.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "escape.h"
#include "hostname.h"
#include "outbox_entry.h"

#define FORMAT_LINE	"smtpsend-outbox: 1"

static const char *const state_names[] = {
	[OUTBOX_TEMPORARY] = "temporary",
	[OUTBOX_POSSIBLY_DELIVERED] = "possibly-delivered",
	[OUTBOX_PERMANENT] = "permanent",
};

const char *
outbox_state_name(enum outbox_state s)
{
	return state_names[s];
}

static void
add_escaped(struct buf *b, const char *key, const char *value)
{
	char *e = escape_dup(value, strlen(value));

	buf_printf(b, "%s: %s\n", key, e != NULL ? e : "");
	free(e);
}

static void
envelope_lines(struct buf *b, const struct envelope *e,
    const struct outbox_args *args, char *const *rcpts, int nrcpts)
{
	size_t i;
	int k;

	if (e == NULL || e->sender == NULL) {
		/* Never built: the arguments, resolved when it is sent. */
		if (args->present)
			outbox_args_format(b, args);
		else
			for (k = 0; k < nrcpts; k++)
				add_escaped(b, "argument", rcpts[k]);
		return;
	}
	buf_printf(b, "sender: %s\n", e->sender);
	for (i = 0; i < e->rcpts.n; i++)
		buf_printf(b, "recipient: %s\n", e->rcpts.v[i].spec);
	if (e->notify)
		buf_printf(b, "notify: %s\n", e->notify);
	if (e->ret)
		buf_printf(b, "ret: %s\n", e->ret);
	if (e->envid)
		buf_printf(b, "envid: %s\n", e->envid);
	buf_printf(b, "body-8bitmime: %s\n", e->body_8bitmime ? "yes" : "no");
}

/* Everything before the message bytes. */
int
outbox_entry_format(struct buf *b, const struct outbox_entry *x,
    const struct envelope *e, char *const *rcpts, int nrcpts,
    const struct message *m)
{
	struct buf head = BUF_INIT;

	if (message_header_bytes(m, &head) == -1)
		return -1;
	buf_printf(b, "%s\ncreated: %lld\nattempts: %d\nlast-attempt: %lld\n"
	    "state: %s\nexit: %d\n", FORMAT_LINE, (long long)x->created,
	    x->attempts, (long long)x->last_attempt, outbox_state_name(x->state),
	    x->exit_status);
	add_escaped(b, "error", x->error);
	if (x->account != NULL)
		add_escaped(b, "account", x->account);
	/* As it is: the path is compared, never shown unescaped. */
	if (x->config != NULL && !has_control(x->config, strlen(x->config)))
		buf_printf(b, "config: %s\n", x->config);
	envelope_lines(b, e, &x->args, rcpts, nrcpts);
	buf_printf(b, "eight-bit: %s\nlongest-line: %zu\nheader-bytes: %zu\n"
	    "size: %lld\n\n", m->eight_bit ? "yes" : "no", m->longest_line,
	    head.len, (long long)message_size(m));
	buf_free(&head);
	return b->data == NULL ? -1 : 0;
}

/* A string field; a repeated line replaces the earlier one. */
static int
set_str(char **dst, const char *v)
{
	free(*dst);
	return (*dst = strdup(v)) == NULL ? -1 : 0;
}

/* Validated again on reading: the entry format cannot be injected. */
static int
add_address(struct outbox_entry *x, char **sender, const char *v)
{
	char why[160];

	if (!(sender != NULL && *v == '\0') &&
	    addr_check(v, why, sizeof(why)) == -1)
		return -1;
	if (sender != NULL)
		return set_str(sender, v);
	return addrlist_add_unique(&x->env.rcpts, v) == -1 ? -1 : 0;
}

static int
set_state(struct outbox_entry *x, const char *v)
{
	size_t i;

	for (i = 0; i < sizeof(state_names) / sizeof(state_names[0]); i++)
		if (strcmp(v, state_names[i]) == 0) {
			x->state = (enum outbox_state)i;
			return 0;
		}
	return -1;
}

/* Text fields: printable, and for the names no space either. */
static int
set_word(char **dst, const char *v)
{
	if (*v == '\0' || has_control(v, strlen(v)) || strchr(v, ' '))
		return -1;
	return set_str(dst, v);
}

/* RFC 3461 xtext: printable ASCII but '+' and '=', or +XX. */
static bool
is_xtext(const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '+') {
			/* HEXCHAR is upper case only (RFC 3461 4). */
			if (v[1] == '\0' || strchr("0123456789ABCDEF", v[1]) ==
			    NULL || v[2] == '\0' ||
			    strchr("0123456789ABCDEF", v[2]) == NULL)
				return false;
			v += 2;
		} else if (*v < '!' || *v > '~' || *v == '=')
			return false;
	}
	return true;
}

static int
text_field(struct outbox_entry *x, const char *k, const char *v)
{
	int r;

	if (strcmp(k, "state") == 0)
		return set_state(x, v);
	if (strcmp(k, "error") == 0) {
		if (has_control(v, strlen(v)))
			return -1;	/* it is shown on terminals */
		snprintf(x->error, sizeof(x->error), "%s", v);
		return 0;
	}
	if (strcmp(k, "account") == 0)
		return set_word(&x->account, v);
	if (strcmp(k, "config") == 0)
		return *v == '/' && !has_control(v, strlen(v)) ?
		    set_str(&x->config, v) : -1;
	if ((r = outbox_args_field(&x->args, k, v)) != 0)
		return r == 1 ? 0 : -1;
	if (strcmp(k, "sender") == 0)
		return add_address(x, &x->env.sender, v);
	if (strcmp(k, "recipient") == 0)
		return add_address(x, NULL, v);
	if (strcmp(k, "notify") == 0) {
		if (key_check(K_DSN_NOTIFY, v) != NULL ||
		    set_str(&x->notify, v) == -1)
			return -1;
		x->env.notify = x->notify;
		return 0;
	}
	if (strcmp(k, "ret") == 0)
		x->env.ret = strcmp(v, "FULL") == 0 ? "FULL" : "HDRS";
	else if (strcmp(k, "envid") == 0)
		return is_xtext(v) ? set_word(&x->env.envid, v) : -1;
	else if (strcmp(k, "body-8bitmime") == 0)
		x->env.body_8bitmime = strcmp(v, "yes") == 0;
	else if (strcmp(k, "eight-bit") == 0)
		x->msg.eight_bit = strcmp(v, "yes") == 0;
	return 0;	/* unknown fields: a later version's, ignored */
}

/*
 * Numbers an entry may hold, so that no arithmetic on them overflows
 * (outbox_next_try adds hours to a time; the length check adds the
 * text's length to the size): times up to the year 9999, sizes up to
 * 2^48 bytes.
 */
#define ENTRY_TIME_MAX	253402300799LL
#define ENTRY_SIZE_MAX	(1LL << 48)
/* The text before the message: 10,000 recipients take under 3 MiB. */
#define ENTRY_TEXT_MAX	(16 * 1024 * 1024)

/* One "key: value" line of the entry header. */
static int
header_field(struct outbox_entry *x, struct entry_layout *l, const char *k,
    const char *v)
{
	const char *errstr = NULL;

	if (strcmp(k, "created") == 0)
		x->created = (time_t)strtonum(v, 0, ENTRY_TIME_MAX, &errstr);
	else if (strcmp(k, "last-attempt") == 0)
		x->last_attempt = (time_t)strtonum(v, 0, ENTRY_TIME_MAX,
		    &errstr);
	else if (strcmp(k, "attempts") == 0)
		x->attempts = (int)strtonum(v, 0, 1000000, &errstr);
	else if (strcmp(k, "exit") == 0)
		x->exit_status = (int)strtonum(v, 0, 255, &errstr);
	else if (strcmp(k, "longest-line") == 0)
		x->msg.longest_line = (size_t)strtonum(v, 0, ENTRY_SIZE_MAX,
		    &errstr);
	else if (strcmp(k, "header-bytes") == 0)
		l->header_bytes = (size_t)strtonum(v, 0, HEADER_SECTION_MAX * 2,
		    &errstr);
	else if (strcmp(k, "size") == 0)
		l->size = (off_t)strtonum(v, 0, ENTRY_SIZE_MAX, &errstr);
	else
		return text_field(x, k, v);
	return errstr == NULL ? 0 : -1;
}

/*
 * The text before the message, up to its blank line, at most
 * ENTRY_TEXT_MAX. Each chunk is searched once (and the byte before it, for
 * a blank line across two): linear in the entry's length.
 */
static char *
read_entry_text(int fd, off_t *start)
{
	struct buf b = BUF_INIT;
	char chunk[16384], *end;
	size_t from;
	ssize_t n;

	while (b.len < ENTRY_TEXT_MAX &&
	    (n = pread(fd, chunk, sizeof(chunk), (off_t)b.len)) > 0) {
		from = b.len > 0 ? b.len - 1 : 0;
		if (buf_add(&b, chunk, (size_t)n) == -1)
			break;
		if ((end = memmem(b.data + from, b.len - from, "\n\n", 2))
		    != NULL) {
			if (memchr(b.data, '\0', (size_t)(end - b.data)) != NULL)
				break;	/* not an entry */
			end[1] = '\0';
			*start = (off_t)(end + 2 - b.data);
			return b.data;
		}
		if (memchr(chunk, '\0', (size_t)n) != NULL)
			break;		/* not an entry */
	}
	buf_free(&b);
	return NULL;
}

/*
 * What -q may send: a whole envelope, or only the arguments to make one
 * (never half of each). Only a message kept for a person may have
 * neither.
 */
static bool
sendable(const struct outbox_entry *x)
{
	if (x->args.present)
		return x->env.sender == NULL && x->env.rcpts.n == 0;
	return x->env.sender != NULL && x->env.rcpts.n > 0;
}

/* Read and parse the text before the message; fills l->start. */
int
outbox_entry_parse_header(int fd, struct outbox_entry *x, struct entry_layout *l)
{
	char *text = read_entry_text(fd, &l->start), *line, *next, *colon;
	size_t i;
	int r = -1;

	if (text == NULL || strncmp(text, FORMAT_LINE "\n",
	    sizeof(FORMAT_LINE)) != 0)
		goto out;
	for (line = strchr(text, '\n') + 1; *line != '\0'; line = next) {
		next = strchr(line, '\n');
		*next++ = '\0';
		if ((colon = strstr(line, ": ")) == NULL)
			goto out;
		*colon = '\0';
		if (header_field(x, l, line, colon + 2) == -1)
			goto out;
	}
	if ((off_t)l->header_bytes > l->size ||
	    (x->state != OUTBOX_PERMANENT && !sendable(x)))
		goto out;
	/* Not stored: derived from the addresses, as when first sent. */
	x->env.smtputf8 = x->env.sender != NULL &&
	    has_8bit(x->env.sender, strlen(x->env.sender));
	for (i = 0; i < x->env.rcpts.n; i++)
		if (has_8bit(x->env.rcpts.v[i].spec,
		    strlen(x->env.rcpts.v[i].spec)))
			x->env.smtputf8 = true;
	r = 0;
out:
	free(text);
	return r;
}

/*
 * The body as stored must be what the reader would have made: CRLF only,
 * no NUL. Its facts (8-bit, the longest line) are measured, never taken
 * from the entry: they decide the re-encoding.
 */
static int
scan_body(int fd, off_t off, off_t size, bool *eight_bit, size_t *longest)
{
	unsigned char chunk[65536];
	size_t line = 0, i;
	bool cr = false;
	ssize_t n;

	while (size > 0) {
		n = pread(fd, chunk, size < (off_t)sizeof(chunk) ? (size_t)size :
		    sizeof(chunk), off);
		if (n <= 0)
			return -1;
		for (i = 0; i < (size_t)n; i++) {
			unsigned char c = chunk[i];

			if (c == '\0' || (cr && c != '\n') || (!cr && c == '\n'))
				return -1;
			cr = c == '\r';
			if (c == '\n') {
				if (line - 1 > *longest)
					*longest = line - 1;
				line = 0;
				continue;
			}
			line++;
			*eight_bit |= c >= 0x80;
		}
		off += n;
		size -= n;
	}
	return cr || line > 0 ? -1 : 0;		/* ends in CRLF */
}

/* The message: its header block through the reader, the body in place. */
int
outbox_entry_parse_message(int fd, struct outbox_entry *x, const struct entry_layout *l,
    struct failure *f)
{
	off_t body = l->start + (off_t)l->header_bytes;
	struct reader r;
	char *head;
	int rc = -1;

	if ((head = malloc(l->header_bytes + 1)) == NULL ||
	    pread(fd, head, l->header_bytes, l->start) !=
	    (ssize_t)l->header_bytes || reader_init(&r, &x->msg, true) == -1) {
		free(head);
		fail(f, STAGE_NONE, CAUSE_OSERR, 0, "outbox entry %s: cannot "
		    "read it", x->id);
		return -1;
	}
	r.keep_from_line = true;
	r.header_max = SIZE_MAX;	/* saved whole: no limit applies */
	/* A header block with a line that is no field made a body: the
	 * entry is not one we wrote. */
	if (reader_feed(&r, head, l->header_bytes, f) == 0 &&
	    reader_finish(&r, f) == 0 && x->msg.body.size == 0 &&
	    scan_body(fd, body, l->size - (off_t)l->header_bytes,
	    &x->msg.eight_bit, &x->msg.longest_line) == 0) {
		spool_free(&x->msg.body);
		rc = spool_attach(&x->msg.body, fd, body, l->size -
		    (off_t)l->header_bytes);
	}
	reader_free(&r);
	free(head);
	if (rc == -1 && !failed(f))
		fail(f, STAGE_NONE, CAUSE_DATAERR, 0, "outbox entry %s is "
		    "damaged (its message is not as smtpsend writes it); it is "
		    "left for you to look at", x->id);
	return rc;
}

void
outbox_entry_init(struct outbox_entry *x, const char *id)
{
	memset(x, 0, sizeof(*x));
	strlcpy(x->id, id, sizeof(x->id));
	message_init(&x->msg);
	x->fd = -1;
}

void
outbox_entry_free(struct outbox_entry *x)
{
	char id[sizeof(x->id)];

	free(x->account);
	free(x->config);
	outbox_args_free(&x->args);
	free(x->notify);
	free(x->env.sender);
	free(x->env.envid);
	addrlist_free(&x->env.rcpts);
	message_free(&x->msg);
	if (x->fd != -1)
		close(x->fd);
	strlcpy(id, x->id, sizeof(id));
	outbox_entry_init(x, id);
}
