# SPDX-License-Identifier: GPL-2.0-only
#
# NAT66: a container's TCP, UDP and ICMPv6 echo to the outside leave with
# the uplink's global IPv6 address (or --snat-ip6), and the answers come
# back to it, through the same conntrack as IPv4's; the outside never sees
# a pool address.
# modes: tc xdp

test_ping6_outside() {
	world6_up
	assert_eq "$(bpfnat status -j | jq -r .snat_address6)" "2001:db8:1::1" \
		"status: the uplink's global IPv6 address"
	capture_start out /tmp/out6.pcap ip6 and icmp6
	assert_ok "a pings the outside" in_ns a ping -6 -c3 -i0.2 -W2 2001:db8:1::2
	assert_ok "b pings the outside" in_ns b ping -6 -c3 -i0.2 -W2 2001:db8:1::2
	capture_stop
	assert_eq "$(sources6 /tmp/out6.pcap | grep -v '^2001:db8:1::2$')" \
		"2001:db8:1::1" "the only source the outside saw but its own"
	assert_match "$(bpfnat ct list)" \
		"^icmpv6 +58 [0-9]+ src=fd00:18::2 dst=2001:db8:1::2 type=128 code=0 id=[0-9]+ packets=3 bytes=[0-9]+ src=2001:db8:1::2 dst=2001:db8:1::1 type=129 code=0 id=[0-9]+ packets=3" \
		"ct list shows a's echo flow"
	assert_eq "$(bpfnat ct list -j | jq -r 'map(.family) | unique | join(" ")')" \
		"ipv6" "ct list -j: the flows' family"
	assert_eq "$(bpfnat ct list --src fd00:18::3 -j | jq length)" 1 \
		"ct list --src of an IPv6 address"
	assert_eq "$(bpfnat ct list --src 172.18.0.0/16 -j | jq length)" 0 \
		"an IPv4 filter matches no IPv6 flow"
	[[ $(counter snat6) -ge 6 && $(counter reverse_nat6) -ge 6 ]] ||
		fail "counters: snat6 $(counter snat6), reverse_nat6 $(counter reverse_nat6)"
	assert_eq "$(counter drop_unnated_leak)" 0 "the guard had nothing to drop"
	# per family: the NAT66 counters are IPv6's alone, IPv4's none of it
	in_ns a ping -c1 -W2 198.51.100.2 >/dev/null
	bpfnat stats -j | jq -e '.snat6.ipv6_packets == .snat6.packets and
		.reverse_nat6.ipv6_bytes == .reverse_nat6.bytes and
		.snat.packets >= 1 and .snat.ipv6_packets == 0' >/dev/null ||
		fail "stats per family: $(bpfnat stats -j | jq -c '{snat, snat6, reverse_nat6}')"
	assert_match "$(bpfnat stats --prometheus)" \
		"bpfnat_ipv6_packets_total\{outcome=\"snat6\"\} [1-9]" \
		"Prometheus: IPv6's share"
}

# (The download over IPv6 is nat.sh's, which runs in every mode.)

test_iperf3_6_both_ways() {
	needed iperf3
	world6_up
	in_ns out iperf3 -s -1 -D -B 2001:db8:1::2 -p 5201
	wait_tcp out 5201
	local up down
	up=$(in_ns a iperf3 -6 -c 2001:db8:1::2 -p 5201 -t 2 -J |
		jq '.end.sum_received.bytes')
	in_ns out iperf3 -s -1 -D -B 2001:db8:1::2 -p 5202
	wait_tcp out 5202
	down=$(in_ns a iperf3 -6 -c 2001:db8:1::2 -p 5202 -t 2 -R -J |
		jq '.end.sum_received.bytes')
	[[ $up -gt 1000000 && $down -gt 1000000 ]] ||
		fail "iperf3 -6: $up bytes up, $down bytes down"
	assert_eq "$(csum_errors a)" 0 "checksum errors in a"
	assert_eq "$(csum_errors out)" 0 "checksum errors outside"
}

