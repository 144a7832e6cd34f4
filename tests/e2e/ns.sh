# SPDX-License-Identifier: GPL-2.0-only
#
# Containers built over netlink: bpfnat ns add | del | list, through the
# kernel path alone (no data path attached).
# modes: none

# The kernel's view of this namespace, to compare before and after.
world() {
	ip netns list | sort
	ip -o link | awk -F': ' '{ print $2 }' | sort
	ip route | sort
	ip addr | grep inet | sort
}

test_add_list_del() {
	bpfnat ns add a
	bpfnat ns add b

	local list
	list=$(bpfnat ns list -j)
	assert_eq "$(jq -r '.[0].name + " " + .[0].address' <<<"$list")" \
		"a 172.18.0.2/16" "first container"
	assert_eq "$(jq -r '.[1].name + " " + .[1].address' <<<"$list")" \
		"b 172.18.0.3/16" "second container"
	for i in 0 1; do
		local ifname ifindex
		ifname=$(jq -r ".[$i].host_if" <<<"$list")
		ifindex=$(jq -r ".[$i].host_ifindex" <<<"$list")
		assert_eq "$(cat "/sys/class/net/$ifname/ifindex")" "$ifindex" \
			"host_ifindex of $ifname"
	done
	assert_match "$(ip netns list)" "a" "ip netns list shows a"
	assert_match "$(in_ns a ip -4 -o addr show dev eth0)" \
		"172.18.0.2/16" "eth0 address inside a"
	assert_match "$(in_ns a ip route show default)" "via 172.18.0.1" \
		"default route inside a"

	bpfnat ns del a
	list=$(bpfnat ns list -j)
	assert_eq "$(jq -r 'map(.name) | join(",")' <<<"$list")" "b" \
		"list after del"
	assert_no_match "$(ip netns list)" "^a( |$)" "netns a gone"
	assert_no_match "$(ip -o link)" "bnac120002" "veth of a gone"
	assert_no_match "$(ip route)" "172.18.0.2 " "route to a gone"

	# the freed address is handed out again
	bpfnat ns add c
	assert_eq "$(bpfnat ns list -j | jq -r '.[] | select(.name=="c").address')" \
		"172.18.0.2/16" "lowest free address reused"
}

test_list_output() {
	assert_eq "$(bpfnat ns list -j)" "[]" "empty list is an empty array"
	assert_eq "$(bpfnat ns list)" "" "empty list prints nothing"
	bpfnat ns add web --ip 172.18.3.7
	jq -e 'type == "array" and length == 1 and
		(.[0] | has("name") and has("address") and has("host_if") and
			has("host_ifindex"))' <<<"$(bpfnat ns list -j)" >/dev/null
	assert_match "$(bpfnat ns list)" "web +172.18.3.7/16 +bnac120307" \
		"table row"
	assert_eq "$(bpfnat -j ns add web2 | jq -r .address)" "172.18.0.2/16" \
		"ns add -j prints the new container"
}

test_two_containers_ping() {
	bpfnat ns add a
	bpfnat ns add b
	assert_ok "a -> b" in_ns a ping -c1 -W2 172.18.0.3
	assert_ok "b -> a" in_ns b ping -c1 -W2 172.18.0.2
	assert_ok "a -> gateway" in_ns a ping -c1 -W2 172.18.0.1
	assert_ok "b -> gateway" in_ns b ping -c1 -W2 172.18.0.1
}

# Twenty containers in one /16, every one reaching every other at once:
# the route conflict of a shared prefix is solved without a bridge.
test_twenty_containers_mesh() {
	local i j n=20
	for ((i = 1; i <= n; i++)); do
		bpfnat ns add "c$i"
	done
	assert_eq "$(bpfnat ns list -j | jq length)" "$n" "containers listed"
	# from each container, one fping to every other and to the gateway
	# (one process per container: processes are dear under emulation)
	local dests unreachable
	for ((i = 1; i <= n; i++)); do
		dests=()
		for ((j = 0; j <= n; j++)); do
			[[ $j == "$i" ]] || dests+=("172.18.0.$((j + 1))")
		done
		unreachable=$(in_ns "c$i" fping -u -r1 -t2000 "${dests[@]}") ||
			fail "c$i cannot reach" $unreachable
	done
	ip -o link show type bridge | grep -q . && fail "a bridge was created"
	return 0
}

