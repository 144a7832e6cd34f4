/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Connection tracking for NATed flows.
 *
 * A flow is one slot of ct_flows plus two keys in ct_index, the tuple the
 * container sent and the tuple the reply comes back with, both pointing at
 * the slot.  Creation takes a free slot number from ct_free, claims a
 * source port by inserting the reply key with BPF_NOEXIST (the insert is
 * the port reservation, atomic across CPUs), then inserts the original
 * key; if another CPU won the race for the same tuple, everything is rolled
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

/* Slots looked at for an expired or unanswered flow when the table is full. */
#define CT_EARLY_DROP_SCAN	64

#define TCP_FLAG_FIN	0x01
#define TCP_FLAG_SYN	0x02
#define TCP_FLAG_RST	0x04
#define TCP_FLAG_ACK	0x10

/*
 * The unit tests' build counts the races below as they happen (one CPU
 * meeting what another did meanwhile); in bpfnat it is nothing.
 */
#ifndef ct_race_hook
#define ct_race_hook(what)	do { } while (0)
#endif

/* Two keys are one tuple: 16 bytes compared as two 64-bit words. */
static __always_inline bool ct_key_eq(const struct ct_key *a,
				      const struct ct_key *b)
{
	struct { __u64 lo, hi; } x, y;

	/* memcpy, not a cast: the compiler must see these as reads of
	 * the keys, which were just written field by field; whole, so that
	 * it knows their alignment and loads 8 bytes at a time
	 */
	__builtin_memcpy(&x, a, sizeof(x));
	__builtin_memcpy(&y, b, sizeof(y));
	return !((x.lo ^ y.lo) | (x.hi ^ y.hi));
}

