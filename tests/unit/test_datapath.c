// SPDX-License-Identifier: GPL-2.0-only
/*
 * The tc data path, packet by packet: verdict, redirect target, every
 * output byte that should change (and those that should not), checksums
 * recomputed from scratch, and the conntrack state left behind.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "checks.h"
#include "env.h"
#include "unit.h"

UNIT_TEST(forward_between_containers)
{
	struct env e;
	struct run r;
	uint8_t pkt[PKT_MAX], expect[PKT_MAX];
	struct pkt_spec s;
	size_t len;

	if (!env_setup(&e, NULL))
		return;
	s = env_spec_from(&e, false, IPPROTO_UDP, e.b, 5000, 53);
	len = pkt_build(&s, pkt);
	if (!env_from_container(&e, e.ifindex_ha, pkt, len, &r))
		return;

	ASSERT_EQ(r.verdict, TC_ACT_REDIRECT, "verdict");
	ASSERT_EQ(r.redirect.kind, REDIRECT_PEER, "redirect kind");
	ASSERT_EQ(r.redirect.ifindex, e.ifindex_hb, "into b's namespace");
	/* a router's rewrite: MACs and TTL, addresses and ports kept */
	s.ttl = 63;
	memcpy(s.dmac, e.mac_cb, ETH_ALEN);
	memcpy(s.smac, e.mac_hb, ETH_ALEN);
	pkt_build(&s, expect);
	ASSERT_EQ(r.out_len, len, "length");
	ASSERT_MEM_EQ(r.out, expect, len, "bytes = a router's rewrite");
	ASSERT_TRUE(pkt_ip_csum_ok(r.out), "IP checksum");
	ASSERT_EQ(env_stat(&e, STAT_FORWARD), 1, "forwarded counter");
	ASSERT_EQ(env_flows(&e), 0, "no conntrack state");
}

static void snat_new_and_established(uint8_t proto)
{
	struct env e;
	struct run r;
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;
	struct ct_flow f;
	struct ct_key k, rk;
	size_t len;

	if (!env_setup(&e, NULL))
		return;
	s = env_spec_from(&e, false, proto, e.remote, 40000, 80);
	s.tcp_flags = TCPF_SYN;
	len = pkt_build(&s, pkt);
	if (!env_from_container(&e, e.ifindex_ha, pkt, len, &r))
		return;
	check_snat(&e, &r, pkt, 40000);

	k = key_of(proto, e.a, e.remote, 40000, proto == IPPROTO_ICMP ? 0 : 80);
	if (!ASSERT_TRUE(env_flow_of(&e, &k, &f), "flow for the tuple"))
		return;
	ASSERT_EQ(f.kind, CT_KIND_SNAT, "flow: a SNAT flow");
	ASSERT_EQ(f.tuple[CT_DIR_REPLY].daddr, e.snat, "flow: SNAT address");
	ASSERT_EQ(ntohs(f.tuple[CT_DIR_REPLY].dport), 40000,
		  "flow: port preserved");
	ASSERT_EQ(f.ifindex[CT_DIR_ORIG], e.ifindex_ha,
		  "flow: container's veth");
	ASSERT_EQ(f.ifindex[CT_DIR_REPLY], 0, "flow: answered from outside");
	ASSERT_EQ(f.packets[CT_DIR_ORIG], 1, "flow: one packet out");
	ASSERT_EQ(f.bytes[CT_DIR_ORIG], len - ETH_HLEN, "flow: bytes out");
	ASSERT_EQ(f.state, proto == IPPROTO_TCP ? CT_SYN_SENT : CT_NEW,
		  "flow: state");
	rk = f.tuple[CT_DIR_REPLY];
	ASSERT_TRUE(env_has_key(&e, &rk), "reply key present");
	ASSERT_EQ(env_index_keys(&e), 2, "two keys for one flow");

	/* established: the same mapping, counted */
	s.tcp_flags = TCPF_ACK;
	len = pkt_build(&s, pkt);
	if (!env_from_container(&e, e.ifindex_ha, pkt, len, &r))
		return;
	check_snat(&e, &r, pkt, 40000);
	env_flow_of(&e, &k, &f);
	ASSERT_EQ(f.packets[CT_DIR_ORIG], 2, "flow: two packets out");
	ASSERT_EQ(env_flows(&e), 1, "still one flow");
	ASSERT_EQ(env_stat(&e, STAT_SNAT), 2, "snat counter");
}

