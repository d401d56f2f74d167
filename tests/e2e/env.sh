# env.sh - a real sshd with autoban in throwaway namespaces (sourced).
#
#   srv  192.0.2.1, 2001:db8:1::1   sshd (private /etc copy), banhelper run
#   cli  203.0.113.1-40, 2001:db8::10, ::20 (one /64), 2001:db8:0:1::30
#        ssh/sshpass clients, choosing their source with -b
#   hyd  203.0.113.200              hydra (one source address)
#   hyi  203.0.113.201              hydra for the log-injection usernames
#
# sshd runs the distribution's /usr/sbin/sshd in a private mount namespace
# whose /etc is a copy (the whole directory bind-mounted: single-file bind
# mounts detach when the host rewrites such a file) holding the test user
# and Debian's stock /etc/pam.d/sshd with the autoban line on top of its
# auth section and a pam_exec counter right below it: the counter runs
# exactly when a password is about to be checked.  Its /run is a private
# tmpfs (for /run/sshd) and its /dev/log feeds $E/syslog.
#
# Nothing of the host is changed: its /etc, /etc/pam.d, sshd and firewall
# are untouched; everything lives in $E, the namespaces, and processes we
# started (ended by PID in env_down).  Addresses are documentation ranges.

E_TOP=${AB_TOP:?}
E_BUILD=${AB_BUILD:?}
E_SERVER4=192.0.2.1
E_SERVER6=2001:db8:1::1
E_USER=tester
E_PASS='correct horse'
E_WEBPASS='battery staple'
E_PIDS=()
E_NS=()

env_ns() {	# env_ns NAME: creates ns "e<pid>-NAME", prints its name
	local ns="e$BASHPID-$1"
	ip netns add "$ns" && ip -n "$ns" link set lo up
	E_NS+=("$ns")
	printf -v "NS_$1" '%s' "$ns"
}

env_net() {
	env_ns srv
	env_ns cli
	env_ns hyd
	env_ns hyi
	ip link add s-cli netns "$NS_srv" type veth peer name c-srv netns "$NS_cli"
	ip link add s-hyd netns "$NS_srv" type veth peer name h-srv netns "$NS_hyd"
	ip link add s-hyi netns "$NS_srv" type veth peer name i-srv netns "$NS_hyi"
	# No duplicate address detection: addresses usable at once.
	for ns in "$NS_srv" "$NS_cli"; do
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
		    net.ipv6.conf.default.accept_dad=0
	done
	ip netns exec "$NS_srv" sysctl -qw net.ipv6.conf.s-cli.accept_dad=0
	ip netns exec "$NS_cli" sysctl -qw net.ipv6.conf.c-srv.accept_dad=0
	ip -n "$NS_srv" addr add $E_SERVER4/32 dev lo
	# IPv6 answers neighbour solicitations only for addresses on the link.
	ip -n "$NS_srv" addr add $E_SERVER6/128 dev s-cli nodad
	ip -n "$NS_srv" link set s-cli up
	ip -n "$NS_srv" link set s-hyd up
	ip -n "$NS_srv" route add 203.0.113.0/25 dev s-cli
	ip -n "$NS_srv" link set s-hyi up
	ip -n "$NS_srv" route add 203.0.113.200/32 dev s-hyd
	ip -n "$NS_srv" route add 203.0.113.201/32 dev s-hyi
	ip -n "$NS_srv" -6 route add 2001:db8::/48 dev s-cli
	ip -n "$NS_cli" link set c-srv up
	# E_V4_SOURCES (at most 127): client addresses 203.0.113.1 and up.
	for i in $(seq 1 "${E_V4_SOURCES:-40}"); do
		ip -n "$NS_cli" addr add 203.0.113.$i/32 dev c-srv
	done
	for a in 2001:db8::10 2001:db8::20 2001:db8:0:1::30; do
		ip -n "$NS_cli" addr add $a/128 dev c-srv nodad
	done
	# E_V6_SOURCES=N (benchmarks): N more sources, one /64 each,
	# 2001:db8:0:100::1 and up.
	for i in $(seq 1 "${E_V6_SOURCES:-0}"); do
		ip -n "$NS_cli" addr add "2001:db8:0:$(printf %x $((255 + i)))::1/128" \
		    dev c-srv nodad
	done
	ip -n "$NS_cli" route add $E_SERVER4/32 dev c-srv
	ip -n "$NS_cli" -6 route add $E_SERVER6/128 dev c-srv
	ip -n "$NS_hyd" link set h-srv up
	ip -n "$NS_hyd" addr add 203.0.113.200/32 dev h-srv
	ip -n "$NS_hyd" route add $E_SERVER4/32 dev h-srv
	ip -n "$NS_hyi" link set i-srv up
	ip -n "$NS_hyi" addr add 203.0.113.201/32 dev i-srv
	ip -n "$NS_hyi" route add $E_SERVER4/32 dev i-srv
}

