/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Incremental checksum updates (RFC 1624) for rewritten header fields.
 *
 * L4 checksums on tc are the kernel helpers' work, because only they know
 * the skb's checksum state: with CHECKSUM_PARTIAL (a container's TCP with
 * TX offload) the L4 field holds the pseudo-header sum and a port change
 * must not touch it, with CHECKSUM_COMPLETE skb->csum must follow.  IP
 * header checksums, and everything on XDP (no skb), are updated here.
 */
#ifndef BPFNAT_CSUM_H
#define BPFNAT_CSUM_H

#include "common.h"

/* Where an L4 checksum sits, relative to the L4 header, and how it is kept. */
struct l4_csum {
	__u32 off;		/* offset of the checksum field in the L4 header */
	__u64 flags;		/* BPF_F_PSEUDO_HDR, BPF_F_MARK_MANGLED_0 */
};

static __always_inline bool l4_csum_of(__u8 proto, struct l4_csum *c)
{
	switch (proto) {
	case IPPROTO_TCP:
		c->off = offsetof(struct tcphdr, check);
		c->flags = BPF_F_PSEUDO_HDR;
		return true;
	case IPPROTO_UDP:
		/* A UDP checksum of 0 means "none" and stays 0; a computed 0
		 * is sent as 0xffff.
		 */
		c->off = offsetof(struct udphdr, check);
		c->flags = BPF_F_PSEUDO_HDR | BPF_F_MARK_MANGLED_0;
		return true;
	case IPPROTO_ICMP:
		c->off = offsetof(struct icmphdr, checksum);
		c->flags = 0;
		return true;
	case IPPROTO_ICMPV6:
		/* unlike ICMP's, it covers a pseudo header (RFC 4443 2.3) */
		c->off = offsetof(struct icmphdr, checksum);
		c->flags = BPF_F_PSEUDO_HDR;
		return true;
	default:
		return false;
	}
}

static __always_inline __u16 csum16_add(__u16 a, __u16 b)
{
	__u32 sum = (__u32)a + b;

	return (sum & 0xffff) + (sum >> 16);
}

/* HC' = ~(~HC + ~m + m'), with m and m' 16 bits wide. */
static __always_inline void csum_replace2(__u16 *sum, __u16 from, __u16 to)
{
	*sum = ~csum16_add(csum16_add(~*sum, ~from), to);
}

static __always_inline void csum_replace4(__u16 *sum, __u32 from, __u32 to)
{
	csum_replace2(sum, from & 0xffff, to & 0xffff);
	csum_replace2(sum, from >> 16, to >> 16);
}

/*
 * XDP: update a UDP, TCP or ICMP checksum in place for a changed 16-bit
 * field and, if @pseudo, a changed 32-bit address of the pseudo header.
 */
static __always_inline void csum_l4_update(__u16 *sum, __u8 proto, bool pseudo,
					   __u32 addr_from, __u32 addr_to,
					   __u16 from, __u16 to)
{
	if (proto == IPPROTO_UDP && *sum == 0)
		return;
	if (pseudo)
		csum_replace4(sum, addr_from, addr_to);
	csum_replace2(sum, from, to);
	if (proto == IPPROTO_UDP && *sum == 0)
		*sum = 0xffff;
}

/*
 * A checksum difference, RFC 1624's ~m + m' summed over every field that
 * changed: fields of 16 or 32 bits, as they lie in the packet, added into
 * a 64-bit accumulator that csum_delta_fold() makes a 32-bit one's
 * complement sum (what the kernel calls a __wsum).  One difference for
 * several fields is one checksum update instead of one per field.
 */
static __always_inline __u64 csum_delta4(__u64 acc, __u32 from, __u32 to)
{
	/* an unchanged field adds nothing, so that an untouched sum
	 * leaves the checksum's update out
	 */
	return from == to ? acc : acc + (__u32)~from + to;
}

static __always_inline __u64 csum_delta2(__u64 acc, __u16 from, __u16 to)
{
	return from == to ? acc : acc + (__u16)~from + to;
}

/* The checksum difference of a changed IPv6 address. */
static __always_inline __u64 csum_delta16(__u64 acc, const __be32 *from,
					  const __be32 *to)
{
	for (int i = 0; i < 4; i++)
		acc = csum_delta4(acc, from[i], to[i]);
	return acc;
}

static __always_inline __u32 csum_delta_fold(__u64 acc)
{
	acc = (acc & 0xffffffff) + (acc >> 32);
	acc = (acc & 0xffffffff) + (acc >> 32);
	return acc;
}

/* HC' = ~(~HC + delta), in place. */
static __always_inline void csum_apply(__u16 *sum, __u32 delta)
{
	__u32 s = (__u16)~*sum + (delta & 0xffff) + (delta >> 16);

	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	*sum = ~s;
}

/* XDP: csum_apply() to a UDP, TCP or ICMP checksum, with UDP's rule
 * that 0 means none and a computed 0 is sent as 0xffff.
 */
static __always_inline void csum_l4_apply(__u16 *sum, __u8 proto, __u32 delta)
{
	if (proto == IPPROTO_UDP && *sum == 0)
		return;
	csum_apply(sum, delta);
	if (proto == IPPROTO_UDP && *sum == 0)
		*sum = 0xffff;
}

/* Fold a 64-bit sum of 16-bit words into a complemented 16-bit checksum. */
static __always_inline __u16 csum_fold(__u64 sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return ~sum;
}

#endif /* BPFNAT_CSUM_H */
