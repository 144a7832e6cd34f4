// SPDX-License-Identifier: GPL-2.0-only
/*
 * The hard cases of NAT, packet by packet: ICMP errors about NATed flows
 * in both directions, the errors the data path sends itself (time
 * exceeded, fragmentation needed), fragments in and out of order, and a
 * full conntrack table.
 */
#include <stdlib.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "checks.h"
#include "env.h"
#include "unit.h"

/*
 * Check an error that reached container a: outer destination a, the quote
 * back to what a sent (bar the TTL the NAT took off), every checksum right.
 */
static void check_error_translated(struct env *e, struct run *r,
				   const uint8_t *sent, uint8_t proto)
{
	uint8_t want[PKT_MAX], got[PKT_MAX];
	struct iphdr *wip, *gip;
	size_t qlen = l3_len(sent);

	if (!ASSERT_EQ(r->verdict, TC_ACT_REDIRECT, "delivered") ||
	    !ASSERT_EQ(r->redirect.kind, REDIRECT_PEER, "into a") ||
	    !ASSERT_EQ(r->redirect.ifindex, e->ifindex_ha, "a's veth"))
		return;
	ASSERT_EQ(pkt_ip(r->out)->daddr, e->a, "outer destination: a");
	ASSERT_TRUE(pkt_ip_csum_ok(r->out), "outer IP checksum");
	ASSERT_TRUE(pkt_l4_csum_ok(r->out), "ICMP checksum");

	/* the quote, as a frame of its own, against what a sent */
	memset(want, 0, sizeof(want));
	memset(got, 0, sizeof(got));
	memcpy(want + ETH_HLEN, l3(sent), qlen);
	memcpy(got + ETH_HLEN, pkt_l4(r->out) + 8, qlen);
	wip = pkt_ip(want);
	gip = pkt_ip(got);
	ASSERT_TRUE(pkt_ip_csum_ok(got), "quoted IP checksum");
	ASSERT_TRUE(pkt_l4_csum_ok(got), "quoted L4 checksum, from scratch");
	wip->ttl = gip->ttl;
	wip->check = gip->check;
	ASSERT_EQ(gip->saddr, e->a, "quoted source: a again");
	ASSERT_MEM_EQ(got + ETH_HLEN, want + ETH_HLEN, qlen,
		      "quote = what a sent");
	(void)proto;
}

static void error_from_outside(uint8_t proto)
{
	uint8_t sent[PKT_MAX], out[PKT_MAX], err[PKT_MAX];
	struct env e;
	struct run r;
	struct pkt_spec s;
	size_t len;

	if (!env_setup(&e, NULL))
		return;
	/* b takes port 40000 first, so a's flow is remapped */
	s = env_spec_from(&e, true, proto, e.remote, 40000, 80);
	len = pkt_build(&s, sent);
	env_from_container(&e, e.ifindex_hb, sent, len, &r);
	s = env_spec_from(&e, false, proto, e.remote, 40000, 80);
	len = pkt_build(&s, sent);
	env_from_container(&e, e.ifindex_ha, sent, len, &r);
	memcpy(out, r.out, r.out_len);
	ASSERT_NE(ntohs(*(uint16_t *)(pkt_l4(out) +
				      (proto == IPPROTO_ICMP ? 4 : 0))),
		  40000, "a's flow remapped");

	/* a router beyond says: unreachable */
	len = icmp_error_build(&e, err, e.remote, e.snat, ICMP_DEST_UNREACH,
			       ICMP_HOST_UNREACH, l3(out), l3_len(out), true);
	if (!env_from_uplink(&e, err, len, &r))
		return;
	check_error_translated(&e, &r, sent, proto);
}

UNIT_TEST(icmp_error_from_outside_udp)
{
	error_from_outside(IPPROTO_UDP);
}

UNIT_TEST(icmp_error_from_outside_tcp)
{
	error_from_outside(IPPROTO_TCP);
}

UNIT_TEST(icmp_error_from_outside_echo)
{
	error_from_outside(IPPROTO_ICMP);
}

