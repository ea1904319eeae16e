/* SPDX-License-Identifier: ISC */
/*
 * The JSON an OAuth2 token or device endpoint answers (RFC 6749 section
 * 5, RFC 8628 section 3.2), read with json-c into checked C strings.
 * Pure: bytes in, a structure out.
 */
#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "oauth2_int.h"

/* What a field may hold. Tokens and codes are VSCHARs without the space
 * (they go into SASL and our token file); texts meant for people are
 * escaped by fail() when shown, URLs go to a terminal: printable only. */
enum charset { CS_TOKEN, CS_TEXT, CS_ANY };

struct field {
	const char	*name;
	size_t		 offset;
	enum charset	 cs;
	bool		 secret;
};

#define F(n, cs, sec) { #n, offsetof(struct oauth2_reply, n), cs, sec }
static const struct field fields[] = {
	F(error, CS_TEXT, false),
	F(error_description, CS_ANY, false),
	F(access_token, CS_TOKEN, true),
	F(refresh_token, CS_TOKEN, true),
	F(device_code, CS_TOKEN, true),
	F(user_code, CS_TOKEN, false),
	F(verification_uri, CS_TOKEN, false),
	F(verification_uri_complete, CS_TOKEN, false),
};
#undef F

void
oauth2_wipe(char **p)
{
	if (*p != NULL) {
		explicit_bzero(*p, strlen(*p));
		free(*p);
		*p = NULL;
	}
}

void
oauth2_reply_free(struct oauth2_reply *r)
{
	size_t i;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		oauth2_wipe((char **)((char *)r + fields[i].offset));
}

static bool
chars_ok(const char *v, size_t len, enum charset cs)
{
	size_t i;

	if (len == 0 || len > OAUTH2_VALUE_MAX || strlen(v) != len)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];

		if (cs == CS_TOKEN && (c <= 0x20 || c >= 0x7f))
			return false;
		if (cs == CS_TEXT && (c < 0x20 || c >= 0x7f))
			return false;
	}
	return true;
}

static int
take_string(json_object *top, const struct field *fd, struct oauth2_reply *r,
    const char **why)
{
	char **dst = (char **)((char *)r + fd->offset);
	json_object *o;
	const char *v;
	size_t len;

	if (!json_object_object_get_ex(top, fd->name, &o) || o == NULL)
		return 0;
	if (!json_object_is_type(o, json_type_string)) {
		*why = "a field that should be a string is not";
		return -1;
	}
	v = json_object_get_string(o);
	len = (size_t)json_object_get_string_len(o);
	if (!chars_ok(v, len, fd->cs)) {
		*why = "a field holds characters it may not";
		return -1;
	}
	if ((*dst = strdup(v)) == NULL) {
		*why = "out of memory";
		return -1;
	}
	/* json-c's copy goes with the object: wipe it first. */
	if (fd->secret)
		explicit_bzero((char *)v, len);
	return 0;
}

/* A number of seconds: an integer or, as some endpoints send, a string of
 * digits. -1 when absent; out of range is an error. */
static int
take_seconds(json_object *top, const char *name, long long *dst,
    const char **why)
{
	json_object *o;
	const char *v;
	char *end;
	long long n;

	*dst = -1;
	if (!json_object_object_get_ex(top, name, &o) || o == NULL)
		return 0;
	if (json_object_is_type(o, json_type_int)) {
		n = (long long)json_object_get_int64(o);
	} else if (json_object_is_type(o, json_type_string)) {
		v = json_object_get_string(o);
		if (!isdigit((unsigned char)*v) || strlen(v) > 12)
			goto bad;
		n = strtoll(v, &end, 10);
		if (*end != '\0')
			goto bad;
	} else {
		goto bad;
	}
	/* Ten years: anything more is nonsense, and it keeps sums safe. */
	if (n < 0 || n > 315360000LL)
		goto bad;
	*dst = n;
	return 0;
bad:
	*why = "expires_in or interval is not a number of seconds";
	return -1;
}

static int
take_all(json_object *top, struct oauth2_reply *r, const char **why)
{
	size_t i;

	if (!json_object_is_type(top, json_type_object)) {
		*why = "the answer is not a JSON object";
		return -1;
	}
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (take_string(top, &fields[i], r, why) == -1)
			return -1;
	if (r->verification_uri == NULL) {
		/* Google's older name for it. */
		static const struct field url = { "verification_url",
		    offsetof(struct oauth2_reply, verification_uri), CS_TOKEN,
		    false };

		if (take_string(top, &url, r, why) == -1)
			return -1;
	}
	if (take_seconds(top, "expires_in", &r->expires_in, why) == -1 ||
	    take_seconds(top, "interval", &r->interval, why) == -1)
		return -1;
	return 0;
}

int
oauth2_reply_parse(const char *body, size_t len, struct oauth2_reply *r,
    const char **why)
{
	struct json_tokener *tok;
	json_object *top = NULL;
	size_t end;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	r->expires_in = r->interval = -1;
	*why = "the answer is not JSON";
	if (len == 0 || len > OAUTH2_REPLY_MAX || len > INT_MAX)
		return -1;
	if ((tok = json_tokener_new_ex(16)) == NULL) {
		*why = "out of memory";
		return -1;
	}
	top = json_tokener_parse_ex(tok, body, (int)len);
	if (top != NULL && json_tokener_get_error(tok) == json_tokener_success) {
		end = json_tokener_get_parse_end(tok);
		while (end < len && isspace((unsigned char)body[end]))
			end++;
		if (end == len)
			rc = take_all(top, r, why);
	}
	json_object_put(top);
	json_tokener_free(tok);
	if (rc == -1)
		oauth2_reply_free(r);
	return rc;
}
