#!/bin/bash
# fleet.sh - bans shared through Redis: one redis-server in a namespace of
# its own, servers A, B, C (and D, joining late) each in theirs with their
# own store, daemon and nftables table; the module's bans come from pamdrive
# through each server's own PAM stack.  Asserted in the kernels of the other
# servers: an auto ban and a manual ban reach every one, an unban lifts
# everywhere, a stopped server catches up, Redis restarted loses nothing,
# a server joining late gets the current set, forged or hostile events and
# allowlisted addresses change nothing, fleet_accept and fleet_rate hold,
# a wrong password is said, and nothing is published twice.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/netns.sh"

PW=fleet-secret-$$
RD=$AB_DIR/redis
mkdir -p "$RD"
chmod 0700 "$RD"
RNS="ab$$-red"
ip netns add "$RNS" && AB_NAMESPACES+=("$RNS")
ip -n "$RNS" link set lo up
ip -n "$RNS" link add br0 type bridge
ip -n "$RNS" addr add 198.51.100.1/24 dev br0
ip -n "$RNS" link set br0 up

# server NAME N [CONF LINES]: namespace ab<pid>-NAME at 198.51.100.N on
# the bridge, its configuration in $AB_DIR/NAME/ab.conf, PAM service "svc".
declare -A SNS SPID
server() {
	local name=$1 n=$2 d=$AB_DIR/$1
	shift 2
	mkdir -p "$d/pam.d"
	ns_new "$name"
	SNS[$name]=$NS
	ip link add "v$$$name" type veth peer name "r$$$name"
	ip link set "v$$$name" netns "$NS"
	ip link set "r$$$name" netns "$RNS"
	ip -n "$RNS" link set "r$$$name" master br0 up
	ip -n "$NS" addr add "198.51.100.$n/24" dev "v$$$name"
	ip -n "$NS" link set "v$$$name" up
	conf_write "$d/ab.conf" "maxretry = 3" "bantime = 1h" \
	    "sync_interval = 1s" "realtime = no" \
	    "fleet = redis://198.51.100.1:6379" "fleet_name = $name" \
	    "fleet_password_file = $AB_DIR/fleet.pw" "$@"
	printf 'auth requisite %s conf=%s\nauth required pam_deny.so\n' \
	    "$AB_BUILD/pam_autoban.so" "$d/ab.conf" >"$d/pam.d/svc"
}
start() {	# start NAME: its daemon
	local d=$AB_DIR/$1
	ip netns exec "${SNS[$1]}" "$BH" -c "$d/ab.conf" run \
	    >>"$d/daemon.log" 2>&1 &
	SPID[$1]=$!
	AB_PIDS+=("$!")
	wait_for 5 test -S "$d/run/wake.sock"
}
stop() {
	kill "${SPID[$1]}" 2>/dev/null
	wait "${SPID[$1]}" 2>/dev/null
}
bhs() {		# bhs NAME ARGS: banhelper on server NAME
	local s=$1
	shift
	ip netns exec "${SNS[$s]}" "$BH" -c "$AB_DIR/$s/ab.conf" "$@"
}
attack_on() {	# attack_on NAME RHOST N
	"$AB_BUILD/tests/pamdrive" -c "$AB_DIR/$1/pam.d" -s svc -r "$2" \
	    -n "$3" >/dev/null
}
# Kernel checks (tests/lib/fleet.sh), and waits bounded by the clock.
ns_of() { echo "${SNS[$1]}"; }
. "$here/../lib/fleet.sh"
wait_for() {	# wait_for SECONDS CMD...: bounded by time, not by tries
	local end=$((${EPOCHREALTIME/./} + $1 * 1000000))
	shift
	while [ "${EPOCHREALTIME/./}" -lt "$end" ]; do
		"$@" 2>/dev/null && return 0
		sleep 0.02
	done
	"$@" 2>/dev/null
}
rcli() { ip netns exec "$RNS" redis-cli -h 198.51.100.1 -a "$PW" \
    --no-auth-warning "$@"; }
