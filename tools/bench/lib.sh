# SPDX-License-Identifier: GPL-2.0-only
#
# The benchmark's testbed, its configurations and its measurements.
# Sourced by tools/bench.sh inside the benchmark's own network, mount and
# PID namespaces; nothing here may run anywhere else.
# shellcheck shell=bash disable=SC2034  # variables for run.sh
#
# The testbed (this namespace is the router, "the host"):
#
#   [c1] eth0 172.18.0.2/16 = bnac120002 [router] up0 198.51.100.1/24
#                                                  = eth0 198.51.100.2/24 [out]
#                                                    lo   203.0.113.1/32
#   [gen] eth0 ================================== eth1 [out]
#         203.0.113.2/24                   203.0.113.254/24
#
# Over IPv6 the same: c1 fd00:18::2 (the pool6's first), up0 2001:db8:1::1
# (the IPv6 SNAT address) to out's eth0 2001:db8:1::2, the server
# 2001:db8:3::1 on out's lo.
#
# c1 is a container made by `bpfnat ns add`; out is the outside and holds
# the sinks and servers; gen and out's eth1 are the direct veth pair, the
# shortest path a packet can take.  Inbound, out is the client of c1's
# published ports (PUB_UDP_PORT, PUB_TCP_PORT on the SNAT address): from
# 198.51.100.2, DNATed to c1's sink (UDP) and to c1's tcp_crr servers.
# Every device a load ends on has bench_drop at tc ingress: it drops UDP
# (the load) and passes the rest, so ARP and the TCP tests work on the same
# devices.  A packet rate is what the sink device received, read from its
# counters.

TB_GW_MAC=""		# c1's gateway: the host side of its veth
TB_HOST_IF=""		# that device's name
TB_HOST_IFINDEX=""
TB_C1_MAC=""
TB_UP0_MAC=""
TB_UP0_IFINDEX=""
TB_OUT_MAC=""		# out's eth0
TB_ETH1_MAC=""		# out's eth1 (the direct pair's far end)
TB_GEN_MAC=""		# gen's eth0

C1_ADDR=172.18.0.2
GEN_ADDR=203.0.113.2	# gen's on the direct pair (the veth limit's TCP)
SNAT_ADDR=198.51.100.1
SERVER_ADDR=203.0.113.1
SINK_PORT=9		# discard
CRR_PORT=8001		# tcp_crr: the first configuration's rr on 8001, crr
			# on 8002; the next one's on 8003 and 8004, ...
IPERF_PORT=5201
# Published ports: the host side, on the SNAT address, and where it leads
# in c1.  Above the 10k-flow loads' ports (1024-11023) and the flow
# table's (5001-5977), so that no NATed flow of theirs meets them.
CLIENT_ADDR=198.51.100.2	# out's, the client of published ports
PUB_UDP_PORT=12053		# -> c1:$SINK_PORT/udp (its sink)
PUB_TCP_PORT=12080		# -> c1's tcp_crr server of the configuration
DNAT_CRR_PORT=8101		# c1's tcp_crr servers: rr on 8101, crr on 8102, ...
# IPv6: the same roles (the udp6-* scenarios)
C1_ADDR6=fd00:18::2
SNAT_ADDR6=2001:db8:1::1
OUT_ADDR6=2001:db8:1::2
SERVER_ADDR6=2001:db8:3::1
FAMILY=4		# of the next load: 4 or 6 (run_udp sets it)

# fam NAME: the address NAME (C1_ADDR, SERVER_ADDR, ...) of the load's
# family.
fam() {
	local v=$1
	[[ $FAMILY == 6 ]] && v=${v}6
	echo "${!v}"
}

# Outside /sys: `ip netns exec` mounts a fresh /sys, and a bpffs under it
# would not be seen from there.  One level down in it, since bpftool
# mounts a bpffs of its own on a pin directory's parent that is not one.
BPFFS=/run/bench-bpf
PIN=$BPFFS/bench
BUILD=${BUILD:-build}

log() { printf '%s\n' "$*" >&2; }
die() { log "bench: $*"; exit 1; }

mac_of() {	# NS DEV
	ip -n "$1" -j link show dev "$2" | jq -r '.[0].address'
}

ifindex_of() {	# NS DEV
	ip -n "$1" -j link show dev "$2" | jq -r '.[0].ifindex'
}

