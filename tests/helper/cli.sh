#!/bin/bash
# cli.sh - every banhelper command's error paths, privileges, --json, and
# the daemon's reload and memory.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/netns.sh"

C=$AB_DIR/ab.conf
conf_write "$C" "maxretry = 3" "ignoreip = 192.0.2.0/28" "sync_interval = 60s"
ns_new cli
N="ip netns exec $NS"
bh() { $N "$BH" -c "$C" "$@"; }

# run CMD...: sets OUT (stdout+stderr) and RC
run() {
	OUT=$("$@" 2>&1)
	RC=$?
}

# --- usage errors: exit 2 and a message saying what is wrong -----------------
run $N "$BH"
tap_is "$RC" 2 "no command: exit 2"
tap_like "$OUT" "^usage: banhelper" "no command: prints the usage"
run bh frob
tap_is "$RC:$OUT" '2:banhelper: unknown command "frob" (see banhelper --help)' \
    "unknown command"
run bh list --bogus
tap_is "$RC:$OUT" "2:banhelper: list: unknown option --bogus (see banhelper list --help)" \
    "unknown option"
run bh list --force
tap_is "$RC" 2 "an option of another command is refused"
run bh list extra
tap_is "$RC:$OUT" '2:banhelper: list: unexpected argument "extra" (see banhelper list --help)' \
    "unexpected argument"
run bh status sshd extra
tap_is "$RC:$OUT" '2:banhelper: status: one service at most (see banhelper status --help)' \
    "status takes one service at most"
run bh status 'ss hd'
tap_is "$RC:$OUT" '2:banhelper: status: "ss hd" is not a PAM service name (letters, digits, ".-_+", at most 31)' \
    "status with what cannot be a service name"
run bh ban
tap_is "$RC:$OUT" "2:banhelper: ban: no address given (see banhelper ban --help)" \
    "ban without an address"
run bh ban 192.0.2.99 --for
tap_is "$RC:$OUT" "2:banhelper: ban: option --for needs a value" \
    "--for without a value"
run bh ban 198.51.100.1 --for 400d
tap_like "$RC:$OUT" '^2:banhelper: ban: --for "400d": expected a duration' \
    "--for beyond a year"
run bh ban 198.51.100.1 --for 0s
tap_is "$RC:$OUT" "2:banhelper: ban: --for must be longer than 0s" "--for 0s"
run bh unban
tap_is "$RC" 2 "unban without an address: exit 2"
run bh unban --all 198.51.100.1
tap_is "$RC:$OUT" "2:banhelper: unban: --all takes no addresses" \
    "unban --all with addresses"
for c in list ban unban status run sync; do
	run bh "$c" --help
	tap_like "$RC:$OUT" "^0:usage: banhelper $c" "$c --help"
done

# --- bad input: exit 1, nothing half done ------------------------------------
run bh ban host.example.org
tap_is "$RC:$OUT" '1:banhelper: "host.example.org": not an IP address or prefix' \
    "a name is not an address"
run bh ban 198.51.100.7/24
tap_is "$RC:$OUT" '1:banhelper: "198.51.100.7/24" has host bits set (did you mean 198.51.100.0/24?)' \
    "host bits set"
run bh ban 192.0.2.5
tap_is "$RC:$OUT" "1:banhelper: 192.0.2.5: address is loopback or in ignoreip: not banned (use --force to ban it anyway)" \
    "an ignoreip address is refused"
run bh ban 192.0.2.5 --force --for 1m
tap_is "$RC:$OUT" "0:banned 192.0.2.5 for 1m" "--force bans it anyway"
run bh ban 198.51.100.20 bogus
tap_is "$RC" 3 "one good, one bad: exit 3, the good one banned"
tap_like "$(bh list)" "198\.51\.100\.20" "the good one is in the list"
run bh unban 198.51.100.1
tap_is "$RC:$OUT" "0:198.51.100.1: no ban or history (its counts, if any, are cleared)" \
    "unban of an unknown address says so and succeeds"

