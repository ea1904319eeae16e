/* SPDX-License-Identifier: ISC */
/*
 * SMTP replies: a pure parser (bytes in, replies out) with bounded memory,
 * and the EHLO capabilities a session needs.
 */
#ifndef SMTPSEND_REPLY_H
#define SMTPSEND_REPLY_H

#include <stdbool.h>
#include <stddef.h>

#define REPLY_TEXT_MAX		4096	/* kept of one reply's text */
#define REPLY_LINE_MAX		(64 * 1024)	/* a longer line is not SMTP */
#define REPLY_LINES_MAX		1000	/* a longer reply is not SMTP */

struct reply {
	int	code;			/* 0 while incomplete */
	char	text[REPLY_TEXT_MAX];	/* lines without codes, '\n' between */
	size_t	textlen;
	size_t	lines;
};

struct reply_parser {
	struct reply	cur;
	char		line[512];	/* the start of the current line */
	size_t		linelen;	/* its full length so far */
	bool		error;
	char		why[128];
};

void	reply_parser_init(struct reply_parser *);
/*
 * Consume bytes up to the end of one complete reply. Returns the number
 * of bytes consumed; *done is set when `out` holds a complete reply.
 * On a protocol violation, p->error is set and p->why says what.
 */
size_t	reply_parse(struct reply_parser *, const char *, size_t,
	    struct reply *out, bool *done);

struct caps {
	bool			pipelining;
	bool			chunking;
	bool			eightbitmime;
	bool			smtputf8;
	bool			dsn;
	bool			starttls;
	bool			enhancedstatuscodes;
	bool			size;
	unsigned long long	size_max;	/* 0: no limit announced */
	size_t			rcptmax;	/* LIMITS RCPTMAX; 0: none */
	bool			auth;
	char			auth_mechs[256];
};

/* Capabilities from an EHLO reply (its text as reply_parse keeps it). */
void	caps_parse(struct caps *, const struct reply *);
/* Every extension offered: what --pretend assumes. */
void	caps_all(struct caps *);

#endif
