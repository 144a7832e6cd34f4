#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# bpfnat's tests on other kernels: Debian 12's two, 6.1 LTS
# (linux-image-amd64) and 6.12 LTS (bookworm-security's
# linux-image-6.12.*+deb12-amd64-unsigned), each booted in turn under qemu
# with software emulation.  The guest mounts this machine's root
# filesystem read-only over 9p and runs tests/run.sh in a chroot into it
# (see vmtest/init); results come back through a shared directory.  qemu
# gets no network device: only 9p and a serial line.
#
#   vmtest/run.sh [--no-build] [PATTERN...] [-- RUN.SH-OPTION...]
#   vmtest/run.sh --shell               an interactive shell in the guest
#   vmtest/run.sh --exec 'CMD'          a bash command line in the guest
#
# PATTERNs and the options after -- (--mode tc, ...) go to tests/run.sh in
# the guest.  The shell and CMD run as root in the source tree, on the
# first kernel of VMTEST_KERNEL.
# Environment:
#   VMTEST_KERNEL   the kernels, in the order they boot: words of 6.1 and
#                   6.12 (default "6.1 6.12"); each is the newest of its
#                   series in /boot
#   VMTEST_KVER     one kernel by its exact version (6.12.117+deb12-amd64);
#                   overrides VMTEST_KERNEL
#   VMTEST_SUITE    what to run, words of KIND or KIND:DIR, where KIND is
#                   insns, unit or e2e (alone: for every build) and "all"
#                   means "insns unit e2e" (default all).  insns is the
#                   verifier's count of every program (tools/prog_insns).
#   VMTEST_BUILDS   build dirs inside the tree and the clang each is built
#                   with (default "build=clang build-clang19=clang-19")
#   VMTEST_TIMEOUT  seconds before a guest counts as hung (default: from
#                   the suites, about five times what they take here)
#   VMTEST_STALL    ... or when the suites print nothing for this long
#                   (default 600)
#   VMTEST_WORK     work dir (default ${TMPDIR:-/tmp}/bpfnat-vmtest), a
#                   dir per kernel inside it
#   VMTEST_MEM, VMTEST_SMP, VMTEST_CPU   guest (default 4G, 2, qemu64)
#   VMTEST_ACCEL    qemu's -accel (default tcg,thread=multi: a host thread
#                   per vCPU; tcg,thread=single runs them in turn)
#   VMTEST_APPEND   more kernel command line
#   SHELL_IN_GUEST=1         same as --shell
#   TEST_TIMEOUT    passed on to tests/run.sh in the guest
#   FUZZ_PACKETS    passed on to the unit tests' fuzz (default there: 1M)
#
# Prints PASS/FAIL per suite and for kernel splats, each line naming its
# kernel, then "vmtest: N passed, N failed" over all kernels; exits 1 on
# any failure, 2 on a usage or setup error.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

die() {
	echo "vmtest: $*" >&2
	exit 2
}

mode=run
[[ ${SHELL_IN_GUEST:-0} == 1 ]] && mode=shell
build_first=1
cmd=''
args=()
given=("$@")
while [[ $# -gt 0 ]]; do
	case $1 in
	--shell) mode=shell ;;
	--exec) mode=exec cmd=${2:?--exec needs a command}; shift ;;
	--no-build) build_first=0 ;;
	-h | --help) # the comment above, to its end
		awk 'NR > 3 && !/^#/ { exit } NR > 3 { sub(/^# ?/, ""); print }' \
			vmtest/run.sh
		exit 0 ;;
	--) shift; args+=("$@"); break ;;
	-*) die "unknown option $1" ;;
	*) args+=("$1") ;;
	esac
	shift
done

read -r -a builds <<<"${VMTEST_BUILDS:-build=clang build-clang19=clang-19}"
base=${VMTEST_WORK:-${TMPDIR:-/tmp}/bpfnat-vmtest}

# The suites as KIND:DIR, in the order they run.
suites=()
if [[ $mode == run ]]; then
	for word in ${VMTEST_SUITE:-all}; do
		[[ $word == all ]] && word="insns unit e2e"
		for w in $word; do
			case $w in
			insns | unit | e2e)
				for b in "${builds[@]}"; do
					suites+=("$w:${b%%=*}")
				done
				;;
			insns:?* | unit:?* | e2e:?*) suites+=("$w") ;;
			*) die "VMTEST_SUITE: '$w' is not insns, unit, e2e, all or KIND:DIR" ;;
			esac
		done
	done
