// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <bpf/bpf.h>

#include "config.h"
#include "log.h"
#include "pins.h"

const struct up_opt_name up_opt_names[UP_OPT_MAX] = {
	[UP_OPT_UPLINK] = { "uplink", "uplink" },
	[UP_OPT_SNAT_IP] = { "snat-ip", "snatIP" },
	[UP_OPT_POOL] = { "pool", "pool" },
	[UP_OPT_PORTS] = { "ports", "ports" },
	[UP_OPT_EXCLUDE] = { "exclude", "exclude" },
	[UP_OPT_MODE] = { "mode", "mode" },
	[UP_OPT_CT_MAX] = { "ct-max", "ctMax" },
	[UP_OPT_XDP_UPLINK] = { "xdp-uplink", "xdpUplink" },
	[UP_OPT_FILTERING] = { "filtering", "filtering" },
	[UP_OPT_CGROUP] = { "cgroup", "cgroup" },
	[UP_OPT_POOL6] = { "pool6", "pool6" },
	[UP_OPT_SNAT_IP6] = { "snat-ip6", "snatIP6" },
	[UP_OPT_TIMEOUT + TMO_TCP_SYN] = { "tcp-timeout-syn", "tcpTimeoutSyn" },
	[UP_OPT_TIMEOUT + TMO_TCP_EST] = { "tcp-timeout-est", "tcpTimeoutEst" },
	[UP_OPT_TIMEOUT + TMO_TCP_FIN] = { "tcp-timeout-fin", "tcpTimeoutFin" },
	[UP_OPT_TIMEOUT + TMO_TCP_CLOSE] = { "tcp-timeout-close",
					     "tcpTimeoutClose" },
	[UP_OPT_TIMEOUT + TMO_UDP_NEW] = { "udp-timeout", "udpTimeout" },
	[UP_OPT_TIMEOUT + TMO_UDP_EST] = { "udp-timeout-stream",
					   "udpTimeoutStream" },
	[UP_OPT_TIMEOUT + TMO_ICMP] = { "icmp-timeout", "icmpTimeout" },
};

const char *up_opt_set(struct up_opts *o, enum up_opt opt, const char *arg)
{
	static char why[64];
	struct in6_addr addr6;
	uint32_t addr;
	int plen;

	switch (opt) {
	case UP_OPT_UPLINK:
		if (!*arg || strlen(arg) >= IF_NAMESIZE)
			return "not an interface name";
		o->uplink = arg;
		o->given |= GIVEN_UPLINK;
		return NULL;
	case UP_OPT_SNAT_IP:
		if (parse_ipv4(arg, &o->snat_addr))
			return "not an IPv4 address";
		o->given |= GIVEN_SNAT;
		return NULL;
	case UP_OPT_POOL:
		if (parse_cidr(arg, &addr, &plen, false) ||
		    pool_init(&o->pool, addr, plen))
			return "expected ADDR/LEN, LEN 1-30";
		o->given |= GIVEN_POOL;
		return NULL;
	case UP_OPT_SNAT_IP6:
		if (parse_cidr6(arg, &addr6, &plen, true) || plen != 128 ||
		    IN6_IS_ADDR_UNSPECIFIED(&addr6) ||
		    IN6_IS_ADDR_MULTICAST(&addr6) ||
		    IN6_IS_ADDR_LINKLOCAL(&addr6) || IN6_IS_ADDR_LOOPBACK(&addr6) ||
		    IN6_IS_ADDR_V4MAPPED(&addr6))
			return "not a global IPv6 address";
		o->snat6 = addr6;
		o->given |= GIVEN_SNAT6;
		return NULL;
	case UP_OPT_POOL6:
		if (parse_cidr6(arg, &addr6, &plen, false) ||
		    pool6_init(&o->pool6, &addr6, plen))
			return "expected ADDR/LEN, LEN 1-126";
		o->given |= GIVEN_POOL6;
		return NULL;
	case UP_OPT_PORTS:
		if (parse_port_range(arg, &o->port_lo, &o->port_hi))
			return "expected LO-HI within 1-65535";
		o->given |= GIVEN_PORTS;
		return NULL;
	case UP_OPT_EXCLUDE:
		if (o->n_exclude + o->n_exclude6 == EXCLUDE_MAX) {
			snprintf(why, sizeof(why), "more than %d exclusions",
				 EXCLUDE_MAX);
			return why;
		}
		if (strchr(arg, ':')) {
			if (parse_cidr6(arg, &addr6, &plen, true))
				return "expected ADDR[/LEN], IPv4 or IPv6";
			in6_mask(&addr6, plen);
			o->exclude6[o->n_exclude6].prefixlen = plen;
			memcpy(o->exclude6[o->n_exclude6].addr, &addr6,
			       sizeof(addr6));
			o->n_exclude6++;
		} else {
			if (parse_cidr(arg, &addr, &plen, true))
				return "expected ADDR[/LEN], IPv4 or IPv6";
			o->exclude[o->n_exclude].prefixlen = plen;
			o->exclude[o->n_exclude].addr = addr &
							plen_to_mask(plen);
			o->n_exclude++;
		}
		o->given |= GIVEN_EXCLUDE;
		return NULL;
	case UP_OPT_MODE:
		if (!strcmp(arg, "tc"))
			o->mode = MODE_TC;
		else if (!strcmp(arg, "xdp"))
			o->mode = MODE_XDP;
		else
			return "expected tc or xdp";
		o->given |= GIVEN_MODE;
		return NULL;
	case UP_OPT_XDP_UPLINK:
		if (!strcmp(arg, "auto"))
			o->xdp_uplink = XDP_UPLINK_AUTO;
		else if (!strcmp(arg, "on"))
			o->xdp_uplink = XDP_UPLINK_ON;
		else if (!strcmp(arg, "off"))
			o->xdp_uplink = XDP_UPLINK_OFF;
		else
			return "expected auto, on or off";
		o->given |= GIVEN_XDP_UPLINK;
		return NULL;
	case UP_OPT_FILTERING:
		/* RFC 4787's names; bpfnat's address-dependent filtering
		 * is the stricter address-and-port one
		 */
		if (!strcmp(arg, "endpoint-independent"))
			o->filter_eif = true;
		else if (!strcmp(arg, "address-dependent") ||
			 !strcmp(arg, "address-and-port-dependent"))
			o->filter_eif = false;
		else
			return "expected address-dependent or "
			       "endpoint-independent";
		o->given |= GIVEN_FILTERING;
		return NULL;
	case UP_OPT_CGROUP:
		/* absolute, so that "none" can only mean none */
		if (strcmp(arg, "none") && arg[0] != '/')
			return "expected an absolute path or none";
		o->cgroup = strcmp(arg, "none") ? arg : NULL;
		o->given |= GIVEN_CGROUP;
		return NULL;
	case UP_OPT_CT_MAX:
		if (parse_u32(arg, 64, 1 << 23, &o->ct_max)) {
			snprintf(why, sizeof(why), "expected 64 to %u",
				 1 << 23);
			return why;
		}
		return NULL;
	default:
		if (opt >= UP_OPT_TIMEOUT && opt < UP_OPT_MAX) {
			if (parse_u32(arg, 1, 7 * 24 * 3600,
				      &o->timeout[opt - UP_OPT_TIMEOUT]))
				return "expected seconds, 1 to 604800";
			o->given |= GIVEN_TIMEOUT << (opt - UP_OPT_TIMEOUT);
			return NULL;
		}
		return "not an option of up";
	}
}

