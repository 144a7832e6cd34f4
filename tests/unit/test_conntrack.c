// SPDX-License-Identifier: GPL-2.0-only
/*
 * Conntrack under concurrency, one interleaving at a time: what another
 * CPU may have done between two steps of a packet (a slot recycled, a key
 * delete refused) is set up by hand in the maps, then a packet runs.
 */
#include <errno.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "checks.h"
#include "env.h"
#include "unit.h"

/* The slot of the flow whose original tuple is @k, or -1. */
static int slot_of(struct env *e, const struct ct_key *k)
{
	struct ct_ref ref;

	if (bpf_map_lookup_elem(bpf_map__fd(e->skel->maps.ct_index), k, &ref))
		return -1;
	return ref.flow;
}

/* Point @key at @slot in ct_index, as a key left behind would. */
static bool index_put(struct env *e, const struct ct_key *key, uint32_t slot,
		      uint8_t dir)
{
	struct ct_ref ref = { .flow = slot, .dir = dir };
	int fd = bpf_map__fd(e->skel->maps.ct_index);

	return ASSERT_OK(bpf_map_update_elem(fd, key, &ref, BPF_NOEXIST),
			 "plant a key");
}

/*
 * A key whose slot now holds another flow (it was removed and its slot
 * given to a new flow between a lookup of the key and of the slot) is not
 * that flow's: the packet is neither translated with the other flow's
 * mapping nor counted to it, in either direction.
 */
UNIT_TEST(lookup_ignores_a_recycled_slot)
{
	uint8_t pkt[PKT_MAX];
	struct ct_key k1, k2, r2;
	struct ct_flow f1, after;
	struct pkt_spec s;
	struct env e;
	struct run r;
	int slot;

	if (!env_setup(&e, NULL))
		return;
	/* flow 1 is a:40000 -> remote:80, in some slot */
	s = env_spec_from(&e, false, IPPROTO_UDP, e.remote, 40000, 80);
	env_send(&e, e.ifindex_ha, &s, pkt, &r);
	k1 = key_of(IPPROTO_UDP, e.a, e.remote, 40000, 80);
	slot = slot_of(&e, &k1);
	if (!ASSERT_TRUE(slot >= 0 && env_flow_of(&e, &k1, &f1), "flow 1"))
		return;

	/* keys of an older flow 2 (a:40001 -> remote:81, mapped to 40001)
	 * that still lead to the slot flow 1 took over
	 */
	k2 = key_of(IPPROTO_UDP, e.a, e.remote, 40001, 81);
	r2 = key_of(IPPROTO_UDP, e.remote, e.snat, 81, 40001);
	if (!index_put(&e, &k2, slot, CT_DIR_ORIG) ||
	    !index_put(&e, &r2, slot, CT_DIR_REPLY))
		return;

	s = env_spec_from(&e, false, IPPROTO_UDP, e.remote, 40001, 81);
	env_send(&e, e.ifindex_ha, &s, pkt, &r);
	ASSERT_TRUE(r.verdict != TC_ACT_REDIRECT ||
		    ntohs(*(uint16_t *)pkt_l4(r.out)) != ntohs(f1.tuple[CT_DIR_REPLY].dport),
		    "not sent out with flow 1's port");
	/* the reply of flow 2 is not delivered as one of flow 1 */
	s = env_spec_reply(&e, IPPROTO_UDP, e.remote, 81, 40001);
	env_receive(&e, &s, pkt, &r);
	ASSERT_EQ(r.verdict, TC_ACT_OK, "reply: not flow 1's, the host's");
	ASSERT_EQ(r.redirect.count, 0, "reply: not redirected");

	if (!ASSERT_TRUE(env_flow_of(&e, &k1, &after), "flow 1 still there"))
		return;
	ASSERT_EQ(after.packets[CT_DIR_ORIG], 1, "flow 1: no packet of flow 2");
	ASSERT_EQ(after.packets[CT_DIR_REPLY], 0, "flow 1: no reply of flow 2");
}

