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
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

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
 * from the gateway back to a (or b): its headers, its quote, and its
 * checksum recomputed from scratch.
 */
static void check_error6_to(struct env *e, const struct run *r,
			    const uint8_t *in, size_t in_len, uint8_t type,
			    uint8_t code, bool to_b)
{
	const struct ip6_hdr *ip6 = hdr6(r->out);
	const struct icmp6_hdr *icmp = (const void *)(r->out + PKT6_L4_OFF);
	size_t quote = (in_len - ETH_HLEN) & ~3ul;

	if (quote > 504)
		quote = 504;
	ASSERT_EQ(r->verdict, TC_ACT_REDIRECT, "the error is sent");
	ASSERT_EQ(r->redirect.kind, REDIRECT_EGRESS, "back out ...");
	ASSERT_EQ(r->redirect.ifindex, to_b ? e->ifindex_hb : e->ifindex_ha,
		  "... of the sender's veth");
	ASSERT_MEM_EQ(r->out, to_b ? e->mac_cb : e->mac_ca, ETH_ALEN,
		      "to the sender's MAC");
	ASSERT_MEM_EQ(r->out + ETH_ALEN, to_b ? e->mac_hb : e->mac_ha,
		      ETH_ALEN, "from the gateway's MAC on the sender's veth");
	ASSERT_EQ(ntohs(((const struct ethhdr *)r->out)->h_proto), ETH_P_IPV6,
		  "ethertype");
	ASSERT_EQ(r->out_len, PKT6_L4_OFF + 8 + quote, "length");
	ASSERT_EQ(ntohl(ip6->ip6_flow) >> 28, 6, "version");
	ASSERT_EQ(ntohs(ip6->ip6_plen), 8 + quote, "payload length");
	ASSERT_EQ(ip6->ip6_nxt, IPPROTO_ICMPV6, "next header");
	ASSERT_EQ(ip6->ip6_hlim, 64, "hop limit");
	ASSERT_MEM_EQ(&ip6->ip6_src, &e->gw6, 16, "from the gateway");
	ASSERT_MEM_EQ(&ip6->ip6_dst, to_b ? &e->b6 : &e->a6, 16,
		      "to the sender");
	ASSERT_EQ(icmp->icmp6_type, type, "type");
	ASSERT_EQ(icmp->icmp6_code, code, "code");
	ASSERT_EQ(icmp->icmp6_data32[0], 0, "unused word");
	ASSERT_MEM_EQ(r->out + PKT6_L4_OFF + 8, in + ETH_HLEN, quote,
		      "the quote: the packet as it was sent");
	ASSERT_TRUE(pkt6_l4_csum_ok(r->out),
		    "ICMPv6 checksum, recomputed with the pseudo header");
}

static void check_error6(struct env *e, const struct run *r,
			 const uint8_t *in, size_t in_len, uint8_t type,
			 uint8_t code)
{
	check_error6_to(e, r, in, in_len, type, code, false);
}

/* Build @s from @src to @dst and run it from a's (or b's) veth; the
 * packet's length, 0 if it could not be run.
 */
static size_t send6(struct env *e, bool from_b, const struct pkt_spec *s,
		    const struct in6_addr *src, const struct in6_addr *dst,
		    uint8_t *pkt, struct run *r)
{
	size_t len = pkt6_build(s, src, dst, pkt);

	if (!env_from_container(e, from_b ? e->ifindex_hb : e->ifindex_ha,
				pkt, len, r))
		return 0;
	return len;
}

/* @r is @s from @src to @dst as a router forwards it into a's (or b's,
 * @to_b) namespace: that container's and its host side's MACs, the hop
 * limit one less (pkt6_build's 0 is 64), every other byte as sent, the L4
 * checksum right from scratch.
 */
