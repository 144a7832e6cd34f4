/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Containers: a network namespace with one end of a veth pair in it, the
 * other end in the host namespace.  `ns add` makes a named namespace
 * (netns.h) whose interface is eth0; the CNI plugin is handed a namespace
 * and an interface name by the runtime (attach.h).  Both plumb the veth
 * with container_plumb().
 *
 * The host side carries everything bpfnat needs to find its containers
 * again, held by the kernel: its name is "bn" and the container's address
 * in hex (unique because addresses are), and its alias is
 * "bpfnat:NAME:ADDRESS/PREFIX", or "bpfnat:NAME:ADDRESS/PREFIX,ADDRESS6/PREFIX"
 * with an IPv6 address too.  It has the pool's gateway as a /32, a /32
 * route to the container, forwarding and proxy ARP on; so any number of
 * containers in one prefix reach each other and the host through the
 * kernel, with no bridge, whether or not bpfnat's programs are attached.
 *
 * IPv6 is the same without proxy ARP's part: the host side has the IPv6
 * gateway as a /128, fe80::1 (the source of its neighbour solicitations),
 * IPv6 forwarding on and a /128 route to the container, and inside, the
 * address has no on-link prefix route, only a default route via the
 * gateway (on the link by fiat), so a container solicits its gateway
 * alone, which the host's stack answers, and everything else goes
 * through the host side.
 */
#ifndef BPFNAT_CONTAINER_H
#define BPFNAT_CONTAINER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <net/if.h>
#include <linux/if_ether.h>

#include "addr.h"
#include "bpfnat.h"
#include "lock.h"
#include "netns.h"
#include "nl.h"

#define CONTAINER_ALIAS_PREFIX "bpfnat:"
/* The interface of a container that `ns add` made. */
#define CONTAINER_IFNAME "eth0"
#define CONTAINER_NETNS_MAX 256

struct container {
	char name[NETNS_NAME_MAX + 1];
	uint32_t addr;			/* network byte order */
	int plen;
	struct in6_addr addr6;
	int plen6;			/* 0: no IPv6 address */
	char host_if[IF_NAMESIZE];
	int host_ifindex;
	uint8_t host_mac[ETH_ALEN];
	char ifname[IF_NAMESIZE];	/* its end of the veth, inside */
	char netns[CONTAINER_NETNS_MAX];	/* the path of its namespace */
	bool attachment;		/* a CNI attachment: the namespace is
					 * the runtime's, never removed here
					 */
};

/* Where container @c (its name known) lives: its interface and
 * namespace, from its attachment record or else as `ns add` makes them.
 */
void container_locate(struct container *c);

/* All of bpfnat's containers in this namespace, sorted by address. */
int container_list(struct nl *nl, struct container **out, size_t *count);
/* -ENOENT if there is no container @name. */
int container_find(struct nl *nl, const char *name, struct container *c);

/* A route inside a container; @gw 0: the pool's gateway. */
struct container_route {
	uint32_t dst;
	int plen;
	uint32_t gw;
};

/* How container_plumb() joins a container to the host. */
struct plumb {
	const char *what;		/* for messages: "ns add a", ... */
	const struct pool *pool;	/* the gateway, and where to pick */
	bool pick;			/* the lowest free address of @pool,
					 * else the container's own
					 */
	const struct pool6 *pool6;	/* NULL: no IPv6 */
	bool pick6;			/* as @pick, for IPv6 */
	bool new_netns;			/* made for it: nothing inside yet */
	const struct container_route *routes;	/* inside; none: a */
	size_t n_routes;			/* default route */
	/* Told the host side's name and the address before the veth is
	 * made (a killed command's leftovers are found by it): 0 or -errno.
	 */
	int (*note)(const struct container *c, void *arg);
	void *note_arg;
};

/*
 * The veth of container @c, whose name, interface name and namespace
 * (@nsfd) are set, and whose address and prefix length are unless
 * @p->pick: the host side (named after the address, with the gateway,
 * proxy ARP and a route to the container) and inside, the interface
 * addressed and up with its routes, lo up.  Either everything is built
 * or nothing is left; -EADDRINUSE when the address is taken, -EEXIST when
 * the interface exists inside, -ENOSPC when @p->pool is full.
 */
int container_plumb(struct nl *nl, struct container *c, int nsfd,
		    const struct plumb *p);

/* Has namespace @nsfd an interface @ifname?  1, 0 or -errno. */
int container_inside_exists(int nsfd, const char *ifname);

/* The lowest free address of @pool: 0 and @addr, -ENOSPC, or -errno. */
int container_pool_free(struct nl *nl, const struct pool *pool,
			uint32_t *addr);

/* The host side's name for a container of address @addr, into @name
 * (IF_NAMESIZE bytes).
 */
void container_host_ifname(uint32_t addr, char *name);

/*
 * Build container @name (a named namespace and its eth0) with address
 * @addr, or the lowest free address of @pool when @addr is 0, and IPv6
 * address @addr6, or the lowest free one of @pool6 when @addr6 is NULL.
 * Either everything is built or nothing is left.
 */
int container_add(struct nl *nl, const char *name, const struct pool *pool,
		  uint32_t addr, const struct pool6 *pool6,
		  const struct in6_addr *addr6, struct container *c);
/* Its veth gone, and its namespace unless it is an attachment's. */
int container_del(struct nl *nl, const struct container *c);

/*
 * Intents: `ns add` and `ns del` of NAME write INTENT_DIR/NAME before they
 * change anything, note the host side's name in it before they make the
 * veth, and remove it once done.  Since both hold the lock, an intent that
 * another command finds was left by one that was killed: the container it
 * names is half made or half gone, and container_intent_read() says what
 * of it may exist, for the next command to remove.
 */
#define INTENT_DIR BPFNAT_RUN_DIR "/intent"

int container_intent_begin(const char *name);
int container_intent_note(const char *name, const char *host_if);
void container_intent_end(const char *name);
/* 0 and @c if an intent for @name was left, -ENOENT if none.  @c has the
 * name, and the host side, address and ifindex if that container's veth
 * exists (else empty and 0).
 */
int container_intent_read(struct nl *nl, const char *name,
			  struct container *c);

/* The names of up to @max intents there are, or -errno. */
int container_intents(char (*names)[NETNS_NAME_MAX + 1], int max);

/* What the data path needs to deliver to @c: reads its interface's MAC. */
int container_endpoint(const struct container *c, struct endpoint *ep);

/* Run @fn inside @c's network namespace; returns what @fn returns. */
typedef int (*container_fn)(const struct container *c, void *arg);
int container_run(const struct container *c, container_fn fn, void *arg);

#endif /* BPFNAT_CONTAINER_H */
