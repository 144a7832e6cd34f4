# SPDX-License-Identifier: GPL-2.0-only
#
# Commands at the same time, and commands killed in the middle: each
# command that would succeed alone succeeds, and what a killed one left
# is cleaned up by the next, with no manual cleaning.
# modes: tc xdp

# up_bg ARG...: bpfnat up in the background, in this test's mode, with
# SIGINT at its default (a shell's background job would ignore it).
up_bg() {
	env --default-signal=INT "$BPFNAT" up --uplink up0 "${MODE_ARGS[@]}" \
		"$@" 2>>/tmp/errors &
}

# kill_at_random PID MS PATH: kill -9 command PID, which takes MS
# milliseconds, at a random moment: in half the rounds within MS of its
# start, in the others a few random steps of a busy loop after PATH
# appears (once it has begun to change things; a sleep would start too
# late), so that kills land before, in and after its work.
kill_at_random() {
	local pid=$1 ms=$2 path=$3 n spin
	if ((RANDOM % 2)); then
		for ((n = 0; n < 100000; n++)); do
			[[ ! -e $path ]] && kill -0 "$pid" 2>/dev/null || break
		done
		for ((spin = RANDOM % (20 * ms); spin > 0; spin--)); do
			:
		done
	else
		sleep "$(awk -v r=$RANDOM -v ms="$ms" 'BEGIN { printf "%.4f", r % (ms * 10) / 10000 }')"
	fi
	kill -9 "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# wait_all WHAT PID...: every one of them succeeded.
wait_all() {
	local what=$1 pid failed=0
	shift
	for pid in "$@"; do
		wait "$pid" || failed=$((failed + 1))
	done
	[[ $failed == 0 ]] || fail "$what: $failed failed: $(sort /tmp/errors | uniq -c)"
}

test_ups_at_once() {
	bpfnat ns add a
	bpfnat ns add b
	outside_add
	local pids=() i
	: >/tmp/errors
	for i in 1 2 3; do
		up_bg
		pids+=($!)
	done
	wait_all "three ups from down" "${pids[@]}"
	state_agrees
	pids=()
	for i in 1 2 3; do
		up_bg
		pids+=($!)
	done
	wait_all "three ups while up" "${pids[@]}"
	state_agrees
	assert_ok "a reaches the outside" in_ns a ping -c1 -W2 198.51.100.2
	bpfnat down
	nothing_left
}

test_twenty_ns_add_and_del_at_once() {
	outside_add
	nat_up 2>/dev/null
	local pids=() i
	: >/tmp/errors
	for ((i = 0; i < 20; i++)); do
		bpfnat ns add "c$i" 2>>/tmp/errors &
		pids+=($!)
	done
	wait_all "20 ns add" "${pids[@]}"
	assert_eq "$(bpfnat ns list -j | jq '[.[].address] | unique | length')" \
		20 "20 containers, 20 addresses"
	state_agrees
	assert_ok "the last one reaches the outside" \
		in_ns c19 ping -c1 -W2 198.51.100.2
	pids=()
	for ((i = 0; i < 20; i++)); do
		bpfnat ns del "c$i" 2>>/tmp/errors &
		pids+=($!)
	done
	wait_all "20 ns del" "${pids[@]}"
	assert_eq "$(ip netns list | awk '{ print $1 }')" "out" "no container namespace left"
	assert_eq "$(ip -o link show type veth | grep -c ' bn' || true)" 0 \
		"no container veth left"
	state_agrees
}

# One worker of the mixed load: five commands of its role.  The ns
# workers add and delete containers of their own and leave one.
mixed_worker() {
	local w=$1 role=$2 rc=0 cmd
	local -a cmds
	case $role in
	up) cmds=(up up up up up) ;;
	flush) cmds=(flush flush flush flush flush) ;;
	downup) cmds=("add 0" "del 0" down up "add 1") ;;
	ns) cmds=("add 0" "del 0" "add 1" "del 1" "add 2") ;;
	esac
	for cmd in "${cmds[@]}"; do
		case $cmd in
		up) "$BPFNAT" up --uplink up0 "${MODE_ARGS[@]}" 2>>/tmp/errors ;;
		down) "$BPFNAT" down 2>>/tmp/errors ;;
		flush) "$BPFNAT" ct flush >/dev/null 2>>/tmp/errors ;;
		add*) "$BPFNAT" ns add "w$w-${cmd#add }" >/dev/null 2>>/tmp/errors ;;
		del*) "$BPFNAT" ns del "w$w-${cmd#del }" 2>>/tmp/errors ;;
		esac || { echo "w$w: $cmd failed" >>/tmp/errors; rc=1; }
	done
	return $rc
}

