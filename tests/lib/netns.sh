# netns.sh - network namespaces and a private autoban setup for the
# banhelper and end-to-end suites (sourced after tap.sh).
#
# Every namespace, process and file made here is ours and is removed by
# ab_cleanup (run on exit); processes are ended by the PIDs we started.
# Addresses come only from the documentation ranges.

AB_BUILD=${AB_BUILD:?}
AB_TOP=${AB_TOP:?}
BH=$AB_BUILD/banhelper
AB_NAMESPACES=()
AB_PIDS=()
AB_DIR=$(mktemp -d "${AB_TMP:-/tmp}/suite.XXXXXX")
chmod 0755 "$AB_DIR"

ab_cleanup() {
	local p ns
	for p in "${AB_PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${AB_PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	for ns in "${AB_NAMESPACES[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf "$AB_DIR"
}
trap ab_cleanup EXIT

# ns_new NAME: a fresh namespace "ab<pid>-NAME" with loopback up, in $NS
# (not called in a subshell, so cleanup knows it).
ns_new() {
	NS="ab$$-$1"
	ip netns add "$NS" || return 1
	AB_NAMESPACES+=("$NS")
	ip -n "$NS" link set lo up
}

# conf_write FILE [EXTRA LINES]: db and runtime_dir private to this suite.
conf_write() {
	local f=$1 d
	shift
	d=$(dirname "$f")
	mkdir -p "$d/db" "$d/run"
	chmod 0700 "$d/db" "$d/run"
	{
		echo "db = $d/db"
		echo "runtime_dir = $d/run"
		printf '%s\n' "$@"
	} >"$f"
	chmod 0644 "$f"
}

# wait_for SECONDS CMD...: poll CMD every 20 ms until it succeeds.
wait_for() {
	local limit=$1 i=0 n
	shift
	n=$((limit * 50))
	while [ $i -lt $n ]; do
		"$@" && return 0
		sleep 0.02
		i=$((i + 1))
	done
	return 1
}

# nft_elems NS SET: "element timeout" lines of a set of table inet autoban.
nft_elems() {
	ip netns exec "$1" nft -j list set inet autoban "$2" 2>/dev/null |
	    python3 -c '
import json, sys
try:
    doc = json.load(sys.stdin)
except Exception:
    sys.exit(0)
for item in doc.get("nftables", []):
    for e in item.get("set", {}).get("elem", []):
        inner = e.get("elem", {}) if isinstance(e, dict) else {}
        v = inner.get("val", e)
        if isinstance(v, dict) and "prefix" in v:
            v = "%s/%d" % (v["prefix"]["addr"], v["prefix"]["len"])
        elif isinstance(v, dict) and "range" in v:
            v = "%s-%s" % tuple(v["range"])
        print(v, inner.get("expires", ""))
'
}

# has_elem NS SET ELEM: ELEM is in the set.
has_elem() {
	nft_elems "$1" "$2" | awk '{print $1}' | grep -qxF -- "$3"
}

# no_elem NS SET ELEM: ELEM is not in the set.
no_elem() {
	! has_elem "$@"
}

# daemon_start NS CONF [ARGS]: banhelper run in NS; sets DAEMON_PID.
daemon_start() {
	local ns=$1 conf=$2
	shift 2
	ip netns exec "$ns" "$BH" -c "$conf" run "$@" \
	    >>"$AB_DIR/daemon.log" 2>&1 &
	DAEMON_PID=$!
	AB_PIDS+=("$DAEMON_PID")
	wait_for 5 test -S "$(dirname "$conf")/run/wake.sock"
}

daemon_stop() {
	kill "$DAEMON_PID" 2>/dev/null
	wait "$DAEMON_PID" 2>/dev/null
	DAEMON_RC=$?
}

# pam_svc CONF: the PAM service "svc" in $AB_DIR/pam.d, the one autoban line
# (reading CONF) on top of pam_deny, so that attack() bans "from the module".
pam_svc() {
	mkdir -p "$AB_DIR/pam.d"
	printf 'auth requisite %s conf=%s\nauth required pam_deny.so\n' \
	    "$AB_BUILD/pam_autoban.so" "$1" >"$AB_DIR/pam.d/svc"
}

# attack RHOST N: N failed PAM transactions from RHOST through "svc".
attack() {
	"$AB_BUILD/tests/pamdrive" -c "$AB_DIR/pam.d" -s svc -r "$1" -n "$2" \
	    >/dev/null
}
