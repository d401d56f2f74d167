#!/bin/bash
# report.sh - programs without PAM: banhelper report on the command line,
# and the daemon's report socket (who may use it, replies, the rate limit,
# bad lines, a ban that reaches the kernel at once).
set -u
# Users of our own for the socket's permission checks, visible only in a
# private mount namespace of this suite (copies of /etc/passwd and
# /etc/group bind-mounted over them).
if [ -z "${AB_REPORT_NS:-}" ]; then
	exec env AB_REPORT_NS=1 unshare --mount --propagation private \
	    bash "$0" "$@"
fi
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/netns.sh"

# abweb: in group abreport as a supplementary group only (the check must
# look past the primary group); abother: in no such group.
id_free() {	# id_free N: a uid and gid number nobody uses, from N down
	local n=$1
	while getent passwd "$n" >/dev/null || getent group "$n" >/dev/null; do
		n=$((n - 1))
	done
	echo "$n"
}
gr=$(id_free 64900)
cp /etc/passwd "$AB_DIR/passwd"
cp /etc/group "$AB_DIR/group"
echo "abreport:x:$gr:abweb" >>"$AB_DIR/group"
wg=$(id_free $((gr - 1)))
echo "abweb:x:$wg:" >>"$AB_DIR/group"
echo "abweb:x:$wg:$wg::/nonexistent:/usr/sbin/nologin" >>"$AB_DIR/passwd"
og=$(id_free $((wg - 1)))
echo "abother:x:$og:" >>"$AB_DIR/group"
echo "abother:x:$og:$og::/nonexistent:/usr/sbin/nologin" >>"$AB_DIR/passwd"
mount --bind "$AB_DIR/passwd" /etc/passwd
mount --bind "$AB_DIR/group" /etc/group
chmod 0711 "$AB_DIR"

C=$AB_DIR/ab.conf
# sync_interval 60 s: a ban in the kernel within a second came through the
# report, not the periodic pass.
conf_write "$C" "maxretry = 3" "bantime = 1h" "sync_interval = 60s" \
    "ignoreip = 198.51.100.0/24" "report_group = abreport" "report_rate = 5"
ns_new rep
N="ip netns exec $NS"
bh() { $N "$BH" -c "$C" "$@"; }
run() { OUT=$("$@" 2>&1); RC=$?; }
# snapshot: the store's bans and counts as list --all --json shows them,
# less the seconds left, which move on by themselves.
snapshot() { bh list --all --json | grep -v '"left"'; }
SOCK=$AB_DIR/run/report.sock

# send AS LINE...: one connection to the socket as user AS (root: as we
# are), one line each; prints each reply line, or "closed".
send() {
	local as=$1
	shift
	local pre=()
	[ "$as" != root ] && pre=(setpriv --reuid="$as" --regid="$as" --init-groups)
	"${pre[@]}" /usr/bin/python3 - "$SOCK" "$@" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
try:
    s.connect(sys.argv[1])
except OSError as e:
    print("cannot connect: %s" % e.strerror)
    sys.exit(0)
f = s.makefile("rb")
for line in sys.argv[2:]:
    try:
        s.sendall(line.encode("utf-8", "surrogateescape") + b"\n")
    except OSError:
        pass    # refused at once: its reply may still be there to read
    try:
        r = f.readline()
    except OSError:
        r = b""
    if not r:
        print("closed")
        break
    print(r.decode().rstrip("\n"))
EOF
}

# --- the command line --------------------------------------------------------------
run bh report --service wordpress --user admin 203.0.113.5
tap_is "$RC:$OUT" "0:counted 203.0.113.5: 1 of 3 failures in findtime" \
    "report: one failure counted, with the count so far"
run bh report --service wordpress 203.0.113.5
run bh report --service wordpress 203.0.113.5
tap_is "$RC:$OUT" "0:banned 203.0.113.5 as 203.0.113.5 for 1h after 3 failures" \
    "the third in findtime bans it"
