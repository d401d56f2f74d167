#!/bin/bash
# bulk.sh - loading many bans into the kernel at once.
#
#   banhelper sync      of 10 000, 100 000 and 1 000 000 stored bans into an
#                       empty table (a fresh namespace each time)
#   banhelper ban -     of 100 000 addresses from stdin (store + kernel)
#   nft -f              the same elements from a file, in the same run: the
#                       floor, mostly the kernel's own insertion
#   fail2ban-client     set sshd banip of the same 10 000
# Elements are IPv6 /64s in 2001:db8::/32 (IPv4 documentation ranges hold
# only 768 addresses).  Peak RSS from GNU time.
. "$(dirname "$0")/lib.sh"
bench_ns "$@"
MD=$RESULTS/bulk.md
: >"$MD"
SIZES=${BENCH_SIZES:-"10000 100000 1000000"}
bench_apt time fail2ban python3-pyinotify
BH=$AB_BUILD/banhelper
n_ns=0

fresh_ns() {
	n_ns=$((n_ns + 1))
	NS="bk$$-$n_ns"
	ip netns add "$NS"
	BENCH_NS+=("$NS")
}
drop_ns() { ip netns del "$NS"; }

conf() {	# conf DIR: an autoban config with its stores in DIR
	rm -rf "$1"
	mkdir -p "$1/db" "$1/run"
	chmod 0700 "$1/db" "$1/run"
	printf 'db = %s\nruntime_dir = %s\nbantime = 1h\n' "$1/db" "$1/run" \
	    >"$1/autoban.conf"
}

# The nft -f file banhelper's elements amount to (same table and sets).
nft_file() {	# nft_file N FILE
	python3 - "$1" "$2" <<'EOF'
import sys
n, path = int(sys.argv[1]), sys.argv[2]
with open(path, "w") as f:
    f.write("add table inet autoban\n")
    for s, t, fl in (("v4", "ipv4_addr", ""), ("v4net", "ipv4_addr", "interval, "),
                     ("v6", "ipv6_addr", ""), ("v6net", "ipv6_addr", "interval, ")):
        f.write("add set inet autoban %s { type %s; flags %stimeout; }\n" % (s, t, fl))
    f.write("add chain inet autoban input { type filter hook input priority -10; policy accept; }\n")
    for i in range(0, n, 2048):
        f.write("add element inet autoban v6 { ")
        f.write(", ".join("2001:db8:%x:%x:: timeout 3600s" % (
            0x8000 + ((j >> 16) & 0x7fff), j & 0xffff)
            for j in range(i, min(n, i + 2048))))
        f.write(" }\n")
EOF
}

timed() {	# timed OUTVAR_S OUTVAR_KB CMD...: wall seconds and peak RSS
	local __s=$1 __k=$2 t0 t1
	shift 2
	t0=$(date +%s.%N)
	/usr/bin/time -f '%M' -o "$W/rss" "$@" >/dev/null 2>"$W/err" ||
	    { echo "bulk: failed: $* ($(tail -1 "$W/err"))" >&2; }
	t1=$(date +%s.%N)
	printf -v "$__s" '%s' "$(python3 -c "print('%.3f' % ($t1 - $t0))")"
	printf -v "$__k" '%s' "$(tail -1 "$W/rss")"
}

# timed_in NS OUTVAR_S OUTVAR_KB CMD...: CMD's wall seconds and peak RSS,
# taken inside namespace NS by bench/timeit, so that what ip netns exec
# costs (a mount namespace and a remount of /sys, about 6 ms here) is not
# in them: the one-element changes below take less than that.  CMD's own
# process start is in them.
timed_in() {
	local __s=$1 __k=$2 __ns=$3 out cmd
	shift 3
	cmd="$*"
	out=$(ip netns exec "$__ns" "$AB_BUILD/bench/timeit" "$@" 2>"$W/err")
	set -- $out
	[ "${3:-1}" = 0 ] || echo "bulk: failed: $cmd ($(tail -1 "$W/err"))" >&2
	printf -v "$__s" '%s' "${1:-0}"
	printf -v "$__k" '%s' "${2:-0}"
}

