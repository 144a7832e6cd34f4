// SPDX-License-Identifier: GPL-2.0-only
/*
 * NAT66, packet by packet: a container's TCP, UDP and ICMPv6 echo leave
 * with the IPv6 SNAT address, and the answers come back to it, each
 * packet compared byte for byte with the one a NAT router would send,
 * its L4 checksum recomputed from scratch; a port taken is remapped; a
 * flow's tuple from another veth, and what follows an extension header,
 * never leave.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip6.h>
#include <netinet/icmp6.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>

#include "checks.h"
#include "env.h"
#include "unit.h"

static const struct env_opts nat66 = { .nat66 = true };

/* The port (or echo id) the SNAT gave the packet in @frame. */
static uint16_t sport_of(const uint8_t *frame, uint8_t proto)
{
	const uint8_t *l4 = frame + PKT6_L4_OFF;

	return ntohs(*(const uint16_t *)(l4 + (proto == IPPROTO_ICMPV6 ? 4 : 0)));
}

/* @r must be @s as a NAT66 router sends it on, from the SNAT address
 * and @port.
 */
static void check_snat6(const struct env *e, const struct run *r,
			struct pkt_spec s, size_t len, uint16_t port)
{
	check6_out(e, r, s, len, &e->uplink6, port, &e->remote6);
}

/* @r must be the answer @s delivered into a, to its port @port. */
static void check_reverse6(const struct env *e, const struct run *r,
			   struct pkt_spec s, size_t len, uint16_t port)
{
	check6_into(e, r, s, len, false, &e->remote6,
		    s.proto == IPPROTO_ICMPV6 ? port : s.sport, port);
}

static void out_and_back(uint8_t proto, const struct env_opts *o)
{
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s, a;
	struct env e;
	struct run r;
	size_t len;

	if (!env_setup(&e, o))
		return;
	s = spec6_out(&e, false, proto, 5000);
	len = pkt6_build(&s, &e.a6, &e.remote6, pkt);
	if (!env_from_container(&e, e.ifindex_ha, pkt, len, &r))
		return;
	/* the container's own port, free: kept */
	check_snat6(&e, &r, s, len, 5000);
	ASSERT_EQ(env_flows(&e), 1, "one flow");

	a = spec6_answer(&e, s, 5000);
	len = pkt6_build(&a, &e.remote6, &e.uplink6, pkt);
	if (!env_from_uplink(&e, pkt, len, &r))
		return;
	check_reverse6(&e, &r, a, len, 5000);
	ASSERT_EQ(env_stat(&e, STAT_SNAT6), 1, "snat6");
	ASSERT_EQ(env_stat(&e, STAT_REVERSE_NAT6), 1, "reverse_nat6");
	ASSERT_EQ(env_stat(&e, STAT_SNAT), 0, "not IPv4's counter");

	/* the next packet of the flow, the same way */
	s.tcp_flags = TCPF_ACK;
	len = pkt6_build(&s, &e.a6, &e.remote6, pkt);
	if (!env_from_container(&e, e.ifindex_ha, pkt, len, &r))
		return;
	check_snat6(&e, &r, s, len, 5000);
	ASSERT_EQ(env_flows(&e), 1, "still one flow");
}

UNIT_TEST(nat66_udp_out_and_back) { out_and_back(IPPROTO_UDP, &nat66); }
UNIT_TEST(nat66_tcp_out_and_back) { out_and_back(IPPROTO_TCP, &nat66); }
UNIT_TEST(nat66_echo_out_and_back) { out_and_back(IPPROTO_ICMPV6, &nat66); }

/* The same with CHECKSUM_COMPLETE skbs, as a NIC hands them in: the
 * kernel checks that skb->csum still sums the packet after each run.
 */
static const struct env_opts nat66_complete = {
	.nat66 = true, .csum_complete = true,
};

UNIT_TEST(nat66_udp_checksum_complete)
{
	out_and_back(IPPROTO_UDP, &nat66_complete);
}

UNIT_TEST(nat66_tcp_checksum_complete)
{
	out_and_back(IPPROTO_TCP, &nat66_complete);
}

UNIT_TEST(nat66_echo_checksum_complete)
{
	out_and_back(IPPROTO_ICMPV6, &nat66_complete);
}

