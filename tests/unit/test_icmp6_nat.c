// SPDX-License-Identifier: GPL-2.0-only
/*
 * ICMPv6 errors about NAT66 flows, packet by packet: from the outside
 * (packet too big, unreachable, time exceeded) the quote becomes what the
 * container sent and the error goes to it; from a container (about a
 * reply it received) the quote becomes what the outside sent and the
 * error leaves from the IPv6 SNAT address.  Every checksum is recomputed
 * from scratch: the error's, over its pseudo header, and the quoted one.
 * An error whose checksum is wrong, or about no flow, is not translated.
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

#define ROUTER6	"2001:db8:5::1"		/* a router beyond the next hop */

/*
 * The quote of error @err (@qlen bytes), as a frame of its own: so that
 * its L4 checksum can be recomputed from scratch.
 */
static void quote_frame(const uint8_t *err, size_t qlen, uint8_t *frame)
{
	memset(frame, 0, PKT_MAX);
	memcpy(frame + ETH_HLEN, err + PKT6_L4_OFF + 8, qlen);
}

/* a's flow to the outside, remapped (b holds @sport first): the packet a
 * sent in @sent (with @payload bytes after its L4 header, 0: 48), what
 * left the uplink in @left; the port it got.
 */
static uint16_t remapped_flow(struct env *e, uint8_t proto, uint16_t sport,
			      uint16_t payload, uint8_t *sent, uint8_t *left)
{
	struct pkt_spec s;
	struct run r;
	size_t len;
	uint16_t port;

	s = spec6_out(e, true, proto, sport);
	len = pkt6_build(&s, &e->b6, &e->remote6, sent);
	env_from_container(e, e->ifindex_hb, sent, len, &r);
	s = spec6_out(e, false, proto, sport);
	if (payload)
		s.payload = payload;
	len = pkt6_build(&s, &e->a6, &e->remote6, sent);
	if (!env_from_container(e, e->ifindex_ha, sent, len, &r))
		return 0;
	memcpy(left, r.out, r.out_len);
	port = ntohs(*(uint16_t *)(left + PKT6_L4_OFF +
				   (proto == IPPROTO_ICMPV6 ? 4 : 0)));
	ASSERT_NE(port, sport, "a's flow remapped");
	return port;
}

/*
 * @r must be error @err delivered into a: to a, from the router as it
 * was, a hop less, type, code and info as sent, its checksum right from
 * scratch; its quote @sent's first @qlen bytes as a sent them, bar the
 * hop the NAT took off, and (when whole) with a right checksum.
 */
static void check_error6_into_a(const struct env *e, const struct run *r,
				const uint8_t *err, const uint8_t *sent,
				size_t qlen, bool whole)
{
	const struct ip6_hdr *out = (const void *)(r->out + ETH_HLEN);
	const struct ip6_hdr *in = (const void *)(err + ETH_HLEN);
	uint8_t got[PKT_MAX], want[PKT_MAX];

	if (!ASSERT_EQ(r->verdict, TC_ACT_REDIRECT, "delivered") ||
	    !ASSERT_EQ(r->redirect.kind, REDIRECT_PEER, "into a namespace") ||
	    !ASSERT_EQ(r->redirect.ifindex, e->ifindex_ha, "a's"))
		return;
	ASSERT_EQ(r->out_len, l3_len6(err) + ETH_HLEN, "length as sent");
	ASSERT_MEM_EQ(r->out, e->mac_ca, ETH_ALEN, "to a's eth0");
	ASSERT_MEM_EQ(r->out + ETH_ALEN, e->mac_ha, ETH_ALEN, "from its gateway");
	ASSERT_MEM_EQ(&out->ip6_dst, &e->a6, 16, "outer destination: a");
	ASSERT_MEM_EQ(&out->ip6_src, &in->ip6_src, 16, "outer source kept");
	ASSERT_EQ(out->ip6_hlim, in->ip6_hlim - 1, "a hop less");
	ASSERT_MEM_EQ(r->out + PKT6_L4_OFF, err + PKT6_L4_OFF, 2,
		      "type and code");
	ASSERT_MEM_EQ(r->out + PKT6_L4_OFF + 4, err + PKT6_L4_OFF + 4, 4,
		      "MTU, pointer or nothing, as sent");
	ASSERT_TRUE(pkt6_l4_csum_ok(r->out), "ICMPv6 checksum from scratch");

	quote_frame(r->out, qlen, got);
	memset(want, 0, sizeof(want));
	memcpy(want + ETH_HLEN, sent + ETH_HLEN, qlen);
	want[ETH_HLEN + 7] = got[ETH_HLEN + 7];		/* hop limit */
	ASSERT_EQ(got[ETH_HLEN + 7], sent[ETH_HLEN + 7] - 1,
		  "quoted: the hop limit it left with");
	ASSERT_MEM_EQ(got, want, ETH_HLEN + qlen, "quote = what a sent");
	if (whole)
		ASSERT_TRUE(pkt6_l4_csum_ok(got),
			    "quoted L4 checksum from scratch");
}

