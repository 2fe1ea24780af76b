#!/usr/bin/env bash
# What the waterfall's probes cost the update they time: `cglat bench` with and without
# --waterfall, in alternating runs (ROUNDS of each, the order swapped every round, so a
# drift of the machine lands on both sides), the p50s pooled over every run's samples.
# A report, no timed check. Root, a running dockerd.
# Usage: sudo tests/perf/waterfall_cost.sh [--rounds N] [--iterations N]
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=4 iterations=30
while [ $# -gt 0 ]; do
	case "$1" in
	--rounds) rounds="$2"; shift 2 ;;
	--iterations) iterations="$2"; shift 2 ;;
	-h | --help) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "waterfall_cost.sh: unknown option $1; see --help" >&2; exit 2 ;;
	esac
done
dir="$(mktemp -d /tmp/cglat-wfcost-XXXXXX)"
trap 'rm -rf "$dir"' EXIT
for ((r = 0; r < rounds; r++)); do
	order=(plain waterfall)
	((r % 2)) && order=(waterfall plain)
	for kind in "${order[@]}"; do
		flag=()
		[ "$kind" = waterfall ] && flag=(--waterfall)
		./cglat -n "$iterations" --paths docker,api --resources memory "${flag[@]}" \
			--format csv -o "$dir/$kind-$r.csv"
	done
done
python3 - "$dir" <<'PY'
import csv, glob, statistics, sys
d = sys.argv[1]
def p50(kind, path, col):
    v = set()
    for f in glob.glob(f"{d}/{kind}-*.csv"):
        for row in csv.DictReader(open(f)):
            if row["path"] == path and row["valid"] == "1":
                v.add((f, row["iteration"], int(row[col])))  # stage rows repeat a sample
    return statistics.median(x[2] for x in v) / 1e6
for path in ("docker", "api"):
    for col in ("daemon_to_write_ns", "round_trip_ns"):
        a, b = p50("plain", path, col), p50("waterfall", path, col)
        print(f"{path:6} {col[:-3]:16} p50 {a:7.2f} ms plain, {b:7.2f} ms with --waterfall: {b / a:.3f}x")
PY
