/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The decisions.  Two workers, one per direction, read top to bottom as the
 * packet walks of DESIGN.md:
 *
 *   from_container  a container's packet, at its host-side veth:
 *                   ARP for another container -> answered here;
 *                   another container -> redirect into its namespace;
 *                   the outside -> SNAT to the uplink address, and ICMP
 *                   errors about replies translated;
 *                   an excluded network via the uplink -> routed there,
 *                   un-NATed;
 *                   the host, excluded elsewhere or unhandled -> the stack.
 *   from_uplink     a packet arriving from the outside:
 *                   from an excluded network to a container's address ->
 *                   routed into it, un-NATed;
 *                   reply of a NATed flow, a later fragment of one, or an
 *                   ICMP error about one -> reverse NAT, redirect into the
 *                   container; to a published port -> DNAT, a flow of
 *                   its own, redirect into the container; to a port a
 *                   container is bound to -> the same, or a drop
 *                   (filtering); anything else -> the stack.
 *
 * Each returns the packet's outcome (enum stat_id); the entry points turn
 * it into a verdict in one place (stats.h).
 */
#ifndef BPFNAT_DATAPATH_H
#define BPFNAT_DATAPATH_H

#include "common.h"
#include "maps.h"
#include "parse.h"
#include "arp.h"
#include "ct.h"
#include "nat.h"
#include "fwd.h"
#include "icmp.h"
#include "frag.h"

#ifndef ICMP_PKT_FILTERED
#define ICMP_PKT_FILTERED	13	/* administratively prohibited */
#endif

static __always_inline const struct bpfnat_config *config_ready(void)
{
	const struct bpfnat_config *cfg = config_get();

	if (!cfg || cfg->version != BPFNAT_LAYOUT_VERSION)
		return NULL;
	return cfg;
}

/* The sender's endpoint, if the packet really comes from its own veth. */
static __always_inline const struct endpoint *source_endpoint(const struct pkt *p)
{
	const struct endpoint *ep;

	ep = bpf_map_lookup_elem(&endpoints, &p->key.saddr);
	return ep && ep->ifindex == p->ifindex ? ep : NULL;
}

/*
 * Send the container an ICMP error about its packet, from the gateway, and
 * return @outcome (a drop: the packet itself goes no further).  Never an
 * error about an error.
 */
static __always_inline int answer_container(void *ctx, struct pkt *p,
					    const struct bpfnat_config *cfg,
					    int outcome, __u8 type, __u8 code,
					    __u16 mtu, const bool xdp)
{
	struct icmp_back b = {
		.from = cfg->gateway,
		.to = p->key.saddr,
		.len = p->len,
		.type = type,
		.code = code,
		.mtu = mtu,
	};
	const struct endpoint *self;

	if (xdp)
		return STAT_TO_TC;	/* turning a packet around needs an skb */
	/* as the kernel: about a first fragment only, never an error */
	if (!p->l4 || (p->key.proto == IPPROTO_ICMP &&
		       icmp_is_error(p->icmp_type)))
		return outcome;
	self = source_endpoint(p);
	if (!self)
		return STAT_DROP_SPOOFED;
	__builtin_memcpy(b.smac, self->host_mac, ETH_ALEN);
	if (icmp_send_back(ctx, &b) == CONTINUE) {
		redirect_hook(REDIRECT_EGRESS, p->ifindex);
		p->redirect = bpf_redirect(p->ifindex, 0);
		p->answered = 1;
	}
	return outcome;
}

static __always_inline int container_to_container(void *ctx, struct pkt *p,
						  const struct bpfnat_config *cfg,
						  const struct endpoint *dst,
						  const bool xdp)
{
	struct rewrite rw = {};	/* forwarded, not translated */

	if (!source_endpoint(p))
		return STAT_DROP_SPOOFED;
	if (p->ip->ttl <= 1)
		return answer_container(ctx, p, cfg, STAT_DROP_TTL,
					ICMP_TIME_EXCEEDED, ICMP_EXC_TTL, 0,
					xdp);
	if (xdp && !xdp_can_send(dst->ifindex))
		return STAT_TO_TC;
	__builtin_memcpy(rw.dmac, dst->mac, ETH_ALEN);
	__builtin_memcpy(rw.smac, dst->host_mac, ETH_ALEN);
	p->redirect = redirect_container(dst, xdp);
	packet_rewrite(ctx, p, &rw, xdp);
	return STAT_FORWARD;
}

