/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The rewrite every forwarded packet gets: new MAC addresses for the next
 * hop, the TTL a router takes off, and for NAT one address and one port
 * (the ICMP echo id for ping), with every checksum they are part of.  (The
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

enum nat_kind {
	NAT_NONE = 0,	/* forward only */
	NAT_SRC,	/* container -> outside: new source */
	NAT_DST,	/* outside -> container: new destination */
};

struct rewrite {
	__u8 dmac[ETH_ALEN];
	__u8 smac[ETH_ALEN];
	__u8 nat;		/* enum nat_kind */
	__u8 addr_only;		/* no L4 header to change (ICMP errors) */
	__be32 addr;		/* new source or destination address */
	__be16 port;		/* new port, or echo id */
};

#define IP_CSUM_OFF (ETH_HLEN + offsetof(struct iphdr, check))
#define L4_OFF (ETH_HLEN + sizeof(struct iphdr))

/* The 16-bit word of the IP header that holds ttl and protocol. */
static __always_inline __u16 ip_ttl_word(const struct iphdr *ip)
{
	return *(const __u16 *)&ip->ttl;
}

/* The field a NAT rewrites in the L4 header; NULL if there is none. */
static __always_inline __be16 *l4_port_field(struct pkt *p, __u8 nat)
{
	void *l4 = p->l4;

	if (!l4)
		return NULL;
	switch (p->key.proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
		/* source and dest lead both headers */
		if (l4 + 4 > p->data_end)
			return NULL;
		return nat == NAT_SRC ? l4 : l4 + 2;
	case IPPROTO_ICMP:
		if (l4 + sizeof(struct icmphdr) > p->data_end)
			return NULL;
		return &((struct icmphdr *)l4)->un.echo.id;
	default:
		return NULL;
	}
}

static __always_inline void packet_rewrite(void *ctx, struct pkt *p,
					   const struct rewrite *rw,
					   const bool xdp)
{
	struct iphdr *ip = p->ip;
	__be32 old_addr = 0, *addr = NULL;
	__be16 old_port = 0, *port = NULL;
	__u16 old_ttl, new_ttl;
	struct l4_csum c = {};
	bool has_l4_csum;

	__builtin_memcpy(p->eth->h_dest, rw->dmac, ETH_ALEN);
	__builtin_memcpy(p->eth->h_source, rw->smac, ETH_ALEN);

	old_ttl = ip_ttl_word(ip);
	ip->ttl--;
	new_ttl = ip_ttl_word(ip);

	if (rw->nat != NAT_NONE) {
		addr = rw->nat == NAT_SRC ? &ip->saddr : &ip->daddr;
		old_addr = *addr;
		*addr = rw->addr;
		port = rw->addr_only ? NULL : l4_port_field(p, rw->nat);
		if (port) {
			old_port = *port;
			*port = rw->port;
		}
	}
	has_l4_csum = port && l4_csum_of(p->key.proto, &c);

	/* The IP checksum, in place on both hooks: a correct update leaves
	 * the header's sum as it was, so a CHECKSUM_COMPLETE skb->csum
	 * stays right without the helper.
	 */
	csum_replace2(&ip->check, old_ttl, new_ttl);
	if (addr)
		csum_replace4(&ip->check, old_addr, rw->addr);
	if (!has_l4_csum)
		return;

	if (xdp) {
		__u16 *sum = p->l4 + c.off;

		if ((void *)(sum + 1) > p->data_end)
			return;
		csum_l4_update(sum, p->key.proto, c.flags & BPF_F_PSEUDO_HDR,
			       old_addr, rw->addr, old_port, rw->port);
		return;
	}
	/* On tc only the helpers know the skb's checksum state. */
	if (c.flags & BPF_F_PSEUDO_HDR)
		bpf_l4_csum_replace(ctx, L4_OFF + c.off, old_addr, rw->addr,
				    c.flags | 4);
	if (old_port != rw->port)
		bpf_l4_csum_replace(ctx, L4_OFF + c.off, old_port, rw->port,
				    (c.flags & BPF_F_MARK_MANGLED_0) | 2);
}

#endif /* BPFNAT_NAT_H */
