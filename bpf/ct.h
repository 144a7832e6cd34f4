/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Connection tracking for NATed flows.
 *
 * A flow is one slot of ct_flows plus two keys in ct_index, the tuple its
 * initiator sent and the tuple the answers come with, both pointing at
 * the slot.  Creation takes a free slot number from ct_free, inserts the
 * reply key with BPF_NOEXIST (for SNAT that insert claims the source
 * port, atomic across CPUs; a published port's flow has its reply tuple
 * given), then inserts the original key; if another CPU won the race for the same tuple, everything is rolled
 * back and the winner's flow is used.  Removal is owned by whoever turns
 * the slot from CT_SLOT_LIVE to CT_SLOT_FREE with one compare-and-swap of
 * the (live, gen) word it saw when it chose the flow; gen grows each time
 * the slot is taken, so a slot reused meanwhile is left alone.  The owner
 * deletes both keys and returns the slot number, so a half pair never
 * outlives the removal; a key it cannot delete keeps the slot out of
 * ct_free, dying, until the sweep has deleted it.  A lookup checks that
 * the slot a key led to still holds that key.
 */
#ifndef BPFNAT_CT_H
#define BPFNAT_CT_H

#include "common.h"
#include "maps.h"
#include "parse.h"
#include "ct_hooks.h"
#include "monitor.h"
#include "ct_port.h"
#include "ct_tcp.h"

/* Slots looked at for an expired or unanswered flow when the table is full. */
#define CT_EARLY_DROP_SCAN	64

/* Two keys are one tuple: 40 bytes compared as five 64-bit words. */
static __always_inline bool ct_key_eq(const struct ct_key *a,
				      const struct ct_key *b)
{
	struct { __u64 w[5]; } x, y;

	/* memcpy, not a cast: the compiler must see these as reads of
	 * the keys, which were just written field by field; whole, so that
	 * it knows their alignment and loads 8 bytes at a time
	 */
	__builtin_memcpy(&x, a, sizeof(x));
	__builtin_memcpy(&y, b, sizeof(y));
	return !((x.w[0] ^ y.w[0]) | (x.w[1] ^ y.w[1]) | (x.w[2] ^ y.w[2]) |
		 (x.w[3] ^ y.w[3]) | (x.w[4] ^ y.w[4]));
}
_Static_assert(sizeof(struct ct_key) == 5 * sizeof(__u64), "five words");

/*
 * An IPv4 key, every other byte zero.  (Not a compound literal: one that
 * names a union's short member leaves the union's other bytes, IPv6's
 * words, undefined, and clang leaves them as they were.)
 */
static __always_inline void ct_key_set4(struct ct_key *k, __be32 saddr,
					__be32 daddr, __be16 sport,
					__be16 dport, __u8 proto)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->saddr = saddr;
	k->daddr = daddr;
	k->sport = sport;
	k->dport = dport;
	k->proto = proto;
}

/* The same for an IPv6 tuple, its addresses four words each. */
static __always_inline void ct_key_set6(struct ct_key *k, const __be32 *saddr,
					const __be32 *daddr, __be16 sport,
					__be16 dport, __u8 proto)
{
	__builtin_memset(k, 0, sizeof(*k));
	__builtin_memcpy(k->saddr6, saddr, sizeof(k->saddr6));
	__builtin_memcpy(k->daddr6, daddr, sizeof(k->daddr6));
	k->sport = sport;
	k->dport = dport;
	k->proto = proto;
	k->family = AF_INET6;
}

/* Is @f the flow whose tuple in direction @dir is @key? */
static __always_inline bool ct_flow_has_key(const struct ct_flow *f,
					    __u8 dir, const struct ct_key *key)
{
	return ct_key_eq(&f->tuple[dir & 1], key);
}

/*
 * The live flow whose tuple in direction *@dir is @key, or NULL.  Between
 * the two lookups another CPU may remove the flow and give its slot to a
 * new one (and the ct_ref read may itself be an element being reused), so
 * the slot must still hold @key.  live is read first: a flow turns live
 * only once its tuple is written, so a key read after it is that flow's.
 */
