# SPDX-License-Identifier: GPL-2.0-only
#
# A cluster of three nodes, as Kubernetes runs the plugin: every node a
# network and mount namespace of its own (its own /run, so its own lock,
# records, leases and named namespaces; its own bpffs, so its own pins),
# its pods made by the CNI plugin with host-local over the node's pod
# range 10.244.N.0/24 (bpfnat's pool on that node), the cluster range
# 10.244.0.0/16 excluded from NAT, and routes to the other nodes' ranges
# via their addresses, as flannel's host-gw sets them.  The nodes share one
# L2 segment, a bridge in this namespace, with an outside host on it:
#
#   node1 eth0 198.51.100.11 ─┐
#   node2 eth0 198.51.100.12 ─┼─ br0 (here) ─ out eth0 198.51.100.100
#   node3 eth0 198.51.100.13 ─┘
#   pod pN on node N: 10.244.N.x/24, gateway 10.244.N.1
#
# Every node runs with its forwarding off and iptables' FORWARD policy
# DROP: what crosses a node does so by bpfnat's redirects alone.  In xdp
# mode the XDP programs carry pod to pod on a node and the uplink, a veth,
# stays tc's; in xdp-full XDP takes the uplinks too, the segment's veths
# made to take XDP frames and send full checksums, as a NIC's wire would.

CNI_PLUGIN=$BPFNAT_BUILD/cni/bpfnat
CNI_BIN_DIR=/usr/lib/cni
NODES=(1 2 3)
declare -A NODE_PID POD_ADDR

[[ -x $CNI_BIN_DIR/host-local ]] ||
	skip "no host-local in $CNI_BIN_DIR (containernetworking-plugins)"

# node N CMD...: CMD on node N, in its network and mount namespaces.
node() {
	local n=$1
	shift
	nsenter -t "${NODE_PID[$n]}" -n -m -- "$@"
}

# pod N CMD...: CMD in node N's pod pN.
pod() {
	local n=$1
	shift
	node "$n" ip netns exec "p$n" "$@"
}

