// SPDX-License-Identifier: GPL-2.0-only
/*
 * pktsend: send one UDP datagram as crafted Ethernet frames, for tests that
 * need what a socket will not send: fragments in reverse order, or a
 * malformed header; or one TCP segment no socket of the sender's has, such
 * as a RST with a chosen sequence number.  The payload is read from stdin.
 *
 *   pktsend -i IF --dmac MAC --src A --dst B --sport P --dport Q
 *           [--mtu N] [--reverse] [--spoil ihl|options|totlen|udplen]
 *           [--tcp FLAGS --seq N [--ack N] [--window N]] [--count N]
 *
 * Frames go out through an AF_PACKET socket, so the kernel changes nothing;
 * checksums are computed here.  With --mtu the datagram is cut into
 * fragments of at most N bytes of IP packet each.  IPv6 addresses make
 * IPv6 frames, a datagram too big for N cut after a Fragment header
 * (--spoil is IPv4's).  --tcp sends a TCP
 * segment instead, unfragmented, with FLAGS among S, A, F, R, P (e.g. R,
 * or RA).  --count N sends every frame N times, back to back (a flood).
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netpacket/packet.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>

#define PAYLOAD_MAX 60000

static uint16_t csum(const void *data, size_t len, uint32_t sum)
{
	const uint8_t *p = data;

	for (; len > 1; p += 2, len -= 2)
		sum += p[0] << 8 | p[1];
	if (len)
		sum += p[0] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ~sum & 0xffff;
}

/* The words of IPv6 address @a, summed, for a pseudo header. */
static uint32_t sum6(const struct in6_addr *a)
{
	uint32_t sum = 0;

	for (int i = 0; i < 16; i += 2)
		sum += a->s6_addr[i] << 8 | a->s6_addr[i + 1];
	return sum;
}

/* The Fragment header (RFC 8200 4.5). */
struct frag6_hdr {
	uint8_t nexthdr;
	uint8_t reserved;
	uint16_t frag_off;	/* offset in 8-byte units << 3, M in bit 0 */
	uint32_t id;
};

static int parse_mac(const char *s, uint8_t *mac)
{
	unsigned int m[6];

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4],
		   &m[5]) != 6)
		return -1;
	for (int i = 0; i < 6; i++)
		mac[i] = m[i];
	return 0;
}

/*
 * After Ethernet header @eth: an IPv4 packet of @len bytes of the
 * datagram from @off on (@data), more to come if @more; its length.
 */
static size_t ip4_frame(struct ethhdr *eth, struct in_addr src,
			struct in_addr dst, uint8_t proto, const char *spoil,
			bool more, size_t off, const uint8_t *data, size_t len)
{
	struct iphdr *ip = (struct iphdr *)(eth + 1);
	size_t ihl = sizeof(*ip);

	eth->h_proto = htons(ETH_P_IP);
	memset(ip, 0, sizeof(*ip));
	if (!strcmp(spoil, "options")) {
		/* one NOP and an end-of-options: a 24-byte header */
		ihl += 4;
		memset((uint8_t *)ip + sizeof(*ip), 0, 4);
		((uint8_t *)ip)[sizeof(*ip)] = 1;
	}
	ip->version = 4;
	ip->ihl = ihl / 4;
	ip->ttl = 64;
	ip->protocol = proto;
	ip->id = htons(getpid() & 0xffff);
	ip->saddr = src.s_addr;
	ip->daddr = dst.s_addr;
	ip->frag_off = htons((off / 8) | (more ? 0x2000 : 0));
	ip->tot_len = htons(ihl + len);
	if (!strcmp(spoil, "totlen"))
		ip->tot_len = htons(ihl + len + 100);
	if (!strcmp(spoil, "ihl"))
		ip->ihl = 4;
	ip->check = htons(csum(ip, ihl, 0));
	memcpy((uint8_t *)ip + ihl, data, len);
	return ihl + len;
}

/* The same for IPv6: after a Fragment header if @fragment. */
static size_t ip6_frame(struct ethhdr *eth, const struct in6_addr *src,
			const struct in6_addr *dst, uint8_t proto,
			bool fragment, bool more, size_t off,
			const uint8_t *data, size_t len)
{
	struct ipv6hdr *ip6 = (struct ipv6hdr *)(eth + 1);
	struct frag6_hdr *fh = (struct frag6_hdr *)(ip6 + 1);
	size_t hlen = sizeof(*ip6) + (fragment ? sizeof(*fh) : 0);

	eth->h_proto = htons(ETH_P_IPV6);
	memset(ip6, 0, hlen);
	ip6->version = 6;
	ip6->hop_limit = 64;
	ip6->nexthdr = fragment ? 44 : proto;
	ip6->payload_len = htons(hlen - sizeof(*ip6) + len);
	memcpy(&ip6->saddr, src, sizeof(*src));
	memcpy(&ip6->daddr, dst, sizeof(*dst));
	if (fragment) {
		fh->nexthdr = proto;
		fh->frag_off = htons(off | (more ? 1 : 0));
		fh->id = htonl(getpid());
	}
	memcpy((uint8_t *)ip6 + hlen, data, len);
	return hlen + len;
}

