/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The decisions for IPv6, as datapath.h makes them for IPv4.
 *
 *   from_container6  a container's packet, at its host-side veth:
 *     the link (ff02::/16 and fe80::/10: neighbour discovery) and the
 *     gateway -> the host's stack;
 *     another container -> redirect into its namespace;
 *     a pool address no container has -> ICMPv6 address unreachable;
 *     multicast beyond the link -> dropped;
 *     the outside via the uplink: TCP, UDP and ICMPv6 echo -> NAT66 to
 *     the IPv6 SNAT address, with the conntrack of IPv4, their fragments
 *     too (the first as the flow's, a later one to the SNAT address
 *     alone); an ICMPv6 error about a NAT66 flow's reply -> translated,
 *     quote and all; what follows another extension header, and other
 *     protocols -> dropped, counted (drop_ipv6_ext_header,
 *     drop_unsupported); with no SNAT address -> ICMPv6 no route,
 *     counted; an excluded network (--exclude) -> routed as it is.
 *     Else an IPv6 packet with a pool source never leaves the uplink as
 *     it is (guard.h drops it there too);
 *     the host's own addresses, no route at all, or a route that does not
 *     use the uplink -> the stack, as for IPv4.
 *   from_uplink6     a packet arriving from the outside:
 *     from an excluded network to a container's own address -> routed
 *     into it;
 *     the answer of a NAT66 flow -> reverse NAT, redirect into the
 *     container; an ICMPv6 error about one -> translated, into the
 *     container; fragments as IPv4's (frag.h): the first as its flow's
 *     packet, the later ones after it, held when they come first; to a
 *     published port or (with endpoint-independent filtering) a binding
 *     -> DNAT into its container;
 *     anything else -> the stack.
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
#include "ct.h"
#include "nat6.h"
#include "frag.h"

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
					     int outcome, __u8 type,
					     __u8 code, __u32 mtu,
					     const bool xdp)
{
	struct icmp6_back *b;
	__u32 zero = 0;

	if (xdp)
		return STAT_TO_TC;	/* turning a packet around needs an skb */
	/* never an error about an error (RFC 4443 2.4 e), nor about what
	 * might be one behind an extension header
	 */
	if ((p->key.proto == IPPROTO_ICMPV6 && icmp6_is_error(p->icmp_type)) ||
	    ipv6_ext_header(p->key.proto))
		return outcome;
	/* off the stack, which the programs share with ct_create() */
	b = bpf_map_lookup_elem(&icmp6_back_room, &zero);
	if (!b)
		return outcome;
	b->from = cfg->gateway6;
	b->to = *in6_of(p->key.saddr6);
	b->len = p->len;
	b->type = type;
	b->code = code;
	b->mtu = mtu;
	__builtin_memcpy(b->smac, self->host_mac, ETH_ALEN);
	if (icmp6_send_back(ctx, b) == CONTINUE) {
		redirect_hook(REDIRECT_EGRESS, p->ifindex);
		p->redirect = bpf_redirect(p->ifindex, 0);
		p->answered = 1;
	}
	return outcome;
}

/* Forward @p as it is, but for MACs @dmac and @smac and one hop less. */
static __always_inline void forward6(void *ctx, struct pkt *p,
				     struct ipv6hdr *ip6, const __u8 *dmac,
				     const __u8 *smac, const bool xdp)
{
	__u8 hop_limit = ip6->hop_limit - 1;

	__builtin_memcpy(p->eth->h_dest, dmac, ETH_ALEN);
	__builtin_memcpy(p->eth->h_source, smac, ETH_ALEN);
	if (xdp) {
		ip6->hop_limit = hop_limit;
		return;
	}
	/* the helper keeps a CHECKSUM_COMPLETE skb->csum right, which no
	 * header checksum would make up for as IPv4's does
	 */
	bpf_skb_store_bytes(ctx, ETH_HLEN + offsetof(struct ipv6hdr, hop_limit),
			    &hop_limit, 1, BPF_F_RECOMPUTE_CSUM);
}

/* Into container @dst, forwarded (@outcome says from where). */
static __always_inline int into_container6(void *ctx, struct pkt *p,
					   struct ipv6hdr *ip6,
					   const struct endpoint *dst,
					   int outcome, const bool xdp)
{
	if (xdp && !xdp_can_send(dst->ifindex))
		return STAT_TO_TC;
	p->redirect = redirect_container(dst, xdp);
	forward6(ctx, p, ip6, dst->mac, dst->host_mac, xdp);
	return outcome;
}

/* To an excluded network (not the SNAT address, which may lie in one). */
static __always_inline bool to_excluded6(const struct bpfnat_config *cfg,
					 const struct pkt *p)
{
	return !in6_eq(in6_of(p->key.daddr6), &cfg->snat6) &&
	       is_excluded6(p->key.daddr6);
}

/*
 * What a router answers instead of sending @p on out of the uplink by
 * @route: "too big" (the path's MTU in @fib), or "time exceeded" when no
 * hop is left; CONTINUE when neither.
 */
static __always_inline int refused_on_the_way6(void *ctx, struct pkt *p,
					       const struct bpfnat_config *cfg,
					       const struct endpoint *self,
					       struct ipv6hdr *ip6, int route,
					       const struct bpf_fib_lookup *fib)
{
	if (route == ROUTE_TOO_BIG)
		return answer_container6(ctx, p, cfg, self, STAT_DROP_MTU,
					 ICMPV6_PKT_TOOBIG, 0,
					 fib->mtu_result, false);
	if (ip6->hop_limit <= 1)
		return answer_container6(ctx, p, cfg, self, STAT_DROP_TTL,
					 ICMPV6_TIME_EXCEED,
					 ICMPV6_EXC_HOPLIMIT, 0, false);
	return CONTINUE;
}