static void check_forwarded6(const struct env *e, const struct run *r,
			     struct pkt_spec s, const struct in6_addr *src,
			     const struct in6_addr *dst, bool to_b,
			     size_t len)
{
	uint8_t expect[PKT_MAX];

	s.ttl = (s.ttl ? s.ttl : 64) - 1;
	memcpy(s.dmac, to_b ? e->mac_cb : e->mac_ca, ETH_ALEN);
	memcpy(s.smac, to_b ? e->mac_hb : e->mac_ha, ETH_ALEN);
	pkt6_build(&s, src, dst, expect);
	ASSERT_EQ(r->out_len, len, "length");
	ASSERT_MEM_EQ(r->out, expect, len, "bytes = a router's rewrite");
	ASSERT_TRUE(pkt6_l4_csum_ok(r->out), "L4 checksum from scratch");
}

static void forward6(uint8_t proto)
{
	struct env e;
	struct run r;
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;
	size_t len;

	if (!env_setup(&e, NULL))
		return;
	s = spec6(&e, false, proto);
	s.tcp_flags = TCPF_SYN;
	len = send6(&e, false, &s, &e.a6, &e.b6, pkt, &r);
	if (!len)
		return;
	ASSERT_EQ(r.verdict, TC_ACT_REDIRECT, "verdict");
	ASSERT_EQ(r.redirect.kind, REDIRECT_PEER, "redirect kind");
	ASSERT_EQ(r.redirect.ifindex, e.ifindex_hb, "into b's namespace");
	check_forwarded6(&e, &r, s, &e.a6, &e.b6, true, len);
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
	ASSERT_EQ(env_stat6(&e, STAT_DROP_TTL), 1, "... of which IPv6");
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
	ASSERT_EQ(env_stat6(&e, STAT_DROP_BAD_LENGTH), 1,
		  "... of which IPv6, malformed as it is");
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
	ASSERT_EQ(env_stat6(&e, STAT_DROP_LEAK), 1, "... of which IPv6");
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
	uint8_t pkt[PKT_MAX];
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
	/* the same rewrite as tc's */
	check_forwarded6(&e, &r, s, &e.a6, &e.b6, true, len);
	ASSERT_EQ(env_stat_xdp(&e, STAT_FORWARD6), 1, "XDP's forwarded6");
	/* what needs an answer is tc's */
	len = pkt6_build(&s, &e.a6, &e.remote6, pkt);
	env_xdp_from_container(&e, e.ifindex_ha, pkt, len, &r);
	ASSERT_EQ(r.verdict, XDP_PASS, "the outside: to tc");
	ASSERT_MEM_EQ(r.out, pkt, len, "unchanged");
	ASSERT_EQ(env_stat_xdp(&e, STAT_TO_TC), 1, "xdp_to_tc");
}

UNIT_TEST(ipv6_forward_icmpv6_echo_between_containers)
{
	forward6(IPPROTO_ICMPV6);
}

/* From b to a, the last hop a packet has: forwarded with hop limit 1;
 * one with none left is answered, back to b.
 */
UNIT_TEST(ipv6_forward_b_to_a_last_hop_then_exceeded)
{
	struct env e;
	struct run r;
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;
	size_t len;

	if (!env_setup(&e, NULL))
		return;
	s = spec6(&e, true, IPPROTO_UDP);
	s.ttl = 2;
	len = send6(&e, true, &s, &e.b6, &e.a6, pkt, &r);
	if (!ASSERT_NE(len, 0, "run"))
		return;
	ASSERT_EQ(r.verdict, TC_ACT_REDIRECT, "hop limit 2: verdict");
	ASSERT_EQ(r.redirect.kind, REDIRECT_PEER, "redirect kind");
	ASSERT_EQ(r.redirect.ifindex, e.ifindex_ha, "into a's namespace");
	/* MACs and hop limit 1, as sent */
	check_forwarded6(&e, &r, s, &e.b6, &e.a6, false, len);

	/* hop limit 0 (pkt6_build's 0 is 64): refused as 1 is */
	s = spec6(&e, true, IPPROTO_UDP);
	len = pkt6_build(&s, &e.b6, &e.a6, pkt);
	((struct ip6_hdr *)(pkt + ETH_HLEN))->ip6_hlim = 0;
	if (!env_from_container(&e, e.ifindex_hb, pkt, len, &r))
		return;
	check_error6_to(&e, &r, pkt, len, ICMP6_TIME_EXCEEDED,
			ICMP6_TIME_EXCEED_TRANSIT, true);
	ASSERT_EQ(env_stat(&e, STAT_FORWARD6), 1, "forwarded6");
	ASSERT_EQ(env_stat(&e, STAT_DROP_TTL), 1, "drop_ttl_exceeded");
}

