#!/bin/bash
# scripts/deps.sh - install what autoban needs (scripts/packages.txt) on
# Debian 12, as root.  Only missing packages are installed, and services
# are kept from starting while they are (a policy-rc.d that says "not
# now"), so installing openssh-server does not start a host sshd.  A
# policy-rc.d that was there before is left as it was.
# AB_DEPS_LIST and AB_DEPS_POLICY name another package list and policy
# file (for tests/scripts/deps.sh).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
list=${AB_DEPS_LIST:-$here/packages.txt}
policy=${AB_DEPS_POLICY:-/usr/sbin/policy-rc.d}
mapfile -t pkgs < <(grep -Ev '^\s*(#|$)' "$list")
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: run as root to install: ${missing[*]}" >&2
	exit 1
fi
echo "installing: ${missing[*]}"
ours=0
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\n# autoban deps.sh: no service starts during install\nexit 101\n' >"$policy"
	chmod 0755 "$policy"
	ours=1
fi
# The trap's status must not become the script's: with a policy-rc.d of
# the machine's own (ours=0), a bare "[ ... ] && rm" would end in 1.
cleanup() {
	if [ "$ours" -eq 1 ]; then
		rm -f "$policy"
	fi
}
trap cleanup EXIT
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian enables these daemons for the next boot: not on our account
# (the tests run their own, in namespaces).
for p in "${missing[@]}"; do
	case $p in fail2ban|sshguard)
		if command -v systemctl >/dev/null; then
			systemctl disable --quiet "$p" 2>/dev/null || true
		fi ;;
	esac
done