/*
 * Deliver a packet from the outside (or a hairpin's), translated as @rw
 * says, into the container at its new destination; count it to flow @f (if any), as a
 * packet of direction @dir, only once it is sure to go: XDP may still
 * leave it to tc, which would count it again.
 */
static __always_inline int deliver(void *ctx, struct pkt *p,
				   struct rewrite *rw, struct ct_flow *f,
				   __u8 dir, const bool xdp)
{
	const struct endpoint *ep;
	__be32 addr = rw->daddr;

	ep = bpf_map_lookup_elem(&endpoints, &addr);
	if (!ep)
		return STAT_DROP_NO_ROUTE;	/* container gone */
	if (p->ip->ttl <= 1)
		return STAT_DROP_TTL;
	if (xdp && !xdp_can_send(ep->ifindex))
		return STAT_TO_TC;
	if (f)
		ct_account(ctx, f, p, dir, bpf_ktime_get_coarse_ns(), xdp);
	__builtin_memcpy(rw->dmac, ep->mac, ETH_ALEN);
	__builtin_memcpy(rw->smac, ep->host_mac, ETH_ALEN);
	p->redirect = redirect_container(ep, xdp);
	packet_rewrite(ctx, p, rw, xdp);
	switch (f ? f->kind : CT_KIND_SNAT) {
	case CT_KIND_DNAT:
		return STAT_DNAT;
	case CT_KIND_HAIRPIN:
		return STAT_HAIRPIN;
	default:
		return STAT_REVERSE_NAT;
	}
}

/*
 * The container behind published port @port/@proto of @addr, or NULL:
 * published on that very address first, then on every address (when
 * @any_ok: @addr is one of the host's).
 */
static __always_inline const struct port_val *
published_at(__be32 addr, __be16 port, __u8 proto, bool any_ok)
{
	struct port_key *k = port_key_of(&addr, false, port, proto);

	return k ? port_lookup(k, any_ok) : NULL;
}

/*
 * The container endpoint bound to external port @port/@proto of @addr
 * (endpoint-independent mapping), as a published port's target, or NULL.
 */
static __always_inline const struct nat_endpoint *
bound_at(__be32 addr, __be16 port, __u8 proto)
{
	struct bind_room *r = bind_room_get();

	if (!r || !bind_applies(proto))
		return NULL;
	bind_endpoint(&r->ext, addr, port, proto);
	return bpf_map_lookup_elem(&nat_bound, &r->ext);
}

/*
 * Hairpinning (RFC 4787 REQ-9, RFC 5382 REQ-8): a container's packet to
 * a published port of the SNAT address, or to another container's
 * external port (its binding), reaches that container
 * as if it came from the outside, from the sender's external mapping
 * (the SNAT address and the sender's mapped port), and the answers go
 * back the same way; neither leaves the host.  The rest of what a
 * container sends to the SNAT address is the host's.
 */
static __always_inline int container_hairpin(void *ctx, struct pkt *p,
					     const struct bpfnat_config *cfg,
					     const bool xdp)
{
	const struct nat_endpoint *b;
	const struct endpoint *ep;
	const struct port_val *v;
	struct rewrite rw = {};
	struct ct_flow *f;
	struct ct_new *n;
	__be32 to_addr;
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
		/* a published port, or another endpoint's binding: an
		 * internal host is let through a mapping whatever the
		 * filtering, as it may reach the container directly anyway
		 */
		v = published_at(p->key.daddr, p->key.dport, p->key.proto,
				 true);
		if (v) {
			to_addr = v->addr;
			to_port = v->port;
		} else {
			b = bound_at(p->key.daddr, p->key.dport,
				     p->key.proto);
			if (!b)
				return STAT_PASS;
			to_addr = b->addr;
			to_port = b->port;
		}
		if (!source_endpoint(p))
			return STAT_DROP_SPOOFED;
		ep = bpf_map_lookup_elem(&endpoints, &to_addr);
		n = ct_new_get();
		if (!ep || !n)
			return STAT_PASS;
		n->key = p->key;
		/* the answer comes from the published container to the
		 * sender's mapped port, chosen by ct_create()
		 */
		ct_key_set4(&n->reply, to_addr, cfg->snat_addr, to_port, 0,
			    p->key.proto);
		n->ifindex[CT_DIR_ORIG] = p->ifindex;
		n->ifindex[CT_DIR_REPLY] = ep->ifindex;
		n->kind = CT_KIND_HAIRPIN;
		n->tcp_flags = p->tcp_flags;
		n->bound = 0;
		ret = ct_create_flow(ctx, n, &f, xdp);
		if (ret != CONTINUE)
			return ret;
		dir = CT_DIR_ORIG;
	}
	rewrite_for(&rw, f, dir);
	return deliver(ctx, p, &rw, f, dir, xdp);
}