/* b holds port 5000 towards the remote: a's flow gets another, and the
 * answers to each reach its own container.
 */
static void remapped(uint8_t proto)
{
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s, a;
	struct env e;
	struct run r;
	uint16_t port;
	size_t len;

	if (!env_setup(&e, &nat66))
		return;
	s = spec6_out(&e, true, proto, 5000);
	len = pkt6_build(&s, &e.b6, &e.remote6, pkt);
	if (!env_from_container(&e, e.ifindex_hb, pkt, len, &r))
		return;
	ASSERT_EQ(sport_of(r.out, proto), 5000, "b keeps its port");

	s = spec6_out(&e, false, proto, 5000);
	len = pkt6_build(&s, &e.a6, &e.remote6, pkt);
	if (!env_from_container(&e, e.ifindex_ha, pkt, len, &r))
		return;
	port = sport_of(r.out, proto);
	ASSERT_NE(port, 5000, "a's flow remapped");
	check_snat6(&e, &r, s, len, port);

	a = spec6_answer(&e, s, port);
	len = pkt6_build(&a, &e.remote6, &e.uplink6, pkt);
	if (!env_from_uplink(&e, pkt, len, &r))
		return;
	/* back to a, at the port it sent from */
	check_reverse6(&e, &r, a, len, 5000);
}

UNIT_TEST(nat66_udp_port_taken_remapped) { remapped(IPPROTO_UDP); }
UNIT_TEST(nat66_tcp_port_taken_remapped) { remapped(IPPROTO_TCP); }

UNIT_TEST(nat66_unknown_answer_left_to_the_host)
{
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;
	struct env e;
	struct run r;
	size_t len;

	if (!env_setup(&e, &nat66))
		return;
	/* no flow has this tuple: the host's, as it came */
	s = spec6_answer(&e, spec6_out(&e, false, IPPROTO_UDP, 5000), 5000);
	len = pkt6_build(&s, &e.remote6, &e.uplink6, pkt);
	if (!env_from_uplink(&e, pkt, len, &r))
		return;
	ASSERT_EQ(r.verdict, TC_ACT_OK, "to the stack");
	ASSERT_EQ(r.redirect.count, 0, "not redirected");
	ASSERT_MEM_EQ(r.out, pkt, len, "untouched");
	ASSERT_EQ(env_stat(&e, STAT_PASS), 1, "passed");
}

/* a's flow's tuple, sent from b's veth, is b's spoof: never NATed. */
UNIT_TEST(nat66_flow_from_another_veth_dropped)
{
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;
	struct env e;
	struct run r;
	size_t len;

	if (!env_setup(&e, &nat66))
		return;
	s = spec6_out(&e, false, IPPROTO_UDP, 5000);
	len = pkt6_build(&s, &e.a6, &e.remote6, pkt);
	if (!env_from_container(&e, e.ifindex_ha, pkt, len, &r))
		return;
	if (!env_from_container(&e, e.ifindex_hb, pkt, len, &r))
		return;
	ASSERT_EQ(r.verdict, TC_ACT_SHOT, "dropped");
	ASSERT_EQ(env_stat(&e, STAT_DROP_SPOOFED), 1, "drop_spoofed_source");
	ASSERT_EQ(env_stat(&e, STAT_SNAT6), 1, "a's packet alone");
}

/* What follows an extension header is not translated, nor let out. */
UNIT_TEST(nat66_extension_header_dropped)
{
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;
	struct env e;
	struct run r;
	size_t len;

	if (!env_setup(&e, &nat66))
		return;
	s = spec6_out(&e, false, IPPROTO_UDP, 5000);
	len = pkt6_build(&s, &e.a6, &e.remote6, pkt);
	pkt[ETH_HLEN + 6] = 60;	/* next header: destination options */
	if (!env_from_container(&e, e.ifindex_ha, pkt, len, &r))
		return;
	ASSERT_EQ(r.verdict, TC_ACT_SHOT, "dropped");
	ASSERT_EQ(r.redirect.count, 0, "nothing sent");
	ASSERT_EQ(env_stat(&e, STAT_DROP_IPV6_EXT), 1, "drop_ipv6_ext_header");
	ASSERT_EQ(env_flows(&e), 0, "no flow");
}

