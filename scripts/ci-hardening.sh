#!/usr/bin/env bash
# CI hardening checks, after scripts/setup.sh and scripts/test.sh (as root):
#   1. ASan+UBSan build (build-asan): unit and integration tests under the sanitizers
#   2. `cglat -n 5 --waterfall` under valgrind memcheck: no errors, no definite leaks
#   3. each libFuzzer target for FUZZ_SECONDS (default 60) from its committed corpus
#   4. the fault script with FAULT_TRIALS trials (default 8: one of each scenario)
# Each step prints its wall time; the script fails when any step does.
set -uo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
fuzz_seconds="${FUZZ_SECONDS:-60}"
fault_trials="${FAULT_TRIALS:-8}" # one of each scenario
jobs="$(nproc)"
status=0

if [ "$(id -u)" -ne 0 ]; then
	echo "ci-hardening: the integration tests, valgrind run and fault trials need root" >&2
	exit 2
fi
missing=()
for p in valgrind clang-14 libclang-rt-14-dev; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
	echo "ci-hardening: installing ${missing[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >/dev/null
fi

step() { # name command...
	local name="$1" t0 rc
	shift
	echo "== $name"
	t0=$(date +%s)
	"$@"
	rc=$?
	echo "== $name: $([ "$rc" -eq 0 ] && echo ok || echo "FAILED ($rc)") in $(($(date +%s) - t0)) s"
	[ "$rc" -eq 0 ] || status=1
}

# libbcc and LLVM keep allocations for the life of the process: not cglat's leaks.
export LSAN_OPTIONS="suppressions=$here/tests/sanitizers/lsan.supp:print_suppressions=0"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

asan() {
	cmake -S . -B build-asan -DCGLAT_SANITIZE=ON -DCGLAT_TESTS=ON \
		-DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null &&
		cmake --build build-asan -j"$jobs" >/dev/null &&
		build-asan/unit_tests --jobs "$jobs" &&
		build-asan/integration_tests --jobs 1
}

valgrind_run() {
	# The regular build: valgrind and ASan do not mix.
	valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite \
		--show-leak-kinds=definite --error-exitcode=1 \
		--suppressions="$here/tests/sanitizers/valgrind.supp" \
		build/cglat -n 5 --waterfall --format json -o /tmp/cglat-valgrind.json
}

fuzz() {
	CC=clang-14 CXX=clang++-14 cmake -S . -B build-fuzz -DCGLAT_FUZZ=ON -DCGLAT_TESTS=OFF \
		-DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null &&
		cmake --build build-fuzz -j"$jobs" >/dev/null || return 1
	local t rc=0 work
	work="$(mktemp -d /tmp/cglat-fuzz-XXXXXX)"
	for t in proc_cgroup mountinfo units docker_json events argv; do
		mkdir -p "$work/$t"
		# New inputs go to $work; the committed corpus is only read.
		if build-fuzz/fuzz_"$t" -max_total_time="$fuzz_seconds" -print_final_stats=1 \
			-artifact_prefix="$work/" "$work/$t" "tests/fuzz/corpus/$t" \
			>"$work/$t.log" 2>&1; then
			echo "fuzz_$t: $(grep -o 'number_of_executed_units: [0-9]*' "$work/$t.log")"
		else
			echo "fuzz_$t: FAILED"
			grep -A30 -E 'ERROR|SUMMARY' "$work/$t.log" | head -60
			rc=1
		fi
	done
	rm -rf "$work"
	return "$rc"
}

faults() {
	SEED="${SEED:-1}" tests/faults/run-faults "$fault_trials"
}

t_all=$(date +%s)
step "ASan+UBSan: unit and integration tests" asan
step "valgrind: cglat -n 5 --waterfall" valgrind_run
step "libFuzzer: ${fuzz_seconds} s per target" fuzz
step "fault trials: $fault_trials" faults
echo "== ci-hardening: $([ "$status" -eq 0 ] && echo ok || echo FAILED) in $(($(date +%s) - t_all)) s"
exit "$status"
