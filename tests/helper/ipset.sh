#!/bin/bash
# ipset.sh - the second backend: ipset sets matched by iptables/ip6tables,
# for hosts without nftables.  Everything happens in a namespace made here.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/netns.sh"

C=$AB_DIR/ab.conf
conf_write "$C" "backend = ipset" "maxretry = 3" "sync_interval = 60s" \
    "ports = 22"
ns_new ipset
N="ip netns exec $NS"
bh() { $N "$BH" -c "$C" "$@"; }
members() {	# members SET: "addr timeout" lines
	$N ipset save "$1" 2>/dev/null | awk '$1 == "add" {print $3, $5}'
}
has() { members "$1" | awk '{print $1}' | grep -qxF -- "$2"; }
hasnt() { ! has "$@"; }

out=$(bh ban 203.0.113.7 --for 1h)
tap_is "$?:$out" "0:banned 203.0.113.7 for 1h" "ban with the ipset backend"
t=$(members autoban4 | awk '$1 == "203.0.113.7" {print $2}')
tap_ok $(( t >= 3590 && t <= 3600 ? 0 : 1 )) \
    "the entry carries the ban's time left as its timeout ($t s)"
tap_like "$($N iptables -S AUTOBAN)" \
    "-A AUTOBAN -p tcp -m set --match-set autoban4 src -m multiport --dports 22 -j DROP" \
    "iptables drops the set's sources on the configured port"
tap_like "$($N iptables -S INPUT)" "-A INPUT -j AUTOBAN" "INPUT jumps to AUTOBAN"
tap_like "$($N ip6tables -S AUTOBAN)" "match-set autoban6 src" \
    "ip6tables has the IPv6 rule"
bh ban 2001:db8:5::1 >/dev/null
tap_ok "$(has autoban6 2001:db8:5::/64; echo $?)" "IPv6 bans go in as /64"
# Nested prefixes go in as they are: hash:net matches either.
bh ban 198.51.100.0/24 --for 1h >/dev/null
bh ban 198.51.100.128/25 --for 3h >/dev/null
tap_is "$(members autoban4net | awk '{print $1}' | sort | tr '\n' ' ')" \
    "198.51.100.0/24 198.51.100.128/25 " "nested prefix bans, each with its own timeout"
tap_like "$(bh status)" "in sync with the store \(4 elements\)" "status: in sync"

tap_is "$(bh unban 203.0.113.7)" "unbanned 203.0.113.7" "unban"
tap_ok "$(hasnt autoban4 203.0.113.7; echo $?)" "unban removes the entry at once"

$N ipset flush autoban4net
tap_like "$(bh status)" "OUT OF SYNC: 2 missing" "status sees entries removed behind its back"
tap_like "$(bh sync)" "^synced 3 bans into ipset" "sync restores them"
tap_ok "$(has autoban4net 198.51.100.128/25; echo $?)" "the /25 is back"
tap_is "$($N iptables -S INPUT | grep -c AUTOBAN)" 1 \
    "sync does not add a second jump from INPUT"

# The daemon: iptables' set match needs CAP_NET_RAW as well, and its
# ipset/iptables children inherit both; nothing else.
mkdir -p "$AB_DIR/pam.d"
printf 'auth requisite %s conf=%s\nauth required pam_deny.so\n' \
    "$AB_BUILD/pam_autoban.so" "$C" >"$AB_DIR/pam.d/svc"
daemon_start "$NS" "$C"
st=$(cat /proc/$DAEMON_PID/status)
tap_like "$st" $'CapEff:\t0000000000003000' "daemon: effective = CAP_NET_ADMIN, CAP_NET_RAW"
tap_like "$st" $'CapPrm:\t0000000000003000' "daemon: permitted = CAP_NET_ADMIN, CAP_NET_RAW"
tap_like "$st" $'CapInh:\t0000000000003000' "daemon: inheritable = the same (for ipset, iptables)"
tap_like "$st" $'CapBnd:\t0000000000000000' "daemon: bounding set empty"
"$AB_BUILD/tests/pamdrive" -c "$AB_DIR/pam.d" -s svc -r 192.0.2.200 -n 4 >/dev/null
wait_for 2 has autoban4 192.0.2.200
tap_ok $? "a module ban reaches the ipset set through the daemon"
$N ipset destroy autoban4 2>/dev/null || { $N iptables -F AUTOBAN; $N ipset destroy autoban4; }
kill -HUP "$DAEMON_PID"
wait_for 5 has autoban4 192.0.2.200
tap_ok $? "after the set is destroyed, the daemon restores it"
daemon_stop
tap_is "$DAEMON_RC" 0 "the daemon stops cleanly"
tap_done
