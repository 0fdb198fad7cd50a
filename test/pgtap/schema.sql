-- schema.sql: the catalog of depwatch as SPEC sections 1-2 name it: tables,
-- views and their columns, the SQL API's signatures, the outage exclusion
-- constraint, the audit triggers, what pg_dump keeps (extconfig), pinned
-- search paths of SECURITY DEFINER functions, and comments for BI tools.
BEGIN;
SET TimeZone = 'UTC';
SELECT plan(197);

-- ---------------------------------------------------------------------------
-- Tables and views (1 + 11 + 3 + 5)
-- ---------------------------------------------------------------------------
SELECT has_schema('depwatch');

SELECT has_table('depwatch', t, format('table depwatch.%s exists', t))
FROM unnest(ARRAY['dependency', 'capability', 'sample', 'sample_default', 'probe_state', 'outage',
				  'maintenance', 'incident', 'incident_dependency', 'audit_log', 'audit_head']) t;
SELECT is_partitioned('depwatch', 'sample', 'depwatch.sample is partitioned');
SELECT is_partition_of('depwatch', 'sample_default', 'depwatch', 'sample',
					   'depwatch.sample_default is a partition of depwatch.sample');
SELECT is((SELECT pg_get_expr(c.relpartbound, c.oid) FROM pg_class c
		   WHERE c.oid = 'depwatch.sample_default'::regclass),
		  'DEFAULT', 'depwatch.sample_default is the default partition');

SELECT has_view('depwatch', v, format('view depwatch.%s exists', v))
FROM unnest(ARRAY['dependencies', 'requirements', 'outages', 'status', 'availability_daily']) v;

-- ---------------------------------------------------------------------------
-- Columns as SPEC names them, with their types (extra columns are allowed)
-- (14)
-- ---------------------------------------------------------------------------
CREATE FUNCTION pg_temp.columns_of(rel text) RETURNS TABLE(name text, type text)
LANGUAGE sql STABLE AS $$
	SELECT a.attname::text, format_type(a.atttypid, a.atttypmod)
	FROM pg_attribute a
	WHERE a.attrelid = to_regclass(rel) AND a.attnum > 0 AND NOT a.attisdropped
$$;

SELECT set_has($$SELECT * FROM pg_temp.columns_of('depwatch.dependency')$$,
	$$VALUES ('id', 'bigint'), ('name', 'text'), ('kind', 'text'), ('probe', 'text'), ('target', 'text'),
			 ('every', 'interval'), ('timeout', 'interval'), ('fail_after', 'integer'),
			 ('recover_after', 'integer'), ('degraded_after', 'interval'), ('options', 'jsonb'),
			 ('site', 'text'), ('vendor', 'text'), ('enabled', 'boolean')$$,
	'dependency has its columns');
SELECT set_has($$SELECT * FROM pg_temp.columns_of('depwatch.capability')$$,
	$$VALUES ('id', 'bigint'), ('name', 'text'), ('requires', 'text[]'), ('slo', 'numeric'),
			 ('impact_tolerance', 'interval')$$,
	'capability has its columns');
SELECT set_has($$SELECT * FROM pg_temp.columns_of('depwatch.sample')$$,
	$$VALUES ('dependency_id', 'bigint'), ('vantage', 'text'), ('at', 'timestamp with time zone'),
			 ('ok', 'boolean'), ('latency', 'interval'), ('detail', 'text')$$,
	'sample has its columns');
SELECT set_eq($$SELECT * FROM pg_temp.columns_of('depwatch.sample_default')$$,
	$$SELECT * FROM pg_temp.columns_of('depwatch.sample')$$,
	'sample_default has the columns of sample');
SELECT set_has($$SELECT * FROM pg_temp.columns_of('depwatch.probe_state')$$,
	$$VALUES ('dependency_id', 'bigint'), ('last_at', 'timestamp with time zone')$$,
	'probe_state has its columns');
SELECT set_has($$SELECT * FROM pg_temp.columns_of('depwatch.outage')$$,
	$$VALUES ('id', 'bigint'), ('dependency_id', 'bigint'), ('kind', 'text'), ('during', 'tstzrange'),
			 ('detected_at', 'timestamp with time zone'), ('source', 'text'), ('note', 'text')$$,
	'outage has its columns');
