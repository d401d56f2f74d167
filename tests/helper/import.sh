#!/bin/bash
# import.sh - arriving from fail2ban: banhelper import log (sshd's past
# failures from auth.log or journalctl output, immune to what a username
# says) and banhelper import fail2ban (the bans and settings of a real
# fail2ban-server of our own, run with a dummy action: it touches no
# firewall).
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/netns.sh"

C=$AB_DIR/ab.conf
conf_write "$C" "maxretry = 3" "findtime = 10m" "bantime = 1h" \
    "ignoreip = 198.51.100.0/28"
ns_new imp
N="ip netns exec $NS"
bh() { $N "$BH" -c "$C" "$@"; }
run() { OUT=$("$@" 2>&1); RC=$?; }
counted() {	# counted ADDR: failures banhelper list --all shows for it
	bh list --all | awk -v a="$1" '$1 == a && NF == 5 {print $2}'
}
now=$(date +%s)
iso() { date -u -d "@$((now - $1))" '+%Y-%m-%dT%H:%M:%S.123456+00:00'; }
sys() { date -d "@$((now - $1))" '+%b %e %H:%M:%S'; }
jnl() { date -d "@$((now - $1))" '+%b %d %H:%M:%S'; }

# --- import log ------------------------------------------------------------------------
L=$AB_DIR/auth.log
{
# 203.0.113.5: three failures within findtime, in three formats.
echo "$(iso 300) srv sshd[100]: Failed password for root from 203.0.113.5 port 4000 ssh2"
echo "$(sys 280) srv sshd[101]: Failed keyboard-interactive/pam for invalid user admin from 203.0.113.5 port 4001 ssh2"
echo "$(jnl 270) srv sshd[102]: Failed password for root from 203.0.113.5 port 4002 ssh2"
# The usernames test-sshd sends: the address written in them is never taken.
echo "$(iso 260) srv sshd[103]: Failed password for invalid user root from 198.51.100.77 port 22 ssh2 from 203.0.113.6 port 5001 ssh2"
echo "$(iso 259) srv sshd[103]: Failed password for invalid user root from 198.51.100.77 port 22 ssh2 from 203.0.113.6 port 5001 ssh2"
echo "$(iso 258) srv sshd[103]: Failed password for invalid user root from 198.51.100.77 port 22 ssh2 from 203.0.113.6 port 5001 ssh2"
printf '%s srv sshd[104]: Failed password for invalid user x\rFailed password for root from 198.51.100.78 port 22 ssh2 from 203.0.113.7 port 5002 ssh2\n' "$(iso 250)"
echo "$(iso 249) srv sshd[104]: Failed password for invalid user x\\015Failed password for root from 198.51.100.78 port 22 ssh2 from 203.0.113.7 port 5002 ssh2"
echo "$(iso 248) srv sshd[105]: Failed password for invalid user admin from 198.51.100.79 port 22 from 203.0.113.7 port 5003 ssh2"
# rsyslog's reduction of a repeated line, an IPv6 source.
echo "$(sys 240) srv sshd[106]: message repeated 3 times: [ Failed password for root from 2001:db8:5::7 port 4 ssh2]"
# Not sshd's, not a failed password, too old, allowlisted.
echo "$(sys 230) srv cron[5]: Failed password for root from 203.0.113.8 port 1 ssh2"
echo "$(sys 229) srv sshd[107]: Accepted password for tester from 203.0.113.9 port 2 ssh2"
echo "$(sys 228) srv sshd[107]: Invalid user guest from 203.0.113.9 port 2"
echo "$(iso 700000) srv sshd[108]: Failed password for root from 203.0.113.10 port 1 ssh2"
echo "$(iso 700001) srv sshd[108]: Failed password for root from 203.0.113.10 port 1 ssh2"
echo "$(iso 700002) srv sshd[108]: Failed password for root from 203.0.113.10 port 1 ssh2"
echo "$(sys 220) srv sshd[109]: Failed password for root from 198.51.100.3 port 2 ssh2"
echo "$(sys 219) srv sshd[109]: Failed password for root from 198.51.100.3 port 2 ssh2"
echo "$(sys 218) srv sshd[109]: Failed password for root from 198.51.100.3 port 2 ssh2"
# Lines that look like a failure but cannot be read: named, skipped.
echo "$(sys 210) srv sshd[110]: Failed password for root from myhost.example port 2 ssh2"
echo "$(sys 209) srv sshd[110]: Failed password for root from 203.0.113.11 port 2"
# One failure of a host that stays under maxretry.
echo "$(sys 100) srv sshd[111]: Failed password for root from 203.0.113.12 port 2 ssh2"
} >"$L"
run bh import log "$L"
tap_is "$RC" 3 "import log: exit 3, for the two lines it could not read"
tap_like "$OUT" "auth\.log line 20: \"myhost\.example\" is not an IP address \(UseDNS\?\): not counted" \
    "a failure with a host name is named with its line"
tap_like "$OUT" "auth\.log line 21: a failed password without sshd's \" ssh2\" ending: not counted" \
    "and one without sshd's ending"
tap_like "$OUT" "banned 203\.0\.113\.5 as 203\.0\.113\.5: (5[4-5]m[0-9]+s|5[4-5]m) left" \
    "three failures in findtime (three log formats): banned for what is left of its hour"
tap_like "$OUT" "banned 2001:db8:5::7 as 2001:db8:5::/64" \
    "a repeated message counts each repetition (IPv6: its /64)"
tap_like "$OUT" "banned 203\.0\.113\.6 as 203\.0\.113\.6" \
    "the real source of a username naming another address is banned"
