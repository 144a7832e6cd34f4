/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * XDP attachment, and the device settings XDP mode needs (see xdp.c).
 */
#ifndef BPFNAT_XDP_H
#define BPFNAT_XDP_H

#include <stdbool.h>
#include <linux/types.h>

/* The id of bpfnat's XDP program on @ifindex, or 0. */
__u32 xdp_ours(int ifindex);
/* Attach @prog_fd in driver mode, replacing only a program of bpfnat's. */
int xdp_attach(int ifindex, const char *ifname, int prog_fd);
/* Take bpfnat's XDP program off @ifindex, if it has one. */
int xdp_detach(int ifindex);
/* TX checksum offload on or off, in the current network namespace. */
int eth_tx_csum(const char *ifname, bool on);

#endif /* BPFNAT_XDP_H */