static __always_inline struct ct_flow *ct_lookup(const struct ct_key *key,
						 __u8 *dir)
{
	struct ct_flow *f;
	struct ct_ref *ref;
	__u32 slot;
	__u8 d;

	ref = bpf_map_lookup_elem(&ct_index, key);
	if (!ref)
		return NULL;
	slot = ref->flow;
	d = ref->dir & 1;
	f = bpf_map_lookup_elem(&ct_flows, &slot);
	if (!f)
		return NULL;
	if (*(volatile __u32 *)&f->live != CT_SLOT_LIVE)
		goto stale;
	/* the compiler must not read the tuple before live */
	asm volatile("" ::: "memory");
	if (!ct_flow_has_key(f, d, key))
		goto stale;
	*dir = d;
	return f;
stale:
	ct_race_hook(stale_slot);
	return NULL;
}

/*
 * After the flow ct_lookup() found for @key in direction @dir was read for
 * a packet (its tuples, for the rewrite): is the slot still that flow's?
 * A flush or an expiry on another CPU may have removed it and given the
 * slot to a new flow meanwhile, and a rewrite from that one's tuples would
 * send the packet somewhere else altogether.  (A flow made anew with the
 * very same key is the packet's flow as much as the old one was.)
 */
static __always_inline bool ct_still(const struct ct_flow *f, __u8 dir,
				     const struct ct_key *key)
{
	asm volatile("" ::: "memory");	/* after what was read */
	if (*(volatile __u32 *)&f->live != CT_SLOT_LIVE)
		return false;
	asm volatile("" ::: "memory");
	return ct_flow_has_key(f, dir, key);
}

static __always_inline __u64 ct_timeout_ns(const struct ct_flow *f,
					   const struct bpfnat_config *cfg)
{
	__u32 t = ct_timeout_of(f);

	if (t >= TMO_MAX)
		return 0;
	return (__u64)cfg->timeout[t] * NSEC_PER_SEC;
}

static __always_inline bool ct_expired(const struct ct_flow *f,
				       const struct bpfnat_config *cfg,
				       __u64 now)
{
	return now > f->last_seen_ns &&
	       now - f->last_seen_ns > ct_timeout_ns(f, cfg);
}

/* The (live, gen) word of a slot, read at once. */
static __always_inline __u64 *ct_claim(struct ct_flow *f)
{
	return (__u64 *)&f->live;
}

static __always_inline __u64 ct_seen(struct ct_flow *f)
{
	return *(volatile __u64 *)ct_claim(f);
}

static __always_inline bool ct_seen_live(__u64 seen)
{
	return (__u32)seen == CT_SLOT_LIVE;	/* live is the low half */
}

/*
 * Delete @key if it still leads to @slot, a slot that is ours and out of
 * ct_free (so no new flow can have one).  Keys are only ever inserted with
 * BPF_NOEXIST, so one that leads to @slot cannot be replaced meanwhile.
 * True when the key is gone, or belongs to someone else.
 */
static __always_inline bool ct_unindex_ours(const struct ct_key *key,
					    __u32 slot)
{
	struct ct_ref *ref = bpf_map_lookup_elem(&ct_index, key);

	if (!ref || ref->flow != slot)
		return true;
	return ct_key_gone(ct_index_delete(key));
}

/*
 * The end of a removal: @slot is ours (not live, not in ct_free), its keys
 * deleted if @keys_gone.  Only then may its number go back to ct_free;
 * otherwise it waits as CT_SLOT_DYING, with its tuple, for the sweep to
 * try again.  True when the slot is free again.
 */
static __always_inline bool ct_slot_release(__u32 slot, struct ct_flow *f,
					    bool keys_gone)
{
	if (keys_gone && !bpf_map_push_elem(&ct_free, &slot, 0))
		return true;
	/* a push that failed leaves it dying too: the sweep finds no key
	 * and pushes again, rather than the slot being lost
	 */
	*(volatile __u32 *)&f->live = CT_SLOT_DYING;
	return false;
}

