# SPDX-License-Identifier: GPL-2.0-only
#
# Endpoint-independent mapping (RFC 4787 REQ-1) and filtering (REQ-8)
# with a real UDP socket, over IPv4 and over IPv6: one socket of a
# container, two servers outside that each tell the port they see, and a
# third host that the socket never sent to.

# The container's socket: bound to UDP port 20000 in a, it asks each
# server given (HOST:PORT, [HOST]:PORT over IPv6) and prints its answer,
# one line each, then prints what an unsolicited datagram brings within
# 5 s ("from ADDR PORT DATA"), or "nothing".
socket_in_a() {
	coproc PEER {
		in_ns a python3 -u -c '
import socket, sys, time
v6 = sys.argv[1].startswith("[")
s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET,
                  socket.SOCK_DGRAM)
s.bind(("::" if v6 else "0.0.0.0", 20000))
s.settimeout(5)
for dst in sys.argv[1:]:
    host, port = dst.rsplit(":", 1)
    s.sendto(b"hi\n", (host.strip("[]"), int(port)))
    print(s.recv(200).decode().strip())
try:
    data, peer = s.recvfrom(200)
    print("from", peer[0], peer[1], data.decode().strip())
except socket.timeout:
    print("nothing")
sys.stdout.close()
time.sleep(3)    # the coprocess outlives its last line, to be read
' "$@"
	}
}

peer_line() {
	local line
	read -r -t 10 line <&"${PEER[0]}" || fail "no line from a's socket"
	printf '%s\n' "$line"
}

# b takes port 20000 towards the first server, so that a's socket is
# given another port there: port preservation alone would then give it
# 20000 towards the second server, where 20000 is free.
mapped_twice() {
	far_add
	echo_peer_udp out 5000
	echo_peer_udp far 5000
	assert_match "$(udp_ask b 198.51.100.2:5000,sourceport=20000 <<<b)" \
		"^198.51.100.1 20000$" "b keeps its port"
	socket_in_a 198.51.100.2:5000 203.0.113.2:5000
	FIRST=$(peer_line)
	SECOND=$(peer_line)
	assert_match "$FIRST" "^198.51.100.1 [0-9]+$" "the first server's view"
	MAPPED=${FIRST#* }
	assert_ne "$MAPPED" 20000 "a's port is b's towards the first server"
	assert_eq "$SECOND" "198.51.100.1 $MAPPED" \
		"the second server sees the same mapped port"
}

# A third outside host sends to a's mapped port.
third_host_sends() {
	ip -n out addr add 198.51.100.9/24 dev eth0
	echo knock | in_ns out socat -T1 - \
		UDP4-DATAGRAM:198.51.100.1:"$MAPPED",bind=198.51.100.9:6000 ||
		true
}

# The same over IPv6, from the IPv6 SNAT address 2001:db8:1::1.
mapped_twice6() {
	far6_add
	echo_peer_udp6 out 5000
	echo_peer_udp6 far 5000
	assert_match "$(udp_ask b "[2001:db8:1::2]:5000,sourceport=20000" <<<b)" \
		"^2001:db8:1::1 20000$" "b keeps its port"
	socket_in_a "[2001:db8:1::2]:5000" "[2001:db8:2::2]:5000"
	FIRST=$(peer_line)
	SECOND=$(peer_line)
	assert_match "$FIRST" "^2001:db8:1::1 [0-9]+$" "the first server's view"
	MAPPED=${FIRST#* }
	assert_ne "$MAPPED" 20000 "a's port is b's towards the first server"
	assert_eq "$SECOND" "2001:db8:1::1 $MAPPED" \
		"the second server sees the same mapped port"
}

third_host_sends6() {
	ip -n out -6 addr add 2001:db8:1::9/64 dev eth0 nodad
	echo knock | in_ns out socat -T1 - \
		"UDP6-DATAGRAM:[2001:db8:1::1]:$MAPPED,bind=[2001:db8:1::9]:6000" ||
		true
}

test_one_mapping_for_every_destination_filtered() {
	world_up
	mapped_twice
	third_host_sends
	assert_eq "$(peer_line)" "nothing" "the third host is filtered"
	[[ $(counter drop_filtered) -ge 1 ]] ||
		fail "not counted: $(counter drop_filtered)"
	wait "$PEER_PID" || true
}

test_endpoint_independent_filtering() {
	world_up --filtering endpoint-independent
	assert_eq "$(bpfnat status -j | jq -r .filtering)" \
		endpoint-independent "status says so"
	mapped_twice
	third_host_sends
	assert_eq "$(peer_line)" "from 198.51.100.9 6000 knock" \
		"the third host reaches a's socket"
	assert_eq "$(counter drop_filtered)" 0 "nothing filtered"
	wait "$PEER_PID" || true
}

test_one_mapping_for_every_destination_filtered6() {
	world6_up
	mapped_twice6
	third_host_sends6
	assert_eq "$(peer_line)" "nothing" "the third host is filtered"
	bpfnat stats -j | jq -e '.drop_filtered.ipv6_packets >= 1' >/dev/null ||
		fail "not counted: $(bpfnat stats -j | jq -c .drop_filtered)"
	wait "$PEER_PID" || true
}

test_endpoint_independent_filtering6() {
	world6_up --filtering endpoint-independent
	mapped_twice6
	third_host_sends6
	assert_eq "$(peer_line)" "from 2001:db8:1::9 6000 knock" \
		"the third host reaches a's socket"
	assert_eq "$(counter drop_filtered)" 0 "nothing filtered"
	wait "$PEER_PID" || true
}
