#!/usr/bin/env bash
# bench/scenario.sh: the "what if" sweep of SPEC section 9: every site and
# every vendor of a 200-dependency map lost for 48 h, in one query, on a
# 10M-row ledger, against the best plain SQL a DBA would write for the same
# answer, on the same data in the same run.
#
# On its own throwaway cluster (tmp/bench_scenario, port 16720), it
#   1. makes the map through depwatch's API: 200 dependencies on 12 sites
#      and 25 vendors; 40 capabilities of 1 to 3 groups (alternatives,
#      k of n), 10 of them on other capabilities (nesting two deep), half
#      with an impact tolerance; and a ledger of N transfers over 2023 in
#      time order (occurred_at follows the heap, indexed), 1M customers,
#      and 200,000 applications, generated set-based with a fixed seed;
#   2. checks that depwatch's sweep and the plain SQL give the same rows
#      (EXCEPT both ways);
#   3. times both RUNS times, alternating which goes first, and prints the
#      medians and their ratio (bench/scenario_results.md keeps them).
#
#   depwatch:  SELECT p.provider, s.* FROM providers p
#              CROSS JOIN LATERAL depwatch.scenario(ARRAY[p.provider], t, '48 hours') s
#   plain SQL: the capability algebra as a recursive fixpoint over the
#              requirements per provider (k of n and nesting), the baseline
#              read once (4 windows by the occurred_at index), the
#              tolerance, DORA and FSS rules written inline.
#
# Run as root (the server runs as the postgres OS user) after make install.
# Settings (environment): N (10000000), RUNS (5), PORT (16720), DIR
# (tmp/bench_scenario); REUSE=1 keeps the cluster and data of the last run.
# Generating 10M rows takes a few minutes on 2 shared cores.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
cd "$repo"

port=${PORT:-16720}
dir=${DIR:-tmp/bench_scenario}
db=scen
N=${N:-10000000} RUNS=${RUNS:-5} REUSE=${REUSE:-0}

cleanup() {
	rc=$?
	trap - EXIT INT TERM
	scripts/cluster.sh stop "$dir" "$port" || true
	[ "$rc" -eq 0 ] || echo "bench/scenario: failed (exit $rc); server log: $dir/server.log" >&2
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ -f "$(pg_config --sharedir)/extension/depwatch.control" ] ||
	{ echo "bench/scenario: depwatch is not installed (make install)" >&2; exit 1; }

# as bench/economics.sh sets up a reporting server, smaller: the machine is shared
conf=(
	"shared_buffers = '2GB'"
	"effective_cache_size = '8GB'"
	"work_mem = '64MB'"
	"maintenance_work_mem = '512MB'"
	"max_wal_size = '8GB'"
	"random_page_cost = 1.1"
	"max_parallel_workers_per_gather = 1"
	"jit = off"
)
export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres
psql() { command psql -X -q -v ON_ERROR_STOP=1 "$@"; }

start=$(date +%s)
if [ "$REUSE" = 1 ] && [ -f "$dir/data/PG_VERSION" ]; then
	scripts/cluster.sh start "$dir" "$port"
else
	scripts/cluster.sh stop "$dir" "$port" 2>/dev/null || true
	rm -rf "$dir"
	mkdir -p "$dir"
	scripts/cluster.sh start "$dir" "$port" "${conf[@]}"
	psql -d postgres -c "CREATE DATABASE $db" -c "ALTER DATABASE $db SET TimeZone = 'UTC'"
	echo "bench/scenario: the map, then the ledger ($N transfers)"
	psql -d "$db" -v n="$N" <<'SQL' >/dev/null
SET client_min_messages = warning;
CREATE EXTENSION depwatch CASCADE;
SELECT setseed(0.2022);
SELECT depwatch.add_dependency('d' || g, 'other', site => 'site' || (g % 12), vendor => 'vendor' || (g * 7 % 25),
							   tracked_since => '2020-01-01 00:00+00')
FROM generate_series(1, 200) g;
-- 30 capabilities on dependencies: a required one, a pair of
-- alternatives, and 2 of 3 (every third capability)
SELECT depwatch.add_capability('cap' || c,
		ARRAY['d' || (1 + c * 37 % 200), 'd' || (1 + c * 53 % 200) || '|d' || (1 + c * 71 % 200)]
		|| CASE WHEN c % 3 = 0 THEN ARRAY['2:d' || (1 + c * 11 % 200) || '|d' || (1 + c * 13 % 200) || '|d' || (1 + c * 17 % 200)]
				ELSE '{}' END,
		impact_tolerance => CASE WHEN c % 2 = 0 THEN (1 + c % 5) * interval '1 hour' END)