static void usage(void)
{
	fprintf(stderr, "usage: pktsend -i IF --dmac MAC --src A --dst B "
		"--sport P --dport Q [--mtu N] [--reverse] "
		"[--spoil ihl|options|totlen|udplen] "
		"[--tcp FLAGS --seq N [--ack N] [--window N]] < payload\n");
	exit(2);
}

/* TCP flags from letters: S A F R P; -1 if one is not. */
static int tcp_flags(const char *s)
{
	static const char letters[] = "FSRPA";	/* bits 0 .. 4 */
	int flags = 0;

	for (; *s; s++) {
		const char *l = strchr(letters, *s);

		if (!l)
			return -1;
		flags |= 1 << (l - letters);
	}
	return flags;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dmac", required_argument, NULL, 'm' },
		{ "src", required_argument, NULL, 's' },
		{ "dst", required_argument, NULL, 'd' },
		{ "sport", required_argument, NULL, 'S' },
		{ "dport", required_argument, NULL, 'D' },
		{ "mtu", required_argument, NULL, 'M' },
		{ "reverse", no_argument, NULL, 'r' },
		{ "spoil", required_argument, NULL, 'x' },
		{ "tcp", required_argument, NULL, 't' },
		{ "seq", required_argument, NULL, 'q' },
		{ "ack", required_argument, NULL, 'a' },
		{ "window", required_argument, NULL, 'w' },
		{ "count", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	static uint8_t dgram[sizeof(struct tcphdr) + PAYLOAD_MAX];
	uint8_t frame[ETH_FRAME_LEN + 64], dmac[ETH_ALEN];
	const char *ifname = NULL, *spoil = "";
	const char *src_arg = NULL, *dst_arg = NULL;
	struct sockaddr_ll sll = { .sll_family = AF_PACKET };
	struct in_addr src = {}, dst = {};
	struct in6_addr src6 = {}, dst6 = {};
	bool v6 = false, have_src = false, have_dst = false;
	unsigned int sport = 0, dport = 0, mtu = 1500, nfrags, chunk;
	struct udphdr *udp = (struct udphdr *)dgram;
	struct tcphdr *tcp = (struct tcphdr *)dgram;
	bool reverse = false, have_mac = false, have_seq = false;
	bool tcp_opt = false;
	unsigned long seq = 0, ack = 0, window = 65535, count = 1;
	size_t plen = 0, dlen, hlen = sizeof(*udp);
	uint8_t proto = IPPROTO_UDP;
	struct ifreq ifr = {};
	int opt, fd, flags = -1;
	uint32_t pseudo;

	while ((opt = getopt_long(argc, argv, "i:", opts, NULL)) != -1) {
		switch (opt) {
		case 'i': ifname = optarg; break;
		case 'm': have_mac = !parse_mac(optarg, dmac); break;
		case 's': src_arg = optarg; break;
		case 'd': dst_arg = optarg; break;
		case 'S': sport = atoi(optarg); break;
		case 'D': dport = atoi(optarg); break;
		case 'M': mtu = atoi(optarg); break;
		case 'r': reverse = true; break;
		case 'x': spoil = optarg; break;
		case 't': tcp_opt = true; flags = tcp_flags(optarg); break;
		case 'q': seq = strtoul(optarg, NULL, 0); have_seq = 1; break;
		case 'a': ack = strtoul(optarg, NULL, 0); break;
		case 'w': window = strtoul(optarg, NULL, 0); break;
		case 'c': count = strtoul(optarg, NULL, 0); break;
		default: usage();
		}
	}
	/* the family is the source's, the destination's must be the same */
	if (src_arg && dst_arg) {
		v6 = strchr(src_arg, ':');
		have_src = inet_pton(v6 ? AF_INET6 : AF_INET, src_arg,
				     v6 ? (void *)&src6 : (void *)&src) == 1;
		have_dst = inet_pton(v6 ? AF_INET6 : AF_INET, dst_arg,
				     v6 ? (void *)&dst6 : (void *)&dst) == 1;
	}
	if (!ifname || !have_mac || !have_src || !have_dst || !sport ||
	    !dport || mtu < (v6 ? 1280 : 68) || mtu > ETH_DATA_LEN ||
	    (v6 && *spoil) ||
	    (tcp_opt && (flags < 0 || !have_seq || seq > UINT32_MAX ||
			 ack > UINT32_MAX || window > 65535)))
		usage();
	if (tcp_opt) {
		proto = IPPROTO_TCP;
		hlen = sizeof(*tcp);
		mtu = ETH_DATA_LEN;	/* a segment is never fragmented */
	}

	for (ssize_t n; plen < PAYLOAD_MAX &&
	     (n = read(0, dgram + hlen + plen, PAYLOAD_MAX - plen)) > 0;)
		plen += n;
	dlen = hlen + plen;
	if (tcp_opt && dlen > ETH_DATA_LEN - (v6 ? sizeof(struct ipv6hdr) :
						       sizeof(struct iphdr))) {
		fprintf(stderr, "pktsend: a TCP segment takes one frame\n");
		return 2;
	}
	if (v6)
		pseudo = sum6(&src6) + sum6(&dst6) + proto + (dlen >> 16) +
			 (dlen & 0xffff);
	else
		pseudo = (ntohl(src.s_addr) >> 16) +
			 (ntohl(src.s_addr) & 0xffff) +
			 (ntohl(dst.s_addr) >> 16) +
			 (ntohl(dst.s_addr) & 0xffff) + proto + dlen;
	if (proto == IPPROTO_TCP) {
		tcp->source = htons(sport);
		tcp->dest = htons(dport);
		tcp->seq = htonl(seq);
		tcp->ack_seq = htonl(ack);
		tcp->doff = sizeof(*tcp) / 4;
		dgram[13] = flags;
		tcp->window = htons(window);
		tcp->check = htons(csum(dgram, dlen, pseudo));
	} else {
		udp->source = htons(sport);
		udp->dest = htons(dport);
		udp->len = htons(dlen);
		udp->check = htons(csum(dgram, dlen, pseudo) ?: 0xffff);
		if (!strcmp(spoil, "udplen"))
			udp->len = htons(dlen + 3);
	}

	fd = socket(AF_PACKET, SOCK_RAW, htons(v6 ? ETH_P_IPV6 : ETH_P_IP));
	if (fd < 0) {
		perror("pktsend: socket");
		return 1;
	}
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) {
		perror("pktsend: interface");
		return 1;
	}
	sll.sll_ifindex = if_nametoindex(ifname);
	sll.sll_halen = ETH_ALEN;
	memcpy(sll.sll_addr, dmac, ETH_ALEN);

	/* fragment payloads are multiples of 8 bytes, but for the last */
	if (v6 && dlen + sizeof(struct ipv6hdr) <= mtu)
		chunk = dlen;		/* whole: no Fragment header */
	else if (v6)
		chunk = (mtu - sizeof(struct ipv6hdr) -
			 sizeof(struct frag6_hdr)) & ~7u;
	else
		chunk = (mtu - sizeof(struct iphdr)) & ~7u;
	nfrags = (dlen + chunk - 1) / chunk;
	for (unsigned int k = 0; k < nfrags; k++) {
		unsigned int i = reverse ? nfrags - 1 - k : k;
		size_t off = (size_t)i * chunk;
		size_t len = dlen - off < chunk ? dlen - off : chunk;
		struct ethhdr *eth = (struct ethhdr *)frame;
		size_t flen;

		memcpy(eth->h_dest, dmac, ETH_ALEN);
		memcpy(eth->h_source, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
		if (v6)
			flen = sizeof(*eth) +
			       ip6_frame(eth, &src6, &dst6, proto, nfrags > 1,
					 i + 1 < nfrags, off, dgram + off, len);
		else
			flen = sizeof(*eth) +
			       ip4_frame(eth, src, dst, proto, spoil,
					 i + 1 < nfrags, off, dgram + off, len);
		if (flen < ETH_ZLEN) {
			memset(frame + flen, 0, ETH_ZLEN - flen);
			flen = ETH_ZLEN;
		}
		for (unsigned long c = 0; c < count; c++) {
			if (sendto(fd, frame, flen, 0, (struct sockaddr *)&sll,
				   sizeof(sll)) < 0) {
				perror("pktsend: send");
				return 1;
			}
		}
	}
	close(fd);
	return 0;
}