/* The classic quote: the IP header and 8 bytes, no more. */
UNIT_TEST(icmp_error_with_short_quote)
{
	uint8_t sent[PKT_MAX], err[PKT_MAX];
	struct icmphdr *icmp;
	struct env e;
	struct run r;
	struct pkt_spec s;
	size_t len;

	if (!env_setup(&e, NULL))
		return;
	s = env_spec_from(&e, false, IPPROTO_TCP, e.remote, 40000, 80);
	len = pkt_build(&s, sent);
	env_from_container(&e, e.ifindex_ha, sent, len, &r);
	len = icmp_error_build(&e, err, e.far, e.snat, ICMP_TIME_EXCEEDED, 0,
			       l3(r.out), 28, true);
	env_from_uplink(&e, err, len, &r);
	ASSERT_EQ(r.redirect.ifindex, e.ifindex_ha, "into a");
	ASSERT_TRUE(pkt_ip_csum_ok(r.out), "outer IP checksum");
	ASSERT_TRUE(pkt_l4_csum_ok(r.out), "ICMP checksum");
	icmp = pkt_l4(r.out);
	ASSERT_EQ(((struct iphdr *)(icmp + 1))->saddr, e.a, "quoted source");
	ASSERT_EQ(csum_compute(icmp + 1, 20, 0), 0, "quoted IP checksum");
}

UNIT_TEST(icmp_error_about_unknown_flow_passes)
{
	uint8_t sent[PKT_MAX], err[PKT_MAX];
	struct env e;
	struct run r;
	struct pkt_spec s;
	size_t len;

	if (!env_setup(&e, NULL))
		return;
	/* quoting something the host itself sent */
	s = env_spec_reply(&e, IPPROTO_UDP, e.snat, 5353, 53);
	s.daddr = e.remote;
	len = pkt_build(&s, sent);
	len = icmp_error_build(&e, err, e.remote, e.snat, ICMP_DEST_UNREACH,
			       ICMP_PORT_UNREACH, l3(sent), l3_len(sent), true);
	env_from_uplink(&e, err, len, &r);
	ASSERT_EQ(r.verdict, TC_ACT_OK, "the host's business");
	ASSERT_MEM_EQ(r.out, err, len, "unchanged");
}

/* a answers a UDP reply with port unreachable; the outside must see it
 * about the packet it sent: to the SNAT address and mapped port.
 */
UNIT_TEST(icmp_error_from_container)
{
	uint8_t pkt[PKT_MAX], reply[PKT_MAX], err[PKT_MAX];
	struct iphdr *q;
	struct udphdr *qu;
	uint16_t mapped;
	struct env e;
	struct run r;
	struct pkt_spec s;
	size_t len;

	if (!env_setup(&e, NULL))
		return;
	s = env_spec_from(&e, true, IPPROTO_UDP, e.remote, 40000, 53);
	len = env_send(&e, e.ifindex_hb, &s, pkt, &r);
	s = env_spec_from(&e, false, IPPROTO_UDP, e.remote, 40000, 53);
	len = env_send(&e, e.ifindex_ha, &s, pkt, &r);
	mapped = ntohs(*(uint16_t *)pkt_l4(r.out));

	s = env_spec_reply(&e, IPPROTO_UDP, e.remote, 53, mapped);
	len = pkt_build(&s, reply);
	env_from_uplink(&e, reply, len, &r);	/* a receives it as 40000 */
	memcpy(reply, r.out, r.out_len);

	len = icmp_error_build(&e, err, e.a, e.remote, ICMP_DEST_UNREACH,
			       ICMP_PORT_UNREACH, l3(reply), l3_len(reply),
			       false);
	if (!env_from_container(&e, e.ifindex_ha, err, len, &r))
		return;
	ASSERT_EQ(r.verdict, TC_ACT_REDIRECT, "sent on");
	ASSERT_EQ(r.redirect.ifindex, e.ifindex_up, "out of the uplink");
	ASSERT_EQ(pkt_ip(r.out)->saddr, e.snat, "outer source: SNAT address");
	ASSERT_TRUE(pkt_ip_csum_ok(r.out), "outer IP checksum");
	ASSERT_TRUE(pkt_l4_csum_ok(r.out), "ICMP checksum");
	q = (struct iphdr *)(pkt_l4(r.out) + 8);
	qu = (struct udphdr *)(q + 1);
	ASSERT_EQ(q->daddr, e.snat, "quoted destination: SNAT address");
	ASSERT_EQ(ntohs(qu->dest), mapped, "quoted port: the mapped one");
	check_quote_checksums(q);

	/* an error about something a never received goes nowhere */
	s = env_spec_reply(&e, IPPROTO_UDP, e.far, 53, 40000);
	s.daddr = e.a;
	len = pkt_build(&s, reply);
	len = icmp_error_build(&e, err, e.a, e.far, ICMP_DEST_UNREACH,
			       ICMP_PORT_UNREACH, l3(reply), l3_len(reply),
			       false);
	env_from_container(&e, e.ifindex_ha, err, len, &r);
	ASSERT_EQ(r.verdict, TC_ACT_SHOT, "no flow: dropped");
	ASSERT_EQ(env_stat(&e, STAT_DROP_ICMP_NO_FLOW), 1, "counted");
}

