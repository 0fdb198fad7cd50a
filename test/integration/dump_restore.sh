#!/usr/bin/env bash
# pg_dump of a configured database restores into a fresh cluster with all of
# depwatch's configuration and history: dependencies (secrets included),
# capabilities, samples in dated and default partitions, probe state,
# outages, maintenance, incidents, the audit log and its head.  After the
# restore verify_audit() still passes with the same count, the API still
# works, and the sequences go on where they were.  Both dump forms are
# tried: custom format with a plain pg_restore, and plain SQL through psql.
# Last, a round trip with workers running on both sides.
set -euo pipefail
cd "$(dirname "$0")/../.."

dir_a=tmp/it_dump_a port_a=15435
dir_b=tmp/it_dump_b port_b=15436
tables="dependency capability sample probe_state outage maintenance incident incident_dependency audit_log audit_head
	ledger_binding fee_policy fee_schedule monitor_gap vantage_sample vantage_outage vantage_gap"
sequences="dependency_id_seq capability_id_seq outage_id_seq maintenance_id_seq incident_id_seq audit_log_id_seq
	ledger_binding_id_seq fee_policy_id_seq fee_schedule_id_seq vantage_sample_id_seq"

cleanup() {
	scripts/cluster.sh stop "$dir_a" "$port_a" || true
	scripts/cluster.sh stop "$dir_b" "$port_b" || true
}
cleanup
rm -rf "$dir_a" "$dir_b"
trap cleanup EXIT
scripts/cluster.sh start "$dir_a" "$port_a"
scripts/cluster.sh start "$dir_b" "$port_b"

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok - $*"; }
# q PORT DB SQL: run SQL, print unaligned tuples only
q() {
	PGOPTIONS="-c TimeZone=UTC" psql -X -A -t -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$1" -U postgres -d "$2" -c "$3"
}
psql_a() { PGOPTIONS="-c TimeZone=UTC" psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port_a" -U postgres "$@"; }

# ---------------------------------------------------------------------------
# Cluster A: configure depwatch in "bank" through the API
# ---------------------------------------------------------------------------
q "$port_a" postgres "CREATE DATABASE bank"
psql_a -d bank -o /dev/null <<'SQL' || fail "configuring depwatch in cluster A failed"
SET client_min_messages = warning;
CREATE EXTENSION depwatch CASCADE;
SET TimeZone = 'UTC';
SELECT * FROM depwatch.maintain_sample_partitions();

-- dependencies of every probe, with secrets in targets and options
SELECT depwatch.add_dependency('bureau_a', 'credit_bureau', 'tcp', '127.0.0.1:9',
	site => 'dc_seoul', vendor => 'kcb', tracked_since => '1990-01-01 00:00+00');
SELECT depwatch.add_dependency('bureau_b', 'credit_bureau', 'http',
	'https://probe:hunter2@bureau-b.example/health?full=1',
	options => '{"headers": {"Authorization": "Bearer s3cr3t-token", "X-Client": "bank"},
				 "expect_status": [200, 204], "method": "GET", "slo": 99.95}',
	site => 'dc_seoul', vendor => 'nice', tracked_since => '1990-01-01 00:00+00');
SELECT depwatch.add_dependency('ledger', 'core', 'postgres',
	'host=127.0.0.1 port=5432 dbname=core user=probe password=pa55word',
	degraded_after => '200 ms', fail_after => 2, recover_after => 1,
	options => '{"query": "SELECT 1"}', site => 'dc_pangyo', vendor => 'self', tracked_since => '1990-01-01 00:00+00');
SELECT depwatch.add_dependency('msg_platform', 'messaging', 'passive',
	options => '{"error_rate": 0.5, "window": "5 min", "min_calls": 4}',
	site => 'dc_pangyo', vendor => 'kakao', tracked_since => '1990-01-01 00:00+00');
SELECT depwatch.add_dependency('dc_pangyo', 'datacenter', 'none', site => 'dc_pangyo', tracked_since => '1990-01-01 00:00+00');
SELECT depwatch.add_dependency('old_bureau', 'credit_bureau', 'tcp', '10.0.0.1:443',
	vendor => 'legacy', tracked_since => '1990-01-01 00:00+00');

