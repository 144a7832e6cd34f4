# SPDX-License-Identifier: GPL-2.0-only
#
# Host-local access to published ports: the host's own processes reach a
# published container at 127.0.0.1:HOSTPORT, the SNAT address and the
# host's other addresses, through the cgroup socket hooks of `up --cgroup`.
# Each test makes a cgroup of its own (never the root: nothing here is
# ever attached to the cgroup of every process of the machine) and runs
# its clients in it, from this namespace, the host's.
# modes: tc xdp

# The world: container a serving HTTP on 172.18.0.2:80 (published as
# 8080), the outside, one more address of the host's (203.0.113.77), a
# cgroup in $CG and bpfnat up with its hooks there.
hostlocal_up() {
	bpfnat ns add a
	outside_add
	ip addr add 203.0.113.77/32 dev lo
	cgroup_make CG
	nat_up --cgroup "$CG" "$@"
	http_serve a 172.18.0.2 $((256 * 1024))
	bpfnat port add a 8080:80
}

# fetch ADDR:PORT [CURL-OPTION...]: /blob through curl in $CG.
fetch() {
	local to=$1
	shift
	in_cgroup "$CG" curl -sf --noproxy '*' --max-time 10 -o /tmp/got "$@" \
		"http://$to/blob"
}

# sock_ask tcp|udp|udp-connected ADDR PORT: from $CG, a connection (TCP)
# or a datagram and its answer (UDP); prints what the application sees:
# "peer ADDR PORT" (getpeername; connected sockets) and "from ADDR PORT:
# ANSWER" (recvfrom's address; UDP).  UDP is asked up to 4 times.
sock_ask() {
	in_cgroup "$CG" python3 - "$@" <<'EOF'
import socket, sys
kind, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
if kind == "tcp":
    s = socket.create_connection((addr, port), timeout=5)
    print("peer %s %d" % s.getpeername()[:2])
    sys.exit(0)
family = socket.AF_INET6 if ":" in addr else socket.AF_INET
for attempt in range(4):
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.settimeout(2)
    if kind == "udp-connected":
        s.connect((addr, port))
        s.send(b"hello\n")
    else:
        s.sendto(b"hello\n", (addr, port))
    try:
        data, frm = s.recvfrom(512)
    except socket.timeout:
        continue
    if kind == "udp-connected":
        print("peer %s %d" % s.getpeername()[:2])
    print("from %s %d: %s" % (frm[0], frm[1], data.decode().strip()))
    sys.exit(0)
sys.exit(1)
EOF
}

# hooks_on CGROUP: the attach types of the programs attached there.
hooks_on() {
	bpftool cgroup show "$1" -j | jq -r '[.[].attach_type] | sort | join(" ")'
}

# links_on CGROUP: the ids of the bpf_links attached there (a cgroup's id
# is its directory's inode number).
links_on() {
	bpftool link show -j | jq -c --argjson cg "$(stat -c %i "$1")" \
		'[.[] | select(.cgroup_id == $cg) | .id] | sort'
}

ALL_HOOKS="cgroup_inet4_connect cgroup_inet4_getpeername cgroup_inet6_connect cgroup_inet6_getpeername cgroup_udp4_recvmsg cgroup_udp4_sendmsg cgroup_udp6_recvmsg cgroup_udp6_sendmsg"