UNIT_TEST(snat_tcp)
{
	snat_new_and_established(IPPROTO_TCP);
}

UNIT_TEST(snat_udp)
{
	snat_new_and_established(IPPROTO_UDP);
}

UNIT_TEST(snat_icmp_echo)
{
	snat_new_and_established(IPPROTO_ICMP);
}

UNIT_TEST(snat_udp_zero_checksum_stays_zero)
{
	struct env e;
	struct run r;
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;
	size_t len;

	if (!env_setup(&e, NULL))
		return;
	s = env_spec_from(&e, false, IPPROTO_UDP, e.remote, 40000, 53);
	s.udp_no_csum = true;
	len = pkt_build(&s, pkt);
	if (!env_from_container(&e, e.ifindex_ha, pkt, len, &r))
		return;
	check_snat(&e, &r, pkt, 40000);
	ASSERT_EQ(((struct udphdr *)pkt_l4(r.out))->check, 0,
		  "UDP checksum still 0");
}

static void reply_reverse_nat(uint8_t proto)
{
	struct env e;
	struct run r;
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;
	struct ct_flow f;
	struct ct_key k;
	size_t len;

	if (!env_setup(&e, NULL))
		return;
	s = env_spec_from(&e, false, proto, e.remote, 40000, 80);
	s.tcp_flags = TCPF_SYN;
	len = pkt_build(&s, pkt);
	if (!env_from_container(&e, e.ifindex_ha, pkt, len, &r))
		return;

	s = env_spec_reply(&e, proto, e.remote,
			   proto == IPPROTO_ICMP ? 0 : 80, 40000);
	s.tcp_flags = TCPF_SYN | TCPF_ACK;
	s.ack = 1001;		/* it acks the SYN (seq 1000) */
	if (proto == IPPROTO_ICMP)
		s.sport = 40000;	/* the echo id */
	len = pkt_build(&s, pkt);
	if (!env_from_uplink(&e, pkt, len, &r))
		return;
	check_dnat(&e, &r, pkt, 40000);

	k = key_of(proto, e.a, e.remote, 40000, proto == IPPROTO_ICMP ? 0 : 80);
	env_flow_of(&e, &k, &f);
	ASSERT_EQ(f.packets[CT_DIR_REPLY], 1, "flow: one reply");
	ASSERT_EQ(f.bytes[CT_DIR_REPLY], len - ETH_HLEN, "flow: reply bytes");
	ASSERT_TRUE(f.flags & CT_F_REPLIED, "flow: replied");
	ASSERT_EQ(f.state, proto == IPPROTO_TCP ? CT_SYN_RECV : CT_ESTABLISHED,
		  "flow: state after reply");
	ASSERT_EQ(env_stat(&e, STAT_REVERSE_NAT), 1, "reverse_nat counter");
}

UNIT_TEST(reply_tcp)
{
	reply_reverse_nat(IPPROTO_TCP);
}

UNIT_TEST(reply_udp)
{
	reply_reverse_nat(IPPROTO_UDP);
}

UNIT_TEST(reply_icmp_echo)
{
	reply_reverse_nat(IPPROTO_ICMP);
}

