/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The world a unit test runs packets in: the test build of the programs,
 * loaded (not attached), its maps filled as `bpfnat up` would, and real
 * devices in the test's namespace so that ifindexes, MACs and the FIB
 * lookups are real:
 *
 *   ha = ca    container a, 172.18.0.2: host side ha, container side ca
 *   hb = cb    container b, 172.18.0.3
 *   up0 = up0p the uplink, 198.51.100.1/24; next hop 198.51.100.2 with a
 *              permanent neighbour entry (GW_MAC)
 *
 * and over IPv6: a fd00:18::2, b fd00:18::3, the gateway fd00:18::1 on
 * both host sides, the uplink 2001:db8:1::1/64 with its default route via
 * 2001:db8:1::2 (permanent, GW_MAC).
 */
#ifndef BPFNAT_UNIT_ENV_H
#define BPFNAT_UNIT_ENV_H

#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>

#include "bpfnat.h"
#include "bpfnat_test.skel.h"
#include "packet.h"
#include "test_hooks.h"

#define ADDR_A		"172.18.0.2"
#define ADDR_B		"172.18.0.3"
#define ADDR_GW		"172.18.0.1"
#define ADDR_SNAT	"198.51.100.1"
#define ADDR_REMOTE	"198.51.100.2"
#define ADDR_FAR	"203.0.113.9"	/* beyond the next hop */
#define ADDR6_A		"fd00:18::2"
#define ADDR6_B		"fd00:18::3"
#define ADDR6_GW	"fd00:18::1"
#define ADDR6_UPLINK	"2001:db8:1::1"
#define ADDR6_REMOTE	"2001:db8:1::2"

struct env_opts {
	uint16_t port_lo, port_hi;	/* 0: 1024-65535 */
	uint32_t ct_max;		/* 0: 1024 */
	const char *exclude;		/* a CIDR of either family, or NULL */
	bool xdp;			/* load the XDP programs too */
	bool filter_eif;		/* --filtering endpoint-independent */
	bool nat66;			/* the uplink's IPv6 address is the
					 * IPv6 SNAT address (else none)
					 */
	bool csum_complete;		/* every tc run's skb CHECKSUM_COMPLETE,
					 * its skb->csum checked after the
					 * run (a kernel without the test
					 * flag skips the test)
					 */
	bool sock;			/* the socket hooks alone, for this
					 * namespace's sockets: no packet
					 * program is loaded
					 */
};

struct env {
	struct bpfnat_test_bpf *skel;
	bool xdp;			/* the XDP programs are loaded */
	bool csum_complete;		/* env_opts' */
	int ifindex_ha, ifindex_hb, ifindex_up;
	uint8_t mac_ha[ETH_ALEN], mac_ca[ETH_ALEN];
	uint8_t mac_hb[ETH_ALEN], mac_cb[ETH_ALEN];
	uint8_t mac_up[ETH_ALEN], mac_gw[ETH_ALEN];
	uint32_t a, b, gw, snat, remote, far;	/* network order */
	struct in6_addr a6, b6, gw6, uplink6, remote6;
	struct bpfnat_config cfg;
};

/* What one packet became. */
struct run {
	int verdict;			/* TC_ACT_* */
	uint8_t out[PKT_MAX];
	uint32_t out_len;
	struct test_redirect redirect;	/* count 0: no redirect */
};

/* Build the world; false (after saying why) if it cannot be built. */
bool env_setup(struct env *e, const struct env_opts *o);
/* Run this thread's packets on @cpu only (BPF_PROG_TEST_RUN runs them on
 * the caller's CPU); false if it cannot be.
 */
bool env_pin_cpu(int cpu);

/* Run @pkt through tc_container as if it came in on @ifindex. */
bool env_from_container(struct env *e, int ifindex, const uint8_t *pkt,
			size_t len, struct run *r);
/* Run @pkt through tc_uplink. */
bool env_from_uplink(struct env *e, const uint8_t *pkt, size_t len,
		     struct run *r);
