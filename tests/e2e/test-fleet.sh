#!/bin/bash
# test-fleet.sh - three real servers sharing bans through one Redis: A is
# env.sh's server; B and C run the same distribution sshd, each in a
# namespace of its own with its own /etc copy (its PAM stack's autoban line
# reading its own configuration), store and banhelper; redis-server runs in
# a fourth namespace, with a password, on 198.51.100.1.  hydra attacks A:
# its source is then dropped by B's and C's kernels too, while the real
# user still logs in there.  A manual ban on B reaches A and C, an unban on
# C lifts it everywhere, Redis restarted loses nothing, and a forged event
# (an allowlisted address, a bad prefix) is refused by every server.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/env.sh"

E=$(mktemp -d "${AB_TMP:-/tmp}/fleet.XXXXXX")
on_exit() {
	if [ "$TAP_FAILED" -ne 0 ]; then
		for f in banhelper.log B/banhelper.log C/banhelper.log \
		    B/sshd.log redis/redis.log hydra.log; do
			echo "--- $f" >&2
			tail -n 15 "$E/$f" >&2 2>/dev/null
		done
	fi
	env_down
	rm -rf "$E"
}
trap on_exit EXIT
PW=e2e-fleet-$$
printf '%s\n' "$PW" >"$E/fleet.pw"
chmod 0600 "$E/fleet.pw"
FLEET=("fleet = redis://198.51.100.1:6379" "fleet_password_file = $E/fleet.pw"
    "ignoreip = 203.0.113.39")
export E_NODELAY=1
if ! env_up "$E" "maxretry = 4" "bantime = 1h" "sync_interval = 60s" \
    "fleet_name = A" "${FLEET[@]}"; then
	tap_ok 1 "the environment comes up" "$(tail -20 "$E"/*.log 2>/dev/null)"
	tap_done
	exit 1
fi

# --- Redis in its own namespace, on a bridge every server reaches ----------------------
env_ns red
ip -n "$NS_red" link add br0 type bridge
ip -n "$NS_red" addr add 198.51.100.1/24 dev br0
ip -n "$NS_red" link set br0 up
mkdir -p "$E/redis"
redis_start() {
	ip netns exec "$NS_red" redis-server --bind 198.51.100.1 --port 6379 \
	    --requirepass "$PW" --dir "$E/redis" --appendonly yes --save '' \
	    --protected-mode no --daemonize no --logfile "$E/redis/redis.log" &
	REDIS_PID=$!
	E_PIDS+=("$REDIS_PID")
	env_wait 5 rcli ping
}
rcli() { ip netns exec "$NS_red" redis-cli -h 198.51.100.1 -a "$PW" \
    --no-auth-warning "$@" 2>/dev/null; }
redis_start >/dev/null
# bridge NS N: NS joins the bridge as 198.51.100.N.
bridge() {
	ip link add "f$$-$2" netns "$1" type veth peer name "r$$-$2" \
	    netns "$NS_red"
	ip -n "$NS_red" link set "r$$-$2" master br0 up
	ip -n "$1" addr add "198.51.100.$2/24" dev "f$$-$2"
	ip -n "$1" link set "f$$-$2" up
}
bridge "$NS_srv" 11