tap_like "$OUT" "banned 203\.0\.113\.7 as 203\.0\.113\.7" \
    "so is the one of the usernames with a CR and with a bare address"
tap_like "$OUT" "22 lines, 19 failed passwords of sshd: 13 counted, 3 allowlisted, 3 too old to matter, 0 already counted live; 4 bans active now, 0 ended since" \
    "the summary adds up"
tap_is "$(bh list --all | grep -cE '198\.51\.100\.(77|78|79)|203\.0\.113\.(8|9|10) ')" 0 \
    "no address written in a username, nor another program's, nor an old one, is counted"
tap_is "$(counted 203.0.113.12)" 1 "a host under maxretry is counted, not banned"
tap_like "$(bh list)" "203\.0\.113\.5 +auto +sshd +3 " "the ban is sshd's automatic ban"
run bh import log "$L"
tap_like "$OUT" "0 counted, 3 allowlisted, 3 too old to matter, 13 already counted live; 0 bans" \
    "imported again: nothing is counted twice"
run bh import log - <"$L"
tap_like "$OUT" "22 lines" "- reads stdin"
run bh import log "$AB_DIR/none.log"
tap_is "$RC:$OUT" "1:banhelper: import log: $AB_DIR/none.log: No such file or directory" \
    "a missing file is named"
before=$(bh list --all --json | grep -v '"left"')
head -c 65536 /dev/urandom >"$AB_DIR/junk"
run bh import log "$AB_DIR/junk"
tap_like "$RC" "^[03]$" "random bytes: read without harm"
tap_is "$(bh list --all --json | grep -v '"left"')" "$before" "and nothing counted"
run bh import
tap_is "$RC" 2 "import without log or fail2ban: usage error"

# --- import fail2ban, from a real fail2ban-client ---------------------------------------
F=$AB_DIR/f2b
cp -a /etc/fail2ban "$F"
: >"$AB_DIR/f2b-empty.log"
cat >"$F/fail2ban.local" <<EOF
[Definition]
logtarget = $AB_DIR/f2b.log
socket = $AB_DIR/f2b.sock
pidfile = $AB_DIR/f2b.pid
dbfile = $AB_DIR/f2b.sqlite3
EOF
cat >"$F/jail.local" <<EOF
[DEFAULT]
ignoreip = 127.0.0.1/8 ::1 192.0.2.0/24 home.example.test
bantime.increment = true
bantime.maxtime = 5w
bantime.rndtime = 30
banaction = dummy
banaction_allports = dummy
backend = polling
[sshd]
enabled = true
logpath = $AB_DIR/f2b-empty.log
maxretry = 4
findtime = 1h
bantime = 2h
[dovecot]
enabled = true
logpath = $AB_DIR/f2b-empty.log
maxretry = 8
bantime = -1
EOF
f2b() { timeout 30 fail2ban-client -c "$F" "$@" 2>/dev/null; }
f2b_stop() {
	f2b stop >/dev/null
	[ -s "$AB_DIR/f2b.pid" ] && kill "$(cat "$AB_DIR/f2b.pid")" 2>/dev/null
}
trap 'f2b_stop; ab_cleanup' EXIT
f2b start >/dev/null
tap_is "$(f2b status | grep -c 'dovecot, sshd')" 1 "a fail2ban-server of our own runs two jails"
f2b set sshd banip 203.0.113.40 2001:db8:6::9 198.51.100.2 >/dev/null
f2b set dovecot banip 203.0.113.41 >/dev/null
{
	f2b -d
	f2b get sshd banip --with-time
	f2b get dovecot banip --with-time
} >"$AB_DIR/f2b.out"
run bh import fail2ban "$AB_DIR/f2b.out"
tap_is "$RC" 3 "import fail2ban: exit 3 (one ban refused)"
tap_like "$OUT" "# fail2ban jail sshd, as autoban\.conf lines.*
maxretry = 4
findtime = 1h
bantime = 2h
bantime_increment = 2
bantime_max = 5w
ignoreip = 192\.0\.2\.0/24 home\.example\.test" \
    "the sshd jail's settings as autoban.conf lines (loopback left out: always ignored)"
tap_like "$OUT" "#   bantime\.rndtime = 30: autoban adds no random time to a ban" \
    "a setting it cannot translate is named, with why"
tap_like "$OUT" "#   bantime = -1: permanent: autoban's longest ban is 366d" \
    "a permanent ban is named too"
tap_like "$OUT" "banned 203\.0\.113\.40 for (2h|1h59m)" "sshd's ban taken over with its time left"
tap_like "$OUT" "banned 2001:db8:6::/64 for (2h|1h59m)" "an IPv6 one as its /64"
tap_like "$OUT" "banned 203\.0\.113\.41 for 52w2d" "dovecot's permanent ban for the longest"
tap_like "$OUT" "198\.51\.100\.2: address is loopback or in ignoreip: not banned" \
    "an address in ignoreip is not banned"
bh sync >/dev/null
tap_ok "$(has_elem "$NS" v4 203.0.113.40; echo $?)" "after a sync, fail2ban's ban is in the kernel"
printf '203.0.113.42 \tgarbage\n203.0.113.43 198.51.100.9\n' >"$AB_DIR/f2b-bad.out"
run bh import fail2ban "$AB_DIR/f2b-bad.out"
tap_like "$RC:$OUT" "^3:banhelper: .*f2b-bad\.out line 1: no \"= END\": use get JAIL banip --with-time: skipped" \
    "a ban line without its end time is named and skipped"
tap_is "$(bh list | grep -c '203\.0\.113\.4[23]')" 0 "and nothing of it was banned"
tap_done
