// SPDX-License-Identifier: GPL-2.0-only
/*
 * IPv6 fragments from a container to the outside: the first fragment is
 * translated as the datagram's flow (source address and port, the UDP
 * checksum that covers the whole datagram), a later one gets the SNAT
 * address alone; put back together, the datagram is what a NAT66 router
 * would send, its checksum right from scratch.  From the outside, the
 * answer's fragments follow its first into the container, in order or
 * not, and put back together are the answer a NAT66 router delivers;
 * the host's fragments reach its stack as they came.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip6.h>
#include <netinet/icmp6.h>
#include <linux/pkt_cls.h>

#include "checks.h"
#include "env.h"
#include "unit.h"

static const struct env_opts nat66 = { .nat66 = true };

/* Out of the uplink, from the SNAT address, a hop less. */
static bool check_left(const struct env *e, const struct run *r,
		       const uint8_t *in, size_t len)
{
	const struct ip6_hdr *out = (const void *)(r->out + ETH_HLEN);
	const struct ip6_hdr *sent = (const void *)(in + ETH_HLEN);
	bool ok = true;

	ok &= ASSERT_EQ(r->verdict, TC_ACT_REDIRECT, "sent on");
	ok &= ASSERT_EQ(r->redirect.ifindex, e->ifindex_up, "out of the uplink");
	ok &= ASSERT_EQ(r->out_len, len, "length");
	ok &= ASSERT_MEM_EQ(&out->ip6_src, &e->uplink6, 16,
			    "from the SNAT address");
	ok &= ASSERT_MEM_EQ(&out->ip6_dst, &sent->ip6_dst, 16, "destination");
	ok &= ASSERT_EQ(out->ip6_hlim, sent->ip6_hlim - 1, "a hop less");
	ok &= ASSERT_MEM_EQ(r->out + ETH_HLEN + 40, in + ETH_HLEN + 40, 8,
			    "the Fragment header as sent");
	return ok;
}

/*
 * a's 1400-byte UDP datagram to the outside, whole in @whole and in two
 * fragments (@f0, @f1, their lengths in *@len0, *@len1); when @taken, b
 * sent from a's port 5000 first, so that a's flow is remapped.  Its spec.
 */
static struct pkt_spec a_datagram(struct env *e, bool taken, uint8_t *whole,
				  uint8_t *f0, uint8_t *f1, size_t *len0,
				  size_t *len1)
{
	struct pkt_spec s;
	struct run r;
	size_t len;

	if (taken) {
		s = spec6_out(e, true, IPPROTO_UDP, 5000);
		len = pkt6_build(&s, &e->b6, &e->remote6, whole);
		env_from_container(e, e->ifindex_hb, whole, len, &r);
	}
	s = spec6_out(e, false, IPPROTO_UDP, 5000);
	s.payload = 1400;
	pkt6_build(&s, &e->a6, &e->remote6, whole);
	*len0 = frag6_cut(whole, 0, f0);
	*len1 = frag6_cut(whole, 1, f1);
	return s;
}

/* a's datagram, b holding a's port first when @taken: the datagram that
 * leaves is a's, NATed, whole.
 */
