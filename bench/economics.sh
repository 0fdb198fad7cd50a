#!/usr/bin/env bash
# bench/economics.sh: the incident-economics benchmark (SPEC section 3,
# "Affected", "Fee waiver", "Deposit outflow").
#
# On its own throwaway cluster (tmp/bench_econ, port 15434, set up as a DBA
# would for a 24 GB, 2-core machine), it
#   1. records two incidents through depwatch's API (bench/economics/setup.sql)
#      and generates the bank's ledger set-based with a fixed seed
#      (generate.sql): 10M transfers over 2023 in l10m, and l1m, 1M
#      transfers with exactly the same rows inside the scale test's
#      windows and fewer outside; customers, accounts, monthly balance
#      snapshots and applications shared by both;
#   2. checks that the DBA's hand-written windows equal depwatch's and that
#      every report equals its hand-written plain-SQL equivalent
#      (plain.sql), EXCEPT ALL both ways, on both ledgers;
#   3. saves the plans (auto_explain inside depwatch's functions, EXPLAIN
#      ANALYZE of the plain SQL) and counts sequential scans of the ledger;
#   4. times every report against its plain SQL on the 10M ledger, and the
#      scale reports on the 1M and the 10M ledger, RUNS times each,
#      alternating which goes first (run.sql);
#   5. writes bench/economics_results.md: machine, rows, medians, ratios.
#
# Run as root (the server runs as the postgres OS user) after make install.
# Settings (environment): RUNS (default 7), N (10000000), N_SMALL (1000000),
# CUSTOMERS (100000), SEED (0.42), PORT (15434) and DIR (tmp/bench_econ) of
# the cluster; REUSE=1 keeps the cluster and data of the
# last run (only the plain SQL and the harness are made again).
# Generation takes about 2 minutes, the whole run about 12.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
cd "$repo"

port=${PORT:-15434}
dir=${DIR:-tmp/bench_econ}
db=econ
RUNS=${RUNS:-7} N=${N:-10000000} N_SMALL=${N_SMALL:-1000000}
CUSTOMERS=${CUSTOMERS:-100000} SEED=${SEED:-0.42} REUSE=${REUSE:-0}
results=$here/economics_results.md
plans=$dir/plans

