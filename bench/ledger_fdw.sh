#!/usr/bin/env bash
# bench/ledger_fdw.sh: the ledger reports over a foreign ledger (postgres_fdw,
# on a second cluster) against the same reports over a local copy (issue 21,
# item 4; SPEC section 10).
#
#   1. cluster A (port 17230, tmp/bench_fdw_a) gets depwatch's incidents
#      (bench/economics/setup.sql) and the economics benchmark's ledger
#      (bench/economics/generate.sql, N transfers over 2023, fixed seed);
#   2. cluster B (port 17231, tmp/bench_fdw_b) gets a copy of that ledger
#      (pg_dump | psql: the same rows and indexes), and A reads it as
#      postgres_fdw foreign tables twice (fetch_size 10000,
#      use_remote_estimate off): schema remote, whose foreign tables A has
#      ANALYZEd (local statistics, as postgres_fdw's documentation advises),
#      and schema remote_raw, never ANALYZEd (the planner's default guess);
#   3. every report runs over the three bindings and must give the same
#      rows (EXCEPT ALL both ways), and its plan must read the remote
#      transfers by time ranges only;
#   4. every report is timed RUNS times over each binding, rotating which
#      goes first, one transaction per call (after a warm-up call of each);
#      bench/ledger_fdw_results.md gets the medians and ratios.
#
# Both clusters and psql share the machine's cores: the foreign figures
# include B's work and the loopback transfer, not a network's latency.
# Run as root (the servers run as the postgres OS user) after make install.
# Settings (environment): RUNS (default 7), N (1500000), CUSTOMERS (20000),
# SEED (0.42), PORT_A (17230), PORT_B (17231).  About 3-4 minutes.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
cd "$repo"

port_a=${PORT_A:-17230} port_b=${PORT_B:-17231}
dir_a=tmp/bench_fdw_a dir_b=tmp/bench_fdw_b
RUNS=${RUNS:-7} N=${N:-1500000} CUSTOMERS=${CUSTOMERS:-20000} SEED=${SEED:-0.42}
results=$here/ledger_fdw_results.md

cleanup() {
	rc=$?
	trap - EXIT INT TERM
	scripts/cluster.sh stop "$dir_a" "$port_a" || true
	scripts/cluster.sh stop "$dir_b" "$port_b" || true
	[ "$rc" -eq 0 ] || echo "bench/ledger_fdw: failed (exit $rc); server logs in $dir_a, $dir_b" >&2
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ -f "$(pg_config --sharedir)/extension/depwatch.control" ] ||
	{ echo "bench/ledger_fdw: depwatch is not installed (make install)" >&2; exit 1; }
[ -f "$(pg_config --pkglibdir)/postgres_fdw.so" ] ||
	{ echo "bench/ledger_fdw: postgres_fdw is not installed (postgresql-contrib)" >&2; exit 1; }

