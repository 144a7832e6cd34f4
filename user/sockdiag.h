/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The host's own sockets, as the kernel reports them over NETLINK_SOCK_DIAG
 * (inet_diag, what ss(8) reads): which IPv4 ports of this network
 * namespace a socket already holds, so that a published port does not
 * take a server's packets from under it.
 */
#ifndef BPFNAT_SOCKDIAG_H
#define BPFNAT_SOCKDIAG_H

#include <stddef.h>
#include <stdint.h>

/* A port held, both fields in network byte order; addr 0: on every
 * address.
 */
struct host_sock {
	uint32_t addr;
	uint16_t port;
};

/*
 * The ports of protocol @proto that sockets of this namespace hold: TCP's
 * listening sockets, every UDP socket bound to a port.  An IPv6 socket
 * counts when it takes IPv4 too: bound to :: without IPV6_V6ONLY (as 0),
 * or to an IPv4-mapped address (as that address).  0 and a malloc'd
 * array, or -errno.
 */
int host_socks(uint8_t proto, struct host_sock **out, size_t *count);

#endif /* BPFNAT_SOCKDIAG_H */