# --- the configuration ----------------------------------------------------------
run $N "$BH" -c "$AB_DIR/none.conf" list
tap_like "$RC:$OUT" "^1:banhelper: config $AB_DIR/none.conf: No such file or directory" \
    "a missing -c file: exit 1, the path named"
cp "$C" "$AB_DIR/gw.conf"
chmod 0664 "$AB_DIR/gw.conf"
run $N "$BH" -c "$AB_DIR/gw.conf" list
tap_like "$RC:$OUT" "writable by group or other \(mode 664\): refusing it" \
    "a group-writable config is refused"
tap_is "$RC" 1 "... with exit 1"
cp "$C" "$AB_DIR/bad.conf"
echo "maxretry = lots" >>"$AB_DIR/bad.conf"
run $N "$BH" -c "$AB_DIR/bad.conf" list
tap_like "$RC:$OUT" "^0:banhelper: file $AB_DIR/bad.conf line 6: bad value \"lots\" for maxretry" \
    "a bad line is reported with file and line; the command still runs"

# --- privileges ------------------------------------------------------------------
run $N setpriv --reuid=65534 --regid=65534 --clear-groups "$BH" -c "$C" ban 198.51.100.30
tap_is "$RC" 4 "a changing command as an ordinary user: exit 4"
tap_like "$OUT" "ban needs root \(to write the store in $AB_DIR/db\) and CAP_NET_ADMIN \(to change the firewall\); you are uid 65534 without CAP_NET_ADMIN" \
    "... and it says exactly what is missing"
run $N capsh --drop=cap_net_admin -- -c "$BH -c $C unban 198.51.100.20"
tap_is "$RC:$OUT" "4:banhelper: unban needs CAP_NET_ADMIN to change the firewall, and this process does not have it in its effective set" \
    "root without CAP_NET_ADMIN: exit 4, says so"
run $N setpriv --reuid=65534 --regid=65534 --clear-groups "$BH" -c "$C" run
tap_is "$RC" 4 "the daemon refuses to start unprivileged"
run $N setpriv --reuid=65534 --regid=65534 --clear-groups "$BH" -c "$C" list
tap_like "$RC:$OUT" "^1:banhelper: ban store $AB_DIR/db: Permission denied" \
    "reading a root-only store as a user fails, naming where"
chmod 0755 "$AB_DIR/db"
chmod 0644 "$AB_DIR/db/bans.mdb"
chmod 0755 "$AB_DIR/run"
chmod 0644 "$AB_DIR/run/counts.mdb" 2>/dev/null
run $N setpriv --reuid=65534 --regid=65534 --clear-groups "$BH" -c "$C" list
tap_like "$RC:$OUT" "198\.51\.100\.20 +manual" \
    "anyone who may read the store may list it"
run $N setpriv --reuid=65534 --regid=65534 --clear-groups "$BH" -c "$C" status
tap_like "$RC:$OUT" "firewall:  nftables table inet autoban, not checked \(needs CAP_NET_ADMIN\)" \
    "status as a user: the firewall is not checked, and it says why"
chmod 0700 "$AB_DIR/db" "$AB_DIR/run"
chmod 0600 "$AB_DIR/db/bans.mdb"

# --- --json ---------------------------------------------------------------------
mkdir -p "$AB_DIR/pam.d"
printf 'auth requisite %s conf=%s\nauth required pam_deny.so\n' \
    "$AB_BUILD/pam_autoban.so" "$C" >"$AB_DIR/pam.d/svc"
