#!/bin/bash
# daemon.sh - banhelper run: who it runs as, and the drift it repairs by
# itself within one sync_interval (everything `banhelper status` can see),
# the clock stepping under it, reloads it must refuse, kills and absences.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/netns.sh"

C=$AB_DIR/ab.conf
conf_write "$C" "maxretry = 3" "bantime = 1h" "sync_interval = 1s"
ns_new dmn
N="ip netns exec $NS"
bh() { $N "$BH" -c "$C" "$@"; }
pam_svc "$C"
in_sync() { bh status | grep -q "in sync with the store"; }
dlog() { cat "$AB_DIR/daemon.log"; }

# --- least privilege: its own user, CAP_NET_ADMIN alone ------------------------
daemon_start "$NS" "$C"
uid=$(id -u _autoban)
gid=$(id -g _autoban)
st=$(cat /proc/$DAEMON_PID/status)
tap_like "$st" $'Uid:\t'"$uid"$'\t'"$uid"$'\t'"$uid"$'\t'"$uid" \
    "the daemon runs as _autoban (uid $uid), every uid"
tap_like "$st" $'Gid:\t'"$gid"$'\t'"$gid"$'\t'"$gid"$'\t'"$gid" \
    "... and its group, every gid"
tap_like "$st" $'Groups:\t'"$gid"' *$' "... with no other group"
tap_like "$st" $'CapPrm:\t0000000000001000' "... permitted: CAP_NET_ADMIN only"
tap_like "$st" $'CapEff:\t0000000000001000' "... effective: CAP_NET_ADMIN only"
tap_like "$st" $'CapBnd:\t0000000000000000' "... an empty bounding set"
tap_like "$st" $'NoNewPrivs:\t1' "... no_new_privs"
tap_is "$(stat -c %U "$AB_DIR/db" "$AB_DIR/run" | sort -u)" _autoban \
    "its store directories are its own"
tap_is "$(stat -c %U "$AB_DIR/run/banhelper.pid")" _autoban \
    "... and its pid file"
# As that user, root's files are out of reach (with uid 0 and no capability
# it could still have written every root-owned 0644 file).
tap_fails "as its user, /etc/passwd cannot be opened for writing" \
    setpriv --reuid="$uid" --regid="$gid" --clear-groups \
    sh -c 'echo >>/etc/passwd'
attack 203.0.113.50 4
wait_for 2 has_elem "$NS" v4 203.0.113.50
tap_ok $? "a module ban (files made by root) reaches the kernel"
tap_is "$(stat -c %U "$AB_DIR/db/bans.mdb")" _autoban \
    "the ban store root's module made belongs to the daemon's user"

# --- drift it repairs within one sync_interval ---------------------------------
$N nft delete element inet autoban v4 '{ 203.0.113.50 }'
wait_for 3 has_elem "$NS" v4 203.0.113.50
tap_ok $? "an element deleted by hand is put back"
$N nft add element inet autoban v4 '{ 198.51.100.66 timeout 1h }'
wait_for 3 no_elem "$NS" v4 198.51.100.66
tap_ok $? "an element added by hand (no ban in the store) is taken out"
$N nft delete table inet autoban
wait_for 3 has_elem "$NS" v4 203.0.113.50
tap_ok $? "the table deleted: made again with every ban"
$N nft flush ruleset
wait_for 3 has_elem "$NS" v4 203.0.113.50
tap_ok $? "the ruleset flushed: the same"

# The store directory removed and made anew (a reset, a restore, a
# reinstall) while the daemon runs; the module bans in the new store.
cp -a "$AB_DIR/db" "$AB_DIR/db.old"
rm -rf "$AB_DIR/db"
mkdir -m 0700 "$AB_DIR/db"
attack 203.0.113.51 4
wait_for 3 has_elem "$NS" v4 203.0.113.51
tap_ok $? "store directory made anew: a ban in the new store reaches the kernel"
wait_for 3 no_elem "$NS" v4 203.0.113.50
tap_ok $? "... and the old store's ban, gone with it, leaves the kernel"
wait_for 3 in_sync
tap_ok $? "status: in sync again"
tap_like "$(dlog)" "a store directory was replaced: opening it again" \
    "the daemon said what it saw"