# env_up DIR [extra autoban.conf lines...]: everything, ready for clients.
env_up() {
	E=$1
	shift
	mkdir -p "$E"
	chmod 0755 "$E"
	# The real install, into a staging root.
	make -s -C "$E_TOP" install DESTDIR="$E/root" PREFIX=/usr \
	    CONFDIR=/etc/security >"$E/install.log" 2>&1 || return 1
	E_MODULE=$(find "$E/root" -name pam_autoban.so | head -1)
	E_BH=$E/root/usr/sbin/banhelper
	mkdir -p "$E/db" "$E/run"
	chmod 0700 "$E/db" "$E/run"
	{
		echo "db = $E/db"
		echo "runtime_dir = $E/run"
		printf '%s\n' "$@"
	} >"$E/autoban.conf"
	chmod 0644 "$E/autoban.conf"
	: >"$E/checked"
	chmod 0600 "$E/checked"
	cat >"$E/count.sh" <<EOF
#!/bin/sh
# pam_exec: a password of \$PAM_RHOST is about to be checked.
printf '%s\n' "\$PAM_RHOST" >>"$E/checked"
exit 0
EOF
	chmod 0755 "$E/count.sh"

	# A private /etc: the host's, plus the test user and the PAM stack.
	# E_STACK=stock (benchmarks of log readers): no autoban line.
	cp -a /etc "$E/etc"
	# E_MODULE_ARGS: more arguments for the autoban line (e.g. debug).
	# E_ACCOUNT=1: the recommended second line, on top of the account
	# section (earned trust from every login, key logins included).
	awk -v mod="$E_MODULE" -v conf="$E/autoban.conf" -v cnt="$E/count.sh" \
	    -v stock="${E_STACK:-}" -v margs="${E_MODULE_ARGS:+ $E_MODULE_ARGS}" \
	    -v acct="${E_ACCOUNT:-}" '
		!done && /^(auth|@include common-auth)/ {
			if (stock != "stock") {
				print "# autoban: the one line"
				print "auth requisite " mod " conf=" conf margs
			}
			print "# a counter for the tests: a password is checked"
			print "auth optional pam_exec.so quiet " cnt
			done = 1
		}
		acct != "" && !adone && /^(account|@include common-account)/ {
			print "account optional " mod " conf=" conf margs
			adone = 1
		}
		{ print }' /etc/pam.d/sshd >"$E/etc/pam.d/sshd"
	# E_NODELAY=1 (benchmarks): pam_unix without its 2 s delay after a
	# failure, so that the attempts themselves set the pace.
	if [ -n "${E_NODELAY:-}" ]; then
		sed -i 's/^\(auth.*pam_unix\.so.*\)$/\1 nodelay/' \
		    "$E/etc/pam.d/common-auth"
	fi
	if [ -n "${E_DOVECOT:-}" ]; then
		dovecot_setup || return 1
	fi
	# E_WEBLOGIN=1: tests/e2e/weblogin.py, a login form with passwords
	# of its own (no PAM), on port 8080, as www-data, reporting to the
	# daemon's socket (the configuration must say report_group = www-data).
	if [ -n "${E_WEBLOGIN:-}" ]; then
		: >"$E/weblogin.log"
		chown www-data "$E/weblogin.log"
	fi
	mkdir -p "$E/home"
	unshare --mount --propagation private bash -c "
		mount --bind '$E/etc' /etc &&
		useradd -m -d '$E/home/$E_USER' -s /bin/sh '$E_USER' &&
		printf '%s:%s\n' '$E_USER' '$E_PASS' | chpasswd" ||
	    return 1

	ssh-keygen -q -t ed25519 -N '' -f "$E/hostkey" || return 1
	# E_PUBKEY=yes: the test user may also log in with $E/clientkey.
	if [ "${E_PUBKEY:-no}" = yes ]; then
		ssh-keygen -q -t ed25519 -N '' -f "$E/clientkey" || return 1
		mkdir -m 0755 "$E/authorized_keys"
		install -m 0644 "$E/clientkey.pub" "$E/authorized_keys/$E_USER"
	fi
	cat >"$E/sshd_config" <<EOF
ListenAddress $E_SERVER4
ListenAddress $E_SERVER6
HostKey $E/hostkey
PidFile $E/sshd.pid
UsePAM yes
PasswordAuthentication yes
KbdInteractiveAuthentication yes
PubkeyAuthentication ${E_PUBKEY:-no}
AuthorizedKeysFile $E/authorized_keys/%u
# The keys live under /tmp (mode 1777), which StrictModes refuses.
StrictModes no
UseDNS no
PermitRootLogin no
MaxAuthTries ${E_MAXAUTHTRIES:-6}
MaxStartups ${E_MAXSTARTUPS:-100:30:200}
LoginGraceTime ${E_GRACE:-20}
PrintMotd no
LogLevel VERBOSE
EOF
	# E_SSHD_SYSLOG=1 (benchmarks of log readers): sshd logs through
	# syslog, so its lines reach auth.log; otherwise to its stderr.
	local logflag=-e
	[ -n "${E_SSHD_SYSLOG:-}" ] && logflag=""
	cat >"$E/run-sshd.sh" <<EOF
#!/bin/bash
# In the server namespace: private /etc, /run and /dev/log, then sshd.
set -e
mount --bind "$E/etc" /etc
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -m 0755 /run/sshd
. "$E_TOP/tests/lib/devlog.sh"
export SINK_AUTHLOG="$E/auth.log" SINK_TIMES="$E/syslog.times"
devlog_mount "$E/syslog"
echo "\$DEVLOG_SINK" >"$E/sink.pid"
[ -s "$E/dovecot.conf" ] && /usr/sbin/dovecot -F -c "$E/dovecot.conf" &
[ -e "$E/weblogin.log" ] && setpriv --reuid=www-data --regid=www-data \
    --init-groups /usr/bin/python3 "$E_TOP/tests/e2e/weblogin.py" \
    "$E/run/report.sock" "$E/weblogin.log" "$E_USER" "$E_WEBPASS" \
    $E_SERVER4 $E_SERVER6 &
exec /usr/sbin/sshd -D $logflag -f "$E/sshd_config"
EOF
	chmod 0755 "$E/run-sshd.sh"
	env_net || return 1
	# E_NO_BANHELPER=1 (benchmarks of other defences): no autoban daemon.
	if [ -z "${E_NO_BANHELPER:-}" ]; then
		bh_start || return 1
	fi
	sshd_start || return 1
}

