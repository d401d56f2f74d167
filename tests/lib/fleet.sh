# fleet.sh - sourced by the fleet's suites (tests/helper/fleet.sh,
# tests/e2e/test-fleet.sh): is an address in one server's kernel set, in
# every named one, in none.  The suite defines ns_of NAME, the namespace
# of server NAME.  One nft call per server and look.
in_kernel() {	# in_kernel NAME ADDR: ADDR is an element of NAME's v4 set
	ip netns exec "$(ns_of "$1")" nft list set inet autoban v4 2>/dev/null |
	    grep -qE "(^|[ {,])${2//./\\.}( |,|\$)"
}
not_in_kernel() { ! in_kernel "$@"; }
everywhere() {	# everywhere ADDR NAME...: in every named server's kernel
	local a=$1 s
	shift
	for s in "$@"; do
		in_kernel "$s" "$a" || return 1
	done
}
nowhere() {	# nowhere ADDR NAME...: in none of them
	local a=$1 s
	shift
	for s in "$@"; do
		in_kernel "$s" "$a" && return 1
	done
	return 0
}
