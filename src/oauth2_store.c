/* SPDX-License-Identifier: ISC */
/*
 * The token file of an account: $XDG_STATE_HOME/smtpsend/oauth2/ACCOUNT
 * (else ~/.local/state/...; root: /var/lib/smtpsend/oauth2/ACCOUNT).
 * It holds a refresh token, so it is treated like a password file: the
 * user's, 0600, in a 0700 directory, never followed through a link, and
 * replaced atomically so that a crash leaves the old or the new tokens,
 * never half of either (a rotated refresh token must not be lost).
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hostname.h"
#include "oauth2_int.h"

#define STORE_ROOT	"/var/lib/smtpsend/oauth2"
#define STORE_HEADER	"# smtpsend OAuth2 tokens: private, written by " \
			"smtpsend, replaced whole\n"

struct store_key {
	const char	*name;
	size_t		 offset;	/* of the char * in oauth2_tokens */
	bool		 token;		/* no space allowed */
};

#define K(n, t) { #n, offsetof(struct oauth2_tokens, n), t }
static const struct store_key keys[] = {
	K(token_endpoint, true), K(client_id, false), K(host, false),
	K(port, true), K(tls, true), K(certcheck, true), K(trust_file, false),
	K(fingerprint, true), K(proxy, true), K(refresh_token, true),
	K(access_token, true),
};
#undef K

static char **
slot(struct oauth2_tokens *t, const struct store_key *k)
{
	return (char **)((char *)t + k->offset);
}

void
oauth2_tokens_free(struct oauth2_tokens *t)
{
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		oauth2_wipe(slot(t, &keys[i]));
	t->expires_at = 0;
}

static int
set_copy(char **dst, const char *v)
{
	free(*dst);
	*dst = NULL;
	return v == NULL || (*dst = strdup(v)) != NULL ? 0 : -1;
}

/* The binding of tokens issued now: everything that decides where the
 * tokens go (CONTRACT section 8). */
int
oauth2_tokens_bind(struct oauth2_tokens *t, const struct settings *s,
    const char *token_url)
{
	char port[16], proxy[300];

	snprintf(port, sizeof(port), "%u", s->port);
	snprintf(proxy, sizeof(proxy), "%s:%u", s->proxy_host ? s->proxy_host :
	    "", s->proxy_port);
	return set_copy(&t->token_endpoint, token_url) | set_copy(&t->client_id,
	    s->oauth2_client_id) | set_copy(&t->host, s->host) |
	    set_copy(&t->port, port) | set_copy(&t->tls, !s->tls ? "off" :
	    s->starttls ? "starttls" : "tls") | set_copy(&t->certcheck,
	    s->certcheck ? "on" : "off") | set_copy(&t->trust_file,
	    s->trust_file) | set_copy(&t->fingerprint, s->fingerprint) |
	    set_copy(&t->proxy, s->proxy_host ? proxy : NULL);
}

static bool
same(const char *stored, const char *now)
{
	return stored == NULL ? now == NULL : now != NULL &&
	    strcmp(stored, now) == 0;
}

/*
 * A stored access token only under its exact binding. The refresh token
 * stays with its token endpoint, client and host, and follows a port
 * change on that host when TLS is as it was and certificates are checked.
 * A file from before TLS was recorded is refreshed once, if checked.
 */
enum oauth2_bound
oauth2_tokens_bound(const struct oauth2_tokens *t, const struct settings *s,
    const char *token_url)
{
	struct oauth2_tokens now;
	enum oauth2_bound b = BOUND_ELSEWHERE;
	bool tls_same;

	memset(&now, 0, sizeof(now));
	if (oauth2_tokens_bind(&now, s, token_url) == -1)
		goto out;
	if (t->token_endpoint == NULL || t->client_id == NULL ||
	    t->host == NULL || !same(t->token_endpoint, now.token_endpoint) ||
	    !same(t->client_id, now.client_id) || !same(t->host, now.host))
		goto out;
	tls_same = same(t->tls, now.tls) && same(t->certcheck, now.certcheck) &&
	    same(t->trust_file, now.trust_file) &&
	    same(t->fingerprint, now.fingerprint) && same(t->proxy, now.proxy);
	if (tls_same && same(t->port, now.port))
		b = BOUND_EXACTLY;
	else if ((tls_same || t->tls == NULL) && s->certcheck)
		b = BOUND_TO_REFRESH;
out:
	oauth2_tokens_free(&now);
	return b;
}

/* Seconds since the epoch; the line is not NUL-terminated. */
static int
parse_time(const char *v, size_t len, long long *dst, const char **why)
{
	size_t i;

	*dst = 0;
	*why = "expires_at is not a number";
	if (len == 0 || len > 15)
		return -1;
	for (i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		*dst = *dst * 10 + (v[i] - '0');
	}
	return 0;
}

