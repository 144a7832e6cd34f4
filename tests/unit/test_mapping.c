// SPDX-License-Identifier: GPL-2.0-only
/*
 * Endpoint-independent mapping (RFC 4787 REQ-1, RFC 5382 REQ-1) and the
 * filtering choice (RFC 4787 REQ-8), packet by packet: a container's
 * endpoint keeps one external port towards every destination while a
 * flow of it lives, no other endpoint is given that port, the binding
 * goes with its last flow, and the outside reaches it only as the
 * filtering says.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "checks.h"
#include "env.h"
#include "unit.h"

/* The source port a packet from @ifindex (a or b) left with. */
static uint16_t mapped_port(struct env *e, bool from_b, uint8_t proto,
			    uint32_t to, uint16_t sport, uint16_t dport)
{
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;
	struct run r;

	s = env_spec_from(e, from_b, proto, to, sport, dport);
	s.tcp_flags = TCPF_SYN;
	env_send(e, from_b ? e->ifindex_hb : e->ifindex_ha, &s, pkt, &r);
	if (!ASSERT_EQ(r.verdict, TC_ACT_REDIRECT, "sent out") ||
	    !ASSERT_TRUE(pkt_l4_csum_ok(r.out), "L4 checksum"))
		return 0;
	return ntohs(*(uint16_t *)pkt_l4(r.out));
}

static void one_port_for_every_destination(uint8_t proto)
{
	struct nat_binding bind;
	uint16_t pa, pb, pb2;
	struct env e;

	if (!env_setup(&e, NULL))
		return;
	/* a keeps its own port; b, from the same port to the same server,
	 * cannot have it
	 */
	pa = mapped_port(&e, false, proto, e.remote, 40000, 80);
	pb = mapped_port(&e, true, proto, e.remote, 40000, 80);
	ASSERT_EQ(pa, 40000, "a: its own port");
	ASSERT_NE(pb, 40000, "b: another");
	/* towards another server b's port 40000 would be free, but b's
	 * endpoint is mapped already: the same external port
	 */
	pb2 = mapped_port(&e, true, proto, e.far, 40000, 443);
	ASSERT_EQ(pb2, pb, "b: one external port for both destinations");
	ASSERT_EQ(mapped_port(&e, false, proto, e.far, 40000, 443), 40000,
		  "a: the same towards the second");
	ASSERT_EQ(env_bindings(&e), 2, "one binding per endpoint");
	if (ASSERT_TRUE(env_binding_of(&e, e.b, 40000, proto, &bind),
			"b's binding"))
		ASSERT_EQ(bind.refs, 2, "held by its two flows");

	/* the last flow takes the binding with it */
	ASSERT_EQ(env_flush_addr(&e, e.b), 2, "b's flows flushed");
	ASSERT_EQ(env_bindings(&e), 1, "b's binding gone, a's kept");
	ASSERT_TRUE(!env_binding_of(&e, e.b, 40000, proto, &bind),
		    "no binding for b");
	env_flush(&e);
	ASSERT_EQ(env_bindings(&e), 0, "none left");
}

UNIT_TEST(mapping_endpoint_independent_udp)
{
	one_port_for_every_destination(IPPROTO_UDP);
}

UNIT_TEST(mapping_endpoint_independent_tcp)
{
	one_port_for_every_destination(IPPROTO_TCP);
}

/* An echo id is mapped per destination: no binding. */
UNIT_TEST(mapping_echo_has_no_binding)
{
	struct env e;

	if (!env_setup(&e, NULL))
		return;
	mapped_port(&e, false, IPPROTO_ICMP, e.remote, 7, 0);
	ASSERT_EQ(env_flows(&e), 1, "a flow");
	ASSERT_EQ(env_bindings(&e), 0, "no binding");
}

/*
 * A host the container never sent to, to its mapped port: dropped and
 * counted by default (address-and-port-dependent filtering); let in,
 * as a flow holding the binding, with endpoint-independent filtering.
 */