test_usage_errors() {
	local before
	bpfnat ns add a
	before=$(world)

	assert_exit 2 "bad name" bpfnat ns add 'b@d'
	assert_exit 2 "name too long" bpfnat ns add "$(printf 'x%.0s' {1..33})"
	assert_exit 2 "name starting with a dot" bpfnat ns add .hidden
	assert_exit 2 "no name" bpfnat ns add
	assert_exit 2 "two names" bpfnat ns add b c
	assert_exit 2 "unknown flag" bpfnat ns add b --color red
	assert_exit 2 "address outside the pool" bpfnat ns add b --ip 10.0.0.2
	assert_exit 2 "the gateway" bpfnat ns add b --ip 172.18.0.1
	assert_exit 2 "the pool's network address" bpfnat ns add b --ip 172.18.0.0
	assert_exit 2 "broadcast" bpfnat ns add b --ip 172.18.255.255
	assert_exit 2 "wrong prefix length" bpfnat ns add b --ip 172.18.0.9/24
	assert_exit 2 "not an address" bpfnat ns add b --ip 172.18.0.300
	assert_exit 2 "unknown verb" bpfnat ns frob
	assert_exit 2 "no verb" bpfnat ns
	assert_exit 2 "unknown command" bpfnat frob
	assert_exit 2 "ns list argument" bpfnat ns list extra

	assert_exit 1 "duplicate" bpfnat ns add a
	assert_match "$LAST_ERR" "exists" "duplicate message"
	assert_exit 1 "address in use" bpfnat ns add b --ip 172.18.0.2
	assert_match "$LAST_ERR" "in use" "address in use message"
	assert_exit 1 "del unknown" bpfnat ns del nosuch
	assert_match "$LAST_ERR" "no such container" "del unknown message"
	ip netns add foreign
	assert_exit 1 "name of a foreign netns" bpfnat ns add foreign
	assert_exit 1 "del of a foreign netns" bpfnat ns del foreign
	ip netns del foreign

	assert_eq "$(world)" "$before" "nothing changed by failed commands"
}

# A failure half-way through ns add removes what it had built.
test_failed_add_leaves_nothing() {
	local before
	bpfnat ns add a
	before=$(world)

	# the veth cannot be created: its name is taken
	ip link add bnac120005 type veth peer name tmp0
	before=$(world)
	assert_exit 1 "veth name taken" bpfnat ns add b --ip 172.18.0.5
	assert_eq "$(world)" "$before" "after a failed veth"
	ip link del bnac120005

	# the host route cannot be added: one is already there
	ip route add 172.18.0.6/32 dev lo
	before=$(world)
	assert_exit 1 "route taken" bpfnat ns add b --ip 172.18.0.6
	assert_match "$LAST_ERR" "route" "names the failing step"
	assert_eq "$(world)" "$before" "after a failed route"
	ip route del 172.18.0.6/32 dev lo

	bpfnat ns add b --ip 172.18.0.6
	assert_ok "works once the conflict is gone" in_ns a ping -c1 -W2 172.18.0.6
}

test_iproute2_compatible() {
	bpfnat ns add a
	assert_match "$(ip netns exec a ip -o link show eth0)" "eth0" \
		"ip netns exec sees eth0"
	assert_match "$(ip netns identify $$ 2>/dev/null; ip netns list)" \
		"a" "ip netns list"
	# a namespace made by ip is not bpfnat's
	ip netns add other
	assert_no_match "$(bpfnat ns list)" "other" "foreign netns not listed"
}

