// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * bpfnat's programs as the unit tests run them: the same code, plus a map
 * that records the last redirect, which BPF_PROG_TEST_RUN does not perform
 * and so cannot show otherwise, one that makes chosen deletes from
 * ct_index fail, as contention on a bucket lock would, and one that counts
 * the races conntrack ran into.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "test_hooks.h"

/* per CPU: tests on two CPUs at once each read their own */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct test_redirect);
} test_redirect SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct test_fault);
} test_fault SEC(".maps");

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

/* (ct_index is defined by the time this is expanded, in bpf/ct.h) */
#define ct_index_delete(key)						\
	({								\
		__u32 zero_ = 0, n_;					\
		struct test_fault *t_ =					\
			bpf_map_lookup_elem(&test_fault, &zero_);	\
		long err_ = 0;						\
		if (t_) {						\
			n_ = __sync_add_and_fetch(&t_->deletes, 1);	\
			if (t_->fail_from && n_ >= t_->fail_from &&	\
			    n_ - t_->fail_from < t_->fail_count)	\
				err_ = t_->err;				\
		}							\
		if (!err_)						\
			err_ = bpf_map_delete_elem(&ct_index, (key));	\
		err_;							\
	})

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct test_races);
} test_races SEC(".maps");

#define ct_race_hook(what)						\
	do {								\
		__u32 zero_ = 0;					\
		struct test_races *r_ =					\
			bpf_map_lookup_elem(&test_races, &zero_);	\
		if (r_)							\
			__sync_fetch_and_add(&r_->what, 1);		\
	} while (0)

/* (ct_port_frees() is defined by the time this is expanded) */
#define ct_port_search_hook()						\
	do {								\
		__u32 zero_ = 0;					\
		struct test_fault *t_ =					\
			bpf_map_lookup_elem(&test_fault, &zero_);	\
		__u64 *n_ = ct_port_frees();				\
		if (t_ && t_->free_during_search && n_)			\
			__sync_fetch_and_add(n_, 1);			\
	} while (0)

#include "../../bpf/bpfnat.bpf.c"
