#!/usr/bin/env bash
# scenario() against what really happened and against plain SQL:
#  1. replay: the demo's map (scripts/demo.sql) with the Pangyo fire
#     recorded as the whole site down for the incident's whole length; the
#     scenario "pangyo lost from the incident's start for its length" gives,
#     per capability, the down time capability_outages() gives over the
#     incident, and the capabilities impact() windows;
#  2. expectations: on a generated ledger (60,000 transfers over 10 weeks,
#     applications), scenario()'s expected_* equal a plain-SQL computation
#     of the baseline windows, for several starts, lengths and numbers of
#     weeks, every capability, down or not; and a sweep over every site
#     and vendor (LATERAL) gives the same as one call per provider.
set -uo pipefail
cd "$(dirname "$0")/../.."

dir=tmp/it_scenario
port=16710
failures=0
ok() { echo "ok - $*"; }
fail() { echo "FAIL - $*"; failures=$((failures + 1)); }
cleanup() { scripts/cluster.sh stop "$dir" "$port" >/dev/null 2>&1 || true; }
trap cleanup EXIT

cleanup
rm -rf "$dir"
mkdir -p "$dir"
scripts/cluster.sh start "$dir" "$port" >/dev/null || { echo "FAIL - could not start the cluster"; exit 1; }
sql() { psql -X -A -t -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d bank "$@"; }
psql -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -c "CREATE DATABASE bank" || exit 1

# the demo's map, as scripts/demo.sql builds it
map=$(sed -n '/AS dependencies FROM (/,/)) c;$/p' scripts/demo.sql)
[ -n "$map" ] || { echo "FAIL - the demo's map was not found in scripts/demo.sql"; exit 1; }
sql >/dev/null <<SQL || { echo "FAIL - setting up the demo's map"; exit 1; }
SET client_min_messages = warning;
CREATE EXTENSION depwatch CASCADE;
SET TimeZone = 'Asia/Seoul';
$map
-- the fire: every dependency on site pangyo down together for the
-- incident's whole length
SELECT depwatch.record_outage(d.name, '2022-10-15 15:19+09', '2022-10-17 12:09+09', 'down', 'fire')
FROM depwatch.dependency d WHERE d.site = 'pangyo';
SELECT depwatch.open_incident('Pangyo data-center fire', '2022-10-15 15:19+09',
							  ARRAY(SELECT d.name FROM depwatch.dependency d WHERE d.site = 'pangyo' ORDER BY d.name));
SELECT depwatch.close_incident(1, '2022-10-17 12:09+09', 'fire in the UPS battery room');
SQL

# 1. replay
replay=$(sql <<'SQL'
WITH i AS (SELECT started_at, ended_at FROM depwatch.incident WHERE id = 1),
real AS (
	SELECT c.name AS capability,
		   coalesce(sum(o.ended_at - o.started_at) FILTER (WHERE o.kind = 'down'), interval '0') AS downtime
	FROM depwatch.capability c, i
	LEFT JOIN LATERAL depwatch.capability_outages(c.name, tstzrange(i.started_at, i.ended_at)) o ON true
	GROUP BY c.name),
supposed AS (
	SELECT s.capability, s.downtime FROM i, depwatch.scenario(ARRAY['pangyo'], i.started_at, i.ended_at - i.started_at) s)
SELECT string_agg(format('%s %s/%s', r.capability, r.downtime, s.downtime), ', ' ORDER BY r.capability)
	   FILTER (WHERE r.downtime IS DISTINCT FROM s.downtime),
	   count(*) FILTER (WHERE s.downtime > interval '0'), count(*)
FROM real r FULL JOIN supposed s USING (capability)
SQL
)
IFS='|' read -r differ down total <<<"$replay"
if [ -z "$differ" ] && [ "${down:-0}" -ge 2 ] && [ "${total:-0}" -ge 5 ]; then
	ok "replaying the fire (pangyo lost for the incident's length): each of $total capabilities' down time equals capability_outages' ($down down)"
else
	fail "replaying the fire: down time differs from capability_outages' (capability real/scenario): $differ ($down down of $total)"
fi
lost=$(sql -c "SELECT string_agg(capability, ',' ORDER BY capability) FROM depwatch.scenario(ARRAY['pangyo'], '2022-10-15 15:19+09', '44 hours 50 minutes') WHERE down")
windows=$(sql -c "SELECT string_agg(DISTINCT capability, ',' ORDER BY capability) FROM depwatch_internal._incident_windows((SELECT i FROM depwatch.incident i WHERE id = 1))")
if [ -n "$lost" ] && [ "$lost" = "$windows" ]; then
	ok "the scenario takes down the capabilities the incident's windows hold: $lost"
