# SPDX-License-Identifier: GPL-2.0-only
#
# A real runtime over the CNI plugin: Debian's podman 4.3 with its CNI
# backend runs busybox containers (a rootfs directory, no image) on a
# network whose conflist names bpfnat.  Everything podman keeps is on the
# sandbox's tmpfs: its storage and CNI cache (/var/lib), its configuration
# (/etc/containers, /etc/cni/net.d), its run state (/run).  The kernel
# here does not forward (ip_forward 0, FORWARD policy DROP): whatever
# crosses between a container and the outside, bpfnat carried.
#
# A missing podman skips these tests under tests/run.sh alone and fails
# them under `make test` (which installs it first: tools/deps.sh), where
# BPFNAT_TEST_STRICT=1.
# modes: tc xdp

NET=bpfnat
ROOTFS=/tmp/rootfs
LEASES=/var/lib/cni/networks/$NET

if ! command -v podman >/dev/null; then
	[[ ${BPFNAT_TEST_STRICT:-} == 1 ]] &&
		fail "podman is not installed (tools/deps.sh installs it)"
	skip "podman is not installed (tools/deps.sh)"
fi

# podman_world [CNIVERSION [JQ-FILTER]]: the outside, podman configured
# for CNI, the network $NET (bpfnat with host-local over the pool,
# publishing ports; JQ-FILTER changes the conflist), a busybox rootfs, and
# a host that does not forward.
podman_world() {
	outside_add
	# podman wants a cgroup2 hierarchy to look at, even with
	# --cgroups=disabled; the sandbox's own sysfs came without it
	[[ $(stat -f -c %T /sys/fs/cgroup) == cgroup2fs ]] ||
		mount -t cgroup2 cgroup2 /sys/fs/cgroup
	mount -t tmpfs -o mode=0755 tmpfs /var/lib
	cp /etc/containers/policy.json /tmp/policy.json
	mount -t tmpfs -o mode=0755 tmpfs /etc/containers
	mv /tmp/policy.json /etc/containers/
	mount -t tmpfs -o mode=0755 tmpfs /etc/cni/net.d
	# the plugin by its type's name, next to Debian's (host-local)
	mkdir /tmp/cni-bin
	ln -s "$BPFNAT_BUILD/cni/bpfnat" /tmp/cni-bin/bpfnat
	cat >/etc/containers/containers.conf <<-EOF
	[containers]
	default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
	[network]
	network_backend = "cni"
	cni_plugin_dirs = ["/tmp/cni-bin", "/usr/lib/cni"]
	[engine]
	cgroup_manager = "cgroupfs"
	events_logger = "file"
	EOF
	cat >/etc/containers/storage.conf <<-EOF
	[storage]
	driver = "vfs"
	runroot = "/run/containers/storage"
	graphroot = "/var/lib/containers/storage"
	EOF
	net_conf "${1:-0.4.0}" "${2:-.}"
	rootfs_make
	sysctl -qw net.ipv4.ip_forward=0
	iptables -P FORWARD DROP
}

# net_conf CNIVERSION [JQ-FILTER]: /etc/cni/net.d/$NET.conflist, as the
# README gives it (the uplink is up0 here).
net_conf() {
	jq -n --arg v "$1" --arg net "$NET" --arg mode "$DP_MODE" '{
		cniVersion: $v, name: $net,
		plugins: [{type: "bpfnat", uplink: "up0", mode: $mode,
			capabilities: {portMappings: true},
			ipam: {type: "host-local",
				ranges: [[{subnet: "172.18.0.0/16",
					   gateway: "172.18.0.1"}]],
				routes: [{dst: "0.0.0.0/0"}]}}]} | '"${2:-.}" \
		>"/etc/cni/net.d/$NET.conflist"
}

