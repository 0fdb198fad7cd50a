#!/usr/bin/env bash
# bench/run.sh: performance benchmark of depwatch's probe worker.
#
# Starts its own cluster (tmp/bench, port 54471, depwatch.databases =
# 'bench'), loopback listeners on ports 20000-25099 (bench/listeners.py),
# then runs, three times each:
#   1. 1,000 tcp dependencies, every 1 s, timeout 500 ms, all up
#   2. the same with 10 % of the peers hung (SYN never answered)
#   3. 5,000 tcp dependencies at 1 s
#   4. a pgbench transfer workload with and without 500 dependencies probed
#   5. 10,000 tcp dependencies at 1 s with alerting on (a webhook route, the
#      worker's alert tick and sender)
# The dependencies are set by a depwatch_admin who is no superuser, so every
# probe is checked against depwatch.allowed_addresses (loopback allowed).
# and prints the table, also written to bench/results.md.  The server is
# stopped at the end, also on failure.  Run as root (the server runs as the
# postgres OS user) from anywhere; takes about 20 minutes with the defaults.
#
# Settings (environment): DURATION (s per run of scenarios 1-3, default 60),
# PGBENCH_DURATION (s per pgbench run, default 60), WARMUP (s, default 10),
# RUNS (default 3), SCENARIOS (default 1,2,3,5,4).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
cd "$repo"

port=54471
dir=tmp/bench
export PGPORT=$port PGDATABASE=bench
export DURATION=${DURATION:-60} PGBENCH_DURATION=${PGBENCH_DURATION:-60}
export WARMUP=${WARMUP:-10} RUNS=${RUNS:-3} SCENARIOS=${SCENARIOS:-1,2,3,5,4}
export SERVER_LOG=$repo/$dir/server.log RAW=$repo/$dir/raw RESULTS=$here/results.md

listener_pid=
cleanup() {
	rc=$?
	trap - EXIT INT TERM
	if [ -n "$listener_pid" ]; then
		kill "$listener_pid" 2>/dev/null || true
		wait "$listener_pid" 2>/dev/null || true
	fi
	scripts/cluster.sh stop "$dir" "$port" || true
	if [ "$rc" -ne 0 ]; then
		echo "bench: failed (exit $rc); server log: $dir/server.log" >&2
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for tool in psql pgbench python3 pg_config; do
	command -v "$tool" >/dev/null || { echo "bench: $tool is missing" >&2; exit 1; }
done
# the extension must be installed (make install)
[ -f "$(pg_config --sharedir)/extension/depwatch.control" ] ||
	{ echo "bench: depwatch is not installed (make install)" >&2; exit 1; }

# a fresh cluster
scripts/cluster.sh stop "$dir" "$port" 2>/dev/null || true
rm -rf "$dir"
mkdir -p "$dir"
scripts/cluster.sh start "$dir" "$port" \
	"depwatch.databases = 'bench'" "max_connections = 200" \
	"depwatch.allowed_addresses = '127.0.0.0/8'"
mkdir -p "$RAW"
psql() { command psql -h 127.0.0.1 -p "$port" -U postgres -X -q -v ON_ERROR_STOP=1 "$@"; }
psql -d postgres -c "CREATE DATABASE bench"
psql -d bench -c "CREATE EXTENSION depwatch CASCADE"
# the benchmark's dependencies are set by an admin who is no superuser:
# every probe is checked against depwatch.allowed_addresses
psql -d bench -c "CREATE ROLE bench_admin IN ROLE depwatch_admin"

# listeners: healthy 20000-24999, hung 25000-25099
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
python3 "$here/listeners.py" --healthy 20000-24999 --hung 25000-25099 \
	>"$RAW/listeners.out" 2>&1 &
listener_pid=$!
for _ in $(seq 100); do
	grep -q '^ready' "$RAW/listeners.out" 2>/dev/null && break
	kill -0 "$listener_pid" 2>/dev/null || { cat "$RAW/listeners.out" >&2; exit 1; }
	sleep 0.2
done
grep -q '^ready' "$RAW/listeners.out" || { echo "bench: listeners did not start" >&2; exit 1; }
export LISTENER_PID=$listener_pid

start=$(date +%s)
python3 "$here/bench.py" scenarios
python3 "$here/bench.py" report
echo
echo "bench: done in $(( $(date +%s) - start )) s; raw figures in $dir/raw, table in bench/results.md"
