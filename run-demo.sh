#!/bin/bash
# run-demo.sh - autoban's job, live, on Debian 12, as root: installs what is
# missing, builds, then a brute force against a real sshd in throwaway
# network namespaces (tests/e2e/demo.sh).  Under two minutes.
set -eu
cd "$(dirname "$0")"
bash scripts/deps.sh
make -s -j2 all >/dev/null
exec bash tests/e2e/demo.sh