/*
 * Container -> an excluded network, as container_routed() for IPv4: when
 * the FIB says the uplink, routed there as it is, with the host's IPv6
 * forwarding on or off; elsewhere, the stack's.  The tc hook's.
 */
static __always_inline int container_routed6(void *ctx, struct pkt *p,
					     const struct bpfnat_config *cfg,
					     const struct endpoint *self,
					     struct ipv6hdr *ip6)
{
	struct bpf_fib_lookup *fib = fib_room_get();
	int route, ret;

	if (!fib)
		return STAT_DROP_NO_ROUTE;
	route = route_outside6(ctx, p, cfg, fib);
	if (route == ROUTE_STACK)
		return STAT_PASS;
	ret = refused_on_the_way6(ctx, p, cfg, self, ip6, route, fib);
	if (ret != CONTINUE)
		return ret;
	p->redirect = redirect_uplink(route, fib, cfg, false);
	forward6(ctx, p, ip6, fib->dmac, fib->smac, false);
	return STAT_ROUTED;
}

/* Would the packet leave by the uplink?  Asked of the FIB as for IPv4,
 * as if the host forwarded it from the container's veth (whose IPv6
 * forwarding `ns add` turns on, for the helper: the host's own stays as
 * it is), from the container's own address: for what is not translated.
 */
static __always_inline bool leaves_by_uplink6(void *ctx, const struct pkt *p,
					      const struct bpfnat_config *cfg,
					      struct ipv6hdr *ip6)
{
	struct bpf_fib_lookup *fib = fib_room_get();
	int rc;

	if (!fib)
		return true;
	__builtin_memset(fib, 0, sizeof(*fib));
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

/*
 * Container -> outside, IPv6: NAT66 to the IPv6 SNAT address, as
 * container_to_outside() does for IPv4, with the same conntrack: an
 * established flow is known by its tuple and checked against the veth it
 * came from; a new one is routed out of the uplink before a port is spent
 * on it, or to an excluded network as it is.  A later fragment has no ports and no flow: with one SNAT
 * address, its source is all that changes (its first fragment's L4
 * checksum covers the whole datagram).  The tc hook's (XDP's is
 * container_to_outside6_xdp()).
 */
static __always_inline int container_to_outside6(void *ctx, struct pkt *p,
						 const struct bpfnat_config *cfg,
						 const struct endpoint *self,
						 struct ipv6hdr *ip6)
{
	__u64 now = bpf_ktime_get_coarse_ns();
	struct bpf_fib_lookup *fib = fib_room_get();
	struct rewrite6 *rw = rewrite6_get();
	struct ct_flow *f = NULL;
	__u8 dir = CT_DIR_ORIG;
	int route = -1, ret;
	bool asked, later = ipv6_later_fragment(p);

	if (!fib || !rw)
		return STAT_DROP_NO_ROUTE;
	if (!later)
		f = ct_lookup(&p->key, &dir);
	if (f && f->ifindex[dir] != p->ifindex)
		return STAT_DROP_SPOOFED;
	/* a new flow to an excluded network is routed, not translated */
	if (!f && to_excluded6(cfg, p))
		return container_routed6(ctx, p, cfg, self, ip6);
	if (f)
		route = route_cached(f, p, fib, now);
	asked = route < 0;
	if (asked)
		route = route_outside6(ctx, p, cfg, fib);
	if (route == ROUTE_STACK)
		/* an established flow never leaks out un-NATed */
		return f ? STAT_DROP_NO_ROUTE : STAT_PASS;
	ret = refused_on_the_way6(ctx, p, cfg, self, ip6, route, fib);
	if (ret != CONTINUE)
		return ret;
	if (later) {
		rw->addr_only = 1;
		__builtin_memcpy(rw->saddr, cfg->snat6.addr, sizeof(rw->saddr));
		__builtin_memcpy(rw->daddr, p->key.daddr6, sizeof(rw->daddr));
		goto rewrite;
	}
	if (!f) {
		ret = ct_create_snat(ctx, p, cfg, &f, false);
		if (ret == STAT_DROP_NO_PORT)
			return answer_container6(ctx, p, cfg, self, ret,
						 ICMPV6_DEST_UNREACH,
						 ICMPV6_ADM_PROHIBITED, 0,
						 false);
		if (ret != CONTINUE)
			return ret;
	}
	if (asked && route == ROUTE_UPLINK)
		route_remember(f, fib, cfg, now, false);
	ct_account(ctx, f, p, dir, now, false);
	rewrite6_for(rw, f, dir);
	if (!ct_still(f, dir, &p->key))
		return STAT_DROP_CT_RACE;
rewrite:
	p->redirect = redirect_uplink(route, fib, cfg, false);
	__builtin_memcpy(rw->dmac, fib->dmac, ETH_ALEN);
	__builtin_memcpy(rw->smac, fib->smac, ETH_ALEN);
	packet_rewrite6(ctx, p, ip6, rw);
	return STAT_SNAT6;
}

/*
 * The key of the flow the packet quoted in @q belongs to, as
 * quote_flow_key() builds it for IPv4: the quote's mirror, in quote_key.
 */
static __always_inline struct ct_key *quote6_flow_key(struct icmp6_quote *q,
						      bool from_container)
{
	__u32 zero = 0;
	struct ct_key *k = bpf_map_lookup_elem(&quote_key, &zero);
	__be16 id;

	if (!k)
		return NULL;
	__builtin_memset(k, 0, sizeof(*k));
	__builtin_memcpy(k->saddr6, &q->ip6->daddr, sizeof(k->saddr6));
	__builtin_memcpy(k->daddr6, &q->ip6->saddr, sizeof(k->daddr6));
	k->proto = q->proto;
	k->family = AF_INET6;
	if (k->proto == IPPROTO_ICMPV6) {
		id = ((struct icmphdr *)q->l4)->un.echo.id;
		if (from_container)
			k->sport = id;
		else
			k->dport = id;
	} else {
		k->sport = *icmp6_quote_port(q, false);
		k->dport = *icmp6_quote_port(q, true);
	}
	return k;
}

/*
 * An ICMPv6 error a container sends about a reply it received (port
 * unreachable for a UDP reply, say), as container_icmp_error() for IPv4:
 * the quote becomes what the outside sent, the error comes from the IPv6
 * SNAT address.  Not inlined, as uplink_icmp6_error(): tc_container's
 * frame shares the verifier's 512 bytes with ct_create()'s.
 */
static __noinline int container_icmp6_error(void *ctx, struct pkt *p,
					    const struct bpfnat_config *cfg,
					    struct ipv6hdr *ip6)
{
	struct bpf_fib_lookup *fib;
	const struct ct_key *t;
	struct icmp6_quote q;
	struct rewrite6 *rw;
	struct ct_key *k;
	struct ct_flow *f;
	int route, ret;
	__u8 dir;