/* TTL 1 at our hop: time exceeded from the gateway, as a router does. */
UNIT_TEST(ttl_exceeded_answered)
{
	uint32_t dsts[2];
	struct env e;
	struct run r;
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;

	if (!env_setup(&e, NULL))
		return;
	dsts[0] = e.remote;
	dsts[1] = e.b;
	for (int i = 0; i < 2; i++) {
		s = env_spec_from(&e, false, IPPROTO_UDP, dsts[i], 33434, 33435);
		s.ttl = 1;
		env_send(&e, e.ifindex_ha, &s, pkt, &r);
		check_icmp_answer(&e, &r, pkt, ICMP_TIME_EXCEEDED, 0);
	}
	ASSERT_EQ(env_stat(&e, STAT_DROP_TTL), 2, "counted");
	ASSERT_EQ(env_stat6(&e, STAT_DROP_TTL), 0, "... none of it IPv6");
	ASSERT_EQ(env_flows(&e), 0, "no flow for an expired packet");

	/* TTL 1 to the host itself is delivered, not expired */
	s = env_spec_from(&e, false, IPPROTO_UDP, e.gw, 33434, 33435);
	s.ttl = 1;
	env_send(&e, e.ifindex_ha, &s, pkt, &r);
	ASSERT_EQ(r.verdict, TC_ACT_OK, "to the gateway: passed");
}

UNIT_TEST(too_big_for_the_uplink)
{
	struct icmphdr *icmp;
	struct env e;
	struct run r;
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;

	if (!env_setup(&e, NULL))
		return;
	if (system("ip link set up0 mtu 1280"))
		unit_skip("cannot change the uplink's MTU");
	s = env_spec_from(&e, false, IPPROTO_UDP, e.remote, 5000, 53);
	s.payload = 1400;
	s.frag = 0x4000;	/* DF */
	env_send(&e, e.ifindex_ha, &s, pkt, &r);
	if (!check_icmp_answer(&e, &r, pkt, ICMP_DEST_UNREACH,
			       ICMP_FRAG_NEEDED))
		return;
	icmp = pkt_l4(r.out);
	ASSERT_EQ(ntohs(icmp->un.frag.mtu), 1280, "the uplink's MTU");

	/* without DF: no error may be sent, and no fragmenting here */
	s.frag = 0;
	env_send(&e, e.ifindex_ha, &s, pkt, &r);
	ASSERT_EQ(r.verdict, TC_ACT_SHOT, "dropped");
	ASSERT_EQ(env_stat(&e, STAT_DROP_MTU), 2, "both counted");
}

/*
 * A datagram of three fragments (offsets 0, 1480, 2960) for container a's
 * flow, from the outside.
 */