row() {	# row LABEL N: a table row from $bs, $fs, $rs and $rss of the runs
	local a amin amax b q qmin qmax m
	read -r a amin amax _ <<<"$(echo "$bs" | stats)"
	read -r b _ <<<"$(echo "$fs" | stats)"
	read -r q qmin qmax _ <<<"$(echo "$rs" | stats)"
	read -r m _ <<<"$(echo "$rss" | stats)"
	md "| $1 | $2 | $a ($amin-$amax) | $b | $(printf '%.2f (%.2f-%.2f)' "$q" "$qmin" "$qmax") | $m |"
}

count_elems() {	# count_elems NS: elements in set v6
	ip netns exec "$1" nft -j list set inet autoban v6 | python3 -c '
import json, sys
n = 0
for i in json.load(sys.stdin)["nftables"]:
    n += len(i.get("set", {}).get("elem", []))
print(n)'
}

md "## Bulk loads" "" "$(run_stamp)" "" \
    "Command: \`bash bench/bulk.sh\` (BENCH_RUNS=$RUNS).  nftables $(pkg_version nftables)," \
    "fail2ban $(pkg_version fail2ban).  One ban on top (\`banhelper ban ADDR\`" \
    "against \`nft add element\` of one element) is timed inside the namespace:" \
    "the process's start and its change, not what \`ip netns exec\` costs." "" \
    "| operation | elements | seconds: median (min-max) | nft -f same elements: median | ratio to nft -f per run: median (min-max) | peak RSS KiB (median) |" \
    "| --- | --- | --- | --- | --- | --- |"

one=()
for n in $SIZES; do
	conf "$W/s$n"
	"$AB_BUILD/bench/populate" "$W/s$n/autoban.conf" 0 "$n" >/dev/null
	nft_file "$n" "$W/nft$n.txt"
	bs=""; fs=""; rs=""; rss=""; os=""; ofs=""; ors=""; oks=""
	for r in $(seq 1 "$RUNS"); do
		fresh_ns
		timed t k ip netns exec "$NS" "$BH" -c "$W/s$n/autoban.conf" sync
		got=$(count_elems "$NS")
		[ "$got" -eq "$n" ] || echo "bulk: sync put $got of $n" >&2
		# One more ban on top of n: store and kernel (then undone, so
		# the next run syncs the same n), and nft adding one element.
		timed_in one_s one_k "$NS" "$BH" -c "$W/s$n/autoban.conf" \
		    ban 2001:db8:1:$r::1 --for 1h
		has=$(ip netns exec "$NS" nft -j list set inet autoban v6 |
		    grep -c "\"2001:db8:1:$r::\"")
		[ "$has" -eq 1 ] || echo "bulk: the one ban is not in the kernel" >&2
		ip netns exec "$NS" "$BH" -c "$W/s$n/autoban.conf" \
		    unban 2001:db8:1:$r::1 >/dev/null
		timed_in onef_s onef_k "$NS" nft add element inet autoban v6 \
		    "{ 2001:db8:2:$r:: timeout 3600s }"
		drop_ns
		fresh_ns
		timed tf kf ip netns exec "$NS" nft -f "$W/nft$n.txt"
		drop_ns
		bs+="$t "; fs+="$tf "; rss+="$k "
		rs+="$(python3 -c "print($t / $tf)") "
		os+="$one_s "; ofs+="$onef_s "; oks+="$one_k "
		ors+="$(python3 -c "print($one_s / $onef_s)") "
		echo "sync $n run $r: banhelper ${t}s (${k} KiB), nft -f ${tf}s; one more ban ${one_s}s, nft add element ${onef_s}s"
	done
	row "banhelper sync" "$n"
	one+=("$n|$os|$ofs|$ors|$oks")
done
# One ban on top of what is there: the per-ban cost at scale.
for x in "${one[@]}"; do
	IFS='|' read -r n bs fs rs rss <<<"$x"
	row "banhelper ban ADDR on top of the bans above" "$n"
