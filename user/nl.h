/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * rtnetlink over libmnl: one function per operation.  Every request asks
 * for an acknowledgement; a failure returns -errno and leaves the kernel's
 * extended-ack text, when it sent one, in nl->extack.  A socket belongs to
 * the network namespace it was opened in, so one struct nl per namespace.
 */
#ifndef BPFNAT_NL_H
#define BPFNAT_NL_H

#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>
#include <net/if.h>
#include <linux/if_ether.h>

struct mnl_socket;

struct nl {
	struct mnl_socket *sock;
	unsigned int portid;
	unsigned int seq;
	char extack[256];	/* kernel's message for the last failure */
};

/* One link as a dump reports it. */
struct nl_link {
	int ifindex;
	char name[IF_NAMESIZE];
	char alias[256];
	uint8_t mac[ETH_ALEN];
	char kind[16];		/* "veth", ... or "" */
	unsigned int flags;	/* IFF_* */
	unsigned int mtu;
	int peer_ifindex;	/* a veth's other end (in its namespace) */
};

int nl_open(struct nl *nl);
void nl_close(struct nl *nl);

/* "what failed: why (kernel's words)", for error messages. */
const char *nl_strerror(const struct nl *nl, int err);

/* Links */
int nl_veth_add(struct nl *nl, const char *name, const char *peer,
		int peer_netns_fd);
int nl_link_del(struct nl *nl, int ifindex);
int nl_link_get(struct nl *nl, const char *name, struct nl_link *link);
int nl_link_get_index(struct nl *nl, int ifindex, struct nl_link *link);
int nl_link_set_up(struct nl *nl, int ifindex);
int nl_link_set_alias(struct nl *nl, int ifindex, const char *alias);
typedef int (*nl_link_cb)(const struct nl_link *link, void *data);
int nl_link_dump(struct nl *nl, nl_link_cb cb, void *data);

/*
 * Per-device settings: IPv4 forwarding and proxy ARP on or off, and no IPv6
 * link-local address (so the link carries no IPv6 chatter).
 */
int nl_link_set_inet(struct nl *nl, int ifindex, bool forwarding,
		     bool proxy_arp);

/* How long proxy ARP waits before answering (the kernel's default is up
 * to 800 ms, a long first ping).
 */
int nl_arp_proxy_delay(struct nl *nl, int ifindex, uint64_t msecs);

/* Addresses, in network byte order. */
int nl_addr_add(struct nl *nl, int ifindex, uint32_t addr, int plen);
/* The first IPv4 address on @ifindex; -ENOENT if it has none. */
int nl_addr_first(struct nl *nl, int ifindex, uint32_t *addr);
/* The prefix length of address @addr on @ifindex; -ENOENT if it has not. */
int nl_addr_plen(struct nl *nl, int ifindex, uint32_t addr);
/* The first global IPv6 address of @ifindex (a usable one), or -ENOENT. */
int nl_addr6_first(struct nl *nl, int ifindex, struct in6_addr *addr);

/* An IPv6 address, without duplicate address detection (bpfnat hands
 * out the pool's addresses itself) and, with @no_prefix_route, without
 * the on-link route of its prefix.
 */
int nl_addr_add6(struct nl *nl, int ifindex, const struct in6_addr *addr,
		 int plen, bool no_prefix_route);

/* Every IPv4 address of the namespace: @cb(ifindex, address, @data),
 * stopping at the first that returns non-zero (returned).
 */
typedef int (*nl_addr_cb)(int ifindex, uint32_t addr, void *data);
int nl_addr_dump(struct nl *nl, nl_addr_cb cb, void *data);
/* The same of every IPv6 address of the namespace. */
typedef int (*nl_addr6_cb)(int ifindex, const struct in6_addr *addr,
			   void *data);
int nl_addr6_dump(struct nl *nl, nl_addr6_cb cb, void *data);

/* Routes in the main table.  @gw 0 means directly connected (scope link). */
int nl_route_add(struct nl *nl, uint32_t dst, int plen, uint32_t gw,
		 int ifindex, uint32_t prefsrc);
/* An IPv6 route; @gw NULL: directly connected.  A gateway is taken as
 * on the link (RTNH_F_ONLINK): no prefix route need lead to it.
 */
int nl_route_add6(struct nl *nl, const struct in6_addr *dst, int plen,
		  const struct in6_addr *gw, int ifindex);
/* Has the host a route to @dst/128 itself (not to a prefix of it)?  1, 0
 * or -errno.
 */
int nl_route_host6(struct nl *nl, const struct in6_addr *dst);
/* Is there a route in the main table to @dst/@plen through @ifindex, via
 * @gw (0: whatever the gateway)?  0, -ENOENT, or another -errno.
 */
int nl_route_find(struct nl *nl, uint32_t dst, int plen, uint32_t gw,
		  int ifindex);
/* Device of the IPv4 default route; -ENOENT if there is none. */
int nl_route_default(struct nl *nl, int *ifindex);

/* tc filters attached to @ifindex under @parent (clsact ingress/egress). */
int nl_tc_filter_count(struct nl *nl, int ifindex, uint32_t parent);
/* Has @ifindex a clsact qdisc?  1 or 0, or -errno. */
int nl_qdisc_clsact(struct nl *nl, int ifindex);

#endif /* BPFNAT_NL_H */
