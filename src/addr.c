/* SPDX-License-Identifier: ISC */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "buf.h"

/* A cursor over the text, with the first error it met. */
struct lexer {
	const char	*p;
	char		*err;
	size_t		 errsize;
	bool		 bad;
	char		*comment;	/* last comment seen */
};

static int
lex_error(struct lexer *lx, const char *what)
{
	if (!lx->bad)
		snprintf(lx->err, lx->errsize, "%s", what);
	lx->bad = true;
	errno = EINVAL;
	return -1;
}

static bool
is_special(char c)
{
	return strchr("()<>[]:;@\\,.\"", c) != NULL;
}

static bool
is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* A comment, nested, with quoted pairs; the text is kept for display use. */
static int
skip_comment(struct lexer *lx)
{
	struct buf text = BUF_INIT;
	int depth = 0;

	do {
		char c = *lx->p;

		if (c == '\0') {
			buf_free(&text);
			return lex_error(lx, "unterminated comment");
		}
		lx->p++;
		if (c == '\\' && *lx->p != '\0')
			c = *lx->p++;
		else if (c == '(') {
			if (depth++ == 0)
				continue;
		} else if (c == ')' && --depth == 0)
			break;
		if (buf_addch(&text, c) == -1) {
			buf_free(&text);
			return -1;
		}
	} while (depth > 0);
	free(lx->comment);
	lx->comment = text.data != NULL ? text.data : strdup("");
	return lx->comment == NULL ? -1 : 0;
}

/* Skip whitespace, folding and comments. */
static int
skip_cfws(struct lexer *lx)
{
	for (;;) {
		if (is_wsp(*lx->p) || (*lx->p == '\n' && is_wsp(lx->p[1])))
			lx->p++;
		else if (lx->p[0] == '\r' && lx->p[1] == '\n' &&
		    is_wsp(lx->p[2]))
			lx->p += 2;
		else if (*lx->p == '(') {
			if (skip_comment(lx) == -1)
				return -1;
		} else
			return 0;
	}
}

/* Append a quoted word without the CRLFs of its folding. */
static int
unfold_quotes(struct buf *b, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n') {
			i++;
			continue;
		}
		if (buf_addch(b, p[i]) == -1)
			return -1;
	}
	return 0;
}

/* Append one word (atom, quoted string, domain literal or '.'/'@') to b. */
static int
take_word(struct lexer *lx, struct buf *b)
{
	const char *start = lx->p;
	char open = *lx->p, close = open == '"' ? '"' : ']';

	if (open == '"' || open == '[') {
		for (lx->p++; *lx->p != close; lx->p++) {
			if (*lx->p == '\0')
				return lex_error(lx, open == '"' ?
				    "unterminated quoted string" :
				    "unterminated domain literal");
			/* Folding (CRLF before a space) is allowed in a
			 * display name's quotes; unfold_quotes() drops it. */
			if (lx->p[0] == '\r' && lx->p[1] == '\n' &&
			    is_wsp(lx->p[2])) {
				lx->p++;
				continue;
			}
			/* A quoted pair quotes the next byte, not its check. */
			if (*lx->p == '\\' && lx->p[1] != '\0')
				lx->p++;
			/* Any other CR or LF here is an attack, and no
			 * envelope takes a TAB either. */
			if ((unsigned char)*lx->p < 0x20 || *lx->p == 0x7f)
				return lex_error(lx, "control character");
		}
		lx->p++;
		return unfold_quotes(b, start, (size_t)(lx->p - start));
	} else if (open == '.' || open == '@')
		lx->p++;
	else
		while (*lx->p != '\0' && !is_special(*lx->p) &&
		    !is_wsp(*lx->p) && (unsigned char)*lx->p >= 0x20 &&
		    *lx->p != 0x7f)
			lx->p++;
	if (lx->p == start)
		return lex_error(lx, "unexpected character");
	return buf_add(b, start, (size_t)(lx->p - start));
}

/*
 * Words up to one of the stop characters. `spec` gets them as written
 * without CFWS (an addr-spec); `phrase` gets them joined by single spaces
 * (a display name).
 */
static int
take_words(struct lexer *lx, const char *stops, struct buf *spec,
    struct buf *phrase, bool *spaced)
{
	bool after_word = false;

	for (;;) {
		size_t before = spec->len;
		const char *at = lx->p;

		if (skip_cfws(lx) == -1)
			return -1;
		/* White space between two words: "you example.org". */
		if (after_word && lx->p != at && spaced != NULL &&
		    *lx->p != '\0' && strchr(stops, *lx->p) == NULL &&
		    strchr(".@", *lx->p) == NULL && spec->len > 0 &&
		    strchr(".@", spec->data[spec->len - 1]) == NULL)
			*spaced = true;
		after_word = true;
		if (*lx->p == '\0' || strchr(stops, *lx->p) != NULL)
			return 0;
		if ((unsigned char)*lx->p < 0x20 || *lx->p == 0x7f)
			return lex_error(lx, "control character");
		if (*lx->p == '>')
			return lex_error(lx, "unbalanced '>'");
		if (strchr("()<>:;\\,", *lx->p) != NULL)
			return lex_error(lx, "unexpected special character");
		if (take_word(lx, spec) == -1)
			return -1;
		if (phrase->len > 0 && buf_addch(phrase, ' ') == -1)
			return -1;
		if (buf_add(phrase, spec->data + before, spec->len - before)
		    == -1)
			return -1;
	}
}

