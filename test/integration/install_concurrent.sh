#!/usr/bin/env bash
# CREATE EXTENSION depwatch in four databases at the same moment, five
# times over: the cluster-wide roles are created once, and no install
# fails on the race (duplicate key in pg_authid or pg_auth_members).
set -uo pipefail
cd "$(dirname "$0")/../.."

dir=tmp/it_concurrent
port=15474
cleanup() { scripts/cluster.sh stop "$dir" "$port" >/dev/null 2>&1 || true; }
trap cleanup EXIT
cleanup
rm -rf "$dir"
mkdir -p "$dir"
scripts/cluster.sh start "$dir" "$port" >/dev/null || { echo "FAIL - could not start the cluster"; exit 1; }
q() { psql -X -q -A -t -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres "$@"; }
for n in 1 2 3 4; do q -d postgres -c "CREATE DATABASE db$n" || exit 1; done

failures=0
for round in 1 2 3 4 5; do
	pids=()
	for n in 1 2 3 4; do
		q -d "db$n" -c "SET client_min_messages = warning" -c "CREATE EXTENSION depwatch CASCADE" \
			>"$dir/round$round.db$n.log" 2>&1 &
		pids+=($!)
	done
	bad=0
	for p in "${pids[@]}"; do wait "$p" || bad=$((bad + 1)); done
	if [ "$bad" -eq 0 ]; then
		echo "ok - round $round: four concurrent installs succeeded"
	else
		echo "FAIL - round $round: $bad of four concurrent installs failed:"
		cat "$dir"/round$round.db*.log
		failures=$((failures + 1))
	fi
	got=$(q -d postgres -c "SELECT string_agg(r.rolname || '>' || m.rolname, ' ' ORDER BY r.rolname)
							FROM pg_auth_members a JOIN pg_roles r ON r.oid = a.roleid
							JOIN pg_roles m ON m.oid = a.member WHERE r.rolname LIKE 'depwatch%'")
	[ "$got" = "depwatch_operator>depwatch_admin depwatch_reader>depwatch_operator" ] ||
		{ echo "FAIL - round $round: role memberships are '$got'"; failures=$((failures + 1)); }
	for n in 1 2 3 4; do q -d "db$n" -c "DROP EXTENSION IF EXISTS depwatch" -c "DROP EXTENSION IF EXISTS btree_gist"; done
	q -d postgres -c "DROP ROLE depwatch_admin" -c "DROP ROLE depwatch_operator" -c "DROP ROLE depwatch_reader"
done
[ "$failures" -eq 0 ] && echo "ok - concurrent installs: all checks passed" || exit 1
