/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The last line of fail-closed: at tc egress of the uplink, a packet about
 * to leave with a pool (container) source address is dropped and counted,
 * unless its destination is excluded from NAT.  Everything bpfnat
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

const volatile __be32 guard_pool_addr;
const volatile __be32 guard_pool_mask;

static __always_inline void guard_count(__u32 bytes)
{
	__u32 key = STAT_DROP_LEAK;
	struct stat_val *v = bpf_map_lookup_elem(&stats, &key);

	if (v) {
		v->packets++;
		v->bytes += bytes;
	}
}

static __always_inline int guard_egress(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + ETH_HLEN;
	__be32 saddr, daddr;

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
	guard_count(skb->len);
	return TC_ACT_SHOT;
}

#endif /* BPFNAT_GUARD_H */