/*
 * Container -> an excluded network (a cluster's other nodes' pods): when
 * the FIB says the uplink, routed there as it is, with the host's
 * forwarding on or off; elsewhere, the stack's.  (The FIB is asked from
 * the SNAT address, as for a new flow: only a policy rule on the source
 * could tell the difference.)
 */
static __always_inline int container_routed(void *ctx, struct pkt *p,
					    const struct bpfnat_config *cfg,
					    struct bpf_fib_lookup *fib,
					    const bool xdp)
{
	struct rewrite rw = {};	/* routed, not translated */
	int route;

	route = route_outside(ctx, p, cfg, fib, xdp);
	if (route == ROUTE_STACK)
		return STAT_PASS;
	if (route == ROUTE_TOO_BIG) {
		if (!(p->ip->frag_off & bpf_htons(IP_DF)))
			return STAT_DROP_MTU;
		return answer_container(ctx, p, cfg, STAT_DROP_MTU,
					ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED,
					fib->mtu_result, xdp);
	}
	if (p->ip->ttl <= 1)
		return answer_container(ctx, p, cfg, STAT_DROP_TTL,
					ICMP_TIME_EXCEEDED, ICMP_EXC_TTL, 0,
					xdp);
	if (xdp && (route != ROUTE_UPLINK || !xdp_can_send(fib->ifindex)))
		return STAT_TO_TC;
	p->redirect = redirect_uplink(route, fib, cfg, xdp);
	__builtin_memcpy(rw.dmac, fib->dmac, ETH_ALEN);
	__builtin_memcpy(rw.smac, fib->smac, ETH_ALEN);
	packet_rewrite(ctx, p, &rw, xdp);
	return STAT_ROUTED;
}

/*
 * Container -> outside.  An established flow is recognised by its tuple
 * and checked against the veth it came from; a new flow must come from
 * its container's own address, must not be excluded, and must be routed
 * out of the uplink before a port is spent on it.
 */
