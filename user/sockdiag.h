/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The host's own sockets, as the kernel reports them over NETLINK_SOCK_DIAG
 * (inet_diag, what ss(8) reads): which ports of this network namespace a
 * socket already holds, of each family, so that a published port does not
 * take a server's packets from under it.
 */
#ifndef BPFNAT_SOCKDIAG_H
#define BPFNAT_SOCKDIAG_H

#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

/* A port held, for packets of @family, the addresses and the port in
 * network byte order; addr (or addr6) 0: on every address.
 */
struct host_sock {
	uint8_t family;		/* AF_INET or AF_INET6 */
	uint32_t addr;		/* AF_INET's */
	struct in6_addr addr6;	/* AF_INET6's */
	uint16_t port;
};

/*
 * The ports of protocol @proto that sockets of this namespace hold: TCP's
 * listening sockets, every UDP socket bound to a port.  An IPv6 socket
 * holds its IPv6 port, and the IPv4 one too when it takes IPv4: bound to
 * :: without IPV6_V6ONLY (as 0), or to an IPv4-mapped address (as that
 * address, and then no IPv6 one).  0 and a malloc'd array, or -errno.
 */
int host_socks(uint8_t proto, struct host_sock **out, size_t *count);

#endif /* BPFNAT_SOCKDIAG_H */
