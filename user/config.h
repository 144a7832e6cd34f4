/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What `up` is told, and what it writes into the data path's maps before
 * any program runs: the configuration, the exclusions, the containers'
 * endpoints and the free conntrack slots.
 */
#ifndef BPFNAT_CONFIG_H
#define BPFNAT_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "bpfnat.h"
#include "container.h"
#include "nl.h"

/* up_opts.given: what the command line set.  On a running data path
 * everything else is kept as it runs, so `up` again changes nothing.
 */
enum {
	GIVEN_UPLINK = 1 << 0,
	GIVEN_SNAT = 1 << 1,
	GIVEN_POOL = 1 << 2,
	GIVEN_PORTS = 1 << 3,
	GIVEN_EXCLUDE = 1 << 4,
	GIVEN_MODE = 1 << 5,
	GIVEN_XDP_UPLINK = 1 << 6,
	GIVEN_TIMEOUT = 1 << 7,		/* << enum ct_timeout_id */
	GIVEN_FILTERING = 1 << 16,
	GIVEN_CGROUP = 1 << 17,
	GIVEN_POOL6 = 1 << 18,
	GIVEN_SNAT6 = 1 << 19,
};
_Static_assert(TMO_MAX <= 8, "the timeouts' GIVEN_ bits end before 16");

/*
 * XDP mode on the uplink.  A virtual device (a veth above all) may hand
 * XDP frames whose checksums are partial, and its far end may refuse the
 * frames XDP sends it, both without a trace bpfnat could count; so by
 * default XDP takes only a NIC's traffic and leaves a virtual uplink's to
 * tc.
 */
enum xdp_uplink {
	XDP_UPLINK_AUTO = 0,	/* a NIC: XDP; a virtual device: tc */
	XDP_UPLINK_ON,		/* XDP, whatever the device */
	XDP_UPLINK_OFF,		/* tc, whatever the device */
};

/* Does XDP take @uplink's traffic under @policy?  If not, *@why says why. */
bool xdp_uplink_wanted(enum xdp_uplink policy, const struct nl_link *uplink,
		       const char **why);

struct up_opts {
	unsigned int given;		/* GIVEN_* */
	const char *uplink;		/* NULL: the default route's device */
	uint32_t snat_addr;		/* 0: the uplink's first address */
	struct in6_addr snat6;		/* ::: the uplink's first global
					 * IPv6 address, if it has one
					 */
	struct pool pool;
	struct pool6 pool6;
	uint16_t port_lo, port_hi;
	uint32_t ct_max;		/* 0: the running value, or default */
	enum bpfnat_mode mode;
	enum xdp_uplink xdp_uplink;	/* where XDP mode takes the uplink */
	bool filter_eif;		/* --filtering endpoint-independent */
	struct exclude_key exclude[EXCLUDE_MAX];
	unsigned int n_exclude;
	struct exclude6_key exclude6[EXCLUDE_MAX];
	unsigned int n_exclude6;	/* with n_exclude, EXCLUDE_MAX at most */
	uint32_t timeout[TMO_MAX];	/* seconds */
	const char *cgroup;		/* the socket hooks' cgroup; NULL:
					 * none (given) or as it runs
					 */
};

/*
 * The options of `up`, one function for every front end: the CLI's
 * --NAME and a CNI network configuration's key set them alike.
 */
enum up_opt {
	UP_OPT_UPLINK,
	UP_OPT_SNAT_IP,
	UP_OPT_POOL,
	UP_OPT_PORTS,
	UP_OPT_EXCLUDE,
	UP_OPT_MODE,
	UP_OPT_CT_MAX,
	UP_OPT_XDP_UPLINK,
	UP_OPT_FILTERING,
	UP_OPT_CGROUP,
	UP_OPT_POOL6,
	UP_OPT_SNAT_IP6,
	UP_OPT_TIMEOUT,			/* + enum ct_timeout_id */
	UP_OPT_MAX = UP_OPT_TIMEOUT + TMO_MAX,
};

struct up_opt_name {
	const char *cli;		/* "snat-ip": --snat-ip */
	const char *key;		/* "snatIP": a CNI configuration's */
};
extern const struct up_opt_name up_opt_names[UP_OPT_MAX];

/*
 * Option @opt set from @arg (kept, not copied): NULL, or what is wrong
 * with @arg ("not an IPv4 address"), for a usage error.
 */
const char *up_opt_set(struct up_opts *o, enum up_opt opt, const char *arg);

/* Defaults of DESIGN.md and of the NAT RFCs' minimum timeouts. */
void up_opts_default(struct up_opts *o);

/*
 * A first `up`: the SNAT ports are those below the host's ephemeral range
 * (or else above it), so that a NATed flow and one of the host's own
 * connections do not pick the same port.
 */
void up_opts_ports_default(struct up_opts *o);

/* `up` on a running data path: what was not given stays as it runs. */
void up_opts_inherit(struct up_opts *o, const struct bpfnat_config *r);

/* The configuration @o says, for @uplink (ifindex, MTU) whose subnet
 * holding the SNAT address has prefix length @uplink_plen (-1: none).
 */
void config_make(const struct up_opts *o, const struct nl_link *uplink,
		 int uplink_plen, struct bpfnat_config *cfg);

/* The exclusions in maps @fd (IPv4) and @fd6 (IPv6) become exactly @o's;
 * exclude_read() is the other way round.
 */
int exclude_sync(int fd, int fd6, const struct up_opts *o);
void exclude_read(int fd, int fd6, struct up_opts *o);

/* The endpoints map @fd holds exactly containers @v; endpoints6 @fd6
 * those of them that have an address in @pool6.
 */
int endpoints_sync(int fd, int fd6, const struct pool6 *pool6,
		   const struct container *v, size_t n);

/* The IPv6 pool of @cfg. */
void config_pool6(const struct bpfnat_config *cfg, struct pool6 *pool6);

/* Every conntrack slot, 0 to @ct_max - 1, free in queue @fd. */
int ct_free_fill(int fd, uint32_t ct_max);

#endif /* BPFNAT_CONFIG_H */