# dovecot_setup (E_DOVECOT=1): Debian's Dovecot as a second PAM service,
# IMAP on port 143 of the server's addresses, passdb pam with the stock
# service name "dovecot", whose stack (in the private /etc) has the autoban
# line on top and a counter below it writing to $E/checked-imap.  Its
# own brake (anvil's auth penalty and the 2 s failure delay) is off, so
# that only autoban stops a brute force.  It starts with sshd, in sshd's
# namespaces, and logs to $E/dovecot.log.
dovecot_setup() {
	: >"$E/checked-imap"
	chmod 0600 "$E/checked-imap"
	cat >"$E/count-imap.sh" <<EOF
#!/bin/sh
printf '%s\n' "\$PAM_RHOST" >>"$E/checked-imap"
exit 0
EOF
	chmod 0755 "$E/count-imap.sh"
	mkdir -p "$E/dovecot-state"
	{
		echo "#%PAM-1.0"
		echo "auth requisite $E_MODULE conf=$E/autoban.conf${E_IMAP_ARGS:+ $E_IMAP_ARGS}"
		echo "auth optional pam_exec.so quiet $E/count-imap.sh"
		echo "@include common-auth"
		echo "@include common-account"
		echo "@include common-session"
	} >"$E/etc/pam.d/dovecot"
	cat >"$E/dovecot.conf" <<EOF
protocols = imap
listen = $E_SERVER4, $E_SERVER6
base_dir = /run/dovecot
state_dir = $E/dovecot-state
log_path = $E/dovecot.log
auth_verbose = yes
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
mail_location = maildir:~/Maildir
passdb {
  driver = pam
  args = dovecot
}
userdb {
  driver = passwd
}
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
EOF
}

