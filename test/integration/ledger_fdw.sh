#!/usr/bin/env bash
# The ledger usually lives elsewhere (issue 21, item 4; SPEC section 10):
# bind_ledger over postgres_fdw foreign tables on a second cluster gives
# the same rows as over local tables, with the time windows shipped to the
# remote side.
#
# Cluster B (port 17201) holds the bank's ledger: the hand-checked rows of
# sql/economics.sql and ~20,000 generated ones around three incidents.
# Cluster A (port 17200) holds depwatch, the same ledger as postgres_fdw
# foreign tables (schema remote, imported by a superuser; the reader's user
# mapping logs in to B with a password as ledger_ro), and a local copy
# (schema local).  A reader (analyst, in depwatch_reader) runs every ledger
# report over both bindings:
#   a. impact, fee_waiver, fee_waiver_summary, fee_waiver_cost,
#      deposit_outflow, deposit_outflow_summary, classify_incident,
#      redress, redress_summary and scenario give the same rows (EXCEPT
#      ALL both ways, and at least one row), and incident_report the same
#      JSON;
#   b. EXPLAIN VERBOSE of the generated ledger queries (_impact_query,
#      _fee_waiver_query, _outflow_query, the summary's baseline) shows
#      the time predicates in "Remote SQL", and no remote scan of the
#      transfers without one;
#   c. the plans the reports really run (auto_explain, nested statements)
#      read the remote transfers only through occurred_at ranges; those of
#      the reports that filter by capability (impact, redress, a policy's
#      capabilities, classify_incident's daily averages) read them only
#      through a capability filter too, redress's through its status, and
#      the sums of classify_incident's daily averages and deposit_outflow's
#      flows run on B;
#   d. a foreign table whose server a non-superuser owns (keeper, an admin
#      granted USAGE on postgres_fdw) is neither bound nor read: the
#      server's owner decides where the reader's login and password go;
#   then a. and c. again with use_remote_estimate on.
# KEEP=1 leaves both clusters running.
set -euo pipefail
cd "$(dirname "$0")/../.."

dir_a=tmp/it_ledger_fdw_a port_a=17200
dir_b=tmp/it_ledger_fdw_b port_b=17201
port=$port_a

cleanup() {
	scripts/cluster.sh stop "$dir_a" "$port_a"
	scripts/cluster.sh stop "$dir_b" "$port_b"
}
[ -n "${KEEP:-}" ] || trap cleanup EXIT

