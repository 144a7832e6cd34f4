# SPDX-License-Identifier: GPL-2.0-only
#
# IPv6 among containers: every container has an IPv6 address of the pool
# (fd00:18::/64); containers reach each other through the data path,
# whatever the host's forwarding and ip6tables say, and the gateway and
# the host's own addresses through the stack.  With no IPv6 SNAT address
# (the uplink has none when `up` runs, as here: outside6_add comes after),
# a container is told "no route" to the outside and no packet with a pool
# source reaches it; NAT66 is nat66.sh's.
# modes: tc xdp

# addr6 NAME: the container's IPv6 address, as ns list says.
addr6() {
	bpfnat ns list -j | jq -r --arg n "$1" \
		'.[] | select(.name == $n) | .address6 | sub("/.*"; "")'
}

test_addresses_from_the_pool() {
	world_up
	assert_eq "$(bpfnat ns list -j | jq -r 'map(.address6) | join(" ")')" \
		"fd00:18::2/64 fd00:18::3/64" "address6 of a and b"
	assert_match "$(in_ns a ip -6 -o addr show dev eth0 scope global)" \
		"inet6 fd00:18::2/64" "eth0's IPv6 address inside a"
	assert_eq "$(in_ns a ip -6 route show | sed 's/ *$//')" \
		"default via fd00:18::1 dev eth0 metric 1024 onlink pref medium" \
		"inside a: the default route alone, no prefix route"
	assert_eq "$(jq -r '.pool6 + " " + .gateway6' <<<"$(bpfnat status -j)")" \
		"fd00:18::/64 fd00:18::1" "status: the IPv6 pool"
	assert_eq "$(bpftool map dump pinned /sys/fs/bpf/bpfnat/endpoints6 -j |
		jq length)" 2 "an IPv6 endpoint per container"
	state_agrees
}

test_ping6_between_containers() {
	world_up
	assert_ok "a pings b" in_ns a ping -6 -c3 -i0.2 -W2 fd00:18::3
	assert_ok "b pings a" in_ns b ping -6 -c3 -i0.2 -W2 fd00:18::2
	[[ $(counter forwarded6) -ge 12 ]] ||
		fail "forwarded6: $(counter forwarded6)"
	# one hop: the gateway's, as for IPv4
	assert_match "$(in_ns a ping -6 -c1 -W2 fd00:18::3)" "ttl=63" \
		"the hop limit the reply came with"
	xdp_carried forwarded6
}

test_tcp6_between_containers_byte_identical() {
	world_up
	head -c $((8 * 1024 * 1024)) /dev/urandom >/tmp/blob
	in_ns b socat -u TCP6-LISTEN:7200,reuseaddr OPEN:/tmp/got,creat,trunc &
	local server=$!
	wait_tcp b 7200
	in_ns a socat -u OPEN:/tmp/blob "TCP6:[fd00:18::3]:7200"
	wait "$server"
	assert_eq "$(sha256sum </tmp/got)" "$(sha256sum </tmp/blob)" \
		"the file b received"
	assert_eq "$(csum_errors a)" 0 "checksum errors in a"
	assert_eq "$(csum_errors b)" 0 "checksum errors in b"
	in_ns b socat -u UDP6-RECV:7201 OPEN:/tmp/udp,creat &
	server=$!
	wait_udp b 7201
	echo hello-udp6 | in_ns a socat -u - "UDP6:[fd00:18::3]:7201"
	retry 50 test -s /tmp/udp
	kill "$server" 2>/dev/null || true
	assert_eq "$(cat /tmp/udp)" "hello-udp6" "the datagram b received"
	xdp_carried forwarded6
}

# The data path carries it, not the kernel: with the host's IPv6
# forwarding off (the default) and ip6tables dropping what is forwarded,
# containers still talk; with bpfnat down they do not.
test_forwarding_off_and_ip6tables_drop() {
	ip6tables -P FORWARD DROP
	world_up
	assert_eq "$(sysctl -n net.ipv6.conf.all.forwarding)" 0 \
		"the host's IPv6 forwarding, left as it was"
	assert_ok "a pings b" in_ns a ping -6 -c2 -i0.2 -W2 fd00:18::3
	echo x | in_ns b socat -T3 TCP6-LISTEN:7300,reuseaddr EXEC:cat &
	wait_tcp b 7300
	assert_eq "$(echo over-tcp6 | in_ns a socat -T3 - "TCP6:[fd00:18::3]:7300")" \
		"over-tcp6" "TCP echo a -> b"
	bpfnat down
	! in_ns a ping -6 -c1 -W1 fd00:18::3 >/dev/null ||
		fail "without bpfnat, a still reached b"
}