static int
parse_line(struct oauth2_tokens *t, const char *line, size_t len,
    const char **why)
{
	const char *sp = memchr(line, ' ', len), *v;
	size_t i, klen, vlen;
	char **dst;

	*why = "a line is not `key value`";
	if (sp == NULL || sp == line || sp + 1 == line + len)
		return -1;
	klen = (size_t)(sp - line);
	v = sp + 1;
	vlen = len - klen - 1;
	if (klen == 10 && memcmp(line, "expires_at", 10) == 0)
		return parse_time(v, vlen, &t->expires_at, why);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strlen(keys[i].name) == klen &&
		    memcmp(keys[i].name, line, klen) == 0)
			break;
	*why = "unknown key";
	if (i == sizeof(keys) / sizeof(keys[0]))
		return -1;
	dst = slot(t, &keys[i]);
	*why = "a key appears twice";
	if (*dst != NULL)
		return -1;
	*why = "a value is too long";
	if (vlen > OAUTH2_VALUE_MAX)	/* as in an endpoint's answer */
		return -1;
	*why = "a token holds a space";
	if (keys[i].token && memchr(v, ' ', vlen) != NULL)
		return -1;
	*why = "out of memory";
	return (*dst = strndup(v, vlen)) == NULL ? -1 : 0;
}

int
oauth2_tokens_parse(const char *text, size_t len, struct oauth2_tokens *t,
    const char **why)
{
	size_t i, start = 0;

	memset(t, 0, sizeof(*t));
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];

		if (c != '\n' && (c < 0x20 || c == 0x7f || c >= 0x80)) {
			*why = "a control character or 8-bit byte";
			goto bad;
		}
	}
	while (start < len) {
		const char *nl = memchr(text + start, '\n', len - start);
		size_t n = nl ? (size_t)(nl - (text + start)) : len - start;

		if (n > 0 && text[start] != '#' &&
		    parse_line(t, text + start, n, why) == -1)
			goto bad;
		start += n + 1;
	}
	return 0;
bad:
	oauth2_tokens_free(t);
	return -1;
}

int
oauth2_tokens_format(const struct oauth2_tokens *t, struct buf *out)
{
	size_t i;
	int rc = buf_addstr(out, STORE_HEADER);

	for (i = 0; rc == 0 && i < sizeof(keys) / sizeof(keys[0]); i++) {
		char *v = *slot((struct oauth2_tokens *)t, &keys[i]);

		if (v != NULL)
			rc = buf_printf(out, "%s %s\n", keys[i].name, v);
	}
	if (rc == 0 && t->expires_at > 0)
		rc = buf_printf(out, "expires_at %lld\n", t->expires_at);
	return rc;
}

bool
oauth2_account_name_ok(const char *a)
{
	const unsigned char *p;

	if (a == NULL || *a == '\0' || *a == '.' || strlen(a) > 200)
		return false;
	for (p = (const unsigned char *)a; *p != '\0'; p++)
		if (*p == '/' || *p <= 0x20 || *p >= 0x7f)
			return false;
	return true;
}

int
oauth2_store_dir(char *dst, size_t size, struct failure *f)
{
	const char *state = user_env("XDG_STATE_HOME"), *home;
	int n;

	if (geteuid() == 0)
		n = snprintf(dst, size, "%s", STORE_ROOT);
	else if (state != NULL && *state == '/')
		n = snprintf(dst, size, "%s/smtpsend/oauth2", state);
	else if ((home = user_home()) != NULL)
		n = snprintf(dst, size, "%s/.local/state/smtpsend/oauth2",
		    home);
	else
		n = -1;
	if (n < 0 || (size_t)n >= size) {
		fail(f, STAGE_NONE, CAUSE_CONFIG, 0, "oauth2: no place for the "
		    "token file (no home directory, or its name is too long)");
		return -1;
	}
	return 0;
}

static int
store_path(const char *account, char *dir, char *path, size_t size,
    struct failure *f)
{
	if (!oauth2_account_name_ok(account)) {
		fail(f, STAGE_NONE, CAUSE_CONFIG, 0, "oauth2: the account name "
		    "'%s' cannot name a token file (a '/', a space or a "
		    "leading '.')", account);
		return -1;
	}
	if (oauth2_store_dir(dir, size, f) == -1)
		return -1;
	if ((size_t)snprintf(path, size, "%s/%s", dir, account) >= size) {
		fail(f, STAGE_NONE, CAUSE_CONFIG, 0, "oauth2: the token file "
		    "name is too long");
		return -1;
	}
	return 0;
}

/* Read all of fd (a secret) up to OAUTH2_REPLY_MAX. */
static int
slurp(int fd, struct buf *b)
{
	char chunk[4096];
	ssize_t n;

	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 || b->len + (size_t)n > OAUTH2_REPLY_MAX ||
		    buf_add(b, chunk, (size_t)n) == -1) {
			explicit_bzero(chunk, sizeof(chunk));
			return -1;
		}
	}
	explicit_bzero(chunk, sizeof(chunk));
	return 0;
}

/* The file must be what we wrote: ours, regular, private. */
static int
check_file(int fd, const char *path, struct failure *f)
{
	struct stat st;

	if (fstat(fd, &st) == -1) {
		fail_errno(f, CAUSE_CONFIG, "oauth2: %s", path);
		return -1;
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
		fail(f, STAGE_NONE, CAUSE_CONFIG, 0, "oauth2: %s is not a "
		    "regular file of yours", path);
		return -1;
	}
	if ((st.st_mode & 077) != 0) {
		fail(f, STAGE_NONE, CAUSE_CONFIG, 0, "oauth2: %s can be read "
		    "by others (chmod 600 it, and consider the tokens in it "
		    "leaked: run smtpsend --authorize again)", path);
		return -1;
	}
	return 0;
}