SELECT set_has($$SELECT * FROM pg_temp.columns_of('depwatch.maintenance')$$,
	$$VALUES ('id', 'bigint'), ('dependency_id', 'bigint'), ('capability_id', 'bigint'),
			 ('during', 'tstzrange'), ('note', 'text')$$,
	'maintenance has its columns');
SELECT set_has($$SELECT * FROM pg_temp.columns_of('depwatch.incident')$$,
	$$VALUES ('id', 'bigint'), ('title', 'text'), ('started_at', 'timestamp with time zone'),
			 ('ended_at', 'timestamp with time zone'), ('root_cause', 'text'), ('facts', 'jsonb')$$,
	'incident has its columns');
SELECT set_has($$SELECT * FROM pg_temp.columns_of('depwatch.incident_dependency')$$,
	$$VALUES ('incident_id', 'bigint'), ('dependency_id', 'bigint')$$,
	'incident_dependency has its columns');
SELECT set_has($$SELECT * FROM pg_temp.columns_of('depwatch.audit_log')$$,
	$$VALUES ('id', 'bigint'), ('at', 'timestamp with time zone'), ('actor', 'text'), ('action', 'text'),
			 ('table_name', 'text'), ('row_id', 'bigint'), ('old', 'jsonb'), ('new', 'jsonb'),
			 ('prev_hash', 'bytea'), ('hash', 'bytea')$$,
	'audit_log has its columns');
SELECT set_has($$SELECT * FROM pg_temp.columns_of('depwatch.audit_head')$$,
	$$VALUES ('last_id', 'bigint'), ('last_hash', 'bytea')$$,
	'audit_head has its columns');
SELECT set_has($$SELECT * FROM pg_temp.columns_of('depwatch.dependencies')$$,
	$$VALUES ('id', 'bigint'), ('name', 'text'), ('kind', 'text'), ('probe', 'text'), ('target', 'text'),
			 ('every', 'interval'), ('timeout', 'interval'), ('fail_after', 'integer'),
			 ('recover_after', 'integer'), ('degraded_after', 'interval'), ('options', 'jsonb'),
			 ('site', 'text'), ('vendor', 'text'), ('enabled', 'boolean')$$,
	'view dependencies has the columns of dependency');
SELECT set_has($$SELECT * FROM pg_temp.columns_of('depwatch.requirements')$$,
	$$VALUES ('capability', 'text'), ('requirement', 'integer'), ('group', 'text'), ('k', 'integer'),
			 ('members', 'text[]')$$,
	'view requirements has its columns');
SELECT set_has($$SELECT * FROM pg_temp.columns_of('depwatch.outages')$$,
	$$VALUES ('id', 'bigint'), ('dependency', 'text'), ('kind', 'text'),
			 ('started_at', 'timestamp with time zone'), ('ended_at', 'timestamp with time zone'),
			 ('detected_at', 'timestamp with time zone'), ('source', 'text'), ('note', 'text'),
			 ('incident', 'bigint')$$,
	'view outages has the columns of SPEC: id, dependency text, kind, started_at, ended_at, detected_at, source, note, incident bigint');

-- Names are unique, ids are keys (4)
SELECT col_is_unique('depwatch', 'dependency', 'name', 'dependency names are unique');
SELECT col_is_unique('depwatch', 'capability', 'name', 'capability names are unique');
SELECT col_is_pk('depwatch', 'outage', 'id', 'outage.id is the primary key');
SELECT col_is_pk('depwatch', 'probe_state', 'dependency_id', 'probe_state has one row per dependency');