/* Is @f the flow whose tuple in direction @dir is @key? */
static __always_inline bool ct_flow_has_key(const struct ct_flow *f,
					    __u8 dir, const struct ct_key *key)
{
	struct ct_key rkey;

	if (dir == CT_DIR_ORIG)
		return ct_key_eq(&f->orig, key);
	ct_reply_key(f, &rkey);
	return ct_key_eq(&rkey, key);
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
 * The unit tests' build makes chosen deletes fail, as a bucket lock held
 * by a program this one interrupted would (-EBUSY); in bpfnat itself it
 * is the plain delete.
 */
#ifndef ct_index_delete
#define ct_index_delete(key)	bpf_map_delete_elem(&ct_index, (key))
#endif

/* Did a delete from ct_index leave the key out of it? */
static __always_inline bool ct_key_gone(long err)
{
	/* (int): see port_try() */
	return !err || (int)err == -ENOENT;
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

/* ct_exhausted's key for the destination of reply key @rkey. */
static __always_inline void exhausted_key(const struct ct_key *rkey,
					  struct ct_key *k)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->saddr = rkey->saddr;
	k->sport = rkey->sport;
	k->proto = rkey->proto;
}

/*
 * The port of reply key @rkey is free again: a refusal cached for its
 * destination (ct_exhausted) must not outlive that, or new flows there
 * would be refused while a port is free.
 */
static __always_inline void ct_port_freed(const struct ct_key *rkey)
{
	struct ct_key ek;

	exhausted_key(rkey, &ek);
	/* a lookup first: almost no destination is in there */
	if (bpf_map_lookup_elem(&ct_exhausted, &ek))
		bpf_map_delete_elem(&ct_exhausted, &ek);
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
	struct ct_key rkey;
	bool gone;

	if (!ct_seen_live(seen) ||
	    __sync_val_compare_and_swap(ct_claim(f), seen, owned) != seen)
		return false;
	/* both keys lead here: no lookup needed, and both are tried */
	ct_reply_key(f, &rkey);
	gone = ct_key_gone(ct_index_delete(&rkey));
	if (gone)
		ct_port_freed(&rkey);
	gone &= ct_key_gone(ct_index_delete(&f->orig));
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
	struct ct_key rkey;
	bool gone;

	/* one sweeper at a time: another one (flush, say) passes over it */
	if ((__u32)seen != CT_SLOT_DYING ||
	    __sync_val_compare_and_swap(ct_claim(f), seen, owned) != seen)
		return false;
	ct_reply_key(f, &rkey);
	gone = ct_unindex_ours(&rkey, slot);
	if (gone)
		ct_port_freed(&rkey);
	gone &= ct_unindex_ours(&f->orig, slot);
	return ct_slot_release(slot, f, gone);
}

/*
 * TCP, as nf_conntrack follows it: each side's sequence space (struct
 * ct_tcp_side) is tracked from the SYNs on, a segment outside the
 * receiver's window moves neither the windows nor the state, and so a
 * blind RST (one whose sender cannot see the connection's sequence
 * numbers) cannot close a connection.  Segments are translated whatever
 * the tracking says: the endpoints decide what to accept.  Sequence
 * numbers compare modulo 2^32.
 */
static __always_inline bool seq_before(__u32 a, __u32 b)
{
	return (__s32)(a - b) < 0;
}

static __always_inline bool seq_after(__u32 a, __u32 b)
{
	return seq_before(b, a);
}

/* What the tracking needs of one TCP segment, read by ct_account(). */
struct tcp_seg {
	__u32 seq;
	__u32 ack;
	__u32 end;		/* seq + payload, + 1 for SYN and for FIN */
	__u32 win;		/* as sent, unscaled */
	__s32 wscale;		/* a SYN's window scale option; -1: none */
	__u8 flags;		/* TCP_FLAG_* */
	__u8 dir;		/* enum ct_dir: the sender's */
	__u8 pad[2];
};

/* nf_conntrack's MAXACKWINCONST: how far behind an ack may lag at least. */
#define TCP_MAXACKWIN		66000

/* The state the flags of a segment in direction @dir lead to from @state. */
static __always_inline __u32 ct_tcp_next(struct ct_flow *f, __u8 dir,
					 __u8 flags, __u32 state)
{
	if (flags & TCP_FLAG_RST)
		return CT_CLOSE;
	if (flags & TCP_FLAG_SYN) {
		if (dir == CT_DIR_ORIG && !(flags & TCP_FLAG_ACK)) {
			/* a new connection on a closed tuple reopens it */
			if (state == CT_CLOSE || state == CT_TIME_WAIT) {
				__sync_fetch_and_and(&f->flags,
						     ~(CT_F_FIN_ORIG |
						       CT_F_FIN_REPLY));
				return CT_SYN_SENT;
			}
		} else if (dir == CT_DIR_REPLY && state == CT_SYN_SENT) {
			return CT_SYN_RECV;
		}
		return state;
	}
	if (flags & TCP_FLAG_FIN) {
		__u32 mine = dir == CT_DIR_ORIG ? CT_F_FIN_ORIG :
						  CT_F_FIN_REPLY;
		__u32 seen = __sync_fetch_and_or(&f->flags, mine) | mine;

		if ((seen & CT_F_FIN_ORIG) && (seen & CT_F_FIN_REPLY))
			return CT_TIME_WAIT;
		return state != CT_CLOSE ? CT_FIN_WAIT : state;
	}
	if ((flags & TCP_FLAG_ACK) && state == CT_SYN_RECV &&
	    dir == CT_DIR_ORIG)
		return CT_ESTABLISHED;
	return state;
}

/* A side's sequence space as its SYN (or SYN-ACK) @g opens it. */
static __always_inline void ct_tcp_side_open(struct ct_tcp_side *snd,
					     const struct tcp_seg *g)
{
	snd->end = g->end;
	snd->maxend = g->end;
	snd->maxwin = g->win ? g->win : 1;	/* a SYN's is never scaled */
	snd->scale = g->wscale > 0 ? g->wscale : 0;
	snd->flags = g->wscale >= 0 ? CT_TCP_WSCALE : 0;
}

/* RFC 7323: windows are scaled only when both SYNs offered the option. */
static __always_inline void ct_tcp_scales_agree(struct ct_tcp_side *a,
						struct ct_tcp_side *b)
{
	if (a->flags & b->flags & CT_TCP_WSCALE)
		return;
	if (a->scale)
		a->scale = 0;
	if (b->scale)
		b->scale = 0;
}

/*
 * nf_conntrack's four conditions on a segment from @snd (its ack @ack,
 * for @rcv): I, it starts at most at the right edge the receiver gave;
 * II, it ends at least a window before what was sent; III, it acks at
 * most what the receiver sent; IV, at least a window before that.
 */
static __always_inline bool ct_tcp_in_window(const struct ct_tcp_side *snd,
					     const struct ct_tcp_side *rcv,
					     const struct tcp_seg *g, __u32 ack)
{
	__u32 ackwin = snd->maxwin > TCP_MAXACKWIN ? snd->maxwin :
						     TCP_MAXACKWIN;

	return !seq_after(g->seq, snd->maxend) &&
	       !seq_before(g->end, snd->end - rcv->maxwin) &&
	       !seq_after(ack, rcv->end) &&
	       !seq_before(ack, rcv->end - ackwin);
}

/* May RST @g from @snd change the state? */
static __always_inline bool ct_tcp_rst_in_window(const struct ct_tcp_side *snd,
						 const struct ct_tcp_side *rcv,
						 const struct tcp_seg *g)
{
	/* Nothing seen from that side yet (a RST answering the SYN): it
	 * must ack exactly what the other side sent, as a reset answering
	 * a segment does (RFC 793).
	 */
	if (!snd->maxwin)
		return (g->flags & TCP_FLAG_ACK) && g->ack == rcv->end;
	/* conditions I and II: its seq lies in the receiver's window */
	return !seq_after(g->seq, snd->maxend) &&
	       !seq_before(g->end, snd->end - rcv->maxwin);
}

/*
 * Follow segment @g of flow @f: the windows of both sides, and the state.
 * A global function, checked by the verifier once instead of on every
 * path of the data path that accounts a packet.  Fields are written only
 * when they change; two CPUs with segments of one flow may race on a
 * window edge, which the next segment puts right (a stale edge is a
 * little narrower, or a little wider, for one segment).
 */
__noinline int ct_tcp_track(struct ct_flow *f, const struct tcp_seg *g)
{
	struct ct_tcp_side *snd, *rcv;
	__u32 state, next, ack, swin;
	__u8 dir, flags;

	if (!f || !g)
		return 0;
	dir = g->dir & 1;
	flags = g->flags;
	snd = &f->tcp[dir];
	rcv = &f->tcp[dir ^ 1];
	state = f->state;
	next = state;

	if ((flags & (TCP_FLAG_SYN | TCP_FLAG_ACK | TCP_FLAG_RST)) ==
	    TCP_FLAG_SYN && dir == CT_DIR_ORIG) {
		if (state == CT_CLOSE || state == CT_TIME_WAIT) {
			/* a new connection: its windows start afresh */
			__sync_fetch_and_and(&f->flags, ~CT_F_TCP_LIBERAL);
			__builtin_memset(rcv, 0, sizeof(*rcv));
			ct_tcp_side_open(snd, g);
		} else if (state == CT_SYN_SENT) {
			/* the first SYN, or one sent again */
			ct_tcp_side_open(snd, g);
		}
		next = ct_tcp_next(f, dir, flags, state);
		goto out;
	}
	if (f->flags & CT_F_TCP_LIBERAL) {
		/* No SYN told the window scales, so windows cannot be
		 * judged: like nf_conntrack with a connection it picked up,
		 * believe every segment, RSTs included.
		 */
		next = ct_tcp_next(f, dir, flags, state);
		goto out;
	}
	if (flags & TCP_FLAG_RST) {
		if (ct_tcp_rst_in_window(snd, rcv, g))
			next = CT_CLOSE;
		goto out;	/* windows move on data, not on resets */
	}
	if (flags & TCP_FLAG_SYN) {
		if (dir == CT_DIR_ORIG)
			goto out;	/* a SYN-ACK from inside: not ours */
		if (!(flags & TCP_FLAG_ACK)) {
			/* a SYN from outside: a simultaneous open */
			if (!snd->maxwin) {
				ct_tcp_side_open(snd, g);
				ct_tcp_scales_agree(snd, rcv);
			}
			next = ct_tcp_next(f, dir, flags, state);
			goto out;
		}
		/* A SYN-ACK acks the SYN seen (its data too, or not: TCP
		 * Fast Open), or is not this connection's.  Checked before
		 * it opens this side: a blind one must not reset it.
		 */
		if (seq_after(g->ack, rcv->end) ||
		    seq_before(g->ack, rcv->end - TCP_MAXACKWIN))
			goto out;
		if (state == CT_SYN_SENT || state == CT_SYN_RECV ||
		    !snd->maxwin) {
			ct_tcp_side_open(snd, g);
			ct_tcp_scales_agree(snd, rcv);
		}
	} else if (!snd->maxwin) {
		/* this side's first segment, and no SYN of it: start from
		 * what it says
		 */
		swin = g->win << snd->scale;
		snd->end = g->end;
		snd->maxwin = swin ? swin : 1;
		snd->maxend = g->end + snd->maxwin;
		if (!rcv->maxwin)
			rcv->end = rcv->maxend = g->ack;
	}

	ack = flags & TCP_FLAG_ACK ? g->ack : rcv->end;
	if (!ct_tcp_in_window(snd, rcv, g, ack))
		goto out;	/* neither the windows nor the state move */
	swin = g->win << (flags & TCP_FLAG_SYN ? 0 : snd->scale);
	if (snd->maxwin < swin)
		snd->maxwin = swin;
	if (seq_after(g->end, snd->end))
		snd->end = g->end;
	/* sent past the edge the receiver gave: its window was wider */
	if (rcv->maxwin && seq_after(g->end, snd->maxend))
		rcv->maxwin += g->end - snd->maxend;
	/* the receiver may send up to what this acks plus this window (a
	 * zero window still lets a one-byte probe through)
	 */
	if (seq_after(ack + swin + !swin, rcv->maxend))
		rcv->maxend = ack + swin + !swin;
	next = ct_tcp_next(f, dir, flags, state);
out:
	if (next != state)
		f->state = next;
	return 0;
}

/* A SYN's options, copied out of the packet, and where a scan is. */
#define TCP_OPTS_MAX		40
#define TCP_OPTS_OFF		(ETH_HLEN + sizeof(struct iphdr) + \
				 sizeof(struct tcphdr))
