/* SPDX-License-Identifier: ISC */
/* Escaping for output and the wire: control characters, xtext. */
#ifndef SMTPSEND_ESCAPE_H
#define SMTPSEND_ESCAPE_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Copy src to dst (size dstsize, always terminated) with every control
 * character, DEL and backslash written as a C escape (\r, \n, \t, \\, \xNN),
 * so the result is one printable line. Bytes >= 0x80 pass (UTF-8 text).
 */
void	escape_line(char *dst, size_t dstsize, const char *src, size_t len);
/* Same, allocated; NULL on ENOMEM. */
char	*escape_dup(const char *src, size_t len);
/* True when s holds a control character (0x00-0x1f or 0x7f). */
bool	has_control(const char *s, size_t len);
/* True when s holds a byte >= 0x80. */
bool	has_8bit(const char *s, size_t len);
/* RFC 3461 xtext; allocated, NULL on ENOMEM. */
char	*xtext_encode(const char *s);

#endif
