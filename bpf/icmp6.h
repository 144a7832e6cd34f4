/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ICMPv6 errors of ours (RFC 4443), sent back into a container from its
 * gateway: time exceeded when it would forward a packet whose hop limit is
 * spent, destination unreachable for a pool address no container has and
 * for the outside when there is no IPv6 SNAT address, packet too big when
 * the uplink's MTU is smaller than the packet.
 *
 * Unlike ICMP's, the ICMPv6 checksum covers a pseudo header (both
 * addresses, the length, the next header), so it is computed over the
 * whole message here; the IPv6 header has no checksum of its own.
 *
 * And ICMPv6 errors about NATed flows, translated as icmp.h does ICMP's
 * (RFC 5508's rules, which RFC 7857 keeps for IPv6): destination
 * unreachable, packet too big, time exceeded and parameter problem.  From
 * the outside the quoted source is the IPv6 SNAT address and port and
 * becomes the container's; from a container (about a reply it received)
 * the quoted destination becomes the SNAT address and port.  The quoted
 * L4 checksum follows (in IPv6 every one has a pseudo header, ICMPv6
 * echo's too), then the error's own.  None of these changes a length or
 * a header's size, so packet too big's MTU and parameter problem's
 * pointer stay right as they are.
 */
#ifndef BPFNAT_ICMP6_H
#define BPFNAT_ICMP6_H

#include "common.h"
#include "csum.h"
#include "maps.h"
#include "icmp.h"
#include "parse6.h"

#ifndef ICMPV6_DEST_UNREACH
#define ICMPV6_DEST_UNREACH	1
#define ICMPV6_PKT_TOOBIG	2
#define ICMPV6_TIME_EXCEED	3
#endif
#ifndef ICMPV6_PARAMPROB
#define ICMPV6_PARAMPROB	4
#endif
#define ICMPV6_NOROUTE		0
#define ICMPV6_ADM_PROHIBITED	1
#define ICMPV6_ADDR_UNREACH	3
#define ICMPV6_EXC_HOPLIMIT	0

/* Types 0-127 are errors: never an error about one. */
static __always_inline bool icmp6_is_error(__u8 type)
{
	return type < 128;
}

/* The errors translated for NATed flows: the four RFC 4443 defines. */
static __always_inline bool icmp6_is_translated_error(__u8 type)
{
	return type >= ICMPV6_DEST_UNREACH && type <= ICMPV6_PARAMPROB;
}

#define ICMP6_QUOTE_OFF	(ETH_HLEN + sizeof(struct ipv6hdr) + 8)
#define ICMP6_QUOTE_L4	(ICMP6_QUOTE_OFF + sizeof(struct ipv6hdr))

/*
 * An ICMPv6 error is translated only if its checksum holds (RFC 5508
 * REQ-3, for IPv6 as well): summed over the pseudo header and the whole
 * message of @len bytes, the IPv6 header included.  The pseudo header's
 * addresses are the header's own, one run of 32 bytes that the sum reads
 * with the message.  A global function, as icmp_checksums_ok().
 */
__noinline int icmp6_checksum_ok(struct __sk_buff *skb, __u32 len)
{
	const __u32 addrs = offsetof(struct ipv6hdr, saddr);
	__u64 sum;

	if (len <= sizeof(struct ipv6hdr))
		return false;
	/* the rest of the pseudo header: the length and next header, as
	 * words of the sum (whose carries a 64-bit one keeps)
	 */
	sum = (__u64)bpf_htonl(len - sizeof(struct ipv6hdr)) +
	      bpf_htonl(IPPROTO_ICMPV6);
	if (!skb_bytes_sum(skb, ETH_HLEN + addrs, len - addrs, &sum))
		return false;
	return csum_fold(sum) == 0;
}

/* The packet an ICMPv6 error quotes: its IPv6 header and 8 L4 bytes. */
struct icmp6_quote {
	struct icmphdr *icmp;	/* the error's own header, as ICMP's */
	struct ipv6hdr *ip6;
	void *l4;
	__u16 *l4_csum;		/* NULL when not quoted (or UDP's 0) */
	__u8 proto;		/* the L4 header's (after a Fragment header) */
};

/*
 * The quote of the ICMPv6 error in @p: TCP, UDP or an echo right after
 * the fixed header, or after a first fragment's Fragment header (what
 * NAT66 translates), or a drop reason.  Only what lies within the
 * message is the quote (p->len: not a trailer after it).
 */
static __always_inline int icmp6_quote_parse(struct pkt *p,
					     struct icmp6_quote *q)
{
	const __u32 end = ETH_HLEN + p->len;
	__u32 l4_off = ICMP6_QUOTE_L4, tcp_csum;
	struct ipv6_frag_hdr *fh;
	struct icmphdr *echo;

	/* each pointer tested as it is got: clang may otherwise fold the
	 * tests into arithmetic the verifier cannot follow
	 */
	q->icmp = p->l4;
	if (!q->icmp || end < ICMP6_QUOTE_L4 + 8)
		return STAT_DROP_BAD_ICMP;
	q->ip6 = hdr_ptr(p, ICMP6_QUOTE_OFF, sizeof(*q->ip6));
	if (!q->ip6)
		return STAT_DROP_BAD_ICMP;
	if (q->ip6->version != 6)
		return STAT_DROP_BAD_ICMP;
	q->proto = q->ip6->nexthdr;
	if (q->proto == IPPROTO_FRAGMENT) {
		/* a later fragment's quote has no ports to map */
		fh = hdr_ptr(p, ICMP6_QUOTE_L4, sizeof(*fh));
		if (!fh)
			return STAT_DROP_BAD_ICMP;
		if (bpf_ntohs(fh->frag_off) & IPV6_FRAG_OFFSET)
			return STAT_DROP_BAD_ICMP;
		q->proto = fh->nexthdr;
		l4_off += sizeof(*fh);
		if (end < l4_off + 8)
			return STAT_DROP_BAD_ICMP;
	}
	q->l4 = hdr_ptr(p, l4_off, 8);
	if (!q->l4)
		return STAT_DROP_BAD_ICMP;
	tcp_csum = l4_off + offsetof(struct tcphdr, check);
	switch (q->proto) {
	case IPPROTO_UDP:
		q->l4_csum = q->l4 + offsetof(struct udphdr, check);
		if (!*q->l4_csum)
			q->l4_csum = NULL;	/* wrong in IPv6: left so */
		break;
	case IPPROTO_TCP:
		/* usually beyond the 8 quoted bytes, but not always */
		q->l4_csum = NULL;
		if (end >= tcp_csum + 2)
			q->l4_csum = hdr_ptr(p, tcp_csum, 2);
		break;
	case IPPROTO_ICMPV6:
		echo = q->l4;
		if (echo->type != ICMPV6_ECHO_REQUEST &&
		    echo->type != ICMPV6_ECHO_REPLY)
			return STAT_DROP_BAD_ICMP;
		q->l4_csum = &echo->checksum;
		break;
	default:
		/* an extension header, or what NAT66 never made */
		return STAT_DROP_BAD_ICMP;
	}
	return CONTINUE;
}

/* The quoted packet's port or echo id, on the side a NAT changes. */
static __always_inline __be16 *icmp6_quote_port(struct icmp6_quote *q,
						bool src)
{
	if (q->proto == IPPROTO_ICMPV6)
		return &((struct icmphdr *)q->l4)->un.echo.id;
	return src ? q->l4 : q->l4 + 2;
}

/*
 * Rewrite the quote: its source (@src) or destination address and port,
 * the quoted L4 checksum, whose pseudo header holds the address, and the
 * error's checksum, which covers every byte of the quote: so the message
 * sums as it did, and a CHECKSUM_COMPLETE skb->csum stays right.  The
 * outer header is packet_rewrite6()'s.
 */
static __always_inline void icmp6_quote_rewrite(struct icmp6_quote *q,
						bool src, const __be32 *addr,
						__be16 port)
{
	__be32 *a = src ? (__be32 *)&q->ip6->saddr : (__be32 *)&q->ip6->daddr;
	__be16 *pt = icmp6_quote_port(q, src);
	__u16 old_sum;
	__u64 d;

	d = csum_delta16(0, a, addr);
	d = csum_delta2(d, *pt, port);
	__builtin_memcpy(a, addr, sizeof(q->ip6->saddr));
	*pt = port;
	if (q->l4_csum) {
		old_sum = *q->l4_csum;
		csum_l4_apply(q->l4_csum, q->proto, csum_delta_fold(d));
		d = csum_delta2(d, old_sum, *q->l4_csum);
	}
	csum_apply(&q->icmp->checksum, csum_delta_fold(d));
}

/* The headers an error of ours puts in front of the quote. */
struct icmp6_head {
	struct ipv6hdr ip6;
	__u8 type;
	__u8 code;
	__be16 checksum;
	__be32 info;		/* Packet Too Big: the MTU; else 0 */
};

/* An error of ours about the packet in hand: what it says, and to whom. */
struct icmp6_back {
	struct in6_key from;	/* the error's source: the gateway */
	struct in6_key to;	/* the packet's sender */
	__u32 len;		/* the packet's IPv6 length, header included */
	__u8 smac[ETH_ALEN];	/* the gateway's MAC on the sender's veth */
	__u8 type;
	__u8 code;
	__u32 mtu;		/* Packet Too Big's */
};

/* Where an error of ours is described: off the stack.  Per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct icmp6_back);
} icmp6_back_room SEC(".maps");

/*
 * Turn the packet in hand into the ICMPv6 error @b about it, to be sent
 * back out of the device it came in by (the caller redirects it), as
 * icmp_send_back() does for IPv4, with a quote of up to ICMP_QUOTE_MAX
 * bytes (RFC 4443 asks for no more than fits in 1280).  Returns CONTINUE,
 * or a drop reason if the packet could not be turned around.
 */
__noinline int icmp6_send_back(struct __sk_buff *skb,
			       const struct icmp6_back *b)
{
	struct icmp6_head h = {};
	struct ethhdr eth;
	__u32 qlen, plen;
	__be32 pseudo[2];
	__u8 *quote;
	__s64 sum;
	int ret;

	if (!b)
		return STAT_DROP_UNSUPPORTED;
	ret = icmp_quote_take(skb, b->len, sizeof(struct ipv6hdr) + 8, b->smac,
			      ETH_P_IPV6, &eth, &quote, &qlen);
	if (ret != CONTINUE)
		return ret;

	plen = 8 + qlen;	/* the ICMPv6 header and the quote */
	h.ip6.version = 6;
	h.ip6.payload_len = bpf_htons(plen);
	h.ip6.nexthdr = IPPROTO_ICMPV6;
	h.ip6.hop_limit = 64;
	__builtin_memcpy(&h.ip6.saddr, b->from.addr, sizeof(h.ip6.saddr));
	__builtin_memcpy(&h.ip6.daddr, b->to.addr, sizeof(h.ip6.daddr));
	h.type = b->type;
	h.code = b->code;
	h.info = bpf_htonl(b->mtu);

	/* pseudo header: the addresses, the length, the next header */
	pseudo[0] = bpf_htonl(plen);
	pseudo[1] = bpf_htonl(IPPROTO_ICMPV6);
	sum = bpf_csum_diff(NULL, 0, (__be32 *)&h.ip6.saddr, 32, 0);
	if (sum >= 0)
		sum = bpf_csum_diff(NULL, 0, pseudo, sizeof(pseudo), sum);
	if (sum >= 0)
		sum = bpf_csum_diff(NULL, 0, (__be32 *)&h.type, 8, sum);
	if (sum >= 0)
		sum = bpf_csum_diff(NULL, 0, (__be32 *)quote, qlen, sum);
	if (sum < 0)
		return STAT_DROP_UNSUPPORTED;
	h.checksum = csum_fold(sum);

	return icmp_headers_put(skb, &eth, &h, sizeof(h), qlen, b->len);
}

#endif /* BPFNAT_ICMP6_H */
