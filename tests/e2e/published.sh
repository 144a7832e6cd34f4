# SPDX-License-Identifier: GPL-2.0-only
#
# Traffic through published ports (`bpfnat port add`, Docker's -p): the
# outside reaches a container's server through the SNAT address, the
# server sees the real client, containers reach it by hairpinning, and
# bpfnat (not the kernel's DNAT) carries all of it.  The control plane of
# the same commands is tests/e2e/ports.sh.

# The server that a test publishes: nginx on a, its files under $WEB.
web_in_a() {
	http_serve a 172.18.0.2 "$1"
}

test_http_through_a_published_port() {
	world_up
	web_in_a $((16 * 1024 * 1024))
	bpfnat port add a 8080:80
	in_ns out curl -sf --max-time 30 -o /tmp/got \
		http://198.51.100.1:8080/blob
	assert_eq "$(sha256sum </tmp/got)" "$(sha256sum <"$WEB/blob")" \
		"the file the outside downloaded"
	# the server saw the outside client itself, not the host
	assert_eq "$(awk '{ print $1 }' "$WEB/access.log" | sort -u)" \
		"198.51.100.2" "client address in nginx's log"
	assert_eq "$(bpfnat ct list -j | jq -r '[.[] | select(.kind == "dnat")
		| "\(.original.src) \(.original.dport) \(.reply.src) \(.reply.sport)"]
		| unique | .[]')" "198.51.100.2 8080 172.18.0.2 80" \
		"a DNAT flow, both tuples"
	assert_eq "$(csum_errors a)" 0 "checksum errors in a"
	assert_eq "$(csum_errors out)" 0 "checksum errors outside"
	[[ $(counter dnat) -gt 0 ]] || fail "nothing counted as dnat"
	assert_eq "$(counter drop_unnated_leak)" 0 "nothing leaked"
	xdp_carried dnat
}

test_udp_echo_through_a_published_port() {
	world_up
	echo_peer_udp a 5353
	bpfnat port add a 9053:5353/udp
	assert_match "$(udp_ask out 198.51.100.1:9053 <<<hello)" \
		"^198.51.100.2 [0-9]+$" "the answer names the outside client"
	# and the answer came from the published address and port
	assert_match "$(udp_ask out 198.51.100.1:9053,sourceport=40500 \
		<<<again)" "^198.51.100.2 40500$" "the client's own port"
	assert_eq "$(bpfnat ct list -j | jq -r '.[] | select(.kind == "dnat"
		and .original.sport == 40500) | .replied')" true "answered"
}

# A published port on a host address names that address alone.
test_published_on_one_host_address() {
	world_up
	ip addr add 198.51.100.7/24 dev up0
	echo_peer a 7000
	bpfnat port add a 198.51.100.7:7070:7000
	assert_match "$(in_ns out socat -T5 - TCP4:198.51.100.7:7070 \
		</dev/null)" "^198.51.100.2 " "through 198.51.100.7"
	! in_ns out socat -T2 - TCP4:198.51.100.1:7070 </dev/null 2>/dev/null ||
		fail "published on the SNAT address too"
}

# RFC 4787 REQ-9, RFC 5382 REQ-8: from another container and from the
# publishing one itself, and the server sees the client's external
# mapping (the SNAT address), as a client outside would be seen.
test_hairpin() {
	world_up
	echo_peer a 7000
	bpfnat port add a 7070:7000
	assert_match "$(in_ns b socat -T5 - TCP4:198.51.100.1:7070 \
		</dev/null)" "^198.51.100.1 [0-9]+$" "from b: seen as the SNAT address"
	assert_match "$(in_ns a socat -T5 - TCP4:198.51.100.1:7070 \
		</dev/null)" "^198.51.100.1 [0-9]+$" "from a itself"
	# a whole file, both ways through the hairpin
	web_in_a $((4 * 1024 * 1024))
	bpfnat port add a 8080:80
	in_ns b curl -sf --max-time 30 -o /tmp/got http://198.51.100.1:8080/blob
	assert_eq "$(sha256sum </tmp/got)" "$(sha256sum <"$WEB/blob")" \
		"the file b downloaded through the hairpin"
	assert_eq "$(awk '{ print $1 }' "$WEB/access.log" | sort -u)" \
		"198.51.100.1" "nginx saw the SNAT address"
	assert_eq "$(csum_errors a)" 0 "checksum errors in a"
	assert_eq "$(csum_errors b)" 0 "checksum errors in b"
	[[ $(counter hairpin) -gt 0 ]] || fail "nothing counted as hairpin"
	xdp_carried hairpin
}

