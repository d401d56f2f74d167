#!/bin/bash
# run-all.sh - every benchmark (make bench), then docs/BENCHMARKS.md from
# their results.  As root on Debian 12, after the README's setup; about an
# hour with BENCH_RUNS=5.
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh
# BENCH_ONLY="reaction bulk" runs some; the document takes every result.
for b in ${BENCH_ONLY:-pam-cost reaction bulk attack-cpu}; do
	echo "== $b"
	setsid bash "bench/$b.sh"
done
out=docs/BENCHMARKS.md
{
	echo "# Benchmarks"
	echo
	echo "Produced by \`make bench\` (bench/run-all.sh) on $(date -u +%Y-%m-%d)."
	echo "Machines here are noisy: read the ratios, measured pair by pair in"
	echo "the same run, more than the absolute times."
	echo
	machine_info
	echo "- packages: libpam0g $(pkg_version libpam0g), liblmdb0 $(pkg_version liblmdb0)," \
	    "nftables $(pkg_version nftables), OpenSSH $(pkg_version openssh-server)," \
	    "fail2ban $(pkg_version fail2ban), sshguard $(pkg_version sshguard)," \
	    "libpam-abl 0.6.0-6, hydra $(pkg_version hydra), valgrind $(pkg_version valgrind)"
	echo
	for b in pam-cost reaction bulk attack-cpu; do
		cat "$RESULTS/$b.md"
		echo
	done
	# Hand-written: each target against the figures, with the reasons
	# for any miss.  Update it when the figures change.
	cat bench/targets.md
} >"$out"
echo "wrote $out"