test_published_port_from_the_host() {
	hostlocal_up
	local to
	for to in 127.0.0.1 127.0.0.5 198.51.100.1 172.18.0.1 203.0.113.77 \
		0.0.0.0; do
		fetch "$to:8080" || fail "the host's curl to $to:8080"
		assert_eq "$(sha256sum </tmp/got)" "$(sha256sum <"$WEB/blob")" \
			"what came from $to:8080"
	done
	# the container saw the host come from the gateway, its own side
	assert_eq "$(awk '{ print $1 }' "$WEB/access.log" | sort -u)" \
		"172.18.0.1" "the client the server saw"
	assert_eq "$(sock_ask tcp 127.0.0.1 8080)" "peer 127.0.0.1 8080" \
		"getpeername names where the application connected"
	assert_eq "$(counter sock_connect)" 7 "connects rewritten"
	# (curl asks for its peer's name too)
	[[ $(counter sock_getpeername) -ge 1 ]] || fail "no peer name put back"
	assert_eq "$(bpfnat ct count)" 0 "no flow made: nothing was translated"

	# not rewritten: a destination not the host's; a process outside the
	# cgroup; one in it, but in a container's namespace (its 127.0.0.1
	# is its own)
	local rc=0
	fetch 198.51.100.2:8080 || rc=$?
	assert_eq "$rc" 7 "curl to the outside's 8080: refused"
	rc=0
	curl -sf --noproxy '*' --max-time 5 -o /dev/null \
		http://127.0.0.1:8080/blob || rc=$?
	assert_eq "$rc" 7 "curl from outside the cgroup: refused"
	rc=0
	in_cgroup "$CG" ip netns exec a curl -sf --noproxy '*' --max-time 5 \
		-o /dev/null http://127.0.0.1:8080/blob || rc=$?
	assert_eq "$rc" 7 "curl in the cgroup, from a container: refused"
	assert_eq "$(counter sock_connect)" 7 "nothing more rewritten"

	local st
	st=$(bpfnat status -j)
	assert_eq "$(jq -r .cgroup <<<"$st")" "$CG" "status -j: the cgroup"
	assert_eq "$(jq -r '.cgroup_hooks | join(" ")' <<<"$st")" \
		"connect4 sendmsg4 recvmsg4 getpeername4 connect6 sendmsg6 recvmsg6 getpeername6" \
		"status -j: the hooks"
	assert_match "$(bpfnat status)" "cgroup: +$CG, hooks connect4" \
		"status: the cgroup"
	assert_eq "$(hooks_on "$CG")" "$ALL_HOOKS" "bpftool sees the hooks"
	state_agrees
}

# The same world over IPv6 too: the uplink's 2001:db8:1::1 the IPv6 SNAT
# address, another IPv6 address of the host's (2001:db8:9::77), container
# a serving HTTP on [fd00:18::2]:80 (published as 8080).
hostlocal6_up() {
	bpfnat ns add a
	outside_add
	ip -6 addr add 2001:db8:1::1/64 dev up0 nodad
	in_ns out ip -6 addr add 2001:db8:1::2/64 dev eth0 nodad
	ip -6 route add default via 2001:db8:1::2
	ip -6 addr add 2001:db8:9::77/128 dev lo nodad
	cgroup_make CG
	nat_up --cgroup "$CG" "$@"
	http_serve a "[fd00:18::2]" $((256 * 1024))
	bpfnat port add a 8080:80
}

test_published_port_from_the_host_over_ipv6() {
	hostlocal6_up
	local to
	for to in "[::1]" "[2001:db8:1::1]" "[fd00:18::1]" "[2001:db8:9::77]" \
		"[::]"; do
		fetch "$to:8080" || fail "the host's curl to $to:8080"
		assert_eq "$(sha256sum </tmp/got)" "$(sha256sum <"$WEB/blob")" \
			"what came from $to:8080"
	done
	assert_eq "$(awk '{ print $1 }' "$WEB/access.log" | sort -u)" \
		"fd00:18::1" "the client the server saw: the gateway"
	assert_eq "$(sock_ask tcp ::1 8080)" "peer ::1 8080" \
		"getpeername names where the application connected"
	assert_eq "$(counter sock_connect)" 6 "connects rewritten"
	assert_eq "$(bpfnat ct count)" 0 "no flow made: nothing was translated"
	# an IPv4-mapped destination is IPv4's: not rewritten over IPv6
	local rc=0
	fetch "[::ffff:127.0.0.1]:8080" || rc=$?
	assert_eq "$rc" 7 "curl to [::ffff:127.0.0.1]:8080: refused"

	# a datagram's answer from where it was sent
	echo_peer_udp6 a 5353
	bpfnat port add a 5300:5353/udp
	assert_match "$(sock_ask udp ::1 5300)" \
		"^from ::1 5300: fd00:18::1 [0-9]+$" \
		"unconnected: the answer from [::1]:5300"
	assert_match "$(sock_ask udp-connected 2001:db8:1::1 5300)" \
		"^peer 2001:db8:1::1 5300
from 2001:db8:1::1 5300: fd00:18::1 [0-9]+$" \
		"connected: peer and answer as the SNAT address's"
}