# imap_open SRC: a TCP connection from SRC to Dovecot completes within 1 s.
imap_open() {
	port_open "$1" "${2:-$E_SERVER4}" 143
}

# imap SRC PASSWORD...: one IMAP connection from SRC, one LOGIN per
# password; prints "logged-in N", "denied N" or "closed N" (N: LOGINs
# answered).
imap() {
	local src=$1
	shift
	ip netns exec "$NS_cli" python3 "$E_TOP/tests/e2e/imaptry.py" \
	    "$src" "$E_SERVER4" "${E_LOGIN:-$E_USER}" "$@"
}

# web SRC USER PASSWORD: one POST /login to the web form from SRC; prints
# the HTTP status or "closed".
web() {
	ip netns exec "$NS_cli" python3 "$E_TOP/tests/e2e/webtry.py" \
	    "$1" "$E_SERVER4" "$2" "$3"
}

# checked_web SRC: how many web passwords from SRC reached the check.
checked_web() {
	grep -cxF -- "checked $1" "$E/weblogin.log"
}

# checked_imap SRC: how many IMAP passwords from SRC reached the check.
checked_imap() {
	grep -cxF -- "$1" "$E/checked-imap"
}

bh() {	# banhelper in the server namespace with the test config
	ip netns exec "$NS_srv" "$E_BH" -c "$E/autoban.conf" "$@"
}

# unit_nice: the Nice= of the installed banhelper unit (empty if none).
unit_nice() {
	sed -n 's/^Nice=//p' "$(find "$E/root" -name banhelper.service | head -1)"
}

# The daemon runs at the installed unit's Nice= (E_BH_NICE overrides it).
bh_start() {
	local nice=${E_BH_NICE:-$(unit_nice)}
	ip netns exec "$NS_srv" nice -n "${nice:-0}" "$E_BH" -c "$E/autoban.conf" \
	    run >>"$E/banhelper.log" 2>&1 &
	E_BHPID=$!
	E_PIDS+=("$E_BHPID")
	env_wait 5 test -S "$E/run/wake.sock"
}

bh_stop() {
	kill "$E_BHPID" 2>/dev/null
	wait "$E_BHPID" 2>/dev/null
}

sshd_start() {
	rm -f "$E/sshd.pid"
	ip netns exec "$NS_srv" unshare --mount --propagation private \
	    "$E/run-sshd.sh" >>"$E/sshd.log" 2>&1 &
	E_SSHDPID=$!
	E_PIDS+=("$E_SSHDPID")
	env_wait 10 port_open 203.0.113.40
}