test_udp6_source_port_and_answer() {
	world6_up
	in_ns out socat UDP6-RECVFROM:7300,fork,reuseaddr \
		SYSTEM:'read -r _; echo $SOCAT_PEERADDR $SOCAT_PEERPORT' &
	wait_udp out 7300
	local reply i port
	# a port of the SNAT range, which the container's is kept as when
	# it is free (port preservation)
	port=$(($(bpfnat status -j | jq '.ports[0]') + 7))
	for ((i = 0; i < 4; i++)); do
		reply=$(echo hi | in_ns a socat -T2 - \
			"UDP6:[2001:db8:1::2]:7300,sourceport=$port")
		[[ -n $reply ]] && break
	done
	# (socat writes an IPv6 address out in full)
	assert_eq "$reply" "[2001:0db8:0001:0000:0000:0000:0000:0001] $port" \
		"the peer the outside saw"
	assert_match "$(bpfnat ct list --proto udp)" \
		"^udp +17 [0-9]+ src=fd00:18::2 dst=2001:db8:1::2 sport=$port dport=7300 .* src=2001:db8:1::2 dst=2001:db8:1::1 sport=7300 dport=$port" \
		"ct list shows the UDP flow"
	assert_eq "$(csum_errors a)" 0 "checksum errors in a"
}

# The data path carries it, not the kernel: with the host's IPv6
# forwarding off (the default) and ip6tables dropping what is forwarded.
test_forwarding_off_and_ip6tables_drop() {
	ip6tables -P FORWARD DROP
	world6_up
	assert_eq "$(sysctl -n net.ipv6.conf.all.forwarding)" 0 "host forwarding"
	assert_ok "a pings the outside" in_ns a ping -6 -c2 -i0.2 -W2 2001:db8:1::2
	in_ns out socat -u TCP6-LISTEN:7301,reuseaddr OPEN:/tmp/got,creat,trunc &
	local server=$!
	wait_tcp out 7301
	head -c $((4 * 1024 * 1024)) /dev/urandom >/tmp/blob
	in_ns a socat -u OPEN:/tmp/blob "TCP6:[2001:db8:1::2]:7301"
	wait "$server"
	assert_eq "$(sha256sum </tmp/got)" "$(sha256sum </tmp/blob)" \
		"the file the outside received"
	assert_eq "$(ip6tables -L FORWARD -v -x | awk 'NR == 1 { print $5 }')" 0 \
		"packets ip6tables' FORWARD saw"
}

# An excluded IPv6 network (far's, which routes the pool back to the
# host) is reached un-NATed both ways, with the host's IPv6 forwarding
# off and ip6tables FORWARD DROP; the rest of the outside is still
# NATed; a later `up` keeps the exclusion.
test_excluded6_network_routed_unchanged() {
	ip6tables -P FORWARD DROP
	world6_up --exclude 2001:db8:2::/64 --exclude 203.0.113.0/24
	far6_add
	in_ns out ip -6 route add fd00:18::/64 via 2001:db8:1::1
	assert_eq "$(sysctl -n net.ipv6.conf.all.forwarding)" 0 "host forwarding"
	capture_start far /tmp/far6.pcap ip6
	assert_ok "a pings far" in_ns a ping -6 -c2 -i0.2 -W2 2001:db8:2::2
	http_serve far "[2001:db8:2::2]" $((4 * 1024 * 1024))
	in_ns a curl -6 -sf --max-time 30 -o /tmp/got "http://[2001:db8:2::2]/blob"
	capture_stop
	assert_eq "$(sha256sum </tmp/got)" "$(sha256sum <"$WEB/blob")" \
		"the file a received from far"
	assert_eq "$(awk '{ print $1 }' "$WEB/access.log" | sort -u)" \
		"fd00:18::2" "far's server saw a's own address"
	assert_eq "$(sources6 /tmp/far6.pcap | grep -v '^2001:db8:2::[12]$')" \
		"fd00:18::2" "the only source far saw but its link's"
	assert_eq "$(bpfnat ct count)" 0 "no flow for the excluded network"
	bpfnat stats -j | jq -e '.routed.ipv6_packets > 100 and
		.drop_unnated_leak.packets == 0' >/dev/null ||
		fail "counters: $(bpfnat stats -j | jq -c '{routed, drop_unnated_leak}')"

	step "the rest of the outside: NATed"
	capture_start out /tmp/out6.pcap ip6 and icmp6
	assert_ok "a pings the outside" in_ns a ping -6 -c2 -i0.2 -W2 2001:db8:1::2
	capture_stop
	assert_eq "$(sources6 /tmp/out6.pcap | grep -v '^2001:db8:1::2$')" \
		"2001:db8:1::1" "the outside saw the SNAT address"

	step "a later up keeps the exclusions"
	nat_up
	assert_ok "a pings far again" in_ns a ping -6 -c2 -i0.2 -W2 2001:db8:2::2
	assert_eq "$(bpftool map dump pinned /sys/fs/bpf/bpfnat/exclude6 -j |
		jq -r '.[0].key | length')" 20 "exclude6 holds one 20-byte key"
	assert_eq "$(ip6tables -L FORWARD -v -x | awk 'NR == 1 { print $5 }')" 0 \
		"packets ip6tables' FORWARD saw"
	assert_exit 2 "a prefix too long" bpfnat up --exclude 2001:db8:2::/129
	assert_exit 2 "not an address" bpfnat up --exclude 2001:db8:::2/64
}