# rx_packets NS DEV: packets DEV has received (a tc drop at its ingress
# still counts: veth counts a packet when it hands it over).  Read at both
# ends of a measuring window: without a jq to start (tens of ms on a busy
# machine, which would stretch and jitter the window) unless ip's JSON
# does not look as expected.
rx_packets() {
	local j re='"stats64":\{"rx":\{"bytes":[0-9]+,"packets":([0-9]+)'
	j=$(ip -n "$1" -s -j link show dev "$2")
	if [[ $j =~ $re ]]; then
		echo "${BASH_REMATCH[1]}"
	else
		jq -r '.[0].stats64.rx.packets' <<<"$j"
	fi
}

# ---- the testbed ----

tc_sink() {	# NS DEV
	ip netns exec "$1" tc qdisc add dev "$2" clsact
	ip netns exec "$1" tc filter add dev "$2" ingress prio 1 handle 1 \
		bpf da object-pinned "$PIN/bench_drop"
}

tb_build() {
	ip link set lo up
	sysctl -qw net.ipv4.ip_forward=1
	# The router namespace has a name too, so every device is read the
	# same way (ip -n NS).
	ip netns attach router $$

	"$BPFNAT" ns add c1 --ip "$C1_ADDR" >/dev/null
	TB_HOST_IF=$(ip -j link |
		jq -r '.[] | select(.ifname | startswith("bn")) | .ifname')
	[[ -n $TB_HOST_IF ]] || die "ns add made no host-side veth"

	ip netns add out
	ip link add up0 type veth peer name eth0 netns out
	ip addr add "$SNAT_ADDR/24" dev up0
	ip link set up0 up
	ip -n out link set lo up
	ip -n out addr add 198.51.100.2/24 dev eth0
	ip -n out addr add "$SERVER_ADDR/32" dev lo
	ip -n out link set eth0 up
	ip -n out route add default via "$SNAT_ADDR"
	ip route add 203.0.113.0/24 via 198.51.100.2

	# IPv6, routed by the host too (kernel forwarding, for the routes
	# and ip6tables configurations; bpfnat's own path needs none)
	sysctl -qw net.ipv6.conf.all.forwarding=1
	ip -6 addr add "$SNAT_ADDR6/64" dev up0 nodad
	ip -n out -6 addr add "$OUT_ADDR6/64" dev eth0 nodad
	ip -n out -6 addr add "$SERVER_ADDR6/128" dev lo
	ip -n out -6 route add default via "$SNAT_ADDR6"
	ip -6 route add 2001:db8:3::/64 via "$OUT_ADDR6"

	ip netns add gen
	ip -n gen link set lo up
	ip -n out link add eth1 type veth peer name eth0 netns gen
	ip -n out link set eth1 up
	ip -n gen link set eth0 up
	# the direct pair carries TCP too, for the veth limit: gen on out's
	# /24 there, whose ARP for the server's address out answers
	ip -n out addr add 203.0.113.254/24 dev eth1
	ip -n gen addr add "$GEN_ADDR/24" dev eth0

	mkdir -p "$BPFFS"
	mount -t bpf bpf "$BPFFS"
	mkdir "$PIN"
	bpftool prog loadall "$BUILD/bench.bpf.o" "$PIN" pinmaps "$PIN"
	for sink in out:eth0 out:eth1 c1:eth0 gen:eth0; do
		tc_sink "${sink%%:*}" "${sink#*:}"
	done

	KSOFTIRQD_STATS=$(ksoftirqd_stats | tr '\n' ' ')

	TB_GW_MAC=$(mac_of router "$TB_HOST_IF")
	TB_HOST_IFINDEX=$(ifindex_of router "$TB_HOST_IF")
	TB_C1_MAC=$(mac_of c1 eth0)
	TB_UP0_MAC=$(mac_of router up0)
	TB_UP0_IFINDEX=$(ifindex_of router up0)
	TB_OUT_MAC=$(mac_of out eth0)
	TB_ETH1_MAC=$(mac_of out eth1)
	TB_GEN_MAC=$(mac_of gen eth0)

	# Neighbours resolved once, so no run starts with ARP.
	ip netns exec c1 ping -q -c1 -W2 "$SERVER_ADDR" >/dev/null ||
		die "testbed: c1 cannot reach the outside"
	ip netns exec out ping -q -c1 -W2 "$C1_ADDR" >/dev/null ||
		die "testbed: the outside cannot reach c1"
	ip netns exec gen ping -q -c1 -W2 "$SERVER_ADDR" >/dev/null ||
		die "testbed: gen cannot reach the server over the direct pair"
	# (IPv6's first answers wait for the link-local addresses' DAD)
	ping6_soon c1 "$SERVER_ADDR6" ||
		die "testbed: c1 cannot reach the outside over IPv6"
	ping6_soon out "$C1_ADDR6" ||
		die "testbed: the outside cannot reach c1 over IPv6"

	# A server of its own for each configuration.  The server closes
	# first and keeps TIME_WAIT (60 s) for every connection; a NAT that
	# maps the client's next connections onto other ports than the one
	# before it did would meet that state, and TCP timestamps (their
	# offset is random per connection) would make the server refuse
	# half of its SYNs as old duplicates (PAWS).
	# The same in c1 for the connections the outside opens to its
	# published port (tcp-crr-dnat): there c1's server keeps TIME_WAIT.
	local port cfg ns addr
	TB_CRR_PIDS=()
	for cfg in $CONFIGS; do
		port=$(crr_port "$cfg")
		ip netns exec out "$BUILD/tools/tcp_crr" server \
			-b "$SERVER_ADDR" -p "$port" -n 2 -t 3600 &
		TB_CRR_PIDS+=($!)
		cfg_tcp "$cfg" || continue
		port=$(crr_port "$cfg" "$DNAT_CRR_PORT")
		read -r ns addr <<<"$(tcp_inside "$cfg")"
		ip netns exec "$ns" "$BUILD/tools/tcp_crr" server \
			-b "$addr" -p "$port" -n 2 -t 3600 &
		TB_CRR_PIDS+=($!)
	done
}

