// SPDX-License-Identifier: GPL-2.0-only
/*
 * The monitor's events: what the data path writes to the events ring, and
 * that it writes nothing while no listener holds a lease.  The ring is
 * read here as `bpfnat monitor` reads it, with libbpf's ring_buffer.
 */
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/pkt_cls.h>
#include <linux/tcp.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "checks.h"
#include "env.h"
#include "unit.h"

#define SPOOFED "172.18.0.77"

struct seen {
	int n;
	struct monitor_event last;
};

static int on_event(void *ctx, void *data, size_t size)
{
	struct seen *s = ctx;

	if (size == sizeof(s->last))
		memcpy(&s->last, data, size);
	s->n++;
	return 0;
}

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* Hold (or, with 0, give back) the leases a listener would. */
static bool lease(struct env *e, __u64 drops_until, __u64 flows_until)
{
	struct monitor_ctl ctl = { drops_until, flows_until };
	__u32 zero = 0;

	return ASSERT_EQ(bpf_map_update_elem(bpf_map__fd(e->skel->maps.monitor),
					     &zero, &ctl, BPF_ANY), 0,
			 "lease written");
}

static struct ring_buffer *ring_open(struct env *e, struct seen *s)
{
	struct ring_buffer *rb;

	rb = ring_buffer__new(bpf_map__fd(e->skel->maps.events), on_event, s,
			      NULL);
	ASSERT_TRUE(rb, "events ring opened");
	return rb;
}

/* What the ring holds now; @s counts it. */
static int ring_take(struct ring_buffer *rb, struct seen *s)
{
	s->n = 0;
	ring_buffer__consume(rb);
	return s->n;
}

static size_t spoofed_build(struct env *e, uint8_t *pkt)
{
	struct pkt_spec s = env_spec_from(e, false, IPPROTO_UDP, e->remote,
					  4000, 53);

	s.saddr = ip(SPOOFED);
	return pkt_build(&s, pkt);
}

UNIT_TEST(monitor_silent_without_a_lease)
{
	uint8_t pkt[PKT_MAX];
	struct ring_buffer *rb;
	struct seen s = {};
	struct env e;
	struct run r;
	size_t len;

	if (!env_setup(&e, NULL) || !(rb = ring_open(&e, &s)))
		return;
	len = spoofed_build(&e, pkt);
	if (!env_from_container(&e, e.ifindex_ha, pkt, len, &r))
		return;
	ASSERT_EQ(r.verdict, TC_ACT_SHOT, "dropped");
	ASSERT_EQ(ring_take(rb, &s), 0, "no listener: no event");

	/* a lease that ran out is none (a monitor killed with -9) */
	if (!lease(&e, mono_ns() - 1, mono_ns() - 1))
		return;
	if (!env_from_container(&e, e.ifindex_ha, pkt, len, &r))
		return;
	ASSERT_EQ(ring_take(rb, &s), 0, "an expired lease: no event");
	ASSERT_EQ(env_stat(&e, STAT_DROP_SPOOFED), 2, "both counted");
	ASSERT_EQ(env_stat(&e, STAT_MONITOR_LOST), 0, "nothing lost");
	ring_buffer__free(rb);
}

UNIT_TEST(monitor_drop_event)
{
	uint8_t pkt[PKT_MAX];
	struct ring_buffer *rb;
	struct seen s = {};
	struct pkt_spec f;
	__u64 before;
	struct env e;
	struct run r;
	size_t len;

	if (!env_setup(&e, NULL) || !(rb = ring_open(&e, &s)))
		return;
	if (!lease(&e, mono_ns() + MONITOR_LEASE_NS, 0))
		return;
	len = spoofed_build(&e, pkt);
	before = mono_ns();
	if (!env_from_container(&e, e.ifindex_ha, pkt, len, &r))
		return;
	ASSERT_EQ(r.verdict, TC_ACT_SHOT, "dropped");
	if (!ASSERT_EQ(ring_take(rb, &s), 1, "one event"))
		return;
	ASSERT_EQ(s.last.type, MON_DROP, "a drop");
	ASSERT_EQ(s.last.reason, STAT_DROP_SPOOFED, "its reason");
	ASSERT_EQ(s.last.hook, MON_HOOK_TC, "at tc");
	ASSERT_EQ(s.last.ifindex, e.ifindex_ha, "where it came in");
	ASSERT_EQ(s.last.len, len, "its length");
	ASSERT_EQ(s.last.tuple[0].saddr, ip(SPOOFED), "source");
	ASSERT_EQ(s.last.tuple[0].daddr, e.remote, "destination");
	ASSERT_EQ(ntohs(s.last.tuple[0].sport), 4000, "source port");
	ASSERT_EQ(ntohs(s.last.tuple[0].dport), 53, "destination port");
	ASSERT_EQ(s.last.tuple[0].proto, IPPROTO_UDP, "protocol");
	ASSERT_TRUE(s.last.time_ns >= before && s.last.time_ns <= mono_ns(),
		    "stamped on the monotonic clock");

	/* drops alone were asked for: a new flow is not told */
	f = env_spec_from(&e, false, IPPROTO_UDP, e.remote, 4001, 53);
	env_send(&e, e.ifindex_ha, &f, pkt, &r);
	ASSERT_EQ(env_flows(&e), 1, "a flow made");
	ASSERT_EQ(ring_take(rb, &s), 0, "no flow event with drops alone");
	ring_buffer__free(rb);
}

