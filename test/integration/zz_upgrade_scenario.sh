#!/usr/bin/env bash
# ALTER EXTENSION depwatch UPDATE from 0.1 to 0.2 (issue 8, item 5), then 0.3.  A
# database installs 0.1 and fills it: dependencies probed by the worker
# (one up, one refused: an open outage), a capability, samples, an outage
# by hand, maintenance, an incident, audit rows.  Then, while its worker
# runs:
#   a. the worker of the same depwatch.so keeps probing the 0.1 database;
#   b. ALTER EXTENSION depwatch UPDATE: the rows of 0.1 are all still there,
#      the audit chain verifies, the open outage is the same row;
#   c. the worker goes on probing, 0.2's tables fill (the open outage was
#      carried over), and the reports work;
#   d. secrets are stored as 0.2 kept them (a postgres target with a
#      password switched to probe none, a URL with user info and a token,
#      a secret header, a key=value passive target), in the tables and the
#      audit log; ALTER EXTENSION depwatch UPDATE on to 0.3: a reader finds
#      them in no relation it can read, the log is re-chained, verifies and
#      says so in a RECHAIN row; a refused target keeps its statement out of
#      the server log;
#   e. a fresh 0.3 install has the same schema as the updated one (every
#      member object, column, constraint, index, trigger, privilege and
#      comment, and the tables pg_dump keeps).
set -euo pipefail
cd "$(dirname "$0")/../.."

dir=tmp/vantage_upgrade
port=16702

cleanup() { scripts/cluster.sh stop "$dir" "$port"; }
trap cleanup EXIT

. test/lib.sh

scripts/cluster.sh stop "$dir" "$port"
rm -rf "$dir"
# loopback, where this test's peers live, is allowed to every dependency:
# a 0.2 catalog under this build's worker has no probe_set_by_superuser
# yet, and every one of its dependencies is restricted until the update
scripts/cluster.sh start "$dir" "$port" "depwatch.databases = 'bank'" "depwatch.vantage = 'seoul'" \
	"depwatch.allowed_addresses = '127.0.0.0/8, 0.0.0.0/0, ::/0'"
DB=postgres sql "CREATE DATABASE bank"
DB=postgres sql "CREATE DATABASE fresh"
sql "SET client_min_messages = warning; CREATE EXTENSION depwatch VERSION '0.1' CASCADE"
[ "$(sql "SELECT extversion FROM pg_extension WHERE extname = 'depwatch'")" = 0.1 ] || fail "0.1 was not installed"

sql "SELECT depwatch.add_dependency('core', 'core', 'tcp', '127.0.0.1:$port', every => '200 ms', timeout => '150 ms')" >/dev/null
down_id=$(sql "SELECT depwatch.add_dependency('bureau', 'credit_bureau', 'tcp', '127.0.0.1:9',
	every => '200 ms', timeout => '150 ms', fail_after => 2)")
sql "SELECT depwatch.add_dependency('msg', 'messaging', 'none')" >/dev/null
# one added by an admin who is no superuser
DB=postgres sql "CREATE ROLE upg_admin IN ROLE depwatch_admin"
sql "SET ROLE upg_admin; SELECT depwatch.add_dependency('feed', 'other', 'none', 'https://feed.example/status')" >/dev/null
psql -X -q -o /dev/null -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d bank <<'SQL'
SELECT depwatch.add_capability('account_opening', ARRAY['core', 'bureau|msg'], slo => 99.5);
SELECT depwatch.record_outage('msg', '2022-10-15 06:30+00', '2022-10-15 17:00+00', note => 'fire');
SELECT depwatch.add_maintenance('core', tstzrange('2022-10-01 01:00+00', '2022-10-01 02:00+00'), 'patch');
-- longer than 0.3's 31 days a window: the update names it and leaves it
SELECT depwatch.add_maintenance('msg', tstzrange('2022-01-01 00:00+00', '2022-03-01 00:00+00'), 'migration');
SELECT depwatch.open_incident('fire', '2022-10-15 06:30+00', ARRAY['msg']);
SELECT depwatch.close_incident(1, '2022-10-15 17:00+00', 'battery');
SELECT depwatch.alter_dependency('msg', vendor => 'kakao');
SQL
wait_for 20 "SELECT count(*) FROM depwatch.outage WHERE dependency_id = $down_id AND kind = 'down' AND upper_inf(during)" 1
ok "0.1 installed and filled; the worker opened an outage"

