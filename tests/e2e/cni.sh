# SPDX-License-Identifier: GPL-2.0-only
#
# The CNI plugin (build/cni/bpfnat), driven as a runtime drives it: the
# environment and the network configuration on stdin, as cnitool would.
# Its containers are namespaces the "runtime" (this test) makes; host-local
# is Debian's, in /usr/lib/cni, its leases on the sandbox's /run.
# modes: tc

CNI_PLUGIN=$BPFNAT_BUILD/cni/bpfnat
CNI_BIN_DIR=/usr/lib/cni
LEASES=/run/cni-leases/bpfnet

[[ -x $CNI_BIN_DIR/host-local ]] ||
	skip "no host-local in $CNI_BIN_DIR (containernetworking-plugins)"

# conf VERSION [JQ-FILTER]: the network configuration, bpfnat's own pool,
# changed by JQ-FILTER.
conf() {
	jq -cn --arg v "$1" '{cniVersion: $v, name: "bpfnet", type: "bpfnat",
		uplink: "up0", mode: "tc"} | '"${2:-.}"
}

# The same with host-local over part of the pool.
IPAM='.ipam = {type: "host-local", dataDir: "/run/cni-leases",
	ranges: [[{subnet: "172.18.0.0/16", rangeStart: "172.18.1.2",
		   rangeEnd: "172.18.1.250"}]],
	routes: [{dst: "0.0.0.0/0"}]}'

# cni COMMAND ID IFNAME NETNS <CONF: the plugin's answer on stdout, its
# status returned (NETNS "": none).
cni() {
	local netns=()
	[[ -n $4 ]] && netns=(CNI_NETNS="$4")
	env CNI_COMMAND="$1" CNI_CONTAINERID="$2" CNI_IFNAME="$3" "${netns[@]}" \
		CNI_PATH="/nonexistent:$CNI_BIN_DIR" \
		CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=$2" \
		"$CNI_PLUGIN"
}

# cni_ok ... : it succeeded; its answer in $OUT.
cni_ok() {
	local rc=0
	OUT=$(cni "$@" 2>/tmp/cni.err) || rc=$?
	[[ $rc == 0 ]] || fail "CNI $1 $2/$3 exited $rc: $OUT $(cat /tmp/cni.err)"
}

# cni_err CODE WHAT ... : it failed with error CODE, as the spec's error
# object on stdout; its msg and details in $MSG.
cni_err() {
	local code=$1 what=$2 rc=0
	shift 2
	OUT=$(cni "$@" 2>/tmp/cni.err) || rc=$?
	[[ $rc != 0 ]] || fail "$what: CNI $1 succeeded: $OUT"
	jq -e 'has("cniVersion") and (.msg | type == "string") and
		(.details | type == "string")' <<<"$OUT" >/dev/null ||
		fail "$what: not an error object: $OUT"
	assert_eq "$(jq .code <<<"$OUT")" "$code" "$what: error code ($OUT)"
	MSG=$(jq -r '.msg + ": " + .details' <<<"$OUT")
}

# ctr_add NAME: a namespace as a runtime makes it, its path in $NS.
ctr_add() {
	ip netns add "$1"
	NS=/run/netns/$1
}

# Nothing of any attachment is left: no veth, endpoint, published port,
# record, or lease.
nothing_attached() {
	assert_eq "$(ip -o link show | grep -c ' bn' || true)" 0 "no veth left"
	assert_eq "$(bpfnat ns list -j)" "[]" "no container listed"
	if [[ -e /sys/fs/bpf/bpfnat/endpoints ]]; then
		assert_eq "$(bpftool map dump pinned /sys/fs/bpf/bpfnat/endpoints -j |
			jq length)" 0 "no endpoint left"
		assert_eq "$(bpftool map dump pinned /sys/fs/bpf/bpfnat/endpoints6 -j |
			jq length)" 0 "no IPv6 endpoint left"
		assert_eq "$(bpfnat ct count)" 0 "no flow left"
		assert_eq "$(bpfnat port list -j)" "[]" "no published port left"
	fi
	assert_eq "$(ls /run/bpfnat/cni 2>/dev/null | wc -l)" 0 "no record left"
	assert_eq "$(ls /run/cni-leases/* 2>/dev/null | grep -c '^172\.' || true)" \
		0 "no lease left"
}