static const struct env_opts nat66_complete = {
	.nat66 = true, .csum_complete = true,
};

/*
 * An error from a router beyond about a's remapped flow: what a sent
 * (@payload bytes after its L4 header, 0: 48), the error's kind, and how
 * much of the packet that left it quotes (@qlen, 0: all of it).
 */
struct error_case {
	uint8_t proto;
	uint16_t payload;
	size_t qlen;
	uint8_t type, code;
	uint32_t info;
};

static void error_from_outside_as(const struct env_opts *o,
				  const struct error_case *c)
{
	uint8_t sent[PKT_MAX], left[PKT_MAX], err[PKT_MAX];
	struct in6_addr router = ip6(ROUTER6);
	struct env e;
	struct run r;
	size_t len, qlen;

	if (!env_setup(&e, o) ||
	    !remapped_flow(&e, c->proto, 5000, c->payload, sent, left))
		return;
	qlen = c->qlen ? c->qlen : l3_len6(left);
	len = icmp6_error_build(&e, err, &router, &e.uplink6, c->type,
				c->code, c->info, left, qlen, true);
	if (!env_from_uplink(&e, err, len, &r))
		return;
	check_error6_into_a(&e, &r, err, sent, qlen, !c->qlen);
	ASSERT_EQ(env_stat(&e, STAT_REVERSE_NAT6), 1, "reverse_nat6");
}

static void error_from_outside(const struct error_case *c)
{
	error_from_outside_as(&nat66, c);
}

/* With CHECKSUM_COMPLETE skbs: skb->csum still sums each packet after
 * the run (the kernel checks).
 */
UNIT_TEST(icmp6_error_from_outside_checksum_complete)
{
	error_from_outside_as(&nat66_complete, &(struct error_case){
		IPPROTO_UDP, .type = ICMP6_DST_UNREACH,
		.code = ICMP6_DST_UNREACH_NOPORT });
}

UNIT_TEST(icmp6_packet_too_big_from_outside_tcp)
{
	error_from_outside(&(struct error_case){
		IPPROTO_TCP, .type = ICMP6_PACKET_TOO_BIG, .info = 1280 });
}

UNIT_TEST(icmp6_port_unreachable_from_outside_udp)
{
	error_from_outside(&(struct error_case){
		IPPROTO_UDP, .type = ICMP6_DST_UNREACH,
		.code = ICMP6_DST_UNREACH_NOPORT });
}

UNIT_TEST(icmp6_time_exceeded_from_outside_echo)
{
	error_from_outside(&(struct error_case){
		IPPROTO_ICMPV6, .type = ICMP6_TIME_EXCEEDED });
}

UNIT_TEST(icmp6_parameter_problem_from_outside_udp)
{
	/* the pointer: the offending byte, the next header's */
	error_from_outside(&(struct error_case){
		IPPROTO_UDP, .type = ICMP6_PARAM_PROB, .code = 1, .info = 6 });
}

/* Packet too big about a full-sized segment, as a router sends it: the
 * quote cut so that the error fits in 1280 bytes (RFC 4443 2.4 c).
 */
UNIT_TEST(icmp6_packet_too_big_of_1280_bytes)
{
	error_from_outside(&(struct error_case){
		IPPROTO_TCP, .payload = 1420, .qlen = 1280 - 48,
		.type = ICMP6_PACKET_TOO_BIG, .info = 1280 });
}