# A busybox rootfs; its httpd serves /cgi-bin/peer, the address the
# client came from as the server sees it.
rootfs_make() {
	local applet
	mkdir -p "$ROOTFS"/{bin,etc,proc,sys,dev,tmp,www/cgi-bin}
	cp /bin/busybox "$ROOTFS/bin/"
	for applet in $(/bin/busybox --list); do
		[[ -e $ROOTFS/bin/$applet ]] || ln -s busybox "$ROOTFS/bin/$applet"
	done
	cat >"$ROOTFS/www/cgi-bin/peer" <<-'EOF'
	#!/bin/sh
	printf 'Content-Type: text/plain\r\n\r\n%s\n' "$REMOTE_ADDR"
	EOF
	chmod +x "$ROOTFS/www/cgi-bin/peer"
}

# prun [OPTION...] -- CMD...: podman run of CMD in the rootfs on $NET.
prun() {
	local opts=()
	while [[ $1 != -- ]]; do
		opts+=("$1")
		shift
	done
	shift
	podman run --cgroups=disabled --network "$NET" "${opts[@]}" \
		--rootfs "$ROOTFS" "$@"
}

# What a container says about itself and the outside: its address, then
# what the echo server on 198.51.100.2:7000 saw it come from.
SAY_ADDR_AND_PEER='ip -4 -o addr show dev eth0 | awk "{ print \$4 }";
	nc 198.51.100.2 7000 </dev/null'

# Nothing of any container is left: not in podman, no veth, endpoint,
# published port, bpfnat record, host-local lease, or CNI cached result.
nothing_left_of_containers() {
	assert_eq "$(podman ps -aq)" "" "podman has no container"
	assert_eq "$(ip -o link show | grep -c ' bn' || true)" 0 "no veth left"
	assert_eq "$(bpfnat ns list -j)" "[]" "bpfnat lists no container"
	assert_eq "$(bpftool map dump pinned /sys/fs/bpf/bpfnat/endpoints -j |
		jq length)" 0 "no endpoint left"
	assert_eq "$(bpfnat port list -j)" "[]" "no published port left"
	assert_eq "$(ls /run/bpfnat/cni | wc -l)" 0 "no bpfnat CNI record left"
	assert_eq "$(ls "$LEASES" | grep -c '^172\.' || true)" 0 \
		"no host-local lease left"
	assert_eq "$(ls /var/lib/cni/results | wc -l)" 0 \
		"no cached CNI result left"
}

# The kernel's FORWARD chain (policy DROP) saw no packet: none took the
# kernel's path, not even to be dropped there.
forward_chain_saw_nothing() {
	assert_match "$(iptables -n -v -x -L FORWARD | head -n 1)" \
		'policy DROP 0 packets' "the FORWARD chain saw nothing"
}

# outside_reached_through_snat: a container with --rm reaches the
# outside, which sees the SNAT address; bpfnat counted it; exit ran DEL.
outside_reached_through_snat() {
	echo_peer out 7000
	local out
	out=$(prun --rm -- /bin/sh -c "$SAY_ADDR_AND_PEER")
	echo "$out"
	assert_match "$(sed -n 1p <<<"$out")" '^172\.18\.0\.[0-9]+/16$' \
		"the container's address, from host-local"
	assert_eq "$(sed -n 2p <<<"$out" | cut -d' ' -f1)" 198.51.100.1 \
		"the outside sees the SNAT address"
	[[ $(counter snat) -gt 0 ]] || fail "bpfnat counted nothing as snat"
	assert_eq "$(bpfnat status -j | jq -r .mode)" "$DP_MODE" \
		"the data path runs in the conflist's mode"
	forward_chain_saw_nothing
	nothing_left_of_containers
}

test_outside_through_snat() {
	podman_world 0.4.0
	outside_reached_through_snat
}

test_outside_through_snat_cni_1_0_0() {
	podman_world 1.0.0
	outside_reached_through_snat
}

