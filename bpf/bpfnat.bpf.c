// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * bpfnat's programs.  The entry points are thin: they parse, hand the packet
 * to a worker in datapath.h, and leave through the one verdict in stats.h;
 * the cgroup socket hooks hand the socket's address to sock.h.
 * The last two programs are not attached anywhere; `bpfnat` runs them with
 * BPF_PROG_TEST_RUN to start the conntrack expiry timer and to flush flows.
 */
#include "common.h"
#include "maps.h"
#include "parse.h"
#include "arp.h"
#include "ct.h"
#include "datapath.h"
#include "datapath6.h"
#include "frag.h"
#include "guard.h"
#include "sock.h"
#include "stats.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Expiry: one pass over the whole table about every SWEEP_PERIOD_NS, in
 * slices of SWEEP_SLICE slots so that no timer tick runs for long.
 */
#define SWEEP_SLICE		1024
#define SWEEP_PERIOD_NS		(4 * NSEC_PER_SEC)
#define SWEEP_MIN_TICK_NS	(1000 * 1000ULL)

#ifndef CLOCK_MONOTONIC
#define CLOCK_MONOTONIC		1
#endif

static __always_inline int tc_parse(struct __sk_buff *skb, struct pkt *p)
{
	__u32 linear = skb->data_end - skb->data;

	/* Headers beyond the linear area (rare on veth) are pulled in. */
	if (linear < PARSE_PULL_LEN && skb->len > linear)
		bpf_skb_pull_data(skb, skb->len < PARSE_PULL_LEN ?
				  skb->len : PARSE_PULL_LEN);

	p->data = (void *)(long)skb->data;
	p->data_end = (void *)(long)skb->data_end;
	p->ifindex = skb->ingress_ifindex;
	p->frame_len = skb->len;
	p->gso = skb->gso_size != 0;
	return parse_packet(p, skb->len);
}

/* Attached at tc ingress of every container's host-side veth. */
SEC("tc")
int tc_container(struct __sk_buff *skb)
{
	struct pkt p = {};
	int ret;

	ret = tc_parse(skb, &p);
	if (ret == CONTINUE)
		ret = from_container(skb, &p, false);
	else if (ret == STAT_PASS && p.eth->h_proto == bpf_htons(ETH_P_ARP))
		ret = from_container_arp(&p, false);
	else if (ret == STAT_PASS && p.eth->h_proto == bpf_htons(ETH_P_IPV6))
		ret = from_container6(skb, &p, false);
	return verdict(&p, ret, false);
}

/* Attached at tc ingress of the uplink. */
SEC("tc")
int tc_uplink(struct __sk_buff *skb)
{
	struct pkt p = {};
	int ret;

	ret = tc_parse(skb, &p);
	/* what the uplink brings and bpfnat cannot read is the host's */
	if (ret == CONTINUE)
		ret = from_uplink(skb, &p, false);
	else if (ret == STAT_PASS && p.eth->h_proto == bpf_htons(ETH_P_IPV6))
		ret = from_uplink6(skb, &p, false);
	else
		ret = STAT_PASS;
	return verdict(&p, ret, false);
}

/* Attached at tc egress of the uplink: the guard of guard.h. */
SEC("tc")
int tc_guard(struct __sk_buff *skb)
{
	return guard_egress(skb);
}

static __always_inline int xdp_parse(struct xdp_md *ctx, struct pkt *p)
{
	p->data = (void *)(long)ctx->data;
	p->data_end = (void *)(long)ctx->data_end;
	p->ifindex = ctx->ingress_ifindex;
	p->frame_len = p->data_end - p->data;
	return parse_packet(p, p->frame_len);
}

/* XDP mode: on every container's host-side veth, before the tc hook. */
SEC("xdp")
int xdp_container(struct xdp_md *ctx)
{
	struct pkt p = {};
	int ret;

	ret = xdp_parse(ctx, &p);
	if (ret == CONTINUE)
		ret = from_container(ctx, &p, true);
	else if (ret == STAT_PASS && p.eth->h_proto == bpf_htons(ETH_P_ARP))
		ret = from_container_arp(&p, true);
	else if (ret == STAT_PASS && p.eth->h_proto == bpf_htons(ETH_P_IPV6))
		ret = from_container6(ctx, &p, true);
	return verdict(&p, ret, true);
}

