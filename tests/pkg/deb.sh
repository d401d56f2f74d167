#!/bin/bash
# deb.sh - the Debian package, as a new user meets it: built with
# dpkg-buildpackage, lintian-clean, installed with apt into a fresh Debian
# 12 root of its own (debootstrap, never this machine's /etc), the profile
# off until `pam-auth-update --enable autoban` puts the one line on top of
# common-auth, a real sshd in that root then refusing a brute force after
# exactly maxretry (the shipped default) passwords, and remove and purge
# leaving the PAM stack as it was.
set -u
if [ -z "${AB_PKG_NS:-}" ]; then
	exec env AB_PKG_NS=1 unshare --mount --propagation private \
	    bash "$0" "$@"
fi
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$here/../lib/tap.sh"

T=$(mktemp -d "${AB_TMP:-/tmp}/pkg.XXXXXX")
NS="pk$$-srv"
CNS="pk$$-cli"
SSHD=
SINK=
cleanup() {
	[ -n "$SSHD" ] && kill "$SSHD" 2>/dev/null && wait "$SSHD" 2>/dev/null
	[ -n "$SINK" ] && kill "$SINK" 2>/dev/null && wait "$SINK" 2>/dev/null
	for ns in "$NS" "$CNS"; do
		for p in $(ip netns pids "$ns" 2>/dev/null); do
			kill "$p" 2>/dev/null
		done
		ip netns del "$ns" 2>/dev/null
	done
	umount -R "$T/root/proc" 2>/dev/null
	umount -R "$T/root/dev" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
R=$T/root
inroot() { chroot "$R" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    DEBIAN_FRONTEND=noninteractive "$@"; }

# --- build ------------------------------------------------------------------------
mkdir -p "$T/src"
if [ -d "$top/.git" ]; then
	git -C "$top" ls-files -z | (cd "$top" && xargs -0 tar cf -) |
	    tar xf - -C "$T/src"
else
	(cd "$top" && tar cf - --exclude=./build --exclude=./build-san \
	    --exclude=./build-fuzz .) | tar xf - -C "$T/src"
fi
(cd "$T/src" && timeout 900 dpkg-buildpackage -us -uc -b) >"$T/build.log" 2>&1
tap_ok $? "dpkg-buildpackage -us -uc -b builds the package" \
    "$(tail -20 "$T/build.log")"
DEB=$(ls "$T"/autoban_*_*.deb 2>/dev/null | head -1)
contents=$(dpkg-deb -c "$DEB" 2>/dev/null | awk '{print $6}')
for f in ./usr/lib/x86_64-linux-gnu/security/pam_autoban.so \
    ./usr/sbin/banhelper ./etc/security/autoban.conf \
    ./lib/systemd/system/banhelper.service \
    ./usr/share/pam-configs/autoban ./usr/share/man/man8/banhelper.8.gz; do
	printf '%s\n' "$contents" | grep -qxF "$f" || missing="${missing:-} $f"
done
tap_is "${missing:-}" "" "it holds the module in the multiarch PAM directory, banhelper, its unit, the profile, the man pages, the config"
tap_is "$(dpkg-deb -f "$DEB" Package 2>/dev/null; dpkg-deb --ctrl-tarfile "$DEB" |
    tar xOf - ./conffiles 2>/dev/null)" "autoban
/etc/security/autoban.conf" "/etc/security/autoban.conf is a conffile"
lint=$(timeout 600 lintian --tag-display-limit 0 "$DEB" 2>&1 |
    grep -v 'running with root privileges')
tap_is "$lint" "" "lintian is clean"

# --- a fresh Debian 12 root --------------------------------------------------------
# The mirror this machine's apt uses.
mirror=$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/debian.sources \
    2>/dev/null | grep -v security | head -1)
