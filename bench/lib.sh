# bench/lib.sh - shared by the benchmark harnesses (sourced).
# Every harness runs as root on Debian 12, after the README's setup; it
# installs what it compares against itself, stays inside namespaces and
# directories it makes, and removes them.
set -u
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
AB_TOP=$(cd "$BENCH_DIR/.." && pwd)
AB_BUILD=$AB_TOP/build
export AB_TOP AB_BUILD
RESULTS=${BENCH_RESULTS:-$AB_TOP/bench/results}
RUNS=${BENCH_RUNS:-5}
mkdir -p "$RESULTS"

# A private mount namespace with a tmpfs for the harness's files (and
# /run-like placement of autoban's counts).
bench_ns() {
	if [ "${AB_IN_BENCH_NS:-}" != 1 ]; then
		AB_IN_BENCH_NS=1 exec unshare --mount --propagation private \
		    "$0" "$@"
	fi
	W=$(mktemp -d /tmp/autoban-bench.XXXXXX)
	mount -t tmpfs -o size=6g,mode=0755 autoban-bench "$W"
	trap 'bench_cleanup' EXIT
	# banhelper run becomes _autoban: made in this namespace if need be.
	. "$(dirname "${BASH_SOURCE[0]}")/../tests/lib/autoban-user.sh"
	ab_user "$W"
}
BENCH_PIDS=()
BENCH_NS=()
bench_cleanup() {
	local p
	# An interrupted end-to-end setup (tests/e2e/env.sh) goes too.
	declare -F env_down >/dev/null && env_down
	for p in "${BENCH_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${BENCH_PIDS[@]}"; do wait "$p" 2>/dev/null; done
	for p in "${BENCH_NS[@]}"; do ip netns del "$p" 2>/dev/null; done
	umount -l "$W" 2>/dev/null
	rmdir "$W" 2>/dev/null
}

# Install Debian packages without starting their services.
bench_apt() {
	local missing=() p policy=/usr/sbin/policy-rc.d ours=0
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		    grep -q "install ok installed" || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy"
		chmod 0755 "$policy"
		ours=1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -qq --no-install-recommends "${missing[@]}" \
	    >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq \
	    --no-install-recommends "${missing[@]}" >/dev/null; }
	[ "$ours" -eq 1 ] && rm -f "$policy"
	# Debian enables these daemons for the next boot: not on our account.
	for p in "${missing[@]}"; do
		case $p in fail2ban|sshguard)
			command -v systemctl >/dev/null &&
			    systemctl disable --quiet "$p" 2>/dev/null ;;
		esac
	done
	return 0
}

stats() { python3 "$BENCH_DIR/stats.py"; }

# When and on what this harness ran: the line under each section's
# heading, so a section kept from an earlier run (run-all.sh with
# BENCH_ONLY) still says which run it is.  docs/BENCHMARKS.md is the
# benchmarks' own output (run-all.sh writes it after each call), so a
# change there alone is not a change to what is measured.
run_stamp() {
	local c
	c=$(git -C "$AB_TOP" rev-parse --short HEAD 2>/dev/null) || c=unknown
	[ -n "$(git -C "$AB_TOP" status --porcelain --untracked-files=no \
	    -- . ':(exclude)docs/BENCHMARKS.md' 2>/dev/null)" ] &&
	    c="$c with uncommitted changes"
	echo "Run on $(date -u +%Y-%m-%d) at commit $c; $(machine_short)."
}

machine_short() {
	echo "$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), kernel $(uname -r)"
}

# md LINE...: append to this harness's markdown fragment
md() { printf '%s\n' "$@" >>"$MD"; }

machine_info() {
	echo "- machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))," \
	    "$(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)," \
	    "kernel $(uname -r), Debian $(cat /etc/debian_version)"
}

pkg_version() {
	dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo "not installed"
}
