// SPDX-License-Identifier: GPL-2.0-only
/*
 * Published ports over IPv6, packet by packet: the outside's first packet
 * to a published port of the IPv6 SNAT address (or of another address of
 * the host) makes a DNAT flow and is delivered into the container, its
 * source the client's; the container's answers leave from the published
 * address and port; a container reaches a published port of the SNAT
 * address by hairpinning; fragments follow their first; an entry of one
 * family never answers the other; and no NAT66 flow is ever given a
 * published port.  Each packet is compared byte for byte with the one a
 * NAT66 router would hand on, its L4 checksum recomputed from scratch.
 */
#include <stdlib.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip6.h>
#include <netinet/icmp6.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>

#include "checks.h"
#include "env.h"
#include "unit.h"

#define HOST_PORT	8080
#define CLIENT_PORT	50000
#define SERVER_PORT	80
/* Another address of the host, on the uplink (host_address_add()). */
#define ADDR6_OTHER	"2001:db8:1::5"

static const struct env_opts nat66 = { .nat66 = true };

/* The outside's packet to @port of the host. */
static struct pkt_spec to_published6(const struct env *e, uint8_t proto,
				     uint8_t flags, uint16_t port)
{
	struct pkt_spec s = {
		.proto = proto,
		.sport = CLIENT_PORT,
		.dport = port,
		.tcp_flags = flags,
		.seq = 5000,
		.payload = 48,
	};

	memcpy(s.smac, e->mac_gw, ETH_ALEN);
	memcpy(s.dmac, e->mac_up, ETH_ALEN);
	return s;
}

/* Container a's answer to the client, as a sends it. */
static struct pkt_spec answer_of_a6(const struct env *e, uint8_t proto,
				    uint8_t flags)
{
	struct pkt_spec s = spec6_out(e, false, proto, SERVER_PORT);

	s.dport = CLIENT_PORT;
	s.tcp_flags = flags;
	s.seq = 9000;
	s.ack = 5001;
	return s;
}

/* A flow's IPv6 tuple, every byte set (see key_of()). */
static struct ct_key key6_of(uint8_t proto, const struct in6_addr *s,
			     const struct in6_addr *d, uint16_t sport,
			     uint16_t dport)
{
	struct ct_key k;

	memset(&k, 0, sizeof(k));
	memcpy(k.saddr6, s, 16);
	memcpy(k.daddr6, d, 16);
	k.sport = htons(sport);
	k.dport = htons(dport);
	k.proto = proto;
	k.family = AF_INET6;
	return k;
}

/* @r must be the host's: to its stack, as it came. */
static bool check_hosts(const struct run *r, const uint8_t *pkt, size_t len)
{
	bool ok = true;

	ok &= ASSERT_EQ(r->verdict, TC_ACT_OK, "to the host's stack");
	ok &= ASSERT_EQ(r->redirect.count, 0, "not redirected");
	ok &= ASSERT_EQ(r->out_len, len, "length");
	ok &= ASSERT_MEM_EQ(r->out, pkt, len, "untouched");
	return ok;
}

/* Give the uplink another address, ADDR6_OTHER, as the host's own. */
/* Even without DAD, the kernel puts the address's local route in from
 * a work queue after `ip addr add` returns: wait for it, a second at most.
 */
static bool host_address_add(void)
{
	return ASSERT_OK(system("ip -6 addr add " ADDR6_OTHER
				"/64 dev up0 nodad"), "another address") &&
	       ASSERT_OK(system("for i in $(seq 100); do"
				" ip -6 route show table local " ADDR6_OTHER
				" | grep -q . && exit 0; sleep 0.01; done;"
				" exit 1"), "its local route");
}

/*
 * The client at 2001:db8:1::2 talks to @to:HOST_PORT (NULL: the SNAT
 * address; else ADDR6_OTHER, added to the uplink), published on @on
 * (NULL: every address, and then the uplink forwards) to a:SERVER_PORT:
 * its first packet is DNATed into a, from the client's own address and
 * port; a's answer leaves from @to:HOST_PORT; the client's next packet
 * follows the same flow.
 */
