#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Inside a test's fresh namespaces (see run.sh): give it the filesystems a
# network namespace needs, then run one test.
#
#   sandbox.sh unit NAME             a test of build/test_unit
#   sandbox.sh e2e FILE FUNCTION MODE   a function of an end-to-end file
#
# Exit status: 0 passed, 77 skipped, anything else failed.
set -euo pipefail

# /sys must show this namespace's devices; bpffs and /run must be ours
# alone, so pins and named namespaces vanish with the sandbox.
mount -t sysfs sysfs /sys
mount -t bpf bpf /sys/fs/bpf
mount -t tmpfs -o mode=0755 tmpfs /run
# The tree and the build stay in view when they live under /tmp, which a
# tmpfs of the test's own is about to cover.
for var in BPFNAT_TOP BPFNAT_BUILD; do
	dir=${!var}
	if [[ $dir == /tmp/* ]]; then
		mkdir -p "/run/bpfnat/$var"
		mount --bind "$dir" "/run/bpfnat/$var"
		export "$var=/run/bpfnat/$var"
	fi
done
export BPFNAT=$BPFNAT_BUILD/bpfnat
mount -t tmpfs tmpfs /tmp
ip link set lo up

kind=$1
shift
case $kind in
unit)
	exec "$BPFNAT_BUILD/test_unit" "$1"
	;;
e2e)
	export BPFNAT_MODE=$3
	# shellcheck source=tests/lib.sh
	source "$BPFNAT_TOP/tests/lib.sh"
	# shellcheck disable=SC1090
	source "$BPFNAT_TOP/$1"
	set +e
	(
		set -eE
		trap 'echo "FAIL: ${BASH_SOURCE[0]##*/}:$LINENO: $BASH_COMMAND" >&2' ERR
		"$2"
	)
	exit $?
	;;
*)
	echo "sandbox.sh: unknown kind $kind" >&2
	exit 2
	;;
esac
