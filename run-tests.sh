#!/bin/bash
# run-tests.sh - every test of autoban on Debian 12, as root: installs what
# is missing, builds, runs all suites.  The last line is "N passed, N failed".
set -eu
cd "$(dirname "$0")"
bash scripts/deps.sh
make -s -j2 all tests >/dev/null
exec make -s check
