#!/usr/bin/env bash
# The launcher and the databases it serves: a listed database that does not
# exist is skipped with a warning; one without the extension gets a worker
# that waits and starts probing as soon as CREATE EXTENSION commits; a
# reload that changes depwatch.databases starts and stops workers; DROP
# DATABASE succeeds while its worker runs.
set -euo pipefail
cd "$(dirname "$0")/../.."

dir=tmp/it_databases
port=15481
scripts/cluster.sh stop "$dir" "$port"
rm -rf "$dir"
scripts/cluster.sh start "$dir" "$port" "depwatch.databases = 'bank, missing'"
trap 'scripts/cluster.sh stop "$dir" "$port"' EXIT

sql() { psql -X -A -t -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d "${DB:-postgres}" -c "$1"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
# wait_for SECONDS SQL EXPECTED: poll until SQL prints EXPECTED
wait_for() {
	local deadline=$((SECONDS + $1)) got
	while :; do
		got=$(sql "$2" 2>/dev/null || true)
		[ "$got" = "$3" ] && return 0
		[ $SECONDS -ge $deadline ] && fail "after $1 s, '$2' gave '$got', not '$3'"
		sleep 0.2
	done
}
workers="SELECT string_agg(coalesce(datname, '-'), ',' ORDER BY datname) FROM pg_stat_activity WHERE backend_type = 'depwatch worker'"

sql "CREATE DATABASE bank"
wait_for 15 "$workers" "bank"
echo "ok - a worker runs for the listed database that exists"
grep -q 'database "missing" listed in "depwatch.databases" does not exist' "$dir/server.log" ||
	fail "no warning about the missing database"
echo "ok - the missing database is skipped with a warning"
grep -q 'extension "depwatch" is not installed in database "bank"; waiting' "$dir/server.log" ||
	fail "the worker did not say it waits for the extension"
echo "ok - without the extension the worker waits"

start=$(date +%s.%N)
DB=bank sql "CREATE EXTENSION depwatch CASCADE" 2>/dev/null
DB=bank sql "SELECT depwatch.add_dependency('self', 'core', 'tcp', '127.0.0.1:$port', every => '1 s', timeout => '500 ms')" >/dev/null
DB=bank wait_for 5 "SELECT count(*) > 0 FROM depwatch.sample" "t"
echo "ok - CREATE EXTENSION wakes the worker: first sample after $(awk "BEGIN { printf \"%.2f\", $(date +%s.%N) - $start }") s"

sql "CREATE DATABASE other"
DB=other sql "CREATE EXTENSION depwatch CASCADE" 2>/dev/null
sql "ALTER SYSTEM SET depwatch.databases = 'bank, other'"
sql "SELECT pg_reload_conf()" >/dev/null
wait_for 10 "$workers" "bank,other"
echo "ok - a reload that lists another database starts its worker"

start=$(date +%s.%N)
sql "DROP DATABASE other"
echo "ok - DROP DATABASE succeeds while its worker runs ($(awk "BEGIN { printf \"%.2f\", $(date +%s.%N) - $start }") s)"
wait_for 5 "$workers" "bank"

sql "ALTER SYSTEM SET depwatch.databases = ''"
sql "SELECT pg_reload_conf()" >/dev/null
wait_for 10 "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'depwatch worker'" "0"
echo "ok - a reload that no longer lists a database stops its worker"
[ "$(sql "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'depwatch launcher'")" = 1 ] ||
	fail "the launcher is gone"
echo "ok - the launcher keeps running"
