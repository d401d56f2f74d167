#!/bin/bash
# run-all.sh - every benchmark (make bench), then docs/BENCHMARKS.md from
# their results.  As root on Debian 12, after the README's setup; about an
# hour with BENCH_RUNS=5.
#   BENCH_ONLY="reaction bulk"  runs only those harnesses ("none": none);
#       a section whose harness did not run is kept from the document as
#       it was (each section names its run under its heading)
#   BENCH_DOC=FILE  writes the document there instead
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh
out=${BENCH_DOC:-docs/BENCHMARKS.md}
harnesses="pam-cost reaction bulk attack-cpu sshd-load fleet"

# The heading each harness's fragment starts with; the document's sections
# are found by these, and targets.md starts the part after them.
heading() {
	case $1 in
	pam-cost)	echo "## Cost per PAM transaction" ;;
	reaction)	echo "## Reaction against a real sshd" ;;
	bulk)		echo "## Bulk loads" ;;
	attack-cpu)	echo "## sshd's CPU under attack" ;;
	sshd-load)	echo "## A real sshd counting a brute force" ;;
	fleet)		echo "## A fleet through Redis" ;;
	targets)	echo "## Against the targets" ;;
	esac
}

# section NAME FILE: that section of an assembled document, heading line
# included, up to the next section's heading.
section() {
	local h n heads=()
	h=$(heading "$1")
	for n in $harnesses targets; do heads+=("$(heading "$n")"); done
	awk -v h="$h" -v list="$(printf '%s\n' "${heads[@]}")" '
	BEGIN { n = split(list, hs, "\n"); for (i = 1; i <= n; i++) head[hs[i]] = 1 }
	$0 in head { on = ($0 == h) }
	on' "$2"
}

for b in ${BENCH_ONLY:-$harnesses}; do
	[ "$b" = none ] && continue
	echo "== $b"
	setsid bash "bench/$b.sh"
done

# Assemble into a new file and move it over the old one only when done, so
# a failure leaves the document as it was.
new=$(mktemp "$out.XXXXXX")
trap 'rm -f "$new"' EXIT
{
	echo "# Benchmarks"
	echo
	echo "Assembled by \`make bench\` (bench/run-all.sh) on $(date -u +%Y-%m-%d);"
	echo "each section says under its heading when, at which commit and on"
	echo "what it ran.  Machines here are noisy: read the ratios, measured"
	echo "pair by pair in the same run, more than the absolute times."
	echo
	machine_info
	echo "- packages: libpam0g $(pkg_version libpam0g), liblmdb0 $(pkg_version liblmdb0)," \
	    "nftables $(pkg_version nftables), OpenSSH $(pkg_version openssh-server)," \
	    "fail2ban $(pkg_version fail2ban), sshguard $(pkg_version sshguard)," \
	    "libpam-abl 0.6.0-6, hydra $(pkg_version hydra), valgrind $(pkg_version valgrind)"
	echo
	for b in $harnesses; do
		frag=$RESULTS/$b.md
		if [ -s "$frag" ] && [ "$(head -n 1 "$frag")" = "$(heading "$b")" ]; then
			cat "$frag"
			echo
		elif [ -s "$out" ] && [ -n "$(section "$b" "$out")" ]; then
			echo "run-all: $b: no new results; its section is kept from $out" >&2
			section "$b" "$out"
		else
			echo "run-all: $b: no results" >&2
			printf '%s\n\nNot run: `bash bench/%s.sh` produces it.\n\n' \
			    "$(heading "$b")" "$b"
		fi
	done
	# Hand-written: each target against the figures, with the reasons
	# for any miss.  Update it when the figures change.
	cat bench/targets.md
} >"$new"
chmod 0644 "$new"
mv "$new" "$out"
trap - EXIT
echo "wrote $out"