test_snat_ip6_option() {
	bpfnat ns add a
	outside_add
	outside6_add
	ip -6 addr add 2001:db8:1::99/64 dev up0 nodad
	assert_exit 2 "not a global address" nat_up --snat-ip6 fe80::1
	assert_exit 2 "not an address" nat_up --snat-ip6 2001:db8::zz
	assert_exit 1 "an address of the pool" nat_up --snat-ip6 fd00:18::5
	nat_up --snat-ip6 2001:db8:1::99
	assert_eq "$(bpfnat status -j | jq -r .snat_address6)" "2001:db8:1::99" \
		"status: the SNAT address given"
	in_ns out socat TCP6-LISTEN:7302,fork,reuseaddr \
		SYSTEM:'echo $SOCAT_PEERADDR' &
	wait_tcp out 7302
	assert_eq "$(in_ns a socat -T5 - "TCP6:[2001:db8:1::2]:7302" </dev/null)" \
		"[2001:0db8:0001:0000:0000:0000:0000:0099]" \
		"the peer the outside saw (socat writes it out in full)"
	# up again without it keeps it
	nat_up
	assert_eq "$(bpfnat status -j | jq -r .snat_address6)" "2001:db8:1::99" \
		"status after another up"
}

# No global IPv6 address on the uplink: containers still talk IPv6 among
# themselves, and the outside is answered "no route", counted.
test_no_snat6_address() {
	bpfnat ns add a
	bpfnat ns add b
	outside_add
	nat_up
	outside6_add	# after up: up found no IPv6 address to take
	assert_eq "$(bpfnat status -j | jq -r .snat_address6)" "null" \
		"status: no IPv6 SNAT address"
	assert_ok "a pings b" in_ns a ping -6 -c1 -W2 fd00:18::3
	local out
	out=$(in_ns a ping -6 -c1 -W2 2001:db8:1::2 || true)
	assert_match "$out" "Destination unreachable: No route" "the gateway's answer"
	[[ $(counter drop_no_nat66) -ge 1 ]] ||
		fail "drop_no_nat66: $(counter drop_no_nat66)"
}

# A packet bigger than the uplink's MTU is answered "packet too big" from
# the gateway, with the MTU, and the container's next try fits.
test_packet_too_big_from_the_gateway() {
	world6_up
	ip link set up0 mtu 1280
	in_ns out ip link set eth0 mtu 1280
	local out
	out=$(in_ns a ping -6 -c1 -W2 -M do -s 1400 2001:db8:1::2 || true)
	assert_match "$out" "From fd00:18::1 .*Packet too big: mtu=1280" \
		"the gateway's answer"
	[[ $(counter drop_mtu_exceeded) -ge 1 ]] ||
		fail "drop_mtu_exceeded: $(counter drop_mtu_exceeded)"
	http_serve out "[2001:db8:1::2]" $((2 * 1024 * 1024))
	in_ns a curl -6 -sf --max-time 30 -o /tmp/got "http://[2001:db8:1::2]/blob"
	assert_eq "$(sha256sum </tmp/got)" "$(sha256sum <"$WEB/blob")" \
		"a download over the 1280-byte link"
}

