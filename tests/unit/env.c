// SPDX-License-Identifier: GPL-2.0-only
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "addr.h"
#include "env.h"
#include "sock.h"
#include "unit.h"

uint32_t ip(const char *s)
{
	uint32_t a = 0;

	parse_ipv4(s, &a);
	return a;
}

struct in6_addr ip6(const char *s)
{
	struct in6_addr a = {};

	inet_pton(AF_INET6, s, &a);
	return a;
}

/* The devices, with fixed MACs so expected bytes can be written down:
 * one ip and one sysctl process (each costs much under emulation).
 */
static const char setup_script[] =
	"set -e\n"
	"ip -batch - <<EOF\n"
	"link add ha address 02:00:00:00:0a:01 type veth"
	"   peer name ca address 02:00:00:00:0a:02\n"
	"link add hb address 02:00:00:00:0b:01 type veth"
	"   peer name cb address 02:00:00:00:0b:02\n"
	"link add up0 address 02:00:00:00:01:01 type veth"
	"   peer name up0p address 02:00:00:00:01:02\n"
	"link set ha up\nlink set ca up\nlink set hb up\nlink set cb up\n"
	"link set up0 up\nlink set up0p up\n"
	"addr add 172.18.0.1/32 dev ha\n"
	"addr add 172.18.0.1/32 dev hb\n"
	"route add 172.18.0.2/32 dev ha\n"
	"route add 172.18.0.3/32 dev hb\n"
	"addr add 198.51.100.1/24 dev up0\n"
	"neigh add 198.51.100.2 lladdr 02:00:00:00:99:99 dev up0 nud permanent\n"
	"route add default via 198.51.100.2\n"
	"addr add fd00:18::1/128 dev ha nodad noprefixroute\n"
	"addr add fd00:18::1/128 dev hb nodad noprefixroute\n"
	"route add fd00:18::2/128 dev ha\n"
	"route add fd00:18::3/128 dev hb\n"
	"addr add 2001:db8:1::1/64 dev up0 nodad\n"
	"neigh add 2001:db8:1::2 lladdr 02:00:00:00:99:99 dev up0"
	"   nud permanent\n"
	"route add ::/0 via 2001:db8:1::2\n"
	"EOF\n"
	"sysctl -qw net.ipv4.conf.ha.forwarding=1 net.ipv4.conf.hb.forwarding=1"
	" net.ipv6.conf.ha.forwarding=1 net.ipv6.conf.hb.forwarding=1\n";

static void mac(const char *s, uint8_t *out)
{
	unsigned int m[6];

	sscanf(s, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4],
	       &m[5]);
	for (int i = 0; i < 6; i++)
		out[i] = m[i];
}

