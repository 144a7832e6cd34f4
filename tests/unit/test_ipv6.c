// SPDX-License-Identifier: GPL-2.0-only
/*
 * IPv6 from a container, packet by packet: forwarded between containers
 * (a router's rewrite, nothing else), the link and the host left to the
 * stack, and the errors of ours (time exceeded, address unreachable, no
 * route to the outside) parsed back and their checksums recomputed from
 * scratch; the guard on IPv6 sources.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip6.h>
#include <netinet/icmp6.h>
#include <linux/pkt_cls.h>
#include <linux/bpf.h>

#include "env.h"
#include "unit.h"

/* A packet from container a (or b) over IPv6, as its stack sends it. */
static struct pkt_spec spec6(struct env *e, bool from_b, uint8_t proto)
{
	struct pkt_spec s = {
		.proto = proto,
		.sport = 5000,
		.dport = 53,
		.payload = 32,
		.icmp_type = ICMP6_ECHO_REQUEST,
	};

	memcpy(s.smac, from_b ? e->mac_cb : e->mac_ca, ETH_ALEN);
	memcpy(s.dmac, from_b ? e->mac_hb : e->mac_ha, ETH_ALEN);
	return s;
}

static const struct ip6_hdr *hdr6(const uint8_t *frame)
{
	return (const struct ip6_hdr *)(frame + ETH_HLEN);
}

/*
 * @r is our ICMPv6 error of @type/@code about @in (@in_len bytes), sent
 * from the gateway back to a: its headers, its quote, and its checksum
 * recomputed from scratch.
 */
static void check_error6(struct env *e, const struct run *r,
			 const uint8_t *in, size_t in_len, uint8_t type,
			 uint8_t code)
{
	const struct ip6_hdr *ip6 = hdr6(r->out);
	const struct icmp6_hdr *icmp = (const void *)(r->out + PKT6_L4_OFF);
	size_t quote = (in_len - ETH_HLEN) & ~3ul;

	if (quote > 504)
		quote = 504;
	ASSERT_EQ(r->verdict, TC_ACT_REDIRECT, "the error is sent");
	ASSERT_EQ(r->redirect.kind, REDIRECT_EGRESS, "back out ...");
	ASSERT_EQ(r->redirect.ifindex, e->ifindex_ha, "... of a's veth");
	ASSERT_MEM_EQ(r->out, e->mac_ca, ETH_ALEN, "to a's MAC");
	ASSERT_MEM_EQ(r->out + ETH_ALEN, e->mac_ha, ETH_ALEN,
		      "from the gateway's MAC on a's veth");
	ASSERT_EQ(ntohs(((const struct ethhdr *)r->out)->h_proto), ETH_P_IPV6,
		  "ethertype");
	ASSERT_EQ(r->out_len, PKT6_L4_OFF + 8 + quote, "length");
	ASSERT_EQ(ntohl(ip6->ip6_flow) >> 28, 6, "version");
	ASSERT_EQ(ntohs(ip6->ip6_plen), 8 + quote, "payload length");
	ASSERT_EQ(ip6->ip6_nxt, IPPROTO_ICMPV6, "next header");
	ASSERT_EQ(ip6->ip6_hlim, 64, "hop limit");
	ASSERT_MEM_EQ(&ip6->ip6_src, &e->gw6, 16, "from the gateway");
	ASSERT_MEM_EQ(&ip6->ip6_dst, &e->a6, 16, "to a");
	ASSERT_EQ(icmp->icmp6_type, type, "type");
	ASSERT_EQ(icmp->icmp6_code, code, "code");
	ASSERT_EQ(icmp->icmp6_data32[0], 0, "unused word");
	ASSERT_MEM_EQ(r->out + PKT6_L4_OFF + 8, in + ETH_HLEN, quote,
		      "the quote: the packet as a sent it");
	ASSERT_TRUE(pkt6_l4_csum_ok(r->out),
		    "ICMPv6 checksum, recomputed with the pseudo header");
}