static void published6(uint8_t proto, const struct env_opts *o,
		       const char *to, const char *on)
{
	struct in6_addr host = ip6(to ? to : ADDR6_UPLINK), published;
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;
	struct ct_flow f;
	struct ct_key k;
	struct env e;
	struct run r;
	size_t len;

	if (on)
		published = ip6(on);
	if (!env_setup(&e, o) || (to && !host_address_add()) ||
	    !env_publish6(&e, on ? &published : NULL, HOST_PORT, proto, &e.a6,
			  SERVER_PORT))
		return;

	/* the client's first packet: into a, the client's source kept */
	s = to_published6(&e, proto, TCPF_SYN, HOST_PORT);
	len = pkt6_build(&s, &e.remote6, &host, pkt);
	if (!env_from_uplink(&e, pkt, len, &r))
		return;
	check6_into(&e, &r, s, len, false, &e.remote6, CLIENT_PORT,
		    SERVER_PORT);
	ASSERT_EQ(env_stat6(&e, STAT_DNAT), 1, "dnat, as IPv6");
	ASSERT_EQ(env_stat(&e, STAT_DNAT), 1, "none as IPv4");
	ASSERT_EQ(env_stat(&e, STAT_REVERSE_NAT6), 0, "not reverse_nat6");

	k = key6_of(proto, &e.remote6, &host, CLIENT_PORT, HOST_PORT);
	if (!ASSERT_TRUE(env_flow_of(&e, &k, &f),
			 "a flow, by the client's tuple"))
		return;
	ASSERT_EQ(f.kind, CT_KIND_DNAT, "a DNAT flow");
	k = key6_of(proto, &e.a6, &e.remote6, SERVER_PORT, CLIENT_PORT);
	ASSERT_MEM_EQ(&f.tuple[CT_DIR_REPLY], &k, sizeof(k),
		      "its answer: from a's port to the client");
	ASSERT_EQ(f.ifindex[CT_DIR_ORIG], 0, "started from the outside");
	ASSERT_EQ(f.ifindex[CT_DIR_REPLY], e.ifindex_ha, "answered by a");
	ASSERT_EQ(f.state, proto == IPPROTO_TCP ? CT_SYN_SENT : CT_NEW,
		  "state after the first packet");
	ASSERT_EQ(env_flows(&e), 1, "one flow");
	ASSERT_EQ(env_index_keys(&e), 2, "two keys");

	/* a's answer leaves from the published address and port */
	s = answer_of_a6(&e, proto, TCPF_SYN | TCPF_ACK);
	len = pkt6_build(&s, &e.a6, &e.remote6, pkt);
	if (!env_from_container(&e, e.ifindex_ha, pkt, len, &r))
		return;
	check6_out(&e, &r, s, len, &host, HOST_PORT, &e.remote6);
	ASSERT_EQ(env_stat6(&e, STAT_SNAT6), 1, "snat6");
	k = key6_of(proto, &e.remote6, &host, CLIENT_PORT, HOST_PORT);
	if (!ASSERT_TRUE(env_flow_of(&e, &k, &f), "the flow still"))
		return;
	ASSERT_TRUE(f.flags & CT_F_REPLIED, "answered");
	ASSERT_EQ(f.state, proto == IPPROTO_TCP ? CT_SYN_RECV : CT_ESTABLISHED,
		  "state after the answer");

	/* the client's next packet belongs to the same flow */
	s = to_published6(&e, proto, TCPF_ACK, HOST_PORT);
	s.seq = 5001;
	s.ack = 9001;
	len = pkt6_build(&s, &e.remote6, &host, pkt);
	if (!env_from_uplink(&e, pkt, len, &r))
		return;
	check6_into(&e, &r, s, len, false, &e.remote6, CLIENT_PORT,
		    SERVER_PORT);
	ASSERT_EQ(env_flows(&e), 1, "still one flow");
	ASSERT_EQ(env_stat6(&e, STAT_DNAT), 2, "dnat, each");
	env_flow_of(&e, &k, &f);
	ASSERT_EQ(f.packets[CT_DIR_ORIG], 2, "two packets from the client");
	ASSERT_EQ(f.packets[CT_DIR_REPLY], 1, "one from a");
	if (proto == IPPROTO_TCP)
		ASSERT_EQ(f.state, CT_ESTABLISHED, "handshake done");
}

UNIT_TEST(published6_tcp)
{
	published6(IPPROTO_TCP, &nat66, NULL, NULL);
}

UNIT_TEST(published6_udp)
{
	published6(IPPROTO_UDP, &nat66, NULL, NULL);
}

/* The same with CHECKSUM_COMPLETE skbs, as a NIC hands them in: the
 * kernel checks that skb->csum still sums the packet after each run.
 */
static const struct env_opts nat66_complete = {
	.nat66 = true, .csum_complete = true,
};

UNIT_TEST(published6_tcp_checksum_complete)
{
	published6(IPPROTO_TCP, &nat66_complete, NULL, NULL);
}