static void udp_fragments_out(bool taken, const struct env_opts *o)
{
	uint8_t whole[PKT_MAX], f0[PKT_MAX], f1[PKT_MAX], out0[PKT_MAX],
		got[PKT_MAX], want[PKT_MAX];
	struct pkt_spec s;
	struct env e;
	struct run r;
	size_t len, len0, len1;
	uint16_t port;

	if (!env_setup(&e, o))
		return;
	s = a_datagram(&e, taken, whole, f0, f1, &len0, &len1);

	if (!env_from_container(&e, e.ifindex_ha, f0, len0, &r) ||
	    !check_left(&e, &r, f0, len0))
		return;
	memcpy(out0, r.out, r.out_len);
	port = ntohs(*(uint16_t *)(out0 + ETH_HLEN + 48));
	if (taken)
		ASSERT_NE(port, 5000, "remapped: b holds 5000");
	else
		ASSERT_EQ(port, 5000, "the container's port, free, kept");
	ASSERT_EQ(env_flows(&e), taken ? 2 : 1, "the first fragment's flow");

	if (!env_from_container(&e, e.ifindex_ha, f1, len1, &r) ||
	    !check_left(&e, &r, f1, len1))
		return;
	ASSERT_MEM_EQ(r.out + ETH_HLEN + 48, f1 + ETH_HLEN + 48, len1 - 48 -
		      ETH_HLEN, "the later fragment's data as sent");
	ASSERT_EQ(env_stat(&e, STAT_SNAT6), taken ? 3 : 2, "snat6, each");

	/* together: a NAT66 router's datagram, its checksum from scratch */
	frag6_join(out0, r.out, r.out_len, got);
	ASSERT_TRUE(pkt6_l4_csum_ok(got), "the datagram's UDP checksum");
	s.sport = port;
	s.ttl = 63;
	memcpy(s.dmac, e.mac_gw, ETH_ALEN);
	memcpy(s.smac, e.mac_up, ETH_ALEN);
	len = pkt6_build(&s, &e.uplink6, &e.remote6, want);
	ASSERT_MEM_EQ(got, want, len, "the datagram = a NAT66 router's");
}

UNIT_TEST(frag6_udp_fragments_out) { udp_fragments_out(false, &nat66); }
UNIT_TEST(frag6_udp_fragments_out_remapped)
{
	udp_fragments_out(true, &nat66);
}

/* With CHECKSUM_COMPLETE skbs (the kernel checks skb->csum after each). */
UNIT_TEST(frag6_udp_fragments_out_checksum_complete)
{
	const struct env_opts o = { .nat66 = true, .csum_complete = true };

	udp_fragments_out(true, &o);
}

/* A later fragment alone, first of all, leaves all the same: it has no
 * ports to look up, and only its source to change.
 */
UNIT_TEST(frag6_later_fragment_first_leaves)
{
	uint8_t whole[PKT_MAX], f1[PKT_MAX];
	struct pkt_spec s;
	struct env e;
	struct run r;
	size_t len1;

	if (!env_setup(&e, &nat66))
		return;
	s = spec6_out(&e, false, IPPROTO_UDP, 5000);
	s.payload = 1400;
	pkt6_build(&s, &e.a6, &e.remote6, whole);
	len1 = frag6_cut(whole, 1, f1);
	if (!env_from_container(&e, e.ifindex_ha, f1, len1, &r))
		return;
	check_left(&e, &r, f1, len1);
	ASSERT_EQ(env_flows(&e), 0, "no flow: no ports");
}

/*
 * The outside's 1400-byte UDP answer to a's datagram (a_datagram(), b
 * holding a's port 5000 first, so that the answer's port must change
 * back), in two fragments @f0 and @f1; in @want, the answer whole as a
 * NAT66 router delivers it into a.  False if the flow could not be made.
 */
static bool an_answer(struct env *e, uint8_t *f0, size_t *len0, uint8_t *f1,
		      size_t *len1, uint8_t *want)
{
	uint8_t whole[PKT_MAX];
	struct pkt_spec s;
	struct run r;
	uint16_t port;

	s = a_datagram(e, true, whole, f0, f1, len0, len1);
	if (!env_from_container(e, e->ifindex_ha, f0, *len0, &r) ||
	    !ASSERT_EQ(r.verdict, TC_ACT_REDIRECT, "a's datagram left"))
		return false;
	port = ntohs(*(uint16_t *)(r.out + ETH_HLEN + 48));
	if (!ASSERT_NE(port, 5000, "remapped"))
		return false;
	s = spec6_answer(e, s, port);
	s.payload = 1400;
	pkt6_build(&s, &e->remote6, &e->uplink6, whole);
	*len0 = frag6_cut(whole, 0, f0);
	*len1 = frag6_cut(whole, 1, f1);

	memcpy(s.dmac, e->mac_ca, ETH_ALEN);
	memcpy(s.smac, e->mac_ha, ETH_ALEN);
	s.ttl = 63;
	s.dport = 5000;
	pkt6_build(&s, &e->remote6, &e->a6, want);
	return true;
}

