# SPDX-License-Identifier: GPL-2.0-only
#
# The hard cases of NAT with real tools: conntrack that expires by itself,
# ICMP errors and path MTU discovery, traceroute, fragments in and out of
# order, port exhaustion, restarts and upgrades, spoofed and malformed
# packets.

# Flows expire inside the kernel, with no bpfnat process alive, both
# directions at once.
test_flows_expire_without_a_daemon() {
	world_up --udp-timeout 2 --udp-timeout-stream 2 --icmp-timeout 2
	echo_peer_udp out 8000
	echo x | in_ns a socat -T1 - UDP4:198.51.100.2:8000 >/dev/null
	in_ns a ping -c1 -W2 198.51.100.2 >/dev/null
	# (under emulation the first may have expired already: 2 s)
	assert_eq "$(($(bpfnat ct count) + $(bpfnat status -j | jq .ct_expired)))" \
		2 "two flows, live or expired"
	retry 3 sh -c "[ \$(bpftool map dump pinned /sys/fs/bpf/bpfnat/ct_index -j |
		jq length) = \$((2 * \$($BPFNAT ct count))) ]" ||
		fail "not two keys per live flow"
	pgrep -x bpfnat && fail "a bpfnat process is running"
	# timeout 2 s + one sweep of the table (about 4 s)
	retry 100 sh -c "[ \$($BPFNAT ct count) = 0 ]" ||
		fail "flows did not expire: $(bpfnat ct list)"
	assert_eq "$(bpftool map dump pinned /sys/fs/bpf/bpfnat/ct_index -j |
		jq length)" 0 "no key left behind"
	[[ $(bpfnat status -j | jq .ct_expired) -ge 2 ]] ||
		fail "expiries not counted"
	# and a new flow works
	assert_ok "a flow after expiry" in_ns a ping -c1 -W2 198.51.100.2
	assert_eq "$(bpfnat ct count)" 1 "the new flow"
}

# The TCP state machine, as conntrack shows it.
test_tcp_states() {
	world_up
	session_open 8100
	session_say hi
	assert_eq "$(bpfnat ct list -j | jq -r '.[0].state')" "ESTABLISHED" \
		"after the handshake"
	[[ $(bpfnat ct list -j | jq '.[0].timeout') -gt 7000 ]] ||
		fail "established timeout: $(bpfnat ct list -j | jq '.[0].timeout')"
	session_close
	retry 20 sh -c "$BPFNAT ct list | grep -q TIME_WAIT" ||
		fail "after both FINs: $(bpfnat ct list)"
	[[ $(bpfnat ct list -j | jq '.[0].timeout') -le 240 ]] ||
		fail "closing timeout"
}

# Path MTU discovery through the NAT: the far host is behind a 1280-byte
# link; the router there says "fragmentation needed" to the SNAT address
# and the container's TCP must hear it.
test_path_mtu_discovery() {
	world_up
	far_add 1280
	head -c $((2 * 1024 * 1024)) /dev/urandom >/tmp/blob
	in_ns far socat -u TCP4-LISTEN:8200,reuseaddr OPEN:/tmp/recv,creat &
	wait_tcp far 8200
	timeout 30 ip netns exec a socat -u OPEN:/tmp/blob \
		TCP4:203.0.113.2:8200 || fail "upload failed"
	retry 50 sh -c "[ \$(stat -c %s /tmp/recv) = $((2 * 1024 * 1024)) ]" ||
		fail "far received $(stat -c %s /tmp/recv) bytes"
	assert_eq "$(sha256sum </tmp/recv)" "$(sha256sum </tmp/blob)" \
		"uploaded bytes"
	assert_match "$(in_ns a ip route get 203.0.113.2)" "mtu 1280" \
		"a learnt the path MTU"
}

test_traceroute_and_tracepath() {
	world_up
	far_add
	local hops
	hops=$(in_ns a traceroute -n -q1 -w5 -m5 203.0.113.2 | tail -n +2 |
		awk '{ print $2 }' | tr '\n' ' ')
	assert_eq "$hops" "172.18.0.1 198.51.100.2 203.0.113.2 " \
		"traceroute's hops"
	hops=$(in_ns a tracepath -n -m5 203.0.113.2)
	assert_match "$hops" "198.51.100.2" "tracepath sees the outside router"
	assert_match "$hops" "reached" "tracepath reaches the far host"
}