# a. the worker of this depwatch.so serves a 0.1 database
n0=$(sql "SELECT count(*) FROM depwatch.sample")
wait_for 10 "SELECT count(*) > $n0 FROM depwatch.sample" t
[ "$(sql "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'depwatch worker' AND datname = 'bank'")" = 1 ] ||
	fail "no worker in bank"
grep -q 'ERROR' "$dir/server.log" && { grep ERROR "$dir/server.log" | head; fail "errors in the server log on 0.1"; }
ok "on 0.1, the worker probes with no error"

# everything of 0.1 that nothing changes any more: the samples and gaps
# until a few seconds ago (a probe's sample carries the time it was taken
# and is written with the next tick, so the latest ones may still come)
cut=$(sql "SELECT now() - interval '3 seconds'")
snapshot="SELECT md5(string_agg(x, '|' ORDER BY x)) FROM (
	SELECT 'd' || d::text AS x FROM depwatch.dependency d
	UNION ALL SELECT 'c' || c::text FROM depwatch.capability c
	UNION ALL SELECT 'm' || m::text FROM depwatch.maintenance m
	UNION ALL SELECT 'i' || i::text FROM depwatch.incident i
	UNION ALL SELECT 'n' || n::text FROM depwatch.incident_dependency n
	UNION ALL SELECT 'o' || o.id || lower(o.during) || o.source FROM depwatch.outage o
	UNION ALL SELECT 'g' || g::text FROM depwatch.monitor_gap g WHERE g.before <= '$cut'
	UNION ALL SELECT 's' || s::text FROM depwatch.sample s WHERE s.at <= '$cut'
	UNION ALL SELECT 'a' || a::text FROM depwatch.audit_log a) t"
before=$(sql "$snapshot")
audit_before=$(sql "SELECT ok || ' ' || checked FROM depwatch.verify_audit()")
[ "${audit_before%% *}" = true ] || fail "verify_audit() on 0.1: $audit_before"
open_before=$(sql "SELECT id FROM depwatch.outage WHERE dependency_id = $down_id AND kind = 'down' AND upper_inf(during)")

# b. the update
sql "ALTER EXTENSION depwatch UPDATE TO '0.2'"
[ "$(sql "SELECT extversion FROM pg_extension WHERE extname = 'depwatch'")" = 0.2 ] || fail "not at 0.2 after UPDATE"
after=$(sql "$snapshot")
[ "$before" = "$after" ] || fail "rows of 0.1 changed in the update"
audit_after=$(sql "SELECT ok || ' ' || checked FROM depwatch.verify_audit()")
[ "$audit_after" = "$audit_before" ] || fail "verify_audit() gave '$audit_before' before and '$audit_after' after"
ok "ALTER EXTENSION depwatch UPDATE: 0.1's rows unchanged, audit chain verifies ($audit_after)"
# today's partition (with samples) keeps its index; the empty days ahead
# got the covering one of 0.2
idx() { sql "SELECT string_agg(indexdef, ';') FROM pg_indexes WHERE schemaname = 'depwatch'
	AND tablename = 'sample_' || to_char((now() AT TIME ZONE 'UTC') + interval '$1 day', 'YYYYMMDD')"; }
case "$(idx 0)" in *'(dependency_id, at)') ;; *) fail "today's partition's index changed: $(idx 0)" ;; esac
case "$(idx 1)" in *'(dependency_id, at) INCLUDE (ok, latency)') ;; *) fail "tomorrow's partition's index: $(idx 1)" ;; esac
ok "sample indexes: today's partition (with rows) kept its own, the empty days ahead cover ok and latency"

# c. behaviour on 0.2.  A node on its own copies no sample into
# vantage_sample; once vantage_sample is published (this node ships to a
# central node), every batch is copied.
n1=$(sql "SELECT count(*) FROM depwatch.sample")
wait_for 10 "SELECT count(*) > $n1 + 5 FROM depwatch.sample" t
[ "$(sql "SELECT count(*) FROM depwatch.vantage_sample")" = 0 ] || fail "samples were shipped with no publication"
sql "SET client_min_messages = error; CREATE PUBLICATION depwatch_vantage FOR TABLE
	depwatch.vantage_sample (vantage, id, dependency, at, ok, latency, detail), depwatch.vantage_outage, depwatch.vantage_gap"
