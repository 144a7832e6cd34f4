/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Reading and changing the state of a running data path through its pins:
 * the conntrack table, the counters.
 */
#ifndef BPFNAT_MAPS_H
#define BPFNAT_MAPS_H

#include <stddef.h>
#include <stdint.h>

#include "bpfnat.h"

/* Remove flows, all or those of container @addr (and @addr6, if not
 * NULL); returns how many.
 */
struct in6_addr;
int ct_flush(uint32_t addr, const struct in6_addr *addr6);

/* Remove flow @f, read from @slot, if it is still there: 1 if it was. */
int ct_delete_flow(uint32_t slot, const struct ct_flow *f);

/* Walk the live flows.  @cb returning non-zero stops the walk. */
typedef int (*ct_flow_cb)(uint32_t slot, const struct ct_flow *f, void *data);
int ct_each(ct_flow_cb cb, void *data);

/* Live flows, or -errno. */
long ct_count(void);

/* Seconds until @f expires under @cfg's timeouts. */
uint64_t ct_seconds_left(const struct ct_flow *f,
			 const struct bpfnat_config *cfg);

/* The expiry timer's counts (zeros if they cannot be read). */
void ct_sweep_read(struct ct_sweep *sweep);

/* Per-CPU counters summed: @total[STAT_MAX] both hooks and families,
 * @xdp[STAT_MAX] the XDP programs' share, @ipv6[STAT_MAX] IPv6's share
 * (either NULL if not wanted).
 */
int stats_read(struct stat_val *total, struct stat_val *xdp,
	       struct stat_val *ipv6);

/* Counter names, indexed by enum stat_id. */
extern const char *const stat_names[STAT_MAX];

/* The socket hooks' counters summed over CPUs, @count[SOCK_STAT_MAX]
 * (zeros, and -ENOENT, from a data path without them); their names.
 */
int sock_stats_read(uint64_t *count);
extern const char *const sock_stat_names[SOCK_STAT_MAX];

#endif /* BPFNAT_MAPS_H */
