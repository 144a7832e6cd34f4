#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# bpfnat against the kernel's NATs, side by side, on one testbed.
#
#   tools/bench.sh [--quick] [--rounds N] [--configs "A B ..."]
#                  [--no-setup] [--no-cni] [--no-runtime] [--bpf-stats]
#
# Every configuration (limits: gen, veth, route, redirect; competitors:
# ipt-legacy, ipt-nft, nft; ours: bpfnat-tc, bpfnat-xdp) runs on the same
# topology, interleaved: each round sets every configuration up in turn
# (in a rotating order), runs all its scenarios, and takes it down.  A
# configuration whose setup fails is skipped, with the reason.  The method
# is DESIGN.md's "Benchmark method"; tools/bench/lib.sh draws the testbed.
# Each NAT also publishes a UDP and a TCP port of the container, as
# Docker's -p does (iptables or nftables DNAT; bpfnat port add), for the
# rows from the outside in: udp-10k-dnat and tcp-crr-dnat.
#
# Results go to $BENCH_OUT (default ./bench-results/): results.json (every
# raw sample, medians, ratios), the table printed here (table.txt), plots
# (*.png) and logs/.  Figures are compared only as ratios measured in the
# same run; nothing is asserted.
#
#   --quick      one short round of everything (CI keeps the harness
#                working with it): about a minute on 2 cores; the full
#                run (5 rounds) takes about 15 minutes
#   --no-setup   leave out the container setup times (tools/bench-setup.sh)
#   --no-cni     leave out CNI ADD and DEL latency, bpfnat's plugin against
#                ptp + host-local + portmap (tools/bench-cni.sh)
#   --no-runtime leave out podman run to first packet over bpfnat's
#                network against ptp's and podman's bridge
#                (tools/bench/runtime-start.sh; without podman, busybox-static,
#                the CNI plugins or tcpdump it is skipped, and said so)
#   --bpf-stats  also measure the run time of the BPF programs in place:
#                this turns the kernel's BPF statistics (a machine-wide
#                switch) on for a few seconds, through a file descriptor
#                that turns them off again when the measuring process ends
#
# Environment: BENCH_OUT; BENCH_BASELINE (default ipt-nft: Debian's
# iptables) is what ratios are taken against; BUILD (default build) is
# where the binaries are; BENCH_KEEP=1 keeps the work directory;
# BENCH_TRACE=1 traces the testbed's shell.
#
# All of it runs in network, mount and PID namespaces of its own: the
# machine's root namespace, its devices, routes, sysctls and firewall are
# never touched, and nothing outlives the run.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

# ---- inside the namespaces (tools/bench.sh runs itself there) ----

if [[ ${1:-} == --inside ]]; then
	[[ -z ${BENCH_TRACE:-} ]] || set -x
	# shellcheck source=tools/bench/lib.sh
	source "$top/tools/bench/lib.sh"
	# shellcheck source=tools/bench/run.sh
	source "$top/tools/bench/run.sh"
	bench_inside
	exit 0
fi

# ---- outside: options, checks, the run, the report ----

QUICK=0 ROUNDS="" CONFIGS="" SETUP=1 CNI=1 RUNTIME=1 BPF_STATS=0
while [[ $# -gt 0 ]]; do
	case $1 in
	--quick) QUICK=1 ;;
	--rounds) ROUNDS=$2; shift ;;
	--configs) CONFIGS=$2; shift ;;
	--no-setup) SETUP=0 ;;
	--no-cni) CNI=0 ;;
	--no-runtime) RUNTIME=0 ;;
	--bpf-stats) BPF_STATS=1 ;;
	-h | --help) sed -n '3,46p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done
if [[ -n $ROUNDS ]] && ! [[ $ROUNDS =~ ^[0-9]+$ && $ROUNDS -ge 1 &&
			     $ROUNDS -le 50 ]]; then
	echo "bench: --rounds: 1 to 50" >&2
	exit 2
fi

