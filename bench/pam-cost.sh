#!/bin/bash
# pam-cost.sh - cost of one PAM transaction with each brute-force defence.
#
# The driver (tests/pam/pamdrive -E) does what sshd does per connection, in
# a fresh process each time (sshd re-executes itself for every connection,
# so every module and library is loaded anew): pam_start, PAM_RHOST,
# pam_authenticate against pam_deny (so only the defence costs), pam_end.
# Stacks: empty (libpam alone), pam_faillock (preauth/authfail), pam_abl
# (Debian's libpam-abl, host rule; its module is taken from the .deb, never
# installed into the system's PAM), autoban (the one line).
# For 1, 2 and 8 processes and 1, 10 000 and 1 000 000 distinct hosts (the
# stores are filled with that many hosts first, and autoban's with a ban
# for one host in ten).  Reported: ops/s and
# latency percentiles (median of $RUNS runs, min-max), the ratio to the empty
# stack measured pair by pair in each run, instructions per transaction
# under callgrind, and the stores' size on disk.  The timed runs are made
# twice: with pamdrive alone, and with pamdrive linked with sshd's
# libraries (BENCH_SSHD_TXNS transactions per run, pam_abl left out), the
# process sshd re-executes for each connection.
. "$(dirname "$0")/lib.sh"
bench_ns "$@"
MD=$RESULTS/pam-cost.md
: >"$MD"
TXNS=${BENCH_TXNS:-1200}
CHUNKS=${BENCH_CHUNKS:-6}
PROCS=${BENCH_PROCS:-"1 2 8"}
HOSTS=${BENCH_HOSTS:-"1 10000 1000000"}
# The runs with sshd's libraries: fewer transactions (each costs several
# times more), the same process counts.
SSHD_TXNS=${BENCH_SSHD_TXNS:-600}
SSHD_PROCS=${BENCH_SSHD_PROCS:-$PROCS}
# BENCH_INSTRUCTIONS=0: no callgrind tables (the smoke test's quick run).
INSTRUCTIONS=${BENCH_INSTRUCTIONS:-1}

bench_apt libdb5.3 valgrind
# pam_abl from its package, unpacked here: installing libpam-abl would have
# pam-auth-update add it to the host's common-auth.
mkdir -p "$W/abl-deb"
(cd "$W/abl-deb" && apt-get download -q libpam-abl >/dev/null 2>&1 &&
    dpkg-deb -x libpam-abl_*.deb root)
ABL=$(find "$W/abl-deb/root" -name pam_abl.so | head -1)
ABLCLI=$W/abl-deb/root/usr/bin/pam_abl
PD=$AB_BUILD/tests/pamdrive
# The same driver linked with every library /usr/sbin/sshd links, in its
# order: the process sshd re-executes per connection loads all of them
# (and runs their constructors) before PAM starts, so instructions there
# show what a module adds to a real connection's process.  pamdrive alone
# (libpam and libc) is the baseline the targets are judged on.
PDS=$W/pamdrive-sshd
sshd_libs=()
while read -r lib; do
	path=$(ldd /usr/sbin/sshd | awk -v l="$lib" '$1 == l && $3 ~ /^\// {print $3}')
	[ -n "$path" ] && sshd_libs+=("$path")
done < <(readelf -d /usr/sbin/sshd | awk '/NEEDED/ {gsub(/[][]/, "", $5); print $5}')
cc -O2 -o "$PDS" "$AB_TOP/tests/pam/pamdrive.c" -Wl,--no-as-needed \
    "${sshd_libs[@]}" -lpam -lpthread || { echo "pam-cost: cannot build $PDS" >&2; exit 1; }
# The floor of any module keeping its state in LMDB: one that links
# liblmdb.so and does nothing (a scale row, like pam_permit).
FLOOR=$W/pam_lmdb_floor.so
cc -O2 -shared -fPIC -fvisibility=hidden -Wl,-z,defs,-z,now -o "$FLOOR" \
    "$AB_TOP/bench/pam_lmdb_floor.c" -llmdb -lpam ||
    { echo "pam-cost: cannot build $FLOOR" >&2; exit 1; }
