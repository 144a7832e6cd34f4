# SPDX-License-Identifier: GPL-2.0-only
#
# Published ports: bpfnat port add | del | list and ns add --publish.
#
# Two sections: the control plane (what the commands do to the ports map,
# checked against bpftool's own reading of it), and the traffic through
# published ports.  The control plane does not depend on the mode, so it
# runs in one; when the traffic section joins, widen the modes line below
# and keep the control-plane tests to one mode with control_plane_once.
# modes: tc

# A control-plane test runs in tc mode alone, whatever the modes line.
control_plane_once() {
	[[ $BPFNAT_MODE == tc ]] || skip "control plane: tested in [tc]"
}

# The ports map as bpftool reads it, decoded here from its raw bytes (not
# through bpfnat, nor through the BTF names): one line per entry, sorted,
#   HOSTIP:HOSTPORT/PROTO -> ADDRESS:PORT       (IPv4)
#   [HOSTIP6]:HOSTPORT/PROTO -> [ADDRESS6]:PORT (IPv6)
# Fails on an entry of another family, or whose padding, or the bytes
# after an IPv4 address, are not 0.
ports_map() {
	bpftool map dump pinned /sys/fs/bpf/bpfnat/ports -j | python3 -c '
import ipaddress, json, sys
for e in json.load(sys.stdin):
    k = bytes(int(b, 16) for b in e["key"])
    v = bytes(int(b, 16) for b in e["value"])
    family, proto = k[19], {6: "tcp", 17: "udp"}.get(k[18], str(k[18]))
    if any(v[18:20]):
        sys.exit("padding")
    if family == 2 and not any(k[4:16]) and not any(v[4:16]):
        host, to = ipaddress.ip_address(k[:4]), ipaddress.ip_address(v[:4])
        form = "{}:{}/{} -> {}:{}"
    elif family == 10:
        host, to = ipaddress.ip_address(k[:16]), ipaddress.ip_address(v[:16])
        form = "[{}]:{}/{} -> [{}]:{}"
    else:
        sys.exit("family %d, or bytes after an IPv4 address" % family)
    print(form.format(host, int.from_bytes(k[16:18], "big"), proto, to,
                      int.from_bytes(v[16:18], "big")))
' | sort
}

# Its IPv4 entries alone.
ports_map4() {
	ports_map | grep -v '^\[' || true
}

# port list -j in the same form: a row with an IPv6 twin (host_ip6,
# address6) stands for both entries.
ports_listed() {
	bpfnat port list -j | jq -r '
		def at($ip): if ($ip | contains(":")) then "[\($ip)]"
			else $ip end;
		.[] | ("\(at(.host_ip)):\(.host_port)/\(.proto) -> " +
			"\(at(.address)):\(.container_port)"),
		(select(.host_ip6) | "[\(.host_ip6)]:\(.host_port)/\(.proto)" +
			" -> [\(.address6)]:\(.container_port)")' | sort
}

