# SPDX-License-Identifier: GPL-2.0-only
#
# The data path with real clients: containers reach the outside through
# SNAT, each other directly, and bpfnat (not the kernel) carries it.

test_ping_outside() {
	world_up
	assert_ok "a pings the outside" in_ns a ping -c3 -i0.2 -W2 198.51.100.2
	assert_ok "b pings the outside" in_ns b ping -c3 -i0.2 -W2 198.51.100.2
	assert_eq "$(bpfnat ct count)" 2 "one flow per echo id"
	assert_match "$(bpfnat ct list)" \
		"^icmp +1 [0-9]+ src=172.18.0.[23] dst=198.51.100.2 type=8 code=0 id=[0-9]+ packets=3" \
		"ct list shows the echo flow"
	[[ $(counter snat) -ge 6 && $(counter reverse_nat) -ge 6 ]] ||
		fail "counters: snat $(counter snat), reverse_nat $(counter reverse_nat)"
	xdp_carried snat reverse_nat
}

test_http_download_byte_identical() {
	world_up
	http_serve out 198.51.100.2 $((16 * 1024 * 1024))
	in_ns a curl -sf --max-time 30 -o /tmp/got http://198.51.100.2/blob
	assert_eq "$(sha256sum </tmp/got)" "$(sha256sum <"$WEB/blob")" \
		"downloaded file"
	# the server saw the SNAT address, never the container's
	assert_eq "$(awk '{ print $1 }' "$WEB/access.log" | sort -u)" \
		"198.51.100.1" "client address in the server's log"
	assert_eq "$(csum_errors a)" 0 "checksum errors in a"
	assert_eq "$(csum_errors out)" 0 "checksum errors outside"
	xdp_carried snat reverse_nat
}

# The same over IPv6 (NAT66), in every mode: with XDP on the uplink, XDP
# carries the flow's packets both ways.
test_http6_download_byte_identical() {
	world6_up
	http_serve out "[2001:db8:1::2]" $((16 * 1024 * 1024))
	in_ns a curl -6 -sf --max-time 30 -o /tmp/got "http://[2001:db8:1::2]/blob"
	assert_eq "$(sha256sum </tmp/got)" "$(sha256sum <"$WEB/blob")" \
		"downloaded file"
	assert_eq "$(awk '{ print $1 }' "$WEB/access.log" | sort -u)" \
		"2001:db8:1::1" "client address in the server's log"
	assert_eq "$(csum_errors a)" 0 "checksum errors in a"
	assert_eq "$(csum_errors out)" 0 "checksum errors outside"
	[[ $(counter reverse_nat6) -ge 100 ]] ||
		fail "reverse_nat6: $(counter reverse_nat6)"
	xdp_carried snat6 reverse_nat6
}

test_outside_sees_only_the_snat_address() {
	world_up
	echo_peer out 7000
	capture_start out /tmp/out.pcap ip
	assert_match "$(in_ns a socat -T5 - TCP4:198.51.100.2:7000 </dev/null)" \
		"^198.51.100.1 " "the peer the server sees"
	in_ns a ping -c1 -W2 198.51.100.2 >/dev/null
	echo x | in_ns a socat -T1 - UDP4:198.51.100.2:7001 || true
	capture_stop
	local sources
	sources=$(tcpdump -nr /tmp/out.pcap 2>/dev/null | awk '{ print $3 }' |
		sed 's/\.[0-9]*$//' | sort -u)
	assert_no_match "$sources" "172\.18\." "no private source on the wire"
	assert_match "$sources" "198.51.100.1" "the SNAT address on the wire"
}

test_iperf3_tcp_and_udp() {
	world_up
	in_ns out iperf3 -s -D -B 198.51.100.2 --logfile /tmp/iperf.log
	wait_tcp out 5201
	in_ns a iperf3 -c 198.51.100.2 -t 2 -J >/tmp/tcp.json
	[[ $(jq '.end.sum_received.bytes' /tmp/tcp.json) -gt 1000000 ]] ||
		fail "TCP: too few bytes received"
	in_ns a iperf3 -c 198.51.100.2 -u -b 20M -t 2 -J >/tmp/udp.json
	local lost
	lost=$(jq '.end.sum.lost_percent' /tmp/udp.json)
	[[ ${lost%.*} -lt 5 ]] || fail "UDP: $lost% lost"
	[[ $(jq '.end.sum.packets' /tmp/udp.json) -gt 1000 ]] ||
		fail "UDP: too few packets"
	assert_eq "$(csum_errors out)" 0 "checksum errors outside"
	assert_eq "$(csum_errors a)" 0 "checksum errors in a"
}

