#!/bin/bash
# reaction.sh - how fast and how exactly each defence stops a brute force
# against the real sshd of the end-to-end setup (tests/e2e/env.sh), with
# the same policy: maxretry 4, findtime 10m, bantime 1h.
#
#   autoban        the one PAM line + banhelper run (nftables), as
#                  installed: the daemon sets itself to SCHED_FIFO 1
#                  (realtime = yes, the default)
#   autoban-ordinary  the same with realtime = no and the daemon at nice 0,
#                  the class and priority of the other tools' daemons
#   autoban-nice   realtime = no at the unit's Nice= (-10): the fallback
#                  when the kernel refuses SCHED_FIFO
#   fail2ban       Debian's package, sshd jail, nftables-multiport action,
#                  pyinotify backend on auth.log
#   sshguard       Debian's package, nftables backend (sshg-fw-nft-sets),
#                  reading auth.log; THRESHOLD 40 (4 failures of 10 points)
#
# Reaction: 50 attackers (one source each) fail 4 passwords, then try a 5th;
# the time from the event that crosses maxretry to the kernel's "add
# element" for that source (nft monitor).  The event, for fail2ban and
# sshguard: the 4th "Failed password" line, stamped by the kernel as the
# syslog sink receives it (SO_TIMESTAMP); for autoban, which bans when the
# 5th attempt reaches it: the moment pam_sm_authenticate began for that
# attempt, which its debug line gives (so all of the module's own work
# counts).  Monitor lines are stamped as their reader gets them; all
# stamps are CLOCK_REALTIME.  Guesses: hydra -t 4 with 40 passwords from one
# source; how many reached the password check (the pam_exec counter of the
# setup, not a log).
. "$(dirname "$0")/lib.sh"
bench_ns "$@"
MD=$RESULTS/reaction.md
: >"$MD"
ATTACKERS=${BENCH_ATTACKERS:-50}
PAR=${BENCH_PARALLEL:-10}
DEFENCES=${BENCH_DEFENCES:-"autoban autoban-ordinary autoban-nice fail2ban sshguard"}
# hydra's run is cut after this many seconds: against a defence that
# drops it, its connections only time out.
HYDRA_SECS=${BENCH_HYDRA_SECS:-120}

bench_apt fail2ban sshguard python3-pyinotify hydra sshpass openssh-server
. "$AB_TOP/tests/e2e/env.sh"

# nft monitor in the server namespace, each line stamped on arrival.
monitor_start() {
	# CLOCK_REALTIME, as the syslog sink's kernel stamps (SO_TIMESTAMP).
	# The stamp is taken when this reader gets the line, so any lag of
	# nft monitor adds to every defence's reaction, never subtracts.  Both
	# run at SCHED_FIFO 2 (above any defence) so that this lag stays small
	# while the attackers' sshd children keep the cores busy: at nice -20
	# the line came 2-3 ms after the kernel's change in some cases (Linux
	# 6.18 lets the running task finish its slice first).
	ip netns exec "$NS_srv" chrt -f 2 python3 -c '
import signal, subprocess, sys, time
out = open(sys.argv[1], "w", buffering=1)
p = subprocess.Popen(["nft", "monitor"], stdout=subprocess.PIPE)
def stop(*a):
    p.terminate()
    p.wait()
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
for line in p.stdout:
    out.write("%.6f %s" % (time.time(), line.decode(errors="replace")))
' "$E/nft.times" &
	MON=$!
	BENCH_PIDS+=("$MON")
	sleep 0.5
}

# Stop this run's monitor and defence (each in a session of its own).
run_stop() {
	kill "$MON" 2>/dev/null
	wait "$MON" 2>/dev/null
	if [ -n "${DEF_PID:-}" ]; then
		kill -- "-$DEF_PID" 2>/dev/null
		wait "$DEF_PID" 2>/dev/null
		DEF_PID=
	fi
}

defence_start() {
	case $1 in
	fail2ban)
		mkdir -p "$E/f2b"
		cp -a /etc/fail2ban/. "$E/f2b/"
		cat >"$E/f2b/fail2ban.local" <<EOF
[Definition]
socket = $E/f2b.sock
pidfile = $E/f2b.pid
dbfile = $E/f2b.sqlite3
logtarget = $E/f2b.log
EOF
		cat >"$E/f2b/jail.local" <<EOF
