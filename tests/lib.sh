# SPDX-License-Identifier: GPL-2.0-only
#
# What the end-to-end tests share: assertions, the outside world, servers.
# Sourced by tests/sandbox.sh inside a test's own namespaces; a test is a
# function test_NAME in tests/e2e/*.sh, run with `set -e`.
#
# The world every test starts from: this namespace is the host (the
# router); outside_add builds the namespace "out" behind the uplink up0:
#
#   container eth0 172.18.0.X/16 = bnXXXXXXXX [host] up0 198.51.100.1/24
#                                    = eth0 198.51.100.2/24 [out]
#
# $BPFNAT_MODE is the mode a test runs in:
#   tc        bpfnat up --mode tc
#   xdp       --mode xdp, the outside's veth as a veth is by default (so
#             bpfnat leaves the uplink's traffic to tc)
#   xdp-full  --mode xdp --xdp-uplink on, the outside's veth made to take
#             XDP frames and send full checksums, as a NIC's wire would
#   none      the test never brings the data path up
# $DP_MODE is the data path's mode alone: tc, xdp or none.
DP_MODE=${BPFNAT_MODE%-full}

bpfnat() { "$BPFNAT" "$@"; }

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }
step() { echo "--- $*"; }

# needed CMD: CMD is installed, or the test skips (tests/run.sh alone) or
# fails (make test, which installs it first: BPFNAT_TEST_STRICT).
needed() {
	command -v "$1" >/dev/null && return 0
	[[ ${BPFNAT_TEST_STRICT:-} == 1 ]] &&
		fail "$1 is not installed (tools/deps.sh installs it)"
	skip "$1 is not installed (tools/deps.sh)"
}

assert_eq() {
	[[ "$1" == "$2" ]] || fail "$3: expected '$2', got '$1'"
}

assert_ne() {
	[[ "$1" != "$2" ]] || fail "$3: did not expect '$2'"
}

assert_match() {
	[[ "$1" =~ $2 ]] || fail "$3: '$1' does not match /$2/"
}

assert_no_match() {
	[[ ! "$1" =~ $2 ]] || fail "$3: '$1' matches /$2/"
}

# assert_ok WHAT CMD...: CMD succeeds
assert_ok() {
	local what=$1
	shift
	"$@" || fail "$what: '$*' failed"
}

# assert_exit CODE WHAT CMD...: CMD exits CODE with one line on stderr;
# the line is left in $LAST_ERR.
assert_exit() {
	local code=$1 what=$2 rc=0 out err
	shift 2
	err=$(mktemp)
	out=$("$@" 2>"$err") || rc=$?
	LAST_ERR=$(cat "$err")
	rm -f "$err"
	[[ $rc == "$code" ]] ||
		fail "$what: '$*' exited $rc, expected $code (stderr: $LAST_ERR)"
	[[ $(printf '%s\n' "$LAST_ERR" | wc -l) == 1 ]] ||
		fail "$what: expected one line on stderr, got: $LAST_ERR"
	[[ $LAST_ERR == bpfnat:* ]] ||
		fail "$what: stderr does not start with 'bpfnat:': $LAST_ERR"
	[[ -z $out ]] || fail "$what: printed on stdout: $out"
}