	ret = icmp6_quote_parse(p, &q);
	if (ret != CONTINUE)
		return ret;
	/* about what the container received, to whoever sent it */
	if (!in6_eq(in6_of((__be32 *)&q.ip6->daddr), in6_of(p->key.saddr6)) ||
	    !in6_eq(in6_of((__be32 *)&q.ip6->saddr), in6_of(p->key.daddr6)))
		return STAT_DROP_ICMP_NO_FLOW;
	k = quote6_flow_key(&q, true);
	if (!k)
		return STAT_DROP_UNSUPPORTED;
	f = ct_lookup(k, &dir);
	if (!f || f->ifindex[dir] != p->ifindex)
		return STAT_DROP_ICMP_NO_FLOW;
	if (!icmp6_checksum_ok(ctx, p->len))
		return STAT_DROP_BAD_ICMP;
	fib = fib_room_get();
	rw = rewrite6_get();
	if (!fib || !rw)
		return STAT_DROP_NO_ROUTE;
	/* the quote's destination, the container, becomes the one the
	 * outside sent to: read before the slot is known to be the flow's
	 */
	t = &f->tuple[dir ^ 1];
	__builtin_memcpy(rw->saddr, t->daddr6, sizeof(rw->saddr));
	rw->dport = t->dport;
	if (!ct_still(f, dir, k))
		return STAT_DROP_CT_RACE;
	route = route_outside6(ctx, p, cfg, fib);
	if (route == ROUTE_STACK || route == ROUTE_TOO_BIG)
		return STAT_DROP_NO_ROUTE;
	if (ip6->hop_limit <= 1)
		return STAT_DROP_TTL;

	p->redirect = redirect_uplink(route, fib, cfg, false);
	icmp6_quote_rewrite(&q, false, rw->saddr, rw->dport);
	rw->addr_only = 1;
	__builtin_memcpy(rw->daddr, &ip6->daddr, sizeof(rw->daddr));
	__builtin_memcpy(rw->dmac, fib->dmac, ETH_ALEN);
	__builtin_memcpy(rw->smac, fib->smac, ETH_ALEN);
	packet_rewrite6(ctx, p, ip6, rw);
	return STAT_SNAT6;
}

/*
 * To the outside, and not between containers: NAT66 for TCP, UDP and
 * ICMPv6 echo, and the translation of a container's ICMPv6 errors about
 * the replies it received; the rest, and everything while there is no
 * IPv6 SNAT address, never leaves by the uplink, and is answered or
 * counted, unless it is for an excluded network: that is routed.
 */
static __always_inline int container_outside6(void *ctx, struct pkt *p,
					      const struct bpfnat_config *cfg,
					      const struct endpoint *self,
					      struct ipv6hdr *ip6)
{
	bool nat66 = !in6_zero(&cfg->snat6);
	bool icmp6 = p->key.proto == IPPROTO_ICMPV6;
	bool later = ipv6_later_fragment(p);
	int ret;

