/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The decisions for IPv6 from a container, at its host-side veth, as
 * datapath.h makes them for IPv4:
 *
 *   the link (ff02::/16 and fe80::/10: neighbour discovery) and the
 *   gateway -> the host's stack;
 *   another container -> redirect into its namespace;
 *   a pool address no container has -> ICMPv6 address unreachable;
 *   multicast beyond the link -> dropped;
 *   the outside via the uplink (or a reject route) -> ICMPv6 no route,
 *   counted: nothing translates IPv6 yet, and an IPv6 packet with a pool
 *   source never leaves the uplink as it is (guard.h drops it there too);
 *   the host's own addresses, no route at all, or a route that does not
 *   use the uplink -> the stack, as for IPv4.
 *
 * A container solicits its gateway alone: its routes (container.c) send
 * the pool and the rest through it, and the host side holds the gateway's
 * address, so the host's stack answers, as it does ARP for IPv4.
 */
#ifndef BPFNAT_DATAPATH6_H
#define BPFNAT_DATAPATH6_H

#include "common.h"
#include "maps.h"
#include "parse6.h"
#include "icmp6.h"
#include "fwd.h"

/* The sender's endpoint, if the packet really comes from its own veth. */
static __always_inline const struct endpoint *
source_endpoint6(const struct pkt *p, const struct in6_key *saddr)
{
	const struct endpoint *ep = bpf_map_lookup_elem(&endpoints6, saddr);

	return ep && ep->ifindex == p->ifindex ? ep : NULL;
}

/*
 * Send container @self an ICMPv6 error about its packet, from the
 * gateway, and return @outcome: the packet itself goes no further.
 */
static __always_inline int answer_container6(void *ctx, struct pkt *p,
					     const struct bpfnat_config *cfg,
					     const struct endpoint *self,
					     const struct in6_key *saddr,
					     int outcome, __u8 type,
					     __u8 code, const bool xdp)
{
	struct icmp6_back b = {
		.from = cfg->gateway6,
		.to = *saddr,
		.len = p->len,
		.type = type,
		.code = code,
	};

	if (xdp)
		return STAT_TO_TC;	/* turning a packet around needs an skb */
	/* never an error about an error (RFC 4443 2.4 e), nor about what
	 * might be one behind an extension header
	 */
	if ((p->key.proto == IPPROTO_ICMPV6 && icmp6_is_error(p->icmp_type)) ||
	    ipv6_ext_header(p->key.proto))
		return outcome;
	__builtin_memcpy(b.smac, self->host_mac, ETH_ALEN);
	if (icmp6_send_back(ctx, &b) == CONTINUE) {
		redirect_hook(REDIRECT_EGRESS, p->ifindex);
		p->redirect = bpf_redirect(p->ifindex, 0);
		p->answered = 1;
	}
	return outcome;
}

/* Into container @dst: new MACs, one hop less. */
static __always_inline int container_to_container6(void *ctx, struct pkt *p,
						   struct ipv6hdr *ip6,
						   const struct endpoint *dst,
						   const bool xdp)
{
	__u8 hop_limit = ip6->hop_limit - 1;

	if (xdp && !xdp_can_send(dst->ifindex))
		return STAT_TO_TC;
	__builtin_memcpy(p->eth->h_dest, dst->mac, ETH_ALEN);
	__builtin_memcpy(p->eth->h_source, dst->host_mac, ETH_ALEN);
	p->redirect = redirect_container(dst, xdp);
	if (xdp) {
		ip6->hop_limit = hop_limit;
		return STAT_FORWARD6;
	}
	/* the helper keeps a CHECKSUM_COMPLETE skb->csum right, which no
	 * header checksum would make up for as IPv4's does
	 */
	bpf_skb_store_bytes(ctx, ETH_HLEN + offsetof(struct ipv6hdr, hop_limit),
			    &hop_limit, 1, BPF_F_RECOMPUTE_CSUM);
	return STAT_FORWARD6;
}

/* Would the packet leave by the uplink?  Asked of the FIB as for IPv4,
 * as if the host forwarded it from the container's veth (whose IPv6
 * forwarding `ns add` turns on, for the helper: the host's own stays as
 * it is).
 */