/* In order: each fragment goes into a, and together they are the answer. */
static void fragments_in(const struct env_opts *o)
{
	uint8_t f0[PKT_MAX], f1[PKT_MAX], out0[PKT_MAX], got[PKT_MAX],
		want[PKT_MAX];
	const struct ip6_hdr *w = (const void *)(want + ETH_HLEN);
	struct env e;
	struct run r;
	size_t len0, len1;

	if (!env_setup(&e, o) || !an_answer(&e, f0, &len0, f1, &len1, want))
		return;
	for (int n = 0; n < 2; n++) {
		if (!env_from_uplink(&e, n ? f1 : f0, n ? len1 : len0, &r))
			return;
		ASSERT_EQ(r.verdict, TC_ACT_REDIRECT, "delivered");
		ASSERT_EQ(r.redirect.kind, REDIRECT_PEER, "into a namespace");
		ASSERT_EQ(r.redirect.ifindex, e.ifindex_ha, "a's");
		if (!n)
			memcpy(out0, r.out, r.out_len);
	}
	check_frag6_into_a(&e, &r, f1, len1);
	ASSERT_EQ(env_stat6(&e, STAT_REVERSE_NAT6), 2, "reverse_nat6, each");

	frag6_join(out0, r.out, r.out_len, got);
	ASSERT_TRUE(pkt6_l4_csum_ok(got), "the answer's UDP checksum");
	ASSERT_MEM_EQ(got, want, ETH_HLEN + sizeof(*w) + ntohs(w->ip6_plen),
		      "the answer = a NAT66 router's, port 5000 again");
}

UNIT_TEST(frag6_answer_in_fragments) { fragments_in(&nat66); }

UNIT_TEST(frag6_answer_in_fragments_checksum_complete)
{
	const struct env_opts o = { .nat66 = true, .csum_complete = true };

	fragments_in(&o);
}

/*
 * Out of order: the later fragment comes first and is held; the first
 * brings it along, both into a as copies; then a duplicate of the later
 * one just follows.
 */
UNIT_TEST(frag6_answer_out_of_order)
{
	uint8_t f0[PKT_MAX], f1[PKT_MAX], want[PKT_MAX];
	struct env e;
	struct run r;
	size_t len0, len1;

	if (!env_setup(&e, &nat66) ||
	    !an_answer(&e, f0, &len0, f1, &len1, want))
		return;
	if (!env_from_uplink(&e, f1, len1, &r))
		return;
	ASSERT_EQ(r.verdict, TC_ACT_SHOT, "held: consumed");
	ASSERT_EQ(r.redirect.count, 0, "not sent on yet");
	ASSERT_EQ(env_stat6(&e, STAT_FRAG_HELD), 1, "frag_held, as IPv6");
	ASSERT_EQ(env_stat(&e, STAT_DROP_FRAGMENT), 0, "not a drop");

	if (!env_from_uplink(&e, f0, len0, &r))
		return;
	ASSERT_EQ(r.redirect.kind, REDIRECT_CLONE, "sent as copies");
	ASSERT_EQ(r.redirect.ifindex, e.ifindex_ha, "into a");
	ASSERT_EQ(r.redirect.count, 1 + 2, "meant for a, then the two copies");
	ASSERT_EQ(r.verdict, TC_ACT_SHOT, "the skb itself spent");
	ASSERT_EQ(env_stat6(&e, STAT_REVERSE_NAT6), 2, "both delivered");
	/* the skb ends as the held fragment, translated */
	check_frag6_into_a(&e, &r, f1, len1);

	if (!env_from_uplink(&e, f1, len1, &r))
		return;
	ASSERT_EQ(r.verdict, TC_ACT_REDIRECT, "a duplicate follows");
	ASSERT_EQ(r.redirect.kind, REDIRECT_PEER, "into a namespace");
	check_frag6_into_a(&e, &r, f1, len1);
}

/* A held fragment with no hop left goes no further when its first comes:
 * dropped and counted, as a fragment in hand would be.
 */
