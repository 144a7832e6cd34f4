#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# How long a runtime waits for CNI: ADD and DEL of bpfnat's plugin against
# the standard chain, side by side in one run.
#
#   tools/bench-cni.sh [-n N] [--cold ROUNDS] [--configs "C..."] [--json]
#
# Configurations (each a conflist, driven by build/tools/cni_chain as
# libcni drives one: ADD plugin after plugin with prevResult, DEL in
# reverse with the cached result):
#   ptp-chain    ptp (ipMasq on: the masquerade bpfnat does too) with
#                host-local for IPAM, then portmap: Debian's
#                containernetworking-plugins from /usr/lib/cni
#   bpfnat       bpfnat's plugin with host-local for IPAM, as the conflist
#                that make install puts beside it
#   bpfnat-pool  bpfnat's plugin with its own pool (no "ipam" section)
# Every container publishes one TCP port (runtimeConfig.portMappings),
# through portmap's iptables rules or bpfnat's published ports.
#
# Steady state: one run in fresh network, mount and PID namespaces.  Each
# configuration makes and removes one container first (bpfnat's brings its
# data path up, portmap makes its chains), outside the figures.  Then for
# each of N containers (default 100) every configuration in turn (the
# order rotating) gets a fresh namespace (ip netns add, not timed) and an
# ADD (timed); then every container's DEL the same way.  The namespaces
# go at the end, untimed.  So both sides see the same machine at the same
# moments, and each side's own state grows as it would on a host.
#
# Cold start: ROUNDS (default 3) more runs, each in fresh namespaces, time
# the first ADD of ptp-chain and of bpfnat (in turn, the order alternating
# with the round): bpfnat's brings the data path up; the chain's makes
# its iptables chains.
#
# Times are wall clock, measured inside cni_chain from reading the
# conflist to writing its cache: the plugins' processes and what they
# run (host-local, iptables) included, the shell's fork of cni_chain not.
# Printed: median and p99 (nearest rank) in ms, and the chain's figure
# divided by this one; --json prints JSON lines (every sample, each
# plugin's share too) for tools/bench.sh instead.  The machine's root
# namespace is never touched; CNI's state (host-local's leases, the cache,
# /run/bpfnat) lives on the run's own tmpfs.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$top/build}
BPFNAT=$BUILD/bpfnat
CHAIN=$BUILD/tools/cni_chain
SYSTEM_CNI=/usr/lib/cni
ALL_CONFIGS="ptp-chain bpfnat bpfnat-pool"

# ---- inside a run's namespaces ----

# conflist CONFIG: its conflist on stdout.  Disjoint ranges of
# 172.18.0.0/16: bpfnat's pool picks from 172.18.0.2 up, host-local gives
# bpfnat 172.18.1.2 on and the chain 172.18.128.2 on.
conflist() {
	# shellcheck disable=SC2016 # jq's variables, not the shell's
	local leases='{type: "host-local", dataDir: "/run/cni-leases",
		routes: [{dst: "0.0.0.0/0"}],
		ranges: [[{subnet: "172.18.0.0/16", rangeStart: $from,
			   rangeEnd: $to}]]}'
	case $1 in
	ptp-chain)
		jq -n --arg from 172.18.128.2 --arg to 172.18.191.254 "
		{cniVersion: \"1.0.0\", name: \"chain\", plugins: [
			{type: \"ptp\", ipMasq: true, ipam: $leases},
			{type: \"portmap\", capabilities: {portMappings: true}}]}"
		;;
	bpfnat)
		jq -n --arg from 172.18.1.2 --arg to 172.18.63.254 "
		{cniVersion: \"1.0.0\", name: \"bpfnet\", plugins: [
			{type: \"bpfnat\", uplink: \"up0\", mode: \"tc\",
			 capabilities: {portMappings: true}, ipam: $leases}]}"
		;;
	bpfnat-pool)
		jq -n '{cniVersion: "1.0.0", name: "bpfpool", plugins: [
			{type: "bpfnat", uplink: "up0", mode: "tc",
			 capabilities: {portMappings: true}}]}'
		;;
	esac
}

# host port of container I of configuration number K
host_port() {
	echo $((10000 + $2 * 1000 + $1))
}