C=$W/pam.d
mkdir -p "$C"

host_name() {	# host_name I: host number I as pamdrive -H and populate name it
	printf '2001:db8:%x:%x::1\n' $(($1 >> 16)) $(($1 & 65535))
}

setup_state() {	# setup_state HOSTS: fresh stores holding HOSTS hosts
	local h=$1
	rm -rf "$W/ab" "$W/fl" "$W/abl"
	mkdir -p "$W/ab/db" "$W/ab/run" "$W/fl" "$W/abl"
	chmod 0700 "$W/ab/db" "$W/ab/run"
	# The shipped file, as an admin has it (every key documented in
	# comments, which the module reads on every login), plus the paths.
	{
		cat "$AB_TOP/conf/autoban.conf"
		printf 'db = %s\nruntime_dir = %s\n' "$W/ab/db" "$W/ab/run"
	} >"$W/ab/autoban.conf"
	cat >"$W/abl/pam_abl.conf" <<EOF
db_home=$W/abl
host_db=$W/abl/hosts.db
user_db=$W/abl/users.db
host_rule=*:5/10m
host_purge=1d
EOF
	printf 'auth required pam_deny.so\n' >"$C/empty"
	printf 'auth requisite %s conf=%s\nauth required pam_deny.so\n' \
	    "$AB_BUILD/pam_autoban.so" "$W/ab/autoban.conf" >"$C/autoban"
	printf 'auth required pam_faillock.so preauth dir=%s\nauth [default=die] pam_faillock.so authfail dir=%s\nauth required pam_deny.so\n' \
	    "$W/fl" "$W/fl" >"$C/faillock"
	printf 'auth required %s config=%s\nauth required pam_deny.so\n' \
	    "$ABL" "$W/abl/pam_abl.conf" >"$C/abl"
	printf 'auth required pam_exec.so quiet /bin/sleep 3600\nauth required pam_deny.so\n' \
	    >"$C/stall"
	# The floor for any second module: one that loads and does nothing.
	printf 'auth optional pam_permit.so\nauth required pam_deny.so\n' \
	    >"$C/permit"
	printf 'auth optional %s\nauth required pam_deny.so\n' "$FLOOR" \
	    >"$C/lmdb-floor"
	# Every host counted once already, and bans as a server under attack
	# has them: one for every ten hosts (at least one, for the row of a
	# banned host).
	"$AB_BUILD/bench/populate" "$W/ab/autoban.conf" "$h" \
	    $((h >= 10 ? h / 10 : 1)) >/dev/null
	if [ "$h" -gt 1 ] && [ "$h" -le 10000 ] && [ -x "$ABLCLI" ]; then
		for i in $(seq 0 $((h - 1))); do host_name "$i"; done |
		    xargs -P 2 -n 200 sh -c 'for x; do "$0" -f -H "$x" '"$W/abl/pam_abl.conf"' >/dev/null 2>&1; done' "$ABLCLI"
	fi
}

ratio() { python3 -c "print('%.3f' % ($1 / $2))"; }

# rotate K WORDS...: WORDS turned left by K (mod their number)
rotate() {
	local k=$1
	shift
	local a=("$@") i
	for i in "${!a[@]}"; do
		printf '%s\n' "${a[$(((i + k) % ${#a[@]}))]}"
	done
}