/* Two containers, one source port, one destination: two mappings. */
UNIT_TEST(port_collision)
{
	struct env e;
	struct run ra, rb, r;
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;
	uint16_t pa, pb;

	if (!env_setup(&e, NULL))
		return;
	s = env_spec_from(&e, false, IPPROTO_TCP, e.remote, 40000, 80);
	env_send(&e, e.ifindex_ha, &s, pkt, &ra);
	s = env_spec_from(&e, true, IPPROTO_TCP, e.remote, 40000, 80);
	env_send(&e, e.ifindex_hb, &s, pkt, &rb);

	pa = ntohs(*(uint16_t *)pkt_l4(ra.out));
	pb = ntohs(*(uint16_t *)pkt_l4(rb.out));
	ASSERT_EQ(pa, 40000, "first keeps its port");
	ASSERT_NE(pb, 40000, "second gets another");
	ASSERT_TRUE(pb >= 1024, "inside the range");
	ASSERT_TRUE(pkt_l4_csum_ok(rb.out), "second's checksum");
	ASSERT_EQ(env_flows(&e), 2, "two flows");

	/* each reply finds its own container */
	s = env_spec_reply(&e, IPPROTO_TCP, e.remote, 80, pb);
	env_receive(&e, &s, pkt, &r);
	ASSERT_EQ(r.redirect.ifindex, e.ifindex_hb, "reply to b's port -> b");
	ASSERT_EQ(pkt_ip(r.out)->daddr, e.b, "to b's address");
	ASSERT_EQ(ntohs(((uint16_t *)pkt_l4(r.out))[1]), 40000,
		  "b's own port restored");
	s = env_spec_reply(&e, IPPROTO_TCP, e.remote, 80, pa);
	env_receive(&e, &s, pkt, &r);
	ASSERT_EQ(r.redirect.ifindex, e.ifindex_ha, "reply to a's port -> a");
}

/* A small range: exhausted per destination, reused across them. */
UNIT_TEST(port_range_exhaustion)
{
	struct env_opts o = { .port_lo = 2000, .port_hi = 2001 };
	struct env e;
	struct run r;
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;
	int i;

	if (!env_setup(&e, &o))
		return;
	for (i = 0; i < 3; i++) {
		s = env_spec_from(&e, false, IPPROTO_UDP, e.remote, 5000 + i,
				  53);
		env_send(&e, e.ifindex_ha, &s, pkt, &r);
		if (i < 2) {
			ASSERT_EQ(r.verdict, TC_ACT_REDIRECT, "within range");
			ASSERT_EQ(ntohs(*(uint16_t *)pkt_l4(r.out)) & ~1, 2000,
				  "a port of the range");
		} else {
			check_icmp_answer(&e, &r, pkt, ICMP_DEST_UNREACH, 13);
		}
	}
	ASSERT_EQ(env_stat(&e, STAT_DROP_NO_PORT), 1, "counted");
	ASSERT_EQ(env_flows(&e), 2, "no flow for the refused one");
	ASSERT_EQ(env_index_keys(&e), 4, "no stray key");

	/* another destination has all its ports */
	s = env_spec_from(&e, false, IPPROTO_UDP, e.far, 5000, 53);
	env_send(&e, e.ifindex_ha, &s, pkt, &r);
	ASSERT_EQ(r.verdict, TC_ACT_REDIRECT, "other destination");
}

/*
 * An excluded network via the uplink (a cluster's other nodes' pods) is
 * routed there by the data path as it is: a router's rewrite, no flow.
 */
UNIT_TEST(excluded_destination_routed_unchanged)
{
	struct env_opts o = { .exclude = "203.0.113.0/24" };
	uint8_t pkt[PKT_MAX], expect[PKT_MAX];
	struct env e;
	struct run r;
	struct pkt_spec s;
	size_t len;

	if (!env_setup(&e, &o))
		return;
	s = env_spec_from(&e, false, IPPROTO_TCP, e.far, 40000, 80);
	len = env_send(&e, e.ifindex_ha, &s, pkt, &r);
	ASSERT_EQ(r.verdict, TC_ACT_REDIRECT, "verdict");
	ASSERT_EQ(r.redirect.kind, REDIRECT_EGRESS, "redirect kind");
	ASSERT_EQ(r.redirect.ifindex, e.ifindex_up, "out of the uplink");
	s.ttl = 63;
	memcpy(s.dmac, e.mac_gw, ETH_ALEN);
	memcpy(s.smac, e.mac_up, ETH_ALEN);
	pkt_build(&s, expect);
	ASSERT_EQ(r.out_len, len, "length");
	ASSERT_MEM_EQ(r.out, expect, len, "bytes = a router's rewrite");
	ASSERT_TRUE(pkt_ip_csum_ok(r.out), "IP checksum");
	ASSERT_EQ(env_flows(&e), 0, "no flow");
	ASSERT_EQ(env_stat(&e, STAT_ROUTED), 1, "routed counter");
	ASSERT_EQ(env_stat(&e, STAT_SNAT), 0, "not NATed");

	/* and so are echo replies, ICMP errors about its packets, other
	 * protocols and later fragments
	 */
	s = env_spec_from(&e, false, IPPROTO_ICMP, e.far, 0, 7);
	s.icmp_type = ICMP_ECHOREPLY;
	env_send(&e, e.ifindex_ha, &s, pkt, &r);
	ASSERT_EQ(r.verdict, TC_ACT_REDIRECT, "echo reply: routed");
	s.icmp_type = ICMP_DEST_UNREACH;
	env_send(&e, e.ifindex_ha, &s, pkt, &r);
	ASSERT_EQ(r.verdict, TC_ACT_REDIRECT, "ICMP error: routed");
	ASSERT_EQ(pkt_ip(r.out)->saddr, e.a, "ICMP error: its own source");
	s = env_spec_from(&e, false, 47, e.far, 0, 0);
	env_send(&e, e.ifindex_ha, &s, pkt, &r);
	ASSERT_EQ(r.verdict, TC_ACT_REDIRECT, "GRE: routed");
	s = env_spec_from(&e, false, IPPROTO_UDP, e.far, 5000, 53);
	s.frag = 100;
	env_send(&e, e.ifindex_ha, &s, pkt, &r);
	ASSERT_EQ(r.verdict, TC_ACT_REDIRECT, "later fragment: routed");
	ASSERT_EQ(pkt_ip(r.out)->saddr, e.a, "later fragment: its own source");
	ASSERT_EQ(env_stat(&e, STAT_ROUTED), 5, "all routed");
	ASSERT_EQ(env_flows(&e), 0, "still no flow");
}

