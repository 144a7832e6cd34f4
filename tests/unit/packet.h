/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Crafted packets for the unit tests, and checksums recomputed from
 * scratch over what the programs hand back, independent of the data
 * path's incremental arithmetic.
 */
#ifndef BPFNAT_UNIT_PACKET_H
#define BPFNAT_UNIT_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/icmp.h>

#define PKT_MAX 2048

struct pkt_spec {
	uint8_t proto;		/* IPPROTO_TCP, _UDP, _ICMP, or other */
	uint32_t saddr, daddr;	/* network byte order */
	uint16_t sport, dport;	/* host order; ICMP echo: id in sport */
	uint8_t icmp_type;	/* ICMP_ECHO, ICMP_ECHOREPLY, ... */
	uint8_t tcp_flags;	/* TCP_FLAG_* bits of byte 13 */
	uint32_t seq, ack;	/* TCP, host order; seq 0: 1000 */
	uint16_t window;	/* TCP, as sent; 0: 65535 */
	bool has_wscale;	/* TCP: with a window scale option ... */
	uint8_t wscale;		/* ... of this shift */
	uint8_t ttl;		/* 0: 64 */
	uint16_t payload;	/* bytes after the L4 header */
	bool udp_no_csum;	/* send UDP with checksum 0 */
	uint16_t ip_id;
	uint16_t frag;		/* host order: IP_MF | offset in 8 bytes */
	uint8_t smac[ETH_ALEN], dmac[ETH_ALEN];
};

#define TCPF_FIN 0x01
#define TCPF_SYN 0x02
#define TCPF_RST 0x04
#define TCPF_PSH 0x08
#define TCPF_ACK 0x10

/* Build the frame of @s into @buf; returns its length. */
size_t pkt_build(const struct pkt_spec *s, uint8_t *buf);

static inline struct iphdr *pkt_ip(uint8_t *buf)
{
	return (struct iphdr *)(buf + ETH_HLEN);
}

static inline void *pkt_l4(uint8_t *buf)
{
	return buf + ETH_HLEN + sizeof(struct iphdr);
}

/* RFC 1071 sum of @len bytes, folded and complemented. */
uint16_t csum_compute(const void *data, size_t len, uint32_t seed);

/* The IPv4 header checksum of @buf's packet holds. */
bool pkt_ip_csum_ok(uint8_t *buf);
/* The L4 checksum (with pseudo header for TCP and UDP) holds, computed
 * over the datagram the IP header describes.  A UDP checksum of 0 holds
 * (it means none).
 */
bool pkt_l4_csum_ok(uint8_t *buf);

/*
 * IPv6: Ethernet, the fixed IPv6 header and TCP, UDP or ICMPv6 echo (@s's
 * proto IPPROTO_ICMPV6, icmp_type 128/129 or an error type), with its
 * checksum over the RFC 8200 pseudo header.  Addresses in @src and @dst;
 * @s's ttl is the hop limit.
 */
struct in6_addr;
size_t pkt6_build(const struct pkt_spec *s, const struct in6_addr *src,
		  const struct in6_addr *dst, uint8_t *buf);

#define PKT6_L4_OFF (ETH_HLEN + 40)

/* The L4 checksum of @buf's IPv6 packet, recomputed from scratch over
 * its pseudo header and payload, holds.
 */
bool pkt6_l4_csum_ok(const uint8_t *buf);
/* ... and set it so, for TCP, UDP or ICMPv6. */
void pkt6_l4_csum_set(uint8_t *buf);

#endif /* BPFNAT_UNIT_PACKET_H */