static size_t reply_fragment(struct env *e, uint8_t *buf, int n,
			     uint16_t ip_id, uint16_t dport)
{
	struct pkt_spec s = env_spec_reply(e, IPPROTO_UDP, e->remote, 53,
					   dport);
	struct udphdr *udp;
	size_t len;

	s.ip_id = ip_id;
	switch (n) {
	case 0:
		s.frag = 0x2000;			/* MF, offset 0 */
		s.payload = 1480 - 8;
		len = pkt_build(&s, buf);
		udp = pkt_l4(buf);
		udp->len = htons(4000 + 8);		/* the datagram's */
		return len;
	case 1:
		s.frag = 0x2000 | 1480 / 8;
		s.payload = 1480;
		return pkt_build(&s, buf);
	default:
		s.frag = 2960 / 8;
		s.payload = 4008 - 2960;
		return pkt_build(&s, buf);
	}
}

static bool open_flow(struct env *e, uint16_t sport)
{
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;
	struct run r;
	size_t len;

	s = env_spec_from(e, false, IPPROTO_UDP, e->remote, sport, 53);
	len = pkt_build(&s, pkt);
	return env_from_container(e, e->ifindex_ha, pkt, len, &r) &&
	       ASSERT_EQ(r.verdict, TC_ACT_REDIRECT, "flow opened");
}

/* A later fragment translated for a: destination, TTL, MACs; nothing else. */
static void check_fragment_bytes(struct env *e, struct run *r,
				 const uint8_t *in, size_t len)
{
	uint8_t want[PKT_MAX];
	struct iphdr *ip = pkt_ip(want);

	memcpy(want, in, len);
	memcpy(want, e->mac_ca, ETH_ALEN);
	memcpy(want + ETH_ALEN, e->mac_ha, ETH_ALEN);
	ip->daddr = e->a;
	ip->ttl--;
	ip->check = 0;
	ip->check = htons(csum_compute(ip, sizeof(*ip), 0));
	ASSERT_EQ(r->out_len, len, "length");
	ASSERT_MEM_EQ(r->out, want, len, "bytes");
}

static void check_fragment_delivered(struct env *e, struct run *r,
				     const uint8_t *in, size_t len)
{
	ASSERT_EQ(r->verdict, TC_ACT_REDIRECT, "fragment delivered");
	ASSERT_EQ(r->redirect.kind, REDIRECT_PEER, "into a container");
	ASSERT_EQ(r->redirect.ifindex, e->ifindex_ha, "into a");
	check_fragment_bytes(e, r, in, len);
}

UNIT_TEST(fragments_from_outside_in_order)
{
	uint8_t pkt[PKT_MAX];
	struct env e;
	struct run r;
	size_t len;

	if (!env_setup(&e, NULL) || !open_flow(&e, 6000))
		return;
	len = reply_fragment(&e, pkt, 0, 77, 6000);
	env_from_uplink(&e, pkt, len, &r);
	ASSERT_EQ(r.redirect.ifindex, e.ifindex_ha, "first fragment into a");
	ASSERT_EQ(ntohs(((struct udphdr *)pkt_l4(r.out))->dest), 6000,
		  "its port");
	for (int n = 1; n < 3; n++) {
		len = reply_fragment(&e, pkt, n, 77, 6000);
		env_from_uplink(&e, pkt, len, &r);
		check_fragment_delivered(&e, &r, pkt, len);
	}
}