# ping6_soon NS ADDR: an IPv6 echo answered within about 5 seconds.
ping6_soon() {
	local i
	for ((i = 0; i < 5; i++)); do
		ip netns exec "$1" ping -6 -q -c1 -W1 "$2" >/dev/null && return 0
	done
	return 1
}

# crr_port CONFIG [BASE]: the port of CONFIG's tcp_crr server (rr; crr on
# + 1): in the outside (BASE: CRR_PORT), or in c1 (DNAT_CRR_PORT).
crr_port() {
	local i=0 cfg
	for cfg in $CONFIGS; do
		[[ $cfg == "$1" ]] && break
		i=$((i + 1))
	done
	echo $((${2:-$CRR_PORT} + 2 * i))
}

# ---- configurations ----
#
# cfg_up_NAME sets a configuration up on the testbed and cfg_down_NAME
# takes it away, leaving the testbed as it found it.  A failing cfg_up
# means "skip this configuration", with the reason on stderr.
#
# Limits: gen (the generator's capacity, L0: the load dropped at its
# first hop), veth (one veth hop, generator to sink; for TCP, gen and
# the outside's servers with no router between), route (kernel
# forwarding, no NAT), redirect (an empty tc redirect, no NAT).
# Competitors: ipt-legacy, ipt-nft, nft.  Ours: bpfnat-tc, bpfnat-xdp.

# Which configurations NAT (their reply traffic needs flows first).
cfg_nats() {
	case $1 in
	ipt-* | nft | bpfnat-*) return 0 ;;
	*) return 1 ;;
	esac
}

# The kernel's TCP path only goes through configurations that forward it,
# and the veth limit: the client in gen, one veth from the server, no
# router between (what a TCP user can hope for at best).
cfg_tcp() {
	case $1 in
	gen | redirect) return 1 ;;
	*) return 0 ;;
	esac
}

# tcp_inside CONFIG: "NS ADDR" of the client of the outside's servers, and
# of the server the outside connects to (c1 behind the router; gen for
# the veth limit).
tcp_inside() {
	case $1 in
	veth) echo "gen $GEN_ADDR" ;;
	*) echo "c1 $C1_ADDR" ;;
	esac
}

tc_attach() {	# DEV PROG
	tc qdisc add dev "$1" clsact 2>/dev/null || true
	tc filter add dev "$1" ingress prio 1 handle 1 bpf da \
		object-pinned "$PIN/$2"
}

