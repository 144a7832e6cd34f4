/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ICMP errors and NAT (RFC 5508).
 *
 * An error about a NATed flow quotes the offending packet, as it was on
 * the far side of the NAT.  Translating the error means translating the
 * quote too: from the outside, the quoted source is the SNAT address and
 * port and becomes the container's again; from a container (an error about
 * a reply it received), the quoted destination becomes the SNAT address
 * and port.  Every checksum involved follows: the quoted L4 checksum when
 * it is there, the quoted IP header's, the ICMP one, the outer IP one.
 *
 * The data path also sends three errors itself, back into a container:
 * time exceeded when it would forward a packet with TTL 1 (so traceroute
 * shows the gateway as a hop), fragmentation needed when a packet with DF
 * is larger than the uplink's MTU, and administratively prohibited when no
 * source port is left for a new flow.
 *
 * An error whose ICMP checksum or quoted IP header checksum does not hold
 * is not translated but dropped (drop_bad_icmp), as RFC 5508 asks.
 */
#ifndef BPFNAT_ICMP_H
#define BPFNAT_ICMP_H

#include "common.h"
#include "csum.h"
#include "parse.h"

#define ICMP_QUOTE_OFF	(ETH_HLEN + sizeof(struct iphdr) + sizeof(struct icmphdr))
#define ICMP_QUOTE_L4	(ICMP_QUOTE_OFF + sizeof(struct iphdr))

static __always_inline bool icmp_is_error(__u8 type)
{
	return type == ICMP_DEST_UNREACH || type == ICMP_TIME_EXCEEDED ||
	       type == ICMP_PARAMETERPROB;
}

/* A per-CPU buffer to checksum a quote or a whole message in. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u8[1024]);	/* room for LEN_IN()'s bounds */
} scratch SEC(".maps");

/* Bytes of an ICMP message checksummed per pass through the scratch. */
#define ICMP_SUM_CHUNK	508
#define ICMP_SUM_CHUNKS	3	/* messages of up to 1524 bytes */

/*
 * The one's complement sum of the @len bytes at @off of @skb, read through
 * the scratch buffer, added to *@sum (unfolded).  False if they cannot be
 * read, or are more than ICMP_SUM_CHUNK * ICMP_SUM_CHUNKS.  (tc only: the
 * bytes are read with bpf_skb_load_bytes().)
 */
static __always_inline bool skb_bytes_sum(struct __sk_buff *skb, __u32 off,
					  __u32 len, __u64 *sum)
{
	__u32 zero = 0, done = 0;
	__s64 part;
	__u8 *buf;

	buf = bpf_map_lookup_elem(&scratch, &zero);
	if (!buf || len > ICMP_SUM_CHUNK * ICMP_SUM_CHUNKS)
		return false;
	for (int i = 0; i < ICMP_SUM_CHUNKS; i++) {
		__u32 n = len - done;
		__u64 size, words;

		if (!n)
			break;
		if (n > ICMP_SUM_CHUNK)
			n = ICMP_SUM_CHUNK;
		size = LEN_IN(n, 0x1ff);
		if (bpf_skb_load_bytes(skb, off + done, buf, size))
			return false;
		/* an odd tail counts as if padded with zeros (the bytes
		 * after it in the buffer are left from before)
		 */
		words = LEN_IN((size + 3) & ~3ULL, 0x1ff);	/* whole words */
		if (size & 3)
			*(__u32 *)(buf + (size & 0x1fc)) &=
				(1u << (8 * (size & 3))) - 1;
		part = bpf_csum_diff(NULL, 0, (__be32 *)buf, words, 0);
		if (part < 0)
			return false;
		*sum += (__u32)part;
		done += n;
	}
	return true;
}

/*
 * RFC 5508 REQ-3: an ICMP error is translated only if its own checksum
 * holds, and its quoted IP header's.  @len is the IP total length.  A
 * global function, checked by the verifier once rather than on every path
 * to it.
 */
__noinline int icmp_checksums_ok(struct __sk_buff *skb, __u32 len)
{
	struct iphdr quoted;
	const __u16 *w = (const __u16 *)&quoted;
	__u64 sum = 0;

	if (bpf_skb_load_bytes(skb, ICMP_QUOTE_OFF, &quoted, sizeof(quoted)))
		return false;
	for (int i = 0; i < 10; i++)
		sum += w[i];
	if (csum_fold(sum))
		return false;

	sum = 0;
	if (len < sizeof(struct iphdr) ||
	    !skb_bytes_sum(skb, ETH_HLEN + sizeof(struct iphdr),
			   len - sizeof(struct iphdr), &sum))
		return false;
	return csum_fold(sum) == 0;
}

