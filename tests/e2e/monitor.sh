# SPDX-License-Identifier: GPL-2.0-only
#
# bpfnat monitor: which packets were dropped and why, and the flows as
# conntrack -E shows them, live; a flood of drops costs no forwarded packet.

# monitor_start FILE ARG...: `bpfnat monitor ARG...` writing to FILE in the
# background ($MON its pid), and listening when this returns: a probe drop
# (a spoofed ping from a) has come through.  Needs monitor_spoof_setup.
monitor_start() {
	local file=$1
	shift
	"$BPFNAT" monitor "$@" >"$file" 2>"$file.err" &
	MON=$!
	retry 50 sh -c "ip netns exec a ping -c1 -W0.1 -I $SPOOF \
		198.51.100.2 >/dev/null 2>&1; grep -q drop_spoofed '$file'" ||
		fail "monitor never showed the probe: $(cat "$file.err")"
}

# monitor_stop: SIGINT, as ^C; the monitor exits 0.
monitor_stop() {
	local rc=0
	kill -INT "$MON"
	wait "$MON" || rc=$?
	assert_eq "$rc" 0 "monitor's exit on SIGINT"
}

# Container a may send with a second address, 172.18.0.77, that is not
# its own to bpfnat: each such packet is dropped as spoofed.
SPOOF=172.18.0.77
monitor_spoof_setup() {
	in_ns a ip addr add "$SPOOF/32" dev eth0
	in_ns a ping -c1 -W2 198.51.100.2 >/dev/null
}

# A spoofed packet is shown within a second, with its reason, hook,
# device and tuple; as text, and as a JSON object a line.
test_spoofed_drop_shown() {
	world_up
	monitor_spoof_setup
	local ev host_if
	host_if=$(bpfnat ns list -j | jq -r '.[] | select(.name == "a").host_if')
	monitor_start /tmp/mon.json -j --drops
	echo x | in_ns a socat -u - "UDP4-SENDTO:198.51.100.2:4242,bind=$SPOOF:4343"
	retry 10 grep -q '"dport":4242' /tmp/mon.json ||
		fail "no event within a second: $(cat /tmp/mon.json)"
	ev=$(grep '"dport":4242' /tmp/mon.json | head -1)
	jq -e . <<<"$ev" >/dev/null || fail "not JSON: $ev"
	assert_eq "$(jq -r .event <<<"$ev")" drop "event"
	assert_eq "$(jq -r .reason <<<"$ev")" drop_spoofed_source "reason"
	assert_eq "$(jq -r .ifname <<<"$ev")" "$host_if" "device"
	assert_eq "$(jq -r .protocol <<<"$ev")" udp "protocol"
	assert_eq "$(jq -r .family <<<"$ev")" ipv4 "family"
	assert_eq "$(jq -c '.packet' <<<"$ev")" \
		'{"src":"172.18.0.77","dst":"198.51.100.2","sport":4343,"dport":4242}' \
		"tuple"
	if [[ $DP_MODE == xdp ]]; then
		assert_eq "$(jq -r .hook <<<"$ev")" xdp "hook"
	else
		assert_eq "$(jq -r .hook <<<"$ev")" tc "hook"
	fi
	# every line is one JSON object
	jq -e -s 'length > 1' /tmp/mon.json >/dev/null ||
		fail "not a JSON object a line: $(cat /tmp/mon.json)"
	monitor_stop

	monitor_start /tmp/mon.txt --drops
	echo x | in_ns a socat -u - "UDP4-SENDTO:198.51.100.2:4244,bind=$SPOOF:4343"
	retry 10 grep -q 'dport=4244' /tmp/mon.txt ||
		fail "no event within a second: $(cat /tmp/mon.txt)"
	assert_match "$(grep 'dport=4244' /tmp/mon.txt)" \
		"^[0-9:.]+ \[DROP\] drop_spoofed_source (tc|xdp) udp src=172.18.0.77 dst=198.51.100.2 sport=4343 dport=4244 len=[0-9]+ dev=$host_if\$" \
		"the text line"
	monitor_stop
	[[ ! -s /tmp/mon.txt.err ]] || fail "stderr: $(cat /tmp/mon.txt.err)"
}

# Flows as conntrack -E shows them: created, removed by ct flush, expired.
# An IPv6 drop says its family, and its tuple is IPv6's: a's datagram to
# a pool address no container has.
test_ipv6_drop_shown() {
	world_up
	monitor_spoof_setup
	local ev
	monitor_start /tmp/mon6.json -j --drops
	echo x | in_ns a socat -u - "UDP6-SENDTO:[fd00:18::99]:4246" || true
	retry 10 grep -q '"dport":4246' /tmp/mon6.json ||
		fail "no event within a second: $(cat /tmp/mon6.json)"
	ev=$(grep '"dport":4246' /tmp/mon6.json | head -1)
	monitor_stop
	assert_eq "$(jq -r .reason <<<"$ev")" drop_no_container "reason"
	assert_eq "$(jq -r .family <<<"$ev")" ipv6 "family"
	assert_eq "$(jq -r .packet.dst <<<"$ev")" fd00:18::99 "destination"
}

