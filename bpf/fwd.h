/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Where a packet goes next: straight into a container's namespace, or out
 * of the uplink towards the next hop the kernel's routing table names.
 */
#ifndef BPFNAT_FWD_H
#define BPFNAT_FWD_H

#include "common.h"
#include "maps.h"
#include "parse.h"

/*
 * Unit tests build these programs with a hook that records every redirect
 * (tests/unit/bpfnat_test.bpf.c); in bpfnat itself it is nothing.
 */
#ifndef redirect_hook
#define redirect_hook(kind, ifindex) do { } while (0)
#endif

enum route_kind {
	ROUTE_UPLINK,		/* via the uplink, next hop's MAC known */
	ROUTE_UPLINK_NEIGH,	/* via the uplink, next hop's MAC unknown */
	ROUTE_UPLINK_KERNEL,	/* forwarding is off: let the kernel resolve */
	ROUTE_STACK,		/* local, or not via the uplink: not ours */
	ROUTE_TOO_BIG,		/* larger than the uplink's MTU */
};

static __always_inline bool in_pool(const struct bpfnat_config *cfg,
				    __be32 addr)
{
	return (addr & cfg->pool_mask) == cfg->pool_addr;
}

/* Limited broadcast, or the pool's or the uplink's subnet's broadcast
 * address (which the stack would deliver, or with bc_forwarding send out
 * of the uplink).
 */
static __always_inline bool is_broadcast(const struct bpfnat_config *cfg,
					 __be32 addr)
{
	return addr == 0xffffffff ||
	       addr == (cfg->pool_addr | ~cfg->pool_mask) ||
	       (addr == cfg->uplink_bcast && addr);
}

static __always_inline bool is_multicast(__be32 addr)
{
	return (addr & bpf_htonl(0xf0000000)) == bpf_htonl(0xe0000000);
}

static __always_inline bool is_excluded(__be32 daddr)
{
	struct exclude_key key = { .prefixlen = 32, .addr = daddr };

	return bpf_map_lookup_elem(&exclude, &key);
}

static __always_inline bool is_excluded6(const __be32 addr[4])
{
	struct exclude6_key key = { .prefixlen = 128 };

	__builtin_memcpy(key.addr, addr, sizeof(key.addr));
	return bpf_map_lookup_elem(&exclude6, &key);
}

/* What the FIB's answer @rc to a lookup from a container's veth means. */
static __always_inline int route_kind_of(int rc,
					 const struct bpf_fib_lookup *fib,
					 const struct bpfnat_config *cfg)
{
	switch (rc) {
	case BPF_FIB_LKUP_RET_SUCCESS:
	case BPF_FIB_LKUP_RET_NO_NEIGH:
		if (fib->ifindex != cfg->uplink_ifindex)
			return ROUTE_STACK;
		return rc == BPF_FIB_LKUP_RET_SUCCESS ? ROUTE_UPLINK :
							ROUTE_UPLINK_NEIGH;
	case BPF_FIB_LKUP_RET_FWD_DISABLED:
		/* The host's own forwarding is off, which the FIB helper
		 * refuses to look past; bpfnat is the router here, so the
		 * packet still leaves by the uplink and the kernel resolves
		 * the next hop for it.
		 */
		return ROUTE_UPLINK_KERNEL;
	case BPF_FIB_LKUP_RET_FRAG_NEEDED:
		return ROUTE_TOO_BIG;
	default:
		/* local, broadcast, unreachable, ...: the stack answers */
		return ROUTE_STACK;
	}
}

/*
 * Ask the kernel's FIB how to reach the packet's destination from the
 * container's veth.  On ROUTE_UPLINK @fib holds the MACs to write.
 */
static __always_inline int route_outside(void *ctx, const struct pkt *p,
					 const struct bpfnat_config *cfg,
					 struct bpf_fib_lookup *fib,
					 const bool xdp)
{
	int rc;

	__builtin_memset(fib, 0, sizeof(*fib));
	fib->family = AF_INET;
	fib->tos = p->ip->tos;
	fib->l4_protocol = p->key.proto;
	/* tc: 0 lets the helper check the skb itself, GSO aware; XDP has
	 * no skb and must say how big the packet is
	 */
	fib->tot_len = xdp ? p->len : 0;
	fib->ipv4_src = cfg->snat_addr;
	fib->ipv4_dst = p->key.daddr;
	fib->ifindex = p->ifindex;

	rc = bpf_fib_lookup(ctx, fib, sizeof(*fib), 0);
	return route_kind_of(rc, fib, cfg);
}

/*
 * Ask the FIB how to reach an IPv6 packet's destination from the
 * container's veth, from the IPv6 SNAT address, as route_outside() does.
 */
static __always_inline int route_outside6(void *ctx, const struct pkt *p,
					  const struct bpfnat_config *cfg,
					  struct bpf_fib_lookup *fib)
{
	int rc;

	__builtin_memset(fib, 0, sizeof(*fib));
	fib->family = AF_INET6;
	fib->l4_protocol = p->key.proto;
	/* the size, but of a GSO packet's (the helper checks its
	 * segments): so the path's MTU is checked before the next hop,
	 * even one whose neighbour is not resolved yet
	 */
	fib->tot_len = p->gso ? 0 : p->len;
	__builtin_memcpy(fib->ipv6_src, cfg->snat6.addr, sizeof(fib->ipv6_src));
	__builtin_memcpy(fib->ipv6_dst, p->key.daddr6, sizeof(fib->ipv6_dst));
	fib->ifindex = p->ifindex;