# Two modest report servers on one small machine (both share its cores
# and memory): no JIT, one parallel worker at most, SSD costs.
conf=(
	"shared_buffers = '512MB'"
	"effective_cache_size = '4GB'"
	"work_mem = '64MB'"
	"maintenance_work_mem = '256MB'"
	"max_wal_size = '4GB'"
	"random_page_cost = 1.1"
	"max_parallel_workers_per_gather = 1"
	"jit = off"
)
A() { command psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port_a" -U postgres -d econ "$@"; }
B() { command psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port_b" -U postgres "$@"; }

start=$(date +%s)
for d in "$dir_a:$port_a" "$dir_b:$port_b"; do
	scripts/cluster.sh stop "${d%%:*}" "${d##*:}" 2>/dev/null || true
	rm -rf "${d%%:*}"
	scripts/cluster.sh start "${d%%:*}" "${d##*:}" "${conf[@]}"
done

# 1. depwatch's incidents and the ledger on A
B -d postgres -c "CREATE DATABASE core"
A -d postgres -c "CREATE DATABASE econ" -c "ALTER DATABASE econ SET TimeZone = 'Asia/Seoul'"
echo "bench/ledger_fdw: depwatch's incidents, then the ledger ($N transfers)"
A -f "$here/economics/setup.sql" >/dev/null
A -v seed="$SEED" -v n="$N" -v n_small="$((N / 10))" -v customers="$CUSTOMERS" \
	-f "$here/economics/generate.sql" >/dev/null
A -c "DROP SCHEMA l1m CASCADE"

# 2. the same ledger on B, foreign tables over it on A
B -d core -c "CREATE SCHEMA l10m" -c "CREATE SCHEMA bank"
command pg_dump -h 127.0.0.1 -p "$port_a" -U postgres -d econ \
	-t l10m.transfers -t bank.applications -t bank.balances -t bank.accounts |
	B -d core -o /dev/null
B -d core -c "VACUUM (FREEZE, ANALYZE)"
A <<SQL
CREATE EXTENSION postgres_fdw;
CREATE SERVER ledger FOREIGN DATA WRAPPER postgres_fdw
	OPTIONS (host '127.0.0.1', port '$port_b', dbname 'core', fetch_size '10000');
CREATE USER MAPPING FOR postgres SERVER ledger OPTIONS (user 'postgres');
CREATE SCHEMA remote;
IMPORT FOREIGN SCHEMA l10m LIMIT TO (transfers) FROM SERVER ledger INTO remote;
IMPORT FOREIGN SCHEMA bank LIMIT TO (applications, balances, accounts) FROM SERVER ledger INTO remote;
CREATE SCHEMA remote_raw;
IMPORT FOREIGN SCHEMA l10m LIMIT TO (transfers) FROM SERVER ledger INTO remote_raw;
IMPORT FOREIGN SCHEMA bank LIMIT TO (applications, balances, accounts) FROM SERVER ledger INTO remote_raw;
ANALYZE remote.transfers, remote.applications, remote.balances, remote.accounts;
SQL
echo "bench/ledger_fdw: both ledgers ready in $(( $(date +%s) - start )) s"

A <<'SQL'
CREATE SCHEMA fdw_bench;
CREATE TABLE fdw_bench.report (ord int PRIMARY KEY, label text, sql text);
INSERT INTO fdw_bench.report VALUES
	(1, 'impact(1) bureaus', 'SELECT * FROM depwatch.impact(1)'),
	(2, 'impact(2) fire', 'SELECT * FROM depwatch.impact(2)'),
	(3, 'fee_waiver(1, bureaus)', $$SELECT * FROM depwatch.fee_waiver(1, 'bureaus')$$),
	(4, 'fee_waiver(2, fire)', $$SELECT * FROM depwatch.fee_waiver(2, 'fire')$$),
	(5, 'fee_waiver_summary(2, fire)', $$SELECT * FROM depwatch.fee_waiver_summary(2, 'fire')$$),
	(6, 'fee_waiver_cost(a week, day)',
	 $$SELECT * FROM depwatch.fee_waiver_cost('[2023-10-15 00:00+09, 2023-10-22 00:00+09)', 'day')$$),
	(7, 'deposit_outflow(2) 7 d / 7 d', $$SELECT * FROM depwatch.deposit_outflow(2, '7 days', '7 days')$$),
	(8, 'deposit_outflow_summary(2) 7 d / 7 d',
	 $$SELECT * FROM depwatch.deposit_outflow_summary(2, '7 days', '7 days')$$),
	(9, 'deposit_outflow(2) 28 d / 14 d', 'SELECT * FROM depwatch.deposit_outflow(2)'),
	(10, 'classify_incident(2)', 'SELECT * FROM depwatch.classify_incident(2)'),
	(11, 'incident_report(2)', 'SELECT depwatch.incident_report(2) AS report'),
	(12, 'redress(2, failed value)', $$SELECT * FROM depwatch.redress(2, 'fire_failed')$$),
	(13, 'redress_summary(2, lost activity)', $$SELECT * FROM depwatch.redress_summary(2, 'fire_lost')$$),
	(14, 'scenario(kakao, 48 h)', $$SELECT * FROM depwatch.scenario(ARRAY['kakao'], '2023-10-15 15:30+09', '48 hours')$$);
-- redress policies for the fire: the 2022 merchants' table on failed
-- value, and lost activity against each customer's usual weeks
SELECT depwatch.add_redress_policy('fire_failed', basis => 'failed_value',
	tiers => '[{"up_to": 300000, "pay": 30000}, {"up_to": 500000, "pay": 50000}]');
SELECT depwatch.add_redress_policy('fire_lost', basis => 'lost_activity',
	tiers => '[{"up_to": 50000, "pay": 5000}, {"up_to": 200000, "pay": 20000}]');
CREATE TABLE fdw_bench.result (binding text, ord int, r jsonb);
CREATE TABLE fdw_bench.timing (run int, ord int, binding text, ms float8);

CREATE FUNCTION fdw_bench.bind(binding text) RETURNS void
LANGUAGE sql AS $$
	SELECT depwatch.bind_ledger(
		CASE binding WHEN 'local' THEN 'l10m.transfers' ELSE format('%I.transfers', binding) END::regclass,
		format('%I.applications', CASE binding WHEN 'local' THEN 'bank' ELSE binding END)::regclass,
		format('%I.balances', CASE binding WHEN 'local' THEN 'bank' ELSE binding END)::regclass,
		format('%I.accounts', CASE binding WHEN 'local' THEN 'bank' ELSE binding END)::regclass)
$$;

-- one call, in its own transaction (the caller commits)
CREATE FUNCTION fdw_bench.time_one(q text) RETURNS float8
LANGUAGE plpgsql AS $$
DECLARE
	t0 timestamptz := clock_timestamp();
BEGIN
	-- count(x.*): every column is computed (count(*) would skip a
	-- report returning one value, such as incident_report)
	EXECUTE format('SELECT count(x.*) FROM (%s) x', q);
	RETURN extract(epoch FROM clock_timestamp() - t0) * 1000;
END
$$;

CREATE PROCEDURE fdw_bench.measure(runs int)
LANGUAGE plpgsql AS $$
DECLARE
	r fdw_bench.report;
	b text;
	ms float8;
BEGIN
	FOR run IN 0 .. runs LOOP
		FOR r IN SELECT * FROM fdw_bench.report ORDER BY ord LOOP
			FOREACH b IN ARRAY (ARRAY[['local', 'remote', 'remote_raw'], ['remote', 'remote_raw', 'local'],
									  ['remote_raw', 'local', 'remote']])[1 + (run + r.ord) % 3 : 1 + (run + r.ord) % 3] LOOP
				PERFORM fdw_bench.bind(b);
				COMMIT;
				ms := fdw_bench.time_one(r.sql);
				COMMIT;
				IF run > 0 THEN		-- run 0 warms up
					INSERT INTO fdw_bench.timing VALUES (run, r.ord, b, ms);
				END IF;
			END LOOP;
		END LOOP;
	END LOOP;
END
$$;
SQL

# 3. the same rows, and the windows shipped
echo "bench/ledger_fdw: checking the rows and the plans"
for b in local remote remote_raw; do
	A -c "SELECT fdw_bench.bind('$b')" >/dev/null
	A -At -c "SELECT format('INSERT INTO fdw_bench.result SELECT %L, %s, to_jsonb(x) FROM (%s) x;', '$b', ord, sql)
			  FROM fdw_bench.report ORDER BY ord" | A >/dev/null
done
bad=$(A -At -c "
	SELECT string_agg(format('%s: %s rows only local, %s only over %s', r.label, a, b, f.binding), '; ')
	FROM fdw_bench.report r CROSS JOIN (VALUES ('remote'), ('remote_raw')) f(binding)
	CROSS JOIN LATERAL (SELECT count(*) AS a FROM (SELECT x.r FROM fdw_bench.result x WHERE x.binding = 'local' AND x.ord = r.ord
						EXCEPT ALL SELECT y.r FROM fdw_bench.result y WHERE y.binding = f.binding AND y.ord = r.ord) d) d
	CROSS JOIN LATERAL (SELECT count(*) AS b FROM (SELECT y.r FROM fdw_bench.result y WHERE y.binding = f.binding AND y.ord = r.ord
						EXCEPT ALL SELECT x.r FROM fdw_bench.result x WHERE x.binding = 'local' AND x.ord = r.ord) e) e
	WHERE a + b > 0 OR NOT EXISTS (SELECT FROM fdw_bench.result x WHERE x.ord = r.ord)")
[ -z "$bad" ] || { echo "bench/ledger_fdw: the reports differ: $bad" >&2; exit 1; }
scans=0
for b in remote remote_raw; do
	A -c "SELECT fdw_bench.bind('$b')" >/dev/null
	plans=$({
		echo "LOAD 'auto_explain';"
		echo "SET auto_explain.log_min_duration = 0;"
		echo "SET auto_explain.log_nested_statements = on;"
		echo "SET auto_explain.log_verbose = on;"
		echo "SET auto_explain.log_level = notice;"
		A -At -c "SELECT format('SELECT count(x.*) FROM (%s) x;', sql) FROM fdw_bench.report ORDER BY ord"
	} | command psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port_a" -U postgres -d econ -o /dev/null 2>&1)
	n=$(grep -c 'Remote SQL: SELECT .* FROM l10m\.transfers' <<<"$plans" || true)
	unbounded=$(grep 'Remote SQL: SELECT .* FROM l10m\.transfers' <<<"$plans" |
		grep -vc '((occurred_at >= [^)]*)) AND .*((occurred_at < [^)]*))' || true)
	[ "$n" -gt 0 ] && [ "$unbounded" = 0 ] ||
		{ echo "bench/ledger_fdw: $b: $unbounded of $n remote scans of the transfers lack a time bound" >&2; exit 1; }
	scans=$((scans + n))
done

# 4. timings
echo "bench/ledger_fdw: timing, $RUNS runs of $(A -At -c "SELECT count(*) FROM fdw_bench.report") reports over each ledger"
A -c "CALL fdw_bench.measure($RUNS)"

# 5. results
mem=$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
cpu=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
{
	echo "# Ledger reports over postgres_fdw: results"
	echo
	echo "\`bench/ledger_fdw.sh\`, run of $(date -u '+%Y-%m-%d %H:%M') UTC, commit $commit;"
	echo "$(nproc) cores (${cpu:-unknown}), $mem, PostgreSQL $(command psql -X -At -h 127.0.0.1 -p "$port_a" -U postgres -d econ -c 'SHOW server_version' | cut -d' ' -f1),"
	echo "load average before timing $(cut -d' ' -f1-3 /proc/loadavg)."
	echo
	echo "Ledger: $(A -At -c "SELECT to_char(count(*), 'FM9,999,999') FROM l10m.transfers") transfers over 2023"
	echo "(\`bench/economics/generate.sql\`, seed $SEED, $CUSTOMERS customers),"
	echo "$(A -At -c "SELECT to_char(count(*), 'FM9,999,999') FROM bank.balances") balances, $(A -At -c "SELECT to_char(count(*), 'FM9,999,999') FROM bank.applications") applications,"
	echo "$(A -At -c "SELECT to_char(count(*), 'FM9,999,999') FROM bank.accounts") accounts; the incidents of \`bench/economics/setup.sql\`."
	echo "Local: the tables on cluster A, which runs depwatch. Foreign: the same"
	echo "tables (pg_dump | psql) on cluster B, read by A through postgres_fdw"
	echo "(fetch_size 10000, use_remote_estimate off), both on this machine;"
	echo "\"ANALYZEd\": A has run ANALYZE on the foreign tables (local statistics"
	echo "from a sample of B's rows), \"raw\": it never has, and the planner"
	echo "takes each window's scan for one row. Every report gave the same rows"
	echo "over all three (EXCEPT ALL both ways), and all $scans remote scans of the"
	echo "transfers in their plans compare \`occurred_at\` with both bounds of a"
	echo "window in Remote SQL."
	echo
	echo "Medians of $RUNS calls over each binding (ms), rotating which goes"
	echo "first, each call its own transaction, after one warm-up call of each;"
	echo "ratio = foreign / local."
	echo
	echo "| report | local | foreign, ANALYZEd | ratio | foreign, raw | ratio |"
	echo "|---|---:|---:|---:|---:|---:|"
	A -At -c "
		WITH m AS (
			SELECT t.ord, t.binding, percentile_cont(0.5) WITHIN GROUP (ORDER BY t.ms) AS med
			FROM fdw_bench.timing t GROUP BY t.ord, t.binding)
		SELECT format('| \`%s\` | %s | %s | %s | %s | %s |', r.label, round(l.med::numeric, 1),
					  round(f.med::numeric, 1), round((f.med / l.med)::numeric, 2),
					  round(w.med::numeric, 1), round((w.med / l.med)::numeric, 2))
		FROM fdw_bench.report r
		JOIN m l ON l.ord = r.ord AND l.binding = 'local'
		JOIN m f ON f.ord = r.ord AND f.binding = 'remote'
		JOIN m w ON w.ord = r.ord AND w.binding = 'remote_raw'
		ORDER BY r.ord"
	echo
	echo "Spread (min – max, ms): $(A -At -c "
		SELECT string_agg(format('%s %s – %s', s.binding, round(s.lo::numeric, 1), round(s.hi::numeric, 1)), ', ' ORDER BY s.binding)
		FROM (SELECT t.binding, min(t.ms) AS lo, max(t.ms) AS hi FROM fdw_bench.timing t
			  WHERE t.ord = 2 GROUP BY t.binding) s") for \`impact(2)\`; all"
	echo "timings are in fdw_bench.timing of tmp/bench_fdw_a."
	cat <<'NOTES'

## Notes

- What the foreign ledger costs is the rows that cross: every report
  reads only the rows inside its windows (Remote SQL `occurred_at >= $1
  AND occurred_at < $2`, B's index on `occurred_at`), but those rows are
  sent, converted and read again on A. The reports that read few rows
  (impact, fee_waiver) pay a round trip per window. Every other
  condition is tested on B too (capability, status, a policy's fee types
  and capabilities), and where a report only sums (classify_incident's
  daily averages over the 4 weeks before, deposit_outflow's flows per
  bucket, fee_waiver_summary's baseline weeks) B sums and one row comes
  back. What still crosses in bulk: deposit_outflow's per-customer
  flows over the horizon (bucketed with date_trunc in A's time zone,
  which postgres_fdw does not ship) and every balance up to the
  incident's start (DISTINCT ON, read twice by deposit_outflow_summary),
  and scenario's baseline weeks (every row, for distinct customers).
- Before commit f459954 (run of 15:31 UTC, same machine and data),
  classify_incident's daily averages joined the ledger to the incident's
  capabilities on A: 358 ms foreign (3.13x local), incident_report 1,393
  ms (2.96x). redress on lost activity shifted its usual weeks with
  `timestamptz - interval` inside the scan's bounds, which postgres_fdw
  cannot ship: redress_summary read the whole ledger once per capability
  window, 19,252 ms foreign against 38 ms local (504x); never ANALYZEd, it
  then joined the two sides in a nested loop (427 ms, 11x, until it became
  one aggregate).
- Before the reports read the time windows as plain values (commit
  bfac6fd), postgres_fdw could not ship `timestamptz ± interval`:
  fee_waiver read every fee row from the incident's start on,
  fee_waiver_summary's baseline and deposit_outflow's per-customer
  flows read the whole ledger, and classify_incident everything before
  the incident.
- Never ANALYZEd, a foreign table's window is planned as one row. The
  first run with the windows shipped (14:49 UTC) joined fee_waiver's
  affected customers to that "one row" in a nested loop: 374 ms
  (bureaus), 443 ms (fire) and 548 ms (summary) raw against 8-29 ms
  ANALYZEd, 37-72 times the local figure. The affected customers are now
  a hashed subplan whatever the estimate (the raw column above). Still,
  ANALYZE the foreign tables now and then (autovacuum does not), or set
  `use_remote_estimate`: the other reports' plans follow the estimates
  too.
NOTES
} >"$results"
cat "$results"
echo "bench/ledger_fdw: done in $(( $(date +%s) - start )) s; results in bench/ledger_fdw_results.md"
