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

struct container;

/*
 * One container into XDP mode, receivers first: its eth0 takes redirected
 * frames (@pass_fd) and sends full checksums, the devmap @tx_ports holds
 * its host side, and last its host side runs @prog_fd.
 */
int xdp_container_up(const struct container *c, int pass_fd, int prog_fd,
		     int tx_ports);
/* ... and out of it: bpfnat's XDP programs off its host side and eth0,
 * eth0's checksum offload back.  A container that is gone is no error.
 */
int xdp_container_down(const struct container *c);

#endif /* BPFNAT_XDP_H */
