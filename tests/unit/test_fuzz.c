// SPDX-License-Identifier: GPL-2.0-only
/*
 * A million random and mutated packets through both programs, with the
 * invariants checked on every result:
 *
 *   - the verdict is one of TC_ACT_OK, TC_ACT_SHOT, TC_ACT_REDIRECT;
 *   - nothing redirected out of the uplink carries a container's source;
 *   - a rewritten packet whose input had valid checksums has valid ones;
 *   - the conntrack never holds half a pair: every key leads to a live flow
 *     whose other key is there too.
 *
 * Packets are built from a small set of addresses and ports, so that flows
 * are created, answered, collide and fill the table; a third of them are
 * then mutated (bytes flipped, cut short, padded).  FUZZ_SEED and
 * FUZZ_PACKETS override the seed and the count.
 */
#include <stdlib.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "checks.h"
#include "env.h"
#include "unit.h"

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* xorshift64*: small, fast, reproducible */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static uint32_t pick(uint32_t n)
{
	return rnd() % n;
}

struct fuzz {
	struct env e;
	uint16_t seen_ports[64];	/* mapped ports seen leaving */
	uint8_t last_out[PKT_MAX];	/* something to quote in errors */
	uint32_t last_out_len;
	uint64_t runs, violations, rewritten_checked;
};

static uint32_t addr_from_container(struct fuzz *z)
{
	uint32_t set[] = { z->e.remote, z->e.far, z->e.snat, z->e.gw, z->e.a,
			   z->e.b, htonl(0xac120000 | pick(0x10000)),
			   (uint32_t)rnd() };

	return set[pick(sizeof(set) / sizeof(set[0]))];
}

static uint16_t port(struct fuzz *z)
{
	uint16_t set[] = { 40000, 40001, 53, 80, 6000,
			   z->seen_ports[pick(64)], (uint16_t)rnd() };

	return set[pick(sizeof(set) / sizeof(set[0]))];
}

static size_t make_packet(struct fuzz *z, uint8_t *buf, bool uplink,
			  bool from_b)
{
	static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP,
					  IPPROTO_ICMP, 47 };
	static const uint8_t icmp_types[] = { ICMP_ECHO, ICMP_ECHOREPLY,
					      ICMP_DEST_UNREACH,
					      ICMP_TIME_EXCEEDED, 42 };
	static const uint8_t ttls[] = { 1, 2, 64, 255 };
	uint8_t proto = protos[pick(sizeof(protos))];
	struct pkt_spec s;
	size_t len;

	if (uplink)
		s = env_spec_reply(&z->e, proto,
				   pick(4) ? z->e.remote : (uint32_t)rnd(),
				   port(z), port(z));
	else
		s = env_spec_from(&z->e, from_b, proto, addr_from_container(z),
				  port(z), port(z));
	if (uplink && !pick(5))
		s.daddr = addr_from_container(z);
	if (!uplink && !pick(10))
		s.saddr = addr_from_container(z);	/* spoofed */
	s.ttl = ttls[pick(sizeof(ttls))];
	s.tcp_flags = rnd();
	s.icmp_type = icmp_types[pick(sizeof(icmp_types))];
	s.payload = pick(300);
	s.udp_no_csum = !pick(8);
	s.ip_id = pick(4);
	if (!pick(10))
		s.frag = pick(2) ? 0x2000 : (pick(2) ? 0x2000 : 0) | (1 + pick(300));
	if (!pick(20))
		s.frag |= 0x4000;	/* DF */
	len = pkt_build(&s, buf);

	/* an ICMP error: quote the last packet that left, or garbage */
	if (proto == IPPROTO_ICMP && (s.icmp_type == ICMP_DEST_UNREACH ||
				      s.icmp_type == ICMP_TIME_EXCEEDED) &&
	    z->last_out_len > ETH_HLEN && !(s.frag & 0x1fff)) {
		size_t q = z->last_out_len - ETH_HLEN;
		struct icmphdr *icmp = pkt_l4(buf);

		if (q > 200)
			q = pick(2) ? 28 : 200;
		memcpy(pkt_l4(buf) + 8, z->last_out + ETH_HLEN, q);
		pkt_ip(buf)->tot_len = htons(20 + 8 + q);
		pkt_ip(buf)->check = 0;
		pkt_ip(buf)->check = htons(csum_compute(pkt_ip(buf), 20, 0));
		icmp->checksum = 0;
		icmp->checksum = htons(csum_compute(icmp, 8 + q, 0));
		len = ETH_HLEN + 20 + 8 + q;
	}
	if (!pick(50)) {
		/* ARP, with random fields */
		for (size_t i = 14; i < 42; i++)
			buf[i] = rnd();
		buf[12] = 0x08;
		buf[13] = 0x06;
		len = 42;
	}
	return len;
}

/* Flip, cut or pad: returns the new length. */
static size_t mutate(uint8_t *buf, size_t len)
{
	switch (pick(3)) {
	case 0:
		for (int n = 1 + pick(4); n; n--)
			buf[ETH_HLEN + pick(len - ETH_HLEN)] ^= 1 << pick(8);
		return len;
	case 1:
		return ETH_HLEN + 20 + pick(len - ETH_HLEN - 19 > 0 ?
					    len - ETH_HLEN - 19 : 1);
	default:
		for (size_t i = 0, n = pick(40); i < n && len < PKT_MAX; i++)
			buf[len++] = rnd();
		return len;
	}
}

