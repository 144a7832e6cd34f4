# SPDX-License-Identifier: GPL-2.0-only
#
# The benchmark's table, for the terminal and table.txt, from results.json.
#
#   jq -L tools/bench -r --arg base CONFIG -f table.jq results.json

include "cni";	# the CNI latency table (tools/bench/cni.jq; jq -L tools/bench)
include "runtime";	# podman run to first packet (tools/bench/runtime.jq)

def n0: if . == null then "-" else (round | tostring) end;
def n1: if . == null then "-" else ((. * 10 | round) / 10 | tostring) end;
def n2: if . == null then "-" else ((. * 100 | round) / 100 | tostring) end;
def k: if . == null then "-" else (. / 1000 | round | tostring) end;

# half the range over rounds, in percent of the median
def pm:
	if .median == null or .median == 0 then "-"
	else "±" + ((.max - .min) / 2 / .median * 100 | round | tostring) + "%"
	end;
def rng(f):
	if .median == null then "-"
	else (.median | f) + " [" + (.min | f) + ".." + (.max | f) + "]" end;
def x(f): if . == null then "-" else (f) + "x" end;
def inv: if . == null or . == 0 then null else 1 / . end;

def pad($n): tostring | . + " " * ([$n - length, 0] | max);
def lpad($n): tostring | " " * ([$n - length, 0] | max) + .;
# columns: the first $nl flush left, the rest flush right
def row($w; $nl):
	. as $r | [range(0; $r | length) as $j |
		if $j < $nl then $r[$j] | pad($w[$j])
		else $r[$j] | lpad($w[$j]) end] | join(" ");
def table($w; $nl): map(row($w; $nl))[];
def table($w): table($w; 2);

def udp_table:
	[12, 11, 6, 6, 18, 7, 9, 7, 18] as $w |
	([["scenario", "config", "kpps", "spread", "cost ns", "x rate",
	   "x cheaper", "cpu ns", "own-cost ns"]] +
	 [.main[] | select(.kind == "udp") |
		[.scenario, .config, (.value.median | k), (.value | pm),
		 (if .config == "gen" then "-" else .cost_ns | rng(n0) end),
		 (.ratio.median | x(n2)), (.cost_ratio.median | x(n2)),
		 (.cpu_ns_per_unit.median | n0),
		 (if .config == "gen" then "-" else .own_cost_ns | rng(n0) end)]
	 ]) | table($w);

def tcp_table($base):
	[12, 11, 8, 6, 11, 8, 7, 8, 9] as $w |
	([["scenario", "config", "value", "spread", "x " + $base, "of veth",
	   "p50 us", "p99 us", "cpu ns"]] +
	 [.main[] | select(.kind == "tcp" or .kind == "txn") |
		[.scenario, .config,
		 (if .kind == "tcp" then .value.median / 1e9 | n2
		  else .value.median | n0 end),
		 (.value | pm), (.ratio.median | x(n2)),
		 (if .of_veth.median == null then "-"
		  else "\(.of_veth.median * 100 | round)%" end),
		 (.p50_us.median | n1), (.p99_us.median | n1),
		 (.cpu_ns_per_unit.median | n0)]
	 ]) | table($w);