[DEFAULT]
maxretry = 4
findtime = 10m
bantime = 1h
banaction = nftables-multiport
banaction_allports = nftables-allports
[sshd]
enabled = true
port = ssh
backend = pyinotify
logpath = $E/auth.log
EOF
		touch "$E/auth.log"
		ip netns exec "$NS_srv" setsid fail2ban-server -f -x -c "$E/f2b" \
		    >"$E/f2b.out" 2>&1 &
		DEF_PID=$!
		BENCH_PIDS+=("$DEF_PID")
		env_wait 20 ip netns exec "$NS_srv" fail2ban-client -c "$E/f2b" \
		    status sshd >/dev/null 2>&1
		;;
	sshguard)
		mkdir -p "$E/etc/sshguard"
		cat >"$E/etc/sshguard/sshguard.conf" <<EOF
BACKEND="/usr/libexec/sshguard/sshg-fw-nft-sets"
THRESHOLD=40
BLOCK_TIME=3600
DETECTION_TIME=600
EOF
		: >"$E/etc/sshguard/whitelist"
		touch "$E/auth.log"
		# Its own session: sshguard's script ends with "kill 0", which
		# would otherwise take this harness's process group with it.
		ip netns exec "$NS_srv" setsid unshare --mount --propagation \
		    private bash -c "mount --bind '$E/etc' /etc && exec sshguard '$E/auth.log'" \
		    >"$E/sshguard.out" 2>&1 &
		DEF_PID=$!
		BENCH_PIDS+=("$DEF_PID")
		env_wait 10 sh -c "ip netns exec $NS_srv nft list tables | grep -q sshguard"
		;;
	esac
}

# attack SRC: 4 wrong passwords, then one more try (which crosses maxretry).
attack() {
	local i
	for i in 1 2 3 4 5; do
		login "$1" "wrong$i"
	done
	return 0	# every login fails, by design
}

# reaction_ms DEFENCE SRC: ms, or "none" if never in the kernel.  For
# autoban, when its "banned SRC as" line is in the log, two more figures:
# the reaction in two parts, ms.  The first from the start of the module's
# call to that line's arrival at the syslog sink (the module sends it right
# after it woke banhelper, so the module's own work and its waits for a
# core, and any wait before the line, are in it); the second from that
# line to the kernel's change (banhelper's store read and netlink batch,
# and nft monitor's line), below zero when banhelper, on the other core,
# was faster than the log line.
reaction_ms() {
	python3 - "$1" "$2" "$E/syslog.times" "$E/nft.times" <<'EOF'
import re, sys
d, src, logf, nftf = sys.argv[1:]
esc = re.escape(src)
t_event = t_line = None
fails = 0
for line in open(logf, errors="replace"):
    t, msg = line.split(" ", 1)
    if d == "autoban":
        if t_line is None and re.search(
                r"pam_autoban\(sshd:auth\): banned %s as " % esc, msg):
            t_line = float(t)
        m = re.search(r"pam_autoban\(sshd:auth\): %s: ban stored; this call "
                      r"began at ([0-9.]+) " % esc, msg)
        if m:
            t_event = float(m.group(1))
            break
    elif re.search(r"Failed password for .* from %s port" % esc, msg):
        fails += 1
        if fails == 4:
            t_event = float(t)
            break
t_kernel = None
for line in open(nftf, errors="replace"):
    t, msg = line.split(" ", 1)
    if "add element" in msg and re.search(r"[ {,]%s[ /},]" % esc, msg):
        t_kernel = float(t)
        break
if t_event is None or t_kernel is None:
    print("none")
elif t_line is None:
    print("%.3f" % ((t_kernel - t_event) * 1000))
else:
    print("%.3f %.3f %.3f" % ((t_kernel - t_event) * 1000,
          (t_line - t_event) * 1000, (t_kernel - t_line) * 1000))
EOF
}

# quantiles: "p50 p99" of the numbers on stdin (one a line), "- -" if none
quantiles() {
	python3 -c '
import sys
v = sorted(float(x) for x in sys.stdin.read().split())
if not v:
    print("- -")
else:
    q = lambda p: v[min(len(v) - 1, int(round(p * (len(v) - 1))))]
    print("%.3f %.3f" % (q(0.5), q(0.99)))'
}

