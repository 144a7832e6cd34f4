/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * IPv6 parsing and addresses.  The IPv6 path reads the fixed header and
 * the TCP, UDP or ICMPv6 header right after it, or after a Fragment
 * header; it forwards between containers whatever follows, and walks no
 * other extension header.
 * Addresses are compared as four 32-bit words in network order, as struct
 * in6_key (include/bpfnat.h) holds them.
 */
#ifndef BPFNAT_PARSE6_H
#define BPFNAT_PARSE6_H

#include <linux/ipv6.h>

#include "common.h"
#include "parse.h"

#ifndef ETH_P_IPV6
#define ETH_P_IPV6	0x86DD
#endif

/*
 * Is @next an extension header (RFC 8200 4, RFC 7045's list)?  The IPv6
 * path does not walk them: what follows one is not known, so no error of
 * ours is sent about such a packet (it could be an ICMPv6 error), and
 * none is translated.
 */
static __always_inline bool ipv6_ext_header(__u8 next)
{
	switch (next) {
	case 0:		/* hop-by-hop options */
	case 43:	/* routing */
	case 44:	/* fragment */
	case 50:	/* ESP */
	case 51:	/* AH */
	case 60:	/* destination options */
	case 135:	/* mobility */
	case 139:	/* HIP */
	case 140:	/* shim6 */
	case 253:	/* experiments */
	case 254:
		return true;
	default:
		return false;
	}
}

/* The IPv6 header of @p, checked against its length, or a drop reason;
 * p->len becomes the IPv6 packet's length, header included.
 */
static __always_inline int parse_ipv6(struct pkt *p, struct ipv6hdr **out)
{
	struct ipv6hdr *ip6 = hdr_ptr(p, ETH_HLEN, sizeof(*ip6));
	__u32 len;

	if (!ip6)
		return STAT_DROP_TRUNCATED;
	if (ip6->version != 6)
		return STAT_DROP_BAD_IHL;
	len = sizeof(*ip6) + bpf_ntohs(ip6->payload_len);
	/* a jumbogram's payload length is 0: not taken either */
	if (len == sizeof(*ip6) || len > p->frame_len - ETH_HLEN)
		return STAT_DROP_BAD_LENGTH;
	p->len = len;
	*out = ip6;
	return CONTINUE;
}

/* The Fragment header (RFC 8200 4.5). */
struct ipv6_frag_hdr {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off;	/* offset in 8-byte units << 3, M flag in bit 0 */
	__be32 id;
};

#define IPV6_FRAG_OFFSET	0xfff8	/* of frag_off, in host order */

static __always_inline bool ipv6_l4_known(__u8 next)
{
	return next == IPPROTO_TCP || next == IPPROTO_UDP ||
	       next == IPPROTO_ICMPV6;
}

/*
 * The tuple of IPv6 packet @p, whose header parse_ipv6() found at @ip6,
 * into p->key, and its L4 header when one follows the fixed header
 * (TCP, UDP, ICMPv6), or a Fragment header alone: then the key's protocol
 * is the fragment's, p->is_fragment is set, p->l3_len counts the Fragment
 * header, and a first fragment has its L4 header read (a later one has
 * none: p->l4 stays NULL).  After any other extension header p->l4 stays
 * NULL too.  Returns CONTINUE or a drop reason, as parse_l4().
 */
static __always_inline int parse_ipv6_l4(struct pkt *p, struct ipv6hdr *ip6)
{
	struct ipv6_frag_hdr *fh;
	__u32 hlen = sizeof(*ip6);
	__u8 next = ip6->nexthdr;
	bool later = false;

	__builtin_memcpy(p->key.saddr6, &ip6->saddr, sizeof(p->key.saddr6));
	__builtin_memcpy(p->key.daddr6, &ip6->daddr, sizeof(p->key.daddr6));
	p->key.family = AF_INET6;
	if (next == IPPROTO_FRAGMENT) {
		fh = hdr_ptr(p, ETH_HLEN + sizeof(*ip6), sizeof(*fh));
		if (!fh || p->len < sizeof(*ip6) + sizeof(*fh))
			return STAT_DROP_TRUNCATED;
		p->is_fragment = 1;
		next = fh->nexthdr;
		hlen += sizeof(*fh);
		later = bpf_ntohs(fh->frag_off) & IPV6_FRAG_OFFSET;
	}
	p->key.proto = next;
	p->l3_len = hlen;
	/* a later fragment has no L4 header of its own */
	if (later || !ipv6_l4_known(next))
		return CONTINUE;
	p->l4 = hdr_ptr(p, ETH_HLEN + hlen, 0);
	if (!p->l4)
		return STAT_DROP_TRUNCATED;
	return parse_l4(p, p->len - hlen);
}

/* A later fragment: no L4 header of its own. */
static __always_inline bool ipv6_later_fragment(const struct pkt *p)
{
	return p->is_fragment && !p->l4;
}

/* A key's address as an in6_key (the same four words). */
static __always_inline const struct in6_key *in6_of(const __be32 *addr)
{
	return (const struct in6_key *)addr;
}

static __always_inline void in6_copy(struct in6_key *k,
				     const struct in6_addr *a)
{
	__builtin_memcpy(k->addr, a, sizeof(k->addr));
}

static __always_inline bool in6_eq(const struct in6_key *a,
				   const struct in6_key *b)
{
	return !((a->addr[0] ^ b->addr[0]) | (a->addr[1] ^ b->addr[1]) |
		 (a->addr[2] ^ b->addr[2]) | (a->addr[3] ^ b->addr[3]));
}

/* ::, which no host has (an unset IPv6 SNAT address) */
static __always_inline bool in6_zero(const struct in6_key *a)
{
	return !(a->addr[0] | a->addr[1] | a->addr[2] | a->addr[3]);
}

/* Is @a in @net/@plen? */
static __always_inline bool in6_prefix(const struct in6_key *a,
				       const struct in6_key *net, __u32 plen)
{
	for (int i = 0; i < 4; i++) {
		int bits = (int)plen - 32 * i;
		__u32 mask;

		if (bits <= 0)
			break;
		mask = bits >= 32 ? 0xffffffff : ~(0xffffffffu >> bits);
		if ((a->addr[i] ^ net->addr[i]) & bpf_htonl(mask))
			return false;
	}
	return true;
}

/* ff00::/8, and its scope (RFC 4291 2.7): 1 the node, 2 the link. */
static __always_inline bool in6_multicast(const struct in6_key *a)
{
	return (a->addr[0] & bpf_htonl(0xff000000)) == bpf_htonl(0xff000000);
}

static __always_inline __u32 in6_mc_scope(const struct in6_key *a)
{
	return (bpf_ntohl(a->addr[0]) >> 16) & 0xf;
}

/* fe80::/10 */
static __always_inline bool in6_link_local(const struct in6_key *a)
{
	return (a->addr[0] & bpf_htonl(0xffc00000)) == bpf_htonl(0xfe800000);
}

/* ::, ::1 or ::ffff:0:0/96 (IPv4-mapped): none the wire's to carry. */
static __always_inline bool in6_special(const struct in6_key *a)
{
	return !a->addr[0] && !a->addr[1] &&
	       ((!a->addr[2] && (!a->addr[3] || a->addr[3] == bpf_htonl(1))) ||
		a->addr[2] == bpf_htonl(0xffff));
}

#endif /* BPFNAT_PARSE6_H */
