/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * bpfnat's tc filters.  A filter is bpfnat's when it sits at
 * (BPFNAT_TC_PRIO, BPFNAT_TC_HANDLE) on a clsact hook and runs one of
 * bpfnat's programs (dp_prog_is_ours()); nothing else is ever replaced or
 * removed.  The programs hang at ingress of the uplink and of every
 * container's host side, and the guard at egress of the uplink.
 */
#ifndef BPFNAT_TC_H
#define BPFNAT_TC_H

#include <stdbool.h>
#include <linux/types.h>
#include <bpf/libbpf.h>

#include "nl.h"

/* The id of bpfnat's program at @point of @ifindex, or 0. */
__u32 tc_ours(int ifindex, enum bpf_tc_attach_point point);

/*
 * Attach @prog_fd at @point of @ifindex (named @ifname in messages),
 * replacing bpfnat's filter there, never another's.  *@created (if not
 * NULL) tells whether the clsact qdisc is new.
 */
int tc_attach(int ifindex, const char *ifname, enum bpf_tc_attach_point point,
	      int prog_fd, bool *created);

/*
 * Take bpfnat's filter off @point of @ifindex; with @may_destroy (bpfnat
 * made the qdisc, or the device), drop the clsact qdisc too when no filter
 * at all is left on it, so the device looks as it did before `up`.
 */
int tc_detach(struct nl *nl, int ifindex, enum bpf_tc_attach_point point,
	      bool may_destroy);

#endif /* BPFNAT_TC_H */