# A container's ICMP error about a reply it received reaches the outside
# about what the outside sent, and the outside's socket hears it.
test_icmp_error_from_container() {
	world_up
	echo hi | in_ns a socat -T1 - \
		UDP4-SENDTO:198.51.100.2:8300,sourceport=40300 >/dev/null || true
	capture_start out /tmp/icmp.pcap icmp
	# the container's socket is gone: its kernel answers port unreachable,
	# which the outside's connected socket reports as a refusal
	(echo late; sleep 1; echo again) | in_ns out socat -T2 - \
		UDP4:198.51.100.1:40300,sourceport=8300 2>/tmp/refused || true
	capture_stop
	assert_match "$(cat /tmp/refused)" "Connection refused" \
		"the outside's socket got the error"
	local seen
	seen=$(tcpdump -nvr /tmp/icmp.pcap 2>/dev/null)
	assert_match "$seen" \
		"198.51.100.1 > 198.51.100.2: ICMP 198.51.100.1 udp port 40300 unreachable" \
		"the error, about the SNAT address and port"
	assert_no_match "$seen" "172\\.18\\." "no private address, quote included"
	assert_eq "$(csum_errors out)" 0 "checksum errors outside"
}

# A 4000-byte UDP datagram, fragmented, both ways, in and out of order.
fragments_both_ways() {
	local order=$1 gw port
	world_up
	head -c 4000 /dev/urandom >/tmp/payload
	in_ns out socat -u UDP4-RECV:8400,reuseaddr OPEN:/tmp/got-out,creat &
	wait_udp out 8400
	gw=$(gateway_mac a)
	in_ns a pktsend -i eth0 --dmac "$gw" --src 172.18.0.2 \
		--dst 198.51.100.2 --sport 40400 --dport 8400 --mtu 1500 \
		$order </tmp/payload
	retry 30 sh -c "[ \$(stat -c %s /tmp/got-out) = 4000 ]" ||
		fail "outside got $(stat -c %s /tmp/got-out) bytes"
	cmp /tmp/got-out /tmp/payload ||
		fail "container -> outside: bytes differ"

	# back: from 8400 to the SNAT address and the flow's port
	port=$(bpfnat ct list -j | jq -r '.[] | select(.original.dport == 8400) |
		.reply.dport')
	in_ns a socat -u UDP4-RECV:40400,reuseaddr OPEN:/tmp/got-a,creat &
	wait_udp a 40400
	gw=$(in_ns out ip neigh show 198.51.100.1 | awk '{ print $5 }')
	in_ns out pktsend -i eth0 --dmac "$gw" --src 198.51.100.2 \
		--dst 198.51.100.1 --sport 8400 --dport "$port" --mtu 1500 \
		$order </tmp/payload
	retry 30 sh -c "[ \$(stat -c %s /tmp/got-a) = 4000 ]" ||
		fail "a got $(stat -c %s /tmp/got-a) bytes"
	cmp /tmp/got-a /tmp/payload || fail "outside -> container: bytes differ"
	assert_eq "$(counter drop_fragment)" 0 "no fragment dropped"
}

test_fragments_in_order() {
	fragments_both_ways ""
}

test_fragments_out_of_order() {
	fragments_both_ways --reverse
	[[ $(counter frag_held) -ge 2 ]] ||
		fail "the later fragments were not held for their first"
}

# The kernel's own fragmenting, with sockets at both ends.
test_fragments_from_sockets() {
	world_up
	in_ns out socat UDP4-RECVFROM:8500,fork,reuseaddr EXEC:cat &
	wait_udp out 8500
	# 4000 characters, one datagram: fragmented by the kernel both ways
	head -c 2000 /dev/urandom | od -An -v -tx1 | tr -d ' \n' >/tmp/msg
	assert_eq "$(udp_ask a 198.51.100.2:8500 -b 8192 </tmp/msg)" \
		"$(cat /tmp/msg)" "4000-byte datagram echoed back"
}

# Eight ports: eight connections, and the ninth refused at once.
test_port_exhaustion() {
	world_up --ports 20000-20007
	in_ns out socat TCP4-LISTEN:8600,fork,reuseaddr EXEC:cat &
	wait_tcp out 8600
	local i pids=()
	for i in 1 2 3 4 5 6 7 8; do
		mkfifo "/tmp/in$i"
		in_ns a socat -T20 - TCP4:198.51.100.2:8600 <"/tmp/in$i" \
			>"/tmp/out$i" &
		pids+=($!)
		exec {fd}>"/tmp/in$i"
		eval "fd$i=$fd"
		echo "hello $i" >&"$fd"
	done
	for i in 1 2 3 4 5 6 7 8; do
		retry 30 grep -q "hello $i" "/tmp/out$i" ||
			fail "connection $i did not work"
	done
	assert_eq "$(bpfnat ct list -j | jq -r '[.[].reply.dport] | sort | unique |
		join(",")')" "20000,20001,20002,20003,20004,20005,20006,20007" \
		"the eight ports"
	local start=$SECONDS
	in_ns a socat -T5 - TCP4:198.51.100.2:8600,connect-timeout=10 \
		</dev/null 2>/tmp/ninth && fail "the ninth connection succeeded"
	assert_match "$(cat /tmp/ninth)" "No route to host|unreachable" \
		"refused with an ICMP error"
	((SECONDS - start < 3)) || fail "the refusal took $((SECONDS - start)) s"
	[[ $(counter drop_no_free_port) -ge 1 ]] || fail "not counted"
	# the first eight are unaffected
	for i in 1 2 3 4 5 6 7 8; do
		eval "fd=\$fd$i"
		echo "again $i" >&"$fd"
		retry 30 grep -q "again $i" "/tmp/out$i" ||
			fail "connection $i broke"
	done
}

# The tag of the running program NAME.
running_tag() {
	bpftool prog show id "$(bpfnat status -j | jq ".program_ids.$1")" -j |
		jq -er .tag
}

# A transfer runs on across `up` again and across an upgrade to a rebuilt
# object, with no reset.
test_restart_and_upgrade_keep_flows() {
	world_up
	# the Makefile builds the upgrade next to the CLI
	local alt=$BPFNAT_BUILD/upgrade
	[[ -x $alt/bpfnat ]] || fail "$alt/bpfnat missing; run make"
	in_ns out iperf3 -s -D -B 198.51.100.2 --logfile /tmp/iperf.log
	wait_tcp out 5201
	in_ns a iperf3 -c 198.51.100.2 -t 6 -J >/tmp/run.json &
	local client=$!
	local before after old_tag new_tag
	before=$(bpfnat status -j | jq -c .program_ids)
	old_tag=$(running_tag tc_container)
	sleep 2
	nat_up
	sleep 1
	"$alt/bpfnat" up --uplink up0 "${MODE_ARGS[@]}"
	after=$(bpfnat status -j | jq -c .program_ids)
	assert_ne "$after" "$before" "programs were replaced"
	new_tag=$(running_tag tc_container)
	assert_ne "$new_tag" "$old_tag" "the upgrade's code runs"
	wait "$client" || fail "iperf3 failed: $(jq -r .error /tmp/run.json)"
	assert_eq "$(jq -r '.error // "none"' /tmp/run.json)" "none" "iperf3 error"
	[[ $(jq '.end.sum_received.bytes' /tmp/run.json) -gt 1000000 ]] ||
		fail "too few bytes"
	# every second of the transfer carried data: no stall, no reset
	jq -e '[.intervals[].sum.bytes] | all(. > 0)' /tmp/run.json >/dev/null ||
		fail "a second without data: $(jq -c '[.intervals[].sum.bytes]' /tmp/run.json)"
}

# Pinned maps of another layout are never reused: what a killed `up` left
# (no configuration) is replaced; a running data path of another layout
# is refused.
test_foreign_layouts_refused() {
	outside_add
	mkdir -p /sys/fs/bpf/bpfnat
	bpftool map create /sys/fs/bpf/bpfnat/ct_flows type array key 4 \
		value 80 entries 65536 name ct_flows
	nat_up --ct-max 1024
	assert_eq "$(bpftool map show pinned /sys/fs/bpf/bpfnat/ct_flows -j |
		jq -c '[.bytes_value, .max_entries]')" "[224,1024]" \
		"a stale map with no configuration is replaced"
	bpfnat down

	# a small table: bpftool dumps every slot below
	nat_up --ct-max 1024
	bpfnat ns add a
	in_ns a ping -c1 -W2 198.51.100.2 >/dev/null
	# the running data path claims another layout version: the one
	# before this build's
	local size old
	size=$(bpftool map show pinned /sys/fs/bpf/bpfnat/config -j | jq .bytes_value)
	old=$(($(sed -n 's/^#define BPFNAT_LAYOUT_VERSION\s*//p' \
		"$BPFNAT_TOP/include/bpfnat.h") - 1))
	bpftool map update pinned /sys/fs/bpf/bpfnat/config key 0 0 0 0 \
		value $(printf '0x%02x ' "$old" 0 0 0 $(seq 5 "$size" | sed 's/.*/0/'))
	assert_exit 1 "another layout version" nat_up --ct-max 1024
	assert_match "$LAST_ERR" "layout v$old.*bpfnat down" "says what and how"
	assert_eq "$(bpftool map dump pinned /sys/fs/bpf/bpfnat/ct_flows -j |
		jq '[.[] | select(.formatted.value.live == 1)] | length')" 1 \
		"the running state is untouched"
	bpfnat down
	[[ -e /sys/fs/bpf/bpfnat ]] && fail "down left pins"

	# a configuration of another size altogether
	mkdir -p /sys/fs/bpf/bpfnat
	bpftool map create /sys/fs/bpf/bpfnat/config type array key 4 \
		value 40 entries 1 name config
	bpftool map update pinned /sys/fs/bpf/bpfnat/config key 0 0 0 0 \
		value $(printf '0x%02x ' 2 0 0 0 $(seq 1 36 | sed 's/.*/0/'))
	assert_exit 1 "another configuration layout" nat_up
	assert_match "$LAST_ERR" "layout v2.*bpfnat down" "says what and how"
	assert_eq "$(bpfnat status -j | jq -c .)" \
		'{"state":"incompatible","layout":2}' "status does not misread it"
	bpfnat down
	[[ ! -e /sys/fs/bpf/bpfnat ]] || fail "down left pins"
}

