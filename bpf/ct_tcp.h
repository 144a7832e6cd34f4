/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * TCP tracking for conntrack: the state from the flags, and each side's
 * sequence space, so that only segments inside the window (a RST above
 * all) move a flow.  ct_account() in ct.h calls ct_track_segment().
 */
#ifndef BPFNAT_CT_TCP_H
#define BPFNAT_CT_TCP_H

#include "common.h"
#include "parse.h"

#define TCP_FLAG_FIN	0x01
#define TCP_FLAG_SYN	0x02
#define TCP_FLAG_RST	0x04
#define TCP_FLAG_ACK	0x10

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
 * The window scale a SYN with @len bytes of options at @off offers, or -1.  One
 * global function per program type (the context's type must be the
 * program's); only SYNs get here.
 */
__noinline int tcp_syn_wscale_tc(struct __sk_buff *skb, __u32 off,
				 __u32 len)
{
	struct tcp_opts o = { .wscale = -1 };

	if (!skb || !len || len > TCP_OPTS_MAX)
		return -1;
	o.len = len;
	if (bpf_skb_load_bytes(skb, off, o.b, LEN_IN(len, 63)))
		return -1;
	bpf_loop(TCP_OPTS_MAX, tcp_opt_step, &o, 0);
	return o.wscale;
}

__noinline int tcp_syn_wscale_xdp(struct xdp_md *xdp, __u32 off,
				  __u32 len)
{
	struct tcp_opts o = { .wscale = -1 };

	if (!xdp || !len || len > TCP_OPTS_MAX)
		return -1;
	o.len = len;
	if (bpf_xdp_load_bytes(xdp, off, o.b, LEN_IN(len, 63)))
		return -1;
	bpf_loop(TCP_OPTS_MAX, tcp_opt_step, &o, 0);
	return o.wscale;
}

/*
 * Where a segment is described for ct_tcp_track(): not on the stack,
 * which the programs share with ct_create() and its loop within the
 * verifier's 512 bytes.  Per CPU: a program runs to its end where it
 * started.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tcp_seg);
} tcp_seg_room SEC(".maps");

/* The TCP segment of packet @p, in direction @dir, for the tracking. */
static __always_inline void ct_track_segment(void *ctx, struct ct_flow *f,
					     const struct pkt *p, __u8 dir,
					     const bool xdp)
{
	const struct tcphdr *th = p->l4;
	struct tcp_seg *g;
	__u32 zero = 0;
	__u32 hlen, opts;

	if ((void *)(th + 1) > p->data_end)
		return;
	g = bpf_map_lookup_elem(&tcp_seg_room, &zero);
	if (!g)
		return;
	g->flags = p->tcp_flags;
	g->dir = dir;
	g->wscale = -1;
	hlen = th->doff * 4;	/* parse_l4(): 20 .. the IP payload */
	g->seq = bpf_ntohl(th->seq);
	g->ack = bpf_ntohl(th->ack_seq);
	g->win = bpf_ntohs(th->window);
	g->end = g->seq + (p->len - p->l3_len - hlen) +
		 !!(g->flags & TCP_FLAG_SYN) + !!(g->flags & TCP_FLAG_FIN);
	/* options are read on SYNs only: the window scale is in them */
	opts = ETH_HLEN + p->l3_len + sizeof(*th);
	if ((g->flags & TCP_FLAG_SYN) && hlen > sizeof(*th))
		g->wscale = xdp ? tcp_syn_wscale_xdp(ctx, opts,
						     hlen - sizeof(*th)) :
				  tcp_syn_wscale_tc(ctx, opts,
						    hlen - sizeof(*th));
	ct_tcp_track(f, g);
}

#endif /* BPFNAT_CT_TCP_H */