static __always_inline int container_to_outside(void *ctx, struct pkt *p,
						const struct bpfnat_config *cfg,
						const bool xdp)
{
	__u64 now = bpf_ktime_get_coarse_ns();
	struct bpf_fib_lookup *fib = fib_room_get();
	struct rewrite rw = {};
	struct ct_flow *f = NULL;
	__u8 dir = CT_DIR_ORIG;
	int route = -1, ret;
	bool asked;

	if (!fib)
		return STAT_DROP_NO_ROUTE;
	if (p->key.daddr == cfg->snat_addr)
		return container_hairpin(ctx, p, cfg, xdp);

	/* A later fragment has no ports to look up. */
	if (p->l4) {
		f = ct_lookup(&p->key, &dir);
		/* the flow's and its direction's: a SNAT flow's packets
		 * from the container, a published port's answers
		 */
		if (f && f->ifindex[dir] != p->ifindex)
			return STAT_DROP_SPOOFED;
	}
	if (!f) {
		if (!source_endpoint(p))
			return STAT_DROP_SPOOFED;
		if (is_excluded(p->key.daddr))
			return container_routed(ctx, p, cfg, fib, xdp);
	}

	if (f)
		route = route_cached(f, p, fib, now);
	asked = route < 0;
	if (asked)
		route = route_outside(ctx, p, cfg, fib, xdp);
	if (route == ROUTE_STACK)
		/* an established flow never leaks out un-NATed */
		return f ? STAT_DROP_NO_ROUTE : STAT_PASS;
	if (route == ROUTE_TOO_BIG) {
		if (!(p->ip->frag_off & bpf_htons(IP_DF)))
			return STAT_DROP_MTU;
		return answer_container(ctx, p, cfg, STAT_DROP_MTU,
					ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED,
					fib->mtu_result, xdp);
	}
	if (p->ip->ttl <= 1)
		return answer_container(ctx, p, cfg, STAT_DROP_TTL,
					ICMP_TIME_EXCEEDED, ICMP_EXC_TTL, 0,
					xdp);
	/* XDP sends only to a next hop it knows, on a device that takes
	 * frames; the rest is the tc hook's
	 */
	if (xdp && (route != ROUTE_UPLINK || !xdp_can_send(fib->ifindex)))
		return STAT_TO_TC;

	if (!p->l4) {
		/* With one SNAT address, a later fragment's only change is
		 * its source address.
		 */
		rw.nat = 1;
		rw.saddr = cfg->snat_addr;
		rw.daddr = p->key.daddr;
		goto rewrite;
	}
	if (!f) {
		ret = ct_create_snat(ctx, p, cfg, &f, xdp);
		if (ret == STAT_DROP_NO_PORT)
			return answer_container(ctx, p, cfg, ret,
						ICMP_DEST_UNREACH,
						ICMP_PKT_FILTERED, 0, xdp);
		if (ret != CONTINUE)
			return ret;
	}
	if (asked && route == ROUTE_UPLINK)
		route_remember(f, fib, cfg, now, xdp);
	ct_account(ctx, f, p, dir, now, xdp);
	rewrite_for(&rw, f, dir);
	if (!ct_still(f, dir, &p->key))
		return STAT_DROP_CT_RACE;
rewrite:
	p->redirect = redirect_uplink(route, fib, cfg, xdp);
	__builtin_memcpy(rw.dmac, fib->dmac, ETH_ALEN);
	__builtin_memcpy(rw.smac, fib->smac, ETH_ALEN);
	packet_rewrite(ctx, p, &rw, xdp);
	return STAT_SNAT;
}

/*
 * The key of the flow the packet quoted in @q belongs to, the quote's
 * mirror: the tuple of the direction the quote's destination sends in.
 * An echo's id is that direction's source port when it is the request's
 * (@from_container), the destination port when it is the reply's.  In
 * quote_key; NULL (never) if the room is not there.
 */
static __always_inline struct ct_key *quote_flow_key(struct icmp_quote *q,
						     bool from_container)
{
	__u32 zero = 0;
	struct ct_key *k = bpf_map_lookup_elem(&quote_key, &zero);
	__be16 id;

	if (!k)
		return NULL;
	if (q->ip->protocol == IPPROTO_ICMP) {
		id = ((struct icmphdr *)q->l4)->un.echo.id;
		ct_key_set4(k, q->ip->daddr, q->ip->saddr,
			    from_container ? id : 0, from_container ? 0 : id,
			    IPPROTO_ICMP);
	} else {
		ct_key_set4(k, q->ip->daddr, q->ip->saddr,
			    *icmp_quote_port(q, false),
			    *icmp_quote_port(q, true), q->ip->protocol);
	}
	return k;
}

/*
 * An ICMP error a container sends about a reply it received (port
 * unreachable for a UDP reply, say): the quote holds the reply as the
 * container saw it, which must become what the outside sent.
 */
static __always_inline int container_icmp_error(void *ctx, struct pkt *p,
						const struct bpfnat_config *cfg,
						const bool xdp)
{
	struct bpf_fib_lookup *fib;
	struct rewrite rw = { .nat = 1, .addr_only = 1 };
	const struct ct_key *t;
	struct icmp_quote q;
	struct ct_key *k;
	struct ct_flow *f;
	int route, ret;
	__u8 dir;

	if (xdp)
		return STAT_TO_TC;	/* rare: the tc hook translates */
	ret = icmp_quote_parse(p, &q);
	if (ret != CONTINUE)
		return ret;
	/* about what the container received, to whoever sent it */
	if (q.ip->daddr != p->key.saddr || q.ip->saddr != p->key.daddr)
		return STAT_DROP_ICMP_NO_FLOW;
	k = quote_flow_key(&q, true);
	if (!k)
		return STAT_DROP_UNSUPPORTED;
	f = ct_lookup(k, &dir);
	if (!f || f->ifindex[dir] != p->ifindex)
		return STAT_DROP_ICMP_NO_FLOW;
	if (!icmp_checksums_ok(ctx, p->len))
		return STAT_DROP_BAD_ICMP;
	fib = fib_room_get();
	if (!fib)
		return STAT_DROP_NO_ROUTE;
	route = route_outside(ctx, p, cfg, fib, xdp);
	if (route == ROUTE_STACK || route == ROUTE_TOO_BIG)
		return STAT_DROP_NO_ROUTE;
	if (p->ip->ttl <= 1)
		return STAT_DROP_TTL;

	p->redirect = redirect_uplink(route, fib, cfg, xdp);
	/* the quote becomes what the outside sent: its destination, the
	 * container's, is the one the outside sent to
	 */
	t = &f->tuple[dir ^ 1];
	icmp_quote_rewrite(&q, false, t->daddr, t->dport);
	rw.saddr = t->daddr;
	rw.daddr = p->key.daddr;
	__builtin_memcpy(rw.dmac, fib->dmac, ETH_ALEN);
	__builtin_memcpy(rw.smac, fib->smac, ETH_ALEN);
	packet_rewrite(ctx, p, &rw, xdp);
	return STAT_SNAT;
}