# The kernel neither forwards nor translates: bpfnat carries it all, and
# the kernel's conntrack holds nothing of it.
test_published_without_kernel_forwarding() {
	world_up
	echo_peer a 7000
	bpfnat port add a 7070:7000
	sysctl -qw net.ipv4.ip_forward=1
	sysctl -qw net.ipv4.ip_forward=0
	iptables -P FORWARD DROP
	# make the kernel track connections in this namespace
	iptables -A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
	assert_match "$(in_ns out socat -T5 - TCP4:198.51.100.1:7070 \
		</dev/null)" "^198.51.100.2 " "from the outside"
	assert_match "$(in_ns b socat -T5 - TCP4:198.51.100.1:7070 \
		</dev/null)" "^198.51.100.1 " "hairpin from b"
	local ct
	ct=$(conntrack -L 2>/dev/null)
	assert_no_match "$ct" "dport=7070" "no kernel entry for the published port"
	assert_no_match "$ct" "172.18.0.2" "none for a"
}

# `port del`: new connections find nothing at once; `up` run again keeps
# the mappings and a transfer through one.
test_port_del_and_up_again() {
	world_up
	web_in_a $((8 * 1024 * 1024))
	bpfnat port add a 8080:80
	in_ns out curl -sf --max-time 60 --limit-rate 2M -o /tmp/got \
		http://198.51.100.1:8080/blob &
	local curl=$!
	sleep 1
	nat_up
	assert_eq "$(bpfnat port list -j | jq -c 'map([.host_port, .container_port])')" \
		"[[8080,80]]" "mapping kept by up"
	wait "$curl" || fail "the transfer across up did not finish"
	assert_eq "$(sha256sum </tmp/got)" "$(sha256sum <"$WEB/blob")" \
		"the file downloaded across up"
	assert_ok "still published" in_ns out curl -sf --max-time 10 \
		-o /dev/null http://198.51.100.1:8080/blob
	bpfnat port del a 8080
	local rc=0
	in_ns out curl -s --max-time 5 -o /dev/null \
		http://198.51.100.1:8080/blob || rc=$?
	# 7: refused, by the host, which listens on no such port
	assert_eq "$rc" 7 "curl's exit once the port is deleted"
}

# A port range that holds a published port: NATed flows never get it,
# not even when the rest of the range is spent.
test_published_port_never_given_to_a_flow() {
	bpfnat ns add a
	bpfnat ns add b
	outside_add
	nat_up --ports 2000-2003
	echo_peer_udp b 7000
	bpfnat port add b 2001:7000/udp
	echo_peer_udp out 5000
	local port seen=()
	for port in 2000 2001 2002 2003 2004 2005; do
		# (a refused one fails: the container is told unreachable)
		seen+=("$( (echo x | in_ns a socat -T1 - \
			UDP4:198.51.100.2:5000,sourceport=$port 2>/dev/null ||
			true) | awk '{ print $2 }')")
	done
	assert_eq "$(printf '%s\n' "${seen[@]}" | grep . | sort -u | tr '\n' ' ')" \
		"2000 2002 2003 " "the ports the outside saw"
	[[ $(counter drop_no_free_port) -gt 0 ]] ||
		fail "the range was not spent"
	# and the published port still reaches b
	assert_match "$(udp_ask out 198.51.100.1:2001 <<<hi)" \
		"^198.51.100.2 " "2001 leads to b"
}