# Path MTU discovery through NAT66: far is behind a 1280-byte link, whose
# router tells the SNAT address "packet too big", and the container's TCP
# must hear it: the upload arrives whole, and a learnt the path's MTU.
test_path_mtu_discovery6() {
	world6_up
	far6_add 1280
	head -c $((2 * 1024 * 1024)) /dev/urandom >/tmp/blob
	in_ns far socat -u TCP6-LISTEN:8201,reuseaddr OPEN:/tmp/recv,creat &
	wait_tcp far 8201
	timeout 30 ip netns exec a socat -u OPEN:/tmp/blob \
		"TCP6:[2001:db8:2::2]:8201" || fail "upload failed"
	retry 50 sh -c "[ \$(stat -c %s /tmp/recv) = $((2 * 1024 * 1024)) ]" ||
		fail "far received $(stat -c %s /tmp/recv) bytes"
	assert_eq "$(sha256sum </tmp/recv)" "$(sha256sum </tmp/blob)" \
		"uploaded bytes"
	assert_match "$(in_ns a ip -6 route get 2001:db8:2::2)" "mtu 1280" \
		"a learnt the path MTU"
	assert_eq "$(csum_errors a)" 0 "checksum errors in a"
	assert_eq "$(csum_errors far)" 0 "checksum errors in far"
}

# tracepath -6 through the 1280-byte link: the gateway, the outside's
# router (its "time exceeded" and "packet too big" translated), the far
# host reached.
test_tracepath6() {
	world6_up
	far6_add 1280
	local hops
	hops=$(in_ns a tracepath -6 -n -m5 2001:db8:2::2)
	assert_match "$hops" "fd00:18::1" "tracepath sees the gateway"
	assert_match "$hops" "2001:db8:1::2" "tracepath sees the outside router"
	assert_match "$hops" "pmtu 1280" "tracepath learns the narrow link"
	assert_match "$hops" "reached" "tracepath reaches the far host"
}

# A container's ICMPv6 error about a reply it received reaches the
# outside about what the outside sent, and the outside's socket hears it.
test_icmp6_error_from_container() {
	world6_up
	echo hi | in_ns a socat -T1 - \
		"UDP6-SENDTO:[2001:db8:1::2]:8300,sourceport=40300" >/dev/null ||
		true
	capture_start out /tmp/icmp6.pcap icmp6
	# a's socket is gone: its kernel answers port unreachable, which the
	# outside's connected socket reports as a refusal
	(echo late; sleep 1; echo again) | in_ns out socat -T2 - \
		"UDP6:[2001:db8:1::1]:40300,sourceport=8300" 2>/tmp/refused ||
		true
	capture_stop
	assert_match "$(cat /tmp/refused)" "Connection refused" \
		"the outside's socket got the error"
	local seen
	seen=$(tcpdump -nvr /tmp/icmp6.pcap 2>/dev/null)
	assert_match "$seen" \
		"2001:db8:1::1 > 2001:db8:1::2: .*ICMP6, destination unreachable, unreachable port, 2001:db8:1::1 udp port 40300" \
		"the error, about the SNAT address and port"
	assert_no_match "$seen" "fd00:18:" "no pool address, quote included"
	assert_eq "$(csum_errors out)" 0 "checksum errors outside"
}

