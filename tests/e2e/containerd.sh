# SPDX-License-Identifier: GPL-2.0-only
#
# A second runtime over the CNI plugin: Debian's containerd 1.6, its
# daemon started here with its root on the sandbox's /var/lib and its
# state and socket on /run, and `ctr run --cni --rootfs` of the busybox
# rootfs.  ctr takes no CNI option: it loads the first network of
# /etc/cni/net.d and finds plugins in /opt/cni/bin (where `make install`
# puts bpfnat) and /usr/lib/cni (Debian's host-local).  It publishes no
# ports (ctr has no -p) and runs DEL only for a container it waited for
# (not -d), with CNI_NETNS empty.  Shared with podman's: tests/runtimes.sh.
# modes: tc xdp

# shellcheck source=tests/runtimes.sh
source "$BPFNAT_TOP/tests/runtimes.sh"
needed containerd
needed ctr

# containerd_world: cni_world, the network, containerd running.
containerd_world() {
	cni_world
	net_conf "/etc/cni/net.d/10-$NET.conflist" 1.0.0
	# no CRI (kubelet's API): nothing here uses it
	cat >/tmp/containerd.toml <<-EOF
	version = 2
	root = "/var/lib/containerd"
	state = "/run/containerd"
	disabled_plugins = ["io.containerd.grpc.v1.cri"]
	[grpc]
	  address = "/run/containerd/containerd.sock"
	EOF
	# runc would make each container a cgroup in the machine's
	# hierarchy, no test's to write: crun making none, as podman's
	# --cgroups=disabled has it
	printf '#!/bin/sh\nexec crun --cgroup-manager=disabled "$@"\n' \
		>/tmp/crun-no-cgroup
	chmod +x /tmp/crun-no-cgroup
	containerd --config /tmp/containerd.toml >/tmp/containerd.log 2>&1 &
	retry 50 ctr version >/dev/null ||
		fail "containerd does not answer: $(tail -n 5 /tmp/containerd.log)"
}

# crun_ [OPTION...] -- ID CMD...: ctr run of CMD in the rootfs, with CNI.
crun_() {
	local opts=()
	while [[ $1 != -- ]]; do
		opts+=("$1")
		shift
	done
	shift
	ctr run --cni --runc-binary /tmp/crun-no-cgroup "${opts[@]}" \
		--rootfs "$ROOTFS" "$@"
}

# A container with --rm reaches the outside through bpfnat's SNAT; its
# DEL (CNI_NETNS empty: the task is gone) leaves nothing.
test_outside_through_snat() {
	containerd_world
	echo_peer out 7000
	local out
	out=$(crun_ --rm -- c1 /bin/sh -c "$SAY_ADDR_AND_PEER")
	echo "$out"
	said_addr_and_peer "$out"
	carried_by_bpfnat
	assert_eq "$(ctr containers list -q)" "" "ctr removed the container"
	no_attachment_left
}

# 10 at once: distinct addresses, each reaches the outside.
test_ten_in_parallel() {
	containerd_world
	echo_peer out 7000
	parallel_containers 10 crun_ --rm -- 'c{}'
	no_attachment_left
}

# ctr run -d never runs DEL: when the task dies, its veth goes with its
# namespace, but the attachment's record and lease stay (and its address
# with them) until a DEL, which a user runs as ctr would have: the plugin
# with CNI_NETNS unset.
test_detached_needs_a_del_by_hand() {
	containerd_world
	crun_ -d -- c1 /bin/sleep 600
	assert_eq "$(bpfnat ns list -j | jq -r '.[].name')" default-c1-eth0 \
		"the attachment of ctr's namespace \"default\""
	ctr task kill -s KILL c1
	retry 50 sh -c '! ctr task list | grep -q RUNNING' ||
		fail "the task did not die"
	ctr task delete c1 >/dev/null 2>&1 || true
	ctr containers delete c1
	assert_eq "$(ip -o link show | grep -c ' bn' || true)" 0 \
		"the veth went with the namespace"
	assert_eq "$(ls /run/bpfnat/cni)" default-c1-eth0 "the record stays"
	assert_eq "$(ls "$LEASES" | grep -c '^172\.')" 1 "the lease stays"
	# the plugin's configuration, as a runtime makes it of the conflist
	jq '{cniVersion, name} + .plugins[0]' \
		"/etc/cni/net.d/10-$NET.conflist" |
		CNI_COMMAND=DEL CNI_CONTAINERID=default-c1 CNI_IFNAME=eth0 \
		CNI_PATH=/opt/cni/bin:/usr/lib/cni /opt/cni/bin/bpfnat
	# ctr's cache of the result of ADD (its CNI library's), which only
	# that library's DEL would have removed
	rm "/var/lib/cni/results/$NET-default-c1-eth0"
	no_attachment_left
}
