/* SPDX-License-Identifier: ISC */
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "escape.h"
#include "sasl.h"

#define SMTP_LINE_MAX	512	/* RFC 5321 4.5.3.1.4, with CRLF */

static const char *const names[] = {
	[SASL_NONE] = "", [SASL_PLAIN] = "PLAIN", [SASL_LOGIN] = "LOGIN",
	[SASL_CRAM_MD5] = "CRAM-MD5", [SASL_XOAUTH2] = "XOAUTH2",
	[SASL_OAUTHBEARER] = "OAUTHBEARER", [SASL_EXTERNAL] = "EXTERNAL",
};

const char *
sasl_name(enum sasl_mech m)
{
	return names[m];
}

static bool
offers(const char *offered, const char *mech)
{
	size_t n = strlen(mech);
	const char *p;

	for (p = offered; (p = strcasestr(p, mech)) != NULL; p += n)
		if ((p == offered || p[-1] == ' ') && (p[n] == '\0' ||
		    p[n] == ' '))
			return true;
	return false;
}

enum sasl_mech
sasl_choose(enum auth_mode mode, const char *offered)
{
	static const enum sasl_mech prefer[] = { SASL_PLAIN, SASL_LOGIN,
	    SASL_CRAM_MD5 };
	enum sasl_mech m;
	size_t i;

	switch (mode) {
	case AUTH_OFF:		return SASL_NONE;
	case AUTH_AUTO:
		for (i = 0; i < sizeof(prefer) / sizeof(prefer[0]); i++)
			if (offers(offered, names[prefer[i]]))
				return prefer[i];
		return SASL_NONE;
	case AUTH_PLAIN:	m = SASL_PLAIN; break;
	case AUTH_LOGIN:	m = SASL_LOGIN; break;
	case AUTH_CRAM_MD5:	m = SASL_CRAM_MD5; break;
	case AUTH_XOAUTH2:	m = SASL_XOAUTH2; break;
	case AUTH_OAUTHBEARER:	m = SASL_OAUTHBEARER; break;
	case AUTH_EXTERNAL:	m = SASL_EXTERNAL; break;
	default:		return SASL_NONE;
	}
	return offers(offered, names[m]) ? m : SASL_NONE;
}

/* base64 of n bytes, then CRLF; the clear text is wiped by the caller. */
static int
add_base64(struct buf *b, const void *p, size_t n)
{
	size_t need = 4 * ((n + 2) / 3) + 1;

	if (buf_reserve(b, need + 2) == -1)
		return -1;
	b->len += (size_t)EVP_EncodeBlock((unsigned char *)b->data + b->len,
	    p, (int)n);
	return buf_add(b, "\r\n", 2);
}

/* The mechanism's first message, clear text, into `raw`. */
static int
initial(const struct sasl *s, struct buf *raw)
{
	switch (s->mech) {
	case SASL_PLAIN:
		/* authzid NUL authcid NUL passwd */
		return buf_addch(raw, '\0') == -1 || buf_addstr(raw, s->user) ==
		    -1 || buf_addch(raw, '\0') == -1 ? -1 :
		    buf_addstr(raw, s->secret);
	case SASL_XOAUTH2:
		return buf_printf(raw, "user=%s\001auth=Bearer %s\001\001",
		    s->user, s->secret);
	case SASL_OAUTHBEARER:
		return buf_printf(raw, "n,a=%s,\001host=%s\001port=%u\001"
		    "auth=Bearer %s\001\001", s->user, s->host, s->port,
		    s->secret);
	default:
		return 0;
	}
}

