#!/bin/bash
# attack-cpu.sh - sshd's CPU per attempt while 200 sources brute-force it,
# with autoban (the one PAM line + banhelper) and without (Debian's stock
# PAM stack, no defence).  Each source opens 6 connections with one wrong
# password each.  Without autoban every one of them is hashed by pam_unix;
# with it, 4 are, the 5th is refused before the hash, the 6th is dropped
# by the kernel and never reaches sshd.  CPU is the sshd listener's own and
# its reaped children's (utime + stime + cutime + cstime from
# /proc/PID/stat), before and after.
. "$(dirname "$0")/lib.sh"
bench_ns "$@"
MD=$RESULTS/attack-cpu.md
: >"$MD"
SOURCES=${BENCH_SOURCES:-200}
TRIES=${BENCH_TRIES:-6}
PAR=${BENCH_PARALLEL:-25}
bench_apt sshpass openssh-server
. "$AB_TOP/tests/e2e/env.sh"
export E_V6_SOURCES=$SOURCES
HZ=$(getconf CLK_TCK)

sshd_cpu() {	# seconds of CPU of sshd and its reaped children
	awk -v hz="$HZ" '{print ($14 + $15 + $16 + $17) / hz}' \
	    "/proc/$E_SSHDPID/stat"
}

one_source() {	# one_source N: TRIES failed logins from source N
	local src i
	src="2001:db8:0:$(printf %x $((255 + $1)))::1"
	for i in $(seq 1 "$TRIES"); do
		login "$src" "wrong$i"
	done
	return 0
}

md "## sshd's CPU under attack" "" "$(run_stamp)" "" \
    "Command: \`bash bench/attack-cpu.sh\` (BENCH_RUNS=$RUNS): $SOURCES sources" \
    "(one IPv6 /64 each), $TRIES connections each with one wrong password," \
    "$PAR sources at a time; maxretry 4." ""
declare -A cpu per
for mode in without with; do cpu[$mode]=""; per[$mode]=""; done
for r in $(seq 1 "$RUNS"); do
	for mode in without with; do
		E=$W/r$r-$mode
		if [ "$mode" = with ]; then
			unset E_STACK E_NO_BANHELPER
		else
			export E_STACK=stock E_NO_BANHELPER=1
		fi
		env_up "$E" "maxretry = 4" "sync_interval = 60s" || { env_down; continue; }
		before=$(sshd_cpu)
		seq 1 "$SOURCES" | xargs -P "$PAR" -I{} bash -c \
		    "$(declare -f login one_source); NS_cli=$NS_cli E_SERVER4=$E_SERVER4 E_SERVER6=$E_SERVER6 E_USER=$E_USER TRIES=$TRIES one_source {}"
		sleep 1
		after=$(sshd_cpu)
		checked_all=$(wc -l <"$E/checked")
		total=$((SOURCES * TRIES))
		c=$(python3 -c "print('%.3f' % ($after - $before))")
		p=$(python3 -c "print('%.3f' % (($after - $before) * 1000 / $total))")
		cpu[$mode]+="$c "
		per[$mode]+="$p "
		echo "run $r $mode autoban: sshd CPU ${c}s for $total attempts (${p} ms each); passwords checked: $checked_all"
		env_down
	done
done
md "| | sshd CPU s: median (min-max) | ms per attempt: median (min-max) |" \
    "| --- | --- | --- |"
for mode in without with; do
	read -r a amin amax _ <<<"$(echo "${cpu[$mode]}" | stats)"
	read -r b bmin bmax _ <<<"$(echo "${per[$mode]}" | stats)"
	md "| $mode autoban | $a ($amin-$amax) | $b ($bmin-$bmax) |"
done
md ""
echo "attack-cpu: results in $MD"