# bpfnat -batch: the commands of a file in one process, as if run one by
# one: comments, blank lines, quotes, a line's own -j.
test_batch_runs_a_file_of_commands() {
	local f=/tmp/cmds out list
	cat >"$f" <<-'BATCH'
	# three containers, then a look
	ns add a
	ns add "b" --ip 172.18.0.9   # an address of its own

	ns add c --ip6 fd00:18::99
	ns list -j
	ns del a
	BATCH
	out=$(bpfnat -batch "$f")
	assert_eq "$(jq -r 'map(.name + " " + .address + " " + .address6) |
		join(",")' <<<"$out")" \
		"a 172.18.0.2/16 fd00:18::2/64,c 172.18.0.3/16 fd00:18::99/64,b 172.18.0.9/16 fd00:18::3/64" \
		"the list printed by the batch's own ns list -j"
	list=$(bpfnat ns list -j)
	assert_eq "$(jq -r 'map(.name) | join(",")' <<<"$list")" "c,b" \
		"what the batch left"
	assert_no_match "$(ip netns list)" "^a( |$)" "a's namespace gone"
	assert_ok "c answers from b" in_ns b ping -c1 -W2 172.18.0.3
	assert_match "$(in_ns c ip -6 -o addr show dev eth0)" "fd00:18::99/64" \
		"c's IPv6 address inside"
	# standard input, and -j for the whole batch
	out=$(printf 'ns list\nstatus\n' | bpfnat -j -batch -)
	assert_eq "$(jq -s 'length' <<<"$out")" "2" "two JSON documents"
	assert_eq "$(jq -s -r '.[0][1].name' <<<"$out")" "b" "-j for every line"
	# a line's -j is that line's alone
	out=$(printf 'ns list -j\nns list\n' | bpfnat -batch -)
	assert_eq "$(grep -c '^NAME  *ADDRESS' <<<"$out")" "1" \
		"the next line prints text"
}

# The first command that fails ends the batch with its exit code, after
# its own message and the line's place; -force goes on to the end.
test_batch_stops_at_a_failure_unless_forced() {
	local f=/tmp/cmds rc err
	printf 'ns add a\nns add a\nns add b\n' >"$f"
	rc=0
	bpfnat -batch "$f" 2>"/tmp/err" || rc=$?
	err=$(cat "/tmp/err")
	assert_eq "$rc" "1" "exit code of the failed command"
	assert_eq "$(sed -n 1p <<<"$err")" "bpfnat: ns add a: the container exists" \
		"the command's own message"
	assert_eq "$(sed -n 2p <<<"$err")" "bpfnat: $f:2: command failed" \
		"then where it was"
	assert_eq "$(bpfnat ns list -j | jq -r 'map(.name) | join(",")')" "a" \
		"nothing after the failure ran"

	printf 'ns add a\nns frob\nns add "c\n-j monitor\nns add b\n' >"$f"
	rc=0
	bpfnat -batch -force "$f" 2>/tmp/err || rc=$?
	err=$(cat "/tmp/err")
	assert_eq "$rc" "2" "the worst exit code: a usage error"
	assert_match "$err" "$f:3: a quote is not closed" "an open quote"
	assert_match "$err" "$f:4: monitor runs until a signal" "no monitor"
	assert_eq "$(bpfnat ns list -j | jq -r 'map(.name) | join(",")')" "a,b" \
		"the last line ran all the same"

	assert_exit 2 "no file" bpfnat -batch
	assert_exit 2 "-force alone" bpfnat -force ns list
	assert_exit 1 "a file that is not there" bpfnat -batch "/tmp/none"
}

# An `up` in a batch read from a pipe leaves the batch its standard
# input: the lines that come after it still run.
test_batch_reads_on_after_up() {
	outside_add
	{
		echo "up --uplink up0 --mode tc"
		sleep 1		# the rest is not in the pipe when up runs
		echo "ns add a"
		echo "ns list"
	} | bpfnat -batch - >/tmp/out 2>/tmp/err ||
		fail "the batch: $(cat /tmp/err)"
	assert_eq "$(bpfnat status -j | jq -r .state)" "up" "up ran"
	assert_eq "$(bpfnat ns list -j | jq -r 'map(.name) | join(",")')" "a" \
		"the line after up ran"
	assert_eq "$(grep -c '^a  *172\.18\.0\.2/16' /tmp/out)" "1" \
		"and the one after that"
}

# A command of a batch gives back what it opened: 150 of them run with
# 64 descriptors.
test_batch_keeps_nothing_open_per_command() {
	local f=/tmp/cmds i
	for ((i = 1; i <= 75; i++)); do
		echo "ns add c$i"
		echo "ns list"
	done >"$f"
	assert_ok "150 commands with 64 descriptors" \
		bash -c 'ulimit -n 64 && exec "$0" -batch "$1" >/dev/null' \
		"$BPFNAT" "$f"
	assert_eq "$(bpfnat ns list | wc -l)" "76" "75 containers and a header"
}

