#!/bin/bash
# with-devlog.sh LOGFILE CMD...: run CMD in a private mount namespace whose
# /dev/log is a socket feeding LOGFILE.  The host's /dev is never changed:
# the namespace gets a tmpfs over /dev holding bind mounts of the few device
# nodes programs need, plus our socket.
set -eu
log=$1; shift
here=$(cd "$(dirname "$0")" && pwd)
if [ "${AB_IN_DEVLOG_NS:-}" != 1 ]; then
	AB_IN_DEVLOG_NS=1 exec unshare --mount --propagation private "$0" "$log" "$@"
fi
stash=$(mktemp -d /tmp/ab-devlog.XXXXXX)
mount --bind /dev "$stash"
mount -t tmpfs -o mode=0755,size=1m tmpfs /dev
for n in null zero full random urandom tty; do
	if [ -e "$stash/$n" ]; then
		touch "/dev/$n"
		mount --bind "$stash/$n" "/dev/$n"
	fi
done
[ -d "$stash/pts" ] && mkdir -p /dev/pts && mount --bind "$stash/pts" /dev/pts
[ -d "$stash/shm" ] && mkdir -p /dev/shm && mount --bind "$stash/shm" /dev/shm
ln -s /proc/self/fd /dev/fd
rm -f "$log.ready"
python3 "$here/syslog-sink.py" /dev/log "$log" &
sink=$!
for _ in $(seq 100); do [ -e "$log.ready" ] && break; sleep 0.02; done
rc=0
"$@" || rc=$?
sleep 0.05
kill "$sink" 2>/dev/null || true
wait "$sink" 2>/dev/null || true
exit $rc
