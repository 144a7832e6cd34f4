# SPDX-License-Identifier: GPL-2.0-only
#
# CNI latency (tools/bench-cni.sh's JSON lines): medians, p99 and ratios
# to the standard chain, and their table.  A module: summary.jq and
# table.jq include it (jq -L tools/bench), as does bench-cni.sh alone.
#
# Each line: {kind: "cni", phase: "steady"|"cold", config, op, containers,
# round (cold), us: [each command's microseconds], plugins: [{type, us}]}.

def cni_base: "ptp-chain";

# the value of nearest rank $p (percent) of an array of numbers
def cni_rank($p):
	sort | if length == 0 then null
	else .[([(length * $p / 100 | ceil), 1] | max) - 1] end;

def cni_ms: if . == null then null else . / 1000 end;

def cni_idx($list): . as $v | ($list | index($v)) // 99;

# [{phase, op, config, containers, rounds, n, median_ms, p99_ms, min_ms,
#   max_ms, plugins: [{type, median_ms}], x_median, x_p99}]
def cni_summary:
	[.[] | select(.kind == "cni")] |
	group_by([(.phase | cni_idx(["steady", "cold"])), .op,
		  (.config | cni_idx(["ptp-chain", "bpfnat", "bpfnat-pool"]))]) |
	map(. as $g | [$g[].us[]] as $us | {
		phase: $g[0].phase, op: $g[0].op, config: $g[0].config,
		containers: $g[0].containers, rounds: ($g | length),
		n: ($us | length),
		median_ms: ($us | cni_rank(50) | cni_ms),
		p99_ms: ($us | cni_rank(99) | cni_ms),
		min_ms: ($us | min | cni_ms), max_ms: ($us | max | cni_ms),
		plugins: [$g[0].plugins | to_entries[] | .key as $i |
			  {type: .value.type,
			   median_ms: ([$g[].plugins[$i].us[]] | cni_rank(50) |
				       cni_ms)}]
	}) |
	. as $all |
	map(. as $x |
	    (first($all[] | select(.phase == $x.phase and .op == $x.op and
				    .config == cni_base)) // null) as $b |
	    $x + {
		x_median: (if $b == null or $x.median_ms == 0 then null
			   else $b.median_ms / $x.median_ms end),
		x_p99: (if $b == null or $x.p99_ms == 0 then null
			else $b.p99_ms / $x.p99_ms end)
	    });

def cni_f1: if . == null then "-" else ((. * 10 | round) / 10 | tostring) end;
def cni_x: if . == null then "-" else ((. * 10 | round) / 10 | tostring) + "x" end;
def cni_pad($n): tostring | . + " " * ([$n - length, 0] | max);
def cni_lpad($n): tostring | " " * ([$n - length, 0] | max) + .;

# the table's lines, from cni_summary's array
def cni_table:
	"phase   op   config        n  median     p99   x chain   x chain  each plugin's",
	"                                  ms      ms   (median)    (p99)  median, ms",
	(.[] |
		[(.phase | cni_pad(7)), (.op | cni_pad(4)), (.config | cni_pad(11)),
		 (.n | tostring | cni_lpad(4)), (.median_ms | cni_f1 | cni_lpad(7)),
		 (.p99_ms | cni_f1 | cni_lpad(7)), (.x_median | cni_x | cni_lpad(9)),
		 (.x_p99 | cni_x | cni_lpad(8)),
		 " " + ([.plugins[] | "\(.type) \(.median_ms | cni_f1)"] |
			join(", "))] | join(" "));

# bench-cni.sh alone: its lines in, the table out
def cni_report: cni_summary | cni_table;