/* The quote is the packet's first bytes in whole words, at most 504; a
 * packet too short to quote (less than its header and 8 bytes) is dropped
 * unanswered.
 */
UNIT_TEST(ipv6_error_quote_in_whole_words)
{
	/* IPv6 lengths 81, 503, 504, 505, 48 */
	static const uint16_t payloads[] = { 33, 455, 456, 457, 0 };
	struct in6_addr nobody = ip6("fd00:18::77");
	struct env e;
	struct run r;
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;
	size_t len;

	if (!env_setup(&e, NULL))
		return;
	for (size_t i = 0; i < sizeof(payloads) / sizeof(payloads[0]); i++) {
		s = spec6(&e, false, IPPROTO_UDP);
		s.payload = payloads[i];
		len = send6(&e, false, &s, &e.a6, &nobody, pkt, &r);
		check_error6(&e, &r, pkt, len, ICMP6_DST_UNREACH,
			     ICMP6_DST_UNREACH_ADDR);
	}
	/* 44 bytes: nothing after the header but 4 (no next header) */
	s = spec6(&e, false, IPPROTO_NONE);
	s.payload = 4;
	len = send6(&e, false, &s, &e.a6, &nobody, pkt, &r);
	ASSERT_EQ(r.verdict, TC_ACT_SHOT, "too short to quote: dropped");
	ASSERT_EQ(r.redirect.count, 0, "not answered");
	/* 48 bytes, the least an error quotes */
	s.payload = 8;
	len = send6(&e, false, &s, &e.a6, &nobody, pkt, &r);
	check_error6(&e, &r, pkt, len, ICMP6_DST_UNREACH,
		     ICMP6_DST_UNREACH_ADDR);
	ASSERT_EQ(env_stat(&e, STAT_DROP_NO_CONTAINER), 7, "drop_no_container");
}

/* Never an error about an ICMPv6 error (types below 128), whatever the
 * error would have been; an informational message is answered.
 */
