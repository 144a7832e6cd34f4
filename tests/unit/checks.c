// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip6.h>
#include <netinet/icmp6.h>
#include <linux/pkt_cls.h>

#include "checks.h"
#include "unit.h"

/* Everything a SNATed packet from container a must look like. */
bool check_snat(struct env *e, struct run *r, const uint8_t *in,
		       uint16_t want_sport)
{
	uint8_t expect[PKT_MAX];
	struct iphdr *ip = pkt_ip(r->out);
	bool ok = true;

	ok &= ASSERT_EQ(r->verdict, TC_ACT_REDIRECT, "verdict");
	ok &= ASSERT_EQ(r->redirect.kind, REDIRECT_EGRESS, "redirect kind");
	ok &= ASSERT_EQ(r->redirect.ifindex, e->ifindex_up, "redirect target");
	ok &= ASSERT_MEM_EQ(r->out, e->mac_gw, ETH_ALEN, "dst MAC = next hop");
	ok &= ASSERT_MEM_EQ(r->out + ETH_ALEN, e->mac_up, ETH_ALEN,
			    "src MAC = uplink");
	ok &= ASSERT_EQ(ip->saddr, e->snat, "source address");
	ok &= ASSERT_EQ(ip->daddr, pkt_ip((uint8_t *)in)->daddr, "destination");
	ok &= ASSERT_EQ(ip->ttl, pkt_ip((uint8_t *)in)->ttl - 1, "ttl");
	ok &= ASSERT_TRUE(pkt_ip_csum_ok(r->out), "IP checksum");
	ok &= ASSERT_TRUE(pkt_l4_csum_ok(r->out), "L4 checksum");
	if (ip->protocol == IPPROTO_TCP || ip->protocol == IPPROTO_UDP)
		ok &= ASSERT_EQ(ntohs(*(uint16_t *)pkt_l4(r->out)), want_sport,
				"source port");
	else if (ip->protocol == IPPROTO_ICMP)
		ok &= ASSERT_EQ(ntohs(((struct icmphdr *)pkt_l4(r->out))->un
				      .echo.id), want_sport, "echo id");

	/* nothing else moved: patch the expected fields into the input */
	memcpy(expect, in, r->out_len);
	memcpy(expect, r->out, 2 * ETH_ALEN);
	memcpy(pkt_ip(expect), ip, sizeof(*ip));
	memcpy(pkt_l4(expect), pkt_l4(r->out), 8);	/* ports, csum, id */
	if (ip->protocol == IPPROTO_TCP)
		memcpy(pkt_l4(expect) + 16, pkt_l4(r->out) + 16, 2);
	ok &= ASSERT_MEM_EQ(r->out, expect, r->out_len, "the other bytes");
	return ok;
}

/* ... and one reverse-NATed to container a. */
bool check_dnat(struct env *e, struct run *r, const uint8_t *in,
		       uint16_t want_dport)
{
	struct iphdr *ip = pkt_ip(r->out);
	bool ok = true;

	ok &= ASSERT_EQ(r->verdict, TC_ACT_REDIRECT, "verdict");
	ok &= ASSERT_EQ(r->redirect.kind, REDIRECT_PEER, "redirect kind");
	ok &= ASSERT_EQ(r->redirect.ifindex, e->ifindex_ha, "into a");
	ok &= ASSERT_MEM_EQ(r->out, e->mac_ca, ETH_ALEN, "dst MAC = a's eth0");
	ok &= ASSERT_MEM_EQ(r->out + ETH_ALEN, e->mac_ha, ETH_ALEN,
			    "src MAC = a's gateway");
	ok &= ASSERT_EQ(ip->daddr, e->a, "destination address");
	ok &= ASSERT_EQ(ip->saddr, pkt_ip((uint8_t *)in)->saddr, "source");
	ok &= ASSERT_EQ(ip->ttl, pkt_ip((uint8_t *)in)->ttl - 1, "ttl");
	ok &= ASSERT_TRUE(pkt_ip_csum_ok(r->out), "IP checksum");
	ok &= ASSERT_TRUE(pkt_l4_csum_ok(r->out), "L4 checksum");
	if (ip->protocol == IPPROTO_ICMP)
		ok &= ASSERT_EQ(ntohs(((struct icmphdr *)pkt_l4(r->out))->un
				      .echo.id), want_dport, "echo id");
	else
		ok &= ASSERT_EQ(ntohs(((uint16_t *)pkt_l4(r->out))[1]),
				want_dport, "destination port");
	return ok;
}