-- capabilities: a 2-of-3 group, an any-of group, one requiring another
SELECT depwatch.add_capability('account_opening', ARRAY['2:bureau_a|bureau_b|ledger', 'dc_pangyo'],
	slo => 99.5, impact_tolerance => '4 hours');
SELECT depwatch.add_capability('transfer', ARRAY['ledger', 'msg_platform|dc_pangyo'], slo => 99.95);
SELECT depwatch.add_capability('simple_transfer', ARRAY['transfer', 'msg_platform'],
	impact_tolerance => '2 hours');

-- maintenance on a dependency and on a capability
SELECT depwatch.add_maintenance('bureau_a', tstzrange('2019-03-02 01:00+00', '2019-03-02 03:00+00'), 'patching');
SELECT depwatch.add_maintenance('transfer', tstzrange('2021-06-01 00:00+00', '2021-06-01 00:30+00'));

-- outages by hand: closed ones and one still open
SELECT depwatch.record_outage('dc_pangyo', '2022-10-15 06:30+00', '2022-10-15 17:00+00',
	note => 'fire in the battery room');
SELECT depwatch.record_outage('bureau_b', '2020-01-01 09:00+00', '2020-01-01 09:20+00', kind => 'degraded');
SELECT depwatch.record_outage('dc_pangyo', date_trunc('day', now()) - interval '2 hours',
	detected_at => date_trunc('day', now()) - interval '1 hour 50 min');
SELECT depwatch.record_outage('old_bureau', '2018-05-01 00:00+00', '2018-05-01 01:00+00');

-- samples from years ago (they land in sample_default): an outage opens and closes
SELECT depwatch.report_sample('bureau_a', ok, latency, at, 'seoul', detail)
FROM (VALUES (true,  '20 ms'::interval, '2019-03-01 10:00:00+00'::timestamptz, NULL),
			 (false, NULL, '2019-03-01 10:00:10+00', 'connection refused'),
			 (false, NULL, '2019-03-01 10:00:20+00', 'connection refused'),
			 (false, NULL, '2019-03-01 10:00:30+00', 'timeout'),
			 (true,  '25 ms', '2019-03-01 10:00:40+00', NULL),
			 (true,  '22 ms', '2019-03-01 10:00:50+00', NULL)) s(ok, latency, at, detail)
ORDER BY at;
SELECT depwatch.report_sample('msg_platform', ok, at => at, vantage => 'app1')
FROM (SELECT g % 5 <> 0 AND g NOT BETWEEN 10 AND 20 AS ok,
			 '2020-07-07 12:00+00'::timestamptz + g * interval '10 s' AS at
	  FROM generate_series(0, 40) g) s
ORDER BY at;
SELECT depwatch.report_sample('old_bureau', false, at => '2018-04-30 23:59:50+00', vantage => 'seoul');

