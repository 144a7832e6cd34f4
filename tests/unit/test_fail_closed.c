// SPDX-License-Identifier: GPL-2.0-only
/*
 * Fail closed: nothing a container sends leaves the uplink with its own
 * address.  Destinations the data path will not NAT are answered or
 * dropped, never handed to a stack that would forward them; and the
 * uplink's guard drops, and counts, whatever would leave un-NATed anyway.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>

#include "checks.h"
#include "env.h"
#include "unit.h"

/* A pool address no container has is answered as a router would. */
UNIT_TEST(unknown_pool_destination_answered)
{
	static const uint8_t protos[] = { IPPROTO_UDP, IPPROTO_TCP,
					  IPPROTO_ICMP };
	uint32_t dsts[2];
	struct env e;
	struct run r;
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;
	int n = 0;

	if (!env_setup(&e, NULL))
		return;
	dsts[0] = ip("172.18.200.200");
	dsts[1] = ip("172.18.0.0");	/* the pool's network address */
	for (int d = 0; d < 2; d++) {
		for (size_t i = 0; i < sizeof(protos); i++) {
			s = env_spec_from(&e, false, protos[i], dsts[d], 4000,
					  53);
			if (protos[i] == IPPROTO_TCP)
				s.tcp_flags = TCPF_SYN;
			env_send(&e, e.ifindex_ha, &s, pkt, &r);
			if (!check_icmp_answer(&e, &r, pkt, ICMP_DEST_UNREACH,
					       ICMP_HOST_UNREACH))
				return;
			n++;
		}
	}
	ASSERT_EQ(env_stat(&e, STAT_DROP_NO_CONTAINER), n, "counted");
	ASSERT_EQ(env_stat(&e, STAT_PASS), 0, "none handed to the stack");
	ASSERT_EQ(env_flows(&e), 0, "no flow");

	/* a later fragment has nothing to quote: dropped, not answered */
	s = env_spec_from(&e, false, IPPROTO_UDP, dsts[0], 4000, 53);
	s.frag = 185;
	env_send(&e, e.ifindex_ha, &s, pkt, &r);
	ASSERT_EQ(r.verdict, TC_ACT_SHOT, "later fragment dropped");
	ASSERT_EQ(r.redirect.count, 0, "and not answered");
	/* an error about an error is never sent */
	s = env_spec_from(&e, false, IPPROTO_ICMP, dsts[0], 0, 0);
	s.icmp_type = ICMP_DEST_UNREACH;
	env_send(&e, e.ifindex_ha, &s, pkt, &r);
	ASSERT_EQ(r.verdict, TC_ACT_SHOT, "ICMP error dropped");
	ASSERT_EQ(r.redirect.count, 0, "and not answered");
	/* nor is anyone but the container itself answered */
	s = env_spec_from(&e, false, IPPROTO_UDP, dsts[0], 4000, 53);
	s.saddr = ip("172.18.0.77");
	env_send(&e, e.ifindex_ha, &s, pkt, &r);
	ASSERT_EQ(r.verdict, TC_ACT_SHOT, "spoofed source dropped");
	ASSERT_EQ(env_stat(&e, STAT_DROP_SPOOFED), 1, "as spoofed");
	ASSERT_EQ(env_stat(&e, STAT_DROP_NO_CONTAINER), n + 2,
		  "the rest counted");

	/* the gateway is the host, and the host's business */
	s = env_spec_from(&e, false, IPPROTO_UDP, e.gw, 4000, 53);
	env_send(&e, e.ifindex_ha, &s, pkt, &r);
	ASSERT_EQ(r.verdict, TC_ACT_OK, "to the gateway: passed");
}

UNIT_TEST(broadcast_and_multicast_dropped)
{
	static const char *const bcast[] = { "255.255.255.255",
					     "172.18.255.255",
					     "198.51.100.255" };
	static const char *const mcast[] = { "224.0.0.1", "224.0.0.251",
					     "239.255.255.250" };
	struct env e;
	struct run r;
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;

	if (!env_setup(&e, NULL))
		return;
	for (size_t i = 0; i < 3; i++) {
		s = env_spec_from(&e, false, IPPROTO_UDP, ip(bcast[i]), 68, 67);
		env_send(&e, e.ifindex_ha, &s, pkt, &r);
		if (!ASSERT_EQ(r.verdict, TC_ACT_SHOT, bcast[i]))
			return;
	}
	for (size_t i = 0; i < 3; i++) {
		s = env_spec_from(&e, false, IPPROTO_UDP, ip(mcast[i]), 5353,
				  5353);
		env_send(&e, e.ifindex_ha, &s, pkt, &r);
		if (!ASSERT_EQ(r.verdict, TC_ACT_SHOT, mcast[i]))
			return;
	}
	/* IGMP, which a container's kernel sends by itself */
	s = env_spec_from(&e, false, 2, ip("224.0.0.22"), 0, 0);
	env_send(&e, e.ifindex_ha, &s, pkt, &r);
	ASSERT_EQ(r.verdict, TC_ACT_SHOT, "IGMP report");
	ASSERT_EQ(env_stat(&e, STAT_DROP_BROADCAST), 3, "broadcast counted");
	ASSERT_EQ(env_stat(&e, STAT_DROP_MULTICAST), 4, "multicast counted");
	ASSERT_EQ(env_stat(&e, STAT_PASS), 0, "none handed to the stack");
	ASSERT_EQ(env_flows(&e), 0, "no flow");
}

