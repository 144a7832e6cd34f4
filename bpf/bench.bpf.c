// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Reference programs for the benchmark (tools/bench.sh), never part of the
 * data path.  They mark the two ends of the scale bpfnat is measured on:
 *
 *   bench_drop      the generator's capacity: the load dropped where it
 *                   first arrives (the benchmark's L0), and the sink at
 *                   the far end of every path;
 *   bench_redirect  the least any tc redirect can cost: MACs rewritten and
 *                   the packet sent on, no lookup of flows, no NAT;
 *   bench_xdp_pass  for the far end of the testbed's uplink in XDP mode: a
 *                   veth takes frames redirected into it by XDP only when
 *                   its peer has an XDP program (a NIC needs none).
 *
 * Both touch only UDP over IPv4 and IPv6, the benchmark's load, and hand
 * everything else (ARP, neighbour discovery, the TCP tests' traffic) to the
 * stack, so that they can stay in place while other scenarios run on the
 * same devices.
 */
#include <stdbool.h>
#include <stddef.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* bench_fwd flags */
#define BENCH_F_PEER	(1 << 0)	/* into the namespace of @ifindex's peer */

/* Where bench_redirect sends what arrives on a device (the map's key). */
struct bench_fwd {
	__u32 ifindex;
	__u32 flags;		/* BENCH_F_* */
	__u8 dmac[ETH_ALEN];
	__u8 smac[ETH_ALEN];
};
_Static_assert(sizeof(struct bench_fwd) == 20, "bench_fwd layout");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);		/* ingress ifindex */
	__type(value, struct bench_fwd);
} bench_fwd SEC(".maps");

/*
 * Whether the packet is UDP (over IPv4, or right after the IPv6 header),
 * read without pulling data in: trafgen hands the kernel frames whose
 * linear part is the Ethernet header alone (the rest stays in its ring's
 * pages), and a pull would add a cost that the limits must not have.
 */
static __always_inline bool is_udp(struct __sk_buff *skb)
{
	__u32 off;
	__u8 proto;

	if (skb->protocol == bpf_htons(ETH_P_IP))
		off = ETH_HLEN + offsetof(struct iphdr, protocol);
	else if (skb->protocol == bpf_htons(ETH_P_IPV6))
		off = ETH_HLEN + offsetof(struct ipv6hdr, nexthdr);
	else
		return false;
	if (bpf_skb_load_bytes(skb, off, &proto, sizeof(proto)))
		return false;
	return proto == IPPROTO_UDP;
}

SEC("tc")
int bench_drop(struct __sk_buff *skb)
{
	return is_udp(skb) ? TC_ACT_SHOT : TC_ACT_OK;
}

SEC("tc")
int bench_redirect(struct __sk_buff *skb)
{
	__u32 key = skb->ingress_ifindex;
	struct bench_fwd *fwd;
	struct ethhdr *eth;

	if (!is_udp(skb))
		return TC_ACT_OK;
	fwd = bpf_map_lookup_elem(&bench_fwd, &key);
	if (!fwd)
		return TC_ACT_OK;
	/* the Ethernet header is always in the linear part */
	eth = (void *)(long)skb->data;
	if ((void *)(eth + 1) > (void *)(long)skb->data_end)
		return TC_ACT_OK;
	__builtin_memcpy(eth->h_dest, fwd->dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, fwd->smac, ETH_ALEN);
	if (fwd->flags & BENCH_F_PEER)
		return bpf_redirect_peer(fwd->ifindex, 0);
	return bpf_redirect(fwd->ifindex, 0);
}

SEC("xdp")
int bench_xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}
