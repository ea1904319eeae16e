/* SPDX-License-Identifier: ISC */
/*
 * Shared by the libFuzzer harnesses: invariant checks that abort with a
 * readable message, and a switch to tolerate known, already reported
 * violations while the rest of a parser is explored.
 *
 * SMTPSEND_FUZZ_KNOWN=name,name,...  names of invariants to report once
 * on stderr and then tolerate (see the FUZZ_CHECK names in each harness).
 * Unset (the default): every invariant aborts. run.sh also takes @FILE
 * (@tests/fuzz/known: what was found and is not fixed yet) and turns on
 * the LeakSanitizer suppressions of known-leaks.supp for the names given.
 */
#ifndef SMTPSEND_FUZZ_COMMON_H
#define SMTPSEND_FUZZ_COMMON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Checking code: no coverage feedback (and no cost) from it. */
#if defined(__clang__) && __clang_major__ >= 13
#define FUZZ_NOCOV	__attribute__((no_sanitize("coverage")))
#else
#define FUZZ_NOCOV
#endif

static inline bool
fuzz_known(const char *name)
{
	const char *k = getenv("SMTPSEND_FUZZ_KNOWN");
	size_t n = strlen(name);

	while (k != NULL && *k != '\0') {
		size_t len = strcspn(k, ",");

		if (len == n && strncmp(k, name, n) == 0)
			return true;
		k += len;
		k += *k == ',';
	}
	return false;
}

/* Violations of tolerated invariants, counted per name (first report only). */
static inline void
fuzz_violation(const char *name, const char *file, int line, const char *what)
{
	static char seen[32][48];
	static int nseen;
	int i;

	if (fuzz_known(name)) {
		for (i = 0; i < nseen; i++)
			if (strcmp(seen[i], name) == 0)
				return;
		if (nseen < 32)
			snprintf(seen[nseen++], sizeof(seen[0]), "%s", name);
		fprintf(stderr, "fuzz: tolerated known violation [%s] at "
		    "%s:%d: %s (reported once)\n", name, file, line, what);
		return;
	}
	fprintf(stderr, "fuzz: INVARIANT VIOLATED [%s] at %s:%d: %s\n", name,
	    file, line, what);
	abort();
}

/* An invariant that must hold: abort unless its name is tolerated. */
#define FUZZ_CHECK(name, cond)						\
	do {								\
		if (!(cond))						\
			fuzz_violation((name), __FILE__, __LINE__, #cond); \
	} while (0)

/* A hard check: internal consistency of the harness or memory safety. */
#define FUZZ_ASSERT(cond)						\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "fuzz: ASSERTION FAILED at %s:%d: %s\n",\
			    __FILE__, __LINE__, #cond);			\
			abort();					\
		}							\
	} while (0)

/*
 * Library warnings (fprintf(stderr, ...)) sent elsewhere while a call runs,
 * so a fuzzer's log stays readable. Only the stdio stream is swapped: fd 2,
 * where the sanitizers and libFuzzer itself report a crash, stays as it is.
 */
static inline FILE *
fuzz_quiet_begin(void)
{
	static FILE *null_stream;
	FILE *saved = stderr;

	if (null_stream == NULL)
		null_stream = fopen("/dev/null", "w");
	if (null_stream != NULL) {
		fflush(stderr);
		stderr = null_stream;
	}
	return saved;
}

static inline void
fuzz_quiet_end(FILE *saved)
{
	fflush(stderr);
	stderr = saved;
}

/* A small deterministic generator for split points. */
static inline uint32_t
fuzz_rand(uint32_t *s)
{
	uint32_t x = *s ? *s : 0x9e3779b9u;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *s = x;
}

/* Print up to `max` bytes as a C string literal, for diagnostics. */
static inline void
fuzz_dump(const char *label, const void *p, size_t n, size_t max)
{
	const unsigned char *s = p;
	size_t i;

	fprintf(stderr, "%s (%zu bytes): \"", label, n);
	for (i = 0; i < n && i < max; i++) {
		if (s[i] == '\r')
			fputs("\\r", stderr);
		else if (s[i] == '\n')
			fputs("\\n", stderr);
		else if (s[i] == '"' || s[i] == '\\')
			fprintf(stderr, "\\%c", s[i]);
		else if (s[i] < 0x20 || s[i] >= 0x7f)
			fprintf(stderr, "\\x%02x", s[i]);
		else
			fputc(s[i], stderr);
	}
	fprintf(stderr, "\"%s\n", n > max ? "..." : "");
}

/* A control character (below 0x20, or DEL) in s? */
FUZZ_NOCOV static inline bool
fuzz_has_ctl(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			return true;
	return false;
}

/*
 * Wire bytes: CR and LF only as CRLF, empty or ending in CRLF, and no NUL
 * unless allow_nul. *bad is the offset of the first fault (n when none).
 */
FUZZ_NOCOV static inline bool
fuzz_crlf_clean(const char *p, size_t n, bool allow_nul, size_t *bad)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if ((p[i] == '\0' && !allow_nul) ||
		    (p[i] == '\r' && (i + 1 == n || p[i + 1] != '\n')) ||
		    (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))) {
			*bad = i;
			return false;
		}
	}
	*bad = n;
	return n == 0 || (n >= 2 && p[n - 2] == '\r' && p[n - 1] == '\n');
}

/* The longest line, in octets without its CRLF (or LF). */
FUZZ_NOCOV static inline size_t
fuzz_longest_line(const char *p, size_t n)
{
	size_t i, start = 0, max = 0;

	for (i = 0; i < n; i++)
		if (p[i] == '\n') {
			size_t len = i - start;

			if (len > 0 && p[i - 1] == '\r')
				len--;
			if (len > max)
				max = len;
			start = i + 1;
		}
	return n - start > max ? n - start : max;
}

#endif
