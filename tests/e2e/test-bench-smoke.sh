#!/bin/bash
# test-bench-smoke.sh - every benchmark harness, run short: they must run
# to the end and report what they measure.  No timing is asserted (the
# figures themselves belong to docs/BENCHMARKS.md, not to tests).
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
top=$(cd "$here/../.." && pwd)
R=$(mktemp -d "${AB_TMP:-/tmp}/bench-smoke.XXXXXX")
trap 'rm -rf "$R"' EXIT
export BENCH_RESULTS=$R BENCH_RUNS=1

run() {	# run LOG NAME ENV...: harness NAME in its own session, output in LOG
	local log=$1 name=$2 t0=$SECONDS rc
	shift 2
	env "$@" setsid bash "$top/bench/$name.sh" >"$R/$log.log" 2>&1
	rc=$?
	echo "# $log took $((SECONDS - t0)) s"
	return $rc
}

# The harnesses run at once, each in namespaces and directories of its
# own (their figures are not checked here, only that they are produced).
# What they compare against is installed first, once: apt cannot run
# twice at once.
bash -c ". '$top/bench/lib.sh' && bench_apt time fail2ban sshguard \
    python3-pyinotify hydra sshpass openssh-server libdb5.3 valgrind \
    redis-server" \
    >"$R/apt.log" 2>&1
tap_is "$?" 0 "what the benchmarks compare against is installed"
started=$(date +%s)
declare -A pid
# Two runs, so that without fresh hosts per run (-F) the first hosts would
# reach maxretry (5) and be refused.  pam_abl, 2+ processes and other
# store sizes are left out here (the same code paths with other
# arguments); make bench runs them.
run pam-cost pam-cost BENCH_TXNS=20 BENCH_SSHD_TXNS=6 BENCH_PROCS="1" \
    BENCH_HOSTS="100" BENCH_RUNS=2 BENCH_CHUNKS=2 BENCH_INSTRUCTIONS=0 \
    BENCH_STACKS="faillock autoban" &
pid[pam-cost]=$!
# A stack that never returns (reported as hung and killed with all its
# processes; the run goes on).  Its timeout leaves room for a loaded
# machine: the other stacks must not be taken for hung.
mkdir -p "$R/stall"
run stall pam-cost BENCH_TXNS=8 BENCH_SSHD_TXNS=2 BENCH_PROCS=1 BENCH_HOSTS=1 \
    BENCH_STACKS="stall autoban" BENCH_RUNS=1 BENCH_CHUNKS=1 \
    BENCH_STACK_TIMEOUT=8 BENCH_RESULTS="$R/stall" &
pid[stall]=$!
# Two defences: autoban's path and a log reader's, sshguard (quicker to
# start than fail2ban, which bulk below starts).
run reaction reaction BENCH_ATTACKERS=1 BENCH_PARALLEL=1 \
    BENCH_DEFENCES="autoban sshguard" BENCH_HYDRA_SECS=10 &
pid[reaction]=$!
run bulk bulk BENCH_SIZES=500 BENCH_BULK_BAN=500 BENCH_F2B_BANS=20 &
pid[bulk]=$!
run attack-cpu attack-cpu BENCH_SOURCES=1 BENCH_PARALLEL=1 &
pid[attack-cpu]=$!
run sshd-load sshd-load BENCH_CONNS=2 BENCH_TRIES=1 &
pid[sshd-load]=$!
run fleet fleet BENCH_FLEET_SIZES=2 BENCH_FLEET_BANS=5 BENCH_FLEET_BURST=100 &
pid[fleet]=$!
declare -A rc
for h in pam-cost stall reaction bulk attack-cpu sshd-load fleet; do
	wait "${pid[$h]}"
	rc[$h]=$?
done
echo "# the harnesses took $(($(date +%s) - started)) s together"

# With fresh hosts per run, the runs of both drivers count each of the 99
# hosts at most 4 times (populate once more): at 100 hosts autoban must
# refuse none.
tap_is "${rc[pam-cost]}" 0 "pam-cost runs to the end"
md=$(cat "$R/pam-cost.md" 2>/dev/null)
for s in empty faillock autoban; do
	tap_like "$md" "^\| $s \| [0-9]+ \(" "pam-cost reports ops/s for $s"