/*
 * From an excluded network to a container's own address: routed straight
 * into it, un-NATed.  From anywhere else, or to the gateway, it is the
 * host's as before.
 */
UNIT_TEST(excluded_source_routed_into_the_container)
{
	struct env_opts o = { .exclude = "203.0.113.0/24" };
	uint8_t pkt[PKT_MAX], expect[PKT_MAX];
	struct env e;
	struct run r;
	struct pkt_spec s;
	size_t len;

	if (!env_setup(&e, &o))
		return;
	s = env_spec_reply(&e, IPPROTO_TCP, e.far, 40000, 80);
	s.daddr = e.a;
	s.tcp_flags = TCPF_SYN;
	len = env_receive(&e, &s, pkt, &r);
	ASSERT_EQ(r.verdict, TC_ACT_REDIRECT, "verdict");
	ASSERT_EQ(r.redirect.kind, REDIRECT_PEER, "redirect kind");
	ASSERT_EQ(r.redirect.ifindex, e.ifindex_ha, "into a's namespace");
	s.ttl = 63;
	memcpy(s.dmac, e.mac_ca, ETH_ALEN);
	memcpy(s.smac, e.mac_ha, ETH_ALEN);
	pkt_build(&s, expect);
	ASSERT_EQ(r.out_len, len, "length");
	ASSERT_MEM_EQ(r.out, expect, len, "bytes = a router's rewrite");
	ASSERT_TRUE(pkt_ip_csum_ok(r.out), "IP checksum");
	ASSERT_EQ(env_stat(&e, STAT_ROUTED), 1, "routed counter");
	ASSERT_EQ(env_flows(&e), 0, "no flow");

	s = env_spec_reply(&e, IPPROTO_ICMP, e.far, 7, 0);
	s.daddr = e.b;
	s.icmp_type = ICMP_ECHO;
	env_receive(&e, &s, pkt, &r);
	ASSERT_EQ(r.redirect.ifindex, e.ifindex_hb, "a ping into b's");

	/* not from an excluded network, to the gateway, TTL 1: the host's */
	s = env_spec_reply(&e, IPPROTO_TCP, e.remote, 40000, 80);
	s.daddr = e.a;
	len = env_receive(&e, &s, pkt, &r);
	ASSERT_EQ(r.verdict, TC_ACT_OK, "another source: the stack's");
	ASSERT_MEM_EQ(r.out, pkt, len, "unchanged");
	s = env_spec_reply(&e, IPPROTO_ICMP, e.far, 7, 0);
	s.daddr = e.gw;
	s.icmp_type = ICMP_ECHO;
	env_receive(&e, &s, pkt, &r);
	ASSERT_EQ(r.verdict, TC_ACT_OK, "the gateway: the host's");
	s.daddr = e.a;
	s.ttl = 1;
	env_receive(&e, &s, pkt, &r);
	ASSERT_EQ(r.verdict, TC_ACT_OK, "TTL 1: the stack answers");
	ASSERT_EQ(env_stat(&e, STAT_ROUTED), 2, "only those routed");
}