/* The slot @slot as it is now. */
static bool slot_read(struct env *e, uint32_t slot, struct ct_flow *f)
{
	return !bpf_map_lookup_elem(bpf_map__fd(e->skel->maps.ct_flows), &slot,
				    f);
}

/* A UDP flow from @from_b's container, sport @sport, answered. */
static bool answered_flow(struct env *e, bool from_b, uint16_t sport,
			  uint16_t *mapped)
{
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;
	struct run r;

	s = env_spec_from(e, from_b, IPPROTO_UDP, e->remote, sport, 53);
	env_send(e, from_b ? e->ifindex_hb : e->ifindex_ha, &s, pkt, &r);
	if (!ASSERT_EQ(r.verdict, TC_ACT_REDIRECT, "flow created"))
		return false;
	*mapped = ntohs(*(uint16_t *)pkt_l4(r.out));
	s = env_spec_reply(e, IPPROTO_UDP, e->remote, 53, *mapped);
	env_receive(e, &s, pkt, &r);
	return ASSERT_EQ(r.verdict, TC_ACT_REDIRECT, "flow answered");
}

/*
 * Flow a's removal fails to delete one of its two keys (@which: 1 the
 * reply key, 2 the original, in the order ct_delete() deletes them).  The
 * key must never lead to another flow: its slot waits, dying, out of
 * ct_free (so in a table of two, a new flow finds no room), until the
 * sweep deletes the key and frees the slot, and counts it.
 */
static void failed_delete_reclaimed(int which)
{
	struct env_opts o = { .ct_max = 2 };
	struct ct_key ka, ra, stuck;
	uint8_t pkt[PKT_MAX];
	struct ct_sweep sweep = {};
	struct ct_flow f;
	struct ct_ref ref;
	struct pkt_spec s;
	uint16_t pa, pb;
	struct env e;
	struct run r;
	int slot, idx;

	if (!env_setup(&e, &o))
		return;
	idx = bpf_map__fd(e.skel->maps.ct_index);
	if (!answered_flow(&e, false, 5000, &pa) ||
	    !answered_flow(&e, true, 5000, &pb))
		return;
	ka = key_of(IPPROTO_UDP, e.a, e.remote, 5000, 53);
	ra = key_of(IPPROTO_UDP, e.remote, e.snat, 53, pa);
	stuck = which == 1 ? ra : ka;
	slot = slot_of(&e, &ka);

	if (!env_fail_deletes(&e, which, 1, -EBUSY))
		return;
	ASSERT_EQ(env_flush_addr(&e, e.a), 1, "a's flow removed");
	env_fail_deletes(&e, 0, 0, 0);
	ASSERT_EQ(env_flows(&e), 1, "b's flow alone is live");
	if (!ASSERT_OK(bpf_map_lookup_elem(idx, &stuck, &ref),
		       "the key that could not be deleted stays"))
		return;
	ASSERT_EQ(ref.flow, slot, "... leading to a's slot");
	ASSERT_TRUE(!env_has_key(&e, which == 1 ? &ka : &ra),
		    "the other key is gone");
	slot_read(&e, slot, &f);
	ASSERT_EQ(f.live, CT_SLOT_DYING, "a's slot is dying");

	/* the slot is not handed out meanwhile */
	s = env_spec_from(&e, false, IPPROTO_UDP, e.remote, 6000, 53);
	env_send(&e, e.ifindex_ha, &s, pkt, &r);
	ASSERT_EQ(r.verdict, TC_ACT_SHOT, "no room for a new flow yet");
	ASSERT_EQ(env_stat(&e, STAT_DROP_CT_FULL), 1, "counted: table full");
	slot_read(&e, slot, &f);
	ASSERT_EQ(f.live, CT_SLOT_DYING, "a's slot still dying");
	ASSERT_TRUE(!env_flow_of(&e, &stuck, &f), "the key leads to no flow");
	/* what arrives for the stuck key finds no flow */
	if (which == 1) {
		s = env_spec_reply(&e, IPPROTO_UDP, e.remote, 53, pa);
		env_receive(&e, &s, pkt, &r);
		ASSERT_EQ(r.verdict, TC_ACT_OK, "a's old reply: the host's");
	} else {
		s = env_spec_from(&e, false, IPPROTO_UDP, e.remote, 5000, 53);
		env_send(&e, e.ifindex_ha, &s, pkt, &r);
		ASSERT_NE(r.verdict, TC_ACT_REDIRECT, "a's old tuple: held");
	}

	/* the sweep finishes the removal */
	if (!env_sweep_start(&e))
		return;
	for (int i = 0; i < 200; i++) {
		if (env_sweep_read(&e, &sweep) && sweep.reclaimed)
			break;
		usleep(10000);
	}
	ASSERT_EQ(sweep.reclaimed, 1, "the sweep reclaimed the slot");
	ASSERT_TRUE(!env_has_key(&e, &stuck), "the key is gone");
	slot_read(&e, slot, &f);
	ASSERT_EQ(f.live, CT_SLOT_FREE, "the slot is free");

	/* and is used again, with no key of the old flow */
	s = env_spec_from(&e, false, IPPROTO_UDP, e.remote, 6000, 53);
	env_send(&e, e.ifindex_ha, &s, pkt, &r);
	ASSERT_EQ(r.verdict, TC_ACT_REDIRECT, "a new flow now");
	ASSERT_EQ(env_flows(&e), 2, "two live flows");
	ASSERT_EQ(env_index_keys(&e), 4, "two keys each, nothing stale");
}