done
section() {	# section HEADING: that section of the pam-cost report
	awk -v h="### $1" '$0 == h {on = 1; next} /^###/ {on = 0} on' \
	    "$R/pam-cost.md"
}
tap_like "$(section "100 host(s), 1 process(es)")" \
    "^\| autoban \|.* \| 0/0 \|$" \
    "pam-cost at 100 hosts: autoban counted every transaction, refused none"
sec=$(section "100 host(s), 1 process(es), with sshd's libraries")
for s in empty faillock autoban; do
	tap_like "$sec" "^\| $s \| [0-9]+ \([0-9]+-[0-9]+\) \| [0-9.]+ \(" \
	    "pam-cost with sshd's libraries: ops/s and ratio for $s"
done
tap_like "$sec" "^\| autoban \|.* \| 0/0 \|$" \
    "... where autoban too counted every transaction, refused none"
tap_like "$(section "100 host(s), 1 process(es)")" \
    "^\| autoban \|( [^|]+ \|){5} [0-9]+ \| [0-9.]+ \([0-9.]+-[0-9.]+\) \|" \
    "pam-cost reports autoban's CPU per transaction and its ratio to the empty stack's"

tap_is "${rc[stall]}" 0 "pam-cost with a stack that hangs runs to the end"
md=$(cat "$R/stall/pam-cost.md" 2>/dev/null)
tap_like "$md" "^\| stall \| hung: callgrind's run had not ended after 8 s and was killed" \
    "the hung stack is reported as such"
tap_is "$(grep -c "^| stall | hung: callgrind's run had not ended" "$R/stall/pam-cost.md")" 3 \
    "... and is not run again at that size (instructions, 1 process, 1 process with sshd's libraries)"
tap_like "$md" "^\| empty \| [0-9]+ \(" "the other stacks are still measured"
# The callgrind tables come from this run (the one above skips them).
for s in empty autoban autoban-banned permit lmdb-floor; do
	tap_like "$md" "^\| $s \| [0-9]+ / [0-9]+ \| [0-9.]+ \| [0-9]+ \| [0-9.]+ \|$" \
	    "pam-cost reports instructions for $s, alone and with sshd's libraries"
done
for s in empty autoban permit lmdb-floor; do
	tap_like "$md" "^\| $s \| [0-9]+ \| [+-][0-9]+ \| [0-9]+ \|$" \
	    "pam-cost reports instructions in a warm process for $s, and those in memset"
done
tap_like "$(awk '$0 == "### 1 host(s), 1 process(es)" {on = 1; next} /^###/ {on = 0} on' "$R/stall/pam-cost.md")" \
    "^\| autoban \|.* \| [1-9][0-9]* \|$" \
    "pam-cost at 1 host: autoban refuses that host once it is banned, and says so"
tap_is "$(ps -eo args= | grep -cx '/bin/sleep 3600')" 0 \
    "nothing of the hung stack is left running"

tap_is "${rc[reaction]}" 0 "reaction runs to the end"
md=$(cat "$R/reaction.md" 2>/dev/null)
for d in autoban sshguard; do
	tap_like "$md" "^\| $d \| [0-9.]+ " "reaction measures $d's time to the kernel"
done
tap_like "$md" "^\| autoban \| [^|]+\| [^|]+\| 4 \(4-4\) \|" \
    "with autoban exactly maxretry (4) of hydra's guesses were checked"
tap_like "$md" "^\| autoban \| sshguard \| [0-9.]+x \([0-9.]+-[0-9.]+x\) \| [0-9.]+x \([0-9.]+-[0-9.]+x\) \|$" \
    "reaction gives sshguard's time over autoban's, run by run"
tap_like "$md" "^\| autoban \| run 1 \| -?[0-9.]+ / -?[0-9.]+; slowest -?[0-9.]+ \+ -?[0-9.]+ \|$" \
    "reaction takes autoban's reaction apart: the module's call, and the rest"

tap_is "${rc[bulk]}" 0 "bulk runs to the end"
tap_ok "$(grep -c 'put [0-9]* of' "$R/bulk.log")" \
    "bulk: every sync and ban - put all its elements in the kernel"
