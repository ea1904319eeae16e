/* SPDX-License-Identifier: ISC */
/* Table-driven unit checks: each failure says what differed, and where. */
#ifndef SMTPSEND_CHECK_H
#define SMTPSEND_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_passed, check_failed;

#define CHECK(cond, ctx) do {						\
	if (cond)							\
		check_passed++;						\
	else {								\
		check_failed++;						\
		printf("FAIL %s:%d: %s: %s\n", __FILE__, __LINE__,	\
		    (ctx), #cond);					\
	}								\
} while (0)

#define CHECK_STR(got, want, ctx) do {					\
	const char *g_ = (got), *w_ = (want);				\
	if ((g_ == NULL && w_ == NULL) ||				\
	    (g_ != NULL && w_ != NULL && strcmp(g_, w_) == 0))		\
		check_passed++;						\
	else {								\
		check_failed++;						\
		printf("FAIL %s:%d: %s: expected \"%s\" but got \"%s\"\n",\
		    __FILE__, __LINE__, (ctx), w_ ? w_ : "(null)",	\
		    g_ ? g_ : "(null)");				\
	}								\
} while (0)

#define CHECK_INT(got, want, ctx) do {					\
	long long g_ = (long long)(got), w_ = (long long)(want);	\
	if (g_ == w_)							\
		check_passed++;						\
	else {								\
		check_failed++;						\
		printf("FAIL %s:%d: %s: expected %lld but got %lld\n",	\
		    __FILE__, __LINE__, (ctx), w_, g_);			\
	}								\
} while (0)

static inline int
check_summary(void)
{
	printf("%d passed, %d failed\n", check_passed, check_failed);
	return check_failed ? 1 : 0;
}

#endif
