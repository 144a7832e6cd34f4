/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The NAT66 rewrite, nat.h's for IPv6: new MACs, one hop less, the
 * addresses and ports of the flow's other direction, and the L4 checksum
 * they are part of.  IPv6 has no header checksum, so nothing in the header
 * makes up for a changed address as IPv4's does: the TCP, UDP or ICMPv6
 * checksum (each covers a pseudo header with both addresses) takes the
 * difference, and on tc a CHECKSUM_COMPLETE skb->csum must follow the
 * header's bytes, which bpf_skb_store_bytes() with BPF_F_RECOMPUTE_CSUM
 * sees to.
 *
 * packet_rewrite6() is the tc hook's: as in nat.h, direct writes come
 * first and the helpers, which may move the packet, last.  XDP, which
 * carries established flows' packets, writes them all in place
 * (packet_rewrite6_xdp()).
 */
#ifndef BPFNAT_NAT6_H
#define BPFNAT_NAT6_H

#include <linux/ipv6.h>

#include "common.h"
#include "csum.h"
#include "nat.h"
#include "parse.h"

/* What an IPv6 packet becomes: struct rewrite's fields, for IPv6. */
struct rewrite6 {
	__u8 dmac[ETH_ALEN];
	__u8 smac[ETH_ALEN];
	__be16 sport;
	__be16 dport;
	__u8 addr_only;		/* no ports to change (ICMPv6 errors) */
	__u8 pad[3];
	/* the IPv6 header from its payload length on, as it is to be, for
	 * one store (packet_rewrite6() fills in the first three)
	 */
	__be16 payload_len;
	__u8 nexthdr;
	__u8 hop_limit;
	__be32 saddr[4];
	__be32 daddr[4];
};
_Static_assert(sizeof(struct rewrite6) - offsetof(struct rewrite6, payload_len)
	       == 36, "rewrite6's header");

/*
 * Where a NAT66 rewrite is made: not on the stack, which the programs,
 * ct_create() and its loops share (fwd.h's fib_room).  Per CPU.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rewrite6);
} rewrite6_room SEC(".maps");

/* rewrite6_room, cleared, or NULL (never: the map has its one entry). */
static __always_inline struct rewrite6 *rewrite6_get(void)
{
	__u32 zero = 0;
	struct rewrite6 *rw = bpf_map_lookup_elem(&rewrite6_room, &zero);

	if (rw)
		__builtin_memset(rw, 0, sizeof(*rw));
	return rw;
}

/* The translation of a packet that matched tuple[@dir] of @f. */
static __always_inline void rewrite6_for(struct rewrite6 *rw,
					 const struct ct_flow *f, __u8 dir)
{
	const struct ct_key *t = &f->tuple[(dir & 1) ^ 1];

	__builtin_memcpy(rw->saddr, t->daddr6, sizeof(rw->saddr));
	__builtin_memcpy(rw->daddr, t->saddr6, sizeof(rw->daddr));
	rw->sport = t->dport;
	rw->dport = t->sport;
}

#define IP6_REWRITE_OFF	(ETH_HLEN + offsetof(struct ipv6hdr, payload_len))

/*
 * Rewrite @p, whose IPv6 header is @ip6, as @rw says: its addresses and
 * (unless addr_only) ports, the L4 checksum for both, one hop less.
 * Callers must not touch the packet afterwards.
 *
 * No header checksum makes up for the header's changes, so the header is
 * written with bpf_skb_store_bytes() and BPF_F_RECOMPUTE_CSUM, which keeps
 * a CHECKSUM_COMPLETE skb->csum right (written in place and told to
 * bpf_csum_update(), the kernel's own check of test runs found it wrong);
 * the L4 checksum helper, told the addresses are a pseudo header's, then
 * takes off what the checksum field's own change adds.  The store cannot
 * fail here (the header is in the linear area, made writable by the
 * direct writes before it), and is not tested: a test would be a branch
 * on every path to the rewrite that doubles what 6.1's verifier walks,
 * past its limit.  Should it fail all the same, a packet to the outside
 * keeps its pool source, which the guard drops (drop_unnated_leak).
 */