#define TCPOPT_EOL		0
#define TCPOPT_NOP		1
#define TCPOPT_WINDOW		3
#define TCP_MAX_WSCALE		14	/* RFC 7323 2.3 */

struct tcp_opts {
	__u8 b[64];		/* TCP_OPTS_MAX, and room for LEN_IN() */
	__u32 len;
	__u32 at;		/* where the next option starts */
	__s32 wscale;
};

/* One option (bounded by the bytes there are: an option takes one). */
static long tcp_opt_step(__u32 i, struct tcp_opts *o)
{
	__u32 at = o->at;
	__u8 kind, size;

	if (at >= o->len || at >= TCP_OPTS_MAX)
		return 1;
	kind = o->b[at];
	if (kind == TCPOPT_EOL)
		return 1;
	if (kind == TCPOPT_NOP) {
		o->at = at + 1;
		return 0;
	}
	if (at + 1 >= o->len)
		return 1;
	size = o->b[at + 1];
	if (size < 2 || at + size > o->len)
		return 1;	/* malformed: the rest is not read */
	if (kind == TCPOPT_WINDOW && size == 3) {
		o->wscale = o->b[at + 2] < TCP_MAX_WSCALE ? o->b[at + 2] :
							     TCP_MAX_WSCALE;
		return 1;
	}
	o->at = at + size;
	return 0;
}