UNIT_TEST(published6_udp_checksum_complete)
{
	published6(IPPROTO_UDP, &nat66_complete, NULL, NULL);
}

/* [HOSTIP]:HOSTPORT:PORT with the SNAT address named. */
UNIT_TEST(published6_on_the_snat_address)
{
	published6(IPPROTO_TCP, &nat66, NULL, ADDR6_UPLINK);
}

/*
 * [HOSTIP]:HOSTPORT:PORT with another address of the host named: its
 * packets are DNATed, a's answers leave from that address (not the SNAT
 * address).
 */
UNIT_TEST(published6_on_another_host_address)
{
	published6(IPPROTO_TCP, &nat66, ADDR6_OTHER, ADDR6_OTHER);
}

/* A port published on every address (::) is the host's other addresses'
 * too: the FIB says the destination is local, asked from a's host side
 * (the uplink's forwarding stays off, as a host's often is).
 */
UNIT_TEST(published6_on_every_address_reaches_another_host_address)
{
	published6(IPPROTO_UDP, &nat66, ADDR6_OTHER, NULL);
}

/*
 * A port published on one address is that address's alone: not the SNAT
 * address's, and one published on the SNAT address is not another
 * address's.
 */
UNIT_TEST(published6_on_one_address_only)
{
	struct in6_addr other = ip6(ADDR6_OTHER);
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;
	struct env e;
	struct run r;
	size_t len;

	if (!env_setup(&e, &nat66) || !host_address_add() ||
	    !env_publish6(&e, &other, HOST_PORT, IPPROTO_TCP, &e.a6,
			  SERVER_PORT) ||
	    !env_publish6(&e, &e.uplink6, HOST_PORT + 1, IPPROTO_TCP, &e.a6,
			  SERVER_PORT))
		return;
	s = to_published6(&e, IPPROTO_TCP, TCPF_SYN, HOST_PORT);
	len = pkt6_build(&s, &e.remote6, &e.uplink6, pkt);
	if (!env_from_uplink(&e, pkt, len, &r))
		return;
	check_hosts(&r, pkt, len);
	s = to_published6(&e, IPPROTO_TCP, TCPF_SYN, HOST_PORT + 1);
	len = pkt6_build(&s, &e.remote6, &other, pkt);
	if (!env_from_uplink(&e, pkt, len, &r))
		return;
	check_hosts(&r, pkt, len);
	ASSERT_EQ(env_flows(&e), 0, "no flow");
	ASSERT_EQ(env_stat(&e, STAT_DNAT), 0, "nothing DNATed");

	/* each on its own address all the same */
	s = to_published6(&e, IPPROTO_TCP, TCPF_SYN, HOST_PORT);
	len = pkt6_build(&s, &e.remote6, &other, pkt);
	if (!env_from_uplink(&e, pkt, len, &r))
		return;
	check6_into(&e, &r, s, len, false, &e.remote6, CLIENT_PORT,
		    SERVER_PORT);
	/* (from another port: the same answer's tuple cannot be two flows') */
	s = to_published6(&e, IPPROTO_TCP, TCPF_SYN, HOST_PORT + 1);
	s.sport = CLIENT_PORT + 1;
	len = pkt6_build(&s, &e.remote6, &e.uplink6, pkt);
	if (!env_from_uplink(&e, pkt, len, &r))
		return;
	check6_into(&e, &r, s, len, false, &e.remote6, CLIENT_PORT + 1,
		    SERVER_PORT);
	ASSERT_EQ(env_stat6(&e, STAT_DNAT), 2, "both DNATed");
}

/* Published on every address, to an address that is not the host's (a
 * packet the host would forward, or has no route for): not DNATed, the
 * host's to route.
 */
UNIT_TEST(published6_on_every_address_not_a_foreign_one)
{
	struct in6_addr foreign = ip6("2001:db8:7::9");
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;
	struct env e;
	struct run r;
	size_t len;

	if (!env_setup(&e, &nat66) ||
	    !env_publish6(&e, NULL, HOST_PORT, IPPROTO_TCP, &e.a6,
			  SERVER_PORT))
		return;
	s = to_published6(&e, IPPROTO_TCP, TCPF_SYN, HOST_PORT);
	len = pkt6_build(&s, &e.remote6, &foreign, pkt);
	if (!env_from_uplink(&e, pkt, len, &r))
		return;
	check_hosts(&r, pkt, len);
	/* with no route to it at all (the FIB's "not forwarded", as of a
	 * local address): not the host's either
	 */
	if (!ASSERT_OK(system("ip -6 route del default"), "no default route"))
		return;
	if (!env_from_uplink(&e, pkt, len, &r))
		return;
	check_hosts(&r, pkt, len);
	ASSERT_EQ(env_flows(&e), 0, "no flow");
}