# A datagram's answer comes from where the application sent it, unconnected
# (sendmsg, recvmsg) and connected (connect, recvmsg, getpeername).
test_udp_answer_from_where_asked() {
	hostlocal_up
	echo_peer_udp a 5353
	bpfnat port add a 5300:5353/udp
	assert_match "$(sock_ask udp 127.0.0.1 5300)" \
		"^from 127.0.0.1 5300: 172.18.0.1 [0-9]+$" \
		"unconnected: the answer from 127.0.0.1:5300"
	assert_match "$(sock_ask udp-connected 198.51.100.1 5300)" \
		"^peer 198.51.100.1 5300
from 198.51.100.1 5300: 172.18.0.1 [0-9]+$" \
		"connected: peer and answer as the SNAT address's"
	[[ $(counter sock_sendmsg) -ge 1 && $(counter sock_recvmsg) -ge 2 &&
		$(counter sock_getpeername) -ge 1 ]] ||
		fail "counters: $(bpfnat stats -j | jq -c 'with_entries(select(.key | startswith("sock_")) | .value = .value.packets)')"
	# socat asks from outside the cgroup: not rewritten, no answer
	assert_eq "$(echo x | socat -T1 - UDP4-SENDTO:127.0.0.1:5300 || true)" "" \
		"no answer outside the cgroup"
}

# A port published on one address is that address's alone.  (Which of
# one published there and one on every address wins, the map allows but
# `port add` refuses: the unit tests check it.)
test_published_on_one_address() {
	hostlocal_up
	echo_peer a 7000
	bpfnat port add a 127.0.0.1:7001:7000
	assert_match "$(in_cgroup "$CG" socat -T5 - TCP4:127.0.0.1:7001 </dev/null)" \
		"^172.18.0.1 " "127.0.0.1:7001, where it is published"
	local to rc
	for to in 127.0.0.2 198.51.100.1; do
		rc=0
		in_cgroup "$CG" socat -T5 - TCP4:$to:7001 </dev/null 2>/dev/null ||
			rc=$?
		assert_ne "$rc" 0 "$to:7001, where it is not: refused"
	done
}

# up again keeps host-local access with no gap, new programs in the same
# links; and takes up addresses the host gained since.
test_up_again_keeps_host_local_access() {
	hostlocal_up
	local links ids
	links=$(links_on "$CG")
	ids=$(bpfnat status -j | jq -c .program_ids)
	# connections all along, through both ups
	in_cgroup "$CG" python3 - >/tmp/loop.out 2>&1 <<'EOF' &
import socket, time
ok = failed = 0
while True:
    try:
        open("/tmp/loop.stop").close()
        break
    except FileNotFoundError:
        pass
    try:
        socket.create_connection(("127.0.0.1", 8080), timeout=5).close()
        ok += 1
    except OSError as e:
        failed += 1
        print("failed:", e, flush=True)
print("ok", ok, "failed", failed)
EOF
	local loop=$! alt=$BPFNAT_BUILD/upgrade
	retry 50 sh -c "[ \$($BPFNAT stats -j | jq .sock_connect.packets) -ge 3 ]" ||
		fail "the loop does not connect: $(cat /tmp/loop.out)"
	nat_up
	"$alt/bpfnat" up --uplink up0 "${MODE_ARGS[@]}"
	nat_up
	touch /tmp/loop.stop
	wait "$loop"
	echo "connections while up ran three times: $(tail -n 1 /tmp/loop.out)"
	assert_match "$(tail -n 1 /tmp/loop.out)" "^ok [0-9]+ failed 0$" \
		"connections while up ran again"
	assert_eq "$(links_on "$CG")" "$links" "the same links"
	assert_ne "$(bpfnat status -j | jq -c .program_ids)" "$ids" \
		"running new programs"
	assert_eq "$(bpfnat status -j | jq -r .cgroup)" "$CG" "status: kept"

	# an address the host gained after up counts from the next up
	ip addr add 203.0.113.78/32 dev lo
	local rc=0
	fetch 203.0.113.78:8080 || rc=$?
	assert_eq "$rc" 7 "a new address, before up again"
	nat_up
	fetch 203.0.113.78:8080 || fail "a new address, after up again"
	state_agrees
}

