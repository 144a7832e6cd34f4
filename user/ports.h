/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Published ports: the `ports` map of a running data path (struct
 * port_key, struct port_val in bpfnat.h), one entry per host port, each
 * sending that port of the host to one port of one container.  The
 * container is known by its address alone; its name is found again from
 * the containers there are (container_list()).
 *
 * What an operator types is Docker's -p:
 *
 *   add  [HOSTIP:]HOSTPORT[-END]:PORT[-END][/tcp|/udp]
 *   del  [HOSTIP:]HOSTPORT[-END][/tcp|/udp]
 *
 * tcp by default, HOSTIP 0.0.0.0 (every address of the host) by default,
 * ranges of equal length, one entry per port.  A host port is taken when
 * another entry of that protocol and port has the same host address or
 * when either is 0.0.0.0, and when a socket of the host holds it
 * (sockdiag.h): the data path would take its packets from under it.
 *
 * Every function that changes the map expects the caller to hold the
 * lock (lock.h), so what it checks still holds when it writes.  Since
 * the lock holds every other signal back, only SIGKILL stops a command
 * between two entries: before it changes any, a command lists them all
 * in PORTS_INTENT, and removes the list once done.  The next command to
 * change ports finds a list left and removes those of its entries that
 * are there just as listed (ports_recover()): a killed add is taken back,
 * a killed del finished.
 */
#ifndef BPFNAT_PORTS_H
#define BPFNAT_PORTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpfnat.h"
#include "lock.h"

#define PORTS_INTENT BPFNAT_RUN_DIR "/ports_intent"

struct port_spec {
	uint32_t host_addr;		/* network byte order; 0: every one */
	uint16_t host_lo, host_hi;	/* host byte order, as the ports */
	uint16_t port_lo;		/* the container's first; 0 in a del */
	uint8_t proto;			/* IPPROTO_TCP or IPPROTO_UDP */
};

/* How many entries @spec stands for. */
static inline unsigned int port_spec_count(const struct port_spec *spec)
{
	return spec->host_hi - spec->host_lo + 1u;
}

/* One entry of the map. */
struct port_entry {
	struct port_key key;
	struct port_val val;
};

/*
 * Parse @s, add's form when @container_side, else del's.  0, or -EINVAL
 * with @why saying what is wrong, for a usage error.
 */
int port_spec_parse(const char *s, bool container_side,
		    struct port_spec *spec, const char **why);

/* "tcp", "udp" */
const char *port_proto_str(uint8_t proto);

/* "10.0.0.1:8080/tcp", "8080/udp": a host side, for messages (a static
 * buffer, as ip_str()).
 */
const char *port_key_str(const struct port_key *key);

/* The running data path's map: an fd, or -errno after saying why,
 * "WHAT: bpfnat is down" when it is.
 */
int ports_open(const char *what);

/* Every entry, in a malloc'd array sorted by protocol, host port and
 * host address; or -errno.
 */
int ports_read(int fd, struct port_entry **out, size_t *count);

/* What publishing wrote, so that a failure after it can take it back. */
struct port_log {
	struct port_key *keys;
	size_t n, cap;
};

void port_log_undo(int fd, struct port_log *log);
void port_log_free(struct port_log *log);

/*
 * Publish @spec to the container at @addr: every port of it or none.  An
 * entry that exists just as asked is left as it is (so a repeated add
 * changes nothing); what is written is appended to @log.  0, or -errno
 * after a line "WHAT: why": -EADDRINUSE for a host port taken.
 */
int ports_publish(int fd, const char *what, const struct port_spec *spec,
		  uint32_t addr, struct port_log *log);

/*
 * Publish every one of @specs (@n) to the container at @addr, or none:
 * what ports_publish() says, @what(i) naming the i-th in messages.
 */
int ports_publish_all(int fd, const struct port_spec *specs, size_t n,
		      uint32_t addr, const char *(*what)(size_t i, void *arg),
		      void *arg);

/*
 * Take back the host ports of @spec, every one published to @addr, all or
 * none.  0, or -errno after a line "WHAT: why": -ENOENT when a port is not
 * published, or published to another container.
 */
int ports_unpublish(int fd, const char *what, const struct port_spec *spec,
		    uint32_t addr);

/* Finish what a killed command left in PORTS_INTENT: 0, or -errno after
 * a line "WHAT: why".
 */
int ports_recover(int fd, const char *what);

/* Remove every entry that leads to @addr (a container that goes): how
 * many, 0 when bpfnat is down, or -errno.
 */
int ports_forget(uint32_t addr);

#endif /* BPFNAT_PORTS_H */