	/* TCP, UDP, echo requests, and the later fragments of them all
	 * (which the first, translated, leads)
	 */
	if (nat66 && (p->l4 || later) && ipv6_l4_known(p->key.proto) &&
	    (!icmp6 || later || p->icmp_type == ICMPV6_ECHO_REQUEST))
		return container_to_outside6(ctx, p, cfg, self, ip6);
	/* to an excluded network, the rest (with no NAT66, everything):
	 * routed as it is
	 */
	if (to_excluded6(cfg, p))
		return container_routed6(ctx, p, cfg, self, ip6);
	/* (an error of the kernel's is never fragmented: it fits 1280) */
	if (nat66 && icmp6 && !p->is_fragment &&
	    icmp6_is_translated_error(p->icmp_type) &&
	    !in6_eq(in6_of(p->key.daddr6), &cfg->snat6)) {
		ret = container_icmp6_error(ctx, p, cfg, ip6);
		if (ret != STAT_DROP_ICMP_NO_FLOW && ret != STAT_DROP_BAD_ICMP)
			return ret;
		/* not about a flow of its own: the stack's, as the rest,
		 * unless it would leave by the uplink
		 */
		return leaves_by_uplink6(ctx, p, cfg, ip6) ? ret : STAT_PASS;
	}
	if (!leaves_by_uplink6(ctx, p, cfg, ip6))
		return STAT_PASS;
	if (nat66)
		return ipv6_ext_header(p->key.proto) ? STAT_DROP_IPV6_EXT :
						       STAT_DROP_UNSUPPORTED;
	return answer_container6(ctx, p, cfg, self, STAT_DROP_NO_NAT66,
				 ICMPV6_DEST_UNREACH, ICMPV6_NOROUTE, 0,
				 false);
}

static __always_inline int flow_deliver6(void *ctx, struct pkt *p,
					 struct ipv6hdr *ip6,
					 struct ct_flow *f, __u8 dir);

/*
 * The container endpoint bound to external port @port/@proto of IPv6
 * address @addr (endpoint-independent mapping), or NULL.
 */
static __always_inline const struct nat_endpoint *
bound_at6(const __be32 *addr, __be16 port, __u8 proto)
{
	struct bind_room *r = bind_room_get();

	if (!r || !bind_applies(proto))
		return NULL;
	bind_endpoint6(&r->ext, addr, port, proto);
	return bpf_map_lookup_elem(&nat_bound, &r->ext);
}

/*
 * Hairpinning over IPv6, as container_hairpin() for IPv4: a container's
 * packet to a published port of the IPv6 SNAT address, or to another
 * container's external port (its binding), reaches that container as if
 * it came from the outside, from the sender's external mapping (the SNAT
 * address and a port of it), and the answers go back the same way.
 * STAT_PASS for the rest: the host's.
 */
static __always_inline int container_hairpin6(void *ctx, struct pkt *p,
					      const struct bpfnat_config *cfg,
					      struct ipv6hdr *ip6)
{
	const struct nat_endpoint *b;
	const struct endpoint *ep;
	const struct port_val *v;
	const __be32 *to_addr;
	struct port_key *k;
	struct ct_flow *f;
	struct ct_new *n;
	__be16 to_port;
	__u8 dir = 0;
	int ret;

	if (!p->l4 || p->is_fragment ||
	    (p->key.proto != IPPROTO_TCP && p->key.proto != IPPROTO_UDP))
		return STAT_PASS;
	f = ct_lookup(&p->key, &dir);
	if (f && f->ifindex[dir] != p->ifindex)
		return STAT_DROP_SPOOFED;
	if (!f) {
		/* a published port, or another endpoint's binding, whatever
		 * the filtering (as for IPv4)
		 */
		k = port_key_of(p->key.daddr6, true, p->key.dport,
				p->key.proto);
		v = k ? port_lookup(k, true) : NULL;
		if (v) {
			to_addr = v->addr6;
			to_port = v->port;
		} else {
			b = bound_at6(p->key.daddr6, p->key.dport,
				      p->key.proto);
			if (!b)
				return STAT_PASS;
			to_addr = b->addr6;
			to_port = b->port;
		}
		ep = bpf_map_lookup_elem(&endpoints6, to_addr);
		n = ct_new_get();
		if (!ep || !n)
			return STAT_PASS;
		n->key = p->key;
		/* the answer comes from the published (or bound) container
		 * to the sender's mapped port, chosen by ct_create()
		 */
		ct_key_set6(&n->reply, to_addr, cfg->snat6.addr, to_port, 0,
			    p->key.proto);
		n->ifindex[CT_DIR_ORIG] = p->ifindex;
		n->ifindex[CT_DIR_REPLY] = ep->ifindex;
		n->kind = CT_KIND_HAIRPIN;
		n->tcp_flags = p->tcp_flags;
		n->bound = 0;
		ret = ct_create_flow(ctx, n, &f, false);
		if (ret != CONTINUE)
			return ret;
		dir = CT_DIR_ORIG;
	}
	return flow_deliver6(ctx, p, ip6, f, dir);
}

/*
 * On XDP, the packets of an established NAT66 flow to the outside, as
 * container_to_outside6() translates them, sent on by XDP when the next
 * hop is known and the uplink takes frames.  The rest goes to the tc
 * hook as it came: a flow's first packet, fragments, errors, hairpins,
 * excluded networks, a hop limit to answer.
 */
static __always_inline int container_to_outside6_xdp(void *ctx, struct pkt *p,
						     const struct bpfnat_config *cfg,
						     struct ipv6hdr *ip6)
{
	__u64 now = bpf_ktime_get_coarse_ns();
	struct bpf_fib_lookup *fib;
	struct rewrite6 *rw;
	struct ct_flow *f;
	__u8 dir = CT_DIR_ORIG;
	int route;
	bool asked;