# the container ID of container I of CONFIG (short: bpfnat names an
# attachment after the ID's first 12 characters)
ctr_id() {
	case $1 in
	ptp-chain) echo "chain$2" ;;
	bpfnat) echo "bnat$2" ;;
	bpfnat-pool) echo "pool$2" ;;
	esac
}

# cni OP CONFIG K I: one timed command; its line (total us, then each
# plugin's) on stdout
cni() {
	local op=$1 cfg=$2 k=$3 i=$4 rt
	rt=$(printf '{"portMappings":[{"hostPort":%d,"containerPort":80,"protocol":"tcp"}]}' \
		"$(host_port "$i" "$k")")
	"$CHAIN" -t -r "$rt" "$op" "/run/bench-cni/$cfg.conflist" \
		"$(ctr_id "$cfg" "$i")" "/run/netns/$cfg-$i" eth0 ||
		{ echo "$op $cfg-$i failed" >&2; return 1; }
}

sandbox() {
	mount -t sysfs sysfs /sys
	mount -t bpf bpf /sys/fs/bpf
	mount -t tmpfs -o mode=0755 tmpfs /run
	# libcni's cache and host-local's default, should anything use them
	[[ ! -d /var/lib/cni ]] || mount -t tmpfs tmpfs /var/lib/cni
	export CNI_CACHE_DIR=/run/cni-cache
	export CNI_PATH=$BUILD/cni:$SYSTEM_CNI
	ip link set lo up
	# the uplink, its far end in an "outside" namespace
	ip netns add out
	ip link add up0 type veth peer name up0p netns out
	ip addr add 198.51.100.1/24 dev up0
	ip link set up0 up
	ip -n out addr add 198.51.100.2/24 dev up0p
	ip -n out link set up0p up
	ip route add default via 198.51.100.2
	mkdir -p /run/bench-cni
	for cfg in $ALL_CONFIGS; do
		conflist "$cfg" >"/run/bench-cni/$cfg.conflist"
	done
}

# one JSON line: CONFIG OP PHASE and the lines of cni's output on stdin
emit() {
	local cfg=$1 op=$2 phase=$3
	jq -cRn --arg c "$cfg" --arg o "$op" --arg p "$phase" \
		--argjson n "${N:-1}" --slurpfile l "/run/bench-cni/$cfg.conflist" '
		[inputs | split(" ") | map(tonumber)] as $s |
		{kind: "cni", phase: $p, config: $c, op: $o, containers: $n,
		 us: [$s[][0]],
		 plugins: [$l[0].plugins | to_entries[] |
			   {type: .value.type, us: [$s[][.key + 1]]}]}'
}

inside_steady() {	# "CONFIG..."
	local cfgs n_cfg k i j cfg op
	read -ra cfgs <<<"$1"
	n_cfg=${#cfgs[@]}
	sandbox
	# each side's first container, not measured
	for ((k = 0; k < n_cfg; k++)); do
		cfg=${cfgs[k]}
		ip netns add "$cfg-0"
		cni ADD "$cfg" "$k" 0 >/dev/null
		cni DEL "$cfg" "$k" 0 >/dev/null
	done
	for op in ADD DEL; do
		for ((i = 1; i <= N; i++)); do
			for ((j = 0; j < n_cfg; j++)); do
				k=$(((i + j) % n_cfg))
				cfg=${cfgs[k]}
				[[ $op == DEL ]] || ip netns add "$cfg-$i"
				cni "$op" "$cfg" "$k" "$i" >>"/run/bench-cni/$cfg.$op"
			done
		done
		# every container made works: the last of each reaches the
		# outside, and every port is published
		if [[ $op == ADD ]]; then
			for cfg in "${cfgs[@]}"; do
				ip netns exec "$cfg-$N" ping -q -c1 -W2 \
					198.51.100.2 >/dev/null ||
					{ echo "$cfg-$N does not reach the outside" >&2
					  return 1; }
			done
			check_ports "${cfgs[@]}"
		fi
	done
	for cfg in "${cfgs[@]}"; do
		for op in ADD DEL; do
			emit "$cfg" "$op" steady <"/run/bench-cni/$cfg.$op"
		done
	done
	# nothing of them is left
	[[ $(ip -o link show | grep -c '^[0-9]*: \(bn\|veth\)' || true) == 0 ]] ||
		{ echo "interfaces left after DEL" >&2; return 1; }
}

# check_ports CONFIG...: each published N ports
check_ports() {
	local cfg want=$N got
	for cfg in "$@"; do
		case $cfg in
		ptp-chain)
			got=$(iptables -t nat -S | grep -c -- '-j DNAT' || true) ;;
		*)
			got=$("$BPFNAT" port list -j |
			      jq --arg c "$(ctr_id "$cfg" "")" '[.[] | select(.container |
				startswith($c))] | length') ;;
		esac
		[[ $got == "$want" ]] ||
			{ echo "$cfg: $got ports published, not $want" >&2
			  return 1; }
	done
}

