/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What a translated packet must look like, checked field by field and
 * with checksums recomputed from scratch.
 */
#ifndef BPFNAT_UNIT_CHECKS_H
#define BPFNAT_UNIT_CHECKS_H

#include "env.h"

/* A packet of container a after SNAT: out of the uplink to the next hop,
 * source = the SNAT address and @want_sport, nothing else changed.
 */
bool check_snat(struct env *e, struct run *r, const uint8_t *in,
		uint16_t want_sport);
/* A packet after reverse NAT: into a, destination a:@want_dport. */
bool check_dnat(struct env *e, struct run *r, const uint8_t *in,
		uint16_t want_dport);
/* @in was refused and an ICMP error about it went back to a. */
bool check_icmp_answer(struct env *e, struct run *r, const uint8_t *in,
		       uint8_t type, uint8_t code);

/*
 * An ICMP error from @from to @to about the IP packet @quote (all of it,
 * so the quoted L4 checksum can be checked from scratch afterwards),
 * framed as arriving from the outside or from container a.
 */
size_t icmp_error_build(struct env *e, uint8_t *buf, uint32_t from,
			uint32_t to, uint8_t type, uint8_t code,
			const uint8_t *quote, size_t quote_len,
			bool from_outside);
/* The IPv4 packet inside a frame, and its length. */
const uint8_t *l3(const uint8_t *frame);
size_t l3_len(const uint8_t *frame);

/* The IP header and the L4 checksum of the packet quoted at @q (the whole
 * datagram), recomputed from scratch.
 */
bool check_quote_checksums(const struct iphdr *q);

struct ct_key key_of(uint8_t proto, uint32_t s, uint32_t d, uint16_t sport,
		     uint16_t dport);

/* IPv6: a packet of container a (or b) to the outside, 2001:db8:1::2:80
 * from @sport (an echo request with id @sport, a TCP SYN); and the
 * outside's answer to @s, to @port of the SNAT address (the specs' MACs
 * filled in, the addresses pkt6_build()'s).
 */
struct pkt_spec spec6_out(const struct env *e, bool from_b, uint8_t proto,
			  uint16_t sport);
struct pkt_spec spec6_answer(const struct env *e, struct pkt_spec s,
			     uint16_t port);

/*
 * An ICMPv6 error from @from to @to, of @type, @code and @info (packet
 * too big's MTU), quoting the first @qlen bytes of the IPv6 packet in
 * frame @quoted; framed as arriving from the outside, or from a.  Its
 * length.
 */
size_t icmp6_error_build(const struct env *e, uint8_t *buf,
			 const struct in6_addr *from, const struct in6_addr *to,
			 uint8_t type, uint8_t code, uint32_t info,
			 const uint8_t *quoted, size_t qlen, bool from_outside);
/* The length of the IPv6 packet in @frame, header included. */
size_t l3_len6(const uint8_t *frame);

/* IPv6 fragments of a datagram, in two: the first carries FRAG6_FIRST
 * bytes after the fixed header.
 */
#define FRAG6_ID	0x01020304
#define FRAG6_FIRST	1232
/* Fragment @n (0 or 1) of the IPv6 packet in frame @whole into @buf. */
size_t frag6_cut(const uint8_t *whole, int n, uint8_t *buf);
/* Fragments @f0 and @f1 (@len1 bytes) put back together into @whole. */
void frag6_join(const uint8_t *f0, const uint8_t *f1, size_t len1,
		uint8_t *whole);
/*
 * @r must be @s (@len bytes) as a router sends it out of the uplink to
 * the next hop, from @src:@sport to @dst: new MACs, a hop less, every
 * other byte as sent, the L4 checksum right from scratch.
 */
bool check6_out(const struct env *e, const struct run *r, struct pkt_spec s,
		size_t len, const struct in6_addr *src, uint16_t sport,
		const struct in6_addr *dst);
/*
 * @r must be @s (@len bytes) as a router delivers it into container a
 * (@to_b: b): into its namespace, its MACs, from @src:@sport to its
 * address and @dport, a hop less, every other byte as sent, the L4
 * checksum right from scratch.
 */
bool check6_into(const struct env *e, const struct run *r, struct pkt_spec s,
		 size_t len, bool to_b, const struct in6_addr *src,
		 uint16_t sport, uint16_t dport);

/* @r is later fragment @f (@len bytes) as delivered into a. */
void check_frag6_into_a(const struct env *e, const struct run *r,
			const uint8_t *f, size_t len);

#endif /* BPFNAT_UNIT_CHECKS_H */