/* To an excluded network (not the SNAT address, which may lie in one). */
static __always_inline bool to_excluded(const struct bpfnat_config *cfg,
					const struct pkt *p)
{
	return p->key.daddr != cfg->snat_addr && is_excluded(p->key.daddr);
}

/*
 * What bpfnat cannot translate (other IP protocols, ICMP queries but echo)
 * goes to the host's stack when it is for the host or routed elsewhere,
 * but never out of the uplink with a container's address: there it is
 * dropped and counted.  (To an excluded network it is routed, as it is.)
 */
static __always_inline int container_untranslated(void *ctx, struct pkt *p,
						  const struct bpfnat_config *cfg,
						  const bool xdp)
{
	struct bpf_fib_lookup *fib = fib_room_get();

	if (p->key.daddr == cfg->snat_addr)
		return STAT_PASS;
	if (!fib || route_outside(ctx, p, cfg, fib, xdp) == ROUTE_STACK)
		return STAT_PASS;
	return STAT_DROP_UNSUPPORTED;
}

/*
 * Fail closed: nothing from a container reaches the host's stack when the
 * stack would route it out of the uplink un-NATed.  Without a config
 * there is no knowing, so nothing goes; broadcast and multicast are never
 * NATed out; a pool address no container has is answered "host
 * unreachable" from the gateway, as a router with no route to it would.
 */
static __always_inline int from_container(void *ctx, struct pkt *p,
					  const bool xdp)
{
	const struct bpfnat_config *cfg = config_ready();
	const struct endpoint *dst;
	int ret;

	if (!cfg)
		return STAT_DROP_NO_CONFIG;
	if (is_multicast(p->key.daddr))
		return STAT_DROP_MULTICAST;
	if (is_broadcast(cfg, p->key.daddr))
		return STAT_DROP_BROADCAST;

	if (in_pool(cfg, p->key.daddr)) {
		dst = bpf_map_lookup_elem(&endpoints, &p->key.daddr);
		if (dst)
			return container_to_container(ctx, p, cfg, dst, xdp);
		if (p->key.daddr == cfg->gateway)
			return STAT_PASS;	/* the host */
		return answer_container(ctx, p, cfg, STAT_DROP_NO_CONTAINER,
					ICMP_DEST_UNREACH, ICMP_HOST_UNREACH,
					0, xdp);
	}

	switch (p->key.proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
		break;
	case IPPROTO_ICMP:
		if (!p->l4 || p->icmp_type == ICMP_ECHO)
			break;
		/* to an excluded network, an echo reply, an error about
		 * its packet, anything: routed as it is
		 */
		if (to_excluded(cfg, p))
			break;
		if (icmp_is_error(p->icmp_type) &&
		    p->key.daddr != cfg->snat_addr) {
			ret = container_icmp_error(ctx, p, cfg, xdp);
			if (ret != STAT_DROP_ICMP_NO_FLOW &&
			    ret != STAT_DROP_BAD_ICMP)
				return ret;
			/* not about a flow of its own: the stack's, as
			 * the rest, unless it would leave by the uplink
			 */
			return container_untranslated(ctx, p, cfg, xdp) ==
			       STAT_PASS ? STAT_PASS : ret;
		}
		return container_untranslated(ctx, p, cfg, xdp);
	default:
		if (to_excluded(cfg, p))
			break;
		return container_untranslated(ctx, p, cfg, xdp);
	}
	/* One call for TCP, UDP, echo and what is routed un-NATed: inlined
	 * once, and the verifier walks one copy of the NAT path, not one
	 * per protocol.
	 */
	return container_to_outside(ctx, p, cfg, xdp);
}