-- ---------------------------------------------------------------------------
-- SQL API (SPEC section 2, the part version 0.1 implements): argument
-- types, then argument names and result (2 x 27)
-- ---------------------------------------------------------------------------
CREATE TEMP TABLE api(name text, args text[], signature text, result text);
INSERT INTO api VALUES
	('add_dependency',
	 '{text,text,text,text,interval,interval,integer,integer,interval,jsonb,text,text,"timestamp with time zone"}',
	 'name text, kind text, probe text, target text, every interval, timeout interval, fail_after integer, recover_after integer, degraded_after interval, options jsonb, site text, vendor text, tracked_since timestamp with time zone',
	 'bigint'),
	('alter_dependency',
	 '{text,text,text,text,interval,interval,integer,integer,interval,jsonb,text,text,boolean,"timestamp with time zone"}',
	 'name text, kind text, probe text, target text, every interval, timeout interval, fail_after integer, recover_after integer, degraded_after interval, options jsonb, site text, vendor text, enabled boolean, tracked_since timestamp with time zone',
	 'void'),
	('drop_dependency', '{text}', 'name text', 'void'),
	('add_capability', '{text,text[],numeric,interval,text}',
	 'name text, requires text[], slo numeric, impact_tolerance interval, display_name text', 'bigint'),
	('alter_capability', '{text,text[],numeric,interval,text}',
	 'name text, requires text[], slo numeric, impact_tolerance interval, display_name text', 'void'),
	('drop_capability', '{text}', 'name text', 'void'),
	('report_sample',
	 '{text,boolean,interval,"timestamp with time zone",text,text}',
	 'dependency text, ok boolean, latency interval, at timestamp with time zone, vantage text, detail text',
	 'void'),
	('record_outage',
	 '{text,"timestamp with time zone","timestamp with time zone",text,text,"timestamp with time zone"}',
	 'dependency text, started_at timestamp with time zone, ended_at timestamp with time zone, kind text, note text, detected_at timestamp with time zone',
	 'bigint'),
	('end_outage', '{text,"timestamp with time zone",text}',
	 'dependency text, ended_at timestamp with time zone, kind text', 'bigint'),
	('add_maintenance', '{text,tstzrange,text}', 'target text, during tstzrange, note text', 'bigint'),
	('derive_outages', '{text,tstzrange,integer,integer}',
	 'dependency text, period tstzrange, fail_after integer, recover_after integer',
	 'TABLE(kind text, started_at timestamp with time zone, ended_at timestamp with time zone, bad_samples bigint)'),
	('current_status', '{}', '',
	 'TABLE(target text, target_type text, state text, since timestamp with time zone, reason text)'),
	('capability_outages', '{text,tstzrange}', 'capability text, period tstzrange',
	 'TABLE(kind text, started_at timestamp with time zone, ended_at timestamp with time zone, causes text[])'),
	('availability', '{tstzrange,text}', 'period tstzrange, bucket text',
	 'TABLE(target text, target_type text, bucket_start timestamp with time zone, monitored interval, downtime interval, degraded interval, maintenance interval, unmonitored interval, availability numeric, slo numeric, budget interval, budget_left interval, outages integer, mttr interval, mtbf interval, longest interval, monitored_seconds numeric, downtime_seconds numeric, degraded_seconds numeric, maintenance_seconds numeric, unmonitored_seconds numeric, budget_seconds numeric, budget_left_seconds numeric, mttr_seconds numeric, mtbf_seconds numeric, longest_seconds numeric, worst_disruption interval, worst_disruption_seconds numeric, tolerance_breached boolean)'),
	('timeline_svg', '{tstzrange,text[]}', 'period tstzrange, targets text[]', 'text'),
	('status_page', '{tstzrange,text[],text,boolean}',
	 'period tstzrange, capabilities text[], title text, show_dependencies boolean', 'text'),
	('add_incident_update', '{bigint,text,text,"timestamp with time zone",boolean}',
	 'incident bigint, status text, message text, at timestamp with time zone, public boolean', 'bigint'),
	('metrics', '{}', '', 'text'),
	('set_incident_facts', '{bigint,jsonb}', 'incident bigint, facts jsonb', 'jsonb'),
	('incident_report', '{bigint}', 'incident bigint', 'jsonb'),
	('incident_timeline', '{bigint}', 'incident bigint',
	 'TABLE(at timestamp with time zone, event text, target text, detail text)'),
	('classify_incident', '{bigint,text}', 'incident bigint, framework text',
	 'TABLE(criterion text, value text, threshold text, met boolean)'),
	('state_timeline', '{tstzrange,text[]}', 'period tstzrange, targets text[]',
	 'TABLE(target text, target_type text, state text, maintenance boolean, started_at timestamp with time zone, ended_at timestamp with time zone)'),
	('open_incident', '{text,"timestamp with time zone",text[]}',
	 'title text, started_at timestamp with time zone, dependencies text[]', 'bigint'),
	('close_incident', '{bigint,"timestamp with time zone",text}',
	 'incident bigint, ended_at timestamp with time zone, root_cause text', 'void'),
	('redundancy_risks', '{}', '',
	 'TABLE(capability text, requirement text, shared text, members text[], breaks_group boolean)'),
	('verify_audit', '{}', '', 'TABLE(ok boolean, checked bigint, first_bad bigint)'),
	('parse_requirements', '{text[]}', 'requires text[]',
	 'TABLE(requirement integer, k integer, members text[])'),
	('maintain_sample_partitions', '{integer,interval}', 'days_ahead integer, retention interval',
	 'TABLE(action text, partition text)');