UNIT_TEST(ipv6_no_error_about_an_error)
{
	struct in6_addr nobody = ip6("fd00:18::77");
	struct env e;
	struct run r;
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;
	size_t len;

	if (!env_setup(&e, NULL))
		return;
	s = spec6(&e, false, IPPROTO_ICMPV6);
	s.icmp_type = ICMP6_DST_UNREACH;
	send6(&e, false, &s, &e.a6, &nobody, pkt, &r);
	ASSERT_EQ(r.verdict, TC_ACT_SHOT, "unreachable, to nobody: dropped");
	ASSERT_EQ(r.redirect.count, 0, "... unanswered");
	ASSERT_EQ(env_stat(&e, STAT_DROP_NO_CONTAINER), 1, "drop_no_container");

	s.ttl = 1;
	s.icmp_type = ICMP6_TIME_EXCEEDED;
	send6(&e, false, &s, &e.a6, &e.b6, pkt, &r);
	ASSERT_EQ(r.verdict, TC_ACT_SHOT, "time exceeded, out of hops");
	ASSERT_EQ(r.redirect.count, 0, "... unanswered");
	s.icmp_type = 127;	/* the last error type */
	send6(&e, false, &s, &e.a6, &e.b6, pkt, &r);
	ASSERT_EQ(r.verdict, TC_ACT_SHOT, "type 127, out of hops");
	ASSERT_EQ(r.redirect.count, 0, "... unanswered");
	ASSERT_EQ(env_stat(&e, STAT_DROP_TTL), 2, "drop_ttl_exceeded");

	s.icmp_type = ICMP6_ECHO_REQUEST;	/* 128: informational */
	len = send6(&e, false, &s, &e.a6, &e.b6, pkt, &r);
	check_error6(&e, &r, pkt, len, ICMP6_TIME_EXCEEDED,
		     ICMP6_TIME_EXCEED_TRANSIT);
	ASSERT_EQ(env_stat(&e, STAT_DROP_TTL), 3, "counted too");
	ASSERT_EQ(env_stat(&e, STAT_FORWARD6), 0, "nothing forwarded");

	/* an error behind a destination options header, to the outside:
	 * what follows an extension header is not read, so never answered
	 */
	s.ttl = 64;
	s.icmp_type = ICMP6_DST_UNREACH;
	len = pkt6_build(&s, &e.a6, &e.remote6, pkt);
	{
		struct ip6_hdr *ip6 = (struct ip6_hdr *)(pkt + ETH_HLEN);
		static const uint8_t dstopts[8] = { IPPROTO_ICMPV6, 0, 1, 4 };

		memmove(pkt + PKT6_L4_OFF + 8, pkt + PKT6_L4_OFF,
			len - PKT6_L4_OFF);
		memcpy(pkt + PKT6_L4_OFF, dstopts, sizeof(dstopts));
		ip6->ip6_nxt = IPPROTO_DSTOPTS;
		ip6->ip6_plen = htons(ntohs(ip6->ip6_plen) + 8);
		len += 8;
	}
	env_from_container(&e, e.ifindex_ha, pkt, len, &r);
	ASSERT_EQ(r.verdict, TC_ACT_SHOT, "behind an extension header: dropped");
	ASSERT_EQ(r.redirect.count, 0, "... unanswered");
	ASSERT_EQ(env_stat(&e, STAT_DROP_NO_NAT66), 1, "drop_no_nat66");
}

/* Multicast by scope (RFC 4291 2.7, whatever the flags): the node's and
 * the link's to the stack, even from :: (duplicate address detection)
 * before any source check; beyond the link, dropped.
 */
UNIT_TEST(ipv6_multicast_by_scope)
{
	static const char *const passed[] = {
		"ff01::1", "ff02::1", "ff02::1:ff00:1", "ff12::1:2",
	};
	static const char *const dropped[] = {
		"ff05::1", "ff08::1", "ff0e::1", "ff15::1",
	};
	struct in6_addr unspec = {}, dst;
	struct env e;
	struct run r;
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;
	size_t len;

	if (!env_setup(&e, NULL))
		return;
	s = spec6(&e, false, IPPROTO_UDP);
	for (size_t i = 0; i < sizeof(passed) / sizeof(passed[0]); i++) {
		dst = ip6(passed[i]);
		len = send6(&e, false, &s, &e.a6, &dst, pkt, &r);
		CHECK(r.verdict == TC_ACT_OK && !memcmp(r.out, pkt, len),
		      "%s: verdict %d, to the stack unchanged", passed[i],
		      r.verdict);
	}
	for (size_t i = 0; i < sizeof(dropped) / sizeof(dropped[0]); i++) {
		dst = ip6(dropped[i]);
		send6(&e, false, &s, &e.a6, &dst, pkt, &r);
		CHECK(r.verdict == TC_ACT_SHOT && !r.redirect.count,
		      "%s: verdict %d, dropped unanswered", dropped[i],
		      r.verdict);
	}
	/* a neighbour solicitation for duplicate address detection */
	s = spec6(&e, false, IPPROTO_ICMPV6);
	s.icmp_type = ND_NEIGHBOR_SOLICIT;
	dst = ip6("ff02::1:ff00:2");
	len = send6(&e, false, &s, &unspec, &dst, pkt, &r);
	ASSERT_EQ(r.verdict, TC_ACT_OK, "DAD from ::");
	ASSERT_MEM_EQ(r.out, pkt, len, "unchanged");
	ASSERT_EQ(env_stat(&e, STAT_PASS), 5, "passed");
	ASSERT_EQ(env_stat(&e, STAT_DROP_MULTICAST6), 4, "drop_multicast6");
	ASSERT_EQ(env_stat(&e, STAT_DROP_SPOOFED), 0, "no source checked");
}

