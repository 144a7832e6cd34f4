// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * bpfnat's programs as the unit tests run them: the same code, plus a map
 * that records the last redirect, which BPF_PROG_TEST_RUN does not perform
 * and so cannot show otherwise.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "test_redirect.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct test_redirect);
} test_redirect SEC(".maps");

#define redirect_hook(k, i)						\
	do {								\
		__u32 zero = 0;						\
		struct test_redirect *r =				\
			bpf_map_lookup_elem(&test_redirect, &zero);	\
		if (r) {						\
			r->kind = (k);					\
			r->ifindex = (i);				\
			r->count++;					\
		}							\
	} while (0)

#include "../../bpf/bpfnat.bpf.c"