"$AB_BUILD/tests/pamdrive" -c "$AB_DIR/pam.d" -s svc -r 203.0.113.44 -n 2 >/dev/null
"$AB_BUILD/tests/pamdrive" -c "$AB_DIR/pam.d" -s svc -r 203.0.113.45 -n 4 >/dev/null
json=$(bh list --all --json)
tap_is "$?" 0 "list --all --json exits 0"
chk=$(printf '%s' "$json" | python3 -c '
import json, sys
d = json.load(sys.stdin)
b = {x["prefix"]: x for x in d["bans"]}
c = {x["prefix"]: x for x in d["counting"]}
a = b["203.0.113.45"]
assert set(a) == {"prefix", "origin", "service", "failures", "started",
                  "until", "left", "times_banned", "from"}, sorted(a)
assert a["from"] == "", a
assert a["origin"] == "auto" and a["failures"] == 3 and a["times_banned"] == 1
assert a["service"] == "svc", a
assert 3590 <= a["left"] <= 3600 and a["until"] - a["started"] == 3600
assert b["198.51.100.20"]["origin"] == "manual"
assert b["198.51.100.20"]["service"] == "", b
h = c["203.0.113.44"]
assert set(h) == {"prefix", "failures", "last_failure", "successes",
                  "last_success"}, sorted(h)
assert h["failures"] == 2 and h["successes"] == 0
print("ok")' 2>&1)
tap_is "$chk" ok "list --json: stable fields and the right values"
tap_like "$(bh list)" "203\.0\.113\.45 +auto +svc +3 " \
    "list: the service whose failures made a ban, beside its origin"
tap_like "$(bh list)" "198\.51\.100\.20 +manual +- " \
    "a manual ban has no service"
json=$(bh status --json)
chk=$(printf '%s' "$json" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert set(d) == {"store", "counts", "bans_active", "bans_manual", "firewall",
                  "daemon", "services", "allowlist", "trusted"}, sorted(d)
assert d["allowlist"] == {"addresses": 1, "names": []}, d["allowlist"]
assert d["trusted"] == [], d["trusted"]
# pamdrive runs PAM service "svc": .44 failed twice, .45 three times and
# was banned at its fourth attempt.
assert d["services"] == [{"service": "svc", "currently_failed": 2,
                          "total_failed": 5, "currently_banned": 1,
                          "total_banned": 1, "total_refused": 1}], d["services"]
assert d["bans_active"] == 3 and d["bans_manual"] == 2, d
f = d["firewall"]
# The module banned 203.0.113.45 while no daemon ran: status must see that.
assert f["backend"] == "nftables" and f["in_sync"] is False, f
assert f["missing"] == 1 and f["extra"] == 0 and f["elements"] == 2, f
assert d["daemon"]["running"] is False
assert d["counts"]["hosts_counted"] >= 2
print("ok")' 2>&1)
tap_is "$chk" ok "status --json: stable fields and the right values"
run bh status
tap_like "$OUT" "services:  svc +currently failed 2, total failed 5, currently banned 1, total banned 1, total refused 1" \
    "status lists each service with its figures"
run bh status svc
tap_is "$RC:$OUT" "0:Status for the service: svc
|- Failures
|  |- Currently failed:	2
|  \`- Total failed:	5
\`- Bans
   |- Currently banned:	1
   |- Total banned:	1
   |- Total refused:	1
   \`- Banned IP list:	203.0.113.45" "status SERVICE shows it as fail2ban-client status JAIL shows a jail"
tap_is "$(bh status svc --json | python3 -c 'import json,sys; print(json.load(sys.stdin))')" \
    "{'service': 'svc', 'currently_failed': 2, 'total_failed': 5, 'currently_banned': 1, 'total_banned': 1, 'total_refused': 1, 'banned': ['203.0.113.45']}" \
    "status SERVICE --json"
run bh status imap
tap_is "$RC:$OUT" '1:banhelper: status: no attempt through service "imap" is on record (banhelper status lists the services seen)' \
    "status of a service never seen"
tap_is "$(bh list --json | python3 -c 'import json,sys; print(sorted(json.load(sys.stdin)))')" \
    "['bans']" "list --json without --all has only bans"

# --- hostile bulk input: a NUL byte ends nothing but its own line -------------
printf '198.51.100.41\000garbage\n198.51.100.42\n' >"$AB_DIR/nul.txt"
run bh ban - <"$AB_DIR/nul.txt"
tap_is "$RC" 3 "ban - with a NUL byte in a line: exit 3 (that line refused)"
tap_like "$OUT" "line 1: contains a NUL byte: skipped" "... the line is named"
tap_like "$(bh list)" "198\.51\.100\.42 " \
    "... and the valid line after it is banned, not swallowed"
head -c 3000 /dev/zero | tr '\0' 'x' >"$AB_DIR/long.txt"
printf '\n198.51.100.43\n' >>"$AB_DIR/long.txt"
run bh ban - <"$AB_DIR/long.txt"
tap_like "$RC:$OUT" "^3:banhelper: line 1: longer than 1024 bytes: skipped" \
    "a line of 3000 bytes is refused by number"
tap_like "$(bh list)" "198\.51\.100\.43 " "... and the next line is banned"

# --- a damaged store: refused, said, never a crash ----------------------------
cp -a "$AB_DIR/db" "$AB_DIR/db.saved"
size=$(stat -c %s "$AB_DIR/db/bans.mdb")
truncate -s $((size / 2)) "$AB_DIR/db/bans.mdb"
printf 'x' | dd of="$AB_DIR/db/bans.mdb" bs=1 seek=41 conv=notrunc 2>/dev/null
run bh list
tap_like "$RC:$OUT" "^1:.*bans\.mdb: not a sound LMDB file.*refusing it \(not mapped\)" \
    "list on a store cut short with garbage in its meta: exit 1, said why (it died of SIGBUS/SIGFPE)"
run bh status
tap_like "$RC:$OUT" "store: .*DAMAGED: it fails its checks and is not used" \
    "status says the store is damaged"
rm -rf "$AB_DIR/db"
mv "$AB_DIR/db.saved" "$AB_DIR/db"

# --- SIGHUP re-reads the configuration ----------------------------------------
daemon_start "$NS" "$C"
tap_ok "$(ip netns exec "$NS" nft list table inet autoban | grep -c 'tcp dport')" \
    "no ports configured: the drop covers all traffic"
echo "ports = 22" >>"$C"
kill -HUP "$DAEMON_PID"
wait_for 5 sh -c "ip netns exec $NS nft list table inet autoban | grep -q 'ip saddr @v4 tcp dport 22 drop'"
tap_ok $? "after SIGHUP the new ports apply"
tap_ok "$(kill -0 "$DAEMON_PID"; echo $?)" "the daemon still runs after SIGHUP"

# --- memory stays flat as bans come and go -----------------------------------
rss() { awk '/^VmRSS/ {print $2}' "/proc/$DAEMON_PID/status"; }
python3 -c '
for i in range(400):
    print("2001:db8:99:%x::1" % i)' >"$AB_DIR/round.txt"
addrs=$(tr '\n' ' ' <"$AB_DIR/round.txt")
for round in $(seq 1 12); do
	bh ban - --for 1h <"$AB_DIR/round.txt" >/dev/null
	# shellcheck disable=SC2086
	bh unban $addrs >/dev/null
	sleep 0.2
	[ "$round" -eq 3 ] && before=$(rss)
done
after=$(rss)
if [ -n "${AB_SAN:-}" ]; then
	# ASan's allocator keeps freed blocks for itself; the plain build's
	# run of this suite judges the memory.
	tap_ok 0 "12 rounds of 400 bans and unbans: RSS ${before} kB -> ${after} kB # SKIP under ASan"
else
	tap_ok $(( after - before < 2048 ? 0 : 1 )) \
	    "12 rounds of 400 bans and unbans: daemon RSS ${before} kB -> ${after} kB"
fi
daemon_stop
tap_done