UNIT_TEST(frag6_held_with_no_hop_left)
{
	uint8_t f0[PKT_MAX], f1[PKT_MAX], want[PKT_MAX];
	struct env e;
	struct run r;
	size_t len0, len1;

	if (!env_setup(&e, &nat66) ||
	    !an_answer(&e, f0, &len0, f1, &len1, want))
		return;
	f1[ETH_HLEN + 7] = 1;		/* its hop limit */
	if (!env_from_uplink(&e, f1, len1, &r))
		return;
	ASSERT_EQ(r.verdict, TC_ACT_SHOT, "held");
	if (!env_from_uplink(&e, f0, len0, &r))
		return;
	ASSERT_EQ(r.redirect.count, 1 + 1, "the first alone, and its copy");
	ASSERT_EQ(env_stat6(&e, STAT_DROP_TTL), 1, "the held one: drop_ttl");
	ASSERT_EQ(env_stat6(&e, STAT_REVERSE_NAT6), 1, "the first delivered");
}

/* The budget, as IPv4's: a datagram's held fragments are bounded. */
UNIT_TEST(frag6_held_within_a_budget)
{
	uint8_t f0[PKT_MAX], f1[PKT_MAX], want[PKT_MAX];
	struct env e;
	struct run r;
	size_t len0, len1;

	if (!env_setup(&e, &nat66) ||
	    !an_answer(&e, f0, &len0, f1, &len1, want))
		return;
	for (int n = 0; n < FRAG_HOLD_PER_DGRAM + 2; n++)
		env_from_uplink(&e, f1, len1, &r);
	ASSERT_EQ(r.verdict, TC_ACT_SHOT, "dropped");
	ASSERT_EQ(env_stat6(&e, STAT_FRAG_HELD), FRAG_HOLD_PER_DGRAM,
		  "held up to the budget");
	ASSERT_EQ(env_stat6(&e, STAT_DROP_FRAGMENT), 2, "the rest counted");
}

/*
 * The host's datagram in fragments, @proto to its SNAT address with no
 * flow behind it (UDP to a port nobody uses, a large ping): in order the
 * fragments pass as they came; out of order the later one is held, and
 * the first sends both back into the uplink's receive path, as they came,
 * where the later one, seen again, passes.
 */
static void host_fragments(uint8_t proto)
{
	uint8_t whole[PKT_MAX], f0[PKT_MAX], f1[PKT_MAX];
	struct pkt_spec s = {
		.proto = proto,
		.sport = 40000,
		.dport = 7777,
		.icmp_type = ICMP6_ECHO_REQUEST,
		.payload = 1400,
	};
	struct env e;
	struct run r;
	size_t len0, len1;

	if (!env_setup(&e, &nat66))
		return;
	memcpy(s.smac, e.mac_gw, ETH_ALEN);
	memcpy(s.dmac, e.mac_up, ETH_ALEN);
	pkt6_build(&s, &e.remote6, &e.uplink6, whole);
	len0 = frag6_cut(whole, 0, f0);
	len1 = frag6_cut(whole, 1, f1);
	for (int n = 0; n < 2; n++) {
		if (!env_from_uplink(&e, n ? f1 : f0, n ? len1 : len0, &r))
			return;
		ASSERT_EQ(r.verdict, TC_ACT_OK, "in order: to the stack");
		ASSERT_MEM_EQ(r.out, n ? f1 : f0, n ? len1 : len0, "untouched");
	}

	/* a second datagram, its later fragment first */
	((struct ip6_frag *)(f0 + ETH_HLEN + 40))->ip6f_ident = htonl(7);
	((struct ip6_frag *)(f1 + ETH_HLEN + 40))->ip6f_ident = htonl(7);
	if (!env_from_uplink(&e, f1, len1, &r))
		return;
	ASSERT_EQ(r.verdict, TC_ACT_SHOT, "out of order: held");
	if (!env_from_uplink(&e, f0, len0, &r))
		return;
	ASSERT_EQ(r.verdict, TC_ACT_SHOT, "the skb itself spent");
	ASSERT_EQ(r.redirect.kind, REDIRECT_CLONE, "sent as copies");
	ASSERT_EQ(r.redirect.ifindex, e.ifindex_up, "back into the uplink");
	ASSERT_EQ(r.redirect.count, 2, "the first and the held one");
	ASSERT_MEM_EQ(r.out, f1, len1, "the held one as it came");
	if (!env_from_uplink(&e, f1, len1, &r))
		return;
	ASSERT_EQ(r.verdict, TC_ACT_OK, "seen again: to the stack");
	ASSERT_EQ(env_stat6(&e, STAT_REVERSE_NAT6), 0, "nothing translated");
	ASSERT_EQ(env_stat6(&e, STAT_DROP_FRAGMENT), 0, "nothing dropped");
}