test_version() {
	OUT=$(CNI_COMMAND=VERSION "$CNI_PLUGIN" <<<'{"cniVersion": "0.4.0"}')
	assert_eq "$(jq -c . <<<"$OUT")" \
		'{"cniVersion":"0.4.0","supportedVersions":["0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]}' \
		"VERSION"
	OUT=$(CNI_COMMAND=VERSION "$CNI_PLUGIN" </dev/null)
	assert_eq "$(jq -r .cniVersion <<<"$OUT")" "1.1.0" "VERSION of nothing"
}

# ADD makes a container that reaches the outside through bpfnat's SNAT;
# CHECK finds it as ADD left it; DEL removes all of it, twice.
test_add_check_del() {
	outside_add
	ctr_add c1
	conf 1.0.0 >/tmp/conf
	cni_ok ADD 0123456789abcdef01 eth0 "$NS" </tmp/conf
	local res=$OUT
	assert_eq "$(jq -r .cniVersion <<<"$res")" "1.0.0" "result's version"
	assert_eq "$(jq -c '[.interfaces[1].name, .interfaces[1].sandbox]' <<<"$res")" \
		"[\"eth0\",\"$NS\"]" "the container's interface"
	assert_eq "$(jq -r '.interfaces[1].mac' <<<"$res")" \
		"$(in_ns c1 cat /sys/class/net/eth0/address)" "its MAC"
	assert_eq "$(jq -c '.ips' <<<"$res")" \
		'[{"address":"172.18.0.2/16","gateway":"172.18.0.1","interface":1}]' \
		"ips of 1.0.0"
	assert_eq "$(jq -c '.routes' <<<"$res")" \
		'[{"dst":"0.0.0.0/0","gw":"172.18.0.1"}]' "routes"
	assert_eq "$(bpfnat status -j | jq -r .state)" up "ADD brought bpfnat up"
	assert_eq "$(bpfnat ns list -j | jq -r '.[0].name + " " + .[0].address')" \
		"0123456789ab-eth0 172.18.0.2/16" "ns list names the attachment"
	assert_eq "$(bpfnat ns list -j | jq -c '.[0] | [.ifname, .netns, .cni]')" \
		"[\"eth0\",\"$NS\",true]" "ns list -j: where it lives"
	assert_exit 1 "ns del of an attachment" bpfnat ns del 0123456789ab-eth0
	assert_match "$LAST_ERR" "CNI DEL" "says who removes it"
	assert_exit 1 "ns add of its name" bpfnat ns add 0123456789ab-eth0
	state_agrees

	jq --argjson prev "$res" '.prevResult = $prev' /tmp/conf >/tmp/check
	cni_ok CHECK 0123456789abcdef01 eth0 "$NS" </tmp/check
	assert_eq "$OUT" "" "CHECK prints nothing"

	assert_ok "ping the outside" in_ns c1 ping -c1 -W2 198.51.100.2
	echo_peer out 7000
	assert_eq "$(in_ns c1 socat -T5 - TCP4:198.51.100.2:7000 </dev/null | cut -d' ' -f1)" \
		"198.51.100.1" "the outside sees the SNAT address"
	[[ $(counter snat) -gt 0 ]] || fail "nothing counted as snat"

	cni_ok DEL 0123456789abcdef01 eth0 "$NS" </tmp/conf
	nothing_attached
	cni_ok DEL 0123456789abcdef01 eth0 "$NS" </tmp/conf
	assert_match "$(ip netns list)" "c1" "the runtime's namespace stays"
}

test_result_formats() {
	outside_add
	ctr_add c1
	local v
	for v in 0.3.0 0.3.1 0.4.0 1.0.0 1.1.0; do
		conf "$v" >/tmp/conf
		cni_ok ADD "ctr$v" eth0 "$NS" </tmp/conf
		assert_eq "$(jq -r .cniVersion <<<"$OUT")" "$v" "$v: cniVersion"
		if [[ $v == 0.* ]]; then
			assert_eq "$(jq -r '.ips[0].version' <<<"$OUT")" 4 \
				"$v: ips say their version"
		else
			assert_eq "$(jq '.ips[0] | has("version")' <<<"$OUT")" \
				false "$v: ips without version"
		fi
		assert_eq "$(jq -c '[.ips[0].interface, (.interfaces | length),
			(.dns | type)]' <<<"$OUT")" '[1,2,"object"]' \
			"$v: interface index, interfaces, dns"
		cni_ok DEL "ctr$v" eth0 "$NS" </tmp/conf
	done
	nothing_attached
}

