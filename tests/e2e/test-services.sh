#!/bin/bash
# test-services.sh - the services an admin exposes besides sshd, each
# stopped by autoban:
#  - a second real PAM service: Debian's Dovecot (IMAP, passdb pam, service
#    "dovecot", which sets PAM_RHOST to the client's address) beside the
#    real sshd, each with the one autoban line.  The Dovecot line carries
#    its own policy (maxretry=6); sshd's is the file's (maxretry 4).
#    Failures of one host add up across the two, and a ban holds for both;
#  - a program without PAM: a web login form with passwords of its own
#    (tests/e2e/weblogin.py, run as www-data), reporting to banhelper's
#    socket as docs/recipes.md shows;
#  - earned trust with the real sshd: the account line records a key
#    login, and a ban of that address is refused at PAM, never dropped,
#    and ended by the owner's next key login.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/env.sh"

E=$(mktemp -d "${AB_TMP:-/tmp}/services.XXXXXX")
on_exit() {
	if [ "$TAP_FAILED" -ne 0 ]; then
		for f in dovecot.log banhelper.log syslog hydra-imap.log \
		    weblogin.log; do
			echo "--- $f" >&2
			tail -n 15 "$E/$f" >&2 2>/dev/null
		done
	fi
	env_down
	rm -rf "$E"
}
trap on_exit EXIT
export E_NODELAY=1 E_DOVECOT=1 E_WEBLOGIN=1 E_PUBKEY=yes E_ACCOUNT=1
export E_IMAP_ARGS="maxretry=6"
if ! env_up "$E" "maxretry = 4" "bantime = 1h" "sync_interval = 60s" \
    "report_group = www-data" || ! env_wait 10 imap_open 203.0.113.40 ||
    ! env_wait 10 grep -q listening "$E/weblogin.log"; then
	tap_ok 1 "the environment comes up" \
	    "$(tail -20 "$E"/*.log 2>/dev/null)"
	tap_done
	exit 1
fi
tap_ok 0 "Dovecot (IMAP, passdb pam) and sshd run with the autoban line"
tap_like "$(grep -m1 '^auth' "$E/etc/pam.d/dovecot")" \
    "^auth requisite .*pam_autoban.so conf=.* maxretry=6$" \
    "the Dovecot stack starts with the autoban line and its own maxretry"

# imap_dropped SRC: a TCP connection from SRC to port 143 times out.
imap_dropped() {
	! imap_open "$1"
}

# --- the real user ------------------------------------------------------------
tap_is "$(imap 203.0.113.20 "$E_PASS")" "logged-in 1" \
    "the real user logs in over IMAP and opens INBOX"
tap_is "$(checked_imap 203.0.113.20)" 1 "that one password was checked"

# --- several passwords on one IMAP connection, then a ban -----------------------
tap_is "$(imap 203.0.113.11 a b c)" "denied 3" "three LOGINs on one connection"
tap_is "$(imap 203.0.113.11 d e f)" "denied 3" "three more on another"
tap_is "$(checked_imap 203.0.113.11)" 6 "each of the six was checked (Dovecot's maxretry 6)"
tap_like "$(imap 203.0.113.11 "$E_PASS")" "^(denied 1|closed 0)$" \
    "the 7th is refused, even with the right password"
tap_is "$(checked_imap 203.0.113.11)" 6 "and never reached the password check"
env_wait 5 grep -q "dovecot:auth): banned 203.0.113.11 " "$E/syslog"
tap_like "$(cat "$E/syslog")" \
    "pam_autoban\(dovecot:auth\): banned 203\.0\.113\.11 as 203\.0\.113\.11 for 1h after 6 failures" \
    "pam_syslog names the service: pam_autoban(dovecot:auth): banned ..."
env_wait 1 imap_dropped 203.0.113.11
tap_ok $? "the kernel drops its IMAP connections within 1 s"
tap_ok "$(dropped 203.0.113.11; echo $?)" \
    "and its SSH connections: a ban holds for every service"
tap_is "$(imap 203.0.113.21 "$E_PASS")" "logged-in 1" \
    "the real user still logs in over IMAP from another source"

# --- hydra over IMAP --------------------------------------------------------------
# Once the kernel drops its source, hydra's connections only time out:
# its run is cut after 15 s (its guesses take one or two).
hydra_words 31
ip netns exec "$NS_hyd" env -C "$E" timeout 15 hydra -I -w 5 -l "$E_USER" \
    -P "$E/passwords.txt" -t 4 "imap://$E_SERVER4" >"$E/hydra-imap.log" 2>&1
tap_is "$(checked_imap 203.0.113.200)" 6 \
    "hydra -t 4 over IMAP with 31 passwords: exactly 6 reached the password check"
# hydra's IMAP module takes a LOGIN that never gets an answer (its
# connection dropped by the kernel meanwhile) for a hit: what counts is
# that the real password never came up and Dovecot let no one in.
tap_is "$(grep -cF "password: $E_PASS" "$E/hydra-imap.log")" 0 \
    "hydra never found the password (the last one)"
tap_is "$(grep -c 'Login: user=<tester>.*rip=203\.0\.113\.200,' "$E/dovecot.log")" 0 \
    "and Dovecot logged no login from its source"
tap_ok "$(ip netns exec "$NS_hyd" python3 -c '
import socket, sys
s = socket.socket(); s.settimeout(1)
try:
    s.connect(("192.0.2.1", 143)); sys.exit(1)