UNIT_TEST(fragments_from_outside_out_of_order)
{
	uint8_t pkt[PKT_MAX];
	struct env e;
	struct run r;
	size_t len;

	if (!env_setup(&e, NULL) || !open_flow(&e, 6000))
		return;
	/* the later fragments first: held */
	for (int n = 2; n >= 1; n--) {
		len = reply_fragment(&e, pkt, n, 78, 6000);
		env_from_uplink(&e, pkt, len, &r);
		ASSERT_EQ(r.verdict, TC_ACT_SHOT, "consumed");
		ASSERT_EQ(r.redirect.count, 0, "not sent on yet");
	}
	ASSERT_EQ(env_stat(&e, STAT_FRAG_HELD), 2, "held, and counted");
	ASSERT_EQ(env_stat(&e, STAT_DROP_FRAGMENT), 0, "not a drop");

	/* the first: it and the two held ones go into a, as copies */
	len = reply_fragment(&e, pkt, 0, 78, 6000);
	env_from_uplink(&e, pkt, len, &r);
	ASSERT_EQ(r.redirect.kind, REDIRECT_CLONE, "sent as copies");
	ASSERT_EQ(r.redirect.ifindex, e.ifindex_ha, "into a");
	/* translated and meant for a (1), then copies: it and the two */
	ASSERT_EQ(r.redirect.count, 1 + 3, "the first and the two held");
	ASSERT_EQ(r.verdict, TC_ACT_SHOT, "the skb itself spent");
	ASSERT_EQ(env_stat(&e, STAT_REVERSE_NAT), 3, "all three delivered");
	/* the skb ends as the last held fragment, translated */
	len = reply_fragment(&e, pkt, 1, 78, 6000);
	check_fragment_bytes(&e, &r, pkt, len);

	/* and once the first is known, a late duplicate just follows */
	len = reply_fragment(&e, pkt, 2, 78, 6000);
	env_from_uplink(&e, pkt, len, &r);
	check_fragment_delivered(&e, &r, pkt, len);
}

/* Fragments to a published port, out of order: as for a SNAT flow's. */
UNIT_TEST(fragments_to_a_published_port)
{
	uint8_t pkt[PKT_MAX];
	struct env e;
	struct run r;
	size_t len;

	if (!env_setup(&e, NULL) ||
	    !env_publish(&e, 0, 9053, IPPROTO_UDP, e.a, 5353))
		return;
	len = reply_fragment(&e, pkt, 2, 80, 9053);
	env_from_uplink(&e, pkt, len, &r);
	ASSERT_EQ(r.verdict, TC_ACT_SHOT, "the last, first: held");
	len = reply_fragment(&e, pkt, 0, 80, 9053);
	env_from_uplink(&e, pkt, len, &r);
	ASSERT_EQ(r.redirect.ifindex, e.ifindex_ha, "the first: into a");
	ASSERT_EQ(r.redirect.count, 1 + 2, "with the held one, as copies");
	ASSERT_EQ(env_stat(&e, STAT_DNAT), 2, "both counted as dnat");
	ASSERT_EQ(env_stat(&e, STAT_REVERSE_NAT), 0, "not as reverse_nat");
	len = reply_fragment(&e, pkt, 2, 80, 9053);
	check_fragment_bytes(&e, &r, pkt, len);
	len = reply_fragment(&e, pkt, 1, 80, 9053);
	env_from_uplink(&e, pkt, len, &r);
	check_fragment_delivered(&e, &r, pkt, len);
}

/* The budget: a datagram's held fragments are bounded. */
UNIT_TEST(fragments_held_within_a_budget)
{
	uint8_t pkt[PKT_MAX];
	struct env e;
	struct run r;
	size_t len;
	int n;

	if (!env_setup(&e, NULL) || !open_flow(&e, 6000))
		return;
	len = reply_fragment(&e, pkt, 1, 79, 6000);
	for (n = 0; n < FRAG_HOLD_PER_DGRAM + 3; n++)
		env_from_uplink(&e, pkt, len, &r);
	ASSERT_EQ(env_stat(&e, STAT_FRAG_HELD), FRAG_HOLD_PER_DGRAM,
		  "held up to the budget");
	ASSERT_EQ(env_stat(&e, STAT_DROP_FRAGMENT), 3, "the rest counted");
	ASSERT_EQ(r.verdict, TC_ACT_SHOT, "and dropped");
}

