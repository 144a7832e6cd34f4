#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# From `podman run` to the container's first packet on the outside, over
# bpfnat's CNI plugin against Debian's standard CNI chains, side by side.
#
#   tools/bench/runtime-start.sh [-r ROUNDS] [--networks "N..."] [--json]
#                                [--check]
#
# Networks (default "bpfnat ptp bridge"), each a conflist of podman's CNI
# backend, host-local over 172.18.0.0/16 in every one:
#   bpfnat   bpfnat (tc mode), capabilities portMappings
#   ptp      ptp with ipMasq, then portmap: the kernel forwards and
#            masquerades (iptables)
#   bridge   podman's own default network as podman 4.3 writes it: bridge
#            (isGateway, ipMasq), portmap, firewall, tuning
#
# A sample: `podman run --rm --network N -p 8080:80 --cap-add net_raw
# --rootfs busybox ping -c1 198.51.100.2`; first_packet_ms is from just before podman starts to
# the echo request's kernel timestamp on the outside's interface (tcpdump
# there, each run's request told apart by its size), run_ms to podman's
# exit (the reply, the container's end, DEL).  Each round runs every
# network in turn (rotating order) in network, mount and PID namespaces
# of its own, built fresh: a first run, which brings bpfnat's data path up
# and fills podman's storage, is not counted; then one counted run.
# Printed: median and range per network, and the chain's (ptp's) figure
# over this one, round by round (tools/bench/runtime.jq); --json prints
# one object per sample instead, for tools/bench.sh:
#   {"kind":"runtime_start","runtime":"podman","network":N,"round":R,
#    "first_packet_ms":F,"run_ms":T}
#
# Needs podman, busybox-static, containernetworking-plugins, tcpdump
# (tools/deps.sh); BUILD (default build) has bpfnat and cni/bpfnat.
# Without them it says what is missing and exits 3; --check only checks
# (tools/bench.sh skips the piece on 3).  All of it runs on tmpfs in the
# run's namespaces: the machine's root namespace, its firewall and its
# storage are never touched.  Nothing is asserted: the figures are
# compared as ratios.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$top/build}
[[ $BUILD == /* ]] || BUILD=$top/$BUILD

# ---- inside a run's namespaces: one network, one counted sample ----

if [[ ${1:-} == --inside ]]; then
	net=$2
	mount -t sysfs sysfs /sys
	mount -t bpf bpf /sys/fs/bpf
	mount -t tmpfs -o mode=0755 tmpfs /run
	# the binaries onto the run's own tmpfs first: the one below hides
	# /tmp, where tools/bench.sh keeps the copy it measures
	mkdir -p /run/bench-build/cni
	cp "$BUILD/bpfnat" /run/bench-build/
	cp "$BUILD/cni/bpfnat" /run/bench-build/cni/
	BUILD=/run/bench-build
	mount -t tmpfs tmpfs /tmp
	ip link set lo up
	# tests/lib.sh's outside (198.51.100.0/24 behind up0) and
	# tests/runtimes.sh's CNI world, podman configured by the same
	# podman_conf as tests/e2e/podman.sh
	export BPFNAT=$BUILD/bpfnat BPFNAT_BUILD=$BUILD BPFNAT_MODE=tc
	# shellcheck source=tests/lib.sh
	source "$top/tests/lib.sh"
	# shellcheck source=tests/runtimes.sh
	source "$top/tests/runtimes.sh"
	NET=$net LEASES=/var/lib/cni/networks/$net
	cni_world
	iptables -P FORWARD ACCEPT	# the kernel's chains forward
	podman_conf
	ipam='{type: "host-local", ranges: [[{subnet: "172.18.0.0/16",
		gateway: "172.18.0.1"}]], routes: [{dst: "0.0.0.0/0"}]}'
	conf=/etc/cni/net.d/$net.conflist
	case $net in
	bpfnat) net_conf "$conf" 0.4.0 ;;
	ptp)
		jq -n --arg net "$net" "{cniVersion: \"0.4.0\", name: \$net,
			plugins: [{type: \"ptp\", ipMasq: true, ipam: $ipam},
				  {type: \"portmap\",
				   capabilities: {portMappings: true}}]}" >"$conf"
		;;
	bridge)
		jq -n --arg net "$net" "{cniVersion: \"0.4.0\", name: \$net,
			plugins: [{type: \"bridge\", bridge: \"cni-podman0\",
				   isGateway: true, ipMasq: true,
				   hairpinMode: true, ipam: $ipam},
				  {type: \"portmap\",
				   capabilities: {portMappings: true}},
				  {type: \"firewall\", backend: \"\"},
				  {type: \"tuning\"}]}" >"$conf"
		;;
	esac

	in_ns out tcpdump -nli eth0 -tt --immediate-mode \
		'icmp[icmptype] == icmp-echo' >/tmp/echo.txt 2>/tmp/tcpdump.log &
	retry 50 grep -qs "listening on" /tmp/tcpdump.log

	# one_run SIZE: podman run to the echo request of SIZE payload
	# bytes; prints the milliseconds to it and to podman's exit
	one_run() {
		local size=$1 t0 t1 seen
		t0=$EPOCHREALTIME
		podman run --rm --cgroups=disabled --network "$net" \
			--cap-add net_raw -p 8080:80 --rootfs "$ROOTFS" \
			ping -c1 -W5 -s "$size" 198.51.100.2 >/dev/null
		t1=$EPOCHREALTIME
		retry 50 grep -q "length $((size + 8))\$" /tmp/echo.txt ||
			{ echo "no echo request of $size bytes" >&2; exit 1; }
		seen=$(awk -v l="length $((size + 8))" 'substr($0,
			length($0) - length(l) + 1) == l { print $1; exit }' \
			/tmp/echo.txt)
		awk -v a="$t0" -v b="$seen" -v c="$t1" \
			'BEGIN { printf "%.1f %.1f\n", (b - a) * 1000, (c - a) * 1000 }'
	}
	one_run 100 >/dev/null	# not counted
	one_run 200
	exit 0
fi

# ---- outside ----

rounds=10 networks="bpfnat ptp bridge" json=0 check=0
while [[ $# -gt 0 ]]; do
	case $1 in
	-r) rounds=$2; shift ;;
	--networks) networks=$2; shift ;;
	--json) json=1 ;;
	--check) check=1 ;;
	-h | --help) sed -n '3,38p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "runtime-start: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
if ! [[ $rounds =~ ^[0-9]+$ && $rounds -ge 1 && $rounds -le 50 ]]; then
	echo "runtime-start: -r 1 to 50" >&2
	exit 2
fi
for n in $networks; do
	case $n in
	bpfnat | ptp | bridge) ;;
	*) echo "runtime-start: unknown network $n" >&2; exit 2 ;;
	esac
done
if [[ $(id -u) -ne 0 ]]; then
	echo "runtime-start: needs root (namespaces)" >&2
	exit 2
fi
# what this machine lacks (exit 3: nothing measured, nothing wrong)
for tool in podman tcpdump jq /bin/busybox /usr/lib/cni/ptp \
	    "$BUILD/bpfnat" "$BUILD/cni/bpfnat"; do
	command -v "$tool" >/dev/null && continue
	case $tool in
	podman | tcpdump | jq) echo "$tool is not installed (tools/deps.sh)" ;;
	/bin/busybox) echo "busybox-static is not installed (tools/deps.sh)" ;;
	/usr/lib/cni/*) echo "containernetworking-plugins is not installed (tools/deps.sh)" ;;
	*) echo "$tool missing (make)" ;;
	esac | sed 's/^/runtime-start: /' >&2
	exit 3
done
[[ $check == 0 ]] || exit 0

read -ra nets <<<"$networks"
lines=""
for ((r = 1; r <= rounds; r++)); do
	for ((k = 0; k < ${#nets[@]}; k++)); do
		n=${nets[$(((k + r - 1) % ${#nets[@]}))]}
		[[ $json == 1 ]] || printf '\r\033[K[round %d/%d] %s' \
			"$r" "$rounds" "$n" >&2
		if ! out=$(timeout 120 unshare --net --mount --pid --fork \
			   --kill-child --mount-proc "$0" --inside "$n"); then
			echo "runtime-start: $n, round $r failed" >&2
			exit 1
		fi
		read -r f t <<<"$out"
		line=$(printf '{"kind":"runtime_start","runtime":"podman","network":"%s","round":%d,"first_packet_ms":%s,"run_ms":%s}' \
			"$n" "$r" "$f" "$t")
		if [[ $json == 1 ]]; then
			echo "$line"
		else
			lines+=$line$'\n'
		fi
	done
done
[[ $json == 1 ]] && exit 0
printf '\r\033[K' >&2

printf 'podman run to first packet, %d rounds (podman %s, %s, Linux %s)\n' \
	"$rounds" "$(podman --version | awk '{ print $3 }')" \
	"$(date -u +%Y-%m-%d)" "$(uname -r)"
printf '%s' "$lines" |
	jq -s -r -L "$top/tools/bench" 'include "runtime"; runtime_report'
