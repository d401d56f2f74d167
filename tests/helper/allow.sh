#!/bin/bash
# allow.sh - host names in ignoreip (a dynamic DNS name for the admin's
# home): banhelper resolves them, the module lets their addresses in
# without DNS, a changed address is followed, a ban on the new address is
# lifted, a name that stops resolving keeps its last addresses for
# resolve_keep.  Names resolve through a private /etc/hosts.
set -u
if [ -z "${AB_ALLOW_NS:-}" ]; then
	exec env AB_ALLOW_NS=1 unshare --mount --propagation private \
	    bash "$0" "$@"
fi
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/netns.sh"

# The name lives in our copy of /etc/hosts (rewritten in place: the bind
# mount keeps the file); DNS, should glibc ask it, is a closed local port.
cp /etc/hosts "$AB_DIR/hosts"
echo "203.0.113.77 home.example.test" >>"$AB_DIR/hosts"
printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >"$AB_DIR/resolv.conf"
mount --bind "$AB_DIR/hosts" /etc/hosts
mount --bind "$AB_DIR/resolv.conf" /etc/resolv.conf
home_is() {	# home_is ADDR|-: the name resolves to ADDR, or not at all
	{
		grep -v 'home\.example\.test' /etc/hosts
		[ "$1" != - ] && echo "$1 home.example.test"
	} >"$AB_DIR/hosts.new"
	cat "$AB_DIR/hosts.new" >"$AB_DIR/hosts"
}

C=$AB_DIR/ab.conf
conf_write "$C" "maxretry = 3" "bantime = 1h" "sync_interval = 1s" \
    "ignoreip = 192.0.2.0/24, home.example.test" "resolve_interval = 1s" \
    "resolve_keep = 3s"
ns_new alw
N="ip netns exec $NS"
bh() { $N "$BH" -c "$C" "$@"; }
pam_svc "$C"
counted() {	# counted ADDR: failures banhelper list --all shows for it
	bh list --all | awk -v a="$1" '$1 == a && NF == 5 {print $2}'
}
tap_like "$(bh check 2>&1)" "no errors" \
    "ignoreip takes a host name beside addresses"

# --- the module never resolves --------------------------------------------------
attack 203.0.113.77 2
tap_is "$(counted 203.0.113.77)" 2 \
    "before banhelper resolved the name, its address is counted (the module does no DNS)"
bh unban 203.0.113.77 >/dev/null

# --- resolved by the daemon ---------------------------------------------------------
daemon_start "$NS" "$C"
wait_for 5 sh -c "$N $BH -c $C status | grep -q 'allowlist: home.example.test 203.0.113.77 (resolved'"
tap_ok $? "status shows the name as the daemon resolved it"
out=$("$AB_BUILD/tests/pamdrive" -c "$AB_DIR/pam.d" -s svc -r 203.0.113.77 -n 6)
tap_like "$out" "auth_err=6 maxtries=0" "six failures from its address: none refused"
tap_is "$(counted 203.0.113.77)" "" "and none counted"
run() { OUT=$("$@" 2>&1); RC=$?; }
run bh ban 203.0.113.77
tap_like "$RC:$OUT" "^1:.*203\.0\.113\.77: address is loopback or in ignoreip: not banned" \
    "banhelper ban refuses it without --force"

# --- the address changes ---------------------------------------------------------------
bh ban 203.0.113.78 >/dev/null
wait_for 2 has_elem "$NS" v4 203.0.113.78
tap_ok $? "a stranger's address 203.0.113.78 is banned and dropped"
home_is 203.0.113.78
wait_for 5 sh -c "$N $BH -c $C status | grep -q 'allowlist: home.example.test 203.0.113.78 '"
tap_ok $? "the home address moves to 203.0.113.78: followed within resolve_interval"
wait_for 3 no_elem "$NS" v4 203.0.113.78
tap_ok $? "the ban on the new home address is lifted, in the kernel too"
tap_like "$(cat "$AB_DIR/daemon.log")" "ignoreip home\.example\.test now resolves to 203\.0\.113\.78, which was banned as 203\.0\.113\.78: ban lifted" \
    "and the daemon says so"
attack 203.0.113.78 4
tap_is "$(counted 203.0.113.78)" "" "failures from the new address are not counted"
attack 203.0.113.77 1
tap_is "$(counted 203.0.113.77)" 1 "the old address is counted again"

# --- the name stops resolving ------------------------------------------------------------
home_is -
wait_for 5 grep -q "ignoreip home.example.test does not resolve" "$AB_DIR/daemon.log"
tap_ok $? "a name that stops resolving is logged"
attack 203.0.113.78 1
tap_is "$(counted 203.0.113.78)" "" "its last address stays allowed for resolve_keep"
sleep 5		# resolve_interval + resolve_keep = 4 s after the last success
attack 203.0.113.78 1
tap_is "$(counted 203.0.113.78)" 1 "after resolve_keep it is counted again"
tap_like "$(bh status)" "home\.example\.test 203\.0\.113\.78 \(resolved [0-9]+s ago; too long ago: no longer allowed\)" \
    "status says it is no longer allowed"
tap_is "$(bh status --json | python3 -c '
import json, sys
a = json.load(sys.stdin)["allowlist"]
n = a["names"][0]
print(a["addresses"], n["name"], n["addresses"], n["allowed"])')" \
    "1 home.example.test ['203.0.113.78'] False" "status --json: the allowlist"
home_is 203.0.113.78
wait_for 5 sh -c "$N $BH -c $C status | grep -q 'home.example.test 203.0.113.78 (resolved [0-9]*s ago)\$'"
tap_ok $? "when it resolves again, it is allowed again"
tap_like "$(cat "$AB_DIR/daemon.log")" "ignoreip home\.example\.test resolves again" \
    "and the daemon says so"
tap_done
