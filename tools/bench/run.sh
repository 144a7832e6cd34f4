# SPDX-License-Identifier: GPL-2.0-only
#
# The benchmark's rounds, run inside its namespaces by tools/bench.sh
# --inside.  Every measurement becomes one JSON line in $WORK/samples.jsonl;
# tools/bench/report.sh turns them into medians, ratios, a table and plots.
# shellcheck shell=bash disable=SC2034,SC2153  # lib.sh's and bench.sh's

# -fwd: c1 -> the outside; -rep: the replies; -dnat: the outside to c1's
# published port (the same measurement as -rep, but every flow is a DNAT
# made by its first packet, with no flow from c1 before it).  udp6-: the
# same over IPv6 (NAT66; ip6tables and nftables masquerade).
UDP_SCENARIOS="udp-1-fwd udp-10k-fwd udp-1-rep udp-10k-rep udp-10k-dnat
	udp6-10k-fwd udp6-10k-rep"
TCP_SCENARIOS="tcp-stream-1 tcp-stream-4 tcp-rr tcp-crr tcp-crr-dnat"
N_UDP=$(wc -w <<<"$UDP_SCENARIOS")
N_TCP=$(wc -w <<<"$TCP_SCENARIOS")
TABLE_CONFIGS="ipt-nft bpfnat-tc bpfnat-xdp"

declare -A SKIP=()	# configuration -> why it is skipped
STEP=0 STEPS=0 T_START=0

sample() {	# JSON object
	printf '%s\n' "$1" >>"$WORK/samples.jsonl"
}

progress() {
	local now eta=""
	STEP=$((STEP + 1))
	now=$(date +%s)
	if ((STEP > 1)); then
		eta=$(( (now - T_START) * (STEPS - STEP + 1) / (STEP - 1) ))
		eta=$(printf ' ETA %dm%02ds' $((eta / 60)) $((eta % 60)))
	fi
	printf '\r\033[K[%3d/%d]%s %s' "$STEP" "$STEPS" "$eta" "$*" >&2
}

# cfg_try_up CONFIG: set it up, or remember why not and say so once.
cfg_try_up() {
	local cfg=$1 err
	[[ -z ${SKIP[$cfg]:-} ]] || return 1
	if ! err=$("cfg_up_$cfg" 2>&1 >/dev/null); then
		err=${err//$'\n'/ }
		SKIP[$cfg]=${err:-setup failed}
		printf '\r\033[K' >&2
		log "bench: skipping $cfg: its setup failed: ${SKIP[$cfg]}"
		sample "$(jq -cn --arg c "$cfg" --arg r "${SKIP[$cfg]}" \
			'{kind: "skip", config: $c, reason: $r}')"
		"cfg_down_$cfg" >/dev/null 2>&1 || true
		return 1
	fi
}

# Flows the NAT of CONFIG holds now (empty for those without one).
ct_flows() {
	case $1 in
	bpfnat-*) "$BPFNAT" ct count 2>/dev/null || echo null ;;
	ipt-* | nft) conntrack -C 2>/dev/null || echo null ;;
	*) echo null ;;
	esac
}