/* The claim word @seen with the slot marked @state, gen kept. */
static __always_inline __u64 ct_claim_as(__u64 seen, __u32 state)
{
	return (seen & ~0xffffffffULL) | state;
}

/*
 * Remove flow @slot, which was live as @seen (its claim word) when the
 * caller chose it: only if it still is that very flow, and no one else is
 * removing it.  True when it is no longer live (its slot may still be
 * dying, see ct_slot_release()).
 */
static __always_inline bool ct_delete(__u32 slot, struct ct_flow *f,
				      __u64 seen)
{
	__u64 owned = ct_claim_as(seen, CT_SLOT_FREE);
	bool gone;

	if (!ct_seen_live(seen) ||
	    __sync_val_compare_and_swap(ct_claim(f), seen, owned) != seen)
		return false;
	/* the binding first: a port search that finds its port still
	 * bound then sees the give-back below counted (ct_port.h)
	 */
	bind_release(f);
	/* both keys lead here: no lookup needed, and both are tried */
	gone = ct_key_gone(ct_index_delete(&f->tuple[CT_DIR_REPLY]));
	if (gone)
		ct_port_freed(&f->tuple[CT_DIR_REPLY]);
	gone &= ct_key_gone(ct_index_delete(&f->tuple[CT_DIR_ORIG]));
	ct_slot_release(slot, f, gone);
	return true;
}

/*
 * The sweep at a dying slot, claimed as @seen: delete what is left of its
 * keys and free it.  True when the slot is free again.
 */
static __always_inline bool ct_reclaim(__u32 slot, struct ct_flow *f,
				       __u64 seen)
{
	__u64 owned = ct_claim_as(seen, CT_SLOT_FREE);
	bool gone;

	/* one sweeper at a time: another one (flush, say) passes over it */
	if ((__u32)seen != CT_SLOT_DYING ||
	    __sync_val_compare_and_swap(ct_claim(f), seen, owned) != seen)
		return false;
	gone = ct_unindex_ours(&f->tuple[CT_DIR_REPLY], slot);
	if (gone)
		ct_port_freed(&f->tuple[CT_DIR_REPLY]);
	gone &= ct_unindex_ours(&f->tuple[CT_DIR_ORIG], slot);
	return ct_slot_release(slot, f, gone);
}

/* A packet in direction @dir, at @now, belongs to @f. */
static __always_inline void ct_account(void *ctx, struct ct_flow *f,
				       const struct pkt *p, __u8 dir,
				       __u64 now, const bool xdp)
{
	dir &= 1;
	__sync_fetch_and_add(&f->packets[dir], 1);
	__sync_fetch_and_add(&f->bytes[dir], p->len);
	if (f->last_seen_ns != now)
		f->last_seen_ns = now;

	if (dir == CT_DIR_REPLY && !(f->flags & CT_F_REPLIED)) {
		__sync_fetch_and_or(&f->flags, CT_F_REPLIED);
		if (p->key.proto != IPPROTO_TCP)
			f->state = CT_ESTABLISHED;
	}
	if (p->key.proto == IPPROTO_TCP && p->l4)
		ct_track_segment(ctx, f, p, dir, xdp);
}

struct early_drop {
	const struct bpfnat_config *cfg;
	__u64 now;
	__u32 start;
	__u32 victim;
	__u64 victim_last;	/* its last_seen_ns */
	__u64 victim_seen;	/* its claim word */
	bool found;
	bool expired;
};