REDIS_PID=
redis_start() {
	ip netns exec "$RNS" redis-server --bind 198.51.100.1 --port 6379 \
	    --requirepass "$PW" --dir "$RD" --appendonly yes --save '' \
	    --protected-mode no --daemonize no --logfile "$RD/redis.log" &
	REDIS_PID=$!
	AB_PIDS+=("$REDIS_PID")
	wait_for 5 sh -c "ip netns exec $RNS redis-cli -h 198.51.100.1 -a $PW --no-auth-warning ping 2>/dev/null | grep -q PONG"
}
redis_stop() {
	kill "$REDIS_PID" 2>/dev/null
	wait "$REDIS_PID" 2>/dev/null
}

printf '%s\n' "$PW" >"$AB_DIR/fleet.pw"
chmod 0600 "$AB_DIR/fleet.pw"
redis_start
tap_ok $? "redis-server is up in its own namespace, with a password"
server A 11
server B 12
server C 13 "ignoreip = 203.0.113.66"
tap_like "$(bhs A check 2>&1)" "no errors" \
    "fleet, fleet_name and fleet_password_file are accepted"
start A
start B
start C
wait_for 5 sh -c "ip netns exec ${SNS[C]} $BH -c $AB_DIR/C/ab.conf status | grep -q 'fleet:     C on redis://198.51.100.1:6379: connected'"
tap_ok $? "banhelper status shows the fleet link connected"

# --- an auto ban on A reaches B and C -------------------------------------------
attack_on A 203.0.113.10 4
wait_for 3 everywhere 203.0.113.10 A B C
tap_ok $? "failures on A past maxretry: 203.0.113.10 is dropped by A's, B's and C's kernels"
tap_like "$(bhs B list | awk '$1 == "203.0.113.10"')" "auto .*svc .* A$" \
    "banhelper list on B shows the ban came from A (auto, service svc)"
tap_is "$(rcli XLEN autoban:events)" 1 \
    "one event in the stream: B and C did not publish it again"
tap_like "$(rcli GET autoban:ban:203.0.113.10)" "^v1 ban 203\.0\.113\.10 [0-9]+ A A auto svc 3 failures$" \
    "the current set holds it, as a key of its own"
ttl=$(rcli TTL autoban:ban:203.0.113.10)
tap_ok "$([ "$ttl" -gt 3500 ] && [ "$ttl" -le 3600 ]; echo $?)" \
    "that key expires with the ban ($ttl s left)"

# --- a manual ban on B, an unban on C --------------------------------------------
bhs B ban 203.0.113.50 >/dev/null
wait_for 3 everywhere 203.0.113.50 A B C
tap_ok $? "a manual ban on B reaches A and C"
bhs C unban 203.0.113.50 >/dev/null
wait_for 3 nowhere 203.0.113.50 A B C
tap_ok $? "an unban on C lifts it everywhere, on B (whose ban it was) too"
tap_is "$(rcli EXISTS autoban:ban:203.0.113.50)" 0 \
    "and takes it out of the current set"
# The totals by origin in each server's metrics: a ban counts as made
# where it was made, as "fleet" where it was taken from another server.
totals() {	# totals NAME: bans made and lifted by origin, as its metrics say
	bhs "$1" stats --prometheus | awk '/^autoban_(un)?bans_total\{/ && $2 != 0 {
	    sub(/^autoban_/, ""); sub(/_total\{origin="/, ":"); sub(/"\}/, "");
	    printf "%s ", $0 }'
}
tap_is "$(totals B)" "bans:manual 1 bans:fleet 1 unbans:manual 1 " \
    "B's metrics: its own manual ban made and lifted, A's ban taken from the fleet"
tap_is "$(totals C)" "bans:fleet 2 unbans:fleet 1 " \
    "C's: both taken from the fleet, and the one it lifted"

# --- allowlisted here: never banned by the fleet -------------------------------
bhs A ban 203.0.113.66 >/dev/null
wait_for 3 everywhere 203.0.113.66 A B
tap_ok $? "a ban of 203.0.113.66 on A reaches B"
sleep 0.5
not_in_kernel C 203.0.113.66
tap_ok $? "but not C, where it is in ignoreip"
tap_like "$(cat "$AB_DIR/C/daemon.log")" "fleet: refused a ban of 203\.0\.113\.66 from A: in ignoreip" \
    "C says why"

