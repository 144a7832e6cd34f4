// SPDX-License-Identifier: GPL-2.0-only
/*
 * Endpoint-independent mapping and filtering over IPv6, as test_mapping.c
 * for IPv4: a container's IPv6 endpoint keeps one port of the IPv6 SNAT
 * address towards every destination while a flow of it lives, no other
 * endpoint is given it, the binding goes with its last flow, the outside
 * reaches it only as the filtering says, and another container reaches
 * it by hairpinning.  Packets compared byte for byte, L4 checksums
 * recomputed from scratch.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip6.h>
#include <netinet/icmp6.h>
#include <linux/pkt_cls.h>

#include "checks.h"
#include "env.h"
#include "unit.h"

#define FAR6		"2001:db8:2::9"	/* beyond the next hop */

static const struct env_opts nat66 = { .nat66 = true };

/* The source port a's (or b's) packet from @sport to @to:@dport left
 * with, from the IPv6 SNAT address; 0 if it did not leave so.
 */
static uint16_t mapped_port6(struct env *e, bool from_b, uint8_t proto,
			     const struct in6_addr *to, uint16_t sport,
			     uint16_t dport)
{
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;
	struct run r;
	size_t len;

	s = spec6_out(e, from_b, proto, sport);
	s.dport = dport;
	len = pkt6_build(&s, from_b ? &e->b6 : &e->a6, to, pkt);
	if (!env_from_container(e, from_b ? e->ifindex_hb : e->ifindex_ha,
				pkt, len, &r) ||
	    !ASSERT_EQ(r.verdict, TC_ACT_REDIRECT, "sent out") ||
	    !ASSERT_EQ(memcmp(r.out + ETH_HLEN + 8, &e->uplink6, 16), 0,
		       "from the SNAT address") ||
	    !ASSERT_TRUE(pkt6_l4_csum_ok(r.out), "L4 checksum"))
		return 0;
	return ntohs(*(uint16_t *)(r.out + PKT6_L4_OFF));
}

static void one_port_for_every_destination6(uint8_t proto)
{
	struct in6_addr far = ip6(FAR6);
	struct nat_binding bind;
	uint16_t pa, pb, pb2;
	struct env e;

	if (!env_setup(&e, &nat66))
		return;
	/* a keeps its own port; b, from the same port to the same server,
	 * cannot have it
	 */
	pa = mapped_port6(&e, false, proto, &e.remote6, 40000, 80);
	pb = mapped_port6(&e, true, proto, &e.remote6, 40000, 80);
	ASSERT_EQ(pa, 40000, "a: its own port");
	ASSERT_NE(pb, 40000, "b: another");
	ASSERT_NE(pb, 0, "b: sent");
	/* towards another server b's port 40000 would be free, but b's
	 * endpoint is mapped already: the same external port
	 */
	pb2 = mapped_port6(&e, true, proto, &far, 40000, 443);
	ASSERT_EQ(pb2, pb, "b: one external port for both destinations");
	ASSERT_EQ(mapped_port6(&e, false, proto, &far, 40000, 443), 40000,
		  "a: the same towards the second");
	ASSERT_EQ(env_bindings(&e), 2, "one binding per endpoint");
	if (ASSERT_TRUE(env_binding6_of(&e, &e.b6, 40000, proto, &bind),
			"b's binding")) {
		ASSERT_EQ(bind.refs, 2, "held by its two flows");
		ASSERT_EQ(ntohs(bind.ext_port), pb, "to its external port");
		ASSERT_EQ(memcmp(bind.ext_addr6, &e.uplink6, 16), 0,
			  "of the IPv6 SNAT address");
	}
	/* the last flow takes the binding with it */
	env_flush(&e);
	ASSERT_EQ(env_bindings(&e), 0, "none left");
	ASSERT_TRUE(!env_binding6_of(&e, &e.b6, 40000, proto, &bind),
		    "no binding for b");
}

UNIT_TEST(mapping6_endpoint_independent_udp)
{
	one_port_for_every_destination6(IPPROTO_UDP);
}

UNIT_TEST(mapping6_endpoint_independent_tcp)
{
	one_port_for_every_destination6(IPPROTO_TCP);
}

/* An ICMPv6 echo id is mapped per destination: no binding. */
UNIT_TEST(mapping6_echo_has_no_binding)
{
	struct env e;

	if (!env_setup(&e, &nat66))
		return;
	mapped_port6(&e, false, IPPROTO_ICMPV6, &e.remote6, 7, 0);
	ASSERT_EQ(env_flows(&e), 1, "a flow");
	ASSERT_EQ(env_bindings(&e), 0, "no binding");
}