static bool env_build(struct env *e, const struct env_opts *o)
{
	struct endpoint ep_a = {}, ep_b = {};
	struct bpf_program *prog;
	struct exclude_key ex;
	struct exclude6_key ex6;
	struct in6_addr net6;
	__u32 zero = 0, slot;
	uint8_t one = 1;
	int plen, fd;

	memset(e, 0, sizeof(*e));
	if (system(setup_script) != 0) {
		fprintf(stderr, "env: setting up devices failed\n");
		return false;
	}
	e->ifindex_ha = if_nametoindex("ha");
	e->ifindex_hb = if_nametoindex("hb");
	e->ifindex_up = if_nametoindex("up0");
	mac("02:00:00:00:0a:01", e->mac_ha);
	mac("02:00:00:00:0a:02", e->mac_ca);
	mac("02:00:00:00:0b:01", e->mac_hb);
	mac("02:00:00:00:0b:02", e->mac_cb);
	mac("02:00:00:00:01:01", e->mac_up);
	mac("02:00:00:00:99:99", e->mac_gw);
	e->a = ip(ADDR_A);
	e->b = ip(ADDR_B);
	e->gw = ip(ADDR_GW);
	e->snat = ip(ADDR_SNAT);
	e->remote = ip(ADDR_REMOTE);
	e->far = ip(ADDR_FAR);
	e->a6 = ip6(ADDR6_A);
	e->b6 = ip6(ADDR6_B);
	e->gw6 = ip6(ADDR6_GW);
	e->uplink6 = ip6(ADDR6_UPLINK);
	e->remote6 = ip6(ADDR6_REMOTE);

	e->skel = bpfnat_test_bpf__open();
	if (!ASSERT_TRUE(e->skel, "open test object"))
		return false;
	e->cfg.ct_max = o && o->ct_max ? o->ct_max : 1024;
	bpf_map__set_max_entries(e->skel->maps.ct_flows, e->cfg.ct_max);
	bpf_map__set_max_entries(e->skel->maps.ct_free, e->cfg.ct_max);
	bpf_map__set_max_entries(e->skel->maps.ct_index, 2 * e->cfg.ct_max);
	/* the verifier's time is most of a test's: only what is run */
	e->xdp = o && o->xdp;
	e->csum_complete = o && o->csum_complete;
	bpf_program__set_autoload(e->skel->progs.xdp_container, e->xdp);
	bpf_program__set_autoload(e->skel->progs.xdp_uplink, e->xdp);
	bpf_program__set_autoload(e->skel->progs.xdp_pass, e->xdp);
	/* the socket hooks only where asked, and then alone: they read
	 * maps, nothing of what the packets' programs do
	 */
	bpf_object__for_each_program(prog, e->skel->obj) {
		bool sock = bpf_program__type(prog) ==
			    BPF_PROG_TYPE_CGROUP_SOCK_ADDR;

		if (o && o->sock)
			bpf_program__set_autoload(prog, sock);
		else if (sock)
			bpf_program__set_autoload(prog, false);
	}
	if (o && o->sock) {
		__u64 cookie = 0;

		if (!ASSERT_OK(netns_cookie(&cookie), "this namespace's cookie"))
			return false;
		e->skel->rodata->sock_netns_cookie = cookie;
	}
	e->skel->rodata->guard_pool_addr = ip("172.18.0.0");
	e->skel->rodata->guard_pool_mask = ip("255.255.0.0");
	/* as user/loader.c sets it */
	{
		struct in6_addr pool6 = ip6("fd00:18::");

		memcpy((void *)e->skel->rodata->guard_pool6, &pool6,
		       sizeof(pool6));
		e->skel->rodata->guard_pool6_plen = 64;
	}
	if (!ASSERT_OK(bpfnat_test_bpf__load(e->skel), "load test object"))
		return false;

	e->cfg.version = BPFNAT_LAYOUT_VERSION;
	e->cfg.mode = MODE_TC;
	e->cfg.uplink_ifindex = e->ifindex_up;
	e->cfg.snat_addr = e->snat;
	e->cfg.pool_addr = ip("172.18.0.0");
	e->cfg.pool_mask = ip("255.255.0.0");
	e->cfg.gateway = e->gw;
	e->cfg.uplink_bcast = ip("198.51.100.255");
	e->cfg.pool6_plen = 64;
	{
		struct in6_addr pool6 = ip6("fd00:18::");

		memcpy(e->cfg.pool6.addr, &pool6, 16);
		memcpy(e->cfg.gateway6.addr, &e->gw6, 16);
		if (o && o->nat66)
			memcpy(e->cfg.snat6.addr, &e->uplink6, 16);
	}
	e->cfg.port_lo = o && o->port_lo ? o->port_lo : 1024;
	e->cfg.port_hi = o && o->port_hi ? o->port_hi : 65535;
	for (int t = 0; t < TMO_MAX; t++)
		e->cfg.timeout[t] = 300;
	if (o && o->filter_eif)
		e->cfg.flags |= CFG_F_FILTER_EIF;
	fd = bpf_map__fd(e->skel->maps.config);
	if (!ASSERT_OK(bpf_map_update_elem(fd, &zero, &e->cfg, 0), "config"))
		return false;

	ep_a.ifindex = e->ifindex_ha;
	memcpy(ep_a.mac, e->mac_ca, ETH_ALEN);
	memcpy(ep_a.host_mac, e->mac_ha, ETH_ALEN);
	ep_b.ifindex = e->ifindex_hb;
	memcpy(ep_b.mac, e->mac_cb, ETH_ALEN);
	memcpy(ep_b.host_mac, e->mac_hb, ETH_ALEN);
	fd = bpf_map__fd(e->skel->maps.endpoints);
	if (!ASSERT_OK(bpf_map_update_elem(fd, &e->a, &ep_a, 0), "endpoint a") ||
	    !ASSERT_OK(bpf_map_update_elem(fd, &e->b, &ep_b, 0), "endpoint b"))
		return false;
	fd = bpf_map__fd(e->skel->maps.endpoints6);
	if (!ASSERT_OK(bpf_map_update_elem(fd, &e->a6, &ep_a, 0),
		       "IPv6 endpoint a") ||
	    !ASSERT_OK(bpf_map_update_elem(fd, &e->b6, &ep_b, 0),
		       "IPv6 endpoint b"))
		return false;

	/* XDP may send to the containers' host sides and the uplink */
	fd = bpf_map__fd(e->skel->maps.tx_ports);
	{
		__u32 ifs[] = { e->ifindex_ha, e->ifindex_hb, e->ifindex_up };

		for (int i = 0; i < 3; i++)
			if (!ASSERT_OK(bpf_map_update_elem(fd, &ifs[i], &ifs[i],
							   0), "tx_ports"))
				return false;
	}

	fd = bpf_map__fd(e->skel->maps.ct_free);
	for (slot = 0; slot < e->cfg.ct_max; slot++)
		if (!ASSERT_OK(bpf_map_update_elem(fd, NULL, &slot, 0),
			       "fill ct_free"))
			return false;

	if (o && o->exclude && strchr(o->exclude, ':')) {
		if (!ASSERT_OK(parse_cidr6(o->exclude, &net6, &plen, false),
			       "an IPv6 exclusion"))
			return false;
		ex6.prefixlen = plen;
		memcpy(ex6.addr, &net6, sizeof(ex6.addr));
		fd = bpf_map__fd(e->skel->maps.exclude6);
		if (!ASSERT_OK(bpf_map_update_elem(fd, &ex6, &one, 0),
			       "exclude6"))
			return false;
	} else if (o && o->exclude) {
		parse_cidr(o->exclude, &ex.addr, &plen, false);
		ex.prefixlen = plen;
		fd = bpf_map__fd(e->skel->maps.exclude);
		if (!ASSERT_OK(bpf_map_update_elem(fd, &ex, &one, 0),
			       "exclude"))
			return false;
	}
	return true;
}