tc_detach() {	# DEV
	tc filter del dev "$1" ingress prio 1 handle 1 bpf 2>/dev/null || true
}

cfg_up_gen() {
	tc_attach "$TB_HOST_IF" bench_drop
	tc_attach up0 bench_drop
}
cfg_down_gen() {
	tc_detach "$TB_HOST_IF"
	tc_detach up0
}

cfg_up_veth() { :; }
cfg_down_veth() { :; }

cfg_up_route() { :; }
cfg_down_route() { :; }

# fwd_entry IFINDEX FLAGS DMAC SMAC: a bench_fwd value for bpftool.
fwd_entry() {
	local ifindex=$1 flags=$2 dmac=$3 smac=$4 b
	printf '%d %d %d %d ' $((ifindex & 255)) $((ifindex >> 8 & 255)) \
		$((ifindex >> 16 & 255)) $((ifindex >> 24 & 255))
	printf '%d 0 0 0' "$flags"
	for b in ${dmac//:/ } ${smac//:/ }; do
		printf ' 0x%s' "$b"
	done
}

u32_key() {
	printf '%d %d %d %d' $(($1 & 255)) $(($1 >> 8 & 255)) \
		$(($1 >> 16 & 255)) $(($1 >> 24 & 255))
}

cfg_up_redirect() {
	local map=$PIN/bench_fwd
	# c1 -> outside: out of the uplink, to out's MAC
	# shellcheck disable=SC2046
	bpftool map update pinned "$map" key $(u32_key "$TB_HOST_IFINDEX") \
		value $(fwd_entry "$TB_UP0_IFINDEX" 0 "$TB_OUT_MAC" "$TB_UP0_MAC")
	# outside -> c1: into c1's namespace (bpf_redirect_peer)
	# shellcheck disable=SC2046
	bpftool map update pinned "$map" key $(u32_key "$TB_UP0_IFINDEX") \
		value $(fwd_entry "$TB_HOST_IFINDEX" 1 "$TB_C1_MAC" "$TB_GW_MAC")
	tc_attach "$TB_HOST_IF" bench_redirect
	tc_attach up0 bench_redirect
}
cfg_down_redirect() {
	tc_detach "$TB_HOST_IF"
	tc_detach up0
}

masq_rule="POSTROUTING -s 172.18.0.0/16 -o up0 -j MASQUERADE"
masq6_rule="POSTROUTING -s fd00:18::/64 -o up0 -j MASQUERADE"

# The published ports of CONFIG as "PROTO HOSTPORT CONTAINER_PORT" lines:
# UDP to c1's sink, TCP to c1's crr server of that configuration.
pub_ports() {
	echo "udp $PUB_UDP_PORT $SINK_PORT"
	echo "tcp $PUB_TCP_PORT $(($(crr_port "$1" "$DNAT_CRR_PORT") + 1))"
}

# ipt_rules CONFIG: the iptables nat rules of CONFIG, one a line, without
# the -A: MASQUERADE out of the uplink, and for each published port what
# Docker's -p adds (the CNI portmap plugin's are the same in substance):
# its DNAT in PREROUTING and in OUTPUT (the host's own connections to its
# address), and the hairpin, the container to itself through the port,
# MASQUERADEd.  Docker jumps to its chain for every local destination
# (-m addrtype --dst-type LOCAL) and matches ! -i docker0 there; here the
# rules name the SNAT address, as `-p HOSTIP:...` does.  The nat table
# sees only the first packet of a connection.
ipt_rules() {
	local proto hport cport
	echo "$masq_rule"
	while read -r proto hport cport; do
		echo "PREROUTING -d $SNAT_ADDR/32 -p $proto -m $proto" \
			"--dport $hport -j DNAT --to-destination $C1_ADDR:$cport"
		echo "OUTPUT -d $SNAT_ADDR/32 -p $proto -m $proto" \
			"--dport $hport -j DNAT --to-destination $C1_ADDR:$cport"
		echo "POSTROUTING -s $C1_ADDR/32 -d $C1_ADDR/32 -p $proto" \
			"-m $proto --dport $cport -j MASQUERADE"
	done < <(pub_ports "$1")
}

# ipt_apply BACKEND -A|-D CONFIG: add stops at the first rule that fails
# (cfg_try_up then takes the configuration down); delete tries them all.
# BACKEND: legacy or nft; IPv6 gets ip6tables' MASQUERADE, as Docker's
# ip6tables support adds it.
ipt_apply() {
	local rule rc=0
	while read -r rule; do
		# shellcheck disable=SC2086
		"iptables-$1" -t nat "$2" $rule ||
			{ rc=1; [[ $2 == -D ]] || return 1; }
	done < <(ipt_rules "$3")
	# shellcheck disable=SC2086
	"ip6tables-$1" -t nat "$2" $masq6_rule || rc=1
	return "$rc"
}

cfg_up_ipt-legacy() {
	ipt_apply legacy -A ipt-legacy
}
cfg_down_ipt-legacy() {
	ipt_apply legacy -D ipt-legacy
	conntrack -F 2>/dev/null || true
	conntrack -F -f ipv6 2>/dev/null || true
}

cfg_up_ipt-nft() {
	ipt_apply nft -A ipt-nft
}
cfg_down_ipt-nft() {
	ipt_apply nft -D ipt-nft
	# iptables-nft leaves its tables; take them so no hook stays behind
	nft delete table ip nat 2>/dev/null || true
	nft delete table ip6 nat 2>/dev/null || true
	conntrack -F 2>/dev/null || true
	conntrack -F -f ipv6 2>/dev/null || true
}

# Native nftables: the same rules in a table of its own.
cfg_up_nft() {
	local proto hport cport dnat="" hairpin=""
	while read -r proto hport cport; do
		dnat+="ip daddr $SNAT_ADDR $proto dport $hport"
		dnat+=" dnat to $C1_ADDR:$cport"$'\n'
		hairpin+="ip saddr $C1_ADDR ip daddr $C1_ADDR $proto dport"
		hairpin+=" $cport masquerade"$'\n'
	done < <(pub_ports nft)
	nft -f - <<-EOF
	table ip bench_nat {
		chain prerouting {
			type nat hook prerouting priority dstnat; policy accept;
			$dnat
		}
		chain output {
			type nat hook output priority -100; policy accept;
			$dnat
		}
		chain postrouting {
			type nat hook postrouting priority srcnat; policy accept;
			ip saddr 172.18.0.0/16 oifname "up0" masquerade
			$hairpin
		}
	}
	table ip6 bench_nat6 {
		chain postrouting {
			type nat hook postrouting priority srcnat; policy accept;
			ip6 saddr fd00:18::/64 oifname "up0" masquerade
		}
	}
	EOF
}
cfg_down_nft() {
	nft delete table ip bench_nat
	nft delete table ip6 bench_nat6 2>/dev/null || true
	conntrack -F 2>/dev/null || true
	conntrack -F -f ipv6 2>/dev/null || true
}

CT_MAX=""	# --ct-max of the next bpfnat up; empty: bpfnat's default

# bpfnat_publish CONFIG: c1's published ports, as `bpfnat port add`.
bpfnat_publish() {
	local proto hport cport
	while read -r proto hport cport; do
		"$BPFNAT" port add c1 "$hport:$cport/$proto" >/dev/null ||
			return 1
	done < <(pub_ports "$1")
}

cfg_up_bpfnat-tc() {
	"$BPFNAT" up --uplink up0 --mode tc ${CT_MAX:+--ct-max "$CT_MAX"} &&
		bpfnat_publish bpfnat-tc
}
cfg_down_bpfnat-tc() {
	"$BPFNAT" down
}

# The uplink is a veth here, and its far end must behave as a NIC and its
# wire would for XDP: take frames XDP redirects into it (a veth does only
# with an XDP program of its own) and send full checksums (XDP sees bytes,
# not the CHECKSUM_PARTIAL state a veth passes along).
cfg_up_bpfnat-xdp() {
	ip netns exec out ip link set dev eth0 xdpdrv \
		pinned "$PIN/bench_xdp_pass"
	ip netns exec out ethtool -K eth0 tx off >/dev/null
	"$BPFNAT" up --uplink up0 --mode xdp --xdp-uplink on \
		${CT_MAX:+--ct-max "$CT_MAX"} && bpfnat_publish bpfnat-xdp
}
cfg_down_bpfnat-xdp() {
	"$BPFNAT" down
	ip netns exec out ethtool -K eth0 tx on >/dev/null
	ip netns exec out ip link set dev eth0 xdpdrv off
}

# ---- loads ----
#
# A UDP load is a trafgen configuration: 60-byte frames (64 on the wire)
# whose ports count through FLOWS combinations.  Two counters whose
# periods have no common factor walk every pair of their values.

# ports_for FLOWS: "SPORT_SPEC DPORT_SPEC" in trafgen's field syntax.
ports_for() {
	case $1 in
	1) echo "1024 $SINK_PORT" ;;
	1k) echo "dinc(1024,2023) $SINK_PORT" ;;
	10k) echo "dinc(1024,11023) $SINK_PORT" ;;
	100k) echo "dinc(1024,2047) dinc(5001,5097)" ;;	# 1024 x 97
	1m) echo "dinc(1024,2047) dinc(5001,5977)" ;;	# 1024 x 977
	*) die "unknown flow count $1" ;;
	esac
}