/*
 * Published on every address, to addresses the FIB also calls "not
 * forwarded" but that are not the host's to publish on: the gateway's
 * (the pool's), the host sides' link-local one, a multicast group's,
 * loopback, an IPv4-mapped one.  Not DNATed, no flow.
 */
UNIT_TEST(published6_on_every_address_not_the_pools_nor_multicast)
{
	const char *to[] = { ADDR6_GW, "fe80::1", "ff02::1", "ff05::fb", "::1",
			     "::ffff:198.51.100.1" };
	struct in6_addr dst;
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;
	struct env e;
	struct run r;
	size_t len;

	if (!env_setup(&e, &nat66) ||
	    !env_publish6(&e, NULL, HOST_PORT, IPPROTO_UDP, &e.a6,
			  SERVER_PORT))
		return;
	for (size_t i = 0; i < sizeof(to) / sizeof(to[0]); i++) {
		dst = ip6(to[i]);
		s = to_published6(&e, IPPROTO_UDP, 0, HOST_PORT);
		len = pkt6_build(&s, &e.remote6, &dst, pkt);
		if (!env_from_uplink(&e, pkt, len, &r))
			return;
		check_hosts(&r, pkt, len);
	}
	ASSERT_EQ(env_flows(&e), 0, "no flow");
	ASSERT_EQ(env_stat6(&e, STAT_DNAT), 0, "nothing DNATed");
}

/* What is not published stays the host's: another port, another proto. */
UNIT_TEST(published6_unpublished_ports_pass)
{
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;
	struct env e;
	struct run r;
	size_t len;

	if (!env_setup(&e, &nat66) ||
	    !env_publish6(&e, NULL, HOST_PORT, IPPROTO_TCP, &e.a6,
			  SERVER_PORT))
		return;
	s = to_published6(&e, IPPROTO_UDP, 0, HOST_PORT);
	len = pkt6_build(&s, &e.remote6, &e.uplink6, pkt);
	if (!env_from_uplink(&e, pkt, len, &r))
		return;
	check_hosts(&r, pkt, len);		/* UDP to a TCP port */
	s = to_published6(&e, IPPROTO_TCP, TCPF_SYN, HOST_PORT + 1);
	len = pkt6_build(&s, &e.remote6, &e.uplink6, pkt);
	if (!env_from_uplink(&e, pkt, len, &r))
		return;
	check_hosts(&r, pkt, len);		/* another port */
	ASSERT_EQ(env_flows(&e), 0, "no flow");
	ASSERT_EQ(env_stat(&e, STAT_DNAT), 0, "nothing DNATed");
	ASSERT_EQ(env_stat6(&e, STAT_PASS), 2, "both passed, as IPv6");
}

/* An IPv4 entry (every address, or the IPv4 SNAT address) is no IPv6
 * packet's: to the same port over IPv6, the host's.
 */
UNIT_TEST(published6_ipv4_entry_not_for_ipv6)
{
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;
	struct env e;
	struct run r;
	size_t len;

	if (!env_setup(&e, &nat66) ||
	    !env_publish(&e, 0, HOST_PORT, IPPROTO_TCP, e.a, SERVER_PORT) ||
	    !env_publish(&e, e.snat, HOST_PORT, IPPROTO_UDP, e.a, SERVER_PORT))
		return;
	for (int udp = 0; udp < 2; udp++) {
		s = to_published6(&e, udp ? IPPROTO_UDP : IPPROTO_TCP,
				  TCPF_SYN, HOST_PORT);
		len = pkt6_build(&s, &e.remote6, &e.uplink6, pkt);
		if (!env_from_uplink(&e, pkt, len, &r))
			return;
		check_hosts(&r, pkt, len);
	}
	ASSERT_EQ(env_flows(&e), 0, "no flow");
	ASSERT_EQ(env_stat(&e, STAT_DNAT), 0, "nothing DNATed");

	/* (and over IPv4 the entry works) */
	s = env_spec_reply(&e, IPPROTO_TCP, e.remote, CLIENT_PORT, HOST_PORT);
	s.tcp_flags = TCPF_SYN;
	env_receive(&e, &s, pkt, &r);
	check_dnat(&e, &r, pkt, SERVER_PORT);
}

