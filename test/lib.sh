# test/lib.sh: shell helpers of the integration scripts, sourced after
# they set $port (their server) and optionally $DB (default bank).

# sql SQL: one statement, unaligned tuples only, stop on error
sql() { psql -X -A -t -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d "${DB:-bank}" -c "$1"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok - $*"; }
# wait_for SECONDS SQL EXPECTED: poll every 200 ms until SQL prints EXPECTED
wait_for() {
	local deadline=$((SECONDS + $1)) got
	while :; do
		got=$(sql "$2" 2>/dev/null || true)
		[ "$got" = "$3" ] && return 0
		[ $SECONDS -ge $deadline ] && fail "after $1 s, '$2' gave '$got', not '$3'"
		sleep 0.2
	done
}