UNIT_TEST(failed_reply_key_delete_reclaimed_by_the_sweep)
{
	failed_delete_reclaimed(1);
}

UNIT_TEST(failed_original_key_delete_reclaimed_by_the_sweep)
{
	failed_delete_reclaimed(2);
}

/* A UDP datagram from @saddr (a container behind a's veth) to the remote
 * @dport; returns its mapped port, 0 if it was not sent out.
 */
static uint16_t send_from(struct env *e, uint32_t saddr, uint16_t sport,
			  uint16_t dport)
{
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;
	struct run r;

	s = env_spec_from(e, false, IPPROTO_UDP, e->remote, sport, dport);
	s.saddr = saddr;
	env_send(e, e->ifindex_ha, &s, pkt, &r);
	if (r.verdict != TC_ACT_REDIRECT ||
	    r.redirect.ifindex != (uint32_t)e->ifindex_up)
		return 0;
	return ntohs(*(uint16_t *)pkt_l4(r.out));
}

/* A UDP socket of the host on the SNAT address and @port. */
static bool host_bind(uint16_t port)
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_port = htons(port),
		.sin_addr = { ip(ADDR_SNAT) },
	};
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	return ASSERT_TRUE(fd >= 0 && !bind(fd, (struct sockaddr *)&sin,
					    sizeof(sin)), "host socket");
}

/*
 * The host's sockets hold 16 of a range of 20 ports (more than a search
 * used to pass over before it gave up): the other 4 are still found, each
 * once, and only then is a flow refused.
 */
UNIT_TEST(port_search_passes_over_many_host_ports)
{
	struct env_opts o = { .port_lo = 20000, .port_hi = 20019 };
	bool used[4] = {};
	struct env e;
	uint16_t p;

	if (!env_setup(&e, &o))
		return;
	for (p = 20000; p < 20016; p++)
		if (!host_bind(p))
			return;
	/* source ports outside the range: none is simply kept */
	for (int i = 0; i < 4; i++) {
		p = send_from(&e, e.a, 30000 + i, 53);
		if (!CHECK(p >= 20016 && p <= 20019, "flow %d got port %u", i,
			   p))
			return;
		ASSERT_TRUE(!used[p - 20016], "a port given once");
		used[p - 20016] = true;
	}
	ASSERT_EQ(send_from(&e, e.a, 30004, 53), 0, "the fifth is refused");
	ASSERT_EQ(env_stat(&e, STAT_DROP_NO_PORT), 1, "... and counted");
	ASSERT_EQ(env_flows(&e), 4, "four flows");
}

