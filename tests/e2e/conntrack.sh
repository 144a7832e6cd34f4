# SPDX-License-Identifier: GPL-2.0-only
#
# Conntrack against packets the endpoints would not accept: resets crafted
# from the outside, with the connection's tuple but a sequence number only
# someone on the path could know, or not.

# NEXT_SEQ: the sequence number the outside's end of the session on PORT
# sends next, as a capture of it echoing LINE shows.
outside_next_seq() {
	local port=$1 line=$2 pcap
	pcap=$(mktemp /tmp/seq.XXXXXX.pcap)
	capture_start out "$pcap" tcp port "$port"
	session_say "$line"
	capture_stop
	# "seq FIRST:END" of its last segment with data (-S: absolute); the
	# capture may end in a record cut short, after what is wanted
	NEXT_SEQ=$({ tcpdump -S -nr "$pcap" "src host 198.51.100.2 and \
		src port $port" 2>/dev/null || true; } |
		grep -o 'seq [0-9]*:[0-9]*' | tail -n 1 | cut -d: -f2) || true
	[[ -n $NEXT_SEQ ]] ||
		fail "no segment of the outside's: $(tcpdump -Snr "$pcap" 2>&1)"
}

# The state of the session's flow (the one to PORT).
flow_state() {
	bpfnat ct list -j | jq -r ".[] | select(.original.dport == $1) | .state"
}

# A RST from the outside's end of the session on PORT, at SEQ.
outside_rst() {
	local port=$1 seq=$2 mapped gw
	mapped=$(bpfnat ct list -j |
		jq -r ".[] | select(.original.dport == $port) | .reply.dport")
	gw=$(in_ns out ip neigh show 198.51.100.1 | awk '{ print $5 }')
	in_ns out pktsend -i eth0 --dmac "$gw" --src 198.51.100.2 \
		--dst 198.51.100.1 --sport "$port" --dport "$mapped" \
		--tcp R --seq "$seq" </dev/null
}

# A connection is open while a socket of a's has it.
a_connected() {
	in_ns a ss -Htn state established "dport = :$1" | grep -q .
}

a_disconnected() {
	! a_connected "$1"
}

flow_closed() {
	[[ $(flow_state "$1") == CLOSE ]]
}

# A RST with the connection's tuple but a sequence number far from the
# window (what a blind attacker sends) changes nothing: the flow stays
# established and the connection works on.  The RST at the sequence number
# the container expects closes both.
test_blind_rst_leaves_the_connection() {
	world_up
	session_open 8700
	session_say hello
	assert_eq "$(flow_state 8700)" ESTABLISHED "after the handshake"
	outside_next_seq 8700 "who is next"

	step "a RST 1 GiB ahead of the window"
	outside_rst 8700 $(((NEXT_SEQ + 0x40000000) % 0x100000000))
	sleep 0.3
	assert_eq "$(flow_state 8700)" ESTABLISHED "after the blind RST"
	session_say "still here"
	a_connected 8700 || fail "a's socket lost the connection"

	step "a RST a window and more behind"
	outside_rst 8700 $(((NEXT_SEQ + 0x100000000 - 0x1000000) % 0x100000000))
	sleep 0.3
	assert_eq "$(flow_state 8700)" ESTABLISHED "after the second blind RST"
	session_say "here still"

	step "the RST at the sequence number a expects"
	outside_next_seq 8700 "last words"
	outside_rst 8700 "$NEXT_SEQ"
	retry 30 flow_closed 8700 ||
		fail "the flow did not close: $(bpfnat ct list)"
	retry 30 a_disconnected 8700 || fail "a's socket kept the connection"
}
