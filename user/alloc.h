/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Containers' addresses: which are taken, and the lowest free one of a
 * pool, each found in a time that does not grow with the number of
 * containers (it grows with the number of CNI attachments, whose records
 * are read).
 *
 * An IPv4 address is taken when the host-side veth named after it exists
 * (the kernel's index of names answers, and refuses a second one) or an
 * attachment's record holds it; an IPv6 address, when the host has a
 * route to exactly it (every container's host side has one).  The lowest
 * free address is searched from a hint, ALLOC_HINT_FILE: for each family,
 * the pool and an address below which every usable one was taken when it
 * was written.  It is written under the lock by whoever takes or frees an
 * address; a missing or foreign hint (another pool) starts the search
 * from the pool's first address again.  Something that frees an address
 * behind bpfnat's back (`ip link del` of a host side) leaves it unused
 * until a search that reaches the pool's end comes round to it; none is
 * handed out twice.
 */
#ifndef BPFNAT_ALLOC_H
#define BPFNAT_ALLOC_H

#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>

#include "addr.h"
#include "lock.h"
#include "nl.h"

#define ALLOC_HINT_FILE BPFNAT_RUN_DIR "/free_from"

/* Is @addr a container's, or held by an attachment's record? */
bool alloc_taken(uint32_t addr);
/* Is @addr a container's IPv6 address (a host route to it alone)?  1, 0,
 * -EAFNOSUPPORT without IPv6, or another -errno.
 */
int alloc_taken6(struct nl *nl, const struct in6_addr *addr);

/* The lowest usable address of @pool above @after (0: from the start)
 * that is not taken, as far as the hint tells: 0 and *@addr, -ENOSPC or
 * -errno (alloc_pick6(): -EAFNOSUPPORT without IPv6).
 */
int alloc_pick(const struct pool *pool, uint32_t after, uint32_t *addr);
int alloc_pick6(struct nl *nl, const struct pool6 *pool,
		struct in6_addr *addr);

/* @addr (and @addr6, if not NULL) is a container's now (@picked: by
 * alloc_pick(), or given), or free again: the hint moves past it, or back
 * to it.
 */
void alloc_taken_now(const struct pool *pool, uint32_t addr, bool picked,
		     const struct pool6 *pool6, const struct in6_addr *addr6,
		     bool picked6);
void alloc_freed(uint32_t addr, const struct in6_addr *addr6);

#endif /* BPFNAT_ALLOC_H */