/*
 * A destination whose ports ran out is refused for a second without a
 * search; a flow to it that ends frees a port at once, and the next new
 * flow gets it.
 */
UNIT_TEST(port_freed_is_given_at_once)
{
	struct env_opts o = { .port_lo = 2000, .port_hi = 2001 };
	uint16_t pa, pb;
	struct env e;

	if (!env_setup(&e, &o))
		return;
	pa = send_from(&e, e.a, 5000, 53);
	if (!env_endpoint_add(&e, ip("172.18.0.9")))
		return;
	pb = send_from(&e, ip("172.18.0.9"), 5000, 53);
	if (!ASSERT_TRUE(pa && pb && pa != pb, "the two ports used"))
		return;
	ASSERT_EQ(send_from(&e, e.a, 5001, 53), 0, "a third is refused");
	ASSERT_EQ(env_stat(&e, STAT_DROP_NO_PORT), 1, "no free port, counted");

	ASSERT_EQ(env_flush_addr(&e, ip("172.18.0.9")), 1, "one flow ends");
	ASSERT_EQ(send_from(&e, e.a, 5001, 53), pb, "its port, at once");
	ASSERT_EQ(env_stat(&e, STAT_DROP_NO_PORT), 1, "no refusal since");
}

/*
 * A port given back while a search finds none free (another CPU's flow
 * ending then; the test build stages that moment) is not cached as taken:
 * the refusal is not remembered, and the next flow searches again.
 */
UNIT_TEST(port_freed_during_a_search_not_cached_as_taken)
{
	struct env_opts o = { .port_lo = 2000, .port_hi = 2001 };
	int fault = -1, races = -1;
	struct test_fault t;
	struct test_races n;
	struct ct_key ek;
	struct env e;
	__u64 until;
	__u32 zero = 0;

	if (!env_setup(&e, &o))
		return;
	fault = bpf_map__fd(e.skel->maps.test_fault);
	races = bpf_map__fd(e.skel->maps.test_races);
	send_from(&e, e.a, 5000, 53);
	send_from(&e, e.a, 5001, 53);
	if (!ASSERT_EQ(env_flows(&e), 2, "the range is full"))
		return;
	bpf_map_lookup_elem(fault, &zero, &t);
	t.free_during_search = 1;
	bpf_map_update_elem(fault, &zero, &t, 0);
	ASSERT_EQ(send_from(&e, e.a, 5002, 53), 0, "no port: refused");
	/* ct_exhausted's key: the destination (bpf/ct_port.h) */
	ek = key_of(IPPROTO_UDP, e.remote, 0, 53, 0);
	ASSERT_NE(bpf_map_lookup_elem(bpf_map__fd(e.skel->maps.ct_exhausted),
				      &ek, &until), 0,
		  "the refusal is not remembered");
	ASSERT_OK(bpf_map_lookup_elem(races, &zero, &n), "read test_races");
	ASSERT_EQ(n.port_freed_meanwhile, 1, "the give-back was seen");

	/* with nothing given back, a refusal is remembered, as before */
	t.free_during_search = 0;
	bpf_map_update_elem(fault, &zero, &t, 0);
	ASSERT_EQ(send_from(&e, e.a, 5003, 53), 0, "refused again");
	ASSERT_OK(bpf_map_lookup_elem(bpf_map__fd(e.skel->maps.ct_exhausted),
				      &ek, &until), "this refusal is remembered");
}

/* Multiplying by this undoes multiplying by ct_hash()'s 0xc2b2ae35. */
static uint32_t inverse(uint32_t a)
{
	/* Newton's iteration: good to 3, 6, 12, 24, then 48 bits */
	uint32_t x = a;

	for (int i = 0; i < 5; i++)
		x *= 2 - a * x;
	return x;
}

