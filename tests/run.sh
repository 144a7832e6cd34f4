#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# bpfnat's test runner.  Every test runs in a sandbox of its own: fresh
# network, mount and PID namespaces (tests/sandbox.sh), so nothing a test
# builds can reach the machine's root namespace or outlive the test.
#
#   tests/run.sh [--unit] [--e2e] [--mode tc|xdp|xdp-full]... [--list]
#                [PATTERN...]
#
# The end-to-end tests run once per mode (tests/lib.sh says what each
# mode's world is), tc, xdp and xdp-full unless --mode says;
# a file with the line "# modes: none" has tests no mode applies to (they
# never bring the data path up), which run once, with BPFNAT_MODE=none;
# "# modes: tc xdp" runs a file's tests in those modes only (of those
# asked for).
#
# PATTERN is a shell glob on test names (e2e/nat/ping_outside[tc], ...), in
# which brackets stand for themselves: 'nat/*[tc]' is the nat suite in tc
# mode.
# Environment: BPFNAT_BUILD (default build) is where the binaries are;
# TEST_TIMEOUT (default 300) bounds each test in seconds;
# BPFNAT_TEST_STRICT=1 (`make test`, after tools/deps.sh) makes a test
# whose tool (podman, containerd, promtool) is missing fail instead of
# skip.  Logs go under
# ${TMPDIR:-/tmp}; nothing is written into the source tree.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
build=${BPFNAT_BUILD:-build}
[[ $build == /* ]] || build=$top/$build
export BPFNAT_BUILD=$build BPFNAT=$build/bpfnat BPFNAT_TOP=$top
timeout_s=${TEST_TIMEOUT:-300}

want_unit=0 want_e2e=0 list_only=0
modes=() patterns=()
while [[ $# -gt 0 ]]; do
	case $1 in
	--unit) want_unit=1 ;;
	--e2e) want_e2e=1 ;;
	--mode) modes+=("$2"); shift ;;
	--list) list_only=1 ;;
	-h|--help) sed -n '3,/^set /p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
	*) patterns+=("$1") ;;
	esac
	shift
done
[[ $want_unit == 0 && $want_e2e == 0 ]] && want_unit=1 want_e2e=1
[[ ${#modes[@]} -eq 0 ]] && modes=(tc xdp xdp-full)

if [[ $(id -u) -ne 0 ]]; then
	echo "run.sh: the tests need root (namespaces, BPF)" >&2
	exit 2
fi
for bin in "$BPFNAT" "$build/test_unit"; do
	[[ -x $bin ]] || { echo "run.sh: $bin missing; run make" >&2; exit 2; }
done

# name<TAB>kind<TAB>argument...
tests=()
if [[ $want_unit == 1 ]]; then
	while read -r name; do
		tests+=("unit/$name	unit	$name")
	done < <("$build/test_unit" --list)
fi
if [[ $want_e2e == 1 ]]; then
	for file in tests/e2e/*.sh; do
		suite=$(basename "$file" .sh)
		file_modes=("${modes[@]}")
		only=$(sed -n 's/^# modes: //p' "$file" | head -n 1)
		if [[ $only == none ]]; then
			file_modes=(none)
		elif [[ -n $only ]]; then
			file_modes=()
			for mode in "${modes[@]}"; do
				[[ " $only " == *" $mode "* ]] && file_modes+=("$mode")
			done
		fi
		for fn in $(grep -o '^test_[a-z0-9_]*' "$file"); do
			for mode in "${file_modes[@]}"; do
				tag="[$mode]"
				[[ $mode == none ]] && tag=''
				tests+=("e2e/$suite/${fn#test_}$tag	e2e	$file	$fn	$mode")
			done
		done
	done
fi

selected() {
	local p
	[[ ${#patterns[@]} -eq 0 ]] && return 0
	for p in "${patterns[@]}"; do
		# brackets are the mode's, as in the names, not a glob's
		p=${p//\[/\\[} p=${p//]/\\]}
		# shellcheck disable=SC2053  # the pattern is a glob on purpose
		[[ $1 == $p || $1 == *$p* ]] && return 0
	done
	return 1
}

logdir=$(mktemp -d "${TMPDIR:-/tmp}/bpfnat-tests.XXXXXX")
passed=0 failed=0 skipped=0
failures=()
for t in "${tests[@]}"; do
	IFS=$'\t' read -r name kind args <<<"$t"
	selected "$name" || continue
	if [[ $list_only == 1 ]]; then
		echo "$name"
		continue
	fi
	log=$logdir/$(echo "$name" | tr '/[]' '___').log
	start=$(date +%s%N)
	# shellcheck disable=SC2086  # args are words by construction
	timeout -k 10 "$timeout_s" unshare -n -m -p -f --mount-proc \
		tests/sandbox.sh "$kind" $args >"$log" 2>&1
	rc=$?
	ms=$((($(date +%s%N) - start) / 1000000))
	secs=$((ms / 1000)).$((ms % 1000 / 100))
	case $rc in
	0)
		passed=$((passed + 1))
		echo "PASS $name (${secs}s)"
		;;
	77)
		skipped=$((skipped + 1))
		why=$(grep '^SKIP:' "$log" | tail -n 1 | sed 's/^SKIP: *//')
		echo "SKIP $name: ${why:-no reason given}"
		;;
	*)
		failed=$((failed + 1))
		failures+=("$name")
		[[ $rc == 124 ]] && echo "timed out after ${timeout_s}s" >>"$log"
		echo "FAIL $name (${secs}s)"
		tail -n 25 "$log" | sed 's/^/    | /'
		;;
	esac
done
[[ $list_only == 1 ]] && exit 0

echo
[[ $failed -gt 0 ]] && printf 'failed: %s\n' "${failures[@]}"
[[ $skipped -gt 0 ]] && echo "$skipped skipped"
echo "logs: $logdir"
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
