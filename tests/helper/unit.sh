#!/bin/bash
# unit.sh - the systemd unit's sandbox (conf/banhelper.service.in) is one the
# daemon really works in.  This machine's PID 1 may not be systemd, so the
# unit is checked with systemd's own tools, and its restrictions are applied
# by hand around a real daemon: every system call the daemon makes must be
# in the unit's filter, and with a read-only file system (but for its two
# directories) and the unit's bounding set it still bans, reloads and takes
# back a store directory made anew.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/netns.sh"

unit=$AB_DIR/banhelper.service
sed "s|@SBINDIR@|$AB_BUILD|g" "$AB_TOP/conf/banhelper.service.in" >"$unit"
key() { sed -n "s/^$1=//p" "$unit"; }

# --- the unit, as systemd reads it -------------------------------------------
out=$(systemd-analyze verify --man=false "$unit" 2>&1)
tap_is "$?" 0 "systemd-analyze verify accepts the unit" "$out"
sec=$(systemd-analyze security --offline=true --no-pager "$unit" 2>&1)
score=$(printf '%s\n' "$sec" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
tap_ok "$(awk -v s="${score:-99}" 'BEGIN { exit !(s <= 3.0) }'; echo $?)" \
    "systemd-analyze security: exposure ${score:-?} (at most 3.0)"
for k in "ProtectSystem=strict" "ProtectHome=yes" "PrivateTmp=yes" \
    "PrivateDevices=yes" "NoNewPrivileges=yes" "MemoryDenyWriteExecute=yes" \
    "LockPersonality=yes" "RestrictNamespaces=yes" "RestrictSUIDSGID=yes" \
    "SystemCallFilter=@system-service"; do
	tap_ok "$(grep -qxF "$k" "$unit"; echo $?)" "the unit sets $k"
done
tap_is "$(key RestrictAddressFamilies)" "AF_UNIX AF_NETLINK AF_INET AF_INET6" \
    "address families: unix, netlink, and inet for the ipset match"
bound=$(key CapabilityBoundingSet)

C=$AB_DIR/ab.conf
conf_write "$C" "maxretry = 2" "bantime = 1h" "sync_interval = 1s"
ns_new unit
N="ip netns exec $NS"
pam_svc "$C"

# --- every system call it makes is one the filter allows ----------------------
# The set @system-service stands for, with its nested groups expanded.
expand() {
	systemd-analyze syscall-filter --no-pager "$1" |
	    awk '/^ *#/ || NF == 0 { next } { print $1 }' | while read -r s; do
		case $s in
		@*) [ "$s" != "$1" ] && expand "$s" ;;
		*) echo "$s" ;;
		esac
	done
}
expand @system-service | sort -u >"$AB_DIR/allowed"
denied=$(for g in $(key SystemCallFilter | sed -n 's/^~//p'); do
	expand "$g"
done | sort -u)
$N strace -f -qq -o "$AB_DIR/strace" "$BH" -c "$C" run \
    >>"$AB_DIR/daemon.log" 2>&1 &
DAEMON_PID=$!
AB_PIDS+=("$DAEMON_PID")
wait_for 10 test -S "$AB_DIR/run/wake.sock"
attack 203.0.113.60 3
wait_for 5 has_elem "$NS" v4 203.0.113.60
tap_ok $? "under strace, a module ban reaches the kernel"
sleep 1.5	# a periodic pass, with its prune
pidof_daemon() { awk '{print $1; exit}' "$AB_DIR/run/banhelper.pid" 2>/dev/null; }
pid=$(pidof_daemon)
[ -n "$pid" ] && kill -HUP "$pid"
sleep 0.5
$N "$BH" -c "$C" unban 203.0.113.60 >/dev/null
sleep 0.5
[ -n "$pid" ] && kill "$pid"
wait_for 5 sh -c "! kill -0 $DAEMON_PID 2>/dev/null" || kill "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null
used=$(sed -nE 's/^[0-9]+ +([a-z0-9_]+)\(.*/\1/p' "$AB_DIR/strace" | sort -u)
tap_ok "$([ "$(printf '%s\n' "$used" | wc -l)" -gt 20 ]; echo $?)" \
    "the trace holds the daemon's calls ($(printf '%s\n' "$used" | wc -l) kinds)"
# execve is the strace's own start of the daemon.
outside=$(printf '%s\n' "$used" | grep -vxF -e execve | grep -vxFf "$AB_DIR/allowed")
tap_is "$outside" "" "every system call of the daemon is in @system-service"
hit=$(printf '%s\n' "$used" | grep -xF -f <(printf '%s\n' "$denied"))
tap_is "$hit" "" "... and none in the groups the unit takes out again"

# --- the unit's file system and bounding set, applied by hand ------------------
# A mount namespace in which every mount is read-only but the two
# directories (ProtectSystem=strict with the State/RuntimeDirectory), and
# the daemon started with the unit's bounding set and no_new_privs.
caps=$(printf '%s\n' $bound | tr 'A-Z' 'a-z' | sed 's/^cap_/+/' | paste -sd,)
cat >"$AB_DIR/sandbox.sh" <<EOF
set -e
mount --make-rprivate /
for d in "$AB_DIR/db" "$AB_DIR/run"; do mount --bind "\$d" "\$d"; done
findmnt -rno TARGET | while read -r m; do
	case "\$m" in
	/proc|/proc/*|/sys|/sys/*|/dev|/dev/*|"$AB_DIR/db"|"$AB_DIR/run") ;;
	*) mount -o remount,bind,ro "\$m" 2>/dev/null || true ;;
	esac
done
exec ip netns exec "$NS" \
    setpriv --bounding-set=-all,$caps --no-new-privs "$BH" -c "$C" run
EOF
unshare --mount --propagation private bash "$AB_DIR/sandbox.sh" \
    >>"$AB_DIR/daemon.log" 2>&1 &
DAEMON_PID=$!
AB_PIDS+=("$DAEMON_PID")
wait_for 10 test -S "$AB_DIR/run/wake.sock"
sleep 0.3
tap_ok "$(kill -0 "$DAEMON_PID" 2>/dev/null; echo $?)" \
    "in the sandbox the daemon starts (bounding set: $caps)" \
    "$(tail -5 "$AB_DIR/daemon.log")"
bpid=$(pidof_daemon)
tap_like "$(cat /proc/"${bpid:-0}"/status 2>/dev/null)" $'CapEff:\t0000000000001000' \
    "... and runs with CAP_NET_ADMIN alone"
tap_fails "... where / is read-only" \
    nsenter -t "${bpid:-0}" -m touch /var/tmp/autoban-unit-test
attack 203.0.113.61 3
wait_for 5 has_elem "$NS" v4 203.0.113.61
tap_ok $? "in the sandbox a module ban reaches the kernel"
kill -HUP "${bpid:-0}"
sleep 0.5
tap_ok "$(kill -0 "${bpid:-0}" 2>/dev/null; echo $?)" "... it reloads on SIGHUP"
# The store directory made anew by root (a reset): the helper takes it
# back, the daemon reopens it and applies what is in it.
rm -rf "$AB_DIR/db/"*
"$BH" -c "$C" ban 198.51.100.61 >/dev/null 2>&1
wait_for 5 has_elem "$NS" v4 198.51.100.61
tap_ok $? "... and a store emptied and refilled by root is applied"
tap_is "$(stat -c %U "$AB_DIR/db/bans.mdb")" _autoban \
    "... its file handed back to _autoban by the helper"
kill "${bpid:-0}" 2>/dev/null
wait_for 5 sh -c "! kill -0 $DAEMON_PID 2>/dev/null" || kill "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null
tap_done