/*
 * A host the container never sent to, to its mapped port: dropped and
 * counted by default; with endpoint-independent filtering let in, as a
 * flow of its own holding the binding, and answered from that port.
 */
static void filtering6(bool eif)
{
	struct env_opts o = { .nat66 = true, .filter_eif = eif };
	struct in6_addr far = ip6(FAR6);
	struct nat_binding bind;
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;
	struct env e;
	struct run r;
	uint16_t pa;
	size_t len;

	if (!env_setup(&e, &o))
		return;
	pa = mapped_port6(&e, false, IPPROTO_UDP, &e.remote6, 40000, 3478);
	s = spec6_answer(&e, spec6_out(&e, false, IPPROTO_UDP, 40000), pa);
	s.sport = 5000;
	len = pkt6_build(&s, &far, &e.uplink6, pkt);
	if (!env_from_uplink(&e, pkt, len, &r))
		return;
	if (!eif) {
		ASSERT_EQ(r.verdict, TC_ACT_SHOT, "dropped");
		ASSERT_EQ(env_stat6(&e, STAT_DROP_FILTERED), 1,
			  "counted, as IPv6");
		ASSERT_EQ(env_flows(&e), 1, "no flow for it");
		/* the server it did send to still answers */
		s.sport = 3478;
		len = pkt6_build(&s, &e.remote6, &e.uplink6, pkt);
		if (!env_from_uplink(&e, pkt, len, &r))
			return;
		check6_into(&e, &r, s, len, false, &e.remote6, s.sport, 40000);
		return;
	}
	check6_into(&e, &r, s, len, false, &far, s.sport, 40000);
	ASSERT_EQ(env_stat(&e, STAT_DROP_FILTERED), 0, "not filtered");
	ASSERT_EQ(env_stat6(&e, STAT_DNAT), 1, "a flow from the outside");
	if (ASSERT_TRUE(env_binding6_of(&e, &e.a6, 40000, IPPROTO_UDP, &bind),
			"a's binding"))
		ASSERT_EQ(bind.refs, 2, "held by both flows");
	/* a answers it from the same external port */
	ASSERT_EQ(mapped_port6(&e, false, IPPROTO_UDP, &far, 40000, 5000), pa,
		  "the answer leaves from the mapped port");
	ASSERT_EQ(env_flows(&e), 2, "no third flow for the answer");
	env_flush(&e);
	ASSERT_EQ(env_bindings(&e), 0, "the binding goes with its flows");
}

UNIT_TEST(filtering6_address_and_port_dependent)
{
	filtering6(false);
}

UNIT_TEST(filtering6_endpoint_independent)
{
	filtering6(true);
}

/* b sends to the IPv6 SNAT address and a's mapped port; a sees b's
 * mapping (RFC 4787 REQ-9).
 */
UNIT_TEST(hairpin6_to_a_mapping)
{
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;
	struct env e;
	struct run r;
	uint16_t pa, pb;
	size_t len;

	if (!env_setup(&e, &nat66))
		return;
	pa = mapped_port6(&e, false, IPPROTO_UDP, &e.remote6, 40000, 3478);
	pb = mapped_port6(&e, true, IPPROTO_UDP, &e.remote6, 40001, 3478);
	s = spec6_out(&e, true, IPPROTO_UDP, 40001);
	s.dport = pa;
	len = pkt6_build(&s, &e.b6, &e.uplink6, pkt);
	if (!env_from_container(&e, e.ifindex_hb, pkt, len, &r))
		return;
	ASSERT_EQ(r.verdict, TC_ACT_REDIRECT, "redirected");
	ASSERT_EQ(r.redirect.ifindex, e.ifindex_ha, "into a");
	ASSERT_EQ(memcmp(r.out + ETH_HLEN + 8, &e.uplink6, 16), 0,
		  "from the SNAT address");
	ASSERT_EQ(memcmp(r.out + ETH_HLEN + 24, &e.a6, 16), 0, "to a");
	ASSERT_EQ(ntohs(*(uint16_t *)(r.out + PKT6_L4_OFF)), pb,
		  "from b's mapped port");
	ASSERT_EQ(ntohs(*(uint16_t *)(r.out + PKT6_L4_OFF + 2)), 40000,
		  "to a's own port");
	ASSERT_TRUE(pkt6_l4_csum_ok(r.out), "UDP checksum from scratch");
	ASSERT_EQ(env_stat6(&e, STAT_HAIRPIN), 1, "a hairpin, as IPv6");
}
