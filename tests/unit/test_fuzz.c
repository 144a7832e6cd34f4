// SPDX-License-Identifier: GPL-2.0-only
/*
 * A million random and mutated packets through both programs, with the
 * invariants checked on every result:
 *
 *   - the verdict is one of TC_ACT_OK, TC_ACT_SHOT, TC_ACT_REDIRECT;
 *   - nothing redirected out of the uplink carries a container's source;
 *   - nothing a container sends from the pool to a unicast address beyond
 *     the pool and the host is handed to the stack (TC_ACT_OK), which
 *     would forward it un-NATed;
 *   - a rewritten packet whose input had valid checksums has valid ones;
 *   - IPv6 (an eighth of the packets), NAT66 on, a port published for
 *     both families: what leaves by the uplink comes from the IPv6 SNAT
 *     address, and nothing from the IPv6 pool to beyond it and the host
 *     is handed to the stack; what is delivered into a container goes to
 *     an address of the pool; a rewritten packet's L4 checksum is valid
 *     when the input's was;
 *   - the conntrack never holds half a pair, nor a key that leads to
 *     another flow's slot; every slot is live or waits in ct_free, once.
 *
 * Packets are built from a small set of addresses and ports, so that flows
 * are created, answered, collide and fill the table; a third of them are
 * then mutated (bytes flipped, cut short, padded).  The same runs on two
 * CPUs at once, on the same tuples, and the conntrack is checked whenever
 * both pause.  FUZZ_SEED and FUZZ_PACKETS override the seed and the count.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip6.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "checks.h"
#include "env.h"
#include "unit.h"

/* one stream per thread */
static __thread uint64_t rng_state;

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
	struct env *e;			/* shared by the threads */
	uint16_t seen_ports[64];	/* mapped ports seen leaving */
	uint8_t last_out[PKT_MAX];	/* something to quote in errors */
	uint32_t last_out_len;
	uint64_t runs, violations, rewritten_checked, passes_checked;
};

/* The uplink's broadcast address: 198.51.100.0/24 (env.h). */
static uint32_t uplink_broadcast(struct fuzz *z)
{
	return htonl(ntohl(z->e->snat) | 0xff);
}

static uint32_t addr_from_container(struct fuzz *z)
{
	uint32_t set[] = { z->e->remote, z->e->far, z->e->snat, z->e->gw,
			   z->e->a, z->e->b, htonl(0xac120000 | pick(0x10000)),
			   (uint32_t)rnd(), uplink_broadcast(z),
			   htonl(0xffffffff), htonl(0xe00000fb) /* mDNS */ };

	return set[pick(sizeof(set) / sizeof(set[0]))];
}

/* An IPv6 address a container's packet has, or is for. */
static struct in6_addr addr6_any(struct fuzz *z)
{
	struct in6_addr set[] = { z->e->a6, z->e->b6, z->e->gw6,
				  z->e->uplink6, z->e->remote6,
				  ip6("fd00:18::77"), ip6("ff02::1:ff00:1"),
				  ip6("ff05::1:3"), ip6("fe80::1"),
				  ip6("2001:db8:77::1"), {} };
	struct in6_addr a = set[pick(sizeof(set) / sizeof(set[0]))];

	if (!pick(8))
		a.s6_addr[15] = rnd();	/* somewhere near */
	return a;
}

/* A port published into container a (fuzz_world()). */
#define FUZZ_PUBLISHED	8080

/* The world every fuzz runs in: env's, NAT66 on, with a port published
 * for TCP and UDP over both families, so that the outside's packets take
 * the DNAT path too.
 */
static bool fuzz_world(struct env *e, const struct env_opts *o)
{
	struct env_opts with66 = *o;

	with66.nat66 = true;
	return env_setup(e, &with66) &&
	       env_publish(e, 0, FUZZ_PUBLISHED, IPPROTO_TCP, e->a, 80) &&
	       env_publish(e, 0, FUZZ_PUBLISHED, IPPROTO_UDP, e->a, 80) &&
	       env_publish6(e, NULL, FUZZ_PUBLISHED, IPPROTO_TCP, &e->a6, 80) &&
	       env_publish6(e, NULL, FUZZ_PUBLISHED, IPPROTO_UDP, &e->a6, 80);
}

