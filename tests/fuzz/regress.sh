#!/bin/bash
# regress.sh BUILD - every fuzz target, built without libFuzzer, over its
# corpus in tests/fuzz/TARGET/ (seeds and every crash input kept): TAP.
set -u
B=${1:?usage: regress.sh BUILD}
cd "$(dirname "$0")"
n=0
fail=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for t in addr config records store lines report authlog fleet; do
	n=$((n + 1))
	if AB_TMP=${AB_TMP:-/tmp} timeout 300 "$B/tests/fuzz_$t" "$t" >"$out" 2>&1 &&
	    ! grep -q '^not ok' "$out"; then
		echo "ok $n - fuzz_$t: $(grep -c '^ok' "$out") inputs, no crash"
	else
		echo "not ok $n - fuzz_$t"
		grep -v '^ok' "$out" | tail -20 | sed 's/^/# /'
		fail=1
	fi
done
echo "1..$n"
exit $fail