/* A test whose world cannot be built has failed, not passed. */
bool env_setup(struct env *e, const struct env_opts *o)
{
	return CHECK(env_build(e, o), "the test's world could not be built");
}

bool env_endpoint_add(struct env *e, uint32_t addr)
{
	struct endpoint ep = { .ifindex = e->ifindex_ha };
	int fd = bpf_map__fd(e->skel->maps.endpoints);

	memcpy(ep.mac, e->mac_ca, ETH_ALEN);
	memcpy(ep.host_mac, e->mac_ha, ETH_ALEN);
	return ASSERT_OK(bpf_map_update_elem(fd, &addr, &ep, 0), "endpoint");
}

bool env_publish(struct env *e, uint32_t host_addr, uint16_t host_port,
		 uint8_t proto, uint32_t addr, uint16_t port)
{
	int fd = bpf_map__fd(e->skel->maps.ports);
	struct port_key k;
	struct port_val v;

	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	k.host_addr = host_addr;
	k.host_port = htons(host_port);
	k.proto = proto;
	k.family = AF_INET;
	v.addr = addr;
	v.port = htons(port);

	return ASSERT_OK(bpf_map_update_elem(fd, &k, &v, 0), "publish");
}

bool env_publish6(struct env *e, const struct in6_addr *host_addr,
		  uint16_t host_port, uint8_t proto,
		  const struct in6_addr *addr, uint16_t port)
{
	int fd = bpf_map__fd(e->skel->maps.ports);
	struct port_key k;
	struct port_val v;

	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	if (host_addr)
		memcpy(k.host_addr6, host_addr, sizeof(k.host_addr6));
	k.host_port = htons(host_port);
	k.proto = proto;
	k.family = AF_INET6;
	memcpy(v.addr6, addr, sizeof(v.addr6));
	v.port = htons(port);

	return ASSERT_OK(bpf_map_update_elem(fd, &k, &v, 0), "publish6");
}

