/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * bpfnat's tc filters.  A filter is bpfnat's when it sits at
 * (BPFNAT_TC_PRIO, BPFNAT_TC_HANDLE) on a clsact hook and runs one of
 * bpfnat's programs (dp_prog_is_ours()); nothing else is ever replaced or
 * removed.  The programs hang at ingress of the uplink and of every
 * container's host side, and the guard at egress of the uplink.
 *
 * A clsact qdisc is bpfnat's to remove, once no filter at all is left on
 * it, when bpfnat made the device (a container's host side) or made the
 * qdisc: before it makes one on another device, it writes the device to
 * QDISCS_FILE, so that one made by a command that was killed is known too.
 */
#ifndef BPFNAT_TC_H
#define BPFNAT_TC_H

#include <stdbool.h>
#include <linux/types.h>
#include <bpf/libbpf.h>

#include "lock.h"
#include "nl.h"

#define QDISCS_FILE	BPFNAT_RUN_DIR "/qdiscs"

/* The id of bpfnat's program at @point of @ifindex, or 0. */
__u32 tc_ours(int ifindex, enum bpf_tc_attach_point point);

/*
 * Attach @prog_fd at @point of @link, replacing bpfnat's filter there,
 * never another's; @device_ours: bpfnat made @link (its qdisc needs no
 * record).
 */
int tc_attach(struct nl *nl, const struct nl_link *link,
	      enum bpf_tc_attach_point point, int prog_fd, bool device_ours);

/*
 * Take bpfnat's filters off @link, at ingress and egress, and its clsact
 * qdisc too if it is bpfnat's and bare, so that the device looks as it
 * did before `up`.
 */
int tc_detach(struct nl *nl, const struct nl_link *link, bool device_ours);

/* Take bpfnat's filter off @point of @link alone. */
int tc_detach_point(const struct nl_link *link,
		    enum bpf_tc_attach_point point);

#endif /* BPFNAT_TC_H */