# Without bpfnat, the same topology works through the kernel once the
# host forwards IPv6, as a router (or ip6tables) setup would have it.
test_kernel_path_without_bpfnat() {
	bpfnat ns add a
	bpfnat ns add b
	sysctl -qw net.ipv6.conf.all.forwarding=1
	assert_ok "a pings b through the kernel" \
		in_ns a ping -6 -c2 -i0.2 -W2 fd00:18::3
}

test_gateway_and_host_addresses() {
	world_up
	outside6_add
	assert_ok "a pings its gateway" in_ns a ping -6 -c2 -i0.2 -W2 fd00:18::1
	assert_ok "a pings the host's uplink address" \
		in_ns a ping -6 -c2 -i0.2 -W2 2001:db8:1::1
	assert_ok "the host pings a" ping -6 -c2 -i0.2 -W2 fd00:18::2
}

test_no_container_address_unreachable() {
	world_up
	local out
	out=$(in_ns a ping -6 -c1 -W2 fd00:18::77 || true)
	assert_match "$out" "From fd00:18::1 .*Destination unreachable: Address unreachable" \
		"the gateway's answer"
	[[ $(counter drop_no_container) -ge 1 ]] ||
		fail "drop_no_container: $(counter drop_no_container)"
}

# Fail closed: IPv6 to the outside is refused at the container's veth,
# whatever the host would forward; the outside sees no pool source.
test_outside6_refused_nothing_leaks() {
	world_up
	outside6_add
	sysctl -qw net.ipv6.conf.all.forwarding=1	# the kernel would forward it
	capture_start out /tmp/out6.pcap ip6
	local out
	out=$(in_ns a ping -6 -c2 -i0.2 -W2 2001:db8:1::2 || true)
	assert_match "$out" "From fd00:18::1 .*Destination unreachable: No route" \
		"the gateway's answer"
	echo x | in_ns a socat -T1 - "UDP6:[2001:db8:1::2]:7400" 2>/dev/null || true
	! in_ns a socat -T2 - "TCP6:[2001:db8:1::2]:7401,connect-timeout=2" \
		</dev/null 2>/dev/null || fail "TCP to the outside connected"
	capture_stop
	assert_no_match "$(tcpdump -nr /tmp/out6.pcap 2>/dev/null)" "fd00:18:" \
		"no pool source on the outside's wire"
	[[ $(counter drop_no_nat66) -ge 4 ]] ||
		fail "drop_no_nat66: $(counter drop_no_nat66)"
	assert_eq "$(counter drop_unnated_leak)" 0 "the guard had nothing to drop"
	# and with no IPv6 route at all, the same answer
	ip -6 route del default
	out=$(in_ns a ping -6 -c1 -W2 2001:db8:1::2 || true)
	assert_match "$out" "Destination unreachable: No route" "no route at all"
}

test_ns_add_ip6() {
	world_up
	bpfnat ns add c --ip6 fd00:18::99
	assert_eq "$(addr6 c)" "fd00:18::99" "c's address6"
	assert_ok "a pings c" in_ns a ping -6 -c2 -i0.2 -W2 fd00:18::99
	assert_exit 1 "an address another container has" \
		bpfnat ns add d --ip6 fd00:18::99
	assert_no_match "$(ip netns list)" "^d( |$)" "no namespace d left"
	assert_exit 2 "not an address" bpfnat ns add d --ip6 zz::zz::1
	assert_exit 2 "outside the pool" bpfnat ns add d --ip6 2001:db8::5
	assert_exit 2 "the gateway" bpfnat ns add d --ip6 fd00:18::1
	assert_exit 2 "another prefix length" bpfnat ns add d --ip6 fd00:18::5/80
	bpfnat ns add d
	assert_eq "$(addr6 d)" "fd00:18::4" "the first free address"
	bpfnat ns del c
	assert_eq "$(bpftool map dump pinned /sys/fs/bpf/bpfnat/endpoints6 -j |
		jq length)" 3 "c's IPv6 endpoint gone with it"
	state_agrees
}

test_up_pool6() {
	bpfnat ns add a
	outside_add
	assert_exit 2 "a malformed pool" nat_up --pool6 fd00:99::/127
	nat_up --pool6 fd00:99::/64
	bpfnat ns add b
	assert_eq "$(addr6 b)" "fd00:99::2" "b's address from the new pool"
	assert_eq "$(bpfnat status -j | jq -r .gateway6)" "fd00:99::1" "gateway6"
	# a's address is of the old pool: it has no IPv6 path, b has
	assert_eq "$(bpftool map dump pinned /sys/fs/bpf/bpfnat/endpoints6 -j |
		jq length)" 1 "only b's address is in the pool"
	assert_ok "b pings its gateway" in_ns b ping -6 -c1 -W2 fd00:99::1
}