fi

[[ $(id -u) -eq 0 ]] ||
	die "needs root (the guest reads the whole root filesystem)"

tools/deps.sh vmtest

# kernel_of SERIES: the newest kernel of SERIES (6.1, 6.12) in /boot whose
# modules are installed.
kernel_of() {
	local f v
	for f in /boot/vmlinuz-"$1".*; do
		v=${f#/boot/vmlinuz-}
		[[ -e /lib/modules/$v/modules.dep ]] && echo "$v"
	done | sort -V | tail -n 1
}
kvers=()
if [[ -n ${VMTEST_KVER:-} ]]; then
	kvers=("$VMTEST_KVER")
else
	for series in ${VMTEST_KERNEL:-6.1 6.12}; do
		[[ $series =~ ^[0-9]+\.[0-9]+$ ]] ||
			die "VMTEST_KERNEL: '$series' is not a series like 6.12"
		v=$(kernel_of "$series")
		[[ -n $v ]] || die "no $series kernel with modules in /boot" \
			"and /lib/modules (tools/deps.sh vmtest installs 6.1 and 6.12)"
		kvers+=("$v")
	done
fi
[[ ${#kvers[@]} -gt 0 ]] || die "VMTEST_KERNEL: no kernel named"

if [[ $build_first == 1 ]]; then
	for b in "${builds[@]}"; do
		make --no-print-directory OUTPUT="${b%%=*}" CLANG="${b#*=}" all
	done
fi

# Several kernels: each boots in turn, through this script run for it
# alone; the counts of all make the last line.  A shell or a command runs
# on the first.
if [[ $mode != run ]]; then
	kvers=("${kvers[0]}")
elif [[ ${#kvers[@]} -gt 1 ]]; then
	passed=0 failed=0
	for v in "${kvers[@]}"; do
		rm -f "$base/$v/counts"
		VMTEST_KVER=$v "$0" --no-build "${given[@]}" || true
		read -r p f <"$base/$v/counts" 2>/dev/null ||
			{ p=0 f=1; echo "FAIL vmtest/$v (no result)"; }
		passed=$((passed + p)) failed=$((failed + f))
		echo
	done
	echo "vmtest: ${kvers[*]}: $passed passed, $failed failed"
	[[ $failed -eq 0 ]]
	exit
fi
kver=${kvers[0]}
kernel=/boot/vmlinuz-$kver
[[ -r $kernel && -e /lib/modules/$kver/modules.dep ]] ||
	die "no kernel $kver with modules in /boot and /lib/modules"
work=$base/$kver
results=$work/results
serial=$work/serial.log

for s in "${suites[@]}"; do
	dir=${s#*:}
	# The guest sees the tree through a share of its own: a build must be
	# inside it.
	[[ $dir != /* && $dir != *..* ]] ||
		die "build dir $dir: must be a path inside the source tree"
	[[ -x $dir/bpfnat && -x $dir/test_unit && -x $dir/tools/prog_insns ]] ||
		die "$dir/bpfnat, test_unit or tools/prog_insns missing; run make"
done

mkdir -p "$work"
exec 9>"$work/lock"
flock -n 9 || die "$work is in use by another vmtest"
rm -rf "$work/initramfs" "$results"
mkdir -p "$work/initramfs" "$results"

# The initramfs: static busybox, vmtest/init, and the modules the guest
# needs before it can mount anything, in modules.dep order.
make_initramfs() {
	local dir=$work/initramfs ko applet
	mkdir -p "$dir"/{bin,dev,proc,sys,newroot,results,rw,modules}
	cp /bin/busybox "$dir/bin/busybox"
	for applet in $(/bin/busybox --list); do
		[[ -e $dir/bin/$applet ]] || ln -s busybox "$dir/bin/$applet"
	done
	ln -s bin "$dir/sbin"
	mknod -m 600 "$dir/dev/console" c 5 1
	install -m 755 vmtest/init "$dir/init"
	modprobe -a -S "$kver" --show-depends virtio_pci 9pnet_virtio 9p overlay |
		awk '$1 == "insmod" && !seen[$2]++ { print $2 }' |
		while read -r ko; do
			cp "$ko" "$dir/modules/"
			basename "$ko" >>"$dir/modules/order"
		done
	(cd "$dir" && find . | /bin/busybox cpio -o -H newc 2>/dev/null) |
		gzip -1 >"$work/initramfs.cpio.gz"
}
make_initramfs

# The job for the guest, and every status written as a failure before the
# guest starts: only a guest that gets to the end of a suite clears it.
echo "did not finish" >"$results/exec.status"
for s in "${suites[@]}"; do
	echo "did not finish" >"$results/${s%%:*}-${s#*:}.status"
done
rows='' cols=''
if [[ $mode == shell && -t 0 ]]; then
	read -r rows cols < <(stty size 2>/dev/null) || true
fi
{
	echo "MODE=$mode"
	printf 'CMD=%q\n' "$cmd"
	printf 'TOP=%q\n' "$top"
	printf 'SUITES=%q\n' "${suites[*]}"
	printf 'ARGS=%q\n' "${args[*]+$(printf '%q ' "${args[@]}")}"
	printf 'TEST_TIMEOUT=%q\n' "${TEST_TIMEOUT:-}"
	printf 'FUZZ_PACKETS=%q\n' "${FUZZ_PACKETS:-}"
	printf 'TERM=%q ROWS=%q COLS=%q\n' "${TERM:-dumb}" "$rows" "$cols"
} >"$results/job"
: >"$results/guest.log"

# panic=-1 with -no-reboot: a panicking guest ends qemu at once.
# tsc=reliable: under TCG the kernel finds the vCPUs' TSCs unsynchronized and
# falls back to the HPET, whose every read is an emulated MMIO access.
cmdline="console=ttyS0 rdinit=/init panic=-1 printk.time=1 tsc=reliable"
# The kernel's chatter would garble a shell's prompt; dmesg still has it.
[[ $mode == shell ]] && cmdline+=" quiet"
cmdline+=" ${VMTEST_APPEND:-}"
# shellcheck disable=SC2054  # qemu's options have commas
qemu=(qemu-system-x86_64
	-nodefaults -no-reboot -display none -nic none
	# The plain qemu64 CPU runs the suites 1.5-2x faster than "max" under
	# TCG: the guest then uses no feature that is costly to emulate
	# (5-level paging, AVX-512 state, PCID ...).
	-accel "${VMTEST_ACCEL:-tcg,thread=multi}" -cpu "${VMTEST_CPU:-qemu64}"
	-smp "${VMTEST_SMP:-2}" -m "${VMTEST_MEM:-4G}"
	-kernel "$kernel" -initrd "$work/initramfs.cpio.gz"
	-append "$cmdline"
	-fsdev "local,id=root,path=/,security_model=none,readonly=on,multidevs=remap"
	-device virtio-9p-pci,fsdev=root,mount_tag=root
	-fsdev "local,id=src,path=$top,security_model=none,readonly=on,multidevs=remap"
	-device virtio-9p-pci,fsdev=src,mount_tag=src
	-fsdev "local,id=results,path=$results,security_model=none"
	-device virtio-9p-pci,fsdev=results,mount_tag=results)

echo "vmtest: kernel $kver; $mode${suites[*]:+: ${suites[*]}}"
if [[ $mode == shell ]]; then
	exec "${qemu[@]}" \
		-chardev "stdio,id=con,mux=on,signal=off,logfile=$serial" \
		-serial chardev:con -mon chardev=con,mode=readline
fi

# A hang is caught by the stall watch below; this limit only bounds a guest
# that keeps printing.  It is about five times what each suite took under
# TCG on 2 cores here (unit 2.5 min, e2e in both modes 9 min per build, in
# Nov 2026): a CI machine has run the same guest 2.3 times slower.
limit=120
for s in "${suites[@]}"; do
	if [[ $s == insns:* ]]; then
		limit=$((limit + 300))
	elif [[ $s == unit:* ]]; then
		limit=$((limit + 750))
	else
		limit=$((limit + 2700))
	fi
done
[[ $mode == exec ]] && limit=3600
limit=${VMTEST_TIMEOUT:-$limit}
stall=${VMTEST_STALL:-600}

start=$(date +%s)
timeout -k 10 "$limit" "${qemu[@]}" -serial "file:$serial" -monitor none \
	</dev/null >"$work/qemu.log" 2>&1 &
qemu_pid=$!
trap 'kill "$qemu_pid" 2>/dev/null' EXIT

# A guest whose suites print nothing for $stall seconds is hung: every test
# prints a line within tests/run.sh's own time limit (TEST_TIMEOUT).
watch_stall() {
	local size last=-1 since=$SECONDS
	while kill -0 "$qemu_pid" 2>/dev/null; do
		sleep 5
		size=$(stat -c %s "$results/guest.log")
		if [[ $size != "$last" ]]; then
			last=$size since=$SECONDS
		elif ((SECONDS - since >= stall)); then
			echo "no output for ${stall}s" >"$work/stalled"
			kill "$qemu_pid"
			return
		fi
	done
}
rm -f "$work/stalled"
[[ $mode == run ]] && watch_stall &

tail -n +1 -F --pid="$qemu_pid" "$results/guest.log" 2>/dev/null || true
qemu_rc=0
wait "$qemu_pid" || qemu_rc=$?
trap - EXIT
elapsed=$(($(date +%s) - start))

echo
echo "vmtest: qemu ran ${elapsed}s; serial log $serial"
passed=0 failed=0
verdict() { # PASS|FAIL NAME [DETAIL]
	echo "$1 vmtest/$kver/$2${3:+ ($3)}"
	if [[ $1 == PASS ]]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
	fi
}

if [[ -e $work/stalled ]]; then
	verdict FAIL guest "stopped: $(cat "$work/stalled")"
elif [[ $qemu_rc == 124 || $qemu_rc == 137 ]]; then
	verdict FAIL guest "stopped: still running after ${limit}s"
elif [[ $qemu_rc != 0 ]]; then
	verdict FAIL guest "qemu exited $qemu_rc: $(tail -n 3 "$work/qemu.log")"
fi
if [[ $mode == exec ]]; then
	status=$(cat "$results/exec.status")
	if [[ $status == 0 ]]; then
		verdict PASS exec
	else
		verdict FAIL exec "status: $status"
	fi
fi
for s in "${suites[@]}"; do
	name=${s%%:*}-${s#*:} label="${s%%:*}[${s#*:}]"
	status=$(cat "$results/$name.status")
	summary=$(grep -E '^[0-9]+ (passed, [0-9]+ failed|programs, )' \
		"$results/$name.log" 2>/dev/null | tail -n 1) || true
	skips=$(grep -E '^[0-9]+ skipped$' "$results/$name.log" 2>/dev/null |
		tail -n 1) || true
	secs=$(cat "$results/$name.seconds" 2>/dev/null || echo '?')
	detail="${summary:-no summary}${skips:+, $skips}, ${secs}s"
	# A whole suite that runs nothing has lost its tests somewhere.
	if [[ $status == 0 && ${#args[@]} -eq 0 && -z $skips &&
		$summary == '0 passed, 0 failed' ]]; then
		verdict FAIL "$label" "ran no test; $detail"
	elif [[ $status == 0 ]]; then
		verdict PASS "$label" "$detail"
	else
		verdict FAIL "$label" "status: $status; $detail"
	fi
done

# Kernel splats, from printk's lines only (they start with a timestamp), so
# that no test's own output can count as one.
splat='^\[ *[0-9]+\.[0-9]+\] (.*(BUG|WARNING|Oops|Call Trace|Kernel panic|general protection fault|rcu.*stall|blocked for more than|soft lockup|hard LOCKUP|UBSAN|KASAN)|------------\[ cut here \])'
if grep -aEq "$splat" "$serial"; then
	verdict FAIL kernel-splats "$(grep -aEc "$splat" "$serial") lines in $serial"
	grep -aE -m 20 "$splat" "$serial" | sed 's/^/    | /'
else
	verdict PASS kernel-splats
fi

echo "vmtest: $kver: $passed passed, $failed failed"
echo "$passed $failed" >"$work/counts"
[[ $failed -eq 0 ]]
