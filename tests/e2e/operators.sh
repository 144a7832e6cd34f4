# SPDX-License-Identifier: GPL-2.0-only
#
# Tools for operators: ct list's and ct del's filters, in conntrack's
# spelling, and stats --prometheus for node_exporter's textfile collector.

# Six flows of two containers to two outside servers, one of each kind:
#
#   tcp  a 172.18.0.2 -> 198.51.100.2:8801  ESTABLISHED (held open)
#   tcp  b 172.18.0.3 -> 198.51.100.2:8802  TIME_WAIT (closed by both)
#   udp  a:40001      -> 198.51.100.2:5301
#   udp  b:40002      -> 203.0.113.2:5301
#   icmp a            -> 203.0.113.2
#   icmp b            -> 198.51.100.2
six_flows() {
	world_up
	far_add
	echo_peer_udp out 5301
	echo_peer_udp far 5301
	echo_peer out 8802

	session_open 8801
	session_say hello
	assert_match "$(in_ns b socat -T5 - TCP4:198.51.100.2:8802 </dev/null)" \
		"^198.51.100.1 " "b's TCP exchange"
	assert_match "$(udp_ask a 198.51.100.2:5301,sourceport=40001 <<<a)" \
		"^198.51.100.1 " "a's UDP exchange"
	assert_match "$(udp_ask b 203.0.113.2:5301,sourceport=40002 <<<b)" \
		"^198.51.100.1 " "b's UDP exchange"
	assert_ok "a pings far" in_ns a ping -c1 -W2 203.0.113.2 >/dev/null
	assert_ok "b pings out" in_ns b ping -c1 -W2 198.51.100.2 >/dev/null
	retry 50 b_closed ||
		fail "b's connection did not reach TIME_WAIT: $(bpfnat ct list)"
	assert_eq "$(flows)" "$ALL" "the six flows"
}

ALL="icmp 172.18.0.2>203.0.113.2,icmp 172.18.0.3>198.51.100.2,\
tcp 172.18.0.2>198.51.100.2:8801,tcp 172.18.0.3>198.51.100.2:8802,\
udp 172.18.0.2:40001>198.51.100.2:5301,udp 172.18.0.3:40002>203.0.113.2:5301"

b_closed() {
	[[ $(flows --state TIME_WAIT) == "tcp 172.18.0.3>198.51.100.2:8802" ]]
}

# flows [FILTER...]: the flows ct list -j shows, each named by its original
# direction (the destination port, and UDP's source port, which the test
# chose),
# sorted, comma-separated.
flows() {
	bpfnat ct list -j "$@" | jq -r '[.[] | .original as $o |
		"\(.protocol) \($o.src)" +
		(if .protocol == "udp" then ":\($o.sport)" else "" end) +
		">\($o.dst)" + (if $o.dport then ":\($o.dport)" else "" end)] |
		sort | join(",")'
}

# filtered WHAT EXPECTED FILTER...: ct list FILTER shows EXPECTED, in JSON
# and as text (a line per flow).
filtered() {
	local what=$1 expected=$2
	shift 2
	assert_eq "$(flows "$@")" "$expected" "$what"
	assert_eq "$(bpfnat ct list "$@" | grep -c . || true)" \
		"$(tr ',' '\n' <<<"$expected" | grep -c . || true)" \
		"$what: lines of ct list $*"
}

test_ct_list_filters() {
	six_flows

	step "by protocol"
	filtered "-p tcp" "tcp 172.18.0.2>198.51.100.2:8801,\
tcp 172.18.0.3>198.51.100.2:8802" -p tcp
	filtered "-p udp" "udp 172.18.0.2:40001>198.51.100.2:5301,\
udp 172.18.0.3:40002>203.0.113.2:5301" -p udp
	filtered "--proto icmp" "icmp 172.18.0.2>203.0.113.2,\
icmp 172.18.0.3>198.51.100.2" --proto ICMP

	step "by the original direction's addresses"
	filtered "--src a" "icmp 172.18.0.2>203.0.113.2,\
tcp 172.18.0.2>198.51.100.2:8801,udp 172.18.0.2:40001>198.51.100.2:5301" \
		--src 172.18.0.2
	filtered "-s b" "icmp 172.18.0.3>198.51.100.2,\
tcp 172.18.0.3>198.51.100.2:8802,udp 172.18.0.3:40002>203.0.113.2:5301" \
		-s 172.18.0.3
	filtered "--dst far" "icmp 172.18.0.2>203.0.113.2,\
udp 172.18.0.3:40002>203.0.113.2:5301" --dst 203.0.113.2
	filtered "-d a prefix" "icmp 172.18.0.3>198.51.100.2,\
tcp 172.18.0.2>198.51.100.2:8801,tcp 172.18.0.3>198.51.100.2:8802,\
udp 172.18.0.2:40001>198.51.100.2:5301" -d 198.51.100.0/24
	filtered "--src the whole pool" "$ALL" --src 172.18.0.0/16
	filtered "--src the outside" "" --src 198.51.100.2

	step "by port"
	filtered "--dport 5301" "udp 172.18.0.2:40001>198.51.100.2:5301,\
udp 172.18.0.3:40002>203.0.113.2:5301" --dport 5301
	filtered "--dport 8801" "tcp 172.18.0.2>198.51.100.2:8801" --dport 8801
	filtered "--sport 40002" "udp 172.18.0.3:40002>203.0.113.2:5301" \
		--sport 40002

	step "by TCP state, in any case"
	filtered "--state ESTABLISHED" "tcp 172.18.0.2>198.51.100.2:8801" \
		--state ESTABLISHED
	filtered "--state time_wait" "tcp 172.18.0.3>198.51.100.2:8802" \
		--state time_wait
	filtered "--state SYN_SENT" "" --state SYN_SENT

	step "the reply direction: the outside answers the SNAT address"
	filtered "--reply-dst the SNAT address" "$ALL" --reply-dst 198.51.100.1
	filtered "--reply-dst a" "" --reply-dst 172.18.0.2
	filtered "--reply-src far" "icmp 172.18.0.2>203.0.113.2,\
udp 172.18.0.3:40002>203.0.113.2:5301" --reply-src 203.0.113.2

	step "filters together"
	filtered "-p udp -s b" "udp 172.18.0.3:40002>203.0.113.2:5301" \
		-p udp -s 172.18.0.3
	filtered "-p tcp --dst far" "" -p tcp --dst 203.0.113.2
	filtered "--src a --dport 5301" "udp 172.18.0.2:40001>198.51.100.2:5301" \
		--src 172.18.0.2 --dport 5301
	session_close
}

