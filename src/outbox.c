/* SPDX-License-Identifier: ISC */
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
#include "fdio.h"
#include "hostname.h"
#include "escape.h"
#include "outbox.h"

#define FORMAT_LINE	"smtpsend-outbox: 1"

static const char *const state_names[] = {
	[OUTBOX_TEMPORARY] = "temporary",
	[OUTBOX_POSSIBLY_DELIVERED] = "possibly-delivered",
	[OUTBOX_PERMANENT] = "permanent",
};

const char *
outbox_dir(const struct settings *s)
{
	static char path[4096];
	const char *state = user_env("XDG_STATE_HOME"), *home;

	if (s != NULL && s->outbox != NULL)
		return strcmp(s->outbox, "off") == 0 ? NULL : s->outbox;
	if (geteuid() == 0)
		return "/var/spool/smtpsend";
	if (state != NULL && *state == '/')
		snprintf(path, sizeof(path), "%s/smtpsend/outbox", state);
	else if ((home = user_home()) != NULL)
		snprintf(path, sizeof(path), "%s/.local/state/smtpsend/outbox",
		    home);
	else
		return NULL;
	return path;
}

enum outbox_state
outbox_state_of(const struct failure *f)
{
	if (f->cause == CAUSE_POSSIBLY_SENT)
		return OUTBOX_POSSIBLY_DELIVERED;
	/* A name that does not resolve now usually resolves later. */
	if (f->cause == CAUSE_NOHOST)
		return OUTBOX_TEMPORARY;
	return status_temporary(f) ? OUTBOX_TEMPORARY : OUTBOX_PERMANENT;
}

/* mkdir -p with mode 0700, then open it: ours and private, or refused. */
int
outbox_dir_create(const char *dir, char *why, size_t size)
{
	char path[4096], *p;
	struct stat st;
	int fd;

	if (strlcpy(path, dir, sizeof(path)) >= sizeof(path) || *path != '/')
		return snprintf(why, size, "%s is not an absolute path", dir), -1;
	for (p = path + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		if (mkdir(path, 0700) == -1 && errno != EEXIST)
			return snprintf(why, size, "%s: %s", path,
			    strerror(errno)), -1;
		*p = '/';
	}
	if (mkdir(path, 0700) == -1 && errno != EEXIST)
		return snprintf(why, size, "%s: %s", path, strerror(errno)), -1;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		return snprintf(why, size, "%s: %s", path, strerror(errno)), -1;
	/* 0711 is private too: root's spool lets users reach the maildrop
	 * inside it, never list or change what is root's. */
	if (fstat(fd, &st) == -1 || st.st_uid != geteuid() ||
	    (st.st_mode & 066) != 0) {
		close(fd);
		return snprintf(why, size, "%s is not a private directory of "
		    "this user (mode 0700)", path), -1;
	}
	return fd;
}

/* The message bytes as they would be sent. */
static int
write_message(int fd, const struct message *m)
{
	struct buf head = BUF_INIT;
	char chunk[65536];
	off_t off = 0;
	ssize_t n;
	int r = -1;

	if (message_header_bytes(m, &head) == -1 ||
	    write_all(fd, head.data, head.len) == -1)
		goto out;
	while ((n = spool_read(&m->body, off, chunk, sizeof(chunk))) > 0) {
		if (write_all(fd, chunk, (size_t)n) == -1)
			goto out;
		off += n;
	}
	r = n == 0 ? 0 : -1;
out:
	buf_free(&head);
	return r;
}

/*
 * Durably: a new file (never through a planted symlink), written in full,
 * fsynced, renamed into place, and the directory fsynced.
 */
static int
write_entry(int dirfd, const char *id, const struct buf *header,
    const struct message *m)
{
	char tmp[96];
	int fd, saved;

	snprintf(tmp, sizeof(tmp), ".tmp-%s", id);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (fd == -1)
		return -1;
	if (write_all(fd, header->data, header->len) == -1 ||
	    write_message(fd, m) == -1 || fsync(fd) == -1)
		goto fail;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	if (renameat(dirfd, tmp, dirfd, id) == -1) {
		fd = -1;
		goto fail;
	}
	/* A user writing into the maildrop holds it O_PATH (it may not read
	 * it): the kernel will not fsync that. The entry itself is synced. */
	if (fsync(dirfd) == -1 && errno != EBADF)
		return -1;
	return 0;
fail:
	saved = errno;
	if (fd != -1)
		close(fd);
	unlinkat(dirfd, tmp, 0);
	errno = saved;
	return -1;
}