/* ... nor an IPv6 entry (every address, ::) an IPv4 packet's. */
UNIT_TEST(published6_ipv6_entry_not_for_ipv4)
{
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;
	struct env e;
	struct run r;
	size_t len;

	if (!env_setup(&e, &nat66) ||
	    !env_publish6(&e, NULL, HOST_PORT, IPPROTO_TCP, &e.a6,
			  SERVER_PORT))
		return;
	s = env_spec_reply(&e, IPPROTO_TCP, e.remote, CLIENT_PORT, HOST_PORT);
	s.tcp_flags = TCPF_SYN;
	len = env_receive(&e, &s, pkt, &r);
	check_hosts(&r, pkt, len);
	ASSERT_EQ(env_flows(&e), 0, "no flow");
	ASSERT_EQ(env_stat(&e, STAT_DNAT), 0, "nothing DNATed");
}

/* XDP leaves a published IPv6 port's packets to the tc hook, as it
 * came; there they are DNATed.
 */
UNIT_TEST(published6_xdp_leaves_it_to_tc)
{
	const struct env_opts o = { .nat66 = true, .xdp = true };
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;
	struct env e;
	struct run r;
	size_t len;

	if (!env_setup(&e, &o) ||
	    !env_publish6(&e, NULL, HOST_PORT, IPPROTO_TCP, &e.a6,
			  SERVER_PORT))
		return;
	s = to_published6(&e, IPPROTO_TCP, TCPF_SYN, HOST_PORT);
	len = pkt6_build(&s, &e.remote6, &e.uplink6, pkt);
	if (!env_xdp_from_uplink(&e, pkt, len, &r))
		return;
	ASSERT_EQ(r.verdict, XDP_PASS, "passed on");
	ASSERT_MEM_EQ(r.out, pkt, len, "untouched");
	ASSERT_EQ(env_stat_xdp(&e, STAT_TO_TC), 1, "xdp_to_tc");
	ASSERT_EQ(env_flows(&e), 0, "no flow made by XDP");
	if (!env_from_uplink(&e, pkt, len, &r))
		return;
	check6_into(&e, &r, s, len, false, &e.remote6, CLIENT_PORT,
		    SERVER_PORT);
}

/*
 * Hairpinning over IPv6: a container (b, or a itself) reaches a's port
 * published on the IPv6 SNAT address; a sees the client's external
 * mapping, the SNAT address and a port of it, never the client's own
 * address, and its answer reaches the client from the published address
 * and port.  Nothing leaves by the uplink.
 */
static void hairpin6(uint8_t proto, bool from_a)
{
	const struct in6_addr *client;
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;
	struct ct_flow f;
	struct ct_key k;
	struct env e;
	struct run r;
	uint16_t mapped;
	int ifindex_c;
	size_t len;

	if (!env_setup(&e, &nat66) ||
	    !env_publish6(&e, NULL, HOST_PORT, proto, &e.a6, SERVER_PORT))
		return;
	client = from_a ? &e.a6 : &e.b6;
	ifindex_c = from_a ? e.ifindex_ha : e.ifindex_hb;

	s = spec6_out(&e, !from_a, proto, 40000);
	s.dport = HOST_PORT;
	len = pkt6_build(&s, client, &e.uplink6, pkt);
	if (!env_from_container(&e, ifindex_c, pkt, len, &r))
		return;
	mapped = ntohs(*(uint16_t *)(r.out + PKT6_L4_OFF));
	/* port preservation, as for the client's flows to the outside */
	ASSERT_EQ(mapped, 40000, "from the client's mapped port");
	check6_into(&e, &r, s, len, false, &e.uplink6, mapped, SERVER_PORT);
	ASSERT_EQ(env_stat6(&e, STAT_HAIRPIN), 1, "hairpin, as IPv6");
	k = key6_of(proto, client, &e.uplink6, 40000, HOST_PORT);
	if (!ASSERT_TRUE(env_flow_of(&e, &k, &f), "a flow"))
		return;
	ASSERT_EQ(f.kind, CT_KIND_HAIRPIN, "a hairpin flow");
	ASSERT_EQ(f.ifindex[CT_DIR_ORIG], (uint32_t)ifindex_c,
		  "from the client");
	ASSERT_EQ(f.ifindex[CT_DIR_REPLY], e.ifindex_ha, "answered by a");
	k = key6_of(proto, &e.a6, &e.uplink6, SERVER_PORT, mapped);
	ASSERT_MEM_EQ(&f.tuple[CT_DIR_REPLY], &k, sizeof(k),
		      "its answer: from a's port to the mapping");

	/* a answers the client's mapping */
	s = spec6_out(&e, false, proto, SERVER_PORT);
	s.dport = mapped;
	s.tcp_flags = TCPF_SYN | TCPF_ACK;
	s.ack = 1001;
	len = pkt6_build(&s, &e.a6, &e.uplink6, pkt);
	if (!env_from_container(&e, e.ifindex_ha, pkt, len, &r))
		return;
	check6_into(&e, &r, s, len, !from_a, &e.uplink6, HOST_PORT, 40000);
	ASSERT_EQ(env_stat6(&e, STAT_HAIRPIN), 2, "both counted");
	ASSERT_EQ(env_stat(&e, STAT_HAIRPIN), 2, "none as IPv4");
	ASSERT_EQ(env_stat(&e, STAT_SNAT6), 0, "nothing out of the uplink");
	ASSERT_EQ(env_stat(&e, STAT_DNAT), 0, "not dnat");
	ASSERT_EQ(env_stat(&e, STAT_REVERSE_NAT6), 0, "not reverse_nat6");
	ASSERT_EQ(env_flows(&e), 1, "one flow");
	k = key6_of(proto, client, &e.uplink6, 40000, HOST_PORT);
	env_flow_of(&e, &k, &f);
	ASSERT_TRUE(f.flags & CT_F_REPLIED, "answered");
	if (proto == IPPROTO_TCP)
		ASSERT_EQ(f.state, CT_SYN_RECV, "handshake tracked");
}