test_socat_tcp_and_udp_echo() {
	world_up
	in_ns out socat TCP4-LISTEN:7100,fork,reuseaddr EXEC:cat &
	in_ns out socat UDP4-RECVFROM:7101,fork,reuseaddr EXEC:cat &
	wait_tcp out 7100
	wait_udp out 7101
	assert_eq "$(echo hello-tcp | in_ns a socat -T3 - TCP4:198.51.100.2:7100)" \
		"hello-tcp" "TCP echo"
	assert_eq "$(echo hello-udp | udp_ask a 198.51.100.2:7101)" \
		"hello-udp" "UDP echo"
}

# Two containers, the same source port, the same server: two mappings.
test_same_source_port_two_containers() {
	world_up
	echo_peer out 7200
	local pa pb
	# (a port of the SNAT range, below the host's ephemeral ones)
	pa=$(in_ns a socat -T5 - TCP4:198.51.100.2:7200,sourceport=30000 </dev/null)
	pb=$(in_ns b socat -T5 - TCP4:198.51.100.2:7200,sourceport=30000 </dev/null)
	assert_eq "$pa" "198.51.100.1 30000" "first keeps its port"
	assert_match "$pb" "^198.51.100.1 [0-9]+$" "second is NATed"
	assert_ne "$pb" "$pa" "second gets another port"
}

# Between containers nothing is translated: b sees a's own address.
test_container_to_container_keeps_addresses() {
	world_up
	echo_peer b 7300
	local before
	before=$(counter forwarded)
	assert_match "$(in_ns a socat -T5 - TCP4:172.18.0.3:7300 </dev/null)" \
		"^172.18.0.2 " "b sees a's address"
	[[ $(counter forwarded) -gt $before ]] || fail "not counted as forwarded"
	assert_eq "$(bpfnat ct count)" 0 "no conntrack state for it"
}

# With the kernel's forwarding off and the FORWARD chain dropping, only
# bpfnat can carry the traffic; the kernel's conntrack sees none of it.
test_bpf_carries_the_traffic() {
	world_up
	http_serve out 198.51.100.2 $((1024 * 1024))
	echo_peer b 7400
	# 1 then 0: the change turns forwarding off on every device too
	sysctl -qw net.ipv4.ip_forward=1
	sysctl -qw net.ipv4.ip_forward=0
	iptables -P FORWARD DROP
	# make the kernel track connections in this namespace
	iptables -A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
	assert_eq "$(sysctl -n net.ipv4.conf.bnac120002.forwarding)" 0 \
		"forwarding off on a's veth"

	assert_ok "ping outside" in_ns a ping -c2 -i0.2 -W2 198.51.100.2
	in_ns a curl -sf --max-time 20 -o /tmp/got http://198.51.100.2/blob
	assert_eq "$(sha256sum </tmp/got)" "$(sha256sum <"$WEB/blob")" \
		"download without kernel forwarding"
	assert_match "$(in_ns a socat -T5 - TCP4:172.18.0.3:7400 </dev/null)" \
		"^172.18.0.2 " "container to container"
	# (outwards, XDP leaves it to tc: with the forwarding off the FIB
	# helper gives no next hop, and only tc can resolve one itself)
	xdp_carried reverse_nat forwarded

	# the control: traffic to the host itself is tracked by the kernel
	in_ns a ping -c1 -W2 172.18.0.1 >/dev/null
	local ct
	ct=$(conntrack -L 2>/dev/null)
	assert_match "$ct" "dst=172.18.0.1" "the kernel tracks the host's flow"
	assert_no_match "$ct" "198.51.100.2" "no kernel entry for NATed flows"
	assert_no_match "$ct" "dst=172.18.0.3" "none for container to container"
}

# The UDP checksum a container leaves out (SO_NO_CHECK) stays out.
test_udp_zero_checksum_survives() {
	world_up
	capture_start out /tmp/udp.pcap udp port 7500
	# SOL_SOCKET = 1, SO_NO_CHECK = 11
	echo zero | in_ns a socat -T1 - \
		UDP4-SENDTO:198.51.100.2:7500,setsockopt-int=1:11:1 || true
	capture_stop
	local seen
	seen=$(tcpdump -nvvr /tmp/udp.pcap 2>/dev/null)
	assert_match "$seen" "198.51.100.1.[0-9]+ > 198.51.100.2.7500" "NATed"
	assert_match "$seen" "no cksum" "UDP checksum still 0 on the wire"
}

