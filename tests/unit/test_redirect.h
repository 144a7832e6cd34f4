/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* What the test build of the programs records about a redirect. */
#ifndef BPFNAT_TEST_REDIRECT_H
#define BPFNAT_TEST_REDIRECT_H

#include <linux/types.h>

struct test_redirect {
	__u32 kind;		/* enum redirect_kind of bpf/fwd.h */
	__u32 ifindex;		/* the target */
	__u64 count;		/* redirects so far */
};

#endif /* BPFNAT_TEST_REDIRECT_H */