int
sasl_start(struct sasl *s, struct buf *b)
{
	struct buf raw = BUF_INIT;
	size_t start = b->len;
	int r;

	if (buf_printf(b, "AUTH %s", names[s->mech]) == -1)
		return -1;
	if (s->mech == SASL_EXTERNAL)
		return buf_addstr(b, " =\r\n");
	if (s->mech == SASL_LOGIN || s->mech == SASL_CRAM_MD5)
		return buf_addstr(b, "\r\n");
	if (initial(s, &raw) == -1) {
		buf_free_secret(&raw);
		return -1;
	}
	/* "AUTH MECH " + base64 + CRLF must fit in a line. */
	if (b->len - start + 1 + 4 * ((raw.len + 2) / 3) + 2 > SMTP_LINE_MAX)
		r = buf_addstr(b, "\r\n");
	else {
		s->round = 1;	/* the response went with the command */
		r = buf_addch(b, ' ') == -1 ? -1 : add_base64(b, raw.data,
		    raw.len);
	}
	buf_free_secret(&raw);
	return r;
}

/* base64 to bytes: EVP_DecodeBlock counts the padding as zero bytes. */
static int
decode(const char *b64, unsigned char *out, size_t size)
{
	size_t n = strnlen(b64, 4096);
	int len;

	while (n > 0 && (b64[n - 1] == '\r' || b64[n - 1] == '\n' ||
	    b64[n - 1] == ' '))
		n--;
	if (n % 4 != 0 || 3 * (n / 4) > size)
		return -1;
	if ((len = EVP_DecodeBlock(out, (const unsigned char *)b64, (int)n)) < 0)
		return -1;
	if (n > 0 && b64[n - 1] == '=')
		len--;
	if (n > 1 && b64[n - 2] == '=')
		len--;
	return len;
}

static int
cram_md5(const struct sasl *s, const char *challenge, struct buf *b)
{
	unsigned char plain[1024], mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	struct buf raw = BUF_INIT;
	int n = decode(challenge, plain, sizeof(plain));
	unsigned int i;
	int r;

	if (n < 0 || HMAC(EVP_md5(), s->secret, (int)strlen(s->secret), plain,
	    (size_t)n, mac, &maclen) == NULL)
		return -1;
	r = buf_printf(&raw, "%s ", s->user);
	for (i = 0; r == 0 && i < maclen; i++)
		r = buf_printf(&raw, "%02x", mac[i]);
	if (r == 0)
		r = add_base64(b, raw.data, raw.len);
	buf_free_secret(&raw);
	return r;
}

int
sasl_step(struct sasl *s, const char *challenge, struct buf *b)
{
	struct buf raw = BUF_INIT;
	int r, round = s->round++;

	switch (s->mech) {
	case SASL_LOGIN:
		/* Username, then Password: whatever the prompts say. */
		return round == 0 ? add_base64(b, s->user, strlen(s->user)) :
		    round == 1 ? add_base64(b, s->secret, strlen(s->secret)) :
		    -1;
	case SASL_CRAM_MD5:
		return round == 0 ? cram_md5(s, challenge, b) : -1;
	case SASL_PLAIN:
	case SASL_XOAUTH2:
	case SASL_OAUTHBEARER:
		if (round > 0) {
			/* An error challenge: XOAUTH2 wants an empty line,
			 * OAUTHBEARER a ^A; the server then says 535. */
			s->error_seen = true;
			if (s->mech == SASL_OAUTHBEARER)
				return add_base64(b, "\001", 1);
			return buf_addstr(b, "\r\n");
		}
		/* The response that did not fit with the command. */
		r = initial(s, &raw) == -1 ? -1 : add_base64(b, raw.data,
		    raw.len);
		buf_free_secret(&raw);
		return r;
	default:
		return -1;
	}
}

char *
sasl_decode(const char *challenge)
{
	size_t n = strnlen(challenge, 4096);
	unsigned char *plain = malloc(n + 4);
	char *shown;
	int len;

	if (plain == NULL)
		return NULL;
	if ((len = decode(challenge, plain, n + 4)) <= 0) {
		free(plain);
		return NULL;
	}
	shown = escape_dup((const char *)plain, (size_t)len);
	free(plain);
	return shown;
}
