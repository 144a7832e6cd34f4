/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ARP for containers, answered by the data path: a container asking for
 * another pool address gets its host-side veth's MAC, exactly what the
 * kernel's proxy ARP would say.  Container-to-container traffic then needs
 * nothing from the host's stack, not even with forwarding off; and a pool
 * address that no container has is reached too, whatever the host's
 * forwarding, so that the data path can answer it "host unreachable".
 * Requests for the gateway (the host's own address) and from anyone but a
 * container from its own veth go on to the stack.
 */
#ifndef BPFNAT_ARP_H
#define BPFNAT_ARP_H

#include "common.h"
#include "fwd.h"
#include "maps.h"
#include "parse.h"

#ifndef ARPOP_REQUEST
#define ARPOP_REQUEST	1
#define ARPOP_REPLY	2
#endif

/* An Ethernet/IPv4 ARP packet (RFC 826). */
struct arp_eth {
	__be16 htype;
	__be16 ptype;
	__u8 hlen;
	__u8 plen;
	__be16 op;
	__u8 sha[ETH_ALEN];
	__be32 spa;
	__u8 tha[ETH_ALEN];
	__be32 tpa;
} __attribute__((packed));

static __always_inline int arp_answer(struct pkt *p,
				      const struct bpfnat_config *cfg,
				      const bool xdp)
{
	struct arp_eth *arp = hdr_ptr(p, ETH_HLEN, sizeof(*arp));
	const struct endpoint *self;
	__be32 spa, tpa;

	if (!arp || arp->htype != bpf_htons(1) ||
	    arp->ptype != bpf_htons(ETH_P_IP) || arp->hlen != ETH_ALEN ||
	    arp->plen != 4 || arp->op != bpf_htons(ARPOP_REQUEST))
		return STAT_PASS;
	tpa = arp->tpa;
	spa = arp->spa;
	if (!in_pool(cfg, tpa) || tpa == spa || tpa == cfg->gateway)
		return STAT_PASS;
	self = bpf_map_lookup_elem(&endpoints, &spa);
	if (!self || self->ifindex != p->ifindex)
		return STAT_PASS;

	/* The request turned into its answer, sent back where it came from. */
	__builtin_memcpy(p->eth->h_dest, arp->sha, ETH_ALEN);
	__builtin_memcpy(p->eth->h_source, self->host_mac, ETH_ALEN);
	arp->op = bpf_htons(ARPOP_REPLY);
	__builtin_memcpy(arp->tha, arp->sha, ETH_ALEN);
	__builtin_memcpy(arp->sha, self->host_mac, ETH_ALEN);
	arp->tpa = spa;
	arp->spa = tpa;
	if (xdp) {
		p->redirect = XDP_TX;
	} else {
		redirect_hook(REDIRECT_EGRESS, p->ifindex);
		p->redirect = bpf_redirect(p->ifindex, 0);
	}
	return STAT_ARP_REPLY;
}

#endif /* BPFNAT_ARP_H */