# up with another cgroup moves the hooks; --cgroup none takes them off;
# down leaves nothing attached.
test_up_moves_the_hooks_and_down_detaches() {
	hostlocal_up
	local cg2 rc
	cgroup_make cg2
	nat_up --cgroup "$cg2"
	assert_eq "$(hooks_on "$CG")" "" "nothing left on the first cgroup"
	assert_eq "$(hooks_on "$cg2")" "$ALL_HOOKS" "the hooks on the second"
	rc=0
	fetch 127.0.0.1:8080 || rc=$?
	assert_eq "$rc" 7 "the first cgroup is not rewritten any more"
	in_cgroup "$cg2" curl -sf --noproxy '*' --max-time 10 -o /dev/null \
		http://127.0.0.1:8080/blob || fail "the second cgroup is"
	assert_eq "$(bpfnat status -j | jq -r .cgroup)" "$cg2" "status: moved"

	nat_up --cgroup none
	assert_eq "$(hooks_on "$cg2")" "" "--cgroup none: off"
	assert_eq "$(bpfnat status -j | jq -c '[.cgroup, .cgroup_hooks]')" \
		"[null,null]" "status: no cgroup"
	assert_match "$(bpfnat status)" "cgroup: +none" "status says none"
	assert_eq "$(ls /sys/fs/bpf/bpfnat | grep -E '^(link_|sock_[a-z]+4$)')" \
		"" "the hooks' programs and links unpinned"
	nat_up
	assert_eq "$(hooks_on "$cg2")" "" "up without --cgroup attaches nothing"

	nat_up --cgroup "$CG"
	assert_eq "$(hooks_on "$CG")" "$ALL_HOOKS" "back on the first"
	bpfnat down
	assert_eq "$(hooks_on "$CG")" "" "down: nothing attached"
	[[ ! -e /run/bpfnat/cgroup ]] || fail "down left /run/bpfnat/cgroup"
	rc=0
	fetch 127.0.0.1:8080 || rc=$?
	assert_eq "$rc" 7 "down: not rewritten"
	nothing_left

	# no cgroup of the test's is left once it is over
	cgroup_remove "$CG"
	cgroup_remove "$cg2"
	[[ ! -e $CG && ! -e $cg2 ]] || fail "a cgroup is left"
}

# up_fails WHAT ARG...: nat_up ARG... exits 1 (what the data path says of
# the failure is its business, and may be more than one line).
up_fails() {
	local what=$1 rc=0
	shift
	nat_up "$@" 2>/tmp/up.err || rc=$?
	assert_eq "$rc" 1 "$what: exit status (stderr: $(cat /tmp/up.err))"
}

# A failed up attaches nothing new, and leaves the hooks that ran as they
# were; a bad --cgroup is refused before anything is done.
test_failed_up_attaches_nothing() {
	bpfnat ns add a
	outside_add
	cgroup_make CG
	assert_exit 2 "a relative path" nat_up --cgroup sys/fs/cgroup
	assert_exit 1 "no such cgroup" nat_up --cgroup /sys/fs/cgroup/bpfnat-nosuch
	assert_exit 1 "not a cgroup" nat_up --cgroup /tmp
	assert_match "$LAST_ERR" "not a cgroup2 directory" "says why"
	nothing_left

	# a foreign program at bpfnat's spot on a's veth: the attach fails
	# after the hooks were attached
	bpftool prog loadall "$BPFNAT_BUILD/bench.bpf.o" /sys/fs/bpf/foreign
	tc qdisc add dev bnac120002 clsact
	tc filter add dev bnac120002 ingress pref 185 handle 0xb9f bpf da \
		object-pinned /sys/fs/bpf/foreign/bench_drop
	up_fails "up from down, a's veth taken" --cgroup "$CG"
	assert_eq "$(hooks_on "$CG")" "" "from down: nothing attached"
	assert_eq "$(bpfnat status -j | jq -r .state)" down "still down"
	[[ ! -e /run/bpfnat/cgroup ]] || fail "/run/bpfnat/cgroup written"

	# over a running data path with its hooks: they stay where and what
	# they were
	tc filter del dev bnac120002 ingress pref 185 handle 0xb9f bpf
	nat_up --cgroup "$CG"
	local cg2 before
	cgroup_make cg2
	before=$(bpftool cgroup show "$CG" -j | jq -c 'sort_by(.id)')
	tc filter replace dev bnac120002 ingress pref 185 handle 0xb9f bpf da \
		object-pinned /sys/fs/bpf/foreign/bench_drop
	up_fails "up to another cgroup, a's veth taken" --cgroup "$cg2"
	up_fails "up again, a's veth taken"
	assert_eq "$(bpftool cgroup show "$CG" -j | jq -c 'sort_by(.id)')" \
		"$before" "the hooks run as before"
	assert_eq "$(hooks_on "$cg2")" "" "nothing on the other cgroup"
	assert_eq "$(bpfnat status -j | jq -r .cgroup)" "$CG" "status: as before"
	local id
	for id in $(bpftool cgroup show "$CG" -j | jq '.[].id'); do
		bpftool prog show id "$id" >/dev/null ||
			fail "a hook runs program $id, which is gone"
	done
	assert_match "$(bpfnat status -j | jq -c .program_ids)" \
		"$(bpftool cgroup show "$CG" -j | jq '.[] | select(.attach_type == "cgroup_inet4_connect") | .id')" \
		"status names the program the connect hook runs"
}