int env_bindings(struct env *e)
{
	int fd = bpf_map__fd(e->skel->maps.nat_bindings);
	int fb = bpf_map__fd(e->skel->maps.nat_bound);
	struct nat_endpoint k, *prev = NULL;
	int n = 0, m = 0;

	while (!bpf_map_get_next_key(fd, prev, &k)) {
		prev = &k;
		n++;
	}
	prev = NULL;
	while (!bpf_map_get_next_key(fb, prev, &k)) {
		prev = &k;
		m++;
	}
	return n == m ? n : -1;
}

bool env_binding_of(struct env *e, uint32_t addr, uint16_t port,
		    uint8_t proto, struct nat_binding *b)
{
	struct nat_endpoint k = {
		.addr = addr, .port = htons(port), .proto = proto,
		.family = AF_INET,
	};

	return !bpf_map_lookup_elem(bpf_map__fd(e->skel->maps.nat_bindings),
				    &k, b);
}

bool env_binding6_of(struct env *e, const struct in6_addr *addr,
		     uint16_t port, uint8_t proto, struct nat_binding *b)
{
	struct nat_endpoint k = {
		.port = htons(port), .proto = proto, .family = AF_INET6,
	};

	memcpy(k.addr6, addr, sizeof(k.addr6));
	return !bpf_map_lookup_elem(bpf_map__fd(e->skel->maps.nat_bindings),
				    &k, b);
}

/* The CPU this thread is pinned to, or -1 (see env_pin_cpu()). */
static __thread int env_cpu = -1;

bool env_pin_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set) ||
	    sched_getcpu() != cpu)
		return false;
	env_cpu = cpu;
	return true;
}

/*
 * One packet through @prog, with @ctx (an __sk_buff or an xdp_md).  The
 * test run happens on this CPU; the redirect it made is the difference of
 * this CPU's recorder before and after (written only by programs, so that
 * threads on other CPUs never disturb it).
 */
static bool env_run(struct env *e, struct bpf_program *prog, void *ctx,
		    size_t ctx_size, const uint8_t *pkt, size_t len,
		    struct run *r)
{
	DECLARE_LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt,
			    .data_size_in = len, .data_out = r->out,
			    .data_size_out = sizeof(r->out), .ctx_in = ctx,
			    .ctx_size_in = ctx_size, .repeat = 1);
	int rfd = bpf_map__fd(e->skel->maps.test_redirect);
	int ncpu = libbpf_num_possible_cpus();
	struct test_redirect before[ncpu], after[ncpu];
	__u32 zero = 0;
	int err;

	memset(r, 0, sizeof(*r));
	/* tc programs only (the flag is the skb's); the kernel checks
	 * skb->csum against the packet after the run: -EBADMSG if wrong
	 */
	if (e->csum_complete && ctx_size == sizeof(struct __sk_buff))
		opts.flags = BPF_F_TEST_SKB_CHECKSUM_COMPLETE;
	if (!ASSERT_OK(bpf_map_lookup_elem(rfd, &zero, before), "recorder"))
		return false;
	err = bpf_prog_test_run_opts(bpf_program__fd(prog), &opts);
	err = err ? -errno : 0;
	if (err == -EINVAL && opts.flags)
		unit_skip("this kernel's BPF_PROG_TEST_RUN has no "
			  "CHECKSUM_COMPLETE");
	if (!CHECK(!err, "BPF_PROG_TEST_RUN: %s%s", strerror(-err),
		   err == -EBADMSG ? " (skb->csum wrong after the run)" : ""))
		return false;
	r->verdict = opts.retval;
	r->out_len = opts.data_size_out;
	bpf_map_lookup_elem(rfd, &zero, after);
	/* unpinned, the run may have been on any CPU: the one that moved */
	for (int cpu = 0; cpu < ncpu; cpu++) {
		if (env_cpu >= 0 && cpu != env_cpu)
			continue;
		if (after[cpu].count == before[cpu].count)
			continue;
		r->redirect = after[cpu];
		r->redirect.count -= before[cpu].count;
	}
	return true;
}

