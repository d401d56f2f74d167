#!/bin/bash
# clock.sh - the real module through libpam while the wall clock steps
# (libfaketime under pamdrive; the host's clock is never touched): no step
# back makes a ban longer than its own length, bans an admin twice for one
# offence, or refuses his right password once his ban is over.
set -u
. "$(dirname "$0")/../lib/tap.sh"
B=${AB_BUILD:?}
t=$(mktemp -d "${AB_TMP:-/tmp}/clock.XXXXXX")
trap 'rm -rf "$t"' EXIT
FT=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1

mkdir -p "$t/pam.d"
cat >"$t/autoban.conf" <<CONF
maxretry = 3
findtime = 10m
bantime = 1h
db = $t/db
runtime_dir = $t/run
CONF
chmod 0644 "$t/autoban.conf"
cat >"$t/pam.d/svc" <<PAM
auth requisite $B/pam_autoban.so conf=$t/autoban.conf
auth required $B/tests/pam_testpw.so password=secret count=$t/count
PAM

# at OFFSET PASSWORD RHOST: one transaction with the clock moved by OFFSET
# (a faketime spec: "+30d", "-1d", "+3660": seconds without a unit);
# prints the result's name.
at() {
	FAKETIME="$1" FAKETIME_DONT_FAKE_MONOTONIC=1 LD_PRELOAD="$FT" \
	    "$B/tests/pamdrive" -c "$t/pam.d" -s svc -p "$2" -r "$3" -n 1 -v |
	    awk 'NR == 1 {print $2}'
}
left() {	# left RHOST: the LEFT column of banhelper list for it, now
	"$B/banhelper" -c "$t/autoban.conf" list | awk -v h="$1" '$1 == h {print $7}'
}

# An admin mistypes three times while the clock is 30 days ahead, and is
# banned there; then the clock is put right.
for i in 1 2 3; do
	at "+30d" wrong 198.51.100.9 >/dev/null
done
tap_is "$(at "+30d" secret 198.51.100.9)" maxtries \
    "30 days ahead: the 4th attempt is refused and bans"
tap_is "$(at "+0" secret 198.51.100.9)" maxtries \
    "the clock put right: still refused (his ban is real) ..."
tap_like "$(left 198.51.100.9)" "^(1h|59m[0-9]*s?|[0-9]+m[0-9]*s?)$" \
    "... for at most its hour, not 4w1d1h"
tap_is "$(at "+3660" secret 198.51.100.9)" success \
    "an hour later his right password works"
tap_is "$(at "+1d" secret 198.51.100.9)" success \
    "and he is not banned again the next day"

# A ban made now, then the clock a day back: still a one-hour ban.
for i in 1 2 3; do
	at "+0" wrong 198.51.100.10 >/dev/null
done
tap_is "$(at "+0" secret 198.51.100.10)" maxtries "a ban made now"
tap_is "$(at "-1d" secret 198.51.100.10)" maxtries \
    "the clock a day back: still refused"
# (a second may pass between the ban and the look: 59m59s is an hour too)
tap_like "$(FAKETIME=-1d LD_PRELOAD="$FT" left 198.51.100.10)" \
    "^(1h|59m[0-9]+s)$" "... with an hour left, not 25 hours"
tap_is "$(at "-82740" secret 198.51.100.10)" success \
    "... and an hour later by that clock he logs in"
tap_done