# -p 8080:80: the outside reaches the container's httpd on the SNAT
# address, and the server sees the outside client's own address; podman
# rm takes the port away with the rest.
test_published_port() {
	podman_world
	local id
	id=$(prun -d -p 8080:80 -- /bin/httpd -f -p 0.0.0.0:80 -h /www)
	assert_eq "$(bpfnat port list -j | jq -c '.[] |
		[.host_port, .container_port, .proto]')" '[8080,80,"tcp"]' \
		"the port is published"
	retry 50 in_ns out curl -sf --max-time 1 -o /dev/null \
		http://198.51.100.1:8080/cgi-bin/peer ||
		fail "the published port does not answer"
	assert_eq "$(in_ns out curl -sf --max-time 2 \
		http://198.51.100.1:8080/cgi-bin/peer)" 198.51.100.2 \
		"the server sees the outside client"
	[[ $(counter dnat) -gt 0 ]] || fail "bpfnat counted nothing as dnat"
	podman rm -f -t 0 "$id" >/dev/null
	nothing_left_of_containers
	! in_ns out curl -s --max-time 2 -o /dev/null \
		http://198.51.100.1:8080/cgi-bin/peer ||
		fail "the port still answers after podman rm"
}

# podman stop then rm, as a user would: stop leaves the container and
# tears its network down (DEL), rm leaves nothing.
test_stop_then_rm() {
	podman_world
	local id
	id=$(prun -d -p 8080:80 -- /bin/httpd -f -p 0.0.0.0:80 -h /www)
	assert_eq "$(bpfnat ns list -j | jq length)" 1 "one attachment"
	podman stop -t 1 "$id" >/dev/null
	assert_eq "$(bpfnat ns list -j)" "[]" "stop ran DEL"
	assert_eq "$(bpfnat port list -j)" "[]" "stop took the port away"
	podman rm "$id" >/dev/null
	nothing_left_of_containers
}

# -d --rm: when the container exits, conmon's cleanup (another podman
# process) runs DEL and removes it.
test_detached_rm_on_exit() {
	podman_world
	prun -d --rm -p 8080:80 -- /bin/sleep 1 >/dev/null
	assert_eq "$(bpfnat port list -j | jq length)" 1 "the port is published"
	retry 100 sh -c '[ -z "$(podman ps -aq)" ]' ||
		fail "the container is still there: $(podman ps -a)"
	nothing_left_of_containers
}

# 20 containers at once, short-lived: each gets an address of its own and
# reaches the outside.
test_twenty_in_parallel() {
	podman_world
	echo_peer out 7000
	local i pids=()
	mkdir /tmp/par
	for ((i = 1; i <= 20; i++)); do
		prun --rm -- /bin/sh -c "$SAY_ADDR_AND_PEER" \
			>"/tmp/par/$i.out" 2>"/tmp/par/$i.err" &
		pids+=($!)
	done
	for i in "${!pids[@]}"; do
		wait "${pids[$i]}" ||
			fail "container $((i + 1)) failed: $(cat "/tmp/par/$((i + 1)).err")"
	done
	head /tmp/par/*.out
	assert_eq "$(cat /tmp/par/*.out | grep -c '^172\.18\.' )" 20 \
		"every container has an address"
	assert_eq "$(cat /tmp/par/*.out | grep '^172\.18\.' | sort -u | wc -l)" \
		20 "the addresses are distinct"
	assert_eq "$(cat /tmp/par/*.out | grep -c '^198\.51\.100\.1 ')" 20 \
		"every container reached the outside through the SNAT address"
	nothing_left_of_containers
}

# Without an ipam section, the addresses come from bpfnat's own pool.
test_bpfnat_pool_without_ipam() {
	podman_world 1.0.0 'del(.plugins[0].ipam)'
	echo_peer out 7000
	local out
	out=$(prun --rm -- /bin/sh -c "$SAY_ADDR_AND_PEER")
	echo "$out"
	assert_eq "$(sed -n 1p <<<"$out")" 172.18.0.2/16 \
		"the pool's lowest free address"
	assert_eq "$(sed -n 2p <<<"$out" | cut -d' ' -f1)" 198.51.100.1 \
		"the outside sees the SNAT address"
	nothing_left_of_containers
}
