/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Host-local access to published ports, at the socket: the host's own
 * connect() or sendto() to a published port (127.0.0.1:8080, the SNAT
 * address, another address of the host) has its destination rewritten to
 * the container's address and port before the kernel routes anything, as
 * Docker's OUTPUT DNAT rule (or its proxy) would.  The packets then take
 * the host's route to the container, from the gateway address, and the
 * answers come back to the gateway, which the data path passes to the
 * host: no flow is made and no packet is rewritten.
 *
 * Only sockets of the host's network namespace are rewritten, in the
 * cgroup `up --cgroup` attached the hooks to: a container's 127.0.0.1 is
 * its own, and its way to a published port is the data path's hairpin.
 *
 * Each rewrite is remembered in the socket's own storage (sock_rev), so
 * that what the application reads back names the address it asked for:
 * the source of an answer (recvmsg, UDP) and the peer (getpeername).  The
 * storage goes with the socket: nothing to expire, and no other socket's
 * traffic can push a live entry out, as it could in a table shared by
 * all sockets.
 */
#ifndef BPFNAT_SOCK_H
#define BPFNAT_SOCK_H

#include "common.h"
#include "maps.h"

/* The host's network namespace (SO_NETNS_COOKIE), set by `up` before the
 * programs are loaded; 0 rewrites nothing.
 */
const volatile __u64 sock_netns_cookie;

static __always_inline void sock_count(__u32 id)
{
	__u64 *n = bpf_map_lookup_elem(&sock_stats, &id);

	if (n)
		(*n)++;
}

/*
 * Is @addr the host's?  Loopback, 0.0.0.0 (which connect() takes for the
 * host itself), the SNAT address and the gateway from the configuration,
 * and the other addresses `up` found on the host (host_addrs).
 */
static __always_inline bool sock_addr_local(const struct bpfnat_config *cfg,
					    __be32 addr)
{
	if (!addr || (addr & bpf_htonl(0xff000000)) == bpf_htonl(0x7f000000))
		return true;
	if (addr == cfg->snat_addr || addr == cfg->gateway)
		return true;
	return bpf_map_lookup_elem(&host_addrs, &addr) != NULL;
}

/*
 * The container behind @addr:@port/@proto as the host's sockets see it:
 * a port published on @addr itself, or else on every address when @addr
 * is the host's.  NULL if none, or if its container is gone (as the data
 * path, which then leaves the packet to the host).
 */
static __always_inline const struct port_val *
sock_published(const struct bpfnat_config *cfg, __be32 addr, __be16 port,
	       __u8 proto)
{
	const struct port_val *v;
	struct port_key k;

	/* (an initializer would leave the union's other bytes unset) */
	__builtin_memset(&k, 0, sizeof(k));
	k.host_addr = addr;
	k.host_port = port;
	k.proto = proto;
	k.family = AF_INET;
	v = bpf_map_lookup_elem(&ports, &k);
	if (!v) {
		if (!sock_addr_local(cfg, addr))
			return NULL;
		k.host_addr = 0;
		v = bpf_map_lookup_elem(&ports, &k);
		if (!v)
			return NULL;
	}
	if (!bpf_map_lookup_elem(&endpoints, &v->addr))
		return NULL;
	return v;
}

/* Remember that what the socket sent to @asked went to @to instead. */
static __always_inline void sock_rev_remember(struct bpf_sock_addr *ctx,
					      __be32 asked_addr,
					      __be16 asked_port,
					      const struct port_val *to)
{
	struct sock_rev_slot *s;
	struct sock_rev *rev;
	__u32 i;

	rev = bpf_sk_storage_get(&sock_rev, ctx->sk, 0,
				 BPF_SK_STORAGE_GET_F_CREATE);
	if (!rev) {
		sock_count(SOCK_STAT_REV_FAILED);
		return;
	}
	/* one slot per container address and port: the last ask wins */
	for (i = 0; i < SOCK_REV_SLOTS; i++) {
		s = &rev->slot[i];
		if (s->addr == to->addr && s->port == to->port)
			goto fill;
	}
	if (rev->next >= SOCK_REV_SLOTS)
		sock_count(SOCK_STAT_REV_REPLACED);
	s = &rev->slot[rev->next & (SOCK_REV_SLOTS - 1)];
	rev->next++;
fill:
	s->asked_addr = asked_addr;
	s->asked_port = asked_port;
	s->addr = to->addr;
	s->port = to->port;
}

/*
 * connect4 (TCP, connected UDP) and sendmsg4 (unconnected UDP): a
 * published port's destination becomes its container's.  Counted under
 * @stat.  Never refuses: the hook's verdict stays "go on".
 */
static __always_inline int sock_to_container(struct bpf_sock_addr *ctx,
					     __u32 stat)
{
	const struct bpfnat_config *cfg;
	const struct port_val *v;
	__u32 proto = ctx->protocol;
	__be32 addr = ctx->user_ip4;
	__be16 port = ctx->user_port;

	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return 1;
	if (!sock_netns_cookie ||
	    bpf_get_netns_cookie(ctx) != sock_netns_cookie)
		return 1;
	cfg = config_get();
	if (!cfg || cfg->version != BPFNAT_LAYOUT_VERSION)
		return 1;
	v = sock_published(cfg, addr, port, proto);
	if (!v)
		return 1;
	sock_rev_remember(ctx, addr, port, v);
	ctx->user_ip4 = v->addr;
	ctx->user_port = v->port;
	sock_count(stat);
	return 1;
}

/*
 * recvmsg4 (the source of an answer) and getpeername4 (a connected
 * socket's peer): the container's address and port become those the
 * application sent to.  Counted under @stat.
 */
static __always_inline int sock_from_container(struct bpf_sock_addr *ctx,
					       __u32 stat)
{
	__be32 addr = ctx->user_ip4;
	__be16 port = ctx->user_port;
	struct sock_rev_slot *s;
	struct sock_rev *rev;
	__u32 i;

	/* only a socket a rewrite went through has any */
	rev = bpf_sk_storage_get(&sock_rev, ctx->sk, 0, 0);
	if (!rev || !addr)
		return 1;
	for (i = 0; i < SOCK_REV_SLOTS; i++) {
		s = &rev->slot[i];
		if (s->addr == addr && s->port == port) {
			ctx->user_ip4 = s->asked_addr;
			ctx->user_port = s->asked_port;
			sock_count(stat);
			break;
		}
	}
	return 1;
}

#endif /* BPFNAT_SOCK_H */
