/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Parsing and printing of the things operators type: IPv4 and IPv6
 * addresses and prefixes, port ranges, counts.  Addresses are kept in network byte
 * order, as the kernel and the BPF maps keep them.
 */
#ifndef BPFNAT_ADDR_H
#define BPFNAT_ADDR_H

#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>

/* A container pool: a prefix whose first host address is the gateway. */
struct pool {
	uint32_t net;
	uint32_t mask;
	uint32_t gateway;
	uint32_t broadcast;
	int plen;
};

/* The IPv6 pool: a prefix whose first address after the network's
 * (RFC 4291's subnet-router anycast, never a host's) is the gateway.
 */
struct pool6 {
	struct in6_addr net;
	struct in6_addr gateway;
	int plen;
};

int parse_ipv4(const char *s, uint32_t *addr);
/* "A.B.C.D/N"; with @plen_optional, "A.B.C.D" alone means /32. */
int parse_cidr(const char *s, uint32_t *addr, int *plen, bool plen_optional);
int parse_port_range(const char *s, uint16_t *lo, uint16_t *hi);
int parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out);

/* "ADDR/N"; with @plen_optional, "ADDR" alone means /128. */
int parse_cidr6(const char *s, struct in6_addr *addr, int *plen,
		bool plen_optional);

uint32_t plen_to_mask(int plen);
int pool_init(struct pool *pool, uint32_t addr, int plen);
/* An address a container may have: inside, not network/gateway/broadcast. */
bool pool_usable(const struct pool *pool, uint32_t addr);

/* Prefix lengths 1 to 126: a gateway and a container at least. */
int pool6_init(struct pool6 *pool, const struct in6_addr *addr, int plen);
bool in6_in_prefix(const struct in6_addr *a, const struct in6_addr *net,
		   int plen);
/* An address a container may have: inside, not the network or gateway. */
bool pool6_usable(const struct pool6 *pool, const struct in6_addr *a);
/* @a plus one, carried over all 128 bits. */
void in6_next(struct in6_addr *a);
/* @a's bits past the first @plen cleared: its network. */
void in6_mask(struct in6_addr *a, int plen);
int in6_cmp(const struct in6_addr *a, const struct in6_addr *b);

/* Static buffers, fine for printing one or two values per call. */
const char *ip_str(uint32_t addr);
const char *cidr_str(uint32_t addr, int plen);
const char *mac_str(const uint8_t *mac);
const char *ip6_str(const struct in6_addr *addr);
const char *cidr6_str(const struct in6_addr *addr, int plen);

#endif /* BPFNAT_ADDR_H */
