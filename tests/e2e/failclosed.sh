# SPDX-License-Identifier: GPL-2.0-only
#
# Fail closed: no packet with a container's address leaves the uplink
# un-NATed, whatever a container sends and while `up` is interrupted.

# pool_sources FILE: the packets of capture FILE whose source is a pool
# address, one line each.
pool_sources() {
	tcpdump -nr "$1" 'src net 172.18.0.0/16' 2>/dev/null
}

# A network the containers reach un-NATed, through another device than
# the uplink (as a cluster's pod range is): 10.244.0.0/16 behind "cluster".
cluster_add() {
	ip netns add cluster
	ip link add cl0 type veth peer name eth0 netns cluster
	ip addr add 10.244.255.1/30 dev cl0
	ip link set cl0 up
	ip -n cluster addr add 10.244.255.2/30 dev eth0
	ip -n cluster addr add 10.244.1.1/24 dev eth0
	ip -n cluster link set eth0 up
	ip -n cluster route add 172.18.0.0/16 via 10.244.255.1
	ip route add 10.244.0.0/16 via 10.244.255.2
	sysctl -qw net.ipv4.conf.cl0.forwarding=1
}

# Every class of destination, from a container, while the outside listens:
# none of it leaves with the container's address.
test_no_pool_source_on_the_outside() {
	world_up --exclude 10.244.0.0/16
	cluster_add
	capture_start out /tmp/out.pcap ip
	local seen
	# a pool address no container has: answered by the gateway, with the
	# host's forwarding on and off (the kernel's proxy ARP needs it on)
	seen=$(in_ns a ping -c1 -W2 172.18.200.200 2>&1 || true)
	assert_match "$seen" "From 172.18.0.1 .*Destination Host Unreachable" \
		"the gateway says host unreachable"
	sysctl -qw net.ipv4.ip_forward=1
	sysctl -qw net.ipv4.ip_forward=0
	seen=$(in_ns b ping -c1 -W2 172.18.200.201 2>&1 || true)
	assert_match "$seen" "From 172.18.0.1 .*Destination Host Unreachable" \
		"the gateway says host unreachable, forwarding off"
	sysctl -qw net.ipv4.ip_forward=1	# the excluded route below needs it
	echo x | in_ns a socat -T1 - UDP4:172.18.9.9:5000 2>/dev/null || true
	# broadcast, limited and the pool's own, and multicast
	echo x | in_ns a socat -T0.5 - \
		UDP4-DATAGRAM:255.255.255.255:67,broadcast 2>/dev/null || true
	echo x | in_ns a socat -T0.5 - \
		UDP4-DATAGRAM:172.18.255.255:67,broadcast 2>/dev/null || true
	echo x | in_ns a socat -T0.5 - UDP4-DATAGRAM:224.0.0.251:5353 \
		2>/dev/null || true
	# the host's own addresses, which answer
	assert_ok "a pings the gateway" in_ns a ping -c1 -W2 172.18.0.1
	assert_ok "a pings the host's uplink address" \
		in_ns a ping -c1 -W2 198.51.100.1
	assert_eq "$(bpfnat ct count)" 0 "none of that made a flow"
	# an excluded network, routed elsewhere, keeps the container's source
	assert_ok "a pings the excluded network" in_ns a ping -c1 -W2 10.244.1.1
	# and the outside, NATed
	assert_ok "a pings the outside" in_ns a ping -c1 -W2 198.51.100.2
	echo x | in_ns a socat -T1 - UDP4:198.51.100.2:5000 2>/dev/null || true
	capture_stop

	assert_eq "$(pool_sources /tmp/out.pcap)" "" \
		"packets with a pool source on the outside"
	assert_match "$(tcpdump -nr /tmp/out.pcap 2>/dev/null)" \
		"198.51.100.1 > 198.51.100.2: ICMP echo request" \
		"the NATed ping was seen"
	[[ $(counter drop_no_container) -ge 2 ]] ||
		fail "unknown pool addresses: $(counter drop_no_container)"
	[[ $(counter drop_broadcast) -ge 2 ]] ||
		fail "broadcast: $(counter drop_broadcast)"
	[[ $(counter drop_multicast) -ge 1 ]] ||
		fail "multicast: $(counter drop_multicast)"
	assert_eq "$(counter drop_unnated_leak)" 0 \
		"the guard had nothing to catch"
}