/*
 * The packet in @in was refused, and what came back out of the container's
 * veth is an ICMP error about it, from the gateway.
 */
bool check_icmp_answer(struct env *e, struct run *r, const uint8_t *in,
			      uint8_t type, uint8_t code)
{
	struct iphdr *ip = pkt_ip(r->out);
	struct icmphdr *icmp = pkt_l4(r->out);
	unsigned int qlen;
	bool ok = true;

	ok &= ASSERT_EQ(r->verdict, TC_ACT_REDIRECT, "answered");
	ok &= ASSERT_EQ(r->redirect.kind, REDIRECT_EGRESS, "sent out");
	ok &= ASSERT_EQ(r->redirect.ifindex, e->ifindex_ha, "back to a");
	/* the quote: all of a small packet, 504 bytes of a big one */
	qlen = ntohs(pkt_ip((uint8_t *)in)->tot_len);
	qlen = (qlen < 504 ? qlen : 504) & ~3u;
	ok &= ASSERT_EQ(r->out_len, ETH_HLEN + 20 + 8 + qlen, "length");
	ok &= ASSERT_EQ(ntohs(ip->tot_len), 20 + 8 + qlen, "IP length");
	ok &= ASSERT_MEM_EQ(r->out, e->mac_ca, ETH_ALEN, "to a's eth0");
	ok &= ASSERT_MEM_EQ(r->out + ETH_ALEN, e->mac_ha, ETH_ALEN,
			    "from a's gateway");
	ok &= ASSERT_EQ(ip->protocol, IPPROTO_ICMP, "ICMP");
	ok &= ASSERT_EQ(ip->saddr, e->gw, "from the gateway");
	ok &= ASSERT_EQ(ip->daddr, e->a, "to a");
	ok &= ASSERT_EQ(icmp->type, type, "type");
	ok &= ASSERT_EQ(icmp->code, code, "code");
	ok &= ASSERT_TRUE(pkt_ip_csum_ok(r->out), "IP checksum");
	ok &= ASSERT_TRUE(pkt_l4_csum_ok(r->out), "ICMP checksum");
	ok &= ASSERT_MEM_EQ(pkt_l4(r->out) + 8, pkt_ip((uint8_t *)in), qlen,
			    "quotes the packet");
	return ok;
}

struct ct_key key_of(uint8_t proto, uint32_t s, uint32_t d,
			    uint16_t sport, uint16_t dport)
{
	struct ct_key k;

	/* every byte: a designated union member leaves the rest undefined */
	memset(&k, 0, sizeof(k));
	k.saddr = s;
	k.daddr = d;
	k.proto = proto;
	k.sport = htons(sport);
	k.dport = htons(dport);
	return k;
}

/*
 * An ICMP error from @from to @to about the IP packet @quote (all of it,
 * so the quoted L4 checksum can be checked from scratch afterwards).
 */
size_t icmp_error_build(struct env *e, uint8_t *buf, uint32_t from,
			       uint32_t to, uint8_t type, uint8_t code,
			       const uint8_t *quote, size_t quote_len,
			       bool from_outside)
{
	struct pkt_spec s = {
		.proto = IPPROTO_ICMP,
		.saddr = from,
		.daddr = to,
		.icmp_type = type,
		.payload = quote_len,
	};
	struct icmphdr *icmp;
	size_t len;

	if (from_outside) {
		memcpy(s.smac, e->mac_gw, ETH_ALEN);
		memcpy(s.dmac, e->mac_up, ETH_ALEN);
	} else {
		memcpy(s.smac, e->mac_ca, ETH_ALEN);
		memcpy(s.dmac, e->mac_ha, ETH_ALEN);
	}
	len = pkt_build(&s, buf);
	icmp = pkt_l4(buf);
	icmp->code = code;
	icmp->un.gateway = 0;
	memcpy(pkt_l4(buf) + sizeof(*icmp), quote, quote_len);
	icmp->checksum = 0;
	icmp->checksum = htons(csum_compute(icmp, sizeof(*icmp) + quote_len,
					    0));
	return len;
}

/* The IPv4 packet inside a frame. */
const uint8_t *l3(const uint8_t *frame)
{
	return frame + ETH_HLEN;
}

size_t l3_len(const uint8_t *frame)
{
	return ntohs(((const struct iphdr *)l3(frame))->tot_len);
}

