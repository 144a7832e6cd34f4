# SPDX-License-Identifier: GPL-2.0-only
#
# The data files behind the plots, as tab-separated columns, from
# results.json.
#
#   jq -r --arg plot rate|cost|table|crr -f plots.jq results.json
#
# rate, cost: a line per configuration: its name, then median, min and max
# of udp-1-fwd, udp-10k-fwd, udp-1-rep, udp-10k-rep, udp-10k-dnat,
# udp6-10k-fwd and udp6-10k-rep (kpps; ns per packet; 0 for a load it did
# not run).  table: configuration,
# flows, kpps median, min and max.  crr: configuration, connections/s
# median, min and max of tcp-crr, then of tcp-crr-dnat.

def udp_order: ["udp-1-fwd", "udp-10k-fwd", "udp-1-rep", "udp-10k-rep",
		"udp-10k-dnat", "udp6-10k-fwd", "udp6-10k-rep"];
def config_order: ["gen", "veth", "route", "redirect", "ipt-legacy",
		   "ipt-nft", "nft", "bpfnat-tc", "bpfnat-xdp"];
def idx($list): . as $v | $list | index($v);

# a line per configuration with a column triple per load, through f (a
# {median, min, max} of the entry)
def udp_lines(f):
	[.main[] | select(.kind == "udp")] | group_by(.config) |
	sort_by(.[0].config | idx(config_order))[] |
	. as $runs |
	[.[0].config] + [udp_order[] as $s |
		(first($runs[] | select(.scenario == $s)) // null) as $e |
		if $e == null then 0, 0, 0
		else $e | f | (.median // 0), (.min // 0), (.max // 0) end] |
	@tsv;

# the {median, min, max} of a scenario of a configuration, zeros if none
def of($cfg; $scen):
	(first(.main[] | select(.config == $cfg and .scenario == $scen)) //
	 null) as $e |
	if $e == null then [0, 0, 0]
	else $e.value | [.median, .min, .max] | map(. // 0) end;

if $plot == "rate" then
	udp_lines(.value | map_values(if . == null then null else . / 1000 end))
elif $plot == "cost" then
	[.main[] | select(.config != "gen")] as $m | {main: $m} |
	udp_lines(.cost_ns)
elif $plot == "table" then
	.table[] | [.config, .flows] +
		(.value | [.median, .min, .max] | map(. / 1000)) | @tsv
elif $plot == "crr" then
	. as $all |
	[.main[] | select(.scenario | startswith("tcp-crr")) | .config] |
	unique | sort_by(idx(config_order))[] as $c |
	[$c] + ($all | of($c; "tcp-crr")) + ($all | of($c; "tcp-crr-dnat")) |
	@tsv
else
	error("unknown plot \($plot)")
end
