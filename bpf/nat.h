/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The rewrite every forwarded packet gets: new MAC addresses for the next
 * hop, the TTL a router takes off, and for NAT the addresses and ports of
 * the flow's other direction (the ICMP echo id for ping), with every
 * checksum they are part of.  (The
 * rarer rewrites live with their concern: ICMP quotes in icmp.h, ARP
 * answers in arp.h, held fragments in frag.h.)
 *
 * On tc the L4 checksum helpers may move the packet, so every direct write
 * is done first and the helpers are called last; callers must not touch
 * the packet afterwards.  They pick the redirect before, too: then what it
 * depends on (the route) is dead during the rewrite, and the verifier
 * walks the rewrite once, not once per route.
 */
#ifndef BPFNAT_NAT_H
#define BPFNAT_NAT_H

#include "common.h"
#include "csum.h"
#include "parse.h"

/*
 * What a packet becomes.  With @nat, its addresses and ports are those
 * given (what is unchanged costs nothing); for ICMP echo the id is the
 * source port of a request and the destination port of a reply, as in
 * struct ct_key.
 */
struct rewrite {
	__u8 dmac[ETH_ALEN];
	__u8 smac[ETH_ALEN];
	__u8 nat;		/* translate: take the fields below */
	__u8 addr_only;		/* no L4 header to change (ICMP errors) */
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
};

/*
 * The translation of a packet that matched tuple[@dir] of @f: it leaves
 * as the mirror of the other direction's tuple (struct ct_flow).
 */
static __always_inline void rewrite_for(struct rewrite *rw,
					const struct ct_flow *f, __u8 dir)
{
	const struct ct_key *t = &f->tuple[(dir & 1) ^ 1];

	rw->nat = 1;
	rw->saddr = t->daddr;
	rw->daddr = t->saddr;
	rw->sport = t->dport;
	rw->dport = t->sport;
}

#define IP_CSUM_OFF (ETH_HLEN + offsetof(struct iphdr, check))
#define L4_OFF (ETH_HLEN + sizeof(struct iphdr))

/* The 16-bit word of the IP header that holds ttl and protocol. */
static __always_inline __u16 ip_ttl_word(const struct iphdr *ip)
{
	return *(const __u16 *)&ip->ttl;
}

/*
 * The port fields a NAT rewrites in the L4 header, and their new values
 * (@sport, @dport): source and destination of TCP and UDP, the one echo
 * id of ICMP and ICMPv6 (*@dp stays NULL).  False if there is no L4 header to change.
 */
static __always_inline bool l4_ports(struct pkt *p, __be16 sport,
				     __be16 dport, __be16 **sp, __be16 **dp,
				     __be16 *new_sp)
{
	void *l4 = p->l4;

	if (!l4)
		return false;
	switch (p->key.proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
		/* source and dest lead both headers */
		if (l4 + 4 > p->data_end)
			return false;
		*sp = l4;
		*dp = l4 + 2;
		*new_sp = sport;
		return true;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		if (l4 + sizeof(struct icmphdr) > p->data_end)
			return false;
		*sp = &((struct icmphdr *)l4)->un.echo.id;
		*new_sp = p->icmp_type == (p->key.proto == IPPROTO_ICMP ?
					   ICMP_ECHO : ICMPV6_ECHO_REQUEST) ?
				  sport : dport;
		return true;
	default:
		return false;
	}
}

/*
 * Rewrite @p as @rw says, with the checksums: the IP header's in place on
 * both hooks (a correct update leaves the header's sum as it was, so a
 * CHECKSUM_COMPLETE skb->csum stays right without the helper), the L4
 * one with one update for the addresses (the pseudo header) and one for
 * the ports, whichever of them changed.
 */
static __always_inline void packet_rewrite(void *ctx, struct pkt *p,
					   const struct rewrite *rw,
					   const bool xdp)
{
	struct iphdr *ip = p->ip;
	__u64 addrs = 0, ports = 0;
	__be16 *sp = NULL, *dp = NULL, new_sp = 0;
	__u16 old_ttl, new_ttl;
	struct l4_csum c = {};
	__u32 d;

	__builtin_memcpy(p->eth->h_dest, rw->dmac, ETH_ALEN);
	__builtin_memcpy(p->eth->h_source, rw->smac, ETH_ALEN);

	old_ttl = ip_ttl_word(ip);
	ip->ttl--;
	new_ttl = ip_ttl_word(ip);
	csum_replace2(&ip->check, old_ttl, new_ttl);
	if (!rw->nat)
		return;

	addrs = csum_delta4(addrs, ip->saddr, rw->saddr);
	addrs = csum_delta4(addrs, ip->daddr, rw->daddr);
	ip->saddr = rw->saddr;
	ip->daddr = rw->daddr;
	d = csum_delta_fold(addrs);
	csum_apply(&ip->check, d);
	if (rw->addr_only ||
	    !l4_ports(p, rw->sport, rw->dport, &sp, &dp, &new_sp))
		return;
	ports = csum_delta2(ports, *sp, new_sp);
	*sp = new_sp;
	if (dp) {
		ports = csum_delta2(ports, *dp, rw->dport);
		*dp = rw->dport;
	}
	if (!l4_csum_of(p->key.proto, &c))
		return;
	if (!(c.flags & BPF_F_PSEUDO_HDR))
		d = 0;			/* ICMP: no pseudo header */

	if (xdp) {
		__u16 *sum = p->l4 + c.off;

		if ((void *)(sum + 1) > p->data_end)
			return;
		csum_l4_apply(sum, p->key.proto,
			      csum_delta_fold(ports + d));
		return;
	}
	/* On tc only the helpers know the skb's checksum state: the
	 * addresses as a pseudo header's, the ports as the segment's
	 * (size 0: @to is a difference)
	 */
	if (d)
		bpf_l4_csum_replace(ctx, L4_OFF + c.off, 0, d, c.flags);
	if (ports)
		bpf_l4_csum_replace(ctx, L4_OFF + c.off, 0,
				    csum_delta_fold(ports),
				    c.flags & BPF_F_MARK_MANGLED_0);
}

#endif /* BPFNAT_NAT_H */