run_udp() {	# ROUND CONFIG SCENARIO
	local r=$1 cfg=$2 scen=$3 flows dir pps cpu own
	FAMILY=4
	[[ $scen == udp6-* ]] && FAMILY=6
	flows=${scen#udp*-}
	dir=${flows#*-}
	flows=${flows%-*}
	if [[ $dir == rep ]] && cfg_nats "$cfg"; then
		prime "$cfg" "$flows"
	fi
	read -r pps cpu own <<<"$(udp_rate "$cfg" "$dir" "$flows")"
	[[ $pps -gt 0 ]] || log "bench: $cfg $scen: nothing arrived at the sink"
	sample "$(jq -cn --argjson r "$r" --arg c "$cfg" --arg s "$scen" \
		--arg f "$flows" --arg d "$dir" --argjson v "$pps" \
		--argjson cpu "$cpu" --argjson own "$own" \
		--argjson ct "$(ct_flows "$cfg")" \
		--argjson fam "$FAMILY" \
		'{kind: "udp", round: $r, config: $c, scenario: $s, flows: $f,
		  dir: $d, family: $fam, value: $v, unit: "pps",
		  cpu_ns_per_unit: $cpu, own_ns_per_unit: $own, ct_flows: $ct}')"
	FAMILY=4
}

run_tcp() {	# ROUND CONFIG SCENARIO
	local r=$1 cfg=$2 scen=$3 v cpu p50 p99 errs
	case $scen in
	tcp-stream-*)
		read -r v cpu <<<"$(tcp_stream "$cfg" "${scen#tcp-stream-}")"
		sample "$(jq -cn --argjson r "$r" --arg c "$cfg" --arg s "$scen" \
			--argjson v "$v" --argjson cpu "$cpu" \
			'{kind: "tcp", round: $r, config: $c, scenario: $s,
			  value: $v, unit: "bit/s", cpu_ns_per_unit: $cpu,
			  cpu_unit: "kB"}')"
		;;
	tcp-rr | tcp-crr | tcp-crr-dnat)
		# rr: one connection, one transaction in flight (latency);
		# crr: one connecting thread per core (rate); -dnat: from the
		# outside to c1's published port
		local threads=1 mode=${scen#tcp-} via=""
		[[ $mode == *-dnat ]] && via=dnat mode=${mode%-dnat}
		[[ $mode == crr ]] && threads=2
		read -r v p50 p99 cpu errs \
			<<<"$(tcp_txn "$cfg" "$mode" "$threads" "$via")"
		sample "$(jq -cn --argjson r "$r" --arg c "$cfg" --arg s "$scen" \
			--argjson v "$v" --argjson p50 "$p50" --argjson p99 "$p99" \
			--argjson cpu "$cpu" --argjson e "$errs" \
			'{kind: "txn", round: $r, config: $c, scenario: $s,
			  value: $v, unit: "1/s", p50_us: $p50, p99_us: $p99,
			  cpu_ns_per_unit: ($cpu * 1000), errors: $e}')"
		;;
	esac
}

pow2_at_least() {
	local n=$1 p=64
	while ((p < n)); do p=$((p * 2)); done
	echo "$p"
}

slab_kb() {
	awk '/^Slab:/ { print $2 }' /proc/meminfo
}

# Bytes of bpfnat's conntrack maps, all preallocated: index, flows, free.
bpfnat_ct_bytes() {
	local m sum=0 b
	for m in ct_index ct_flows ct_free; do
		b=$(bpftool map show pinned "/sys/fs/bpf/bpfnat/$m" -j |
			jq -r '.bytes_memlock // 0')
		sum=$((sum + b))
	done
	echo "$sum"
}

run_table() {	# ROUND CONFIG SIZE
	local r=$1 cfg=$2 size=$3 n cap pps cpu own ct s0 s1 mem=null
	n=$(flows_count "$size")
	cap=$(pow2_at_least "$n")
	CT_MAX=$cap
	cfg_try_up "$cfg" || { CT_MAX=""; return 0; }
	s0=$(slab_kb)
	prime "$cfg" "$size"
	ct=$(ct_flows "$cfg")
	s1=$(slab_kb)
	case $cfg in
	bpfnat-*) mem=$(bpfnat_ct_bytes) ;;
	*) mem=$(( (s1 - s0) * 1024 )) ;;
	esac
	read -r pps cpu own <<<"$(udp_rate "$cfg" fwd "$size")"
	"cfg_down_$cfg" >/dev/null 2>&1 || log "bench: $cfg: teardown failed"
	CT_MAX=""
	sample "$(jq -cn --argjson r "$r" --arg c "$cfg" --arg s "table-$size" \
		--argjson n "$n" --argjson v "$pps" --argjson cpu "$cpu" \
		--argjson own "$own" --argjson ct "$ct" --argjson mem "$mem" \
		--argjson cap "$cap" \
		'{kind: "table", round: $r, config: $c, scenario: $s, flows: $n,
		  value: $v, unit: "pps", cpu_ns_per_unit: $cpu,
		  own_ns_per_unit: $own, ct_flows: $ct,
		  ct_max: (if $c | startswith("bpfnat") then $cap else null end),
		  memory_bytes: $mem}')"
}