void up_opts_default(struct up_opts *o)
{
	struct in6_addr addr6;
	uint32_t addr;
	int plen;

	memset(o, 0, sizeof(*o));
	parse_cidr(POOL_DEFAULT, &addr, &plen, false);
	pool_init(&o->pool, addr, plen);
	parse_cidr6(POOL6_DEFAULT, &addr6, &plen, false);
	pool6_init(&o->pool6, &addr6, plen);
	o->port_lo = PORTS_DEFAULT_LO;
	o->port_hi = PORTS_DEFAULT_HI;
	o->mode = MODE_TC;
	/* RFC 5382 REQ-5, RFC 4787 REQ-5, RFC 5508 REQ-1 minimums, and
	 * nf_conntrack's 10 s after a reset.
	 */
	o->timeout[TMO_TCP_SYN] = 240;
	o->timeout[TMO_TCP_EST] = 7440;
	o->timeout[TMO_TCP_FIN] = 240;
	o->timeout[TMO_TCP_CLOSE] = 10;
	o->timeout[TMO_UDP_NEW] = 120;
	o->timeout[TMO_UDP_EST] = 300;
	o->timeout[TMO_ICMP] = 60;
}

/* The ports the host's own sockets take (net.ipv4.ip_local_port_range). */
static void host_ephemeral(unsigned int *lo, unsigned int *hi)
{
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");

	*lo = 32768;
	*hi = 60999;
	if (f) {
		if (fscanf(f, "%u %u", lo, hi) != 2) {
			*lo = 32768;
			*hi = 60999;
		}
		fclose(f);
	}
}

void up_opts_ports_default(struct up_opts *o)
{
	unsigned int lo, hi;

	host_ephemeral(&lo, &hi);
	if (lo >= PORTS_DEFAULT_LO + 1024) {
		o->port_lo = PORTS_DEFAULT_LO;
		o->port_hi = lo - 1;
	} else if (hi + 1024 <= 65535) {
		o->port_lo = hi + 1;
		o->port_hi = 65535;
	}
}

