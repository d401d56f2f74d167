# devlog.sh - devlog_mount LOGFILE: in the current (private!) mount
# namespace, give /dev a tmpfs holding bind mounts of the device nodes
# programs need plus a /dev/log socket whose messages go to LOGFILE.  Sets
# DEVLOG_SINK to the sink's PID.  The host's /dev is never changed.
devlog_mount() {
	local log=$1 stash n here
	here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
	stash=$(mktemp -d "${AB_TMP:-/tmp}/ab-devlog.XXXXXX")
	mount --bind /dev "$stash"
	mount -t tmpfs -o mode=0755,size=1m tmpfs /dev
	for n in null zero full random urandom tty ptmx; do
		if [ -e "$stash/$n" ]; then
			touch "/dev/$n"
			mount --bind "$stash/$n" "/dev/$n"
		fi
	done
	if [ -d "$stash/pts" ]; then
		mkdir -p /dev/pts
		mount --bind "$stash/pts" /dev/pts
	fi
	if [ -d "$stash/shm" ]; then
		mkdir -p /dev/shm
		mount --bind "$stash/shm" /dev/shm
	fi
	ln -s /proc/self/fd /dev/fd
	# The binds stand on their own: the stash goes (no empty directory
	# is left behind in the host's /tmp).
	umount "$stash" && rmdir "$stash"
	rm -f "$log.ready"
	python3 "$here/syslog-sink.py" /dev/log "$log" &
	DEVLOG_SINK=$!
	for _ in $(seq 100); do
		[ -e "$log.ready" ] && break
		sleep 0.02
	done
}