/* A config without an IPv6 pool (or none at all) takes no IPv6 but the
 * link's; IPv4 goes on.
 */
UNIT_TEST(ipv6_without_a_pool6_dropped)
{
	struct in6_addr sol = ip6("ff02::1:ff00:1");
	struct env e;
	struct run r;
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;
	__u32 zero = 0;
	int fd;

	if (!env_setup(&e, NULL))
		return;
	e.cfg.pool6_plen = 0;
	memset(&e.cfg.pool6, 0, sizeof(e.cfg.pool6));
	memset(&e.cfg.gateway6, 0, sizeof(e.cfg.gateway6));
	fd = bpf_map__fd(e.skel->maps.config);
	if (!ASSERT_OK(bpf_map_update_elem(fd, &zero, &e.cfg, 0), "config"))
		return;
	s = spec6(&e, false, IPPROTO_UDP);
	send6(&e, false, &s, &e.a6, &e.b6, pkt, &r);
	ASSERT_EQ(r.verdict, TC_ACT_SHOT, "to b");
	send6(&e, false, &s, &e.a6, &e.gw6, pkt, &r);
	ASSERT_EQ(r.verdict, TC_ACT_SHOT, "to the gateway");
	send6(&e, false, &s, &e.a6, &e.remote6, pkt, &r);
	ASSERT_EQ(r.verdict, TC_ACT_SHOT, "to the outside");
	ASSERT_EQ(r.redirect.count, 0, "nothing answered");
	ASSERT_EQ(env_stat(&e, STAT_DROP_NO_CONFIG), 3, "drop_no_config");
	send6(&e, false, &s, &e.a6, &sol, pkt, &r);
	ASSERT_EQ(r.verdict, TC_ACT_OK, "the link's: the stack's");
	{
		struct pkt_spec s4 = env_spec_from(&e, false, IPPROTO_UDP,
						   e.b, 5000, 53);

		env_send(&e, e.ifindex_ha, &s4, pkt, &r);
		ASSERT_EQ(r.verdict, TC_ACT_REDIRECT, "IPv4 still forwarded");
		ASSERT_EQ(env_stat(&e, STAT_FORWARD), 1, "forwarded");
	}
	ASSERT_EQ(env_stat(&e, STAT_FORWARD6), 0, "forwarded6");
}

/* What the FIB says of the outside: a route by another device is the
 * stack's; by the uplink (its next hop unresolved or not) or a reject
 * route, refused; so is everything when the veth does not forward.
 */