# A 4000-byte datagram from a container leaves in fragments (its kernel's):
# the first translated as the flow, the later ones from the SNAT address;
# the outside receives it whole, from the SNAT address alone.
test_udp6_fragments_out() {
	world6_up
	in_ns out socat -u UDP6-RECV:8501,reuseaddr OPEN:/tmp/got6,creat &
	local server=$!
	wait_udp out 8501
	capture_start out /tmp/frag6.pcap ip6 and not icmp6
	head -c 2000 /dev/urandom | od -An -v -tx1 | tr -d ' \n' >/tmp/msg6
	in_ns a socat -u OPEN:/tmp/msg6 "UDP6-SENDTO:[2001:db8:1::2]:8501"
	retry 30 sh -c "[ \$(stat -c %s /tmp/got6) -ge 4000 ]" ||
		fail "the outside received $(stat -c %s /tmp/got6) bytes"
	kill "$server" 2>/dev/null || true
	capture_stop
	assert_eq "$(cat /tmp/got6)" "$(cat /tmp/msg6)" "the datagram, whole"
	[[ $(tcpdump -nr /tmp/frag6.pcap 'ip6[6] == 44' 2>/dev/null | wc -l) -ge 3 ]] ||
		fail "not sent in fragments: $(tcpdump -nr /tmp/frag6.pcap 2>/dev/null)"
	assert_eq "$(sources6 /tmp/frag6.pcap)" "2001:db8:1::1" \
		"the only source the outside saw"
	assert_eq "$(csum_errors out)" 0 "checksum errors outside"
}