# retry N CMD...: CMD succeeds within N tries, 0.1 s apart.
retry() {
	local n=$1 i
	shift
	for ((i = 0; i < n; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

in_ns() {
	local ns=$1
	shift
	if [[ $1 == pktsend ]]; then
		shift
		set -- "$BPFNAT_BUILD/tools/pktsend" "$@"
	fi
	ip netns exec "$ns" "$@"
}

# Build the outside namespace behind the uplink and route to it.
outside_add() {
	ip netns add out
	ip link add up0 type veth peer name eth0 netns out
	ip addr add 198.51.100.1/24 dev up0
	ip link set up0 up
	ip -n out link set lo up
	ip -n out addr add 198.51.100.2/24 dev eth0
	ip -n out link set eth0 up
	ip route add default via 198.51.100.2
	if [[ $BPFNAT_MODE == xdp-full ]]; then
		outside_as_a_wire
	fi
}

# As a NIC and its wire would: take XDP-redirected frames (a veth needs
# NAPI for that, which GRO turns on) and carry full checksums (XDP sees no
# CHECKSUM_PARTIAL state).
outside_as_a_wire() {
	in_ns out ethtool -K eth0 gro on tx off >/dev/null
}

# The outside over IPv6 too, before `up`, which takes the uplink's first
# global address (nat66.sh, mapping.sh): the uplink is 2001:db8:1::1, the outside 2001:db8:1::2,
# the host's default route leads there.
outside6_add() {
	ip -6 addr add 2001:db8:1::1/64 dev up0 nodad
	in_ns out ip -6 addr add 2001:db8:1::2/64 dev eth0 nodad
	ip -6 route add default via 2001:db8:1::2
}

world6_up() {
	bpfnat ns add a
	bpfnat ns add b
	outside_add
	outside6_add
	nat_up "$@"
}

# Beyond the outside over IPv6 too (far_add's world): out routes to far,
# 2001:db8:2::2, over a link of MTU $1 on out's side (1500 if not given).
far6_add() {
	far_add "$@"
	ip -n out -6 addr add 2001:db8:2::1/64 dev eth1 nodad
	ip -n far -6 addr add 2001:db8:2::2/64 dev eth0 nodad
	ip -n far -6 route add default via 2001:db8:2::1
	in_ns out sysctl -qw net.ipv6.conf.all.forwarding=1
}

# The IPv6 addresses the outside's capture saw as sources of unicast
# packets, one a line (the link's own, fe80::/10, left out).
sources6() {
	tcpdump -nr "$1" 'ip6 and not ip6 multicast' 2>/dev/null |
		awk '{ print $3 }' | sed 's/\.[0-9]*$//' | grep -v '^fe80:' | sort -u
}

# The kernel path (used when bpfnat is down) forwards like a Docker host.
kernel_masquerade() {
	sysctl -qw net.ipv4.ip_forward=1
	iptables -t nat -A POSTROUTING -s 172.18.0.0/16 -o up0 -j MASQUERADE
}

# The options of `up` for this test's mode, in the array MODE_ARGS.
MODE_ARGS=(--mode "$DP_MODE")
[[ $BPFNAT_MODE == xdp-full ]] && MODE_ARGS+=(--xdp-uplink on)

# bpfnat up on this test's mode, towards the outside.
nat_up() {
	bpfnat up --uplink up0 "${MODE_ARGS[@]}" "$@"
}

# The usual world: containers a (172.18.0.2) and b (172.18.0.3), the
# outside, and bpfnat up with "$@".
world_up() {
	bpfnat ns add a
	bpfnat ns add b
	outside_add
	nat_up "$@"
}

# wait_tcp NS PORT: something listens on PORT in NS ("host": here).
wait_tcp() {
	local run=""
	[[ $1 == host ]] || run="ip netns exec $1"
	retry 50 sh -c "$run ss -Hltn 'sport = :$2' | grep -q ."
}

# wait_udp NS PORT: something is bound to UDP PORT in NS.
wait_udp() {
	local run=""
	[[ $1 == host ]] || run="ip netns exec $1"
	retry 50 sh -c "$run ss -Hlun 'sport = :$2' | grep -q ."
}

# http_serve NS ADDR SIZE: nginx on ADDR:80 in NS serving /blob of SIZE
# random bytes; its access log (client address first) is $WEB/access.log.
http_serve() {
	local ns=$1 addr=$2 size=$3
	WEB=$(mktemp -d)
	head -c "$size" /dev/urandom >"$WEB/blob"
	cat >"$WEB/nginx.conf" <<EOF
user root;
daemon on;
pid $WEB/nginx.pid;
error_log $WEB/error.log;
events { worker_connections 64; }
http {
	access_log $WEB/access.log;
	client_body_temp_path $WEB;
	proxy_temp_path $WEB;
	fastcgi_temp_path $WEB;
	uwsgi_temp_path $WEB;
	scgi_temp_path $WEB;
	server {
		listen $addr:80;
		root $WEB;
	}
}
EOF
	in_ns "$ns" nginx -c "$WEB/nginx.conf" -e "$WEB/error.log"
	wait_tcp "$ns" 80
}

# echo_peer NS PORT: a TCP server in NS that answers every connection
# with the address and port it sees the client come from ("ADDR PORT").
echo_peer() {
	in_ns "$1" socat TCP4-LISTEN:"$2",fork,reuseaddr \
		SYSTEM:'echo $SOCAT_PEERADDR $SOCAT_PEERPORT' &
	wait_tcp "$1" "$2"
}

# echo_peer6 NS PORT and echo_peer_udp6 NS PORT: the same over IPv6, the
# address in its short form (2001:db8:1::2).  A script, as socat's
# address syntax takes quotes and commas for its own.
echo_peer6_script() {
	cat >/tmp/echo_peer6.py <<-'EOF'
	import ipaddress, os
	addr = ipaddress.ip_address(os.environ["SOCAT_PEERADDR"].strip("[]"))
	# one write: one datagram, for a UDP peer
	os.write(1, ("%s %s\n" % (addr, os.environ["SOCAT_PEERPORT"])).encode())
	EOF
}

echo_peer6() {
	echo_peer6_script
	in_ns "$1" socat TCP6-LISTEN:"$2",fork,reuseaddr \
		SYSTEM:"python3 /tmp/echo_peer6.py" &
	wait_tcp "$1" "$2"
}

echo_peer_udp6() {
	echo_peer6_script
	in_ns "$1" socat UDP6-RECVFROM:"$2",fork,reuseaddr \
		SYSTEM:"read -r _; python3 /tmp/echo_peer6.py" &
	wait_udp "$1" "$2"
}

# session_open PORT: a TCP connection from a to an echo server outside,
# kept open; session_say LINE sends LINE on it and checks it comes back.
session_open() {
	in_ns out socat TCP4-LISTEN:"$1",reuseaddr EXEC:cat &
	wait_tcp out "$1"
	# (-T: the session ends by itself if a test leaves it idle for long;
	# generous, as loading the programs under vmtest's emulation is slow)
	coproc SESSION { in_ns a socat -T60 - TCP4:198.51.100.2:"$1"; }
}

session_say() {
	local line
	[[ -n ${SESSION[1]:-} ]] || fail "the session has ended"
	echo "$1" >&"${SESSION[1]}"
	read -r -t 5 line <&"${SESSION[0]}" || fail "no echo of '$1'"
	assert_eq "$line" "$1" "echo on the session"
}

session_close() {
	exec {SESSION[1]}>&-
	wait "$SESSION_PID" || true
}

# echo_peer_udp NS PORT: the same over UDP, one answer per datagram (of
# one line: it is read first, so socat never writes into a closed pipe).
echo_peer_udp() {
	in_ns "$1" socat UDP4-RECVFROM:"$2",fork,reuseaddr \
		SYSTEM:'read -r _; echo $SOCAT_PEERADDR $SOCAT_PEERPORT' &
	wait_udp "$1" "$2"
}

# udp_ask NS HOST:PORT[,OPTION...] [SOCAT-OPTION...] <MESSAGE: the reply to
# a datagram sent from NS (over IPv6 to a HOST in brackets).  A UDP server
# forks for each datagram, which can take seconds under emulation: up to 4
# tries, each with a new socket.
udp_ask() {
	local ns=$1 to=$2 msg reply i udp=UDP4
	shift 2
	[[ $to == \[* ]] && udp=UDP6
	msg=$(cat)
	for ((i = 0; i < 4; i++)); do
		reply=$(printf '%s' "$msg" | in_ns "$ns" socat -T2 "$@" - "$udp:$to")
		if [[ -n $reply ]]; then
			printf '%s\n' "$reply"
			return 0
		fi
	done
	return 1
}

# capture_start NS FILE FILTER...: tcpdump on NS's eth0 into FILE, ready
# to see packets when this returns; capture_stop ends it.
capture_start() {
	local ns=$1 file=$2
	shift 2
	: >"$file.log"
	in_ns "$ns" tcpdump -nli eth0 --immediate-mode -U -w "$file" "$@" \
		2>"$file.log" &
	CAPTURE=$!
	retry 50 grep -q "listening on" "$file.log"
}

capture_stop() {
	sleep 0.2	# what is in flight lands
	kill "$CAPTURE" 2>/dev/null || true
	wait "$CAPTURE" 2>/dev/null || true
}

# csum_errors NS: the receive checksum errors NS's stack has counted.
csum_errors() {
	in_ns "$1" nstat -az TcpInCsumErrors UdpInCsumErrors IcmpInCsumErrors \
		Udp6InCsumErrors Icmp6InCsumErrors |
		awk 'NR > 1 { sum += $2 } END { print sum + 0 }'
}

# counter NAME: packets bpfnat counted under NAME.
counter() {
	bpfnat stats -j | jq -r ".$1.packets"
}

# In XDP mode, the XDP programs (not the tc ones behind them) handled at
# least half of what was counted under each NAME (a flow's first packet
# may need tc, for the next hop's ARP); but what crosses a veth uplink
# that bpfnat leaves to tc (snat, reverse_nat, dnat and their IPv6 twins
# in [xdp]) tc carried alone.
xdp_carried() {
	[[ $DP_MODE == xdp ]] || return 0
	local name stats
	stats=$(bpfnat stats -j)
	for name in "$@"; do
		if [[ $BPFNAT_MODE == xdp &&
			$name =~ ^(snat|reverse_nat|dnat|snat6|reverse_nat6)$ ]]; then
			jq -e ".$name.packets > 0 and .$name.xdp_packets == 0" \
				<<<"$stats" >/dev/null ||
				fail "not tc alone carried $name: $(jq -c ".$name" <<<"$stats")"
			continue
		fi
		jq -e ".$name.xdp_packets > 0 and
			.$name.xdp_packets * 2 >= .$name.packets" \
			<<<"$stats" >/dev/null ||
			fail "XDP did not carry $name: $(jq -c ".$name" <<<"$stats")"
	done
}

# Beyond the outside: "out" becomes a router to "far" (203.0.113.2).  With
# $1, out's side of that link has MTU $1 while far's stays 1500: a narrow
# link inside the path that neither end's MSS reveals.
far_add() {
	local mtu=${1:-1500}
	ip netns add far
	ip -n out link add eth1 type veth peer name eth0 netns far
	ip -n out addr add 203.0.113.1/24 dev eth1
	ip -n out link set eth1 mtu "$mtu" up
	ip -n far addr add 203.0.113.2/24 dev eth0
	ip -n far link set eth0 up
	ip -n far link set lo up
	ip -n far route add default via 203.0.113.1
	in_ns out sysctl -qw net.ipv4.ip_forward=1
}

# The MAC a container's eth0 sends to: its gateway's.
gateway_mac() {
	in_ns "$1" ping -c1 -W2 172.18.0.1 >/dev/null
	in_ns "$1" ip neigh show 172.18.0.1 | awk '{ print $5 }'
}

# in_ns NS pktsend ...: the crafting tool of tools/pktsend.c
pktsend() {
	"$BPFNAT_BUILD/tools/pktsend" "$@"
}

# Every device of a running data path runs bpfnat's programs once, the
# ones status names; status, ns list, the endpoints map and the filters
# tell one story; nothing is half done (staging pins, intents).
state_agrees() {
	local st n_ns net ids c
	st=$(bpfnat status -j)
	[[ $(jq -r .state <<<"$st") == up ]] || fail "not up: $st"
	n_ns=$(bpfnat ns list -j | jq length)
	assert_eq "$(jq .containers <<<"$st")" "$n_ns" "status counts the containers"
	assert_eq "$(bpftool map dump pinned /sys/fs/bpf/bpfnat/endpoints -j |
		jq length)" "$n_ns" "one endpoint per container"
	assert_eq "$(bpftool map dump pinned /sys/fs/bpf/bpfnat/endpoints6 -j |
		jq length)" "$(bpfnat ns list -j | jq --arg p "$(jq -r .pool6 <<<"$st")" \
		'map(select(.address6 and (.address6 | sub("::.*"; "")) ==
			($p | sub("::.*"; "")))) | length')" \
		"one IPv6 endpoint per container with an address of the pool"
	assert_eq "$(jq '.attached | length' <<<"$st")" $((n_ns + 1)) \
		"attached: the containers and the uplink"
	net=$(bpftool net show -j)
	ids=$(jq -c .program_ids <<<"$st")
	# one filter of bpfnat's on each hook, running what status says
	assert_eq "$(jq -c --argjson ids "$ids" '[.[0].tc[] |
		select(.name | test("^tc_(container|uplink|guard):")) |
		select(.id != $ids[.name | sub(":.*"; "")])]' <<<"$net")" "[]" \
		"no filter runs a program that status does not name"
	assert_eq "$(jq '[.[0].tc[] | select(.name | startswith("tc_container:"))] |
		length' <<<"$net")" "$n_ns" "a filter per container"
	assert_eq "$(jq -c '[.[0].tc[] | select(.devname == "up0") | .kind] |
		sort' <<<"$net")" '["clsact/egress","clsact/ingress"]' \
		"the uplink: its program and the guard"
	for c in $(bpfnat ns list -j | jq -r '.[].host_if'); do
		assert_eq "$(tc filter show dev "$c" ingress | grep -c 'handle 0xb9f')" \
			1 "one filter on $c"
	done
	# XDP where the mode says, and nowhere else
	assert_eq "$(jq -c '.uplink as $u | [(.attached |
		map(select(.name != $u) | .xdp) | unique),
		(.attached | map(select(.name == $u) | .xdp))]' <<<"$st")" \
		"$(jq -c '[if .containers > 0 then [.mode == "xdp"] else [] end,
		[.xdp_uplink]]' <<<"$st")" "XDP as the mode says"
	# every published port leads to a container there is
	assert_eq "$(bpfnat port list -j | jq -c 'map(select(.container == null))')" \
		"[]" "every published port leads to a container"
	[[ ! -e /sys/fs/bpf/bpfnat_staging ]] || fail "staging pins remain"
	[[ -z $(ls /run/bpfnat/intent 2>/dev/null) ]] ||
		fail "intents remain: $(ls /run/bpfnat/intent)"
}

