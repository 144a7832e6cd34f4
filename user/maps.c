// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "loader.h"
#include "maps.h"

#define BPFNAT_STAT_NAME(id, name) [STAT_##id] = name,
const char *const stat_names[STAT_MAX] = { BPFNAT_STATS(BPFNAT_STAT_NAME) };
#undef BPFNAT_STAT_NAME

#define BPFNAT_SOCK_STAT_NAME(id, name) [SOCK_STAT_##id] = name,
const char *const sock_stat_names[SOCK_STAT_MAX] = {
	BPFNAT_SOCK_STATS(BPFNAT_SOCK_STAT_NAME)
};
#undef BPFNAT_SOCK_STAT_NAME

/* Run the ct_flush program with @args; returns what it removed. */
static int flush_run(const struct ct_flush_args *args,
		     const struct in6_addr *addr6)
{
	char pkt[ETH_HLEN + sizeof(*addr6)] = {};
	struct __sk_buff skb = {};
	DECLARE_LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt,
			    .data_size_in = sizeof(pkt), .ctx_in = &skb,
			    .ctx_size_in = sizeof(skb), .repeat = 1);
	int fd, err;

	_Static_assert(sizeof(*args) <= sizeof(skb.cb), "ct_flush_args in cb");
	memcpy(skb.cb, args, sizeof(*args));
	if (addr6)
		memcpy(pkt + ETH_HLEN, addr6, sizeof(*addr6));
	fd = dp_pin_open(PIN_PROG_FLUSH);
	if (fd < 0)
		return fd;
	err = bpf_prog_test_run_opts(fd, &opts);
	if (err)
		err = -errno;
	close(fd);
	return err ? err : (int)opts.retval;
}

int ct_flush(uint32_t addr, const struct in6_addr *addr6)
{
	struct ct_flush_args args = { .addr = addr, .has_addr6 = !!addr6 };

	return flush_run(&args, addr6);
}

int ct_delete_flow(uint32_t slot, const struct ct_flow *f)
{
	struct ct_flush_args args = { .slot = slot + 1, .gen = f->gen };

	return flush_run(&args, NULL);
}

/* Flows are read in batches: a syscall per 1024 slots, not per slot. */
#define CT_BATCH 1024

int ct_each(ct_flow_cb cb, void *data)
{
	DECLARE_LIBBPF_OPTS(bpf_map_batch_opts, opts);
	struct ct_flow *flows;
	__u32 *keys, batch, count;
	bool first = true;
	int fd, err = 0;

	fd = dp_pin_open(PIN_CT_FLOWS);
	if (fd < 0)
		return fd;
	keys = calloc(CT_BATCH, sizeof(*keys));
	flows = calloc(CT_BATCH, sizeof(*flows));
	if (!keys || !flows) {
		err = -ENOMEM;
		goto out;
	}
	for (;;) {
		bool last;

		count = CT_BATCH;
		err = bpf_map_lookup_batch(fd, first ? NULL : &batch, &batch,
					   keys, flows, &count, &opts);
		last = err && errno == ENOENT;
		if (err && !last) {
			err = -errno;
			break;
		}
		err = 0;
		first = false;
		for (__u32 i = 0; i < count && !err; i++)
			if (flows[i].live == CT_SLOT_LIVE)
				err = cb(keys[i], &flows[i], data);
		if (err || last)
			break;
	}
out:
	free(keys);
	free(flows);
	close(fd);
	return err;
}

static int count_one(uint32_t slot, const struct ct_flow *f, void *data)
{
	(void)slot;
	(void)f;
	(*(long *)data)++;
	return 0;
}

long ct_count(void)
{
	long n = 0;
	int err;

	err = ct_each(count_one, &n);
	return err ? err : n;
}

uint64_t ct_seconds_left(const struct ct_flow *f,
			 const struct bpfnat_config *cfg)
{
	/* the data path's clock is bpf_ktime_get_coarse_ns() */
	struct timespec ts;
	uint64_t now, idle, tmo;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	now = ts.tv_sec * 1000000000ULL + ts.tv_nsec;
	idle = now > f->last_seen_ns ? now - f->last_seen_ns : 0;
	tmo = (uint64_t)cfg->timeout[ct_timeout_of(f)] * 1000000000ULL;
	return idle >= tmo ? 0 : (tmo - idle) / 1000000000ULL;
}

void ct_sweep_read(struct ct_sweep *sweep)
{
	__u32 zero = 0;
	int fd;

	memset(sweep, 0, sizeof(*sweep));
	fd = dp_pin_open(PIN_CT_SWEEP);
	if (fd < 0)
		return;
	if (bpf_map_lookup_elem(fd, &zero, sweep))
		memset(sweep, 0, sizeof(*sweep));
	close(fd);
}

/* Add @v to @into[@id] when @into is wanted. */
static void stat_add(struct stat_val *into, __u32 id, const struct stat_val *v)
{
	if (into) {
		into[id].packets += v->packets;
		into[id].bytes += v->bytes;
	}
}

int stats_read(struct stat_val *total, struct stat_val *xdp,
	       struct stat_val *ipv6)
{
	int ncpu = libbpf_num_possible_cpus();
	struct stat_val *percpu;
	int fd, err = 0;

	if (ncpu < 0)
		return ncpu;
	fd = dp_pin_open(PIN_STATS);
	if (fd < 0)
		return fd;
	percpu = calloc(ncpu, sizeof(*percpu));
	if (!percpu) {
		close(fd);
		return -ENOMEM;
	}
	memset(total, 0, STAT_MAX * sizeof(*total));
	if (xdp)
		memset(xdp, 0, STAT_MAX * sizeof(*xdp));
	if (ipv6)
		memset(ipv6, 0, STAT_MAX * sizeof(*ipv6));
	for (__u32 key = 0; key < STAT_KEYS; key++) {
		__u32 id = key % STAT_SLOTS;
		bool is_xdp = key % STAT_IPV6_BASE >= STAT_XDP_BASE;
		bool is_ipv6 = key >= STAT_IPV6_BASE;

		if (id >= STAT_MAX)
			continue;	/* room for outcomes to come */
		if (bpf_map_lookup_elem(fd, &key, percpu)) {
			err = -errno;
			break;
		}
		for (int cpu = 0; cpu < ncpu; cpu++) {
			stat_add(total, id, &percpu[cpu]);
			if (is_xdp)
				stat_add(xdp, id, &percpu[cpu]);
			if (is_ipv6)
				stat_add(ipv6, id, &percpu[cpu]);
		}
	}
	free(percpu);
	close(fd);
	return err;
}

int sock_stats_read(uint64_t *count)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 *percpu;
	int fd, err = 0;

	memset(count, 0, SOCK_STAT_MAX * sizeof(*count));
	if (ncpu < 0)
		return ncpu;
	fd = dp_pin_open(PIN_SOCK_STATS);
	if (fd < 0)
		return fd;
	percpu = calloc(ncpu, sizeof(*percpu));
	if (!percpu) {
		close(fd);
		return -ENOMEM;
	}
	for (__u32 key = 0; key < SOCK_STAT_MAX; key++) {
		if (bpf_map_lookup_elem(fd, &key, percpu)) {
			err = -errno;
			break;
		}
		for (int cpu = 0; cpu < ncpu; cpu++)
			count[key] += percpu[cpu];
	}
	free(percpu);
	close(fd);
	return err;
}