else
	fail "the scenario takes down $lost, the incident's windows hold $windows"
fi

# 2. a generated ledger
sql >/dev/null <<'SQL' || { echo "FAIL - generating the ledger"; exit 1; }
SET TimeZone = 'UTC';
SELECT setseed(0.2022);
CREATE SCHEMA bank;
CREATE TABLE bank.transfers AS
SELECT g AS txn_id, g % 900 AS account_id,
	   CASE WHEN g % 97 = 0 THEN NULL ELSE 'c' || (g * 7919 % 700) END AS customer_id,
	   timestamptz '2022-08-08 00:00+00' + random() * interval '70 days' AS occurred_at,
	   round((random() * 200000 - 100000)::numeric, 0) AS amount,
	   CASE WHEN g % 4 = 0 THEN 500 WHEN g % 4 = 1 THEN 0 ELSE 1300 END::numeric AS fee,
	   'transfer_fee'::text AS fee_type,
	   (ARRAY['transfer', 'transfer', 'simple_transfer', 'group_account', 'notifications', 'card'])[1 + g % 6] AS capability,
	   CASE WHEN g % 11 = 0 THEN 'failed' ELSE 'posted' END AS status, g % 5 = 0 AS external
FROM generate_series(1, 60000) g;
CREATE INDEX ON bank.transfers (occurred_at);
CREATE TABLE bank.applications AS
SELECT g AS application_id, 'a' || g AS customer_id,
	   timestamptz '2022-08-08 00:00+00' + random() * interval '70 days' AS occurred_at,
	   CASE WHEN g % 3 = 0 THEN 'failed' ELSE 'approved' END AS status, '' AS reason
FROM generate_series(1, 3000) g;
SELECT depwatch.bind_ledger('bank.transfers', applications => 'bank.applications');
SQL