UNIT_TEST(published6_hairpin_tcp_from_another_container)
{
	hairpin6(IPPROTO_TCP, false);
}

UNIT_TEST(published6_hairpin_udp_from_another_container)
{
	hairpin6(IPPROTO_UDP, false);
}

UNIT_TEST(published6_hairpin_from_the_publishing_container)
{
	hairpin6(IPPROTO_TCP, true);
}

/* To the SNAT address but not published: the host's, untouched. */
UNIT_TEST(published6_hairpin_unpublished_is_the_hosts)
{
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;
	struct env e;
	struct run r;
	size_t len;

	if (!env_setup(&e, &nat66) ||
	    !env_publish6(&e, NULL, HOST_PORT, IPPROTO_TCP, &e.a6,
			  SERVER_PORT))
		return;
	s = spec6_out(&e, true, IPPROTO_TCP, 40000);
	s.dport = HOST_PORT + 1;
	len = pkt6_build(&s, &e.b6, &e.uplink6, pkt);
	if (!env_from_container(&e, e.ifindex_hb, pkt, len, &r))
		return;
	check_hosts(&r, pkt, len);
	ASSERT_EQ(env_flows(&e), 0, "no flow");
}

/*
 * The client's 1400-byte UDP datagram to the SNAT address's HOST_PORT,
 * published to a:SERVER_PORT, in two fragments @f0 and @f1; in @want,
 * the datagram whole as a NAT66 router delivers it into a.  False if the
 * world could not be built.
 */
static bool published_datagram(struct env *e, uint8_t *f0, size_t *len0,
			       uint8_t *f1, size_t *len1, uint8_t *want)
{
	uint8_t whole[PKT_MAX];
	struct pkt_spec s;

	if (!env_setup(e, &nat66) ||
	    !env_publish6(e, NULL, HOST_PORT, IPPROTO_UDP, &e->a6,
			  SERVER_PORT))
		return false;
	s = to_published6(e, IPPROTO_UDP, 0, HOST_PORT);
	s.payload = 1400;
	pkt6_build(&s, &e->remote6, &e->uplink6, whole);
	*len0 = frag6_cut(whole, 0, f0);
	*len1 = frag6_cut(whole, 1, f1);

	memcpy(s.dmac, e->mac_ca, ETH_ALEN);
	memcpy(s.smac, e->mac_ha, ETH_ALEN);
	s.ttl = 63;
	s.dport = SERVER_PORT;
	pkt6_build(&s, &e->remote6, &e->a6, want);
	return true;
}

/* In order: the first fragment makes the DNAT flow, the later follows it
 * into a, and together they are the datagram a NAT66 router delivers.
 */