. test/lib.sh
psql_b() { psql -X -A -t -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port_b" -U postgres -d core "$@"; }
psql_a() { psql -X -A -t -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port_a" -U "${WHO:-postgres}" -d bank "$@"; }

for d in "$dir_a:$port_a" "$dir_b:$port_b"; do
	scripts/cluster.sh stop "${d%%:*}" "${d##*:}"
	rm -rf "${d%%:*}"
done
scripts/cluster.sh start "$dir_a" "$port_a" "TimeZone = 'UTC'"
scripts/cluster.sh start "$dir_b" "$port_b" "TimeZone = 'Asia/Seoul'" "password_encryption = 'scram-sha-256'"
# B asks ledger_ro for its password (postgres_fdw refuses a non-superuser's
# connection that used none)
hba=$dir_b/data/pg_hba.conf
{ echo "host all ledger_ro 127.0.0.1/32 scram-sha-256"; cat "$hba"; } >"$hba.new"
cat "$hba.new" >"$hba"
rm "$hba.new"
scripts/cluster.sh stop "$dir_b" "$port_b"
scripts/cluster.sh start "$dir_b" "$port_b"

# --- B: the bank's ledger
psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port_b" -U postgres -d postgres -c "CREATE DATABASE core"
psql_b <<'SQL'
CREATE ROLE ledger_ro LOGIN PASSWORD 'ro-secret';
CREATE SCHEMA bank;
GRANT USAGE ON SCHEMA bank TO ledger_ro;
ALTER DEFAULT PRIVILEGES IN SCHEMA bank GRANT SELECT ON TABLES TO ledger_ro;
CREATE TABLE bank.transfers (
	txn_id bigint PRIMARY KEY, account_id int, customer_id text, occurred_at timestamptz NOT NULL,
	amount numeric NOT NULL DEFAULT 0, fee numeric NOT NULL DEFAULT 0, fee_type text,
	capability text, status text NOT NULL DEFAULT 'posted', external boolean NOT NULL DEFAULT false,
	partner_fee numeric);
CREATE INDEX ON bank.transfers (occurred_at);
INSERT INTO bank.transfers (txn_id, account_id, customer_id, occurred_at, amount, fee, fee_type, capability, status, external, partner_fee) VALUES
	(1, 11, 'c1', '2022-10-15 06:45+00', -100, 500, 'transfer_fee', 'simple_transfer', 'posted', false, NULL),
	(2, 12, 'c2', '2022-10-15 07:10+00', -250, 0, NULL, 'simple_transfer', 'failed', false, NULL),
	(3, 11, 'c1', '2022-10-15 10:00+00', -20, 1300, 'atm_fee', 'atm', 'posted', false, NULL),
	(4, 11, 'c1', '2022-10-17 12:00+00', 0, 300, 'notification_fee', 'notification', 'posted', false, NULL),
	(5, 12, 'c2', '2022-10-15 08:30+00', -30, 500, 'transfer_fee', 'transfer', 'posted', false, NULL),
	(6, 12, 'c2', '2022-10-15 08:40+00', -30, 500, 'transfer_fee', 'transfer', 'posted', false, NULL),
	(7, 12, 'c2', '2022-10-16 08:00+00', -40, 1300, 'atm_fee', 'atm', 'posted', false, NULL),
	(8, 16, 'c6', '2022-10-15 07:00+00', 0, 300, 'notification_fee', 'notification', 'posted', false, NULL),
	(9, 13, 'c3', '2022-10-15 07:00+00', -10, 500, 'transfer_fee', 'transfer', 'posted', false, NULL),
	(10, 19, 'c9', '2022-10-08 07:00+00', -10, 500, 'transfer_fee', 'transfer', 'posted', false, NULL),
	(11, 19, 'c9', '2022-10-01 07:00+00', -10, 500, 'transfer_fee', 'transfer', 'posted', false, NULL),
	(12, 19, 'c9', '2022-10-01 20:00+00', -10, 1300, 'atm_fee', 'atm', 'posted', false, NULL),
	(13, 19, 'c9', '2022-09-17 08:00+00', -10, 500, 'transfer_fee', 'transfer', 'posted', false, NULL),
	(14, 19, 'c9', '2022-09-20 10:00+00', -10, 0, 'transfer_fee', 'transfer', 'posted', false, NULL),
	(15, 19, 'c9', '2022-10-20 10:00+00', -50, 0, 'atm_fee', 'atm', 'posted', false, 900),
	(16, 19, 'c9', '2022-10-21 10:00+00', -10, 0, 'transfer_fee', 'simple_transfer', 'posted', false, NULL),
	(17, 19, 'c9', '2022-10-12 12:00+00', 1000, 0, NULL, 'transfer', 'posted', true, NULL),
	(18, 19, 'c9', '2022-10-13 12:00+00', 2000, 0, NULL, 'transfer', 'posted', true, NULL),
	(19, 19, 'c9', '2022-10-14 12:00+00', 3000, 0, NULL, 'transfer', 'posted', true, NULL),
	(20, 12, 'c2', '2022-10-15 10:00+00', -5000, 0, NULL, 'transfer', 'posted', true, NULL),
	(21, 11, 'c1', '2022-10-15 11:00+00', 1000, 0, NULL, 'transfer', 'posted', true, NULL),
	(22, 12, 'c2', '2022-10-17 09:00+00', -3000, 0, NULL, 'transfer', 'posted', true, NULL),
	(23, 14, 'c4', '2022-10-17 09:30+00', -100, 0, NULL, 'transfer', 'failed', true, NULL),
	(24, 15, 'c5', '2022-10-17 09:45+00', -7777, 0, NULL, 'transfer', 'posted', false, NULL),
	(25, 11, 'c1', '2022-10-18 09:00+00', 500, 0, NULL, 'transfer', 'posted', true, NULL);
-- ~20,000 more over 2022-08-15 .. 2022-12-15, a fixed seed: instants on
-- whole seconds and on window edges too (06:00, 06:30, 08:00 UTC)
SELECT setseed(0.21);
INSERT INTO bank.transfers
SELECT 100 + g, a, 'c' || (a % 400), t,
	   round((random() - 0.5) * 20000), f, CASE WHEN f > 0 OR random() < 0.2 THEN ft END,
	   cap, st, random() < 0.3, CASE WHEN cap = 'atm' THEN 900 END
FROM (SELECT g, 1000 + floor(random() * 600)::int AS a,
			 CASE WHEN g % 50 = 0 THEN timestamptz '2022-10-15 06:00+00' + (g % 4) * interval '30 minutes'
				  ELSE timestamptz '2022-08-15 00:00+00' + floor(random() * 10540800) * interval '1 second' END AS t,
			 (ARRAY['simple_transfer', 'transfer', 'atm', 'notification', 'account_opening'])[1 + floor(random() * 5)::int] AS cap,
			 (ARRAY['posted', 'posted', 'posted', 'failed', 'reversed'])[1 + floor(random() * 5)::int] AS st,
			 (ARRAY[0, 0, 500, 1300, 300])[1 + floor(random() * 5)::int] AS f,
			 (ARRAY['transfer_fee', 'atm_fee', 'notification_fee'])[1 + floor(random() * 3)::int] AS ft
	  FROM generate_series(1, 20000) g) r;
CREATE TABLE bank.applications (application_id int, customer_id text, occurred_at timestamptz,
								status text, reason text);
INSERT INTO bank.applications VALUES (1, 'c6', '2022-10-15 06:45+00', 'failed', 'bureau timeout');
INSERT INTO bank.applications
SELECT 1 + g, 'c' || floor(random() * 500)::int,
	   timestamptz '2022-10-14 00:00+00' + floor(random() * 259200) * interval '1 second',
	   (ARRAY['approved', 'failed', 'abandoned'])[1 + floor(random() * 3)::int], NULL
FROM generate_series(1, 2000) g;
CREATE TABLE bank.balances (account_id int, customer_id text, as_of timestamptz, balance numeric);
INSERT INTO bank.balances VALUES
	(11, 'c1', '2022-10-14 00:00+00', 10000),
	(12, 'c2', '2022-10-10 00:00+00', 12000),
	(12, 'c2', '2022-10-14 00:00+00', 15000),
	(13, 'c3', '2022-10-16 00:00+00', 3000);
INSERT INTO bank.balances
SELECT a, 'c' || (a % 400), timestamptz '2022-08-01 00:00+00' + m * interval '1 month', round(random() * 50000)
FROM generate_series(1000, 1599) a CROSS JOIN generate_series(0, 4) m;
CREATE TABLE bank.accounts (account_id int, customer_id text, opened_at timestamptz, closed_at timestamptz);
INSERT INTO bank.accounts VALUES
	(11, 'c1', '2020-01-01', NULL),
	(12, 'c2', '2020-01-01', '2022-10-17 15:00+00');
INSERT INTO bank.accounts
SELECT a, 'c' || (a % 400), '2020-01-01',
	   CASE WHEN a % 7 = 0 THEN timestamptz '2022-10-01 00:00+00' + (a % 61) * interval '13 hours' END
FROM generate_series(1000, 1599) a;
ANALYZE;
SQL

# --- A: depwatch, the foreign ledger and a local copy
DB=postgres sql "CREATE DATABASE bank"
psql_a -o /dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION depwatch CASCADE;
CREATE EXTENSION postgres_fdw;
RESET client_min_messages;
SET search_path = depwatch, public;
SELECT count(*) FROM (VALUES
	(add_dependency('core', 'core', tracked_since => '1990-01-01 00:00+00')),
	(add_dependency('nice', 'credit_bureau', tracked_since => '1990-01-01 00:00+00')),
	(add_dependency('kcb', 'credit_bureau', tracked_since => '1990-01-01 00:00+00')),
	(add_dependency('kakao', 'messaging', tracked_since => '1990-01-01 00:00+00')),
	(add_dependency('van', 'payment_network', tracked_since => '1990-01-01 00:00+00'))) v;
SELECT add_capability('account_opening', ARRAY['core', 'nice|kcb']) > 0;
SELECT add_capability('simple_transfer', ARRAY['core', 'kakao']) > 0;
SELECT add_capability('atm', ARRAY['core', 'van']) > 0;
SELECT add_capability('transfer', ARRAY['core']) > 0;
SELECT count(*) FROM (VALUES
	(record_outage('kakao', '2022-10-15 06:30+00', '2022-10-15 08:00+00')),
	(record_outage('nice', '2022-10-15 06:00+00', '2022-10-15 07:00+00')),
	(record_outage('kcb', '2022-10-15 06:40+00', '2022-10-15 06:50+00')),
	(record_outage('van', '2022-10-15 07:30+00', '2022-10-15 07:45+00')),
	(record_outage('van', '2022-10-15 08:10+00', '2022-10-15 08:20+00')),
	(record_outage('kakao', '2022-11-20 06:00+00', '2022-11-20 07:00+00')),
	(record_outage('core', '2022-12-01 23:50+00', '2022-12-02 00:20+00'))) v;
SELECT open_incident('fire', '2022-10-15 06:00+00', ARRAY['kakao', 'nice', 'kcb', 'van']);
SELECT close_incident(1, '2022-10-15 09:00+00');
SELECT open_incident('quiet one', '2022-11-20 06:00+00', ARRAY['kakao']);
SELECT close_incident(2, '2022-11-20 07:00+00');
SELECT open_incident('core at midnight', '2022-12-01 23:50+00', ARRAY['core']);
SELECT close_incident(3, '2022-12-02 00:20+00');
SELECT add_fee_policy('launch', grace => '1 day', per_customer_cap => 2000) > 0;
SELECT add_fee_policy('atm_only', fee_types => ARRAY['atm_fee'], grace => '1 day') > 0;
SELECT add_fee_policy('transfers_only', capabilities => ARRAY['transfer', 'simple_transfer']) > 0;
SELECT set_fee_schedule('transfer_fee', NULL, 500, '[2022-01-01,)') > 0;
SELECT set_fee_schedule('atm_fee', NULL, 1500, '[2022-01-01,)') > 0;
SELECT set_incident_facts(1, '{"fee_policy": "launch", "critical_services_affected": true}');
SELECT count(*) FROM (VALUES
	(add_redress_policy('fire_2022', basis => 'failed_value',
						tiers => '[{"up_to": 300000, "pay": 30000}, {"up_to": 500000, "pay": 50000}]')),
	(add_redress_policy('capped', ARRAY['simple_transfer', 'atm'], 'failed_value',
						'[{"up_to": 2000, "pay": 100}, {"up_to": 8000, "pay": 400}]', cap => 300)),
	(add_redress_policy('lost', basis => 'lost_activity',
						tiers => '[{"up_to": 2000, "pay": 50}, {"up_to": 10000, "pay": 200}]')),
	(add_redress_policy('lost_atm', ARRAY['atm'], 'lost_activity',
						'[{"up_to": 2000, "pay": 50}, {"up_to": 10000, "pay": 200}]'))) v;

CREATE ROLE analyst LOGIN IN ROLE depwatch_reader;
-- the foreign ledger: a superuser's server and foreign tables; the
-- reader's own user mapping (its remote login and password)
CREATE SERVER ledger FOREIGN DATA WRAPPER postgres_fdw
	OPTIONS (host '127.0.0.1', port '$port_b', dbname 'core', fetch_size '10000');
CREATE USER MAPPING FOR postgres SERVER ledger OPTIONS (user 'postgres');
CREATE USER MAPPING FOR analyst SERVER ledger OPTIONS (user 'ledger_ro', password 'ro-secret');
CREATE SCHEMA remote;
IMPORT FOREIGN SCHEMA bank FROM SERVER ledger INTO remote;
CREATE SCHEMA local;
CREATE TABLE local.transfers AS SELECT * FROM remote.transfers;
CREATE INDEX ON local.transfers (occurred_at);
CREATE TABLE local.applications AS SELECT * FROM remote.applications;
CREATE TABLE local.balances AS SELECT * FROM remote.balances;
CREATE TABLE local.accounts AS SELECT * FROM remote.accounts;
ANALYZE local.transfers, local.applications, local.balances, local.accounts;
GRANT USAGE ON SCHEMA remote, local TO analyst;
GRANT SELECT ON ALL TABLES IN SCHEMA remote, local TO analyst;
CREATE SCHEMA cmp;
CREATE TABLE cmp.result (binding text, report text, r jsonb);
GRANT USAGE ON SCHEMA cmp TO analyst;
GRANT INSERT ON cmp.result TO analyst;
SQL
ok "two clusters: the ledger on B ($(psql_b -c "SELECT count(*) FROM bank.transfers") transfers), foreign and local on A"

# --- a. the same rows over both bindings
reports=(
	"impact 1|SELECT * FROM depwatch.impact(1)"
	"impact 2|SELECT * FROM depwatch.impact(2)"
	"impact 3|SELECT * FROM depwatch.impact(3)"
	"fee_waiver 1 launch|SELECT * FROM depwatch.fee_waiver(1, 'launch')"
	"fee_waiver 1 atm_only|SELECT * FROM depwatch.fee_waiver(1, 'atm_only')"
	"fee_waiver 3 transfers_only|SELECT * FROM depwatch.fee_waiver(3, 'transfers_only')"
	"fee_waiver_summary 1 launch|SELECT * FROM depwatch.fee_waiver_summary(1, 'launch')"
	"fee_waiver_summary 2 atm_only|SELECT * FROM depwatch.fee_waiver_summary(2, 'atm_only')"
	"fee_waiver_summary 3 transfers_only|SELECT * FROM depwatch.fee_waiver_summary(3, 'transfers_only')"
	"fee_waiver_cost|SELECT * FROM depwatch.fee_waiver_cost('[2022-09-01, 2022-12-01)', 'week')"
	"deposit_outflow 1|SELECT * FROM depwatch.deposit_outflow(1, '3 days', '3 days')"
	"deposit_outflow 1 weekly|SELECT * FROM depwatch.deposit_outflow(1, '28 days', '14 days', 'week')"
	"deposit_outflow 3 hourly|SELECT * FROM depwatch.deposit_outflow(3, '24 hours', '12 hours', 'hour')"
	"deposit_outflow_summary 1|SELECT * FROM depwatch.deposit_outflow_summary(1, '3 days', '3 days')"
	"deposit_outflow_summary 3|SELECT * FROM depwatch.deposit_outflow_summary(3, '14 days', '7 days')"
	"classify_incident 1 dora|SELECT * FROM depwatch.classify_incident(1)"
	"classify_incident 3 dora|SELECT * FROM depwatch.classify_incident(3)"
	"incident_report 1|SELECT depwatch.incident_report(1) AS report"
	"incident_report 2|SELECT depwatch.incident_report(2) AS report"
	"redress 1 fire_2022|SELECT * FROM depwatch.redress(1, 'fire_2022')"
	"redress 1 capped|SELECT * FROM depwatch.redress(1, 'capped')"
	"redress 1 lost|SELECT * FROM depwatch.redress(1, 'lost')"
	"redress 2 lost_atm|SELECT * FROM depwatch.redress(2, 'lost_atm')"
	"redress_summary 1 fire_2022|SELECT * FROM depwatch.redress_summary(1, 'fire_2022')"
	"redress_summary 1 lost|SELECT * FROM depwatch.redress_summary(1, 'lost')"
	"scenario kakao|SELECT * FROM depwatch.scenario(ARRAY['kakao'], '2022-10-15 06:00+00', '3 hours')"
	"scenario core 2 weeks|SELECT * FROM depwatch.scenario(ARRAY['core'], '2022-12-01 23:00+00', '2 hours', 2)"
)
# the reports that filter by capability: each of their remote scans of the
# transfers must carry the filter (c.)
by_capability=("impact 1" "impact 2" "impact 3" "fee_waiver 3 transfers_only" "fee_waiver_summary 3 transfers_only"
	"classify_incident 3 dora" "redress 1 fire_2022" "redress 1 capped" "redress 1 lost" "redress 2 lost_atm"
	"redress_summary 1 lost")
bind() {
	sql "SELECT depwatch.bind_ledger('$1.transfers', '$1.applications', '$1.balances', '$1.accounts')" >/dev/null
}
# run_reports LABEL: every report as the reader, its rows into cmp.result
run_reports() {
	local r
	for r in "${reports[@]}"; do
		WHO=analyst psql_a -c "INSERT INTO cmp.result SELECT '$1', '${r%%|*}', to_jsonb(x) FROM (${r#*|}) x" ||
			fail "$1: ${r%%|*} failed"
	done
}
# compare A B: each report gives the same rows (and some) over both
compare() {
	local diff
	diff=$(sql "SELECT string_agg(format('%s: %s only over %s, %s only over %s', k.report, k.a, '$1', k.b, '$2'), E'\n')
		FROM (SELECT r.report,
					 (SELECT count(*) FROM (SELECT x.r FROM cmp.result x WHERE x.binding = '$1' AND x.report = r.report
											EXCEPT ALL SELECT y.r FROM cmp.result y WHERE y.binding = '$2' AND y.report = r.report) e) AS a,
					 (SELECT count(*) FROM (SELECT y.r FROM cmp.result y WHERE y.binding = '$2' AND y.report = r.report
											EXCEPT ALL SELECT x.r FROM cmp.result x WHERE x.binding = '$1' AND x.report = r.report) e) AS b
			  FROM (SELECT DISTINCT report FROM cmp.result) r) k
		WHERE k.a + k.b > 0")
	[ -z "$diff" ] || fail "the reports differ: $diff"
	local empty
	empty=$(sql "SELECT string_agg(r.report, ', ') FROM (SELECT DISTINCT report FROM cmp.result) r
		WHERE NOT EXISTS (SELECT FROM cmp.result x WHERE x.binding = '$2' AND x.report = r.report)")
	[ -z "$empty" ] || fail "no rows over $2: $empty"
}

bind local
run_reports local
bind remote
run_reports remote
compare local remote
n=$(sql "SELECT count(*) FROM cmp.result WHERE binding = 'remote'")
# the hand-checked figures of sql/economics.sql hold on the foreign ledger
[ "$(sql "SELECT r->>'waiver' FROM cmp.result WHERE binding = 'remote' AND report = 'fee_waiver 1 launch' AND r->>'customer_id' = 'c2'")" = 2000 ] ||
	fail "c2's capped waiver over the foreign ledger is not 2000"
[ "$(sql "SELECT count(DISTINCT r->>'capability') FROM cmp.result WHERE binding = 'remote' AND report = 'impact 1'")" = 3 ] ||
	fail "impact(1) over the foreign ledger does not show 3 capabilities"
ok "${#reports[@]} reports ($n rows) give the same rows over the foreign ledger as over the local copy, incident_report the same JSON"

# --- b. EXPLAIN VERBOSE of the generated ledger queries: the windows in Remote SQL
# remote_scans_bounded PLAN: every Remote SQL over the transfers and the
# applications compares occurred_at with a lower and an upper bound
remote_scans_bounded() {
	local scans bad
	scans=$(grep -c 'Remote SQL: SELECT .* FROM bank\.\(transfers\|applications\)' <<<"$1" || true)
	[ "$scans" -gt 0 ] || fail "$2: no remote scan of the ledger in the plan"
	bad=$(grep 'Remote SQL: SELECT .* FROM bank\.\(transfers\|applications\)' <<<"$1" |
		grep -v '((occurred_at >= [^)]*)) AND .*((occurred_at < [^)]*))' || true)
	[ -z "$bad" ] || fail "$2: a remote scan of the ledger without both time bounds: $bad"
	echo "$scans"
}
incident=$(sql "SELECT i::text FROM depwatch.incident i WHERE i.id = 1")
policy=$(sql "SELECT p::text FROM depwatch.fee_policy p WHERE p.name = 'launch'")
explain() {
	WHO=analyst psql_a -v incident="$incident" -v policy="$policy" <<<"$1"
}
plan=$(explain "PREPARE q(depwatch.incident) AS $(sql "SELECT depwatch_internal._impact_query('remote.transfers', 'remote.applications')");
EXPLAIN (VERBOSE, COSTS OFF) EXECUTE q(:'incident');")
s1=$(remote_scans_bounded "$plan" "_impact_query")
plan=$(explain "PREPARE q(depwatch.incident, depwatch.fee_policy) AS $(sql "SELECT depwatch_internal._fee_waiver_query('remote.transfers', 'remote.applications')");
EXPLAIN (VERBOSE, COSTS OFF) EXECUTE q(:'incident', :'policy');")
s2=$(remote_scans_bounded "$plan" "_fee_waiver_query")
plan=$(explain "PREPARE q(depwatch.incident, interval, interval, text) AS $(sql "SELECT depwatch_internal._outflow_query('remote.transfers', 'remote.balances', 'remote.accounts')");
EXPLAIN (VERBOSE, COSTS OFF) EXECUTE q(:'incident', '3 days', '3 days', 'day');")
s3=$(remote_scans_bounded "$plan" "_outflow_query")
grep -q 'Remote SQL: SELECT .* FROM bank\.accounts WHERE ((closed_at >= $1::timestamp with time zone)) AND ((closed_at < $2::timestamp with time zone))' <<<"$plan" ||
	fail "_outflow_query: the closed accounts are not read by bucket on the remote side"
ok "EXPLAIN VERBOSE: the time windows are in Remote SQL ($s1 scans of the ledger in _impact_query, $s2 in _fee_waiver_query, $s3 in _outflow_query)"

# --- c. what the reports really run (auto_explain, nested statements)
# report_plans [LABEL]: the plans of every report (or of the one named)
report_plans() {
	{
		echo "LOAD 'auto_explain';"
		echo "SET auto_explain.log_min_duration = 0;"
		echo "SET auto_explain.log_nested_statements = on;"
		echo "SET auto_explain.log_verbose = on;"
		echo "SET auto_explain.log_level = notice;"
		for r in "${reports[@]}"; do
			[ -z "${1:-}" ] || [ "${r%%|*}" = "$1" ] || continue
			echo "SELECT count(x.*) FROM (${r#*|}) x;"
		done
	} | psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port_a" -U postgres -d bank -o /dev/null 2>&1
}
# shipped_filters LABEL: the remote side filters and sums what it can
shipped_filters() {
	local r plan bad n=0
	for r in "${by_capability[@]}"; do
		plan=$(report_plans "$r")
		grep -q 'Remote SQL: SELECT .* FROM bank\.transfers' <<<"$plan" || fail "$1: $r reads no remote transfers"
		bad=$(grep 'Remote SQL: SELECT .* FROM bank\.transfers' <<<"$plan" | grep -v '((capability = ' || true)
		[ -z "$bad" ] || fail "$1: $r reads the remote transfers without its capability filter: $bad"
		n=$((n + $(grep -c 'Remote SQL: SELECT .* FROM bank\.transfers' <<<"$plan")))
	done
	# classify_incident's daily averages: counted and summed on B, over the
	# incident's capabilities only
	for r in "classify_incident 1 dora" "classify_incident 3 dora" "incident_report 1"; do
		grep -q 'Remote SQL: SELECT .*count(\*).*, sum(abs(amount)) FROM bank\.transfers WHERE ((occurred_at >= [^)]*)) AND ((occurred_at < [^)]*)) AND ((capability = ANY (' \
			<<<"$(report_plans "$r")" || fail "$1: $r does not count its daily averages on the remote side by capability"
	done
	# redress tests each row's status on B too
	for r in "redress 1 fire_2022" "redress_summary 1 lost"; do
		bad=$(grep 'Remote SQL: SELECT .* FROM bank\.transfers' <<<"$(report_plans "$r")" | grep -v "((status = '" || true)
		[ -z "$bad" ] || fail "$1: $r reads the remote transfers without its status filter: $bad"
	done
	# deposit_outflow's flows: one sum per bucket from B
	grep -q 'Remote SQL: SELECT sum(amount) FILTER (WHERE (amount > 0::numeric)), sum(amount) FILTER (WHERE (amount < 0::numeric)) FROM bank\.transfers WHERE' \
		<<<"$(report_plans "deposit_outflow 1")" || fail "$1: deposit_outflow does not sum its flows on the remote side"
	echo "$n"
}
s=$(remote_scans_bounded "$(report_plans)" "the reports")
c=$(shipped_filters "the reports")
ok "every report reads the foreign ledger by time windows only ($s remote scans, each with both bounds); ${#by_capability[@]} reports filter by capability on B ($c scans), the daily averages and the flows are summed there"

# --- d. the server decides where the reader's login goes: a superuser's only
psql_a -o /dev/null <<SQL
CREATE ROLE keeper LOGIN IN ROLE depwatch_admin;
GRANT USAGE ON FOREIGN DATA WRAPPER postgres_fdw TO keeper;
SET ROLE keeper;
CREATE SERVER elsewhere FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '127.0.0.1', port '$port_b', dbname 'core');
RESET ROLE;
CREATE FOREIGN TABLE remote.transfers_elsewhere (txn_id bigint, account_id int, customer_id text,
	occurred_at timestamptz, amount numeric, fee numeric, fee_type text, capability text, status text,
	external boolean) SERVER elsewhere OPTIONS (schema_name 'bank', table_name 'transfers');
SQL
err=$(sql "SELECT depwatch.bind_ledger('remote.transfers_elsewhere')" 2>&1) && fail "a foreign table on keeper's server was bound"
grep -q "remote.transfers_elsewhere cannot be bound as transfers: it is, or holds, a foreign table whose server belongs to a role who is not a superuser: remote.transfers_elsewhere reads through server elsewhere (owned by keeper)" <<<"$err" ||
	fail "binding a foreign table on keeper's server: $err"
[ "$(sql "SELECT relation FROM depwatch.ledger_binding WHERE contract = 'transfers'")" = remote.transfers ] ||
	fail "the refused binding changed the bound transfers"
sql "ALTER SERVER ledger OWNER TO keeper"
err=$(WHO=analyst psql_a -c "SELECT count(*) FROM depwatch.impact(1)" 2>&1) && fail "a report ran through a server keeper owns"
grep -q "ERROR:  remote.transfers cannot be bound as transfers: it is, or holds, a foreign table whose server belongs to a role who is not a superuser" <<<"$err" ||
	fail "a report through keeper's server: $err"
sql "ALTER SERVER ledger OWNER TO postgres"
ok "a foreign table whose server a non-superuser owns is neither bound nor read (42501)"

# --- the same with use_remote_estimate (the planner asks B for its costs)
sql "ALTER SERVER ledger OPTIONS (ADD use_remote_estimate 'true')"
run_reports remote_estimate
compare local remote_estimate
s=$(remote_scans_bounded "$(report_plans)" "the reports with use_remote_estimate")
c=$(shipped_filters "with use_remote_estimate")
ok "with use_remote_estimate: the same rows, $s remote scans each with both bounds, $c with the capability filter"