test_flow_events() {
	# long enough that the flow is still there when it is removed by
	# hand, however slow the machine
	world_up --udp-timeout 60 --udp-timeout-stream 60
	monitor_spoof_setup
	echo_peer_udp out 8000
	monitor_start /tmp/mon.json -j
	local ev
	local seen
	# the outside answers with the address and port it saw
	seen=$(udp_ask a 198.51.100.2:8000 <<<hello) ||
		fail "no answer from the outside"
	retry 10 grep -q '"event":"new"' /tmp/mon.json ||
		fail "no new flow: $(cat /tmp/mon.json)"
	ev=$(grep '"event":"new"' /tmp/mon.json | head -1)
	assert_eq "$(jq -r '.kind + " " + .protocol' <<<"$ev")" "snat udp" \
		"kind and protocol"
	assert_eq "$(jq -r '.original.src + " " + .original.dst' <<<"$ev")" \
		"172.18.0.2 198.51.100.2" "original direction"
	assert_eq "$(jq -r '.reply.src + " " + .reply.dst' <<<"$ev")" \
		"198.51.100.2 198.51.100.1" "reply direction: to the SNAT address"
	assert_eq "198.51.100.1 $(jq -r .reply.dport <<<"$ev")" "$seen" \
		"the mapped port, as the outside saw it"

	# removed by hand: the end, with the flow's counters
	bpfnat ct flush >/dev/null
	retry 10 grep -q '"event":"destroy"' /tmp/mon.json ||
		fail "no destroy event: $(cat /tmp/mon.json)"
	ev=$(grep '"event":"destroy"' /tmp/mon.json | head -1)
	assert_eq "$(jq -r .reason <<<"$ev")" removed "reason"
	assert_eq "$(jq -c '[.original.packets, .reply.packets]' <<<"$ev")" \
		"[1,1]" "counters: one each way"

	# expired: the sweep's doing, 2 s of idle and one pass of the table
	# (up again changes only what it is given)
	nat_up --udp-timeout 2 --udp-timeout-stream 2 >/dev/null
	udp_ask a 198.51.100.2:8000 <<<again >/dev/null ||
		fail "no answer from the outside"
	retry 100 grep -q '"reason":"expired"' /tmp/mon.json ||
		fail "no expiry: $(cat /tmp/mon.json)"
	monitor_stop
}

# Every packet dropped so far, whatever the reason.
drops_total() {
	bpfnat stats -j | jq '[to_entries[] | select(.key | startswith("drop_")) |
		.value.packets] | add'
}

# A flood of drops while monitor runs: no forwarded packet is lost, and
# every drop is shown or counted lost.
test_flood_costs_no_packet() {
	world_up
	monitor_spoof_setup
	local drops0 drops1 shown lost sent=500 got i
	monitor_start /tmp/mon.json -j --drops
	drops0=$(drops_total)
	# a spoofs back to back, 10 rounds of 100000 frames (a second or two);
	# b pings the outside meanwhile
	local gw
	gw=$(gateway_mac a)
	(for ((i = 0; i < 10; i++)); do
		echo flood | in_ns a pktsend -i eth0 --dmac "$gw" --src "$SPOOF" \
			--dst 198.51.100.2 --sport 999 --dport 999 --count 100000
	done) &
	local flood=$!
	got=$(in_ns b ping -q -c "$sent" -i 0.005 -W 2 198.51.100.2 |
		sed -n 's/.* \([0-9]*\) received.*/\1/p')
	wait "$flood"
	assert_eq "$got" "$sent" "b's pings answered, all of them"
	# frames still queued for the veth's NAPI (XDP) are dropped after
	# pktsend is gone: the monitor keeps listening until they are
	local prev=-1
	drops1=$(drops_total)
	while [[ $drops1 != "$prev" ]]; do
		sleep 0.5
		prev=$drops1
		drops1=$(drops_total)
	done
	monitor_stop
	shown=$(grep -c '"event":"drop"' /tmp/mon.json)
	lost=$(jq -s '[.[] | select(.event == "lost") | .count] | add // 0' \
		/tmp/mon.json)
	echo "drops $((drops1 - drops0)), shown $shown, lost $lost"
	[[ $((drops1 - drops0)) -gt 100000 ]] ||
		fail "no flood: $((drops1 - drops0)) drops"
	# the probes before drops0 was read are shown too
	[[ $((shown + lost)) -ge $((drops1 - drops0)) ]] ||
		fail "drops neither shown nor counted lost: $((drops1 - drops0)) drops, $shown shown, $lost lost"
	assert_eq "$(counter monitor_lost)" "$lost" "lost as stats counts it"
}

# One monitor at a time; none when bpfnat is down; a killed one's
# successor works; it ends when bpfnat goes down.
test_one_monitor_and_its_ends() {
	assert_exit 1 "monitor while down" bpfnat monitor
	assert_exit 2 "an unknown option" bpfnat monitor --bogus
	world_up
	monitor_spoof_setup
	monitor_start /tmp/mon1.txt
	assert_exit 1 "a second monitor" bpfnat monitor
	assert_match "$LAST_ERR" "another monitor is running" "why"
	kill -9 "$MON"
	wait "$MON" 2>/dev/null || true
	# what the killed one left in the ring is not shown again
	monitor_start /tmp/mon2.txt --drops
	[[ $(grep -c drop_spoofed /tmp/mon2.txt) -le 2 ]] ||
		fail "old events shown: $(cat /tmp/mon2.txt)"
	bpfnat down
	local rc=0
	retry 50 grep -q "bpfnat went down" /tmp/mon2.txt.err ||
		fail "monitor outlived down: $(cat /tmp/mon2.txt.err)"
	wait "$MON" || rc=$?
	assert_eq "$rc" 1 "monitor's exit after down"
	assert_eq "$(wc -l </tmp/mon2.txt.err)" 1 "one line on stderr"
}