except OSError:
    sys.exit(0)'; echo $?)" "and the kernel now drops hydra's source"

# --- failures add up across services ----------------------------------------------
tap_is "$(imap 203.0.113.13 a b)" "denied 2" "two failed IMAP logins from 203.0.113.13"
login 203.0.113.13 x
login 203.0.113.13 y
tap_is "$(checked_imap 203.0.113.13):$(checked 203.0.113.13)" "2:2" \
    "then two failed SSH logins: 2 + 2 passwords checked"
tap_fails "the next SSH login is refused (4 failures, sshd's maxretry), even with the right password" \
    login 203.0.113.13 "$E_PASS"
tap_is "$(checked 203.0.113.13)" 2 "without checking its password"
env_wait 1 imap_dropped 203.0.113.13
tap_ok $? "and IMAP from it is dropped too"
tap_like "$(bh list)" "203\.0\.113\.13 .*sshd" \
    "banhelper list: the ban names the service whose failure made it (sshd)"

# --- banhelper status per service ---------------------------------------------------
st=$(bh status)
tap_like "$st" "dovecot +currently failed [0-9]+, total failed 1[4-9], currently banned 2, total banned 2" \
    "banhelper status: Dovecot's figures (failures of 3 hosts, 2 bans)"
tap_like "$st" "sshd +currently failed [0-9]+, total failed [2-9], currently banned 1, total banned 1" \
    "and sshd's"
st=$(bh status dovecot)
tap_like "$st" "Banned IP list:.*203\.0\.113\.11" \
    "banhelper status dovecot lists its banned sources, as fail2ban-client status JAIL"
tap_like "$st" "Banned IP list:.*203\.0\.113\.200" "hydra's source among them"
tap_is "$(bh status dovecot --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(d["service"], d["currently_banned"], d["total_banned"])')" "dovecot 2 2" \
    "banhelper status dovecot --json"

# --- earned trust: a key login, then a brute force from the same address -------
tap_like "$(grep -m1 '^account' "$E/etc/pam.d/sshd")" \
    "^account optional .*pam_autoban.so conf=" \
    "sshd's stack has the account line on top of its account section"
keylogin 203.0.113.25
tap_is "$?" 0 "the real user logs in with his key from 203.0.113.25"
tap_like "$(bh status)" "trusted:   203\.0\.113\.25 $E_USER \(logged in" \
    "the account line recorded it: status lists the trusted pair"
for i in 1 2 3 4; do
	E_LOGIN=nosuch login 203.0.113.25 "guess$i"
done
tap_is "$(checked 203.0.113.25)" 4 \
    "another user's guesses from there count as usual: 4 checked"
E_LOGIN=nosuch
tap_fails "his next guess from 203.0.113.25 is refused, and bans it" \
    login 203.0.113.25 guess5
unset E_LOGIN
tap_fails "while banned, even the trusted user's password is refused at PAM" \
    login 203.0.113.25 "$E_PASS"
tap_is "$(checked 203.0.113.25)" 4 "neither was checked"
tap_like "$(bh list)" "203\.0\.113\.25 +trusted +sshd +4 " \
    "the ban's origin is trusted (the address earned trust)"
sleep 1
tap_ok "$(port_open 203.0.113.25; echo $?)" \
    "the kernel does not drop the trusted address"
keylogin 203.0.113.25
tap_is "$?" 0 "so its owner's key login still gets through"
tap_is "$(bh list | grep -c '203\.0\.113\.25 ')" 0 "and it ends that ban"
login 203.0.113.25 "$E_PASS"
tap_is "$?" 0 "his password works from there again"

# --- a program without PAM: a web login form ----------------------------------------
tap_is "$(web 203.0.113.23 "$E_USER" "$E_WEBPASS")" 200 \
    "the web form lets the real user in (its own password, no PAM)"
for pw in a b c d; do
	r=$(web 203.0.113.16 "$E_USER" "$pw")
done
tap_is "$r" 403 "four wrong web passwords from 203.0.113.16: the fourth bans it (403)"
tap_is "$(checked_web 203.0.113.16)" 4 "each of the four was checked"
env_wait 1 dropped 203.0.113.16 "$E_SERVER4" 8080
tap_ok $? "the kernel drops its connections to the web form within 1 s"
tap_ok "$(dropped 203.0.113.16; echo $?)" "and to sshd: a ban holds for every service"
tap_is "$(checked_web 203.0.113.16)" 4 "no fifth password was checked"
tap_like "$(bh list)" "203\.0\.113\.16 +auto +weblogin +4 " \
    "banhelper list: the ban, made by the service weblogin"
tap_like "$(cat "$E/banhelper.log")" "report from uid $(id -u www-data): failure weblogin user tester: banned 203\.0\.113\.16" \
    "banhelper logs the report with the form's uid (www-data)"
# With the kernel's drop lifted, the form itself refuses the banned host
# before its password, by asking first (as behind a reverse proxy).
ip netns exec "$NS_srv" nft flush ruleset
tap_is "$(web 203.0.113.16 "$E_USER" "$E_WEBPASS")" 403 \
    "without the kernel's drop, the form refuses it on autoban's word, even with the right password"
tap_is "$(checked_web 203.0.113.16)" 4 "without checking that password"
tap_is "$(web 203.0.113.24 "$E_USER" "$E_WEBPASS")" 200 "the real user still gets in from elsewhere"
tap_done