static void forward6(uint8_t proto)
{
	struct env e;
	struct run r;
	uint8_t pkt[PKT_MAX], expect[PKT_MAX];
	struct pkt_spec s;
	size_t len;

	if (!env_setup(&e, NULL))
		return;
	s = spec6(&e, false, proto);
	s.tcp_flags = TCPF_SYN;
	len = pkt6_build(&s, &e.a6, &e.b6, pkt);
	if (!env_from_container(&e, e.ifindex_ha, pkt, len, &r))
		return;
	ASSERT_EQ(r.verdict, TC_ACT_REDIRECT, "verdict");
	ASSERT_EQ(r.redirect.kind, REDIRECT_PEER, "redirect kind");
	ASSERT_EQ(r.redirect.ifindex, e.ifindex_hb, "into b's namespace");
	/* a router's rewrite: MACs and hop limit; the rest as it was */
	s.ttl = 63;
	memcpy(s.dmac, e.mac_cb, ETH_ALEN);
	memcpy(s.smac, e.mac_hb, ETH_ALEN);
	pkt6_build(&s, &e.a6, &e.b6, expect);
	ASSERT_EQ(r.out_len, len, "length");
	ASSERT_MEM_EQ(r.out, expect, len, "bytes = a router's rewrite");
	ASSERT_TRUE(pkt6_l4_csum_ok(r.out), "L4 checksum from scratch");
	ASSERT_EQ(env_stat(&e, STAT_FORWARD6), 1, "forwarded6");
	ASSERT_EQ(env_stat(&e, STAT_FORWARD), 0, "not IPv4's counter");
	ASSERT_EQ(env_flows(&e), 0, "no conntrack state");
}

UNIT_TEST(ipv6_forward_udp_between_containers) { forward6(IPPROTO_UDP); }
UNIT_TEST(ipv6_forward_tcp_between_containers) { forward6(IPPROTO_TCP); }

UNIT_TEST(ipv6_spoofed_source_dropped)
{
	struct env e;
	struct run r;
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;
	size_t len;

	if (!env_setup(&e, NULL))
		return;
	/* b's address from a's veth */
	s = spec6(&e, false, IPPROTO_UDP);
	len = pkt6_build(&s, &e.b6, &e.a6, pkt);
	env_from_container(&e, e.ifindex_ha, pkt, len, &r);
	ASSERT_EQ(r.verdict, TC_ACT_SHOT, "b's source on a's veth");
	/* an address no container has, to the outside */
	struct in6_addr other = ip6("fd00:18::77");

	len = pkt6_build(&s, &other, &e.remote6, pkt);
	env_from_container(&e, e.ifindex_ha, pkt, len, &r);
	ASSERT_EQ(r.verdict, TC_ACT_SHOT, "a stranger's source");
	ASSERT_EQ(r.redirect.count, 0, "nothing sent");
	ASSERT_EQ(env_stat(&e, STAT_DROP_SPOOFED), 2, "drop_spoofed_source");
}

UNIT_TEST(ipv6_hop_limit_exceeded_answered)
{
	struct env e;
	struct run r;
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;
	size_t len;

	if (!env_setup(&e, NULL))
		return;
	s = spec6(&e, false, IPPROTO_UDP);
	s.ttl = 1;
	len = pkt6_build(&s, &e.a6, &e.b6, pkt);
	if (!env_from_container(&e, e.ifindex_ha, pkt, len, &r))
		return;
	check_error6(&e, &r, pkt, len, ICMP6_TIME_EXCEEDED,
		     ICMP6_TIME_EXCEED_TRANSIT);
	ASSERT_EQ(env_stat(&e, STAT_DROP_TTL), 1, "drop_ttl_exceeded");
	ASSERT_EQ(env_stat(&e, STAT_FORWARD6), 0, "not forwarded");
}

UNIT_TEST(ipv6_no_container_address_unreachable)
{
	struct in6_addr nobody;
	struct env e;
	struct run r;
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;
	size_t len;

	if (!env_setup(&e, NULL))
		return;
	nobody = ip6("fd00:18::77");
	/* a large datagram: the quote is cut to 504 bytes */
	s = spec6(&e, false, IPPROTO_UDP);
	s.payload = 1000;
	len = pkt6_build(&s, &e.a6, &nobody, pkt);
	if (!env_from_container(&e, e.ifindex_ha, pkt, len, &r))
		return;
	check_error6(&e, &r, pkt, len, ICMP6_DST_UNREACH,
		     ICMP6_DST_UNREACH_ADDR);
	ASSERT_EQ(env_stat(&e, STAT_DROP_NO_CONTAINER), 1, "drop_no_container");
}

