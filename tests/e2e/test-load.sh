#!/bin/bash
# test-load.sh - load: 50 attacking clients at once against the real sshd for
# E_LOAD_SECONDS (30) while the real user logs in every few seconds; then a
# distributed attack of 5 000 sources with 3 failures each (nobody banned),
# and 5 000 more with 6 each (every one banned, every one in the kernel).
# Only outcomes are asserted (counts, logins, kernel elements, memory),
# never a time; sshd's CPU per attempt is bench/sshd-load.sh's to measure.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/env.sh"

E=$(mktemp -d "${AB_TMP:-/tmp}/e2e.XXXXXX")
on_exit() {
	local p
	for p in "${LOAD_PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${LOAD_PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	if [ "$TAP_FAILED" -ne 0 ]; then
		for f in sshd.log banhelper.log; do
			echo "--- $f" >&2
			tail -n 15 "$E/$f" >&2 2>/dev/null
		done
	fi
	env_down
	rm -rf "$E"
}
LOAD_PIDS=()
trap on_exit EXIT
SECS=${E_LOAD_SECONDS:-30}
ATTACKERS=50
# Counting only: nobody reaches maxretry within the run, so every attempt
# of every attacker must be in the store.  sshd must take 50 unauthenticated
# connections at once (MaxStartups), and the clients pace themselves by
# pam_unix's delay after each failure, as real ones are.
export E_V4_SOURCES=60 E_MAXSTARTUPS=120 E_GRACE=30
if ! env_up "$E" "maxretry = 100" "findtime = 1h" "bantime = 1h" \
    "sync_interval = 2s"; then
	tap_ok 1 "the environment comes up" "$(tail -20 "$E"/*.log 2>/dev/null)"
	tap_done
	exit 1
fi
tap_ok 0 "a real sshd with autoban is up"
rss() { awk '/^VmRSS/ {print $2}' "/proc/$E_BHPID/status"; }

# --- 50 attackers at once, the real user among them ---------------------------
rss0=$(rss)
end=$(($(date +%s) + SECS))
for i in $(seq 1 $ATTACKERS); do
	(
		n=0
		while [ "$(date +%s)" -lt "$end" ] && [ $n -lt 200 ]; do
			tries "203.0.113.$i" password "w$n-a" "w$n-b" "w$n-c" \
			    >/dev/null 2>&1
			n=$((n + 1))
		done
	) &
	LOAD_PIDS+=($!)
done
# The real user keeps logging in while the attackers run, and at least
# three times however slow the machine is: the attackers' last connections
# are still open when the clock runs out, so the third login still meets
# them.  Bounded by 100 logins and SECS + 120 s.
good=0
bad=0
stop=$((end + 120))
while [ $((good + bad)) -lt 100 ] && [ "$(date +%s)" -lt "$stop" ]; do
	if [ "$(date +%s)" -ge "$end" ] && [ $((good + bad)) -ge 3 ]; then
		break
	fi
	# A connection that did not complete in time (exit 255: the machine
	# is loaded, not a refusal) is tried once more; a refused password
	# (exit 5) never is.
	login 203.0.113.55 "$E_PASS"
	rc=$?
	[ "$rc" -eq 255 ] && { login 203.0.113.55 "$E_PASS"; rc=$?; }
	if [ "$rc" -eq 0 ]; then
		good=$((good + 1))
	else
		bad=$((bad + 1))
	fi
	sleep 1
done
for p in "${LOAD_PIDS[@]}"; do
	wait "$p"
done
LOAD_PIDS=()
rss1=$(rss)
total=$(wc -l <"$E/checked")
tap_ok "$([ "$total" -ge $((ATTACKERS * 3)) ]; echo $?)" \
    "$ATTACKERS attackers for ${SECS}s: $total passwords reached the check"
tap_ok "$([ "$good" -ge 3 ] && [ "$bad" -eq 0 ]; echo $?)" \
    "the real user logged in every time meanwhile ($good of $((good + bad)))"
# The store against the counting password module, source by source.
bh list --all --json >"$E/list.json"
lost=$(python3 - "$E/list.json" "$E/checked" $ATTACKERS <<'EOF'
import collections, json, sys
doc = json.load(open(sys.argv[1]))
store = {c["prefix"]: c["failures"] for c in doc.get("counting", [])}
seen = collections.Counter(l.strip() for l in open(sys.argv[2]))
bad = []
for i in range(1, int(sys.argv[3]) + 1):
    a = "203.0.113.%d" % i
    if store.get(a, 0) != seen.get(a, 0):
        bad.append("%s: store %d, checked %d" % (a, store.get(a, 0), seen.get(a, 0)))
if doc.get("bans"):
    bad.append("bans: %r" % doc["bans"])
print("\n".join(bad))
EOF
)
tap_is "$lost" "" "no count lost: the store holds exactly what reached the check, per source"
tap_ok "$(kill -0 "$E_BHPID"; echo $?)" "banhelper still runs"
tap_ok "$([ $((rss1 - rss0)) -lt 1024 ]; echo $?)" \
    "banhelper's memory stayed flat (${rss0} -> ${rss1} kB)"
tap_like "$(grep -ciE 'segfault|SIGSEGV|SIGBUS|killed by signal|core dumped' "$E/sshd.log")" "^0$" \
    "sshd logged no crash"

# --- a distributed attack: 5 000 sources ---------------------------------------
# Through the real module (pamdrive, as sshd would), each source its own /64.
mkdir -p "$E/pam.d"
# maxretry 5 on this line (module arguments override the file).
printf 'auth requisite %s conf=%s maxretry=5\nauth required pam_deny.so\n' \
    "$E_MODULE" "$E/autoban.conf" >"$E/pam.d/dist"
# Each source tries its passwords on one connection (one PAM handle, as
# sshd's monitor runs them).
drive() {	# drive FIRST TRIES: each of hosts FIRST..FIRST+4999 fails TRIES times
	"$E_BUILD/tests/pamdrive" -c "$E/pam.d" -s dist -b v6 -H 10000 \
	    -F "$1" -n 5000 -P 1 -A "$2" |
	    sed -n 's/.*\(auth_err=[0-9]* maxtries=[0-9]*\).*/\1/p'
}
out=$(drive 0 3)
tap_is "$out" "auth_err=15000 maxtries=0" \
    "5 000 sources x 3 failures: every one counted, none refused"
st=$(bh status --json)
tap_is "$(printf '%s' "$st" | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(d["bans_active"], d["counts"]["hosts_counted"] >= 5000,
      d["counts"]["percent_full"] < 100)')" "0 True True" \
    "... nobody banned, all 5 000 counted, the store within its bounds"
out=$(drive 5000 6)
tap_is "$out" "auth_err=25000 maxtries=5000" \
    "5 000 other sources x 6: 5 failures each, the 6th refused"
env_wait 30 sh -c "[ \$(ip netns exec $NS_srv nft -j list set inet autoban v6 |
    python3 -c 'import json,sys; print(sum(len(i[\"set\"].get(\"elem\", []))
    for i in json.load(sys.stdin)[\"nftables\"] if \"set\" in i))') -ge 5000 ]"
tap_ok $? "... all 5 000 banned /64s are in the kernel set"
tap_like "$(bh status)" "in sync with the store \(5000 elements\)" \
    "... and status finds the kernel in sync with the store"
tap_ok "$(kill -0 "$E_BHPID"; echo $?)" "banhelper still runs"
tap_done