UNIT_TEST(published6_fragments_in_order)
{
	uint8_t f0[PKT_MAX], f1[PKT_MAX], out0[PKT_MAX], got[PKT_MAX],
		want[PKT_MAX];
	const struct ip6_hdr *w = (const void *)(want + ETH_HLEN);
	struct env e;
	struct run r;
	size_t len0, len1;

	if (!published_datagram(&e, f0, &len0, f1, &len1, want))
		return;
	for (int n = 0; n < 2; n++) {
		if (!env_from_uplink(&e, n ? f1 : f0, n ? len1 : len0, &r))
			return;
		ASSERT_EQ(r.verdict, TC_ACT_REDIRECT, "delivered");
		ASSERT_EQ(r.redirect.kind, REDIRECT_PEER, "into a namespace");
		ASSERT_EQ(r.redirect.ifindex, e.ifindex_ha, "a's");
		if (!n)
			memcpy(out0, r.out, r.out_len);
		if (!n)
			ASSERT_EQ(env_flows(&e), 1, "the first's flow");
	}
	check_frag6_into_a(&e, &r, f1, len1);
	ASSERT_EQ(env_stat6(&e, STAT_DNAT), 1, "the first: dnat");

	frag6_join(out0, r.out, r.out_len, got);
	ASSERT_TRUE(pkt6_l4_csum_ok(got), "the datagram's UDP checksum");
	ASSERT_MEM_EQ(got, want, ETH_HLEN + sizeof(*w) + ntohs(w->ip6_plen),
		      "the datagram = a NAT66 router's, to a:80");
}

/*
 * Out of order: the later fragment comes first and is held; the first
 * makes the flow and brings it along, both into a as copies, both
 * counted as dnat; then a duplicate of the later one just follows.
 */
UNIT_TEST(published6_fragments_out_of_order)
{
	uint8_t f0[PKT_MAX], f1[PKT_MAX], want[PKT_MAX];
	struct env e;
	struct run r;
	size_t len0, len1;

	if (!published_datagram(&e, f0, &len0, f1, &len1, want))
		return;
	if (!env_from_uplink(&e, f1, len1, &r))
		return;
	ASSERT_EQ(r.verdict, TC_ACT_SHOT, "held: consumed");
	ASSERT_EQ(r.redirect.count, 0, "not sent on yet");
	ASSERT_EQ(env_stat6(&e, STAT_FRAG_HELD), 1, "frag_held, as IPv6");
	ASSERT_EQ(env_flows(&e), 0, "no flow yet: no ports");

	if (!env_from_uplink(&e, f0, len0, &r))
		return;
	ASSERT_EQ(r.redirect.kind, REDIRECT_CLONE, "sent as copies");
	ASSERT_EQ(r.redirect.ifindex, e.ifindex_ha, "into a");
	ASSERT_EQ(r.redirect.count, 1 + 2, "meant for a, then the two copies");
	ASSERT_EQ(r.verdict, TC_ACT_SHOT, "the skb itself spent");
	ASSERT_EQ(env_flows(&e), 1, "the first's flow");
	ASSERT_EQ(env_stat6(&e, STAT_DNAT), 2, "both counted as dnat");
	ASSERT_EQ(env_stat(&e, STAT_REVERSE_NAT6), 0, "not as reverse_nat6");
	ASSERT_EQ(env_stat(&e, STAT_DROP_FRAGMENT), 0, "nothing dropped");
	/* the skb ends as the held fragment, translated */
	check_frag6_into_a(&e, &r, f1, len1);

	if (!env_from_uplink(&e, f1, len1, &r))
		return;
	ASSERT_EQ(r.verdict, TC_ACT_REDIRECT, "a duplicate follows");
	ASSERT_EQ(r.redirect.kind, REDIRECT_PEER, "into a namespace");
	ASSERT_EQ(r.redirect.ifindex, e.ifindex_ha, "a's");
	check_frag6_into_a(&e, &r, f1, len1);
}

/*
 * @r must be the refusal of a's packet @in (@len bytes): ICMPv6
 * administratively prohibited back to a from the gateway, quoting it.
 */