static __always_inline bool leaves_by_uplink6(void *ctx, const struct pkt *p,
					      const struct bpfnat_config *cfg,
					      struct ipv6hdr *ip6)
{
	struct bpf_fib_lookup *fib = fib_room_get();
	int rc;

	if (!fib)
		return true;
	fib->family = AF_INET6;
	fib->l4_protocol = ip6->nexthdr;
	fib->ifindex = p->ifindex;
	__builtin_memcpy(fib->ipv6_src, &ip6->saddr, sizeof(fib->ipv6_src));
	__builtin_memcpy(fib->ipv6_dst, &ip6->daddr, sizeof(fib->ipv6_dst));
	rc = bpf_fib_lookup(ctx, fib, sizeof(*fib), 0);
	switch (rc) {
	case BPF_FIB_LKUP_RET_SUCCESS:
	case BPF_FIB_LKUP_RET_NO_NEIGH:
		return fib->ifindex == cfg->uplink_ifindex;
	case BPF_FIB_LKUP_RET_NOT_FWDED:
		/* the host's own address, or no route at all (the helper
		 * says the same of both): the stack's, which answers the
		 * latter itself, and nothing can leave
		 */
		return false;
	default:
		/* a reject route, or a veth without forwarding (made by
		 * an older bpfnat): the outside all the same, told so
		 */
		return true;
	}
}

static __always_inline int from_container6(void *ctx, struct pkt *p,
					   const bool xdp)
{
	const struct bpfnat_config *cfg;
	const struct endpoint *self, *dst;
	struct in6_key saddr, daddr;
	struct ipv6hdr *ip6;
	int ret;

	ret = parse_ipv6(p, &ip6);
	if (ret != CONTINUE)
		return ret;
	in6_copy(&saddr, &ip6->saddr);
	in6_copy(&daddr, &ip6->daddr);
	p->key.proto = ip6->nexthdr;
	if (ip6->nexthdr == IPPROTO_ICMPV6) {
		__u8 *type = hdr_ptr(p, ETH_HLEN + sizeof(*ip6), 1);

		if (type)
			p->icmp_type = *type;
	}

	/* neighbour discovery, and whatever else stays on the link */
	if (in6_multicast(&daddr))
		return in6_mc_scope(&daddr) <= 2 ? STAT_PASS :
						   STAT_DROP_MULTICAST6;
	if (in6_link_local(&daddr))
		return STAT_PASS;

	cfg = config_ready();
	if (!cfg || !cfg->pool6_plen)
		return STAT_DROP_NO_CONFIG;
	if (in6_eq(&daddr, &cfg->gateway6))
		return STAT_PASS;	/* the host */
	self = source_endpoint6(p, &saddr);
	if (!self)
		return STAT_DROP_SPOOFED;
	if (in6_prefix(&daddr, &cfg->pool6, cfg->pool6_plen)) {
		dst = bpf_map_lookup_elem(&endpoints6, &daddr);
		if (!dst)
			return answer_container6(ctx, p, cfg, self, &saddr,
						 STAT_DROP_NO_CONTAINER,
						 ICMPV6_DEST_UNREACH,
						 ICMPV6_ADDR_UNREACH, xdp);
		if (ip6->hop_limit <= 1)
			return answer_container6(ctx, p, cfg, self, &saddr,
						 STAT_DROP_TTL,
						 ICMPV6_TIME_EXCEED,
						 ICMPV6_EXC_HOPLIMIT, xdp);
		return container_to_container6(ctx, p, ip6, dst, xdp);
	}
	if (xdp)
		return STAT_TO_TC;
	if (!leaves_by_uplink6(ctx, p, cfg, ip6))
		return STAT_PASS;
	return answer_container6(ctx, p, cfg, self, &saddr,
				 STAT_DROP_NO_NAT66, ICMPV6_DEST_UNREACH,
				 ICMPV6_NOROUTE, xdp);
}

#endif /* BPFNAT_DATAPATH6_H */