UNIT_TEST(ipv6_outside_as_the_fib_says)
{
	static const char routes[] =
		"set -e\n"
		"ip -6 route add 2001:db8:2::/64 dev up0p\n"
		"ip -6 route add 2001:db8:4::/64 via 2001:db8:1::3\n"
		"ip -6 route add unreachable 2001:db8:3::/64\n";
	struct in6_addr other_dev = ip6("2001:db8:2::1"),
			no_neigh = ip6("2001:db8:4::1"),
			reject = ip6("2001:db8:3::1");
	struct env e;
	struct run r;
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;
	size_t len;

	if (!env_setup(&e, NULL))
		return;
	if (!ASSERT_OK(system(routes), "routes"))
		return;
	s = spec6(&e, false, IPPROTO_UDP);
	len = send6(&e, false, &s, &e.a6, &other_dev, pkt, &r);
	ASSERT_EQ(r.verdict, TC_ACT_OK, "by another device: the stack's");
	ASSERT_MEM_EQ(r.out, pkt, len, "unchanged");
	len = send6(&e, false, &s, &e.a6, &no_neigh, pkt, &r);
	check_error6(&e, &r, pkt, len, ICMP6_DST_UNREACH,
		     ICMP6_DST_UNREACH_NOROUTE);
	len = send6(&e, false, &s, &e.a6, &reject, pkt, &r);
	check_error6(&e, &r, pkt, len, ICMP6_DST_UNREACH,
		     ICMP6_DST_UNREACH_NOROUTE);
	ASSERT_EQ(env_stat(&e, STAT_DROP_NO_NAT66), 2, "drop_no_nat66");

	if (!ASSERT_OK(system("sysctl -qw net.ipv6.conf.ha.forwarding=0"),
		       "a's veth forwards no more"))
		return;
	len = send6(&e, false, &s, &e.a6, &other_dev, pkt, &r);
	check_error6(&e, &r, pkt, len, ICMP6_DST_UNREACH,
		     ICMP6_DST_UNREACH_NOROUTE);
	/* between containers and to the gateway, the FIB is not asked */
	send6(&e, false, &s, &e.a6, &e.b6, pkt, &r);
	ASSERT_EQ(r.verdict, TC_ACT_REDIRECT, "to b still");
	send6(&e, false, &s, &e.a6, &e.gw6, pkt, &r);
	ASSERT_EQ(r.verdict, TC_ACT_OK, "to the gateway still");
	ASSERT_EQ(env_stat(&e, STAT_DROP_NO_NAT66), 3, "drop_no_nat66");
	ASSERT_EQ(env_stat(&e, STAT_PASS), 2, "passed");
}

/* The guard's pool is a /64, to the bit. */
UNIT_TEST(ipv6_guard_pool_boundaries)
{
	static const struct {
		const char *src;
		int verdict;
	} cases[] = {
		{ "fd00:18::ffff:ffff:ffff:ffff", TC_ACT_SHOT },
		{ "fd00:18::", TC_ACT_SHOT },
		{ "fd00:18:0:1::2", TC_ACT_OK },
		{ "fd00:17:ffff:ffff:ffff:ffff:ffff:ffff", TC_ACT_OK },
		{ "fd00:19::2", TC_ACT_OK },
		{ "::ffff:172.18.0.2", TC_ACT_OK },
	};
	struct in6_addr src;
	struct env e;
	struct run r;
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;
	size_t len;

	if (!env_setup(&e, NULL))
		return;
	s = spec6(&e, false, IPPROTO_TCP);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		src = ip6(cases[i].src);
		len = pkt6_build(&s, &src, &e.remote6, pkt);
		env_guard(&e, pkt, len, &r);
		CHECK(r.verdict == cases[i].verdict, "from %s: verdict %d, "
		      "expected %d", cases[i].src, r.verdict, cases[i].verdict);
	}
	ASSERT_EQ(env_stat(&e, STAT_DROP_LEAK), 2, "drop_unnated_leak");
}

/* In XDP: what needs an answer, or a device XDP cannot send to, is tc's
 * unchanged; a spoofed source is dropped there already.
 */