static int
list_append(struct addrlist *l, const char *spec, const char *display,
    const char *comment)
{
	struct address *v, *a;
	size_t cap;

	/* Doubling: n appends copy O(n) bytes, whatever realloc does. */
	if (l->n == l->cap) {
		cap = l->cap != 0 ? 2 * l->cap : 8;
		if ((v = reallocarray(l->v, cap, sizeof(*v))) == NULL)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	a = &l->v[l->n];
	a->spec = strdup(spec);
	a->display = display != NULL && *display ? strdup(display) : NULL;
	a->comment = comment != NULL ? strdup(comment) : NULL;
	if (a->spec == NULL || (display != NULL && *display && !a->display) ||
	    (comment != NULL && a->comment == NULL)) {
		free(a->spec);
		free(a->display);
		free(a->comment);
		return -1;
	}
	l->n++;
	return 0;
}

/* '<' [obs-route ':'] addr-spec '>' with the cursor on '<'. */
static int
take_angle(struct lexer *lx, struct buf *spec)
{
	struct buf ignored = BUF_INIT;
	int r;

	lx->p++;
	if (skip_cfws(lx) == -1)
		return -1;
	if (*lx->p == '@') {
		/* Obsolete source route: "<@a,@b:user@x>" keeps user@x. */
		const char *colon = strchr(lx->p, ':');
		const char *close = strchr(lx->p, '>');

		if (colon == NULL || (close != NULL && close < colon))
			return lex_error(lx, "bad source route");
		lx->p = colon + 1;
	}
	r = take_words(lx, ">,;<", spec, &ignored, NULL);
	buf_free(&ignored);
	if (r == -1)
		return -1;
	if (*lx->p != '>')
		return lex_error(lx, "unbalanced '<'");
	lx->p++;
	return 0;
}

/* One mailbox or group member; stops before ',', ';' or the end. */
static int
take_mailbox(struct lexer *lx, struct addrlist *out, bool in_group)
{
	struct buf spec = BUF_INIT, phrase = BUF_INIT;
	bool angle = false, spaced = false;
	int r = -1;

	free(lx->comment);
	lx->comment = NULL;
	if (take_words(lx, in_group ? "<,;" : "<,;:", &spec, &phrase,
	    &spaced) == -1)
		goto out;
	if (*lx->p == '<') {
		angle = true;
		buf_reset(&spec);
		if (take_angle(lx, &spec) == -1 || skip_cfws(lx) == -1)
			goto out;
		if (*lx->p != '\0' && *lx->p != ',' && *lx->p != ';') {
			lex_error(lx, "text after '>'");
			goto out;
		}
		if (spec.len == 0) {
			lex_error(lx, "empty address in '<>'");
			goto out;
		}
	} else if (*lx->p == ':') {
		lex_error(lx, "unexpected ':'");
		goto out;
	} else if (spaced) {
		/* A name without <address>, or a typo: never joined up. */
		lex_error(lx, "words separated by spaces are not an address "
		    "(a name needs the address in <>)");
		goto out;
	}
	r = 0;
	if (spec.len > 0)
		r = list_append(out, spec.data, angle ? phrase.data : NULL,
		    lx->comment);
out:
	buf_free(&spec);
	buf_free(&phrase);
	return r;
}

/* "name: member, member;" with the cursor after the display name. */
static int
take_group(struct lexer *lx, struct addrlist *out)
{
	lx->p++;		/* the ':' */
	for (;;) {
		if (skip_cfws(lx) == -1)
			return -1;
		if (*lx->p == ';') {
			lx->p++;
			return 0;
		}
		if (*lx->p == '\0')
			return 0;	/* lenient: a group left open */
		if (*lx->p == ',') {
			lx->p++;
			continue;
		}
		if (take_mailbox(lx, out, true) == -1)
			return -1;
	}
}

/* The display name of a group, checked like any other phrase. */
static int
take_group_name(struct lexer *lx)
{
	struct buf name = BUF_INIT, phrase = BUF_INIT;
	int r = take_words(lx, ":", &name, &phrase, NULL);

	buf_free(&name);
	buf_free(&phrase);
	if (r == 0 && *lx->p != ':')
		return lex_error(lx, "bad group name");
	return r;
}

/* Does a ':' come (outside quotes) before the next ',' or '<'? */
static bool
starts_group(const char *p)
{
	bool quoted = false;
	int depth = 0;

	for (; *p != '\0'; p++) {
		if (*p == '\\' && p[1] != '\0')
			p++;
		else if (*p == '"' && depth == 0)
			quoted = !quoted;
		else if (!quoted && *p == '(')
			depth++;
		else if (!quoted && *p == ')' && depth > 0)
			depth--;
		else if (quoted || depth > 0)
			continue;
		else if (*p == '[' && strchr(p, ']') != NULL)
			p = strchr(p, ']');	/* [IPv6:2001:db8::1] */
		else if (*p == ',' || *p == '<')
			return false;
		else if (!quoted && *p == ':')
			return true;
	}
	return false;
}

int
addrlist_parse(struct addrlist *out, const char *s, char *err, size_t errsize)
{
	struct lexer lx = { s, err, errsize, false, NULL };
	int r = -1;

	for (;;) {
		if (skip_cfws(&lx) == -1)
			goto done;
		if (*lx.p == '\0')
			break;
		if (*lx.p == ',') {
			lx.p++;
			continue;
		}
		if (starts_group(lx.p)) {
			if (take_group_name(&lx) == -1 ||
			    take_group(&lx, out) == -1)
				goto done;
		} else if (take_mailbox(&lx, out, false) == -1)
			goto done;
		if (skip_cfws(&lx) == -1)
			goto done;
		if (*lx.p == ';') {
			lex_error(&lx, "unexpected ';'");
			goto done;
		}
	}
	r = 0;
done:
	free(lx.comment);
	if (r == -1 && !lx.bad)
		snprintf(err, errsize, "%s", strerror(errno));
	return r;
}

void
addrlist_free(struct addrlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].spec);
		free(l->v[i].display);
		free(l->v[i].comment);
	}
	free(l->v);
	free(l->slot);
	memset(l, 0, sizeof(*l));
}

