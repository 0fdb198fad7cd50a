#!/usr/bin/env bash
# bench/bi.sh: what availability()'s BI columns cost (issue 21 item 3,
# issue 20): availability() (SQL over the C figures, adding the *_seconds
# companions and, for capabilities with an impact tolerance,
# worst_disruption and tolerance_breached) against the C figures alone
# (depwatch_internal._availability, which is what availability() was in
# 0.2), on bench/availability/data.sql's year (200 dependencies, 50
# capabilities, 500,000 outage windows), per day over the year and over
# one month, with no capability holding a tolerance and then 10 of 50.
# Starts its own cluster (tmp/bench_bi, PORT default 15437); prints the
# medians of RUNS (default 5) alternating runs and their ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
port=${PORT:-15437}
dir=${DIR:-tmp/bench_bi}
RUNS=${RUNS:-5}
trap 'scripts/cluster.sh stop "$dir" "$port" || true' EXIT
scripts/cluster.sh start "$dir" "$port"
psql() { command psql -h 127.0.0.1 -p "$port" -U postgres -X -q -v ON_ERROR_STOP=1 "$@"; }
psql -d postgres -c "DROP DATABASE IF EXISTS bench_bi" -c "CREATE DATABASE bench_bi"
psql -d bench_bi -v seed=0.42 -v year_start='2025-01-01 00:00+00' -v year_end='2026-01-01 00:00+00' \
	-f bench/availability/data.sql >/dev/null
PGOPTIONS="-c bench.runs=$RUNS" psql -d bench_bi -At <<'SQL'
SET TimeZone = 'Europe/Berlin';
CREATE TEMP TABLE t (tolerances int, what text, fn text, ms float8);
CREATE FUNCTION pg_temp.run(tolerances int, what text, fn text, q text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz;
BEGIN
	t0 := clock_timestamp();
	EXECUTE q;
	INSERT INTO t VALUES (tolerances, what, fn, extract(epoch FROM clock_timestamp() - t0) * 1000);
END $$;
DO $$
DECLARE tol int; r int; p record;
BEGIN
	FOREACH tol IN ARRAY ARRAY[0, 10] LOOP
		SET LOCAL session_replication_role = replica;
		UPDATE depwatch.capability SET impact_tolerance = CASE WHEN id % 5 = 0 AND tol > 0 THEN interval '30 minutes' END;
		SET LOCAL session_replication_role = origin;
		FOR r IN 1 .. current_setting('bench.runs')::int LOOP
			FOR p IN VALUES ('year by day', '[2025-01-01 00:00, 2026-01-01 00:00)', 'day'),
							('June', '[2025-06-01 00:00, 2025-07-01 00:00)', NULL) LOOP
				PERFORM pg_temp.run(tol, p.column1, 'C figures',
					format('SELECT count(*) FROM depwatch_internal._availability(%L, %L)', p.column2, p.column3));
				PERFORM pg_temp.run(tol, p.column1, 'availability()',
					format('SELECT count(*) FROM depwatch.availability(%L, %L)', p.column2, p.column3));
			END LOOP;
		END LOOP;
	END LOOP;
END $$;
SELECT format('%s capabilities with a tolerance, %s: C figures %s ms, availability() %s ms, ratio %s',
			  tolerances, what, round(c::numeric), round(a::numeric), round((a / c)::numeric, 2))
FROM (SELECT tolerances, what,
			 percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) FILTER (WHERE fn = 'C figures') AS c,
			 percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) FILTER (WHERE fn = 'availability()') AS a
	  FROM t GROUP BY 1, 2) m
ORDER BY tolerances, what DESC;
SQL