/* With no configuration written, the programs cannot tell NAT from a
 * leak: a container's IPv4 goes nowhere, the outside's to the stack.
 */
UNIT_TEST(no_config_no_container_traffic)
{
	struct bpfnat_config none = {};
	struct env e;
	struct run r;
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;
	__u32 zero = 0;

	if (!env_setup(&e, NULL))
		return;
	if (!ASSERT_OK(bpf_map_update_elem(bpf_map__fd(e.skel->maps.config),
					   &zero, &none, 0), "clear config"))
		return;
	s = env_spec_from(&e, false, IPPROTO_UDP, e.remote, 4000, 53);
	env_send(&e, e.ifindex_ha, &s, pkt, &r);
	ASSERT_EQ(r.verdict, TC_ACT_SHOT, "to the outside: dropped");
	s = env_spec_from(&e, false, IPPROTO_UDP, e.b, 4000, 53);
	env_send(&e, e.ifindex_ha, &s, pkt, &r);
	ASSERT_EQ(r.verdict, TC_ACT_SHOT, "to b: dropped");
	ASSERT_EQ(env_stat(&e, STAT_DROP_NO_CONFIG), 2, "counted");
	s = env_spec_reply(&e, IPPROTO_UDP, e.remote, 53, 4000);
	env_receive(&e, &s, pkt, &r);
	ASSERT_EQ(r.verdict, TC_ACT_OK, "from the outside: the host's");
}

/* The uplink's guard: a pool source leaving un-NATed is dropped. */
UNIT_TEST(guard_drops_pool_sources)
{
	struct env_opts o = { .exclude = "10.244.0.0/16" };
	struct env e;
	struct run r;
	uint8_t pkt[PKT_MAX];
	struct pkt_spec s;
	size_t len;

	if (!env_setup(&e, &o))
		return;
	/* as the stack would forward a container's packet, un-NATed */
	s = env_spec_from(&e, false, IPPROTO_UDP, e.remote, 4000, 53);
	len = pkt_build(&s, pkt);
	env_guard(&e, pkt, len, &r);
	ASSERT_EQ(r.verdict, TC_ACT_SHOT, "a container's source: dropped");
	s.saddr = e.gw;		/* the host's address in the pool */
	len = pkt_build(&s, pkt);
	env_guard(&e, pkt, len, &r);
	ASSERT_EQ(r.verdict, TC_ACT_SHOT, "the gateway's source: dropped");
	ASSERT_EQ(env_stat(&e, STAT_DROP_LEAK), 2, "counted");

	/* NATed, or the host's own: through, and not counted */
	s = env_spec_from(&e, false, IPPROTO_TCP, e.remote, 4000, 80);
	s.saddr = e.snat;
	len = pkt_build(&s, pkt);
	env_guard(&e, pkt, len, &r);
	ASSERT_EQ(r.verdict, TC_ACT_OK, "the SNAT address: through");
	ASSERT_MEM_EQ(r.out, pkt, len, "unchanged");
	/* excluded destinations are routed un-NATed on purpose */
	s = env_spec_from(&e, false, IPPROTO_UDP, ip("10.244.1.5"), 4000, 53);
	len = pkt_build(&s, pkt);
	env_guard(&e, pkt, len, &r);
	ASSERT_EQ(r.verdict, TC_ACT_OK, "to an excluded network: through");
	/* not IPv4: not the guard's */
	pkt[12] = 0x08;
	pkt[13] = 0x06;
	env_guard(&e, pkt, 42, &r);
	ASSERT_EQ(r.verdict, TC_ACT_OK, "ARP: through");
	ASSERT_EQ(env_stat(&e, STAT_DROP_LEAK), 2, "none of those counted");
}
