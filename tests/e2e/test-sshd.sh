#!/bin/bash
# test-sshd.sh - the whole system against the distribution's real sshd:
# brute force from ssh/sshpass and hydra, blocked by PAM, then by the kernel.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/env.sh"

E=$(mktemp -d "${AB_TMP:-/tmp}/e2e.XXXXXX")
on_exit() {
	if [ "$TAP_FAILED" -ne 0 ]; then
		# What the server saw, for whoever reads a failure.
		for f in sshd.log banhelper.log syslog; do
			echo "--- $f" >&2
			tail -n 15 "$E/$f" >&2 2>/dev/null
		done
	fi
	env_down
	rm -rf "$E"
}
trap on_exit EXIT
# pam_unix without its 2 s delay after a failure: the module sees the same
# attempts, and the suite does not wait 2 s for each of its 60 failures
# (hydra is then faster, which makes its exactness check stricter).
export E_NODELAY=1
E_GRACE=6	# > 3 failed passwords on one connection
# sync_interval 60 s: whatever reaches the kernel within a second came
# through the module's wake-up, not the periodic reconcile.
if ! env_up "$E" "maxretry = 4" "bantime = 1h" "sync_interval = 60s"; then
	tap_ok 1 "the environment comes up" "$(tail -20 "$E"/*.log 2>/dev/null)"
	tap_done
	exit 1
fi
tap_ok 0 "a real sshd with the one autoban line in its PAM stack is up"
tap_like "$(grep -n . "$E/etc/pam.d/sshd" | grep -m3 -E 'auth|include')" \
    "auth requisite .*pam_autoban.so conf=" \
    "the autoban line is the first of the auth section"
tap_is "$(awk '{print $19}' "/proc/$E_BHPID/stat")" "$(unit_nice)" \
    "banhelper runs at the priority its unit gives it (Nice=)"

# --- the real user from a clean source ---------------------------------------
login 203.0.113.20 "$E_PASS"
tap_is "$?" 0 "the real user logs in with the right password"

# --- a brute force from one source -------------------------------------------
for i in 1 2 3 4; do
	login 203.0.113.10 "guess$i"
done
tap_is "$(checked 203.0.113.10)" 4 \
    "exactly 4 guesses from 203.0.113.10 reached the password check"
tap_fails "the 5th attempt is refused, even with the right password" \
    login 203.0.113.10 "$E_PASS"
tap_is "$(checked 203.0.113.10)" 4 "the 5th never reached the password check"
env_wait 5 grep -q "refusing it" "$E/syslog"
tap_like "$(cat "$E/syslog")" "pam_autoban\(sshd:auth\): banned 203\.0\.113\.10 as 203\.0\.113\.10 for 1h after 4 failures \(ban #1\); refusing it" \
    "pam_syslog: one line with address, prefix and time"
env_wait 1 dropped 203.0.113.10
tap_ok $? "new TCP connections from it are dropped by the kernel within 1 s"
tap_ok "$(port_open 203.0.113.21; echo $?)" "other sources still connect"
login 203.0.113.21 "$E_PASS"
tap_is "$?" 0 "and the real user still logs in from another source"

# --- several passwords on one connection --------------------------------------
out=$(tries 203.0.113.11 password a b c)
tap_is "$out" "denied 3" "three passwords on one connection were tried"
tap_is "$(checked 203.0.113.11)" 3 "each of the three was counted"

# --- keyboard-interactive counts the same -------------------------------------
out=$(tries 203.0.113.12 keyboard-interactive a b c)
tap_like "$out" "^(denied|closed) 3$" "three keyboard-interactive rounds were tried"
out=$(tries 203.0.113.12 keyboard-interactive d)
tap_is "$(checked 203.0.113.12)" 4 "keyboard-interactive: 4 counted, like password"
out=$(tries 203.0.113.12 keyboard-interactive "$E_PASS")
tap_is "$(checked 203.0.113.12)" 4 "keyboard-interactive: the 5th was refused"
env_wait 1 dropped 203.0.113.12
tap_ok $? "and the kernel drops 203.0.113.12 too"

# --- a successful login never counts -------------------------------------------
for pw in x y z; do
	login 203.0.113.22 "$pw"