static __always_inline void packet_rewrite6(struct __sk_buff *skb,
					     struct pkt *p,
					     struct ipv6hdr *ip6,
					     struct rewrite6 *rw)
{
	__be16 *sp = NULL, *dp = NULL, new_sp = 0;
	__u64 addrs = 0, ports = 0;
	/* after a Fragment header when there is one */
	__u32 l4_off = ETH_HLEN + p->l3_len;
	struct l4_csum c = {};
	bool sum, l4;

	__builtin_memcpy(p->eth->h_dest, rw->dmac, ETH_ALEN);
	__builtin_memcpy(p->eth->h_source, rw->smac, ETH_ALEN);
	rw->payload_len = ip6->payload_len;
	rw->nexthdr = ip6->nexthdr;
	rw->hop_limit = ip6->hop_limit - 1;
	addrs = csum_delta16(addrs, (__be32 *)&ip6->saddr, rw->saddr);
	addrs = csum_delta16(addrs, (__be32 *)&ip6->daddr, rw->daddr);

	sum = p->l4 && l4_csum_of(p->key.proto, &c);
	l4 = sum && !rw->addr_only &&
	     l4_ports(p, rw->sport, rw->dport, &sp, &dp, &new_sp);
	if (l4) {
		ports = csum_delta2(ports, *sp, new_sp);
		*sp = new_sp;
		if (dp) {
			ports = csum_delta2(ports, *dp, rw->dport);
			*dp = rw->dport;
		}
	}
	/* the helpers, last: the header, whose change a COMPLETE sum
	 * follows; the addresses as a pseudo header's; the ports as the
	 * segment's (size 0: @to is a difference)
	 */
	bpf_skb_store_bytes(skb, IP6_REWRITE_OFF, &rw->payload_len, 36,
			    BPF_F_RECOMPUTE_CSUM);
	if (!sum)
		return;
	if (addrs)
		bpf_l4_csum_replace(skb, l4_off + c.off, 0,
				    csum_delta_fold(addrs), c.flags);
	if (ports)
		bpf_l4_csum_replace(skb, l4_off + c.off, 0,
				    csum_delta_fold(ports),
				    c.flags & BPF_F_MARK_MANGLED_0);
}

/*
 * packet_rewrite6() on XDP: the same bytes, written in place, the L4
 * checksum updated by hand for the addresses (its pseudo header) and the
 * ports.  XDP mode sees complete checksums only (see the README), so the
 * field holds a full sum to update.
 */
static __always_inline void packet_rewrite6_xdp(struct pkt *p,
						 struct ipv6hdr *ip6,
						 const struct rewrite6 *rw)
{
	__be16 *sp = NULL, *dp = NULL, new_sp = 0;
	__u64 delta = 0;
	struct l4_csum c = {};
	__u16 *sum;

	__builtin_memcpy(p->eth->h_dest, rw->dmac, ETH_ALEN);
	__builtin_memcpy(p->eth->h_source, rw->smac, ETH_ALEN);
	ip6->hop_limit--;
	delta = csum_delta16(delta, (__be32 *)&ip6->saddr, rw->saddr);
	delta = csum_delta16(delta, (__be32 *)&ip6->daddr, rw->daddr);
	__builtin_memcpy(&ip6->saddr, rw->saddr, sizeof(ip6->saddr));
	__builtin_memcpy(&ip6->daddr, rw->daddr, sizeof(ip6->daddr));
	if (!rw->addr_only &&
	    l4_ports(p, rw->sport, rw->dport, &sp, &dp, &new_sp)) {
		delta = csum_delta2(delta, *sp, new_sp);
		*sp = new_sp;
		if (dp) {
			delta = csum_delta2(delta, *dp, rw->dport);
			*dp = rw->dport;
		}
	}
	if (!p->l4 || !l4_csum_of(p->key.proto, &c))
		return;
	sum = p->l4 + c.off;
	if ((void *)(sum + 1) > p->data_end)
		return;
	csum_l4_apply(sum, p->key.proto, csum_delta_fold(delta));
}

#endif /* BPFNAT_NAT6_H */