static long early_drop_probe(__u32 i, struct early_drop *e)
{
	__u32 slot = (e->start + i) % e->cfg->ct_max;
	struct ct_flow *f = bpf_map_lookup_elem(&ct_flows, &slot);
	__u64 seen;

	if (!f)
		return 0;
	seen = ct_seen(f);
	if (!ct_seen_live(seen))
		return 0;
	if (ct_expired(f, e->cfg, e->now)) {
		e->victim = slot;
		e->victim_seen = seen;
		e->found = e->expired = true;
		return 1;
	}
	/* Only flows that were never answered may make room. */
	if (f->flags & CT_F_REPLIED)
		return 0;
	if (!e->found || f->last_seen_ns < e->victim_last) {
		e->victim = slot;
		e->victim_last = f->last_seen_ns;
		e->victim_seen = seen;
		e->found = true;
	}
	return 0;
}

/*
 * The table is full: free one slot, as nf_conntrack's early drop does, by
 * taking an expired flow or else the oldest unanswered one near @start.
 * Established flows are never evicted.  @e is the scan's room, the
 * caller's.
 */
static __always_inline bool ct_early_drop(const struct bpfnat_config *cfg,
					  __u32 start, struct early_drop *e)
{
	struct ct_flow *f;

	*e = (struct early_drop){
		.cfg = cfg,
		.now = bpf_ktime_get_coarse_ns(),
		.start = start,
	};
	if (!cfg->ct_max)
		return false;
	bpf_loop(CT_EARLY_DROP_SCAN, early_drop_probe, e, 0);
	if (!e->found)
		return false;
	f = bpf_map_lookup_elem(&ct_flows, &e->victim);
	if (!f)
		return false;
	/* answered since it was chosen: it is no longer a candidate */
	if (!e->expired && (f->flags & CT_F_REPLIED))
		return false;
	return ct_delete(e->victim, f, e->victim_seen);
}

/*
 * What a new flow is made of: both tuples and a little of its first
 * packet.  The reply of a flow a container initiates (SNAT, hairpin) has
 * its destination port, the container's mapped port, chosen here
 * (reply.dport is ignored); a DNAT flow's is taken as given.
 */
struct ct_new {
	struct ct_key key;	/* tuple[CT_DIR_ORIG]: the first packet's */
	struct ct_key reply;	/* tuple[CT_DIR_REPLY] */
	__u32 ifindex[2];	/* struct ct_flow's */
	__u8 kind;		/* enum ct_kind */
	__u8 tcp_flags;
	__u8 bound;		/* from the outside through the binding of
				 * the reply's source: take a reference
				 */
	__u8 pad[5];
};

/*
 * Where a new flow's struct ct_new is made: not on the stack, where the
 * programs, ct_create() and its loops' callbacks share the verifier's 512
 * bytes.  Per CPU: a program runs to its end on the CPU it started on.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ct_new);
} ct_new_room SEC(".maps");

static __always_inline struct ct_new *ct_new_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&ct_new_room, &zero);
}

static __always_inline __u32 ct_initial_state(const struct ct_new *n)
{
	if (n->key.proto != IPPROTO_TCP)
		return CT_NEW;
	if ((n->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == TCP_FLAG_SYN)
		return CT_SYN_SENT;
	/* picked up mid-stream, e.g. after the table was flushed */
	return CT_ESTABLISHED;
}

/*
 * A flow from the outside through a binding (--filtering
 * endpoint-independent) takes a reference on it, the answering
 * container's endpoint's; false if it is gone meanwhile.
 */
static __always_inline bool ct_bind_inbound(struct ct_flow *f, __u32 slot)
{
	if (bind_take_of(&f->tuple[CT_DIR_REPLY]) < 0)
		return false;
	f->flags |= CT_F_BOUND;
	return true;
}

/*
 * Insert the given reply tuple of @f (not SNAT's: its port is searched
 * for).  Returns 0 or a negative errno; *@reserved as snat_alloc_port().
 */
static __always_inline long ct_reserve_reply(struct ct_flow *f, __u32 slot,
					     bool *reserved)
{
	struct ct_ref ref = { .flow = slot, .dir = CT_DIR_REPLY };
	long err;

	/* (int): on 6.1 map updates return an int (see port_try()) */
	err = (int)bpf_map_update_elem(&ct_index, &f->tuple[CT_DIR_REPLY],
				       &ref, BPF_NOEXIST);
	*reserved = !err;
	return err;
}