# up moving the hooks between two cgroups, killed (-9) or interrupted
# (SIGINT) at random moments, most of them once it has begun to attach
# them: the next up without --cgroup finishes or undoes what was cut
# short, and leaves every hook on one cgroup, which host-local access then
# works from; down takes them all off.
test_killed_up_leaves_the_hooks_whole() {
	hostlocal_up
	local cg2 i n spin pid target on other midway=0 sig
	cgroup_make cg2
	for ((i = 0; i < 8; i++)); do
		target=$CG sig=-9
		((i % 2)) && target=$cg2
		((i % 4 == 3)) && sig=-INT
		env --default-signal=INT "$BPFNAT" up --uplink up0 \
			"${MODE_ARGS[@]}" --cgroup "$target" 2>>/tmp/up.err &
		pid=$!
		if ((i % 4)); then
			# a few steps after the first new link is pinned
			for ((n = 0; n < 200000; n++)); do
				[[ ! -e /sys/fs/bpf/bpfnat_staging/link_connect4 ]] &&
					kill -0 "$pid" 2>/dev/null || break
			done
			for ((spin = RANDOM % 100; spin > 0; spin--)); do
				:
			done
		else
			sleep "0.0$((RANDOM % 10))$((RANDOM % 10))"
		fi
		[[ -e /sys/fs/bpf/bpfnat_staging ]] && midway=$((midway + 1))
		kill "$sig" "$pid" 2>/dev/null || true
		wait "$pid" || true
		nat_up 2>>/tmp/up.err
		on=$CG other=$cg2
		[[ $(hooks_on "$CG") == "$ALL_HOOKS" ]] || on=$cg2 other=$CG
		assert_eq "$(hooks_on "$on")" "$ALL_HOOKS" "round $i: the hooks, whole"
		assert_eq "$(hooks_on "$other")" "" "round $i: the other cgroup"
		assert_eq "$(bpfnat status -j | jq -r .cgroup)" "$on" \
			"round $i: status names it"
		in_cgroup "$on" curl -sf --noproxy '*' --max-time 10 -o /dev/null \
			http://127.0.0.1:8080/blob || fail "round $i: host-local access"
		state_agrees
	done
	echo "$midway of 8 signals landed while an up was under way"
	sort /tmp/up.err | uniq -c
	[[ $midway -ge 1 ]] || fail "no signal landed in an up: the test tested nothing"
	bpfnat down
	assert_eq "$(hooks_on "$CG")$(hooks_on "$cg2")" "" "down: nothing attached"
	nothing_left
}

# A cgroup removed while the hooks are on it takes them with it: the next
# up says so and runs without them.
test_cgroup_removed_under_the_hooks() {
	hostlocal_up
	local cg2
	cgroup_make cg2
	nat_up --cgroup "$cg2"
	rmdir "$cg2"
	retry 50 sh -c "$BPFNAT status -j | jq -e '.cgroup_id == 0' >/dev/null" ||
		fail "status: the cgroup not gone: $(bpfnat status -j | jq -c .)"
	assert_match "$(bpfnat status)" "cgroup: +$cg2, gone" "status says gone"
	nat_up 2>/tmp/up.err
	assert_match "$(cat /tmp/up.err)" "cgroup of the socket hooks $cg2 is gone" \
		"up says so"
	assert_eq "$(bpfnat status -j | jq -c '[.cgroup, .cgroup_hooks]')" \
		"[null,null]" "no hooks any more"
	state_agrees
	nat_up --cgroup "$CG"
	fetch 127.0.0.1:8080 || fail "host-local access on a cgroup again"
}
