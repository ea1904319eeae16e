/* SPDX-License-Identifier: ISC */
/* The address-list parser against a torture table. */
#include <stdlib.h>
#include <time.h>

#include "addr.h"
#include "check.h"

struct addr_case {
	const char	*input;
	const char	*specs;		/* addresses joined by '|', or NULL: error */
	const char	*first_display;	/* display name of the first, or NULL */
};

static const struct addr_case cases[] = {
	{ "a@x", "a@x", NULL },
	{ "a@x,b@y", "a@x|b@y", NULL },
	{ " a@x , b@y ", "a@x|b@y", NULL },
	{ "\"Joe, Jr.\" <a@x>, b@y", "a@x|b@y", "\"Joe, Jr.\"" },
	{ "Joe Doe <joe@example.com>", "joe@example.com", "Joe Doe" },
	{ "root", "root", NULL },
	{ "root (Cron Daemon)", "root", NULL },
	/* Words with spaces are a name without its <address>, not joined. */
	{ "you example.org", NULL, NULL },
	{ "Joe Doe joe@example.com", NULL, NULL },
	{ "john . doe @ example.org", "john.doe@example.org", NULL },
	{ "u@[IPv6:2001:db8::1]", "u@[IPv6:2001:db8::1]", NULL },
	{ "\"a,b\"@x", "\"a,b\"@x", NULL },
	{ "\"john doe\"@example.com, x@y", "\"john doe\"@example.com|x@y",
	    NULL },
	{ "undisclosed-recipients:;", "", NULL },
	{ "team: a@x, b@y;, c@z", "a@x|b@y|c@z", NULL },
	{ "team: a@x, b@y;", "a@x|b@y", NULL },
	{ "=?utf-8?q?J=C3=B6rg?= <j@x>", "j@x", "=?utf-8?q?J=C3=B6rg?=" },
	{ "<@route1,@route2:user@x>", "user@x", NULL },
	{ "a@x (comment (nested) here), b@y", "a@x|b@y", NULL },
	{ "a (c) @ x", "a@x", NULL },
	{ "user@[192.0.2.1]", "user@[192.0.2.1]", NULL },
	{ ",,a@x,,", "a@x", NULL },
	{ "", "", NULL },
	{ "Name <a@x>\r\n\t, b@y", "a@x|b@y", "Name" },
	{ "J\xc3\xb6rg <j@x>", "j@x", "J\xc3\xb6rg" },
	{ "<a@x", NULL, NULL },
	{ "a@x>", NULL, NULL },
	{ "\"unterminated@x", NULL, NULL },
	{ "(open comment a@x", NULL, NULL },
	{ "a@x\nRCPT TO:<evil@y>", NULL, NULL },
	{ "a\r@x", NULL, NULL },
	{ "Name <a@x> trailing", NULL, NULL },
	{ "<>", NULL, NULL },
	{ "\"a\r\nRCPT TO:<e@v>\"@x", NULL, NULL },
	{ "\"a\x01b\"@example.com", NULL, NULL },
	{ "a@[192.0.2.1\x7f]", NULL, NULL },
	{ "[\\\x7f]", NULL, NULL },
	{ "\"a\\\r\nb\"@x", NULL, NULL },
	{ "\"a\tb\"@x", NULL, NULL },
	{ "\"Doe,\r\n John\" <j@x>", "j@x", "\"Doe, John\"" },
};

static void
join(char *dst, size_t size, const struct addrlist *l)
{
	size_t i;

	dst[0] = '\0';
	for (i = 0; i < l->n; i++) {
		if (i > 0)
			strlcat(dst, "|", size);
		strlcat(dst, l->v[i].spec, size);
	}
}

