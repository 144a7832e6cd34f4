# SPDX-License-Identifier: GPL-2.0-only
#
# The data files behind the plots, as tab-separated columns, from
# results.json.
#
#   jq -r --arg plot rate|cost|table|crr -f plots.jq results.json
#
# rate, cost: a line per configuration: its name, then median, min and max
# of udp-1-fwd, udp-10k-fwd, udp-1-rep and udp-10k-rep (kpps; ns per
# packet).  table: configuration, flows, kpps median, min and max.  crr:
# configuration, connections/s median, min and max.

def udp_order: ["udp-1-fwd", "udp-10k-fwd", "udp-1-rep", "udp-10k-rep"];
def config_order: ["gen", "veth", "route", "redirect", "ipt-legacy",
		   "ipt-nft", "nft", "bpfnat-tc", "bpfnat-xdp"];
def idx($list): . as $v | $list | index($v);

# a line per configuration with all four loads, through f (a {median,
# min, max} of the entry)
def udp_lines(f):
	[.main[] | select(.kind == "udp")] | group_by(.config) |
	sort_by(.[0].config | idx(config_order))[] |
	sort_by(.scenario | idx(udp_order)) |
	select(length == 4) |
	[.[0].config] + [.[] | f | (.median, .min, .max) // 0] | @tsv;

if $plot == "rate" then
	udp_lines(.value | map_values(if . == null then null else . / 1000 end))
elif $plot == "cost" then
	[.main[] | select(.config != "gen")] as $m | {main: $m} |
	udp_lines(.cost_ns)
elif $plot == "table" then
	.table[] | [.config, .flows] +
		(.value | [.median, .min, .max] | map(. / 1000)) | @tsv
elif $plot == "crr" then
	.main[] | select(.scenario == "tcp-crr") |
		[.config, .value.median, .value.min, .value.max] | @tsv
else
	error("unknown plot \($plot)")
end
