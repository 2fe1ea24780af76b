#!/usr/bin/env bash
# libcglat as a user gets it: `cmake --install` into a temporary prefix, examples/set_limits.c
# built against it with pkg-config, run on a container made here; the kernel's files must
# then hold what it asked for. Needs root, dockerd and a built tree.
set -euo pipefail

here="$(cd "$(dirname "$0")/../.." && pwd)"
build="${CGLAT_BUILD:-$here/build}"
cglat="$build/cglat"
work="$(mktemp -d /tmp/cglat-example-XXXXXX)"
name="cglat-example-$$"
trap 'docker rm -f "$name" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

. "$here/tests/lib.sh"
build_example "$work/prefix" "$work/set_limits"
# Nothing of BCC: the library links none of it.
if ldd "$work/set_limits" | grep -E 'libbcc|libLLVM|libclang'; then
	echo "example: FAIL: set_limits links BCC or LLVM" >&2
	echo "example: 0 passed, 1 failed"
	exit 1
fi
test_container "$name"
"$work/set_limits" "$name" 96m 0.5
mem="$(cat "$ct_memfile")"
cpu="$(cat "$ct_cpufile")"
if [ "$mem" = 100663296 ] && { [ "$cpu" = 50000 ] || [ "$cpu" = "50000 100000" ]; }; then
	echo "example: 1 passed, 0 failed"
else
	echo "example: FAIL: the kernel holds memory $mem and CPU \"$cpu\", not 100663296 and 50000" >&2
	echo "example: 0 passed, 1 failed"
	exit 1
fi