static void
new_id(char *id, size_t size)
{
	time_t now = time(NULL);
	struct tm tm;
	char stamp[32];

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	snprintf(id, size, "%s-%08x", stamp, arc4random());
}

static void
add_escaped(struct buf *b, const char *key, const char *value)
{
	char *e = escape_dup(value, strlen(value));

	buf_printf(b, "%s: %s\n", key, e != NULL ? e : "");
	free(e);
}

static void
envelope_lines(struct buf *b, const struct envelope *e, char *const *rcpts,
    int nrcpts)
{
	size_t i;
	int k;

	if (e == NULL) {
		/* Never built: the arguments as given, for a person to read. */
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
static int
entry_header(struct buf *b, const struct outbox_entry *x,
    const struct envelope *e, char *const *rcpts, int nrcpts,
    const struct message *m)
{
	struct buf head = BUF_INIT;

	if (message_header_bytes(m, &head) == -1)
		return -1;
	buf_printf(b, "%s\ncreated: %lld\nattempts: %d\nlast-attempt: %lld\n"
	    "state: %s\nexit: %d\n", FORMAT_LINE, (long long)x->created,
	    x->attempts, (long long)x->last_attempt, state_names[x->state],
	    x->exit_status);
	add_escaped(b, "error", x->error);
	if (x->account != NULL)
		add_escaped(b, "account", x->account);
	envelope_lines(b, e, rcpts, nrcpts);
	buf_printf(b, "eight-bit: %s\nlongest-line: %zu\nheader-bytes: %zu\n"
	    "size: %lld\n\n", m->eight_bit ? "yes" : "no", m->longest_line,
	    head.len, (long long)message_size(m));
	buf_free(&head);
	return b->data == NULL ? -1 : 0;
}

int
outbox_save_at(int dirfd, const char *account,
    const struct envelope *env, char *const *rcpts, int nrcpts,
    const struct message *m, const struct failure *why, char *id,
    size_t idsize)
{
	struct outbox_entry x;
	struct buf header = BUF_INIT;
	int r = -1;

	memset(&x, 0, sizeof(x));
	new_id(x.id, sizeof(x.id));
	x.account = (char *)account;
	x.created = x.last_attempt = time(NULL);
	x.attempts = why->stage >= STAGE_CONNECT ? 1 : 0;
	x.state = outbox_state_of(why);
	x.exit_status = status_exit(why);
	strlcpy(x.error, why->text, sizeof(x.error));
	if (entry_header(&header, &x, env, rcpts, nrcpts, m) == 0 &&
	    write_entry(dirfd, x.id, &header, m) == 0)
		r = 0;
	strlcpy(id, x.id, idsize);
	buf_free(&header);
	return r;
}

int
outbox_save(const char *dir, const char *account, const struct envelope *env,
    char *const *rcpts, int nrcpts, const struct message *m,
    const struct failure *why, struct kept *k)
{
	char reason[4300];
	int dirfd, r;

	k->id[0] = '\0';
	if (dir == NULL) {
		strlcpy(k->note, "message NOT saved: the outbox is off",
		    sizeof(k->note));
		return -1;
	}
	if ((dirfd = outbox_dir_create(dir, reason, sizeof(reason))) == -1) {
		snprintf(k->note, sizeof(k->note), "message NOT saved: %s",
		    reason);
		return -1;
	}
	r = outbox_save_at(dirfd, account, env, rcpts, nrcpts, m, why, k->id,
	    sizeof(k->id));
	if (r == -1) {
		snprintf(k->note, sizeof(k->note), "message NOT saved in %s: "
		    "%s", dir, strerror(errno));
		k->id[0] = '\0';
	} else
		snprintf(k->note, sizeof(k->note), "message kept in the outbox "
		    "as %s/%s", dir, k->id);
	close(dirfd);
	return r;
}

static int
compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The outbox read back is input too (CONTRACT section 8): a directory of
 * the user's, not a symlink, not writable by others; else refused.
 * ENOENT: there is no outbox yet (-1 with errno set, f untouched).
 */
int
outbox_open_checked(const char *dir, struct failure *f)
{
	struct stat st;
	int fd;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC))
	    == -1) {
		if (errno == ENOENT)
			return -1;
		fail_errno(f, CAUSE_CONFIG, "outbox %s (it must be a directory, "
		    "not a symlink)", dir);
		return -1;
	}
	if (fstat(fd, &st) == -1 || st.st_uid != geteuid() ||
	    (st.st_mode & 066) != 0) {
		close(fd);
		fail(f, STAGE_NONE, CAUSE_CONFIG, 0, "outbox %s is not a "
		    "directory of this user closed to others (chmod 700); "
		    "refusing to read it", dir);
		errno = EPERM;
		return -1;
	}
	return fd;
}