-- samples dated today (they land in today's partition): outages open,
-- one closes, one stays open
SELECT depwatch.report_sample('ledger', ok, latency, date_trunc('day', now()) + s * interval '1 s', 'pangyo')
FROM (VALUES (1, true, '5 ms'::interval), (2, false, NULL), (3, false, NULL),
			 (4, true, '8 ms'), (5, true, '500 ms'), (6, true, '600 ms'), (7, true, '700 ms'),
			 (8, true, '650 ms')) v(s, ok, latency)
ORDER BY s;
SELECT depwatch.report_sample('bureau_a', ok, NULL, date_trunc('day', now()) + s * interval '1 s', 'seoul',
							  CASE WHEN NOT ok THEN 'connection refused' END)
FROM (VALUES (1, true), (2, false), (3, false), (4, false), (5, false)) v(s, ok)
ORDER BY s;

-- incidents: one closed, one open (and one naming nothing)
SELECT depwatch.open_incident('credit bureaus overloaded on launch day', '2019-03-01 10:00+00',
	ARRAY['bureau_a', 'bureau_b']);
SELECT depwatch.close_incident(1, '2019-03-01 11:00+00', 'bureau capacity');
SELECT depwatch.open_incident('data center fire', '2022-10-15 06:30+00', ARRAY['dc_pangyo', 'msg_platform']);
SELECT depwatch.open_incident('ledger slow today', date_trunc('day', now()));

-- the bank's ledger, bound, with a fee policy and a fee schedule
CREATE SCHEMA bank;
CREATE TABLE bank.transfers (txn_id bigint, account_id bigint, customer_id text, occurred_at timestamptz,
	amount numeric, fee numeric, fee_type text, capability text, status text, external boolean);
CREATE INDEX ON bank.transfers (occurred_at);
INSERT INTO bank.transfers VALUES
	(1, 1, 'c1', '2022-10-15 07:00+00', -100, 500, 'transfer_fee', 'account_opening', 'failed', false),
	(2, 1, 'c1', '2022-10-15 08:00+00', -100, 500, 'transfer_fee', 'transfer', 'posted', false);
SELECT depwatch.bind_ledger('bank.transfers');
SELECT depwatch.add_fee_policy('fire', ARRAY['transfer_fee'], grace => '1 day', per_customer_cap => 10000);
SELECT depwatch.set_fee_schedule('transfer_fee', NULL, 500, '[2020-01-01+00,)');

-- changes and a drop, so the log holds UPDATE and DELETE rows
SELECT depwatch.alter_dependency('bureau_a', every => '5 s', timeout => '1 s', vendor => 'kcb_group');
SELECT depwatch.alter_dependency('bureau_b', options => '{"headers": {"Authorization": "Bearer n3w-token"}}');
SELECT depwatch.alter_capability('transfer', slo => 99.9);
SELECT depwatch.drop_dependency('old_bureau');
SQL
ok "depwatch configured in cluster A through the API"

# the daily partitions live in depwatch_internal
today=$(q "$port_a" bank "SELECT 'depwatch_internal.sample_' || to_char(now() AT TIME ZONE 'UTC', 'YYYYMMDD')")
[ "$(q "$port_a" bank "SELECT count(*) > 0 FROM $today")" = t ] ||
	fail "no samples in today's partition $today"
[ "$(q "$port_a" bank "SELECT count(*) > 0 FROM depwatch.sample_default WHERE at < '2021-01-01'")" = t ] ||
	fail "no old samples in depwatch.sample_default"
ok "samples in today's partition ($today) and in sample_default"
got=$(q "$port_a" bank "SELECT string_agg(DISTINCT action, ',' ORDER BY action) FROM depwatch.audit_log")
[ "$got" = "DELETE,INSERT,UPDATE" ] || fail "audit log actions are '$got', not DELETE,INSERT,UPDATE"
got=$(q "$port_a" bank "SELECT count(*) FROM depwatch.outage WHERE upper_inf(during)")
[ "$got" -ge 2 ] || fail "expected open outages in A, found $got"
got=$(q "$port_a" bank "SELECT count(*) FROM depwatch.outage WHERE source = 'reported' AND NOT upper_inf(during)")
[ "$got" -ge 1 ] || fail "expected a closed outage from report_sample (source reported) in A, found $got"
ok "audit log has INSERT, UPDATE and DELETE rows; outages open and closed"
verify_a=$(q "$port_a" bank "SELECT ok || ' ' || checked FROM depwatch.verify_audit()")
[ "${verify_a%% *}" = true ] || fail "verify_audit() on A: $verify_a"
ok "verify_audit() on A: ok, ${verify_a#* } rows checked"

# ---------------------------------------------------------------------------
# Dump A, restore into B (custom format + pg_restore, and plain SQL + psql)
# ---------------------------------------------------------------------------
dump=$dir_a/bank.dump
pg_dump -Fc -h 127.0.0.1 -p "$port_a" -U postgres -d bank -f "$dump" 2>"$dir_a/pg_dump.err" ||
	{ cat "$dir_a/pg_dump.err" >&2; fail "pg_dump -Fc failed"; }
[ -s "$dir_a/pg_dump.err" ] && { cat "$dir_a/pg_dump.err" >&2; fail "pg_dump -Fc wrote to stderr"; }
ok "pg_dump -Fc of bank"

q "$port_b" postgres "CREATE DATABASE bank"
if ! pg_restore -h 127.0.0.1 -p "$port_b" -U postgres -d bank "$dump" 2>"$dir_b/pg_restore.err"; then
	cat "$dir_b/pg_restore.err" >&2
	fail "pg_restore into B failed"
fi
[ -s "$dir_b/pg_restore.err" ] && { cat "$dir_b/pg_restore.err" >&2; fail "pg_restore wrote to stderr"; }
ok "pg_restore -d bank into a fresh cluster: no errors"

q "$port_b" postgres "CREATE DATABASE bank_sql"
if ! pg_dump -h 127.0.0.1 -p "$port_a" -U postgres -d bank 2>"$dir_a/pg_dump_sql.err" |
		psql -X -q -o /dev/null -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port_b" -U postgres -d bank_sql \
			2>"$dir_b/psql_restore.err"; then
	cat "$dir_a/pg_dump_sql.err" "$dir_b/psql_restore.err" >&2
	fail "plain pg_dump | psql into B failed"
fi
if grep -qiE 'error|fatal' "$dir_a/pg_dump_sql.err" "$dir_b/psql_restore.err"; then
	cat "$dir_a/pg_dump_sql.err" "$dir_b/psql_restore.err" >&2
	fail "plain pg_dump | psql reported errors"
fi
ok "pg_dump | psql -v ON_ERROR_STOP=1 into bank_sql: no errors"

# ---------------------------------------------------------------------------
# Compare A and B
# ---------------------------------------------------------------------------
digest() { # PORT DB TABLE (in depwatch, or schema-qualified)
	case $3 in *.*) rel=$3 ;; *) rel=depwatch.$3 ;; esac
	q "$1" "$2" "SELECT count(*) || ' ' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '-')
				 FROM $rel t"
}
partitions="SELECT string_agg(c.oid::regclass || ' ' || pg_get_expr(c.relpartbound, c.oid), '; ' ORDER BY c.relname)
			FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
			WHERE i.inhparent = 'depwatch.sample'::regclass"