UNIT_TEST(frag6_for_the_host_udp) { host_fragments(IPPROTO_UDP); }
UNIT_TEST(frag6_for_the_host_large_ping) { host_fragments(IPPROTO_ICMPV6); }

/*
 * Packet too big from a router beyond, about a's first fragment (as it
 * left, the quote cut to fit 1280 bytes): the quote, after its Fragment
 * header, has the ports, so it is translated into a, its source and port
 * a's again.  About a later fragment (no ports) it is the host's.
 */
UNIT_TEST(frag6_packet_too_big_about_fragments)
{
	uint8_t whole[PKT_MAX], f0[PKT_MAX], f1[PKT_MAX], out0[PKT_MAX],
		out1[PKT_MAX], err[PKT_MAX], got[PKT_MAX];
	struct in6_addr router = ip6("2001:db8:5::1");
	const struct ip6_hdr *q = (const void *)(got + ETH_HLEN);
	struct env e;
	struct run r;
	size_t len, len0, len1, qlen = 1280 - 48;

	if (!env_setup(&e, &nat66))
		return;
	/* b holds 5000: a's flow is remapped, so the quote's port must
	 * change back
	 */
	a_datagram(&e, true, whole, f0, f1, &len0, &len1);
	if (!env_from_container(&e, e.ifindex_ha, f0, len0, &r))
		return;
	memcpy(out0, r.out, r.out_len);
	if (!env_from_container(&e, e.ifindex_ha, f1, len1, &r))
		return;
	memcpy(out1, r.out, r.out_len);

	len = icmp6_error_build(&e, err, &router, &e.uplink6,
				ICMP6_PACKET_TOO_BIG, 0, 1280, out0, qlen, true);
	if (!env_from_uplink(&e, err, len, &r))
		return;
	if (!ASSERT_EQ(r.verdict, TC_ACT_REDIRECT, "delivered") ||
	    !ASSERT_EQ(r.redirect.ifindex, e.ifindex_ha, "into a"))
		return;
	ASSERT_TRUE(pkt6_l4_csum_ok(r.out), "ICMPv6 checksum from scratch");
	memset(got, 0, sizeof(got));
	memcpy(got + ETH_HLEN, r.out + PKT6_L4_OFF + 8, qlen);
	ASSERT_MEM_EQ(&q->ip6_src, &e.a6, 16, "quoted source: a again");
	/* the rest of the quote: a's first fragment as it sent it (the
	 * hop limit the NAT took off aside)
	 */
	got[ETH_HLEN + 7]++;
	ASSERT_MEM_EQ(got + ETH_HLEN, f0 + ETH_HLEN, qlen,
		      "quote = a's first fragment, port and checksum too");
	ASSERT_EQ(env_stat(&e, STAT_REVERSE_NAT6), 1, "reverse_nat6");

	len = icmp6_error_build(&e, err, &router, &e.uplink6,
				ICMP6_PACKET_TOO_BIG, 0, 1280, out1,
				l3_len6(out1), true);
	if (!env_from_uplink(&e, err, len, &r))
		return;
	ASSERT_EQ(r.verdict, TC_ACT_OK, "about a later fragment: the host's");
	ASSERT_MEM_EQ(r.out, err, len, "untouched");
}