FROM generate_series(1, 30) c;
-- 10 on capabilities: two of them, or one and a dependency
SELECT depwatch.add_capability('svc' || c,
		ARRAY['cap' || (1 + c * 7 % 30) || '|cap' || (1 + c * 11 % 30), 'd' || (1 + c * 19 % 200)],
		impact_tolerance => CASE WHEN c % 2 = 1 THEN interval '4 hours' END)
FROM generate_series(1, 5) c;
SELECT depwatch.add_capability('top' || c, ARRAY['svc' || c, '2:cap' || c || '|cap' || (c + 10) || '|svc' || (c % 5 + 1)],
		impact_tolerance => CASE WHEN c % 2 = 0 THEN interval '2 hours' END)
FROM generate_series(1, 5) c;

CREATE SCHEMA bank;
CREATE TABLE bank.transfers (txn_id bigint, account_id bigint, customer_id bigint, occurred_at timestamptz,
	amount numeric, fee numeric, fee_type text, capability text, status text, external boolean);
INSERT INTO bank.transfers
SELECT g, (g * 7919) % 1300000, (g * 7919) % 1000000,
	   timestamptz '2023-01-01 00:00+00' + (g + random()) * (interval '365 days' / :n),
	   round((random() * 200000 - 100000)::numeric, 0),
	   CASE WHEN g % 3 = 0 THEN 500 ELSE 0 END, 'transfer_fee',
	   CASE WHEN g % 4 = 0 THEN 'svc' || (1 + g % 5) ELSE 'cap' || (1 + g % 30) END,
	   CASE WHEN g % 25 = 0 THEN 'failed' ELSE 'posted' END, g % 6 = 0
FROM generate_series(1::bigint, :n) g;
CREATE INDEX ON bank.transfers (occurred_at);
CREATE TABLE bank.applications AS
SELECT g AS application_id, g % 1000000 AS customer_id,
	   timestamptz '2023-01-01 00:00+00' + g * interval '157.68 seconds' AS occurred_at,
	   CASE WHEN g % 4 = 0 THEN 'failed' ELSE 'approved' END AS status, '' AS reason
FROM generate_series(1, 200000) g;
CREATE INDEX ON bank.applications (occurred_at);
VACUUM ANALYZE bank.transfers;
VACUUM ANALYZE bank.applications;
SELECT depwatch.bind_ledger('bank.transfers', applications => 'bank.applications');
SQL
	echo "bench/scenario: generated in $(( $(date +%s) - start )) s"
fi

# the two queries, and the harness
psql -d "$db" <<'SQL' >/dev/null
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS bench CASCADE;
CREATE SCHEMA bench;
CREATE TABLE bench.providers AS
SELECT DISTINCT p.provider FROM depwatch.dependency d, LATERAL (VALUES (d.site), (d.vendor)) p(provider)
WHERE p.provider <> '';

CREATE VIEW bench.depwatch AS
SELECT p.provider, s.capability, s.down, s.downtime, s.breached, s.breached_at, s.expected_transfers,
	   s.expected_customers, s.expected_value, s.expected_applications, s.expected_fees, s.dora_major, s.fss_reportable
FROM bench.providers p
CROSS JOIN LATERAL depwatch.scenario(ARRAY[p.provider], '2023-10-15 06:19+00', '48 hours') s;

-- The DBA's query.  What each provider takes down: the lost dependencies,
-- then, until nothing changes, every capability with a group that has
-- fewer than k members up (a recursive fixpoint: nesting followed).  The
-- baseline once: the 4 windows one week apart back, each read by the
-- occurred_at index.
CREATE VIEW bench.plain AS
WITH RECURSIVE
params AS (SELECT timestamptz '2023-10-15 06:19+00' AS t, interval '48 hours' AS lasts, 4 AS weeks),
groups AS (SELECT r.capability, r.k, r.members FROM depwatch.requirements r),
fix(provider, down, changed) AS (
	SELECT p.provider, array_agg(d.name), true
	FROM bench.providers p JOIN depwatch.dependency d ON p.provider IN (d.site, d.vendor)
	GROUP BY p.provider
	UNION ALL
	SELECT f.provider, f.down || n.caps, true
	FROM fix f
	CROSS JOIN LATERAL (
		SELECT array_agg(DISTINCT g.capability) AS caps
		FROM groups g
		WHERE NOT g.capability = ANY (f.down)
		  AND cardinality(g.members) - (SELECT count(*) FROM unnest(g.members) m WHERE m = ANY (f.down)) < g.k) n
	WHERE n.caps IS NOT NULL),
lost AS (
	SELECT f.provider, array_agg(DISTINCT x) AS down FROM fix f, unnest(f.down) x GROUP BY f.provider),
w AS (
	SELECT k, p.t - k * interval '1 week' AS lo, p.t - k * interval '1 week' + p.lasts AS hi
	FROM params p, generate_series(1, p.weeks) k),