done
login 203.0.113.22 "$E_PASS"
tap_is "$?" 0 "maxretry-1 mistakes, then the right password: logged in"
out=$(tries 203.0.113.23 keyboard-interactive "$E_PASS")
tap_is "$out" "logged-in 1" "a keyboard-interactive login works"
json=$(bh list --all --json)
chk=$(printf '%s' "$json" | python3 -c '
import json, sys
d = json.load(sys.stdin)
c = {x["prefix"]: x for x in d["counting"]}
b = {x["prefix"] for x in d["bans"]}
assert c["203.0.113.22"]["failures"] == 3, c["203.0.113.22"]
assert c["203.0.113.22"]["successes"] == 1
assert c["203.0.113.23"]["failures"] == 0, c["203.0.113.23"]
assert c["203.0.113.20"]["failures"] == 0
assert "203.0.113.22" not in b and "203.0.113.23" not in b
print("ok")' 2>&1)
tap_is "$chk" ok "good logins (password and keyboard-interactive) were not counted"
# The good login earned its user room from there (earned trust: his own
# failures now go to a list of their own); another user's go on from 3.
E_LOGIN=nosuch login 203.0.113.22 wrong
tap_is "$(checked 203.0.113.22)" 5 "after it, another user's next failure is still checked"
E_LOGIN=nosuch
tap_fails "and the attempt after that is refused" login 203.0.113.22 wrong
unset E_LOGIN

# --- dropped at LoginGraceTime: the attempt still counts ------------------------
out=$(SSHTRY_WAIT=$((E_GRACE + 2)) tries 203.0.113.24 keyboard-interactive)
tap_like "$out" "^(closed|denied) 0" "a client silent at the password prompt until LoginGraceTime"
chk=$(bh list --all --json | python3 -c '
import json, sys
c = {x["prefix"]: x for x in json.load(sys.stdin)["counting"]}
print(c.get("203.0.113.24", {}).get("failures"))')
tap_is "$chk" 1 "its attempt counted as a failure (recorded before the prompt)"

# --- IPv6: the /64 is the unit ------------------------------------------------------
for i in 1 2 3 4; do
	login 2001:db8::10 "guess$i"
done
tap_is "$(checked 2001:db8::10)" 4 \
    "IPv6: 4 guesses from 2001:db8::10 reached the password check"
tap_fails "IPv6: the 5th attempt from 2001:db8::10 is refused" \
    login 2001:db8::10 "$E_PASS"
env_wait 1 dropped 2001:db8::20 $E_SERVER6
tap_ok $? "another address in the same /64 (2001:db8::20) is dropped too"
tap_ok "$(port_open 2001:db8:0:1::30 $E_SERVER6; echo $?)" \
    "while an IPv6 source in another /64 (2001:db8:0:1::30) still connects"
tap_like "$(bh list)" "2001:db8::/64 +auto +sshd +4" "the ban is on 2001:db8::/64, made by sshd's failures"

# --- log injection: text in the username never bans its address ------------------
for i in 1 2 3 4 5; do
	E_LOGIN="root from 198.51.100.77 port 22 ssh2" login 203.0.113.14 x
done
E_LOGIN=$'x\rFailed password for root from 198.51.100.78 port 22 ssh2'
printf '%s\n' "$E_LOGIN" "admin from 198.51.100.79 port 22" >"$E/users.txt"
ip netns exec "$NS_hyi" env -C "$E" timeout 120 hydra -I -w 5 -L "$E/users.txt" -p x \
    -t 2 ssh://$E_SERVER4 >"$E/hydra-inject.log" 2>&1
tap_is "$(checked 203.0.113.201)" 2 "hydra sent both crafted usernames (one with a CR)"
unset E_LOGIN
list=$(bh list --json)
tap_like "$list" '"prefix": "203\.0\.113\.14"' "the real source of the crafted usernames is banned"
tap_ok "$(printf '%s' "$list" | grep -cE '198\.51\.100\.(77|78|79)')" \
    "no address written in a username is ever banned"
tap_ok "$(port_open 203.0.113.29 198.51.100.77 2>/dev/null; bh list --all | grep -c 198.51.100)" \
    "and none is even counted"

# --- hydra: a parallel brute force ------------------------------------------------------
# Once the kernel drops its source, hydra's further connections only time
# out: its run is cut after 25 s (its guesses take a few).
hydra_words 31
ip netns exec "$NS_hyd" env -C "$E" timeout 25 hydra -I -w 5 -l "$E_USER" \
    -P "$E/passwords.txt" -t 4 ssh://$E_SERVER4 >"$E/hydra.log" 2>&1
tap_is "$(checked 203.0.113.200)" 4 \
    "hydra -t 4 with 31 passwords: exactly 4 reached the password check"
tap_ok "$(grep -c 'login:' "$E/hydra.log")" "hydra never found the password (the last one)"
tap_ok "$(ip netns exec "$NS_hyd" python3 -c '
import socket, sys
s = socket.socket(); s.settimeout(1)
try:
    s.connect(("192.0.2.1", 22)); sys.exit(1)
except OSError:
    sys.exit(0)'; echo $?)" "and the kernel now drops hydra's source"

# --- unban restores access at once ----------------------------------------------------
out=$(bh unban 203.0.113.10)
tap_is "$out" "unbanned 203.0.113.10" "banhelper unban 203.0.113.10"
tap_ok "$(port_open 203.0.113.10; echo $?)" "its connections get through at once"
login 203.0.113.10 "$E_PASS"
tap_is "$?" 0 "and the real user logs in from it"

# --- a short ban expires and restores access --------------------------------------------
bh ban 203.0.113.15 --for 3s >/dev/null
env_wait 1 dropped 203.0.113.15
tap_ok $? "a 3 s ban drops 203.0.113.15"
env_wait 6 port_open 203.0.113.15
tap_ok $? "when it runs out, connections get through again"
login 203.0.113.15 "$E_PASS"
tap_is "$?" 0 "and logins work"

# --- bans survive restarts of banhelper and of sshd ----------------------------------------
bh_stop
bh_start
tap_ok "$(dropped 203.0.113.12; echo $?)" "after a banhelper restart, 203.0.113.12 is still dropped"
tap_ok "$(dropped 2001:db8::10 $E_SERVER6; echo $?)" "and so is the IPv6 /64"
ip netns exec "$NS_srv" nft flush ruleset
bh_stop
bh_start
env_wait 2 dropped 203.0.113.12
tap_ok $? "after nft flush ruleset and a restart, the bans are back in the kernel"
sshd_stop
sshd_start
tap_ok $? "sshd restarts"
ip netns exec "$NS_srv" nft flush ruleset	# so that PAM alone must refuse
tap_fails "after an sshd restart, PAM still refuses the banned source" \
    login 203.0.113.12 "$E_PASS"
tap_is "$(checked 203.0.113.12)" 4 "without checking its password"
tap_done