test_host_local_ipam() {
	outside_add
	ctr_add c1
	conf 0.4.0 "$IPAM" >/tmp/conf
	cni_ok ADD podman1 eth0 "$NS" </tmp/conf
	assert_eq "$(jq -r '.ips[0].address' <<<"$OUT")" "172.18.1.2/16" \
		"host-local's first address"
	assert_eq "$(head -n1 "$LEASES/172.18.1.2" | tr -d '\r')" "podman1" \
		"the lease names the container"
	assert_match "$(in_ns c1 ip -4 -o addr show dev eth0)" "172.18.1.2/16" \
		"the address inside"
	assert_ok "ping the outside" in_ns c1 ping -c1 -W2 198.51.100.2
	cni_ok DEL podman1 eth0 "$NS" </tmp/conf
	[[ ! -e $LEASES/172.18.1.2 ]] || fail "the lease stays after DEL"
	nothing_attached
}

# A namespace of a process's (/proc/PID/ns/net), removed before DEL: DEL
# still removes the endpoint, the published port, the flows and the
# lease.
test_del_without_netns() {
	outside_add
	unshare -n sleep 600 &
	local pid=$!
	# (once unshare has made the namespace and exec'd sleep)
	retry 50 sh -c '[ "$(readlink "/proc/$1/ns/net")" != \
		"$(readlink /proc/self/ns/net)" ]' sh "$pid" ||
		fail "no namespace of its own for sleep"
	conf 1.0.0 "$IPAM | .runtimeConfig.portMappings = [{hostPort: 8080,
		containerPort: 80, protocol: \"tcp\"}]" >/tmp/conf
	cni_ok ADD gone1 eth0 "/proc/$pid/ns/net" </tmp/conf
	assert_eq "$(bpfnat port list -j | jq -r '.[0].container')" "gone1-eth0" \
		"the port is published"
	assert_ok "a flow" nsenter -t "$pid" -n ping -c1 -W2 198.51.100.2
	assert_eq "$(bpfnat ct count)" 1 "the flow is there"
	kill "$pid"
	wait "$pid" || true
	retry 50 sh -c '! ip -o link show | grep -q " bn"' ||
		fail "the veth outlived its namespace"
	# its name and address stay its own until its DEL
	assert_exit 1 "ns add of its name" bpfnat ns add gone1-eth0
	assert_exit 1 "ns add of its address" bpfnat ns add other --ip 172.18.1.2
	assert_match "$LAST_ERR" "in use" "says why"
	cni_ok DEL gone1 eth0 "" </tmp/conf
	nothing_attached
	cni_ok DEL gone1 eth0 "" </tmp/conf
}

test_add_of_an_existing_interface_refused() {
	outside_add
	ctr_add c1
	ip -n c1 link add eth0 type veth peer name other0
	conf 1.0.0 "$IPAM" >/tmp/conf
	cni_err 101 "eth0 exists" ADD x1 eth0 "$NS" </tmp/conf
	assert_match "$MSG" "eth0 exists" "says what"
	nothing_attached
	assert_eq "$(ip -n c1 -o link show | grep -c 'eth0@other0')" 1 \
		"the interface is left as it was"
}

test_check_after_a_manual_change_fails() {
	outside_add
	ctr_add c1
	conf 1.0.0 >/tmp/conf
	cni_ok ADD x1 eth0 "$NS" </tmp/conf
	jq --argjson prev "$OUT" '.prevResult = $prev' /tmp/conf >/tmp/check
	cni_ok CHECK x1 eth0 "$NS" </tmp/check
	ip -n c1 route del default
	cni_err 107 "route removed" CHECK x1 eth0 "$NS" </tmp/check
	assert_match "$MSG" "route to 0.0.0.0/0" "names the route"
	ip -n c1 addr del 172.18.0.2/16 dev eth0
	cni_err 107 "address removed" CHECK x1 eth0 "$NS" </tmp/check
	assert_match "$MSG" "address 172.18.0.2/16 is gone" "names the address"
	cni_err 3 "unknown container" CHECK x2 eth0 "$NS" </tmp/check
	cni_ok DEL x1 eth0 "$NS" </tmp/conf
	nothing_attached
}

