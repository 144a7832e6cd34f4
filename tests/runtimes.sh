# SPDX-License-Identifier: GPL-2.0-only
#
# What the suites of real runtimes (tests/e2e/podman.sh, containerd.sh)
# share, sourced by them after tests/lib.sh: a busybox rootfs (no image
# can be pulled), a CNI world whose state is all on the sandbox's tmpfs,
# a host that cannot forward, podman's configuration for the sandbox, the
# check that nothing is left.
#
# tools/bench/runtime-start.sh sources it too, for the same world in its
# own namespaces (cni_world, net_conf, podman_conf): so what the podman
# suite and the bench run podman in is written once, here.  Of this file
# the bench uses only what asserts nothing; the checks below are the
# suites'.
#
# The kernel here does not forward (ip_forward 0, FORWARD policy DROP):
# whatever crosses between a container and the outside, bpfnat carried.

NET=bpfnat
ROOTFS=/tmp/rootfs
LEASES=/var/lib/cni/networks/$NET

# cni_world: the outside; /var/lib (CNI's cache and host-local's leases,
# the runtime's storage), /etc/cni/net.d and /opt (the plugin in
# /opt/cni/bin) on tmpfs; a busybox rootfs; a host that does not forward.
cni_world() {
	outside_add
	# runtimes look at a cgroup2 hierarchy even when told to make no
	# cgroup; the sandbox's own sysfs came without it
	[[ $(stat -f -c %T /sys/fs/cgroup) == cgroup2fs ]] ||
		mount -t cgroup2 cgroup2 /sys/fs/cgroup
	mount -t tmpfs -o mode=0755 tmpfs /var/lib
	mount -t tmpfs -o mode=0755 tmpfs /etc/cni/net.d
	# the plugin where `make install` puts it, which both runtimes
	# search (with Debian's /usr/lib/cni, host-local's)
	mount -t tmpfs -o mode=0755 tmpfs /opt
	mkdir -p /opt/cni/bin
	ln -s "$BPFNAT_BUILD/cni/bpfnat" /opt/cni/bin/bpfnat
	rootfs_make
	sysctl -qw net.ipv4.ip_forward=0
	iptables -P FORWARD DROP
}

# podman_conf: podman configured for CNI (the README's containers.conf)
# and for the sandbox, its configuration on tmpfs over /etc/containers
# (the machine's policy.json, podman's trust policy, carried over).
podman_conf() {
	cp /etc/containers/policy.json /tmp/policy.json
	mount -t tmpfs -o mode=0755 tmpfs /etc/containers
	mv /tmp/policy.json /etc/containers/
	# [network]: the README's; default_ulimits: within the sandbox's
	# hard limits (podman's default raises them, which needs
	# CAP_SYS_RESOURCE); no systemd here: cgroupfs and a file of events
	cat >/etc/containers/containers.conf <<-EOF
	[containers]
	default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
	[network]
	network_backend = "cni"
	[engine]
	cgroup_manager = "cgroupfs"
	events_logger = "file"
	EOF
	# its storage on the tmpfs /run and /var/lib, as plain directories
	# (vfs)
	cat >/etc/containers/storage.conf <<-EOF
	[storage]
	driver = "vfs"
	runroot = "/run/containers/storage"
	graphroot = "/var/lib/containers/storage"
	EOF
}

# net_conf FILE CNIVERSION [JQ-FILTER]: the conflist of $NET in FILE, as
# the README gives it (the uplink is up0 here): bpfnat with host-local
# over the pool, publishing ports; JQ-FILTER changes it.
net_conf() {
	jq -n --arg v "$2" --arg net "$NET" --arg mode "$DP_MODE" '{
		cniVersion: $v, name: $net,
		plugins: [{type: "bpfnat", uplink: "up0", mode: $mode,
			capabilities: {portMappings: true},
			ipam: {type: "host-local",
				ranges: [[{subnet: "172.18.0.0/16",
					   gateway: "172.18.0.1"}]],
				routes: [{dst: "0.0.0.0/0"}]}}]} | '"${3:-.}" >"$1"
}