# 50 mixed commands from 10 processes at once, 10 rounds, while a TCP
# transfer between two containers runs, which none of them should touch
# (down leaves the containers working through the kernel; up takes them
# back).
test_fifty_mixed_commands_ten_rounds() {
	world_up 2>/dev/null
	in_ns b iperf3 -s -D -B 172.18.0.3 --logfile /tmp/iperf.log
	wait_tcp b 5201
	# (not through a function: its subshell would be what $! names)
	ip netns exec a iperf3 -c 172.18.0.3 -t 3600 -i 1 -J >/tmp/run.json &
	local client=$! round w pids
	local roles=(up flush downup ns ns ns ns ns ns up)
	sleep 1
	: >/tmp/errors
	for ((round = 0; round < 10; round++)); do
		pids=()
		for ((w = 0; w < 10; w++)); do
			mixed_worker "$round$w" "${roles[w]}" &
			pids+=($!)
		done
		wait_all "round $round" "${pids[@]}"
		state_agrees
		assert_eq "$(bpfnat ns list -j | jq length)" \
			$((2 + 7 * (round + 1))) "containers after round $round"
	done
	sleep 1
	kill -TERM "$client"
	wait "$client" || true
	# an interrupted client says so; a reset would say otherwise
	assert_eq "$(jq -r .error /tmp/run.json)" \
		"interrupt - the client has terminated" "the transfer ran on"
	jq -e '[.intervals[].sum.bytes] | length > 2 and all(. > 0)' \
		/tmp/run.json >/dev/null ||
		fail "a second without data: $(jq -c '[.intervals[].sum.bytes]' /tmp/run.json)"
}

# kill -9 at a random moment of ns add, 20 times: the next ns add of the
# same name succeeds, and once all are deleted nothing is left.
test_ns_add_killed() {
	outside_add
	nat_up 2>/dev/null
	local i ms midway=0 t0 t1
	t0=$(date +%s%N)
	bpfnat ns add probe
	t1=$(date +%s%N)
	bpfnat ns del probe
	ms=$(((t1 - t0) / 1000000 + 1))
	for ((i = 0; i < 20; i++)); do
		"$BPFNAT" ns add "k$i" >/dev/null 2>&1 &
		kill_at_random $! "$ms" "/run/bpfnat/intent/k$i"
		if [[ -e /run/bpfnat/intent/k$i ]]; then
			midway=$((midway + 1))
		elif bpfnat ns list -j | jq -e --arg n "k$i" 'any(.name == $n)' \
			>/dev/null; then
			continue	# it had finished: nothing to redo
		fi
		assert_ok "ns add k$i after a kill" bpfnat ns add "k$i"
		assert_ok "k$i works" in_ns "k$i" ping -c1 -W2 198.51.100.2
	done
	echo "$midway of 20 kills landed in the middle of an ns add (one takes ${ms} ms)"
	[[ $midway -ge 1 ]] || fail "no kill landed in the middle: the test tested nothing"
	state_agrees
	for ((i = 0; i < 20; i++)); do
		bpfnat ns del "k$i"
	done
	assert_eq "$(ip netns list | awk '{ print $1 }')" "out" "no namespace left"
	assert_eq "$(ip -o link show type veth | grep -c ' bn' || true)" 0 "no veth left"
	assert_eq "$(bpftool map dump pinned /sys/fs/bpf/bpfnat/endpoints -j |
		jq length)" 0 "no endpoint left"
	state_agrees
}