UNIT_TEST(traffic_to_the_host_passes)
{
	uint32_t dsts[2];
	struct env e;
	struct run r;
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;
	size_t len;

	if (!env_setup(&e, NULL))
		return;
	dsts[0] = e.snat;	/* the host's uplink address */
	dsts[1] = e.gw;		/* the gateway */
	for (int i = 0; i < 2; i++) {
		s = env_spec_from(&e, false, IPPROTO_TCP, dsts[i], 40000, 22);
		len = env_send(&e, e.ifindex_ha, &s, pkt, &r);
		ASSERT_EQ(r.verdict, TC_ACT_OK, "passed to the stack");
		ASSERT_MEM_EQ(r.out, pkt, len, "unchanged");
	}
	ASSERT_EQ(env_flows(&e), 0, "no flow");
}

UNIT_TEST(arp_passes_untouched)
{
	static const uint8_t arp[42] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0x0a, 2,
		0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0x0a, 2,
		172, 18, 0, 2, 0, 0, 0, 0, 0, 0, 172, 18, 0, 1,
	};
	struct env e;
	struct run r;

	if (!env_setup(&e, NULL))
		return;
	env_from_container(&e, e.ifindex_ha, arp, sizeof(arp), &r);
	ASSERT_EQ(r.verdict, TC_ACT_OK, "container's ARP passes");
	ASSERT_MEM_EQ(r.out, arp, sizeof(arp), "unchanged");
	env_from_uplink(&e, arp, sizeof(arp), &r);
	ASSERT_EQ(r.verdict, TC_ACT_OK, "uplink's ARP passes");
}

UNIT_TEST(spoofed_source_dropped)
{
	struct env e;
	struct run r;
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;
	size_t len;

	if (!env_setup(&e, NULL))
		return;
	/* b's address, from a's veth: to the outside and to a container */
	s = env_spec_from(&e, true, IPPROTO_UDP, e.remote, 5000, 53);
	len = env_send(&e, e.ifindex_ha, &s, pkt, &r);
	ASSERT_EQ(r.verdict, TC_ACT_SHOT, "to the outside");
	s.saddr = ip("172.18.9.9");
	s.daddr = e.b;
	len = env_send(&e, e.ifindex_ha, &s, pkt, &r);
	ASSERT_EQ(r.verdict, TC_ACT_SHOT, "to a container");
	ASSERT_EQ(env_stat(&e, STAT_DROP_SPOOFED), 2, "counted");
	ASSERT_EQ(env_flows(&e), 0, "no flow");

	/* an established flow cannot be borrowed from another veth */
	s = env_spec_from(&e, false, IPPROTO_UDP, e.remote, 5000, 53);
	len = env_send(&e, e.ifindex_ha, &s, pkt, &r);
	env_from_container(&e, e.ifindex_hb, pkt, len, &r);
	ASSERT_EQ(r.verdict, TC_ACT_SHOT, "a's flow sent from b's veth");
}

UNIT_TEST(unknown_reply_passes)
{
	struct env e;
	struct run r;
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;
	size_t len;

	if (!env_setup(&e, NULL))
		return;
	s = env_spec_reply(&e, IPPROTO_TCP, e.remote, 80, 40000);
	len = env_receive(&e, &s, pkt, &r);
	ASSERT_EQ(r.verdict, TC_ACT_OK, "for the host's own sockets");
	ASSERT_MEM_EQ(r.out, pkt, len, "unchanged");
}

/*
 * Every truncation of every kind of packet, from both sides: a verdict of
 * the allowed set, never a crash, and a counter for every drop.  The IP
 * header's own truncations are the total-length cases below.
 */
