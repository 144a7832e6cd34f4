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