SELECT has_function('depwatch', a.name, a.args,
					format('function depwatch.%s(%s) exists', a.name, array_to_string(a.args, ', ')))
FROM api a ORDER BY a.name;

SELECT is((SELECT format('(%s) -> %s', pg_get_function_identity_arguments(p.oid), pg_get_function_result(p.oid))
		   FROM pg_proc p
		   WHERE p.oid = to_regprocedure(format('depwatch.%s(%s)', a.name, array_to_string(a.args, ',')))),
		  format('(%s) -> %s', a.signature, a.result),
		  format('depwatch.%s has its argument names and result', a.name))
FROM api a ORDER BY a.name;

-- The defaults SPEC gives (2)
DO $$ BEGIN PERFORM depwatch.add_dependency('defaults_probe', 'other'); END $$;
SELECT row_eq($$SELECT probe, target, every, timeout, fail_after, recover_after, degraded_after, options,
					   site, vendor, enabled
				FROM depwatch.dependency WHERE name = 'defaults_probe'$$,
			  ROW('none'::text, NULL::text, interval '10 s', interval '2 s', 3, 2, NULL::interval,
				  '{}'::jsonb, NULL::text, NULL::text, true),
			  'add_dependency defaults: probe none, every 10 s, timeout 2 s, fail_after 3, recover_after 2');
DO $$ BEGIN PERFORM depwatch.add_capability('defaults_capability', ARRAY['defaults_probe']); END $$;
SELECT row_eq($$SELECT slo, impact_tolerance FROM depwatch.capability WHERE name = 'defaults_capability'$$,
			  ROW(99.9::numeric, NULL::interval), 'add_capability defaults: slo 99.9, no impact tolerance');

-- ---------------------------------------------------------------------------
-- The outage exclusion constraint (9)
-- ---------------------------------------------------------------------------
SELECT results_eq($$SELECT pg_get_constraintdef(oid) FROM pg_constraint
					WHERE conrelid = 'depwatch.outage'::regclass AND contype = 'x'$$,
				  $$VALUES ('EXCLUDE USING gist (dependency_id WITH =, kind WITH =, during WITH &&)')$$,
				  'outage has an exclusion constraint on (dependency, kind, overlapping during)');

DO $$
BEGIN
	PERFORM depwatch.add_dependency('bureau', 'credit_bureau', tracked_since => '1990-01-01 00:00+00');
	PERFORM depwatch.add_dependency('messenger', 'messaging', tracked_since => '1990-01-01 00:00+00');
	PERFORM depwatch.record_outage('bureau', '2026-03-01 09:00', '2026-03-01 10:00');
END
$$;

SELECT throws_ok($$SELECT depwatch.record_outage('bureau', '2026-03-01 09:30', '2026-03-01 11:00')$$,
				 '23P01', NULL, 'record_outage refuses a down outage overlapping another down outage');
SELECT throws_ok($$SELECT depwatch.record_outage('bureau', '2026-03-01 08:00')$$,
				 '23P01', NULL, 'record_outage refuses an open outage that would cover a closed one');
SELECT throws_ok($$INSERT INTO depwatch.outage (dependency_id, kind, during, source)
				   SELECT id, 'down', tstzrange('2026-03-01 09:10', '2026-03-01 09:20'), 'import'
				   FROM depwatch.dependency WHERE name = 'bureau'$$,
				 '23P01', NULL, 'the constraint itself refuses overlapping down rows written directly');
SELECT lives_ok($$SELECT depwatch.record_outage('bureau', '2026-03-01 10:00', '2026-03-01 10:30')$$,
				'outages that only touch ([09:00, 10:00) then [10:00, 10:30)) do not overlap');
