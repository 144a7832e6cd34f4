// SPDX-License-Identifier: GPL-2.0-only
/*
 * IPv6 exclusions (--exclude with an IPv6 network), as IPv4's: a
 * container's packets to an excluded network leave by the uplink as a
 * router forwards them, its own source kept, with or without NAT66; the
 * network's packets to a container's own address are routed into it;
 * the guard lets the former by and still stops the rest.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip6.h>
#include <netinet/icmp6.h>
#include <linux/pkt_cls.h>

#include "checks.h"
#include "env.h"
#include "unit.h"

#define EXCLUDED6	"2001:db8:2::/64"	/* beyond the next hop */

static const struct env_opts nat66_excluded = { .nat66 = true,
						.exclude = EXCLUDED6 };
static const struct env_opts excluded_alone = { .exclude = EXCLUDED6 };

/* TCP, UDP, echo, an echo reply and an error to an excluded network:
 * routed, no flow, nothing NATed.
 */
static void routed_out(const struct env_opts *o)
{
	struct in6_addr far = ip6("2001:db8:2::9");
	static const struct { uint8_t proto, icmp_type; } kinds[] = {
		{ IPPROTO_TCP, 0 },
		{ IPPROTO_UDP, 0 },
		{ IPPROTO_ICMPV6, ICMP6_ECHO_REQUEST },
		{ IPPROTO_ICMPV6, ICMP6_ECHO_REPLY },
		{ IPPROTO_ICMPV6, ICMP6_DST_UNREACH },
	};
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;
	struct env e;
	struct run r;
	size_t len;

	if (!env_setup(&e, o))
		return;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		s = spec6_out(&e, false, kinds[i].proto, 5000);
		s.icmp_type = kinds[i].icmp_type ?: s.icmp_type;
		len = pkt6_build(&s, &e.a6, &far, pkt);
		if (!env_from_container(&e, e.ifindex_ha, pkt, len, &r))
			return;
		check6_out(&e, &r, s, len, &e.a6, s.sport, &far);
	}
	ASSERT_EQ(env_stat6(&e, STAT_ROUTED), 5, "routed, of which IPv6");
	ASSERT_EQ(env_stat(&e, STAT_SNAT6), 0, "not NATed");
	ASSERT_EQ(env_flows(&e), 0, "no flow");
}

UNIT_TEST(exclude6_destination_routed_unchanged)
{
	routed_out(&nat66_excluded);
}

/* With no IPv6 SNAT address, the excluded network is still reached. */
UNIT_TEST(exclude6_routed_without_nat66)
{
	routed_out(&excluded_alone);
}

/* Beside it, the rest of the outside is NATed (refused, without NAT66)
 * as before; a hop limit of 1 is answered.
 */
UNIT_TEST(exclude6_only_the_excluded_network)
{
	struct in6_addr far = ip6("2001:db8:2::9");
	struct in6_addr other = ip6("2001:db8:3::9");
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;
	struct env e;
	struct run r;
	size_t len;

	if (!env_setup(&e, &nat66_excluded))
		return;
	s = spec6_out(&e, false, IPPROTO_UDP, 5000);
	len = pkt6_build(&s, &e.a6, &other, pkt);
	if (!env_from_container(&e, e.ifindex_ha, pkt, len, &r))
		return;
	ASSERT_EQ(r.verdict, TC_ACT_REDIRECT, "elsewhere: sent on");
	ASSERT_EQ(memcmp(r.out + ETH_HLEN + 8, &e.uplink6, 16), 0,
		  "elsewhere: from the SNAT address");
	ASSERT_EQ(env_stat(&e, STAT_SNAT6), 1, "snat6");

	s.ttl = 1;
	len = pkt6_build(&s, &e.a6, &far, pkt);
	if (!env_from_container(&e, e.ifindex_ha, pkt, len, &r))
		return;
	ASSERT_EQ(env_stat6(&e, STAT_DROP_TTL), 1, "hop limit 1: answered");
	ASSERT_EQ(r.redirect.ifindex, e.ifindex_ha, "back to a");
}

UNIT_TEST(exclude6_without_nat66_only_the_excluded_network)
{
	struct in6_addr other = ip6("2001:db8:3::9");
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;
	struct env e;
	struct run r;
	size_t len;

	if (!env_setup(&e, &excluded_alone))
		return;
	s = spec6_out(&e, false, IPPROTO_UDP, 5000);
	len = pkt6_build(&s, &e.a6, &other, pkt);
	if (!env_from_container(&e, e.ifindex_ha, pkt, len, &r))
		return;
	ASSERT_EQ(env_stat6(&e, STAT_DROP_NO_NAT66), 1,
		  "no NAT66: the rest refused");
	ASSERT_EQ(env_stat6(&e, STAT_ROUTED), 0, "not routed");
}