flows_count() {
	case $1 in
	1) echo 1 ;; 1k) echo 1000 ;; 10k) echo 10000 ;;
	100k) echo 99328 ;; 1m) echo 1000448 ;;
	esac
}

# trafgen_cfg FILE DMAC SADDR SPORT DADDR DPORT, of the load's family;
# over IPv6 the smallest UDP frame there is: 62 bytes, 66 on the wire.
trafgen_cfg() {
	if [[ $FAMILY == 6 ]]; then
		cat >"$1" <<-EOF
		{
			eth(da=$2),
			ipv6(sa=$3, da=$5, hl=64),
			udp(sp=$4, dp=$6)
		}
		EOF
		return
	fi
	cat >"$1" <<-EOF
	{
		eth(da=$2),
		ipv4(sa=$3, da=$5, ttl=64, id=0),
		udp(sp=$4, dp=$6),
		fill(0x5a, 18)
	}
	EOF
}

# load_for CONFIG DIR FLOWS FILE: write the trafgen configuration of a
# load and print "NS DEV SINK_NS SINK_DEV": where it is sent from and
# where it is counted.  DIR: fwd (c1 -> the outside), rep (the replies),
# dnat (the outside's client, FLOWS source ports, to c1's published UDP
# port; the configurations without NAT get it addressed to c1 itself;
# IPv4 only).  fwd and rep are of the load's FAMILY.
load_for() {
	local cfg=$1 dir=$2 flows=$3 file=$4 sp dp c1 server snat
	read -r sp dp <<<"$(ports_for "$flows")"
	c1=$(fam C1_ADDR) server=$(fam SERVER_ADDR) snat=$(fam SNAT_ADDR)
	case $dir:$cfg in
	dnat:veth)
		trafgen_cfg "$file" "$TB_GEN_MAC" "$CLIENT_ADDR" "$sp" \
			"$C1_ADDR" "$SINK_PORT"
		echo "out eth1 gen eth0" ;;
	dnat:*)
		if cfg_nats "$cfg" || [[ $cfg == gen ]]; then
			trafgen_cfg "$file" "$TB_UP0_MAC" "$CLIENT_ADDR" "$sp" \
				"$SNAT_ADDR" "$PUB_UDP_PORT"
		else
			trafgen_cfg "$file" "$TB_UP0_MAC" "$CLIENT_ADDR" "$sp" \
				"$C1_ADDR" "$SINK_PORT"
		fi
		if [[ $cfg == gen ]]; then
			echo "out eth0 router up0"
		else
			echo "out eth0 c1 eth0"
		fi ;;
	fwd:veth)
		trafgen_cfg "$file" "$TB_ETH1_MAC" "$c1" "$sp" \
			"$server" "$dp"
		echo "gen eth0 out eth1" ;;
	rep:veth)
		trafgen_cfg "$file" "$TB_GEN_MAC" "$server" "$dp" \
			"$c1" "$sp"
		echo "out eth1 gen eth0" ;;
	fwd:*)
		trafgen_cfg "$file" "$TB_GW_MAC" "$c1" "$sp" \
			"$server" "$dp"
		if [[ $cfg == gen ]]; then
			echo "c1 eth0 router $TB_HOST_IF"
		else
			echo "c1 eth0 out eth0"
		fi ;;
	rep:*)
		# A reply comes back to the address the flow was NATed to,
		# with the port it kept (both NATs keep a free port).
		if cfg_nats "$cfg"; then
			trafgen_cfg "$file" "$TB_UP0_MAC" "$server" \
				"$dp" "$snat" "$sp"
		else
			trafgen_cfg "$file" "$TB_UP0_MAC" "$server" \
				"$dp" "$c1" "$sp"
		fi
		if [[ $cfg == gen ]]; then
			echo "out eth0 router up0"
		else
			echo "out eth0 c1 eth0"
		fi ;;
	esac
}