build=${BUILD:-$top/build}
[[ $build == /* ]] || build=$top/$build
OUT=${BENCH_OUT:-$top/bench-results}

if [[ $(id -u) -ne 0 ]]; then
	echo "bench: needs root (namespaces, BPF)" >&2
	exit 2
fi
for f in bpfnat bench.bpf.o tools/tcp_crr tools/testrun_ns tools/cni_chain \
	 cni/bpfnat; do
	[[ -e $build/$f ]] ||
		{ echo "bench: $build/$f missing; run make" >&2; exit 2; }
done
for tool in trafgen iperf3 gnuplot iptables-legacy iptables-nft nft \
	    conntrack jq bpftool tc ip ethtool unshare; do
	command -v "$tool" >/dev/null ||
		{ echo "bench: $tool missing; run make deps" >&2; exit 2; }
done

# Time per sample: UDP_S after WARM_S of warm-up; RUN_S (whole seconds,
# iperf3's unit) for TCP.  The flow-table scenario, long to prime at 1M
# flows, has rounds of its own.
if [[ $QUICK == 1 ]]; then
	: "${ROUNDS:=1}"
	TABLE_ROUNDS=1
	export UDP_S=0.3 WARM_S=0.2 RUN_S=1 TABLE_SIZES="1k 10k"
	export SETUP_SIZES="10" SETUP_IP_N=10 TESTRUN_CALLS=20000
	CNI_N=10 CNI_COLD=1 RUNTIME_ROUNDS=1
else
	: "${ROUNDS:=5}"
	TABLE_ROUNDS=3
	export UDP_S=1 WARM_S=0.4 RUN_S=2 TABLE_SIZES="1k 100k 1m"
	export SETUP_SIZES="10 100 1000" SETUP_IP_N=100 TESTRUN_CALLS=200000
	CNI_N=100 CNI_COLD=3 RUNTIME_ROUNDS=10
fi
export ROUNDS TABLE_ROUNDS QUICK BPF_STATS
export CONFIGS=${CONFIGS:-"gen veth route redirect ipt-legacy ipt-nft nft bpfnat-tc bpfnat-xdp"}

mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/bpfnat-bench.XXXXXX)
export WORK OUT
[[ -n ${BENCH_KEEP:-} ]] || trap 'rm -rf "$WORK"' EXIT
start=$(date +%s)
BENCH_DATE=$(date -u -d "@$start" +%Y-%m-%dT%H:%M:%SZ)
export BENCH_DATE

# The binaries this run measures, copied once: a rebuild during the run
# must not mix two versions into one set of samples.
mkdir -p "$WORK/build/tools" "$WORK/build/cni"
cp "$build/bpfnat" "$build/bench.bpf.o" "$WORK/build/"
cp "$build/tools/tcp_crr" "$build/tools/testrun_ns" "$build/tools/cni_chain" \
	"$WORK/build/tools/"
cp "$build/cni/bpfnat" "$WORK/build/cni/"
export BUILD=$WORK/build BPFNAT=$WORK/build/bpfnat
BPFNAT_VERSION=$("$BPFNAT" --version | awk '{ print $2 }')
export BPFNAT_VERSION

save_logs() {
	mkdir -p "$OUT/logs"
	cp "$WORK"/*.log "$OUT/logs/" 2>/dev/null || true
}

# Each run of the testbed gets fresh namespaces; --kill-child makes sure
# nothing it started survives it, and the whole run is bounded in time.
timeout --foreground 1500 unshare --net --mount --pid --fork --kill-child \
	"$0" --inside || {
	rc=$?
	echo >&2
	echo "bench: the testbed run failed (exit $rc); logs in $OUT/logs" >&2
	save_logs
	exit 1
}

if [[ $SETUP == 1 ]]; then
	# Container setup time: bpfnat with its data path up at each size,
	# each run in fresh namespaces; bpfnat down, one `bpfnat -batch` of
	# them all and the 'ip' command sequence next to it at the smaller
	# sizes.
	for n in $SETUP_SIZES; do
		printf '\r\033[K[setup] %d containers ...' "$n" >&2
		methods="bpfnat-up"
		[[ $n -le $SETUP_IP_N ]] && methods+=" bpfnat batch ip"
		"$top/tools/bench-setup.sh" -n "$n" -r 1 --json \
			--methods "$methods" >>"$WORK/setup.jsonl" \
			2>>"$WORK/setup.log" ||
			echo "bench: setup time at $n containers failed" >&2
	done
	printf '\r\033[K' >&2
fi

if [[ $RUNTIME == 1 ]]; then
	# podman run to the container's first packet on the outside, over
	# bpfnat's network and the standard chains; on this run's copy of
	# the build (each of its runs copies it off /tmp onto its own tmpfs).
	# Without podman & co. (exit 3) it is skipped, and the report says so.
	runtime_skip() {	# REASON
		printf '\r\033[K' >&2
		echo "bench: podman run to first packet skipped: $1" >&2
		jq -cn --arg r "$1" '{kind: "skip", config: "podman-run", reason: $r}' \
			>>"$WORK/setup.jsonl"
	}
	rt=$top/tools/bench/runtime-start.sh
	if why=$(BUILD=$BUILD "$rt" --check 2>&1); then
		printf '\r\033[K[runtime] podman run, %d round(s) ...' \
			"$RUNTIME_ROUNDS" >&2
		BUILD=$BUILD "$rt" -r "$RUNTIME_ROUNDS" --json \
			>>"$WORK/setup.jsonl" 2>>"$WORK/runtime.log" ||
			runtime_skip "failed (logs/runtime.log: $(tail -n1 \
				"$WORK/runtime.log" 2>/dev/null))"
		printf '\r\033[K' >&2
	else
		runtime_skip "${why#runtime-start: }"
	fi
fi

if [[ $CNI == 1 ]]; then
	# CNI ADD and DEL latency: bpfnat's plugin against the standard
	# chain, CNI_N containers side by side, and CNI_COLD first ADDs
	# that bring the data path up
	printf '\r\033[K[cni] %d containers ...' "$CNI_N" >&2
	"$top/tools/bench-cni.sh" -n "$CNI_N" --cold "$CNI_COLD" --json \
		>>"$WORK/cni.jsonl" 2>>"$WORK/cni.log" ||
		echo "bench: CNI latency failed (see logs/cni.log)" >&2
	printf '\r\033[K' >&2
fi

save_logs
"$top/tools/bench/report.sh" "$WORK" "$OUT" "$(($(date +%s) - start))"
