// SPDX-License-Identifier: GPL-2.0-only
/*
 * Published ports (DNAT), packet by packet: the outside's first packet
 * makes a flow of its own, the container's answers leave from the
 * published address and port, ICMP errors about such flows are
 * translated both ways (RFC 5508), and no NATed flow is ever given a
 * published port.  Checksums are recomputed from scratch.
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "checks.h"
#include "env.h"
#include "unit.h"

#define HOST_PORT	8080
#define CLIENT_PORT	50000
#define SERVER_PORT	80

/* The outside's packet to the SNAT address's published port. */
static struct pkt_spec to_published(struct env *e, uint8_t proto,
				    uint8_t flags)
{
	struct pkt_spec s = env_spec_reply(e, proto, e->remote, CLIENT_PORT,
					   HOST_PORT);

	s.tcp_flags = flags;
	s.seq = 5000;
	return s;
}

/* Container a's answer to the client, as a sends it. */
static struct pkt_spec answer_of_a(struct env *e, uint8_t proto,
				   uint8_t flags)
{
	struct pkt_spec s = env_spec_from(e, false, proto, e->remote,
					  SERVER_PORT, CLIENT_PORT);

	s.tcp_flags = flags;
	s.seq = 9000;
	s.ack = 5001;
	return s;
}

static void published(uint8_t proto, uint32_t host_addr)
{
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;
	struct ct_flow f;
	struct ct_key k;
	struct env e;
	struct run r;

	if (!env_setup(&e, NULL) ||
	    !env_publish(&e, host_addr ? e.snat : 0, HOST_PORT, proto, e.a,
			 SERVER_PORT))
		return;

	/* the client's first packet: DNATed into a, its source kept */
	s = to_published(&e, proto, TCPF_SYN);
	env_receive(&e, &s, pkt, &r);
	check_dnat(&e, &r, pkt, SERVER_PORT);
	ASSERT_EQ(ntohs(*(uint16_t *)pkt_l4(r.out)), CLIENT_PORT,
		  "the client's port kept");
	ASSERT_EQ(env_stat(&e, STAT_DNAT), 1, "dnat counter");

	k = key_of(proto, e.remote, e.snat, CLIENT_PORT, HOST_PORT);
	if (!ASSERT_TRUE(env_flow_of(&e, &k, &f), "a flow, by the client's tuple"))
		return;
	ASSERT_EQ(f.kind, CT_KIND_DNAT, "a DNAT flow");
	k = key_of(proto, e.a, e.remote, SERVER_PORT, CLIENT_PORT);
	ASSERT_MEM_EQ(&f.tuple[CT_DIR_REPLY], &k, sizeof(k),
		      "its answer: from a's port to the client");
	ASSERT_EQ(f.ifindex[CT_DIR_ORIG], 0, "started from the outside");
	ASSERT_EQ(f.ifindex[CT_DIR_REPLY], e.ifindex_ha, "answered by a");
	ASSERT_EQ(f.state, proto == IPPROTO_TCP ? CT_SYN_SENT : CT_NEW,
		  "state after the first packet");
	ASSERT_EQ(env_index_keys(&e), 2, "two keys");

	/* a's answer leaves from the published address and port */
	s = answer_of_a(&e, proto, TCPF_SYN | TCPF_ACK);
	env_send(&e, e.ifindex_ha, &s, pkt, &r);
	check_snat(&e, &r, pkt, HOST_PORT);
	ASSERT_EQ(ntohs(((uint16_t *)pkt_l4(r.out))[1]), CLIENT_PORT,
		  "to the client's port");
	k = key_of(proto, e.remote, e.snat, CLIENT_PORT, HOST_PORT);
	env_flow_of(&e, &k, &f);
	ASSERT_TRUE(f.flags & CT_F_REPLIED, "answered");
	ASSERT_EQ(f.state, proto == IPPROTO_TCP ? CT_SYN_RECV : CT_ESTABLISHED,
		  "state after the answer");

	/* the client's next packet belongs to the same flow */
	s = to_published(&e, proto, TCPF_ACK);
	s.seq = 5001;
	s.ack = 9001;
	env_receive(&e, &s, pkt, &r);
	check_dnat(&e, &r, pkt, SERVER_PORT);
	ASSERT_EQ(env_flows(&e), 1, "one flow");
	env_flow_of(&e, &k, &f);
	ASSERT_EQ(f.packets[CT_DIR_ORIG], 2, "two packets from the client");
	ASSERT_EQ(f.packets[CT_DIR_REPLY], 1, "one from a");
	if (proto == IPPROTO_TCP)
		ASSERT_EQ(f.state, CT_ESTABLISHED, "handshake done");

	/* ns del's flush takes a's flows, those it answers in too */
	ASSERT_EQ(env_flush_addr(&e, e.a), 1, "flushed with a");
	ASSERT_EQ(env_index_keys(&e), 0, "both keys gone");
}

