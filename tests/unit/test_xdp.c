// SPDX-License-Identifier: GPL-2.0-only
/*
 * XDP mode against tc mode: the same packet through xdp_container or
 * xdp_uplink must come out byte for byte as the tc program makes it
 * (whose output the other tests check field by field), with its
 * checksums computed here rather than by the kernel's helpers; and what
 * XDP cannot finish must be left to tc untouched.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "checks.h"
#include "env.h"
#include "unit.h"

/* Both programs on @pkt, from a fresh table each; outputs equal. */
static void same_as_tc(struct env *e, bool uplink, int ifindex,
		       const uint8_t *pkt, size_t len, const char *what)
{
	struct run tc, xdp;

	env_flush(e);
	if (uplink)
		env_from_uplink(e, pkt, len, &tc);
	else
		env_from_container(e, ifindex, pkt, len, &tc);
	env_flush(e);
	if (uplink)
		env_xdp_from_uplink(e, pkt, len, &xdp);
	else
		env_xdp_from_container(e, ifindex, pkt, len, &xdp);

	if (!CHECK(tc.verdict == TC_ACT_REDIRECT, "%s: tc verdict %d", what,
		   tc.verdict) ||
	    !CHECK(xdp.verdict == XDP_REDIRECT, "%s: XDP verdict %d", what,
		   xdp.verdict))
		return;
	CHECK(xdp.redirect.kind == tc.redirect.kind &&
	      xdp.redirect.ifindex == tc.redirect.ifindex,
	      "%s: redirect %u/%u, tc %u/%u", what, xdp.redirect.kind,
	      xdp.redirect.ifindex, tc.redirect.kind, tc.redirect.ifindex);
	CHECK(xdp.out_len == tc.out_len &&
	      !memcmp(xdp.out, tc.out, tc.out_len), "%s: bytes differ from tc",
	      what);
	CHECK(pkt_ip_csum_ok(xdp.out) && pkt_l4_csum_ok(xdp.out),
	      "%s: checksums", what);
}

UNIT_TEST(xdp_rewrites_as_tc_does)
{
	static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP,
					  IPPROTO_ICMP };
	/* source ports outside the range: every one is remapped */
	struct env_opts o = { .port_lo = 50000, .port_hi = 50999, .xdp = true };
	uint8_t pkt[PKT_MAX], out[PKT_MAX];
	struct env e;
	struct run r;
	struct pkt_spec s;
	size_t len;

	if (!env_setup(&e, &o))
		return;
	for (size_t i = 0; i < sizeof(protos); i++) {
		/* out, to the outside */
		s = env_spec_from(&e, false, protos[i], e.remote, 40000, 80);
		len = pkt_build(&s, pkt);
		same_as_tc(&e, false, e.ifindex_ha, pkt, len, "SNAT");
		/* a UDP checksum of 0 */
		if (protos[i] == IPPROTO_UDP) {
			s.udp_no_csum = true;
			len = pkt_build(&s, pkt);
			same_as_tc(&e, false, e.ifindex_ha, pkt, len,
				   "SNAT, no UDP checksum");
			s.udp_no_csum = false;
		}
		/* to another container */
		s = env_spec_from(&e, false, protos[i], e.b, 40000, 80);
		len = pkt_build(&s, pkt);
		same_as_tc(&e, false, e.ifindex_ha, pkt, len, "forward");
	}

	/* a reply: the flow must exist for both runs */
	s = env_spec_from(&e, false, IPPROTO_TCP, e.remote, 40000, 80);
	len = pkt_build(&s, out);
	env_flush(&e);
	env_from_container(&e, e.ifindex_ha, out, len, &r);
	s = env_spec_reply(&e, IPPROTO_TCP, e.remote, 80,
			   ntohs(*(uint16_t *)pkt_l4(r.out)));
	len = env_receive(&e, &s, pkt, &r);
	ASSERT_EQ(r.redirect.ifindex, e.ifindex_ha, "reply: tc into a");
	{
		struct run x;

		env_xdp_from_uplink(&e, pkt, len, &x);
		ASSERT_EQ(x.verdict, XDP_REDIRECT, "reply: XDP redirects");
		ASSERT_EQ(x.redirect.ifindex, e.ifindex_ha, "reply: into a");
		ASSERT_EQ(x.out_len, r.out_len, "reply: length as tc");
		ASSERT_MEM_EQ(x.out, r.out, r.out_len, "reply: bytes as tc");
	}
	ASSERT_TRUE(env_stat_xdp(&e, STAT_SNAT) > 0, "counted as XDP's");
}

/* What XDP cannot finish reaches tc as it came. */
UNIT_TEST(xdp_leaves_the_rest_to_tc)
{
	uint8_t pkt[PKT_MAX];
	struct env e;
	struct run r;
	struct pkt_spec s;
	size_t len;
	struct env_opts o = { .xdp = true };

	if (!env_setup(&e, &o))
		return;
	/* TTL 1: the answer needs an skb */
	s = env_spec_from(&e, false, IPPROTO_UDP, e.remote, 33434, 33435);
	s.ttl = 1;
	len = pkt_build(&s, pkt);
	env_xdp_from_container(&e, e.ifindex_ha, pkt, len, &r);
	ASSERT_EQ(r.verdict, XDP_PASS, "TTL 1: to tc");
	ASSERT_MEM_EQ(r.out, pkt, len, "TTL 1: untouched");
	/* a fragment from the outside */
	s = env_spec_reply(&e, IPPROTO_UDP, e.remote, 53, 6000);
	s.frag = 185;
	len = pkt_build(&s, pkt);
	env_xdp_from_uplink(&e, pkt, len, &r);
	ASSERT_EQ(r.verdict, XDP_PASS, "fragment: to tc");
	ASSERT_MEM_EQ(r.out, pkt, len, "fragment: untouched");
	/* a next hop XDP cannot send to */
	{
		__u32 up = e.ifindex_up;

		bpf_map_delete_elem(bpf_map__fd(e.skel->maps.tx_ports), &up);
	}
	s = env_spec_from(&e, false, IPPROTO_TCP, e.remote, 40000, 80);
	len = pkt_build(&s, pkt);
	env_xdp_from_container(&e, e.ifindex_ha, pkt, len, &r);
	ASSERT_EQ(r.verdict, XDP_PASS, "no XDP way out: to tc");
	ASSERT_MEM_EQ(r.out, pkt, len, "untouched");
	ASSERT_EQ(env_stat_xdp(&e, STAT_TO_TC), 3, "counted as left to tc");
}