SELECT lives_ok($$SELECT depwatch.record_outage('bureau', '2026-03-01 09:15', '2026-03-01 09:45', 'degraded')$$,
				'a degraded outage MAY overlap a down outage of the same dependency');
SELECT throws_ok($$SELECT depwatch.record_outage('bureau', '2026-03-01 09:40', '2026-03-01 09:50', 'degraded')$$,
				 '23P01', NULL, 'but two degraded outages of one dependency may not overlap');
SELECT lives_ok($$SELECT depwatch.record_outage('messenger', '2026-03-01 09:00', '2026-03-01 10:00')$$,
				'outages of different dependencies MAY overlap');
SELECT results_eq($$SELECT dependency, kind, started_at, ended_at FROM depwatch.outages
					ORDER BY dependency, started_at, kind$$,
				  $$VALUES ('bureau', 'down', '2026-03-01 09:00+00'::timestamptz, '2026-03-01 10:00+00'::timestamptz),
						   ('bureau', 'degraded', '2026-03-01 09:15+00', '2026-03-01 09:45+00'),
						   ('bureau', 'down', '2026-03-01 10:00+00', '2026-03-01 10:30+00'),
						   ('messenger', 'down', '2026-03-01 09:00+00', '2026-03-01 10:00+00')$$,
				  'the outages view shows exactly the accepted outages');

-- ---------------------------------------------------------------------------
-- Audit triggers (6 + 2 + 1 + 5)
-- ---------------------------------------------------------------------------
SELECT trigger_is('depwatch', t, 'audit', 'depwatch_internal', '_audit_append',
				  format('depwatch.%s has the audit trigger', t))
FROM unnest(ARRAY['dependency', 'capability', 'outage', 'maintenance', 'incident', 'incident_dependency']) t;
SELECT trigger_is('depwatch', 'audit_log', 'audit_log_append_only', 'depwatch_internal', '_audit_refuse',
				  'audit_log refuses UPDATE and DELETE by trigger');
SELECT trigger_is('depwatch', 'audit_log', 'audit_log_no_truncate', 'depwatch_internal', '_audit_refuse',
				  'audit_log refuses TRUNCATE by trigger');
-- tgtype 29 = ROW (1) | INSERT (4) | DELETE (8) | UPDATE (16), AFTER
SELECT set_eq($$SELECT c.relname::text FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid
				WHERE c.relnamespace = 'depwatch'::regnamespace AND g.tgname = 'audit' AND g.tgtype = 29$$,
			  ARRAY['dependency', 'capability', 'outage', 'maintenance', 'incident', 'incident_dependency',
					'ledger_binding', 'fee_policy', 'fee_schedule', 'alert_route', 'alert_report_sent',
					'redress_policy', 'scenario', 'incident_update'],
			  'the audit triggers fire AFTER INSERT OR UPDATE OR DELETE FOR EACH ROW');

SELECT is((SELECT count(*) FROM depwatch.audit_log WHERE table_name = 'outage' AND action = 'INSERT'),
		  4::bigint, 'every outage recorded above is in the audit log');
SELECT throws_ok('UPDATE depwatch.audit_log SET actor = ''someone else''', '42501', NULL,
				 'the audit log refuses UPDATE, even to its owner');
SELECT throws_ok('DELETE FROM depwatch.audit_log', '42501', NULL, 'the audit log refuses DELETE');
SELECT throws_ok('TRUNCATE depwatch.audit_log', '42501', NULL, 'the audit log refuses TRUNCATE');
SELECT results_eq('SELECT ok, first_bad FROM depwatch.verify_audit()', $$VALUES (true, NULL::bigint)$$,
				  'the audit chain verifies');

-- ---------------------------------------------------------------------------
-- pg_dump keeps configuration and history (2)
-- ---------------------------------------------------------------------------
SELECT set_has($$SELECT c.relname::text FROM pg_extension e, unnest(e.extconfig) x JOIN pg_class c ON c.oid = x
				 WHERE e.extname = 'depwatch'$$,
			   $$SELECT unnest(ARRAY['dependency', 'capability', 'sample_default', 'probe_state', 'monitor_gap', 'outage',
									 'maintenance', 'incident', 'incident_dependency', 'audit_log', 'audit_head',
									 'dependency_id_seq', 'capability_id_seq', 'outage_id_seq',
									 'maintenance_id_seq', 'incident_id_seq', 'audit_log_id_seq',
									 'ledger_binding', 'ledger_binding_id_seq', 'fee_policy', 'fee_policy_id_seq',
									 'fee_schedule', 'fee_schedule_id_seq'])$$,
			   'every config table and sequence is registered in pg_extension.extconfig');
