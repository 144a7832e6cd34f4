/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Host-local access to published ports, at the socket: the host's own
 * connect() or sendto() to a published port (127.0.0.1:8080, the SNAT
 * address, another address of the host; over IPv6 [::1]:8080 and the
 * same) has its destination rewritten to the container's address and
 * port before the kernel routes anything, as Docker's OUTPUT DNAT rule
 * (or its proxy) would.  An IPv6 socket's IPv4-mapped destinations are
 * left as they are.  The packets then take
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
#include "parse6.h"

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

/*
 * Remember that what the socket sent to @asked_addr:@asked_port went to
 * @to_addr:@to_port instead: addresses of @words words (1 for IPv4, 4
 * for IPv6).
 */
static __always_inline void sock_rev_remember(struct bpf_sock_addr *ctx,
					      const __be32 *asked_addr,
					      __be16 asked_port,
					      const __be32 *to_addr,
					      __be16 to_port, const int words)
{
	struct sock_rev_slot *s;
	struct sock_rev *rev;
	__u32 i;
	int w;

	rev = bpf_sk_storage_get(&sock_rev, ctx->sk, 0,
				 BPF_SK_STORAGE_GET_F_CREATE);
	if (!rev) {
		sock_count(SOCK_STAT_REV_FAILED);
		return;
	}
	/* one slot per container address and port: the last ask wins */
	for (i = 0; i < SOCK_REV_SLOTS; i++) {
		s = &rev->slot[i];
		if (s->port == to_port && s->addr[0] == to_addr[0] &&
		    (words == 1 || (s->addr[1] == to_addr[1] &&
				    s->addr[2] == to_addr[2] &&
				    s->addr[3] == to_addr[3])))
			goto fill;
	}
	if (rev->next >= SOCK_REV_SLOTS)
		sock_count(SOCK_STAT_REV_REPLACED);
	s = &rev->slot[rev->next & (SOCK_REV_SLOTS - 1)];
	rev->next++;
fill:
	for (w = 0; w < words; w++) {
		s->asked_addr[w] = asked_addr[w];
		s->addr[w] = to_addr[w];
	}
	s->asked_port = asked_port;
	s->port = to_port;
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
	sock_rev_remember(ctx, &addr, port, &v->addr, v->port, 1);
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
		if (s->addr[0] == addr && s->port == port) {
			ctx->user_ip4 = s->asked_addr[0];
			ctx->user_port = s->asked_port;
			sock_count(stat);
			break;
		}
	}
	return 1;
}

/*
 * Is @a the host's, over IPv6?  ::1, :: (the host itself to connect()),
 * the IPv6 SNAT address and gateway from the configuration, and the other
 * addresses `up` found on the host (host_addrs6).
 */
static __always_inline bool sock_addr_local6(const struct bpfnat_config *cfg,
					     const struct in6_key *a)
{
	if (!a->addr[0] && !a->addr[1] && !a->addr[2] &&
	    (!a->addr[3] || a->addr[3] == bpf_htonl(1)))
		return true;
	if (in6_eq(a, &cfg->snat6) || in6_eq(a, &cfg->gateway6))
		return true;
	return bpf_map_lookup_elem(&host_addrs6, a) != NULL;
}

/* sock_published() over IPv6: the container behind [@a]:@port/@proto. */
static __always_inline const struct port_val *
sock_published6(const struct bpfnat_config *cfg, const struct in6_key *a,
		__be16 port, __u8 proto)
{
	const struct port_val *v;
	struct port_key k;

	__builtin_memset(&k, 0, sizeof(k));
	__builtin_memcpy(k.host_addr6, a->addr, sizeof(k.host_addr6));
	k.host_port = port;
	k.proto = proto;
	k.family = AF_INET6;
	v = bpf_map_lookup_elem(&ports, &k);
	if (!v) {
		if (!sock_addr_local6(cfg, a))
			return NULL;
		__builtin_memset(k.host_addr6, 0, sizeof(k.host_addr6));
		v = bpf_map_lookup_elem(&ports, &k);
		if (!v)
			return NULL;
	}
	if (!bpf_map_lookup_elem(&endpoints6, v->addr6))
		return NULL;
	return v;
}

/* connect6 and sendmsg6: sock_to_container() for an IPv6 socket. */
static __always_inline int sock_to_container6(struct bpf_sock_addr *ctx,
					      __u32 stat)
{
	const struct bpfnat_config *cfg;
	const struct port_val *v;
	__u32 proto = ctx->protocol;
	__be16 port = ctx->user_port;
	struct in6_key a;

	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return 1;
	if (!sock_netns_cookie ||
	    bpf_get_netns_cookie(ctx) != sock_netns_cookie)
		return 1;
	cfg = config_get();
	if (!cfg || cfg->version != BPFNAT_LAYOUT_VERSION ||
	    !cfg->pool6_plen)
		return 1;
	a.addr[0] = ctx->user_ip6[0];
	a.addr[1] = ctx->user_ip6[1];
	a.addr[2] = ctx->user_ip6[2];
	a.addr[3] = ctx->user_ip6[3];
	/* an IPv4-mapped address (::ffff:a.b.c.d) is IPv4's, not ours */
	if (!a.addr[0] && !a.addr[1] && a.addr[2] == bpf_htonl(0xffff))
		return 1;
	v = sock_published6(cfg, &a, port, proto);
	if (!v)
		return 1;
	sock_rev_remember(ctx, a.addr, port, v->addr6, v->port, 4);
	ctx->user_ip6[0] = v->addr6[0];
	ctx->user_ip6[1] = v->addr6[1];
	ctx->user_ip6[2] = v->addr6[2];
	ctx->user_ip6[3] = v->addr6[3];
	ctx->user_port = v->port;
	sock_count(stat);
	return 1;
}

/* recvmsg6 and getpeername6: sock_from_container() for an IPv6 socket. */
static __always_inline int sock_from_container6(struct bpf_sock_addr *ctx,
						__u32 stat)
{
	__be16 port = ctx->user_port;
	struct sock_rev_slot *s;
	struct sock_rev *rev;
	struct in6_key a;
	__u32 i;

	rev = bpf_sk_storage_get(&sock_rev, ctx->sk, 0, 0);
	if (!rev)
		return 1;
	a.addr[0] = ctx->user_ip6[0];
	a.addr[1] = ctx->user_ip6[1];
	a.addr[2] = ctx->user_ip6[2];
	a.addr[3] = ctx->user_ip6[3];
	for (i = 0; i < SOCK_REV_SLOTS; i++) {
		s = &rev->slot[i];
		if (s->port == port && s->addr[0] == a.addr[0] &&
		    s->addr[1] == a.addr[1] && s->addr[2] == a.addr[2] &&
		    s->addr[3] == a.addr[3] && s->port) {
			ctx->user_ip6[0] = s->asked_addr[0];
			ctx->user_ip6[1] = s->asked_addr[1];
			ctx->user_ip6[2] = s->asked_addr[2];
			ctx->user_ip6[3] = s->asked_addr[3];
			ctx->user_port = s->asked_port;
			sock_count(stat);
			break;
		}
	}
	return 1;
}

#endif /* BPFNAT_SOCK_H */