void up_opts_inherit(struct up_opts *o, const struct bpfnat_config *r)
{
	static char uplink[IF_NAMESIZE];
	int fd, fd6;

	if (!(o->given & GIVEN_MODE))
		o->mode = r->mode;
	if (!(o->given & GIVEN_XDP_UPLINK))
		o->xdp_uplink = r->flags & CFG_F_XDP_UPLINK_ON ? XDP_UPLINK_ON :
				r->flags & CFG_F_XDP_UPLINK_OFF ? XDP_UPLINK_OFF :
								  XDP_UPLINK_AUTO;
	if (!(o->given & GIVEN_FILTERING))
		o->filter_eif = r->flags & CFG_F_FILTER_EIF;
	if (!(o->given & GIVEN_PORTS)) {
		o->port_lo = r->port_lo;
		o->port_hi = r->port_hi;
	}
	if (!(o->given & GIVEN_POOL))
		pool_init(&o->pool, r->pool_addr,
			  __builtin_popcount(r->pool_mask));
	if (!(o->given & GIVEN_POOL6))
		config_pool6(r, &o->pool6);
	for (int t = 0; t < TMO_MAX; t++)
		if (!(o->given & (GIVEN_TIMEOUT << t)))
			o->timeout[t] = r->timeout[t];
	if (!(o->given & GIVEN_EXCLUDE)) {
		fd = dp_pin_open(PIN_EXCLUDE);
		fd6 = dp_pin_open(PIN_EXCLUDE6);
		exclude_read(fd, fd6, o);
		if (fd >= 0)
			close(fd);
		if (fd6 >= 0)
			close(fd6);
	}
	if (!(o->given & GIVEN_UPLINK) &&
	    if_indextoname(r->uplink_ifindex, uplink)) {
		o->uplink = uplink;
		if (!(o->given & GIVEN_SNAT))
			o->snat_addr = r->snat_addr;
		if (!(o->given & GIVEN_SNAT6))
			memcpy(&o->snat6, r->snat6.addr, sizeof(o->snat6));
	}
}

bool xdp_uplink_wanted(enum xdp_uplink policy, const struct nl_link *uplink,
		       const char **why)
{
	*why = NULL;
	switch (policy) {
	case XDP_UPLINK_ON:
		return true;
	case XDP_UPLINK_OFF:
		*why = "--xdp-uplink off";
		return false;
	default:
		/* a NIC has no link kind; every virtual device has one */
		if (!uplink->kind[0])
			return true;
		*why = !strcmp(uplink->kind, "veth") ?
			"a veth: its frames may carry partial checksums, and "
			"its far end may refuse XDP frames" :
			"a virtual device: its frames may carry partial "
			"checksums";
		return false;
	}
}

void config_make(const struct up_opts *o, const struct nl_link *uplink,
		 int uplink_plen, struct bpfnat_config *cfg)
{
	const char *why;

	memset(cfg, 0, sizeof(*cfg));
	cfg->version = BPFNAT_LAYOUT_VERSION;
	cfg->mode = o->mode;
	cfg->uplink_ifindex = uplink->ifindex;
	cfg->uplink_mtu = uplink->mtu;
	cfg->snat_addr = o->snat_addr;
	cfg->pool_addr = o->pool.net;
	cfg->pool_mask = o->pool.mask;
	cfg->gateway = o->pool.gateway;
	cfg->pool6_plen = o->pool6.plen;
	memcpy(cfg->pool6.addr, &o->pool6.net, sizeof(cfg->pool6.addr));
	memcpy(cfg->gateway6.addr, &o->pool6.gateway,
	       sizeof(cfg->gateway6.addr));
	memcpy(cfg->snat6.addr, &o->snat6, sizeof(cfg->snat6.addr));
	cfg->port_lo = o->port_lo;
	cfg->port_hi = o->port_hi;
	cfg->ct_max = o->ct_max;
	memcpy(cfg->timeout, o->timeout, sizeof(cfg->timeout));
	/* a /31 or /32 has no broadcast address */
	if (uplink_plen >= 0 && uplink_plen <= 30)
		cfg->uplink_bcast = o->snat_addr | ~plen_to_mask(uplink_plen);
	if (o->filter_eif)
		cfg->flags |= CFG_F_FILTER_EIF;
	if (o->xdp_uplink == XDP_UPLINK_ON)
		cfg->flags |= CFG_F_XDP_UPLINK_ON;
	else if (o->xdp_uplink == XDP_UPLINK_OFF)
		cfg->flags |= CFG_F_XDP_UPLINK_OFF;
	if (o->mode == MODE_XDP && xdp_uplink_wanted(o->xdp_uplink, uplink,
						     &why))
		cfg->flags |= CFG_F_XDP_UPLINK;
}