SELECT is_empty($$SELECT c.relname FROM pg_class c
				  JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'
				  JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'depwatch'
				  WHERE c.relkind IN ('r', 'S') AND c.oid <> ALL (e.extconfig)$$,
				'no table or sequence of the extension is left out of extconfig');

-- ---------------------------------------------------------------------------
-- SECURITY DEFINER functions pin search_path (3)
-- ---------------------------------------------------------------------------
CREATE FUNCTION pg_temp.search_path_of(config text[]) RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
	SELECT regexp_split_to_array(regexp_replace(substr(c, 13), '[\s"]', '', 'g'), ',')
	FROM unnest(config) c WHERE c LIKE 'search_path=%'
$$;
SELECT cmp_ok((SELECT count(*)::int FROM pg_proc WHERE pronamespace IN ('depwatch'::regnamespace, 'depwatch_internal'::regnamespace) AND prosecdef),
			  '>=', 16, 'the API is made of SECURITY DEFINER functions');
SELECT is_empty($$SELECT oid::regprocedure, proconfig FROM pg_proc
				  WHERE pronamespace IN ('depwatch'::regnamespace, 'depwatch_internal'::regnamespace) AND prosecdef
					AND coalesce((pg_temp.search_path_of(proconfig))[1], '') <> 'pg_catalog'$$,
				'every SECURITY DEFINER function sets search_path starting with pg_catalog');
SELECT is_empty($$SELECT oid::regprocedure, proconfig FROM pg_proc
				  WHERE pronamespace IN ('depwatch'::regnamespace, 'depwatch_internal'::regnamespace) AND prosecdef
					AND coalesce((pg_temp.search_path_of(proconfig))
								 [cardinality(pg_temp.search_path_of(proconfig))], '') <> 'pg_temp'$$,
				'every SECURITY DEFINER function lists pg_temp last, so temporary objects never shadow');
SELECT is_empty($$SELECT oid::regprocedure, proconfig FROM pg_proc
				  WHERE pronamespace IN ('depwatch'::regnamespace, 'depwatch_internal'::regnamespace) AND proconfig IS NOT NULL
					AND NOT 'jit=off' = ANY (proconfig)$$,
				'every function with settings runs without JIT (compiling cost more than running)');

-- ---------------------------------------------------------------------------
-- Comments: BI tools show them (17 + 27 + 1 + 1)
-- ---------------------------------------------------------------------------
SELECT isnt(obj_description(to_regclass('depwatch.' || r), 'pg_class'), NULL,
			format('depwatch.%s has a comment', r))
FROM unnest(ARRAY['dependency', 'capability', 'sample', 'sample_default', 'probe_state', 'outage',
				  'maintenance', 'incident', 'incident_dependency', 'audit_log', 'audit_head',
				  'dependencies', 'requirements', 'outages', 'worker_status', 'status',
				  'availability_daily']) r;
SELECT isnt(obj_description(to_regprocedure(format('depwatch.%s(%s)', a.name, array_to_string(a.args, ','))),
							'pg_proc'), NULL,
			format('function depwatch.%s has a comment', a.name))
FROM api a ORDER BY a.name;
SELECT is_empty($$SELECT oid::regprocedure FROM pg_proc
				  WHERE pronamespace = 'depwatch'::regnamespace AND proname !~ '^_'
					AND obj_description(oid, 'pg_proc') IS NULL$$,
				'every other public function of depwatch has a comment too');
SELECT is_empty($$SELECT c.relname, a.attname FROM pg_class c
				  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
				  WHERE c.relnamespace = 'depwatch'::regnamespace AND c.relkind = 'v'
					AND c.relname !~ '^_' AND col_description(c.oid, a.attnum) IS NULL$$,
				'every column of every public view has a comment');
