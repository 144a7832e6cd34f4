// SPDX-License-Identifier: GPL-2.0-only
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip6.h>

#include "packet.h"

uint16_t csum_compute(const void *data, size_t len, uint32_t seed)
{
	const uint8_t *p = data;
	uint64_t sum = seed;

	for (; len > 1; p += 2, len -= 2)
		sum += (uint16_t)(p[0] << 8 | p[1]);
	if (len)
		sum += (uint16_t)(p[0] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ~sum & 0xffff;
}

/* The pseudo header's sum, in host order. */
static uint32_t pseudo_sum(const struct iphdr *ip, uint16_t l4_len)
{
	uint32_t s = ntohl(ip->saddr), d = ntohl(ip->daddr);

	return (s >> 16) + (s & 0xffff) + (d >> 16) + (d & 0xffff) +
	       ip->protocol + l4_len;
}

static void l4_fill_csum(uint8_t *buf)
{
	struct iphdr *ip = pkt_ip(buf);
	uint16_t l4_len = ntohs(ip->tot_len) - sizeof(*ip);
	void *l4 = pkt_l4(buf);

	switch (ip->protocol) {
	case IPPROTO_TCP: {
		struct tcphdr *tcp = l4;

		tcp->check = 0;
		tcp->check = htons(csum_compute(l4, l4_len,
						pseudo_sum(ip, l4_len)));
		break;
	}
	case IPPROTO_UDP: {
		struct udphdr *udp = l4;
		uint16_t c;

		udp->check = 0;
		c = csum_compute(l4, l4_len, pseudo_sum(ip, l4_len));
		udp->check = htons(c ? c : 0xffff);
		break;
	}
	case IPPROTO_ICMP: {
		struct icmphdr *icmp = l4;

		icmp->checksum = 0;
		icmp->checksum = htons(csum_compute(l4, l4_len, 0));
		break;
	}
	}
}

/* A TCP header of @hdr_len bytes (24: with the window scale option, if
 * @s asks for it) from @s; the checksum is the caller's.
 */
static void tcp_fill(const struct pkt_spec *s, uint8_t *l4, size_t hdr_len)
{
	struct tcphdr *tcp = (struct tcphdr *)l4;

	tcp->source = htons(s->sport);
	tcp->dest = htons(s->dport);
	tcp->seq = htonl(s->seq ? s->seq : 1000);
	tcp->ack_seq = htonl(s->ack);
	tcp->doff = hdr_len / 4;
	l4[13] = s->tcp_flags;
	tcp->window = htons(s->window ? s->window : 65535);
	if (s->has_wscale && hdr_len >= 24) {
		l4[20] = 1;
		l4[21] = 3;
		l4[22] = 3;
		l4[23] = s->wscale;
	}
}

/* A UDP header from @s, for a datagram of @len bytes, header included. */
static void udp_fill(const struct pkt_spec *s, uint8_t *l4, size_t len)
{
	struct udphdr *udp = (struct udphdr *)l4;

	udp->source = htons(s->sport);
	udp->dest = htons(s->dport);
	udp->len = htons(len);
}

size_t pkt_build(const struct pkt_spec *s, uint8_t *buf)
{
	struct ethhdr *eth = (struct ethhdr *)buf;
	struct iphdr *ip = pkt_ip(buf);
	uint8_t *l4 = pkt_l4(buf);
	size_t l4_hdr, i;

	memset(buf, 0, PKT_MAX);
	memcpy(eth->h_dest, s->dmac, ETH_ALEN);
	memcpy(eth->h_source, s->smac, ETH_ALEN);
	eth->h_proto = htons(ETH_P_IP);

	switch (s->proto) {
	case IPPROTO_TCP:
		/* a window scale option: NOP, then kind 3, length 3 */
		l4_hdr = sizeof(struct tcphdr) + (s->has_wscale ? 4 : 0);
		break;
	case IPPROTO_UDP:
		l4_hdr = sizeof(struct udphdr);
		break;
	case IPPROTO_ICMP:
		l4_hdr = sizeof(struct icmphdr);
		break;
	default:
		l4_hdr = 0;
	}
	if (s->frag & 0x1fff)
		l4_hdr = 0;	/* a later fragment: payload only */

	ip->version = 4;
	ip->ihl = 5;
	ip->ttl = s->ttl ? s->ttl : 64;
	ip->protocol = s->proto;
	ip->saddr = s->saddr;
	ip->daddr = s->daddr;
	ip->id = htons(s->ip_id);
	ip->frag_off = htons(s->frag);
	ip->tot_len = htons(sizeof(*ip) + l4_hdr + s->payload);

	for (i = 0; i < s->payload; i++)
		l4[l4_hdr + i] = (uint8_t)(i * 7 + 1);

	if (l4_hdr) {
		switch (s->proto) {
		case IPPROTO_TCP:
			tcp_fill(s, l4, l4_hdr);
			break;
		case IPPROTO_UDP:
			udp_fill(s, l4, l4_hdr + s->payload);
			break;
		case IPPROTO_ICMP: {
			struct icmphdr *icmp = (struct icmphdr *)l4;

			icmp->type = s->icmp_type;
			icmp->un.echo.id = htons(s->sport);
			icmp->un.echo.sequence = htons(1);
			break;
		}
		}
		if (!(s->frag & 0x2000))	/* a whole datagram */
			l4_fill_csum(buf);
		if (s->proto == IPPROTO_UDP && s->udp_no_csum)
			((struct udphdr *)l4)->check = 0;
	}
	ip->check = htons(csum_compute(ip, sizeof(*ip), 0));
	return ETH_HLEN + ntohs(ip->tot_len);
}

bool pkt_ip_csum_ok(uint8_t *buf)
{
	return csum_compute(pkt_ip(buf), sizeof(struct iphdr), 0) == 0;
}

bool pkt_l4_csum_ok(uint8_t *buf)
{
	struct iphdr *ip = pkt_ip(buf);
	uint16_t l4_len = ntohs(ip->tot_len) - sizeof(*ip);
	void *l4 = pkt_l4(buf);

	switch (ip->protocol) {
	case IPPROTO_TCP:
		return csum_compute(l4, l4_len, pseudo_sum(ip, l4_len)) == 0;
	case IPPROTO_UDP:
		if (((struct udphdr *)l4)->check == 0)
			return true;
		return csum_compute(l4, l4_len, pseudo_sum(ip, l4_len)) == 0;
	case IPPROTO_ICMP:
		return csum_compute(l4, l4_len, 0) == 0;
	default:
		return true;
	}
}

/* The IPv6 pseudo header's sum (RFC 8200 8.1), in host order. */
static uint32_t pseudo6_sum(const struct ip6_hdr *ip6, uint32_t l4_len,
			    uint8_t next)
{
	const uint8_t *a = (const uint8_t *)&ip6->ip6_src;
	uint32_t sum = 0;

	for (int i = 0; i < 32; i += 2)	/* source, then destination */
		sum += a[i] << 8 | a[i + 1];
	return sum + (l4_len >> 16) + (l4_len & 0xffff) + next;
}

size_t pkt6_build(const struct pkt_spec *s, const struct in6_addr *src,
		  const struct in6_addr *dst, uint8_t *buf)
{
	struct ethhdr *eth = (struct ethhdr *)buf;
	struct ip6_hdr *ip6 = (struct ip6_hdr *)(buf + ETH_HLEN);
	uint8_t *l4 = buf + PKT6_L4_OFF;
	size_t l4_hdr, l4_len, i;
	uint16_t c, *csum;

	memset(buf, 0, PKT_MAX);
	memcpy(eth->h_dest, s->dmac, ETH_ALEN);
	memcpy(eth->h_source, s->smac, ETH_ALEN);
	eth->h_proto = htons(ETH_P_IPV6);
	switch (s->proto) {
	case IPPROTO_TCP:
		l4_hdr = sizeof(struct tcphdr);
		break;
	case IPPROTO_UDP:
	case IPPROTO_ICMPV6:
		l4_hdr = 8;
		break;
	default:
		l4_hdr = 0;
	}
	l4_len = l4_hdr + s->payload;
	ip6->ip6_flow = htonl(6 << 28);
	ip6->ip6_plen = htons(l4_len);
	ip6->ip6_nxt = s->proto;
	ip6->ip6_hlim = s->ttl ? s->ttl : 64;
	ip6->ip6_src = *src;
	ip6->ip6_dst = *dst;
	for (i = 0; i < s->payload; i++)
		l4[l4_hdr + i] = (uint8_t)(i * 7 + 3);

	switch (s->proto) {
	case IPPROTO_TCP:
		tcp_fill(s, l4, l4_hdr);
		csum = &((struct tcphdr *)l4)->check;
		break;
	case IPPROTO_UDP:
		udp_fill(s, l4, l4_len);
		csum = &((struct udphdr *)l4)->check;
		break;
	case IPPROTO_ICMPV6:
		l4[0] = s->icmp_type;
		l4[4] = s->sport >> 8;	/* echo: identifier, sequence 1 */
		l4[5] = s->sport & 0xff;
		l4[7] = 1;
		csum = (uint16_t *)(l4 + 2);
		break;
	default:
		csum = NULL;
	}
	if (csum) {
		c = csum_compute(l4, l4_len, pseudo6_sum(ip6, l4_len,
							 s->proto));
		*csum = htons(c || s->proto != IPPROTO_UDP ? c : 0xffff);
	}
	return ETH_HLEN + sizeof(*ip6) + l4_len;
}

bool pkt6_l4_csum_ok(const uint8_t *buf)
{
	const struct ip6_hdr *ip6 = (const struct ip6_hdr *)(buf + ETH_HLEN);
	uint32_t l4_len = ntohs(ip6->ip6_plen);

	return csum_compute(buf + PKT6_L4_OFF, l4_len,
			    pseudo6_sum(ip6, l4_len, ip6->ip6_nxt)) == 0;
}

void pkt6_l4_csum_set(uint8_t *buf)
{
	struct ip6_hdr *ip6 = (struct ip6_hdr *)(buf + ETH_HLEN);
	uint32_t l4_len = ntohs(ip6->ip6_plen);
	uint16_t *csum = (uint16_t *)(buf + PKT6_L4_OFF + 2);	/* ICMPv6 */
	uint16_t c;

	if (ip6->ip6_nxt == IPPROTO_TCP)
		csum = (uint16_t *)(buf + PKT6_L4_OFF + 16);
	else if (ip6->ip6_nxt == IPPROTO_UDP)
		csum = (uint16_t *)(buf + PKT6_L4_OFF + 6);
	*csum = 0;
	c = csum_compute(buf + PKT6_L4_OFF, l4_len,
			 pseudo6_sum(ip6, l4_len, ip6->ip6_nxt));
	*csum = htons(c || ip6->ip6_nxt != IPPROTO_UDP ? c : 0xffff);
}