	if (in6_zero(&cfg->snat6) || !p->l4 || p->is_fragment ||
	    !ipv6_l4_known(p->key.proto) ||
	    (p->key.proto == IPPROTO_ICMPV6 &&
	     p->icmp_type != ICMPV6_ECHO_REQUEST) ||
	    ip6->hop_limit <= 1)
		return STAT_TO_TC;
	f = ct_lookup(&p->key, &dir);
	if (!f)
		return STAT_TO_TC;
	if (f->ifindex[dir] != p->ifindex)
		return STAT_DROP_SPOOFED;
	fib = fib_room_get();
	rw = rewrite6_get();
	if (!fib || !rw)
		return STAT_TO_TC;
	route = route_cached(f, p, fib, now);
	asked = route < 0;
	if (asked)
		route = route_outside6(ctx, p, cfg, fib);
	if (route != ROUTE_UPLINK || !xdp_can_send(fib->ifindex))
		return STAT_TO_TC;
	if (asked)
		route_remember(f, fib, cfg, now, true);
	rewrite6_for(rw, f, dir);
	if (!ct_still(f, dir, &p->key))
		return STAT_DROP_CT_RACE;
	ct_account(ctx, f, p, dir, now, true);
	p->redirect = redirect_uplink(route, fib, cfg, true);
	__builtin_memcpy(rw->dmac, fib->dmac, ETH_ALEN);
	__builtin_memcpy(rw->smac, fib->smac, ETH_ALEN);
	packet_rewrite6_xdp(p, ip6, rw);
	return STAT_SNAT6;
}

static __always_inline int from_container6(void *ctx, struct pkt *p,
					   const bool xdp)
{
	const struct bpfnat_config *cfg;
	const struct endpoint *self, *dst;
	const struct in6_key *saddr, *daddr;
	struct ipv6hdr *ip6;
	int ret;

	p->key.family = AF_INET6;	/* counted as IPv6, even if malformed */
	ret = parse_ipv6(p, &ip6);
	if (ret != CONTINUE)
		return ret;
	ret = parse_ipv6_l4(p, ip6);
	if (ret != CONTINUE)
		return ret;
	saddr = in6_of(p->key.saddr6);
	daddr = in6_of(p->key.daddr6);

	/* neighbour discovery, and whatever else stays on the link */
	if (in6_multicast(daddr))
		return in6_mc_scope(daddr) <= 2 ? STAT_PASS :
						  STAT_DROP_MULTICAST6;
	if (in6_link_local(daddr))
		return STAT_PASS;

	cfg = config_ready();
	if (!cfg || !cfg->pool6_plen)
		return STAT_DROP_NO_CONFIG;
	if (in6_eq(daddr, &cfg->gateway6))
		return STAT_PASS;	/* the host */
	self = source_endpoint6(p, saddr);
	if (!self)
		return STAT_DROP_SPOOFED;
	if (in6_prefix(daddr, &cfg->pool6, cfg->pool6_plen)) {
		dst = bpf_map_lookup_elem(&endpoints6, daddr);
		if (!dst)
			return answer_container6(ctx, p, cfg, self,
						 STAT_DROP_NO_CONTAINER,
						 ICMPV6_DEST_UNREACH,
						 ICMPV6_ADDR_UNREACH, 0, xdp);
		if (ip6->hop_limit <= 1)
			return answer_container6(ctx, p, cfg, self,
						 STAT_DROP_TTL,
						 ICMPV6_TIME_EXCEED,
						 ICMPV6_EXC_HOPLIMIT, 0, xdp);
		return into_container6(ctx, p, ip6, dst, STAT_FORWARD6, xdp);
	}
	if (xdp)
		return in6_eq(daddr, &cfg->snat6) ? STAT_TO_TC :
			container_to_outside6_xdp(ctx, p, cfg, ip6);
	if (!in6_zero(&cfg->snat6) && in6_eq(daddr, &cfg->snat6)) {
		ret = container_hairpin6(ctx, p, cfg, ip6);
		if (ret != STAT_PASS)
			return ret;
	}
	return container_outside6(ctx, p, cfg, self, ip6);
}

/*
 * Deliver @p, rewritten as @rw says, into the container of @rw's
 * destination, a hop less: counted by the kind of flow @f (NULL: a later
 * fragment's, or an ICMPv6 error's) as STAT_REVERSE_NAT6, STAT_DNAT or
 * STAT_HAIRPIN; or why not.
 */
static __always_inline int deliver6(void *ctx, struct pkt *p,
				    struct ipv6hdr *ip6, struct rewrite6 *rw,
				    const struct ct_flow *f)
{
	const struct endpoint *ep = bpf_map_lookup_elem(&endpoints6,
							 rw->daddr);

	if (!ep)
		return STAT_DROP_NO_ROUTE;	/* container gone */
	if (ip6->hop_limit <= 1)
		return STAT_DROP_TTL;
	__builtin_memcpy(rw->dmac, ep->mac, ETH_ALEN);
	__builtin_memcpy(rw->smac, ep->host_mac, ETH_ALEN);
	p->redirect = redirect_container(ep, false);
	packet_rewrite6(ctx, p, ip6, rw);
	switch (f ? f->kind : CT_KIND_SNAT) {
	case CT_KIND_DNAT:
		return STAT_DNAT;
	case CT_KIND_HAIRPIN:
		return STAT_HAIRPIN;
	default:
		return STAT_REVERSE_NAT6;
	}
}

/*
 * An ICMPv6 error from the outside about a NATed flow, as
 * uplink_icmp_error() for IPv4: the quote becomes what the container
 * sent, and the error goes to it; its source, a router on the way, stays.
 * Not inlined: its quote would widen tc_uplink's own frame, which shares
 * the verifier's 512 bytes with ct_create()'s.
 */
static __noinline int uplink_icmp6_error(void *ctx, struct pkt *p,
					 const struct bpfnat_config *cfg,
					 struct ipv6hdr *ip6)
{
	const struct ct_key *t;
	struct icmp6_quote q;
	struct rewrite6 *rw;
	struct ct_key *k;
	struct ct_flow *f;
	__u8 dir;