/* The shortest quote: the IPv6 header and 8 bytes, TCP's checksum not in
 * it; the ports are translated all the same.
 */
UNIT_TEST(icmp6_error_with_short_quote)
{
	error_from_outside(&(struct error_case){
		IPPROTO_TCP, .qlen = 48, .type = ICMP6_TIME_EXCEEDED });
}

/* A wrong checksum: dropped, not translated (RFC 5508 REQ-3). */
UNIT_TEST(icmp6_error_with_bad_checksum_dropped)
{
	uint8_t sent[PKT_MAX], left[PKT_MAX], err[PKT_MAX];
	struct in6_addr router = ip6(ROUTER6);
	struct env e;
	struct run r;
	size_t len;

	if (!env_setup(&e, &nat66) ||
	    !remapped_flow(&e, IPPROTO_UDP, 5000, 0, sent, left))
		return;
	len = icmp6_error_build(&e, err, &router, &e.uplink6,
				ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_NOPORT, 0,
				left, l3_len6(left), true);
	err[len - 1] ^= 0x40;		/* the quote's last byte */
	if (!env_from_uplink(&e, err, len, &r))
		return;
	ASSERT_EQ(r.verdict, TC_ACT_SHOT, "dropped");
	ASSERT_EQ(r.redirect.count, 0, "not delivered");
	ASSERT_EQ(env_stat(&e, STAT_DROP_BAD_ICMP), 1, "drop_bad_icmp");
}

/*
 * About a tuple no flow has (another source port), or about the host's
 * own traffic (a quoted source other than the SNAT address): the host's,
 * as it came.
 */
static void error_left_to_the_host(bool own_traffic)
{
	uint8_t sent[PKT_MAX], left[PKT_MAX], err[PKT_MAX];
	struct in6_addr router = ip6(ROUTER6), other = ip6("2001:db8:1::7");
	struct env e;
	struct run r;
	size_t len;

	if (!env_setup(&e, &nat66) ||
	    !remapped_flow(&e, IPPROTO_UDP, 5000, 0, sent, left))
		return;
	if (own_traffic)
		memcpy(left + ETH_HLEN + 8, &other, 16);
	else
		*(uint16_t *)(left + PKT6_L4_OFF) = htons(6000);
	pkt6_l4_csum_set(left);
	len = icmp6_error_build(&e, err, &router, &e.uplink6,
				ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_NOPORT, 0,
				left, l3_len6(left), true);
	if (!env_from_uplink(&e, err, len, &r))
		return;
	ASSERT_EQ(r.verdict, TC_ACT_OK, "to the stack");
	ASSERT_MEM_EQ(r.out, err, len, "untouched");
	ASSERT_EQ(env_stat(&e, STAT_REVERSE_NAT6), 0, "not translated");
}

UNIT_TEST(icmp6_error_about_no_flow_left_to_the_host)
{
	error_left_to_the_host(false);
}

UNIT_TEST(icmp6_error_about_the_hosts_traffic_left_to_it)
{
	error_left_to_the_host(true);
}

/*
 * a's remapped UDP flow, and the outside's reply to it: as it was sent in
 * @reply, as a received it in @got.  False if it did not reach a.
 */
static bool a_got_a_reply(struct env *e, uint8_t *reply, uint8_t *got)
{
	uint8_t sent[PKT_MAX], left[PKT_MAX];
	struct pkt_spec s;
	struct run r;
	uint16_t port;
	size_t len;

	port = remapped_flow(e, IPPROTO_UDP, 5000, 0, sent, left);
	if (!port)
		return false;
	s = spec6_answer(e, spec6_out(e, false, IPPROTO_UDP, 5000), port);
	len = pkt6_build(&s, &e->remote6, &e->uplink6, reply);
	if (!env_from_uplink(e, reply, len, &r) ||
	    !ASSERT_EQ(r.redirect.ifindex, e->ifindex_ha, "the reply, into a"))
		return false;
	memcpy(got, r.out, r.out_len);
	return true;
}

/*
 * a's port unreachable about the outside's UDP reply: it leaves from the
 * SNAT address, the quote as the outside sent it (to the SNAT address
 * and a's mapped port), every checksum right.
 */