static bool env_run_tc(struct env *e, struct bpf_program *prog, int ifindex,
		       const uint8_t *pkt, size_t len, struct run *r)
{
	struct __sk_buff ctx = { .ingress_ifindex = ifindex,
				 .ifindex = ifindex };

	return env_run(e, prog, &ctx, sizeof(ctx), pkt, len, r);
}

static bool env_run_xdp(struct env *e, struct bpf_program *prog, int ifindex,
			const uint8_t *pkt, size_t len, struct run *r)
{
	struct xdp_md ctx = { .ingress_ifindex = ifindex, .data_end = len };

	if (!ASSERT_TRUE(e->xdp, "XDP programs loaded (env_opts.xdp)"))
		return false;
	return env_run(e, prog, &ctx, sizeof(ctx), pkt, len, r);
}

bool env_from_container(struct env *e, int ifindex, const uint8_t *pkt,
			size_t len, struct run *r)
{
	return env_run_tc(e, e->skel->progs.tc_container, ifindex, pkt, len,
			  r);
}

bool env_from_uplink(struct env *e, const uint8_t *pkt, size_t len,
		     struct run *r)
{
	return env_run_tc(e, e->skel->progs.tc_uplink, e->ifindex_up, pkt,
			  len, r);
}

bool env_guard(struct env *e, const uint8_t *pkt, size_t len, struct run *r)
{
	return env_run_tc(e, e->skel->progs.tc_guard, e->ifindex_up, pkt, len,
			  r);
}

bool env_xdp_from_container(struct env *e, int ifindex, const uint8_t *pkt,
			    size_t len, struct run *r)
{
	return env_run_xdp(e, e->skel->progs.xdp_container, ifindex, pkt, len,
			   r);
}

bool env_xdp_from_uplink(struct env *e, const uint8_t *pkt, size_t len,
			 struct run *r)
{
	return env_run_xdp(e, e->skel->progs.xdp_uplink, e->ifindex_up, pkt,
			   len, r);
}

/* Run one of the programs bpfnat runs by hand; its return value, or -1. */
static int env_run_util(struct bpf_program *prog, uint32_t cb0)
{
	struct __sk_buff ctx = { .cb = { cb0 } };
	char eth[ETH_HLEN] = {};
	DECLARE_LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = eth,
			    .data_size_in = sizeof(eth), .ctx_in = &ctx,
			    .ctx_size_in = sizeof(ctx), .repeat = 1);

	if (bpf_prog_test_run_opts(bpf_program__fd(prog), &opts))
		return -1;
	return opts.retval;
}

void env_flush(struct env *e)
{
	env_run_util(e->skel->progs.ct_flush, 0);
}

int env_flush_addr(struct env *e, uint32_t addr)
{
	return env_run_util(e->skel->progs.ct_flush, addr);
}

bool env_fail_deletes(struct env *e, uint32_t nth, uint32_t count, int err)
{
	int fd = bpf_map__fd(e->skel->maps.test_fault);
	struct test_fault t;
	__u32 zero = 0;

	if (!ASSERT_OK(bpf_map_lookup_elem(fd, &zero, &t), "read test_fault"))
		return false;
	t.fail_from = t.deletes + nth;
	t.fail_count = count;
	t.err = err;
	return ASSERT_OK(bpf_map_update_elem(fd, &zero, &t, 0),
			 "write test_fault");
}

bool env_sweep_start(struct env *e)
{
	return ASSERT_EQ(env_run_util(e->skel->progs.ct_sweep_start, 0), 0,
			 "ct_sweep_start");
}

bool env_sweep_read(struct env *e, struct ct_sweep *s)
{
	__u32 zero = 0;

	return !bpf_map_lookup_elem(bpf_map__fd(e->skel->maps.ct_sweep), &zero,
				    s);
}