UNIT_TEST(truncated_at_every_boundary)
{
	static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP,
					  IPPROTO_ICMP };
	uint64_t drops_before, drops_after;
	struct env e;
	struct run r;
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;
	size_t len, cut;
	int shot = 0;

	if (!env_setup(&e, NULL))
		return;
	for (size_t p = 0; p < sizeof(protos); p++) {
		s = env_spec_from(&e, false, protos[p], e.remote, 40000, 80);
		s.payload = 8;
		len = pkt_build(&s, pkt);
		/* From a whole IP header on: the kernel's test run refuses
		 * an IPv4 frame with less (the verifier proves the parser
		 * never reads past the data it has).
		 */
		for (cut = ETH_HLEN + sizeof(struct iphdr); cut < len; cut++) {
			drops_before = 0;
			for (int id = 0; id < STAT_MAX; id++)
				if (STAT_IS_DROP(id))
					drops_before += env_stat(&e, id);
			if (!env_from_container(&e, e.ifindex_ha, pkt, cut, &r))
				return;
			drops_after = 0;
			for (int id = 0; id < STAT_MAX; id++)
				if (STAT_IS_DROP(id))
					drops_after += env_stat(&e, id);
			if (!CHECK(r.verdict == TC_ACT_SHOT ||
				   r.verdict == TC_ACT_OK,
				   "proto %u cut at %zu: verdict %d", protos[p],
				   cut, r.verdict))
				return;
			if (r.verdict == TC_ACT_SHOT) {
				shot++;
				CHECK(drops_after == drops_before + 1,
				      "proto %u cut at %zu: drop not counted",
				      protos[p], cut);
			}
			if (!env_from_uplink(&e, pkt, cut, &r))
				return;
			CHECK(r.verdict == TC_ACT_OK,
			      "uplink, proto %u cut at %zu: verdict %d",
			      protos[p], cut, r.verdict);
		}
	}
	ASSERT_TRUE(shot > 0, "truncations were dropped");
	ASSERT_EQ(env_flows(&e), 0, "no flow from a truncated packet");
}

/* Each malformation by name, and its counter. */
enum spoil {
	SPOIL_IHL_LOW,
	SPOIL_VERSION,
	SPOIL_IP_OPTIONS,
	SPOIL_TOT_LEN_LONG,
	SPOIL_TOT_LEN_SHORT,
	SPOIL_TCP_DOFF_LOW,
	SPOIL_TCP_DOFF_HIGH,
	SPOIL_UDP_LEN,
};

static void spoil(uint8_t *pkt, enum spoil how)
{
	struct iphdr *ip = pkt_ip(pkt);

	switch (how) {
	case SPOIL_IHL_LOW:
		ip->ihl = 4;
		break;
	case SPOIL_VERSION:
		ip->version = 6;
		break;
	case SPOIL_IP_OPTIONS:
		ip->ihl = 6;
		break;
	case SPOIL_TOT_LEN_LONG:
		ip->tot_len = htons(1400);
		break;
	case SPOIL_TOT_LEN_SHORT:
		ip->tot_len = htons(10);
		break;
	case SPOIL_TCP_DOFF_LOW:
		((struct tcphdr *)pkt_l4(pkt))->doff = 4;
		break;
	case SPOIL_TCP_DOFF_HIGH:
		((struct tcphdr *)pkt_l4(pkt))->doff = 15;
		break;
	case SPOIL_UDP_LEN:
		((struct udphdr *)pkt_l4(pkt))->len = htons(9);
		break;
	}
}