	if (icmp6_quote_parse(p, &q) != CONTINUE ||
	    !in6_eq(in6_of((__be32 *)&q.ip6->saddr), &cfg->snat6))
		return STAT_PASS;	/* about the host's own traffic */
	k = quote6_flow_key(&q, false);
	if (!k)
		return STAT_DROP_UNSUPPORTED;
	f = ct_lookup(k, &dir);
	if (!f || f->ifindex[dir])
		return STAT_PASS;
	if (!icmp6_checksum_ok(ctx, p->len))
		return STAT_DROP_BAD_ICMP;
	rw = rewrite6_get();
	if (!rw)
		return STAT_DROP_NO_ROUTE;
	/* the container's end of the flow, read before the slot is known
	 * to be the flow's still
	 */
	t = &f->tuple[dir ^ 1];
	__builtin_memcpy(rw->daddr, t->saddr6, sizeof(rw->daddr));
	rw->sport = t->sport;
	if (!ct_still(f, dir, k))
		return STAT_DROP_CT_RACE;
	icmp6_quote_rewrite(&q, true, rw->daddr, rw->sport);
	rw->addr_only = 1;
	__builtin_memcpy(rw->saddr, &ip6->saddr, sizeof(rw->saddr));
	return deliver6(ctx, p, ip6, rw, NULL);
}

/*
 * The host's packet, from the outside: STAT_PASS, and a first
 * fragment's later ones follow it there (frag.h).  Not inlined: it is
 * asked from more than one place.
 */
static __noinline int uplink_host6(void *ctx, struct pkt *p)
{
	struct frag_stash_key *k = NULL;

	if (p->is_fragment)
		k = frag_key_of(p, true);
	return frag_first_for_host(ctx, p, k);
}

/*
 * The second half of flow_deliver6(): @p, rewritten as @rw says (flow
 * @f's), into its container; a first fragment leads its later ones:
 * those already held go in after it, as copies.  Not inlined: its state
 * would widen the programs' own frames, which share the verifier's 512
 * bytes with ct_create()'s (and, through ct_account(), with the TCP
 * option walk's).
 */
static __noinline int flow_rewrite6(void *ctx, struct pkt *p,
				    struct ipv6hdr *ip6, struct ct_flow *f,
				    struct rewrite6 *rw)
{
	struct frag_stash_key *fk = NULL;
	const struct endpoint *ep;
	__u32 held = 0;
	int ret;

	if (p->is_fragment)
		fk = frag_key_of(p, true);
	if (fk)
		held = frag_learn(&fk->dgram, FRAG_NAT, rw->daddr);
	ret = deliver6(ctx, p, ip6, rw, f);
	if (held && !STAT_IS_DROP(ret)) {
		ep = bpf_map_lookup_elem(&endpoints6, rw->daddr);
		if (ep)
			frag_release(ctx, p, fk, held, ep->ifindex, 0,
				     rw->daddr, ret);
	}
	return ret;
}

/*
 * Packet @p of flow @f, its direction @dir, into the container at the
 * flow's other end: the answer of a NAT66 flow, reverse NATed; the
 * outside's packet to a published port, DNATed; a hairpin's, both.  The
 * flow is told of the packet here, in the program's own frame, so that
 * the TCP tracking's calls do not stack on flow_rewrite6()'s.
 */
static __always_inline int flow_deliver6(void *ctx, struct pkt *p,
					 struct ipv6hdr *ip6,
					 struct ct_flow *f, __u8 dir)
{
	struct rewrite6 *rw = rewrite6_get();

	if (!rw)
		return STAT_DROP_NO_ROUTE;
	rewrite6_for(rw, f, dir);
	if (!ct_still(f, dir, &p->key))
		return STAT_DROP_CT_RACE;
	ct_account(ctx, f, p, dir, bpf_ktime_get_coarse_ns(), false);
	return flow_rewrite6(ctx, p, ip6, f, rw);
}

/*
 * flow_deliver6() on XDP: into the container when XDP can send there and
 * a hop is left, else to the tc hook as it came.
 */
static __always_inline int flow_deliver6_xdp(void *ctx, struct pkt *p,
					     struct ipv6hdr *ip6,
					     struct ct_flow *f, __u8 dir)
{
	struct rewrite6 *rw = rewrite6_get();
	const struct endpoint *ep;