wait_for 10 "SELECT count(*) > 5 FROM depwatch.vantage_sample WHERE vantage = 'seoul'" t
ok "samples are copied into vantage_sample only once it is published"
[ "$(sql "SELECT id FROM depwatch.outage WHERE dependency_id = $down_id AND kind = 'down' AND upper_inf(during)")" = "$open_before" ] ||
	fail "the open outage is not the same row after the update"
[ "$(sql "SELECT count(*) FROM depwatch.vantage_outage WHERE outage_id = $open_before AND vantage = 'seoul' AND upper_inf(during)")" = 1 ] ||
	fail "the open outage was not carried into vantage_outage"
got=$(sql "SELECT string_agg(c.dependency || ' ' || (c.started_at = lower(o.during)), ',')
	FROM depwatch.consensus_outages(tstzrange(now() - interval '1 hour', now() + interval '1 hour')) c,
		 depwatch.outage o WHERE o.id = $open_before")
[ "$got" = "bureau true" ] || fail "consensus_outages() gave '$got'"
got=$(sql "SELECT vantage || ' ' || counts_toward_quorum FROM depwatch.vantage_status")
[ "$got" = "seoul true" ] || fail "vantage_status gave '$got'"
got=$(sql "SELECT count(*) FROM depwatch.availability(tstzrange(now() - interval '1 hour', now()))")
[ "$got" -ge 4 ] || fail "availability() gave $got rows"
grep -q 'ERROR' "$dir/server.log" && { grep ERROR "$dir/server.log" | head; fail "errors in the server log"; }
ok "on 0.2, the worker probes, vantage tables fill, consensus, vantage_status and availability work"

# Secrets stored on 0.2 (issue 16, item 5): a postgres target with a
# password, probed, then switched to probe none; a URL with user info and a
# token in its query, probed, with a secret header; a key=value target of a
# passive dependency.  They are spelled UpgSecret<n>.
sql "SELECT depwatch.add_dependency('pgsec', 'core', 'postgres',
	'host=127.0.0.1 port=9 user=monitor password=UpgSecret1 connect_timeout=1', every => '500 ms', timeout => '400 ms')" >/dev/null
sql "SELECT depwatch.add_dependency('httpsec', 'other', 'http', 'http://svc:UpgSecret2@127.0.0.1:9/health?token=UpgSecret3',
	every => '500 ms', timeout => '400 ms', options => '{\"headers\": {\"X-Api-Key\": \"UpgSecret4\"}}')" >/dev/null
sql "SELECT depwatch.add_dependency('kvsec', 'other', 'passive', 'host=10.1.1.1 password=UpgSecret5')" >/dev/null
# the worker's failed probes of both write samples (and their details)
wait_for 10 "SELECT count(DISTINCT s.dependency_id) FROM depwatch.sample s JOIN depwatch.dependency d ON d.id = s.dependency_id
	WHERE d.name IN ('pgsec', 'httpsec') AND NOT s.ok" 2
sql "SELECT depwatch.alter_dependency('pgsec', probe => 'none')" >/dev/null
# This build's library masks already, so the log is made as 0.2's library
# wrote it (its mask knew no password under probe none or passive, and no
# query value under a name like "token"... but masked user info and
# headers: the clear target and options are put back in whole, the harder
# case) and chained as 0.2 chained it.
psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d bank <<'SQL'
SET session_replication_role = replica;
UPDATE depwatch.audit_log a
   SET new = CASE WHEN a.new IS NOT NULL THEN a.new || jsonb_build_object('target', d.target, 'options', d.options) END,
	   old = CASE WHEN a.old IS NOT NULL THEN a.old || jsonb_build_object('target', d.target, 'options', d.options) END
  FROM depwatch.dependency d
 WHERE a.table_name = 'dependency' AND a.row_id = d.id AND d.name IN ('pgsec', 'httpsec', 'kvsec');
DO $$
DECLARE
	r depwatch.audit_log;
	prev bytea;
	h bytea;