# A container sending with an address that is not its own is dropped and
# counted, whoever the destination.
test_spoofed_source_dropped() {
	world_up
	in_ns a ip addr add 172.18.0.99/16 dev eth0
	in_ns a ping -c1 -W1 -I 172.18.0.99 198.51.100.2 && fail "spoofed ping got out"
	in_ns a ping -c1 -W1 -I 172.18.0.99 172.18.0.3 && fail "spoofed ping reached b"
	[[ $(counter drop_spoofed_source) -ge 2 ]] || fail "not counted"
	assert_eq "$(bpfnat ct count)" 0 "no flow"
}

# Malformed frames from a container are dropped under their names.
test_malformed_dropped_by_name() {
	world_up
	local gw spoil counter
	gw=$(gateway_mac a)
	for spoil in ihl:drop_bad_ihl options:drop_ip_options \
		totlen:drop_bad_length udplen:drop_bad_udp_length; do
		counter=${spoil#*:}
		echo payload | in_ns a pktsend -i eth0 --dmac "$gw" \
			--src 172.18.0.2 --dst 198.51.100.2 --sport 9000 \
			--dport 9000 --spoil "${spoil%:*}"
		retry 20 sh -c "[ \$($BPFNAT stats -j | jq .$counter.packets) = 1 ]" ||
			fail "$counter: $(counter "$counter")"
	done
	assert_eq "$(bpfnat ct count)" 0 "no flow"
}

# Fragments for the host itself, last first: held, then handed to it.
test_fragments_for_the_host_out_of_order() {
	world_up
	head -c 4000 /dev/urandom >/tmp/payload
	socat -u UDP4-RECV:8800,bind=198.51.100.1,reuseaddr \
		OPEN:/tmp/got-host,creat &
	wait_udp host 8800
	in_ns out ping -c1 -W2 198.51.100.1 >/dev/null
	local gw
	gw=$(in_ns out ip neigh show 198.51.100.1 | awk '{ print $5 }')
	in_ns out pktsend -i eth0 --dmac "$gw" --src 198.51.100.2 \
		--dst 198.51.100.1 --sport 8800 --dport 8800 --mtu 1500 \
		--reverse </tmp/payload
	retry 30 sh -c "[ \$(stat -c %s /tmp/got-host) = 4000 ]" ||
		fail "the host got $(stat -c %s /tmp/got-host) bytes"
	cmp /tmp/got-host /tmp/payload || fail "bytes differ"
	assert_eq "$(counter drop_fragment)" 0 "no fragment dropped"
}

# A port the host's own sockets use is never given to a NATed flow: the
# host's replies must not be taken from it.
test_host_ports_not_taken() {
	world_up --ports 20000-20009
	echo_peer_udp out 7900
	echo_peer out 7901
	# the host: a UDP socket on 20000, a TCP listener on 20001
	socat -u UDP4-RECV:20000,bind=198.51.100.1 /dev/null &
	socat -u TCP4-LISTEN:20001,bind=198.51.100.1,reuseaddr /dev/null &
	wait_udp host 20000
	wait_tcp host 20001
	local seen
	seen=$(echo x | udp_ask a 198.51.100.2:7900,sourceport=20000)
	assert_match "$seen" "^198.51.100.1 200[0-9][0-9]$" "UDP: NATed"
	assert_ne "$seen" "198.51.100.1 20000" "UDP: not the host's port"
	seen=$(in_ns a socat -T2 - TCP4:198.51.100.2:7901,sourceport=20001 \
		</dev/null)
	assert_match "$seen" "^198.51.100.1 200[0-9][0-9]$" "TCP: NATed"
	assert_ne "$seen" "198.51.100.1 20001" "TCP: not the host's port"
}

# Another tool's XDP program, even one named like bpfnat's, survives up,
# a change of mode and down.
test_foreign_xdp_programs_survive() {
	world_up
	ip link add fx0 type veth peer name fx1
	bpftool prog loadall "$BPFNAT_BUILD/bpfnat.bpf.o" /sys/fs/bpf/foreign
	bpftool net attach xdpdrv pinned /sys/fs/bpf/foreign/xdp_pass dev fx0
	local id
	id=$(ip -j -d link show fx0 | jq '.[0].xdp.prog.id')
	nat_up --mode xdp
	nat_up --mode tc
	bpfnat down
	assert_eq "$(ip -j -d link show fx0 | jq '.[0].xdp.prog.id')" "$id" \
		"the foreign program is still there"
}

# `up` again with nothing given changes nothing of what runs.
test_up_again_keeps_the_config() {
	world_up --ports 20000-20007 --exclude 203.0.113.0/24 \
		--udp-timeout 200
	local before
	before=$(bpfnat status -j | jq -c 'del(.program_ids, .ct_expired)')
	nat_up
	assert_eq "$(bpfnat status -j | jq -c 'del(.program_ids, .ct_expired)')" \
		"$before" "status after a bare up"
	assert_eq "$(bpftool map dump pinned /sys/fs/bpf/bpfnat/exclude -j |
		jq length)" 1 "the exclusion kept"
	assert_eq "$(bpftool map dump pinned /sys/fs/bpf/bpfnat/config -j |
		jq '.[0].formatted.value.timeout[4]')" 200 "the UDP timeout kept"
}

