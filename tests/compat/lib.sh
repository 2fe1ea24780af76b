# shellcheck shell=bash disable=SC2034
# Shared by the compat harness scripts: cache location, kernel table, fetching.
# Sourced, not run.

compat_here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
compat_repo="$(cd "$compat_here/../.." && pwd)"
CGLAT_COMPAT_CACHE="${CGLAT_COMPAT_CACHE:-/var/cache/cglat-compat}"
CGLAT_DEBIAN_MIRROR="${CGLAT_DEBIAN_MIRROR:-http://deb.debian.org/debian}"

clog() { printf '[compat %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
cdie() { clog "error: $*"; exit 1; }

# Kernel short name -> Debian suite(s) whose linux-image-amd64 is that kernel.
compat_suite_of() {
	case "$1" in
	5.10) echo "bullseye bullseye-updates" ;;
	6.1) echo "bookworm bookworm-updates" ;;
	6.12) echo "bookworm-backports" ;;
	*) return 1 ;;
	esac
}

# apt with a private sources list and state: never touches the host's apt state.
compat_apt() {
	local kernel="$1"
	shift
	local d="$CGLAT_COMPAT_CACHE/apt/$kernel"
	local suites
	suites="$(compat_suite_of "$kernel")" || cdie "unknown kernel $kernel (5.10, 6.1, 6.12)"
	mkdir -p "$d/lists/partial" "$d/cache/archives/partial"
	[ -e "$d/status" ] || : >"$d/status"
	if [ ! -e "$d/sources.list" ]; then
		local s
		for s in $suites; do
			echo "deb [trusted=yes] $CGLAT_DEBIAN_MIRROR $s main"
		done >"$d/sources.list"
	fi
	apt-get -q -o Dir::Etc::sourcelist="$d/sources.list" -o Dir::Etc::sourceparts=- \
		-o Dir::State::Lists="$d/lists" -o Dir::State::status="$d/status" \
		-o Dir::Cache="$d/cache" -o Debug::NoLocking=1 \
		-o APT::Get::List-Cleanup=0 "$@"
}

compat_apt_cache() {
	local kernel="$1"
	shift
	local d="$CGLAT_COMPAT_CACHE/apt/$kernel"
	apt-cache -o Dir::Etc::sourcelist="$d/sources.list" -o Dir::Etc::sourceparts=- \
		-o Dir::State::Lists="$d/lists" -o Dir::State::status="$d/status" \
		-o Dir::Cache="$d/cache" "$@"
}

# Fetches and extracts kernel + headers for a short kernel name; prints the
# directory holding: vmlinuz, modules/ (lib/modules/VER), headers (usr/src/...),
# and a file "release" with the kernel release (uname -r).
compat_fetch_kernel() {
	local kernel="$1"
	local root="$CGLAT_COMPAT_CACHE/kernels/$kernel"
	if [ -e "$root/.done" ]; then
		echo "$root"
		return 0
	fi
	clog "fetching Debian kernel $kernel into $root"
	compat_apt "$kernel" update >&2 || cdie "apt-get update for $kernel failed"
	# The metapackage names the current ABI: linux-image-amd64 depends on linux-image-REL.
	local img
	img="$(compat_apt_cache "$kernel" depends linux-image-amd64 |
		awk '/Depends: linux-image-[0-9].*-amd64$/ { print $2; exit }')" || true
	[ -n "$img" ] || cdie "cannot find linux-image for $kernel"
	local rel="${img#linux-image-}"
	local common="linux-headers-${rel%-amd64}-common"
	clog "kernel $kernel is $rel"
	local dl="$CGLAT_COMPAT_CACHE/debs/$kernel"
	rm -rf "$dl" "$root.tmp"
	mkdir -p "$dl" "$root.tmp/x"
	(cd "$dl" && compat_apt "$kernel" download "$img" "linux-headers-$rel" "$common") >&2 ||
		cdie "apt-get download failed for $kernel"
	local f
	for f in "$dl"/*.deb; do
		dpkg -x "$f" "$root.tmp/x" || cdie "dpkg -x $f failed"
	done
	mv "$root.tmp/x/boot/vmlinuz-$rel" "$root.tmp/vmlinuz"
	echo "$rel" >"$root.tmp/release"
	rm -rf "$dl"
	touch "$root.tmp/.done"
	rm -rf "$root"
	mv "$root.tmp" "$root"
	echo "$root"
}

# Runs busybox depmod on an extracted kernel tree when it has no modules.dep.
compat_depmod() {
	local kdir="$1" rel
	rel="$(cat "$kdir/release")"
	[ -s "$kdir/x/lib/modules/$rel/modules.dep" ] && return 0
	clog "depmod $rel"
	busybox depmod -b "$kdir/x" "$rel" || cdie "depmod failed for $rel"
}

# Builds (once) the stage 1 initramfs of a kernel: busybox, init1, and the modules
# virtio_pci, 9pnet_virtio, 9p, overlay with their dependencies. Prints its path.
compat_initramfs() {
	local kdir="$1" rel out
	rel="$(cat "$kdir/release")"
	out="$kdir/initramfs.gz"
	if [ -e "$out" ] && [ "$out" -nt "$compat_here/guest/init1" ]; then
		echo "$out"
		return 0
	fi
	compat_depmod "$kdir"
	local mdir="$kdir/x/lib/modules/$rel" t
	t="$(mktemp -d)"
	mkdir -p "$t/bin" "$t/proc" "$t/sys" "$t/dev" "$t/lib/modules/$rel"
	cp /bin/busybox "$t/bin/busybox"
	cp "$compat_here/guest/init1" "$t/init"
	# Modules wanted and, recursively, what they depend on (modules.dep lists all).
	local want mods=""
	for want in virtio_pci 9pnet_virtio 9p overlay; do
		mods="$mods $(awk -v m="$want" -F': *' '
			{ n = $1; sub(/.*\//, "", n); sub(/\.ko.*/, "", n) }
			n == m { print $1, $2 }' "$mdir/modules.dep")"
	done
	local f
	for f in $mods; do
		mkdir -p "$t/lib/modules/$rel/$(dirname "$f")"
		cp "$mdir/$f" "$t/lib/modules/$rel/$f"
	done
	cp "$mdir/modules.builtin" "$mdir/modules.order" "$t/lib/modules/$rel/"
	busybox depmod -b "$t" "$rel" || cdie "depmod of the initramfs failed"
	(cd "$t" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1) >"$out.tmp" ||
		cdie "cpio failed"
	mv "$out.tmp" "$out"
	rm -rf "$t"
	echo "$out"
}