UNIT_TEST(ipv6_outside_refused_no_route)
{
	struct in6_addr nowhere;
	struct env e;
	struct run r;
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;
	size_t len;

	if (!env_setup(&e, NULL))
		return;
	/* via the uplink: the default route */
	s = spec6(&e, false, IPPROTO_TCP);
	s.tcp_flags = TCPF_SYN;
	len = pkt6_build(&s, &e.a6, &e.remote6, pkt);
	if (!env_from_container(&e, e.ifindex_ha, pkt, len, &r))
		return;
	check_error6(&e, &r, pkt, len, ICMP6_DST_UNREACH,
		     ICMP6_DST_UNREACH_NOROUTE);
	/* ICMPv6 echo, the same */
	s = spec6(&e, false, IPPROTO_ICMPV6);
	len = pkt6_build(&s, &e.a6, &e.remote6, pkt);
	env_from_container(&e, e.ifindex_ha, pkt, len, &r);
	check_error6(&e, &r, pkt, len, ICMP6_DST_UNREACH,
		     ICMP6_DST_UNREACH_NOROUTE);
	ASSERT_EQ(env_stat(&e, STAT_DROP_NO_NAT66), 2, "drop_no_nat66");

	/* an ICMPv6 error to the outside: dropped, never answered */
	s = spec6(&e, false, IPPROTO_ICMPV6);
	s.icmp_type = ICMP6_DST_UNREACH;
	len = pkt6_build(&s, &e.a6, &e.remote6, pkt);
	env_from_container(&e, e.ifindex_ha, pkt, len, &r);
	ASSERT_EQ(r.verdict, TC_ACT_SHOT, "an error about an error");
	ASSERT_EQ(r.redirect.count, 0, "not answered");
	ASSERT_EQ(env_stat(&e, STAT_DROP_NO_NAT66), 3, "counted all the same");

	/* with no route at all, the FIB says what it says of the host's
	 * own addresses: the stack's, which answers "no route" itself,
	 * and nothing can leave
	 */
	if (!ASSERT_OK(system("ip -6 route del default"), "remove the route"))
		return;
	nowhere = ip6("2001:db8:ffff::1");
	s = spec6(&e, false, IPPROTO_UDP);
	len = pkt6_build(&s, &e.a6, &nowhere, pkt);
	env_from_container(&e, e.ifindex_ha, pkt, len, &r);
	ASSERT_EQ(r.verdict, TC_ACT_OK, "no route: the stack's");
	ASSERT_MEM_EQ(r.out, pkt, len, "unchanged");
	ASSERT_EQ(env_stat(&e, STAT_DROP_NO_NAT66), 3, "not counted again");
}

/* What is the stack's passes unchanged: the gateway, the host's own
 * address, the link (neighbour discovery); multicast beyond the link is
 * dropped.
 */
UNIT_TEST(ipv6_link_gateway_and_host_passed)
{
	struct in6_addr sol = ip6("ff02::1:ff00:1"), ll = ip6("fe80::1"),
			site = ip6("ff05::1:3");
	struct env e;
	struct run r;
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;
	size_t len;
	const struct {
		const struct in6_addr *dst;
		const char *what;
	} passed[] = {
		{ &sol, "a neighbour solicitation's group" },
		{ &ll, "a link-local address" },
		{ &e.gw6, "the gateway" },
		{ &e.uplink6, "the host's uplink address" },
	};

	if (!env_setup(&e, NULL))
		return;
	s = spec6(&e, false, IPPROTO_ICMPV6);
	for (size_t i = 0; i < sizeof(passed) / sizeof(passed[0]); i++) {
		len = pkt6_build(&s, &e.a6, passed[i].dst, pkt);
		env_from_container(&e, e.ifindex_ha, pkt, len, &r);
		CHECK(r.verdict == TC_ACT_OK, "%s: verdict %d", passed[i].what,
		      r.verdict);
		ASSERT_MEM_EQ(r.out, pkt, len, "unchanged");
	}
	ASSERT_EQ(env_stat(&e, STAT_PASS), 4, "passed");
	s = spec6(&e, false, IPPROTO_UDP);
	len = pkt6_build(&s, &e.a6, &site, pkt);
	env_from_container(&e, e.ifindex_ha, pkt, len, &r);
	ASSERT_EQ(r.verdict, TC_ACT_SHOT, "site-scope multicast");
	ASSERT_EQ(env_stat(&e, STAT_DROP_MULTICAST6), 1, "drop_multicast6");
}