sshd_stop() {
	kill "$E_SSHDPID" 2>/dev/null
	wait "$E_SSHDPID" 2>/dev/null
	[ -n "${E:-}" ] && [ -s "$E/sink.pid" ] && kill "$(cat "$E/sink.pid")" 2>/dev/null
	rm -f "$E/sink.pid"
}

env_down() {
	local p ns
	for p in "${E_PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${E_PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	[ -n "${E:-}" ] && [ -s "$E/sink.pid" ] && kill "$(cat "$E/sink.pid")" 2>/dev/null
	# What is left in our namespaces is ours too: sshd's per-connection
	# children outlive its listener.
	for ns in "${E_NS[@]}"; do
		for p in $(ip netns pids "$ns" 2>/dev/null); do
			kill "$p" 2>/dev/null
		done
	done
	for ns in "${E_NS[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	E_NS=()
	E_PIDS=()
}

env_wait() {	# env_wait SECONDS CMD...: poll every 50 ms
	local n=$(($1 * 20))
	shift
	while [ "$n" -gt 0 ]; do
		"$@" && return 0
		sleep 0.05
		n=$((n - 1))
	done
	return 1
}

# --- clients ---------------------------------------------------------------

# hydra_words N: $E/passwords.txt with N-1 wrong passwords, the right one last.
hydra_words() {
	python3 -c '
import sys
for i in range(int(sys.argv[1]) - 1):
    print("guess%02d" % i)' "$1" >"$E/passwords.txt"
	echo "$E_PASS" >>"$E/passwords.txt"
}

# port_open SRC [DST [PORT]]: a TCP connection from SRC to sshd (or PORT)
# completes within 1 s.
port_open() {
	ip netns exec "$NS_cli" python3 - "$1" "${2:-$E_SERVER4}" "${3:-22}" <<'EOF'
import socket, sys
src, dst, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
fam = socket.AF_INET6 if ":" in src else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.settimeout(1)
s.bind((src, 0))
try:
    s.connect((dst, port))
except OSError:
    sys.exit(1)
sys.exit(0)
EOF
}

# dropped SRC [DST]: a TCP connection from SRC times out (the kernel drops it).
dropped() {
	! port_open "$@"
}

# login SRC PASSWORD [METHOD]: one connection, one password, via sshpass.
# Exit status: 0 logged in, 5 wrong password or refused, 255 no connection.
login() {
	local src=$1 pw=$2 method=${3:-password} dst=$E_SERVER4
	case "$src" in *:*) dst=$E_SERVER6 ;; esac
	ip netns exec "$NS_cli" timeout 30 sshpass -p "$pw" ssh -b "$src" \
	    -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
	    -o ConnectTimeout=3 -o PubkeyAuthentication=no \
	    -o PreferredAuthentications="$method" -o NumberOfPasswordPrompts=1 \
	    -o LogLevel=ERROR -l "${E_LOGIN:-$E_USER}" "$dst" true </dev/null \
	    >/dev/null 2>&1
}

# keylogin SRC: one connection logging in with $E/clientkey (E_PUBKEY=yes).
keylogin() {
	ip netns exec "$NS_cli" timeout 30 ssh -b "$1" -i "$E/clientkey" \
	    -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
	    -o ConnectTimeout=3 -o PreferredAuthentications=publickey \
	    -o BatchMode=yes -o LogLevel=ERROR -l "$E_USER" "$E_SERVER4" true \
	    </dev/null >/dev/null 2>&1
}

# tries SRC METHOD PASSWORD...: one connection, one password per prompt.
# Prints "logged-in", "denied" or "closed" and how many prompts it answered.
tries() {
	ip netns exec "$NS_cli" python3 "$E_TOP/tests/e2e/sshtry.py" \
	    "$@" "$E_SERVER4" "${E_LOGIN:-$E_USER}"
}

# checked SRC: how many passwords from SRC reached the password check.
checked() {
	grep -cxF -- "$1" "$E/checked"
}