UNIT_TEST(monitor_flow_events)
{
	uint8_t pkt[PKT_MAX];
	struct ring_buffer *rb;
	struct seen s = {};
	struct pkt_spec f;
	struct env e;
	struct run r;
	size_t len;

	if (!env_setup(&e, NULL) || !(rb = ring_open(&e, &s)))
		return;
	if (!lease(&e, 0, mono_ns() + MONITOR_LEASE_NS))
		return;
	f = env_spec_from(&e, false, IPPROTO_TCP, e.remote, 40000, 80);
	f.tcp_flags = TCPF_SYN;
	env_send(&e, e.ifindex_ha, &f, pkt, &r);
	if (!check_snat(&e, &r, pkt, 40000))
		return;
	if (!ASSERT_EQ(ring_take(rb, &s), 1, "one event"))
		return;
	ASSERT_EQ(s.last.type, MON_FLOW_NEW, "a new flow");
	ASSERT_EQ(s.last.kind, CT_KIND_SNAT, "SNAT");
	ASSERT_EQ(s.last.state, CT_SYN_SENT, "its TCP state");
	ASSERT_EQ(s.last.ifindex, e.ifindex_ha, "the container's veth");
	ASSERT_EQ(s.last.tuple[CT_DIR_ORIG].saddr, e.a, "sent by a");
	ASSERT_EQ(ntohs(s.last.tuple[CT_DIR_ORIG].dport), 80, "to port 80");
	ASSERT_EQ(s.last.tuple[CT_DIR_REPLY].saddr, e.remote,
		  "answered by the remote");
	ASSERT_EQ(s.last.tuple[CT_DIR_REPLY].daddr, e.snat,
		  "to the SNAT address");
	ASSERT_EQ(s.last.tuple[CT_DIR_REPLY].dport,
		  ((struct tcphdr *)(r.out + ETH_HLEN +
				     sizeof(struct iphdr)))->source,
		  "at the port it left from");

	/* drops are not told with flows alone */
	len = spoofed_build(&e, pkt);
	env_from_container(&e, e.ifindex_ha, pkt, len, &r);
	ASSERT_EQ(ring_take(rb, &s), 0, "no drop event with flows alone");

	/* a flush removes it: its end, with its counters */
	env_flush(&e);
	if (!ASSERT_EQ(ring_take(rb, &s), 1, "one event"))
		return;
	ASSERT_EQ(s.last.type, MON_FLOW_DESTROY, "destroyed");
	ASSERT_EQ(s.last.reason, MON_END_REMOVED, "removed, not expired");
	ASSERT_EQ(s.last.packets[CT_DIR_ORIG], 1, "one packet out");
	ASSERT_EQ(s.last.packets[CT_DIR_REPLY], 0, "none back");
	ASSERT_EQ(s.last.tuple[CT_DIR_ORIG].saddr, e.a, "the same flow");
	ring_buffer__free(rb);
}

/* A full ring loses events, counted; the packets are what they were. */
UNIT_TEST(monitor_full_ring_loses_events_not_packets)
{
	const int n = MONITOR_RING_BYTES / sizeof(struct monitor_event) + 500;
	struct __sk_buff ctx = {};
	uint8_t pkt[PKT_MAX];
	struct ring_buffer *rb;
	struct seen s = {};
	struct env e;
	size_t len;
	int got;

	if (!env_setup(&e, NULL) || !(rb = ring_open(&e, &s)))
		return;
	if (!lease(&e, mono_ns() + 60 * MONITOR_LEASE_NS, 0))
		return;
	len = spoofed_build(&e, pkt);
	ctx.ingress_ifindex = ctx.ifindex = e.ifindex_ha;
	{
		DECLARE_LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt,
				    .data_size_in = len, .ctx_in = &ctx,
				    .ctx_size_in = sizeof(ctx), .repeat = n);

		if (!ASSERT_EQ(bpf_prog_test_run_opts(bpf_program__fd(
				e.skel->progs.tc_container), &opts), 0,
			       "test run"))
			return;
		ASSERT_EQ(opts.retval, TC_ACT_SHOT, "dropped");
	}
	got = ring_take(rb, &s);
	ASSERT_EQ(env_stat(&e, STAT_DROP_SPOOFED), n, "every packet counted");
	ASSERT_TRUE(env_stat(&e, STAT_MONITOR_LOST) > 0, "events lost");
	ASSERT_EQ(got + env_stat(&e, STAT_MONITOR_LOST), n,
		  "each drop told or counted lost");
	ring_buffer__free(rb);
}
