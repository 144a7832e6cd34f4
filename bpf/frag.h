/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * IP fragments from the outside.
 *
 * Only a datagram's first fragment carries ports, so only it can be matched
 * to a flow.  What became of it (which container, or the host's stack) is
 * remembered in `frags`, keyed by addresses, protocol and IP id, and the
 * later fragments follow.
 *
 * A later fragment that arrives before its first is held: copied whole
 * into `frag_stash` and consumed.  When the first fragment comes and goes
 * to a container, it goes as a clone, followed by a clone of each held
 * fragment (the skb in hand is turned into each of them in turn).  The
 * budget is bounded: FRAG_HOLD_PER_DGRAM fragments per datagram,
 * FRAG_STASH_MAX in all, FRAG_HOLD_SECONDS each; past it a fragment is
 * dropped and counted.
 *
 * Both families alike: a datagram is known by its addresses, protocol and
 * identification (IPv4's 16 bits, or the 32 of IPv6's Fragment header).
 * A held IPv6 fragment has no checksum of its own to mend: the L4
 * checksum, in the first fragment, covers the whole datagram.
 *
 * A container's own fragments need none of this: with one SNAT address a
 * later fragment's only change is its source address.
 */
#ifndef BPFNAT_FRAG_H
#define BPFNAT_FRAG_H

#include "common.h"
#include "csum.h"
#include "maps.h"
#include "parse.h"
#include "parse6.h"
#include "fwd.h"
#include "stats.h"

/* What a datagram became is remembered this long. */
#define FRAG_TIMEOUT_NS		(30 * NSEC_PER_SEC)
#define FRAG_HOLD_NS		(FRAG_HOLD_SECONDS * NSEC_PER_SEC)

/* Staging for a fragment on its way into frag_stash (too big for the
 * stack).
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct frag_held);
} frag_scratch SEC(".maps");

/*
 * The datagram's key, and the place for the index of one of its held
 * fragments: per CPU, off the stack that the programs share with
 * ct_create().  No program of bpfnat's runs while it is in use: the
 * copies frag_release() sends go out of a container's host side, which
 * has no egress program, or to a receive path that runs later.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct frag_stash_key);
} frag_room SEC(".maps");

/* The key of fragment @p's datagram, in frag_room, or NULL. */
static __always_inline struct frag_stash_key *frag_key_of(const struct pkt *p,
							  const bool ipv6)
{
	const struct ipv6_frag_hdr *fh;
	struct frag_stash_key *k;
	__u32 zero = 0;

	k = bpf_map_lookup_elem(&frag_room, &zero);
	if (!k)
		return NULL;
	__builtin_memset(k, 0, sizeof(*k));
	/* (an IPv4 key's addresses are followed by zeros, as in p->key) */
	__builtin_memcpy(k->dgram.saddr6, p->key.saddr6, 16);
	__builtin_memcpy(k->dgram.daddr6, p->key.daddr6, 16);
	k->dgram.proto = p->key.proto;
	if (!ipv6) {
		k->dgram.id = p->ip->id;
		return k;
	}
	k->dgram.family = AF_INET6;
	/* parse_ipv6_l4() found it right after the fixed header */
	fh = hdr_ptr(p, ETH_HLEN + sizeof(struct ipv6hdr), sizeof(*fh));
	if (!fh)
		return NULL;
	k->dgram.id = fh->id;
	return k;
}

/* What became of the datagram of @fk, if known and not too old. */
static __always_inline struct frag_val *frag_find(const struct frag_key *fk,
						  __u64 now)
{
	struct frag_val *v = bpf_map_lookup_elem(&frags, fk);

	if (v && now - v->first_ns > FRAG_TIMEOUT_NS) {
		bpf_map_delete_elem(&frags, fk);
		return NULL;
	}
	return v;
}

/*
 * The first fragment of datagram @fk, from the outside: remember what
 * became of it, container @addr (one word for IPv4, four for IPv6) or
 * the host (@addr NULL).  Returns how many of its later fragments are
 * being held.
 */
static __always_inline __u32 frag_learn(const struct frag_key *fk,
					__u32 state, const __be32 *addr)
{
	struct frag_val fresh, *v;
	__u32 held;

	/* (an initializer would leave the union's other bytes unset) */
	__builtin_memset(&fresh, 0, sizeof(fresh));
	fresh.state = state;
	fresh.first_ns = bpf_ktime_get_coarse_ns();
	if (addr && fk->family == AF_INET6)
		__builtin_memcpy(fresh.addr6, addr, sizeof(fresh.addr6));
	else if (addr)
		fresh.addr = *addr;
	v = frag_find(fk, fresh.first_ns);
	if (!v || v->state != FRAG_PENDING) {
		bpf_map_update_elem(&frags, fk, &fresh, BPF_ANY);
		return 0;
	}
	__builtin_memcpy(v->addr6, fresh.addr6, sizeof(v->addr6));
	v->state = state;
	held = v->held;		/* after the state: see frag_hold() */
	return held < FRAG_HOLD_PER_DGRAM ? held : FRAG_HOLD_PER_DGRAM;
}

/* Hold a later fragment whose first has not come yet. */
static __always_inline int frag_hold(struct __sk_buff *skb, struct pkt *p,
				     struct frag_stash_key *k, __u64 now)
{
	const struct frag_key *fk = &k->dgram;
	struct frag_val fresh, *v;
	struct frag_held *h;
	__u32 zero = 0, len = p->len;

	__builtin_memset(&fresh, 0, sizeof(fresh));
	fresh.first_ns = now;
	fresh.state = FRAG_PENDING;

	if (len >= FRAG_STASH_BYTES)
		return STAT_DROP_FRAGMENT;
	v = frag_find(fk, now);
	if (!v) {
		bpf_map_update_elem(&frags, fk, &fresh, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&frags, fk);
		if (!v)
			return STAT_DROP_FRAGMENT;
	}
	if (v->state != FRAG_PENDING)
		return STAT_DROP_FRAGMENT;	/* raced with its first */
	k->index = __sync_fetch_and_add(&v->held, 1);
	if (k->index >= FRAG_HOLD_PER_DGRAM)
		return STAT_DROP_FRAGMENT;

	h = bpf_map_lookup_elem(&frag_scratch, &zero);
	if (!h)
		return STAT_DROP_FRAGMENT;
	if (len < sizeof(struct iphdr))
		return STAT_DROP_TRUNCATED;
	len = LEN_IN(len, 0x7ff);
	h->held_ns = now;
	h->len = len;
	if (bpf_skb_load_bytes(skb, ETH_HLEN, h->data, len))
		return STAT_DROP_TRUNCATED;
	if (bpf_map_update_elem(&frag_stash, k, h, BPF_NOEXIST))
		return STAT_DROP_FRAGMENT;	/* the stash is full */
	/* The first fragment may have come meanwhile, and released the
	 * held ones before this one was there: then it is not held after
	 * all, and the caller sends it on the datagram's way.
	 */
	if (*(volatile __u32 *)&v->state != FRAG_PENDING) {
		bpf_map_delete_elem(&frag_stash, k);
		return CONTINUE;
	}
	p->redirect = TC_ACT_SHOT;		/* consumed, not lost */
	return STAT_FRAG_HELD;
}

/* The TTL, or IPv6's hop limit, of held fragment @h. */
static __always_inline __u8 frag_hops(const struct frag_held *h, bool ipv6)
{
	return ipv6 ? ((const struct ipv6hdr *)h->data)->hop_limit :
		      ((const struct iphdr *)h->data)->ttl;
}

/* A held IPv4 fragment, translated for container @addr in place. */
static __always_inline void frag_translate(struct frag_held *h, __be32 addr)
{
	struct iphdr *ip = (struct iphdr *)h->data;
	__u16 old_ttl = *(__u16 *)&ip->ttl;

	csum_replace4(&ip->check, ip->daddr, addr);
	ip->daddr = addr;
	ip->ttl--;
	csum_replace2(&ip->check, old_ttl, *(__u16 *)&ip->ttl);
}

/* A held IPv6 fragment, for container @addr: no checksum to mend. */
static __always_inline void frag_translate6(struct frag_held *h,
					    const __be32 *addr)
{
	struct ipv6hdr *ip6 = (struct ipv6hdr *)h->data;

	__builtin_memcpy(&ip6->daddr, addr, sizeof(ip6->daddr));
	ip6->hop_limit--;
}

/*
 * The first fragment is in hand and its @held later fragments wait.  Send
 * a copy of it, then turn the skb into each held fragment and send a copy
 * of that; the skb itself is then spent, and the caller's verdict
 * (p->redirect) becomes a drop.
 *
 * For a container (@addr, as frag_learn()'s) the copies, translated, go
 * out of its host side (@ifindex, @flags 0), each counted as @outcome
 * (the first's).  For the host (@addr NULL) they go back, as they came,
 * into the uplink's receive path (@flags BPF_F_INGRESS), where the tc
 * hook now lets them through to the stack.
 */
static __always_inline void frag_release(struct __sk_buff *skb,
					 struct pkt *p,
					 struct frag_stash_key *k, __u32 held,
					 __u32 ifindex, __u64 flags,
					 const __be32 *addr, int outcome)
{
	bool ipv6 = k->dgram.family == AF_INET6;
	struct frag_held *h;
	__u32 i, len;

	redirect_hook(REDIRECT_CLONE, ifindex);
	bpf_clone_redirect(skb, ifindex, flags);
	p->redirect = TC_ACT_SHOT;		/* sent as copies */
	for (i = 0; i < FRAG_HOLD_PER_DGRAM; i++) {
		if (i >= held)
			break;
		k->index = i;
		h = bpf_map_lookup_elem(&frag_stash, k);
		if (!h)
			continue;
		len = h->len;
		if (addr && frag_hops(h, ipv6) <= 1) {
			/* no hop left to go in with: as deliver() drops */
			stat_count(STAT_DROP_TTL, ETH_HLEN + (len & 0x7ff),
				   false, ipv6);
		} else if (len >= sizeof(struct iphdr) &&
			   len < FRAG_STASH_BYTES) {
			len = LEN_IN(len, 0x7ff);
			if (addr && ipv6)
				frag_translate6(h, addr);
			else if (addr)
				frag_translate(h, *addr);
			if (!bpf_skb_change_tail(skb, ETH_HLEN + len, 0) &&
			    !bpf_skb_store_bytes(skb, ETH_HLEN, h->data, len,
						 BPF_F_RECOMPUTE_CSUM)) {
				redirect_hook(REDIRECT_CLONE, ifindex);
				bpf_clone_redirect(skb, ifindex, flags);
				if (addr)
					stat_count(outcome, ETH_HLEN + len,
						   false, ipv6);
			}
		}
		bpf_map_delete_elem(&frag_stash, k);
	}
}

/*
 * A first fragment that is the host's (@k its datagram): the later ones
 * follow it to the stack, and those held are sent there now.
 */
static __always_inline int frag_first_for_host(struct __sk_buff *skb,
					       struct pkt *p,
					       struct frag_stash_key *k)
{
	__u32 held;

	if (!k)
		return STAT_PASS;
	held = frag_learn(&k->dgram, FRAG_HOST, NULL);
	if (!held)
		return STAT_PASS;
	frag_release(skb, p, k, held, p->ifindex, BPF_F_INGRESS, NULL,
		     STAT_PASS);
	return STAT_FRAG_HELD;
}

/* Timer: fragments held past their time are dropped, and counted. */
static long frag_expire_one(void *map, struct frag_stash_key *k,
			    struct frag_held *h, __u64 *now)
{
	if (*now - h->held_ns > FRAG_HOLD_NS) {
		stat_count(STAT_DROP_FRAGMENT, ETH_HLEN + (h->len & 0xffff),
			   false, k->dgram.family == AF_INET6);
		bpf_map_delete_elem(map, k);
	}
	return 0;
}

#endif /* BPFNAT_FRAG_H */
