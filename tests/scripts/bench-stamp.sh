#!/bin/bash
# bench-stamp.sh - run_stamp (bench/lib.sh), the line under every section
# of docs/BENCHMARKS.md: it names the commit, says "with uncommitted
# changes" when a tracked file differs from it, and does not count
# docs/BENCHMARKS.md itself, which run-all.sh rewrites after each call
# (a second BENCH_ONLY call would otherwise stamp the code as changed).
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
top=$(cd "$here/../.." && pwd)

d=$(mktemp -d "${AB_TMP:-/tmp}/stamp.XXXXXX")
trap 'rm -rf "$d"' EXIT
# A repository of its own: the checkout under test is never touched.
repo=$d/repo
mkdir -p "$repo/docs" "$repo/lib"
git -C "$repo" init -q
echo one >"$repo/docs/BENCHMARKS.md"
echo code >"$repo/lib/store.c"
git -C "$repo" add -A
git -C "$repo" -c user.name=t -c user.email=t@example.org commit -qm first
head=$(git -C "$repo" rev-parse --short HEAD)

stamp() {	# stamp: run_stamp of $repo
	BENCH_RESULTS=$d/results bash -c '. "$1/bench/lib.sh"; AB_TOP=$2
	    run_stamp' _ "$top" "$repo"
}

tap_like "$(stamp)" "^Run on [0-9-]+ at commit $head; [0-9]+ cores" \
    "a clean tree: the commit alone"
echo two >"$repo/docs/BENCHMARKS.md"
tap_like "$(stamp)" "^Run on [0-9-]+ at commit $head; " \
    "docs/BENCHMARKS.md rewritten by an earlier call: still the commit alone"
echo changed >"$repo/lib/store.c"
tap_like "$(stamp)" "at commit $head with uncommitted changes; " \
    "a changed source file is named as uncommitted changes"
git -C "$repo" checkout -q -- docs/BENCHMARKS.md
tap_like "$(stamp)" "at commit $head with uncommitted changes; " \
    "... also when docs/BENCHMARKS.md is clean"
tap_done
