#!/bin/bash
# module.sh - properties of pam_autoban.so itself: what it exports, what it
# links, and 110 PAM transactions (210 attempts) under valgrind with no
# leak or error.
set -u
. "$(dirname "$0")/../lib/tap.sh"
B=${AB_BUILD:?}
mod=$B/pam_autoban.so
t=$(mktemp -d "${AB_TMP:-/tmp}/module.XXXXXX")
trap 'rm -rf "$t"' EXIT

exports=$(nm -D --defined-only "$mod" | awk '{print $3}' | sort | tr '\n' ' ')
tap_is "$exports" "pam_sm_acct_mgmt pam_sm_authenticate pam_sm_setcred " \
    "the module exports only pam_sm_acct_mgmt, pam_sm_authenticate and pam_sm_setcred"

needed=$(readelf -d "$mod" | awk '/NEEDED/{print $5}' | tr -d '[]' | tr '\n' ' ')
case "$needed" in
*nftables*|*libcap*) tap_ok 1 "the module links neither libnftables nor libcap" "$needed" ;;
*) tap_ok 0 "the module links neither libnftables nor libcap ($needed)" ;;
esac

# Linked as linux-pam links its own modules: LMDB as Debian ships it
# (liblmdb.so, so its security updates reach the module), no undefined
# symbol, full RELRO.
case " $needed " in
*" liblmdb.so.0 "*) tap_ok 0 "the module links Debian's liblmdb.so.0" ;;
*) tap_ok 1 "the module links Debian's liblmdb.so.0" "$needed" ;;
esac
# No DNS inside sshd: host names in ignoreip are banhelper's to resolve.
tap_is "$(nm -D --undefined-only "$mod" | grep -cE ' (getaddrinfo|gethostbyname|gethostbyaddr|getnameinfo|res_[a-z]+)(@|$)')" 0 \
    "the module calls no resolver function"
tap_is "$(ldd -r "$mod" 2>&1 | grep -c 'undefined symbol')" 0 \
    "every symbol the module uses is resolved (-z defs)"
tap_like "$(readelf -lW "$mod" | grep -c GNU_RELRO):$(readelf -dW "$mod" | grep -cE 'BIND_NOW|FLAGS.*NOW')" \
    "^1:[1-9]" "full RELRO: a read-only relocation segment, bound at load"

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
vg() {	# vg LOG PAMDRIVE-ARGS...: valgrind memcheck, errors make exit 99
	log=$1; shift
	valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect \
	    --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
	    --log-file="$log" "$B/tests/pamdrive" -c "$t/pam.d" -s vg "$@"
}
# 40 IPv4 hosts, each trying passwords on one connection (one PAM handle,
# the module's LMDB environment kept between its attempts, as in sshd's
# monitor): 5 counted, the 6th banned; then 40 more connections refused;
# then 50 good logins with pam_setcred (each also earns trust).
out=$(vg "$t/vg1.log" -b v4 -H 20 -n 20 -A 6 2>&1)
rc=$?
tap_is "$rc" 0 "20 connections of 6 failing attempts under valgrind: no error, no leak"
[ "$rc" -ne 0 ] && sed 's/^/# /' "$t/vg1.log" | head -40
tap_like "$out" "auth_err=100 maxtries=20" \
    "those 120 attempts counted 5 per host and banned at the 6th"
out=$(vg "$t/vg3.log" -b v4 -H 20 -n 40 2>&1)
rc=$?
tap_is "$rc" 0 "40 refused transactions under valgrind: no error, no leak"
[ "$rc" -ne 0 ] && sed 's/^/# /' "$t/vg3.log" | head -40
tap_like "$out" "auth_err=0 maxtries=40" "all 40 refused"
out=$(vg "$t/vg2.log" -b v6 -H 50 -n 50 -p secret -S 2>&1)
rc=$?
tap_is "$rc" 0 "50 good logins with setcred under valgrind: no error, no leak"
[ "$rc" -ne 0 ] && sed 's/^/# /' "$t/vg2.log" | head -40
tap_like "$out" "success=50" "all 50 good logins succeeded"
tap_done
