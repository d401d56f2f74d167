#!/bin/bash
# run-tests.sh - every test of autoban on Debian 12, as root: installs what
# is missing, builds (and builds again with ASan+UBSan into build-san, whose
# unit, PAM and CLI suites run too), runs all suites.  The last line is
# "N passed, N failed".
set -eu
cd "$(dirname "$0")"
bash scripts/deps.sh
make -s -j2 all tests >/dev/null
# The sanitizer build goes on while the first suites run; tests/run waits
# for it (build-san/.built holds its exit status) before the suites that
# use it, and counts a failed build as a failed suite.
mkdir -p build-san
rm -f build-san/.built build-san/.buildpid
echo $$ >build-san/.building
(make -s -j2 SAN=1 tests >build-san/build.log 2>&1; echo $? >build-san/.built) &
echo $! >build-san/.buildpid
exec make -s check
