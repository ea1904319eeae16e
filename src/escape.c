/* SPDX-License-Identifier: ISC */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "escape.h"

/* The escape for one byte into out[5]; returns its length. */
static size_t
escape_byte(unsigned char c, char out[5])
{
	const char *named = strchr("\r\n\t\\", c);

	if (c != '\0' && named != NULL) {
		out[0] = '\\';
		out[1] = "rnt\\"[named - "\r\n\t\\"];
		return 2;
	}
	if (c < 0x20 || c == 0x7f) {
		snprintf(out, 5, "\\x%02x", c);
		return 4;
	}
	out[0] = (char)c;
	return 1;
}

void
escape_line(char *dst, size_t dstsize, const char *src, size_t len)
{
	size_t o = 0, i, n;
	char e[5];

	if (dstsize == 0)
		return;
	for (i = 0; i < len; i++) {
		n = escape_byte((unsigned char)src[i], e);
		if (o + n >= dstsize)
			break;
		memcpy(dst + o, e, n);
		o += n;
	}
	dst[o] = '\0';
}

char *
escape_dup(const char *src, size_t len)
{
	struct buf b = BUF_INIT;
	size_t i, n;
	char e[5];

	if (buf_reserve(&b, len) == -1)
		return NULL;
	for (i = 0; i < len; i++) {
		n = escape_byte((unsigned char)src[i], e);
		if (buf_add(&b, e, n) == -1) {
			buf_free(&b);
			return NULL;
		}
	}
	return b.data;
}

bool
has_control(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return true;
	return false;
}

bool
has_8bit(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80)
			return true;
	return false;
}

char *
xtext_encode(const char *s)
{
	struct buf b = BUF_INIT;
	unsigned char c;

	if (buf_addstr(&b, "") == -1)
		return NULL;
	for (; *s != '\0'; s++) {
		c = (unsigned char)*s;
		if (c >= '!' && c <= '~' && c != '+' && c != '=') {
			if (buf_addch(&b, (char)c) == -1)
				goto fail;
		} else if (buf_printf(&b, "+%02X", c) == -1)
			goto fail;
	}
	return b.data;
fail:
	buf_free(&b);
	return NULL;
}
