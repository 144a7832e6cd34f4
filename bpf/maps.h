/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Every map of the data path.  Their names are the pinned names under
 * BPFNAT_PIN_DIR and what `bpftool map show` prints; their key and value
 * types carry BTF, so `bpftool map dump` shows field names.  Sizes given
 * here are defaults: `bpfnat up` sets the conntrack sizes from --ct-max.
 */
#ifndef BPFNAT_MAPS_H
#define BPFNAT_MAPS_H

#include "common.h"

/* config[0]: struct bpfnat_config, written by `bpfnat up`. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bpfnat_config);
} config SEC(".maps");

/* Containers by address: where to deliver a packet for them. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, ENDPOINTS_MAX);
	__type(key, __be32);
	__type(value, struct endpoint);
} endpoints SEC(".maps");

/* Containers by IPv6 address: the same endpoints, for IPv6. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, ENDPOINTS_MAX);
	__type(key, struct in6_key);
	__type(value, struct endpoint);
} endpoints6 SEC(".maps");

/* Destinations that are routed without NAT (--exclude). */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, EXCLUDE_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct exclude_key);
	__type(value, __u8);
} exclude SEC(".maps");

/* ... and over IPv6. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, EXCLUDE_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct exclude6_key);
	__type(value, __u8);
} exclude6 SEC(".maps");

/* Published ports: the host side of each, and the container behind it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PORTS_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct port_key);
	__type(value, struct port_val);
} ports SEC(".maps");

/* Endpoint-independent mapping: a container's endpoint -> its binding,
 * and the external endpoint -> the container's (struct nat_binding).
 * `bpfnat up` sizes both as the flow table: a binding has a flow.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CT_MAX_DEFAULT);
	__type(key, struct nat_endpoint);
	__type(value, struct nat_binding);
} nat_bindings SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CT_MAX_DEFAULT);
	__type(key, struct nat_endpoint);
	__type(value, struct nat_endpoint);
} nat_bound SEC(".maps");

/* Conntrack: both tuples of every flow, each pointing at its slot. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 2 * CT_MAX_DEFAULT);
	__type(key, struct ct_key);
	__type(value, struct ct_ref);
} ct_index SEC(".maps");

/* Conntrack: one slot per flow. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, CT_MAX_DEFAULT);
	__type(key, __u32);
	__type(value, struct ct_flow);
} ct_flows SEC(".maps");

/* Conntrack: numbers of the free slots of ct_flows. */
struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, CT_MAX_DEFAULT);
	__uint(key_size, 0);
	__uint(value_size, sizeof(__u32));
} ct_free SEC(".maps");

/*
 * Destinations whose ports ran out: a new flow to one fails at once for a
 * second, instead of searching the whole range again on every packet.
 * Keyed by the reply's source (remote address, port, protocol).
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, EXHAUSTED_MAX);
	__type(key, struct ct_key);
	__type(value, __u64);		/* until, bpf_ktime_get_coarse_ns() */
} ct_exhausted SEC(".maps");

/* ct_sweep[0]: the expiry timer. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ct_sweep);
} ct_sweep SEC(".maps");

/* XDP mode: the devices frames may be redirected to, by ifindex: the
 * uplink and every container's host side.
 */
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, ENDPOINTS_MAX + 1);
	__type(key, __u32);
	__type(value, __u32);
} tx_ports SEC(".maps");

/* Fragmented datagrams from the outside (LRU: they are short-lived). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, FRAGS_MAX);
	__type(key, struct frag_key);
	__type(value, struct frag_val);
} frags SEC(".maps");

/* Later fragments held for their first (see struct frag_held). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FRAG_STASH_MAX);
	__type(key, struct frag_stash_key);
	__type(value, struct frag_held);
} frag_stash SEC(".maps");

/* Packets and bytes per outcome and hook, per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, STAT_KEYS);
	__type(key, __u32);
	__type(value, struct stat_val);
} stats SEC(".maps");

/* `bpfnat monitor`'s events, and its lease (bpf/monitor.h). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, MONITOR_RING_BYTES);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct monitor_ctl);
} monitor SEC(".maps");

/* Host-local access (sock.h): the host's own addresses, as `up` found
 * them (a wildcard published port answers on each).
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, HOST_ADDRS_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __be32);
	__type(value, __u8);
} host_addrs SEC(".maps");

/* The same of the host's IPv6 addresses. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, HOST_ADDRS_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct in6_key);
	__type(value, __u8);
} host_addrs6 SEC(".maps");

/* Host-local access: per socket, where its rewrites went (sock_rev). */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct sock_rev);
} sock_rev SEC(".maps");

/* Host-local access: system calls rewritten, per CPU, by sock_stat_id. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SOCK_STAT_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} sock_stats SEC(".maps");

static __always_inline const struct bpfnat_config *config_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&config, &zero);
}

#endif /* BPFNAT_MAPS_H */