def flow_table:
	[8, 11, 8, 9, 6, 6, 6, 7] as $w |
	([["flows", "config", "ct-max", "in table", "kpps", "spread", "x 1k",
	   "B/flow"]] +
	 [.table[] |
		[(.flows | tostring), .config, (.ct_max // "-" | tostring),
		 (.ct_flows // "-" | tostring), (.value.median | k),
		 (.value | pm), (.vs_1k.median | x(n2)),
		 (.bytes_per_flow | n0)]
	 ]) | table($w);

# x ip: the ip commands' time at that size over this one
def setup_table:
	.setup as $all |
	[11, 10, 7, 16, 6] as $w |
	([["containers", "method", "ms", "range", "x ip"]] +
	 [$all[] | . as $s |
		([$all[] | select(.containers == $s.containers and
				  .method == "ip")][0].ms_per_container.median)
			as $ip |
		[(.containers | tostring), .method,
		 (.ms_per_container.median | n2),
		 "\(.ms_per_container.min | n2)..\(.ms_per_container.max | n2)",
		 (if $ip == null or .ms_per_container.median <= 0 then null
		  else $ip / .ms_per_container.median end | x(n1))]
	 ]) | table($w);

def testrun_table:
	[15, 4, 7, 7, 6] as $w |
	([["program", "dir", "median", "mean", "retval"]] +
	 [.testrun[] |
		[.prog, .dir, (.ns_median | n0), (.ns_mean | n0),
		 (.retval | tostring)]
	 ]) | table($w);

# One configuration of ours against both iptables backends and the
# design's targets.
def brief($cfg; $base):
	. as $all |
	[.main[] | select(.config == $cfg)] as $b |
	[$b[] | select(.kind == "udp" and .flows == "10k")] as $u |
	(([[$cfg, "x " + $base, "x ipt-legacy", "target"]] +
	  [$u[] |
		# published ports (issue 11) and NAT66 (issue 13) aim at
		# 2.5x on the cost
		(if .dir == "dnat" or .family == 6 then "2.5x" else "2.0x" end)
			as $t |
		["\(.scenario) packet rate",
		 (.ratio.median | x(n2)), (.ratio_legacy.median | x(n2)),
		 "1.6x"],
		["\(.scenario) cost, cheaper by",
		 (.cost_ratio.median | x(n2)),
		 (.cost_ratio_legacy.median | x(n2)), $t],
		["\(.scenario) own CPU cost, cheaper by",
		 (.own_cost_ratio.median | x(n2)),
		 (.own_cost_ratio_legacy.median | x(n2)), $t]] +
	  [$b[] | select(.kind != "udp") |
		["\(.scenario)", (.ratio.median | x(n2)),
		 (.ratio_legacy.median | x(n2)),
		 (if .kind == "tcp" then "1.15x" else "1.3x" end)]]
	 ) | table([40, 11, 13, 7]; 1)),
	($u[] |
		"  \(.scenario) against the empty redirect: rate " +
		"\(.vs_redirect.median | x(n2)) (>= 0.9x), cost " +
		"\(.cost_vs_redirect.median | inv | x(n2)) (own CPU " +
		"\(.own_cost_vs_redirect.median | inv | x(n2))) (<= 1.25x)"),
	($all.table[] | select(.config == $cfg and .flows > 900000) |
		"  rate at \(.flows) flows: \(.vs_1k.median | x(n2)) the rate " +
		"at 1k flows (>= 0.85x)");

.meta as $m |
"bpfnat benchmark, \($m.date), \($m.cpus) CPUs (\($m.cpu)), Linux \($m.kernel), bpfnat \($m.bpfnat_version)",
"\($m.rounds) rounds interleaved (flow table: \($m.table_rounds)); UDP \($m.udp_seconds) s per sample after \($m.warmup_seconds) s, TCP \($m.tcp_seconds) s; took \($m.elapsed_seconds) s",
"medians over rounds, [min..max]; ±: half the range; ratios taken round by round against \($base)",
(.skipped[] | "skipped: \(.config): \(.reason)"),
"",
"UDP, 64-byte frames: packet rate at the sink.  cost = 1/pps - 1/pps(gen): ns per packet",
"with the generator taken out.  x rate: rate / \($base)'s; x cheaper: \($base)'s cost /",
"this cost.  cpu = busy ns of all CPUs per packet (/proc/stat: other tenants included);",
"own-cost = CPU ns of trafgen and ksoftirqd per packet, minus gen's (scheduling noise out).",
"-fwd: container -> outside; -rep: the replies; -dnat: the outside to the container's",
"published UDP port (\($base): iptables DNAT), 10k source ports, each flow made by its",
"first packet; gen: that load dropped at the uplink; route, redirect, veth: sent to c1 itself.",
"udp6-: over IPv6, 62-byte frames (IPv6's smallest UDP; 66 on the wire), NAT66 against",
"ip6tables' and nftables' masquerade (the iptables configurations add ip6tables' rule).",
udp_table,
"",
"TCP: stream = Gbit/s (iperf3); rr = transactions/s, one connection, one 64-byte request",
"in flight; crr = connections/s (connect, 64-byte request and response, close; 2 threads);",
"crr-dnat = the same from the outside to the container's published TCP port (route: to c1);",
"of veth = this rate over the veth limit's: client and server one veth apart, no router",
"(gen to the outside; crr-dnat: the outside to gen);",
"cpu = busy ns of all CPUs per kB (stream), transaction or connection",
tcp_table($base),
"",
"Flow table: 64-byte UDP rate with every flow of the table in turn (container -> outside).",
"B/flow: bpfnat = its conntrack maps (all preallocated) / ct-max; nf_conntrack = growth of",
"the kernel's Slab / flows, shown from 50k flows on (machine-wide, noisy below that)",
flow_table,
(if (.setup | length) > 0 then
	"",
	"Container setup, ms per container (bpfnat-up: with the data path attached; batch: one",
"bpfnat -batch of every ns add; ip: the same work as ip and sysctl commands)",
	setup_table
else empty end),
(if (.cni // [] | length) > 0 then
	"",
	"CNI latency, ms per command: bpfnat's plugin against ptp + host-local + portmap, one",
	"published port per container, driven as libcni does (tools/cni_chain); steady: the data",
	"path up, the containers made one after the other, each configuration in turn; cold: the",
	"first ADD in a fresh host (bpfnat's brings the data path up).  p99 by nearest rank;",
	"x chain: the chain's figure / this one",
	(.cni | cni_table)
else empty end),
([.skipped[] | select(.config == "podman-run")] | first // null) as $rt_skip |
(if (.runtime_start // [] | length) > 0 then
	"",
	"podman run to first packet, ms: podman run --rm -p 8080:80 of a busybox ping, from",
	"podman's start to the echo request on the outside (first packet) and to podman's exit",
	"(podman run); over bpfnat's CNI network, ptp + host-local + portmap, and podman's bridge",
	"network, each round every network in turn in fresh namespaces (a first run not counted);",
	"x ptp: ptp's figure / this one, round by round",
	(.runtime_start | runtime_table),
	(if $rt_skip != null then "  then \($rt_skip.reason)" else empty end)
elif $rt_skip != null then
	"",
	"podman run to first packet: skipped: \($rt_skip.reason)"
else empty end),
(if (.testrun | length) > 0 then
	"",
	"BPF_PROG_TEST_RUN, one 64-byte UDP packet per run, ns (bench_drop: the floor)",
	testrun_table
else empty end),
(if (.bpf_stats | length) > 0 then
	"",
	"BPF run time in place (kernel BPF stats for 1 s under the 10k-flow loads)",
	(.bpf_stats[] | "  \(.config) \(.dir): " +
		((.progs // {}) | to_entries |
		 map(select(.value.runs > 1000) |
		     "\(.key | split("/") | last) \(.value.ns_per_run | n0) ns") |
		 join(", ")))
else empty end),
"",
"In brief: medians of per-round ratios; targets for reading, not asserted.  The 2.0x on",
"64-byte packet rate is read, as DESIGN.md says, as forwarding cost with the generator",
"taken out (DESIGN.md aims at 2.5x, about 1.6x in end-to-end rate; published ports, -dnat,",
"at 2.5x against iptables DNAT).  cost: 1/pps - 1/pps(gen); own CPU cost: the generator's",
"and ksoftirqd's CPU time per packet minus gen's.",
(. as $all |
	([.main[].config] | unique | map(select(startswith("bpfnat")))[]) as $c |
	$all | brief($c; $base))
