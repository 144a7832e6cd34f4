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
 * tcp by default, ranges of equal length, one entry per port and family.
 * As Docker's, no HOSTIP is every address of the host, over IPv4 and
 * (for a container with an IPv6 address) IPv6: two entries a port;
 * 0.0.0.0 is every IPv4 address, [::] every IPv6 one, and an address in
 * brackets one IPv6 address.  A host port is taken when another entry
 * of that family, protocol and port has the same host address or when
 * either is every address, and when a socket of the host holds it
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
#include "container.h"
#include "lock.h"

#define PORTS_INTENT BPFNAT_RUN_DIR "/ports_intent"

struct port_spec {
	uint8_t host_family;		/* 0: no HOSTIP, both families;
					 * AF_INET or AF_INET6: HOSTIP's
					 */
	uint32_t host_addr;		/* AF_INET's, network byte order;
					 * 0: every one
					 */
	struct in6_addr host_addr6;	/* AF_INET6's; ::, every one */
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

/* Entry @e's container address, and @key's host address (0.0.0.0 or ::
 * for every one): static buffers, as ip_str()'s.
 */
const char *port_target_str(const struct port_entry *e);
const char *port_host_ip_str(const struct port_key *key);

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
 * Publish @spec to container @c: every port of it or none, over each
 * family @spec names that @c has an address of (-EINVAL after saying so
 * when it names IPv6 alone and @c has none).  An entry that exists just
 * as asked is left as it is (so a repeated add changes nothing); what is
 * written is appended to @log.  0, or -errno after a line "WHAT: why":
 * -EADDRINUSE for a host port taken.
 */
int ports_publish(int fd, const char *what, const struct port_spec *spec,
		  const struct container *c, struct port_log *log);

/*
 * Publish every one of @specs (@n) to container @c, or none: what
 * ports_publish() says, @what(i) naming the i-th in messages.
 */
int ports_publish_all(int fd, const struct port_spec *specs, size_t n,
		      const struct container *c,
		      const char *(*what)(size_t i, void *arg), void *arg);

/*
 * Take back the host ports of @spec published to container @c, all or
 * none: of each family @spec names (with no HOSTIP, those of both that
 * lead to @c).  0, or -errno after a line "WHAT: why": -ENOENT when a
 * port is not published, or published to another container.
 */
int ports_unpublish(int fd, const char *what, const struct port_spec *spec,
		    const struct container *c);

/* Finish what a killed command left in PORTS_INTENT: 0, or -errno after
 * a line "WHAT: why".
 */
int ports_recover(int fd, const char *what);

/* Remove every entry that leads to container @c (one that goes): how
 * many, 0 when bpfnat is down, or -errno.
 */
int ports_forget(const struct container *c);

/*
 * The rows `port list` shows of entries @v (@n, as ports_read() sorts
 * them): each IPv4 entry on every address takes along its IPv6 twin
 * (the same port on every IPv6 address, to the same container and port,
 * which one add with no HOSTIP made), in *@twin (NULL when it has
 * none).  Returns whether @v[@i] is a row of its own (false for a twin).
 */
bool port_row(const struct port_entry *v, size_t n, size_t i,
	      const struct container *cs, size_t n_cs,
	      const struct port_entry **twin);

/* The container at @e's target address among @cs (@n), or NULL. */
const struct container *port_container(const struct port_entry *e,
				       const struct container *cs, size_t n);

#endif /* BPFNAT_PORTS_H */
