#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The benchmark's report: results.json (meta, every raw sample, medians and
# ratios), the table (printed and in table.txt) and the plots (PNG).
#
#   tools/bench/report.sh WORK OUT ELAPSED_SECONDS
#
# WORK holds samples.jsonl (and setup.jsonl, cni.jsonl) as tools/bench.sh
# left them.
set -euo pipefail

work=$1 out=$2 elapsed=$3
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
BASE=${BENCH_BASELINE:-ipt-nft}
L0=gen

touch "$work/samples.jsonl" "$work/setup.jsonl" "$work/cni.jsonl"
cat "$work/samples.jsonl" "$work/setup.jsonl" "$work/cni.jsonl" |
	jq -s . >"$work/samples.json"

version=${BPFNAT_VERSION:-$(git -C "$top" describe --tags --always --dirty \
	2>/dev/null || echo unknown)}
jq -n \
	--arg date "${BENCH_DATE:-$(date -u +%Y-%m-%dT%H:%M:%SZ)}" \
	--arg kernel "$(uname -r)" \
	--arg cpu "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)" \
	--argjson cpus "$(nproc)" --arg version "$version" \
	--argjson quick "${QUICK:-0}" --argjson rounds "${ROUNDS:-0}" \
	--argjson table_rounds "${TABLE_ROUNDS:-0}" \
	--arg udp_s "${UDP_S:-}" --arg warm_s "${WARM_S:-}" \
	--arg run_s "${RUN_S:-}" --argjson elapsed "$elapsed" \
	--arg base "$BASE" --arg l0 "$L0" '
	{date: $date, kernel: $kernel, cpu: $cpu, cpus: $cpus,
	 bpfnat_version: $version, quick: ($quick == 1), rounds: $rounds,
	 table_rounds: $table_rounds,
	 udp_seconds: ($udp_s | tonumber? // null),
	 warmup_seconds: ($warm_s | tonumber? // null),
	 tcp_seconds: ($run_s | tonumber? // null),
	 elapsed_seconds: $elapsed, baseline: $base, l0: $l0,
	 method: ("forwarding cost per packet = 1/pps(config) - " +
		  "1/pps(l0), per round; ratios per round against the " +
		  "baseline; medians with min and max over rounds")}' \
	>"$work/meta.json"

jq -L "$here" --arg base "$BASE" --arg l0 "$L0" -f "$here/summary.jq" \
	"$work/samples.json" >"$work/summary.json"

jq -n --slurpfile m "$work/meta.json" --slurpfile s "$work/summary.json" \
	--slurpfile raw "$work/samples.json" \
	'{meta: $m[0]} + $s[0] + {samples: $raw[0]}' >"$out/results.json"

# ---- the table ----

jq -L "$here" -r --arg base "$BASE" -f "$here/table.jq" "$out/results.json" |
	tee "$out/table.txt"

# ---- plots ----

for plot in rate cost table crr; do
	jq -r --arg plot "$plot" -f "$here/plots.jq" "$out/results.json" \
		>"$work/$plot.dat"
done

# gnuplot_to PNG SCRIPT ARGS...: one plot; a failure is said, not fatal
gnuplot_to() {
	local png=$1 script=$2
	shift 2
	gnuplot "$@" "$here/$script" 2>>"$work/gnuplot.log" ||
		echo "bench: plot $png failed (see $work/gnuplot.log)" >&2
}

if [[ -s $work/rate.dat ]]; then
	gnuplot_to rate.png rate.gp \
		-e "datafile='$work/rate.dat'; outfile='$out/rate.png'" \
		-e "set title '64-byte UDP packet rate at the sink (median, range over rounds)'" \
		-e "set ylabel 'kpps'; set yrange [0:*]"
fi
if [[ -s $work/cost.dat ]]; then
	# an outlier round must not flatten every bar: the scale follows
	# the medians, and a range beyond it runs off the top
	ymax=$(awk '{ for (i = 2; i <= NF; i += 3) if ($i > m) m = $i }
		END { print int(m * 2 + 100) }' "$work/cost.dat")
	gnuplot_to cost.png rate.gp \
		-e "datafile='$work/cost.dat'; outfile='$out/cost.png'" \
		-e "set title 'Forwarding cost per packet, 1/pps - 1/pps(gen) (median, range over rounds)'" \
		-e "set ylabel 'ns per packet'; set yrange [*:$ymax]"
fi
if [[ -s $work/table.dat ]]; then
	plots=""
	for cfg in $(cut -f1 "$work/table.dat" | sort -u); do
		awk -v c="$cfg" '$1 == c' "$work/table.dat" \
			>"$work/table-$cfg.dat"
		plots+="${plots:+, }'$work/table-$cfg.dat' using 2:3:4:5"
		plots+=" with yerrorlines title '$cfg'"
	done
	gnuplot_to table.png table.gp \
		-e "outfile='$out/table.png'; plots=\"$plots\""
fi
if [[ -s $work/crr.dat ]]; then
	gnuplot_to crr.png crr.gp \
		-e "datafile='$work/crr.dat'; outfile='$out/crr.png'"
fi
echo "results: $out/results.json, $out/table.txt, plots:" \
	"$(ls "$out"/*.png 2>/dev/null | tr '\n' ' ')"
