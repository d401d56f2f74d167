#!/bin/bash
# nft.sh - banhelper against real nftables, in namespaces made here.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/netns.sh"

C=$AB_DIR/ab.conf
conf_write "$C" "maxretry = 3" "bantime = 1h" "sync_interval = 60s"
ns_new nft
N="ip netns exec $NS"
bh() { $N "$BH" -c "$C" "$@"; }

# PAM: one line on top of pam_deny, to ban from "the module" in tests.
pam_svc "$C"

# --- ban, list, the kernel element and its timeout ---------------------------
out=$(bh ban 203.0.113.7 --for 1h 2>&1)
tap_is "$?" 0 "ban exits 0"
tap_is "$out" "banned 203.0.113.7 for 1h" "ban says what it did"
t=$(nft_elems "$NS" v4 | awk '$1 == "203.0.113.7" {print $2}')
tap_ok $(( t >= 3590 && t <= 3600 ? 0 : 1 )) \
    "the element carries the ban's time left as its timeout ($t s)"
tap_like "$(bh list)" "203\.0\.113\.7 +manual +- +0  [0-9-]+ [0-9:]+  (1h|59m[0-9]+s) +1" \
    "list shows prefix, origin, failures, start, time left, times banned"
tap_like "$(bh status)" "in sync with the store \(1 elements\)" \
    "status: the kernel matches the store"
ruleset=$($N nft list table inet autoban)
tap_like "$ruleset" "hook input priority filter - 10" \
    "the drop chain hooks input before the usual filter chains"
tap_like "$ruleset" "ip saddr @v4 drop" "a drop rule for the IPv4 set"
tap_like "$ruleset" "ip6 saddr & ffff:ffff:ffff:ffff:: == @v6 drop" \
    "the IPv6 unit set is matched by the source's /64"
tap_like "$ruleset" "ip saddr @v4net drop" "a drop rule for the IPv4 prefix set"
tap_like "$ruleset" "ip6 saddr @v6net drop" "a drop rule for the IPv6 prefix set"
# The unit sets are hash sets: an interval set makes libnftables read all its
# elements before every change (seconds at 100 000 bans).
tap_like "$($N nft list set inet autoban v6)" $'flags timeout\n' \
    "the unit sets are hash sets (flags timeout, no interval)"
tap_like "$($N nft list set inet autoban v4net)" "flags interval,timeout" \
    "the prefix sets are interval sets"
tap_is "$($N nft list tables | grep -c .)" 1 \
    "nothing outside table inet autoban was created"

# --- IPv6: a bare address means its /64 --------------------------------------
bh ban 2001:db8:1:2::99 --for 10m >/dev/null
tap_ok "$(has_elem "$NS" v6 2001:db8:1:2::; echo $?)" \
    "an IPv6 ban puts the address's /64 (its network address) in set v6"
tap_like "$(bh status)" "in sync with the store \(2 elements\)" \
    "status reads the /64 element back as the /64 it stands for"

# --- unban takes effect at once, daemon or not --------------------------------
tap_is "$(bh unban 203.0.113.7)" "unbanned 203.0.113.7" "unban says so"
tap_ok "$(has_elem "$NS" v4 203.0.113.7 && echo 1 || echo 0)" \
    "unban removed the element from the kernel at once"
tap_like "$(bh list)" "^PREFIX.*$" "list still works after unban"

