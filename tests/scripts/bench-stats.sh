#!/bin/bash
# bench-stats.sh - bench/stats.py, which every harness's tables go
# through: median, min, max and count, printed in full.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
top=$(cd "$here/../.." && pwd)

st() { printf '%s\n' "$@" | python3 "$top/bench/stats.py"; }

tap_is "$(st 1605 15921 1752 1578 1712)" "1712 1578 15921 5" \
    "median, min, max and count"
tap_is "$(st 3007720 9416 2010280 4051920 15767)" "2010280 9416 4051920 5" \
    "seconds in microseconds are printed in full, not as 2.01028e+06"
tap_is "$(st 0.824 0.802 0.958 0.721)" "0.813 0.721 0.958 4" \
    "fractions keep their digits; an even count takes the middle mean"
tap_is "$(st 1234567.25)" "1234567 1234567 1234567 1" \
    "a large fraction is rounded, not put in exponent form"
tap_is "$(st)" "- - - 0" "no numbers: dashes and 0"
tap_done