UNIT_TEST(malformed_headers_counted)
{
	static const struct {
		const char *what;
		uint8_t proto;
		enum spoil how;
		int stat;
	} cases[] = {
		{ "IHL below 5", IPPROTO_UDP, SPOIL_IHL_LOW,
		  STAT_DROP_BAD_IHL },
		{ "version 6 in an IPv4 frame", IPPROTO_UDP, SPOIL_VERSION,
		  STAT_DROP_BAD_IHL },
		{ "IP options", IPPROTO_UDP, SPOIL_IP_OPTIONS,
		  STAT_DROP_IP_OPTIONS },
		{ "total length beyond the frame", IPPROTO_UDP,
		  SPOIL_TOT_LEN_LONG, STAT_DROP_BAD_LENGTH },
		{ "total length below a header", IPPROTO_UDP,
		  SPOIL_TOT_LEN_SHORT, STAT_DROP_BAD_LENGTH },
		{ "TCP data offset below 5", IPPROTO_TCP, SPOIL_TCP_DOFF_LOW,
		  STAT_DROP_BAD_TCP_OFFSET },
		{ "TCP data offset beyond the packet", IPPROTO_TCP,
		  SPOIL_TCP_DOFF_HIGH, STAT_DROP_BAD_TCP_OFFSET },
		{ "UDP length mismatch", IPPROTO_UDP, SPOIL_UDP_LEN,
		  STAT_DROP_BAD_UDP_LENGTH },
	};
	struct env e;
	struct run r;
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;
	size_t len;

	if (!env_setup(&e, NULL))
		return;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t before = env_stat(&e, cases[i].stat);

		s = env_spec_from(&e, false, cases[i].proto, e.remote, 40000,
				  80);
		len = pkt_build(&s, pkt);
		spoil(pkt, cases[i].how);
		env_from_container(&e, e.ifindex_ha, pkt, len, &r);
		CHECK(r.verdict == TC_ACT_SHOT, "%s: verdict %d", cases[i].what,
		      r.verdict);
		CHECK(env_stat(&e, cases[i].stat) == before + 1,
		      "%s: counted under its reason", cases[i].what);
	}
	ASSERT_EQ(env_flows(&e), 0, "no flow from a malformed packet");
}

UNIT_TEST(flush_removes_both_keys)
{
	struct __sk_buff ctx = {};
	char eth[ETH_HLEN] = {};
	DECLARE_LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = eth,
			    .data_size_in = sizeof(eth), .ctx_in = &ctx,
			    .ctx_size_in = sizeof(ctx), .repeat = 1);
	struct env e;
	struct run r;
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;
	size_t len;

	if (!env_setup(&e, NULL))
		return;
	for (int i = 0; i < 3; i++) {
		s = env_spec_from(&e, i == 2, IPPROTO_UDP, e.remote, 5000 + i,
				  53);
		len = pkt_build(&s, pkt);
		env_from_container(&e, i == 2 ? e.ifindex_hb : e.ifindex_ha,
				   pkt, len, &r);
	}
	ASSERT_EQ(env_flows(&e), 3, "three flows");

	/* only a's */
	ctx.cb[0] = e.a;
	ASSERT_OK(bpf_prog_test_run_opts(
			  bpf_program__fd(e.skel->progs.ct_flush), &opts),
		  "run ct_flush");
	ASSERT_EQ(opts.retval, 2, "a's two flows removed");
	ASSERT_EQ(env_flows(&e), 1, "b's flow stays");
	ASSERT_EQ(env_index_keys(&e), 2, "with its two keys only");

	ctx.cb[0] = 0;
	bpf_prog_test_run_opts(bpf_program__fd(e.skel->progs.ct_flush), &opts);
	ASSERT_EQ(opts.retval, 1, "the rest");
	ASSERT_EQ(env_index_keys(&e), 0, "no key left");

	/* the slots are free again: a full table's worth of flows fits */
	for (uint32_t i = 0; i < e.cfg.ct_max; i++) {
		s = env_spec_from(&e, false, IPPROTO_UDP, e.remote,
				  10000 + i, 53);
		len = env_send(&e, e.ifindex_ha, &s, pkt, &r);
		if (!ASSERT_EQ(r.verdict, TC_ACT_REDIRECT, "refill"))
			return;
	}
}

