# SPDX-License-Identifier: GPL-2.0-only
#
# podman run to first packet (tools/bench/runtime-start.sh's JSON lines):
# medians, ranges and ratios to the standard chain, and their table.  A
# module: summary.jq and table.jq include it (jq -L tools/bench), as does
# runtime-start.sh alone.
#
# Each line: {kind: "runtime_start", runtime: "podman", network, round,
# first_packet_ms, run_ms}.

# what the ratios are taken against: ptp + host-local + portmap, the chain
# tools/bench-cni.sh's rows are taken against too
def rt_base: "ptp";

def rt_idx($list): . as $v | ($list | index($v)) // 99;

def rt_median:
	sort | if length == 0 then null
	elif length % 2 == 1 then .[(length - 1) / 2]
	else (.[length / 2 - 1] + .[length / 2]) / 2 end;

# {median, min, max, n} of an array of numbers (nulls left out)
def rt_spread:
	map(select(. != null)) |
	{median: rt_median, min: min, max: max, n: length};

# [{runtime, network, rounds, first_packet_ms, run_ms, x_first, x_run}]:
# the figures' spreads over rounds; x_: the chain's figure / this one,
# round by round (both measured seconds apart), then their spread
def runtime_summary:
	[.[] | select(.kind == "runtime_start")] as $all |
	# the chain's sample of the same runtime and round as $x
	def base_of($x):
		first($all[] | select(.runtime == $x.runtime and
				      .network == rt_base and
				      .round == $x.round)) // null;
	def x($x; f):
		base_of($x) as $b |
		if $b == null or ($x | f) == null or ($x | f) <= 0 then null
		else ($b | f) / ($x | f) end;
	$all |
	group_by([.runtime, (.network | rt_idx(["bpfnat", "ptp", "bridge"]))]) |
	map(. as $g | {
		runtime: $g[0].runtime, network: $g[0].network,
		rounds: ($g | length),
		first_packet_ms: ($g | map(.first_packet_ms) | rt_spread),
		run_ms: ($g | map(.run_ms) | rt_spread),
		x_first: ($g | map(x(.; .first_packet_ms)) | rt_spread),
		x_run: ($g | map(x(.; .run_ms)) | rt_spread)
	});

def rt_f0: if . == null then "-" else (round | tostring) end;
def rt_x: if . == null then "-" else ((. * 100 | round) / 100 | tostring) + "x" end;
def rt_range: if .median == null then "-" else "\(.min | rt_f0)..\(.max | rt_f0)" end;
def rt_pad($n): tostring | . + " " * ([$n - length, 0] | max);
def rt_lpad($n): tostring | " " * ([$n - length, 0] | max) + .;

# one line: network, rounds, then for each figure: median, range, ratio
def rt_row:
	[(.[0] | rt_pad(8)), (.[1] | rt_lpad(6)),
	 (.[2] | rt_lpad(13)), " " + (.[3] | rt_pad(10)), (.[4] | rt_lpad(6)),
	 (.[5] | rt_lpad(11)), " " + (.[6] | rt_pad(10)), (.[7] | rt_lpad(6))] |
	join(" ");

# the table's lines, from runtime_summary's array
def runtime_table:
	(["network", "rounds", "first packet", "range", "x \(rt_base)",
	  "podman run", "range", "x \(rt_base)"] | rt_row),
	(["", "", "ms", "", "", "ms", "", ""] | rt_row | sub(" +$"; "")),
	(.[] |
		[.network, (.rounds | tostring), (.first_packet_ms.median | rt_f0),
		 (.first_packet_ms | rt_range), (.x_first.median | rt_x),
		 (.run_ms.median | rt_f0), (.run_ms | rt_range),
		 (.x_run.median | rt_x)] | rt_row);

# runtime-start.sh alone: its lines in, the table out
def runtime_report: runtime_summary | runtime_table;
