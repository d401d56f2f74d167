#!/bin/bash
# fleet.sh - a ban on one server, in every other server's kernel, through
# Redis (issue 26's targets: p99 <= 20 ms with 10 servers; a burst of
# 10 000 bans from one server in every kernel within 2 s).
#
# One redis-server (Debian's) in a namespace of its own with a password and
# append-only file, as docs/fleet.md sets it up; 3, then 10 servers, each a
# namespace with its own store, nftables table and banhelper daemon (the
# installed defaults but the paths).  Each kernel is watched with
# `nft monitor`; a ban is `banhelper ban ADDR` on server 1, timed from the
# element in server 1's own kernel to the element in each other server's
# (CLOCK_MONOTONIC, shared by the namespaces), and from the command's start.
# BENCH_FLEET_BANS (200) sequential bans per fleet size, then one
# `banhelper ban -` of BENCH_FLEET_BURST (10 000) IPv6 /64s.  banhelper's
# CPU (utime + stime of every daemon) and peak RSS are reported.  The
# watchers (this script's Python and nft monitor) run at SCHED_FIFO 2,
# above the daemons' SCHED_FIFO 1: all N servers share this machine's
# cores, and a watcher kept waiting would add its wait to every figure.
. "$(dirname "$0")/lib.sh"
bench_ns "$@"
MD=$RESULTS/fleet.md
BH=$AB_BUILD/banhelper
BANS=${BENCH_FLEET_BANS:-200}
[ "$BANS" -le 250 ] || { echo "fleet.sh: at most 250 bans (203.0.113.1-250)" >&2; exit 2; }
BURST=${BENCH_FLEET_BURST:-10000}
SIZES=${BENCH_FLEET_SIZES:-"3 10"}
PW=bench-$$
command -v redis-server >/dev/null || bench_apt redis-server

printf '%s\n' "$PW" >"$W/fleet.pw"
chmod 0600 "$W/fleet.pw"

run_size() {	# run_size N: a fleet of N servers, its figures on stdout
	local n=$1 i ns d rns="fr$$-$n-red" pids=() redis
	ip netns add "$rns"
	BENCH_NS+=("$rns")
	ip -n "$rns" link set lo up
	ip -n "$rns" link add br0 type bridge
	ip -n "$rns" addr add 198.51.100.1/24 dev br0
	ip -n "$rns" link set br0 up
	mkdir -p "$W/redis-$n"
	ip netns exec "$rns" chrt -f 2 redis-server --bind 198.51.100.1 --port 6379 \
	    --requirepass "$PW" --dir "$W/redis-$n" --appendonly yes \
	    --save '' --protected-mode no --daemonize no \
	    --logfile "$W/redis-$n/redis.log" &
	redis=$!
	BENCH_PIDS+=("$redis")
	for i in $(seq 1 "$n"); do
		ns="fs$$-$n-$i"
		d=$W/fleet-$n/s$i
		ip netns add "$ns"
		BENCH_NS+=("$ns")
		ip -n "$ns" link set lo up
		ip link add "b$$-$i" netns "$ns" type veth peer name \
		    "r$$-$i" netns "$rns"
		ip -n "$rns" link set "r$$-$i" master br0 up
		ip -n "$ns" addr add "198.51.100.$((10 + i))/24" dev "b$$-$i"
		ip -n "$ns" link set "b$$-$i" up
		mkdir -p "$d/db" "$d/run"
		chmod 0700 "$d/db" "$d/run"
		printf '%s\n' "db = $d/db" "runtime_dir = $d/run" \
		    "bantime = 1h" "fleet = redis://198.51.100.1:6379" \
		    "fleet_name = s$i" "fleet_password_file = $W/fleet.pw" \
		    >"$d/autoban.conf"
		ip netns exec "$ns" "$BH" -c "$d/autoban.conf" run \
		    >>"$d/daemon.log" 2>&1 &
		pids+=("$!")
		BENCH_PIDS+=("$!")
	done
	# Every daemon linked before the clock starts.
	for i in $(seq 1 "$n"); do
		for _ in $(seq 200); do
			ip netns exec "fs$$-$n-$i" "$BH" -c \
			    "$W/fleet-$n/s$i/autoban.conf" status 2>/dev/null |
			    grep -q "^fleet: .*: connected" && break
			sleep 0.05
		done
	done
	chrt -f 2 python3 - "$n" "$BANS" "$BURST" "$BH" "$W/fleet-$n" "$$" "$PW" \
	    "${pids[@]}" <<'EOF'
import os, re, select, subprocess, sys, time

TOKEN = re.compile(rb"[0-9a-f.:]+(?:/[0-9]+)?")

n, bans, burst, bh, top, tag, pw = (int(sys.argv[1]), int(sys.argv[2]),
    int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6], sys.argv[7])