# A 4000-byte UDP datagram in IPv6 fragments cut by hand, both ways, in
# order or last first ($1 --reverse): the answer's fragments follow their
# first into a, held when they come before it.
fragments6_both_ways() {
	local order=$1 gw port
	world6_up
	head -c 4000 /dev/urandom >/tmp/payload
	in_ns out socat -u UDP6-RECV:8410,reuseaddr OPEN:/tmp/got-out,creat &
	wait_udp out 8410
	in_ns a ping -6 -c1 -W2 fd00:18::1 >/dev/null
	gw=$(in_ns a ip -6 neigh show fd00:18::1 | awk '{ print $5 }')
	in_ns a pktsend -i eth0 --dmac "$gw" --src fd00:18::2 \
		--dst 2001:db8:1::2 --sport 40410 --dport 8410 --mtu 1500 \
		$order </tmp/payload
	retry 30 sh -c "[ \$(stat -c %s /tmp/got-out) = 4000 ]" ||
		fail "outside got $(stat -c %s /tmp/got-out) bytes"
	cmp /tmp/got-out /tmp/payload || fail "a -> outside: bytes differ"

	# back: from 8410 to the SNAT address and the flow's port
	port=$(bpfnat ct list -j | jq -r '.[] | select(.original.dport == 8410) |
		.reply.dport')
	in_ns a socat -u UDP6-RECV:40410,reuseaddr OPEN:/tmp/got-a,creat &
	wait_udp a 40410
	in_ns out pktsend -i eth0 --dmac "$(cat /sys/class/net/up0/address)" \
		--src 2001:db8:1::2 --dst 2001:db8:1::1 --sport 8410 \
		--dport "$port" --mtu 1500 $order </tmp/payload
	retry 30 sh -c "[ \$(stat -c %s /tmp/got-a) = 4000 ]" ||
		fail "a got $(stat -c %s /tmp/got-a) bytes"
	cmp /tmp/got-a /tmp/payload || fail "outside -> a: bytes differ"
	assert_eq "$(counter drop_fragment)" 0 "no fragment dropped"
	assert_eq "$(csum_errors a)" 0 "checksum errors in a"
}

test_udp6_fragments_in_order() {
	fragments6_both_ways ""
	[[ $(counter reverse_nat6) -ge 3 ]] ||
		fail "reverse_nat6: $(counter reverse_nat6), not each fragment"
}

test_udp6_fragments_out_of_order() {
	fragments6_both_ways --reverse
	[[ $(counter frag_held) -ge 2 ]] ||
		fail "the later fragments were not held for their first"
	bpfnat stats -j | jq -e '.frag_held.ipv6_packets == .frag_held.packets' \
		>/dev/null || fail "frag_held: not all IPv6's"
}

# The kernels' own fragmenting, with sockets at both ends: a 4000-byte
# datagram echoed back from the outside reaches a's socket whole.
test_udp6_fragments_from_sockets() {
	world6_up
	in_ns out socat UDP6-RECVFROM:8510,fork,reuseaddr EXEC:cat &
	wait_udp out 8510
	head -c 2000 /dev/urandom | od -An -v -tx1 | tr -d ' \n' >/tmp/msg
	assert_eq "$(udp_ask a "[2001:db8:1::2]:8510" -b 8192 </tmp/msg)" \
		"$(cat /tmp/msg)" "4000-byte datagram echoed back"
	assert_eq "$(csum_errors a)" 0 "checksum errors in a"
}

# Fragments for the host itself, last first: held, then handed to it.
test_udp6_fragments_for_the_host_out_of_order() {
	world6_up
	head -c 4000 /dev/urandom >/tmp/payload
	socat -u "UDP6-RECV:8810,bind=[2001:db8:1::1],reuseaddr" \
		OPEN:/tmp/got-host,creat &
	wait_udp host 8810
	in_ns out pktsend -i eth0 --dmac "$(cat /sys/class/net/up0/address)" \
		--src 2001:db8:1::2 --dst 2001:db8:1::1 --sport 8810 \
		--dport 8810 --mtu 1500 --reverse </tmp/payload
	retry 30 sh -c "[ \$(stat -c %s /tmp/got-host) = 4000 ]" ||
		fail "the host got $(stat -c %s /tmp/got-host) bytes"
	cmp /tmp/got-host /tmp/payload || fail "bytes differ"
	assert_eq "$(counter drop_fragment)" 0 "no fragment dropped"
	[[ $(counter frag_held) -ge 1 ]] ||
		fail "the later fragments were not held for their first"
	# and a large ping, the kernel's fragments, is answered
	assert_ok "out pings the host with 3000 bytes" \
		in_ns out ping -6 -c2 -i0.3 -W2 -s 3000 2001:db8:1::1
}

# The same datagram to far, behind the 1280-byte link: the router's
# "packet too big" about the first fragment is translated (its quote's
# ports follow the Fragment header), a's kernel fragments smaller, and
# the next try arrives whole.
test_udp6_fragments_learn_the_path_mtu() {
	world6_up
	far6_add 1280
	in_ns far socat -u UDP6-RECV:8502,reuseaddr OPEN:/tmp/gotfar,creat &
	local server=$!
	wait_udp far 8502
	head -c 2000 /dev/urandom | od -An -v -tx1 | tr -d ' \n' >/tmp/msg6
	# one socket, a few tries: the kernel learns a path MTU from an
	# error only while the socket the error is about is there
	in_ns a python3 - <<-'EOF' || fail "could not send"
	import socket, time
	s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
	data = open("/tmp/msg6", "rb").read()
	for _ in range(4):
	    s.sendto(data, ("2001:db8:2::2", 8502))
	    time.sleep(0.3)
	EOF
	retry 20 sh -c "[ \$(stat -c %s /tmp/gotfar) -ge 4000 ]" || true
	kill "$server" 2>/dev/null || true
	assert_eq "$(head -c 4000 /tmp/gotfar)" "$(cat /tmp/msg6)" \
		"the datagram, whole, once the path's MTU was learnt"
	assert_match "$(in_ns a ip -6 route get 2001:db8:2::2)" "mtu 1280" \
		"a learnt the path MTU from a fragment's error"
}

# An error a container sends about what the host itself sent it (from an
# address of its own, not the SNAT address) is no flow's: it reaches the
# host's socket, over IPv4 and IPv6 alike.
test_icmp_errors_to_the_host_reach_it() {
	world6_up
	ip addr add 203.0.113.77/32 dev lo
	ip -6 addr add 2001:db8:7::1/128 dev lo nodad
	(echo one; sleep 1; echo two) | socat -T2 - \
		UDP4:172.18.0.2:9999,bind=203.0.113.77 2>/tmp/refused4 || true
	(echo one; sleep 1; echo two) | socat -T2 - \
		"UDP6:[fd00:18::2]:9999,bind=[2001:db8:7::1]" 2>/tmp/refused6 ||
		true
	assert_match "$(cat /tmp/refused4)" "Connection refused" \
		"the host's IPv4 socket got a's error"
	assert_match "$(cat /tmp/refused6)" "Connection refused" \
		"the host's IPv6 socket got a's error"
	assert_eq "$(counter drop_icmp_no_flow)" 0 "drop_icmp_no_flow"
}

# What NAT66 does not translate never leaves: an extension header (a
# destination options header here) to the outside is dropped, counted.
test_extension_header_dropped() {
	world6_up
	capture_start out /tmp/ext.pcap ip6
	in_ns a python3 - <<'EOF' || fail "could not send"
import socket
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
# IPV6_DSTOPTS: a destination options header of PadN alone
s.setsockopt(socket.IPPROTO_IPV6, 59, bytes([0, 0, 1, 4, 0, 0, 0, 0]))
s.sendto(b"x", ("2001:db8:1::2", 7303))
EOF
	sleep 0.5
	capture_stop
	assert_eq "$(tcpdump -nr /tmp/ext.pcap 'ip6 and not icmp6 and not ip6 multicast' 2>/dev/null)" "" \
		"nothing reached the outside"
	[[ $(counter drop_ipv6_ext_header) -ge 1 ]] ||
		fail "drop_ipv6_ext_header: $(counter drop_ipv6_ext_header)"
}

# ns del takes the container's IPv6 flows with it.
test_ns_del_flushes_ipv6_flows() {
	world6_up
	in_ns a ping -6 -c1 -W2 2001:db8:1::2 >/dev/null
	in_ns b ping -6 -c1 -W2 2001:db8:1::2 >/dev/null
	assert_eq "$(bpfnat ct count)" 2 "a flow each"
	bpfnat ns del a
	assert_eq "$(bpfnat ct list -j | jq -r '.[].original.src')" "fd00:18::3" \
		"b's flow alone is left"
}

# ---------------------------------------------------------------------
# Published ports over IPv6: a port published with no host address
# answers on the IPv6 SNAT address too, the server sees the real client,
# and containers reach it by hairpinning.
# ---------------------------------------------------------------------

test_http6_through_a_published_port() {
	world6_up
	http_serve a "[fd00:18::2]" $((16 * 1024 * 1024))
	bpfnat port add a 8080:80
	capture_start out /tmp/pub6.pcap ip6 and tcp
	in_ns out curl -6 -sf --max-time 30 -o /tmp/got \
		"http://[2001:db8:1::1]:8080/blob"
	capture_stop
	assert_eq "$(sha256sum </tmp/got)" "$(sha256sum <"$WEB/blob")" \
		"the file the outside downloaded over IPv6"
	assert_eq "$(awk '{ print $1 }' "$WEB/access.log" | sort -u)" \
		"2001:db8:1::2" "the client's own address in nginx's log"
	assert_eq "$(bpfnat ct list -j | jq -r '[.[] | select(.kind == "dnat")
		| "\(.family) \(.original.src) \(.original.dport) \(.reply.src) \(.reply.sport)"]
		| unique | .[]')" "ipv6 2001:db8:1::2 8080 fd00:18::2 80" \
		"an IPv6 DNAT flow, both tuples"
	assert_eq "$(sources6 /tmp/pub6.pcap | grep -v '^2001:db8:1::2$')" \
		"2001:db8:1::1" "the outside saw the SNAT address alone"
	bpfnat stats -j | jq -e '.dnat.ipv6_packets > 0' >/dev/null ||
		fail "dnat, IPv6's share: $(bpfnat stats -j | jq -c .dnat)"
	assert_eq "$(csum_errors a)" 0 "checksum errors in a"
	assert_eq "$(csum_errors out)" 0 "checksum errors outside"
	assert_eq "$(counter drop_unnated_leak)" 0 "nothing leaked"
	assert_eq "$(bpfnat port list -j | jq -r '.[] | "\(.address6) \(.host_ip6)"')" \
		"fd00:18::2 ::" "one mapping, its IPv6 twin in its row"
}