/* Is @key (of @size bytes) one of the @n keys at @want? */
static bool key_wanted(const void *want, unsigned int n, size_t size,
		       const void *key)
{
	for (unsigned int i = 0; i < n; i++)
		if (!memcmp((const char *)want + i * size, key, size))
			return true;
	return false;
}

/* LPM trie @fd holds exactly the @n keys of @size bytes at @want, wanted
 * ones first, then the stale ones out: at no moment is a destination
 * that stays excluded NATed.
 */
static int trie_sync(int fd, const void *want, unsigned int n, size_t size)
{
	char key[sizeof(struct exclude6_key)], *prev = NULL;
	__u8 one = 1;

	for (unsigned int i = 0; i < n; i++)
		if (bpf_map_update_elem(fd, (const char *)want + i * size,
					&one, 0))
			return -errno;
	while (bpf_map_get_next_key(fd, prev, key) == 0) {
		if (!key_wanted(want, n, size, key) &&
		    !bpf_map_delete_elem(fd, key)) {
			prev = NULL;	/* LPM tries: restart after a delete */
			continue;
		}
		prev = key;
	}
	return 0;
}

int exclude_sync(int fd, int fd6, const struct up_opts *o)
{
	return trie_sync(fd, o->exclude, o->n_exclude,
			 sizeof(o->exclude[0])) ?:
	       trie_sync(fd6, o->exclude6, o->n_exclude6,
			 sizeof(o->exclude6[0]));
}

/* Up to @max keys of @size bytes of LPM trie @fd (-1: none) into @keys:
 * how many.
 */
static unsigned int trie_read(int fd, void *keys, unsigned int max,
			      size_t size)
{
	char *prev = NULL, *at = keys;
	unsigned int n = 0;

	while (fd >= 0 && n < max && !bpf_map_get_next_key(fd, prev, at)) {
		prev = at;
		at += size;
		n++;
	}
	return n;
}

void exclude_read(int fd, int fd6, struct up_opts *o)
{
	o->n_exclude = trie_read(fd, o->exclude, EXCLUDE_MAX,
				 sizeof(o->exclude[0]));
	o->n_exclude6 = trie_read(fd6, o->exclude6,
				  EXCLUDE_MAX - o->n_exclude,
				  sizeof(o->exclude6[0]));
}

void config_pool6(const struct bpfnat_config *cfg, struct pool6 *pool6)
{
	struct in6_addr net;

	memcpy(&net, cfg->pool6.addr, sizeof(net));
	pool6_init(pool6, &net, cfg->pool6_plen);
}

/* The containers of @v with an address in @pool6 are in endpoints6 @fd,
 * and no other address.
 */
static int endpoints6_sync(int fd, const struct pool6 *pool6,
			   const struct container *v, const struct endpoint *ep,
			   size_t n)
{
	struct in6_key key, next, *pkey = NULL;
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i].plen6 && in6_in_prefix(&v[i].addr6, &pool6->net,
						pool6->plen) &&
		    bpf_map_update_elem(fd, &v[i].addr6, &ep[i], 0))
			return -errno;
	while (bpf_map_get_next_key(fd, pkey, &next) == 0) {
		key = next;
		pkey = &key;
		for (i = 0; i < n; i++)
			if (v[i].plen6 && !memcmp(&v[i].addr6, key.addr,
						  sizeof(key.addr)) &&
			    in6_in_prefix(&v[i].addr6, &pool6->net,
					  pool6->plen))
				break;
		if (i == n) {
			bpf_map_delete_elem(fd, &key);
			pkey = NULL;
		}
	}
	return 0;
}

int endpoints_sync(int fd, int fd6, const struct pool6 *pool6,
		   const struct container *v, size_t n)
{
	__be32 key, next, *pkey = NULL;
	struct endpoint *ep;
	size_t i;
	int err;

	ep = calloc(n + 1, sizeof(*ep));
	if (!ep)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		err = container_endpoint(&v[i], &ep[i]);
		if (err) {
			pr_warn("up: container %s: read eth0: %s", v[i].name,
				strerror(-err));
			free(ep);
			return err;
		}
		if (bpf_map_update_elem(fd, &v[i].addr, &ep[i], 0)) {
			free(ep);
			return -errno;
		}
	}
	err = endpoints6_sync(fd6, pool6, v, ep, n);
	free(ep);
	if (err)
		return err;
	/* forget containers that are gone */
	while (bpf_map_get_next_key(fd, pkey, &next) == 0) {
		key = next;
		pkey = &key;
		for (i = 0; i < n && v[i].addr != key; i++)
			;
		if (i == n) {
			bpf_map_delete_elem(fd, &key);
			pkey = NULL;
		}
	}
	return 0;
}

int ct_free_fill(int fd, uint32_t ct_max)
{
	for (uint32_t slot = 0; slot < ct_max; slot++)
		if (bpf_map_update_elem(fd, NULL, &slot, 0))
			return -errno;
	return 0;
}