inside_cold() {	# ROUND
	local round=$1 cfgs=(ptp-chain bpfnat) j k cfg
	sandbox
	for ((j = 0; j < 2; j++)); do
		k=$(((round + j) % 2))
		cfg=${cfgs[k]}
		ip netns add "$cfg-1"
		cni ADD "$cfg" "$k" 1 >"/run/bench-cni/$cfg.cold"
	done
	[[ $("$BPFNAT" status -j | jq -r .state) == up ]] ||
		{ echo "bpfnat's ADD did not bring the data path up" >&2
		  return 1; }
	for cfg in "${cfgs[@]}"; do
		emit "$cfg" ADD cold <"/run/bench-cni/$cfg.cold"
	done
}

if [[ ${1:-} == --inside ]]; then
	case $2 in
	steady) N=$3 inside_steady "$4" ;;
	cold) N=1 inside_cold "$3" ;;
	esac
	exit 0
fi

# ---- outside ----

n=100 cold=3 configs=$ALL_CONFIGS json=0
while [[ $# -gt 0 ]]; do
	case $1 in
	-n) n=$2; shift ;;
	--cold) cold=$2; shift ;;
	--configs) configs=$2; shift ;;
	--json) json=1 ;;
	-h | --help) sed -n '3,42p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench-cni: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
# (bpfnat-pool's addresses stay below host-local's range up to 250)
if ! [[ $n =~ ^[0-9]+$ && $n -ge 1 && $n -le 250 &&
	$cold =~ ^[0-9]+$ && $cold -le 20 ]]; then
	echo "bench-cni: -n 1 to 250, --cold 0 to 20" >&2
	exit 2
fi
for c in $configs; do
	[[ " $ALL_CONFIGS " == *" $c "* ]] ||
		{ echo "bench-cni: unknown configuration $c" >&2; exit 2; }
done
if [[ $(id -u) -ne 0 ]]; then
	echo "bench-cni: needs root (namespaces)" >&2
	exit 2
fi
for f in "$BPFNAT" "$BUILD/cni/bpfnat" "$CHAIN"; do
	[[ -x $f ]] || { echo "bench-cni: $f missing; run make" >&2; exit 2; }
done
for p in ptp host-local portmap; do
	[[ -x $SYSTEM_CNI/$p ]] || { echo "bench-cni: $SYSTEM_CNI/$p missing" \
		"(containernetworking-plugins; make deps)" >&2; exit 2; }
done

# run WHAT ARGS...: one run in namespaces of its own, its JSON lines out
run() {
	timeout $((60 + n * 3)) unshare --net --mount --pid --fork \
		--kill-child --mount-proc "$0" --inside "$@"
}

lines=$(mktemp)
trap 'rm -f "$lines"' EXIT
[[ $json == 1 ]] || printf '[cni] %d containers ...' "$n" >&2
run steady "$n" "$configs" >>"$lines" ||
	{ echo "bench-cni: the steady-state run failed" >&2; exit 1; }
for ((r = 1; r <= cold; r++)); do
	[[ $json == 1 ]] || printf '\r\033[K[cni] cold start %d/%d' "$r" "$cold" >&2
	run cold "$r" | jq -c --argjson r "$r" '.round = $r' >>"$lines" ||
		{ echo "bench-cni: cold start $r failed" >&2; exit 1; }
done
if [[ $json == 1 ]]; then
	cat "$lines"
	exit 0
fi
printf '\r\033[K' >&2
printf 'CNI latency, %d containers (%s, %s, %d CPUs)\n' "$n" \
	"$(date -u +%Y-%m-%d)" "$(uname -r)" "$(nproc)"
jq -s -r -L "$top/tools/bench" 'include "cni"; cni_report' "$lines"
