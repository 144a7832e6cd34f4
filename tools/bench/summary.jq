# SPDX-License-Identifier: GPL-2.0-only
#
# From the benchmark's raw samples (one array, every kind) to medians and
# ratios.  Every ratio is taken round by round, between samples measured
# minutes apart at most, and its median is reported with the range it
# took: on a shared machine the generator's speed drifts, and ratios of
# neighbours drift much less than either figure.
#
#   jq -L tools/bench --arg base CONFIG --arg l0 CONFIG -f summary.jq samples.json
#
# $base: the configuration every ratio is taken against (iptables
# MASQUERADE); $l0: the generator's capacity (the load dropped at its first
# hop).  Forwarding cost per packet = 1/pps(config) - 1/pps(l0), in ns.

include "cni";	# CNI latency (tools/bench/cni.jq; jq -L tools/bench)
include "runtime";	# podman run to first packet (tools/bench/runtime.jq)

def median:
	sort | if length == 0 then null
	elif length % 2 == 1 then .[(length - 1) / 2]
	else (.[length / 2 - 1] + .[length / 2]) / 2 end;

# {median, min, max, n} of an array of numbers (nulls left out)
def spread:
	map(select(. != null)) |
	{median: median, min: min, max: max, n: length};

def by_key($k): group_by(.[$k]) | map({key: .[0][$k], value: .}) | from_entries;

. as $all |
($all | map(select(.kind == "udp" or .kind == "tcp" or .kind == "txn"))) as $main |

# the sample of CONFIG in the same scenario and round as $x
def peer($x; $cfg):
	first($main[] | select(.config == $cfg and .scenario == $x.scenario and
			       .round == $x.round)) // null;

def cost_ns($x):
	peer($x; $l0) as $z |
	if $z == null or $z.value <= 0 or $x.value <= 0 then null
	else 1e9 / $x.value - 1e9 / $z.value end;

def own_cost_ns($x):
	peer($x; $l0) as $z |
	if $z == null or $z.own_ns_per_unit == null then null
	else $x.own_ns_per_unit - $z.own_ns_per_unit end;

def rate_ratio($x; $b):
	peer($x; $b) as $z |
	if $z == null or $z.value <= 0 then null else $x.value / $z.value end;

def cost_ratio($x; $b):
	peer($x; $b) as $z |
	if $z == null then null
	else (cost_ns($z)) as $cb | (cost_ns($x)) as $cx |
		if $cb == null or $cx == null or $cb <= 0 or $cx <= 0 then null
		else $cb / $cx end end;

def own_cost_ratio($x; $b):
	peer($x; $b) as $z |
	if $z == null then null
	else (own_cost_ns($z)) as $cb | (own_cost_ns($x)) as $cx |
		if $cb == null or $cx == null or $cb <= 0 or $cx <= 0 then null
		else $cb / $cx end end;

def scenario_order:
	["udp-1-fwd", "udp-10k-fwd", "udp-1-rep", "udp-10k-rep", "udp-10k-dnat",
	 "udp6-10k-fwd", "udp6-10k-rep", "tcp-stream-1", "tcp-stream-4", "tcp-rr", "tcp-crr", "tcp-crr-dnat"];

def config_order:
	["gen", "veth", "route", "redirect", "ipt-legacy", "ipt-nft", "nft",
	 "bpfnat-tc", "bpfnat-xdp"];

def idx($list): . as $v | ($list | index($v)) // 99;

{
	skipped: [$all[] | select(.kind == "skip") | {config, reason}],

	main: [
		$main | group_by([(.scenario | idx(scenario_order)),
				  (.config | idx(config_order))])[] |
		. as $runs | $runs[0] as $s |
		{
			scenario: $s.scenario,
			kind: $s.kind,
			config: $s.config,
			unit: $s.unit,
			value: ($runs | map(.value) | spread),
			cpu_ns_per_unit: ($runs | map(.cpu_ns_per_unit) | spread),
			ratio: ($runs | map(rate_ratio(.; $base)) | spread),
			ratio_legacy: ($runs | map(rate_ratio(.; "ipt-legacy")) | spread),
			# TCP: the share of the veth limit's rate, round by round
			of_veth: ($runs | map(rate_ratio(.; "veth")) | spread)
		} +
		if $s.kind == "udp" then {
			flows: $s.flows,
			dir: $s.dir,
			family: ($s.family // 4),
			ct_flows: ($runs | map(.ct_flows) | spread | .median),
			own_ns_per_unit: ($runs | map(.own_ns_per_unit) | spread),
			cost_ns: ($runs | map(cost_ns(.)) | spread),
			own_cost_ns: ($runs | map(own_cost_ns(.)) | spread),
			cost_ratio: ($runs | map(cost_ratio(.; $base)) | spread),
			cost_ratio_legacy: ($runs | map(cost_ratio(.; "ipt-legacy")) | spread),
			own_cost_ratio: ($runs | map(own_cost_ratio(.; $base)) | spread),
			own_cost_ratio_legacy: ($runs | map(own_cost_ratio(.; "ipt-legacy")) | spread),
			own_cost_vs_redirect: ($runs | map(own_cost_ratio(.; "redirect")) | spread),
			vs_redirect: ($runs | map(rate_ratio(.; "redirect")) | spread),
			cost_vs_redirect: ($runs | map(cost_ratio(.; "redirect")) | spread)
		} elif $s.kind == "txn" then {
			p50_us: ($runs | map(.p50_us) | spread),
			p99_us: ($runs | map(.p99_us) | spread),
			errors: ($runs | map(.errors) | add)
		} else {} end
	],

	table: [
		$all | map(select(.kind == "table")) as $t |
		$t | group_by([.config, .flows])[] |
		. as $runs | $runs[0] as $s |
		{
			config: $s.config,
			scenario: $s.scenario,
			flows: $s.flows,
			ct_max: $s.ct_max,
			ct_flows: ($runs | map(.ct_flows) | spread | .median),
			value: ($runs | map(.value) | spread),
			own_ns_per_unit: ($runs | map(.own_ns_per_unit) | spread),
			vs_1k: ($runs | map(. as $x |
				first($t[] | select(.config == $x.config and
					.scenario == "table-1k" and .round == $x.round)) as $k |
				if $k == null or $k.value <= 0 then null
				else $x.value / $k.value end) | spread),
			memory_bytes: ($runs | map(.memory_bytes) | spread | .median),
			# bpfnat's maps are preallocated: per slot of ct-max;
			# the kernel's Slab growth only where it stands out
			# from what the rest of the machine allocates
			bytes_per_flow: ($runs | map(if .memory_bytes == null then null
				elif (.ct_max // 0) > 0 then .memory_bytes / .ct_max
				elif (.ct_flows // 0) >= 50000 then .memory_bytes / .ct_flows
				else null end) | spread | .median)
		}
	] | sort_by((.config | idx(config_order)), .flows),

	setup: [
		$all | map(select(.kind == "setup")) | group_by([.method, .containers])[] |
		{method: .[0].method, containers: .[0].containers,
		 ms_per_container: (map(.ms_per_container) | spread)}
	] | sort_by(.containers, .method),

	cni: ($all | cni_summary),

	# by network: first_packet_ms and run_ms over rounds, x_first and
	# x_run the chain's (ptp's) figure / this one, round by round
	runtime_start: ($all | runtime_summary),

	testrun: [$all[] | select(.kind == "testrun") |
		  {prog: (.prog | split("/") | last), dir, ns_median, ns_mean, calls, retval}],

	bpf_stats: [$all[] | select(.kind == "bpf_stats")]
}