test_gc_removes_what_is_not_valid() {
	outside_add
	local id
	conf 1.1.0 "$IPAM" >/tmp/conf
	for id in keep1 drop1 drop2; do
		ctr_add "$id"
		cni_ok ADD "$id" eth0 "$NS" </tmp/conf
	done
	# another network's attachment is not this GC's
	ctr_add other
	conf 1.1.0 '.name = "othernet"' >/tmp/other
	cni_ok ADD other1 eth0 /run/netns/other </tmp/other
	assert_eq "$(ls "$LEASES" | grep -c '^172')" 3 "three leases"
	jq '."cni.dev/valid-attachments" = [{containerID: "keep1", ifname: "eth0"}]' \
		/tmp/conf >/tmp/gc
	cni_ok GC "" "" "" </tmp/gc
	assert_eq "$(bpfnat ns list -j | jq -r 'map(.name) | sort | join(" ")')" \
		"keep1-eth0 other1-eth0" "what stays"
	assert_eq "$(ls "$LEASES" | grep '^172')" "172.18.1.2" "keep1's lease alone"
	assert_eq "$(ls /run/bpfnat/cni | sort | tr '\n' ' ')" \
		"keep1-eth0 other1-eth0 " "records"
	state_agrees
	conf 1.0.0 "$IPAM" | jq '."cni.dev/valid-attachments" = []' >/tmp/gc
	cni_err 1 "GC of 1.0.0" GC "" "" "" </tmp/gc
	conf 1.1.0 "$IPAM" >/tmp/gc
	cni_err 7 "GC without the valid attachments" GC "" "" "" </tmp/gc
}

test_status() {
	outside_add
	cni_ok STATUS "" "" "" < <(conf 1.1.0)
	cni_ok STATUS "" "" "" < <(conf 1.1.0 "$IPAM")
	cni_err 50 "no uplink" STATUS "" "" "" < <(conf 1.1.0 '.uplink = "nope0"')
	cni_err 1 "STATUS of 1.0.0" STATUS "" "" "" < <(conf 1.0.0)
	# a pool of one address, taken
	conf 1.1.0 '.pool = "172.18.0.0/30"' >/tmp/conf
	ctr_add c1
	cni_ok ADD x1 eth0 "$NS" </tmp/conf
	cni_err 50 "pool full" STATUS "" "" "" </tmp/conf
}

# portMappings publish through bpfnat's published ports: the outside
# reaches the container's server at the SNAT address.
test_port_mappings_answer_from_outside() {
	outside_add
	ctr_add c1
	conf 0.4.0 "$IPAM | .capabilities = {portMappings: true} |
		.runtimeConfig.portMappings = [
			{hostPort: 8080, containerPort: 80, protocol: \"tcp\"},
			{hostPort: 5353, containerPort: 53, protocol: \"udp\",
			 hostIP: \"\"}]" >/tmp/conf
	cni_ok ADD web1 eth0 "$NS" </tmp/conf
	assert_eq "$(bpfnat port list -j | jq -c 'map([.container, .host_port,
		.container_port, .proto])')" \
		'[["web1-eth0",8080,80,"tcp"],["web1-eth0",5353,53,"udp"]]' \
		"the mappings as bpfnat's published ports"
	echo_peer c1 80
	assert_eq "$(in_ns out socat -T5 - TCP4:198.51.100.1:8080 </dev/null | cut -d' ' -f1)" \
		"198.51.100.2" "the server sees the outside client"
	cni_ok DEL web1 eth0 "$NS" </tmp/conf
	nothing_attached
}

# Twelve ADDs at once, then twelve DELs: each succeeds, with an address
# of its own, and nothing is left.
test_parallel_adds_and_dels() {
	outside_add
	local i pids=() failed=0
	for ((i = 1; i <= 12; i++)); do
		ctr_add "p$i"
		conf 1.0.0 "$IPAM | .runtimeConfig.portMappings = [{hostPort: $((9000 + i)),
			containerPort: 80}]" >"/tmp/conf$i"
	done
	for ((i = 1; i <= 12; i++)); do
		cni ADD "par$i" eth0 "/run/netns/p$i" <"/tmp/conf$i" \
			>"/tmp/add$i" 2>>/tmp/errors &
		pids+=($!)
	done
	for i in "${pids[@]}"; do
		wait "$i" || failed=$((failed + 1))
	done
	[[ $failed == 0 ]] || fail "$failed ADDs failed: $(cat /tmp/errors)"
	assert_eq "$(cat /tmp/add* | jq -r '.ips[0].address' | sort -u | wc -l)" 12 \
		"twelve distinct addresses"
	assert_eq "$(bpfnat ns list -j | jq length)" 12 "twelve containers"
	assert_eq "$(bpfnat port list -j | jq length)" 12 "twelve published ports"
	state_agrees
	assert_ok "the last one reaches the outside" \
		in_ns p12 ping -c1 -W2 198.51.100.2
	pids=()
	for ((i = 1; i <= 12; i++)); do
		cni DEL "par$i" eth0 "/run/netns/p$i" <"/tmp/conf$i" \
			>/dev/null 2>>/tmp/errors &
		pids+=($!)
	done
	for i in "${pids[@]}"; do
		wait "$i" || failed=$((failed + 1))
	done
	[[ $failed == 0 ]] || fail "$failed DELs failed: $(cat /tmp/errors)"
	nothing_attached
}

