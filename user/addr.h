/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Parsing and printing of the things operators type: IPv4 addresses and
 * prefixes, port ranges, counts.  Addresses are kept in network byte
 * order, as the kernel and the BPF maps keep them.
 */
#ifndef BPFNAT_ADDR_H
#define BPFNAT_ADDR_H

#include <stdbool.h>
#include <stdint.h>

/* A container pool: a prefix whose first host address is the gateway. */
struct pool {
	uint32_t net;
	uint32_t mask;
	uint32_t gateway;
	uint32_t broadcast;
	int plen;
};

int parse_ipv4(const char *s, uint32_t *addr);
/* "A.B.C.D/N"; with @plen_optional, "A.B.C.D" alone means /32. */
int parse_cidr(const char *s, uint32_t *addr, int *plen, bool plen_optional);
int parse_port_range(const char *s, uint16_t *lo, uint16_t *hi);
int parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out);

uint32_t plen_to_mask(int plen);
int pool_init(struct pool *pool, uint32_t addr, int plen);
/* An address a container may have: inside, not network/gateway/broadcast. */
bool pool_usable(const struct pool *pool, uint32_t addr);

/* Static buffers, fine for printing one or two values per call. */
const char *ip_str(uint32_t addr);
const char *cidr_str(uint32_t addr, int plen);
const char *mac_str(const uint8_t *mac);

#endif /* BPFNAT_ADDR_H */
