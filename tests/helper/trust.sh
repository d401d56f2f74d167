#!/bin/bash
# trust.sh - earned trust seen from the kernel: a prefix some user logged in
# from is banned at PAM only (origin trusted), never dropped, so that its
# owner's key login still gets through; other prefixes are dropped as ever.
# The PAM side (the pair's room, the account line, the off switch) is in
# tests/pam/test_pam.c.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/netns.sh"

C=$AB_DIR/ab.conf
conf_write "$C" "maxretry = 3" "bantime = 1h" "sync_interval = 1s"
ns_new tru
N="ip netns exec $NS"
bh() { $N "$BH" -c "$C" "$@"; }
mkdir -p "$AB_DIR/pam.d"
cat >"$AB_DIR/pam.d/svc" <<PAM
auth requisite $AB_BUILD/pam_autoban.so conf=$C
auth required $AB_BUILD/tests/pam_testpw.so password=secret count=$AB_DIR/count
account optional $AB_BUILD/pam_autoban.so conf=$C
account required pam_permit.so
PAM
pd() {	# pd USER PASSWORD RHOST N: N transactions, setcred after success
	"$AB_BUILD/tests/pamdrive" -c "$AB_DIR/pam.d" -s svc -u "$1" -p "$2" \
	    -r "$3" -n "$4" -S
}
daemon_start "$NS" "$C"

tap_like "$(pd alice secret 203.0.113.60 1)" "success=1" \
    "alice logs in from 203.0.113.60"
tap_like "$(bh status)" "trusted:   203\.0\.113\.60 alice \(logged in [0-9]+s ago\)" \
    "status lists the trust her login earned"
tap_like "$(pd bob wrong 203.0.113.60 4)" "auth_err=3 maxtries=1" \
    "bob from there: 3 failures, the 4th refused (other users count as usual)"
tap_like "$(bh list)" "203\.0\.113\.60 +trusted +svc +3 " \
    "the ban's origin is trusted: the prefix earned trust"
tap_like "$(pd bob wrong 203.0.113.61 4)" "auth_err=3 maxtries=1" \
    "from 203.0.113.61, where nobody logged in: the same"
wait_for 3 has_elem "$NS" v4 203.0.113.61
tap_ok $? "that ban is dropped in the kernel"
tap_ok "$(no_elem "$NS" v4 203.0.113.60; echo $?)" \
    "the trusted prefix's ban is not: a key login still reaches sshd"
sleep 1.2	# one sync_interval: the daemon must not put it back
tap_ok "$(no_elem "$NS" v4 203.0.113.60; echo $?)" "not after a full sync either"
tap_like "$(bh status)" "in sync with the store \(1 elements\)" \
    "and status counts it as in sync"
tap_is "$(bh status --json | python3 -c '
import json, sys
t = json.load(sys.stdin)["trusted"]
print(len(t), t[0]["prefix"], t[0]["user"])')" "1 203.0.113.60 alice" \
    "status --json: the trusted pairs"
tap_done
