#!/usr/bin/env bash
# What cglat costs as a command, the way a user or an autoscaler meets it: whole-process
# times with hyperfine (medians), on one container made for the run, each pair measured
# side by side in this one run (in rounds that swap which command goes first);
# the same change made from C through libcglat; the tracing commands' compile, attach
# and detach. Each target is judged (met / NOT met); the exit status says only whether
# the measuring worked, so that a slow machine does not fail CI.
#
# Usage: tests/perf/commands.sh [--runs N] [--markdown FILE]
#   --runs N         runs per command (default 30; a pair in 4 rounds of 3 warm-ups + N/4,
#                    a single command after 5 warm-up runs)
#   --markdown FILE  also write the table as Markdown (README's figures come from it)
# Needs root, dockerd, hyperfine and a built tree (scripts/setup.sh).
set -euo pipefail

here="$(cd "$(dirname "$0")/../.." && pwd)"
build="${CGLAT_BUILD:-$here/build}"
cglat="$build/cglat"
runs=30
markdown=""
while [ $# -gt 0 ]; do
	case "$1" in
	--runs) [ $# -ge 2 ] || { echo "commands.sh: --runs needs a number" >&2; exit 2; }; runs="$2"; shift 2 ;;
	--markdown) [ $# -ge 2 ] || { echo "commands.sh: --markdown needs a file" >&2; exit 2; }; markdown="$2"; shift 2 ;;
	-h | --help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "commands.sh: unknown option $1; see --help" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" -eq 0 ] || { echo "commands.sh: run as root (cglat set writes cgroup files)" >&2; exit 2; }
command -v hyperfine >/dev/null || { echo "commands.sh: no hyperfine; scripts/setup.sh installs it" >&2; exit 2; }
[ -x "$cglat" ] || { echo "commands.sh: no $cglat; run scripts/setup.sh" >&2; exit 2; }

work="$(mktemp -d /tmp/cglat-perf-XXXXXX)"
name="cglat-perf-$$"
prefix="$work/prefix"
cleanup() {
	docker rm -f "$name" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The container; a memory+swap limit above every value below, so that `docker update
# --memory` alone works.
. "$here/tests/lib.sh"
test_container "$name" --memory 256m --memory-swap 1g
id="$ct_id" file="$ct_memfile" cgpath="$ct_cgpath"

# The example program, built against an installed libcglat as a user would.
build_example "$prefix" "$work/set_limits"

bench() { # label, one command or a pair: their runs into $work/<label>-<round>.json
	local label="$1"
	shift
	if [ $# -eq 2 ]; then
		paired_rounds "$work/$label" "$runs" "$1" "$2"
	else
		hyperfine -N --style none --warmup 5 --runs "$runs" --export-json "$work/$label-1.json" "$1" >/dev/null
	fi
}

echo "cglat commands, whole process, medians of $runs runs (hyperfine), container $name ($(cut -c1-12 <<<"$id"))"
bench cgroup "$cglat set --cgroup $cgpath --memory 200m" "sh -c 'echo 209715200 > $file'"
bench name "$cglat set $name --memory 190m" "docker update --memory 180m $name"
bench library "$work/set_limits $name 170m 0.5"
bench startup "$cglat --version" "$cglat set --help"
# The tracing commands' start and end: a whole benchmark of one direct sample (probes
# compiled, attached, detached; a container made and removed), and its own timings.
bench tracing "$cglat -n 1 --paths direct --format json -o $work/n1.json"

# What the writes cost inside the example (its own "wrote N files in X ns"), median of 5.
lib_ns="$(for _ in 1 2 3 4 5; do "$work/set_limits" "$name" 150m 0.4 | sed -n 's/^wrote .* in \([0-9]*\) ns.*/\1/p'; done | sort -n | sed -n 3p)"

# Peak RSS (KiB) of one `cglat set NAME`, the median of 5.
rss=()
for _ in 1 2 3 4 5; do
	rss+=("$( { /usr/bin/time -f '%M' "$cglat" set "$name" --memory 160m >/dev/null; } 2>&1 | tail -1)")
done
rss_kb="$(printf '%s\n' "${rss[@]}" | sort -n | sed -n 3p)"

python3 - "$work" "$rss_kb" "$markdown" "$build/" "$cgpath" "$file" "$name" "$lib_ns" "$here/tests/perf" <<'EOF'
import json, sys
sys.dont_write_bytecode = True  # nothing written into the tree
sys.path.insert(0, sys.argv[9])
from pooled import pooled_medians
work, rss_kb, markdown = sys.argv[1], int(sys.argv[2]), sys.argv[3]
lib_ns = int(sys.argv[8] or 0)
short = [(sys.argv[4], ""), (sys.argv[5], "PATH"), (sys.argv[6], "FILE"), (sys.argv[7], "NAME"), (work + "/", "")]
def shorten(c):
    for long, token in short:
        c = c.replace(long, token)
    return c
def medians(label):
    return [(shorten(c), t * 1000) for c, t in pooled_medians(f"{work}/{label}")]
rows = []
def row(c, t, unit, note="", target="", met=None):
    verdict = "" if met is None else ("met" if met else "NOT met")
    rows.append((c, t, unit, note, target, verdict))
(c_set, t_set), (c_sh, t_sh) = medians("cgroup")
row(c_set, t_set, "ms", f"{t_set / t_sh:.2f}x of `sh -c 'echo V > FILE'` ({t_sh:.2f} ms)", "within 2x", t_set <= 2 * t_sh)
(c_name, t_name), (c_dock, t_dock) = medians("name")
row(c_name, t_name, "ms", f"{t_name / t_dock:.2f}x of `docker update` ({t_dock:.2f} ms)", "at most 0.2x", t_name <= 0.2 * t_dock)
(c_lib, t_lib), = medians("library")
row(c_lib, t_lib, "ms", f"the example on the installed libcglat; its writes took {lib_ns / 1000:.1f} us")
for c, t in medians("startup"):
    row(c, t, "ms")
row("cglat set NAME --memory X: peak RSS", rss_kb / 1024, "MB", "", "under 8 MB", rss_kb < 8 * 1024)
(c_tr, t_tr), = medians("tracing")
row(c_tr, t_tr, "ms", "whole process", "under 1.2 s", t_tr < 1200)
timings = json.load(open(f"{work}/n1.json")).get("timings", {})
for k, target, limit in (("compile_ns", "", None), ("attach_ns", "", None), ("detach_ns", "under 0.3 s", 300)):
    ms = timings.get(k, 0) / 1e6
    row(f"  probes {k[:-3]} (its JSON timings)", ms, "ms", "", target, None if limit is None else ms < limit)
width = max(len(r[0]) for r in rows)
for c, t, unit, note, target, verdict in rows:
    tail = f"  (target: {target}: {verdict})" if target else ""
    print(f"  {c:<{width}}  {t:8.2f} {unit}  {note}{tail}")
if markdown:
    with open(markdown, "w") as f:
        f.write("| command | median | compared | target |\n|---|---|---|---|\n")
        for c, t, unit, note, target, verdict in rows:
            f.write(f"| `{c.strip()}` | {t:.2f} {unit} | {note} | {target + ': ' + verdict if target else ''} |\n")
EOF