/*
 * Create the flow @n.  On success *out is the flow's slot (ours, or that
 * of the flow another CPU created for the same tuple at the same time) and
 * CONTINUE is returned; otherwise a drop reason.
 */
static __always_inline int ct_create(void *ctx, const struct ct_new *n,
				     __u32 *out)
{
	const struct bpfnat_config *cfg = config_get();
	struct ct_ref ref = { .dir = CT_DIR_ORIG };
	bool lost_race = false, reserved = false;
	/* the two loops' state, never needed at once */
	union {
		struct early_drop drop;
		struct port_search port;
	} room;
	struct ct_ref *won = NULL;
	struct ct_flow *f;
	__u32 slot, won_slot = 0;
	__u64 now;
	long err;

	/* a global function's pointer arguments may be NULL, to the verifier */
	if (!n || !out || !cfg)
		return STAT_DROP_CT_FULL;
	if (bpf_map_pop_elem(&ct_free, &slot)) {
		if (!ct_early_drop(cfg, ct_hash(&n->key), &room.drop) ||
		    bpf_map_pop_elem(&ct_free, &slot))
			return STAT_DROP_CT_FULL;
	}
	f = bpf_map_lookup_elem(&ct_flows, &slot);
	if (!f)
		return STAT_DROP_CT_FULL;

	now = bpf_ktime_get_coarse_ns();
	/* ours alone now (it came from ct_free): a new generation */
	*ct_claim(f) = (__u64)(f->gen + 1) << 32 | CT_SLOT_NEW;
	/* the slot's tuples are the keys inserted below: 6.1 takes no
	 * global function's argument for a map key, and no stack is
	 * spent on a copy
	 */
	f->tuple[CT_DIR_ORIG] = n->key;
	f->tuple[CT_DIR_REPLY] = n->reply;
	f->ifindex[CT_DIR_ORIG] = n->ifindex[CT_DIR_ORIG];
	f->ifindex[CT_DIR_REPLY] = n->ifindex[CT_DIR_REPLY];
	f->kind = n->kind;
	f->state = ct_initial_state(n);
	/* TCP without a SYN: picked up mid-stream */
	f->flags = n->key.proto == IPPROTO_TCP && f->state != CT_SYN_SENT ?
		   CT_F_TCP_LIBERAL : 0;
	__builtin_memset(f->tcp, 0, sizeof(f->tcp));
	f->created_ns = now;
	f->last_seen_ns = now;
	f->packets[0] = f->packets[1] = 0;
	f->bytes[0] = f->bytes[1] = 0;
	f->nh_ifindex = 0;

	/* a source port of the SNAT address for the container that
	 * initiated it, but for the outside's flows to a published port
	 */
	if (n->kind != CT_KIND_DNAT)
		err = snat_alloc_port(ctx, f, slot, cfg, now, &reserved,
				      &room.port);
	else if (n->bound && !ct_bind_inbound(f, slot))
		err = -EAGAIN;
	else
		err = ct_reserve_reply(f, slot, &reserved);
	if (err)
		goto free_reserved;

	ref.flow = slot;
	err = (int)bpf_map_update_elem(&ct_index, &f->tuple[CT_DIR_ORIG], &ref,
				       BPF_NOEXIST);
	if (err) {
		lost_race = err == -EEXIST;
		goto free_reserved;
	}
	f->live = CT_SLOT_LIVE;
	*out = slot;
	return CONTINUE;

free_reserved:
	bind_release(f);	/* first, as in ct_delete() */
	if (reserved) {
		reserved = !ct_key_gone(ct_index_delete(
					&f->tuple[CT_DIR_REPLY]));
		if (!reserved)
			ct_port_freed(&f->tuple[CT_DIR_REPLY]);
	}
	/* another CPU created this very flow a moment ago: its slot,
	 * found by the tuple while this slot still holds it
	 */
	if (lost_race) {
		won = bpf_map_lookup_elem(&ct_index, &f->tuple[CT_DIR_ORIG]);
		if (won)
			won_slot = won->flow;
	}
	/* ours still: free, or dying while the reply key stays */
	f->live = CT_SLOT_FREE;
	ct_slot_release(slot, f, !reserved);
	if (lost_race) {
		ct_race_hook(lost_create);
		if (!won)
			return STAT_DROP_CT_RACE;
		*out = won_slot;
		return CONTINUE;
	}
	if (err == -EAGAIN)
		return STAT_DROP_CT_RACE;
	return err == -EEXIST ? STAT_DROP_NO_PORT : STAT_DROP_CT_FULL;
}