static void filtering(bool eif)
{
	struct env_opts o = { .filter_eif = eif };
	struct nat_binding bind;
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;
	struct ct_flow f;
	struct ct_key k;
	struct env e;
	struct run r;
	uint16_t pa;

	if (!env_setup(&e, &o))
		return;
	pa = mapped_port(&e, false, IPPROTO_UDP, e.remote, 40000, 3478);
	s = env_spec_reply(&e, IPPROTO_UDP, e.far, 5000, pa);
	env_receive(&e, &s, pkt, &r);
	if (!eif) {
		ASSERT_EQ(r.verdict, TC_ACT_SHOT, "dropped");
		ASSERT_EQ(env_stat(&e, STAT_DROP_FILTERED), 1, "counted");
		ASSERT_EQ(env_flows(&e), 1, "no flow for it");
		/* the server it did send to still answers */
		s = env_spec_reply(&e, IPPROTO_UDP, e.remote, 3478, pa);
		env_receive(&e, &s, pkt, &r);
		check_dnat(&e, &r, pkt, 40000);
		return;
	}
	check_dnat(&e, &r, pkt, 40000);
	ASSERT_EQ(env_stat(&e, STAT_DROP_FILTERED), 0, "not filtered");
	k = key_of(IPPROTO_UDP, e.far, e.snat, 5000, pa);
	if (!ASSERT_TRUE(env_flow_of(&e, &k, &f), "a flow of its own"))
		return;
	ASSERT_EQ(f.kind, CT_KIND_DNAT, "started from the outside");
	ASSERT_TRUE(f.flags & CT_F_BOUND, "holding the binding");
	if (ASSERT_TRUE(env_binding_of(&e, e.a, 40000, IPPROTO_UDP, &bind),
			"a's binding"))
		ASSERT_EQ(bind.refs, 2, "held by both flows");
	/* a answers it from the same external port */
	ASSERT_EQ(mapped_port(&e, false, IPPROTO_UDP, e.far, 40000, 5000), pa,
		  "the answer leaves from the mapped port");
	ASSERT_EQ(env_flows(&e), 2, "no third flow for the answer");
	env_flush(&e);
	ASSERT_EQ(env_bindings(&e), 0, "the binding goes with its flows");
}

UNIT_TEST(filtering_address_and_port_dependent)
{
	filtering(false);
}

UNIT_TEST(filtering_endpoint_independent)
{
	filtering(true);
}

/*
 * Hairpinning to another container's mapping (RFC 4787 REQ-9): b sends
 * to the SNAT address and a's mapped port; a sees b's mapping.
 */
UNIT_TEST(hairpin_to_a_mapping)
{
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;
	struct env e;
	struct run r;
	uint16_t pa, pb;

	if (!env_setup(&e, NULL))
		return;
	pa = mapped_port(&e, false, IPPROTO_UDP, e.remote, 40000, 3478);
	pb = mapped_port(&e, true, IPPROTO_UDP, e.remote, 40001, 3478);
	s = env_spec_from(&e, true, IPPROTO_UDP, e.snat, 40001, pa);
	env_send(&e, e.ifindex_hb, &s, pkt, &r);
	ASSERT_EQ(r.verdict, TC_ACT_REDIRECT, "redirected");
	ASSERT_EQ(r.redirect.ifindex, e.ifindex_ha, "into a");
	ASSERT_EQ(pkt_ip(r.out)->saddr, e.snat, "from the SNAT address");
	ASSERT_EQ(pkt_ip(r.out)->daddr, e.a, "to a");
	ASSERT_EQ(ntohs(*(uint16_t *)pkt_l4(r.out)), pb,
		  "from b's mapped port");
	ASSERT_EQ(ntohs(((uint16_t *)pkt_l4(r.out))[1]), 40000,
		  "to a's own port");
	ASSERT_TRUE(pkt_l4_csum_ok(r.out), "UDP checksum");
	ASSERT_EQ(env_stat(&e, STAT_HAIRPIN), 1, "a hairpin");
}