const char *
addr_domain(const char *spec)
{
	const char *at = strrchr(spec, '@');

	return at != NULL ? at + 1 : NULL;
}

bool
addr_equal(const char *a, const char *b)
{
	const char *da = addr_domain(a), *db = addr_domain(b);
	size_t la = da ? (size_t)(da - a) : strlen(a);
	size_t lb = db ? (size_t)(db - b) : strlen(b);

	if (la != lb || memcmp(a, b, la) != 0 || (da == NULL) != (db == NULL))
		return false;
	return da == NULL || strcasecmp(da, db) == 0;
}

/* Consistent with addr_equal: the local part's bytes, the domain's case
 * folded as strcasecmp folds it. FNV-1a. */
static size_t
addr_hash(const char *spec)
{
	const char *dom = addr_domain(spec), *p;
	size_t h = 2166136261u;

	for (p = spec; *p != '\0' && (dom == NULL || p < dom - 1); p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	h = (h ^ (dom != NULL ? 1u : 2u)) * 16777619u;
	for (p = dom; p != NULL && *p != '\0'; p++)
		h = (h ^ (unsigned char)tolower((unsigned char)*p)) * 16777619u;
	return h;
}

/* The slot holding an address equal to spec, or the empty one for it. */
static size_t *
index_find(const struct addrlist *l, const char *spec)
{
	size_t i = addr_hash(spec) & (l->nslot - 1);

	while (l->slot[i] != 0 && !addr_equal(l->v[l->slot[i] - 1].spec, spec))
		i = (i + 1) & (l->nslot - 1);
	return &l->slot[i];
}

/* Index what was appended since (addrlist_parse appends without it),
 * growing the table to keep it at most half full. */
static int
index_update(struct addrlist *l)
{
	size_t want = l->nslot != 0 ? l->nslot : 16, *s;

	while (want < 2 * (l->n + 1))
		want *= 2;
	if (want != l->nslot) {
		if ((s = calloc(want, sizeof(*s))) == NULL)
			return -1;
		free(l->slot);
		l->slot = s;
		l->nslot = want;
		l->indexed = 0;
	}
	for (; l->indexed < l->n; l->indexed++) {
		s = index_find(l, l->v[l->indexed].spec);
		if (*s == 0)
			*s = l->indexed + 1;
	}
	return 0;
}

int
addrlist_add_unique(struct addrlist *l, const char *spec)
{
	size_t *s;

	if (index_update(l) == -1)
		return -1;
	if (*(s = index_find(l, spec)) != 0)
		return 0;
	if (list_append(l, spec, NULL, NULL) == -1)
		return -1;
	*s = l->n;
	l->indexed = l->n;
	return 1;
}

int
addr_check(const char *spec, char *err, size_t errsize)
{
	const char *p, *at = addr_domain(spec);
	bool quoted = false;

	if (*spec == '\0')
		return snprintf(err, errsize, "empty address"), -1;
	if (strlen(spec) > 254)
		return snprintf(err, errsize, "address longer than 254 octets"),
		    -1;
	for (p = spec; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (c < 0x20 || c == 0x7f)
			return snprintf(err, errsize, "control character in "
			    "address"), -1;
		if (c == '\\' && quoted && p[1] != '\0')
			p++;
		else if (c == '"')
			quoted = !quoted;
		else if (!quoted && strchr("<> ,;()", c) != NULL)
			return snprintf(err, errsize, "'%c' in address", c), -1;
	}
	if (quoted)
		return snprintf(err, errsize, "unterminated quote in address"),
		    -1;
	if (at != NULL && (*at == '\0' || at == spec + 1))
		return snprintf(err, errsize, "empty %s part in address",
		    *at == '\0' ? "domain" : "local"), -1;
	return 0;
}
