# Sourced by the test and perf scripts: a container from cglat's local test image and
# where its limits live; libcglat installed and its example built against the install.
# Needs $cglat (the binary), $build (its build directory) and $here (the source tree).

# test_container NAME [docker run options...]: starts it; sets ct_id, ct_pid, ct_cgpath
# (its cgroup path below the mounts), ct_memfile and ct_cpufile (its memory limit and CPU
# quota files, whatever the cgroup mode).
test_container() {
	local name="$1"
	shift
	local image
	image="cglat-idle:$("$cglat" --version | awk '{print $2}')"
	docker image inspect "$image" >/dev/null 2>&1 ||
		docker import --change 'CMD ["/idle"]' "$build/image/idle.tar" "$image" >/dev/null
	docker run -d --network none --name "$name" --label cglat.test=script "$@" "$image" >/dev/null
	ct_id="$(docker inspect -f '{{.Id}}' "$name")"
	ct_pid="$(docker inspect -f '{{.State.Pid}}' "$name")"
	local line rel
	line="$(grep -E '^[0-9]+:([^:]*,)?memory(,[^:]*)?:' "/proc/$ct_pid/cgroup" || true)"
	if [ -n "$line" ]; then # v1 or hybrid: a hierarchy per controller
		rel="${line#*:*:}"
		ct_memfile="/sys/fs/cgroup/memory$rel/memory.limit_in_bytes"
		line="$(grep -E '^[0-9]+:([^:]*,)?cpu(,[^:]*)?:' "/proc/$ct_pid/cgroup" || true)"
		[ -n "$line" ] || { echo "container $name has no cpu cgroup line" >&2; return 1; }
		ct_cpufile="/sys/fs/cgroup/$(cut -d: -f2 <<<"$line")${line#*:*:}/cpu.cfs_quota_us"
	else
		rel="$(grep '^0::' "/proc/$ct_pid/cgroup" | cut -d: -f3)"
		ct_memfile="/sys/fs/cgroup$rel/memory.max"
		ct_cpufile="/sys/fs/cgroup$rel/cpu.max"
	fi
	ct_cgpath="${rel#/}"
	[ -w "$ct_memfile" ] && [ -w "$ct_cpufile" ] || {
		echo "cannot find the limit files of container $name ($ct_memfile, $ct_cpufile)" >&2
		return 1
	}
}

# build_example PREFIX OUT: installs the build into PREFIX (cmake --install) and builds
# examples/set_limits.c against it with pkg-config, as a user of the library would.
build_example() {
	local prefix="$1" out="$2"
	cmake --install "$build" --prefix "$prefix" >/dev/null
	local pc libdir
	pc="$(find "$prefix" -name cglat.pc -path '*/pkgconfig/*' | head -1)"
	[ -n "$pc" ] || { echo "no cglat.pc under $prefix" >&2; return 1; }
	libdir="$(PKG_CONFIG_PATH="$(dirname "$pc")" pkg-config --variable=libdir cglat)"
	# shellcheck disable=SC2046 # pkg-config's words are meant to split
	cc -O2 -std=c11 -Wall -Wextra -Werror "$here/examples/set_limits.c" \
		$(PKG_CONFIG_PATH="$(dirname "$pc")" pkg-config --cflags --libs cglat) \
		-Wl,-rpath,"$libdir" -o "$out"
}

# hyperfine runs one command's runs, then the other's, so a drift of the machine between
# the two blocks (dockerd's own work, another job) lands on one side of a ratio. A pair is
# therefore measured in 4 rounds that swap which goes first, runs/4 each after 3 warm-ups;
# the rounds' JSON exports are PREFIX-1.json .. PREFIX-4.json, to pool (pooled_medians in
# the perf scripts' Python).
paired_rounds() { # prefix runs command-a command-b
	local prefix="$1" runs="$2" a="$3" b="$4" r
	local per=$(( (runs + 3) / 4 ))
	for r in 1 2 3 4; do
		if [ $((r % 2)) -eq 1 ]; then set -- "$a" "$b"; else set -- "$b" "$a"; fi
		hyperfine -N --style none --warmup 3 --runs "$per" --export-json "$prefix-$r.json" \
			"$1" "$2" >/dev/null
	done
}
