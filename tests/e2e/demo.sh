#!/bin/bash
# demo.sh - autoban's job, live: a brute force against a real sshd in
# throwaway network namespaces, blocked by PAM and then by the kernel, while
# the admin still gets in.  Run through ../../run-demo.sh (which installs
# and builds first), as root.  Touches nothing of the host: no host sshd,
# PAM file or firewall rule; everything is removed at the end.
set -u
here=$(cd "$(dirname "$0")" && pwd)
export AB_TOP=${AB_TOP:-$(cd "$here/../.." && pwd)}
export AB_BUILD=${AB_BUILD:-$AB_TOP/build}

# A private mount namespace with a tmpfs for all the demo's files.
if [ "${AB_IN_DEMO_NS:-}" != 1 ]; then
	AB_IN_DEMO_NS=1 exec unshare --mount --propagation private "$0" "$@"
fi
D=$(mktemp -d /tmp/autoban-demo.XXXXXX)
mount -t tmpfs -o size=512m,mode=0755 autoban-demo "$D"
# banhelper run becomes _autoban: made in this namespace if the host has none.
. "$here/../lib/autoban-user.sh"
ab_user "$D"
. "$here/env.sh"
E=$D/env
start=$SECONDS
finish() {
	env_down
	umount -l "$D" 2>/dev/null
	rmdir "$D" 2>/dev/null
}
trap finish EXIT

say() { printf '%s\n' "$*"; }
step() { printf '\n\033[1m%s\033[0m\n' "$*"; }

ATTACKER=203.0.113.200
ADMIN=203.0.113.20

say "autoban demo: a brute force against a real sshd, in throwaway namespaces"
say "  server   192.0.2.1     OpenSSH sshd, PAM stack: Debian's, plus"
say "                         'auth requisite pam_autoban.so' on top; banhelper"
say "  attacker $ATTACKER hydra, 4 parallel tasks, 40 passwords"
say "  admin    $ADMIN  the real user, right password"
say "  policy   maxretry = 4, findtime = 10m, bantime = 1h"
if ! env_up "$E" "maxretry = 4" "findtime = 10m" "bantime = 1h" \
    "sync_interval = 60s"; then
	say "could not set up the namespaces; logs:"
	tail -n 5 "$E"/*.log
	exit 1
fi

step "1. The admin logs in"
if login $ADMIN "$E_PASS"; then say "   ssh tester@192.0.2.1 from $ADMIN: logged in"
else say "   ssh from $ADMIN: FAILED"; fi

step "2. hydra attacks from $ATTACKER"
hydra_words 40
t0=$SECONDS
ip netns exec "$NS_hyd" env -C "$E" timeout 90 hydra -I -w 3 -l "$E_USER" \
    -P "$E/passwords.txt" -t 4 ssh://$E_SERVER4 >"$E/hydra.log" 2>&1 &
hydra=$!
E_PIDS+=("$hydra")
last=-1
banned=""
while kill -0 "$hydra" 2>/dev/null; do
	n=$(checked $ATTACKER)
	if [ "$n" != "$last" ]; then
		say "   passwords from $ATTACKER checked so far: $n"
		last=$n
	fi
	if [ -z "$banned" ] && grep -q "banned $ATTACKER" "$E/syslog" 2>/dev/null; then
		banned=$((SECONDS - t0))
		say "   pam_autoban: $(grep -m1 -o "banned $ATTACKER.*" "$E/syslog")"
	fi
	sleep 0.2
done
wait "$hydra" 2>/dev/null
found=$(grep -c 'login:' "$E/hydra.log")
say "   hydra gave up after $((SECONDS - t0)) s: $(checked $ATTACKER) of 40 passwords were checked, password $( [ "$found" -eq 0 ] && echo 'NOT found' || echo found)"

step "3. banhelper list"
bh list | sed 's/^/   /'

step "4. The kernel drops the attacker"
ip netns exec "$NS_srv" nft list set inet autoban v4 | grep elements |
    sed 's/^[[:space:]]*/   nft set v4: /'
if ip netns exec "$NS_hyd" python3 -c '
import socket, sys
s = socket.socket(); s.settimeout(1)
try:
    s.connect(("192.0.2.1", 22)); sys.exit(1)
except OSError:
    sys.exit(0)'; then
	say "   a new TCP connection from $ATTACKER: no answer (dropped)"
else
	say "   a new TCP connection from $ATTACKER: got through (unexpected)"
fi

step "5. The admin still gets in"
if login $ADMIN "$E_PASS"; then say "   ssh from $ADMIN: logged in"
else say "   ssh from $ADMIN: FAILED"; fi

step "6. banhelper unban $ATTACKER"
bh unban $ATTACKER | sed 's/^/   /'
if ip netns exec "$NS_hyd" python3 -c '
import socket, sys
s = socket.socket(); s.settimeout(1)
s.connect(("192.0.2.1", 22))' 2>/dev/null; then
	say "   a new TCP connection from $ATTACKER: accepted again"
fi

step "Done in $((SECONDS - start)) s"
say "   namespaces, sshd, banhelper and every file of the demo removed;"
say "   the host's sshd, PAM files and firewall were never touched."