/* From the excluded network to a's own address: routed into a. */
UNIT_TEST(exclude6_source_routed_into_the_container)
{
	struct in6_addr far = ip6("2001:db8:2::9");
	struct in6_addr other = ip6("2001:db8:3::9");
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;
	struct env e;
	struct run r;
	size_t len;

	if (!env_setup(&e, &excluded_alone))
		return;
	s = spec6_answer(&e, spec6_out(&e, false, IPPROTO_TCP, 5000), 5000);
	len = pkt6_build(&s, &far, &e.a6, pkt);
	if (!env_from_uplink(&e, pkt, len, &r))
		return;
	check6_into(&e, &r, s, len, false, &far, s.sport, s.dport);
	ASSERT_EQ(env_stat6(&e, STAT_ROUTED), 1, "routed, of which IPv6");

	/* from elsewhere, or with no hop left: the host's, untouched */
	len = pkt6_build(&s, &other, &e.a6, pkt);
	if (!env_from_uplink(&e, pkt, len, &r))
		return;
	ASSERT_EQ(r.verdict, TC_ACT_OK, "another source: the stack's");
	ASSERT_MEM_EQ(r.out, pkt, len, "untouched");
	s.ttl = 1;
	len = pkt6_build(&s, &far, &e.a6, pkt);
	if (!env_from_uplink(&e, pkt, len, &r))
		return;
	ASSERT_EQ(r.verdict, TC_ACT_OK, "hop limit 1: the stack's");
	ASSERT_EQ(env_stat6(&e, STAT_ROUTED), 1, "routed once");
}

/* XDP on the uplink routes it in itself, the bytes tc's; a container's
 * packet to the network it leaves to tc.
 */
UNIT_TEST(exclude6_xdp_routes_in_as_tc_does)
{
	const struct env_opts o = { .exclude = EXCLUDED6, .xdp = true };
	struct in6_addr far = ip6("2001:db8:2::9");
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;
	struct run r, x;
	struct env e;
	size_t len;

	if (!env_setup(&e, &o))
		return;
	s = spec6_answer(&e, spec6_out(&e, false, IPPROTO_UDP, 5000), 5000);
	len = pkt6_build(&s, &far, &e.a6, pkt);
	if (!env_from_uplink(&e, pkt, len, &r))
		return;
	env_xdp_from_uplink(&e, pkt, len, &x);
	ASSERT_EQ(x.verdict, XDP_REDIRECT, "XDP redirects");
	ASSERT_EQ(x.redirect.ifindex, e.ifindex_ha, "into a");
	ASSERT_EQ(x.out_len, r.out_len, "length as tc");
	ASSERT_MEM_EQ(x.out, r.out, r.out_len, "bytes as tc");
	ASSERT_EQ(env_stat_xdp(&e, STAT_ROUTED), 1, "routed, by XDP");

	s = spec6_out(&e, false, IPPROTO_UDP, 5000);
	len = pkt6_build(&s, &e.a6, &far, pkt);
	env_xdp_from_container(&e, e.ifindex_ha, pkt, len, &x);
	ASSERT_EQ(x.verdict, XDP_PASS, "out: passed on");
	ASSERT_MEM_EQ(x.out, pkt, len, "out: untouched");
	ASSERT_EQ(env_stat_xdp(&e, STAT_TO_TC), 1, "xdp_to_tc");
}

/* The guard lets a pool source by to the excluded network alone. */
UNIT_TEST(exclude6_guard_lets_the_excluded_network_by)
{
	struct in6_addr far = ip6("2001:db8:2::9");
	struct in6_addr other = ip6("2001:db8:3::9");
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;
	struct env e;
	struct run r;
	size_t len;

	if (!env_setup(&e, &nat66_excluded))
		return;
	s = spec6_out(&e, false, IPPROTO_UDP, 5000);
	len = pkt6_build(&s, &e.a6, &far, pkt);
	env_guard(&e, pkt, len, &r);
	ASSERT_EQ(r.verdict, TC_ACT_OK, "to the excluded network: by");
	len = pkt6_build(&s, &e.a6, &other, pkt);
	env_guard(&e, pkt, len, &r);
	ASSERT_EQ(r.verdict, TC_ACT_SHOT, "elsewhere: dropped");
	ASSERT_EQ(env_stat6(&e, STAT_DROP_LEAK), 1, "drop_unnated_leak");
}