# The guard catches what would leave un-NATed by a path bpfnat does not
# see: here the host's own socket, bound to the gateway's pool address.
test_guard_catches_what_bypasses_the_data_path() {
	world_up
	capture_start out /tmp/out.pcap icmp
	ping -c1 -W1 -I 172.18.0.1 198.51.100.2 >/dev/null &&
		fail "a ping from a pool address got an answer"
	capture_stop
	assert_eq "$(pool_sources /tmp/out.pcap)" "" \
		"packets with a pool source on the outside"
	assert_eq "$(counter drop_unnated_leak)" 1 "the guard counted it"
	# without the guard, the same ping leaves as it is: the capture sees
	bpfnat down
	capture_start out /tmp/down.pcap icmp
	ping -c1 -W1 -I 172.18.0.1 198.51.100.2 >/dev/null || true
	capture_stop
	assert_match "$(pool_sources /tmp/down.pcap)" "172.18.0.1 > 198.51.100.2" \
		"bpfnat down: the capture sees the leak"
}

# `up` again and again, interrupted with SIGINT at random moments, on a
# running data path with traffic flowing: the outside never sees a pool
# source, the guard never has to act, and each time what runs afterwards
# is the old data path or the new one, whole.
test_interrupted_up_never_leaks() {
	world_up
	echo_peer_udp out 5000
	capture_start out /tmp/out.pcap ip
	# traffic all along: ping to the outside and to an unknown pool address
	in_ns a ping -q -i 0.01 -w 30 198.51.100.2 >/dev/null 2>&1 &
	local pinger=$! i pid modes=("${MODE_ARGS[*]}" "--mode tc" \
		"--mode xdp") interrupted=0
	in_ns b ping -q -i 0.02 -w 30 172.18.200.200 >/dev/null 2>&1 &
	local pinger2=$!
	for ((i = 0; i < 20; i++)); do
		# shellcheck disable=SC2086  # the mode's words
		env --default-signal=INT "$BPFNAT" up --uplink up0 ${modes[i % 3]} 2>>/tmp/up.err &
		pid=$!
		sleep "0.0$((RANDOM % 10))$((RANDOM % 10))"
		kill -INT "$pid" 2>/dev/null || true
		wait "$pid" || interrupted=$((interrupted + 1))
		state_agrees
	done
	kill "$pinger" "$pinger2" 2>/dev/null || true
	wait "$pinger" "$pinger2" 2>/dev/null || true
	capture_stop
	assert_match "$(tcpdump -nr /tmp/out.pcap 2>/dev/null)" \
		"198.51.100.1 > 198.51.100.2: ICMP echo request" \
		"the capture saw the NATed pings"
	echo "$interrupted of 20 ups were interrupted"
	sort /tmp/up.err | uniq -c
	[[ $interrupted -ge 1 ]] || fail "no up was interrupted: the test tested nothing"
	assert_eq "$(pool_sources /tmp/out.pcap)" "" \
		"packets with a pool source on the outside"
	assert_eq "$(counter drop_unnated_leak)" 0 "the guard had nothing to catch"
	assert_ok "a still reaches the outside" in_ns a ping -c1 -W2 198.51.100.2
}

# From down, an interrupted `up` leaves nothing of itself.
test_interrupted_first_up_leaves_nothing() {
	bpfnat ns add a
	outside_add
	local i pid done=0
	for ((i = 0; i < 20; i++)); do
		env --default-signal=INT "$BPFNAT" up --uplink up0 \
			"${MODE_ARGS[@]}" 2>>/tmp/up.err &
		pid=$!
		sleep "0.0$((RANDOM % 10))$((RANDOM % 10))"
		kill -INT "$pid" 2>/dev/null || true
		if wait "$pid"; then
			done=$((done + 1))
			state_agrees
			bpfnat down
		fi
		nothing_left
	done
	echo "$done of 20 ups finished before their SIGINT"
	sort /tmp/up.err | uniq -c
	[[ $done -lt 20 ]] || fail "no up was interrupted: the test tested nothing"
}
