#!/bin/bash
# sshd-load.sh - a real sshd under a brute force that autoban only counts:
# BENCH_CONNS connections at once (100), each from its own source and
# trying BENCH_TRIES wrong passwords (6) on one connection, with
# pam_unix's nodelay so that the attempts, not its 2 s sleep, set the
# pace, and maxretry high enough that nobody is banned.  Side by side in
# each run, at the same time: Debian's stock stack without autoban, and
# with the one line, each server attacked by its own CONNS connections.
#
# Reported per mode:
#  - the resident memory of sshd's pre-authentication processes once every
#    connection has made its attempts and waits at the next prompt: per
#    connection a privileged monitor, which runs PAM, and its unprivileged
#    child (every sshd process of the server namespace but the listener);
#  - sshd's CPU per attempt: the listener's own and its reaped children's
#    (utime + stime + cutime + cstime from /proc/PID/stat), before and
#    after, once the connections are gone.
. "$(dirname "$0")/lib.sh"
bench_ns "$@"
MD=$RESULTS/sshd-load.md
: >"$MD"
CONNS=${BENCH_CONNS:-100}
TRIES=${BENCH_TRIES:-6}
bench_apt sshpass openssh-server
. "$AB_TOP/tests/e2e/env.sh"
# One prompt more than the attempts, at which each connection waits.
export E_V6_SOURCES=$CONNS E_NODELAY=1 E_GRACE=600 \
    E_MAXAUTHTRIES=$((TRIES + 1)) E_MAXSTARTUPS=$((CONNS + 10))
HZ=$(getconf CLK_TCK)

sshd_cpu() {	# seconds of CPU of sshd and its reaped children
	awk -v hz="$HZ" '{print ($14 + $15 + $16 + $17) / hz}' \
	    "/proc/$E_SSHDPID/stat"
}