# The plain SQL: every window, every row of it, customers compared as text
# (the ledger contract); DORA and FSS as SPEC section 9 states them.  Run
# on the ledger bound now; $1 names it in the messages.
check_expectations() {
	local mismatch bad rows nonzero down dora fss
	mismatch=$(sql <<'SQL'
SET TimeZone = 'UTC';
CREATE TEMP TABLE cases AS
SELECT * FROM (VALUES
	(ARRAY['pangyo'], timestamptz '2022-10-15 06:19+00', interval '44 hours 50 minutes', 4),
	(ARRAY['sangam'], '2022-10-10 00:00+00', '3 hours', 1),
	(ARRAY['kakao'], '2022-10-12 13:07+00', '7 days', 6),
	(ARRAY['kftc', 'nice'], '2022-10-17 23:00+00', '90 minutes', 9)) c(lose, starts, lasts, weeks);
CREATE TEMP TABLE plain AS
WITH w AS (
	SELECT c.lose, c.starts, c.lasts, c.weeks, k, c.starts - k * interval '1 week' AS lo,
		   c.starts - k * interval '1 week' + c.lasts AS hi
	FROM cases c, generate_series(1, c.weeks) k),
rows AS (
	SELECT w.lose, w.starts, w.k, t.capability, t.customer_id, t.amount, t.fee, t.status
	FROM w JOIN depwatch.ledger_binding b ON b.contract = 'transfers'
	JOIN LATERAL (
		SELECT t.occurred_at, t.capability, t.customer_id::text, t.amount, t.fee, t.status
		FROM bank.transfers t WHERE b.relation = 'bank.transfers'
		UNION ALL SELECT t.occurred_at, t.capability, t.customer_id::text, t.amount, t.fee, t.status
		FROM bank.transfers_typed t WHERE b.relation = 'bank.transfers_typed'
		UNION ALL SELECT t.occurred_at, t.capability, t.customer_id::text, t.amount, t.fee, t.status
		FROM bank.transfers_numeric t WHERE b.relation = 'bank.transfers_numeric') t
	  ON t.occurred_at >= w.lo AND t.occurred_at < w.hi),
per AS (
	SELECT r.lose, r.starts, r.k, r.capability, count(*) AS n,
		   count(DISTINCT r.customer_id) + max(CASE WHEN r.customer_id IS NULL THEN 1 ELSE 0 END) AS customers,
		   sum(abs(r.amount)) AS value, coalesce(sum(r.fee) FILTER (WHERE r.status = 'posted' AND r.fee > 0), 0) AS fees
	FROM rows r GROUP BY 1, 2, 3, 4),
overall AS (
	SELECT r.lose, r.starts, r.capability,
		   count(DISTINCT r.customer_id) + max(CASE WHEN r.customer_id IS NULL THEN 1 ELSE 0 END) AS customers
	FROM rows r GROUP BY 1, 2, 3),
apps AS (
	SELECT w.lose, w.starts, count(a.*) AS n
	FROM w LEFT JOIN bank.applications a ON a.occurred_at >= w.lo AND a.occurred_at < w.hi
	GROUP BY 1, 2)
SELECT c.lose, c.starts, cap.name AS capability, cap.impact_tolerance AS tolerance,
	   coalesce(sum(p.n), 0)::numeric / c.weeks AS transfers,
	   coalesce(sum(p.customers), 0)::numeric / c.weeks AS customers,
	   coalesce(sum(p.value), 0) / c.weeks AS value,
	   CASE WHEN cap.name = 'account_opening' THEN (SELECT a.n FROM apps a WHERE a.lose = c.lose AND a.starts = c.starts)::numeric / c.weeks END AS applications,
	   coalesce(sum(p.fees), 0) / c.weeks AS fees,
	   coalesce(o.customers, 0) AS customers_total
FROM cases c CROSS JOIN depwatch.capability cap
LEFT JOIN per p ON p.lose = c.lose AND p.starts = c.starts AND p.capability = cap.name
LEFT JOIN overall o ON o.lose = c.lose AND o.starts = c.starts AND o.capability = cap.name
GROUP BY c.lose, c.starts, c.weeks, cap.name, cap.impact_tolerance, o.customers;
SELECT count(*) FILTER (WHERE p.capability IS NULL OR s.capability IS NULL
							OR round(p.transfers, 9) <> round(s.expected_transfers, 9)
							OR round(p.customers, 9) <> round(s.expected_customers, 9)
							OR round(p.value, 9) <> round(s.expected_value, 9)
							OR round(p.applications, 9) IS DISTINCT FROM round(s.expected_applications, 9)
							OR round(p.fees, 9) <> round(s.expected_fees, 9)
							OR s.dora_major IS DISTINCT FROM
							   (p.tolerance IS NOT NULL AND s.down
								AND (s.downtime > interval '2 hours' OR p.customers > 100000
									 OR p.customers > 0.1 * p.customers_total))
							OR s.fss_reportable IS DISTINCT FROM
							   (s.downtime >= interval '30 minutes'
								OR (s.down AND s.downtime >= interval '10 minutes' AND p.customers >= 10000))),
	   count(*), count(*) FILTER (WHERE s.expected_transfers > 0), count(*) FILTER (WHERE s.down),
	   count(*) FILTER (WHERE s.dora_major), count(*) FILTER (WHERE s.fss_reportable)
FROM (SELECT c.lose, c.starts, s.* FROM cases c, depwatch.scenario(c.lose, c.starts, c.lasts, c.weeks) s) s
FULL JOIN plain p USING (lose, starts, capability);
SQL
)
	IFS='|' read -r bad rows nonzero down dora fss <<<"$(echo "$mismatch" | tail -1)"
	if [ "$bad" = 0 ] && [ "${rows:-0}" -ge 20 ] && [ "${nonzero:-0}" -ge 12 ] && [ "${down:-0}" -ge 3 ] \
		&& [ "${dora:-0}" -ge 1 ] && [ "${fss:-0}" -ge 1 ]; then
		ok "$1: scenario() expectations, DORA and FSS equal the plain SQL's: $rows capability rows over 4 scenarios ($nonzero with transfers, $down down, $dora DORA major, $fss FSS reportable)"
	else
		fail "$1: scenario() differs from the plain SQL in $bad of $rows rows ($nonzero with transfers, $down down, $dora DORA major, $fss FSS reportable)"
	fi
}
# two important business services (as the demo gives them), for DORA
sql >/dev/null <<'SQL' || { echo "FAIL - setting tolerances"; exit 1; }
SELECT depwatch.alter_capability('transfer', impact_tolerance => '4 hours');
SELECT depwatch.alter_capability('simple_transfer', impact_tolerance => '4 hours');
CREATE TABLE bank.transfers_typed (LIKE bank.transfers);
CREATE TABLE bank.transfers_numeric (LIKE bank.transfers);
SQL
check_expectations "text customer ids"

