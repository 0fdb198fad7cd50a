#!/usr/bin/env bash
# bench/status.sh PORT [RUNS]: the cost of current_status() (what every
# Prometheus scrape of metrics() pays) with 200 dependencies and 20
# capabilities carrying two years of history: 62,000 outages, 4,000
# monitor gaps, 4,800 maintenance windows.  A quarter of the dependencies
# have been up for more than a year, a quarter for 40 days; five more are
# disabled and unmonitored since they were added 200 days ago, and a
# capability needs one of them.  Prints the
# median and the p90 of RUNS calls (default 50), each in its own
# transaction.  Runs a throwaway cluster in tmp/bench_status on PORT.
set -euo pipefail
port=${1:?usage: bench/status.sh PORT [RUNS]}
runs=${2:-50}
dir=tmp/bench_status
scripts/cluster.sh stop "$dir" "$port"
rm -rf "$dir"
scripts/cluster.sh start "$dir" "$port"
trap 'scripts/cluster.sh stop "$dir" "$port"' EXIT
psql=(psql -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1)
"${psql[@]}" <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION depwatch CASCADE;
-- 200 probed dependencies, every hour (so that they stay sampled through
-- the run), two years old
SELECT count(depwatch.add_dependency('d' || i, 'core', 'tcp', '127.0.0.1:9', every => '1 hour',
									 timeout => '1 s', tracked_since => now() - interval '730 days'))
FROM generate_series(1, 200) i;
UPDATE depwatch.dependency SET created_at = now() - interval '730 days';
INSERT INTO depwatch.probe_state (dependency_id, last_at)
SELECT id, now() - interval '1 minute' FROM depwatch.dependency;
-- outages: d1-d100 every 2 days until 1 to 2 days ago; d101-d150 every 2
-- days until 40 days ago; d151-d200 until 400 days ago
INSERT INTO depwatch.outage (dependency_id, kind, during, source)
SELECT d.id, 'down',
	   tstzrange(now() - interval '730 days' + k * interval '2 days' + (d.id % 17) * interval '1 hour',
				 now() - interval '730 days' + k * interval '2 days' + (d.id % 17) * interval '1 hour'
				 + interval '10 minutes'), 'import'
FROM depwatch.dependency d,
	 generate_series(0, 364) k
WHERE interval '730 days' - k * interval '2 days' >
	  CASE WHEN d.id <= 100 THEN interval '1 day' WHEN d.id <= 150 THEN interval '40 days'
		   ELSE interval '400 days' END;
-- 20 monitor gaps and 24 maintenance windows each, over the two years
-- (the latest gap 100 days ago, the latest window 50 days ago)
INSERT INTO depwatch.monitor_gap (dependency_id, after, before, unmonitored)
SELECT d.id, t, t + interval '4 hours', tstzrange(t + interval '3 hours', t + interval '4 hours')
FROM depwatch.dependency d,
	 generate_series(now() - interval '700 days', now() - interval '100 days', interval '30 days') t;
INSERT INTO depwatch.maintenance (dependency_id, during)
SELECT d.id, tstzrange(t, t + interval '1 hour')
FROM depwatch.dependency d,
	 generate_series(now() - interval '740 days', now() - interval '50 days', interval '30 days') t;
-- 20 capabilities, each two groups of two alternatives
SELECT count(depwatch.add_capability('c' || i,
	ARRAY['d' || (i * 10 - 9) || '|d' || (i * 10 - 8), 'd' || (i * 10 - 7) || '|d' || (i * 10 - 6)]))
FROM generate_series(1, 20) i;
-- and five dependencies disabled since they were added, a year ago, never
-- sampled (unmonitored since then), and a capability that needs one
SELECT count(depwatch.add_dependency('never' || i, 'core', 'tcp', '127.0.0.1:9', every => '1 hour',
									 timeout => '1 s', tracked_since => now() - interval '200 days'))
FROM generate_series(1, 5) i;
UPDATE depwatch.dependency SET enabled = false, created_at = now() - interval '200 days'
WHERE name LIKE 'never%';
SELECT depwatch.add_capability('cnever', ARRAY['never1']) > 0;
UPDATE depwatch.capability SET created_at = now() - interval '200 days' WHERE name = 'cnever';
ANALYZE;
SQL
echo "outages: $("${psql[@]}" -Atc 'SELECT count(*) FROM depwatch.outage')"
"${psql[@]}" -Atc "SELECT state, count(*) FROM depwatch.current_status() GROUP BY 1 ORDER BY 1"
# warm up, then time each call in a transaction of its own
timed() {
	"${psql[@]}" -Atc "$1" >/dev/null
	for i in $(seq "$runs"); do
		echo '\timing on'
		echo "$1;"
	done | "${psql[@]}" -At | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | sort -n |
		awk -v what="$2" '{ v[NR] = $1 } END { printf "%s: %d calls, median %.1f ms, p90 %.1f ms\n", what, NR, v[int((NR + 1) / 2)], v[int(NR * 0.9)] }'
}
timed 'SELECT count(*) FROM depwatch.current_status()' 'current_status()'
timed 'SELECT count(*) FROM depwatch_internal._capability_status()' '_capability_status()'
timed 'SELECT length(depwatch.metrics())' 'metrics()'