UNIT_TEST(icmp6_error_from_container_about_a_reply)
{
	uint8_t reply[PKT_MAX], got[PKT_MAX], err[PKT_MAX], want[PKT_MAX];
	struct env e;
	struct run r;
	const struct ip6_hdr *out = (const void *)(r.out + ETH_HLEN);
	size_t len, qlen;

	if (!env_setup(&e, &nat66) || !a_got_a_reply(&e, reply, got))
		return;

	qlen = l3_len6(got);
	len = icmp6_error_build(&e, err, &e.a6, &e.remote6,
				ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_NOPORT, 0,
				got, qlen, false);
	if (!env_from_container(&e, e.ifindex_ha, err, len, &r))
		return;
	if (!ASSERT_EQ(r.verdict, TC_ACT_REDIRECT, "sent on") ||
	    !ASSERT_EQ(r.redirect.kind, REDIRECT_EGRESS, "out of ...") ||
	    !ASSERT_EQ(r.redirect.ifindex, e.ifindex_up, "... the uplink"))
		return;
	ASSERT_MEM_EQ(r.out, e.mac_gw, ETH_ALEN, "to the next hop");
	ASSERT_MEM_EQ(&out->ip6_src, &e.uplink6, 16, "from the SNAT address");
	ASSERT_MEM_EQ(&out->ip6_dst, &e.remote6, 16, "to the outside");
	ASSERT_TRUE(pkt6_l4_csum_ok(r.out), "ICMPv6 checksum from scratch");

	/* the quote: the reply as it came, bar the hop limit */
	quote_frame(r.out, qlen, got);
	memset(want, 0, sizeof(want));
	memcpy(want + ETH_HLEN, reply + ETH_HLEN, qlen);
	want[ETH_HLEN + 7] = got[ETH_HLEN + 7];
	ASSERT_MEM_EQ(got, want, ETH_HLEN + qlen,
		      "quote = what the outside sent");
	ASSERT_TRUE(pkt6_l4_csum_ok(got), "quoted UDP checksum from scratch");
	ASSERT_EQ(env_stat(&e, STAT_SNAT6), 3, "snat6: b, a, a's error");
}

/* An error a container sends about what no flow of its own had: never
 * let out.
 */
UNIT_TEST(icmp6_error_from_container_about_no_flow_dropped)
{
	uint8_t reply[PKT_MAX], err[PKT_MAX];
	struct pkt_spec s;
	struct env e;
	struct run r;
	size_t len;

	if (!env_setup(&e, &nat66))
		return;
	s = spec6_answer(&e, spec6_out(&e, false, IPPROTO_UDP, 5000), 5000);
	len = pkt6_build(&s, &e.remote6, &e.a6, reply);
	len = icmp6_error_build(&e, err, &e.a6, &e.remote6,
				ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_NOPORT, 0,
				reply, l3_len6(reply), false);
	if (!env_from_container(&e, e.ifindex_ha, err, len, &r))
		return;
	ASSERT_EQ(r.verdict, TC_ACT_SHOT, "dropped");
	ASSERT_EQ(r.redirect.count, 0, "nothing sent");
	ASSERT_EQ(env_stat(&e, STAT_DROP_ICMP_NO_FLOW), 1, "drop_icmp_no_flow");
}

/* An error about a reply a received, sent to another host than the one
 * the reply came from: never let out from the SNAT address.
 */
UNIT_TEST(icmp6_error_from_container_to_another_host_dropped)
{
	uint8_t reply[PKT_MAX], got[PKT_MAX], err[PKT_MAX];
	struct in6_addr elsewhere = ip6("2001:db8:9::9");
	struct env e;
	struct run r;
	size_t len;

	if (!env_setup(&e, &nat66) || !a_got_a_reply(&e, reply, got))
		return;
	len = icmp6_error_build(&e, err, &e.a6, &elsewhere,
				ICMP6_DST_UNREACH, ICMP6_DST_UNREACH_NOPORT, 0,
				got, l3_len6(got), false);
	if (!env_from_container(&e, e.ifindex_ha, err, len, &r))
		return;
	ASSERT_EQ(r.verdict, TC_ACT_SHOT, "dropped");
	ASSERT_EQ(r.redirect.count, 0, "nothing sent");
	ASSERT_EQ(env_stat(&e, STAT_DROP_ICMP_NO_FLOW), 1, "drop_icmp_no_flow");
}