/* The packet an ICMP error quotes: its IP header and first 8 L4 bytes. */
struct icmp_quote {
	struct icmphdr *icmp;	/* the error's own header */
	struct iphdr *ip;
	void *l4;
	__u16 *l4_csum;		/* NULL when absent, or not quoted */
};

static __always_inline int icmp_quote_parse(struct pkt *p,
					    struct icmp_quote *q)
{
	q->icmp = p->l4;
	q->ip = hdr_ptr(p, ICMP_QUOTE_OFF, sizeof(*q->ip));
	if (!q->ip)
		return STAT_DROP_BAD_ICMP;
	if (q->ip->version != 4 || q->ip->ihl != 5)
		return STAT_DROP_BAD_ICMP;
	if (q->ip->frag_off & bpf_htons(IP_OFFSET))
		return STAT_DROP_BAD_ICMP;	/* no ports in a later fragment */
	q->l4 = hdr_ptr(p, ICMP_QUOTE_L4, 8);
	if (!q->l4)
		return STAT_DROP_BAD_ICMP;
	q->l4_csum = NULL;
	switch (q->ip->protocol) {
	case IPPROTO_UDP:
		q->l4_csum = q->l4 + offsetof(struct udphdr, check);
		if (!*q->l4_csum)
			q->l4_csum = NULL;	/* "no checksum" stays so */
		break;
	case IPPROTO_TCP:
		/* usually beyond the 8 quoted bytes, but not always */
		q->l4_csum = hdr_ptr(p, ICMP_QUOTE_L4 +
				     offsetof(struct tcphdr, check), 2);
		break;
	case IPPROTO_ICMP:
		q->l4_csum = q->l4 + offsetof(struct icmphdr, checksum);
		break;
	default:
		return STAT_DROP_BAD_ICMP;
	}
	return CONTINUE;
}

/*
 * Where the ICMP error paths build the key of the flow a quote belongs
 * to: off the stack, which the programs share with ct_create() (forty
 * bytes now that a key holds IPv6 addresses too).  Per CPU.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ct_key);
} quote_key SEC(".maps");

/* The quoted packet's port or echo id, on the side a NAT changes. */
static __always_inline __be16 *icmp_quote_port(struct icmp_quote *q,
					       bool src)
{
	if (q->ip->protocol == IPPROTO_ICMP)
		return &((struct icmphdr *)q->l4)->un.echo.id;
	return src ? q->l4 : q->l4 + 2;
}

/*
 * Rewrite the quote: address (source or destination) and port, with the
 * quoted checksums and the ICMP checksum that covers them all.  The outer
 * header is packet_rewrite()'s.
 */
static __always_inline void icmp_quote_rewrite(struct icmp_quote *q, bool src,
					       __be32 addr, __be16 port)
{
	__be32 *a = src ? &q->ip->saddr : &q->ip->daddr;
	__be16 *pt = icmp_quote_port(q, src);
	__be32 old_addr = *a;
	__be16 old_port = *pt;
	__u16 old_ipsum, old_l4sum;

	*a = addr;
	*pt = port;

	old_ipsum = q->ip->check;
	csum_replace4(&q->ip->check, old_addr, addr);

	if (q->l4_csum) {
		old_l4sum = *q->l4_csum;
		/* a quoted ICMP checksum has no pseudo header */
		csum_l4_update(q->l4_csum, q->ip->protocol,
			       q->ip->protocol != IPPROTO_ICMP, old_addr, addr,
			       old_port, port);
		csum_replace2(&q->icmp->checksum, old_l4sum, *q->l4_csum);
	}
	csum_replace4(&q->icmp->checksum, old_addr, addr);
	csum_replace2(&q->icmp->checksum, old_ipsum, q->ip->check);
	csum_replace2(&q->icmp->checksum, old_port, port);
}

/*
 * How much of the offending packet an error of ours quotes: as much as
 * fits in bpf_csum_diff()'s 512 bytes with the ICMP header, in 4-byte
 * words.  RFC 1812 asks for as much as fits in 576 bytes; 532 do.
 */
#define ICMP_QUOTE_MAX	504


/* The headers an error of ours puts in front of the quote. */
struct icmp_head {
	struct iphdr ip;
	struct icmphdr icmp;
};

/* An error of ours about the packet in hand: what it says, and to whom. */
struct icmp_back {
	__be32 from;		/* the error's source: the gateway */
	__be32 to;		/* the packet's sender */
	__u32 len;		/* the packet's IP total length */
	__u8 smac[ETH_ALEN];	/* the gateway's MAC on the sender's veth */
	__u8 type;
	__u8 code;
	__u16 mtu;
};