# The index's keys: two per flow, one per direction.
index_keys() {
	bpftool map dump pinned /sys/fs/bpf/bpfnat/ct_index -j | jq length
}

# A field of a's UDP flow, in ct list -j.
a_udp() {
	bpfnat ct list -j -p udp --src 172.18.0.2 | jq -r ".[0]$1"
}

test_ct_del_removes_just_those_flows() {
	six_flows
	# three datagrams in a's UDP flow, so a fresh one shows by its count
	udp_ask a 198.51.100.2:5301,sourceport=40001 <<<a >/dev/null
	udp_ask a 198.51.100.2:5301,sourceport=40001 <<<a >/dev/null
	local before_packets before_keys
	before_packets=$(a_udp .original.packets)
	[[ $before_packets -ge 3 ]] ||
		fail "a's UDP flow counted $before_packets packets, not 3"
	before_keys=$(index_keys)
	assert_eq "$before_keys" 12 "two keys for each of six flows"

	step "ct del -p udp --src a"
	assert_eq "$(bpfnat ct del -p udp --src 172.18.0.2)" "1 flows removed" \
		"ct del's report"
	assert_eq "$(flows)" "icmp 172.18.0.2>203.0.113.2,\
icmp 172.18.0.3>198.51.100.2,tcp 172.18.0.2>198.51.100.2:8801,\
tcp 172.18.0.3>198.51.100.2:8802,udp 172.18.0.3:40002>203.0.113.2:5301" \
		"the others stay"
	assert_eq "$(index_keys)" 10 "both of its keys left the index"
	session_say "the TCP session lives on"

	step "a's next datagram makes a fresh flow"
	assert_match "$(udp_ask a 198.51.100.2:5301,sourceport=40001 <<<a)" \
		"^198.51.100.1 " "a's UDP exchange after ct del"
	assert_eq "$(flows)" "$ALL" "six flows again"
	(($(a_udp .original.packets) < before_packets)) ||
		fail "not a fresh flow: $(bpfnat ct list -p udp --src 172.18.0.2)"
	assert_eq "$(a_udp .replied)" true "the fresh flow has its answer"

	step "ct del -j, two flows at once"
	assert_eq "$(bpfnat ct del -j --proto icmp | jq -c .)" '{"deleted":2}' \
		"ct del -j"
	assert_eq "$(flows -p icmp)" "" "no ICMP flow left"
	assert_eq "$(index_keys)" 8 "four flows, eight keys"

	step "nothing matched is no failure"
	assert_eq "$(bpfnat ct del --dport 9)" "0 flows removed" \
		"ct del of nothing"
	assert_eq "$(index_keys)" 8 "still four flows"
	session_close
}

test_ct_del_and_list_refuse_bad_filters() {
	world_up
	assert_exit 2 "ct del without a filter" bpfnat ct del
	assert_match "$LAST_ERR" "^bpfnat: ct del: give a filter, or use ct flush" \
		"why"
	local args
	for args in "-p sctp" "--proto" "--src 172.18.0.300" "--dst a.b" \
		"--reply-src 10.0.0.0/33" "--sport 0" "--dport 65536" \
		"--dport http" "-p icmp --dport 53" "--state LISTEN" \
		"-p udp --state ESTABLISHED" "--src 172.18.0.2 --src 172.18.0.3" \
		"--bogus" "extra"; do
		# shellcheck disable=SC2086  # the filter's words
		assert_exit 2 "ct list $args" bpfnat ct list $args
		assert_match "$LAST_ERR" "^bpfnat: ct list: " "ct list $args"
		# shellcheck disable=SC2086
		assert_exit 2 "ct del $args" bpfnat ct del $args
		assert_match "$LAST_ERR" "^bpfnat: ct del: " "ct del $args"
	done
}