# --- forged and hostile events ---------------------------------------------------------
until_s=$(($(date +%s) + 600))
rcli XADD autoban:events '*' e "v1 ban 0.0.0.0/0 $until_s X X manual - take all" >/dev/null
rcli XADD autoban:events '*' e "v1 ban 203.0.113.70/33 $until_s X X manual - bad" >/dev/null
rcli XADD autoban:events '*' e "v1 ban 127.0.0.1 $until_s X X manual - loopback" >/dev/null
rcli XADD autoban:events '*' e "$(printf 'v1 ban 203.0.113.71 %s X X auto \033[31m red' "$until_s")" >/dev/null
rcli XADD autoban:events '*' e "v1 ban 203.0.113.72 $((until_s + 400 * 86400)) X X manual - forever" >/dev/null
rcli XADD autoban:events '*' junk 1 >/dev/null
rcli XADD autoban:events '*' e "v1 ban 203.0.113.73 $until_s X X manual - fine" >/dev/null
wait_for 3 everywhere 203.0.113.73 A B C
tap_ok $? "a well-formed event after the forged ones still applies everywhere"
for s in A B C; do
	nft_elems "${SNS[$s]}" v4 | awk '{print $1}' >"$AB_DIR/$s.elems"
done
bad=$(cat "$AB_DIR"/[ABC].elems | grep -E '^(0\.0\.0\.0|127\.|203\.0\.113\.7[012])' | sort -u)
tap_is "$bad" "" "the forged ones (0.0.0.0/0, /33, loopback, control bytes, > a year) are in no kernel"
tap_like "$(cat "$AB_DIR/A/daemon.log")" 'refused a ban of 0\.0\.0\.0/0 from X: loopback' \
    "the 0.0.0.0/0 ban is refused"
tap_like "$(cat "$AB_DIR/A/daemon.log")" 'refused event [0-9-]+: bad line: "v1 ban 203\.0\.113\.71 [0-9]+ X X auto \\x1b\[31m red"' \
    "a line with a control byte is refused and logged escaped"
tap_like "$(cat "$AB_DIR/A/daemon.log")" 'refused a ban of 203\.0\.113\.72 from X: longer than a year' \
    "a ban longer than a year is refused"

# --- a server stopped meanwhile catches up --------------------------------------------
stop C
bhs A ban 203.0.113.80 >/dev/null
attack_on B 203.0.113.81 4
wait_for 3 everywhere 203.0.113.81 A B
start C
wait_for 5 everywhere 203.0.113.80 C
r1=$?
wait_for 2 everywhere 203.0.113.81 C
tap_ok $((r1 + $?)) "C, stopped while A and B banned, has both bans when back"
tap_is "$(grep -c 'taking the current set' "$AB_DIR/C/daemon.log")" 1 \
    "C followed the stream from where it stopped (the current set was taken once, when it first joined)"

# --- Redis down and back: nothing lost ---------------------------------------------------
redis_stop
bhs B ban 203.0.113.90 >/dev/null
wait_for 3 in_kernel B 203.0.113.90
tap_ok $? "with Redis down, B still bans locally"
wait_for 5 sh -c "ip netns exec ${SNS[B]} $BH -c $AB_DIR/B/ab.conf status | grep -q 'CUT OFF'"
tap_ok $? "and banhelper status on B says the link is cut off"
out=$("$AB_BUILD/tests/pamdrive" -c "$AB_DIR/A/pam.d" -s svc -r 203.0.113.91 -n 1)
tap_like "$out" "auth_err=1" "a login attempt on A is not held up by Redis down"
redis_start
wait_for 10 everywhere 203.0.113.90 A C
tap_ok $? "Redis back: the ban B made meanwhile reaches A and C"
tap_is "$(rcli EXISTS autoban:ban:203.0.113.10)" 1 \
    "and the current set kept what it held (append-only file)"

# --- a server joining late gets the current set -----------------------------------------
server D 14
start D
wait_for 5 everywhere 203.0.113.10 D
r1=$?
wait_for 2 everywhere 203.0.113.90 D
tap_ok $((r1 + $?)) "D, joining late, gets every ban still active"
not_in_kernel D 203.0.113.50
tap_ok $? "and not the one that was lifted"

# --- a stream trimmed past where a server stopped --------------------------------------
stop D
rcli XTRIM autoban:events MAXLEN 0 >/dev/null
bhs A ban 203.0.113.95 >/dev/null
wait_for 3 everywhere 203.0.113.95 A B C
start D
wait_for 5 everywhere 203.0.113.95 D
r1=$?
wait_for 2 everywhere 203.0.113.90 D
tap_ok $((r1 + $?)) "D, back after the stream lost where it stopped, rebuilds from the current set"
tap_like "$(cat "$AB_DIR/D/daemon.log")" "the stream no longer holds where this server stopped: taking the current set" \
    "and says why"