static __always_inline int from_container_arp(struct pkt *p, const bool xdp)
{
	const struct bpfnat_config *cfg = config_ready();

	if (!cfg)
		return STAT_PASS;
	return arp_answer(p, cfg, xdp);
}

/*
 * A later fragment from the outside carries no ports: it follows its first
 * fragment, or is held until that comes (frag.h).
 */
static __always_inline int uplink_later_fragment(void *ctx, struct pkt *p,
						 const bool xdp)
{
	struct rewrite rw = { .nat = 1, .addr_only = 1 };
	__u64 now = bpf_ktime_get_coarse_ns();
	struct frag_stash_key *k = frag_key_of(p, false);
	struct frag_val *v;
	int ret = CONTINUE;

	if (!k)
		return STAT_DROP_FRAGMENT;
	v = frag_find(&k->dgram, now);
	if (!v || v->state == FRAG_PENDING) {
		if (xdp)
			return STAT_TO_TC;	/* holding needs skb helpers */
		ret = frag_hold(ctx, p, k, now);
		if (ret != CONTINUE)
			return ret;
		/* its first came meanwhile */
		v = frag_find(&k->dgram, now);
	}
	if (v && v->state == FRAG_NAT) {
		rw.saddr = p->key.saddr;
		rw.daddr = v->addr;
		return deliver(ctx, p, &rw, NULL, 0, xdp);
	}
	return STAT_PASS;			/* the host's */
}

/* An ICMP error from the outside about a NATed flow. */
static __always_inline int uplink_icmp_error(void *ctx, struct pkt *p,
					     const struct bpfnat_config *cfg,
					     const bool xdp)
{
	struct rewrite rw = { .nat = 1, .addr_only = 1 };
	const struct ct_key *t;
	struct icmp_quote q;
	struct ct_key *k;
	struct ct_flow *f;
	__u8 dir;

	if (xdp)
		return STAT_TO_TC;	/* rare: the tc hook translates */
	if (icmp_quote_parse(p, &q) != CONTINUE ||
	    q.ip->saddr != cfg->snat_addr)
		return STAT_PASS;	/* about the host's own traffic */
	k = quote_flow_key(&q, false);
	if (!k)
		return STAT_DROP_UNSUPPORTED;
	f = ct_lookup(k, &dir);
	if (!f || f->ifindex[dir])
		return STAT_PASS;
	if (!icmp_checksums_ok(ctx, p->len))
		return STAT_DROP_BAD_ICMP;
	/* the quote becomes what the container sent, and the error goes
	 * to it; its source, a router on the way, stays
	 */
	t = &f->tuple[dir ^ 1];
	icmp_quote_rewrite(&q, true, t->saddr, t->sport);
	rw.saddr = p->key.saddr;
	rw.daddr = t->saddr;
	return deliver(ctx, p, &rw, NULL, 0, xdp);
}

/*
 * Is @daddr, from the outside, one of the host's own addresses?  The FIB
 * does not forward what is local.  Asked only of a published port's
 * first packet to an address other than the SNAT address.  Global
 * functions, one per program type, so that the lookup's 64 bytes are
 * not on the stack of the programs, which ct_create() shares.
 */
static __always_inline bool is_local(void *ctx, __u32 ifindex, __be32 saddr,
				     __be32 daddr)
{
	struct bpf_fib_lookup fib = {
		.family = AF_INET,
		.ifindex = ifindex,
		.ipv4_src = saddr,
		.ipv4_dst = daddr,
	};

	return bpf_fib_lookup(ctx, &fib, sizeof(fib), 0) ==
	       BPF_FIB_LKUP_RET_NOT_FWDED;
}

__noinline int is_local_tc(struct __sk_buff *skb, __u32 ifindex,
			   __be32 saddr, __be32 daddr)
{
	return is_local(skb, ifindex, saddr, daddr);
}

__noinline int is_local_xdp(struct xdp_md *xdp, __u32 ifindex, __be32 saddr,
			    __be32 daddr)
{
	return is_local(xdp, ifindex, saddr, daddr);
}