# BPF_PROG_TEST_RUN: nanoseconds per packet of each program, next to an
# empty one (bench_drop: the floor a test run itself costs).  Each mode's
# programs run with that mode up: XDP's redirect needs its device map.
run_testrun() {
	local bpfnat=/sys/fs/bpf/bpfnat
	local c1=$C1_ADDR:1024 server=$SERVER_ADDR:$SINK_PORT
	local client=$CLIENT_ADDR:1024 pub=$SNAT_ADDR:$PUB_UDP_PORT
	local host=$TB_HOST_IFINDEX up0=$TB_UP0_IFINDEX
	local mode
	for mode in tc xdp; do
		cfg_try_up "bpfnat-$mode" || continue
		# the first run of each makes the flow, the others find it
		testrun_rows <<-EOF
		$bpfnat/${mode}_container fwd $host $c1 $server
		$bpfnat/${mode}_uplink rep $up0 $server $SNAT_ADDR:1024
		$bpfnat/${mode}_uplink dnat $up0 $client $pub
		EOF
		"cfg_down_bpfnat-$mode" >/dev/null 2>&1 || true
	done
	cfg_up_redirect >/dev/null
	tc_detach "$TB_HOST_IF"
	tc_detach up0
	testrun_rows <<-EOF
	$PIN/bench_redirect fwd $host $c1 $server
	$PIN/bench_redirect rep $up0 $server $c1
	$PIN/bench_drop fwd $host $c1 $server
	EOF
	cfg_down_redirect >/dev/null 2>&1 || true
}

# Lines of "PROG DIR IFINDEX SRC DST" on stdin: one sample each.
testrun_rows() {
	local prog dir ifindex src dst out
	while read -r prog dir ifindex src dst; do
		[[ -e $prog ]] || continue
		progress "BPF_PROG_TEST_RUN ${prog##*/} $dir"
		out=$("$BUILD/tools/testrun_ns" run -n "$TESTRUN_CALLS" \
			-i "$ifindex" "$prog" "$src" "$dst") || continue
		sample "$(jq -c --arg d "$dir" '{kind: "testrun", dir: $d} + .' \
			<<<"$out")"
	done
}

# The programs' own run time while they carry the 10k-flow loads.
run_bpf_stats() {
	local cfg dir file ns dev sns sdev pid out pins f
	for cfg in redirect bpfnat-tc bpfnat-xdp; do
		cfg_try_up "$cfg" || continue
		for dir in fwd rep dnat fwd6 rep6; do
			progress "bpf run time $cfg $dir"
			FAMILY=4
			[[ $dir == *6 ]] && FAMILY=6
			if [[ ${dir%6} == rep ]] && cfg_nats "$cfg"; then
				prime "$cfg" 10k
			fi
			file=$WORK/stats.cfg
			read -r ns dev sns sdev \
				<<<"$(load_for "$cfg" "${dir%6}" 10k "$file")"
			trafgen_start "$ns" "$dev" "$file"
			pid=$!
			sleep "$WARM_S"
			if [[ $cfg == redirect ]]; then
				pins="$PIN/bench_redirect $PIN/bench_drop"
			else
				# tc mode has no XDP programs: only those
				# pinned (ls of a missing one fails the run)
				pins=""
				for f in /sys/fs/bpf/bpfnat/{tc,xdp}_{container,uplink} \
					 /sys/fs/bpf/bpfnat/tc_guard; do
					[[ -e $f ]] && pins+="$f "
				done
				pins+="$PIN/bench_drop"
			fi
			# shellcheck disable=SC2086
			out=$("$BUILD/tools/testrun_ns" stats 1 $pins) || out=null
			kill -INT "$pid" 2>/dev/null || true
			wait "$pid" 2>/dev/null || true
			sample "$(jq -cn --arg c "$cfg" --arg d "$dir" \
				--argjson p "$out" '{kind: "bpf_stats",
				config: $c, dir: $d, progs: $p}')"
			FAMILY=4
		done
		"cfg_down_$cfg" >/dev/null 2>&1 || true
	done
}