BEGIN
	FOR r IN SELECT * FROM depwatch.audit_log ORDER BY id LOOP
		h := depwatch._audit_hash(prev, r.id, r.at, r.actor, r.action, r.table_name, r.row_id, r.old, r.new);
		UPDATE depwatch.audit_log SET prev_hash = prev, hash = h WHERE id = r.id;
		prev := h;
	END LOOP;
	UPDATE depwatch.audit_head SET last_id = (SELECT max(id) FROM depwatch.audit_log), last_hash = prev;
END
$$;
SQL
[ "$(sql "SELECT ok FROM depwatch.verify_audit()")" = t ] || fail "verify_audit() on 0.2 with the secrets"

# leaks: as depwatch_reader, every relation it may SELECT (whole or column
# by column), every column it may read cast to text: 'relation.column' for
# each that holds a secret
leaks() {
	psql -X -A -t -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d bank <<'SQL'
CREATE FUNCTION pg_temp.leaks() RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
	c record;
	hit boolean;
BEGIN
	FOR c IN
		SELECT r.oid::regclass AS rel, a.attname
		FROM pg_class r
		JOIN pg_namespace n ON n.oid = r.relnamespace
		JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
		WHERE r.relkind IN ('r', 'p', 'v', 'm', 'f') AND n.nspname <> 'pg_toast' AND n.nspname NOT LIKE 'pg_temp%'
		  AND (has_table_privilege(r.oid, 'SELECT') OR has_column_privilege(r.oid, a.attnum, 'SELECT'))
		ORDER BY 1, 2
	LOOP
		BEGIN
			EXECUTE format('SELECT EXISTS (SELECT FROM %2$s WHERE %1$I::text ~ %3$L)', c.attname, c.rel,
						   'UpgSecret[0-9]') INTO hit;
		EXCEPTION WHEN insufficient_privilege OR feature_not_supported OR object_not_in_prerequisite_state THEN
			hit := false;
		END;
		IF hit THEN
			RETURN NEXT c.rel || '.' || c.attname;
		END IF;
	END LOOP;
END
$$;
GRANT EXECUTE ON FUNCTION pg_temp.leaks() TO depwatch_reader;
SET ROLE depwatch_reader;
SELECT string_agg(l, ' ') FROM pg_temp.leaks() l;
SQL
}
found=$(leaks)
case "$found" in *depwatch.audit_log.new*) ;; *) fail "the secrets are not in the log as 0.2 left it: '$found'" ;; esac
ok "on 0.2, a reader finds the secrets stored before 0.3 in: $found"

# d. on to 0.3 (the trust boundaries of SPEC section 6)
rows_before=$(sql "SELECT count(*) FROM depwatch.audit_log")
# 0.2's machine gave a dependency with no degraded_after a degraded twin of
# each down outage it opened (this build's worker no longer does): one as
# 0.2's report_sample wrote it
sql "INSERT INTO depwatch.outage (dependency_id, kind, during, detected_at, source)
	SELECT id, 'degraded', tstzrange('2022-10-16 06:30+00', '2022-10-16 07:00+00'), '2022-10-16 06:31+00', 'probe'
	FROM depwatch.dependency WHERE name = 'msg'" >/dev/null