# peer NAME N: server NAME at 192.0.2.N with sshd, the module, banhelper;
# hyd (the attacker) and cli (the real user and others) reach it directly.
declare -A PNS PBH
peer() {
	local name=$1 n=$2 d=$E/$1 ns
	mkdir -p "$d/db" "$d/run"
	chmod 0755 "$d"
	chmod 0700 "$d/db" "$d/run"
	env_ns "$name"
	ns=$(eval echo "\$NS_$name")
	PNS[$name]=$ns
	bridge "$ns" "$((10 + n))"
	ip -n "$ns" addr add "192.0.2.$n/32" dev lo
	ip link add "h$$-$name" netns "$NS_hyd" type veth peer name "s-hyd" \
	    netns "$ns"
	ip -n "$NS_hyd" link set "h$$-$name" up
	ip -n "$NS_hyd" route add "192.0.2.$n/32" dev "h$$-$name"
	ip -n "$ns" link set s-hyd up
	ip -n "$ns" route add 203.0.113.200/32 dev s-hyd
	ip link add "c$$-$name" netns "$NS_cli" type veth peer name "s-cli" \
	    netns "$ns"
	ip -n "$NS_cli" link set "c$$-$name" up
	ip -n "$NS_cli" route add "192.0.2.$n/32" dev "c$$-$name"
	ip -n "$ns" link set s-cli up
	ip -n "$ns" route add 203.0.113.0/25 dev s-cli
	{
		echo "db = $d/db"
		echo "runtime_dir = $d/run"
		printf '%s\n' "maxretry = 4" "bantime = 1h" "sync_interval = 60s" \
		    "fleet_name = $name" "${FLEET[@]}"
	} >"$d/autoban.conf"
	chmod 0644 "$d/autoban.conf"
	cp -a "$E/etc" "$d/etc"
	sed -i "s|conf=$E/autoban.conf|conf=$d/autoban.conf|" \
	    "$d/etc/pam.d/sshd"
	sed -e "s|^ListenAddress .*||" -e "s|^PidFile .*|PidFile $d/sshd.pid|" \
	    "$E/sshd_config" >"$d/sshd_config"
	echo "ListenAddress 192.0.2.$n" >>"$d/sshd_config"
	cat >"$d/run-sshd.sh" <<EOF
#!/bin/bash
set -e
mount --bind "$d/etc" /etc
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -m 0755 /run/sshd
. "$E_TOP/tests/lib/devlog.sh"
devlog_mount "$d/syslog"
echo "\$DEVLOG_SINK" >"$d/sink.pid"
exec /usr/sbin/sshd -D -e -f "$d/sshd_config"
EOF
	chmod 0755 "$d/run-sshd.sh"
	ip netns exec "$ns" unshare --mount --propagation private \
	    "$d/run-sshd.sh" >>"$d/sshd.log" 2>&1 &
	E_PIDS+=("$!")
	ip netns exec "$ns" "$E_BH" -c "$d/autoban.conf" run \
	    >>"$d/banhelper.log" 2>&1 &
	PBH[$name]=$!
	E_PIDS+=("$!")
}
peer B 2
peer C 3
bhp() {		# bhp NAME ARGS: banhelper on server NAME
	local s=$1
	shift
	if [ "$s" = A ]; then
		bh "$@"
	else
		ip netns exec "${PNS[$s]}" "$E_BH" -c "$E/$s/autoban.conf" "$@"
	fi
}
ns_of() { [ "$1" = A ] && echo "$NS_srv" || echo "${PNS[$1]}"; }
. "$E_TOP/tests/lib/fleet.sh"
# reach NS SRC DST: a TCP connection from SRC in NS to DST:22 completes.
reach() {
	ip netns exec "$1" python3 - "$2" "$3" <<'EOF'
import socket, sys
s = socket.socket()
s.settimeout(1)
s.bind((sys.argv[1], 0))
try:
    s.connect((sys.argv[2], 22))
except OSError:
    sys.exit(1)
sys.exit(0)
EOF
}
connected() { bhp "$1" status | grep -q "^fleet:     $1 on redis://198.51.100.1:6379: connected"; }
env_wait 15 connected A && env_wait 10 connected B && env_wait 10 connected C
tap_ok $? "A, B and C each run sshd, the module and banhelper, linked through Redis"
env_wait 10 reach "$NS_hyd" 203.0.113.200 192.0.2.2 &&
    env_wait 10 reach "$NS_hyd" 203.0.113.200 192.0.2.3
tap_ok $? "before the attack, hydra's source reaches B's and C's sshd"

# --- hydra against A ------------------------------------------------------------------
hydra_words 31
# hydra gives up at once if its first probe finds no password method (seen
# once here, with nothing checked): then it runs once more.
for try in 1 2; do
	ip netns exec "$NS_hyd" env -C "$E" timeout 25 hydra -I -w 5 \
	    -l "$E_USER" -P "$E/passwords.txt" -t 4 ssh://$E_SERVER4 \
	    >"$E/hydra.log" 2>&1
	grep -q 'does not support password auth' "$E/hydra.log" &&
	    [ "$(checked 203.0.113.200)" -eq 0 ] || break
	sleep 1