/*
 * Is @p's destination the host's?  Asked as the packet came, on the
 * uplink: the helper answers nothing of a device whose forwarding is off
 * (BPF_FIB_LKUP_RET_FWD_DISABLED), and then this says no.  Not asked from
 * a container's host side, which forwards: there the helper says "not
 * forwarded" of a subnet's broadcast address as of the host's own, and
 * broadcasts would be DNATed (the fuzz found it).
 */
static __always_inline bool for_the_host(void *ctx, const struct pkt *p,
					 const bool xdp)
{
	return xdp ? is_local_xdp(ctx, p->ifindex, p->key.saddr,
				  p->key.daddr) :
		     is_local_tc(ctx, p->ifindex, p->key.saddr, p->key.daddr);
}

/*
 * The flow of the outside's packet @p to container endpoint @ep's
 * @addr:@port (a published port, or with @bound a mapping's binding):
 * CONTINUE with the flow in *@out, or a drop reason.
 */
static __always_inline int uplink_dnat_flow(void *ctx, struct pkt *p,
					    const struct endpoint *ep,
					    __be32 addr, __be16 port,
					    __u8 bound, struct ct_flow **out,
					    const bool xdp)
{
	struct ct_new *n = ct_new_get();

	if (!n)
		return STAT_DROP_CT_FULL;	/* no room to build it */
	n->key = p->key;
	ct_key_set4(&n->reply, addr, p->key.saddr, port, p->key.sport,
		    p->key.proto);
	n->ifindex[CT_DIR_ORIG] = 0;
	n->ifindex[CT_DIR_REPLY] = ep->ifindex;
	n->kind = CT_KIND_DNAT;
	n->tcp_flags = p->tcp_flags;
	n->bound = bound;
	return ct_create_flow(ctx, n, out, xdp);
}

/*
 * The first packet from the outside to a published port (`bpfnat port
 * add`): its DNAT flow, whose answer is the container's, from the
 * container's address and port to the client.  STAT_PASS when no port of
 * that address is published: the host's own.
 */
static __always_inline int uplink_published(void *ctx, struct pkt *p,
					    const struct bpfnat_config *cfg,
					    struct ct_flow **out,
					    const bool xdp)
{
	const struct endpoint *ep;
	const struct port_val *v;

	v = published_at(p->key.daddr, p->key.dport, p->key.proto, false);
	if (!v) {
		v = published_at(p->key.daddr, p->key.dport, p->key.proto,
				 true);
		if (!v || (p->key.daddr != cfg->snat_addr &&
			   !for_the_host(ctx, p, xdp)))
			return STAT_PASS;
	}
	ep = bpf_map_lookup_elem(&endpoints, &v->addr);
	if (!ep)
		return STAT_PASS;	/* its container is gone */
	return uplink_dnat_flow(ctx, p, ep, v->addr, v->port, 0, out, xdp);
}

/*
 * The outside's first packet to an external port that a container's
 * endpoint is bound to (endpoint-independent mapping), by a host the
 * container never sent to from it.  RFC 4787 REQ-8: with
 * endpoint-independent filtering it is let in, as a flow of its own
 * holding the binding; with address-and-port-dependent filtering, the
 * default, it is dropped and counted.  STAT_PASS when no endpoint is
 * bound to the port: the host's.
 */
static __always_inline int uplink_bound(void *ctx, struct pkt *p,
					const struct bpfnat_config *cfg,
					struct ct_flow **out, const bool xdp)
{
	const struct nat_endpoint *in;
	const struct endpoint *ep;
	struct bind_room *r;

	if (!bind_applies(p->key.proto) || p->key.daddr != cfg->snat_addr)
		return STAT_PASS;
	r = bind_room_get();
	if (!r)
		return STAT_PASS;
	bind_endpoint(&r->ext, p->key.daddr, p->key.dport, p->key.proto);
	in = bpf_map_lookup_elem(&nat_bound, &r->ext);
	if (!in)
		return STAT_PASS;
	if (!(cfg->flags & CFG_F_FILTER_EIF))
		return STAT_DROP_FILTERED;
	ep = bpf_map_lookup_elem(&endpoints, &in->addr);
	if (!ep)
		return STAT_DROP_FILTERED;
	return uplink_dnat_flow(ctx, p, ep, in->addr, in->port, 1, out, xdp);
}