pids = [int(p) for p in sys.argv[8:]]
ns = ["fs%s-%d-%d" % (tag, n, i) for i in range(1, n + 1)]
conf = ["%s/s%d/autoban.conf" % (top, i) for i in range(1, n + 1)]

def cpu(pid):
    with open("/proc/%d/stat" % pid) as f:
        v = f.read().rsplit(")", 1)[1].split()
    return (int(v[11]) + int(v[12])) / os.sysconf("SC_CLK_TCK")

def hwm(pid):
    with open("/proc/%d/status" % pid) as f:
        for l in f:
            if l.startswith("VmHWM:"):
                return int(l.split()[1])
    return 0

mons = []
for s in ns:
    p = subprocess.Popen(["ip", "netns", "exec", s, "nft", "monitor",
        "elements"], stdout=subprocess.PIPE, bufsize=0)
    mons.append(p)
time.sleep(0.5)
bufs = [b""] * len(mons)

def poll(until, want, seen):
    """Read monitor lines until each watcher saw every address of want."""
    while time.monotonic() < until:
        if all(want <= s for s in seen):
            return True
        r, _, _ = select.select([m.stdout for m in mons], [], [], 0.05)
        now = time.monotonic()
        for k, m in enumerate(mons):
            if m.stdout not in r:
                continue
            data = os.read(m.stdout.fileno(), 1 << 20)
            bufs[k] += data
            *lines, bufs[k] = bufs[k].split(b"\n")
            for l in lines:
                if not l.startswith(b"add element"):
                    continue
                for t in TOKEN.findall(l):
                    a = t.split(b"/")[0].decode()
                    if a in want and a not in seen[k]:
                        seen[k].add(a)
                        arrived.setdefault((k, a), now)
    return all(want <= s for s in seen)

c0 = [cpu(p) for p in pids]
lat = []
own = []
rel = []
lost = 0
for i in range(bans):
    a = "203.0.113.%d" % (i + 1)
    arrived = {}
    seen = [set() for _ in mons]
    t0 = time.monotonic()
    subprocess.run(["ip", "netns", "exec", ns[0], bh, "-c", conf[0], "ban",
        a], stdout=subprocess.DEVNULL, check=True)
    if not poll(t0 + 2.0, {a}, seen):
        lost += 1
    lat += [(arrived[(k, a)] - t0) * 1000 for k in range(1, len(mons))
            if (k, a) in arrived]
    if (0, a) in arrived:
        own.append((arrived[(0, a)] - t0) * 1000)
        rel += [(arrived[(k, a)] - arrived[(0, a)]) * 1000
                for k in range(1, len(mons)) if (k, a) in arrived]
c1 = [cpu(p) for p in pids]

# The burst: BURST IPv6 /64s in one banhelper ban - on server 1.
addrs = ["2001:db8:%x:%x::/64" % (j >> 16, j & 0xffff) for j in range(burst)]
text = "".join(x + "\n" for x in addrs).encode()
want = set(x.split("/")[0] for x in addrs)
# nft writes IPv6 addresses in their shortest form.
import ipaddress
want = set(str(ipaddress.ip_address(x)) for x in want)
arrived = {}
seen = [set() for _ in mons]
t0 = time.monotonic()
subprocess.run(["ip", "netns", "exec", ns[0], bh, "-c", conf[0], "ban", "-"],
    input=text, stdout=subprocess.DEVNULL, check=True)
t_cli = (time.monotonic() - t0) * 1000
# nft monitor falls behind a burst (it prints every element): the burst
# is timed by asking each kernel, every 20 ms, for its last element (the
# fleet applies a server's events in order), then every element is counted.
for m in mons:
    m.kill()
lastel = str(ipaddress.ip_address(addrs[-1].split("/")[0]))
done = set()
burst_ms = float("nan")
while time.monotonic() < t0 + 30.0 and len(done) < n - 1:
    for k in range(1, n):
        if k not in done and subprocess.run(["ip", "netns", "exec", ns[k],
                "nft", "get", "element", "inet", "autoban", "v6",
                "{ %s }" % lastel], capture_output=True).returncode == 0:
            done.add(k)
    if len(done) == n - 1:
        burst_ms = (time.monotonic() - t0) * 1000
        break
    time.sleep(0.02)