# The lowest free address, found from the hint bpfnat keeps: after a
# del, past addresses given by hand, without the hint, with a hint that
# is corrupt, of another pool or past the pool's end (a search that
# reaches the end comes round), and never one address twice.
test_lowest_free_address_from_the_hint() {
	local hint=/run/bpfnat/free_from
	addr_of() {	# NAME
		bpfnat ns list -j | jq -r --arg n "$1" \
			'.[] | select(.name == $n) | .address + " " + .address6'
	}
	bpfnat ns add a
	bpfnat ns add b
	bpfnat ns add c --ip 172.18.0.4 --ip6 fd00:18::4
	bpfnat ns add d
	assert_eq "$(addr_of d)" "172.18.0.5/16 fd00:18::5/64" \
		"past the addresses given by hand"
	assert_eq "$(cat "$hint")" $'4 172.18.0.0/16 172.18.0.6\n6 fd00:18::/64 fd00:18::6' \
		"the hint after four adds"
	bpfnat ns del b
	bpfnat ns add e
	assert_eq "$(addr_of e)" "172.18.0.3/16 fd00:18::3/64" \
		"a freed address again"

	rm "$hint"
	bpfnat ns del a
	bpfnat ns add f
	assert_eq "$(addr_of f)" "172.18.0.2/16 fd00:18::2/64" \
		"without the hint, searched from the start"
	bpfnat ns del f
	echo "garbage" >"$hint"
	bpfnat ns add g
	assert_eq "$(addr_of g)" "172.18.0.2/16 fd00:18::2/64" \
		"a corrupt hint: from the start"
	bpfnat ns del g
	printf '4 10.1.0.0/16 10.1.0.9\n6 fd00:99::/64 fd00:99::9\n' >"$hint"
	bpfnat ns add h
	assert_eq "$(addr_of h)" "172.18.0.2/16 fd00:18::2/64" \
		"another pool's hint: from the start"
	# a hint left past the end (addresses freed where bpfnat did not
	# see it): the search comes round, the pool is not full
	bpfnat ns del h
	printf '4 172.18.0.0/16 172.18.255.255\n6 fd00:18::/64 fd00:19::\n' \
		>"$hint"
	bpfnat ns add i
	assert_eq "$(addr_of i)" "172.18.0.2/16 fd00:18::2/64" \
		"a hint past the end: round to the lowest free"

	# a host side deleted behind bpfnat's back, and its namespace: its
	# addresses are free, and each address is handed out once
	ip link del bnac120005
	ip netns del d
	bpfnat ns add j
	bpfnat ns add k
	bpfnat ns add l
	local list
	list=$(bpfnat ns list -j)
	assert_eq "$(jq '[.[].address] | unique | length' <<<"$list")" \
		"$(jq length <<<"$list")" "no IPv4 address twice"
	assert_eq "$(jq '[.[].address6] | unique | length' <<<"$list")" \
		"$(jq length <<<"$list")" "no IPv6 address twice"
	assert_match "$(jq -r '[.[].address] | join(" ")' <<<"$list")" \
		"172.18.0.5/16" "d's address handed out again"
}

# A signal during a batch's command ends the batch after that command:
# exit 1, the line it stopped after, and no container half made.
test_batch_stopped_by_a_signal_between_commands() {
	local f=/tmp/cmds i rc=0 n
	for ((i = 1; i <= 300; i++)); do
		echo "ns add c$i"
	done >"$f"
	"$BPFNAT" -batch "$f" 2>/tmp/err &	# the process itself, no shell
	local pid=$!
	retry 100 test -e /run/netns/c2 || fail "the batch did not start"
	kill -TERM "$pid"
	wait "$pid" || rc=$?
	assert_eq "$rc" "1" "exit code"
	assert_match "$(cat /tmp/err)" "^bpfnat: $f:[0-9]+: stopped by SIGTERM$" \
		"where it stopped"
	n=$(sed -E 's/.*:([0-9]+): stopped.*/\1/' /tmp/err)
	assert_eq "$(bpfnat ns list -j | jq length)" "$n" \
		"every line up to there, and no other"
	assert_eq "$(ip netns list | grep -c '^c')" "$n" "their namespaces"
	assert_eq "$(ls /run/bpfnat/intent | wc -l)" "0" "no intent left"
}