for db in bank bank_sql; do
	for t in $tables; do
		a=$(digest "$port_a" bank "$t")
		b=$(digest "$port_b" "$db" "$t")
		[ "$a" = "$b" ] || fail "depwatch.$t differs after restore into $db: A has '$a', B has '$b'"
	done
	ok "$db: same rows as A in every table ($(echo "$tables" | wc -w) tables)"
	for s in $sequences; do
		a=$(q "$port_a" bank "SELECT last_value || ' ' || is_called FROM depwatch.$s")
		b=$(q "$port_b" "$db" "SELECT last_value || ' ' || is_called FROM depwatch.$s")
		[ "$a" = "$b" ] || fail "sequence depwatch.$s differs in $db: A '$a', B '$b'"
	done
	ok "$db: sequences where A left them"
	a=$(q "$port_a" bank "$partitions")
	b=$(q "$port_b" "$db" "$partitions")
	[ "$a" = "$b" ] || fail "sample partitions differ in $db: A '$a', B '$b'"
	for p in $today sample_default; do
		a=$(digest "$port_a" bank "$p")
		b=$(digest "$port_b" "$db" "$p")
		[ "$a" = "$b" ] || fail "$p differs in $db: A '$a', B '$b'"
	done
	ok "$db: same sample partitions, each with the same rows"
	a=$(q "$port_a" bank "SELECT md5(string_agg(d::text, '|' ORDER BY d.name)) FROM depwatch.dependencies d")
	b=$(q "$port_b" "$db" "SELECT md5(string_agg(d::text, '|' ORDER BY d.name)) FROM depwatch.dependencies d")
	[ "$a" = "$b" ] || fail "depwatch.dependencies view differs in $db"
	a=$(q "$port_a" bank "SELECT md5(string_agg((to_jsonb(o) - 'duration_seconds')::text, '|' ORDER BY o.id)) FROM depwatch.outages o")
	b=$(q "$port_b" "$db" "SELECT md5(string_agg((to_jsonb(o) - 'duration_seconds')::text, '|' ORDER BY o.id)) FROM depwatch.outages o")
	# (duration_seconds of an open outage grows with the clock: left out)
	[ "$a" = "$b" ] || fail "depwatch.outages view differs in $db"
	ok "$db: masked views dependencies and outages agree"
	# incident 2 is still open: its windows end now, which differs between the calls
	imp="SELECT string_agg(concat_ws(' ', capability, started_at, attempted, failed, customers, failed_amount),
						   '|' ORDER BY capability) FROM depwatch.impact(2)"
	a=$(q "$port_a" bank "$imp" 2>/dev/null)
	b=$(q "$port_b" "$db" "$imp" 2>/dev/null)
	[ -n "$a" ] && [ "$a" = "$b" ] || fail "impact(2) differs in $db (or is empty): A '$a', B '$b'"
	a=$(q "$port_a" bank "SELECT string_agg(f::text, '|') FROM depwatch.fee_waiver(2, 'fire') f" 2>/dev/null)
	b=$(q "$port_b" "$db" "SELECT string_agg(f::text, '|') FROM depwatch.fee_waiver(2, 'fire') f" 2>/dev/null)
	[ -n "$a" ] && [ "$a" = "$b" ] || fail "fee_waiver(2, 'fire') differs in $db (or is empty): A '$a', B '$b'"
	ok "$db: the ledger binding, fee policy and schedule came along: impact and fee_waiver agree"

	verify_b=$(q "$port_b" "$db" "SELECT ok || ' ' || checked FROM depwatch.verify_audit()")
	[ "$verify_b" = "$verify_a" ] || fail "verify_audit() on $db gives '$verify_b', A gave '$verify_a'"
	ok "$db: verify_audit() ok with the same $(echo "${verify_b#* }") rows checked"

	# B still works, and its sequences go on past A's ids
	last() { q "$port_a" bank "SELECT last_value FROM depwatch.$1"; }
	got=$(q "$port_b" "$db" "
		SET client_min_messages = warning;
		SELECT depwatch.add_dependency('new_bureau', 'credit_bureau', 'none', vendor => 'sci',
								   tracked_since => now() - interval '1 minute')
			   > $(last dependency_id_seq);
		SELECT depwatch.report_sample('new_bureau', false, at => now() - interval '3 s', vantage => 'b');
		SELECT depwatch.report_sample('new_bureau', false, at => now() - interval '2 s', vantage => 'b');
		SELECT depwatch.report_sample('new_bureau', false, at => now() - interval '1 s', vantage => 'b');
		SELECT depwatch.report_sample('bureau_a', true, '3 ms', now(), 'b');
		SELECT depwatch.report_sample('bureau_a', true, '4 ms', now() + interval '1 ms', 'b');
		SELECT depwatch.add_capability('new_opening', ARRAY['new_bureau|bureau_a']) > $(last capability_id_seq);
		SELECT depwatch.add_maintenance('ledger', tstzrange(now() + interval '1 day', now() + interval '2 days'))
			   > $(last maintenance_id_seq);
		SELECT depwatch.open_incident('after restore', now() - interval '5 s') > $(last incident_id_seq);
		SELECT min(id) > $(last outage_id_seq) FROM depwatch.outage
		WHERE dependency_id = (SELECT id FROM depwatch.dependency WHERE name = 'new_bureau');
		SELECT min(id) > $(last audit_log_id_seq) FROM depwatch.audit_log
		WHERE at > (SELECT max(at) FROM depwatch.audit_log WHERE id <= $(last audit_log_id_seq));
	" | grep . | tr '\n' ' ')
	[ "$got" = "t t t t t t " ] || fail "new ids on $db do not continue past A's (add_dependency, add_capability, add_maintenance, open_incident, outage, audit_log): '$got'"
	got=$(q "$port_b" "$db" "SELECT count(*) FROM depwatch.outages WHERE dependency = 'new_bureau' AND kind = 'down' AND ended_at IS NULL")
	[ "$got" = 1 ] || fail "report_sample on $db did not open an outage for new_bureau (found $got)"
	got=$(q "$port_b" "$db" "SELECT count(*) FROM depwatch.outages WHERE dependency = 'bureau_a' AND kind = 'down' AND ended_at IS NULL")
	[ "$got" = 0 ] || fail "report_sample on $db did not close the restored open outage of bureau_a"
	ok "$db: add_dependency, report_sample (opening and closing outages) and more work; new ids continue past A's"

	verify_b2=$(q "$port_b" "$db" "SELECT ok || ' ' || checked FROM depwatch.verify_audit()")
	[ "${verify_b2%% *}" = true ] || fail "verify_audit() on $db after new changes: $verify_b2"
	[ "${verify_b2#* }" -gt "${verify_a#* }" ] || fail "the audit log on $db did not grow: $verify_b2"
	ok "$db: verify_audit() still ok after new changes (${verify_b2#* } rows)"
done

# ---------------------------------------------------------------------------
# With running workers: dump a database whose worker probes (an open outage
# among them) and restore it into a database whose worker is waiting for
# it.  The restore has no error, the audit chain verifies, the restored
# worker goes on probing and resumes the open outage (same row, no second
# one, nothing overlapping).
# ---------------------------------------------------------------------------
log_from=$(($(stat -c %s "$dir_b/server.log") + 1))
for port in "$port_a" "$port_b"; do
	q "$port" postgres "ALTER SYSTEM SET depwatch.databases = 'bank_live'" >/dev/null
	q "$port" postgres "SELECT pg_reload_conf()" >/dev/null
done
q "$port_a" postgres "CREATE DATABASE bank_live"
q "$port_a" bank_live "SET client_min_messages = warning; CREATE EXTENSION depwatch CASCADE"
refused=$(q "$port_a" bank_live "SELECT depwatch.add_dependency('refused', 'other', 'tcp', '127.0.0.1:9',
	every => '200 ms', timeout => '150 ms', fail_after => 2)")
q "$port_a" bank_live "SELECT depwatch.add_dependency('listening', 'other', 'tcp', '127.0.0.1:$port_a',
	every => '200 ms', timeout => '150 ms')" >/dev/null
open_outage="SELECT string_agg(id::text, ',') FROM depwatch.outage
	WHERE dependency_id = $refused AND kind = 'down' AND upper_inf(during)"
deadline=$((SECONDS + 20))
until [ -n "$(q "$port_a" bank_live "$open_outage")" ]; do
	[ $SECONDS -ge $deadline ] && fail "no open outage in bank_live on A"
	sleep 0.2
done
live_outage=$(q "$port_a" bank_live "$open_outage")
[ "$(q "$port_a" bank_live "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'depwatch worker' AND datname = 'bank_live'")" = 1 ] ||
	fail "no worker runs in bank_live on A"
pg_dump -Fc -h 127.0.0.1 -p "$port_a" -U postgres -d bank_live -f "$dir_a/live.dump" 2>"$dir_a/live_dump.err" ||
	{ cat "$dir_a/live_dump.err" >&2; fail "pg_dump of bank_live while its worker probes failed"; }
q "$port_b" postgres "CREATE DATABASE bank_live"
if ! pg_restore -h 127.0.0.1 -p "$port_b" -U postgres -d bank_live "$dir_a/live.dump" 2>"$dir_b/live_restore.err"; then
	cat "$dir_b/live_restore.err" >&2
	fail "pg_restore of bank_live into B (its worker waiting) failed"
fi
[ -s "$dir_b/live_restore.err" ] && { cat "$dir_b/live_restore.err" >&2; fail "pg_restore of bank_live wrote to stderr"; }
got=$(q "$port_b" bank_live "SELECT ok FROM depwatch.verify_audit()")
[ "$got" = t ] || fail "verify_audit() on the restored bank_live: $got"
restored=$(q "$port_b" bank_live "SELECT max(at) FROM depwatch.sample")
deadline=$((SECONDS + 20))
until [ "$(q "$port_b" bank_live "SELECT count(*) >= 10 FROM depwatch.sample WHERE at > '$restored'")" = t ]; do
	[ $SECONDS -ge $deadline ] && fail "the worker on B does not probe the restored bank_live"
	sleep 0.2
done
got=$(q "$port_b" bank_live "$open_outage")
[ "$got" = "$live_outage" ] || fail "the open outage on B is '$got', the dumped one was '$live_outage'"
got=$(q "$port_b" bank_live "SELECT count(*) FROM depwatch.outage a JOIN depwatch.outage b
	ON a.dependency_id = b.dependency_id AND a.kind = b.kind AND a.id < b.id AND a.during && b.during")
[ "$got" = 0 ] || fail "overlapping outages on B"
# (the worker of "postgres", no longer listed, is stopped: not an error)
if tail -c "+$log_from" "$dir_b/server.log" | grep -E 'ERROR|FATAL' | grep -v 'due to administrator command' | grep -q .; then
	tail -c "+$log_from" "$dir_b/server.log" | grep -E 'ERROR|FATAL' | tail -5 >&2
	fail "errors in B's server log"
fi
ok "with workers running on both sides: restore without errors, the restored worker probes and resumes outage $live_outage"

echo "PASS: dump and restore keep depwatch's configuration and history"