complete = 0
for k in range(1, n):
    out = subprocess.run(["ip", "netns", "exec", ns[k], "nft", "list", "set",
        "inet", "autoban", "v6"], capture_output=True).stdout
    complete += out.count(b"2001:db8:") >= burst
if complete != n - 1:
    burst_ms = float("nan")
c2 = [cpu(p) for p in pids]
# When Redis took the burst's first and last events (their stream ids).
ids = subprocess.run(["ip", "netns", "exec", "fr%s-%d-red" % (tag, n),
    "redis-cli", "-h", "198.51.100.1", "-a", pw, "--no-auth-warning",
    "XRANGE", "autoban:events", "-", "+"], capture_output=True,
    text=True).stdout.split()
ids = [int(x.split("-")[0]) for x in ids if re.fullmatch(r"[0-9]+-[0-9]+", x)]
pub_ms = ids[-1] - ids[bans] if len(ids) > bans else float("nan")
def q(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(p * len(v)))] if v else float("nan")
print("|".join(str(x) for x in [n, bans, len(rel),
    "%.1f" % q(rel, 0.5), "%.1f" % q(rel, 0.9), "%.1f" % q(rel, 0.99),
    "%.1f" % max(rel or [float("nan")]), "%.1f" % q(own, 0.5),
    "%.1f" % q(lat, 0.5), "%.1f" % q(lat, 0.99), lost, burst,
    "%.0f" % t_cli, "%.0f" % pub_ms, "%.0f" % burst_ms, "%.2f" % (sum(c1) - sum(c0)),
    "%.2f" % (sum(c2) - sum(c1)), max(hwm(p) for p in pids),
    sum(hwm(p) for p in pids) // len(pids)]))
EOF
	for i in "${pids[@]}" "$redis"; do
		kill "$i" 2>/dev/null
		wait "$i" 2>/dev/null
	done
	# Done with them (bench_cleanup would also remove them).
	for i in $(seq 1 "$n"); do
		ip netns del "fs$$-$n-$i" 2>/dev/null
	done
	ip netns del "$rns" 2>/dev/null
}

rows=()
for n in $SIZES; do
	echo "fleet of $n servers..." >&2
	# Not in $(...): its namespaces and processes must reach
	# bench_cleanup's lists should the run be cut short.
	run_size "$n" >"$W/row-$n"
	rows+=("$(cat "$W/row-$n")")
done

{
	echo "## A fleet through Redis"
	echo
	run_stamp
	echo
	echo "\`bash bench/fleet.sh\`: one redis-server $(redis-server --version |
	    sed -n 's/.*v=\([^ ]*\).*/\1/p') (append-only file, password) and" \
	    "N servers, each a namespace with its own store, nftables table" \
	    "and banhelper daemon, all on this one machine.  A ban is" \
	    "\`banhelper ban ADDR\` on server 1, one at a time; p50..max" \
	    "are the time from the element in server 1's own kernel to the" \
	    "element in each other server's kernel (\`nft monitor\` in each," \
	    "CLOCK_MONOTONIC); the command's own time (a process that reads" \
	    "the configuration, writes the store and the kernel) is shown" \
	    "beside it.  The burst is one" \
	    "\`banhelper ban -\` of $BURST IPv6 /64s on server 1, timed to the" \
	    "last element in the last kernel."
	echo
	echo "| servers | bans | arrivals | p50 ms | p90 ms | p99 ms | max ms | server 1's \`ban\` to its own kernel, p50 ms | from the command's start, p50 / p99 ms | not in 2 s | burst | \`ban -\` on server 1 ms | its first to last event in Redis ms | burst in every kernel ms | CPU s, all daemons (bans) | CPU s (burst) | peak RSS KiB (max) | peak RSS KiB (mean) |"
	echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
	for r in "${rows[@]}"; do
		IFS='|' read -r -a f <<<"$r"
		echo "| ${f[0]} | ${f[1]} | ${f[2]} | ${f[3]} | ${f[4]} | ${f[5]} | ${f[6]} | ${f[7]} | ${f[8]} / ${f[9]} | ${f[10]} | ${f[11]} | ${f[12]} | ${f[13]} | ${f[14]} | ${f[15]} | ${f[16]} | ${f[17]} | ${f[18]} |"
	done
	echo
	echo "Targets (issue 26): p99 <= 20 ms with 10 servers; the burst of" \
	    "10 000 in every kernel within 2 s."
} >"$MD"
cat "$MD"