/*
 * ct_create() as global functions, one per program type (the context's
 * type must be the program's): the verifier checks a global function once,
 * on its own, instead of once for every path of the data path that
 * reaches it, which made flow creation (its loops above all) the bulk of
 * the programs' verification.  Packet pointers cannot be passed in, hence
 * struct ct_new, and a map value cannot come out, hence the slot.
 */
__noinline int ct_create_tc(struct __sk_buff *skb, const struct ct_new *n,
			    __u32 *out)
{
	return ct_create(skb, n, out);
}

__noinline int ct_create_xdp(struct xdp_md *xdp, const struct ct_new *n,
			     __u32 *out)
{
	return ct_create(xdp, n, out);
}

/*
 * Create the flow @n for the packet in hand.  On success *out is the flow
 * and CONTINUE is returned; otherwise a drop reason.
 */
static __always_inline int ct_create_flow(void *ctx, const struct ct_new *n,
					  struct ct_flow **out, const bool xdp)
{
	struct ct_flow *f;
	__u32 slot;
	int ret;

	ret = xdp ? ct_create_xdp(ctx, n, &slot) :
		    ct_create_tc(ctx, n, &slot);
	if (ret != CONTINUE)
		return ret;
	/* the winner's slot may have been recycled already, too */
	f = bpf_map_lookup_elem(&ct_flows, &slot);
	if (!f || *(volatile __u32 *)&f->live != CT_SLOT_LIVE)
		return STAT_DROP_CT_RACE;
	asm volatile("" ::: "memory");	/* the tuple after live */
	if (!ct_key_eq(&f->tuple[CT_DIR_ORIG], &n->key))
		return STAT_DROP_CT_RACE;
	if (monitor_listener(MON_FLOW_NEW))
		monitor_flow_new(f, xdp ? MON_HOOK_XDP : MON_HOOK_TC);
	*out = f;
	return CONTINUE;
}

/*
 * The SNAT flow of a container's first packet @p towards the outside: the
 * answer comes from where it went, to the SNAT address and the port
 * chosen for it.
 */
static __always_inline int ct_create_snat(void *ctx, const struct pkt *p,
					  const struct bpfnat_config *cfg,
					  struct ct_flow **out, const bool xdp)
{
	struct ct_new *n = ct_new_get();
	__be16 dport;

	if (!n)
		return STAT_DROP_CT_FULL;
	n->key = p->key;
	/* ICMP: the echo reply carries the id as its "destination port" */
	dport = proto_is_icmp(p->key.proto) ? 0 : p->key.dport;
	if (p->key.family)
		ct_key_set6(&n->reply, p->key.daddr6, cfg->snat6.addr, dport,
			    0, p->key.proto);
	else
		ct_key_set4(&n->reply, p->key.daddr, cfg->snat_addr, dport, 0,
			    p->key.proto);
	n->ifindex[CT_DIR_ORIG] = p->ifindex;
	n->ifindex[CT_DIR_REPLY] = 0;
	n->kind = CT_KIND_SNAT;
	n->tcp_flags = p->tcp_flags;
	n->bound = 0;
	return ct_create_flow(ctx, n, out, xdp);
}

#endif /* BPFNAT_CT_H */