/* Fragments of a datagram for the host itself are left to its stack. */
UNIT_TEST(fragments_for_the_host_pass)
{
	uint8_t pkt[PKT_MAX];
	struct env e;
	struct run r;
	size_t len;

	if (!env_setup(&e, NULL))
		return;
	for (int n = 0; n < 3; n++) {
		len = reply_fragment(&e, pkt, n, 80, 7777);
		env_from_uplink(&e, pkt, len, &r);
		ASSERT_EQ(r.verdict, TC_ACT_OK, "passed");
		ASSERT_MEM_EQ(r.out, pkt, len, "unchanged");
	}
}

/*
 * A large ping to the host, its last fragment first: held, then sent
 * back into the uplink's receive path after the first, as it came, where
 * seen again it passes to the stack, which answers the ping.
 */
UNIT_TEST(fragments_of_a_ping_to_the_host)
{
	struct pkt_spec s;
	uint8_t first[PKT_MAX], last[PKT_MAX];
	size_t len0, len1;
	struct env e;
	struct run r;

	if (!env_setup(&e, NULL))
		return;
	s = env_spec_reply(&e, IPPROTO_ICMP, e.remote, 9, 9);
	s.icmp_type = ICMP_ECHO;
	s.ip_id = 81;
	s.frag = 1480 / 8;
	s.payload = 500;
	len1 = pkt_build(&s, last);
	s.frag = 0x2000;
	s.payload = 1480 - 8;
	len0 = pkt_build(&s, first);

	env_from_uplink(&e, last, len1, &r);
	ASSERT_EQ(r.verdict, TC_ACT_SHOT, "the last, first: held");
	env_from_uplink(&e, first, len0, &r);
	ASSERT_EQ(r.verdict, TC_ACT_SHOT, "the skb itself spent");
	ASSERT_EQ(r.redirect.kind, REDIRECT_CLONE, "sent as copies");
	ASSERT_EQ(r.redirect.ifindex, e.ifindex_up, "back into the uplink");
	ASSERT_EQ(r.redirect.count, 2, "the first and the held one");
	ASSERT_MEM_EQ(r.out, last, len1, "the held one as it came");
	env_from_uplink(&e, last, len1, &r);
	ASSERT_EQ(r.verdict, TC_ACT_OK, "seen again: to the stack");
	ASSERT_EQ(env_stat(&e, STAT_DROP_FRAGMENT), 0, "nothing dropped");
}

/* A container's later fragments need no ports: only the source changes. */
UNIT_TEST(fragments_from_container)
{
	uint8_t pkt[PKT_MAX];
	struct env e;
	struct run r;
	struct pkt_spec s;
	size_t len;

	if (!env_setup(&e, NULL))
		return;
	/* a later fragment first, then the first one */
	s = env_spec_from(&e, false, IPPROTO_UDP, e.remote, 6000, 53);
	s.frag = 1480 / 8;
	s.payload = 500;
	s.ip_id = 5;
	len = env_send(&e, e.ifindex_ha, &s, pkt, &r);
	ASSERT_EQ(r.verdict, TC_ACT_REDIRECT, "later fragment sent");
	ASSERT_EQ(r.redirect.ifindex, e.ifindex_up, "out of the uplink");
	ASSERT_EQ(pkt_ip(r.out)->saddr, e.snat, "from the SNAT address");
	ASSERT_TRUE(pkt_ip_csum_ok(r.out), "IP checksum");
	ASSERT_MEM_EQ(pkt_l4(r.out), pkt_l4(pkt), 500, "payload untouched");

	s.frag = 0x2000;
	s.payload = 1472;
	len = pkt_build(&s, pkt);
	((struct udphdr *)pkt_l4(pkt))->len = htons(1480 + 500);
	env_from_container(&e, e.ifindex_ha, pkt, len, &r);
	ASSERT_EQ(r.verdict, TC_ACT_REDIRECT, "first fragment sent");
	ASSERT_EQ(pkt_ip(r.out)->saddr, e.snat, "from the SNAT address");
	ASSERT_EQ(env_flows(&e), 1, "the flow of the datagram");
}