/*
 * The window scale a SYN with @len bytes of options offers, or -1.  One
 * global function per program type (the context's type must be the
 * program's); only SYNs get here.
 */
__noinline int tcp_syn_wscale_tc(struct __sk_buff *skb, __u32 len)
{
	struct tcp_opts o = { .wscale = -1 };

	if (!skb || !len || len > TCP_OPTS_MAX)
		return -1;
	o.len = len;
	if (bpf_skb_load_bytes(skb, TCP_OPTS_OFF, o.b, LEN_IN(len, 63)))
		return -1;
	bpf_loop(TCP_OPTS_MAX, tcp_opt_step, &o, 0);
	return o.wscale;
}

__noinline int tcp_syn_wscale_xdp(struct xdp_md *xdp, __u32 len)
{
	struct tcp_opts o = { .wscale = -1 };

	if (!xdp || !len || len > TCP_OPTS_MAX)
		return -1;
	o.len = len;
	if (bpf_xdp_load_bytes(xdp, TCP_OPTS_OFF, o.b, LEN_IN(len, 63)))
		return -1;
	bpf_loop(TCP_OPTS_MAX, tcp_opt_step, &o, 0);
	return o.wscale;
}

/* The TCP segment of packet @p, in direction @dir, for the tracking. */
static __always_inline void ct_track_segment(void *ctx, struct ct_flow *f,
					     const struct pkt *p, __u8 dir,
					     const bool xdp)
{
	const struct tcphdr *th = p->l4;
	struct tcp_seg g = {
		.flags = p->tcp_flags,
		.dir = dir,
		.wscale = -1,
	};
	__u32 hlen;

	if ((void *)(th + 1) > p->data_end)
		return;
	hlen = th->doff * 4;	/* parse_l4(): 20 .. the IP payload */
	g.seq = bpf_ntohl(th->seq);
	g.ack = bpf_ntohl(th->ack_seq);
	g.win = bpf_ntohs(th->window);
	g.end = g.seq + (p->len - sizeof(struct iphdr) - hlen) +
		!!(g.flags & TCP_FLAG_SYN) + !!(g.flags & TCP_FLAG_FIN);
	/* options are read on SYNs only: the window scale is in them */
	if ((g.flags & TCP_FLAG_SYN) && hlen > sizeof(*th))
		g.wscale = xdp ? tcp_syn_wscale_xdp(ctx, hlen - sizeof(*th)) :
				 tcp_syn_wscale_tc(ctx, hlen - sizeof(*th));
	ct_tcp_track(f, &g);
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
		if (f->orig.proto != IPPROTO_TCP)
			f->state = CT_ESTABLISHED;
	}
	if (f->orig.proto == IPPROTO_TCP && p->l4)
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
 * Established flows are never evicted.
 */