# a sweep in one query gives what one call per provider gives
sweep=$(sql <<'SQL'
CREATE TEMP TABLE providers AS
SELECT DISTINCT p FROM depwatch.dependency d, LATERAL (VALUES (d.site), (d.vendor)) v(p) WHERE p <> '';
CREATE TEMP TABLE swept AS
SELECT p.p, s.* FROM providers p, depwatch.scenario(ARRAY[p.p], '2022-10-15 06:19+00', '48 hours') s;
CREATE TEMP TABLE one_by_one (LIKE swept);
DO $$
DECLARE
	x text;
BEGIN
	FOR x IN SELECT p FROM providers LOOP
		INSERT INTO one_by_one SELECT x, s.* FROM depwatch.scenario(ARRAY[x], '2022-10-15 06:19+00', '48 hours') s;
	END LOOP;
END
$$;
SELECT (SELECT count(*) FROM (SELECT * FROM swept EXCEPT SELECT * FROM one_by_one) d)
	   + (SELECT count(*) FROM (SELECT * FROM one_by_one EXCEPT SELECT * FROM swept) d),
	   (SELECT count(*) FROM swept), (SELECT count(DISTINCT p) FROM swept);
SQL
)
IFS='|' read -r differ rows providers <<<"$(echo "$sweep" | tail -1)"
if [ "$differ" = 0 ] && [ "${providers:-0}" -ge 8 ]; then
	ok "a sweep over $providers sites and vendors in one query gives the $rows rows one call per provider gives"
else
	fail "the sweep differs from one call per provider in $differ rows ($rows rows, $providers providers)"
fi

# a write in the same transaction is seen by the next call (the baseline is
# read once per statement and snapshot, not kept past a change)
seen=$(sql <<'SQL'
BEGIN;
SELECT expected_transfers FROM depwatch.scenario(ARRAY['sangam'], '2022-10-10 00:00+00', '3 hours', 1) WHERE capability = 'transfer';
INSERT INTO bank.transfers VALUES (0, 0, 'new', '2022-10-03 01:00+00', 1, 0, 'transfer_fee', 'transfer', 'posted', false);
SELECT expected_transfers FROM depwatch.scenario(ARRAY['sangam'], '2022-10-10 00:00+00', '3 hours', 1) WHERE capability = 'transfer';
ROLLBACK;
SQL
)
before=$(echo "$seen" | sed -n 1p) after=$(echo "$seen" | sed -n 2p)
if [ -n "$before" ] && [ "$after" = "$((before + 1))" ]; then
	ok "a transfer written in the transaction counts in the next scenario ($before, then $after)"
else
	fail "a transfer written in the transaction: $before, then $after"
fi

# ids of other types are compared as their text: bigint ids (compared as
# they are, as their text is one per value) count as the same ids as text,
# and numeric ids 7 and 7.0 are two customers, as their texts are
sql >/dev/null <<'SQL' || { echo "FAIL - making the typed ledgers"; exit 1; }
DROP TABLE bank.transfers_typed, bank.transfers_numeric;
CREATE TABLE bank.transfers_typed AS
SELECT txn_id, account_id, nullif(substr(customer_id, 2), '')::bigint AS customer_id, occurred_at, amount, fee,
	   fee_type, capability, status, external
FROM bank.transfers;
CREATE INDEX ON bank.transfers_typed (occurred_at);
CREATE TABLE bank.transfers_numeric AS
SELECT txn_id, account_id,
	   CASE WHEN hashint8(txn_id) % 2 = 0 THEN customer_id::numeric ELSE customer_id::numeric(12, 1) END AS customer_id,
	   occurred_at, amount, fee, fee_type, capability, status, external
FROM bank.transfers_typed;
CREATE INDEX ON bank.transfers_numeric (occurred_at);
DO $$
BEGIN
	IF (SELECT count(DISTINCT customer_id::text) - count(DISTINCT customer_id) FROM bank.transfers_numeric
		WHERE capability = 'transfer' AND occurred_at < '2022-08-15 00:00+00') < 100 THEN
		RAISE EXCEPTION 'the numeric ledger does not hold customers written two ways';
	END IF;
END
$$;
SELECT depwatch.bind_ledger('bank.transfers_typed', applications => 'bank.applications');
SQL
check_expectations "bigint customer ids"
sql >/dev/null -c "SELECT depwatch.bind_ledger('bank.transfers_numeric', applications => 'bank.applications')" || exit 1
check_expectations "numeric customer ids (7 and 7.0 two customers)"

echo "$failures failed"
[ "$failures" -eq 0 ]
