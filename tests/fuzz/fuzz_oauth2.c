/* SPDX-License-Identifier: ISC */
/*
 * The OAuth2 parsers of untrusted bytes: an endpoint's JSON answer
 * (oauth2_reply_parse), the token file (oauth2_tokens_parse, then
 * oauth2_tokens_format and a second parse) and the query string of the
 * redirect any local program can send to the --authorize listener
 * (oauth2_query_get). Every input goes through all three.
 *
 * Invariants (names for SMTPSEND_FUZZ_KNOWN, see fuzz_common.h):
 *   reply-chars      tokens, codes and URLs are printable ASCII without a
 *                    space, the error code printable, the description
 *                    without NUL; every string at most OAUTH2_VALUE_MAX
 *   reply-numbers    expires_in and interval are -1 or 0..315360000
 *   tokens-chars     each value without a control character; tokens and
 *                    the port without a space
 *   tokens-roundtrip the file we would write reads back to the same tokens
 *   query-chars      a decoded value holds no control character
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "oauth2_int.h"
#include "fuzz_common.h"

FUZZ_NOCOV static bool
printable(const char *s, bool space, bool any)
{
	const unsigned char *p;

	if (s == NULL)
		return true;
	if (strlen(s) > OAUTH2_VALUE_MAX)
		return false;
	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (!any && (*p < 0x20 || *p >= 0x7f || (!space && *p == ' ')))
			return false;
	return true;
}

FUZZ_NOCOV static void
check_reply(const uint8_t *data, size_t size)
{
	struct oauth2_reply r;
	const char *why;

	if (oauth2_reply_parse((const char *)data, size, &r, &why) == -1) {
		FUZZ_ASSERT(why != NULL && *why != '\0');
		FUZZ_ASSERT(r.access_token == NULL && r.error == NULL);
		return;
	}
	FUZZ_CHECK("reply-chars", printable(r.access_token, false, false) &&
	    printable(r.refresh_token, false, false) &&
	    printable(r.device_code, false, false) &&
	    printable(r.user_code, false, false) &&
	    printable(r.verification_uri, false, false) &&
	    printable(r.verification_uri_complete, false, false));
	FUZZ_CHECK("reply-chars", printable(r.error, true, false) &&
	    printable(r.error_description, true, true));
	FUZZ_CHECK("reply-numbers", r.expires_in >= -1 &&
	    r.expires_in <= 315360000LL && r.interval >= -1 &&
	    r.interval <= 315360000LL);
	oauth2_reply_free(&r);
}

FUZZ_NOCOV static bool
same_str(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	    (a != NULL && b != NULL && strcmp(a, b) == 0);
}

FUZZ_NOCOV static void
check_tokens(const uint8_t *data, size_t size)
{
	struct oauth2_tokens t, u;
	struct buf text = BUF_INIT;
	const char *why;

	if (oauth2_tokens_parse((const char *)data, size, &t, &why) == -1)
		return;
	FUZZ_CHECK("tokens-chars", printable(t.refresh_token, false, false) &&
	    printable(t.access_token, false, false) &&
	    printable(t.token_endpoint, false, false) &&
	    printable(t.port, false, false) &&
	    printable(t.client_id, true, false) && printable(t.host, true, false));
	FUZZ_ASSERT(oauth2_tokens_format(&t, &text) == 0);
	FUZZ_CHECK("tokens-roundtrip", oauth2_tokens_parse(text.data, text.len,
	    &u, &why) == 0);
	FUZZ_CHECK("tokens-roundtrip", same_str(t.refresh_token,
	    u.refresh_token) && same_str(t.access_token, u.access_token) &&
	    same_str(t.token_endpoint, u.token_endpoint) &&
	    same_str(t.client_id, u.client_id) && same_str(t.host, u.host) &&
	    same_str(t.port, u.port) && (t.expires_at == u.expires_at ||
	    (t.expires_at == 0 && u.expires_at == 0)));
	oauth2_tokens_free(&u);
	oauth2_tokens_free(&t);
	buf_free_secret(&text);
}

FUZZ_NOCOV static void
check_query(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "code", "state", "error",
	    "error_description" };
	size_t i;
	char *v;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		v = oauth2_query_get((const char *)data, size, names[i]);
		if (v != NULL)
			FUZZ_CHECK("query-chars", strpbrk(v, "\x01\x02\x03\x04"
			    "\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10"
			    "\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c"
			    "\x1d\x1e\x1f\x7f") == NULL);
		oauth2_wipe(&v);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_reply(data, size);
	check_tokens(data, size);
	check_query(data, size);
	return 0;
}
