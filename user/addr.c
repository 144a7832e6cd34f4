// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "addr.h"

int parse_ipv4(const char *s, uint32_t *addr)
{
	struct in_addr in;

	if (inet_pton(AF_INET, s, &in) != 1)
		return -EINVAL;
	*addr = in.s_addr;
	return 0;
}

int parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	unsigned long v;
	char *end;

	if (!*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* "ADDR/N" (or "ADDR" alone, @optional, meaning /@max) into @family's
 * address at @addr and *@plen.
 */
static int parse_prefix(const char *s, int family, void *addr, int *plen,
			bool optional)
{
	char buf[INET6_ADDRSTRLEN + 4];
	const char *slash = strchr(s, '/');
	uint32_t max = family == AF_INET6 ? 128 : 32, len = max;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	if (!slash && !optional)
		return -EINVAL;
	if (slash && parse_u32(slash + 1, 0, max, &len))
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%.*s",
		 (int)(slash ? slash - s : (long)strlen(s)), s);
	if (inet_pton(family, buf, addr) != 1)
		return -EINVAL;
	*plen = len;
	return 0;
}

int parse_cidr(const char *s, uint32_t *addr, int *plen, bool plen_optional)
{
	return parse_prefix(s, AF_INET, addr, plen, plen_optional);
}

int parse_cidr6(const char *s, struct in6_addr *addr, int *plen,
		bool plen_optional)
{
	return parse_prefix(s, AF_INET6, addr, plen, plen_optional);
}

int parse_port_range(const char *s, uint16_t *lo, uint16_t *hi)
{
	char buf[16];
	const char *dash = strchr(s, '-');
	uint32_t a, b;

	if (!dash || (size_t)(dash - s) >= sizeof(buf))
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%.*s", (int)(dash - s), s);
	if (parse_u32(buf, 1, 65535, &a) || parse_u32(dash + 1, 1, 65535, &b) ||
	    a > b)
		return -EINVAL;
	*lo = a;
	*hi = b;
	return 0;
}

uint32_t plen_to_mask(int plen)
{
	return plen ? htonl(~0u << (32 - plen)) : 0;
}

int pool_init(struct pool *pool, uint32_t addr, int plen)
{
	/* at least a gateway and one container */
	if (plen < 1 || plen > 30)
		return -EINVAL;
	pool->plen = plen;
	pool->mask = plen_to_mask(plen);
	pool->net = addr & pool->mask;
	pool->gateway = htonl(ntohl(pool->net) + 1);
	pool->broadcast = pool->net | ~pool->mask;
	return 0;
}

bool pool_usable(const struct pool *pool, uint32_t addr)
{
	return (addr & pool->mask) == pool->net && addr != pool->net &&
	       addr != pool->gateway && addr != pool->broadcast;
}

bool in6_in_prefix(const struct in6_addr *a, const struct in6_addr *net,
		   int plen)
{
	int whole = plen / 8, bits = plen % 8;

	if (memcmp(a->s6_addr, net->s6_addr, whole))
		return false;
	return !bits || !((a->s6_addr[whole] ^ net->s6_addr[whole]) &
			  (0xff << (8 - bits)));
}

void in6_mask(struct in6_addr *a, int plen)
{
	for (int i = 0; i < 16; i++, plen -= 8)
		if (plen < 8)
			a->s6_addr[i] &= plen > 0 ? 0xff << (8 - plen) : 0;
}

int pool6_init(struct pool6 *pool, const struct in6_addr *addr, int plen)
{
	if (plen < 1 || plen > 126)
		return -EINVAL;
	memset(pool, 0, sizeof(*pool));
	pool->plen = plen;
	pool->net = *addr;
	in6_mask(&pool->net, plen);
	pool->gateway = pool->net;
	in6_next(&pool->gateway);
	return 0;
}

bool pool6_usable(const struct pool6 *pool, const struct in6_addr *a)
{
	return in6_in_prefix(a, &pool->net, pool->plen) &&
	       in6_cmp(a, &pool->net) && in6_cmp(a, &pool->gateway);
}

void in6_next(struct in6_addr *a)
{
	for (int i = 15; i >= 0 && !++a->s6_addr[i]; i--)
		;
}

int in6_cmp(const struct in6_addr *a, const struct in6_addr *b)
{
	return memcmp(a->s6_addr, b->s6_addr, sizeof(a->s6_addr));
}

const char *ip6_str(const struct in6_addr *addr)
{
	static char buf[4][INET6_ADDRSTRLEN];
	static int next;
	char *out = buf[next++ % 4];

	inet_ntop(AF_INET6, addr, out, INET6_ADDRSTRLEN);
	return out;
}

const char *cidr6_str(const struct in6_addr *addr, int plen)
{
	static char buf[2][INET6_ADDRSTRLEN + 4];
	static int next;
	char *out = buf[next++ % 2];

	snprintf(out, sizeof(buf[0]), "%s/%d", ip6_str(addr), plen);
	return out;
}

const char *ip_str(uint32_t addr)
{
	static char buf[4][INET_ADDRSTRLEN];
	static int next;
	char *out = buf[next++ % 4];

	inet_ntop(AF_INET, &addr, out, INET_ADDRSTRLEN);
	return out;
}

const char *cidr_str(uint32_t addr, int plen)
{
	static char buf[INET_ADDRSTRLEN + 4];

	snprintf(buf, sizeof(buf), "%s/%d", ip_str(addr), plen);
	return buf;
}

const char *mac_str(const uint8_t *m)
{
	static char buf[18];

	snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x", m[0],
		 m[1], m[2], m[3], m[4], m[5]);
	return buf;
}