	if (!rw || ip6->hop_limit <= 1)
		return STAT_TO_TC;
	rewrite6_for(rw, f, dir);
	ep = bpf_map_lookup_elem(&endpoints6, rw->daddr);
	if (!ep || !xdp_can_send(ep->ifindex))
		return STAT_TO_TC;
	if (!ct_still(f, dir, &p->key))
		return STAT_DROP_CT_RACE;
	ct_account(ctx, f, p, dir, bpf_ktime_get_coarse_ns(), true);
	__builtin_memcpy(rw->dmac, ep->mac, ETH_ALEN);
	__builtin_memcpy(rw->smac, ep->host_mac, ETH_ALEN);
	p->redirect = redirect_container(ep, true);
	packet_rewrite6_xdp(p, ip6, rw);
	switch (f->kind) {
	case CT_KIND_DNAT:
		return STAT_DNAT;
	case CT_KIND_HAIRPIN:
		return STAT_HAIRPIN;
	default:
		return STAT_REVERSE_NAT6;
	}
}

/*
 * Is @p's destination one of the host's own addresses?  The FIB does not
 * forward what is local, asked as if @p came in on @via, a container's
 * host side, whose IPv6 forwarding `ns add` turns on: the helper answers
 * nothing of a device without, as the uplink may be.  It says the same
 * "not forwarded" of an address with no route at all; a local address
 * has one in the main table (its prefix's, or its own), which a direct
 * lookup there finds.  (IPv4's for_the_host() cannot do as much: there a
 * subnet's broadcast address is "not forwarded" too, and routed.)  Asked
 * only of a published port's first packet to an address other than the
 * SNAT address; fwd.h's room holds the lookups.
 */
static __always_inline bool is_local6(void *ctx, const struct pkt *p,
				      __u32 via)
{
	struct bpf_fib_lookup *fib = fib_room_get();
	int rc;

	if (!fib)
		return false;
	for (int direct = 0; direct < 2; direct++) {
		__builtin_memset(fib, 0, sizeof(*fib));
		fib->family = AF_INET6;
		fib->ifindex = via;
		__builtin_memcpy(fib->ipv6_src, p->key.saddr6,
				 sizeof(fib->ipv6_src));
		__builtin_memcpy(fib->ipv6_dst, p->key.daddr6,
				 sizeof(fib->ipv6_dst));
		rc = bpf_fib_lookup(ctx, fib, sizeof(*fib),
				    direct ? BPF_FIB_LOOKUP_DIRECT : 0);
		if (!direct && rc != BPF_FIB_LKUP_RET_NOT_FWDED)
			return false;
	}
	return rc == BPF_FIB_LKUP_RET_SUCCESS ||
	       rc == BPF_FIB_LKUP_RET_NO_NEIGH;
}

/*
 * The flow of the outside's packet @p to container endpoint @ep's
 * @addr:@port (a published port, or with @bound a mapping's binding), as
 * uplink_dnat_flow() for IPv4: CONTINUE with the flow in *@out, or a drop
 * reason.
 */
static __always_inline int uplink_dnat_flow6(void *ctx, struct pkt *p,
					     const struct endpoint *ep,
					     const __be32 *addr, __be16 port,
					     __u8 bound, struct ct_flow **out)
{
	struct ct_new *n = ct_new_get();

	if (!n)
		return STAT_DROP_CT_FULL;	/* no room to build it */
	n->key = p->key;
	ct_key_set6(&n->reply, addr, p->key.saddr6, port, p->key.sport,
		    p->key.proto);
	n->ifindex[CT_DIR_ORIG] = 0;
	n->ifindex[CT_DIR_REPLY] = ep->ifindex;
	n->kind = CT_KIND_DNAT;
	n->tcp_flags = p->tcp_flags;
	n->bound = bound;
	return ct_create_flow(ctx, n, out, false);
}

/*
 * The first packet from the outside to a published port over IPv6, as
 * uplink_published() for IPv4: its DNAT flow in *@out, whose answer is the
 * container's, from its address and port to the client.  STAT_PASS when
 * no port of that address is published: the host's own.
 */
static __always_inline int uplink_published6(void *ctx, struct pkt *p,
					     const struct bpfnat_config *cfg,
					     struct ct_flow **out)
{
	const struct endpoint *ep;
	const struct port_val *v;
	struct port_key *k;

	k = port_key_of(p->key.daddr6, true, p->key.dport, p->key.proto);
	v = k ? port_lookup(k, true) : NULL;
	if (!v)
		return STAT_PASS;
	ep = bpf_map_lookup_elem(&endpoints6, v->addr6);
	if (!ep)
		return STAT_PASS;	/* its container is gone */
	/* published on every address (the key's address now ::): this
	 * one must be the host's, global and not the pool's (the FIB, asked
	 * from the container's side, says "not forwarded" of multicast, of
	 * the gateway's, of that side's link-local address and of ::1 too)
	 */
	if (in6_zero((const struct in6_key *)k->host_addr6) &&
	    !in6_eq(in6_of(p->key.daddr6), &cfg->snat6) &&
	    (in6_multicast(in6_of(p->key.daddr6)) ||
	     in6_link_local(in6_of(p->key.daddr6)) ||
	     in6_special(in6_of(p->key.daddr6)) ||
	     in6_prefix(in6_of(p->key.daddr6), &cfg->pool6, cfg->pool6_plen) ||
	     !is_local6(ctx, p, ep->ifindex)))
		return STAT_PASS;
	return uplink_dnat_flow6(ctx, p, ep, v->addr6, v->port, 0, out);
}

/*
 * The outside's first packet to an external port of the IPv6 SNAT
 * address that a container's endpoint is bound to, as uplink_bound() for
 * IPv4: let in as a flow of its own holding the binding with
 * endpoint-independent filtering, else dropped as filtered.  STAT_PASS
 * when no endpoint is bound to the port: the host's.
 */
static __always_inline int uplink_bound6(void *ctx, struct pkt *p,
					 const struct bpfnat_config *cfg,
					 struct ct_flow **out)
{
	const struct nat_endpoint *in;
	const struct endpoint *ep;

	if (!in6_eq(in6_of(p->key.daddr6), &cfg->snat6))
		return STAT_PASS;
	in = bound_at6(p->key.daddr6, p->key.dport, p->key.proto);
	if (!in)
		return STAT_PASS;
	if (!(cfg->flags & CFG_F_FILTER_EIF))
		return STAT_DROP_FILTERED;
	ep = bpf_map_lookup_elem(&endpoints6, in->addr6);
	if (!ep)
		return STAT_DROP_FILTERED;
	return uplink_dnat_flow6(ctx, p, ep, in->addr6, in->port, 1, out);
}

/*
 * A later fragment from the outside, as uplink_later_fragment() for
 * IPv4: it follows its first fragment into the container or to the host,
 * or is held until that comes.
 */
static __noinline int uplink_later_fragment6(void *ctx, struct pkt *p,
					     struct ipv6hdr *ip6)
{
	__u64 now = bpf_ktime_get_coarse_ns();
	struct frag_stash_key *k = frag_key_of(p, true);
	struct rewrite6 *rw;
	struct frag_val *v;
	int ret;