/*
 * A full table: unanswered flows make room, oldest first; established
 * ones never do, and then a new flow is refused and counted.
 */
UNIT_TEST(full_table_early_drop)
{
	struct env_opts o = { .ct_max = 64 };
	uint8_t pkt[PKT_MAX];
	struct ct_flow f;
	struct ct_key k;
	struct env e;
	struct run r;
	struct pkt_spec s;
	int i;

	if (!env_setup(&e, &o))
		return;
	for (i = 0; i < 64; i++) {
		s = env_spec_from(&e, false, IPPROTO_UDP, e.remote, 10000 + i,
				  53);
		env_send(&e, e.ifindex_ha, &s, pkt, &r);
		if (!ASSERT_EQ(r.verdict, TC_ACT_REDIRECT, "fill"))
			return;
	}
	/* age flow 0 so it is the oldest unanswered one */
	k = key_of(IPPROTO_UDP, e.a, e.remote, 10000, 53);
	if (!ASSERT_TRUE(env_flow_of(&e, &k, &f), "flow 0"))
		return;
	{
		struct ct_ref ref;
		int idx = bpf_map__fd(e.skel->maps.ct_index);
		int fl = bpf_map__fd(e.skel->maps.ct_flows);

		bpf_map_lookup_elem(idx, &k, &ref);
		f.last_seen_ns -= 60ULL * 1000000000;
		bpf_map_update_elem(fl, &ref.flow, &f, 0);
	}
	s = env_spec_from(&e, false, IPPROTO_UDP, e.remote, 20000, 53);
	env_send(&e, e.ifindex_ha, &s, pkt, &r);
	ASSERT_EQ(r.verdict, TC_ACT_REDIRECT, "a new flow made room");
	ASSERT_TRUE(!env_flow_of(&e, &k, &f), "the oldest unanswered went");
	ASSERT_EQ(env_flows(&e), 64, "still full");
	ASSERT_EQ(env_index_keys(&e), 128, "two keys each, no half pair");

	/* answer every flow: now none may be evicted */
	for (i = 1; i < 64; i++) {
		s = env_spec_reply(&e, IPPROTO_UDP, e.remote, 53, 10000 + i);
		env_receive(&e, &s, pkt, &r);
	}
	s = env_spec_reply(&e, IPPROTO_UDP, e.remote, 53, 20000);
	env_receive(&e, &s, pkt, &r);
	s = env_spec_from(&e, false, IPPROTO_UDP, e.remote, 30000, 53);
	env_send(&e, e.ifindex_ha, &s, pkt, &r);
	ASSERT_EQ(r.verdict, TC_ACT_SHOT, "refused");
	ASSERT_EQ(env_stat(&e, STAT_DROP_CT_FULL), 1, "counted");
	ASSERT_EQ(env_flows(&e), 64, "every established flow kept");
}

/*
 * With a range of 1024 ports and flows from many source ports to one
 * destination, every port of the range is used before the first refusal.
 */
UNIT_TEST(port_range_fully_usable)
{
	struct env_opts o = { .port_lo = 5000, .port_hi = 6023,
			      .ct_max = 2048 };
	uint8_t pkt[PKT_MAX];
	struct env e;
	struct run r;
	struct pkt_spec s;
	int i;

	if (!env_setup(&e, &o))
		return;
	/* source ports outside the range, so none is simply kept */
	for (i = 0; i < 1024; i++) {
		s = env_spec_from(&e, false, IPPROTO_UDP, e.remote, 20000 + i,
				  53);
		env_send(&e, e.ifindex_ha, &s, pkt, &r);
		if (!ASSERT_EQ(r.verdict, TC_ACT_REDIRECT, "flow within range"))
			return;
	}
	s = env_spec_from(&e, false, IPPROTO_UDP, e.remote, 30000, 53);
	env_send(&e, e.ifindex_ha, &s, pkt, &r);
	ASSERT_EQ(env_stat(&e, STAT_DROP_NO_PORT), 1, "the 1025th refused");
	ASSERT_EQ(env_flows(&e), 1024, "100% of the range used");
}