# Restored to an older state: the old directory's file back in place.
attack 203.0.113.52 4
wait_for 2 has_elem "$NS" v4 203.0.113.52
cp "$AB_DIR/db.old/bans.mdb" "$AB_DIR/db/bans.mdb.new"
mv "$AB_DIR/db/bans.mdb.new" "$AB_DIR/db/bans.mdb"
wait_for 3 has_elem "$NS" v4 203.0.113.50
tap_ok $? "a store restored from an older copy: its bans are back in the kernel"
wait_for 3 no_elem "$NS" v4 203.0.113.52
tap_ok $? "... and the newer one it does not hold leaves"

# Cut short (a bad copy, a full disk): set aside, rebuilt from the kernel.
size=$(stat -c %s "$AB_DIR/db/bans.mdb")
truncate -s $((size / 2)) "$AB_DIR/db/bans.mdb"
truncate -s 9000 "$AB_DIR/db/bans.mdb"
wait_for 4 sh -c "ls '$AB_DIR/db' | grep -q '^bans.mdb.broken-'"
tap_ok $? "a store file cut short is set aside, not deleted"
wait_for 3 in_sync
tap_ok $? "status: in sync again"
tap_like "$(bh list)" "203\.0\.113\.50 +auto" \
    "the new store holds the bans the kernel still had"
tap_ok "$(has_elem "$NS" v4 203.0.113.50; echo $?)" "... and the kernel kept them"
tap_like "$(dlog)" "ban store rebuilt from the kernel: [1-9][0-9]* ban\(s\) restored" \
    "the daemon said so"

# --- reloads it must refuse, and survive -----------------------------------------
# The store becomes untrusted: SIGHUP cannot open it, the daemon lives on
# (it crashed with SIGSEGV right after "keeping the old one").
chmod 0770 "$AB_DIR/db"
kill -HUP "$DAEMON_PID"
sleep 1.5
tap_ok "$(kill -0 "$DAEMON_PID"; echo $?)" \
    "SIGHUP with an untrusted store directory: the daemon still runs"
tap_like "$(dlog)" "is writable by group or other \(mode 770\): refusing it" \
    "... and it said why it cannot use the store"
chmod 0700 "$AB_DIR/db"
attack 203.0.113.53 4
wait_for 3 has_elem "$NS" v4 203.0.113.53
tap_ok $? "once trusted again it picks the store up by itself"
echo "maxretry = lots" >>"$C"
kill -HUP "$DAEMON_PID"
sleep 0.5
tap_like "$(dlog)" "line [0-9]+: bad value \"lots\" for maxretry.*
.*new configuration refused \(see above\): keeping the old one" \
    "a reload with a bad line is refused, file and line named"
tap_ok "$(kill -0 "$DAEMON_PID"; echo $?)" "... and the daemon goes on"
sed -i '/^maxretry = lots$/d' "$C"
daemon_stop

# --- a bad configuration: run refuses to start, check says why ----------------
cp "$C" "$AB_DIR/bad.conf"
echo "bantime = soon" >>"$AB_DIR/bad.conf"
out=$($N "$BH" -c "$AB_DIR/bad.conf" run 2>&1)
tap_is "$?" 1 "run with a bad configuration line: refuses to start (exit 1)"
tap_like "$out" "file $AB_DIR/bad.conf line [0-9]+: bad value \"soon\" for bantime" \
    "... naming file and line"