# The map, port list and the containers tell one story, and the rest of
# the data path agrees with itself.
ports_agree() {
	state_agrees
	[[ ! -e /run/bpfnat/ports_intent ]] || fail "a ports intent remains"
	assert_eq "$(ports_listed)" "$(ports_map)" "port list shows the map"
	assert_eq "$(bpfnat port list -j | jq -c --argjson ns \
		"$(bpfnat ns list -j)" '[.[] | select(.container as $c |
		.address as $a | (.address6 // $a) as $a6 | $ns |
		any(.name == $c and
		    ((.address | startswith($a + "/")) or
		     ((.address6 // "") | startswith($a + "/"))) and
		    ($a6 == $a or ((.address6 // "") | startswith($a6 + "/"))))
		| not)]')" "[]" \
		"every mapping leads to the container it names"
}

# unchanged_by WHAT CODE CMD...: CMD exits CODE with one line on stderr
# and the ports map is as it was.
unchanged_by() {
	local what=$1 code=$2 before
	shift 2
	before=$(ports_map)
	assert_exit "$code" "$what" "$@"
	assert_eq "$(ports_map)" "$before" "$what: the map as it was"
}

# host_listen PROTO PORT [SOCAT-OPTION...]: a socket of the host holding
# PORT until the test kills it ($LISTENER), bounded in any case.
host_listen() {
	local proto=$1 port=$2 opts=""
	shift 2
	[[ $# -eq 0 ]] || opts=$(printf ',%s' "$@")
	case $proto in
	tcp) timeout 120 socat -u "TCP4-LISTEN:$port,reuseaddr$opts" /dev/null & ;;
	tcp6) timeout 120 socat -u "TCP6-LISTEN:$port,reuseaddr$opts" /dev/null & ;;
	udp) timeout 120 socat -u "UDP4-RECV:$port$opts" /dev/null & ;;
	esac
	LISTENER=$!
	if [[ $proto == udp ]]; then
		wait_udp host "$port"
	else
		wait_tcp host "$port"
	fi
}

host_unlisten() {
	kill "$LISTENER" 2>/dev/null || true
	wait "$LISTENER" 2>/dev/null || true
}

# ---------------------------------------------------------------------
# The control plane
# ---------------------------------------------------------------------

test_add_list_del() {
	control_plane_once
	world_up
	assert_eq "$(bpfnat port list -j)" "[]" "no mapping: an empty array"
	assert_eq "$(bpfnat port list)" "" "no mapping: no table"

	bpfnat port add a 8080:80
	local list
	list=$(bpfnat port list -j)
	# one row, and its IPv6 twin in it: a's IPv6 address on every
	# IPv6 address of the host
	jq -e 'length == 1 and .[0] == {container: "a", address: "172.18.0.2",
		host_ip: "0.0.0.0", host_port: 8080, container_port: 80,
		proto: "tcp", address6: "fd00:18::2", host_ip6: "::"}' \
		<<<"$list" >/dev/null || fail "port list -j: $list"
	assert_eq "$(ports_map)" "0.0.0.0:8080/tcp -> 172.18.0.2:80
[::]:8080/tcp -> [fd00:18::2]:80" "the map: an entry per family"
	assert_match "$(bpfnat port list)" \
		"a +172.18.0.2 +0.0.0.0 +8080 +80 +tcp" "table row"
	assert_match "$(bpfnat port list)" \
		"a +fd00:18::2 +:: +8080 +80 +tcp" "its IPv6 twin's row"
	ports_agree

	bpfnat port del a 8080
	assert_eq "$(bpfnat port list -j)" "[]" "list after del"
	assert_eq "$(ports_map)" "" "the map after del"
	ports_agree
}

test_ranges_udp_and_host_ip() {
	control_plane_once
	world_up
	bpfnat port add a 9000-9009:7000-7009/udp
	bpfnat port add b 198.51.100.1:8080:80
	bpfnat port add b 127.0.0.1:8080:81
	bpfnat port add b 9000:9000/tcp
	assert_eq "$(bpfnat port list -j | jq '[.[] |
		select(.proto == "udp" and .container == "a")] |
		map(.host_port - .container_port) | unique')" "[
  2000
]" "a range maps port to port"
	assert_eq "$(ports_map | grep -c 'udp -> 172.18.0.2')" 10 \
		"one entry per port of the range"
	assert_match "$(ports_map4)" "0.0.0.0:9009/udp -> 172.18.0.2:7009" \
		"the range's last port"
	assert_eq "$(bpfnat port list -j | jq -r '.[] |
		select(.container == "b" and .host_port == 8080) |
		.host_ip + " " + (.container_port | tostring)')" \
		"127.0.0.1 81
198.51.100.1 80" "two host addresses, one port"
	ports_agree

	# del names the host side alone, address and protocol included
	assert_exit 1 "del without the host address" bpfnat port del b 8080
	assert_exit 1 "del of the other protocol" bpfnat port del a 9000-9009
	bpfnat port del b 198.51.100.1:8080
	bpfnat port del b 127.0.0.1:8080/tcp
	bpfnat port del a 9000-9009/udp
	assert_eq "$(ports_map4)" "0.0.0.0:9000/tcp -> 172.18.0.3:9000" \
		"what is left"
	ports_agree
}

test_add_twice_del_twice() {
	control_plane_once
	world_up
	bpfnat port add a 8080-8082:80-82
	local before
	before=$(ports_map)
	assert_ok "the same add again" bpfnat port add a 8080-8082:80-82
	assert_ok "a part of it again" bpfnat port add a 0.0.0.0:8081:81/tcp
	assert_eq "$(ports_map)" "$before" "nothing changed"
	bpfnat port del a 8080-8082
	unchanged_by "del again" 1 bpfnat port del a 8080-8082
	assert_match "$LAST_ERR" "8080/tcp is not published" "del again: why"
	unchanged_by "del of what never was" 1 bpfnat port del a 5000/udp
	ports_agree
}

test_usage_errors() {
	control_plane_once
	world_up
	bpfnat port add a 8080:80
	local spec
	for spec in 8080 8080: :80 0:80 8080:0 0-3:0-3 8080-8081:80 \
		8080:80-81 8081-8080:81-80 8080:80/sctp 8080:80/ 8080:80/TCP \
		300.1.1.1:8080:80 x:8080:80 '[::1:8080:80' '[::1]8080:80' \
		'[1.2.3.4]:8080:80' '[::1]:' 70000:80 abc:80 \
		1.2.3.4:5:6:7 '' ' 8080:80' 8080:80x +8080:80; do
		unchanged_by "port add '$spec'" 2 bpfnat port add b "$spec"
	done
	for spec in 8080:80 0 8080/xyz 70000 1-0 a.b.c.d:8080 ''; do
		unchanged_by "port del '$spec'" 2 bpfnat port del a "$spec"
	done
	unchanged_by "add without a spec" 2 bpfnat port add a
	unchanged_by "add with two specs" 2 bpfnat port add a 1:1 2:2
	unchanged_by "add with a bad name" 2 bpfnat port add 'a@b' 1:1
	unchanged_by "del without a spec" 2 bpfnat port del a
	unchanged_by "list with an argument" 2 bpfnat port list a
	unchanged_by "no verb" 2 bpfnat port
	unchanged_by "unknown verb" 2 bpfnat port show

	local before
	before=$(ip netns list)
	unchanged_by "ns add with a bad --publish" 2 \
		bpfnat ns add c --publish 8080:80 --publish 9000:0
	assert_match "$LAST_ERR" "port 0" "says what is wrong"
	assert_eq "$(ip netns list)" "$before" "no container made"
	ports_agree
}

test_taken_host_ports() {
	control_plane_once
	world_up
	bpfnat port add a 8080:80
	bpfnat port add a 198.51.100.1:9000:90

	unchanged_by "unknown container" 1 bpfnat port add nosuch 7000:70
	assert_match "$LAST_ERR" "no such container" "unknown container: why"
	ip netns add foreign
	unchanged_by "a namespace that is no container" 1 \
		bpfnat port add foreign 7000:70
	unchanged_by "del for a namespace that is no container" 1 \
		bpfnat port del foreign 8080

	unchanged_by "the same port, another container" 1 \
		bpfnat port add b 8080:80
	assert_match "$LAST_ERR" "8080/tcp is published already, to container a" \
		"taken: why"
	unchanged_by "the same port, another container port" 1 \
		bpfnat port add a 8080:81
	unchanged_by "an address under a wildcard" 1 \
		bpfnat port add b 198.51.100.1:8080:80
	unchanged_by "a wildcard over an address" 1 bpfnat port add b 9000:90
	unchanged_by "a range with one port taken, at its end" 1 \
		bpfnat port add b 8070-8080:70-80
	unchanged_by "a range with one port taken, in its middle" 1 \
		bpfnat port add b 8079-8081:79-81
	unchanged_by "del of another container's port" 1 \
		bpfnat port del b 8080
	assert_match "$LAST_ERR" "published to container a" "del: why"

	# what does not meet is free
	bpfnat port add b 8080:80/udp
	bpfnat port add b 127.0.0.1:9000:90
	bpfnat port add b 8081:80
	assert_eq "$(ports_map4 | wc -l)" 5 "five mappings"
	ports_agree
}

# The kernel's table of published ports has room for 4096 entries: a range
# that does not fit is refused after some of it was written, and what was
# written goes again.
test_a_range_that_does_not_fit() {
	control_plane_once
	world_up
	# two entries a port, one per family
	bpfnat port add a 10000-13999:10000-13999
	local before
	before=$(ports_map)
	assert_eq "$(wc -l <<<"$before")" 8000 "8000 entries"
	unchanged_by "a range beyond the table" 1 \
		bpfnat port add b 20000-20199:20000-20199
	assert_match "$LAST_ERR" "full" "says the table is full"
	unchanged_by "ns add --publish beyond the table" 1 \
		bpfnat ns add c --publish 30000:80 --publish 20000-20199:20000-20199
	assert_no_match "$(ip netns list)" "^c( |$)" "no container c"
	ports_agree
	bpfnat port add b 20000-20095:20000-20095
	assert_eq "$(ports_map | wc -l)" 8192 "a table full to the last entry"
}

test_host_sockets_hold_ports() {
	control_plane_once
	world_up
	host_listen tcp 7000
	unchanged_by "a TCP listener of the host" 1 bpfnat port add a 7000:80
	assert_match "$LAST_ERR" "socket of the host listens on 0.0.0.0:7000" \
		"a listener: why"
	unchanged_by "a range over the listener" 1 \
		bpfnat port add a 6990-7010:6990-7010
	unchanged_by "a host address, under the listener's wildcard" 1 \
		bpfnat port add a 198.51.100.1:7000:80
	assert_ok "the same port over UDP" bpfnat port add a 7000:80/udp
	host_unlisten
	assert_ok "free once the listener is gone" bpfnat port add a 7000:80

	host_listen tcp 7001 bind=127.0.0.1
	unchanged_by "every address includes the loopback" 1 \
		bpfnat port add a 7001:80
	assert_ok "another address" bpfnat port add a 198.51.100.1:7001:80
	host_unlisten

	host_listen tcp6 7002 ipv6only=0
	unchanged_by "a dual-stack IPv6 listener" 1 bpfnat port add a 7002:80
	host_unlisten
	host_listen tcp6 7003 ipv6only=1
	unchanged_by "an IPv6-only listener, over IPv6" 1 \
		bpfnat port add a 7003:80
	assert_match "$LAST_ERR" "\[::\]:7003/tcp is taken: a socket of the host listens on \[::\]:7003" \
		"an IPv6 listener: why"
	assert_ok "an IPv6-only listener takes no IPv4" \
		bpfnat port add a 0.0.0.0:7003:80
	host_unlisten
	host_listen tcp 7007
	assert_ok "an IPv4 listener takes no IPv6" bpfnat port add a '[::]:7007:80'
	host_unlisten

	host_listen udp 7004
	unchanged_by "a bound UDP socket" 1 bpfnat port add a 7004:80/udp
	assert_match "$LAST_ERR" "socket of the host is bound to 0.0.0.0:7004" \
		"a UDP socket: why"
	assert_ok "the same port over TCP" bpfnat port add a 7004:80
	host_unlisten

	host_listen tcp 7005
	local before
	before=$(ip netns list)
	unchanged_by "ns add --publish of a held port" 1 \
		bpfnat ns add c --publish 7006:80 --publish 7005:80
	assert_eq "$(ip netns list)" "$before" "no container made"
	host_unlisten
	ports_agree
}

test_down_refuses() {
	control_plane_once
	bpfnat ns add a
	outside_add
	assert_exit 1 "port add while down" bpfnat port add a 8080:80
	assert_match "$LAST_ERR" "bpfnat is down" "down: why"
	assert_exit 1 "port del while down" bpfnat port del a 8080
	assert_exit 1 "port list while down" bpfnat port list
	local before
	before=$(ip netns list)
	assert_exit 1 "ns add --publish while down" \
		bpfnat ns add b --publish 8080:80
	assert_eq "$(ip netns list)" "$before" "no container made"
	nat_up
	bpfnat ns add b --publish 8080:80
	assert_eq "$(ports_map4)" "0.0.0.0:8080/tcp -> 172.18.0.3:80" \
		"published once up"
}

test_ns_add_publish() {
	control_plane_once
	world_up
	bpfnat ns add c --publish 8080:80 --publish 198.51.100.1:9000-9001:90-91/udp
	assert_eq "$(ports_map4)" "0.0.0.0:8080/tcp -> 172.18.0.4:80
198.51.100.1:9000/udp -> 172.18.0.4:90
198.51.100.1:9001/udp -> 172.18.0.4:91" "c's mappings"
	assert_eq "$(bpfnat port list -j | jq -r 'map(.container) | unique[]')" \
		"c" "listed as c's"

	# the second --publish is taken: no d, nor its first mapping
	local before
	before=$(ip netns list; ip -o link | awk -F': ' '{ print $2 }')
	unchanged_by "ns add with a taken --publish" 1 \
		bpfnat ns add d --publish 8181:81 --publish 8080:80
	assert_match "$LAST_ERR" "^bpfnat: ns add d: --publish 8080:80: " \
		"names the --publish"
	assert_eq "$(ip netns list; ip -o link | awk -F': ' '{ print $2 }')" \
		"$before" "no namespace, no veth"
	ports_agree
	# and d's name and address are free for the next
	bpfnat ns add d --publish 8181:81
	assert_eq "$(bpfnat port list -j | jq -r '.[] | select(.host_port == 8181) |
		.container + " " + .address')" "d 172.18.0.5" "d, on the free address"
	ports_agree
}

test_ns_del_takes_its_ports() {
	control_plane_once
	world_up
	bpfnat port add a 8080:80
	bpfnat port add a 9000-9004:9000-9004/udp
	bpfnat port add b 8081:80
	bpfnat port add b 198.51.100.1:9100:9000/udp
	bpfnat ns del a
	assert_eq "$(ports_map4)" "0.0.0.0:8081/tcp -> 172.18.0.3:80
198.51.100.1:9100/udp -> 172.18.0.3:9000" "b's alone are left"
	ports_agree
	# the next container at a's address inherits nothing
	bpfnat ns add c
	assert_eq "$(bpfnat port list -j | jq -r 'map(.container) | unique[]')" \
		"b" "nothing for c"
}

test_up_again_keeps_down_removes() {
	control_plane_once
	world_up
	bpfnat port add a 8080:80
	bpfnat port add b 9000-9002:9000-9002/udp
	local before
	before=$(ports_map)
	nat_up
	assert_eq "$(ports_map)" "$before" "up again keeps them"
	nat_up --mode xdp
	assert_eq "$(ports_map)" "$before" "a change of mode keeps them"
	ports_agree
	bpfnat down
	nothing_left
	[[ ! -e /sys/fs/bpf/bpfnat/ports ]] || fail "the ports pin remains"
	nat_up
	assert_eq "$(ports_map)" "" "a new up starts with none"
	ports_agree
}

test_adds_at_once() {
	control_plane_once
	world_up
	local pids=() i c failed=0
	: >/tmp/errors
	for ((i = 0; i < 12; i++)); do
		c=a
		((i % 2)) && c=b
		bpfnat port add "$c" "$((8000 + i)):80" 2>>/tmp/errors &
		pids+=($!)
	done
	for i in "${pids[@]}"; do
		wait "$i" || failed=$((failed + 1))
	done
	[[ $failed == 0 ]] || fail "$failed of 12 adds failed: $(cat /tmp/errors)"
	assert_eq "$(ports_map4 | wc -l)" 12 "twelve mappings"
	assert_eq "$(ports_map | wc -l)" 24 "and their IPv6 twins"
	ports_agree

	# two containers after one port, five times: one wins, the other is
	# told the port is taken, and the map has the winner's alone
	local round pa pb ra rb winner
	for ((round = 0; round < 5; round++)); do
		: >/tmp/errors
		bpfnat port add a 9000:80 2>>/tmp/errors &
		pa=$!
		bpfnat port add b 9000:81 2>>/tmp/errors &
		pb=$!
		ra=0 rb=0
		wait "$pa" || ra=$?
		wait "$pb" || rb=$?
		assert_eq "$(printf '%s\n' "$ra" "$rb" | sort | tr '\n' ' ')" \
			"0 1 " "round $round: one wins, one fails"
		assert_match "$(cat /tmp/errors)" "9000/tcp is published already" \
			"round $round: the loser's error"
		winner=a
		[[ $rb == 0 ]] && winner=b
		assert_eq "$(bpfnat port list -j | jq -r '.[] |
			select(.host_port == 9000) | .container')" "$winner" \
			"round $round: the winner's mapping alone"
		bpfnat port del "$winner" 9000
	done
	ports_agree
}

# kill_midway PID PATH: kill -9 command PID once PATH appears (it has
# begun to change things), a few random steps of a busy loop later; or at
# once if PATH never comes.
kill_midway() {
	local pid=$1 path=$2 n spin
	for ((n = 0; n < 100000; n++)); do
		[[ ! -e $path ]] && kill -0 "$pid" 2>/dev/null || break
	done
	for ((spin = RANDOM % 200; spin > 0; spin--)); do
		:
	done
	kill -9 "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# kill -9 in the middle of port add, port del and ns add --publish of 4000
# ports, 5 times each: the next command leaves all of them or none.
test_killed_commands_leave_all_or_nothing() {
	control_plane_once
	world_up
	local i n midway=0 range=10000-13999:10000-13999
	for ((i = 0; i < 15; i++)); do
		case $((i % 3)) in
		0) "$BPFNAT" port add a "$range" 2>/dev/null & ;;
		1)
			bpfnat port add a "$range"
			"$BPFNAT" port del a 10000-13999 2>/dev/null &
			;;
		2) "$BPFNAT" ns add "k$i" --publish "$range" >/dev/null 2>&1 & ;;
		esac
		kill_midway $! /run/bpfnat/ports_intent
		[[ -e /run/bpfnat/ports_intent || -e /run/bpfnat/intent/k$i ]] &&
			midway=$((midway + 1))
		# the next command that changes ports cleans up first
		bpfnat port add b 1:1
		# (two entries a port: IPv4's and IPv6's)
		n=$(ports_map | grep -c ':1[0-3][0-9][0-9][0-9]/tcp' || true)
		[[ $n == 0 || $n == 8000 ]] || fail "round $i: $n of 8000 left"
		[[ ! -e /run/bpfnat/ports_intent ]] || fail "round $i: intent left"
		ports_agree
		if ((i % 3 == 2)) && bpfnat ns list -j |
			jq -e --arg n "k$i" 'any(.name == $n)' >/dev/null; then
			assert_eq "$n" 8000 "round $i: k$i made, with its ports"
			bpfnat ns del "k$i"
		elif ((n)); then
			bpfnat port del a 10000-13999
		fi
	done
	echo "$midway of 15 kills landed in the middle"
	[[ $midway -ge 1 ]] || fail "no kill landed in the middle: the test tested nothing"
	assert_eq "$(ports_map4)" "0.0.0.0:1/tcp -> 172.18.0.3:1" "b's port alone"
}

# ---------------------------------------------------------------------
# Traffic through published ports
# ---------------------------------------------------------------------
#
# (The data path's side of published ports is being built: its tests go
# here, from the outside, from the containers (hairpin) and from the host
# itself, in every mode.)
