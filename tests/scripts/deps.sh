#!/bin/bash
# deps.sh - scripts/deps.sh, the first step of run-demo.sh and
# run-tests.sh, against a fake dpkg-query and apt-get: it installs only
# what is missing, keeps services from starting meanwhile, leaves a
# policy-rc.d of the machine's own alone, and exits 0 when it succeeds.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
top=$(cd "$here/../.." && pwd)

d=$(mktemp -d "${AB_TMP:-/tmp}/deps.XXXXXX")
trap 'rm -rf "$d"' EXIT
mkdir "$d/bin"
# dpkg-query: installed unless named in $d/missing.
cat >"$d/bin/dpkg-query" <<'FAKE'
#!/bin/bash
p=${!#}
if grep -qx "$p" "$FAKE_DIR/missing" 2>/dev/null; then
	exit 1
fi
printf 'install ok installed'
FAKE
# apt-get: logs its arguments and whether the policy file says "not now".
cat >"$d/bin/apt-get" <<'FAKE'
#!/bin/bash
policy=no
if [ -x "$AB_DEPS_POLICY" ]; then
	"$AB_DEPS_POLICY"
	[ $? -eq 101 ] && policy=101
fi
echo "apt-get $* policy=$policy" >>"$FAKE_DIR/log"
exit "${FAKE_APT_RC:-0}"
FAKE
chmod 0755 "$d/bin/dpkg-query" "$d/bin/apt-get"
printf '# a comment\n\npkg-a\npkg-b\npkg-c\n' >"$d/list"

run() {	# run: scripts/deps.sh with the fakes; sets OUT and RC
	OUT=$(PATH="$d/bin:$PATH" FAKE_DIR=$d AB_DEPS_LIST=$d/list \
	    AB_DEPS_POLICY=$d/policy-rc.d bash "$top/scripts/deps.sh" 2>&1)
	RC=$?
}

# Nothing missing: no apt-get at all.
: >"$d/missing"
run
tap_is "$RC:$(cat "$d/log" 2>/dev/null)" "0:" \
    "all installed: exits 0 and runs no apt-get"

# Two missing, no policy file: one is made for the install, then removed.
printf 'pkg-b\npkg-c\n' >"$d/missing"
rm -f "$d/log"
run
tap_is "$RC" 0 "missing packages, no policy-rc.d: exits 0"
tap_like "$(cat "$d/log")" "install -y -qq --no-install-recommends pkg-b pkg-c policy=101" \
    "only the missing packages are installed, with services held back"
tap_ok "$([ ! -e "$d/policy-rc.d" ]; echo $?)" "the policy-rc.d it made is removed"

# A policy-rc.d of the machine's own (Debian container images have one):
# kept as it was, and the script still exits 0.
printf '#!/bin/sh\n# the machine'"'"'s own\nexit 101\n' >"$d/policy-rc.d"
chmod 0755 "$d/policy-rc.d"
before=$(cat "$d/policy-rc.d")
rm -f "$d/log"
run
tap_is "$RC" 0 "missing packages, a policy-rc.d already there: exits 0"
tap_is "$(cat "$d/policy-rc.d")" "$before" "the machine's policy-rc.d is left as it was"

# apt-get fails: so does the script, and its own policy file still goes.
rm -f "$d/policy-rc.d" "$d/log"
OUT=$(PATH="$d/bin:$PATH" FAKE_DIR=$d FAKE_APT_RC=100 AB_DEPS_LIST=$d/list \
    AB_DEPS_POLICY=$d/policy-rc.d bash "$top/scripts/deps.sh" 2>&1)
RC=$?
tap_ok "$([ "$RC" -ne 0 ]; echo $?)" "a failing apt-get fails the script (exit $RC)"
tap_ok "$([ ! -e "$d/policy-rc.d" ]; echo $?)" \
    "the policy-rc.d it made is removed after a failure too"

tap_done