# --- no loops, no duplicates -------------------------------------------------------------
n0=$(rcli XLEN autoban:events)
sleep 2
tap_is "$(rcli XLEN autoban:events)" "$n0" "nothing is published again while all is quiet"

# --- fleet_accept and fleet_rate -----------------------------------------------------------
stop D
sed -i 's/^fleet_name = D$/fleet_name = D\nfleet_accept = auto\nfleet_rate = 5/' "$AB_DIR/D/ab.conf"
start D
bhs A ban 203.0.113.100 >/dev/null
attack_on A 203.0.113.101 4
wait_for 3 everywhere 203.0.113.101 D
tap_ok $? "fleet_accept = auto: D takes A's auto ban"
not_in_kernel D 203.0.113.100
tap_ok $? "but not its manual ban"
for i in $(seq 110 129); do
	attack_on B "203.0.113.$i" 4
done
wait_for 3 everywhere 203.0.113.129 A C
sleep 0.5
got=$(nft_elems "${SNS[D]}" v4 | awk '{print $1}' | grep -cE '^203\.0\.113\.(1[12][0-9])$')
tap_ok "$([ "$got" -ge 1 ] && [ "$got" -le 5 ]; echo $?)" "fleet_rate = 5: of 20 auto bans from B, D took 1 to 5 ($got)"
tap_like "$(cat "$AB_DIR/D/daemon.log")" "fleet: B sends more than fleet_rate \(5 a minute\)" "and says so"

# --- Redis restarted empty (a failover to a replica that lacked the data) ------------------------
redis_stop
rm -rf "$RD"/appendonlydir
redis_start
tap_like "$(cat "$RD/redis.log")" "Ready to accept connections" \
    "Redis comes back, without its append-only file"
wait_for 10 sh -c "[ \"\$(ip netns exec $RNS redis-cli -h 198.51.100.1 -a $PW --no-auth-warning EXISTS autoban:ban:203.0.113.10)\" = 1 ]"
tap_ok $? "A sends its own bans again: its auto ban of 203.0.113.10 is back in the current set"
wait_for 5 sh -c "[ \"\$(ip netns exec $RNS redis-cli -h 198.51.100.1 -a $PW --no-auth-warning EXISTS autoban:ban:203.0.113.90)\" = 1 ]"
tap_ok $? "and B its manual ban of 203.0.113.90"
tap_like "$(cat "$AB_DIR/A/daemon.log" "$AB_DIR/B/daemon.log")" "(Redis lost what this server had seen|the stream no longer holds where this server stopped): taking the current set" \
    "and the servers say what happened"

# --- an ACL user, as docs/fleet.md sets it up ------------------------------------------------------
rcli ACL SETUSER autoban on ">acl-$PW" '~autoban:*' +get +set +del +scan +xadd \
    +xread +xrange +xrevrange +multi +exec +ping >/dev/null
stop D
printf 'autoban acl-%s\n' "$PW" >"$AB_DIR/fleet.pw"
start D
wait_for 10 sh -c "ip netns exec ${SNS[D]} $BH -c $AB_DIR/D/ab.conf status | grep -q ': connected'"
tap_ok $? "D links as the ACL user of docs/fleet.md (USER PASSWORD in the file)"
attack_on D 203.0.113.140 4
wait_for 3 everywhere 203.0.113.140 A B C D
tap_ok $? "and its ban reaches A, B and C through it"

# --- a wrong password ------------------------------------------------------------------------
stop D
printf 'wrong\n' >"$AB_DIR/fleet.pw"
start D
wait_for 5 sh -c "ip netns exec ${SNS[D]} $BH -c $AB_DIR/D/ab.conf status | grep -q 'CUT OFF.*refused the password'"
tap_ok $? "a wrong password: status says Redis refused it"
chmod 0644 "$AB_DIR/fleet.pw"
stop D
start D
tap_like "$(cat "$AB_DIR/D/daemon.log")" "fleet_password_file .*: must be root's and readable by root only" \
    "a password file others can read is refused"
tap_done