done
tap_is "$(checked 203.0.113.200)" 4 \
    "hydra -t 4 against A: exactly maxretry (4) passwords reached A's check"
env_wait 3 everywhere 203.0.113.200 A B C
tap_ok $? "hydra's source is an element of A's, B's and C's kernel sets"
tap_ok "$(! reach "$NS_hyd" 203.0.113.200 192.0.2.2; echo $?)" \
    "B's kernel drops hydra's connections to B's sshd"
tap_ok "$(! reach "$NS_hyd" 203.0.113.200 192.0.2.3; echo $?)" \
    "C's kernel drops them too"
tap_like "$(bhp B list | awk '$1 == "203.0.113.200"')" " sshd .* A$" \
    "banhelper list on B names A as where the ban came from"
ip netns exec "$NS_cli" timeout 30 sshpass -p "$E_PASS" ssh -b 203.0.113.5 \
    -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
    -o ConnectTimeout=3 -o PubkeyAuthentication=no \
    -o PreferredAuthentications=password -o NumberOfPasswordPrompts=1 \
    -o LogLevel=ERROR -l "$E_USER" 192.0.2.2 true </dev/null >/dev/null 2>&1
tap_is "$?" 0 "the real user still logs in to B's sshd with a password"

# --- a manual ban on B, an unban on C ---------------------------------------------------
bhp B ban 203.0.113.30 >/dev/null
env_wait 3 everywhere 203.0.113.30 A B C
tap_ok $? "a manual ban on B reaches A and C"
tap_ok "$(dropped 203.0.113.30; echo $?)" "A's sshd is then closed to 203.0.113.30"
bhp C unban 203.0.113.30 >/dev/null
env_wait 3 nowhere 203.0.113.30 A B C
tap_ok $? "an unban on C lifts it on A, B and C"
tap_ok "$(port_open 203.0.113.30; echo $?)" "and A's sshd takes 203.0.113.30 again"

# --- Redis killed and restarted ---------------------------------------------------------------
kill "$REDIS_PID"
wait "$REDIS_PID" 2>/dev/null
bhp C ban 203.0.113.31 >/dev/null
env_wait 3 in_kernel C 203.0.113.31
tap_ok $? "Redis down: C still bans at once"
redis_start >/dev/null
env_wait 15 everywhere 203.0.113.31 A B
tap_ok $? "Redis back: C's ban reaches A and B"
env_wait 3 everywhere 203.0.113.200 A B C
tap_ok $? "and nothing was lost: hydra's ban is still everywhere"
tap_is "$(rcli EXISTS autoban:ban:203.0.113.200)" 1 \
    "and still in Redis' current set"

# --- forged events -----------------------------------------------------------------------------
until_s=$(($(date +%s) + 600))
rcli XADD autoban:events '*' e "v1 ban 203.0.113.39 $until_s X X manual - allowlisted" >/dev/null
rcli XADD autoban:events '*' e "v1 ban 203.0.113.0/33 $until_s X X manual - bad" >/dev/null
rcli XADD autoban:events '*' e "v1 ban 203.0.113.32 $until_s X X manual - ok" >/dev/null
env_wait 3 everywhere 203.0.113.32 A B C
tap_ok $? "a sound event from elsewhere applies on every server"
tap_ok "$(nowhere 203.0.113.39 A B C; echo $?)" \
    "a forged ban of an allowlisted address is in no kernel"
n=0
for f in "$E/banhelper.log" "$E/B/banhelper.log" "$E/C/banhelper.log"; do
	grep -q "refused a ban of 203\.0\.113\.39 from X: in ignoreip" "$f" &&
	    grep -q "refused event [0-9-]*: bad prefix" "$f" && n=$((n + 1))
done
tap_is "$n" 3 "each server refused both forged events and said why"
tap_done