# Every error code the plugin gives, each leaving nothing behind.
test_error_codes() {
	outside_add
	ctr_add c1
	conf 1.0.0 >/tmp/conf

	cni_err 1 "old version" ADD x1 eth0 "$NS" < <(conf 0.2.0)
	cni_err 2 "sctp" ADD x1 eth0 "$NS" < <(conf 1.0.0 '.runtimeConfig.portMappings =
		[{hostPort: 80, containerPort: 80, protocol: "sctp"}]')
	assert_match "$MSG" "protocol 'sctp'" "names the field and value"
	cni_err 3 "no namespace" ADD x1 eth0 /run/netns/nosuch </tmp/conf
	cni_err 4 "bad CNI_IFNAME" ADD x1 "eth 0" "$NS" </tmp/conf
	assert_match "$MSG" "CNI_IFNAME" "names the variable"
	cni_err 4 "bad CNI_CONTAINERID" ADD "-x" eth0 "$NS" </tmp/conf
	assert_match "$MSG" "CNI_CONTAINERID" "names the variable"
	cni_err 4 "no CNI_NETNS" ADD x1 eth0 "" </tmp/conf
	cni_err 4 "no CNI_COMMAND" "" x1 eth0 "$NS" </tmp/conf
	cni_err 6 "not JSON" ADD x1 eth0 "$NS" <<<'{"cniVersion": '
	cni_err 7 "bad mode" ADD x1 eth0 "$NS" < <(conf 1.0.0 '.mode = "fast"')
	assert_match "$MSG" "mode 'fast'" "names the key"
	cni_err 7 "no name" ADD x1 eth0 "$NS" < <(conf 1.0.0 'del(.name)')
	# a whole conflist where one plugin's configuration belongs (its
	# DEL would otherwise pass for one without IPAM and keep the lease)
	cni_err 7 "a conflist" DEL x1 eth0 "$NS" < <(conf 1.0.0 \
		'{cniVersion, name, plugins: [del(.cniVersion, .name)]}')
	assert_match "$MSG" "type" "names the key"
	# (the first error after bpfnat is up: it stays up)
	cni_err 105 "no uplink" ADD x1 eth0 "$NS" < <(conf 1.0.0 '.uplink = "nope0"')
	assert_eq "$(bpfnat status -j | jq -r .state)" down "still down"
	cni_err 4 "IPAM not found" ADD x1 eth0 "$NS" < <(conf 1.0.0 '.ipam.type = "nosuch"')
	cni_err 7 "IPAM outside the pool" ADD x1 eth0 "$NS" < <(conf 1.0.0 \
		"$IPAM | .ipam.ranges = [[{subnet: \"10.244.1.0/24\"}]]")
	assert_match "$MSG" "not a container address of bpfnat's pool" "says why"
	nothing_attached

	# a fake IPAM plugin that fails without a word
	mkdir -p /tmp/cnibin
	printf '#!/bin/sh\ncat >/dev/null\nexit 3\n' >/tmp/cnibin/mute
	chmod +x /tmp/cnibin/mute
	CNI_BIN_DIR=/tmp/cnibin cni_err 106 "IPAM fails" ADD x1 eth0 "$NS" < <(conf 1.0.0 \
		'.ipam = {type: "mute"}')
	nothing_attached

	# the pool of one address, taken
	bpfnat down
	conf 1.0.0 '.pool = "172.18.0.0/30"' >/tmp/tiny
	cni_ok ADD x1 eth0 "$NS" </tmp/tiny
	ctr_add c2
	cni_err 7 "another pool than the running one" ADD x2 eth0 /run/netns/c2 \
		< <(conf 1.0.0 '.pool = "172.19.0.0/16"')
	cni_err 102 "pool full" ADD x2 eth0 /run/netns/c2 </tmp/tiny
	cni_ok DEL x1 eth0 /run/netns/c1 </tmp/tiny
	bpfnat down
	nothing_attached

	# an address that IPAM gives and a container has
	bpfnat ns add taken --ip 172.18.1.2
	cni_err 103 "address in use" ADD x1 eth0 /run/netns/c1 < <(conf 1.0.0 "$IPAM")
	assert_eq "$(ls "$LEASES" | grep -c '^172' || true)" 0 "the lease is released"
	bpfnat ns del taken

	# a host port that is published already
	conf 1.0.0 '.runtimeConfig.portMappings = [{hostPort: 8080, containerPort: 80}]' \
		>/tmp/ports
	cni_ok ADD x1 eth0 /run/netns/c1 </tmp/ports
	cni_err 104 "host port taken" ADD x2 eth0 /run/netns/c2 </tmp/ports
	assert_eq "$(bpfnat ns list -j | jq length)" 1 "the second made nothing"
	cni_ok DEL x1 eth0 /run/netns/c1 </tmp/ports

	# the record cannot be written
	mkdir -p /run/bpfnat
	rmdir /run/bpfnat/cni 2>/dev/null || true
	touch /run/bpfnat/cni
	cni_err 5 "record not written" ADD x1 eth0 /run/netns/c1 </tmp/conf
	rm /run/bpfnat/cni
	nothing_attached
}

# A runtime is told to try again (code 11) when bpfnat stays busy longer
# than BPFNAT_LOCK_WAIT; the CLI says the same in one line.  Nothing is
# left of the ADD that gave up.
test_busy_is_try_again() {
	outside_add
	ctr_add busy
	mkdir -p /run/bpfnat
	flock -o /run/bpfnat/lock sleep 20 &	# -o: flock alone holds it
	local holder=$! t0
	retry 20 sh -c '! flock -n /run/bpfnat/lock true'
	t0=$SECONDS
	BPFNAT_LOCK_WAIT=1 cni_err 11 "ADD while the lock is held" \
		ADD busy eth0 "$NS" < <(conf 1.0.0)
	assert_match "$MSG" "busy" "says why"
	[[ $((SECONDS - t0)) -lt 10 ]] || fail "waited $((SECONDS - t0)) s"
	BPFNAT_LOCK_WAIT=1 assert_exit 1 "ns add while the lock is held" \
		bpfnat ns add x
	assert_match "$LAST_ERR" "held /run/bpfnat/lock for 1 s" "the CLI's line"
	kill "$holder"
	wait "$holder" 2>/dev/null || true
	assert_eq "$(ip -n busy -o link show | grep -c eth0 || true)" 0 \
		"no interface in the container"
	nothing_attached
	# once the lock is free, the same ADD works
	cni_ok ADD busy eth0 "$NS" < <(conf 1.0.0)
}

# The example that make install puts beside the plugin works as it is,
# but for its uplink.
test_example_conflist() {
	outside_add
	ctr_add c1
	jq '.plugins[0] + {cniVersion, name} | .uplink = "up0" |
		.ipam.dataDir = "/run/cni-leases"' \
		"$BPFNAT_TOP/cni/bpfnat.conflist" >/tmp/conf
	cni_ok ADD ex1 eth0 "$NS" </tmp/conf
	assert_eq "$(jq -r '.cniVersion + " " + .ips[0].version + " " +
		.ips[0].address' <<<"$OUT")" "0.4.0 4 172.18.0.2/16" "the result"
	assert_ok "ping the outside" in_ns c1 ping -c1 -W2 198.51.100.2
	cni_ok DEL ex1 eth0 "$NS" </tmp/conf
	nothing_attached
}