bool check_quote_checksums(const struct iphdr *q)
{
	uint8_t f[PKT_MAX] = {};
	bool ok;

	ok = ASSERT_EQ(csum_compute(q, 20, 0), 0, "quoted IP checksum");
	memcpy(f + ETH_HLEN, q, ntohs(q->tot_len));
	ok &= ASSERT_TRUE(pkt_l4_csum_ok(f), "quoted UDP checksum");
	return ok;
}

/* A packet of container a (or b) to the outside over IPv6. */
struct pkt_spec spec6_out(const struct env *e, bool from_b, uint8_t proto,
			  uint16_t sport)
{
	struct pkt_spec s = {
		.proto = proto,
		.sport = sport,
		.dport = 80,
		.payload = 48,
		.icmp_type = ICMP6_ECHO_REQUEST,
		.tcp_flags = TCPF_SYN,
	};

	memcpy(s.smac, from_b ? e->mac_cb : e->mac_ca, ETH_ALEN);
	memcpy(s.dmac, from_b ? e->mac_hb : e->mac_ha, ETH_ALEN);
	return s;
}

/* The outside's answer to @s, to @port of the SNAT address. */
struct pkt_spec spec6_answer(const struct env *e, struct pkt_spec s,
			     uint16_t port)
{
	uint16_t remote = s.dport;

	memcpy(s.smac, e->mac_gw, ETH_ALEN);
	memcpy(s.dmac, e->mac_up, ETH_ALEN);
	s.icmp_type = ICMP6_ECHO_REPLY;
	s.tcp_flags = TCPF_SYN | TCPF_ACK;
	/* ICMPv6: the echo id, in sport, is the mapped one */
	s.sport = s.proto == IPPROTO_ICMPV6 ? port : remote;
	s.dport = port;
	return s;
}

/*
 * An ICMPv6 error from @from to @to, of @type, @code and @info (packet
 * too big's MTU), quoting the first @qlen bytes of the IPv6 packet in
 * frame @quoted; framed as arriving from the outside, or from a.
 */
size_t icmp6_error_build(const struct env *e, uint8_t *buf,
			 const struct in6_addr *from, const struct in6_addr *to,
			 uint8_t type, uint8_t code, uint32_t info,
			 const uint8_t *quoted, size_t qlen, bool from_outside)
{
	struct pkt_spec s = {
		.proto = IPPROTO_ICMPV6,
		.icmp_type = type,
		.payload = qlen,
	};
	uint8_t *icmp = buf + PKT6_L4_OFF;
	size_t len;

	memcpy(s.smac, from_outside ? e->mac_gw : e->mac_ca, ETH_ALEN);
	memcpy(s.dmac, from_outside ? e->mac_up : e->mac_ha, ETH_ALEN);
	len = pkt6_build(&s, from, to, buf);
	icmp[1] = code;
	info = htonl(info);
	memcpy(icmp + 4, &info, 4);
	memcpy(icmp + 8, quoted + ETH_HLEN, qlen);
	pkt6_l4_csum_set(buf);
	return len;
}

/* The length of the IPv6 packet in @frame, header included. */
size_t l3_len6(const uint8_t *frame)
{
	return 40 + ntohs(((const struct ip6_hdr *)(frame + ETH_HLEN))->ip6_plen);
}

/*
 * Fragment @n (0 or 1) of the IPv6 packet in frame @whole: its first
 * FRAG6_FIRST bytes after the fixed header, or the rest, in a datagram of
 * identification FRAG6_ID.  Into @buf; its length.
 */
size_t frag6_cut(const uint8_t *whole, int n, uint8_t *buf)
{
	const struct ip6_hdr *ip6 = (const void *)(whole + ETH_HLEN);
	size_t plen = ntohs(ip6->ip6_plen);
	size_t off = n ? FRAG6_FIRST : 0;
	size_t len = n ? plen - FRAG6_FIRST : FRAG6_FIRST;
	struct ip6_hdr *out = (void *)(buf + ETH_HLEN);
	struct ip6_frag *fh = (void *)(buf + ETH_HLEN + sizeof(*out));

	memset(buf, 0, PKT_MAX);
	memcpy(buf, whole, ETH_HLEN + sizeof(*out));
	out->ip6_nxt = IPPROTO_FRAGMENT;
	out->ip6_plen = htons(sizeof(*fh) + len);
	fh->ip6f_nxt = ip6->ip6_nxt;
	fh->ip6f_offlg = htons(off | (n ? 0 : 1));	/* M on the first */
	fh->ip6f_ident = htonl(FRAG6_ID);
	memcpy(fh + 1, whole + ETH_HLEN + sizeof(*out) + off, len);
	return ETH_HLEN + sizeof(*out) + sizeof(*fh) + len;
}