	rc = bpf_fib_lookup(ctx, fib, sizeof(*fib), 0);
	return route_kind_of(rc, fib, cfg);
}

/*
 * Where the SNAT path keeps its FIB lookup: not on the stack, where the
 * programs, ct_create() and its port search's loop share the verifier's
 * 512 bytes (the helper takes map memory as well).  Per CPU: a program
 * runs to its end on the CPU it started on.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bpf_fib_lookup);
} fib_room SEC(".maps");

/* The next hop bpf_redirect_neigh() is told of, for the same reason. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bpf_redir_neigh);
} neigh_room SEC(".maps");

/*
 * fib_room, or NULL (never: the map has its one entry).  Not cleared: the
 * lookups clear it before they ask, and a flow's cached next hop
 * (route_cached()) fills in what is read of it, which saves an
 * established flow's packets the clearing.
 */
static __always_inline struct bpf_fib_lookup *fib_room_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&fib_room, &zero);
}

/* How long a flow trusts its cached next hop before asking again. */
#define CT_NEXTHOP_TTL_NS	NSEC_PER_SEC

/*
 * An established flow's next hop, as the FIB said less than a second ago:
 * saves the lookup, the dearest step of the path.  A packet larger than
 * the uplink's MTU (and not GSO) goes back to the FIB, which says
 * ROUTE_TOO_BIG.  Returns ROUTE_UPLINK, or -1 to ask the FIB.
 */
static __always_inline int route_cached(const struct ct_flow *f,
					const struct pkt *p,
					struct bpf_fib_lookup *fib, __u64 now)
{
	if (!f->nh_ifindex || now - f->nh_checked_ns > CT_NEXTHOP_TTL_NS)
		return -1;
	if (!p->gso && p->len > f->nh_mtu)
		return -1;
	fib->ifindex = f->nh_ifindex;
	__builtin_memcpy(fib->dmac, f->nh_dmac, ETH_ALEN);
	__builtin_memcpy(fib->smac, f->nh_smac, ETH_ALEN);
	return ROUTE_UPLINK;
}

static __always_inline void route_remember(struct ct_flow *f,
					   const struct bpf_fib_lookup *fib,
					   const struct bpfnat_config *cfg,
					   __u64 now, const bool xdp)
{
	f->nh_ifindex = fib->ifindex;
	/* on XDP the helper answers with the MTU only when it is exceeded */
	f->nh_mtu = xdp ? cfg->uplink_mtu : fib->mtu_result;
	__builtin_memcpy(f->nh_dmac, fib->dmac, ETH_ALEN);
	__builtin_memcpy(f->nh_smac, fib->smac, ETH_ALEN);
	f->nh_checked_ns = now;
}

/* XDP: can a frame be redirected to @ifindex?  Asked before the packet
 * is touched, so that what cannot goes to the tc hook as it came.
 */
static __always_inline bool xdp_can_send(__u32 ifindex)
{
	return bpf_map_lookup_elem(&tx_ports, &ifindex);
}

/*
 * Send the packet, already rewritten, on its way out of the uplink.  On
 * XDP only ROUTE_UPLINK gets here (the others need the kernel's neighbour
 * resolution, which only the tc hook has).
 */
static __always_inline int redirect_uplink(int route,
					   const struct bpf_fib_lookup *fib,
					   const struct bpfnat_config *cfg,
					   const bool xdp)
{
	if (xdp) {
		redirect_hook(REDIRECT_EGRESS, fib->ifindex);
		return bpf_redirect_map(&tx_ports, fib->ifindex, 0);
	}
	struct bpf_redir_neigh *nh;
	__u32 zero = 0;

	switch (route) {
	case ROUTE_UPLINK:
		redirect_hook(REDIRECT_EGRESS, fib->ifindex);
		return bpf_redirect(fib->ifindex, 0);
	case ROUTE_UPLINK_NEIGH:
		/* off the stack, as fib_room */
		nh = bpf_map_lookup_elem(&neigh_room, &zero);
		if (!nh)
			return TC_ACT_SHOT;
		/* the FIB's next hop */
		nh->nh_family = fib->family;
		if (fib->family == AF_INET6)
			__builtin_memcpy(nh->ipv6_nh, fib->ipv6_dst,
					 sizeof(nh->ipv6_nh));
		else
			nh->ipv4_nh = fib->ipv4_dst;
		redirect_hook(REDIRECT_NEIGH, fib->ifindex);
		return bpf_redirect_neigh(fib->ifindex, nh, sizeof(*nh), 0);
	default:
		redirect_hook(REDIRECT_NEIGH, cfg->uplink_ifindex);
		return bpf_redirect_neigh(cfg->uplink_ifindex, NULL, 0, 0);
	}
}

/*
 * Deliver straight into a container: on tc onto its eth0's receive path;
 * on XDP out of its host side, which its eth0 receives.
 */
static __always_inline int redirect_container(const struct endpoint *ep,
					      const bool xdp)
{
	redirect_hook(REDIRECT_PEER, ep->ifindex);
	if (xdp)
		return bpf_redirect_map(&tx_ports, ep->ifindex, 0);
	return bpf_redirect_peer(ep->ifindex, 0);
}

#endif /* BPFNAT_FWD_H */
