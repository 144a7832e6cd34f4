// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <unistd.h>
#include <net/if.h>

#include "alloc.h"
#include "attach.h"
#include "container.h"

/* What the hint file holds, a family a line: "4 POOL ADDRESS" and
 * "6 POOL6 ADDRESS6", the address the search may start from.
 */
struct hint {
	uint32_t net4, from4;
	int plen4;
	struct in6_addr net6, from6;
	int plen6;
};

static void hint_read(struct hint *h)
{
	char family[2], pool[INET6_ADDRSTRLEN + 4], from[INET6_ADDRSTRLEN];
	struct in6_addr a6;
	uint32_t a;
	FILE *f;

	memset(h, 0, sizeof(*h));
	f = fopen(ALLOC_HINT_FILE, "re");
	if (!f)
		return;
	while (fscanf(f, "%1s %49s %45s", family, pool, from) == 3) {
		if (!strcmp(family, "4") &&
		    !parse_cidr(pool, &h->net4, &h->plen4, false) &&
		    !parse_ipv4(from, &a))
			h->from4 = a;
		else if (!strcmp(family, "6") &&
			 !parse_cidr6(pool, &h->net6, &h->plen6, false) &&
			 inet_pton(AF_INET6, from, &a6) == 1)
			h->from6 = a6;
	}
	fclose(f);
}

/* Written whole or not at all: a torn hint would be a wrong one. */
static void hint_write(const struct hint *h)
{
	char tmp[] = ALLOC_HINT_FILE ".tmp";
	FILE *f;
	int err;

	f = fopen(tmp, "we");
	if (!f)
		return;	/* the next search starts from the pool's start */
	if (h->from4)
		fprintf(f, "4 %s", cidr_str(h->net4, h->plen4));
	if (h->from4)
		fprintf(f, " %s\n", ip_str(h->from4));
	if (h->plen6)
		fprintf(f, "6 %s", cidr6_str(&h->net6, h->plen6));
	if (h->plen6)
		fprintf(f, " %s\n", ip6_str(&h->from6));
	err = ferror(f);
	if (fclose(f) || err || rename(tmp, ALLOC_HINT_FILE))
		unlink(tmp);
}

static bool hint_for(const struct hint *h, const struct pool *pool)
{
	return h->from4 && h->net4 == pool->net && h->plen4 == pool->plen;
}

static bool hint6_for(const struct hint *h, const struct pool6 *pool)
{
	return h->plen6 && h->plen6 == pool->plen &&
	       !in6_cmp(&h->net6, &pool->net);
}

static bool held(uint32_t addr, const struct attachment *a, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i].addr == addr)
			return true;
	return false;
}

static bool veth_exists(uint32_t addr)
{
	char name[IF_NAMESIZE];

	/* the kernel's hash of names, without filling a message */
	container_host_ifname(addr, name);
	return if_nametoindex(name) != 0;
}

bool alloc_taken(uint32_t addr)
{
	struct attachment *a;
	size_t n;
	bool taken;

	if (veth_exists(addr))
		return true;
	if (attachment_list(&a, &n))
		return false;	/* the veth's name will tell */
	taken = held(addr, a, n);
	free(a);
	return taken;
}

int alloc_taken6(struct nl *nl, const struct in6_addr *addr)
{
	int taken = nl_route_host6(nl, addr);

	/* without IPv6 (ipv6.disable=1) there is nothing to ask */
	return taken == -EOPNOTSUPP ? -EAFNOSUPPORT : taken;
}

/*
 * The search runs from the hint to the pool's end and then, if the hint
 * was above the first address, from there to the hint: a hint left too
 * high (an address freed where bpfnat did not see it) costs a longer
 * search, never a free address.
 */
int alloc_pick(const struct pool *pool, uint32_t after, uint32_t *addr)
{
	uint32_t first = after ? ntohl(after) + 1 : ntohl(pool->gateway) + 1;
	uint32_t from = first, lo, hi, a;
	struct attachment *att;
	struct hint h;
	size_t n;
	int err;

	hint_read(&h);
	if (hint_for(&h, pool) && ntohl(h.from4) > from)
		from = ntohl(h.from4);
	err = attachment_list(&att, &n);
	if (err)
		return err;
	err = -ENOSPC;
	for (int pass = 0; pass < 2 && err; pass++) {
		lo = pass ? first : from;
		hi = pass ? from : UINT32_MAX;
		for (a = lo; a < hi && pool_usable(pool, htonl(a)); a++) {
			if (veth_exists(htonl(a)) || held(htonl(a), att, n))
				continue;
			*addr = htonl(a);
			err = 0;
			break;
		}
	}
	free(att);
	return err;
}

int alloc_pick6(struct nl *nl, const struct pool6 *pool,
		struct in6_addr *addr)
{
	struct in6_addr first = pool->gateway, from, a;
	struct hint h;
	int taken;

	in6_next(&first);
	from = first;
	hint_read(&h);
	if (hint6_for(&h, pool) && in6_cmp(&h.from6, &from) > 0)
		from = h.from6;
	for (int pass = 0; pass < 2; pass++) {
		for (a = pass ? first : from; pool6_usable(pool, &a) &&
		     (!pass || in6_cmp(&a, &from) < 0); in6_next(&a)) {
			taken = alloc_taken6(nl, &a);
			if (taken < 0)
				return taken;
			if (!taken) {
				*addr = a;
				return 0;
			}
		}
	}
	return -ENOSPC;
}

void alloc_taken_now(const struct pool *pool, uint32_t addr, bool picked,
		     const struct pool6 *pool6, const struct in6_addr *addr6,
		     bool picked6)
{
	struct in6_addr start6;
	struct hint h;
	uint32_t start;

	hint_read(&h);
	/* The search starts where the hint says, or at the pool's first
	 * address.  What it picked is the first free one from there, and
	 * one given that is where it starts: every one below the next is
	 * taken now.
	 */
	start = hint_for(&h, pool) ? h.from4 : htonl(ntohl(pool->gateway) + 1);
	if (picked || addr == start) {
		h.net4 = pool->net;
		h.plen4 = pool->plen;
		h.from4 = htonl(ntohl(addr) + 1);
	}
	if (pool6 && addr6) {
		start6 = pool6->gateway;
		in6_next(&start6);
		if (hint6_for(&h, pool6))
			start6 = h.from6;
		if (picked6 || !in6_cmp(addr6, &start6)) {
			h.net6 = pool6->net;
			h.plen6 = pool6->plen;
			h.from6 = *addr6;
			in6_next(&h.from6);
		}
	}
	hint_write(&h);
}

void alloc_freed(uint32_t addr, const struct in6_addr *addr6)
{
	struct hint h;

	hint_read(&h);
	if (h.from4 && addr && (addr & plen_to_mask(h.plen4)) == h.net4 &&
	    ntohl(addr) < ntohl(h.from4))
		h.from4 = addr;
	if (h.plen6 && addr6 && in6_in_prefix(addr6, &h.net6, h.plen6) &&
	    in6_cmp(addr6, &h.from6) < 0)
		h.from6 = *addr6;
	hint_write(&h);
}