/* Every key leads to a live flow whose other key is there too. */
static bool no_half_pair(struct fuzz *z)
{
	int idx = bpf_map__fd(z->e.skel->maps.ct_index);
	int flows = bpf_map__fd(z->e.skel->maps.ct_flows);
	struct ct_key key, *prev = NULL, other;
	struct ct_flow f;
	struct ct_ref ref, oref;
	int keys = 0;

	while (!bpf_map_get_next_key(idx, prev, &key)) {
		prev = &key;
		keys++;
		if (bpf_map_lookup_elem(idx, &key, &ref) ||
		    bpf_map_lookup_elem(flows, &ref.flow, &f))
			return CHECK(false, "key without a flow");
		if (!CHECK(f.live == CT_SLOT_LIVE, "key of a dead slot %u",
			   ref.flow))
			return false;
		if (ref.dir == CT_DIR_ORIG) {
			ct_reply_key(&f, &other);
			if (!CHECK(!memcmp(&key, &f.orig, sizeof(key)),
				   "original key differs from its flow"))
				return false;
		} else {
			other = f.orig;
		}
		if (!CHECK(!bpf_map_lookup_elem(idx, &other, &oref) &&
			   oref.flow == ref.flow && oref.dir != ref.dir,
			   "half a pair: slot %u", ref.flow))
			return false;
	}
	return CHECK(keys == 2 * env_flows(&z->e),
		     "%d keys for %d flows", keys, env_flows(&z->e));
}

static void check_result(struct fuzz *z, const struct run *r, bool intact,
			 const uint8_t *in)
{
	uint8_t out[PKT_MAX];
	struct iphdr *ip;

	memcpy(out, r->out, r->out_len);
	ip = pkt_ip(out);
	if (!CHECK(r->verdict == TC_ACT_OK || r->verdict == TC_ACT_SHOT ||
		   r->verdict == TC_ACT_REDIRECT, "verdict %d", r->verdict))
		z->violations++;
	if (r->verdict != TC_ACT_REDIRECT || !r->redirect.count)
		return;

	if (r->redirect.ifindex == (uint32_t)z->e.ifindex_up &&
	    (r->redirect.kind == REDIRECT_EGRESS ||
	     r->redirect.kind == REDIRECT_NEIGH)) {
		if (!CHECK(r->out_len >= ETH_HLEN + 20 &&
			   out[12] == 0x08 && out[13] == 0 &&
			   ip->saddr == z->e.snat,
			   "left by the uplink from %s", inet_ntoa((struct in_addr){
				   ip->saddr })))
			z->violations++;
		if (r->out_len <= PKT_MAX) {
			memcpy(z->last_out, out, r->out_len);
			z->last_out_len = r->out_len;
			if (ip->protocol == IPPROTO_TCP ||
			    ip->protocol == IPPROTO_UDP)
				z->seen_ports[pick(64)] =
					ntohs(*(uint16_t *)pkt_l4(out));
		}
	}
	if (!intact || out[12] != 0x08 || out[13] != 0)
		return;
	z->rewritten_checked++;
	if (!CHECK(pkt_ip_csum_ok(out), "IP checksum after a rewrite"))
		z->violations++;
	/* L4 checksums cover whole datagrams only */
	if (!(ntohs(ip->frag_off) & 0x3fff) &&
	    !(ntohs(pkt_ip((uint8_t *)in)->frag_off) & 0x3fff) &&
	    !CHECK(pkt_l4_csum_ok(out), "L4 checksum after a rewrite (proto %u)",
		   ip->protocol))
		z->violations++;
}

UNIT_TEST(fuzz_a_million_packets)
{
	struct env_opts o = { .ct_max = 4096, .port_lo = 40000,
			      .port_hi = 40999 };
	static struct fuzz z;
	uint64_t n = 1000000, seed = 0x6270666e6174ULL;
	uint8_t pkt[PKT_MAX], orig[PKT_MAX];
	struct run r;

	if (getenv("FUZZ_SEED"))
		seed = strtoull(getenv("FUZZ_SEED"), NULL, 0);
	if (getenv("FUZZ_PACKETS"))
		n = strtoull(getenv("FUZZ_PACKETS"), NULL, 0);
	rng_state = seed ? seed : 1;
	printf("seed %#llx, %llu packets\n", (unsigned long long)seed,
	       (unsigned long long)n);
	if (!env_setup(&z.e, &o))
		return;

	for (uint64_t i = 0; i < n; i++) {
		bool uplink = pick(5) < 2, from_b = pick(2), intact;
		size_t len = make_packet(&z, pkt, uplink, from_b);

		memcpy(orig, pkt, len);
		intact = pick(3) != 0;
		if (!intact)
			len = mutate(pkt, len);
		if (uplink) {
			if (!env_from_uplink(&z.e, pkt, len, &r))
				return;
		} else if (!env_from_container(&z.e, from_b ? z.e.ifindex_hb :
					       z.e.ifindex_ha, pkt, len, &r)) {
			return;
		}
		z.runs++;
		check_result(&z, &r, intact, orig);
		if (z.violations) {
			fprintf(stderr, "packet %llu broke an invariant\n",
				(unsigned long long)i);
			return;
		}
		if (i % 100000 == 99999 && !no_half_pair(&z))
			return;
	}
	no_half_pair(&z);
	printf("%llu packets, %llu rewrites checked, %d flows live, "
	       "violations %llu\n", (unsigned long long)z.runs,
	       (unsigned long long)z.rewritten_checked, env_flows(&z.e),
	       (unsigned long long)z.violations);
	ASSERT_EQ(z.runs, n, "every packet ran");
	ASSERT_TRUE(z.rewritten_checked > n / 20, "rewrites were exercised");
	ASSERT_TRUE(env_stat(&z.e, STAT_SNAT) > 0 &&
		    env_stat(&z.e, STAT_DNAT) > 0 &&
		    env_stat(&z.e, STAT_FORWARD) > 0, "every path was taken");
}