out=$($N "$BH" -c "$AB_DIR/bad.conf" check 2>&1)
tap_is "$?" 1 "check finds it too (exit 1)"
tap_like "$out" "line [0-9]+: bad value \"soon\" for bantime" "... and names it"
out=$($N "$BH" -c "$C" check 2>&1)
tap_is "$?" 0 "check on a sound configuration: exit 0"
tap_like "$out" "daemon user _autoban: uid $uid" "... naming the daemon's user"
cp "$C" "$AB_DIR/nouser.conf"
echo "user = nosuchuser" >>"$AB_DIR/nouser.conf"
out=$($N "$BH" -c "$AB_DIR/nouser.conf" run 2>&1)
tap_is "$?" 1 "run for a user that does not exist: refuses to start"
tap_like "$out" "user nosuchuser does not exist: create it" "... and says how"

# --- killed in the middle of a sync; absent while bans come and go -----------
daemon_start "$NS" "$C"
python3 -c '
for i in range(20000):
    print("2001:db8:55:%x::1" % i)' >"$AB_DIR/many.txt"
bh ban - --for 1h <"$AB_DIR/many.txt" >/dev/null
kill -HUP "$DAEMON_PID"	# a full sync of 20 000 ...
sleep 0.05
kill -9 "$DAEMON_PID"	# ... cut short
wait "$DAEMON_PID" 2>/dev/null
$N nft flush ruleset
daemon_start "$NS" "$C"
wait_for 5 in_sync
tap_ok $? "killed -9 in the middle of a sync: the next start restores everything"
daemon_stop
bh unban --all >/dev/null
# Gone while bans are made and run out: only the live ones come back.
bh ban 192.0.2.61 --for 2s >/dev/null
bh ban 192.0.2.62 --for 1h >/dev/null
$N nft flush ruleset
sleep 3
daemon_start "$NS" "$C"
tap_ok "$(has_elem "$NS" v4 192.0.2.62; echo $?)" \
    "back after an absence: a ban still running is in the kernel"
tap_ok "$(has_elem "$NS" v4 192.0.2.61 && echo 1 || echo 0)" \
    "... and one that ran out meanwhile is not"
daemon_stop

# --- the clock steps under it ------------------------------------------------------
# libfaketime re-reads its file on every call; the monotonic clock stays.
FT=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1
echo "+0" >"$AB_DIR/clock"
chmod 0644 "$AB_DIR/clock"
ip netns exec "$NS" env LD_PRELOAD="$FT" FAKETIME_NO_CACHE=1 \
    FAKETIME_DONT_FAKE_MONOTONIC=1 FAKETIME_TIMESTAMP_FILE="$AB_DIR/clock" \
    "$BH" -c "$C" run >>"$AB_DIR/daemon.log" 2>&1 &
DAEMON_PID=$!
AB_PIDS+=("$DAEMON_PID")
wait_for 5 test -S "$AB_DIR/run/wake.sock"
echo "-30d" >"$AB_DIR/clock"
sleep 1.5
$N nft flush ruleset
wait_for 4 has_elem "$NS" v4 192.0.2.62
tap_ok $? "the wall clock 30 days back: the daemon still ticks (restores a flush)"
t=$(nft_elems "$NS" v4 | awk '$1 == "192.0.2.62" {print $2}' | tr -dc 0-9)
tap_ok $(( ${t:-999999} <= 3600 ? 0 : 1 )) \
    "... and no ban got longer in the kernel than its own length (${t:-?} s)"
daemon_stop

# A sync_interval of 25 days: poll's timeout must not overflow.
C25=$AB_DIR/long.conf
sed 's/^sync_interval = .*/sync_interval = 25d/' "$C" >"$C25"
chmod 0644 "$C25"
daemon_start "$NS" "$C25"
b=$(awk '{print $14 + $15}' "/proc/$DAEMON_PID/stat")
attack 203.0.113.54 4
wait_for 2 has_elem "$NS" v4 203.0.113.54
tap_ok $? "sync_interval = 25d: a wake-up still puts a ban in the kernel"
sleep 1
a=$(awk '{print $14 + $15}' "/proc/$DAEMON_PID/stat")
tap_ok $(( a - b < 20 ? 0 : 1 )) "... and the daemon does not spin (ticks $b -> $a)"
daemon_stop
tap_done