static void
test_parse(void)
{
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct addrlist l = { 0 };
		char got[512], err[128], ctx[300];
		int r = addrlist_parse(&l, cases[i].input, err, sizeof(err));

		snprintf(ctx, sizeof(ctx), "parse \"%s\"", cases[i].input);
		if (cases[i].specs == NULL) {
			CHECK_INT(r, -1, ctx);
		} else {
			CHECK_INT(r, 0, ctx);
			join(got, sizeof(got), &l);
			CHECK_STR(got, cases[i].specs, ctx);
			if (l.n > 0)
				CHECK_STR(l.v[0].display, cases[i].first_display,
				    ctx);
		}
		addrlist_free(&l);
	}
}

static void
test_comment_kept(void)
{
	struct addrlist l = { 0 };
	char err[128];

	CHECK_INT(addrlist_parse(&l, "root (Cron Daemon)", err, sizeof(err)),
	    0, "comment");
	CHECK_STR(l.n ? l.v[0].comment : NULL, "Cron Daemon", "comment text");
	addrlist_free(&l);
}

static void
test_equal_and_unique(void)
{
	struct addrlist l = { 0 };

	CHECK(addr_equal("a@EXAMPLE.com", "a@example.COM"), "domain case");
	CHECK(!addr_equal("A@example.com", "a@example.com"), "local case");
	CHECK(!addr_equal("a", "a@x"), "bare vs qualified");
	CHECK_INT(addrlist_add_unique(&l, "a@x"), 1, "first add");
	CHECK_INT(addrlist_add_unique(&l, "a@X"), 0, "duplicate add");
	CHECK_INT(l.n, 1, "count after duplicate");
	addrlist_free(&l);
}

/* Many additions in linear time, and duplicates still found through the
 * index: also after addrlist_parse appended without it (issue 22 M1). */
static void
test_unique_many(void)
{
	struct addrlist l = { 0 };
	struct timespec t0, t1;
	char a[64], err[128];
	int i, added = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < 100000; i++) {
		snprintf(a, sizeof(a), "r%d@Example.NET", i);
		added += addrlist_add_unique(&l, a);
	}
	for (i = 0; i < 100000; i += 7) {
		snprintf(a, sizeof(a), "r%d@example.net", i);
		added += addrlist_add_unique(&l, a);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK_INT(added, 100000, "each address added once");
	CHECK_INT(l.n, 100000, "count");
	CHECK(t1.tv_sec - t0.tv_sec < 2, "100,000 additions: linear time");
	CHECK_INT(addrlist_add_unique(&l, "R5@example.net"), 1,
	    "the local part keeps its case");
	CHECK_INT(addrlist_parse(&l, "x@y, z@w", err, sizeof(err)), 0,
	    "parse appends");
	CHECK_INT(addrlist_add_unique(&l, "X@y"), 1, "local case, parsed");
	CHECK_INT(addrlist_add_unique(&l, "z@W"), 0, "a parsed one found");
	CHECK_STR(l.v[l.n - 1].spec, "X@y", "the last added");
	addrlist_free(&l);
	CHECK_INT(addrlist_add_unique(&l, "a@b"), 1, "usable after free");
	addrlist_free(&l);
}

static void
test_check(void)
{
	static const struct {
		const char *addr;
		int want;
	} t[] = {
		{ "a@x", 0 }, { "root", 0 }, { "\"a b\"@x", 0 },
		{ "a\n@x", -1 }, { "a\r\n@x", -1 }, { "a<b@x", -1 },
		{ "a b@x", -1 }, { "", -1 }, { "a@", -1 }, { "@x", -1 },
		{ "a\x7f@x", -1 }, { "j\xc3\xb6rg@x", 0 },
	};
	char err[128], ctx[64];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(ctx, sizeof(ctx), "addr_check case %zu", i);
		CHECK_INT(addr_check(t[i].addr, err, sizeof(err)), t[i].want,
		    ctx);
	}
}

int
main(void)
{
	test_parse();
	test_comment_kept();
	test_equal_and_unique();
	test_unique_many();
	test_check();
	return check_summary();
}