test_udp6_echo_through_a_published_port() {
	world6_up
	echo_peer_udp6 a 5353
	bpfnat port add a 9053:5353/udp
	assert_match "$(udp_ask out "[2001:db8:1::1]:9053,sourceport=40600" \
		<<<hello)" "^2001:db8:1::2 40600$" \
		"the answer names the outside client and its port"
	assert_eq "$(bpfnat ct list -j | jq -r '.[] | select(.kind == "dnat"
		and .original.sport == 40600) | .replied')" true "answered"
}

# An IPv6 host address names that address alone, and IPv6 alone.
test_published_on_one_ipv6_address() {
	world6_up
	ip -6 addr add 2001:db8:1::7/64 dev up0 nodad
	echo_peer6 a 7000
	bpfnat port add a "[2001:db8:1::7]:7070:7000"
	assert_eq "$(bpfnat port list -j | jq -c '[.[] | {host_ip, address}]')" \
		'[{"host_ip":"2001:db8:1::7","address":"fd00:18::2"}]' \
		"port list: the IPv6 mapping"
	assert_match "$(in_ns out socat -T5 - "TCP6:[2001:db8:1::7]:7070" \
		</dev/null)" "^2001:db8:1::2 " "through 2001:db8:1::7"
	! in_ns out socat -T2 - "TCP6:[2001:db8:1::1]:7070" </dev/null \
		2>/dev/null || fail "published on the SNAT address too"
	! in_ns out socat -T2 - TCP4:198.51.100.1:7070 </dev/null \
		2>/dev/null || fail "published over IPv4 too"
}

