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
#define ICMPV6_NOROUTE		0
#define ICMPV6_ADM_PROHIBITED	1
#define ICMPV6_ADDR_UNREACH	3
#define ICMPV6_EXC_HOPLIMIT	0

/* Types 0-127 are errors: never an error about one. */
static __always_inline bool icmp6_is_error(__u8 type)
{
	return type < 128;
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