UNIT_TEST(ipv6_malformed_dropped)
{
	struct env e;
	struct run r;
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;
	size_t len;

	if (!env_setup(&e, NULL))
		return;
	s = spec6(&e, false, IPPROTO_UDP);
	len = pkt6_build(&s, &e.a6, &e.b6, pkt);
	/* a payload length longer than the frame */
	((struct ip6_hdr *)(pkt + ETH_HLEN))->ip6_plen = htons(2000);
	env_from_container(&e, e.ifindex_ha, pkt, len, &r);
	ASSERT_EQ(r.verdict, TC_ACT_SHOT, "too long");
	ASSERT_EQ(env_stat(&e, STAT_DROP_BAD_LENGTH), 1, "drop_bad_length");
	/* an IPv4 header where IPv6 was announced (a frame too short for
	 * an IPv6 header BPF_PROG_TEST_RUN refuses itself)
	 */
	len = pkt6_build(&s, &e.a6, &e.b6, pkt);
	((struct ip6_hdr *)(pkt + ETH_HLEN))->ip6_flow = htonl(4 << 28);
	env_from_container(&e, e.ifindex_ha, pkt, len, &r);
	ASSERT_EQ(r.verdict, TC_ACT_SHOT, "version 4");
	ASSERT_EQ(env_stat(&e, STAT_DROP_BAD_IHL), 1, "drop_bad_ihl");
	ASSERT_EQ(env_stat(&e, STAT_FORWARD6), 0, "nothing forwarded");
}

UNIT_TEST(ipv6_guard_drops_pool_sources)
{
	struct in6_addr any = {}, doc = ip6("2001:db8::5");
	struct env e;
	struct run r;
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;
	size_t len;

	if (!env_setup(&e, NULL))
		return;
	s = spec6(&e, false, IPPROTO_UDP);
	len = pkt6_build(&s, &e.a6, &e.remote6, pkt);
	env_guard(&e, pkt, len, &r);
	ASSERT_EQ(r.verdict, TC_ACT_SHOT, "a pool source: dropped");
	ASSERT_EQ(env_stat(&e, STAT_DROP_LEAK), 1, "drop_unnated_leak");
	/* the unspecified address (DAD, MLD) and the host's own: through */
	len = pkt6_build(&s, &any, &e.remote6, pkt);
	env_guard(&e, pkt, len, &r);
	ASSERT_EQ(r.verdict, TC_ACT_OK, ":: through");
	len = pkt6_build(&s, &doc, &e.remote6, pkt);
	env_guard(&e, pkt, len, &r);
	ASSERT_EQ(r.verdict, TC_ACT_OK, "another prefix through");
	len = pkt6_build(&s, &e.uplink6, &e.remote6, pkt);
	env_guard(&e, pkt, len, &r);
	ASSERT_EQ(r.verdict, TC_ACT_OK, "the uplink's address through");
	ASSERT_MEM_EQ(r.out, pkt, len, "unchanged");
	ASSERT_EQ(env_stat(&e, STAT_DROP_LEAK), 1, "counted once");
}

UNIT_TEST(ipv6_xdp_forwards_and_leaves_the_rest_to_tc)
{
	struct env_opts o = { .xdp = true };
	struct env e;
	struct run r;
	uint8_t pkt[PKT_MAX], expect[PKT_MAX];
	struct pkt_spec s;
	size_t len;

	if (!env_setup(&e, &o))
		return;
	s = spec6(&e, false, IPPROTO_UDP);
	len = pkt6_build(&s, &e.a6, &e.b6, pkt);
	if (!env_xdp_from_container(&e, e.ifindex_ha, pkt, len, &r))
		return;
	ASSERT_EQ(r.verdict, XDP_REDIRECT, "verdict");
	ASSERT_EQ(r.redirect.ifindex, e.ifindex_hb, "out of b's host side");
	s.ttl = 63;
	memcpy(s.dmac, e.mac_cb, ETH_ALEN);
	memcpy(s.smac, e.mac_hb, ETH_ALEN);
	pkt6_build(&s, &e.a6, &e.b6, expect);
	ASSERT_MEM_EQ(r.out, expect, len, "the same rewrite as tc's");
	ASSERT_EQ(env_stat_xdp(&e, STAT_FORWARD6), 1, "XDP's forwarded6");
	/* what needs an answer is tc's */
	len = pkt6_build(&s, &e.a6, &e.remote6, pkt);
	env_xdp_from_container(&e, e.ifindex_ha, pkt, len, &r);
	ASSERT_EQ(r.verdict, XDP_PASS, "the outside: to tc");
	ASSERT_MEM_EQ(r.out, pkt, len, "unchanged");
	ASSERT_EQ(env_stat_xdp(&e, STAT_TO_TC), 1, "xdp_to_tc");
}
