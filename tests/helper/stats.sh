#!/bin/bash
# stats.sh - banhelper stats --prometheus, read by a real Prometheus
# text-format parser (Debian's python3-prometheus-client): every family
# parses, its values are what the module, the admin and the kernel did, and
# no label names an address.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/tap.sh"
. "$here/../lib/netns.sh"

C=$AB_DIR/ab.conf
conf_write "$C" "maxretry = 3" "bantime = 1h" "sync_interval = 1s"
ns_new sta
N="ip netns exec $NS"
bh() { $N "$BH" -c "$C" "$@"; }
pam_svc "$C"
daemon_start "$NS" "$C"
attack 203.0.113.21 4		# banned after 3
attack 203.0.113.22 2		# counted
bh ban 198.51.100.0/24 >/dev/null
bh ban 2001:db8:5::/48 >/dev/null
wait_for 3 has_elem "$NS" v4 203.0.113.21
out=$(bh stats --prometheus)
tap_is "$?" 0 "banhelper stats --prometheus exits 0"
printf '%s\n' "$out" >"$AB_DIR/stats.prom"
check=$(/usr/bin/python3 - "$AB_DIR/stats.prom" <<'EOF'
import sys
from prometheus_client.parser import text_string_to_metric_families

fams = {f.name: f for f in text_string_to_metric_families(open(sys.argv[1]).read())}
def val(name, **labels):
    for f in fams.values():
        for s in f.samples:
            if s.name == name and s.labels == labels:
                return s.value
    raise AssertionError("no sample %s%r" % (name, labels))
bad = []
def want(got, exp, what):
    if got != exp:
        bad.append("%s: %r, want %r" % (what, got, exp))
want(fams["autoban_failures"].type, "counter", "failures type")
want(val("autoban_failures_total", service="svc"), 5.0, "failures of svc")
want(val("autoban_bans_total", service="svc"), 1.0, "auto bans of svc")
want(val("autoban_hosts_failing", service="svc"), 2.0, "hosts failing")
want(val("autoban_bans_active", origin="auto", family="ipv4"), 1.0, "auto v4")
want(val("autoban_bans_active", origin="manual", family="ipv4"), 1.0, "manual v4")
want(val("autoban_bans_active", origin="manual", family="ipv6"), 1.0, "manual v6")
want(val("autoban_bans_active", origin="fleet", family="ipv4"), 0.0, "fleet v4")
want(val("autoban_kernel_in_sync"), 1.0, "in sync")
want(val("autoban_daemon_up"), 1.0, "daemon up")
if val("autoban_kernel_elements") < 3:
    bad.append("kernel elements: %r" % val("autoban_kernel_elements"))
bi = fams["autoban_build_info"].samples[0]
want((bi.value, bool(bi.labels.get("version"))), (1.0, True), "build info")
labels = {k for f in fams.values() for s in f.samples for k in s.labels}
extra = labels - {"service", "origin", "family", "store", "version", "event"}
if extra:
    bad.append("unexpected labels %r" % extra)
for f in fams.values():
    if not f.documentation:
        bad.append("%s has no HELP" % f.name)
print("\n".join(bad) if bad else "ok")
EOF
)
tap_is "$check" ok "a real Prometheus parser reads every family, with the values the module, the admin and the kernel made, and no address label"
# --- the picture ------------------------------------------------------------------
chart=$(bh stats)
tap_is "$?" 0 "banhelper stats exits 0"
tap_is "$(printf '%s\n' "$chart" | awk 'length > 80' | wc -l)" 0 \
    "every line of the picture fits 80 columns"
hour=$(date +%H):00
tap_like "$(printf '%s\n' "$chart" | grep "^$hour ")" "^$hour +#+ +5 +=+ +1$" \
    "this hour's row: the 5 failures and the 1 automatic ban, with their bars"
tap_like "$(printf '%s\n' "$chart" | grep "^$(date +%m-%d) ")" " 5 +=+ +1$" \
    "today's row the same"
tap_like "$chart" "203\.0\.113\.21 +1 bans +3 failures  svc" \
    "the busiest prefixes name the banned host, its failures and service"
tap_like "$chart" "svc +5 failures +1 automatic bans" "and the busiest services"
j=$(bh stats --json | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
h, dd = d["hours"], d["days"]
print(len(h), len(dd), h[-1]["failures"], h[-1]["bans"], dd[-1]["failures"],
      d["prefixes"][0]["prefix"], d["services"][0]["service"])')
tap_is "$j" "24 30 5 1 5 203.0.113.21 svc" "banhelper stats --json: the same figures"
tap_is "$(bh stats --json --prometheus >/dev/null 2>&1; echo $?)" 2 \
    "--json and --prometheus together are a usage error"
tap_is "$(bh stats --all >/dev/null 2>&1; echo $?)" 2 "an option it does not take is a usage error"
# --- --output: a file written whole, for the textfile collector -------------------
mkdir -p "$AB_DIR/textfile"
bh stats --prometheus --output "$AB_DIR/textfile/autoban.prom"
tap_is "$?" 0 "stats --prometheus --output FILE"
tap_is "$(grep -c '^autoban_bans_active' "$AB_DIR/textfile/autoban.prom")" 8 \
    "the file holds the metrics"
tap_is "$(ls "$AB_DIR/textfile")" "autoban.prom" "and nothing else is left beside it"
ln -s /etc/passwd "$AB_DIR/textfile/link.prom"
bh stats --prometheus --output "$AB_DIR/textfile/link.prom" 2>/dev/null
tap_ok "$([ ! -L "$AB_DIR/textfile/link.prom" ] &&
    grep -q '^autoban_daemon_up' "$AB_DIR/textfile/link.prom" &&
    ! grep -q autoban_ /etc/passwd; echo $?)" \
    "a symlink in its place is replaced, never written through"
tap_like "$(bh stats --prometheus --output relative.prom 2>&1)" \
    "--output takes an absolute path" "a relative path is refused with a reason"
daemon_stop
tap_like "$(bh stats --prometheus)" $'autoban_daemon_up 0' \
    "with the daemon stopped, it says so"
tap_done