# A container that is broken (its eth0 renamed) does not keep down from
# taking everything else off.
test_down_despite_a_broken_container() {
	world_up
	in_ns a ip link set eth0 down
	in_ns a ip link set eth0 name eth9
	bpfnat down
	[[ -e /sys/fs/bpf/bpfnat ]] && fail "pins remain"
	assert_no_match "$(tc filter show dev up0 ingress)" "tc_uplink" \
		"the uplink's filter is gone"
	assert_eq "$(ip -j -d link show up0 | jq '.[0].xdp // empty')" "" \
		"no XDP left on the uplink"
}

# A DF packet bigger than the uplink's MTU gets fragmentation needed, in
# XDP mode too (XDP leaves it to tc, which answers).
test_too_big_for_the_uplink() {
	bpfnat ns add a
	outside_add
	ip link set up0 mtu 1400
	in_ns out ip link set eth0 mtu 1400
	nat_up
	in_ns a ping -c1 -W2 -M do -s 1472 198.51.100.2 >/dev/null 2>&1 || true
	in_ns a ping -c1 -W2 -M do -s 1472 198.51.100.2 >/dev/null 2>&1 || true
	assert_match "$(in_ns a ip route get 198.51.100.2)" "mtu 1400" \
		"the container learnt the uplink's MTU"
	assert_ok "smaller packets pass" in_ns a ping -c1 -W2 -M do -s 1372 \
		198.51.100.2
}