# node_add N: node N's namespaces, held by a process of their own, with
# the filesystems bpfnat reads (/run, /sys, /sys/fs/bpf) its own, and its
# uplink eth0 on the segment.
node_add() {
	local n=$1
	local ready=/tmp/node$n.ready
	unshare -n -m --propagation private sh -c '
		set -e
		# the tree and the build stay in view when the sandbox bound
		# them under the /run that a tmpfs of our own is to cover
		for d in "$BPFNAT_TOP" "$BPFNAT_BUILD"; do
			case $d in /run/*)
				mkdir -p "/tmp/node$1$d"
				mount --bind "$d" "/tmp/node$1$d" ;;
			esac
		done
		mount -t tmpfs -o mode=0755 tmpfs /run
		for d in "$BPFNAT_TOP" "$BPFNAT_BUILD"; do
			case $d in /run/*)
				mkdir -p "$d"
				mount --bind "/tmp/node$1$d" "$d" ;;
			esac
		done
		mount -t sysfs sysfs /sys
		mount -t bpf bpf /sys/fs/bpf
		ip link set lo up
		touch "$2"
		exec sleep infinity' sh "$n" "$ready" &
	NODE_PID[$n]=$!
	retry 50 test -e "$ready" || fail "node $n did not start"
	ip link add "sw$n" type veth peer name eth0 netns "/proc/${NODE_PID[$n]}/ns/net"
	ip link set "sw$n" master br0 up
	if [[ $BPFNAT_MODE == xdp-full ]]; then
		ethtool -K "sw$n" gro on tx off >/dev/null
		node "$n" ethtool -K eth0 tx off >/dev/null
	fi
	node "$n" ip addr add "198.51.100.1$n/24" dev eth0
	node "$n" ip link set eth0 up
	# no forwarding by the kernel, and no way through it if it did
	node "$n" sysctl -qw net.ipv4.ip_forward=0
	node "$n" iptables -P FORWARD DROP
}

# The segment, the outside host on it, the nodes, and the host-gw routes:
# on each node, every other node's pod range via that node.
cluster_add() {
	local n m
	ip link add br0 type bridge
	ip link set br0 up
	ip netns add out
	ip link add swout type veth peer name eth0 netns out
	ip link set swout master br0 up
	ip -n out addr add 198.51.100.100/24 dev eth0
	ip -n out link set eth0 up
	ip -n out link set lo up
	[[ $BPFNAT_MODE == xdp-full ]] && outside_as_a_wire
	for n in "${NODES[@]}"; do
		node_add "$n"
	done
	for n in "${NODES[@]}"; do
		for m in "${NODES[@]}"; do
			[[ $m == "$n" ]] && continue
			node "$n" ip route add "10.244.$m.0/24" via "198.51.100.1$m"
		done
	done
	at_exit cluster_stop
}

cluster_stop() {
	local n
	for n in "${NODES[@]}"; do
		[[ -n ${NODE_PID[$n]:-} ]] && kill "${NODE_PID[$n]}" 2>/dev/null
	done
	return 0
}

# conf N: node N's network configuration, as a conflist's plugin: the
# node's pod range both as bpfnat's pool and as host-local's subnet.
conf() {
	local full=false
	[[ $BPFNAT_MODE == xdp-full ]] && full=true
	jq -cn --arg n "$1" --arg mode "$DP_MODE" --argjson full "$full" '
		{cniVersion: "1.0.0", name: "k8s-pod-network",
		type: "bpfnat", uplink: "eth0", mode: $mode,
		pool: "10.244.\($n).0/24", exclude: ["10.244.0.0/16"],
		ipam: {type: "host-local", dataDir: "/run/cni-leases",
		       ranges: [[{subnet: "10.244.\($n).0/24",
				  gateway: "10.244.\($n).1"}]],
		       routes: [{dst: "0.0.0.0/0"}]}} |
		if $full then .xdpUplink = "on" else . end'
}

# pod_add N: pod pN on node N, made as kubelet's runtime would: its
# namespace, then the plugin's ADD; its address in POD_ADDR[N].
pod_add() {
	local n=$1 out rc=0
	node "$n" ip netns add "p$n"
	out=$(conf "$n" | node "$n" env CNI_COMMAND=ADD \
		CNI_CONTAINERID="pod$n-0123456789" CNI_IFNAME=eth0 \
		CNI_NETNS="/run/netns/p$n" CNI_PATH="$CNI_BIN_DIR" \
		CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=p$n" \
		"$CNI_PLUGIN" 2>"/tmp/cni$n.err") || rc=$?
	[[ $rc == 0 ]] || fail "ADD on node $n exited $rc: $out $(cat "/tmp/cni$n.err")"
	POD_ADDR[$n]=$(jq -r '.ips[0].address | sub("/.*"; "")' <<<"$out")
	assert_match "${POD_ADDR[$n]}" "^10\.244\.$n\.[0-9]+$" "pod $n's address"
}

# wait_pod_tcp N PORT: something listens on PORT in pod pN.
wait_pod_tcp() {
	retry 50 sh -c 'nsenter -t "$1" -n -m -- ip netns exec "p$2" \
		ss -Hltn "sport = :$3" | grep -q .' sh "${NODE_PID[$1]}" "$1" "$2" ||
		fail "nothing listens on port $2 of p$1"
}

# The whole cluster, a pod on every node.
cluster_up() {
	local n
	cluster_add
	for n in "${NODES[@]}"; do
		pod_add "$n"
	done
}

# node_counter N NAME: packets node N's bpfnat counted under NAME.
node_counter() {
	node "$1" "$BPFNAT" stats -j | jq -r ".$2.packets"
}

# Nothing crossed node N through the kernel's forwarding: its FORWARD
# chain saw no packet, and forwarding is still off.
not_forwarded_by_the_kernel() {
	local n=$1
	assert_eq "$(node "$n" sysctl -n net.ipv4.ip_forward)" 0 \
		"node $n: forwarding off"
	assert_match "$(node "$n" iptables -L FORWARD -v -x -n | head -n1)" \
		"policy DROP 0 packets" "node $n: nothing reached FORWARD"
}

# A bpfnat of its own on every node: its own pins, lock and records.
test_every_node_its_own_bpfnat() {
	cluster_up
	local n
	for n in "${NODES[@]}"; do
		assert_eq "$(node "$n" "$BPFNAT" status -j |
			jq -r '[.state, .mode, .pool, .uplink, .containers] |
			join(" ")')" "up $DP_MODE 10.244.$n.0/24 eth0 1" \
			"node $n's data path"
		assert_eq "$(node "$n" "$BPFNAT" ns list -j | jq -r '.[0].address')" \
			"${POD_ADDR[$n]}/24" "node $n's pod"
		assert_eq "$(node "$n" ls /run/bpfnat/cni)" "pod$n-0123456-eth0" \
			"node $n's record"
		assert_eq "$(node "$n" ls /run/cni-leases/k8s-pod-network |
			grep -c '^10\.')" 1 "node $n's lease"
	done
	[[ ! -e /sys/fs/bpf/bpfnat ]] || fail "pins in the switch's bpffs"
	[[ ! -e /run/bpfnat/cni ]] || fail "records in the switch's /run"
}

# Pod to pod across nodes: both ways, by their own addresses, carried by
# bpfnat's redirects on both nodes (routed), not by the kernel.
test_pod_to_pod_across_nodes() {
	cluster_up
	step "ping"
	assert_ok "p1 pings p2" pod 1 ping -c2 -i0.2 -W2 "${POD_ADDR[2]}"
	assert_ok "p1 pings p3" pod 1 ping -c2 -i0.2 -W2 "${POD_ADDR[3]}"
	assert_ok "p3 pings p2" pod 3 ping -c2 -i0.2 -W2 "${POD_ADDR[2]}"
	step "TCP: the server sees the pod's own address"
	node 2 ip netns exec p2 socat TCP4-LISTEN:7000,fork,reuseaddr \
		SYSTEM:'echo $SOCAT_PEERADDR' &
	wait_pod_tcp 2 7000
	assert_eq "$(pod 1 socat -T5 - "TCP4:${POD_ADDR[2]}:7000" </dev/null)" \
		"${POD_ADDR[1]}" "p2 sees p1"
	assert_eq "$(pod 3 socat -T5 - "TCP4:${POD_ADDR[2]}:7000" </dev/null)" \
		"${POD_ADDR[3]}" "p2 sees p3"
	step "UDP to a closed port: the refusal comes back"
	assert_match "$(echo x | pod 1 socat -T2 - \
		"UDP4:${POD_ADDR[3]}:7999" 2>&1 || true)" "Connection refused" \
		"p3's port unreachable reaches p1"

	local n
	for n in "${NODES[@]}"; do
		assert_eq "$(node "$n" "$BPFNAT" ct count)" 0 "node $n: no NAT flow"
		[[ $(node_counter "$n" routed) -gt 0 ]] ||
			fail "node $n: nothing routed"
		assert_eq "$(node_counter "$n" drop_unnated_leak)" 0 \
			"node $n: the guard had nothing to catch"
		not_forwarded_by_the_kernel "$n"
	done
}

# A bulk transfer across nodes, short.
test_iperf3_across_nodes() {
	cluster_up
	node 3 ip netns exec p3 iperf3 -s -1 -p 5201 >/tmp/iperf3.server 2>&1 &
	wait_pod_tcp 3 5201
	timeout 20 nsenter -t "${NODE_PID[1]}" -n -m -- ip netns exec p1 \
		iperf3 -c "${POD_ADDR[3]}" -p 5201 -t 2 --connect-timeout 3000 \
		-J >/tmp/iperf3.json ||
		fail "iperf3: $(cat /tmp/iperf3.json)"
	local bps
	bps=$(jq '.end.sum_received.bits_per_second // 0' /tmp/iperf3.json)
	jq -e "$bps > 0" <<<null >/dev/null ||
		fail "nothing received: $(jq -r '.error // ""' /tmp/iperf3.json)"
	echo "p1 -> p3: $(jq -n "$bps / 1e9 | . * 100 | round / 100") Gbit/s"
	# the segment carried it, node by node, without the kernel forwarding
	[[ $(node_counter 1 routed) -gt 1000 ]] ||
		fail "node 1 routed $(node_counter 1 routed) packets"
	[[ $(node_counter 3 routed) -gt 1000 ]] ||
		fail "node 3 routed $(node_counter 3 routed) packets"
	not_forwarded_by_the_kernel 1
	not_forwarded_by_the_kernel 3
	# with XDP on the uplinks, XDP carried most of it, both ends
	if [[ $BPFNAT_MODE == xdp-full ]]; then
		for n in 1 3; do
			node "$n" "$BPFNAT" stats -j | jq -e '.routed |
				.xdp_packets * 2 >= .packets' >/dev/null ||
				fail "node $n: XDP did not carry it: $(node "$n" \
					"$BPFNAT" stats -j | jq -c .routed)"
		done
	fi
}

# Pod to the outside: NATed by its own node, to the node's address.
test_pods_reach_the_outside_natted() {
	cluster_up
	echo_peer out 7100
	local n
	for n in "${NODES[@]}"; do
		assert_eq "$(pod "$n" socat -T5 - TCP4:198.51.100.100:7100 \
			</dev/null | cut -d' ' -f1)" "198.51.100.1$n" \
			"the outside sees node $n's address"
		assert_ok "p$n pings the outside" \
			pod "$n" ping -c1 -W2 198.51.100.100
		[[ $(node_counter "$n" snat) -gt 0 ]] ||
			fail "node $n: nothing NATed"
		[[ $(node "$n" "$BPFNAT" ct count) -ge 1 ]] ||
			fail "node $n: no flow"
		not_forwarded_by_the_kernel "$n"
	done
	# the outside has no route to pod ranges: it never saw one
	assert_eq "$(ip -n out route show | grep -c 10.244 || true)" 0 \
		"the outside knows no pod range"
}

# A pod removed by DEL on one node: its lease goes, the other nodes' pods
# find nothing at its address any more, and a new pod there is reached.
test_del_on_one_node() {
	cluster_up
	assert_ok "p1 pings p2" pod 1 ping -c1 -W2 "${POD_ADDR[2]}"
	conf 2 | node 2 env CNI_COMMAND=DEL CNI_CONTAINERID=pod2-0123456789 \
		CNI_IFNAME=eth0 CNI_NETNS=/run/netns/p2 CNI_PATH="$CNI_BIN_DIR" \
		"$CNI_PLUGIN" || fail "DEL on node 2"
	assert_eq "$(node 2 "$BPFNAT" ns list -j)" "[]" "node 2 has no pod"
	pod 1 ping -c1 -W1 "${POD_ADDR[2]}" >/dev/null 2>&1 &&
		fail "p1 still reaches a pod that is gone"
	assert_eq "$(node 1 "$BPFNAT" ns list -j | jq length)" 1 \
		"node 1 keeps its pod"
	assert_eq "$(node 2 ls /run/cni-leases/k8s-pod-network |
		grep -c '^10\.' || true)" 0 "node 2's lease went"
	node 2 ip netns del p2
	pod_add 2
	assert_ok "p1 pings the new p2" pod 1 ping -c1 -W2 "${POD_ADDR[2]}"
	assert_ok "the new p2 pings p3" pod 2 ping -c1 -W2 "${POD_ADDR[3]}"
	not_forwarded_by_the_kernel 2
}