# v1, v2 or hybrid, from this machine's cgroup mounts.
compat_host_mode() {
	local v1 v2
	v1="$(grep -c ' - cgroup ' /proc/self/mountinfo || true)"
	v2="$(grep -c ' - cgroup2 ' /proc/self/mountinfo || true)"
	if [ "$v1" -gt 0 ] && [ "$v2" -gt 0 ]; then echo hybrid
	elif [ "$v1" -gt 0 ]; then echo v1
	else echo v2; fi
}

# One line per strategy: kernel, mode, strategy, pass|fail, reason (tab separated).
compat_verdicts() {
	local cell="$1" kernel="$2" mode="$3" n="$4"
	shift 4
	local st="$cell/status.env" s why j broke
	for s in "$@"; do
		why=""
		j="$cell/cglat-$s.json"
		if ! grep -q '^dockerd=fail' "$st" 2>/dev/null && [ ! -e "$st" ]; then
			why="the VM wrote no results (see console.log)"
		elif grep -q '^dockerd=fail' "$st"; then
			why="dockerd did not start (dockerd.log)"
		elif ! grep -q "^cglat_${s}_rc=0$" "$st"; then
			why="cglat --probe $s failed: $(grep 'cglat:' "$cell/cglat-$s.err" 2>/dev/null | grep -Ev 'cglat: (warning|cleaned up)' | tail -1 | cut -c1-200)"
		elif [ ! -s "$j" ]; then
			why="no JSON report"
		else
			why="$(jq -r --argjson n "$n" --arg s "$s" '
				[ (if (.results | length) == 0 then "no results" else empty end),
				  (([.results[] | "\(.path)/\(.resource)"] | unique) as $have
				   | ("docker/memory", "docker/cpu", "api/memory", "api/cpu",
				      "direct/memory", "direct/cpu")
				   | select(. as $w | $have | index($w) | not) | "no \(.) row"),
				  (if $s != "auto" and .host.probe_strategy != $s
				   then "ran \(.host.probe_strategy)" else empty end),
				  (.results[] | select(.n < $n or .invalid != 0)
				   | "\(.path)/\(.resource)/\(.metric) n=\(.n) invalid=\(.invalid)") ]
				| .[:3] | join("; ")' "$j" 2>&1)"
		fi
		if [ -z "$why" ] && ! grep -q '^readback=pass$' "$st"; then
			why="limits read back wrong: $(grep -m2 FAIL "$cell/readback.txt" 2>/dev/null | tr '\n' ' ')"
		fi
		# The integration tests ran once for the cell, under every strategy's verdict.
		if [ -z "$why" ] && grep -q '^INTEGRATION=1$' "$cell/cell.env"; then
			if ! grep -q '^integration_rc=' "$st"; then
				why="the integration tests did not finish (console.log)"
				broke="$(grep -m1 -oE 'BUG: soft lockup.*|Oops.*' "$cell/console.log" 2>/dev/null | cut -c1-100)"
				[ -z "$broke" ] || why="the guest kernel broke before the integration tests finished: $broke (console.log)"
			elif ! grep -q '^integration_rc=0$' "$st"; then
				why="integration tests failed: $(grep -o '^\[FAIL\] [^:]*::[^:]*' "$cell/integration.log" |
					sed 's/^\[FAIL\] //' | sort -u | head -5 | tr '\n' ' ')"
			fi
		fi
		if [ -z "$why" ]; then
			printf '%s\t%s\t%s\tpass\t%s\n' "$kernel" "$mode" "$s" \
				"$(jq -r '"\(.host.probe_strategy): \(.host.probe_reason)"' "$j" | cut -c1-120)"
		else
			printf '%s\t%s\t%s\tfail\t%s\n' "$kernel" "$mode" "$s" "$why"
		fi
	done
}