static uint16_t port(struct fuzz *z)
{
	uint16_t set[] = { 40000, 40001, 53, 80, 6000, FUZZ_PUBLISHED,
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

	if (!pick(8)) {
		static const uint8_t protos6[] = { IPPROTO_TCP, IPPROTO_UDP,
						   IPPROTO_ICMPV6, 47 };
		static const uint8_t types6[] = { 128, 129, 1, 3, 135 };
		struct in6_addr src = addr6_any(z), dst = addr6_any(z);

		s = env_spec_from(z->e, from_b, IPPROTO_UDP, 0, port(z),
				  port(z));
		if (uplink) {
			/* mostly the outside to the SNAT address */
			memcpy(s.smac, z->e->mac_gw, ETH_ALEN);
			memcpy(s.dmac, z->e->mac_up, ETH_ALEN);
			if (pick(4))
				src = z->e->remote6;
			if (pick(3))
				dst = z->e->uplink6;
		} else if (pick(3)) {
			src = from_b ? z->e->b6 : z->e->a6;
		}
		s.proto = protos6[pick(sizeof(protos6))];
		s.icmp_type = types6[pick(sizeof(types6))];
		s.ttl = ttls[pick(sizeof(ttls))];
		s.tcp_flags = rnd();
		s.payload = pick(600);
		return pkt6_build(&s, &src, &dst, buf);
	}
	if (uplink)
		s = env_spec_reply(z->e, proto,
				   pick(4) ? z->e->remote : (uint32_t)rnd(),
				   port(z), port(z));
	else
		s = env_spec_from(z->e, from_b, proto, addr_from_container(z),
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

/*
 * The conntrack at rest (no program running): every key leads to a live
 * flow that has that very tuple in that direction, and whose other key is
 * there too; every other slot is free and waits in ct_free, once.
 */
/*
 * The bindings at rest: each is referenced by exactly the live flows that
 * hold it (CT_F_BOUND, of its endpoint), nat_bound leads back to it, and
 * no two endpoints share an external port.
 */
static bool bindings_consistent(struct env *e)
{
	int fb = bpf_map__fd(e->skel->maps.nat_bindings);
	int fx = bpf_map__fd(e->skel->maps.nat_bound);
	int flows = bpf_map__fd(e->skel->maps.ct_flows);
	struct nat_endpoint k, *prev = NULL, ext, back;
	uint32_t n = e->cfg.ct_max, slot, holders, nheld = 0;
	struct nat_endpoint *held = calloc(n, sizeof(*held));
	struct nat_binding b;
	struct ct_flow f;
	int bindings = 0, bound = 0;
	bool ok = false;

	if (!held)
		return false;
	/* the endpoints the live flows hold bindings of, once each */
	for (slot = 0; slot < n; slot++) {
		const struct ct_key *t;

		if (bpf_map_lookup_elem(flows, &slot, &f) ||
		    f.live != CT_SLOT_LIVE || !(f.flags & CT_F_BOUND))
			continue;
		t = &f.tuple[f.kind == CT_KIND_DNAT ? CT_DIR_REPLY :
						      CT_DIR_ORIG];
		held[nheld] = (struct nat_endpoint){
			.port = t->sport,
			.proto = t->proto,
			.family = t->family ? AF_INET6 : AF_INET,
		};
		memcpy(held[nheld++].addr6, t->saddr6, sizeof(t->saddr6));
	}
	while (!bpf_map_get_next_key(fb, prev, &k)) {
		prev = &k;
		bindings++;
		if (!CHECK(!bpf_map_lookup_elem(fb, &k, &b), "binding vanished"))
			goto out;
		ext = (struct nat_endpoint){ .port = b.ext_port,
					     .proto = k.proto,
					     .family = k.family };
		memcpy(ext.addr6, b.ext_addr6, sizeof(ext.addr6));
		if (!CHECK(!bpf_map_lookup_elem(fx, &ext, &back) &&
			   !memcmp(&back, &k, sizeof(k)),
			   "binding of port %u without its way back",
			   ntohs(b.ext_port)))
			goto out;
		holders = 0;
		for (uint32_t i = 0; i < nheld; i++)
			holders += !memcmp(&held[i], &k, sizeof(k));
		if (!CHECK(b.refs == holders, "binding of port %u: %u refs, "
			   "%u flows hold it", ntohs(b.ext_port), b.refs,
			   holders))
			goto out;
	}
	prev = NULL;
	while (!bpf_map_get_next_key(fx, prev, &ext)) {
		prev = &ext;
		bound++;
	}
	/* one external port per binding: as many ways back as bindings */
	ok = CHECK(bound == bindings, "%d bindings, %d external ports",
		   bindings, bound);
out:
	free(held);
	return ok;
}

static bool table_consistent(struct env *e)
{
	int idx = bpf_map__fd(e->skel->maps.ct_index);
	int flows = bpf_map__fd(e->skel->maps.ct_flows);
	int fq = bpf_map__fd(e->skel->maps.ct_free);
	struct ct_key key, *prev = NULL, mine, other;
	uint32_t n = e->cfg.ct_max, queued = 0, slot;
	uint32_t *order = calloc(n, sizeof(*order));
	uint8_t *seen = calloc(n, 1);
	struct ct_ref ref, oref;
	int keys = 0, live = 0;
	struct ct_flow f;
	bool ok = false;

	if (!order || !seen)
		goto out;
	while (!bpf_map_get_next_key(idx, prev, &key)) {
		prev = &key;
		keys++;
		if (bpf_map_lookup_elem(idx, &key, &ref) ||
		    bpf_map_lookup_elem(flows, &ref.flow, &f)) {
			CHECK(false, "key without a flow");
			goto out;
		}
		if (!CHECK(f.live == CT_SLOT_LIVE,
			   "key of a slot %u in state %u", ref.flow, f.live))
			goto out;
		/* a published port is never a SNAT flow's (an echo id is
		 * no port)
		 */
		if (!CHECK(f.kind != CT_KIND_SNAT ||
			   f.tuple[CT_DIR_REPLY].proto == IPPROTO_ICMP ||
			   f.tuple[CT_DIR_REPLY].proto == IPPROTO_ICMPV6 ||
			   ntohs(f.tuple[CT_DIR_REPLY].dport) != FUZZ_PUBLISHED,
			   "slot %u: SNAT to the published port", ref.flow))
			goto out;
		mine = f.tuple[ref.dir & 1];
		other = f.tuple[(ref.dir & 1) ^ 1];
		if (!CHECK(!memcmp(&key, &mine, sizeof(key)),
			   "a key leads to another flow's slot %u",
			   ref.flow) ||
		    !CHECK(!bpf_map_lookup_elem(idx, &other, &oref) &&
			   oref.flow == ref.flow && oref.dir != ref.dir,
			   "half a pair: slot %u", ref.flow))
			goto out;
	}
	for (slot = 0; slot < n; slot++) {
		if (bpf_map_lookup_elem(flows, &slot, &f))
			goto out;
		live += f.live == CT_SLOT_LIVE;
		if (!CHECK(f.live == CT_SLOT_LIVE || f.live == CT_SLOT_FREE,
			   "slot %u in state %u at rest", slot, f.live))
			goto out;
	}
	if (!CHECK(keys == 2 * live, "%d keys for %d flows", keys, live))
		goto out;
	/* the free slots, each once: taken out of the queue and put back */
	while (queued < n &&
	       !bpf_map_lookup_and_delete_elem(fq, NULL, &order[queued]))
		queued++;
	ok = true;
	for (uint32_t i = 0; i < queued; i++) {
		slot = order[i];
		if (slot >= n || bpf_map_lookup_elem(flows, &slot, &f) ||
		    f.live != CT_SLOT_FREE || seen[slot]++) {
			ok = CHECK(false, "ct_free holds slot %u wrongly",
				   slot);
			break;
		}
	}
	ok = ok && CHECK(queued + live == n, "%u free and %d live of %u slots",
			 queued, live, n);
	for (uint32_t i = 0; i < queued; i++)
		bpf_map_update_elem(fq, NULL, &order[i], 0);
	ok = ok && bindings_consistent(e);
out:
	free(order);
	free(seen);
	return ok;
}

/* Is @a (network order) in the pool, 172.18.0.0/16? */
static bool in_pool(uint32_t a)
{
	return (ntohl(a) & 0xffff0000) == 0xac120000;
}

/*
 * A container's packet from the pool that the data path handed to the
 * stack (TC_ACT_OK): the stack would route it out un-NATed, unless it is
 * for the pool, for the host, or for nothing the stack forwards.
 */
static bool passed_unnated(struct fuzz *z, const uint8_t *in, size_t len)
{
	const struct iphdr *ip = (const struct iphdr *)(in + ETH_HLEN);
	uint32_t d;

	if (len < ETH_HLEN + sizeof(*ip) || in[12] != 0x08 || in[13] != 0)
		return false;
	d = ntohl(ip->daddr);
	z->passes_checked++;
	return in_pool(ip->saddr) && !in_pool(ip->daddr) &&
	       ip->daddr != z->e->snat && (d >> 24) != 127;
}

static bool in_pool6(const struct in6_addr *a)
{
	static const uint8_t net[8] = { 0xfd, 0x00, 0x00, 0x18 };

	return !memcmp(a->s6_addr, net, 8);
}

/* The same for IPv6: nothing translates it, so a packet from the pool
 * that the stack may forward is one for beyond the pool, the link and
 * the host (whose uplink address is its one global address).
 */
static bool passed_unnated6(struct fuzz *z, const uint8_t *in, size_t len)
{
	const struct ip6_hdr *ip6 = (const struct ip6_hdr *)(in + ETH_HLEN);
	static const uint8_t zeros[15];
	const uint8_t *d = ip6->ip6_dst.s6_addr;

	if (len < ETH_HLEN + sizeof(*ip6) || in[12] != 0x86 || in[13] != 0xdd)
		return false;
	z->passes_checked++;
	/* :: and ::1 the stack never forwards, as 127/8 for IPv4 */
	return in_pool6(&ip6->ip6_src) && !in_pool6(&ip6->ip6_dst) &&
	       d[0] != 0xff && !(d[0] == 0xfe && (d[1] & 0xc0) == 0x80) &&
	       memcmp(d, &z->e->uplink6, 16) &&
	       !(!memcmp(d, zeros, 15) && d[15] <= 1);
}

/* An IPv6 packet's result, after the checks of any packet. */
static void check_result6(struct fuzz *z, const struct run *r, bool intact,
			  const uint8_t *sent, size_t len, bool uplink)
{
	const struct ip6_hdr *ip6 = (const struct ip6_hdr *)(r->out + ETH_HLEN);
	bool v6 = r->out_len >= ETH_HLEN + sizeof(*ip6) &&
		  r->out[12] == 0x86 && r->out[13] == 0xdd;

	if (!uplink && r->verdict == TC_ACT_OK &&
	    passed_unnated6(z, sent, len)) {
		const struct ip6_hdr *in6 = (const void *)(sent + ETH_HLEN);
		char from[INET6_ADDRSTRLEN], to[INET6_ADDRSTRLEN];

		inet_ntop(AF_INET6, &in6->ip6_src, from, sizeof(from));
		inet_ntop(AF_INET6, &in6->ip6_dst, to, sizeof(to));
		CHECK(false, "IPv6 passed to the stack un-NATed: %s -> %s "
		      "(next header %u)", from, to, in6->ip6_nxt);
		z->violations++;
	}
	if (r->verdict != TC_ACT_REDIRECT || !r->redirect.count || !v6)
		return;
	if (r->redirect.ifindex == (uint32_t)z->e->ifindex_up &&
	    memcmp(&ip6->ip6_src, &z->e->uplink6, 16)) {
		char from[INET6_ADDRSTRLEN], to[INET6_ADDRSTRLEN];

		inet_ntop(AF_INET6, &ip6->ip6_src, from, sizeof(from));
		inet_ntop(AF_INET6, &ip6->ip6_dst, to, sizeof(to));
		CHECK(false, "IPv6 left by the uplink, not from the SNAT "
		      "address: %s -> %s, next header %u, %s, redirect %u",
		      from, to, ip6->ip6_nxt, uplink ? "from the outside" :
		      "from a container", r->redirect.kind);
		z->violations++;
	}
	if (r->redirect.kind == REDIRECT_PEER &&
	    !CHECK(in_pool6(&ip6->ip6_dst),
		   "IPv6 delivered into a container, not to the pool"))
		z->violations++;
	/* a rewrite keeps a valid checksum valid; an error of ours, sent
	 * back into a container, has a valid one
	 */
	if ((intact || (r->redirect.kind == REDIRECT_EGRESS &&
			r->redirect.ifindex != (uint32_t)z->e->ifindex_up)) &&
	    (ip6->ip6_nxt == IPPROTO_TCP || ip6->ip6_nxt == IPPROTO_UDP ||
	     ip6->ip6_nxt == IPPROTO_ICMPV6) &&
	    r->out_len >= ETH_HLEN + sizeof(*ip6) + ntohs(ip6->ip6_plen)) {
		z->rewritten_checked++;
		if (!CHECK(pkt6_l4_csum_ok(r->out),
			   "IPv6 L4 checksum after a rewrite (proto %u)",
			   ip6->ip6_nxt))
			z->violations++;
	}
}

/*
 * @run is what packet @sent (of @len bytes, from a container unless
 * @uplink) became; @in is the packet before any mutation, @intact if it
 * was not mutated.
 */
static void check_result(struct fuzz *z, const struct run *r, bool intact,
			 const uint8_t *in, const uint8_t *sent, size_t len,
			 bool uplink)
{
	uint8_t out[PKT_MAX];
	struct iphdr *ip;

	memcpy(out, r->out, r->out_len);
	ip = pkt_ip(out);
	if (!CHECK(r->verdict == TC_ACT_OK || r->verdict == TC_ACT_SHOT ||
		   r->verdict == TC_ACT_REDIRECT, "verdict %d", r->verdict))
		z->violations++;
	if (!uplink && r->verdict == TC_ACT_OK &&
	    passed_unnated(z, sent, len)) {
		char from[INET_ADDRSTRLEN], to[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &pkt_ip((uint8_t *)sent)->saddr, from,
			  sizeof(from));
		inet_ntop(AF_INET, &pkt_ip((uint8_t *)sent)->daddr, to,
			  sizeof(to));
		CHECK(false, "passed to the stack un-NATed: %s -> %s", from,
		      to);
		z->violations++;
	}
	/* an IPv6 result is check_result6()'s */
	if (r->verdict != TC_ACT_REDIRECT || !r->redirect.count ||
	    (r->out_len >= ETH_HLEN && out[12] == 0x86 && out[13] == 0xdd))
		return;

	if (r->redirect.ifindex == (uint32_t)z->e->ifindex_up &&
	    (r->redirect.kind == REDIRECT_EGRESS ||
	     r->redirect.kind == REDIRECT_NEIGH)) {
		if (!CHECK(r->out_len >= ETH_HLEN + 20 &&
			   out[12] == 0x08 && out[13] == 0 &&
			   ip->saddr == z->e->snat,
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
	/* from the outside into a container: to a container's address */
	if (uplink && r->redirect.kind == REDIRECT_PEER &&
	    !CHECK(r->out_len >= ETH_HLEN + 20 && out[12] == 0x08 &&
		   out[13] == 0 && in_pool(ip->daddr),
		   "delivered into a container to %s",
		   inet_ntoa((struct in_addr){ ip->daddr })))
		z->violations++;
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

/* One packet, made, maybe mutated, run and checked; false if it could not
 * be run.
 */
static bool fuzz_one(struct fuzz *z)
{
	bool uplink = pick(5) < 2, from_b = pick(2), intact;
	uint8_t pkt[PKT_MAX], orig[PKT_MAX];
	size_t len = make_packet(z, pkt, uplink, from_b);
	struct run r;

	memcpy(orig, pkt, len);
	intact = pick(3) != 0;
	if (!intact)
		len = mutate(pkt, len);
	/* BPF_PROG_TEST_RUN refuses an IPv6 frame shorter than the fixed
	 * header (the kernel never hands such a one to tc): padded
	 */
	if (pkt[12] == 0x86 && pkt[13] == 0xdd && len < PKT6_L4_OFF)
		len = PKT6_L4_OFF;
	if (uplink) {
		if (!env_from_uplink(z->e, pkt, len, &r))
			return false;
	} else if (!env_from_container(z->e, from_b ? z->e->ifindex_hb :
				       z->e->ifindex_ha, pkt, len, &r)) {
		return false;
	}
	z->runs++;
	check_result(z, &r, intact, orig, pkt, len, uplink);
	check_result6(z, &r, intact, pkt, len, uplink);
	return true;
}

static uint64_t fuzz_seed(void)
{
	uint64_t seed = 0x6270666e6174ULL;

	if (getenv("FUZZ_SEED"))
		seed = strtoull(getenv("FUZZ_SEED"), NULL, 0);
	return seed ? seed : 1;
}

static uint64_t fuzz_packets(void)
{
	if (getenv("FUZZ_PACKETS"))
		return strtoull(getenv("FUZZ_PACKETS"), NULL, 0);
	return 1000000;
}

static const struct env_opts fuzz_opts = {
	.ct_max = 4096, .port_lo = 40000, .port_hi = 40999,
};

UNIT_TEST(fuzz_a_million_packets)
{
	uint64_t n = fuzz_packets(), seed = fuzz_seed();
	static struct fuzz z;
	static struct env e;

	rng_state = seed;
	printf("seed %#llx, %llu packets\n", (unsigned long long)seed,
	       (unsigned long long)n);
	if (!fuzz_world(&e, &fuzz_opts))
		return;
	z.e = &e;

	for (uint64_t i = 0; i < n; i++) {
		if (!fuzz_one(&z))
			return;
		if (z.violations) {
			fprintf(stderr, "packet %llu broke an invariant\n",
				(unsigned long long)i);
			return;
		}
		if (i % 100000 == 99999 && !table_consistent(&e))
			return;
	}
	table_consistent(&e);
	printf("%llu packets, %llu rewrites and %llu passes checked, "
	       "%d flows live, violations %llu\n", (unsigned long long)z.runs,
	       (unsigned long long)z.rewritten_checked,
	       (unsigned long long)z.passes_checked, env_flows(&e),
	       (unsigned long long)z.violations);
	ASSERT_EQ(z.runs, n, "every packet ran");
	ASSERT_TRUE(z.rewritten_checked > n / 20, "rewrites were exercised");
	ASSERT_TRUE(env_stat(&e, STAT_SNAT) > 0 &&
		    env_stat(&e, STAT_REVERSE_NAT) > 0 &&
		    env_stat(&e, STAT_DNAT) > 0 &&
		    env_stat(&e, STAT_FORWARD) > 0, "every path was taken");
	ASSERT_TRUE(env_stat6(&e, STAT_SNAT6) > 0 &&
		    env_stat6(&e, STAT_REVERSE_NAT6) > 0 &&
		    env_stat6(&e, STAT_DNAT) > 0 &&
		    env_stat6(&e, STAT_FORWARD6) > 0,
		    "every IPv6 path was taken");
	printf("IPv6: snat6 %llu, reverse_nat6 %llu, dnat %llu, "
	       "forwarded %llu\n",
	       (unsigned long long)env_stat6(&e, STAT_SNAT6),
	       (unsigned long long)env_stat6(&e, STAT_REVERSE_NAT6),
	       (unsigned long long)env_stat6(&e, STAT_DNAT),
	       (unsigned long long)env_stat6(&e, STAT_FORWARD6));
}

/* Two threads, each on its CPU, run rounds of packets; between rounds
 * both pause, and one checks the conntrack at rest.
 */
struct fuzz_pair {
	struct env *e;
	pthread_barrier_t pause;
	uint64_t per_round;	/* packets per thread per round */
	int rounds_min, rounds_max;
	bool until_races;	/* past rounds_min, go on until both races
				 * were met
				 */
	uint64_t flush_one_in;	/* each packet, a flush with chance 1/N */
	uint64_t lockstep;	/* 0, or meet every N packets: two threads
				 * with one stream send it at one pace
				 */
	int stop;		/* a violation, or a thread off its CPU */
	int done;
	int rounds;
	struct test_races races;
};

struct fuzz_thread {
	struct fuzz z;
	struct fuzz_pair *pair;
	int cpu;
	bool checker;
	uint64_t seed;
};

static bool races_read(struct fuzz_pair *p)
{
	__u32 zero = 0;

	return !bpf_map_lookup_elem(bpf_map__fd(p->e->skel->maps.test_races),
				    &zero, &p->races);
}

static void *fuzz_thread(void *arg)
{
	struct fuzz_thread *t = arg;
	struct fuzz_pair *p = t->pair;

	if (!env_pin_cpu(t->cpu)) {
		fprintf(stderr, "thread not on CPU %d\n", t->cpu);
		__atomic_store_n(&p->stop, 1, __ATOMIC_RELAXED);
	}
	rng_state = t->seed;
	for (int round = 0; ; round++) {
		for (uint64_t i = 0; i < p->per_round; i++) {
			/* (on a stop, the barriers are still met) */
			if (p->lockstep && i % p->lockstep == 0)
				pthread_barrier_wait(&p->pause);
			if (__atomic_load_n(&p->stop, __ATOMIC_RELAXED))
				continue;
			if (!fuzz_one(&t->z) || t->z.violations) {
				__atomic_store_n(&p->stop, 1, __ATOMIC_RELAXED);
				continue;
			}
			if (!pick(p->flush_one_in))
				env_flush(p->e);
		}
		/* both threads idle: the maps are at rest */
		pthread_barrier_wait(&p->pause);
		if (t->checker) {
			if (!p->stop && !table_consistent(p->e))
				p->stop = 1;
			races_read(p);
			p->rounds = round + 1;
			p->done = p->rounds >= p->rounds_max ||
				  (p->rounds >= p->rounds_min &&
				   (!p->until_races ||
				    (p->races.stale_slot &&
				     p->races.lost_create)));
		}
		pthread_barrier_wait(&p->pause);
		if (p->done || p->stop)
			return NULL;
	}
}

/* Run @p on the first two CPUs this process may use; false if not two. */
static bool fuzz_pair_run(struct fuzz_pair *p, uint64_t seed0,
			  uint64_t seed1)
{
	static struct fuzz_thread t[2];
	pthread_t tid[2];
	cpu_set_t allowed;
	int cpus = 0;

	if (sched_getaffinity(0, sizeof(allowed), &allowed))
		return false;
	memset(t, 0, sizeof(t));
	for (int cpu = 0; cpu < CPU_SETSIZE && cpus < 2; cpu++)
		if (CPU_ISSET(cpu, &allowed))
			t[cpus++].cpu = cpu;
	if (cpus < 2)
		return false;
	pthread_barrier_init(&p->pause, NULL, 2);
	for (int i = 0; i < 2; i++) {
		t[i].z.e = p->e;
		t[i].pair = p;
		t[i].checker = i == 0;
		t[i].seed = i ? seed1 : seed0;
		if (!ASSERT_OK(pthread_create(&tid[i], NULL, fuzz_thread,
					      &t[i]), "start a thread"))
			exit(1);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(tid[i], NULL);
	pthread_barrier_destroy(&p->pause);
	table_consistent(p->e);
	printf("CPUs %d and %d, %d rounds: %llu + %llu packets, %llu + %llu "
	       "rewrites checked, %d flows live; races met: %llu stale "
	       "slots, %llu creations lost\n", t[0].cpu, t[1].cpu, p->rounds,
	       (unsigned long long)t[0].z.runs, (unsigned long long)t[1].z.runs,
	       (unsigned long long)t[0].z.rewritten_checked,
	       (unsigned long long)t[1].z.rewritten_checked, env_flows(p->e),
	       (unsigned long long)p->races.stale_slot,
	       (unsigned long long)p->races.lost_create);
	for (int i = 0; i < 2; i++)
		CHECK(t[i].z.runs == p->per_round * p->rounds &&
		      !t[i].z.violations,
		      "thread %d: %llu of %llu packets ran, %llu violations", i,
		      (unsigned long long)t[i].z.runs,
		      (unsigned long long)(p->per_round * p->rounds),
		      (unsigned long long)t[i].z.violations);
	ASSERT_TRUE(env_stat(p->e, STAT_SNAT) > 0 &&
		    env_stat(p->e, STAT_REVERSE_NAT) > 0 &&
		    env_stat(p->e, STAT_FORWARD) > 0, "every path was taken");
	return true;
}

/*
 * The fuzz from two threads pinned to two CPUs at once, each with half
 * the packets and its own stream, on the same addresses and ports and the
 * same table as fuzz_a_million_packets, flushed now and then.
 */
UNIT_TEST(fuzz_on_two_cpus_at_once)
{
	uint64_t n = fuzz_packets(), seed = fuzz_seed();
	struct fuzz_pair p = {
		.per_round = n / 2 / 20, .rounds_min = 20, .rounds_max = 20,
		.flush_one_in = 100000,
	};
	static struct env e;

	printf("seed %#llx, %llu packets\n", (unsigned long long)seed,
	       (unsigned long long)n);
	if (!fuzz_world(&e, &fuzz_opts))
		return;
	p.e = &e;
	if (!fuzz_pair_run(&p, seed, seed + 1))
		unit_skip("fewer than two CPUs");
}

/*
 * The races themselves: both threads send the same stream, in lockstep,
 * so they create the same flows at the same moments, into a table of 16
 * slots that early drop recycles all the time, so that keys lead to slots
 * just given to other flows.  It goes on until both races were met
 * (within a bound).
 */
UNIT_TEST(fuzz_on_two_cpus_meets_the_races)
{
	struct env_opts o = { .ct_max = 16, .port_lo = 40000,
			      .port_hi = 40999 };
	uint64_t seed = fuzz_seed();
	struct fuzz_pair p = {
		.per_round = 50000, .rounds_min = 4, .rounds_max = 60,
		.until_races = true, .flush_one_in = 200000, .lockstep = 100,
	};
	static struct env e;

	printf("seed %#llx\n", (unsigned long long)seed);
	if (!fuzz_world(&e, &o))
		return;
	p.e = &e;
	if (!fuzz_pair_run(&p, seed, seed))
		unit_skip("fewer than two CPUs");
	ASSERT_TRUE(p.races.stale_slot > 0, "a key led to a recycled slot");
	ASSERT_TRUE(p.races.lost_create > 0, "a creation race was lost");
}
