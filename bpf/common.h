/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What every part of the data path includes: kernel UAPI headers, libbpf's
 * helper declarations, the shared layouts in include/bpfnat.h, and the few
 * constants the UAPI headers leave out.
 */
#ifndef BPFNAT_COMMON_H
#define BPFNAT_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/bpf.h>
#include <linux/errno.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
/* linux/icmp.h pulls in linux/if.h and through it libc's socket headers,
 * which do not build for the BPF target; it needs only IFNAMSIZ from there.
 */
#define _LINUX_IF_H
#define IFNAMSIZ	16
#include <linux/icmp.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "bpfnat.h"

/* From the kernel's include/net/ip.h, which is not UAPI. */
#define IP_DF		0x4000
#define IP_MF		0x2000
#define IP_OFFSET	0x1fff

#ifndef AF_INET
#define AF_INET		2
#endif
#ifndef AF_INET6
#define AF_INET6	10
#endif

#ifndef IPPROTO_ICMPV6
#define IPPROTO_ICMPV6	58
#endif
#ifndef ICMPV6_ECHO_REQUEST
#define ICMPV6_ECHO_REQUEST	128
#define ICMPV6_ECHO_REPLY	129
#endif

/* ICMP and ICMPv6: an echo's id plays the port (struct ct_key). */
static __always_inline bool proto_is_icmp(__u8 proto)
{
	return proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6;
}

/* A step of the pipeline returns CONTINUE, or the packet's outcome: an
 * enum stat_id that says what happened and is counted at the exit.
 */
#define CONTINUE	(-1)

#define NSEC_PER_SEC	1000000000ULL

/*
 * A length, known to be in [1, mask + 1] (mask + 1 a power of two), made
 * so right where it is used.  Older verifiers (6.1) lose a bound that the
 * compiler checked on another copy of the value; the mask in asm is done
 * on the very register handed to the helper.
 */
#define LEN_IN(v, mask)							\
	({								\
		__u64 l_ = (__u64)(v) - 1;				\
		asm volatile("%[l] &= " #mask : [l] "+r"(l_));		\
		l_ + 1;							\
	})

#endif /* BPFNAT_COMMON_H */