twins=$(sql "SELECT count(*) FROM depwatch.outage o JOIN depwatch.dependency d ON d.id = o.dependency_id
	WHERE o.kind = 'degraded' AND d.degraded_after IS NULL")
[ "$twins" -gt 0 ] || fail "0.2 made no degraded twin to remove"
sql "ALTER EXTENSION depwatch UPDATE" 2>"$dir/update.err"
grep -q 'WARNING:  depwatch 0.3: 1 maintenance windows are infinite, outside 1990-01-01 to now() + 10 years, or longer than 31 days, left as they are: ids 2' "$dir/update.err" ||
	fail "the update did not name the maintenance window beyond 0.3's bounds: $(cat "$dir/update.err")"
[ "$(sql "SELECT upper(during) - lower(during) FROM depwatch.maintenance WHERE id = 2")" = '59 days' ] ||
	fail "the update changed the maintenance window beyond 0.3's bounds"
[ "$(sql "SELECT extversion FROM pg_extension WHERE extname = 'depwatch'")" = 0.3 ] || fail "not at 0.3 after UPDATE"
[ "$(sql "SELECT ok FROM depwatch.verify_audit()")" = t ] || fail "verify_audit() after the update to 0.3"
ok "ALTER EXTENSION depwatch UPDATE to 0.3: the audit chain verifies"
# the helpers and the daily partitions left the API's schema
got=$(sql "SELECT (SELECT count(*) FROM pg_proc WHERE pronamespace = 'depwatch'::regnamespace AND proname LIKE '\_%')
	|| ' ' || (SELECT count(*) FROM pg_class WHERE relnamespace = 'depwatch'::regnamespace AND relname ~ '^(_|sample_[0-9]{8})')
	|| ' ' || (SELECT count(*) > 0 FROM pg_class WHERE relnamespace = 'depwatch_internal'::regnamespace AND relname ~ '^sample_[0-9]{8}$')")
[ "$got" = "0 0 true" ] || fail "helpers or partitions left in schema depwatch (functions, relations, partitions moved): $got"
n2=$(sql "SELECT count(*) FROM depwatch.sample")
wait_for 10 "SELECT count(*) > $n2 FROM depwatch.sample" t
ok "helpers and daily partitions moved to depwatch_internal; the worker goes on writing samples"
got=$(sql "SELECT string_agg(name || ':' || probe_set_by_superuser, ' ' ORDER BY name) FROM depwatch.dependency")
[ "$got" = "bureau:true core:true feed:false httpsec:true kvsec:true msg:true pgsec:true" ] ||
	fail "probe_set_by_superuser after the update, from the audit log's actors: $got"
ok "the update takes probe_set_by_superuser from the audit log: $got"
[ "$(sql "SELECT count(*) FROM depwatch.outage o JOIN depwatch.dependency d ON d.id = o.dependency_id
	WHERE o.kind = 'degraded' AND d.degraded_after IS NULL")" = 0 ] || fail "degraded twins are left after the update"
[ "$(sql "SELECT count(*) FROM depwatch.audit_log WHERE table_name = 'outage' AND action = 'DELETE'
	AND old->>'kind' = 'degraded'")" = "$twins" ] || fail "the removal of the $twins degraded twins is not in the audit log"
got=$(sql "SELECT count(*) FILTER (WHERE d.tracked_since = least(a.first_insert,
		(SELECT min(s.at) FROM depwatch.sample s WHERE s.dependency_id = d.id),
		(SELECT min(lower(o.during)) FROM depwatch.outage o WHERE o.dependency_id = d.id)))
	|| '/' || count(*)
	FROM depwatch.dependency d
	JOIN (SELECT row_id, min(at) AS first_insert FROM depwatch.audit_log
		  WHERE table_name = 'dependency' AND action = 'INSERT' GROUP BY row_id) a ON a.row_id = d.id")
[ "${got%/*}" = "${got#*/}" ] && [ "${got#*/}" -ge 7 ] || fail "tracked_since is not each dependency's first audit row (or earlier sample or outage): $got"
ok "the update removed $twins degraded twins (audited) and set tracked_since from the audit log ($got)"
found=$(leaks)
[ -z "$found" ] || fail "after the update to 0.3, a reader finds secrets in: $found"
ok "after the update, a reader finds no secret in any relation it can read"
# rows: those of 0.2 and those of the update's own changes before it
got=$(sql "SELECT (new->>'rows')::bigint = (SELECT count(*) FROM depwatch.audit_log b WHERE b.id < a.id)
	AND (new->>'rows')::bigint >= $rows_before AND (new->>'remasked')::int >= 4 AND (new->>'rehashed')::int >= 4
	AND (new->'chain_before'->>'ok')::boolean AND session_actor = 'postgres'
	FROM depwatch.audit_log a WHERE action = 'RECHAIN' AND table_name = 'audit_log'")
[ "$got" = t ] || fail "the audit log has no RECHAIN row with its counts: '$got' ($(sql "SELECT new FROM depwatch.audit_log WHERE action = 'RECHAIN'"))"
[ "$(sql "SELECT max(id) = (SELECT last_id FROM depwatch.audit_head) FROM depwatch.audit_log WHERE action = 'RECHAIN'")" = t ] ||
	fail "the RECHAIN row is not the head of the chain"
ok "the update re-masked and re-chained the log, and logged it: $(sql "SELECT new - 'chain_before' FROM depwatch.audit_log WHERE action = 'RECHAIN'")"
# a failed check of a target keeps it out of the server log (no STATEMENT line)
if sql "SELECT depwatch.add_dependency('bad', 'core', 'postgres', 'host=db pass=UpgSecret6')" 2>/dev/null; then
	fail "a conninfo with an unknown keyword was accepted"
fi
grep -q 'UpgSecret' "$dir/server.log" && { grep 'UpgSecret' "$dir/server.log" | head -3; fail "a secret reached the server log"; }
ok "a refused target reaches the server log masked, without its statement"

# e. the same schema as a fresh install
DB=fresh sql "SET client_min_messages = warning; CREATE EXTENSION depwatch CASCADE"
schema="WITH ext AS (SELECT oid FROM pg_extension WHERE extname = 'depwatch'),
member AS (
	SELECT d.classid, d.objid FROM pg_depend d, ext
	WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'),
rel AS (SELECT c.oid FROM pg_class c JOIN member m ON m.classid = 'pg_class'::regclass AND m.objid = c.oid)
SELECT pg_describe_object(m.classid, m.objid, 0) FROM member m
UNION ALL SELECT 'fn ' || p.oid::regprocedure || ' ' || md5(pg_get_functiondef(p.oid)) || ' ' || coalesce(p.proacl::text, '')
	|| ' ' || coalesce(obj_description(p.oid, 'pg_proc'), '')
	FROM pg_proc p JOIN member m ON m.classid = 'pg_proc'::regclass AND m.objid = p.oid WHERE p.prokind <> 'a'
UNION ALL SELECT 'rel ' || c.oid::regclass || ' ' || c.relkind::text || ' ' || coalesce(c.relacl::text, '')
	|| ' ' || coalesce(obj_description(c.oid, 'pg_class'), '') || ' ' || coalesce(md5(pg_get_viewdef(c.oid)), '')
	FROM pg_class c JOIN rel ON rel.oid = c.oid
UNION ALL SELECT 'col ' || a.attrelid::regclass || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
	|| ' ' || a.attnotnull || ' ' || coalesce(pg_get_expr(ad.adbin, ad.adrelid), '') || ' ' || coalesce(a.attacl::text, '')
	FROM pg_attribute a JOIN rel ON rel.oid = a.attrelid
	LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
	WHERE a.attnum > 0 AND NOT a.attisdropped
UNION ALL SELECT 'con ' || conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid)
	FROM pg_constraint WHERE conrelid IN (SELECT oid FROM rel)
UNION ALL SELECT 'idx ' || pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid IN (SELECT oid FROM rel)
UNION ALL SELECT 'trg ' || pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid IN (SELECT oid FROM rel) AND NOT tgisinternal
UNION ALL SELECT 'dump ' || c::regclass FROM ext, pg_extension e, unnest(e.extconfig) c WHERE e.oid = ext.oid
UNION ALL SELECT 'dumpwhere ' || w FROM ext, pg_extension e, unnest(e.extcondition) w WHERE e.oid = ext.oid
ORDER BY 1"
sql "$schema" >"$dir/schema_updated.txt"
DB=fresh sql "$schema" >"$dir/schema_fresh.txt"
# the sample partitions are named after the day each database made them
sed -i -E 's/sample_[0-9]{8}/sample_DAY/g' "$dir/schema_updated.txt" "$dir/schema_fresh.txt"
diff "$dir/schema_fresh.txt" "$dir/schema_updated.txt" >"$dir/schema.diff" ||
	{ head -40 "$dir/schema.diff"; fail "the updated schema differs from a fresh 0.3 install"; }
lines=$(wc -l <"$dir/schema_fresh.txt")
[ "$lines" -gt 300 ] || fail "the schema listing has only $lines lines"
grep -q 'vantage_status' "$dir/schema_fresh.txt" || fail "the schema listing misses 0.2's objects"
ok "a fresh 0.3 install and the one updated from 0.1 have the same schema ($lines catalog lines compared)"
echo "upgrade: all passed"