# Nothing of bpfnat's data path is left (after down, or a first up that
# failed): no pins, filters, XDP programs or qdiscs it made.
nothing_left() {
	assert_eq "$(bpfnat status -j | jq -r .state)" down "status"
	[[ ! -e /sys/fs/bpf/bpfnat && ! -e /sys/fs/bpf/bpfnat_staging ]] ||
		fail "pins remain: $(ls -d /sys/fs/bpf/bpfnat* 2>/dev/null)"
	assert_eq "$(bpftool net show -j | jq -c '[.[0].tc[]] |
		map(select(.name | test("^(tc|xdp)_")))')" "[]" \
		"bpfnat's filters off every device"
	assert_eq "$(ip -d -j link show | jq -c '[.[] | select(.xdp) | .ifname]')" \
		"[]" "no XDP program anywhere"
	assert_no_match "$(tc qdisc show)" "clsact" "no clsact qdisc left"
	[[ -z $(cat /run/bpfnat/programs 2>/dev/null) ]] ||
		fail "programs still recorded: $(cat /run/bpfnat/programs)"
}

# at_exit CMD [ARG...]: run CMD when the test ends, passed or failed, the
# last registered first.  For what outlives the test's namespaces (a
# cgroup); everything else vanishes with the sandbox by itself.
AT_EXIT=()
at_exit() {
	AT_EXIT=("$(printf '%q ' "$@")" "${AT_EXIT[@]}")
	trap at_exit_run EXIT
	trap 'exit 129' HUP
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

at_exit_run() {
	local cmd
	for cmd in "${AT_EXIT[@]}"; do
		eval "$cmd" || echo "at exit: '$cmd' failed" >&2
	done
	AT_EXIT=()
}

# cgroup_make VAR: a cgroup of this test's own, made in the machine's
# cgroup2 hierarchy (no namespace hides it), its path in VAR, removed when
# the test ends.  Never the root: nothing of a test is ever attached to
# the cgroup every process of the machine is under.
cgroup_make() {
	local root=/sys/fs/cgroup path
	# the sandbox's own sysfs came without it
	if [[ $(stat -f -c %T $root) != cgroup2fs ]]; then
		mount -t cgroup2 cgroup2 $root 2>/dev/null ||
			skip "no cgroup2 hierarchy to make a cgroup in"
	fi
	path=$(mktemp -d -u "$root/bpfnat-test-XXXXXXXX")
	mkdir "$path"
	at_exit cgroup_remove "$path"
	printf -v "$1" '%s' "$path"
}

# cgroup_remove PATH: its processes moved out (back where this shell is),
# then the cgroup itself; nothing if it is gone already.
cgroup_remove() {
	local path=$1 home pid i
	[[ -d $path ]] || return 0
	home=/sys/fs/cgroup$(sed -n 's/^0:://p' /proc/self/cgroup)
	for ((i = 0; i < 50; i++)); do
		[[ -s $path/cgroup.procs ]] || break
		while read -r pid; do
			echo "$pid" >"$home/cgroup.procs" 2>/dev/null || true
		done <"$path/cgroup.procs"
		sleep 0.1
	done
	rmdir "$path"
}

# in_cgroup PATH CMD...: CMD run as a process of cgroup PATH (from this
# namespace, the host's, unless CMD enters another).
in_cgroup() {
	local path=$1
	shift
	sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' sh "$path" "$@"
}