# A busybox rootfs in $ROOTFS; its httpd serves /cgi-bin/peer, the
# address the client came from as the server sees it.
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

# A container's command that prints its address, then what the echo
# server on 198.51.100.2:7000 (echo_peer out 7000) saw it come from.
# shellcheck disable=SC2034,SC2016  # used by the suites; expanded there
SAY_ADDR_AND_PEER='ip -4 -o addr show dev eth0 | awk "{ print \$4 }";
	nc 198.51.100.2 7000 </dev/null'

# said_addr_and_peer OUTPUT: what SAY_ADDR_AND_PEER printed is an address
# of the pool, and the outside saw the SNAT address.
said_addr_and_peer() {
	assert_match "$(sed -n 1p <<<"$1")" '^172\.18\.[0-9]+\.[0-9]+/16$' \
		"the container's address"
	assert_eq "$(sed -n 2p <<<"$1" | cut -d' ' -f1)" 198.51.100.1 \
		"the outside sees the SNAT address"
}

# parallel_containers N RUNNER...: N containers at once, the Kth
# `RUNNER... /bin/sh -c "$SAY_ADDR_AND_PEER"` with "{}" in RUNNER's
# arguments standing for K (a container's name: c{}), its output in
# /tmp/par/K.out and .err; each ran, said an address of the pool and the
# SNAT address (echo_peer out 7000 listening), and the N addresses are
# distinct.
parallel_containers() {
	local n=$1 i arg run pids=()
	shift
	mkdir /tmp/par
	for ((i = 1; i <= n; i++)); do
		run=()
		for arg; do
			run+=("${arg//\{\}/$i}")
		done
		"${run[@]}" /bin/sh -c "$SAY_ADDR_AND_PEER" \
			>"/tmp/par/$i.out" 2>"/tmp/par/$i.err" &
		pids+=($!)
	done
	for i in "${!pids[@]}"; do
		wait "${pids[$i]}" ||
			fail "container $((i + 1)) failed: $(cat "/tmp/par/$((i + 1)).err")"
	done
	for ((i = 1; i <= n; i++)); do
		said_addr_and_peer "$(cat "/tmp/par/$i.out")"
	done
	assert_eq "$(awk 'FNR == 1' /tmp/par/*.out | sort -u | wc -l)" "$n" \
		"$n distinct addresses"
}

# What bpfnat and the kernel counted: bpfnat SNATed, in the conflist's
# mode; the kernel's FORWARD chain (policy DROP) saw no packet, not even
# to drop it.
carried_by_bpfnat() {
	[[ $(counter snat) -gt 0 ]] || fail "bpfnat counted nothing as snat"
	assert_eq "$(bpfnat status -j | jq -r .mode)" "$DP_MODE" \
		"the data path runs in the conflist's mode"
	assert_match "$(iptables -n -v -x -L FORWARD | head -n 1)" \
		'policy DROP 0 packets' "the FORWARD chain saw nothing"
}

# Nothing of any attachment is left: no veth, endpoint, published port,
# bpfnat record, host-local lease, or result in CNI's cache.
no_attachment_left() {
	assert_eq "$(ip -o link show | grep -c ' bn' || true)" 0 "no veth left"
	assert_eq "$(bpfnat ns list -j)" "[]" "bpfnat lists no container"
	assert_eq "$(bpftool map dump pinned /sys/fs/bpf/bpfnat/endpoints -j |
		jq length)" 0 "no endpoint left"
	assert_eq "$(bpfnat port list -j)" "[]" "no published port left"
	assert_eq "$(ls /run/bpfnat/cni | wc -l)" 0 "no bpfnat CNI record left"
	assert_eq "$(ls "$LEASES" | grep -c '^172\.' || true)" 0 \
		"no host-local lease left"
	assert_eq "$(ls /var/lib/cni/results 2>/dev/null | wc -l)" 0 \
		"no result left in CNI's cache"
}