/* XDP leaves NAT66 to the tc hook, as it came. */
UNIT_TEST(nat66_xdp_leaves_it_to_tc)
{
	const struct env_opts o = { .nat66 = true, .xdp = true };
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;
	struct env e;
	struct run r;
	size_t len;

	if (!env_setup(&e, &o))
		return;
	s = spec6_out(&e, false, IPPROTO_UDP, 5000);
	len = pkt6_build(&s, &e.a6, &e.remote6, pkt);
	if (!env_xdp_from_container(&e, e.ifindex_ha, pkt, len, &r))
		return;
	ASSERT_EQ(r.verdict, XDP_PASS, "passed on");
	ASSERT_MEM_EQ(r.out, pkt, len, "untouched");
	ASSERT_EQ(env_stat_xdp(&e, STAT_TO_TC), 1, "xdp_to_tc");
	ASSERT_EQ(env_flows(&e), 0, "no flow made by XDP");
}

/*
 * An established flow's packets both ways, on XDP: sent on by XDP itself,
 * byte for byte as tc sends them, checksums right from scratch.
 */
static void xdp_as_tc(uint8_t proto)
{
	const struct env_opts o = { .nat66 = true, .xdp = true };
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s, a;
	struct run r, x;
	struct env e;
	size_t len;

	if (!env_setup(&e, &o))
		return;
	/* the first packet makes the flow, on tc */
	s = spec6_out(&e, false, proto, 5000);
	len = pkt6_build(&s, &e.a6, &e.remote6, pkt);
	if (!env_from_container(&e, e.ifindex_ha, pkt, len, &r))
		return;
	check_snat6(&e, &r, s, len, 5000);

	/* the next one: XDP's, as tc's */
	s.tcp_flags = TCPF_ACK;
	len = pkt6_build(&s, &e.a6, &e.remote6, pkt);
	if (!env_xdp_from_container(&e, e.ifindex_ha, pkt, len, &x) ||
	    !env_from_container(&e, e.ifindex_ha, pkt, len, &r))
		return;
	ASSERT_EQ(x.verdict, XDP_REDIRECT, "out: XDP sends it");
	ASSERT_EQ(x.redirect.ifindex, e.ifindex_up, "out: to the uplink");
	ASSERT_EQ(x.out_len, r.out_len, "out: length as tc");
	ASSERT_MEM_EQ(x.out, r.out, r.out_len, "out: bytes as tc");
	check_snat6(&e, &r, s, len, 5000);
	ASSERT_TRUE(pkt6_l4_csum_ok(x.out), "out: L4 checksum from scratch");

	/* the answer */
	a = spec6_answer(&e, s, 5000);
	a.tcp_flags = TCPF_ACK;
	len = pkt6_build(&a, &e.remote6, &e.uplink6, pkt);
	if (!env_xdp_from_uplink(&e, pkt, len, &x) ||
	    !env_from_uplink(&e, pkt, len, &r))
		return;
	ASSERT_EQ(x.verdict, XDP_REDIRECT, "back: XDP sends it");
	ASSERT_EQ(x.redirect.ifindex, e.ifindex_ha, "back: into a");
	ASSERT_EQ(x.out_len, r.out_len, "back: length as tc");
	ASSERT_MEM_EQ(x.out, r.out, r.out_len, "back: bytes as tc");
	check_reverse6(&e, &r, a, len, 5000);
	ASSERT_TRUE(pkt6_l4_csum_ok(x.out), "back: L4 checksum from scratch");
	ASSERT_EQ(env_stat_xdp(&e, STAT_SNAT6), 1, "snat6 by XDP");
	ASSERT_EQ(env_stat_xdp(&e, STAT_REVERSE_NAT6), 1, "reverse_nat6 by XDP");
	ASSERT_EQ(env_flows(&e), 1, "one flow");
}

UNIT_TEST(nat66_xdp_udp_as_tc) { xdp_as_tc(IPPROTO_UDP); }
UNIT_TEST(nat66_xdp_tcp_as_tc) { xdp_as_tc(IPPROTO_TCP); }
UNIT_TEST(nat66_xdp_echo_as_tc) { xdp_as_tc(IPPROTO_ICMPV6); }