/* RFC 5508 REQ-3: an error whose checksums do not hold is not translated. */
UNIT_TEST(icmp_error_with_bad_checksums_dropped)
{
	uint8_t sent[PKT_MAX], out[PKT_MAX], err[PKT_MAX];
	struct icmphdr *icmp;
	struct env e;
	struct run r;
	struct pkt_spec s;
	size_t len, olen;

	if (!env_setup(&e, NULL))
		return;
	s = env_spec_from(&e, false, IPPROTO_UDP, e.remote, 40000, 53);
	s.payload = 33;		/* an odd length, quoted whole */
	len = pkt_build(&s, sent);
	env_from_container(&e, e.ifindex_ha, sent, len, &r);
	memcpy(out, r.out, r.out_len);
	olen = l3_len(out);

	/* intact, with its odd length: translated */
	len = icmp_error_build(&e, err, e.remote, e.snat, ICMP_DEST_UNREACH,
			       ICMP_PORT_UNREACH, l3(out), olen, true);
	env_from_uplink(&e, err, len, &r);
	ASSERT_EQ(r.redirect.ifindex, e.ifindex_ha, "a good error goes to a");

	/* the ICMP checksum broken */
	len = icmp_error_build(&e, err, e.remote, e.snat, ICMP_DEST_UNREACH,
			       ICMP_PORT_UNREACH, l3(out), olen, true);
	icmp = pkt_l4(err);
	icmp->checksum ^= htons(0x0101);
	env_from_uplink(&e, err, len, &r);
	ASSERT_EQ(r.verdict, TC_ACT_SHOT, "bad ICMP checksum: dropped");

	/* the quoted IP header's checksum broken, the ICMP one made right */
	len = icmp_error_build(&e, err, e.remote, e.snat, ICMP_DEST_UNREACH,
			       ICMP_PORT_UNREACH, l3(out), olen, true);
	icmp = pkt_l4(err);
	((struct iphdr *)(icmp + 1))->check ^= htons(0x0101);
	icmp->checksum = 0;
	icmp->checksum = htons(csum_compute(icmp, 8 + olen, 0));
	env_from_uplink(&e, err, len, &r);
	ASSERT_EQ(r.verdict, TC_ACT_SHOT, "bad quoted IP checksum: dropped");
	ASSERT_EQ(env_stat(&e, STAT_DROP_BAD_ICMP), 2, "both counted");
}

/*
 * Errors are checksummed in chunks of the scratch buffer: quotes of every
 * length around the chunk edges, each length modulo 4, are translated.
 * (Routers quote up to 576 bytes in all, RFC 1812 4.3.2.3.)
 */
UNIT_TEST(icmp_error_quotes_of_any_length)
{
	static const uint16_t payloads[] = {
		468, 469, 470, 471, 472, 473, 474, 475, 476, 500, 512,
		976, 977, 978, 979, 980, 981, 982, 983, 984, 1100,
	};
	uint8_t sent[PKT_MAX], out[PKT_MAX], err[PKT_MAX];
	struct env e;
	struct run r;
	struct pkt_spec s;
	size_t len;

	if (!env_setup(&e, NULL))
		return;
	for (size_t i = 0; i < sizeof(payloads) / sizeof(payloads[0]); i++) {
		s = env_spec_from(&e, false, IPPROTO_UDP, e.remote,
				  40000 + i, 53);
		s.payload = payloads[i];
		len = pkt_build(&s, sent);
		env_from_container(&e, e.ifindex_ha, sent, len, &r);
		memcpy(out, r.out, r.out_len);
		len = icmp_error_build(&e, err, e.remote, e.snat,
				       ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED,
				       l3(out), l3_len(out), true);
		if (!env_from_uplink(&e, err, len, &r))
			return;
		check_error_translated(&e, &r, sent, IPPROTO_UDP);
	}
	ASSERT_EQ(env_stat(&e, STAT_DROP_BAD_ICMP), 0, "none refused");
}