/* a asks who has b: the data path answers with a's gateway MAC. */
UNIT_TEST(arp_for_a_container_answered)
{
	uint8_t req[42] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0x0a, 2,
		0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0x0a, 2,
		172, 18, 0, 2, 0, 0, 0, 0, 0, 0, 172, 18, 0, 3,
	};
	uint8_t want[42] = {
		2, 0, 0, 0, 0x0a, 2, 2, 0, 0, 0, 0x0a, 1,
		0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 2, 2, 0, 0, 0, 0x0a, 1,
		172, 18, 0, 3, 2, 0, 0, 0, 0x0a, 2, 172, 18, 0, 2,
	};
	struct env e;
	struct run r;

	if (!env_setup(&e, NULL))
		return;
	env_from_container(&e, e.ifindex_ha, req, sizeof(req), &r);
	ASSERT_EQ(r.verdict, TC_ACT_REDIRECT, "answered");
	ASSERT_EQ(r.redirect.kind, REDIRECT_EGRESS, "sent out");
	ASSERT_EQ(r.redirect.ifindex, e.ifindex_ha, "back to a");
	ASSERT_MEM_EQ(r.out, want, sizeof(want), "the reply's bytes");
	ASSERT_EQ(env_stat(&e, STAT_ARP_REPLY), 1, "counted");

	/* asked from the wrong veth, the question goes to the stack */
	env_from_container(&e, e.ifindex_hb, req, sizeof(req), &r);
	ASSERT_EQ(r.verdict, TC_ACT_OK, "not a's veth: passed");
	/* an address no container has: answered the same, so that the
	 * container sends what the data path answers "host unreachable"
	 */
	req[41] = 77;
	want[31] = 77;
	env_from_container(&e, e.ifindex_ha, req, sizeof(req), &r);
	ASSERT_EQ(r.verdict, TC_ACT_REDIRECT, "unknown address: answered");
	ASSERT_MEM_EQ(r.out, want, sizeof(want), "the same reply");
	/* the gateway is the host's own address: its stack answers */
	req[41] = 1;
	env_from_container(&e, e.ifindex_ha, req, sizeof(req), &r);
	ASSERT_EQ(r.verdict, TC_ACT_OK, "the gateway: passed");
}

/* Echo ids are not ports: one below the port range is kept as it is. */
UNIT_TEST(snat_icmp_id_outside_port_range_kept)
{
	struct env_opts o = { .port_lo = 2000, .port_hi = 2001 };
	struct env e;
	struct run r;
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;

	if (!env_setup(&e, &o))
		return;
	s = env_spec_from(&e, false, IPPROTO_ICMP, e.remote, 44, 0);
	env_send(&e, e.ifindex_ha, &s, pkt, &r);
	check_snat(&e, &r, pkt, 44);
}

/* What cannot be translated never leaves with a container's address. */
UNIT_TEST(untranslatable_never_leaks)
{
	struct env e;
	struct run r;
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;

	if (!env_setup(&e, NULL))
		return;
	/* GRE to the outside: dropped, counted */
	s = env_spec_from(&e, false, 47, e.remote, 0, 0);
	env_send(&e, e.ifindex_ha, &s, pkt, &r);
	ASSERT_EQ(r.verdict, TC_ACT_SHOT, "GRE outwards");
	/* an ICMP timestamp request to the outside: the same */
	s = env_spec_from(&e, false, IPPROTO_ICMP, e.remote, 7, 0);
	s.icmp_type = 13;
	env_send(&e, e.ifindex_ha, &s, pkt, &r);
	ASSERT_EQ(r.verdict, TC_ACT_SHOT, "ICMP timestamp outwards");
	ASSERT_EQ(env_stat(&e, STAT_DROP_UNSUPPORTED), 2, "counted");
	/* to the host itself they are the host's business */
	s = env_spec_from(&e, false, 47, e.snat, 0, 0);
	env_send(&e, e.ifindex_ha, &s, pkt, &r);
	ASSERT_EQ(r.verdict, TC_ACT_OK, "GRE to the host");
	s.daddr = e.gw;
	env_send(&e, e.ifindex_ha, &s, pkt, &r);
	ASSERT_EQ(r.verdict, TC_ACT_OK, "GRE to the gateway");
}

/* SNAT and its reply with CHECKSUM_COMPLETE skbs, as a NIC hands them in:
 * skb->csum still sums each packet after the run (the kernel checks).
 */
UNIT_TEST(snat_and_reply_checksum_complete)
{
	const struct env_opts o = { .csum_complete = true };
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;
	struct env e;
	struct run r;

	if (!env_setup(&e, &o))
		return;
	s = env_spec_from(&e, false, IPPROTO_UDP, e.remote, 5000, 80);
	if (!env_send(&e, e.ifindex_ha, &s, pkt, &r))
		return;
	ASSERT_EQ(r.verdict, TC_ACT_REDIRECT, "SNATed out");
	s = env_spec_reply(&e, IPPROTO_UDP, e.remote, 80, 5000);
	if (!env_receive(&e, &s, pkt, &r))
		return;
	ASSERT_EQ(r.verdict, TC_ACT_REDIRECT, "the reply, into a");
	ASSERT_EQ(r.redirect.ifindex, e.ifindex_ha, "a's veth");
}