-- the schema depwatch is the API; its helpers live in depwatch_internal,
-- which PUBLIC cannot even look into (3)
SELECT is_empty($$SELECT oid::regprocedure::text FROM pg_proc
				  WHERE pronamespace = 'depwatch'::regnamespace AND proname ~ '^_'
				  UNION ALL
				  SELECT oid::regclass::text FROM pg_class
				  WHERE relnamespace = 'depwatch'::regnamespace AND relname ~ '^(_|sample_[0-9]{8}$)'$$,
				'no helper and no daily partition in the schema depwatch');
SELECT ok(NOT has_schema_privilege('public', 'depwatch_internal', 'USAGE'),
		  'PUBLIC has no USAGE on depwatch_internal');
SELECT is_empty($$SELECT oid::regprocedure FROM pg_proc
				  WHERE pronamespace = 'depwatch_internal'::regnamespace AND proname !~ '^_'$$,
				'every function of depwatch_internal is named as a helper (_*)');

-- ---------------------------------------------------------------------------
-- 0.2: several vantages (3 + 1 + 3 + 4 + 1 + 1 + 3 + 3)
-- ---------------------------------------------------------------------------
SELECT has_table('depwatch', t, format('table depwatch.%s exists', t))
FROM unnest(ARRAY['vantage_sample', 'vantage_outage', 'vantage_gap']) t;
SELECT has_view('depwatch', 'vantage_status', 'view depwatch.vantage_status exists');
SELECT has_function('depwatch', f, ARRAY['tstzrange'], format('function depwatch.%s(tstzrange) exists', f))
FROM unnest(ARRAY['consensus_timeline', 'consensus_outages', 'vantage_availability']) f;
SELECT trigger_is('depwatch', t, g, 'depwatch_internal', '_' || g, format('depwatch.%s ships rows by trigger %s', t, g))
FROM (VALUES ('sample', 'ship_samples'), ('outage', 'ship_outage'), ('monitor_gap', 'ship_gap'),
			 ('dependency', 'ship_drop')) x(t, g);
SELECT set_has($$SELECT c.relname::text FROM pg_extension e, unnest(e.extconfig) x JOIN pg_class c ON c.oid = x
				 WHERE e.extname = 'depwatch'$$,
			   $$SELECT unnest(ARRAY['vantage_sample', 'vantage_sample_id_seq', 'vantage_outage', 'vantage_gap'])$$,
			   'pg_dump keeps the vantage tables');
SELECT set_eq($$SELECT * FROM pg_temp.columns_of('depwatch.vantage_status')$$,
	$$VALUES ('vantage', 'text'), ('last_sample_at', 'timestamp with time zone'),
			 ('last_received_at', 'timestamp with time zone'), ('replication_lag', 'interval'),
			 ('reporting', 'integer'), ('counts_toward_quorum', 'boolean'),
			 ('replication_lag_seconds', 'numeric')$$,
	'depwatch.vantage_status has its columns');
SELECT col_is_pk('depwatch', t, k, format('the key of depwatch.%s starts with the vantage', t))
FROM (VALUES ('vantage_sample', ARRAY['vantage', 'id']), ('vantage_outage', ARRAY['vantage', 'outage_id']),
			 ('vantage_gap', ARRAY['vantage', 'dependency', 'before'])) x(t, k);
SELECT ok(has_table_privilege('depwatch_reader', 'depwatch.vantage_status', 'SELECT')
		  AND has_table_privilege('depwatch_reader', 'depwatch.vantage_sample', 'SELECT'),
		  'readers read the vantage tables and vantage_status');
SELECT ok(NOT has_table_privilege('depwatch_admin', 'depwatch.vantage_sample', 'INSERT')
		  AND NOT has_table_privilege('depwatch_admin', 'depwatch.vantage_outage', 'UPDATE')
		  AND NOT has_table_privilege('depwatch_admin', 'depwatch.vantage_gap', 'DELETE'),
		  'nobody but the triggers and replication writes the vantage tables');
SELECT ok(has_function_privilege('depwatch_reader', 'depwatch.consensus_outages(tstzrange)', 'EXECUTE')
		  AND NOT has_function_privilege('depwatch_reader', 'depwatch_internal._vantage_spans(timestamptz, timestamptz)', 'EXECUTE'),
		  'readers call the consensus functions, not their internals');

SELECT * FROM finish();
ROLLBACK;