/*
 * A UDP tuple from @saddr to the remote whose ct_hash() is @h: the ports
 * are what makes the hash, so they are solved for.
 */
static struct ct_key key_with_hash(struct env *e, uint32_t saddr, uint32_t h)
{
	struct ct_key k = key_of(IPPROTO_UDP, saddr, e->remote, 0, 0);
	uint32_t x, w;

	x = h ^ IPPROTO_UDP;
	x ^= x >> 15 ^ x >> 30;		/* undo h ^= h >> 15 */
	x ^= saddr * 0x9e3779b1u ^ e->remote * 0x85ebca6bu;
	w = x * inverse(0xc2b2ae35u);
	k.sport = w >> 16;
	k.dport = w & 0xffff;
	return k;
}

/*
 * A search that starts close to 2^32 (the hash, before it is reduced to
 * the range) still tries every port of a range whose size does not divide
 * 2^32: with all ports but one taken, whichever one, it finds that one.
 */
UNIT_TEST(port_search_from_near_2_32_tries_every_port)
{
	struct env_opts o = { .port_lo = 5000, .port_hi = 5009 };
	uint32_t wa = ip("172.18.1.1"), fill[10];
	uint16_t port_of[10], p;
	struct ct_key w;
	struct env e;
	int i;

	if (!env_setup(&e, &o) || !env_endpoint_add(&e, wa))
		return;
	/* the wanderer: hash 2^32 - 3, ports outside the range */
	for (uint32_t h = 0xfffffffd; ; h--) {
		w = key_with_hash(&e, wa, h);
		if (ntohs(w.sport) && ntohs(w.dport) &&
		    (ntohs(w.sport) < 5000 || ntohs(w.sport) > 5009))
			break;
	}
	if (!ASSERT_TRUE(ct_hash(&w) > 0xfffffff0u, "a hash close to 2^32"))
		return;
	/* ten other flows to that destination take the ten ports */
	for (i = 0; i < 10; i++) {
		fill[i] = htonl(ntohl(ip("172.18.2.0")) + i);
		if (!env_endpoint_add(&e, fill[i]))
			return;
		port_of[i] = send_from(&e, fill[i], 40000, ntohs(w.dport));
		if (!ASSERT_TRUE(port_of[i] >= 5000 && port_of[i] <= 5009,
				 "a port of the range"))
			return;
	}
	for (i = 0; i < 10; i++) {
		/* leave port_of[i] the only one free */
		if (!ASSERT_EQ(env_flush_addr(&e, fill[i]), 1, "one flow ends"))
			return;
		p = send_from(&e, wa, ntohs(w.sport), ntohs(w.dport));
		CHECK(p == port_of[i], "the search from near 2^32 found %u: "
		      "got %u", port_of[i], p);
		env_flush_addr(&e, wa);
		if (!ASSERT_EQ(send_from(&e, fill[i], 40000, ntohs(w.dport)),
			       port_of[i], "taken again"))
			return;
	}
	ASSERT_EQ(env_stat(&e, STAT_DROP_NO_PORT), 0, "never refused");
}

/*
 * TCP between a:40000 and remote:80, segment by segment.  Sequence numbers
 * are the same on both sides of the NAT.
 */
struct seg {
	bool outside;		/* from the remote, else from a */
	uint8_t flags;
	uint32_t seq, ack;
	uint16_t win;
	int wscale;		/* SYNs: the option's shift, -1 none */
	uint16_t len;		/* payload */
};

/* Segments go through the XDP programs rather than the tc ones. */
static bool via_xdp;