t AS MATERIALIZED (
	SELECT w.k, x.capability, x.customer_id, x.amount, x.fee, x.status
	FROM w JOIN bank.transfers x ON x.occurred_at >= w.lo AND x.occurred_at < w.hi),
per_window AS (
	SELECT t.capability, t.k, count(*) AS n, count(DISTINCT t.customer_id) AS customers,
		   sum(abs(t.amount)) AS value, coalesce(sum(t.fee) FILTER (WHERE t.status = 'posted' AND t.fee > 0), 0) AS fees
	FROM t GROUP BY 1, 2),
overall AS (
	SELECT t.capability, count(DISTINCT t.customer_id) AS customers FROM t GROUP BY 1),
base AS (
	SELECT c.name AS capability, c.impact_tolerance AS tolerance,
		   trim_scale(coalesce(sum(p.n), 0) / 4.0) AS transfers,
		   trim_scale(coalesce(sum(p.customers), 0) / 4.0) AS customers,
		   trim_scale(coalesce(sum(p.value), 0) / 4.0) AS value,
		   trim_scale(coalesce(sum(p.fees), 0) / 4.0) AS fees,
		   coalesce(o.customers, 0) AS customers_total
	FROM depwatch.capability c LEFT JOIN per_window p ON p.capability = c.name
	LEFT JOIN overall o ON o.capability = c.name
	GROUP BY c.name, c.impact_tolerance, o.customers)
SELECT l.provider, b.capability, o.down, o.downtime,
	   CASE WHEN b.tolerance IS NOT NULL THEN o.downtime > b.tolerance END AS breached,
	   CASE WHEN o.downtime > b.tolerance THEN (SELECT t FROM params) + b.tolerance END AS breached_at,
	   b.transfers, b.customers, b.value, NULL::numeric AS applications, b.fees,
	   b.tolerance IS NOT NULL AND o.down
	   AND (o.downtime > interval '2 hours' OR b.customers > 100000 OR b.customers > 0.1 * b.customers_total) AS dora_major,
	   o.downtime >= interval '30 minutes' OR (o.down AND o.downtime >= interval '10 minutes' AND b.customers >= 10000) AS fss_reportable
FROM lost l CROSS JOIN base b
CROSS JOIN LATERAL (SELECT b.capability = ANY (l.down) AS down,
						   CASE WHEN b.capability = ANY (l.down) THEN (SELECT lasts FROM params) ELSE interval '0' END AS downtime) o;

-- count(q.*), not count(*): the whole row makes every column be computed;
-- under count(*) the planner drops the columns nobody reads from the
-- plain view (its distinct customers, values, fees), while depwatch's
-- function computes them all
CREATE FUNCTION bench.ms(q text) RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE
	t0 timestamptz := clock_timestamp();
	n bigint;
BEGIN
	EXECUTE format('SELECT count(q.*) FROM (%s) q', q) INTO n;
	RETURN round(extract(epoch FROM clock_timestamp() - t0) * 1000, 1);
END
$$;
SQL

# 2. the same answer
bad=$(psql -d "$db" -Atc "SELECT (SELECT count(*) FROM (TABLE bench.depwatch EXCEPT TABLE bench.plain) a)
									+ (SELECT count(*) FROM (TABLE bench.plain EXCEPT TABLE bench.depwatch) b)")
rows=$(psql -d "$db" -Atc "SELECT count(*) || ' rows, ' || count(DISTINCT provider) || ' providers, '
								  || count(*) FILTER (WHERE down) || ' capabilities down'
						   FROM bench.depwatch")
if [ "$bad" != 0 ]; then
	echo "bench/scenario: depwatch and the plain SQL differ in $bad rows" >&2
	exit 1
fi
echo "bench/scenario: depwatch and the plain SQL agree: $rows"

# 3. timings, alternating which goes first
for i in $(seq 1 "$RUNS"); do
	if [ $((i % 2)) = 1 ]; then order="depwatch plain"; else order="plain depwatch"; fi
	for q in $order; do
		echo "$q $(psql -d "$db" -Atc "SELECT bench.ms('TABLE bench.$q')")"
	done
done >"$dir/timings"
summary=$(python3 - "$dir/timings" <<'PY'
import statistics, sys
t = {}
for line in open(sys.argv[1]):
    q, ms = line.split()
    t.setdefault(q, []).append(float(ms))
d, p = statistics.median(t["depwatch"]), statistics.median(t["plain"])
print("depwatch %.1f ms, plain SQL %.1f ms (medians of %d), ratio %.2f" % (d, p, len(t["depwatch"]), d / p))
print("depwatch runs: " + " ".join("%.0f" % x for x in t["depwatch"]))
print("plain runs:    " + " ".join("%.0f" % x for x in t["plain"]))
PY
)
echo "bench/scenario: N=$N, $rows"
echo "$summary"
