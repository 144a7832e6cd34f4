/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A small unit test harness in the way of the kernel's BPF selftests:
 * tests register themselves with UNIT_TEST(name); assertions print what
 * they expected and return whether they held, so a test can stop with
 * `if (!ASSERT_EQ(...)) return;`.  Each test runs in its own process and
 * namespaces (tests/run.sh), so a test only sets up, never tears down.
 */
#ifndef BPFNAT_UNIT_H
#define BPFNAT_UNIT_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

struct unit_test {
	const char *name;
	void (*run)(void);
};

#define UNIT_TEST(n)							\
	static void unit_##n(void);					\
	static const struct unit_test unit_entry_##n			\
		__attribute__((used, section("unit_tests"), aligned(8))) = \
		{ #n, unit_##n };					\
	static void unit_##n(void)

extern int unit_failures;

/* Stop the test as skipped (exit 77), saying why. */
void unit_skip(const char *why) __attribute__((noreturn));

#define CHECK(cond, fmt, ...)						\
	({								\
		bool ok_ = (cond);					\
		if (!ok_) {						\
			unit_failures++;				\
			fprintf(stderr, "FAIL %s:%d: " fmt "\n",	\
				__FILE__, __LINE__, ##__VA_ARGS__);	\
		}							\
		ok_;							\
	})

#define ASSERT_TRUE(cond, what) CHECK(cond, "%s", what)

#define ASSERT_EQ(actual, expected, what)				\
	({								\
		long long a_ = (long long)(actual);			\
		long long e_ = (long long)(expected);			\
		CHECK(a_ == e_, "%s: got %lld (%#llx), expected %lld (%#llx)", \
		      what, a_, (unsigned long long)a_, e_,		\
		      (unsigned long long)e_);				\
	})

#define ASSERT_NE(actual, unexpected, what)				\
	({								\
		long long a_ = (long long)(actual);			\
		long long u_ = (long long)(unexpected);			\
		CHECK(a_ != u_, "%s: got %lld, which it must not be",	\
		      what, a_);					\
	})

#define ASSERT_OK(err, what)						\
	({								\
		long long r_ = (long long)(err);			\
		CHECK(r_ == 0, "%s: error %lld (%s)", what, r_,		\
		      strerror(r_ < 0 ? (int)-r_ : (int)r_));		\
	})

#define ASSERT_MEM_EQ(actual, expected, len, what)			\
	CHECK(!memcmp(actual, expected, len), "%s: bytes differ", what)

#endif /* BPFNAT_UNIT_H */