int
oauth2_store_read(const char *account, struct oauth2_tokens *t,
    struct failure *f)
{
	char dir[4096], path[4096];
	struct buf text = BUF_INIT;
	const char *why;
	int fd, rc = -1;

	memset(t, 0, sizeof(*t));
	if (store_path(account, dir, path, sizeof(path), f) == -1)
		return -1;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1 && errno == ENOENT)
		return 1;
	if (fd == -1) {
		fail_errno(f, CAUSE_CONFIG, "oauth2: %s%s", path,
		    errno == ELOOP ? " (a symbolic link)" : "");
		return -1;
	}
	if (check_file(fd, path, f) == 0) {
		if (slurp(fd, &text) == -1)
			fail(f, STAGE_NONE, CAUSE_CONFIG, 0, "oauth2: %s cannot "
			    "be read or is too large", path);
		else if (oauth2_tokens_parse(text.data ? text.data : "",
		    text.len, t, &why) == -1)
			fail(f, STAGE_NONE, CAUSE_CONFIG, 0, "oauth2: %s is "
			    "damaged (%s): remove it and run smtpsend "
			    "--authorize -a %s", path, why, account);
		else
			rc = 0;
	}
	close(fd);
	buf_free_secret(&text);
	return rc;
}

/* mkdir -p, each new directory 0700; the last one must be ours and
 * private: a token file in a directory others write is not ours. */
static int
make_dirs(char *dir, struct failure *f)
{
	struct stat st;
	char *p, c;

	for (p = dir + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		c = *p;
		*p = '\0';
		if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
			fail_errno(f, CAUSE_CONFIG, "oauth2: cannot create %s",
			    dir);
			*p = c;
			return -1;
		}
		*p = c;
		if (c == '\0')
			break;
	}
	if (lstat(dir, &st) == -1 || !S_ISDIR(st.st_mode) ||
	    st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
		fail(f, STAGE_NONE, CAUSE_CONFIG, 0, "oauth2: %s must be a "
		    "directory of yours, mode 0700", dir);
		return -1;
	}
	return 0;
}

static int
write_all(int fd, const struct buf *b)
{
	size_t off = 0;
	ssize_t n;

	while (off < b->len) {
		n = write(fd, b->data + off, b->len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		off += (size_t)n;
	}
	return 0;
}

/* Temporary file, fsync, rename over the old one, fsync the directory. */
static int
replace(int dfd, const char *account, const struct buf *text)
{
	char tmp[300];
	bool ok;
	int fd, saved;

	snprintf(tmp, sizeof(tmp), ".%s.%08x.tmp", account, arc4random());
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (fd == -1)
		return -1;
	ok = write_all(fd, text) == 0 && fsync(fd) == 0;
	saved = errno;
	if (close(fd) == -1 && ok) {
		ok = false;
		saved = errno;
	}
	if (ok && renameat(dfd, tmp, dfd, account) == 0)
		return fsync(dfd);
	if (ok)
		saved = errno;
	unlinkat(dfd, tmp, 0);
	errno = saved;
	return -1;
}

int
oauth2_store_lock(const char *account, struct failure *f)
{
	char dir[4096], path[4096], lock[4400];
	int fd, tries;

	if (store_path(account, dir, path, sizeof(path), f) == -1 ||
	    make_dirs(dir, f) == -1)
		return -1;
	snprintf(lock, sizeof(lock), "%s/.%s.lock", dir, account);
	fd = open(lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1) {
		fail_errno(f, CAUSE_CONFIG, "oauth2: %s", lock);
		return -1;
	}
	/* Another send is refreshing: its rotated token is ours too. */
	for (tries = 0; flock(fd, LOCK_EX | LOCK_NB) == -1; tries++) {
		if (errno != EWOULDBLOCK || tries == 600) {
			fail_errno(f, CAUSE_TEMPORARY, "oauth2: %s", lock);
			close(fd);
			return -1;
		}
		usleep(100000);
	}
	return fd;
}

int
oauth2_store_write(const char *account, const struct oauth2_tokens *t,
    struct failure *f)
{
	char dir[4096], path[4096];
	struct buf text = BUF_INIT;
	int dfd, rc = -1;

	if (store_path(account, dir, path, sizeof(path), f) == -1 ||
	    make_dirs(dir, f) == -1)
		return -1;
	if (oauth2_tokens_format(t, &text) == -1) {
		fail_errno(f, CAUSE_OSERR, "oauth2: out of memory");
		return -1;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd == -1 || replace(dfd, account, &text) == -1)
		fail_errno(f, CAUSE_OSERR, "oauth2: cannot write %s", path);
	else
		rc = 0;
	if (dfd != -1)
		close(dfd);
	buf_free_secret(&text);
	return rc;
}