# Containers whose stack sends full checksums (no TX offload) as well as
# those handing over CHECKSUM_PARTIAL (the default) come out right.
test_checksums_with_and_without_offload() {
	command -v ethtool >/dev/null || skip "ethtool is not installed"
	world_up
	http_serve out 198.51.100.2 $((4 * 1024 * 1024))
	in_ns b ethtool -K eth0 tx off >/dev/null
	for c in a b; do
		in_ns "$c" curl -sf --max-time 20 -o "/tmp/got-$c" \
			http://198.51.100.2/blob
		assert_eq "$(sha256sum <"/tmp/got-$c")" \
			"$(sha256sum <"$WEB/blob")" "download by $c"
	done
	assert_eq "$(csum_errors out)" 0 "checksum errors outside"
}

test_up_twice_keeps_flows() {
	world_up
	session_open 7600
	session_say one
	local flows
	flows=$(bpfnat ct list -j)

	nat_up
	assert_eq "$(bpfnat ct list -j | jq -c 'map(.original)')" \
		"$(jq -c 'map(.original)' <<<"$flows")" "flows kept"
	session_say two		# the connection carries on
	assert_eq "$(bpfnat status -j | jq '.attached | length')" 3 \
		"attached once per device"
	assert_eq "$(tc filter show dev up0 ingress | grep -c 'handle')" 1 \
		"one filter on the uplink"
}

# up in another mode and back: a connection carries on, and only the
# mode in force has programs loaded, pinned and attached.  (tc <-> xdp-full,
# xdp <-> xdp-full: XDP on the uplink comes and goes.)
test_mode_switch_keeps_flows() {
	world_up
	local other=xdp-full mode dp want_xdp want_up
	[[ $BPFNAT_MODE == xdp-full ]] && other=tc
	# what xdp-full's outside needs (see outside_add)
	outside_as_a_wire
	session_open 7600
	session_say one
	for mode in "$other" "$BPFNAT_MODE"; do
		dp=${mode%-full} want_xdp=false want_up=false
		[[ $dp == xdp ]] && want_xdp=true
		[[ $mode == xdp-full ]] && want_up=true
		bpfnat up --uplink up0 --mode "$dp" \
			--xdp-uplink "$([[ $want_up == true ]] && echo on || echo auto)" \
			2>/dev/null
		session_say "in $mode"
		assert_ok "a pings the outside in $mode" \
			in_ns a ping -c1 -W2 198.51.100.2
		assert_eq "$(bpfnat status -j | jq -c '[.mode, .xdp_uplink,
			(.program_ids | has("xdp_container")),
			(.attached | map(select(.name != "up0") | .xdp) | unique),
			(.attached | map(select(.name == "up0") | .xdp))]')" \
			"[\"$dp\",$want_up,$want_xdp,[$want_xdp],[$want_up]]" \
			"status in $mode"
		assert_eq "$(ls /sys/fs/bpf/bpfnat | grep -c '^xdp_')" \
			"$([[ $want_xdp == true ]] && echo 3 || echo 0)" \
			"XDP pins in $mode"
		assert_eq "$(ip -o link show up0 | grep -c ' xdp')" \
			"$([[ $want_up == true ]] && echo 1 || echo 0)" \
			"XDP on the uplink in $mode"
	done
}

# down removes bpfnat's programs and pins and nothing else.
test_down_leaves_the_rest() {
	world_up
	# another tool's filters on the uplink, ingress and egress
	# (classic BPF "return 0": no match, the next filter runs)
	tc filter add dev up0 ingress prio 10 bpf bytecode '1,6 0 0 0' classid 1:1
	tc filter add dev up0 egress prio 10 bpf bytecode '1,6 0 0 0' classid 1:1
	assert_ok "bpfnat still works behind it" \
		in_ns a ping -c1 -W2 198.51.100.2
	bpfnat down
	[[ -e /sys/fs/bpf/bpfnat ]] && fail "pins remain"
	assert_match "$(tc filter show dev up0 ingress)" "pref 10 bpf" \
		"foreign ingress filter kept"
	assert_match "$(tc filter show dev up0 egress)" "pref 10 bpf" \
		"foreign egress filter kept"
	assert_no_match "$(tc filter show dev up0 ingress)" "tc_uplink" \
		"bpfnat's filter gone"
	assert_no_match "$(tc qdisc show dev bnac120002)" "clsact" \
		"a container's clsact removed"
	assert_eq "$(bpfnat ns list -j | jq length)" 2 "containers stay"
	# ... and keep working through the kernel
	kernel_masquerade
	assert_ok "a -> b" in_ns a ping -c1 -W2 172.18.0.3
	assert_ok "a -> outside" in_ns a ping -c1 -W2 198.51.100.2
	assert_match "$(bpfnat status)" "down" "status"
	bpfnat down
}

test_down_on_a_clean_host() {
	bpfnat down
	assert_match "$(bpfnat status -j | jq -r .state)" "down" "status -j"
}

