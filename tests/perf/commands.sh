#!/usr/bin/env bash
# What cglat costs as a command, the way a user or an autoscaler meets it: whole-process
# times with hyperfine (medians), on one container made for the run, each pair measured
# side by side in this one run; and the same change made from C through libcglat.
#
# Usage: tests/perf/commands.sh [--runs N] [--markdown FILE]
#   --runs N         runs per command (default 30, after 5 warm-up runs)
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
	--runs) runs="$2"; shift 2 ;;
	--markdown) markdown="$2"; shift 2 ;;
	-h | --help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
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

bench() { # label, commands...: medians (ms) into $work/<label>.json
	local label="$1"
	shift
	hyperfine -N --style none --warmup 5 --runs "$runs" --export-json "$work/$label.json" "$@" >/dev/null
}

echo "cglat commands, whole process, medians of $runs runs (hyperfine), container $name ($(cut -c1-12 <<<"$id"))"
bench cgroup "$cglat set --cgroup $cgpath --memory 200m" "sh -c 'echo 209715200 > $file'"
bench name "$cglat set $name --memory 190m" "docker update --memory 180m $name"
bench library "$work/set_limits $name 170m 0.5"
bench startup "$cglat --version" "$cglat set --help"

# Peak RSS (KiB) of one `cglat set NAME`, the median of 5.
rss=()
for _ in 1 2 3 4 5; do
	rss+=("$( { /usr/bin/time -f '%M' "$cglat" set "$name" --memory 160m >/dev/null; } 2>&1 | tail -1)")
done
rss_kb="$(printf '%s\n' "${rss[@]}" | sort -n | sed -n 3p)"

python3 - "$work" "$rss_kb" "$markdown" "$build/" "$cgpath" "$file" "$name" <<'EOF'
import json, sys
work, rss_kb, markdown = sys.argv[1], int(sys.argv[2]), sys.argv[3]
short = [(sys.argv[4], ""), (sys.argv[5], "PATH"), (sys.argv[6], "FILE"), (sys.argv[7], "NAME"), (work + "/", "")]
def shorten(c):
    for long, token in short:
        c = c.replace(long, token)
    return c
def medians(label):
    return [(shorten(r["command"]), r["median"] * 1000) for r in json.load(open(f"{work}/{label}.json"))["results"]]
rows = []
(c_set, t_set), (c_sh, t_sh) = medians("cgroup")
rows.append((c_set, t_set, f"{t_set / t_sh:.2f}x of `sh -c 'echo V > FILE'` ({t_sh:.2f} ms)", "within 2x"))
(c_name, t_name), (c_dock, t_dock) = medians("name")
rows.append((c_name, t_name, f"{t_name / t_dock:.2f}x of `docker update` ({t_dock:.2f} ms)", "at most 0.2x"))
(c_lib, t_lib), = medians("library")
rows.append((c_lib, t_lib, "examples/set_limits.c against the installed libcglat (a process of its own)", ""))
for c, t in medians("startup"):
    rows.append((c, t, "", ""))
rows.append(("cglat set NAME --memory X: peak RSS", rss_kb / 1024, f"{rss_kb / 1024:.1f} MB", "under 8 MB"))
width = max(len(r[0]) for r in rows)
for c, t, note, target in rows:
    unit = "MB" if "RSS" in c else "ms"
    print(f"  {c:<{width}}  {t:8.2f} {unit}  {note}{'  (target: ' + target + ')' if target else ''}")
if markdown:
    with open(markdown, "w") as f:
        f.write("| command | median | compared | target |\n|---|---|---|---|\n")
        for c, t, note, target in rows:
            unit = "MB" if "RSS" in c else "ms"
            f.write(f"| `{c}` | {t:.2f} {unit} | {note} | {target} |\n")
EOF