static __always_inline bool ct_early_drop(const struct bpfnat_config *cfg,
					  __u32 start)
{
	struct early_drop e = {
		.cfg = cfg,
		.now = bpf_ktime_get_coarse_ns(),
		.start = start,
	};
	struct ct_flow *f;

	if (!cfg->ct_max)
		return false;
	bpf_loop(CT_EARLY_DROP_SCAN, early_drop_probe, &e, 0);
	if (!e.found)
		return false;
	f = bpf_map_lookup_elem(&ct_flows, &e.victim);
	if (!f)
		return false;
	/* answered since it was chosen: it is no longer a candidate */
	if (!e.expired && (f->flags & CT_F_REPLIED))
		return false;
	return ct_delete(e.victim, f, e.victim_seen);
}

/*
 * Is the reply tuple @rkey already the host's own: a socket of the host
 * bound to the SNAT address and that port (a listener, an unconnected UDP
 * socket, or a connection to that very remote)?  Then the port is not
 * free, whatever the conntrack says: replies would be taken from the host.
 */
static __always_inline bool port_is_hosts(void *ctx, struct ct_key *rkey)
{
	/* the key begins as the helpers' IPv4 tuple does: no copy, and no
	 * stack in port_search_step(), which the combined stack of
	 * tc_container -> ct_create_tc -> that callback has no room for
	 */
	struct bpf_sock_tuple *t = (struct bpf_sock_tuple *)rkey;
	struct bpf_sock *sk;

	if (rkey->proto == IPPROTO_TCP)
		sk = bpf_skc_lookup_tcp(ctx, t, sizeof(t->ipv4),
					BPF_F_CURRENT_NETNS, 0);
	else if (rkey->proto == IPPROTO_UDP)
		sk = bpf_sk_lookup_udp(ctx, t, sizeof(t->ipv4),
				       BPF_F_CURRENT_NETNS, 0);
	else
		return false;
	if (!sk)
		return false;
	bpf_sk_release(sk);
	return true;
}

_Static_assert(offsetof(struct ct_key, saddr) ==
	       offsetof(struct bpf_sock_tuple, ipv4.saddr) &&
	       offsetof(struct ct_key, daddr) ==
	       offsetof(struct bpf_sock_tuple, ipv4.daddr) &&
	       offsetof(struct ct_key, sport) ==
	       offsetof(struct bpf_sock_tuple, ipv4.sport) &&
	       offsetof(struct ct_key, dport) ==
	       offsetof(struct bpf_sock_tuple, ipv4.dport),
	       "a ct_key starts as an IPv4 bpf_sock_tuple");