# --- a change on top is one netlink batch, not a libnftables run ------------
# libnftables fetches its cache (7 sends) before every command; a ban, a
# re-ban with another timeout and an unban go out as one batch each, and do
# what the text did: the element, its new timeout, its removal.
nf_sends() {	# nf_sends ARGS...: banhelper ARGS; sends on nfnetlink sockets
	$N strace -f -qq -e trace=socket,close,sendto,sendmsg -o "$AB_DIR/nf.trace" \
	    "$BH" -c "$C" "$@" >/dev/null 2>&1
	awk '/socket\(AF_NETLINK, .*NETLINK_NETFILTER\) = [0-9]+$/ {nf[$NF] = 1}
	    /close\([0-9]+\)/ {match($0, /close\([0-9]+/); delete nf[substr($0, RSTART + 6, RLENGTH - 6)]}
	    /send(to|msg)\([0-9]+,/ {match($0, /send(to|msg)\([0-9]+/); s = substr($0, RSTART, RLENGTH)
		sub(/.*\(/, "", s); if (s in nf) n++}
	    END {print n + 0}' "$AB_DIR/nf.trace"
}
tap_is "$(nf_sends ban 192.0.2.77 --for 1h)" 1 "a ban is one netlink batch"
t=$(nft_elems "$NS" v4 | awk '$1 == "192.0.2.77" {print $2}')
tap_ok $(( t >= 3590 && t <= 3600 ? 0 : 1 )) "... with its timeout ($t s)"
tap_is "$(nf_sends ban 192.0.2.77 --for 3h)" 1 "a re-ban is one netlink batch"
t=$(nft_elems "$NS" v4 | awk '$1 == "192.0.2.77" {print $2}')
tap_ok $(( t >= 10790 && t <= 10800 ? 0 : 1 )) \
    "... that replaced the element's timeout ($t s)"
tap_is "$(nf_sends ban 2001:db8:77::9)" 1 "an IPv6 ban is one netlink batch"
tap_ok "$(has_elem "$NS" v6 2001:db8:77::; echo $?)" "... of the /64's element"
tap_is "$(nf_sends unban 192.0.2.77 2001:db8:77::/64)" 1 \
    "an unban of two is one netlink batch"
tap_ok "$( (has_elem "$NS" v4 192.0.2.77 || has_elem "$NS" v6 2001:db8:77::) &&
    echo 1 || echo 0)" "... that removed both elements"
$N nft delete table inet autoban
tap_like "$(bh ban 192.0.2.78 2>&1)" "banned 192.0.2.78" \
    "with the table gone, the batch is refused and the ban still made"
tap_ok "$(has_elem "$NS" v4 192.0.2.78; echo $?)" "... in a table made again"
bh unban 192.0.2.78 >/dev/null

# --- nested prefixes: partition with per-piece timeouts ----------------------
bh ban 198.51.100.0/24 --for 1h >/dev/null
bh ban 198.51.100.128/25 --for 3h >/dev/null
tap_is "$(nft_elems "$NS" v4net | awk '{print $1}' | sort | tr '\n' ' ')" \
    "198.51.100.0/25 198.51.100.128/25 " \
    "a /25 inside a /24 becomes two disjoint kernel elements"
t=$(nft_elems "$NS" v4net | awk '$1 == "198.51.100.128/25" {print $2}')
tap_ok $(( t > 10000 ? 0 : 1 )) \
    "the inner piece keeps the longer ban's timeout ($t s)"
bh unban 198.51.100.0/24 >/dev/null
tap_is "$(nft_elems "$NS" v4net | awk '{print $1}' | tr '\n' ' ')" \
    "198.51.100.128/25 " "unbanning the outer prefix keeps the inner one"
tap_like "$(bh unban 198.51.100.130 2>&1)" \
    "is still banned by 198\.51\.100\.128/25" \
    "unban warns when a wider ban still covers the address"
bh unban 198.51.100.128/25 >/dev/null

# --- expiry: a short ban leaves the kernel by itself -------------------------
bh ban 192.0.2.10 --for 2s >/dev/null
tap_ok "$(has_elem "$NS" v4 192.0.2.10; echo $?)" "a 2 s ban is in the kernel"
wait_for 5 no_elem "$NS" v4 192.0.2.10
tap_ok "$(has_elem "$NS" v4 192.0.2.10 && echo 1 || echo 0)" \
    "it leaves the kernel when its time is up, with no daemon running"
tap_ok "$(bh list | grep -c 192.0.2.10)" "and list no longer shows it"

# --- flush ruleset, then sync restores exactly the store ---------------------
bh ban 192.0.2.20 --for 1h >/dev/null
$N nft flush ruleset
tap_is "$($N nft list ruleset | grep -c autoban)" 0 "flush ruleset removed us"
tap_like "$(bh status)" "MISSING" "status notices the missing table"
out=$(bh sync)
tap_like "$out" "^synced 2 bans into nftables" "sync restores the store's bans"
tap_ok "$(has_elem "$NS" v4 192.0.2.20; echo $?)" "192.0.2.20 is back"
tap_ok "$(has_elem "$NS" v6 2001:db8:1:2::; echo $?)" "the IPv6 ban is back"

# --- a table of the older layout (interval unit sets) is rebuilt -------------
$N nft -f - <<'NFT'
delete table inet autoban
table inet autoban {
	set v4 { type ipv4_addr; flags interval, timeout; }
	set v4net { type ipv4_addr; flags interval, timeout; }
	set v6 { type ipv6_addr; flags interval, timeout; }
	set v6net { type ipv6_addr; flags interval, timeout; }
	chain input {
		type filter hook input priority filter - 10; policy accept;
		ip saddr @v4 drop
		ip saddr @v4net drop
		ip6 saddr @v6 drop
		ip6 saddr @v6net drop
	}
}
NFT
tap_like "$(bh status)" "MISSING or altered" \
    "status does not take an older layout for ours"
bh sync >/dev/null
tap_like "$($N nft list set inet autoban v6)" $'flags timeout\n' \
    "sync rebuilds it with the unit sets as hash sets"
tap_like "$(bh status)" "in sync with the store \(2 elements\)" \
    "with the same bans in it"

# --- the daemon: capabilities, wake-ups, flushes, restarts --------------------
daemon_start "$NS" "$C"
st=$(cat /proc/$DAEMON_PID/status)
tap_like "$st" $'CapPrm:\t0000000000001000' "daemon: permitted = CAP_NET_ADMIN only"
tap_like "$st" $'CapEff:\t0000000000001000' "daemon: effective = CAP_NET_ADMIN only"
tap_like "$st" $'CapInh:\t0000000000000000' "daemon: inheritable set empty"
tap_like "$st" $'CapBnd:\t0000000000000000' "daemon: bounding set empty"
tap_like "$st" $'CapAmb:\t0000000000000000' "daemon: ambient set empty"
tap_like "$st" $'NoNewPrivs:\t1' "daemon: no_new_privs set"
tap_like "$(chrt -p "$DAEMON_PID" | tr '\n' ' ')" \
    "policy: SCHED_FIFO\|SCHED_RESET_ON_FORK .*priority: 1 $" \
    "daemon: real-time (SCHED_FIFO 1, reset on fork) by default"
tap_like "$(ip netns exec "$NS" "$BH" -c "$C" run 2>&1)" \
    "another banhelper runs already \(pid $DAEMON_PID\)" \
    "a second daemon refuses to start"

attack 203.0.113.50 4
# sync_interval is 60 s: only the module's wake-up can be this quick.
wait_for 1 has_elem "$NS" v4 203.0.113.50
tap_ok $? "a module ban reaches the kernel without waiting for the reconcile"
tap_like "$(bh list)" "203\.0\.113\.50 +auto +svc +3 " \
    "list shows the automatic ban with its 3 failures"

# The daemon keeps one nftables context for its changes; one that fails
# (the table flushed under it) must not spoil the next.
$N nft flush ruleset
attack 203.0.113.52 4
wait_for 1 has_elem "$NS" v4 203.0.113.52
tap_ok $? "a ban whose change finds the table flushed rebuilds it at once"
attack 203.0.113.53 4
wait_for 1 has_elem "$NS" v4 203.0.113.53
tap_ok $? "and the next ban goes in as a plain change again"
tap_like "$(bh status)" "in sync with the store" \
    "the rebuilt table holds exactly the store's bans"

$N nft flush ruleset
kill -HUP "$DAEMON_PID"	# a reconcile now, rather than in 60 s
wait_for 5 has_elem "$NS" v4 203.0.113.50
tap_ok $? "after a flush, the daemon's reconcile restores the bans"

daemon_stop
tap_is "$DAEMON_RC" 0 "SIGTERM stops the daemon cleanly (exit 0)"
tap_ok "$(test -e "$AB_DIR/run/wake.sock"; echo $((1 - $?)))" \
    "and it removes its socket"
tap_ok "$(has_elem "$NS" v4 203.0.113.50; echo $?)" \
    "bans stay in the kernel while the daemon is down"
attack 203.0.113.51 4	# banned while no daemon runs
tap_ok "$(has_elem "$NS" v4 203.0.113.51 && echo 1 || echo 0)" \
    "a ban made while the daemon is down is not in the kernel yet"
daemon_start "$NS" "$C"
tap_ok "$(has_elem "$NS" v4 203.0.113.51; echo $?)" \
    "a restarted daemon restores it at once"
tap_ok "$(has_elem "$NS" v4 203.0.113.50; echo $?)" \
    "and loses nothing that was there"

# --- 10 000 bans from stdin, one transaction ---------------------------------
daemon_stop	# only the command's own transactions are counted below
CR=$AB_DIR/norealtime.conf
sed 's/^sync_interval = .*/&\nrealtime = no/' "$C" >"$CR"
daemon_start "$NS" "$CR"
tap_like "$(chrt -p "$DAEMON_PID")" "policy: SCHED_OTHER" \
    "realtime = no: the daemon keeps the ordinary policy"
daemon_stop
$N timeout 20 nft monitor >"$AB_DIR/monitor.txt" 2>&1 &
mon=$!
AB_PIDS+=("$mon")
sleep 0.5
python3 -c '
for i in range(10000):
    print("2001:db8:77:%x::1" % i)' >"$AB_DIR/many.txt"
out=$(bh ban - --for 2h <"$AB_DIR/many.txt")
tap_is "$out" "banned 10000 prefixes for 2h" "ban - bans 10000 addresses"
# The monitor prints the transaction when it gets to it (later under load):
# wait for it, then a little longer for any second one.
wait_for 5 grep -q '^# new generation' "$AB_DIR/monitor.txt"
sleep 0.5
kill "$mon" 2>/dev/null
n=$(nft_elems "$NS" v6 | grep -c '^2001:db8:77:')
tap_is "$n" 10000 "all 10000 are in the kernel set"
tap_is "$(grep -c '^# new generation' "$AB_DIR/monitor.txt")" 1 \
    "they went in as one nftables transaction"
tap_like "$(bh status)" "in sync with the store" "status: still in sync"

# --- bad lines in bulk input: numbered, the rest banned ----------------------
printf '192.0.2.101\nnot-an-address\n# a comment\n\n192.0.2.102 \n192.0.2.7/24\n127.0.0.1\n' \
    >"$AB_DIR/mixed.txt"
out=$(bh ban - <"$AB_DIR/mixed.txt" 2>&1)
rc=$?
tap_is "$rc" 3 "bulk input with bad lines exits 3 (some refused, rest done)"
tap_like "$out" 'banhelper: line 2: "not-an-address": not an IP address or prefix' \
    "a malformed line is reported with its number"
tap_like "$out" 'line 6: "192\.0\.2\.7/24" has host bits set \(did you mean 192\.0\.2\.0/24\?\)' \
    "host bits set: the message suggests the prefix"
tap_like "$out" "127\.0\.0\.1: address is loopback or in ignoreip: not banned \(use --force" \
    "loopback is refused without --force"
tap_ok "$( (has_elem "$NS" v4 192.0.2.101 && has_elem "$NS" v4 192.0.2.102); echo $?)" \
    "the good lines were banned"

# --- a rebuild creates an absent table, replaces a present one ---------------
# Deleting a table in a batch makes closing the netlink socket wait for the
# kernel to destroy it (10-25 ms): a sync into an empty namespace must not.
ns_new fresh
F="ip netns exec $NS"
$F timeout 20 nft monitor tables >"$AB_DIR/tables.txt" 2>&1 &
mon=$!
AB_PIDS+=("$mon")
sleep 0.5
$F "$BH" -c "$C" sync >/dev/null
tap_is "$?" 0 "sync into an empty namespace exits 0"
$F "$BH" -c "$C" sync >/dev/null
sleep 0.5
kill "$mon" 2>/dev/null
tap_is "$(grep -c '^create table inet autoban' "$AB_DIR/tables.txt")" 1 \
    "the first sync creates the absent table"
tap_is "$(grep -c '^delete table inet autoban' "$AB_DIR/tables.txt")" 1 \
    "only the second, over the table, deletes and replaces it"
tap_like "$($F "$BH" -c "$C" status)" "in sync with the store" \
    "status: the kernel matches the store"
# Another banhelper creates the table between the listing and the create.
ns_new race
F="ip netns exec $NS"
out=$($F env LD_PRELOAD="$AB_BUILD/tests/nft_race.so" "$BH" -c "$C" sync 2>&1)
tap_is "$?" 0 "a table that appears while sync creates it: sync still exits 0"
tap_like "$out" "^synced [0-9]+ bans into nftables" "and says what it did"
tap_is "$($F nft list chain inet autoban input | grep -c ' drop$')" 4 \
    "the table was replaced: its four drop rules, once each"
tap_like "$($F "$BH" -c "$C" status)" "in sync with the store" \
    "with exactly the store's bans"

# --- ports limit the drop ------------------------------------------------------
C2=$AB_DIR/ports/ab.conf
mkdir -p "$AB_DIR/ports"
conf_write "$C2" "ports = 22, 2222"
ns_new ports
ip netns exec "$NS" "$BH" -c "$C2" ban 192.0.2.30 >/dev/null
tap_like "$(ip netns exec "$NS" nft list table inet autoban)" \
    "ip saddr @v4 tcp dport \{ 22, 2222 \} drop" \
    "ports = 22, 2222 limits the drop to those TCP ports"
tap_done
