#!/bin/bash
# module.sh - properties of pam_autoban.so itself: what it exports, what it
# links, and 1000 PAM transactions under valgrind with no leak or error.
set -u
. "$(dirname "$0")/../lib/tap.sh"
B=${AB_BUILD:?}
mod=$B/pam_autoban.so
t=$(mktemp -d "${AB_TMP:-/tmp}/module.XXXXXX")
trap 'rm -rf "$t"' EXIT

exports=$(nm -D --defined-only "$mod" | awk '{print $3}' | sort | tr '\n' ' ')
tap_is "$exports" "pam_sm_authenticate pam_sm_setcred " \
    "the module exports only pam_sm_authenticate and pam_sm_setcred"

needed=$(readelf -d "$mod" | awk '/NEEDED/{print $5}' | tr -d '[]' | tr '\n' ' ')
case "$needed" in
*nftables*|*libcap*) tap_ok 1 "the module links neither libnftables nor libcap" "$needed" ;;
*) tap_ok 0 "the module links neither libnftables nor libcap ($needed)" ;;
esac

# pam_module/cold.c's functions are bound when called, not imported: each
# import is a symbol lookup on every login (libpam loads with RTLD_NOW).
cold=$(sed -nE 's/^FORWARD\([^,]+, ([a-z_]+),.*/\1/p; s/^(abort|__[a-z]+_chk)\(.*/\1/p' \
    "$(dirname "$0")/../../pam_module/cold.c" | sort -u)
imports=$(nm -D --undefined-only "$mod" | awk '{sub(/@.*/, "", $2); print $2}')
both=$(comm -12 <(echo "$cold") <(echo "$imports" | sort -u) | tr '\n' ' ')
tap_is "$(echo "$cold" | wc -l):$both" "38:" \
    "the module imports none of the 38 functions cold.c binds on first call"
case " $(echo $imports) " in
*" __cxa_finalize "*|*" __gmon_start__ "*|*" _ITM_"*)
	tap_ok 1 "no start-file imports (__cxa_finalize, __gmon_start__, _ITM_*)" ;;
*)	tap_ok 0 "no start-file imports (__cxa_finalize, __gmon_start__, _ITM_*)" ;;
esac

mkdir -p "$t/pam.d" "$t/run"
cat >"$t/autoban.conf" <<CONF
maxretry = 5
db = $t/db
runtime_dir = $t/run
CONF
cat >"$t/pam.d/vg" <<PAM
auth requisite $mod conf=$t/autoban.conf
auth required $B/tests/pam_testpw.so password=secret count=$t/count
PAM
# Six attempts in one process, as sshd's monitor runs every attempt of a
# connection: the module's write environments (3 MB each, freed on close)
# must not move into the process's heap.  With libc's calloc and free for
# LMDB the first close raised glibc's mmap threshold, and from the second
# attempt on 3 MB came from the heap (cleared by hand) and stayed: 5 MB.
out=$("$B/tests/pamdrive" -c "$t/pam.d" -s vg -H 1000000 -F 900000 -n 6 2>&1)
heap=$(echo "$out" | grep -oP 'heap_kb=\K[0-9]+')
tap_ok "$([ -n "$heap" ] && [ "$heap" -lt 1024 ]; echo $?)" \
    "six attempts in one process leave its heap under 1 MiB (${heap:-?} KiB)"
tap_like "$out" "auth_err=6" "those six were counted failures"

# LMDB gets a duplicate of the descriptor the store code opened, checked
# and locked (pam_module/lmdb_open.c), not the name /proc/self/fd/N: the
# first walk of that name cost a fresh process (sshd's, per connection)
# 30-36 us.  One counted attempt, both stores opened, no such name.
strace -f -qq -e trace=open,openat -o "$t/open.trace" \
    "$B/tests/pamdrive" -c "$t/pam.d" -s vg -H 1000000 -F 800000 -n 1 \
    >"$t/open.out" 2>&1
tap_like "$(cat "$t/open.out")" "auth_err=1" "one more counted failure"
opens=$(grep -cE '"(bans|counts)\.mdb"' "$t/open.trace")
procfd=$(grep -c '/proc/self/fd/' "$t/open.trace")
tap_is "$opens:$procfd" "2:0" \
    "it opened both stores by their names and no /proc/self/fd name"

vg() {	# vg LOG PAMDRIVE-ARGS...: valgrind memcheck, errors make exit 99
	log=$1; shift
	valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect \
	    --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
	    --log-file="$log" "$B/tests/pamdrive" -c "$t/pam.d" -s vg "$@"
}
# 800 failures over 40 IPv4 hosts: counting, banning at the 6th attempt
# of each host, refusing after; then 200 good logins with pam_setcred.
out=$(vg "$t/vg1.log" -b v4 -H 40 -n 800 2>&1)
rc=$?
tap_is "$rc" 0 "800 failing transactions under valgrind: no error, no leak"
[ "$rc" -ne 0 ] && sed 's/^/# /' "$t/vg1.log" | head -40
tap_like "$out" "auth_err=200 maxtries=600" \
    "those 800 counted 5 per host and refused the rest"
out=$(vg "$t/vg2.log" -b v6 -H 200 -n 200 -p secret -S 2>&1)
rc=$?
tap_is "$rc" 0 "200 good logins with setcred under valgrind: no error, no leak"
[ "$rc" -ne 0 ] && sed 's/^/# /' "$t/vg2.log" | head -40
tap_like "$out" "success=200" "all 200 good logins succeeded"
tap_done