run bh report --service wordpress 203.0.113.5
tap_like "$RC:$OUT" "^3:refused 203\.0\.113\.5 is banned as 203\.0\.113\.5 \(auto\), (1h|59m[0-9]+s) left: not counted$" \
    "a banned host is refused, not counted (exit 3)"
tap_like "$(bh list)" "203\.0\.113\.5 +auto +wordpress +3 " \
    "the ban is in the store with its service"
tap_like "$(bh status wordpress)" "Total failed:	3" \
    "status wordpress: its failures"
run bh report --service wordpress 127.0.0.1
tap_is "$RC:$OUT" "3:refused 127.0.0.1 is loopback: never counted or banned" \
    "loopback is refused"
run bh report --service wordpress 198.51.100.9
tap_is "$RC:$OUT" "3:refused 198.51.100.9 is in ignoreip: never counted or banned" \
    "an ignoreip address is refused"
run bh report --service wordpress --success 203.0.113.6
tap_is "$RC:$OUT" "0:counted success of 203.0.113.6" "--success records a good login"
before=$(snapshot)
run bh report 203.0.113.7
tap_is "$RC:$OUT" "2:banhelper: report: --service NAME is required (see banhelper report --help)" \
    "no --service: usage error"
run bh report --service 'a/b' 203.0.113.7
tap_is "$RC:$OUT" '2:banhelper: report: service name "a/b": only letters, digits and . - _ + may be used' \
    "a bad service name is named"
run bh report --service wp 203.0.113.300
tap_is "$RC:$OUT" '2:banhelper: report: "203.0.113.300" is not an IPv4 or IPv6 address' \
    "a bad address is named"
run bh report --service wp 203.0.113.0/24
tap_is "$RC" 2 "a prefix is not an address"
run bh report --service wp --user $'x\ny' 203.0.113.7
tap_like "$RC:$OUT" "^2:banhelper: report: control character \(0x0a\)" \
    "a user name with a newline is refused"
run bh report --service wp 203.0.113.7 203.0.113.8
tap_is "$RC" 2 "two addresses: usage error"
tap_is "$(snapshot)" "$before" "none of the bad reports changed anything"
run setpriv --reuid=abother --regid=abother --clear-groups "$BH" -c "$C" \
    report --service wp 203.0.113.7
tap_like "$RC:$OUT" "^4:banhelper: report: must be run as root; other programs send the line to the daemon's socket" \
    "as another user the command refuses, pointing to the socket"

# --- the socket ------------------------------------------------------------------------
daemon_start "$NS" "$C"
tap_ok "$(test -S "$SOCK"; echo $?)" "the daemon listens on runtime_dir/report.sock"
tap_is "$(stat -c '%a %U %G' "$SOCK")" "660 root abreport" \
    "the socket: 0660, group report_group"
tap_is "$(stat -c '%a' "$AB_DIR/run")" 711 \
    "runtime_dir can be crossed, not listed, by others (0711)"
tap_is "$(send root "fail webmail 203.0.113.20 bob")" \
    "counted 203.0.113.20: 1 of 3 failures in findtime" "root reports through the socket"
tap_is "$(send abweb "fail webmail 203.0.113.20 bob" "fail webmail 203.0.113.20 bob")" \
    "counted 203.0.113.20: 2 of 3 failures in findtime
banned 203.0.113.20 as 203.0.113.20 for 1h after 3 failures" \
    "a member of report_group (supplementary) reports; the third failure bans"
wait_for 1 has_elem "$NS" v4 203.0.113.20
tap_ok $? "that ban is in the kernel within 1 s (sync_interval is 60 s)"
tap_like "$(send abweb "check webmail 203.0.113.20" "check webmail 203.0.113.22")" \
    "^refused 203\.0\.113\.20 is banned as 203\.0\.113\.20 \(auto\), (1h|59m[0-9]+s) left
clear 203\.0\.113\.22 is not banned$" \
    "check: before a password, whether the host is banned (for a program behind a proxy)"
