#!/usr/bin/env bash
# Idempotent set-up of a fresh Debian 12 machine for cglat, as root:
# packages, kernel headers for BCC, tracefs, dockerd, the build.
# Usage: scripts/setup.sh [--no-build]
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
log() { printf 'setup: %s\n' "$*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
	echo "setup: must run as root (it installs packages and starts dockerd); try: sudo $0" >&2
	exit 2
fi

packages=(
	build-essential cmake pkg-config clang-format
	libbpfcc-dev bpfcc-tools bpftool      # libbcc (runtime compile through LLVM/Clang), libbpf
	libcriterion-dev                       # unit and integration tests
	libhttp-parser-dev libjansson-dev      # Engine API over the unix socket: HTTP answers, JSON
	docker.io busybox-static               # dockerd + runc; the test image's static binary
	podman                                 # the podman engine (runs runc here): set, watch, bench
	gnuplot-nox                            # plots
	hyperfine                              # tests/perf: whole-process timings of commands
	linux-headers-amd64                    # headers for BCC when the running kernel has none
)
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
	log "installing: ${missing[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# BCC compiles probes against /lib/modules/$(uname -r)/build. When the running kernel
# ships no headers, link Debian's: the tracepoint probes read no kernel struct, so
# headers of another kernel are safe for them (tracepoint layouts come from tracefs).
kver="$(uname -r)"
mod="/lib/modules/$kver"
# Debian splits headers in two: the arch package (build) and -common (source).
if [ ! -e "$mod/build/include/linux/kconfig.h" ] && [ ! -e "$mod/source/include/linux/kconfig.h" ] &&
	[ ! -e /sys/kernel/kheaders.tar.xz ]; then
	hdr="$(ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | sort -V | tail -1)"
	common="${hdr%-amd64}-common"
	if [ -z "$hdr" ] || [ ! -d "$common" ]; then
		echo "setup: no kernel headers found under /usr/src; install linux-headers-amd64" >&2
		exit 1
	fi
	log "no headers for kernel $kver: linking $hdr (BCC_KERNEL_SOURCE not needed)"
	mkdir -p "$mod"
	ln -sfn "$hdr" "$mod/build"
	ln -sfn "$common" "$mod/source"
fi

# tracefs: BCC attaches tracepoints through it.
if [ ! -e /sys/kernel/tracing/events ]; then
	log "mounting tracefs on /sys/kernel/tracing"
	mount -t tracefs nodev /sys/kernel/tracing
fi
if [ ! -e /sys/kernel/debug/tracing ] && [ -d /sys/kernel/debug ] && ! mountpoint -q /sys/kernel/debug; then
	mount -t debugfs nodev /sys/kernel/debug 2>/dev/null || true
fi

# A daemon started in the background, holding no fd of ours but 0-2: whatever the caller
# holds open (a lock taken with flock(1) around a test run, say) must not live on in
# dockerd, or the lock is held as long as dockerd runs. Output goes to log file $1.
start_daemon() {
	local log="$1"
	shift
	(
		for fd in /proc/self/fd/*; do
			fd="${fd##*/}"
			[ "$fd" -gt 2 ] 2>/dev/null && eval "exec $fd>&-"
		done
		exec nohup setsid "$@" </dev/null >"$log" 2>&1
	) &
}

# dockerd: started here when none answers. Test traffic stays on this machine.
if ! docker version >/dev/null 2>&1; then
	if ! pgrep -x containerd >/dev/null; then
		log "starting containerd"
		start_daemon /var/log/cglat-containerd.log containerd
		for _ in $(seq 50); do [ -S /run/containerd/containerd.sock ] && break; sleep 0.2; done
	fi
	# A dockerd killed with SIGKILL takes a moment to exit and leaves its pid file; a new
	# one refuses to start while that pid is alive ("pid file found"), also when another
	# process has reused it since.
	if [ -f /var/run/docker.pid ]; then
		old="$(cat /var/run/docker.pid)"
		for _ in $(seq 50); do
			grep -qx dockerd "/proc/$old/comm" 2>/dev/null || break
			sleep 0.2
		done
		grep -qx dockerd "/proc/$old/comm" 2>/dev/null || rm -f /var/run/docker.pid
	fi
	log "starting dockerd (--bridge=none --iptables=false --ip6tables=false)"
	start_daemon /var/log/cglat-dockerd.log dockerd --bridge=none --iptables=false \
		--ip6tables=false --containerd=/run/containerd/containerd.sock
	for _ in $(seq 150); do docker version >/dev/null 2>&1 && break; sleep 0.2; done
	if ! docker version >/dev/null 2>&1; then
		echo "setup: dockerd did not come up; see /var/log/cglat-dockerd.log" >&2
		tail -20 /var/log/cglat-dockerd.log >&2 || true
		exit 1
	fi
fi

if [ "${1:-}" != "--no-build" ]; then
	log "building"
	cmake -S "$here" -B "$here/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build "$here/build" -j"$(nproc)" >/dev/null
	ln -sfn build/cglat "$here/cglat"
	log "done: $here/cglat"
fi
