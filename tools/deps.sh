#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Install the Debian packages bpfnat needs, and nothing when they are all
# present.  `tools/deps.sh` covers building, the tests, the demo and the
# benchmark; `tools/deps.sh vmtest` adds what `make vmtest` needs.
set -euo pipefail

build=(make gcc pkg-config clang llvm libbpf-dev libelf-dev zlib1g-dev
       libmnl-dev libjansson-dev bpftool)
run=(iproute2 iputils-ping util-linux procps kmod)
test=(iperf3 socat nginx-light curl conntrack iptables nftables tcpdump
      traceroute iputils-tracepath jq ethtool fping man-db groff-base
      python3	# a test sends with socket options no tool sets
      containernetworking-plugins
      podman containerd busybox-static	# real runtimes over the plugin
      prometheus)	# for promtool, which checks `stats --prometheus`
bench=(netsniff-ng gnuplot-nox)
vmtest=(qemu-system-x86 linux-image-amd64 clang-19)	# and a 6.12 kernel, below

want=("${build[@]}" "${run[@]}" "${test[@]}" "${bench[@]}")
case "${1:-}" in
"") ;;
vmtest) want+=("${vmtest[@]}") ;;
*) echo "usage: $0 [vmtest]" >&2; exit 2 ;;
esac

missing=()
for pkg in "${want[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
	[[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done
# vmtest's second kernel, 6.12 LTS, has no meta-package in Debian 12: any
# installed one will do, or else the newest that bookworm-security has.
want_612=0
if [[ ${1:-} == vmtest ]] &&
	! compgen -G '/lib/modules/6.12.*/modules.dep' >/dev/null; then
	want_612=1
fi
[[ ${#missing[@]} -eq 0 && $want_612 == 0 ]] && exit 0

if [[ $(id -u) -ne 0 ]]; then
	echo "deps: missing packages: ${missing[*]}; run as root" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
if [[ $want_612 == 1 ]]; then
	kernel=$(apt-cache pkgnames linux-image-6.12. |
		grep -E '^linux-image-6\.12\.[0-9]+\+deb12-amd64-unsigned$' |
		sort -V | tail -n 1)
	if [[ -z $kernel ]]; then
		echo "deps: no linux-image-6.12.*+deb12-amd64-unsigned in the" \
			"archive (is bookworm-security in apt's sources?)" >&2
		exit 1
	fi
	missing+=("$kernel")
fi
echo "deps: installing ${missing[*]}"
# The packaged nginx must not start a server in the root namespace; tests
# start their own inside their namespaces.
policy=/usr/sbin/policy-rc.d
if [[ ! -e $policy ]]; then
	printf '#!/bin/sh\nexit 101\n' > "$policy"
	chmod +x "$policy"
	trap 'rm -f "$policy"' EXIT
fi
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