md=$(cat "$R/bulk.md" 2>/dev/null)
tap_like "$md" "^\| banhelper sync \| 500 \| [0-9.]+ " "bulk times banhelper sync"
tap_like "$md" "^\| banhelper ban - \(stdin\) \| 500 \| [0-9.]+ " "bulk times ban -"
tap_like "$md" "^\| banhelper ban ADDR on top of the bans above \| 500 \| [0-9.]+ \([0-9.]+-[0-9.]+\) \| [0-9.]+ \| [0-9.]+ \([0-9.]+-[0-9.]+\) \| [1-9][0-9]* \|$" \
    "bulk times one more ban on top of the synced ones against nft add element, with its peak RSS"
tap_ok "$(grep -c '^bulk: failed' "$R/bulk.log")" \
    "bulk: every timed command succeeded" "$(grep '^bulk: failed' "$R/bulk.log")"
tap_ok "$(grep -c 'the one ban is not in the kernel' "$R/bulk.log")" \
    "bulk: that one ban reached the kernel set"
tap_like "$md" "^\| fail2ban-client set sshd banip \| 20 \| [0-9.]+ " "bulk times fail2ban"

tap_is "${rc[attack-cpu]}" 0 "attack-cpu runs to the end"
tap_like "$(cat "$R/attack-cpu.log")" "with autoban: .*passwords checked: 4$" \
    "attack-cpu: with autoban, 4 of each source's 6 passwords were checked"
tap_like "$(cat "$R/attack-cpu.log")" "without autoban: .*passwords checked: 6$" \
    "attack-cpu: without it, all 6 were"
tap_is "${rc[sshd-load]}" 0 "sshd-load runs to the end"
md=$(cat "$R/sshd-load.md" 2>/dev/null)
for m in without with; do
	tap_like "$md" "^\| $m autoban \| [0-9.]+ \([0-9.]+-[0-9.]+\) \| [0-9.]+ \([0-9.]+-[0-9.]+\) \| [0-9.]+ \| [0-9]+ \|$" \
	    "sshd-load reports sshd's CPU per attempt and memory $m autoban"
done
tap_like "$md" "^sshd's CPU per attempt with autoban over without, run by run: [0-9.]+ \(" \
    "sshd-load gives the ratio of the two, run by run"
tap_is "${rc[fleet]}" 0 "fleet runs to the end"
tap_like "$(cat "$R/fleet.md" 2>/dev/null)" "^\| 2 \| 5 \| 5 \| [0-9.]+ \| .* \| 100 \| [0-9]+ \| [0-9]+ \| [0-9]+ \|" \
    "fleet reports every arrival of 5 bans on the other server and the burst of 100"
# The document: every section from this run's results, each with its
# run's stamp; a section with no new results is kept from the document.
doc=$R/BENCHMARKS.md
out=$(BENCH_ONLY=none BENCH_DOC=$doc bash "$top/bench/run-all.sh" 2>&1)
tap_is "$?" 0 "run-all.sh assembles the document from the results"
for h in "## Cost per PAM transaction" "## Reaction against a real sshd" \
    "## Bulk loads" "## sshd's CPU under attack" \
    "## A real sshd counting a brute force" "## A fleet through Redis" \
    "## Against the targets"; do
	tap_ok "$(grep -qxF "$h" "$doc"; echo $?)" "the document has \"$h\""
done
tap_is "$(grep -c '^Run on [0-9-]* at commit ' "$doc")" 6 \
    "each harness's section says when and at which commit it ran"
before=$(awk '/^## Reaction/{on=1} /^## Bulk/{on=0} on' "$doc")
mv "$R/reaction.md" "$R/reaction.md.away"
out=$(BENCH_ONLY=none BENCH_DOC=$doc bash "$top/bench/run-all.sh" 2>&1)
tap_like "$out" "reaction: no new results; its section is kept" \
    "a section with no new results is said to be kept"
tap_is "$(awk '/^## Reaction/{on=1} /^## Bulk/{on=0} on' "$doc")" "$before" \
    "... and is kept as it was"
out=$(BENCH_ONLY=none BENCH_DOC=$R/fresh.md bash "$top/bench/run-all.sh" 2>&1)
tap_like "$(cat "$R/fresh.md")" "Not run: \`bash bench/reaction.sh\` produces it" \
    "with no earlier document, a missing section says how to produce it"
mv "$R/reaction.md.away" "$R/reaction.md"

if [ "$TAP_FAILED" -ne 0 ]; then
	for f in "$R"/*.log; do echo "--- $f" >&2; tail -n 8 "$f" >&2; done
fi
tap_done