# Busy CPU ticks so far, all CPUs together (steal, the hypervisor's, and
# idle left out).
cpu_ticks() {
	local user nice sys irq softirq
	read -r _ user nice sys _ _ irq softirq _ </proc/stat
	echo "$((user + nice + sys + irq + softirq))"
}

CLK_TCK=$(getconf CLK_TCK)

# One trafgen process, so that the other core is free to show what spills
# over to it.  --no-sock-mem and --notouch-irq keep trafgen's hands off
# machine-wide settings (socket memory sysctls, IRQ affinity); their short
# forms -A and -Q are missing from trafgen 0.6.8's option parser.
TRAFGEN_OPTS="-P 1 --no-sock-mem --notouch-irq"

# trafgen_start NS DEV FILE: send the load in the background ($! is its
# process), bounded twice: by a packet count and by the clock.
trafgen_start() {
	# shellcheck disable=SC2086
	timeout 60 ip netns exec "$1" trafgen -o "$2" -i "$3" -n 200000000 \
		$TRAFGEN_OPTS >>"$WORK/trafgen.log" 2>&1 &
}

# prime CONFIG FLOWS: create the flows of a load in the NAT, one packet
# each, so that its reply load finds them.
prime() {
	local cfg=$1 flows=$2 file=$WORK/prime.cfg n
	load_for "$cfg" fwd "$flows" "$file" >/dev/null
	n=$(flows_count "$flows")
	# shellcheck disable=SC2086
	timeout 60 ip netns exec c1 trafgen -o eth0 -i "$file" -n "$n" \
		$TRAFGEN_OPTS >>"$WORK/trafgen.log" 2>&1 ||
		die "priming $flows flows for $cfg failed"
}