	if (!k)
		return STAT_DROP_FRAGMENT;
	v = frag_find(&k->dgram, now);
	if (!v || v->state == FRAG_PENDING) {
		ret = frag_hold(ctx, p, k, now);
		if (ret != CONTINUE)
			return ret;
		/* its first came meanwhile */
		v = frag_find(&k->dgram, now);
	}
	if (!v || v->state != FRAG_NAT)
		return STAT_PASS;		/* the host's */
	rw = rewrite6_get();
	if (!rw)
		return STAT_DROP_NO_ROUTE;
	rw->addr_only = 1;
	__builtin_memcpy(rw->saddr, &ip6->saddr, sizeof(rw->saddr));
	__builtin_memcpy(rw->daddr, v->addr6, sizeof(rw->daddr));
	return deliver6(ctx, p, ip6, rw, NULL);
}

/*
 * From an excluded network to a container's own address, as
 * uplink_to_container() for IPv4: routed straight into it.  CONTINUE for
 * the rest.
 */
static __always_inline int uplink_to_container6(void *ctx, struct pkt *p,
						struct ipv6hdr *ip6,
						const bool xdp)
{
	const struct endpoint *ep;

	ep = bpf_map_lookup_elem(&endpoints6, p->key.daddr6);
	if (!ep || !is_excluded6(p->key.saddr6) || ip6->hop_limit <= 1)
		return CONTINUE;
	return into_container6(ctx, p, ip6, ep, STAT_ROUTED, xdp);
}

/*
 * Outside -> container, IPv6: the answer of a NAT66 flow, reverse NATed
 * into its container, its fragments too, an ICMPv6 error about one, and
 * the packets of published ports, DNATed; from an excluded network,
 * routed.  Everything else is the host's: other addresses, other ICMPv6,
 * what bpfnat cannot read.
 */
static __always_inline int from_uplink6(void *ctx, struct pkt *p,
					const bool xdp)
{
	const struct bpfnat_config *cfg = config_ready();
	struct ipv6hdr *ip6;
	struct ct_flow *f;
	__u8 dir = 0;
	int ret;

	p->key.family = AF_INET6;	/* counted as IPv6, even if malformed */
	if (!cfg || !cfg->pool6_plen)
		return STAT_PASS;
	if (parse_ipv6(p, &ip6) != CONTINUE ||
	    parse_ipv6_l4(p, ip6) != CONTINUE)
		return STAT_PASS;
	if (in6_prefix(in6_of(p->key.daddr6), &cfg->pool6, cfg->pool6_plen)) {
		ret = uplink_to_container6(ctx, p, ip6, xdp);
		if (ret != CONTINUE)
			return ret;
	}
	if (in6_zero(&cfg->snat6))
		return STAT_PASS;
	if (!in6_eq(in6_of(p->key.daddr6), &cfg->snat6)) {
		/* the host's other addresses have published ports only */
		if (!p->l4 || p->is_fragment ||
		    (p->key.proto != IPPROTO_TCP &&
		     p->key.proto != IPPROTO_UDP))
			return STAT_PASS;
	}
	/* fragments are held and released with skb helpers: tc's */
	if (xdp && p->is_fragment)
		return STAT_TO_TC;
	/* a later fragment of TCP, UDP or ICMPv6 follows its first; what
	 * follows another extension header is the host's
	 */
	if (!p->l4)
		return ipv6_later_fragment(p) && ipv6_l4_known(p->key.proto) ?
			       uplink_later_fragment6(ctx, p, ip6) :
			       STAT_PASS;
	if (p->key.proto == IPPROTO_ICMPV6) {
		/* (an error of a router's is never fragmented: it fits
		 * 1280)
		 */
		if (icmp6_is_translated_error(p->icmp_type) && !p->is_fragment)
			return xdp ? STAT_TO_TC :
				     uplink_icmp6_error(ctx, p, cfg, ip6);
		if (p->icmp_type != ICMPV6_ECHO_REPLY)
			return xdp ? STAT_PASS : uplink_host6(ctx, p);
	}
	f = ct_lookup(&p->key, &dir);
	/* a tuple a container sends is not the outside's to use */
	if (f && f->ifindex[dir])
		f = NULL;
	/* XDP carries an established flow's packets; a new one's is tc's */
	if (xdp)
		return f ? flow_deliver6_xdp(ctx, p, ip6, f, dir) : STAT_TO_TC;
	if (!f) {
		/* (here, not deeper: ct_create() needs the stack) */
		ret = uplink_published6(ctx, p, cfg, &f);
		if (ret == STAT_PASS)
			ret = uplink_bound6(ctx, p, cfg, &f);
		if (ret == STAT_PASS)
			return uplink_host6(ctx, p);
		if (ret != CONTINUE)
			return ret;
		/* never NULL here; 6.1's verifier cannot tell, once two
		 * ways may have made the flow
		 */
		if (!f)
			return STAT_DROP_CT_RACE;
		dir = CT_DIR_ORIG;
	}
	return flow_deliver6(ctx, p, ip6, f, dir);
}

#endif /* BPFNAT_DATAPATH6_H */