struct port_search {
	void *ctx;		/* the program's, for port_is_hosts() */
	struct ct_key rkey;	/* reply key; dport is the candidate */
	struct ct_ref ref;
	__u32 start;		/* the first candidate, from lo */
	__u32 range;
	__u16 lo;
	__u16 port;		/* chosen port, host order */
	long err;
	bool stuck;		/* a host's port could not be given back */
};

static __always_inline long port_try(struct port_search *s, __u16 port)
{
	s->rkey.dport = bpf_htons(port);
	/* (int): on 6.1 map updates return an int, and the upper half of
	 * the register is zeros, so -EEXIST would not compare as such
	 */
	s->err = (int)bpf_map_update_elem(&ct_index, &s->rkey, &s->ref,
					 BPF_NOEXIST);
	if (!s->err)
		s->port = port;
	return s->err;
}

/*
 * Candidate @i of the range, from the start.  A port the host's own
 * sockets use is given back and passed over here, within the one pass:
 * the search ends only when a port is ours or every port was tried.
 */
static long port_search_step(__u32 i, struct port_search *s)
{
	/* start < range and i < range: no 32-bit wrap, every port once */
	__u32 at = s->start + i;
	long err;

	if (at >= s->range)
		at -= s->range;
	err = port_try(s, s->lo + at);
	if (err == -EEXIST)
		return 0;
	if (err || !port_is_hosts(s->ctx, &s->rkey))
		return 1;	/* ours, or a failure: stop */
	err = ct_index_delete(&s->rkey);
	if (!ct_key_gone(err)) {
		/* the reservation stays: ct_create() leaves it to the
		 * sweep, with this port as the flow's
		 */
		s->err = err;
		s->stuck = true;
		return 1;
	}
	s->err = -EEXIST;
	return 0;
}

/* A destination found without a free port is refused this long. */
#define EXHAUSTED_NS		NSEC_PER_SEC

/*
 * Reserve a source port for @f towards its destination by inserting the
 * reply key.  The container's own port is kept when it is free (RFC 4787
 * port preservation); otherwise the whole range is searched from a hashed
 * start.  A port the host's own sockets use is passed over.  Returns 0 or
 * a negative errno; *@reserved says whether the reply key with
 * f->nat_port is in ct_index, ours (on success, and when a port could not
 * be given back).
 */
static __always_inline long snat_alloc_port(void *ctx, struct ct_flow *f,
					    __u32 slot,
					    const struct bpfnat_config *cfg,
					    __u64 now, bool *reserved)
{
	struct port_search s = {
		.ctx = ctx,
		.ref = { .flow = slot, .dir = CT_DIR_REPLY },
		.lo = cfg->port_lo,
		.range = (__u32)cfg->port_hi - cfg->port_lo + 1,
	};
	__u16 own = bpf_ntohs(f->orig.sport);
	struct ct_key ek;
	__u64 *until;

	/* Echo ids are not ports: the whole 16-bit space is theirs. */
	if (f->orig.proto == IPPROTO_ICMP) {
		s.lo = 0;
		s.range = 0x10000;
	}
	s.start = ct_hash(&f->orig) % s.range;
	f->nat_port = 0;
	*reserved = false;
	ct_reply_key(f, &s.rkey);
	exhausted_key(&s.rkey, &ek);
	until = bpf_map_lookup_elem(&ct_exhausted, &ek);
	if (until && now < *until)
		return -EEXIST;

	if (own >= s.lo && own - s.lo < s.range) {
		s.rkey.dport = f->orig.sport;
		if (!port_is_hosts(ctx, &s.rkey) &&
		    port_try(&s, own) != -EEXIST)
			goto out;
	}
	s.err = -EEXIST;
	bpf_loop(s.range, port_search_step, &s, 0);
	if (s.err == -EEXIST) {
		__u64 later = now + EXHAUSTED_NS;

		/* (a flow to it removed since the last try may have freed
		 * a port already: the cache is then wrong for up to
		 * EXHAUSTED_NS, a window as narrow as that moment)
		 */
		bpf_map_update_elem(&ct_exhausted, &ek, &later, BPF_ANY);
	}
out:
	if (!s.err || s.stuck) {
		f->nat_port = bpf_htons(s.port);
		*reserved = true;
	}
	return s.err;
}

