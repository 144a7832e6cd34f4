# SPDX-License-Identifier: GPL-2.0-only
#
# A real runtime over the CNI plugin: Debian's podman 4.3 with its CNI
# backend runs busybox containers (a rootfs directory, no image) on a
# network whose conflist names bpfnat.  Everything podman keeps is on the
# sandbox's tmpfs: its storage and CNI cache (/var/lib), its configuration
# (/etc/containers, /etc/cni/net.d), its run state (/run).  What this
# suite shares with containerd's is tests/runtimes.sh; a missing podman
# skips (tests/run.sh alone) or fails (make test).
# modes: tc xdp

# shellcheck source=tests/runtimes.sh
source "$BPFNAT_TOP/tests/runtimes.sh"
needed podman

# podman_world [CNIVERSION [JQ-FILTER]]: cni_world, podman configured for
# CNI and the sandbox (podman_conf), and the network $NET.
podman_world() {
	cni_world
	podman_conf
	net_conf "/etc/cni/net.d/$NET.conflist" "${1:-0.4.0}" "${2:-.}"
}

# prun [OPTION...] -- CMD...: podman run of CMD in the rootfs on $NET,
# making no cgroup (the machine's hierarchy is no test's to write).
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

# Nothing of any container is left, in podman or of its attachments.
nothing_left_of_containers() {
	assert_eq "$(podman ps -aq)" "" "podman has no container"
	no_attachment_left
}

# outside_reached_through_snat: a container with --rm reaches the
# outside, which sees the SNAT address; bpfnat counted it; exit ran DEL.
outside_reached_through_snat() {
	echo_peer out 7000
	local out
	out=$(prun --rm -- /bin/sh -c "$SAY_ADDR_AND_PEER")
	echo "$out"
	said_addr_and_peer "$out"
	carried_by_bpfnat
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
	parallel_containers 20 prun --rm --
	carried_by_bpfnat
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