# A port on every address answers on the host's other IPv6 addresses too,
# with the uplink's IPv6 forwarding as the host has it (off here).
test_published6_on_every_address() {
	world6_up
	ip -6 addr add 2001:db8:1::8/64 dev up0 nodad
	assert_eq "$(sysctl -n net.ipv6.conf.up0.forwarding)" 0 \
		"the uplink does not forward IPv6"
	echo_peer6 a 7000
	bpfnat port add a 7080:7000
	assert_match "$(in_ns out socat -T5 - "TCP6:[2001:db8:1::8]:7080" \
		</dev/null)" "^2001:db8:1::2 " "through 2001:db8:1::8"
}

# From another container and from the publishing one itself, the server
# sees the client's external mapping, the IPv6 SNAT address.
test_hairpin6() {
	world6_up
	echo_peer6 a 7000
	bpfnat port add a 7070:7000
	assert_match "$(in_ns b socat -T5 - "TCP6:[2001:db8:1::1]:7070" \
		</dev/null)" "^2001:db8:1::1 [0-9]+$" \
		"from b: seen as the IPv6 SNAT address"
	assert_match "$(in_ns a socat -T5 - "TCP6:[2001:db8:1::1]:7070" \
		</dev/null)" "^2001:db8:1::1 [0-9]+$" "from a itself"
	http_serve a "[fd00:18::2]" $((4 * 1024 * 1024))
	bpfnat port add a 8080:80
	in_ns b curl -6 -sf --max-time 30 -o /tmp/got \
		"http://[2001:db8:1::1]:8080/blob"
	assert_eq "$(sha256sum </tmp/got)" "$(sha256sum <"$WEB/blob")" \
		"the file b downloaded through the hairpin"
	[[ $(counter hairpin) -gt 0 ]] || fail "nothing counted as hairpin"
	assert_eq "$(csum_errors a)" 0 "checksum errors in a"
	assert_eq "$(csum_errors b)" 0 "checksum errors in b"
}

# port del takes both families' entries; a held IPv6 port refuses an add.
test_published6_del_and_refusals() {
	world6_up
	echo_peer6 a 7000
	bpfnat port add a 7070:7000
	bpfnat port del a 7070
	! in_ns out socat -T2 - "TCP6:[2001:db8:1::1]:7070" </dev/null \
		2>/dev/null || fail "answered over IPv6 after del"
	assert_eq "$(bpfnat port list -j)" "[]" "nothing listed"
	bpfnat port add b "[::]:7071:80"
	assert_exit 1 "[::]:7071 is b's" bpfnat port add a 7071:80
	assert_match "$LAST_ERR" "\[::\]:7071/tcp is published already, to container b" \
		"says whose"
	assert_exit 1 "del of b's port from a" bpfnat port del a 7071
	assert_match "$LAST_ERR" "published to container b, not to this one" \
		"says whose"
	assert_eq "$(bpfnat port list -j | jq -c '[.[] | .container]')" '["b"]' \
		"b's mapping alone"
}
