# tap.sh - TAP output for the shell test suites (sourced).
#   plan N | ok COND-RESULT NAME | is GOT WANT NAME | skip... is not offered:
#   a test that cannot run is a failure with its reason.
TAP_N=0
TAP_FAILED=0
TAP_START=$SECONDS

tap_ok() {	# tap_ok STATUS NAME [DIAG]: STATUS 0 passes
	TAP_N=$((TAP_N + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $TAP_N - $2"
	else
		echo "not ok $TAP_N - $2"
		[ -n "${3:-}" ] && printf '%s\n' "$3" | sed 's/^/# /'
		TAP_FAILED=$((TAP_FAILED + 1))
	fi
	# AB_TAP_TIME=1: seconds since the suite started, to find slow steps.
	[ -n "${AB_TAP_TIME:-}" ] && echo "# at $((SECONDS - TAP_START))s"
	return 0
}

tap_is() {	# tap_is GOT WANT NAME
	if [ "$1" = "$2" ]; then
		tap_ok 0 "$3"
	else
		tap_ok 1 "$3" "got:  $1
want: $2"
	fi
}

tap_fails() {	# tap_fails NAME CMD...: CMD must exit non-zero
	local name=$1
	shift
	if "$@" >/dev/null 2>&1; then
		tap_ok 1 "$name" "command succeeded: $*"
	else
		tap_ok 0 "$name"
	fi
}

tap_like() {	# tap_like TEXT REGEX NAME
	if printf '%s' "$1" | grep -Eq -- "$2"; then
		tap_ok 0 "$3"
	else
		tap_ok 1 "$3" "no match for /$2/ in:
$1"
	fi
}

tap_done() {
	echo "1..$TAP_N"
	[ "$TAP_FAILED" -eq 0 ]
}
