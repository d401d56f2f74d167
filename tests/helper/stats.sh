#!/bin/bash
# stats.sh - banhelper stats --prometheus, read by a real Prometheus
# text-format parser (Debian's python3-prometheus-client): every family
# parses, its values are what the module, the admin and the kernel did, and
# no label names an address; and metrics = yes, the daemon writing them for
# node_exporter's textfile collector every metrics_interval.
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
attack 203.0.113.21 4		# banned after 3: the 4th refused
attack 203.0.113.21 1		# refused
attack 203.0.113.22 2		# counted
bh ban 198.51.100.0/24 >/dev/null
bh ban 2001:db8:5::/48 >/dev/null
bh ban 192.0.2.0/24 >/dev/null
bh unban 192.0.2.0/24 >/dev/null
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
want(val("autoban_service_bans_total", service="svc"), 1.0, "auto bans of svc")
want(val("autoban_refusals_total", service="svc"), 2.0, "refusals of svc")
want(val("autoban_bans_total", origin="auto"), 1.0, "auto bans made")
want(val("autoban_bans_total", origin="manual"), 3.0, "manual bans made")
want(val("autoban_bans_total", origin="fleet"), 0.0, "fleet bans made")
want(val("autoban_unbans_total", origin="manual"), 1.0, "manual bans lifted")
want(val("autoban_unbans_total", origin="auto"), 0.0, "auto bans lifted")
want(fams["autoban_sync_duration_seconds"].type, "histogram", "sync type")
ok, failed = (val("autoban_syncs_total", result=r) for r in ("ok", "failed"))
if ok < 2 or failed != 0:
    bad.append("syncs: %r ok, %r failed" % (ok, failed))
want(val("autoban_sync_duration_seconds_count"), ok + failed, "syncs timed")
b = [s.value for s in fams["autoban_sync_duration_seconds"].samples
     if s.name.endswith("_bucket")]
if b != sorted(b) or b[-1] != ok + failed:
    bad.append("sync buckets not cumulative: %r" % b)
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
extra = labels - {"service", "origin", "family", "store", "version", "event",
                  "result", "le"}
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
tap_like "$(bh status svc)" "Total refused:	2" \
    "status SERVICE counts the refusals too"
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

# --- metrics = yes: the daemon writes them for node_exporter ------------------
# node_exporter's directory is root's; an old writer's file is in the way.
T=$AB_DIR/node-exporter
mkdir -p "$T"
chmod 0755 "$T"
echo "old 1" >"$T/autoban.prom"
conf_write "$C" "maxretry = 3" "bantime = 1h" "sync_interval = 1s" \
    "metrics = yes" "metrics_interval = 5s" "metrics_dir = $T"
daemon_start "$NS" "$C"
P=$AB_DIR/run/autoban.prom
wait_for 5 test -s "$P"
tap_is "$(readlink "$T/autoban.prom")" "$P" \
    "metrics = yes: METRICS_DIR/autoban.prom links to runtime_dir's file"
tap_is "$(stat -c '%a %U' "$P") $(stat -c %a "$AB_DIR/run")" \
    "644 _autoban 711" \
    "written by the daemon's own user, readable by node_exporter's (runtime_dir 0711)"
tap_is "$(/usr/bin/python3 -c '
import sys
from prometheus_client.parser import text_string_to_metric_families
f = {m.name: m for m in text_string_to_metric_families(open(sys.argv[1]).read())}
print(f["autoban_daemon_up"].samples[0].value,
      f["autoban_bans_active"].type)' "$T/autoban.prom")" "1.0 gauge" \
    "read through the link, it parses and says the daemon is up"
# Debian's node_exporter, as an unprivileged user like its own, scrapes it.
chmod o+x "$AB_DIR"
$N setpriv --reuid=nobody --regid=nogroup --clear-groups \
    /usr/bin/prometheus-node-exporter --web.listen-address=127.0.0.1:9100 \
    --collector.disable-defaults --collector.textfile \
    --collector.textfile.directory="$T" >>"$AB_DIR/node-exporter.log" 2>&1 &
AB_PIDS+=("$!")
scrape() {
	$N /usr/bin/python3 -c '
import sys, urllib.request
from prometheus_client.parser import text_string_to_metric_families
t = urllib.request.urlopen("http://127.0.0.1:9100/metrics", timeout=5).read()
v = {s.name: s.value for f in text_string_to_metric_families(t.decode())
     for s in f.samples if not s.labels or s.name == "autoban_build_info"}
print(v["node_textfile_scrape_error"], v["autoban_daemon_up"],
      v["autoban_build_info"])' 2>/dev/null
}
wait_for 10 scrape >/dev/null
tap_is "$(scrape)" "0.0 1.0 1.0" \
    "Debian's node_exporter, as an unprivileged user, serves them through the link"
bh ban 198.51.100.77 >/dev/null
manual() {
	awk '$1 == "autoban_bans_total{origin=\"manual\"}" {print $2}' "$P"
}
manual_is() { [ "$(manual)" = "$1" ]; }
tap_ok "$(wait_for 15 manual_is 4; echo $?)" \
    "within metrics_interval, a new ban is in the file (bans_total manual $(manual))"
# runtime_dir is 0711 now: the module still counts and bans there.
attack 203.0.113.23 4
auto_is() {
	[ "$(awk '$1 == "autoban_bans_total{origin=\"auto\"}" {print $2}' "$P")" = "$1" ]
}
tap_ok "$(wait_for 15 auto_is 2; echo $?)" \
    "with runtime_dir opened to node_exporter, the module still bans (auto bans 2 in the file)"
kfig() { grep -E '^autoban_kernel_(elements|in_sync) ' "$@"; }
tap_is "$(kfig "$P")" "$(bh stats --prometheus | kfig)" \
    "the daemon's kernel figures (from what it put there) are those of a look at the kernel"
tap_is "$(ls -A "$AB_DIR/run" | grep -c '\.tmp\.')" 0 \
    "no half-written file is left beside it"
daemon_stop
tap_is "$(grep '^autoban_daemon_up' "$P")" "autoban_daemon_up 0" \
    "a stopped daemon's last write says it is down"
# metrics_dir = runtime_dir: the file is written there, never a link to
# itself.
conf_write "$C" "metrics = yes" "metrics_dir = $AB_DIR/run"
daemon_start "$NS" "$C"
wait_for 5 grep -q '^autoban_daemon_up 1' "$P"
tap_ok "$([ -f "$P" ] && [ ! -L "$P" ] && grep -q "no link is made" \
    "$AB_DIR/daemon.log"; echo $?)" \
    "metrics_dir = runtime_dir: the file is written there, and no link is made"
daemon_stop
tap_done
