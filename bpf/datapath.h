/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The decisions.  Two workers, one per direction, read top to bottom as the
 * packet walks of DESIGN.md:
 *
 *   from_container  a container's packet, at its host-side veth:
 *                   ARP for another container -> answered here;
 *                   another container -> redirect into its namespace;
 *                   the outside -> SNAT to the uplink address;
 *                   the host, excluded or unhandled -> the stack.
 *   from_uplink     a packet arriving from the outside:
 *                   reply of a NATed flow -> reverse NAT, redirect into
 *                   the container; anything else -> the stack.
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

/* A container may only send with its own address. */
static __always_inline bool source_is_own(const struct pkt *p)
{
	const struct endpoint *ep;

	ep = bpf_map_lookup_elem(&endpoints, &p->key.saddr);
	return ep && ep->ifindex == p->ifindex;
}

static __always_inline int container_to_container(void *ctx, struct pkt *p,
						  const struct endpoint *dst,
						  const bool xdp)
{
	struct rewrite rw = { .nat = NAT_NONE };

	if (!source_is_own(p))
		return STAT_DROP_SPOOFED;
	__builtin_memcpy(rw.dmac, dst->mac, ETH_ALEN);
	__builtin_memcpy(rw.smac, dst->host_mac, ETH_ALEN);
	packet_rewrite(ctx, p, &rw, xdp);
	p->redirect = redirect_container(dst);
	return STAT_FORWARD;
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
	struct bpf_fib_lookup fib = {};
	struct rewrite rw = { .nat = NAT_SRC };
	struct ct_flow *f = NULL;
	__u8 dir = CT_DIR_ORIG;
	int route, ret;

	if (p->key.daddr == cfg->snat_addr)
		return STAT_PASS;		/* the host itself */

	/* A later fragment has no ports to look up. */
	if (p->l4) {
		f = ct_lookup(&p->key, &dir);
		if (f && f->ifindex != p->ifindex)
			return STAT_DROP_SPOOFED;
	}
	if (!f) {
		if (!source_is_own(p))
			return STAT_DROP_SPOOFED;
		if (is_excluded(p->key.daddr))
			return STAT_PASS;
	}

	route = route_outside(ctx, p, cfg, &fib);
	if (route == ROUTE_STACK)
		/* an established flow never leaks out un-NATed */
		return f ? STAT_DROP_NO_ROUTE : STAT_PASS;
	if (route == ROUTE_TOO_BIG)
		return STAT_DROP_MTU;

	if (!p->l4) {
		/* With one SNAT address, a later fragment's only change is
		 * its source address.
		 */
		rw.addr = cfg->snat_addr;
		goto rewrite;
	}
	if (!f) {
		ret = ct_create(p, cfg, &f);
		if (ret != CONTINUE)
			return ret;
	}
	ct_account(f, p, dir);
	rw.addr = f->nat_addr;
	rw.port = f->nat_port;
rewrite:
	__builtin_memcpy(rw.dmac, fib.dmac, ETH_ALEN);
	__builtin_memcpy(rw.smac, fib.smac, ETH_ALEN);
	packet_rewrite(ctx, p, &rw, xdp);
	p->redirect = redirect_uplink(route, &fib, cfg);
	return STAT_SNAT;
}

static __always_inline int from_container(void *ctx, struct pkt *p,
					  const bool xdp)
{
	const struct bpfnat_config *cfg = config_get();
	const struct endpoint *dst;

	if (!cfg || cfg->version != BPFNAT_LAYOUT_VERSION)
		return STAT_PASS;
	if (p->ip->ttl <= 1)
		return STAT_PASS;	/* the stack sends time-exceeded */

	if (in_pool(cfg, p->key.daddr)) {
		dst = bpf_map_lookup_elem(&endpoints, &p->key.daddr);
		if (!dst)
			return STAT_PASS;	/* the gateway, or no one */
		return container_to_container(ctx, p, dst, xdp);
	}

	switch (p->key.proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
		return container_to_outside(ctx, p, cfg, xdp);
	case IPPROTO_ICMP:
		if (p->l4 && p->icmp_type != ICMP_ECHO)
			return STAT_PASS;
		return container_to_outside(ctx, p, cfg, xdp);
	default:
		return STAT_PASS;
	}
}

static __always_inline int from_container_arp(struct pkt *p, const bool xdp)
{
	const struct bpfnat_config *cfg = config_get();

	if (!cfg || cfg->version != BPFNAT_LAYOUT_VERSION)
		return STAT_PASS;
	return arp_answer(p, cfg, xdp);
}

/* Outside -> container: the reply of a NATed flow, reverse NATed. */
static __always_inline int from_uplink(void *ctx, struct pkt *p,
				       const bool xdp)
{
	const struct bpfnat_config *cfg = config_get();
	struct rewrite rw = { .nat = NAT_DST };
	const struct endpoint *ep;
	struct ct_flow *f;
	__u8 dir;

	if (!cfg || cfg->version != BPFNAT_LAYOUT_VERSION)
		return STAT_PASS;
	if (p->key.daddr != cfg->snat_addr || !p->l4)
		return STAT_PASS;
	if (p->key.proto == IPPROTO_ICMP && p->icmp_type != ICMP_ECHOREPLY)
		return STAT_PASS;

	f = ct_lookup(&p->key, &dir);
	if (!f || dir != CT_DIR_REPLY)
		return STAT_PASS;
	ep = bpf_map_lookup_elem(&endpoints, &f->orig.saddr);
	if (!ep)
		return STAT_DROP_NO_ROUTE;	/* container gone */
	if (p->ip->ttl <= 1)
		return STAT_PASS;

	ct_account(f, p, dir);
	rw.addr = f->orig.saddr;
	rw.port = f->orig.sport;
	__builtin_memcpy(rw.dmac, ep->mac, ETH_ALEN);
	__builtin_memcpy(rw.smac, ep->host_mac, ETH_ALEN);
	packet_rewrite(ctx, p, &rw, xdp);
	p->redirect = redirect_container(ep);
	return STAT_DNAT;
}

#endif /* BPFNAT_DATAPATH_H */