test_containers_added_after_up() {
	outside_add
	nat_up
	bpfnat ns add late
	assert_ok "late pings the outside" in_ns late ping -c1 -W2 198.51.100.2
	assert_match "$(tc filter show dev bnac120002 ingress)" "tc_container" \
		"attached to the new container"
	bpfnat ns add late2
	assert_ok "late2 -> late" in_ns late2 ping -c1 -W2 172.18.0.2
}

test_ns_del_forgets_the_container() {
	world_up
	in_ns a ping -c1 -W2 198.51.100.2 >/dev/null
	in_ns b ping -c1 -W2 198.51.100.2 >/dev/null
	assert_eq "$(bpfnat ct count)" 2 "two flows"
	bpfnat ns del a
	assert_eq "$(bpfnat ct list -j | jq -r '.[].original.src')" \
		"172.18.0.3" "a's flow flushed, b's kept"
	assert_eq "$(bpfnat status -j | jq .containers)" 1 "endpoint removed"
	# a new container on a's address starts clean
	bpfnat ns add c
	assert_ok "c works" in_ns c ping -c1 -W2 198.51.100.2
}

test_excluded_destination_routed_unchanged() {
	world_up --exclude 198.51.100.0/24
	sysctl -qw net.ipv4.ip_forward=1
	ip -n out route add 172.18.0.0/16 via 198.51.100.1
	echo_peer out 7700
	assert_match "$(in_ns a socat -T5 - TCP4:198.51.100.2:7700 </dev/null)" \
		"^172.18.0.2 " "excluded: the server sees the container"
	assert_eq "$(bpfnat ct count)" 0 "no NAT state"
}

test_traffic_to_the_host_not_natted() {
	world_up
	socat TCP4-LISTEN:7800,fork,reuseaddr \
		SYSTEM:'echo $SOCAT_PEERADDR' &
	wait_tcp host 7800
	assert_eq "$(in_ns a socat -T5 - TCP4:198.51.100.1:7800 </dev/null)" \
		"172.18.0.2" "the host's uplink address"
	assert_eq "$(in_ns a socat -T5 - TCP4:172.18.0.1:7800 </dev/null)" \
		"172.18.0.2" "the gateway"
	assert_eq "$(bpfnat ct count)" 0 "no NAT state"
}

test_cli_json_outputs() {
	world_up
	in_ns a ping -c1 -W2 198.51.100.2 >/dev/null
	local xdp_uplink=false
	[[ $BPFNAT_MODE == xdp-full ]] && xdp_uplink=true
	bpfnat status -j | jq -e --arg mode "$DP_MODE" \
		--argjson xu "$xdp_uplink" '.state == "up" and
		.mode == $mode and .xdp_uplink == $xu and
		(.xdp_uplink_note != null) == ($mode == "xdp" and ($xu | not)) and
		(.attached | map(select(.guard)) | map(.name)) == ["up0"] and
		.uplink == "up0" and .snat_address == "198.51.100.1" and
		.containers == 2 and .ct_flows == 1' >/dev/null ||
		fail "status -j: $(bpfnat status -j)"
	bpfnat stats -j | jq -e '.snat.packets >= 1 and
		(to_entries | all(.value | has("packets") and has("bytes")))' \
		>/dev/null || fail "stats -j"
	bpfnat ct list -j | jq -e 'length == 1 and .[0].protocol == "icmp" and
		.[0].reply.dst == "198.51.100.1" and .[0].replied' >/dev/null ||
		fail "ct list -j: $(bpfnat ct list -j)"
	assert_eq "$(bpfnat ct flush)" "1 flows removed" "ct flush"
	assert_eq "$(bpfnat ct count)" 0 "count after flush"
}

test_up_usage_errors() {
	outside_add
	assert_exit 2 "bad pool" bpfnat up --pool 172.18.0.0
	assert_exit 2 "bad ports" bpfnat up --ports 9-3
	assert_exit 2 "bad mode" bpfnat up --mode gpu
	assert_exit 2 "bad ct-max" bpfnat up --ct-max 0
	assert_exit 2 "bad exclude" bpfnat up --exclude 1.2.3
	assert_exit 2 "bad timeout" bpfnat up --udp-timeout -5
	assert_exit 2 "unknown flag" bpfnat up --turbo
	assert_exit 1 "no such uplink" bpfnat up --uplink nosuch0
	[[ -e /sys/fs/bpf/bpfnat ]] && fail "a failed up left pins"
	assert_no_match "$(tc qdisc show)" "clsact" "a failed up left a qdisc"
	nat_up --ct-max 4096
	assert_exit 1 "another ct-max while running" nat_up --ct-max 8192
	assert_match "$LAST_ERR" "down" "says how to proceed"
}