UNIT_TEST(published_tcp)
{
	published(IPPROTO_TCP, 0);
}

UNIT_TEST(published_udp)
{
	published(IPPROTO_UDP, 0);
}

/* HOSTIP:HOSTPORT:PORT, the host address named. */
UNIT_TEST(published_on_one_address)
{
	published(IPPROTO_TCP, 1);
}

/* What is not published stays the host's: another port, another proto. */
UNIT_TEST(unpublished_ports_pass)
{
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;
	struct env e;
	struct run r;
	size_t len;

	if (!env_setup(&e, NULL) ||
	    !env_publish(&e, 0, HOST_PORT, IPPROTO_TCP, e.a, SERVER_PORT))
		return;
	s = to_published(&e, IPPROTO_UDP, 0);
	len = env_receive(&e, &s, pkt, &r);
	ASSERT_EQ(r.verdict, TC_ACT_OK, "UDP to a TCP port: the host's");
	ASSERT_MEM_EQ(r.out, pkt, len, "untouched");
	s = to_published(&e, IPPROTO_TCP, TCPF_SYN);
	s.dport = HOST_PORT + 1;
	len = env_receive(&e, &s, pkt, &r);
	ASSERT_EQ(r.verdict, TC_ACT_OK, "another port: the host's");
	ASSERT_MEM_EQ(r.out, pkt, len, "untouched");
	ASSERT_EQ(env_flows(&e), 0, "no flow");
	ASSERT_EQ(env_stat(&e, STAT_DNAT), 0, "nothing DNATed");
}

/*
 * Source-port allocation never hands out a published port: a container
 * whose own port is published gets another, and with the range's other
 * ports taken the flow is refused rather than given the published one.
 */
UNIT_TEST(published_port_never_allocated)
{
	struct env_opts o = { .port_lo = 2000, .port_hi = 2001 };
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;
	struct env e;
	struct run r;

	if (!env_setup(&e, &o) ||
	    !env_publish(&e, 0, 2000, IPPROTO_UDP, e.b, 53))
		return;
	s = env_spec_from(&e, false, IPPROTO_UDP, e.remote, 2000, 53);
	env_send(&e, e.ifindex_ha, &s, pkt, &r);
	check_snat(&e, &r, pkt, 2001);
	s = env_spec_from(&e, false, IPPROTO_UDP, e.remote, 2002, 53);
	env_send(&e, e.ifindex_ha, &s, pkt, &r);
	check_icmp_answer(&e, &r, pkt, ICMP_DEST_UNREACH, 13);
	ASSERT_EQ(env_stat(&e, STAT_DROP_NO_PORT), 1, "refused, counted");
	ASSERT_EQ(env_flows(&e), 1, "only the first flow");
	/* the published port still reaches b */
	s = to_published(&e, IPPROTO_UDP, 0);
	s.dport = 2000;
	env_receive(&e, &s, pkt, &r);
	ASSERT_EQ(r.redirect.ifindex, e.ifindex_hb, "into b");
	ASSERT_EQ(pkt_ip(r.out)->daddr, e.b, "to b's address");
}