# The ksoftirqd threads' schedstat files, in the host's /proc (bench.sh
# keeps a view of it at /run/host-proc): what they run is softirq work
# the sender's context left over, our packets' included.
ksoftirqd_stats() {
	local comm
	for comm in /run/host-proc/[0-9]*/comm; do
		[[ $(<"$comm") == ksoftirqd/* ]] 2>/dev/null &&
			echo "${comm%/comm}/schedstat"
	done
	return 0
}

# CPU time (ns) that trafgen and the ksoftirqd threads have had so far:
# trafgen's own work and, since this kernel accounts time by tick and not
# by interrupt, the softirq work done on its way out of the kernel, that
# is the whole path of most packets; the rest is in ksoftirqd.  What other
# tenants of the machine run is not in it, unlike /proc/stat.
own_ns() {
	local pid f sum=0 ns rest
	for pid in $(pgrep -x trafgen); do
		read -r ns rest <"/proc/$pid/schedstat" 2>/dev/null || continue
		sum=$((sum + ns))
	done
	for f in $KSOFTIRQD_STATS; do
		read -r ns rest <"$f" 2>/dev/null || continue
		sum=$((sum + ns))
	done
	echo "$sum"
}

# udp_rate CONFIG DIR FLOWS: measure; prints "pps cpu_ns_per_packet
# own_ns_per_packet": the rate at the sink, all CPUs' busy time per packet
# (/proc/stat), and the CPU time of the generator and of ksoftirqd per
# packet (own_ns).
udp_rate() {
	local cfg=$1 dir=$2 flows=$3 file=$WORK/load.cfg
	local ns dev sns sdev pid c0 c1 t0 t1 b0 b1 g0 g1
	read -r ns dev sns sdev <<<"$(load_for "$cfg" "$dir" "$flows" "$file")"
	trafgen_start "$ns" "$dev" "$file"
	pid=$!
	sleep "$WARM_S"
	t0=$EPOCHREALTIME
	b0=$(cpu_ticks)
	g0=$(own_ns)
	c0=$(rx_packets "$sns" "$sdev")
	sleep "$UDP_S"
	t1=$EPOCHREALTIME
	b1=$(cpu_ticks)
	g1=$(own_ns)
	c1=$(rx_packets "$sns" "$sdev")
	kill -INT "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	awk -v c="$((c1 - c0))" -v t0="$t0" -v t1="$t1" -v b="$((b1 - b0))" \
		-v g="$((g1 - g0))" -v hz="$CLK_TCK" 'BEGIN {
			pps = c / (t1 - t0);
			cpu = c > 0 ? b / hz * 1e9 / c : 0;
			gen = c > 0 ? g / c : 0;
			printf "%.0f %.1f %.1f\n", pps, cpu, gen }'
}

# tcp_stream CONFIG STREAMS: "bits_per_second cpu_ns_per_kilobyte", with
# iperf3 from c1 to a one-shot server in the outside.
tcp_stream() {
	local streams=$2 spid out b0 b1 bps bytes ns
	ip netns exec out timeout $((RUN_S + 15)) iperf3 -s -1 \
		-B "$SERVER_ADDR" -p "$IPERF_PORT" >/dev/null 2>&1 &
	spid=$!
	retry_ss out "$IPERF_PORT"
	read -r ns _ <<<"$(tcp_inside "$1")"
	b0=$(cpu_ticks)
	out=$(ip netns exec "$ns" timeout $((RUN_S + 10)) iperf3 \
		-c "$SERVER_ADDR" -p "$IPERF_PORT" -t "$RUN_S" -P "$streams" \
		-J 2>/dev/null) || true
	b1=$(cpu_ticks)
	wait "$spid" 2>/dev/null || true
	read -r bps bytes < <(jq -r '.end.sum_received |
		[.bits_per_second // 0, .bytes // 0] | @tsv' <<<"$out" \
		2>/dev/null) || true
	awk -v bps="${bps:-0}" -v bytes="${bytes:-0}" -v b="$((b1 - b0))" \
		-v hz="$CLK_TCK" 'BEGIN {
			cpu = bytes > 0 ? b / hz * 1e9 / (bytes / 1000) : 0;
			printf "%.0f %.1f\n", bps, cpu }'
}

retry_ss() {	# NS PORT: wait until something listens
	local i
	for ((i = 0; i < 50; i++)); do
		ip netns exec "$1" ss -Hltn "sport = :$2" | grep -q . && return 0
		sleep 0.05
	done
	return 1
}

# tcp_txn CONFIG rr|crr THREADS [dnat]: "per_second p50_us p99_us
# cpu_us_per_transaction errors", from tools/tcp_crr in c1 against its
# server in the outside; with dnat, from the outside to c1's server through
# its published port (to c1 itself where nothing NATs).
tcp_txn() {
	local mode=$2 threads=$3 out b0 b1 ns addr=$SERVER_ADDR port
	read -r ns _ <<<"$(tcp_inside "$1")"
	port=$(crr_port "$1")
	if [[ ${4:-} == dnat ]]; then
		ns=out
		read -r _ addr <<<"$(tcp_inside "$1")"
		port=$(crr_port "$1" "$DNAT_CRR_PORT")
		if cfg_nats "$1"; then
			# the client asks for PORT and connects to PORT + 1
			addr=$SNAT_ADDR port=$((PUB_TCP_PORT - 1))
		fi
	fi
	b0=$(cpu_ticks)
	out=$(ip netns exec "$ns" timeout $((RUN_S + 10)) \
		"$BUILD/tools/tcp_crr" "$mode" -c "$addr" -p "$port" \
		-n "$threads" -t "$RUN_S" 2>>"$WORK/tcp_crr.log") || true
	b1=$(cpu_ticks)
	[[ -n $out ]] ||
		out='{"count":0,"per_second":0,"p50_us":0,"p99_us":0,"errors":-1}'
	jq -r --argjson b "$((b1 - b0))" --argjson hz "$CLK_TCK" '
		(if .count > 0 then $b / $hz * 1e6 / .count else 0 end) as $cpu |
		"\(.per_second) \(.p50_us) \(.p99_us) \($cpu) \(.errors)"' <<<"$out"
}
