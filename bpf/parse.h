/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Packet parsing: Ethernet, IPv4 and the first bytes of TCP, UDP and ICMP,
 * every header checked against the end of the data before it is read.  The
 * result is a struct pkt that the rest of the data path works on.  Parsing
 * never decides what happens to a packet; it only reports what it found,
 * or that the packet is malformed and why.
 */
#ifndef BPFNAT_PARSE_H
#define BPFNAT_PARSE_H

#include <linux/ipv6.h>

#include "common.h"

/* What the data path knows about the packet in hand. */
struct pkt {
	void *data;
	void *data_end;
	struct ethhdr *eth;
	struct iphdr *ip;
	void *l4;		/* NULL for a fragment other than the first */
	struct ct_key key;	/* tuple as seen here; ports 0 without l4 */
	__u32 ifindex;		/* device the packet arrived on */
	__u32 frame_len;	/* bytes on the wire, for stats */
	__u32 len;		/* IP total length, for flow counters */
	__u8 tcp_flags;
	__u8 icmp_type;
	__u8 is_fragment;	/* any fragment, first included */
	__u8 answered;		/* dropped, and an ICMP error sent back */
	__u8 gso;		/* a GSO super-packet: bigger than one MTU */
	__u8 l3_len;		/* the IP header's bytes: 20, or 40 for IPv6 */
	__u8 pad[2];
	int redirect;		/* what the redirect helper returned */
};

/*
 * Bytes the slow paths may need in the linear area: up to an ICMP error's
 * quoted TCP header, the IPv6 one's (header-split NICs leave only the
 * outer headers there).
 */
#define PARSE_PULL_LEN (ETH_HLEN + 2 * sizeof(struct ipv6hdr) + \
			sizeof(struct icmphdr) + sizeof(struct tcphdr))

static __always_inline void *hdr_ptr(const struct pkt *p, __u32 off, __u32 len)
{
	void *ptr = p->data + off;

	if (ptr + len > p->data_end)
		return NULL;
	return ptr;
}

static __always_inline bool ip_is_fragment(const struct iphdr *ip)
{
	return ip->frag_off & bpf_htons(IP_MF | IP_OFFSET);
}

/*
 * Parse the L4 header at p->l4 into p->key.  @l4_len is what the IP header
 * says follows it.  Returns CONTINUE or a drop reason.
 */
static __always_inline int parse_l4(struct pkt *p, __u32 l4_len)
{
	struct ct_key *key = &p->key;

	switch (key->proto) {
	case IPPROTO_TCP: {
		struct tcphdr *tcp = p->l4;

		if ((void *)(tcp + 1) > p->data_end)
			return STAT_DROP_TRUNCATED;
		if (tcp->doff < 5 || tcp->doff * 4 > l4_len)
			return STAT_DROP_BAD_TCP_OFFSET;
		key->sport = tcp->source;
		key->dport = tcp->dest;
		p->tcp_flags = ((__u8 *)tcp)[13];
		return CONTINUE;
	}
	case IPPROTO_UDP: {
		struct udphdr *udp = p->l4;

		if ((void *)(udp + 1) > p->data_end)
			return STAT_DROP_TRUNCATED;
		/* A first fragment carries only part of the datagram. */
		if (!p->is_fragment && bpf_ntohs(udp->len) != l4_len)
			return STAT_DROP_BAD_UDP_LENGTH;
		if (bpf_ntohs(udp->len) < sizeof(*udp))
			return STAT_DROP_BAD_UDP_LENGTH;
		key->sport = udp->source;
		key->dport = udp->dest;
		return CONTINUE;
	}
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6: {
		/* an ICMPv6 header lies as ICMP's: type, code, checksum,
		 * and an echo's id and sequence
		 */
		struct icmphdr *icmp = p->l4;
		bool v6 = key->proto == IPPROTO_ICMPV6;

		/* protocol 58 in IPv4 is no ICMPv6: nothing to read */
		if (v6 != (key->family == AF_INET6))
			return CONTINUE;
		if ((void *)(icmp + 1) > p->data_end)
			return STAT_DROP_TRUNCATED;
		p->icmp_type = icmp->type;
		/* The echo id is the request's source and the reply's
		 * destination port, so both directions build matching keys.
		 */
		if (icmp->type == (v6 ? ICMPV6_ECHO_REQUEST : ICMP_ECHO))
			key->sport = icmp->un.echo.id;
		else if (icmp->type == (v6 ? ICMPV6_ECHO_REPLY : ICMP_ECHOREPLY))
			key->dport = icmp->un.echo.id;
		return CONTINUE;
	}
	default:
		return CONTINUE;
	}
}

/*
 * Parse Ethernet and IPv4.  @frame_len is the whole frame's length, which
 * for a GSO skb is more than the linear data.  Returns CONTINUE for IPv4,
 * STAT_PASS for anything that is not IPv4 (ARP, IPv6, VLAN), or a drop
 * reason for a malformed IPv4 packet.
 */
static __always_inline int parse_packet(struct pkt *p, __u32 frame_len)
{
	struct iphdr *ip;
	__u32 tot_len;

	p->eth = hdr_ptr(p, 0, ETH_HLEN);
	if (!p->eth)
		return STAT_DROP_TRUNCATED;
	if (p->eth->h_proto != bpf_htons(ETH_P_IP))
		return STAT_PASS;

	ip = hdr_ptr(p, ETH_HLEN, sizeof(*ip));
	if (!ip)
		return STAT_DROP_TRUNCATED;
	p->ip = ip;
	if (ip->version != 4 || ip->ihl < 5)
		return STAT_DROP_BAD_IHL;
	if (ip->ihl > 5)
		return STAT_DROP_IP_OPTIONS;
	tot_len = bpf_ntohs(ip->tot_len);
	if (tot_len < sizeof(*ip) || tot_len > frame_len - ETH_HLEN)
		return STAT_DROP_BAD_LENGTH;

	p->len = tot_len;
	p->l3_len = sizeof(*ip);
	p->key.saddr = ip->saddr;
	p->key.daddr = ip->daddr;
	p->key.proto = ip->protocol;
	p->is_fragment = ip_is_fragment(ip);

	/* Only the first fragment carries the L4 header. */
	if (ip->frag_off & bpf_htons(IP_OFFSET))
		return CONTINUE;
	p->l4 = (void *)(ip + 1);
	return parse_l4(p, tot_len - sizeof(*ip));
}

#endif /* BPFNAT_PARSE_H */