/* RFC 5508: errors about a published port's flow, both ways. */
UNIT_TEST(published_icmp_errors)
{
	uint8_t pkt[PKT_MAX], got[PKT_MAX], err[PKT_MAX];
	struct udphdr *qu;
	struct pkt_spec s;
	struct iphdr *q;
	struct env e;
	struct run r;
	size_t len;

	if (!env_setup(&e, NULL) ||
	    !env_publish(&e, 0, HOST_PORT, IPPROTO_UDP, e.a, SERVER_PORT))
		return;
	s = to_published(&e, IPPROTO_UDP, 0);
	env_receive(&e, &s, pkt, &r);
	memcpy(got, r.out, r.out_len);		/* as a received it */

	/* a: port unreachable about what it received; the client must
	 * see it about what it sent, to the published address and port
	 */
	len = icmp_error_build(&e, err, e.a, e.remote, ICMP_DEST_UNREACH,
			       ICMP_PORT_UNREACH, l3(got), l3_len(got), false);
	if (!env_from_container(&e, e.ifindex_ha, err, len, &r))
		return;
	ASSERT_EQ(r.verdict, TC_ACT_REDIRECT, "sent on");
	ASSERT_EQ(r.redirect.ifindex, e.ifindex_up, "out of the uplink");
	ASSERT_EQ(pkt_ip(r.out)->saddr, e.snat, "from the SNAT address");
	ASSERT_EQ(pkt_ip(r.out)->daddr, e.remote, "to the client");
	ASSERT_TRUE(pkt_ip_csum_ok(r.out), "outer IP checksum");
	ASSERT_TRUE(pkt_l4_csum_ok(r.out), "ICMP checksum");
	q = (struct iphdr *)(pkt_l4(r.out) + 8);
	qu = (struct udphdr *)(q + 1);
	ASSERT_EQ(q->saddr, e.remote, "quoted source: the client");
	ASSERT_EQ(q->daddr, e.snat, "quoted destination: the SNAT address");
	ASSERT_EQ(ntohs(qu->source), CLIENT_PORT, "quoted source port");
	ASSERT_EQ(ntohs(qu->dest), HOST_PORT, "quoted port: the published one");
	check_quote_checksums(q);

	/* a's answer leaves; a router on the way cannot deliver it: the
	 * error reaches a about what a sent
	 */
	s = answer_of_a(&e, IPPROTO_UDP, 0);
	env_send(&e, e.ifindex_ha, &s, pkt, &r);
	memcpy(got, r.out, r.out_len);		/* as it left */
	len = icmp_error_build(&e, err, e.far, e.snat, ICMP_DEST_UNREACH,
			       ICMP_HOST_UNREACH, l3(got), l3_len(got), true);
	if (!env_from_uplink(&e, err, len, &r))
		return;
	ASSERT_EQ(r.verdict, TC_ACT_REDIRECT, "delivered");
	ASSERT_EQ(r.redirect.ifindex, e.ifindex_ha, "into a");
	ASSERT_EQ(pkt_ip(r.out)->saddr, e.far, "from the router");
	ASSERT_EQ(pkt_ip(r.out)->daddr, e.a, "to a");
	ASSERT_TRUE(pkt_ip_csum_ok(r.out), "outer IP checksum");
	ASSERT_TRUE(pkt_l4_csum_ok(r.out), "ICMP checksum");
	q = (struct iphdr *)(pkt_l4(r.out) + 8);
	qu = (struct udphdr *)(q + 1);
	ASSERT_EQ(q->saddr, e.a, "quoted source: a");
	ASSERT_EQ(ntohs(qu->source), SERVER_PORT, "quoted port: a's own");
	ASSERT_EQ(q->daddr, e.remote, "quoted destination: the client");
	check_quote_checksums(q);
}

/* XDP takes a published port's packets as tc does, byte for byte. */
UNIT_TEST(xdp_published_as_tc)
{
	struct env_opts o = { .xdp = true };
	uint8_t pkt[PKT_MAX];
	struct run r, x;
	struct pkt_spec s;
	struct env e;
	size_t len;

	if (!env_setup(&e, &o) ||
	    !env_publish(&e, 0, HOST_PORT, IPPROTO_TCP, e.a, SERVER_PORT))
		return;
	s = to_published(&e, IPPROTO_TCP, TCPF_SYN);
	len = pkt_build(&s, pkt);
	if (!env_xdp_from_uplink(&e, pkt, len, &x))
		return;
	ASSERT_EQ(x.verdict, XDP_REDIRECT, "XDP redirects");
	ASSERT_EQ(x.redirect.ifindex, e.ifindex_ha, "into a");
	ASSERT_EQ(env_stat_xdp(&e, STAT_DNAT), 1, "counted as XDP's");
	env_flush(&e);
	env_from_uplink(&e, pkt, len, &r);
	ASSERT_EQ(x.out_len, r.out_len, "length as tc");
	ASSERT_MEM_EQ(x.out, r.out, r.out_len, "bytes as tc");
	/* a's answer, from a fresh flow for both runs */
	s = answer_of_a(&e, IPPROTO_TCP, TCPF_SYN | TCPF_ACK);
	len = pkt_build(&s, pkt);
	if (!env_xdp_from_container(&e, e.ifindex_ha, pkt, len, &x))
		return;
	ASSERT_EQ(x.verdict, XDP_REDIRECT, "answer: XDP redirects");
	ASSERT_EQ(ntohs(*(uint16_t *)pkt_l4(x.out)), HOST_PORT,
		  "answer: from the published port");
	ASSERT_TRUE(pkt_l4_csum_ok(x.out), "answer: TCP checksum");
}

/*
 * Hairpinning (RFC 4787 REQ-9, RFC 5382 REQ-8): container b reaches a's
 * published port on the SNAT address; a sees b's external mapping, the
 * SNAT address and b's mapped port, and its answer reaches b from the
 * published address and port.  Nothing leaves by the uplink.
 */
