#!/bin/bash
# scripts/deps.sh - install what autoban needs (scripts/packages.txt) on
# Debian 12, as root.  Only missing packages are installed, and services
# are kept from starting while they are (a policy-rc.d that says "not
# now"), so installing openssh-server does not start a host sshd.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
mapfile -t pkgs < <(grep -Ev '^\s*(#|$)' "$here/packages.txt")
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
policy=/usr/sbin/policy-rc.d
ours=0
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\n# autoban deps.sh: no service starts during install\nexit 101\n' >"$policy"
	chmod 0755 "$policy"
	ours=1
fi
cleanup() { [ "$ours" -eq 1 ] && rm -f "$policy"; }
trap cleanup EXIT
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