/* XDP mode: on the uplink, before the tc hook. */
SEC("xdp")
int xdp_uplink(struct xdp_md *ctx)
{
	struct pkt p = {};
	int ret;

	ret = xdp_parse(ctx, &p);
	if (ret == CONTINUE)
		ret = from_uplink(ctx, &p, true);
	else if (ret == STAT_PASS && p.eth->h_proto == bpf_htons(ETH_P_IPV6))
		ret = from_uplink6(ctx, &p, true);
	else
		ret = STAT_PASS;
	return verdict(&p, ret, true);
}

/*
 * XDP mode: on a container's eth0.  A veth takes redirected frames only
 * when an XDP program runs on the receiving end; this one lets them in.
 */
SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

/*
 * Host-local access to published ports (sock.h), attached to the cgroup
 * `up --cgroup` names.  Each returns 1: the call goes on, rewritten or not.
 */
SEC("cgroup/connect4")
int sock_connect4(struct bpf_sock_addr *ctx)
{
	return sock_to_container(ctx, SOCK_STAT_CONNECT);
}

SEC("cgroup/sendmsg4")
int sock_sendmsg4(struct bpf_sock_addr *ctx)
{
	return sock_to_container(ctx, SOCK_STAT_SENDMSG);
}

SEC("cgroup/recvmsg4")
int sock_recvmsg4(struct bpf_sock_addr *ctx)
{
	return sock_from_container(ctx, SOCK_STAT_RECVMSG);
}

/* (the kernel's name for a program is 15 characters at most) */
SEC("cgroup/getpeername4")
int sock_getpeer4(struct bpf_sock_addr *ctx)
{
	return sock_from_container(ctx, SOCK_STAT_GETPEERNAME);
}

SEC("cgroup/connect6")
int sock_connect6(struct bpf_sock_addr *ctx)
{
	return sock_to_container6(ctx, SOCK_STAT_CONNECT);
}

SEC("cgroup/sendmsg6")
int sock_sendmsg6(struct bpf_sock_addr *ctx)
{
	return sock_to_container6(ctx, SOCK_STAT_SENDMSG);
}

SEC("cgroup/recvmsg6")
int sock_recvmsg6(struct bpf_sock_addr *ctx)
{
	return sock_from_container6(ctx, SOCK_STAT_RECVMSG);
}

SEC("cgroup/getpeername6")
int sock_getpeer6(struct bpf_sock_addr *ctx)
{
	return sock_from_container6(ctx, SOCK_STAT_GETPEERNAME);
}

struct sweep {
	const struct bpfnat_config *cfg;
	__u64 now;
	__u32 cursor;
	__u32 removed;
	__u32 reclaimed;	/* dying slots freed at last */
	__be32 only_addr;	/* flush: only this container's flows */
	struct in6_key only_addr6; /* ... and its IPv6 ones (or zeros) */
	bool flush;		/* remove live flows, expired or not */
};

/*
 * Is @f a flow of the container whose addresses are @addr and @addr6 (or
 * zeros): one it sends in, one way or both?
 */
static __always_inline bool flow_of_container(const struct ct_flow *f,
					      __be32 addr,
					      const struct in6_key *addr6)
{
	if (f->tuple[CT_DIR_ORIG].family)
		return in6_eq(in6_of(f->tuple[CT_DIR_ORIG].saddr6), addr6) ||
		       in6_eq(in6_of(f->tuple[CT_DIR_REPLY].saddr6), addr6);
	return f->tuple[CT_DIR_ORIG].saddr == addr ||
	       f->tuple[CT_DIR_REPLY].saddr == addr;
}

/* ct_delete(), and the flow's end told to a listening monitor. */
static __always_inline bool ct_remove(__u32 slot, struct ct_flow *f,
				      __u64 seen, __u32 why)
{
	struct monitor_event ev;
	bool told = monitor_flow_end_fill(&ev, f, why);

	if (!ct_delete(slot, f, seen))
		return false;
	if (told)
		monitor_flow_end_send(&ev);
	return true;
}