size_t env_send(struct env *e, int ifindex, const struct pkt_spec *s,
		uint8_t *pkt, struct run *r)
{
	size_t len = pkt_build(s, pkt);

	return env_from_container(e, ifindex, pkt, len, r) ? len : 0;
}

size_t env_receive(struct env *e, const struct pkt_spec *s, uint8_t *pkt,
		   struct run *r)
{
	size_t len = pkt_build(s, pkt);

	return env_from_uplink(e, pkt, len, r) ? len : 0;
}

struct pkt_spec env_spec_from(struct env *e, bool from_b, uint8_t proto,
			      uint32_t daddr, uint16_t sport, uint16_t dport)
{
	struct pkt_spec s = {
		.proto = proto,
		.saddr = from_b ? e->b : e->a,
		.daddr = daddr,
		.sport = sport,
		.dport = dport,
		.icmp_type = ICMP_ECHO,
		.tcp_flags = TCPF_ACK,
		.payload = 32,
	};

	/* as the container's stack addresses the gateway */
	memcpy(s.smac, from_b ? e->mac_cb : e->mac_ca, ETH_ALEN);
	memcpy(s.dmac, from_b ? e->mac_hb : e->mac_ha, ETH_ALEN);
	return s;
}

struct pkt_spec env_spec_reply(struct env *e, uint8_t proto, uint32_t saddr,
			       uint16_t sport, uint16_t dport)
{
	struct pkt_spec s = {
		.proto = proto,
		.saddr = saddr,
		.daddr = e->snat,
		.sport = sport,
		.dport = dport,
		.icmp_type = ICMP_ECHOREPLY,
		.tcp_flags = TCPF_ACK,
		.payload = 32,
	};

	memcpy(s.smac, e->mac_gw, ETH_ALEN);
	memcpy(s.dmac, e->mac_up, ETH_ALEN);
	return s;
}

/* The packets of stats key @key, summed over CPUs. */
static uint64_t stat_packets(struct env *e, __u32 key)
{
	int ncpu = libbpf_num_possible_cpus();
	struct stat_val v[ncpu];
	uint64_t sum = 0;

	if (bpf_map_lookup_elem(bpf_map__fd(e->skel->maps.stats), &key, v))
		return ~0ULL;
	for (int i = 0; i < ncpu; i++)
		sum += v[i].packets;
	return sum;
}

uint64_t env_stat(struct env *e, int id)
{
	return stat_packets(e, stat_key(id, 0, 0)) +
	       stat_packets(e, stat_key(id, 0, 1));
}

uint64_t env_stat_xdp(struct env *e, int id)
{
	return stat_packets(e, stat_key(id, 1, 0)) +
	       stat_packets(e, stat_key(id, 1, 1));
}

uint64_t env_stat6(struct env *e, int id)
{
	return stat_packets(e, stat_key(id, 0, 1));
}

int env_flows(struct env *e)
{
	int fd = bpf_map__fd(e->skel->maps.ct_flows), n = 0;
	struct ct_flow f;

	for (__u32 slot = 0; slot < e->cfg.ct_max; slot++)
		if (!bpf_map_lookup_elem(fd, &slot, &f) &&
		    f.live == CT_SLOT_LIVE)
			n++;
	return n;
}

int env_index_keys(struct env *e)
{
	int fd = bpf_map__fd(e->skel->maps.ct_index), n = 0;
	struct ct_key key, *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, &key)) {
		prev = &key;
		n++;
	}
	return n;
}

bool env_has_key(struct env *e, const struct ct_key *key)
{
	struct ct_ref ref;

	return !bpf_map_lookup_elem(bpf_map__fd(e->skel->maps.ct_index), key,
				    &ref);
}

bool env_flow_of(struct env *e, const struct ct_key *key, struct ct_flow *f)
{
	struct ct_ref ref;

	if (bpf_map_lookup_elem(bpf_map__fd(e->skel->maps.ct_index), key,
				&ref))
		return false;
	if (bpf_map_lookup_elem(bpf_map__fd(e->skel->maps.ct_flows),
				&ref.flow, f))
		return false;
	return f->live == CT_SLOT_LIVE;
}