# rss: "TOTAL_KIB NPROCS MEDIAN_MONITOR_KIB" of sshd's pre-auth processes.
rss() {
	python3 - "$(cat "$E/sshd.pid")" $(ip netns pids "$NS_srv") <<'PY'
import sys
listener, pids = sys.argv[1], sys.argv[2:]
tot = n = 0
mon = []
for p in pids:
    if p == listener:
        continue
    try:
        comm = open("/proc/%s/comm" % p).read().strip()
        cmd = open("/proc/%s/cmdline" % p, "rb").read()
        kib = [int(l.split()[1]) for l in open("/proc/%s/status" % p)
               if l.startswith("VmRSS:")][0]
    except (OSError, IndexError):
        continue
    if comm != "sshd":
        continue
    tot += kib
    n += 1
    if b"[priv]" in cmd:
        mon.append(kib)
mon.sort()
print(tot, n, mon[len(mon) // 2] if mon else 0)
PY
}

# settle N: wait until N passwords were checked, or, once they started,
# none more for 10 s (a connection the loaded machine failed to open); at
# most 300 s.
settle() {
	local n last=-1 still=0 i
	for i in $(seq 1 600); do
		n=$(wc -l <"$E/checked")
		[ "$n" -ge "$1" ] && return 0
		if [ "$n" -gt 0 ] && [ "$n" -eq "$last" ]; then
			still=$((still + 1))
			[ "$still" -ge 20 ] && return 1
		else
			still=0
		fi
		last=$n
		sleep 0.5
	done
	return 1
}

srv_idle() {	# no sshd process left but the listener (and the log sink)
	[ "$(ip netns pids "$NS_srv" | wc -l)" -le 3 ]
}

one_conn() {	# one_conn N: TRIES wrong passwords from source N, then wait
	local src i pw=()
	src="2001:db8:0:$(printf %x $((255 + $1)))::1"
	for i in $(seq 1 "$TRIES"); do pw+=("wrong$i"); done
	SSHTRY_HOLD=1 SSHTRY_WAIT=240 ip netns exec "$NS_cli" python3 \
	    "$AB_TOP/tests/e2e/sshtry.py" "$src" password "${pw[@]}" \
	    "$E_SERVER6" "$E_USER" >/dev/null
}

md "## A real sshd counting a brute force" "" "$(run_stamp)" "" \
    "Command: \`bash bench/sshd-load.sh\` (BENCH_RUNS=$RUNS): two servers at" \
    "once, without and with autoban, each attacked by $CONNS connections" \
    "at once, each from its own IPv6 /64 with $TRIES wrong passwords on one" \
    "connection; pam_unix nodelay; autoban counts (maxretry 100) and bans" \
    "nobody. Pre-auth RSS: every sshd process but the listener once all" \
    "$((CONNS * TRIES)) passwords were checked, each connection waiting at" \
    "its next prompt; the median monitor ([priv], the process that runs" \
    "PAM) among them." ""
# measure MODE RUN: one server, attacked at the same time as the other
# mode's; writes "CPU_MS TOTAL_KIB NPROCS MEDIAN_MONITOR_KIB CHECKED" to
# $W/res-RUN-MODE.
measure() {
	local mode=$1 r=$2 i before after cpid tot nproc med checked_all p
	E=$W/r$r-$mode
	if [ "$mode" = with ]; then
		unset E_STACK E_NO_BANHELPER
	else
		export E_STACK=stock E_NO_BANHELPER=1
	fi
	if ! env_up "$E" "maxretry = 100" "sync_interval = 60s"; then
		touch "$W/ready-$r-$mode"
		env_down
		return 1
	fi
	touch "$W/ready-$r-$mode"
	for i in $(seq 1 600); do
		[ -e "$W/ready-$r-with" ] && [ -e "$W/ready-$r-without" ] && break
		sleep 0.2
	done
	before=$(sshd_cpu)
	export -f one_conn
	export NS_cli E_SERVER6 E_USER TRIES AB_TOP CONNS
	setsid bash -c 'seq 1 "$CONNS" | xargs -P "$CONNS" -I{} \
	    bash -c "one_conn {}"' &
	cpid=$!
	settle $((CONNS * TRIES))
	sleep 1
	read -r tot nproc med <<<"$(rss)"
	kill -- -"$cpid" 2>/dev/null
	wait "$cpid" 2>/dev/null
	env_wait 30 srv_idle
	after=$(sshd_cpu)
	checked_all=$(wc -l <"$E/checked")
	p=$(python3 -c "print('%.3f' % (($after - $before) * 1000 / max(1, $checked_all)))")
	echo "$p $tot $nproc $med $checked_all" >"$W/res-$r-$mode"
	env_down
}

declare -A per mem mon pp cpu
ratios=""
modes="without with"
for mode in $modes; do per[$mode]=""; mem[$mode]=""; mon[$mode]=""; pp[$mode]=""; done
# Both servers run at once, each in its own namespaces, so that whatever
# the machine does meanwhile weighs on both alike: one after the other,
# the same setup was seen to cost 181 or 204 ms per attempt from one run
# to the next, whichever mode it was.
for r in $(seq 1 "$RUNS"); do
	for mode in $modes; do
		( measure "$mode" "$r" ) &
	done
	wait
	for mode in $modes; do
		read -r p tot nproc med checked_all <"$W/res-$r-$mode" || {
			echo "run $r $mode autoban: no result"
			continue
		}
		per[$mode]+="$p "
		mem[$mode]+="$((tot / 1024)) "
		pp[$mode]+="$((tot / (nproc > 0 ? nproc : 1))) "
		mon[$mode]+="$med "
		cpu[$r-$mode]=$p
		echo "run $r $mode autoban: sshd CPU ${p} ms per attempt; passwords checked: $checked_all; pre-auth RSS $((tot / 1024)) MiB in $nproc processes, median monitor $med KiB"
	done
	[ -n "${cpu[$r-with]:-}" ] && [ -n "${cpu[$r-without]:-}" ] &&
	    ratios+="$(python3 -c "print('%.3f' % (${cpu[$r-with]} / ${cpu[$r-without]}))") "
done
# A client that the loaded machine fails to connect leaves fewer
# processes: the mean per process compares where the total cannot.
md "| | sshd CPU ms per attempt: median (min-max) | pre-auth RSS MiB: median (min-max) | KiB per pre-auth process: median | median monitor RSS KiB |" \
    "| --- | --- | --- | --- | --- |"
for mode in $modes; do
	read -r b bmin bmax _ <<<"$(echo "${per[$mode]}" | stats)"
	read -r m mmin mmax _ <<<"$(echo "${mem[$mode]}" | stats)"
	read -r q _ <<<"$(echo "${pp[$mode]}" | stats)"
	read -r k _ <<<"$(echo "${mon[$mode]}" | stats)"
	md "| $mode autoban | $b ($bmin-$bmax) | $m ($mmin-$mmax) | $q | $k |"
done
read -r rt rmin rmax _ <<<"$(echo "${ratios:-0}" | stats)"
md "" "sshd's CPU per attempt with autoban over without, run by run: $rt ($rmin-$rmax)."
md ""
echo "sshd-load: results in $MD"
