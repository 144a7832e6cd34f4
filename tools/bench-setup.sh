#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# How long it takes to set up a container: `bpfnat ns add` against the
# same work done with `ip` commands, side by side in one run.
#
#   tools/bench-setup.sh [-n N] [-r ROUNDS] [--methods "M..."] [--json]
#
# Methods (default "bpfnat ip"):
#   bpfnat     `bpfnat ns add cN` with the data path down
#   bpfnat-up  the same with the data path up (it also attaches bpfnat's
#              tc program to the new veth and adds the container's map entry)
#   batch      the N `ns add` lines in one `bpfnat -batch FILE` (data path
#              down; writing the file is not timed)
#   ip         per container: ip netns add; ip link add veth peer in the
#              namespace; lo and eth0 up; eth0's address; default route;
#              the gateway address, forwarding, proxy ARP (and its delay)
#              and a /32 route on the host side; the sysctls through
#              sysctl(8), as a shell script would do it
#
# Each method makes N containers (default 200) in network, mount and PID
# namespaces of its own, which vanish with everything in them; the methods
# take turns over ROUNDS rounds (default 3).  Printed: milliseconds per
# container for each method (median and range over the rounds) and how
# many times faster bpfnat is.  --json prints one JSON object per run
# instead.  The machine's root namespace is never touched.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$top/build}
BPFNAT=$BUILD/bpfnat

# ---- inside a run's namespaces: make the containers, print the time ----

if [[ ${1:-} == --inside ]]; then
	method=$2 n=$3
	mount -t sysfs sysfs /sys
	mount -t bpf bpf /sys/fs/bpf
	mount -t tmpfs -o mode=0755 tmpfs /run
	ip link set lo up
	if [[ $method == bpfnat-up ]]; then
		ip link add up0 type veth peer name up0p
		ip addr add 198.51.100.1/24 dev up0
		ip link set up0 up
		"$BPFNAT" up --uplink up0 >/dev/null
	fi

	# the ip method's addresses, as bpfnat would pick them
	addr_of() {
		echo "172.18.$(( ($1 + 1) / 256 )).$(( ($1 + 1) % 256 ))"
	}

	ip_container() {	# I
		local name=c$1 addr host
		addr=$(addr_of "$1")
		# shellcheck disable=SC2086 # the four bytes, split
		host=$(printf 'bn%02x%02x%02x%02x' ${addr//./ })
		ip netns add "$name"
		ip link add "$host" type veth peer name eth0 netns "$name"
		ip -n "$name" link set lo up
		ip -n "$name" addr add "$addr/16" dev eth0
		ip -n "$name" link set eth0 up
		ip -n "$name" route add default via 172.18.0.1 dev eth0
		sysctl -qw "net.ipv4.conf.$host.forwarding=1" \
			"net.ipv4.conf.$host.proxy_arp=1" \
			"net.ipv4.neigh.$host.proxy_delay=0"
		ip addr add 172.18.0.1/32 dev "$host"
		ip link set "$host" up
		ip route add "$addr/32" dev "$host" src 172.18.0.1
	}

	if [[ $method == batch ]]; then
		for ((i = 1; i <= n; i++)); do
			echo "ns add c$i"
		done >/run/batch
	fi

	start=$EPOCHREALTIME
	if [[ $method == batch ]]; then
		"$BPFNAT" -batch /run/batch
	fi
	for ((i = 1; i <= n; i++)); do
		case $method in
		bpfnat | bpfnat-up) "$BPFNAT" ns add "c$i" ;;
		ip) ip_container "$i" ;;
		esac
	done
	end=$EPOCHREALTIME

	# every container is there and reachable from the host side
	made=$(ip netns list | grep -c '^c[0-9]')
	[[ $made == "$n" ]] || { echo "made $made of $n" >&2; exit 1; }
	ping -q -c1 -W2 "$(addr_of "$n")" >/dev/null ||
		{ echo "the last container does not answer" >&2; exit 1; }
	awk -v s="$start" -v e="$end" -v n="$n" \
		'BEGIN { printf "%.3f\n", (e - s) * 1000 / n }'
	exit 0
fi

# ---- outside ----

n=200 rounds=3 methods="bpfnat ip" json=0
while [[ $# -gt 0 ]]; do
	case $1 in
	-n) n=$2; shift ;;
	-r) rounds=$2; shift ;;
	--methods) methods=$2; shift ;;
	--json) json=1 ;;
	-h | --help) sed -n '3,26p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench-setup: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
if ! [[ $n =~ ^[0-9]+$ && $n -ge 1 && $n -le 4000 &&
	$rounds =~ ^[0-9]+$ && $rounds -ge 1 && $rounds -le 20 ]]; then
	echo "bench-setup: -n 1 to 4000, -r 1 to 20" >&2
	exit 2
fi
for m in $methods; do
	case $m in
	bpfnat | bpfnat-up | batch | ip) ;;
	*) echo "bench-setup: unknown method $m" >&2; exit 2 ;;
	esac
done
if [[ $(id -u) -ne 0 ]]; then
	echo "bench-setup: needs root (namespaces)" >&2
	exit 2
fi
[[ -x $BPFNAT ]] || { echo "bench-setup: $BPFNAT missing; run make" >&2; exit 2; }

declare -A ms=()
for ((r = 1; r <= rounds; r++)); do
	for m in $methods; do
		[[ $json == 1 ]] || printf '\r\033[K[round %d/%d] %s: %d containers' \
			"$r" "$rounds" "$m" "$n" >&2
		# bounded: a minute per hundred containers and then some
		if ! t=$(timeout $((60 + n * 600 / 1000)) unshare --net --mount \
			 --pid --fork --kill-child --mount-proc \
			 "$0" --inside "$m" "$n"); then
			echo "bench-setup: $m with $n containers failed" >&2
			exit 1
		fi
		ms[$m]+="$t "
		if [[ $json == 1 ]]; then
			printf '{"kind":"setup","method":"%s","containers":%d,"round":%d,"ms_per_container":%s}\n' \
				"$m" "$n" "$r" "$t"
		fi
	done
done
[[ $json == 1 ]] && exit 0
printf '\r\033[K' >&2

median() {	# values...
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
		END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

printf 'container setup, %d containers, %d rounds (%s, %s)\n' "$n" "$rounds" \
	"$(date -u +%Y-%m-%d)" "$(uname -r)"
printf '  %-10s %10s  %s\n' method "ms/cont." "range over rounds"
for m in $methods; do
	# shellcheck disable=SC2086
	med=$(median ${ms[$m]})
	# shellcheck disable=SC2086
	range=$(printf '%s\n' ${ms[$m]} | sort -g | sed -n '1p;$p' | paste -sd- -)
	printf '  %-10s %10.2f  %s\n' "$m" "$med" "$range"
	declare "med_${m//-/_}=$med"
done
if [[ -n ${med_bpfnat:-} && -n ${med_ip:-} ]]; then
	awk -v b="$med_bpfnat" -v i="$med_ip" 'BEGIN {
		printf "  bpfnat is %.1fx faster than the ip commands\n", i / b }'
fi
if [[ -n ${med_batch:-} && -n ${med_ip:-} ]]; then
	awk -v b="$med_batch" -v i="$med_ip" 'BEGIN {
		printf "  bpfnat -batch is %.1fx faster than the ip commands\n", i / b }'
fi