# split_summary: from reaction_ms's lines of one autoban run, "p50 of the
# module's part / p50 of the rest; the slowest reaction: module + rest",
# the p50s taken as the reaction's own
split_summary() {
	local parts m r slow
	parts=$(awk 'NF == 3 {print $2, $3}')
	if [ -z "$parts" ]; then
		echo "-"
		return
	fi
	read -r m _ <<<"$(cut -d' ' -f1 <<<"$parts" | quantiles)"
	read -r r _ <<<"$(cut -d' ' -f2 <<<"$parts" | quantiles)"
	slow=$(awk '{s = $1 + $2} NR == 1 || s > b {b = s; x = $1; y = $2}
	    END {print x, y}' <<<"$parts")
	printf '%.2f / %.2f; slowest %.2f + %.2f\n' "$m" "$r" $slow
}

md "## Reaction against a real sshd" "" "$(run_stamp)" "" \
    "Command: \`bash bench/reaction.sh\` (BENCH_RUNS=$RUNS, $ATTACKERS attackers, $PAR at a time)." \
    "Policy for all: maxretry 4, findtime 10m, bantime 1h.  Versions:" \
    "fail2ban $(pkg_version fail2ban), sshguard $(pkg_version sshguard)," \
    "OpenSSH $(pkg_version openssh-server), hydra $(pkg_version hydra)." "" \
    "autoban is as installed: the daemon sets itself to SCHED_FIFO 1" \
    "(\`realtime = yes\`, the default).  autoban-ordinary: \`realtime = no\` at" \
    "nice 0, like the other tools' daemons.  autoban-nice: \`realtime = no\` at" \
    "the unit's Nice=-10, the fallback when the kernel refuses SCHED_FIFO." ""
declare -A p50s p99s guesses splits
for d in $DEFENCES; do p50s[$d]=""; p99s[$d]=""; guesses[$d]=""; splits[$d]=""; done

for r in $(seq 1 "$RUNS"); do
	for d in $DEFENCES; do
		E=$W/run$r-$d
		export E_SSHD_SYSLOG=1 E_V4_SOURCES=$((ATTACKERS > 40 ? ATTACKERS : 40))
		kind=${d%%-*}
		unset E_BH_NICE
		rt="realtime = yes"
		case $d in
		autoban-ordinary) export E_BH_NICE=0; rt="realtime = no" ;;
		autoban-nice) rt="realtime = no" ;;	# the unit's Nice=
		esac
		if [ "$kind" = autoban ]; then
			unset E_STACK E_NO_BANHELPER
			export E_MODULE_ARGS=debug
		else
			export E_STACK=stock E_NO_BANHELPER=1
			unset E_MODULE_ARGS
		fi
		if ! env_up "$E" "maxretry = 4" "findtime = 10m" "bantime = 1h" \
		    "bantime_increment = 1" "sync_interval = 60s" "$rt"; then
			echo "reaction: setup failed for $d" >&2
			env_down
			# Keep every list one entry per run, so that the
			# ratios below pair figures of the same run.
			p50s[$d]+="- "; p99s[$d]+="- "; guesses[$d]+="- "
			continue
		fi
		monitor_start
		defence_start "$kind"
		srcs=()
		for i in $(seq 1 "$ATTACKERS"); do srcs+=("203.0.113.$i"); done
		printf '%s\n' "${srcs[@]}" | xargs -P "$PAR" -I{} bash -c \
		    "$(declare -f login attack); NS_cli=$NS_cli E_SERVER4=$E_SERVER4 E_SERVER6=$E_SERVER6 E_USER=$E_USER attack {}"
		sleep 2	# log readers may lag
		res=$(for s in "${srcs[@]}"; do reaction_ms "$kind" "$s"; done)
		ms=$(echo "$res" | cut -d' ' -f1)
		echo "run $r $d: every reaction, ms: $(echo "$ms" | sort -g | tr '\n' ' ')"
		got=$(echo "$ms" | grep -vc none)
		read -r p50 p99 <<<"$(echo "$ms" | grep -v none | quantiles)"
		p50s[$d]+="$p50 "
		p99s[$d]+="$p99 "
		if [ "$kind" = autoban ]; then
			sp=$(echo "$res" | split_summary)
			splits[$d]+="run $r: $sp"$'\n'
			echo "run $r $d: ms, module's call until its wake-up p50 / the rest p50; the slowest: $sp"
		fi
		hydra_words 40
		ip netns exec "$NS_hyd" env -C "$E" timeout "$HYDRA_SECS" hydra -I -w 3 -l "$E_USER" \
		    -P "$E/passwords.txt" -t 4 ssh://$E_SERVER4 >"$E/hydra.log" 2>&1
		g=$(checked 203.0.113.200)
		guesses[$d]+="$g "
		echo "run $r $d: reaction p50 ${p50} ms p99 ${p99} ms (${got}/${ATTACKERS} banned), hydra guesses checked: $g"
		run_stop
		env_down
	done