static bool tcp_seg(struct env *e, const struct seg *g, struct run *r)
{
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;
	size_t len;

	if (g->outside)
		s = env_spec_reply(e, IPPROTO_TCP, e->remote, 80, 40000);
	else
		s = env_spec_from(e, false, IPPROTO_TCP, e->remote, 40000, 80);
	s.tcp_flags = g->flags;
	s.seq = g->seq;
	s.ack = g->ack;
	s.window = g->win;
	s.has_wscale = g->wscale >= 0;
	s.wscale = g->wscale;
	s.payload = g->len;
	len = pkt_build(&s, pkt);
	if (via_xdp) {
		if (g->outside)
			return env_xdp_from_uplink(e, pkt, len, r);
		return env_xdp_from_container(e, e->ifindex_ha, pkt, len, r);
	}
	if (g->outside)
		return env_from_uplink(e, pkt, len, r);
	return env_from_container(e, e->ifindex_ha, pkt, len, r);
}

/* The verdict of a segment sent on. */
static int sent_on(void)
{
	return via_xdp ? XDP_REDIRECT : TC_ACT_REDIRECT;
}

static int tcp_state(struct env *e)
{
	struct ct_key k = key_of(IPPROTO_TCP, e->a, e->remote, 40000, 80);
	struct ct_flow f;

	return env_flow_of(e, &k, &f) ? (int)f.state : -1;
}

/*
 * A connection as Linux opens it (window scale 7 both ways, or only from
 * a when !@both_scale), and 100 bytes each way: a has sent up to 1101,
 * the remote up to 5201, and a advertises 502 << 7 = 64256 bytes.
 */
static bool tcp_open(struct env *e, bool both_scale)
{
	const struct seg segs[] = {
		{ false, TCPF_SYN, 1000, 0, 64240, 7, 0 },
		{ true, TCPF_SYN | TCPF_ACK, 5000, 1001, 65160,
		  both_scale ? 7 : -1, 0 },
		{ false, TCPF_ACK, 1001, 5001, 502, -1, 0 },
		{ false, TCPF_ACK | TCPF_PSH, 1001, 5001, 502, -1, 100 },
		{ true, TCPF_ACK | TCPF_PSH, 5001, 1101, 509, -1, 200 },
		{ false, TCPF_ACK, 1101, 5201, 502, -1, 0 },
	};
	struct run r;

	for (size_t i = 0; i < sizeof(segs) / sizeof(segs[0]); i++)
		if (!tcp_seg(e, &segs[i], &r) ||
		    !ASSERT_EQ(r.verdict, sent_on(), "segment sent on"))
			return false;
	return ASSERT_EQ(tcp_state(e), CT_ESTABLISHED, "established");
}

/* A RST with @seq from outside (or from a): does the flow close? */
static int rst_state(struct env *e, bool outside, uint32_t seq)
{
	struct seg g = { outside, TCPF_RST, seq, 0, 0, -1, 0 };
	struct run r;

	if (!tcp_seg(e, &g, &r) ||
	    !ASSERT_EQ(r.verdict, sent_on(),
		       "a RST is sent on all the same: the endpoint judges"))
		return -1;
	return tcp_state(e);
}

/*
 * A RST whose sequence number lies outside the receiver's window (blind:
 * its sender cannot see the connection) leaves the flow as it was; one
 * that lies in it closes it.
 */
UNIT_TEST(rst_out_of_window_keeps_the_flow)
{
	struct env e;

	if (!env_setup(&e, NULL) || !tcp_open(&e, true))
		return;
	ASSERT_EQ(rst_state(&e, true, 5201 + 0x40000000), CT_ESTABLISHED,
		  "a RST from outside, 1 GiB ahead");
	ASSERT_EQ(rst_state(&e, true, 5201 - 100000), CT_ESTABLISHED,
		  "a RST from outside, a window and more behind");
	ASSERT_EQ(rst_state(&e, false, 1101 + 0x80000000), CT_ESTABLISHED,
		  "a RST from a, 2 GiB away");
	ASSERT_EQ(rst_state(&e, true, 5201), CT_CLOSE,
		  "a RST from outside at the next sequence number");
}

