/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The last line of fail-closed: at tc egress of the uplink, a packet about
 * to leave with a pool (container) source address is dropped and counted,
 * unless its destination is excluded from NAT; so is an IPv6 packet with
 * a source in the IPv6 pool, to what is not excluded.  Everything bpfnat
 * translates leaves with the SNAT address, so the counter stays 0 while
 * the rest of the design does its job; it counts what a bug, a route or
 * another tool would have let out.
 *
 * The guard reads its pool from .rodata, set by `up` before the program is
 * loaded, not from the config map: it must hold even where that map is not
 * written yet, or is of another layout.  It looks at the headers only, and
 * counts only what it drops, so the packets it lets by cost a few loads.
 */
#ifndef BPFNAT_GUARD_H
#define BPFNAT_GUARD_H

#include "common.h"
#include "maps.h"
#include "fwd.h"
#include "parse6.h"

const volatile __be32 guard_pool_addr;
const volatile __be32 guard_pool_mask;
const volatile __be32 guard_pool6[4];
const volatile __u32 guard_pool6_plen;

static __always_inline void guard_count(__u32 bytes, bool ipv6)
{
	__u32 key = stat_key(STAT_DROP_LEAK, false, ipv6);
	struct stat_val *v = bpf_map_lookup_elem(&stats, &key);

	if (v) {
		v->packets++;
		v->bytes += bytes;
	}
}

/* IPv6: the same rule, for the IPv6 pool and the IPv6 exclusions. */
static __always_inline int guard_egress6(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ipv6hdr *ip6 = data + ETH_HLEN;
	struct ethhdr *eth = data;
	struct {
		struct in6_key saddr, daddr;	/* as the header has them */
	} a;
	struct in6_key pool;

	if (!guard_pool6_plen)
		return TC_ACT_OK;
	/* read in place when the header is linear (as what bpfnat
	 * rewrote is), else through the helper
	 */
	if ((void *)(ip6 + 1) <= data_end && eth->h_proto == skb->protocol)
		__builtin_memcpy(&a, &ip6->saddr, sizeof(a));
	else if (bpf_skb_load_bytes(skb, ETH_HLEN +
				    offsetof(struct ipv6hdr, saddr),
				    &a, sizeof(a)))
		return TC_ACT_OK;	/* no IPv6 header to leak from */
	/* word by word: a copy of the whole that casts the volatile away
	 * lets the compiler read the zeros it was built with
	 */
	for (int i = 0; i < 4; i++)
		pool.addr[i] = guard_pool6[i];
	if (!in6_prefix(&a.saddr, &pool, guard_pool6_plen))
		return TC_ACT_OK;
	/* routed to an excluded network as it is, on purpose */
	if (is_excluded6(a.daddr.addr))
		return TC_ACT_OK;
	guard_count(skb->len, true);
	return TC_ACT_SHOT;
}

static __always_inline int guard_egress(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + ETH_HLEN;
	__be32 saddr, daddr;

	if (skb->protocol == bpf_htons(ETH_P_IPV6))
		return guard_egress6(skb);
	if (skb->protocol != bpf_htons(ETH_P_IP) || !guard_pool_mask)
		return TC_ACT_OK;
	if ((void *)(ip + 1) <= data_end && eth->h_proto == skb->protocol) {
		saddr = ip->saddr;
		daddr = ip->daddr;
	} else if (bpf_skb_load_bytes(skb, ETH_HLEN +
				      offsetof(struct iphdr, saddr),
				      &saddr, sizeof(saddr)) ||
		   bpf_skb_load_bytes(skb, ETH_HLEN +
				      offsetof(struct iphdr, daddr),
				      &daddr, sizeof(daddr))) {
		return TC_ACT_OK;	/* no IPv4 header to leak from */
	}
	if ((saddr & guard_pool_mask) != guard_pool_addr ||
	    is_excluded(daddr))
		return TC_ACT_OK;
	guard_count(skb->len, false);
	return TC_ACT_SHOT;
}

#endif /* BPFNAT_GUARD_H */