/* Crashed saves leave .tmp- files: gone once they are a day old. */
static void
remove_stale(int dirfd, const char *name)
{
	struct stat st;

	if (strncmp(name, ".tmp-", 5) == 0 &&
	    fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(st.st_mode) && (st.st_uid == geteuid() || geteuid() == 0) &&
	    time(NULL) - st.st_mtime > 86400)
		unlinkat(dirfd, name, 0);
}

int
outbox_ids_at(int dirfd, bool tidy, char ***ids, size_t *n,
    struct failure *f)
{
	struct dirent *d;
	char **v = NULL, **nv;
	DIR *dp;
	int fd;

	*ids = NULL;
	*n = 0;
	if ((fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3)) == -1 ||
	    (dp = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		fail_errno(f, CAUSE_OSERR, "reading the outbox");
		return -1;
	}
	rewinddir(dp);
	while ((d = readdir(dp)) != NULL) {
		if (tidy)
			remove_stale(dirfd, d->d_name);
		/* Subdirectories (root's spool holds the maildrop) are not
		 * entries; anything else that is not an entry is damaged. */
		if (d->d_name[0] == '.' || strlen(d->d_name) >= 64 ||
		    d->d_type == DT_DIR)
			continue;
		if ((nv = reallocarray(v, *n + 1, sizeof(*v))) == NULL ||
		    (nv[*n] = strdup(d->d_name)) == NULL) {
			free(nv ? nv : v);
			closedir(dp);
			fail_errno(f, CAUSE_OSERR, "reading the outbox");
			return -1;
		}
		v = nv;
		(*n)++;
	}
	closedir(dp);
	if (*n > 1)
		qsort(v, *n, sizeof(*v), compare_names);
	*ids = v;
	return 0;
}

/* Where the message starts, and the numbers needed to read it back. */
struct layout {
	off_t	 start;
	size_t	 header_bytes;
	off_t	 size;
};

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
	if (strcmp(k, "state") == 0)
		return set_state(x, v);
	if (strcmp(k, "error") == 0) {
		if (has_control(v, strlen(v)))
			return -1;	/* it is shown on terminals */
		strlcpy(x->error, v, sizeof(x->error));
		return 0;
	}
	if (strcmp(k, "account") == 0)
		return set_word(&x->account, v);
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

/* One "key: value" line of the entry header. */
static int
header_field(struct outbox_entry *x, struct layout *l, const char *k,
    const char *v)
{
	const char *errstr = NULL;

	if (strcmp(k, "created") == 0)
		x->created = (time_t)strtonum(v, 0, LLONG_MAX, &errstr);
	else if (strcmp(k, "last-attempt") == 0)
		x->last_attempt = (time_t)strtonum(v, 0, LLONG_MAX, &errstr);
	else if (strcmp(k, "attempts") == 0)
		x->attempts = (int)strtonum(v, 0, 1000000, &errstr);
	else if (strcmp(k, "exit") == 0)
		x->exit_status = (int)strtonum(v, 0, 255, &errstr);
	else if (strcmp(k, "longest-line") == 0)
		x->msg.longest_line = (size_t)strtonum(v, 0, LLONG_MAX, &errstr);
	else if (strcmp(k, "header-bytes") == 0)
		l->header_bytes = (size_t)strtonum(v, 0, HEADER_SECTION_MAX * 2,
		    &errstr);
	else if (strcmp(k, "size") == 0)
		l->size = (off_t)strtonum(v, 0, LLONG_MAX, &errstr);
	else
		return text_field(x, k, v);
	return errstr == NULL ? 0 : -1;
}