/* In the window but not at its left edge: conditions I and II hold. */
UNIT_TEST(rst_in_window_closes)
{
	struct env e;

	if (!env_setup(&e, NULL) || !tcp_open(&e, true))
		return;
	/* inside a's 64256 bytes (502 scaled by 2^7) */
	ASSERT_EQ(rst_state(&e, true, 5201 + 30000), CT_CLOSE,
		  "a RST 30000 bytes into the window");
}

/* The same through the XDP programs, which read the SYNs' options too. */
UNIT_TEST(rst_in_window_closes_xdp)
{
	struct env_opts o = { .xdp = true };
	struct env e;

	via_xdp = true;
	if (!env_setup(&e, &o) || !tcp_open(&e, true))
		return;
	ASSERT_EQ(rst_state(&e, true, 5201 + 0x40000000), CT_ESTABLISHED,
		  "a RST from outside, 1 GiB ahead");
	ASSERT_EQ(rst_state(&e, true, 5201 + 30000), CT_CLOSE,
		  "a RST 30000 bytes into the (scaled) window");
}

/* A FIN outside the window does not start the close either. */
UNIT_TEST(fin_out_of_window_ignored)
{
	struct seg fin = { true, TCPF_FIN | TCPF_ACK, 5201 + 0x40000000, 1101,
			   509, -1, 0 };
	struct env e;
	struct run r;

	if (!env_setup(&e, NULL) || !tcp_open(&e, true))
		return;
	tcp_seg(&e, &fin, &r);
	ASSERT_EQ(tcp_state(&e), CT_ESTABLISHED, "a FIN 1 GiB ahead");
	fin.seq = 5201;
	tcp_seg(&e, &fin, &r);
	ASSERT_EQ(tcp_state(&e), CT_FIN_WAIT, "the FIN at 5201");
}

/* RFC 7323: without the option in both SYNs, no window is scaled. */
UNIT_TEST(rst_window_unscaled_unless_both_syns_agree)
{
	struct env e;

	if (!env_setup(&e, NULL) || !tcp_open(&e, false))
		return;
	/* a's window is 502 bytes then */
	ASSERT_EQ(rst_state(&e, true, 5201 + 30000), CT_ESTABLISHED,
		  "30000 bytes ahead: past a's 502-byte window");
	ASSERT_EQ(rst_state(&e, true, 5201 + 300), CT_CLOSE,
		  "300 bytes ahead: in it");
}

/* A RST answering the SYN acks it exactly; a guess does not close. */
UNIT_TEST(rst_answering_a_syn)
{
	const struct seg syn = { false, TCPF_SYN, 1000, 0, 64240, 7, 0 };
	struct seg rst = { true, TCPF_RST | TCPF_ACK, 0, 1000 + 4096, 0, -1,
			   0 };
	struct env e;
	struct run r;

	if (!env_setup(&e, NULL) || !tcp_seg(&e, &syn, &r))
		return;
	tcp_seg(&e, &rst, &r);
	ASSERT_EQ(tcp_state(&e), CT_SYN_SENT, "a RST acking another number");
	rst.ack = 1001;
	tcp_seg(&e, &rst, &r);
	ASSERT_EQ(tcp_state(&e), CT_CLOSE, "the RST acking the SYN");
}

/*
 * A flow picked up mid-stream (after a flush, say) has no window scale
 * known: like nf_conntrack, bpfnat then believes any RST.
 */
UNIT_TEST(rst_on_a_flow_picked_up_mid_stream)
{
	const struct seg ack = { false, TCPF_ACK, 1101, 5201, 502, -1, 10 };
	struct env e;
	struct run r;

	if (!env_setup(&e, NULL) || !tcp_seg(&e, &ack, &r))
		return;
	ASSERT_EQ(tcp_state(&e), CT_ESTABLISHED, "picked up as established");
	ASSERT_EQ(rst_state(&e, true, 5201 + 0x40000000), CT_CLOSE,
		  "any RST closes it");
}