done

md "| defence | reaction p50 ms: median of runs (min-max) | reaction p99 ms: median (min-max) | guesses checked under hydra -t 4: median (min-max) |" \
    "| --- | --- | --- | --- |"
runs_stats() {	# runs_stats "per-run list": stats of its figures, '-' left out
	echo "$1" | tr ' ' '\n' | grep -vx -- '-' | stats
}
for d in $DEFENCES; do
	read -r a amin amax _ <<<"$(runs_stats "${p50s[$d]}")"
	read -r b bmin bmax _ <<<"$(runs_stats "${p99s[$d]}")"
	read -r g gmin gmax _ <<<"$(runs_stats "${guesses[$d]}")"
	md "| $d | $a ($amin-$amax) | $b ($bmin-$bmax) | $g ($gmin-$gmax) |"
done
md "" "Per run: $(for d in $DEFENCES; do printf '%s p50 [%s] p99 [%s] guesses [%s]; ' "$d" "${p50s[$d]% }" "${p99s[$d]% }" "${guesses[$d]% }"; done)" ""

rows=""
for d in $DEFENCES; do
	[ -n "${splits[$d]}" ] || continue
	while IFS= read -r l; do
		[ -n "$l" ] && rows+="| $d | ${l%%:*} | ${l#*: } |"$'\n'
	done <<<"${splits[$d]}"
done
if [ -n "$rows" ]; then
	md "autoban's reaction in two parts, run by run: the module's call until" \
	    "its \"banned\" line (sent right after it wakes banhelper) reached the" \
	    "syslog sink, and from there to the kernel's change; the p50 of each" \
	    "part over the run's attackers, and the two parts of the run's slowest" \
	    "reaction." "" \
	    "| autoban as | run | ms: module's part p50 / the rest p50; the slowest: module + rest |" \
	    "| --- | --- | --- |" "${rows%$'\n'}" ""
fi

# How many times faster than each incumbent, taken run by run: the other
# defence's figure over autoban's in the same run, then the median and
# range of those ratios (a ratio of medians would pair different runs).
run_ratios() {	# "other's list" "autoban's list": one ratio a line
	python3 -c '
import sys
a, b = sys.argv[1].split(), sys.argv[2].split()
for x, y in zip(a, b):
    if x != "-" and y != "-" and float(y) > 0:
        print("%.2f" % (float(x) / float(y)))' "$1" "$2"
}
ratio_cell() {	# "other's list" "autoban's list"
	local m lo hi n
	read -r m lo hi n <<<"$(run_ratios "$1" "$2" | stats)"
	if [ "$n" = 0 ]; then
		echo "-"
	elif [ "$n" -lt "$RUNS" ]; then
		echo "${m}x (${lo}-${hi}x; $n of $RUNS runs)"
	else
		echo "${m}x (${lo}-${hi}x)"
	fi
}
rows=""
for a in $DEFENCES; do
	case $a in autoban*) ;; *) continue ;; esac
	for o in fail2ban sshguard; do
		case " $DEFENCES " in *" $o "*) ;; *) continue ;; esac
		rows+="| $a | $o | $(ratio_cell "${p50s[$o]}" "${p50s[$a]}") | $(ratio_cell "${p99s[$o]}" "${p99s[$a]}") |"$'\n'
	done
done
if [ -n "$rows" ]; then
	md "Ratios run by run: the other defence's reaction over autoban's in the" \
	    "same run (targets: 3x sshguard's, 20x fail2ban's)." "" \
	    "| autoban as | against | p50: median of runs (min-max) | p99: median of runs (min-max) |" \
	    "| --- | --- | --- | --- |" "${rows%$'\n'}" ""
fi
echo "reaction: results in $MD"