/* The two fragments in @f0, @f1 put back together into frame @whole. */
void frag6_join(const uint8_t *f0, const uint8_t *f1, size_t len1,
		uint8_t *whole)
{
	const size_t hdrs = ETH_HLEN + 40 + 8;
	struct ip6_hdr *ip6 = (void *)(whole + ETH_HLEN);
	const struct ip6_frag *fh = (const void *)(f0 + ETH_HLEN + 40);

	memset(whole, 0, PKT_MAX);
	memcpy(whole, f0, ETH_HLEN + 40);
	ip6->ip6_nxt = fh->ip6f_nxt;
	memcpy(whole + ETH_HLEN + 40, f0 + hdrs, FRAG6_FIRST);
	memcpy(whole + ETH_HLEN + 40 + FRAG6_FIRST, f1 + hdrs, len1 - hdrs);
	ip6->ip6_plen = htons(FRAG6_FIRST + len1 - hdrs);
}

/* Later fragment @f as delivered into a: new MACs and destination, a hop
 * less, every other byte as it came (no checksum of its own).
 */
void check_frag6_into_a(const struct env *e, const struct run *r,
			const uint8_t *f, size_t len)
{
	uint8_t want[PKT_MAX];
	struct ip6_hdr *ip6 = (void *)(want + ETH_HLEN);

	memcpy(want, f, len);
	memcpy(want, e->mac_ca, ETH_ALEN);
	memcpy(want + ETH_ALEN, e->mac_ha, ETH_ALEN);
	memcpy(&ip6->ip6_dst, &e->a6, 16);
	ip6->ip6_hlim--;
	ASSERT_EQ(r->out_len, len, "length");
	ASSERT_MEM_EQ(r->out, want, len, "the later fragment, for a");
}

bool check6_out(const struct env *e, const struct run *r, struct pkt_spec s,
		size_t len, const struct in6_addr *src, uint16_t sport,
		const struct in6_addr *dst)
{
	uint8_t want[PKT_MAX];
	bool ok = true;

	ok &= ASSERT_EQ(r->verdict, TC_ACT_REDIRECT, "sent on");
	ok &= ASSERT_EQ(r->redirect.kind, REDIRECT_EGRESS,
			"out of a device ...");
	ok &= ASSERT_EQ(r->redirect.ifindex, e->ifindex_up, "... the uplink");
	memcpy(s.dmac, e->mac_gw, ETH_ALEN);
	memcpy(s.smac, e->mac_up, ETH_ALEN);
	s.ttl = (s.ttl ? s.ttl : 64) - 1;
	s.sport = sport;
	pkt6_build(&s, src, dst, want);
	ok &= ASSERT_EQ(r->out_len, len, "length");
	ok &= ASSERT_MEM_EQ(r->out, want, len, "bytes = a router's");
	ok &= ASSERT_TRUE(pkt6_l4_csum_ok(r->out), "L4 checksum from scratch");
	return ok;
}

bool check6_into(const struct env *e, const struct run *r, struct pkt_spec s,
		 size_t len, bool to_b, const struct in6_addr *src,
		 uint16_t sport, uint16_t dport)
{
	uint8_t want[PKT_MAX];
	bool ok = true;

	ok &= ASSERT_EQ(r->verdict, TC_ACT_REDIRECT, "delivered");
	ok &= ASSERT_EQ(r->redirect.kind, REDIRECT_PEER,
			"into a namespace ...");
	ok &= ASSERT_EQ(r->redirect.ifindex,
			to_b ? e->ifindex_hb : e->ifindex_ha,
			to_b ? "... b's" : "... a's");
	memcpy(s.dmac, to_b ? e->mac_cb : e->mac_ca, ETH_ALEN);
	memcpy(s.smac, to_b ? e->mac_hb : e->mac_ha, ETH_ALEN);
	s.ttl = (s.ttl ? s.ttl : 64) - 1;
	s.sport = sport;
	s.dport = dport;
	pkt6_build(&s, src, to_b ? &e->b6 : &e->a6, want);
	ok &= ASSERT_EQ(r->out_len, len, "length");
	ok &= ASSERT_MEM_EQ(r->out, want, len, "bytes = a router's");
	ok &= ASSERT_TRUE(pkt6_l4_csum_ok(r->out), "L4 checksum from scratch");
	return ok;
}