test_ct_and_stats_while_down() {
	bpfnat ns add a
	assert_exit 1 "ct list while down" bpfnat ct list -p tcp
	assert_eq "$LAST_ERR" "bpfnat: ct list: bpfnat is down (run 'bpfnat up')" \
		"ct list's error"
	assert_exit 1 "stats --prometheus while down" bpfnat stats --prometheus
	assert_eq "$LAST_ERR" "bpfnat: stats: bpfnat is down (run 'bpfnat up')" \
		"stats' error"
	# as ct flush: no flow is left that matches
	assert_eq "$(bpfnat ct del -p tcp)" "0 flows removed" "ct del while down"
	# a usage error stays one, up or down
	assert_exit 2 "a bad filter while down" bpfnat ct del --sport x
}

# prom_samples: the samples of stats --prometheus on stdin, "NAME VALUE".
prom_samples() {
	grep -v '^#' | sort
}

# The samples stats --prometheus should print, built from stats -j (every
# counter) and status -j (the flow table).
expected_samples() {
	{
		bpfnat stats -j | jq -r 'to_entries[] |
			if (.key | startswith("sock_")) then
				"bpfnat_sock_events_total{event=\"\(.key)\"} \(.value.packets)"
			elif .key == "monitor_lost" then
				"bpfnat_monitor_events_lost_total \(.value.packets)"
			else
				(.key as $k | .value | to_entries[] |
				"bpfnat_\(.key)_total{outcome=\"\($k)\"} \(.value)")
			end'
		bpfnat status -j | jq -r '"bpfnat_ct_flows \(.ct_flows)",
			"bpfnat_ct_max \(.ct_max)",
			"bpfnat_ct_expired_total \(.ct_expired)",
			"bpfnat_ct_reclaimed_total \(.ct_reclaimed)"'
	} | sort
}

# stats --prometheus says what stats -j and status -j say (read one after
# the other: equal once no packet came between the reads).
prometheus_agrees() {
	PROM=$(bpfnat stats --prometheus | prom_samples)
	[[ $PROM == "$(expected_samples)" ]]
}

test_stats_prometheus() {
	world_up
	echo_peer_udp out 5301
	assert_match "$(udp_ask a 198.51.100.2:5301 <<<a)" "^198.51.100.1 " \
		"a's UDP exchange"
	assert_ok "b pings out" in_ns b ping -c2 -i0.2 -W2 198.51.100.2 >/dev/null

	step "the values are stats -j's and status -j's"
	retry 10 prometheus_agrees ||
		fail "stats --prometheus and -j differ: $(diff <(echo "$PROM") \
			<(expected_samples) || true)"
	assert_match "$PROM" $'\nbpfnat_packets_total\\{outcome="snat"\\} [1-9]' \
		"the SNATed packets counted"
	assert_match "$PROM" $'\nbpfnat_ct_flows [1-9]' "the flows counted"
	assert_match "$PROM" $'\nbpfnat_ct_max 65536\n' "the table's size"

	step "every family has its HELP and TYPE"
	local out fams
	out=$(bpfnat stats --prometheus)
	fams=$(prom_samples <<<"$out" | sed 's/[{ ].*//' | sort -u)
	assert_eq "$(grep '^# TYPE ' <<<"$out" | cut -d' ' -f3 | sort)" "$fams" \
		"a TYPE per family"
	assert_eq "$(grep '^# HELP ' <<<"$out" | cut -d' ' -f3 | sort)" "$fams" \
		"a HELP per family"
	assert_eq "$(grep '^# TYPE ' <<<"$out" | awk '$4 == "gauge" { print $3 }' |
		sort | paste -sd' ')" "bpfnat_ct_flows bpfnat_ct_max" \
		"the gauges: the flow table's fill and size"

	step "the table lists what -j does, in its order"
	assert_eq "$(bpfnat stats | awk 'NR > 1 { print $1 }')" \
		"$(bpfnat stats -j | jq -r 'keys_unsorted[]')" "stats' rows"

	step "usage"
	assert_exit 2 "stats -j --prometheus" bpfnat stats -j --prometheus
	assert_exit 2 "stats --bogus" bpfnat stats --bogus
	assert_exit 2 "stats extra" bpfnat stats extra
}

test_stats_prometheus_passes_promtool() {
	needed promtool
	world_up
	echo_peer_udp out 5301
	udp_ask a 198.51.100.2:5301 <<<a >/dev/null
	local out rc=0
	out=$(bpfnat stats --prometheus | promtool check metrics 2>&1) || rc=$?
	assert_eq "$rc:$out" "0:" "promtool check metrics"
}