[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" && $3 == "bookworm" {print $2; exit}' \
    /etc/apt/sources.list 2>/dev/null)
[ -n "$mirror" ] || mirror=http://deb.debian.org/debian
timeout 900 debootstrap --variant=minbase bookworm "$R" "$mirror" \
    >"$T/debootstrap.log" 2>&1
tap_ok $? "debootstrap makes a fresh Debian 12 root" "$(tail -5 "$T/debootstrap.log")"
mount -t proc proc "$R/proc"
# A /dev of its own: the device nodes programs need, and a /dev/log whose
# messages (pam_unix's, the module's) go to $T/syslog, not to this host's.
mount -t tmpfs -o mode=0755,size=1m tmpfs "$R/dev"
for n in null zero full random urandom tty ptmx; do
	touch "$R/dev/$n"
	mount --bind "/dev/$n" "$R/dev/$n"
done
mkdir -p "$R/dev/pts" "$R/dev/shm"
mount --bind /dev/pts "$R/dev/pts"
ln -s /proc/self/fd "$R/dev/fd"
python3 "$top/tests/lib/syslog-sink.py" "$R/dev/log" "$T/syslog" &
SINK=$!
for _ in $(seq 100); do
	[ -e "$T/syslog.ready" ] && break
	sleep 0.02
done
cp /etc/resolv.conf "$R/etc/resolv.conf" 2>/dev/null
# No service starts in that root while packages install.
printf '#!/bin/sh\nexit 101\n' >"$R/usr/sbin/policy-rc.d"
chmod 0755 "$R/usr/sbin/policy-rc.d"
cp "$R/etc/pam.d/common-auth" "$T/common-auth.before"
cp "$R/etc/pam.d/common-account" "$T/common-account.before"
cp "$DEB" "$R/tmp/"
inroot apt-get install -y --no-install-recommends openssh-server \
    "/tmp/$(basename "$DEB")" >"$T/install.log" 2>&1
tap_ok $? "apt installs the package (and sshd) in that root" "$(tail -15 "$T/install.log")"
tap_ok "$(inroot getent passwd _autoban >/dev/null; echo $?)" \
    "the package made the system user _autoban"
tap_ok "$([ -L "$R/etc/systemd/system/multi-user.target.wants/banhelper.service" ]; echo $?)" \
    "and enabled banhelper's unit"
tap_ok "$(! grep -q pam_autoban "$R/etc/pam.d/common-auth"; echo $?)" \
    "the profile is off after install: common-auth has no autoban line"
tap_is "$(grep -E '^#?metrics =' "$R/etc/security/autoban.conf")" \
    "#metrics = no" "metrics are off until the admin says metrics = yes"

# --- switched on the Debian way ---------------------------------------------------
inroot pam-auth-update --enable autoban >"$T/pau.log" 2>&1
tap_ok $? "pam-auth-update --enable autoban" "$(cat "$T/pau.log")"
first=$(grep -E '^[[:space:]]*auth' "$R/etc/pam.d/common-auth" | head -1)
tap_like "$first" "^auth[[:space:]]+requisite[[:space:]]+pam_autoban\.so[[:space:]]*$" \
    "the one line is now the first of common-auth"
tap_like "$(cat "$R/etc/pam.d/common-account")" "account[[:space:]]+optional[[:space:]]+pam_autoban\.so" \
    "and the account line is in common-account"

# --- a real sshd in that root ---------------------------------------------------
inroot useradd -m -s /bin/sh tester
echo 'tester:correct horse' | inroot chpasswd
ssh-keygen -q -t ed25519 -N '' -f "$R/etc/ssh/test_host_key"
cat >"$R/etc/ssh/sshd_test_config" <<EOF
ListenAddress 192.0.2.1
HostKey /etc/ssh/test_host_key
UsePAM yes
PasswordAuthentication yes
KbdInteractiveAuthentication no
PubkeyAuthentication no
UseDNS no
MaxAuthTries 6
MaxStartups 100:30:200
LoginGraceTime 20
EOF
ip netns add "$NS" && ip netns add "$CNS"
ip -n "$NS" link set lo up
ip -n "$CNS" link set lo up
ip link add s-cli netns "$NS" type veth peer name c-srv netns "$CNS"
ip -n "$NS" addr add 192.0.2.1/24 dev s-cli
ip -n "$CNS" addr add 192.0.2.10/24 dev c-srv
ip -n "$CNS" addr add 192.0.2.11/24 dev c-srv
ip -n "$NS" link set s-cli up
ip -n "$CNS" link set c-srv up
mkdir -p "$R/run/sshd"
ip netns exec "$NS" chroot "$R" /usr/sbin/sshd -D -e \
    -f /etc/ssh/sshd_test_config >"$T/sshd.log" 2>&1 &
SSHD=$!
for _ in $(seq 100); do
	grep -q "Server listening" "$T/sshd.log" && break
	sleep 0.1
done
try() { ip netns exec "$CNS" python3 "$top/tests/e2e/sshtry.py" "$@" \
    192.0.2.1 tester 2>/dev/null; }
tap_like "$(try 192.0.2.11 password 'correct horse')" "^logged-in" \
    "the real user logs in to that sshd with the module on top"
for i in 1 2 3; do
	try 192.0.2.10 password "a$i" "b$i" "c$i" >/dev/null
done
# What pam_unix found wrong: its message for the first failure of a
# connection, and "PAM N more authentication failures" for the rest when
# the connection ends (sshd says "Failed password" for the module's
# refusals too, so its own lines cannot tell).
failed=$(awk '/rhost=192\.0\.2\.10 / {
	if ($0 ~ /pam_unix\(sshd:auth\): authentication failure;/) n++
	else if (match($0, /PAM [0-9]+ more authentication failure/))
		n += substr($0, RSTART + 4, RLENGTH - 4) + 0
} END { print n + 0 }' "$T/syslog")
tap_is "$failed" 5 "9 guesses from one host: exactly maxretry (5, the shipped default) reached the password check"
tap_like "$(try 192.0.2.10 password 'correct horse')" "^(denied|closed)" \
    "then even the right password is refused to that host"
kill "$SSHD" 2>/dev/null
wait "$SSHD" 2>/dev/null
SSHD=

# --- an upgrade keeps the store and the configuration ------------------------------------
echo "# the admin's own line" >>"$R/etc/security/autoban.conf"
inroot dpkg -i "/tmp/$(basename "$DEB")" >"$T/upgrade.log" 2>&1
tap_ok $? "the package installs again over itself (the upgrade path)" \
    "$(tail -10 "$T/upgrade.log")"
tap_like "$(tail -1 "$R/etc/security/autoban.conf")" "^# the admin's own line$" \
    "the admin's change to autoban.conf is kept"
tap_like "$(inroot banhelper list 2>&1)" "^192\.0\.2\.10 +auto" \
    "and the store still holds the ban"
tap_like "$(grep -E '^[[:space:]]*auth' "$R/etc/pam.d/common-auth" | head -1)" \
    "pam_autoban\.so" "and the profile stays on"

# --- remove, purge ------------------------------------------------------------------------
inroot apt-get remove -y autoban >"$T/remove.log" 2>&1
tap_ok $? "apt-get remove autoban" "$(tail -10 "$T/remove.log")"
tap_ok "$(! grep -rq pam_autoban "$R/etc/pam.d"; echo $?)" \
    "remove takes the lines out of every PAM stack"
tap_ok "$([ ! -e "$R/usr/lib/x86_64-linux-gnu/security/pam_autoban.so" ] &&
    [ -e "$R/etc/security/autoban.conf" ]; echo $?)" \
    "the module is gone; the configuration stays until purge"
tap_ok "$([ -d "$R/var/lib/autoban" ]; echo $?)" "and so does the store"
inroot dpkg --purge autoban >"$T/purge.log" 2>&1
tap_ok $? "dpkg --purge autoban" "$(tail -10 "$T/purge.log")"
tap_ok "$([ ! -e "$R/etc/security/autoban.conf" ] && [ ! -e "$R/var/lib/autoban" ]; echo $?)" \
    "purge removes the configuration and the store"
tap_ok "$(cmp -s "$T/common-auth.before" "$R/etc/pam.d/common-auth" &&
    cmp -s "$T/common-account.before" "$R/etc/pam.d/common-account"; echo $?)" \
    "common-auth and common-account are as they were before the install"
tap_done