static void hairpin(uint8_t proto, bool from_a)
{
	uint32_t client;
	int ifindex_c;
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;
	struct ct_flow f;
	struct ct_key k;
	struct env e;
	struct run r;
	uint16_t mapped;

	if (!env_setup(&e, NULL) ||
	    !env_publish(&e, 0, HOST_PORT, proto, e.a, SERVER_PORT))
		return;
	client = from_a ? e.a : e.b;
	ifindex_c = from_a ? e.ifindex_ha : e.ifindex_hb;

	s = env_spec_from(&e, !from_a, proto, e.snat, 40000, HOST_PORT);
	s.tcp_flags = TCPF_SYN;
	env_send(&e, ifindex_c, &s, pkt, &r);
	ASSERT_EQ(r.verdict, TC_ACT_REDIRECT, "redirected");
	ASSERT_EQ(r.redirect.kind, REDIRECT_PEER, "into a namespace");
	ASSERT_EQ(r.redirect.ifindex, e.ifindex_ha, "a's");
	ASSERT_MEM_EQ(r.out, e.mac_ca, ETH_ALEN, "dst MAC = a's eth0");
	ASSERT_EQ(pkt_ip(r.out)->daddr, e.a, "to a");
	ASSERT_EQ(pkt_ip(r.out)->saddr, e.snat, "from the SNAT address");
	ASSERT_EQ(ntohs(((uint16_t *)pkt_l4(r.out))[1]), SERVER_PORT,
		  "to a's port");
	mapped = ntohs(*(uint16_t *)pkt_l4(r.out));
	/* port preservation, as for b's flows to the outside */
	ASSERT_EQ(mapped, 40000, "from the client's mapped port");
	ASSERT_TRUE(pkt_ip_csum_ok(r.out), "IP checksum");
	ASSERT_TRUE(pkt_l4_csum_ok(r.out), "L4 checksum");
	ASSERT_EQ(env_stat(&e, STAT_HAIRPIN), 1, "hairpin counter");
	k = key_of(proto, client, e.snat, 40000, HOST_PORT);
	if (!ASSERT_TRUE(env_flow_of(&e, &k, &f), "a flow"))
		return;
	ASSERT_EQ(f.kind, CT_KIND_HAIRPIN, "a hairpin flow");
	ASSERT_EQ(f.ifindex[CT_DIR_ORIG], (uint32_t)ifindex_c, "from the client");
	ASSERT_EQ(f.ifindex[CT_DIR_REPLY], e.ifindex_ha, "answered by a");

	/* a answers the client's mapping */
	s = env_spec_from(&e, false, proto, e.snat, SERVER_PORT, mapped);
	s.tcp_flags = TCPF_SYN | TCPF_ACK;
	s.ack = 1001;
	env_send(&e, e.ifindex_ha, &s, pkt, &r);
	ASSERT_EQ(r.verdict, TC_ACT_REDIRECT, "answer redirected");
	ASSERT_EQ(r.redirect.ifindex, (uint32_t)ifindex_c, "into the client");
	ASSERT_EQ(pkt_ip(r.out)->saddr, e.snat, "answer from the SNAT address");
	ASSERT_EQ(pkt_ip(r.out)->daddr, client, "to the client");
	ASSERT_EQ(ntohs(*(uint16_t *)pkt_l4(r.out)), HOST_PORT,
		  "from the published port");
	ASSERT_EQ(ntohs(((uint16_t *)pkt_l4(r.out))[1]), 40000,
		  "to the client's own port");
	ASSERT_TRUE(pkt_ip_csum_ok(r.out), "answer: IP checksum");
	ASSERT_TRUE(pkt_l4_csum_ok(r.out), "answer: L4 checksum");
	ASSERT_EQ(env_stat(&e, STAT_HAIRPIN), 2, "both counted");
	ASSERT_EQ(env_stat(&e, STAT_SNAT), 0, "nothing out of the uplink");
	env_flow_of(&e, &k, &f);
	if (proto == IPPROTO_TCP)
		ASSERT_EQ(f.state, CT_SYN_RECV, "handshake tracked");
	ASSERT_EQ(env_flush_addr(&e, e.a), 1, "a's flush takes it");
}

UNIT_TEST(hairpin_tcp_from_another_container)
{
	hairpin(IPPROTO_TCP, false);
}

UNIT_TEST(hairpin_udp_from_another_container)
{
	hairpin(IPPROTO_UDP, false);
}

UNIT_TEST(hairpin_from_the_publishing_container)
{
	hairpin(IPPROTO_TCP, true);
}

/* To the SNAT address but not published: the host's, untouched. */
UNIT_TEST(hairpin_unpublished_is_the_hosts)
{
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;
	struct env e;
	struct run r;
	size_t len;

	if (!env_setup(&e, NULL))
		return;
	s = env_spec_from(&e, true, IPPROTO_TCP, e.snat, 40000, HOST_PORT);
	len = env_send(&e, e.ifindex_hb, &s, pkt, &r);
	ASSERT_EQ(r.verdict, TC_ACT_OK, "to the host's stack");
	ASSERT_MEM_EQ(r.out, pkt, len, "untouched");
	ASSERT_EQ(env_flows(&e), 0, "no flow");
}