/* The text before the message, up to its blank line, however long. */
static char *
read_entry_text(int fd, off_t *start)
{
	struct buf b = BUF_INIT;
	char chunk[16384], *end;
	ssize_t n;

	while ((n = pread(fd, chunk, sizeof(chunk), (off_t)b.len)) > 0) {
		if (buf_add(&b, chunk, (size_t)n) == -1)
			break;
		if ((end = strstr(b.data, "\n\n")) != NULL) {
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

/* Read and parse the text before the message; fills l->start. */
static int
read_entry_header(int fd, struct outbox_entry *x, struct layout *l)
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
	/* Only a message kept for a person may lack its envelope (the
	 * arguments were bad, or the configuration broken). */
	if ((off_t)l->header_bytes > l->size ||
	    (x->state != OUTBOX_PERMANENT && (x->env.sender == NULL ||
	    x->env.rcpts.n == 0)))
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
static int
read_entry_message(int fd, struct outbox_entry *x, const struct layout *l,
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

static void
entry_init(struct outbox_entry *x, const char *id)
{
	memset(x, 0, sizeof(*x));
	strlcpy(x->id, id, sizeof(x->id));
	message_init(&x->msg);
	x->fd = -1;
}

/*
 * Only a regular file with one link, owned by `owner` ((uid_t)-1: anyone,
 * noted in x->owner), whose length is exactly what its header says.
 * O_NONBLOCK: a planted FIFO is damaged, not a hang.
 */
static int
open_entry(int dirfd, struct outbox_entry *x, uid_t owner, bool lock,
    struct stat *st, const char **why)
{
	if ((x->fd = openat(dirfd, x->id, O_RDWR | O_NOFOLLOW | O_NONBLOCK |
	    O_NOCTTY | O_CLOEXEC)) == -1) {
		*why = strerror(errno);
		return errno == ENOENT ? 1 : -1;
	}
	if (fstat(x->fd, st) == -1 || !S_ISREG(st->st_mode))
		return *why = "not a regular file", -1;
	if (st->st_nlink > 1)
		return *why = "more than one link", -1;
	if (owner != (uid_t)-1 && st->st_uid != owner)
		return *why = "owned by another user", -1;
	x->owner = st->st_uid;
	if (!lock)
		return 0;
	/* Another -q has it, or delivered and removed it meanwhile. */
	if (flock(x->fd, LOCK_EX | LOCK_NB) == -1 || fstat(x->fd, st) == -1 ||
	    st->st_nlink == 0)
		return 1;
	return 0;
}

static int
load_at(int dirfd, const char *id, struct outbox_entry *x, uid_t owner,
    bool lock, struct failure *f)
{
	struct layout l = { 0, 0, 0 };
	const char *why = "its header is malformed";
	struct stat st;
	int r;

	entry_init(x, id);
	if ((r = open_entry(dirfd, x, owner, lock, &st, &why)) == 1) {
		if (x->fd != -1)
			close(x->fd);
		x->fd = -1;
		return 1;
	}
	if (r == 0 && read_entry_header(x->fd, x, &l) == -1)
		r = -1;
	else if (r == 0 && st.st_size != l.start + l.size) {
		why = "its length does not match its header";
		r = -1;
	}
	if (r == -1) {
		fail(f, STAGE_NONE, CAUSE_DATAERR, 0, "outbox entry %s is "
		    "damaged (%s); it is left for you to look at", id, why);
		outbox_entry_free(x);
		return -1;
	}
	if (read_entry_message(x->fd, x, &l, f) == -1) {
		outbox_entry_free(x);
		return -1;
	}
	return 0;
}

int
outbox_load_at(int dirfd, const char *id, struct outbox_entry *x,
    uid_t owner, struct failure *f)
{
	return load_at(dirfd, id, x, owner, true, f);
}

int
outbox_peek_at(int dirfd, const char *id, struct outbox_entry *x,
    uid_t owner, struct failure *f)
{
	return load_at(dirfd, id, x, owner, false, f);
}

void
outbox_entry_free(struct outbox_entry *x)
{
	char id[sizeof(x->id)];

	free(x->account);
	free(x->notify);
	free(x->env.sender);
	free(x->env.envid);
	addrlist_free(&x->env.rcpts);
	message_free(&x->msg);
	if (x->fd != -1)
		close(x->fd);
	strlcpy(id, x->id, sizeof(id));
	entry_init(x, id);
}

int
outbox_remove_at(int dirfd, const char *id)
{
	return unlinkat(dirfd, id, 0) == 0 && fsync(dirfd) == 0 ? 0 : -1;
}

int
outbox_update_at(int dirfd, struct outbox_entry *x, const struct failure *why)
{
	struct buf header = BUF_INIT;
	int r = -1;

	x->attempts++;
	x->last_attempt = time(NULL);
	x->state = outbox_state_of(why);
	x->exit_status = status_exit(why);
	strlcpy(x->error, why->text, sizeof(x->error));
	if (entry_header(&header, x, &x->env, NULL, 0, &x->msg) == 0 &&
	    write_entry(dirfd, x->id, &header, &x->msg) == 0)
		r = 0;
	buf_free(&header);
	return r;
}

#define BACKOFF_FIRST	300		/* 5 minutes, doubling */
#define BACKOFF_MAX	(4 * 3600)

time_t
outbox_next_try(const struct outbox_entry *x)
{
	long wait = BACKOFF_FIRST;
	int n = x->attempts;

	if (n <= 0)
		return x->last_attempt;
	while (--n > 0 && wait < BACKOFF_MAX)
		wait *= 2;
	return x->last_attempt + (wait < BACKOFF_MAX ? wait : BACKOFF_MAX);
}

/* Postfix's arrival time: "Tue Dec  1 20:51:59". */
static void
arrival(char *dst, size_t size, time_t t)
{
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(dst, size, "%a %b %e %H:%M:%S", &tm);
}

/* One entry as Postfix's mailq shows it, with our state in the reason. */
static void
list_entry(FILE *out, const struct outbox_entry *x, off_t size)
{
	char when[32], next[32];
	size_t i;

	arrival(when, sizeof(when), x->created);
	fprintf(out, "%s%c %8lld %s  %s\n", x->id,
	    x->state == OUTBOX_PERMANENT ? '!' : ' ', (long long)size, when,
	    x->env.sender == NULL ? "(no envelope)" : *x->env.sender != '\0' ?
	    x->env.sender : "MAILER-DAEMON");
	if (x->state == OUTBOX_PERMANENT)
		fprintf(out, "(permanent, %d attempt%s, kept until removed",
		    x->attempts, x->attempts == 1 ? "" : "s");
	else {
		arrival(next, sizeof(next), outbox_next_try(x));
		fprintf(out, "(%s, %d attempt%s, next try %s",
		    state_names[x->state], x->attempts,
		    x->attempts == 1 ? "" : "s", x->attempts ? next : "now");
	}
	fprintf(out, "%s%s)\n", *x->error ? ": " : "", x->error);
	for (i = 0; i < x->env.rcpts.n; i++)
		fprintf(out, "%41s%s\n", "", x->env.rcpts.v[i].spec);
	fputc('\n', out);
}

/* The entries of one directory; adds to the totals. */
static void
list_dir(int dirfd, FILE *out, size_t *listed, long long *bytes)
{
	struct outbox_entry x;
	struct failure damaged, ignored = { 0 };
	char **ids;
	size_t n, i;
	/* The maildrop's entries are anyone's; the outbox's only ours. */
	struct stat st;
	uid_t owner = fstat(dirfd, &st) == 0 && (st.st_mode & S_ISVTX) ?
	    (uid_t)-1 : geteuid();

	if (outbox_ids_at(dirfd, false, &ids, &n, &ignored) == -1)
		return;
	for (i = 0; i < n; i++) {
		memset(&damaged, 0, sizeof(damaged));
		if (outbox_peek_at(dirfd, ids[i], &x, owner, &damaged) == 0) {
			if ((*listed)++ == 0)
				fputs("-Queue ID-  --Size-- ----Arrival Time---- "
				    "-Sender/Recipient-------\n", out);
			list_entry(out, &x, message_size(&x.msg));
			*bytes += message_size(&x.msg);
			outbox_entry_free(&x);
		} else if (failed(&damaged))
			fprintf(stderr, "smtpsend: %s\n", damaged.text);
		free(ids[i]);
	}
	free(ids);
}

int
outbox_list_at(const int *dirfds, int ndirs, FILE *out, struct failure *f)
{
	long long bytes = 0;
	size_t listed = 0;
	int i;

	(void)f;
	for (i = 0; i < ndirs; i++)
		list_dir(dirfds[i], out, &listed, &bytes);
	if (listed == 0)
		fputs("Mail queue is empty\n", out);
	else
		fprintf(out, "-- %lld Kbytes in %zu Request%s.\n",
		    (bytes + 1023) / 1024, listed, listed == 1 ? "" : "s");
	return ferror(out) ? -1 : 0;
}