# kill -9 of ns del halfway: ns del of the same name finishes the job.
test_ns_del_killed() {
	outside_add
	nat_up 2>/dev/null
	local i pid
	for ((i = 0; i < 20; i++)); do
		bpfnat ns add "d$i" >/dev/null
		"$BPFNAT" ns del "d$i" 2>/dev/null &
		pid=$!
		sleep "0.00$((RANDOM % 10))"
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		if bpfnat ns list -j | jq -e --arg n "d$i" 'any(.name == $n)' \
			>/dev/null || [[ -e /run/bpfnat/intent/d$i ]]; then
			assert_ok "ns del d$i after a kill" bpfnat ns del "d$i"
		fi
		netns_exists=$(ip netns list | grep -c "^d$i\b" || true)
		assert_eq "$netns_exists" 0 "d$i's namespace is gone"
	done
	assert_eq "$(ip -o link show type veth | grep -c ' bn' || true)" 0 "no veth left"
	state_agrees
}

# kill -9 at a random moment of up, 20 times, in five kinds of rounds:
# from down, then up; over a running data path, then up; of an up that
# moves to another uplink, after which status still shows the running one
# and that uplink is left as it was; from down, then down; and from down,
# then an up itself interrupted with SIGINT.  Each ends with down leaving
# nothing.
test_up_killed() {
	bpfnat ns add a
	bpfnat ns add b
	outside_add
	ip link add up1 type veth peer name up1p
	ip addr add 203.0.113.1/24 dev up1
	ip link set up1 up
	ip link set up1p up
	local i ms t0 t1 midway=0 pid uplink staged
	t0=$(date +%s%N)
	nat_up 2>/dev/null
	t1=$(date +%s%N)
	bpfnat down
	ms=$(((t1 - t0) / 1000000 + 1))
	for ((i = 0; i < 20; i++)); do
		case $((i % 5)) in
		1 | 2) nat_up 2>/dev/null ;;
		esac
		if ((i % 5 == 2)); then
			"$BPFNAT" up --uplink up1 "${MODE_ARGS[@]:0:2}" \
				>/dev/null 2>&1 &
		else
			"$BPFNAT" up --uplink up0 "${MODE_ARGS[@]}" \
				>/dev/null 2>&1 &
		fi
		kill_at_random $! "$ms" /sys/fs/bpf/bpfnat_staging
		staged=0
		[[ -e /sys/fs/bpf/bpfnat_staging ]] && staged=1
		midway=$((midway + staged))
		case $((i % 5)) in
		2)
			# up1 runs only if the killed up got to commit (its
			# staging pins go last, a few steps after)
			uplink=$(bpfnat status -j | jq -r .uplink)
			[[ $uplink == up0 || ($uplink == up1 && $staged == 0) ]] ||
				fail "after a move to up1 killed midway: $uplink"
			assert_ok "up after a kill" bpfnat up 2>/dev/null
			assert_eq "$(bpfnat status -j | jq -r .uplink)" \
				"$uplink" "the next up keeps what ran"
			[[ $uplink == up1 ]] && nat_up 2>/dev/null
			assert_no_match "$(tc qdisc show dev up1)" clsact \
				"up1 as it was"
			;;
		3)
			bpfnat down
			;;
		4)
			env --default-signal=INT "$BPFNAT" up --uplink up0 \
				"${MODE_ARGS[@]}" >/dev/null 2>&1 &
			pid=$!
			sleep "0.0$((RANDOM % 10))"
			kill -INT "$pid" 2>/dev/null || true
			wait "$pid" 2>/dev/null || bpfnat up --uplink up0 \
				"${MODE_ARGS[@]}" 2>/dev/null
			;;
		*)
			assert_ok "up after a kill" nat_up 2>/dev/null
			;;
		esac
		if ((i % 5 != 3)); then
			state_agrees
			assert_ok "a reaches the outside" \
				in_ns a ping -c1 -W2 198.51.100.2
			bpfnat down
		fi
		nothing_left
	done
	echo "$midway of 20 kills landed in the middle of an up (one takes ${ms} ms)"
	[[ $midway -ge 1 ]] || fail "no kill landed in the middle: the test tested nothing"
}
