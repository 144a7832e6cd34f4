/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What the test build of the programs records (a redirect, which
 * BPF_PROG_TEST_RUN does not perform; the races conntrack ran into) and
 * what it can be made to do (a key delete that fails, which the kernel
 * does only under contention).
 */
#ifndef BPFNAT_TEST_HOOKS_H
#define BPFNAT_TEST_HOOKS_H

#include <linux/types.h>

struct test_redirect {
	__u32 kind;		/* enum redirect_kind of bpf/fwd.h */
	__u32 ifindex;		/* the target */
	__u64 count;		/* redirects so far */
};

/* test_fault[0]: deletes from ct_index numbered from 1; those numbered
 * fail_from .. fail_from + fail_count - 1 fail with err instead.
 */
struct test_fault {
	__u32 deletes;		/* deletes asked for so far */
	__u32 fail_from;	/* 0: none fails */
	__u32 fail_count;
	__s32 err;		/* e.g. -EBUSY */
	__u32 free_during_search;	/* a port search that finds none
					 * free sees one given back meanwhile
					 */
	__u32 pad;
};

/* test_races[0]: how often conntrack met what another CPU did meanwhile. */
struct test_races {
	__u64 stale_slot;	/* a key led to a slot that no longer held
				 * its flow (removed, or recycled)
				 */
	__u64 lost_create;	/* another CPU created the same flow first */
	__u64 port_freed_meanwhile;	/* a port was given back while a
					 * search found none free
					 */
};

#endif /* BPFNAT_TEST_HOOKS_H */