bench_inside() {
	local r i cfg scen size nf_max
	local -a configs order

	# /sys must show this namespace's devices; bpffs and /run must be
	# ours alone, so that pins and named namespaces vanish with us.
	mount -t sysfs sysfs /sys
	mount -t bpf bpf /sys/fs/bpf
	mount -t tmpfs -o mode=0755 tmpfs /run
	# /proc of this PID namespace, and a view of the host's for the
	# ksoftirqd threads' CPU time
	mkdir /run/host-proc
	mount --bind /proc /run/host-proc
	mount -t proc proc /proc

	tb_build
	read -ra configs <<<"$CONFIGS"
	nf_max=$(cat /proc/sys/net/netfilter/nf_conntrack_max)

	# steps, for the progress line
	for cfg in "${configs[@]}"; do
		STEPS=$((STEPS + ROUNDS * N_UDP))
		cfg_tcp "$cfg" && STEPS=$((STEPS + ROUNDS * N_TCP))
		if [[ " $TABLE_CONFIGS " == *" $cfg "* ]]; then
			STEPS=$((STEPS + TABLE_ROUNDS * $(wc -w <<<"$TABLE_SIZES")))
		fi
	done
	STEPS=$((STEPS + 9))
	[[ $BPF_STATS == 1 ]] && STEPS=$((STEPS + 15))
	T_START=$(date +%s)

	for ((r = 1; r <= ROUNDS; r++)); do
		# round-robin, starting one further each round, so no
		# configuration always runs first or after the same one
		order=()
		for ((i = 0; i < ${#configs[@]}; i++)); do
			order+=("${configs[$(( (i + r - 1) % ${#configs[@]} ))]}")
		done
		for cfg in "${order[@]}"; do
			if ! cfg_try_up "$cfg"; then
				STEP=$((STEP + N_UDP))
				cfg_tcp "$cfg" && STEP=$((STEP + N_TCP))
				continue
			fi
			for scen in $UDP_SCENARIOS; do
				progress "round $r/$ROUNDS $cfg $scen"
				run_udp "$r" "$cfg" "$scen"
			done
			if cfg_tcp "$cfg"; then
				for scen in $TCP_SCENARIOS; do
					progress "round $r/$ROUNDS $cfg $scen"
					run_tcp "$r" "$cfg" "$scen"
				done
			fi
			"cfg_down_$cfg" >/dev/null 2>&1 ||
				log "bench: $cfg: teardown failed"
		done
	done

	# Packet rate against the size of the flow table.
	for ((r = 1; r <= TABLE_ROUNDS; r++)); do
		for size in $TABLE_SIZES; do
			for cfg in "${configs[@]}"; do
				[[ " $TABLE_CONFIGS " == *" $cfg "* ]] || continue
				progress "round $r/$TABLE_ROUNDS flow table $size $cfg"
				# nf_conntrack's limit is machine-wide: not ours
				# to raise
				if [[ $cfg != bpfnat-* ]] &&
				   (($(flows_count "$size") > nf_max * 9 / 10)); then
					continue
				fi
				run_table "$r" "$cfg" "$size"
			done
		done
	done

	run_testrun
	[[ $BPF_STATS == 1 ]] && run_bpf_stats
	printf '\r\033[K' >&2
	kill "${TB_CRR_PIDS[@]}" 2>/dev/null || true
	return 0
}