static void check_refused6(const struct env *e, const struct run *r,
			   const uint8_t *in, size_t len)
{
	const struct ip6_hdr *ip6 = (const void *)(r->out + ETH_HLEN);
	const struct icmp6_hdr *icmp = (const void *)(r->out + PKT6_L4_OFF);

	ASSERT_EQ(r->verdict, TC_ACT_REDIRECT, "the error is sent");
	ASSERT_EQ(r->redirect.kind, REDIRECT_EGRESS, "back out ...");
	ASSERT_EQ(r->redirect.ifindex, e->ifindex_ha, "... of a's veth");
	ASSERT_EQ(ip6->ip6_nxt, IPPROTO_ICMPV6, "ICMPv6");
	ASSERT_MEM_EQ(&ip6->ip6_src, &e->gw6, 16, "from the gateway");
	ASSERT_MEM_EQ(&ip6->ip6_dst, &e->a6, 16, "to a");
	ASSERT_EQ(icmp->icmp6_type, ICMP6_DST_UNREACH, "unreachable");
	ASSERT_EQ(icmp->icmp6_code, ICMP6_DST_UNREACH_ADMIN, "prohibited");
	ASSERT_EQ(r->out_len, PKT6_L4_OFF + 8 + len - ETH_HLEN,
		  "length: all of a's packet quoted");
	ASSERT_MEM_EQ(r->out + PKT6_L4_OFF + 8, in + ETH_HLEN, len - ETH_HLEN,
		      "the quote: a's packet");
	ASSERT_TRUE(pkt6_l4_csum_ok(r->out), "ICMPv6 checksum from scratch");
}

/*
 * Source-port allocation never hands an IPv6 flow a port published on
 * @published (NULL: every address): a container whose own port is
 * published gets another, and with the range's other port taken the flow
 * is refused rather than given the published one.
 */
static void never_allocated6(const struct in6_addr *published)
{
	struct env_opts o = { .nat66 = true, .port_lo = 2000,
			      .port_hi = 2001 };
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;
	struct env e;
	struct run r;
	size_t len;

	if (!env_setup(&e, &o) ||
	    !env_publish6(&e, published ? &e.uplink6 : NULL, 2000,
			  IPPROTO_UDP, &e.b6, 53))
		return;
	s = spec6_out(&e, false, IPPROTO_UDP, 2000);
	len = pkt6_build(&s, &e.a6, &e.remote6, pkt);
	if (!env_from_container(&e, e.ifindex_ha, pkt, len, &r))
		return;
	check6_out(&e, &r, s, len, &e.uplink6, 2001, &e.remote6);
	s = spec6_out(&e, false, IPPROTO_UDP, 2002);
	len = pkt6_build(&s, &e.a6, &e.remote6, pkt);
	if (!env_from_container(&e, e.ifindex_ha, pkt, len, &r))
		return;
	check_refused6(&e, &r, pkt, len);
	ASSERT_EQ(env_stat6(&e, STAT_DROP_NO_PORT), 1, "refused, counted");
	ASSERT_EQ(env_flows(&e), 1, "only the first flow");

	/* the published port still reaches b */
	s = to_published6(&e, IPPROTO_UDP, 0, 2000);
	len = pkt6_build(&s, &e.remote6, &e.uplink6, pkt);
	if (!env_from_uplink(&e, pkt, len, &r))
		return;
	check6_into(&e, &r, s, len, true, &e.remote6, CLIENT_PORT, 53);
}

UNIT_TEST(published6_port_never_allocated)
{
	never_allocated6(NULL);
}

UNIT_TEST(published6_port_on_the_snat_address_never_allocated)
{
	struct in6_addr snat6 = ip6(ADDR6_UPLINK);

	never_allocated6(&snat6);
}

/*
 * What is published for the other family, or on another address, leaves
 * the port to NAT66 and NAT44 alike: an IPv6 flow keeps port 2000,
 * published for IPv4 and on another IPv6 address; an IPv4 flow keeps
 * 2001, published for IPv6.
 */
UNIT_TEST(published6_other_entries_leave_the_port)
{
	struct env_opts o = { .nat66 = true, .port_lo = 2000,
			      .port_hi = 2001 };
	struct in6_addr other = ip6(ADDR6_OTHER);
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;
	struct env e;
	struct run r;
	size_t len;

	if (!env_setup(&e, &o) ||
	    !env_publish(&e, 0, 2000, IPPROTO_UDP, e.b, 53) ||
	    !env_publish6(&e, &other, 2000, IPPROTO_UDP, &e.b6, 53) ||
	    !env_publish6(&e, NULL, 2001, IPPROTO_UDP, &e.b6, 53))
		return;
	s = spec6_out(&e, false, IPPROTO_UDP, 2000);
	len = pkt6_build(&s, &e.a6, &e.remote6, pkt);
	if (!env_from_container(&e, e.ifindex_ha, pkt, len, &r))
		return;
	check6_out(&e, &r, s, len, &e.uplink6, 2000, &e.remote6);
	s = env_spec_from(&e, false, IPPROTO_UDP, e.remote, 2001, 53);
	env_send(&e, e.ifindex_ha, &s, pkt, &r);
	check_snat(&e, &r, pkt, 2001);
}
