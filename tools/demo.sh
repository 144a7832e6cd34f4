#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# bpfnat in two minutes: a small world in a throw-away namespace, shown
# working, then gone.  Nothing outside that namespace is touched.
#
#   world:  containers web and db in 172.18.0.0/16, this namespace as the
#           host, and "outside" (198.51.100.2 behind uplink up0) serving
#           HTTP on 198.51.100.2:80
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
BPFNAT=${BPFNAT:-$top/build/bpfnat}

if [[ ${BPFNAT_DEMO_INSIDE:-} != 1 ]]; then
	[[ $(id -u) -eq 0 ]] || { echo "demo: run as root (sudo make demo)" >&2; exit 1; }
	[[ -x $BPFNAT ]] || { echo "demo: $BPFNAT missing; run make" >&2; exit 1; }
	export BPFNAT BPFNAT_DEMO_INSIDE=1
	# fresh network, mount and PID namespaces: all of it dies with us
	exec unshare -n -m -p -f --mount-proc "$0" "$@"
fi

mount -t sysfs sysfs /sys
mount -t bpf bpf /sys/fs/bpf
mount -t tmpfs tmpfs /run
# A checkout under /tmp stays in view of the tmpfs about to cover /tmp.
if [[ $BPFNAT == /tmp/* ]]; then
	mkdir -p /run/bpfnat-demo
	mount --bind "$(dirname "$BPFNAT")" /run/bpfnat-demo
	BPFNAT=/run/bpfnat-demo/$(basename "$BPFNAT")
fi
mount -t tmpfs tmpfs /tmp
ip link set lo up

bold=$(tput bold 2>/dev/null || true)
plain=$(tput sgr0 2>/dev/null || true)
say() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
run() { printf '%s$ %s%s\n' "$bold" "$*" "$plain"; "$@"; }
bpfnat() { "$BPFNAT" "$@"; }

say "Two containers, built over netlink (no ip, no bridge)"
run bpfnat ns add web
run bpfnat ns add db
run bpfnat ns list
run ip -br addr show
run ip route
run ip netns exec web ip -br addr show dev eth0
run ip netns exec web ip route

say "They reach each other and the gateway through the kernel"
run ip netns exec web ping -c2 -i0.2 -W2 172.18.0.3
run ip netns exec db ping -c1 -W2 172.18.0.1

say "The outside: a namespace behind the uplink up0, with a web server"
ip netns add outside
ip link add up0 type veth peer name eth0 netns outside
ip addr add 198.51.100.1/24 dev up0
ip link set up0 up
ip -n outside addr add 198.51.100.2/24 dev eth0
ip -n outside link set eth0 up
ip -n outside link set lo up
ip route add default via 198.51.100.2
web=$(mktemp -d)
head -c $((8 * 1024 * 1024)) /dev/urandom >"$web/blob"
cat >"$web/nginx.conf" <<EOF
user root; daemon on; pid $web/nginx.pid; error_log $web/error.log;
events { worker_connections 16; }
http { access_log $web/access.log; client_body_temp_path $web;
	server { listen 198.51.100.2:80; root $web; } }
EOF
ip netns exec outside nginx -c "$web/nginx.conf" -e "$web/error.log"
echo "outside: nginx on 198.51.100.2:80 serving an 8 MiB file"

say "bpfnat up: SNAT to the uplink's address, conntrack in BPF maps"
run bpfnat up --uplink up0
run bpfnat status
run tc filter show dev up0 ingress

say "web downloads from the outside; the server sees the SNAT address"
run ip netns exec web curl -s -o /tmp/blob http://198.51.100.2/blob
cmp -s /tmp/blob "$web/blob" && echo "download byte-identical: yes"
echo "the server saw the client as: $(awk '{ print $1 }' "$web/access.log" | sort -u)"
run ip netns exec db ping -c2 -i0.2 -W2 198.51.100.2
run bpfnat ct list

say "Proof that BPF carries it: the kernel's forwarding off, FORWARD dropping"
sysctl -qw net.ipv4.ip_forward=1
run sysctl -w net.ipv4.ip_forward=0
run iptables -P FORWARD DROP
run ip netns exec web ping -c2 -i0.2 -W2 198.51.100.2
run ip netns exec web ping -c2 -i0.2 -W2 172.18.0.3
run ip6tables -P FORWARD DROP
run ip netns exec web ping -6 -c2 -i0.2 -W2 fd00:18::3
run bpfnat stats

say "Fail closed: what cannot be NATed never leaves with a container's address"
run ip netns exec web ping -c1 -W1 172.18.200.200 || true
run ip netns exec web ping -c1 -W1 -b 255.255.255.255 || true
run ip netns exec web ping -6 -c1 -W1 2001:db8::1 || true   # no NAT66 yet
bpfnat stats | grep -E 'drop_no_container|drop_broadcast|drop_unnated_leak'

say "XDP mode, switched to on the running system: flows and maps stay"
# The uplink is a veth: by default XDP leaves its traffic to tc, since a
# veth's frames may carry partial checksums.  Here its far end is made to
# take XDP frames and send full checksums, as a NIC on a wire would, and
# bpfnat is told so.
ip netns exec outside ethtool -K eth0 gro on tx off >/dev/null
sysctl -qw net.ipv4.ip_forward=1
run bpfnat up --uplink up0 --mode xdp --xdp-uplink on
run bpfnat status
run ip netns exec web curl -s -o /tmp/blob http://198.51.100.2/blob
cmp -s /tmp/blob "$web/blob" && echo "download byte-identical: yes"
run bpfnat stats

say "bpfnat down: programs and pins go, containers stay"
run bpfnat down
run bpfnat status
run bpfnat ns list

say "Done; the namespace and everything in it go away now"