# percentiles FILE: p50 p99 p99.9 of the latencies in FILE (one a line),
# taken as pamdrive takes them
percentiles() {
	python3 -c '
import sys
v = sorted(float(x) for x in open(sys.argv[1]).read().split())
n = len(v)
print("%.0f %.0f %.0f" % (v[n // 2], v[n * 99 // 100], v[n * 999 // 1000]))
' "$1"
}

# A competitor may stop making progress (pam_abl: a Berkeley DB that has
# panicked leaves its other processes waiting forever).  Every measurement
# runs under bounded; one that hangs is reported, not waited for.
STACK_TIMEOUT=${BENCH_STACK_TIMEOUT:-300}
STDERR_LOG=$W/stack.err
# bounded CMD...: CMD, ended after STACK_TIMEOUT s (status 124) together
# with every process it started, even one that left its process group
# (pam_exec's children call setsid): CMD runs as the first process of a
# PID namespace of its own, and when that one dies the kernel kills the
# rest.  Its stderr is kept in STDERR_LOG.
bounded() {
	timeout -k 10 "$STACK_TIMEOUT" unshare --pid --fork --kill-child \
	    "$@" 2>"$STDERR_LOG"
}

# hung_note WHERE: the table's words for a measurement that hung there
hung_note() {
	local said
	said=$(grep -m1 -iE 'panic|fatal|error' "$STDERR_LOG" | cut -c1-160)
	echo "hung: $1 had not ended after $STACK_TIMEOUT s and was killed; not run again at this size${said:+ (it printed: $said)}"
}

# cg_count DRIVER ARGS...: callgrind's instruction count for the whole
# run of DRIVER ARGS, or nothing (status 124) if it hung
# (its profile kept in CG_OUT if set)
cg_count() {
	bounded valgrind --tool=callgrind \
	    --callgrind-out-file="${CG_OUT:-/dev/null}" "$@" >/dev/null
	[ $? -eq 124 ] && return 124
	grep -oP 'Collected : \K[0-9]+' "$STDERR_LOG"
}

# instructions DRIVER STACK HOST: callgrind's count for one transaction
# in a fresh process, or nothing (status 124) if it hung
instructions() {
	cg_count "$1" -1 -c "$C" -s "$2" -u nobody -r "$3"
}

# cg_memset DRIVER ARGS...: callgrind's count for the run, and of it the
# instructions in memset (callgrind counts each byte `rep stosb` clears as
# one instruction: a calloc of recycled heap memory shows there), or
# nothing (status 124) if it hung
cg_memset() {
	local n
	n=$(CG_OUT=$W/cg.out cg_count "$@") || return
	echo "$n" "$(callgrind_annotate --inclusive=no "$W/cg.out" 2>/dev/null |
	    awk '/memset/ { gsub(",", "", $1); n += $1 } END { print n + 0 }')"
}

# warm STACK FIRST: instructions per transaction in a process that has run
# two already (pamdrive without -E: six transactions minus two, over
# four), and of them those in memset; or nothing (status 124) if it hung.
# Hosts from FIRST on, which the store has not seen, so each is a counted
# failure.
warm() {
	local w2 w6
	w2=$(cg_memset "$PD" -c "$C" -s "$1" -u nobody -n 2 -H 4000000000 \
	    -F "$2") || return
	w6=$(cg_memset "$PD" -c "$C" -s "$1" -u nobody -n 6 -H 4000000000 \
	    -F "$(($2 + 2))") || return
	echo $(((${w6% *} - ${w2% *}) / 4)) $(((${w6#* } - ${w2#* }) / 4))
}

# BENCH_STACKS picks some; "stall" (a module that never returns) is there
# for the smoke test of the timeout.
stacks=${BENCH_STACKS:-"empty faillock abl autoban"}
case " $stacks " in *" empty "*) ;; *) stacks="empty $stacks" ;; esac
# pam_abl is left out of the runs with sshd's libraries: its Berkeley DB
# makes those runs take longer than all the others together (its cost
# there is in the instruction tables).
sshd_stacks=$(for s in $stacks; do [ "$s" != abl ] && echo "$s"; done)
md "## Cost per PAM transaction" "" "$(run_stamp)" "" \
    "Command: \`bash bench/pam-cost.sh\` (BENCH_RUNS=$RUNS, $TXNS transactions per run)." \
    "Each transaction in a fresh process (fork + exec of pamdrive, as sshd" \
    "does per connection); the password module is pam_deny, the user" \
    "\`nobody\`, hosts 2001:db8:x:y::1 (one /64 each).  autoban reads the" \
    "shipped autoban.conf (maxretry 5).  Each run counts hosts the runs" \
    "before it did not, so with 10 000 hosts or more every transaction is" \
    "a failure counted below maxretry; with 1 host, that host is banned after" \
    "5 failures and the rest of the run measures refusing it (the column" \
    "\"refused\" gives the PAM_MAXTRIES results of each run).  A run is" \
    "split in $CHUNKS parts; in each part every stack runs back to back, in an" \
    "order turned by one stack per part, so the machine's drift falls on" \
    "every stack alike.  A run's ops/s is its transactions over its parts'" \
    "summed time, its percentiles are over all its transactions.  CPU is" \
    "the user and system time of the driver and every process it waited" \
    "for (each transaction's fork, exec and exit included), per" \
    "transaction: what a stack costs the cores, apart from the time a" \
    "process waits for one (on an idle virtual machine, waking it)." \
    "Tables headed \"with sshd's libraries\" run the same driver linked" \
    "with every library /usr/sbin/sshd links, in its order (${#sshd_libs[@]}):" \
    "sshd re-executes itself for every connection, so each connection's" \
    "process loads them, and runs their constructors, before PAM starts." \
    "Those runs have $SSHD_TXNS transactions each and leave pam_abl out." ""

# timed_rows DRIVER LABEL TOTAL PROCS STACKS: the timed runs of STACKS with
# DRIVER, TOTAL transactions per run, at each of PROCS process counts; one
# table each, headed "### H host(s), P process(es)LABEL".  Uses h and
# run_hosts, advances next_first; a stack that hangs is marked in dead[]
# and not run again at this size, with either driver.
timed_rows() {
	local drv=$1 label=$2 total=$3 procs=$4 tstacks=$5
	local p n r s c cn cfirst first out a b cm crm crmin crmax
	local om omin omax rm rmin rmax n_ok notes
	for p in $procs; do
		n=$((total / p))
		declare -A ops p50 p99 p999 ratio last refused cpu cpulast cpuratio
		for s in $tstacks; do ops[$s]=""; p50[$s]=""; p99[$s]=""; p999[$s]=""; ratio[$s]=""; refused[$s]=""; cpu[$s]=""; cpuratio[$s]=""; done
		for r in $(seq 1 "$RUNS"); do
			# Each run starts at the host after the last one the
			# previous run counted (-F), so with many hosts every
			# transaction is a failure counted below maxretry (at
			# 10 000 hosts, 5 runs of both drivers' tables count a
			# host at most 3 times, populate once more).  With one
			# host, that host is banned after maxretry failures and
			# the rest are refusals.  The "refused" column shows
			# which path a row measured.
			first=$next_first
			next_first=$((next_first + total))
			# One run: its transactions in CHUNKS parts, and in each
			# part every stack back to back, in an order turned by
			# one stack per part, so that the machine's drift (its
			# speed changes within seconds here) falls on every
			# stack alike.  A stack's figures are its parts summed.
			declare -A secs=() done_n=() mt=() cpus=()
			for s in $tstacks; do rm -f "$W/lat.$s"; secs[$s]=""; cpus[$s]=""; done_n[$s]=0; mt[$s]=0; done
			for c in $(seq 0 $((CHUNKS - 1))); do
				cn=$(((n * (c + 1)) / CHUNKS - (n * c) / CHUNKS))
				[ "$cn" -gt 0 ] || continue
				cfirst=$((first + p * ((n * c) / CHUNKS)))
				for s in $(rotate "$c" $tstacks); do
					[ -n "${dead[$s]:-}" ] && continue
					out=$(bounded "$drv" -c "$C" -s "$s" -u nobody -E -P "$p" -n "$cn" -H "$run_hosts" -F "$cfirst" -L "$W/lat.$s")
					if [ $? -eq 124 ]; then
						dead[$s]=$(hung_note "run $r at $p process(es)")
						continue
					fi
					secs[$s]+="$(echo "$out" | grep -oP ' secs=\K[0-9.]+') "
					cpus[$s]+="$(echo "$out" | grep -oP 'cpu_s=\K[0-9.]+') "
					done_n[$s]=$((done_n[$s] + p * cn))
					mt[$s]=$((mt[$s] + $(echo "$out" | grep -oP 'maxtries=\K[0-9]+')))
				done
			done
			for s in $tstacks; do
				last[$s]="" cpulast[$s]=""
				# A stack that hung in this run has no figures for it.
				[ -n "${dead[$s]:-}" ] && continue
				last[$s]=$(python3 -c "print('%.1f' % (${done_n[$s]} / sum([${secs[$s]// /,}0])))")
				cpulast[$s]=$(python3 -c "print('%.1f' % (sum([${cpus[$s]// /,}0]) * 1e6 / ${done_n[$s]}))")
				cpu[$s]+="${cpulast[$s]} "
				refused[$s]+="${mt[$s]} "
				ops[$s]+="${last[$s]} "
				read -r a b c <<<"$(percentiles "$W/lat.$s")"
				p50[$s]+="$a "
				p99[$s]+="$b "
				p999[$s]+="$c "
			done
			unset secs done_n mt cpus
			for s in $tstacks; do
				[ -n "${last[$s]}" ] && [ -n "${last[empty]}" ] || continue
				ratio[$s]+="$(python3 -c "print(${last[$s]} / ${last[empty]})") "
				cpuratio[$s]+="$(python3 -c "print(${cpulast[$s]} / ${cpulast[empty]})") "
			done
		done
		md "### $h host(s), $p process(es)$label" "" \
		    "| stack | ops/s median (min-max) | ratio to empty, per run: median (min-max) | p50 µs | p99 µs | p99.9 µs | CPU µs per transaction | CPU ratio to empty, per run | refused (PAM_MAXTRIES) of $((p * n)) per run |" \
		    "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
		notes=()
		for s in $tstacks; do
			if [ -z "${ops[$s]// /}" ] || [ -z "${ratio[$s]// /}" ]; then
				md "| $s | ${dead[$s]:-no run finished} | | | | | | | |"
				continue
			fi
			read -r om omin omax _ <<<"$(echo "${ops[$s]}" | stats)"
			read -r rm rmin rmax _ <<<"$(echo "${ratio[$s]}" | stats)"
			read -r a _ <<<"$(echo "${p50[$s]}" | stats)"
			read -r b _ <<<"$(echo "${p99[$s]}" | stats)"
			read -r c _ <<<"$(echo "${p999[$s]}" | stats)"
			read -r cm _ <<<"$(echo "${cpu[$s]}" | stats)"
			read -r crm crmin crmax _ <<<"$(echo "${cpuratio[$s]}" | stats)"
			md "| $s | $(printf '%.0f (%.0f-%.0f)' "$om" "$omin" "$omax") | $(printf '%.3f (%.3f-%.3f)' "$rm" "$rmin" "$rmax") | $a | $b | $c | $(printf '%.0f' "$cm") | $(printf '%.3f (%.3f-%.3f)' "$crm" "$crmin" "$crmax") | $(echo ${refused[$s]} | tr ' ' '/') |"
			n_ok=$(echo "${ops[$s]}" | wc -w)
			[ "$n_ok" -lt "$RUNS" ] &&
			    notes+=("$s: $n_ok of $RUNS runs; ${dead[$s]:-the others did not finish}.")
		done
		[ ${#notes[@]} -gt 0 ] && md "" "${notes[@]}"
		md ""
		unset ops p50 p99 p999 ratio last refused cpu cpulast cpuratio
	done
}

for h in $HOSTS; do
	setup_state "$h"
	# dead[STACK]: why STACK is not run (again) at this size.
	declare -A dead=()
	[ "$h" -gt 10000 ] && dead[abl]="not measured: filling pam_abl's database with $h hosts takes one \`pam_abl -f\` process per host"
	# The runs count hosts 0 to h-2 and leave the last one to callgrind
	# (with 1 host they share it).
	next_first=0 run_hosts=$((h > 1 ? h - 1 : 1))
	# Instructions first, before any run has counted a host: one
	# transaction in a fresh process, under callgrind, for the last host of
	# the filled store (counted once by populate), twice to show it
	# repeats: its 2nd and 3rd failures, so both are counted, neither bans
	# (the run with sshd's libraries is its 4th).
	if [ "$INSTRUCTIONS" = 1 ]; then
	md "### $h host(s): instructions" "" \
	    "Instructions per transaction at $h host(s) (callgrind, whole process;" \
	    "twice, to show it repeats; the last two columns in a process that" \
	    "also loads sshd's ${#sshd_libs[@]} libraries, as sshd's own does).  Each" \
	    "transaction is a failure counted for a host below maxretry;" \
	    "autoban-banned is autoban refusing a host it has banned, and" \
	    "permit (for scale, not a defence) pam_permit.so in front of" \
	    "pam_deny: a second module that loads and does nothing; lmdb-floor" \
	    "the same with a module that links liblmdb.so and does nothing" \
	    "(bench/pam_lmdb_floor.c), the floor of any module keeping its state" \
	    "in LMDB as Debian ships it:" "" \
	    "| stack | instructions | ratio to empty | with sshd's libraries | ratio to empty |" \
	    "| --- | --- | --- | --- | --- |"
	host=$(host_name $((h - 1)))
	declare -A ir irs
	for s in $stacks "autoban-banned" "permit" "lmdb-floor"; do
		st=$s hs=$host
		# populate's first ban: 2001:db8:8000:0::/64
		[ "$s" = autoban-banned ] && st=autoban hs=2001:db8:8000:0::1
		case " $stacks permit lmdb-floor " in *" $st "*) ;; *) continue ;; esac
		if [ -n "${dead[$st]:-}" ]; then
			md "| $s | ${dead[$st]} | | | |"
			continue
		fi
		if ! v1=$(instructions "$PD" "$st" "$hs") ||
		    ! v2=$(instructions "$PD" "$st" "$hs") ||
		    ! irs[$s]=$(instructions "$PDS" "$st" "$hs"); then
			# Not run again at this size, the timed runs neither.
			dead[$st]=$(hung_note "callgrind's run")
			md "| $s | ${dead[$st]} | | | |"
			continue
		fi
		ir[$s]=$v2
		md "| $s | $v1 / $v2 | $(ratio "$v2" "${ir[empty]}") | ${irs[$s]} | $(ratio "${irs[$s]}" "${irs[empty]}") |"
	done
	unset ir irs
	md ""
	# The same work in a process that lives on: sshd's monitor runs every
	# password of one connection, and a module must not make the later
	# ones dearer (an allocator it leaves tuned, a heap it leaves grown).
	md "Instructions per transaction in a process that has run two already" \
	    "at $h host(s) (callgrind, pamdrive without -E: six transactions minus" \
	    "two, over four; each from a host the store has not seen, so a counted" \
	    "failure; no fork, exec or library start-up, so the empty stack is" \
	    "small and ratios are large; what a module adds is the figure):" "" \
	    "| stack | instructions, warm process | over the empty stack | of them in memset |" \
	    "| --- | --- | --- | --- |"
	declare -A wi
	for s in $stacks permit lmdb-floor; do
		[ -n "${dead[$s]:-}" ] && continue
		if ! w=$(warm "$s" $((3000000000 + h))); then
			dead[$s]=$(hung_note "the warm-process run")
			md "| $s | ${dead[$s]} | | |"
			continue
		fi
		wi[$s]=${w% *}
		md "| $s | ${wi[$s]} | $([ -n "${wi[empty]:-}" ] && printf '%+d' $((wi[$s] - wi[empty]))) | ${w#* } |"
	done
	unset wi
	md ""
	fi
	timed_rows "$PD" "" "$TXNS" "$PROCS" "$stacks"
	# The same runs in the process sshd re-executes per connection: its
	# libraries make a transaction several times dearer, and what a module
	# adds is then the share of a real connection's PAM work that it is.
	timed_rows "$PDS" ", with sshd's libraries" "$SSHD_TXNS" "$SSHD_PROCS" \
	    "$sshd_stacks"
	unset dead
	md "Store size on disk at $h host(s): autoban bans $(du -sk "$W/ab/db" | cut -f1) KiB," \
	    "counts $(du -sk "$W/ab/run" | cut -f1) KiB (tmpfs); pam_faillock $(du -sk "$W/fl" | cut -f1) KiB;" \
	    "pam_abl $(du -sk "$W/abl" | cut -f1) KiB." ""
done
echo "pam-cost: results in $MD"