/*
 * The two ends of turning the packet in hand (@len bytes from its IP
 * header on) into an error of ours, for ICMP and ICMPv6 alike.  First the
 * quote, into the scratch buffer (*@quote): the packet's first bytes,
 * whole words, at most ICMP_QUOTE_MAX, at least @min (*@qlen); and the
 * error's Ethernet header @eth, back to where the packet came from, from
 * @smac.  CONTINUE or a drop reason.
 */
static __always_inline int icmp_quote_take(struct __sk_buff *skb, __u32 len,
					   __u32 min, const __u8 *smac,
					   __u16 proto, struct ethhdr *eth,
					   __u8 **quote, __u32 *qlen)
{
	__u32 zero = 0, n = len < ICMP_QUOTE_MAX ? len : ICMP_QUOTE_MAX;

	*quote = bpf_map_lookup_elem(&scratch, &zero);
	if (!*quote || !smac)
		return STAT_DROP_UNSUPPORTED;
	n &= ~3u;		/* whole words */
	if (n < min)
		return STAT_DROP_TRUNCATED;
	n = LEN_IN(n, 0x1ff);
	if (bpf_skb_load_bytes(skb, ETH_HLEN, *quote, n))
		return STAT_DROP_TRUNCATED;
	*qlen = n;
	if (bpf_skb_load_bytes(skb, offsetof(struct ethhdr, h_source),
			       eth->h_dest, ETH_ALEN))
		return STAT_DROP_TRUNCATED;
	__builtin_memcpy(eth->h_source, smac, ETH_ALEN);
	eth->h_proto = bpf_htons(proto);
	return CONTINUE;
}

/*
 * Then the headers: room for @hlen bytes of them (@h) in front of the
 * offending packet, which becomes the quote, cut to its @qlen bytes.
 */
static __always_inline int icmp_headers_put(struct __sk_buff *skb,
					    const struct ethhdr *eth,
					    const void *h, __u32 hlen,
					    __u32 qlen, __u32 len)
{
	if (bpf_skb_adjust_room(skb, hlen, BPF_ADJ_ROOM_MAC, 0))
		return STAT_DROP_UNSUPPORTED;
	if (len > qlen && bpf_skb_change_tail(skb, ETH_HLEN + hlen + qlen, 0))
		return STAT_DROP_UNSUPPORTED;
	if (bpf_skb_store_bytes(skb, 0, eth, sizeof(*eth), 0) ||
	    bpf_skb_store_bytes(skb, ETH_HLEN, h, hlen, 0))
		return STAT_DROP_UNSUPPORTED;
	return CONTINUE;
}

/*
 * Turn the packet in hand into the ICMP error @b about it, to be sent back
 * out of the device it came in by (the caller redirects it).  Returns
 * CONTINUE when the packet is the error, or a drop reason if it could not
 * be turned around.  A global function: the verifier checks it once
 * rather than on every path that answers a container.
 *
 * The packet is not cut below its own checksum field: with
 * CHECKSUM_PARTIAL (a container's TCP or UDP) the kernel refuses that, and
 * the quote simply is longer than the minimal 28 bytes.
 */
__noinline int icmp_send_back(struct __sk_buff *skb, const struct icmp_back *b)
{
	struct icmp_head h = {};
	struct ethhdr eth;
	__u32 qlen;
	__u8 *quote;
	__s64 sum;
	int ret;

	if (!b)
		return STAT_DROP_UNSUPPORTED;
	ret = icmp_quote_take(skb, b->len, sizeof(struct iphdr) + 8, b->smac,
			      ETH_P_IP, &eth, &quote, &qlen);
	if (ret != CONTINUE)
		return ret;

	h.ip.version = 4;
	h.ip.ihl = 5;
	h.ip.tos = 0xc0;	/* internetwork control, as the kernel's */
	h.ip.tot_len = bpf_htons(sizeof(h) + qlen);
	h.ip.ttl = 64;
	h.ip.protocol = IPPROTO_ICMP;
	h.ip.saddr = b->from;
	h.ip.daddr = b->to;
	h.icmp.type = b->type;
	h.icmp.code = b->code;
	h.icmp.un.frag.mtu = bpf_htons(b->mtu);

	sum = bpf_csum_diff(NULL, 0, (__be32 *)&h.icmp, sizeof(h.icmp), 0);
	if (sum >= 0)
		sum = bpf_csum_diff(NULL, 0, (__be32 *)quote, qlen, sum);
	if (sum < 0)
		return STAT_DROP_UNSUPPORTED;
	h.icmp.checksum = csum_fold(sum);
	sum = bpf_csum_diff(NULL, 0, (__be32 *)&h.ip, sizeof(h.ip), 0);
	if (sum < 0)
		return STAT_DROP_UNSUPPORTED;
	h.ip.check = csum_fold(sum);

	return icmp_headers_put(skb, &eth, &h, sizeof(h), qlen, b->len);
}

#endif /* BPFNAT_ICMP_H */
