/* SPDX-License-Identifier: ISC */
/* The SMTP reply parser and EHLO capabilities. */
#include "check.h"
#include "reply.h"

struct reply_case {
	const char	*name;
	const char	*in;
	int		 code;		/* 0: incomplete; -1: protocol error */
	const char	*text;
};

static const struct reply_case cases[] = {
	{ "simple", "250 ok\r\n", 250, "ok" },
	{ "multi", "250-a\r\n250-b\r\n250 c\r\n", 250, "a\nb\nc" },
	{ "bare LF", "220 hi\n", 220, "hi" },
	{ "code only", "250\r\n", 250, "" },
	{ "incomplete", "250-a\r\n250 c", 0, NULL },
	{ "not numeric", "abc def\r\n", -1, NULL },
	{ "mixed codes", "250-a\r\n251 b\r\n", -1, NULL },
	{ "bad separator", "250xok\r\n", -1, NULL },
	{ "NUL", "250 o\0k\r\n", -1, NULL },
	{ "code 100", "100 x\r\n", -1, NULL },
};

static void
test_cases(void)
{
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct reply_parser p;
		struct reply r;
		bool done;
		size_t len = strlen(cases[i].in);

		if (strcmp(cases[i].name, "NUL") == 0)
			len = 9;
		reply_parser_init(&p);
		reply_parse(&p, cases[i].in, len, &r, &done);
		if (cases[i].code == -1)
			CHECK(p.error, cases[i].name);
		else if (cases[i].code == 0)
			CHECK(!done && !p.error, cases[i].name);
		else {
			CHECK(done && !p.error, cases[i].name);
			CHECK_INT(r.code, cases[i].code, cases[i].name);
			CHECK_STR(r.text, cases[i].text, cases[i].name);
		}
	}
}

static void
test_pipelined_replies(void)
{
	const char *in = "250 a\r\n550 5.1.1 no\r\n354 go\r\n";
	struct reply_parser p;
	struct reply r;
	size_t off = 0, n = strlen(in);
	int codes[3], k = 0;
	bool done;

	reply_parser_init(&p);
	while (off < n && k < 3) {
		off += reply_parse(&p, in + off, n - off, &r, &done);
		if (done)
			codes[k++] = r.code;
	}
	CHECK_INT(k, 3, "three replies in one read");
	CHECK_INT(codes[1], 550, "second reply");
	CHECK_INT(codes[2], 354, "third reply");
}

static void
test_huge_reply_bounded(void)
{
	static char line[70000];
	struct reply_parser p;
	struct reply r;
	bool done;
	size_t i;

	reply_parser_init(&p);
	memcpy(line, "250-", 4);
	for (i = 4; i < sizeof(line); i++)
		line[i] = 'x';
	reply_parse(&p, line, sizeof(line), &r, &done);
	CHECK(p.error, "64 KB line is a protocol error");
	reply_parser_init(&p);
	for (i = 0; i < 2000 && !p.error; i++)
		reply_parse(&p, "250-x\r\n", 7, &r, &done);
	CHECK(p.error, "1000+ lines is a protocol error");
}

static void
test_caps(void)
{
	struct reply_parser p;
	struct reply r;
	struct caps c;
	bool done;
	const char *in = "250-mx.example\r\n250-PIPELINING\r\n250-SIZE 1000\r\n"
	    "250-AUTH PLAIN LOGIN\r\n250-8bitmime\r\n250 CHUNKING\r\n";

	reply_parser_init(&p);
	reply_parse(&p, in, strlen(in), &r, &done);
	caps_parse(&c, &r);
	CHECK(c.pipelining && c.chunking && c.eightbitmime, "flags");
	CHECK(!c.dsn && !c.smtputf8 && !c.starttls, "absent flags");
	CHECK_INT(c.size_max, 1000, "SIZE");
	CHECK_STR(c.auth_mechs, "PLAIN LOGIN", "AUTH mechanisms");
}

static void
test_caps_edges(void)
{
	static const struct {
		const char *in;
		bool pipelining;
		unsigned long long size;
	} t[] = {
		{ "250-\r\n250-PIPELINING\r\n250 SIZE 1000\r\n", true, 1000 },
		{ "250-mx\r\n250-SIZE\r\n250 123\r\n", false, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct reply_parser p;
		struct reply r;
		struct caps c;
		bool done;

		reply_parser_init(&p);
		reply_parse(&p, t[i].in, strlen(t[i].in), &r, &done);
		caps_parse(&c, &r);
		CHECK_INT(c.pipelining, t[i].pipelining, t[i].in);
		CHECK_INT(c.size_max, t[i].size, t[i].in);
	}
}

int
main(void)
{
	test_caps_edges();
	test_cases();
	test_pipelined_replies();
	test_huge_reply_bounded();
	test_caps();
	return check_summary();
}