UNIT_TEST(ipv6_xdp_answers_are_tc_s)
{
	struct env_opts o = { .xdp = true };
	struct in6_addr nobody = ip6("fd00:18::77"),
			sol = ip6("ff02::1:ff00:1");
	struct env e;
	struct run r;
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;
	size_t len;
	__u32 ifb;

	if (!env_setup(&e, &o))
		return;
	s = spec6(&e, false, IPPROTO_UDP);
	len = pkt6_build(&s, &e.a6, &e.b6, pkt);
	env_xdp_from_container(&e, e.ifindex_ha, pkt, len, &r);
	ASSERT_EQ(r.verdict, XDP_REDIRECT, "to b: redirected");
	ASSERT_EQ(r.redirect.kind, REDIRECT_PEER, "into b, as tc does");
	ASSERT_EQ(r.redirect.ifindex, e.ifindex_hb, "b's host side");

	s.ttl = 1;
	len = pkt6_build(&s, &e.a6, &e.b6, pkt);
	env_xdp_from_container(&e, e.ifindex_ha, pkt, len, &r);
	ASSERT_EQ(r.verdict, XDP_PASS, "out of hops: to tc");
	ASSERT_MEM_EQ(r.out, pkt, len, "unchanged");
	s.ttl = 64;
	len = pkt6_build(&s, &e.a6, &nobody, pkt);
	env_xdp_from_container(&e, e.ifindex_ha, pkt, len, &r);
	ASSERT_EQ(r.verdict, XDP_PASS, "to nobody: to tc");
	ASSERT_MEM_EQ(r.out, pkt, len, "unchanged");
	len = pkt6_build(&s, &e.a6, &sol, pkt);
	env_xdp_from_container(&e, e.ifindex_ha, pkt, len, &r);
	ASSERT_EQ(r.verdict, XDP_PASS, "the link's: to tc");
	len = pkt6_build(&s, &e.b6, &e.a6, pkt);
	env_xdp_from_container(&e, e.ifindex_ha, pkt, len, &r);
	ASSERT_EQ(r.verdict, XDP_DROP, "b's source on a's veth: dropped");
	ASSERT_EQ(env_stat_xdp(&e, STAT_DROP_SPOOFED), 1,
		  "XDP's drop_spoofed_source");

	/* b's host side not in tx_ports: tc's, untouched */
	ifb = e.ifindex_hb;
	if (!ASSERT_OK(bpf_map_delete_elem(bpf_map__fd(e.skel->maps.tx_ports),
					   &ifb), "tx_ports without b"))
		return;
	len = pkt6_build(&s, &e.a6, &e.b6, pkt);
	env_xdp_from_container(&e, e.ifindex_ha, pkt, len, &r);
	ASSERT_EQ(r.verdict, XDP_PASS, "b unreachable by XDP: to tc");
	ASSERT_MEM_EQ(r.out, pkt, len, "unchanged");
	ASSERT_EQ(env_stat_xdp(&e, STAT_TO_TC), 4, "xdp_to_tc");
	ASSERT_EQ(env_stat_xdp(&e, STAT_FORWARD6), 1, "XDP's forwarded6");
	ASSERT_EQ(env_stat(&e, STAT_DROP_TTL) +
		  env_stat(&e, STAT_DROP_NO_CONTAINER), 0,
		  "nothing counted as tc's");
}

/* With CHECKSUM_COMPLETE skbs, as a NIC hands them in: the hop limit a
 * forward takes off leaves skb->csum summing the packet (the kernel
 * checks after the run); what passes is untouched.
 */
UNIT_TEST(ipv6_forward_checksum_complete)
{
	const struct env_opts o = { .csum_complete = true };
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;
	struct env e;
	struct run r;
	size_t len;

	if (!env_setup(&e, &o))
		return;
	s = spec6(&e, false, IPPROTO_UDP);
	len = pkt6_build(&s, &e.a6, &e.b6, pkt);
	if (!env_from_container(&e, e.ifindex_ha, pkt, len, &r))
		return;
	ASSERT_EQ(r.verdict, TC_ACT_REDIRECT, "forwarded to b");
	len = pkt6_build(&s, &e.a6, &e.gw6, pkt);
	if (!env_from_container(&e, e.ifindex_ha, pkt, len, &r))
		return;
	ASSERT_EQ(r.verdict, TC_ACT_OK, "the gateway's: the stack's");
}