/* Run @pkt through tc_guard, as if it were leaving by the uplink. */
bool env_guard(struct env *e, const uint8_t *pkt, size_t len, struct run *r);
/* The same through xdp_container and xdp_uplink (verdicts are XDP_*). */
bool env_xdp_from_container(struct env *e, int ifindex, const uint8_t *pkt,
			    size_t len, struct run *r);
bool env_xdp_from_uplink(struct env *e, const uint8_t *pkt, size_t len,
			 struct run *r);
/* Remove every flow (the ct_flush program). */
void env_flush(struct env *e);
/* Remove the flows of container @addr; returns how many, -1 on error. */
int env_flush_addr(struct env *e, uint32_t addr);
/* Make the deletes from ct_index numbered @nth .. @nth + @count - 1 from
 * now (1: the next one) fail with @err.
 */
bool env_fail_deletes(struct env *e, uint32_t nth, uint32_t count, int err);
/* Start the expiry timer, as `bpfnat up` does; its first pass runs about
 * a millisecond later.
 */
bool env_sweep_start(struct env *e);
/* ct_sweep[0], where the sweep counts. */
bool env_sweep_read(struct env *e, struct ct_sweep *s);
/* Counter @id as the XDP programs counted it (both families). */
uint64_t env_stat_xdp(struct env *e, int id);
/* Of counter @id, the tc programs' IPv6 packets. */
uint64_t env_stat6(struct env *e, int id);

/* Build @s into @pkt and run it from @ifindex (tc_container), or from the
 * outside (tc_uplink); returns the packet's length, 0 if the run failed.
 */
size_t env_send(struct env *e, int ifindex, const struct pkt_spec *s,
		uint8_t *pkt, struct run *r);
size_t env_receive(struct env *e, const struct pkt_spec *s, uint8_t *pkt,
		   struct run *r);

/* A packet spec from container a (or b) with its MACs filled in. */
struct pkt_spec env_spec_from(struct env *e, bool from_b, uint8_t proto,
			      uint32_t daddr, uint16_t sport, uint16_t dport);
/* A packet spec arriving from the outside on the uplink. */
struct pkt_spec env_spec_reply(struct env *e, uint8_t proto, uint32_t saddr,
			       uint16_t sport, uint16_t dport);

/* One more container, @addr, behind a's veth (as if a had several
 * addresses): for tests that need many sources.
 */
bool env_endpoint_add(struct env *e, uint32_t addr);

/* Publish @host_addr (0: every address):@host_port/@proto as container
 * @addr:@port, as `bpfnat port add` does.
 */
bool env_publish(struct env *e, uint32_t host_addr, uint16_t host_port,
		 uint8_t proto, uint32_t addr, uint16_t port);
/* The same over IPv6: @host_addr (NULL: every address, ::), @addr the
 * container's IPv6 address.
 */
bool env_publish6(struct env *e, const struct in6_addr *host_addr,
		  uint16_t host_port, uint8_t proto,
		  const struct in6_addr *addr, uint16_t port);

/* Bindings (endpoint-independent mapping): how many, -1 if nat_bindings
 * and nat_bound disagree; the binding of endpoint @addr:@port/@proto.
 */
int env_bindings(struct env *e);
bool env_binding_of(struct env *e, uint32_t addr, uint16_t port,
		    uint8_t proto, struct nat_binding *b);
bool env_binding6_of(struct env *e, const struct in6_addr *addr,
		     uint16_t port, uint8_t proto, struct nat_binding *b);

/* Counter @id of the tc programs, summed over CPUs and both families. */
uint64_t env_stat(struct env *e, int id);
/* Live flows in ct_flows, and keys in ct_index. */
int env_flows(struct env *e);
int env_index_keys(struct env *e);
/* The live flow whose original tuple is @key, or false. */
bool env_flow_of(struct env *e, const struct ct_key *key, struct ct_flow *f);
/* Is @key in ct_index? */
bool env_has_key(struct env *e, const struct ct_key *key);

uint32_t ip(const char *s);
struct in6_addr ip6(const char *s);

#endif /* BPFNAT_UNIT_ENV_H */
