#!/usr/bin/env bash
# Builds cglat with its tests and runs them: Criterion unit tests (no root
# needed) and integration tests (root, the real dockerd, real BPF programs).
# Run scripts/setup.sh first on a fresh machine; README has the one-liner.
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"

if [ "$(id -u)" -ne 0 ]; then
	echo "test: the integration tests load BPF programs and start containers: run as root" >&2
	exit 2
fi

cmake -S . -B build -DCGLAT_TESTS=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
ln -sfn build/cglat cglat

status=0
echo "== unit tests"
./build/unit_tests --jobs "$(nproc)" || status=1
echo "== integration tests (root, dockerd, BPF)"
# One at a time: they share dockerd and count BPF programs and containers.
./build/integration_tests --jobs 1 || status=1
echo "== libcglat installed: examples/set_limits.c built against it, run on a container"
tests/install/example.sh || status=1
exit "$status"