tap_is "$(bh list --all | grep -c '203\.0\.113\.22 ')" 0 "a check counts nothing"
tap_is "$(send abother "fail webmail 203.0.113.21")" "cannot connect: Permission denied" \
    "a user outside the group cannot even connect (socket 0660)"
# With the file's permissions out of the way, the credentials still decide.
chmod 0666 "$SOCK"
tap_is "$(send abother "fail webmail 203.0.113.21")" \
    "refused not root nor a member of report_group" \
    "and with the socket opened to all, SO_PEERCRED still refuses him"
chmod 0660 "$SOCK"
tap_like "$(cat "$AB_DIR/daemon.log")" "report socket: uid [0-9]+ \(pid [0-9]+\) refused: not root nor in group abreport" \
    "the refusal is logged with his uid"
tap_is "$(bh list --all | grep -c 203.0.113.21)" 0 "and nothing of his was counted"

# Bad lines: a reply naming what, nothing changed, the connection goes on.
# (A new second first: the reports above count against report_rate.)
sleep 1.1
before=$(snapshot)
out=$(send abweb "ban 203.0.113.30" "fail web 203.0.113.999" "fail" \
    "fail web 203.0.113.30 $(printf 'u%.0s' $(seq 70))" "fail we/b 203.0.113.30" \
    "fail web 127.0.0.1" "fail web 198.51.100.4")
tap_is "$out" 'error unknown report "ban": expected fail, success or check: nothing changed
error "203.0.113.999" is not an IPv4 or IPv6 address: nothing changed
error no service name: nothing changed
error user name "uuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuu" is too long (at most 64 bytes): nothing changed
error service name "we/b": only letters, digits and . - _ + may be used: nothing changed
refused 127.0.0.1 is loopback: never counted or banned
refused 198.51.100.4 is in ignoreip: never counted or banned' \
    "bad lines get an error naming the fault; loopback and ignoreip are refused"
tap_is "$(snapshot)" "$before" "and none of them changed anything"
out=$(send abweb "fail web 203.0.113.31 $(printf 'x%.0s' $(seq 600))" "fail web 203.0.113.31")
tap_is "$out" "error line longer than 512 bytes: nothing changed
closed" "a line over 512 bytes: an error, and the connection is closed"
out=$(send abweb "fail web 203.0.113.32 "$'\x1b[31m'"red")
tap_is "$out" "error control character (0x1b) at byte 23: nothing changed" \
    "a control character in a line is refused"

# The rate limit: report_rate = 5 a second per uid.
# Twelve reports at once span at most two seconds, so at least two are
# over the limit wherever a second begins.
lines=()
for i in $(seq 40 50); do
	lines+=("success web 203.0.113.$i")
done
out=$(send abweb "${lines[@]}" "fail web 203.0.113.46")
tap_like "$(echo "$out" | grep -c '^refused rate limit: at most 5 reports a second from uid')" \
    "^([2-9]|1[0-2])$" "past report_rate in a second, reports are refused with the limit named"
tap_is "$(bh list --all | grep -c '203\.0\.113\.46 ')" \
    "$(echo "$out" | tail -1 | grep -c '^counted')" \
    "a refused report was not counted"
sleep 1.1
tap_is "$(send abweb "fail web 203.0.113.47")" \
    "counted 203.0.113.47: 1 of 3 failures in findtime" "the next second, reports count again"
tap_like "$(cat "$AB_DIR/daemon.log")" "report from uid [0-9]+: failure webmail user bob: banned 203\.0\.113\.20" \
    "the daemon logs each report with the peer's uid"

# An escaped user name in the log: the daemon's log cannot be forged.
send abweb "fail web 203.0.113.48 a\\b" >/dev/null
tap_like "$(cat "$AB_DIR/daemon.log")" 'user a\\\\b: counted 203\.0\.113\.48' \
    "a backslash in a user name is logged escaped"
daemon_stop
tap_fails "the socket is removed when the daemon stops" test -e "$SOCK"
tap_done