static long sweep_slot(__u32 i, struct sweep *s)
{
	__u32 slot = s->cursor + i;
	struct ct_flow *f;
	__u64 seen;

	if (slot >= s->cfg->ct_max)
		return 1;
	f = bpf_map_lookup_elem(&ct_flows, &slot);
	if (!f)
		return 0;
	seen = ct_seen(f);
	/* a removal whose key delete failed: try again, whatever is swept */
	if ((__u32)seen == CT_SLOT_DYING) {
		if (ct_reclaim(slot, f, seen))
			s->reclaimed++;
		return 0;
	}
	if (!ct_seen_live(seen))
		return 0;
	if (s->flush) {
		/* a container's flows: those it sends in, one way or both */
		if (s->only_addr && !flow_of_container(f, s->only_addr,
							&s->only_addr6))
			return 0;
	} else if (!ct_expired(f, s->cfg, s->now)) {
		return 0;
	}
	if (ct_remove(slot, f, seen,
		      s->flush ? MON_END_REMOVED : MON_END_EXPIRED))
		s->removed++;
	return 0;
}

static int sweep_tick(void *map, __u32 *key, struct ct_sweep *t)
{
	const struct bpfnat_config *cfg = config_get();
	struct sweep s = { .now = bpf_ktime_get_coarse_ns() };
	__u64 tick = SWEEP_PERIOD_NS;

	bpf_for_each_map_elem(&frag_stash, frag_expire_one, &s.now, 0);
	if (cfg && cfg->ct_max) {
		s.cfg = cfg;
		s.cursor = t->cursor;
		bpf_loop(SWEEP_SLICE, sweep_slot, &s, 0);
		t->expired += s.removed;
		/* atomic: ct_flush counts there too.  (Not under an if: a
		 * branch on the count would make the verifier tell apart
		 * every value it can take in the loop above.)
		 */
		__sync_fetch_and_add(&t->reclaimed, s.reclaimed);
		t->cursor = s.cursor + SWEEP_SLICE >= cfg->ct_max ?
				    0 : s.cursor + SWEEP_SLICE;
		tick = SWEEP_PERIOD_NS / (cfg->ct_max / SWEEP_SLICE + 1);
		if (tick < SWEEP_MIN_TICK_NS)
			tick = SWEEP_MIN_TICK_NS;
	}
	bpf_timer_start(&t->timer, tick, 0);
	return 0;
}

/*
 * Start the expiry timer, or hand a running one over to this program's
 * callback (an upgrade).  The timer lives in the pinned ct_sweep map and
 * runs until that map is gone: no daemon is needed.
 */
SEC("tc")
int ct_sweep_start(struct __sk_buff *skb)
{
	struct ct_sweep *t;
	__u32 zero = 0;
	long err;

	t = bpf_map_lookup_elem(&ct_sweep, &zero);
	if (!t)
		return 1;
	err = bpf_timer_init(&t->timer, &ct_sweep, CLOCK_MONOTONIC);
	if (err && err != -EBUSY)
		return 2 | (__u32)-err << 8;	/* and why: the errno */
	if (bpf_timer_set_callback(&t->timer, sweep_tick))
		return 3;
	if (bpf_timer_start(&t->timer, SWEEP_MIN_TICK_NS, 0))
		return 4;
	return 0;
}

/*
 * Remove flows now (struct ct_flush_args in skb->cb): all of them, those
 * of one container, or one flow if it is still the one the caller saw.
 * Returns how many were removed.
 */
SEC("tc")
int ct_flush(struct __sk_buff *skb)
{
	const struct bpfnat_config *cfg = config_get();
	struct sweep s = { .flush = true, .only_addr = skb->cb[0] };
	__u32 slot = skb->cb[1] - 1, zero = 0;
	struct ct_sweep *t;
	struct ct_flow *f;
	__u64 seen;

	if (!cfg)
		return 0;
	/* the zeros no flow of a container has when it is not given */
	if (skb->cb[3] &&
	    bpf_skb_load_bytes(skb, ETH_HLEN, &s.only_addr6,
			       sizeof(s.only_addr6)))
		return 0;
	if (skb->cb[1]) {
		f = bpf_map_lookup_elem(&ct_flows, &slot);
		if (!f)
			return 0;
		seen = ct_seen(f);
		if (seen != (((__u64)skb->cb[2] << 32) | CT_SLOT_LIVE))
			return 0;
		return ct_remove(slot, f, seen, MON_END_REMOVED);
	}
	s.cfg = cfg;
	bpf_loop(cfg->ct_max, sweep_slot, &s, 0);
	t = bpf_map_lookup_elem(&ct_sweep, &zero);
	if (t)
		__sync_fetch_and_add(&t->reclaimed, s.reclaimed);
	return s.removed;
}
