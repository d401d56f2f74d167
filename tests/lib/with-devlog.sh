#!/bin/bash
# with-devlog.sh LOGFILE CMD...: run CMD in a private mount namespace whose
# /dev/log feeds LOGFILE (see devlog.sh).
set -eu
log=$1; shift
if [ "${AB_IN_DEVLOG_NS:-}" != 1 ]; then
	AB_IN_DEVLOG_NS=1 exec unshare --mount --propagation private "$0" "$log" "$@"
fi
. "$(cd "$(dirname "$0")" && pwd)/devlog.sh"
devlog_mount "$log"
rc=0
"$@" || rc=$?
sleep 0.05
kill "$DEVLOG_SINK" 2>/dev/null || true
wait "$DEVLOG_SINK" 2>/dev/null || true
exit $rc
