# autoban-user.sh - sourced: make sure the user _autoban exists, which
# banhelper run becomes.  If the host has none, one exists only in this
# mount namespace's view of /etc/passwd and /etc/group (copies in DIR,
# bind-mounted); the caller must be in a private mount namespace.
# ab_user DIR
ab_user() {
	local uid=64990
	getent passwd _autoban >/dev/null && return 0
	while getent passwd "$uid" >/dev/null || getent group "$uid" >/dev/null; do
		uid=$((uid - 1))
	done
	cp /etc/passwd "$1/passwd"
	cp /etc/group "$1/group"
	echo "_autoban:x:$uid:$uid:autoban (tests):/nonexistent:/usr/sbin/nologin" \
	    >>"$1/passwd"
	echo "_autoban:x:$uid:" >>"$1/group"
	mount --bind "$1/passwd" /etc/passwd
	mount --bind "$1/group" /etc/group
}