/* What a new flow is made of: the tuple and a little of its first packet. */
struct ct_new {
	struct ct_key key;
	__u32 ifindex;		/* the container's veth */
	__u8 tcp_flags;
};

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
 * Create the flow @n.  On success *out is the flow's slot (ours, or that
 * of the flow another CPU created for the same tuple at the same time) and
 * CONTINUE is returned; otherwise a drop reason.
 */
static __always_inline int ct_create(void *ctx, const struct ct_new *n,
				     __u32 *out)
{
	const struct bpfnat_config *cfg = config_get();
	struct ct_ref ref = { .dir = CT_DIR_ORIG };
	struct ct_key key, rkey;
	bool lost_race = false, reserved = false;
	struct ct_ref *won;
	struct ct_flow *f;
	__u32 slot;
	__u64 now;
	long err;

	/* a global function's pointer arguments may be NULL, to the verifier */
	if (!n || !out || !cfg)
		return STAT_DROP_CT_FULL;
	/* on the stack: 6.1 takes no other memory for a map key */
	key = n->key;
	if (bpf_map_pop_elem(&ct_free, &slot)) {
		if (!ct_early_drop(cfg, ct_hash(&key)) ||
		    bpf_map_pop_elem(&ct_free, &slot))
			return STAT_DROP_CT_FULL;
	}
	f = bpf_map_lookup_elem(&ct_flows, &slot);
	if (!f)
		return STAT_DROP_CT_FULL;

	now = bpf_ktime_get_coarse_ns();
	/* ours alone now (it came from ct_free): a new generation */
	*ct_claim(f) = (__u64)(f->gen + 1) << 32 | CT_SLOT_NEW;
	f->orig = key;
	f->nat_addr = cfg->snat_addr;
	f->ifindex = n->ifindex;
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

	err = snat_alloc_port(ctx, f, slot, cfg, now, &reserved);
	if (err)
		goto free_reserved;

	ref.flow = slot;
	err = (int)bpf_map_update_elem(&ct_index, &f->orig, &ref, BPF_NOEXIST);
	if (err) {
		lost_race = err == -EEXIST;
		goto free_reserved;
	}
	f->live = CT_SLOT_LIVE;
	*out = slot;
	return CONTINUE;

free_reserved:
	if (reserved) {
		ct_reply_key(f, &rkey);
		reserved = !ct_key_gone(ct_index_delete(&rkey));
		if (!reserved)
			ct_port_freed(&rkey);
	}
	/* ours still: free, or dying while the reply key stays */
	f->live = CT_SLOT_FREE;
	ct_slot_release(slot, f, !reserved);
	if (lost_race) {
		/* another CPU created this very flow a moment ago */
		ct_race_hook(lost_create);
		won = bpf_map_lookup_elem(&ct_index, &key);
		if (!won)
			return STAT_DROP_CT_RACE;
		*out = won->flow;
		return CONTINUE;
	}
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
 * Create the flow for a container's first packet @p.  On success *out is
 * the flow and CONTINUE is returned; otherwise a drop reason.
 */
static __always_inline int ct_create_for(void *ctx, const struct pkt *p,
					 struct ct_flow **out, const bool xdp)
{
	struct ct_new n = {
		.key = p->key,
		.ifindex = p->ifindex,
		.tcp_flags = p->tcp_flags,
	};
	struct ct_flow *f;
	__u32 slot;
	int ret;

	ret = xdp ? ct_create_xdp(ctx, &n, &slot) :
		    ct_create_tc(ctx, &n, &slot);
	if (ret != CONTINUE)
		return ret;
	/* the winner's slot may have been recycled already, too */
	f = bpf_map_lookup_elem(&ct_flows, &slot);
	if (!f || *(volatile __u32 *)&f->live != CT_SLOT_LIVE)
		return STAT_DROP_CT_RACE;
	asm volatile("" ::: "memory");	/* the tuple after live */
	if (!ct_key_eq(&f->orig, &n.key))
		return STAT_DROP_CT_RACE;
	*out = f;
	return CONTINUE;
}

#endif /* BPFNAT_CT_H */