/*
 * From an excluded network (in a cluster, another node's pods) to a
 * container's own address: routed straight into it, as the host's routing
 * would, but without its stack, so with its forwarding off too.  The
 * container's answers go back un-NATed for the same exclusion.  CONTINUE
 * for the rest: the host's addresses in the pool (the gateway's), other
 * sources, a TTL the stack must answer.
 */
static __always_inline int uplink_to_container(void *ctx, struct pkt *p,
					       struct rewrite *rw,
					       const bool xdp)
{
	const struct endpoint *ep;

	ep = bpf_map_lookup_elem(&endpoints, &p->key.daddr);
	if (!ep || !is_excluded(p->key.saddr) || p->ip->ttl <= 1)
		return CONTINUE;
	if (xdp && !xdp_can_send(ep->ifindex))
		return STAT_TO_TC;
	__builtin_memcpy(rw->dmac, ep->mac, ETH_ALEN);
	__builtin_memcpy(rw->smac, ep->host_mac, ETH_ALEN);
	p->redirect = redirect_container(ep, xdp);
	packet_rewrite(ctx, p, rw, xdp);	/* rw->nat is 0 */
	return STAT_ROUTED;
}

/*
 * Outside -> container: the answer of a NATed flow, reverse NATed, and a
 * published port's packets, DNATed.
 */
static __always_inline int from_uplink(void *ctx, struct pkt *p,
				       const bool xdp)
{
	const struct bpfnat_config *cfg = config_ready();
	struct frag_stash_key *fk = NULL;
	struct rewrite rw = {};
	struct ct_flow *f;
	__u32 held = 0;
	__u8 dir = 0;
	int ret;

	if (!cfg)
		return STAT_PASS;
	if (in_pool(cfg, p->key.daddr)) {
		ret = uplink_to_container(ctx, p, &rw, xdp);
		if (ret != CONTINUE)
			return ret;
	}
	if (p->key.daddr != cfg->snat_addr) {
		/* the host's other addresses have published ports only */
		if (!p->l4 || p->is_fragment ||
		    (p->key.proto != IPPROTO_TCP &&
		     p->key.proto != IPPROTO_UDP))
			return STAT_PASS;
	}
	/* fragments are held and released with skb helpers: tc's */
	if (xdp && p->is_fragment)
		return STAT_TO_TC;
	if (!p->l4)
		return uplink_later_fragment(ctx, p, xdp);
	if (p->key.proto == IPPROTO_ICMP && icmp_is_error(p->icmp_type))
		return uplink_icmp_error(ctx, p, cfg, xdp);
	if (p->is_fragment)
		fk = frag_key_of(p, false);
	/* (the host's: a large ping's later fragments follow its first) */
	if (p->key.proto == IPPROTO_ICMP && p->icmp_type != ICMP_ECHOREPLY)
		return xdp ? STAT_PASS : frag_first_for_host(ctx, p, fk);

	f = ct_lookup(&p->key, &dir);
	/* a tuple a container sends is not the outside's to use */
	if (f && f->ifindex[dir])
		f = NULL;
	if (!f) {
		ret = uplink_published(ctx, p, cfg, &f, xdp);
		if (ret == STAT_PASS)
			ret = uplink_bound(ctx, p, cfg, &f, xdp);
		if (ret != CONTINUE && ret != STAT_PASS)
			return ret;
		dir = CT_DIR_ORIG;
	}
	if (!f)
		return xdp ? STAT_PASS : frag_first_for_host(ctx, p, fk);
	rewrite_for(&rw, f, dir);
	if (!ct_still(f, dir, &p->key))
		return STAT_DROP_CT_RACE;
	if (fk)
		held = frag_learn(&fk->dgram, FRAG_NAT, &rw.daddr);
	ret = deliver(ctx, p, &rw, f, dir, xdp);
	if (!xdp && ret != STAT_TO_TC && !STAT_IS_DROP(ret) && held) {
		/* later fragments were waiting for this one */
		const struct endpoint *ep;
		__be32 to = rw.daddr;

		ep = bpf_map_lookup_elem(&endpoints, &to);
		if (ep)
			frag_release(ctx, p, fk, held, ep->ifindex, 0, &to,
				     ret);
	}
	return ret;
}

#endif /* BPFNAT_DATAPATH_H */
