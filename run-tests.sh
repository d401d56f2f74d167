#!/bin/bash
# run-tests.sh - every test of autoban on Debian 12, as root: installs what
# is missing, builds (and builds again with ASan+UBSan into build-san, whose
# unit, PAM and CLI suites run too), runs all suites.  The last line is
# "N passed, N failed".
set -eu
cd "$(dirname "$0")"
bash scripts/deps.sh
make -s -j2 all tests >/dev/null
make -s -j2 SAN=1 tests >/dev/null
exec make -s check
