/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Containers: a named network namespace whose eth0 is one end of a veth
 * pair, the other end in the host namespace.
 *
 * The host side carries everything bpfnat needs to find its containers
 * again, held by the kernel: its name is "bn" and the container's address
 * in hex (unique because addresses are), and its alias is
 * "bpfnat:NAME:ADDRESS/PREFIX".  It has the pool's gateway as a /32, a /32
 * route to the container, forwarding and proxy ARP on; so any number of
 * containers in one prefix reach each other and the host through the
 * kernel, with no bridge, whether or not bpfnat's programs are attached.
 */
#ifndef BPFNAT_CONTAINER_H
#define BPFNAT_CONTAINER_H

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
#define CONTAINER_IFNAME "eth0"

struct container {
	char name[NETNS_NAME_MAX + 1];
	uint32_t addr;			/* network byte order */
	int plen;
	char host_if[IF_NAMESIZE];
	int host_ifindex;
	uint8_t host_mac[ETH_ALEN];
};

/* All of bpfnat's containers in this namespace, sorted by address. */
int container_list(struct nl *nl, struct container **out, size_t *count);
/* -ENOENT if there is no container @name. */
int container_find(struct nl *nl, const char *name, struct container *c);

/*
 * Build container @name with address @addr, or the lowest free address of
 * @pool when @addr is 0.  Either everything is built or nothing is left.
 */
int container_add(struct nl *nl, const char *name, const struct pool *pool,
		  uint32_t addr, struct container *c);
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

/* What the data path needs to deliver to @c: reads its eth0's MAC. */
int container_endpoint(const struct container *c, struct endpoint *ep);

/* Run @fn inside @c's network namespace; returns what @fn returns. */
typedef int (*container_fn)(const struct container *c, void *arg);
int container_run(const struct container *c, container_fn fn, void *arg);

#endif /* BPFNAT_CONTAINER_H */