cleanup() {
	rc=$?
	trap - EXIT INT TERM
	scripts/cluster.sh stop "$dir" "$port" || true
	if [ "$rc" -ne 0 ]; then
		echo "bench/economics: failed (exit $rc); server log: $dir/server.log" >&2
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for tool in psql pg_config; do
	command -v "$tool" >/dev/null || { echo "bench/economics: $tool is missing" >&2; exit 1; }
done
[ -f "$(pg_config --sharedir)/extension/depwatch.control" ] ||
	{ echo "bench/economics: depwatch is not installed (make install)" >&2; exit 1; }

# A 24 GB, 2-core machine that serves reports: a quarter of the memory as
# shared_buffers, the rest left to the page cache (effective_cache_size);
# work_mem for a few concurrent reports; SSD costs; one parallel worker per
# query at most (two cores); no JIT (its compile time is a loss on reports
# of a second or less, and it makes timings jumpy).  fsync is off in every
# throwaway cluster (scripts/cluster.sh): loading is not what is measured.
conf=(
	"shared_buffers = '6GB'"
	"effective_cache_size = '16GB'"
	"work_mem = '64MB'"
	"maintenance_work_mem = '1GB'"
	"max_wal_size = '8GB'"
	"checkpoint_timeout = '15min'"
	"random_page_cost = 1.1"
	"effective_io_concurrency = 200"
	"max_worker_processes = 8"
	"max_parallel_workers = 2"
	"max_parallel_workers_per_gather = 1"
	"max_parallel_maintenance_workers = 1"
	"jit = off"
	"track_io_timing = on"
)

export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres
psql() { command psql -X -q -v ON_ERROR_STOP=1 "$@"; }

start=$(date +%s)
if [ "$REUSE" = 1 ] && [ -f "$dir/data/PG_VERSION" ]; then
	scripts/cluster.sh start "$dir" "$port"
	psql -d "$db" -c "SET client_min_messages = warning" -c "DROP SCHEMA IF EXISTS bench_run CASCADE" \
		-c "DROP VIEW IF EXISTS bench.window_check, bench.medians" \
		-c "DROP TABLE IF EXISTS bench.template, bench.report, bench.check_result, bench.timing, bench.plan_check CASCADE" \
		-c "DROP FUNCTION IF EXISTS bench.dba_windows, bench.expand, bench.bind, bench.sql_of, bench.time_one" \
		-c "DROP PROCEDURE IF EXISTS bench.check, bench.calibrate, bench.measure"
else
	scripts/cluster.sh stop "$dir" "$port" 2>/dev/null || true
	rm -rf "$dir"
	mkdir -p "$dir"
	scripts/cluster.sh start "$dir" "$port" "${conf[@]}"
	psql -d postgres -c "CREATE DATABASE $db" -c "ALTER DATABASE $db SET TimeZone = 'Asia/Seoul'"
	echo "bench/economics: depwatch's incidents, then the ledger ($N + $N_SMALL transfers)"
	psql -d "$db" -f "$here/economics/setup.sql" >/dev/null
	psql -d "$db" -v seed="$SEED" -v n="$N" -v n_small="$N_SMALL" -v customers="$CUSTOMERS" \
		-f "$here/economics/generate.sql" >/dev/null
	echo "bench/economics: generated in $(( $(date +%s) - start )) s"
fi
psql -d "$db" -f "$here/economics/plain.sql"
psql -d "$db" -f "$here/economics/run.sql"

# 2. the same numbers
echo "bench/economics: checking results against the plain SQL"
bad=$(psql -d "$db" -Atc "SELECT count(*) FROM bench.window_check WHERE only_depwatch + only_dba > 0")
[ "$bad" = 0 ] || { psql -d "$db" -c "TABLE bench.window_check"; echo "bench/economics: the DBA's windows differ from depwatch's" >&2; exit 1; }
psql -d "$db" -c "SET client_min_messages = warning" -c "CALL bench.check('l10m')" -c "CALL bench.check('l1m')"

# 3. plans (also the warm-up: every query has run by now)
echo "bench/economics: plans"
rm -rf "$plans"
mkdir -p "$plans"
psql -d "$db" -c "SELECT bench.bind('l10m')" >/dev/null
psql -d "$db" -c "CREATE TABLE bench.plan_check (ord int, variant text, relation text, seq_scans int, index_scans int)"
for ord in $(psql -d "$db" -Atc "SELECT ord FROM bench.report WHERE in_compare ORDER BY ord"); do
	{
		echo "LOAD 'auto_explain';"
		echo "SET auto_explain.log_min_duration = 0;"
		echo "SET auto_explain.log_nested_statements = on;"
		echo "SET auto_explain.log_analyze = on;"
		echo "SET auto_explain.log_buffers = on;"
		echo "SET auto_explain.log_level = notice;"
		psql -d "$db" -Atc "SELECT format('SELECT count(*) FROM (%s) r;', dw_sql) FROM bench.report WHERE ord = $ord"
	} | command psql -X -v ON_ERROR_STOP=1 -d "$db" >/dev/null 2>"$plans/$ord.depwatch.txt"
	psql -d "$db" -Atc "SELECT 'EXPLAIN (ANALYZE, BUFFERS) ' || bench.sql_of(r, 'plain', 'l10m') FROM bench.report r WHERE ord = $ord" |
		command psql -X -v ON_ERROR_STOP=1 -d "$db" >"$plans/$ord.plain.txt"
	for variant in depwatch plain; do
		for rel in transfers applications balances accounts; do
			seq=$(grep -c "Seq Scan on $rel\b" "$plans/$ord.$variant.txt" || true)
			idx=$(grep -cE "(Index|Index Only|Bitmap Heap) Scan( Backward)? (using \S+ )?on $rel\b" "$plans/$ord.$variant.txt" || true)
			psql -d "$db" -c "INSERT INTO bench.plan_check VALUES ($ord, '$variant', '$rel', $seq, $idx)"
		done
	done
done

# 4. timings
echo "bench/economics: timing, $RUNS runs (compare, then scale)"
psql -d "$db" -c "CALL bench.calibrate()"
psql -d "$db" -c "CALL bench.measure('compare', $RUNS)"
psql -d "$db" -c "CALL bench.measure('scale', $RUNS)"

# 5. results
mem=$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
cpu=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git status --porcelain -- depwatch--0.1.sql src 2>/dev/null | wc -l)
sqlmd5=$(md5sum "$(pg_config --sharedir)/extension/depwatch--0.1.sql" | cut -c1-12)
psql -d "$db" -At \
	-v nproc="$(nproc)" -v cpu="${cpu:-unknown}" -v mem="$mem" -v kernel="$(uname -r)" \
	-v commit="$commit" -v dirty="$dirty" -v sqlmd5="$sqlmd5" -v runs="$RUNS" -v seed="$SEED" \
	-v conf="$(printf '%s; ' "${conf[@]}")" \
	-f "$here/economics/results.sql" >"$results"
cat "$here/economics/notes.md" >>"$results"
echo
sed -n '/^## Reports against plain SQL/,/^## Notes/p' "$results" | head -n -1
echo "bench/economics: done in $(( $(date +%s) - start )) s; results in bench/economics_results.md, plans in $plans"