done

# banhelper ban - of 100 000 from stdin: store and kernel, one transaction.
n=${BENCH_BULK_BAN:-100000}
f2b_n=${BENCH_F2B_BANS:-10000}
[ "$f2b_n" -gt "$n" ] && n=$f2b_n
python3 -c "
for j in range($n):
    print('2001:db8:%x:%x::1' % (0x8000 + ((j >> 16) & 0x7fff), j & 0xffff))" >"$W/ban.txt"
nft_file "$n" "$W/nftban.txt"
bs=""; fs=""; rs=""; rss=""
for r in $(seq 1 "$RUNS"); do
	conf "$W/b"
	fresh_ns
	ip netns exec "$NS" "$BH" -c "$W/b/autoban.conf" sync >/dev/null
	timed t k ip netns exec "$NS" "$BH" -c "$W/b/autoban.conf" ban - \
	    <"$W/ban.txt"
	got=$(count_elems "$NS")
	drop_ns
	[ "$got" -eq "$n" ] || echo "bulk: ban - put $got of $n" >&2
	fresh_ns
	timed tf kf ip netns exec "$NS" nft -f "$W/nftban.txt"
	drop_ns
	bs+="$t "; fs+="$tf "; rss+="$k "
	rs+="$(python3 -c "print($t / $tf)") "
	echo "ban - $n run $r: ${t}s, nft -f ${tf}s"
done
row "banhelper ban - (stdin)" "$n"

# fail2ban banning the same 10 000, in its own namespace and files.
n=${BENCH_F2B_BANS:-10000}
fs=""
for r in $(seq 1 "$RUNS"); do
	fresh_ns
	F=$W/f2b$r
	mkdir -p "$F/conf"
	cp -a /etc/fail2ban/. "$F/conf/"
	cat >"$F/conf/fail2ban.local" <<EOF
[Definition]
socket = $F/sock
pidfile = $F/pid
dbfile = $F/db.sqlite3
logtarget = $F/log
EOF
	cat >"$F/conf/jail.local" <<EOF
[DEFAULT]
bantime = 1h
banaction = nftables-multiport
[sshd]
enabled = true
backend = pyinotify
logpath = $F/auth.log
EOF
	touch "$F/auth.log"
	ip netns exec "$NS" fail2ban-server -f -x -c "$F/conf" >/dev/null 2>&1 &
	fpid=$!
	BENCH_PIDS+=("$fpid")
	for _ in $(seq 100); do
		ip netns exec "$NS" fail2ban-client -c "$F/conf" status sshd \
		    >/dev/null 2>&1 && break
		sleep 0.2
	done
	head -n "$n" "$W/ban.txt" >"$F/ips.txt"
	t0=$(date +%s.%N)
	ip netns exec "$NS" fail2ban-client -c "$F/conf" set sshd banip \
	    $(cat "$F/ips.txt") >/dev/null 2>&1
	# until every address is in fail2ban's kernel set (bounded: 10 min)
	for _ in $(seq 3000); do
		c=$(ip netns exec "$NS" nft -j list ruleset 2>/dev/null | python3 -c '
import json, sys
n = 0
for i in json.load(sys.stdin)["nftables"]:
    s = i.get("set", {})
    if s.get("table") == "f2b-table":
        n += len(s.get("elem", []))
print(n)')
		[ "$c" -ge "$n" ] && break
		sleep 0.2
	done
	t1=$(date +%s.%N)
	t=$(python3 -c "print('%.3f' % ($t1 - $t0))")
	kill "$fpid" 2>/dev/null
	wait "$fpid" 2>/dev/null
	drop_ns
	fs+="$t "
	echo "fail2ban banip $n run $r: ${t}s (${c} in the kernel)"
done
read -r a amin amax _ <<<"$(echo "$fs" | stats)"
md "| fail2ban-client set sshd banip | $n | $a ($amin-$amax) | | | |" ""
echo "bulk: results in $MD"
