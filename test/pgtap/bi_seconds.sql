-- bi_seconds.sql: what BI tools read (SPEC section 10, issue 21 item 3).
-- Every interval column of every reading function (OUT or TABLE columns)
-- and view of schema depwatch, found in the catalog so that a column added
-- later is caught, has a numeric companion named <column>_seconds after it,
-- equal to extract(epoch FROM <column>) on hand-made data, NULL where it
-- is NULL; and a reader listing schema depwatch sees the API, not the
-- helpers.
BEGIN;
SET TimeZone = 'UTC';

-- every interval column of a reading function or view of depwatch
CREATE TEMP VIEW interval_column AS
	SELECT p.oid::regprocedure::text AS relation, 'function' AS what, a.name AS col, a.n AS pos, p.oid AS fn
	FROM pg_proc p
	CROSS JOIN LATERAL unnest(p.proargnames, p.proargmodes, p.proallargtypes) WITH ORDINALITY a(name, mode, typ, n)
	WHERE p.pronamespace = 'depwatch'::regnamespace AND a.mode IN ('o', 't', 'b')
	  AND a.typ = 'interval'::regtype
	UNION ALL
	SELECT c.oid::regclass::text, 'view', a.attname, a.attnum, NULL
	FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
	WHERE c.relnamespace = 'depwatch'::regnamespace AND c.relkind IN ('v', 'm')
	  AND a.atttypid = 'interval'::regtype;

-- the columns (name, position, type) of a function's result or a view
CREATE TEMP VIEW result_column AS
	SELECT p.oid::regprocedure::text AS relation, a.name AS col, a.n AS pos, a.typ
	FROM pg_proc p
	CROSS JOIN LATERAL unnest(p.proargnames, p.proargmodes, p.proallargtypes) WITH ORDINALITY a(name, mode, typ, n)
	WHERE p.pronamespace = 'depwatch'::regnamespace AND a.mode IN ('o', 't', 'b')
	UNION ALL
	SELECT c.oid::regclass::text, a.attname, a.attnum, a.atttypid
	FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
	WHERE c.relnamespace = 'depwatch'::regnamespace AND c.relkind IN ('v', 'm');

-- how each reading function with interval columns is called on the data
-- below; a new one must be added here (test 2)
CREATE TEMP TABLE call (relation text PRIMARY KEY, source text NOT NULL);
INSERT INTO call VALUES
	('depwatch.availability(tstzrange,text)',
	 $$depwatch.availability('[2024-01-02, 2024-01-03)', 'hour')$$),
	('depwatch.vantage_availability(tstzrange)',
	 $$depwatch.vantage_availability('[2024-01-02, 2024-01-03)')$$),
	('depwatch.tolerance_breaches(tstzrange)',
	 $$depwatch.tolerance_breaches('[2024-01-02, 2024-01-03)')$$),
	('depwatch.burn_rate(text,timestamp with time zone)',
	 $$depwatch.burn_rate('opening', '2024-01-02 12:00+00')$$),
	('depwatch.scenario(text[],timestamp with time zone,interval,integer)',
	 $$depwatch.scenario(ARRAY['bureau_a', 'bureau_b'], '2024-01-02 10:00+00', '3 hours')$$);

-- the data: two bureaus down together for 2 h 30 min (a capability with
-- a 2 h tolerance breaches), again 3 hours ago, a sample with a latency, a
-- closed incident, a probed dependency another vantage reported
SET client_min_messages = warning;
SELECT depwatch.add_dependency('bureau_a', 'credit_bureau', tracked_since => '2024-01-01', degraded_after => '500 ms');
SELECT depwatch.add_dependency('bureau_b', 'credit_bureau', tracked_since => '2024-01-01');
SELECT depwatch.add_dependency('core_db', 'core', 'tcp', '127.0.0.1:9', tracked_since => '2024-01-01');
RESET client_min_messages;
SELECT depwatch.add_capability('opening', ARRAY['bureau_a|bureau_b'], impact_tolerance => '2 hours');
SELECT depwatch.record_outage('bureau_a', '2024-01-02 10:00+00', '2024-01-02 14:00+00');
SELECT depwatch.record_outage('bureau_b', '2024-01-02 11:00+00', '2024-01-02 13:30+00');
SELECT depwatch.record_outage('bureau_a', now() - interval '3 hours', now() - interval '2 hours');
SELECT depwatch.record_outage('bureau_b', now() - interval '3 hours', now() - interval '1 hour');
SELECT depwatch.report_sample('bureau_a', true, '120 ms', '2024-01-03 09:00+00', detail => 'HTTP 200');
SELECT depwatch.open_incident('bureaus down', '2024-01-02 10:30+00');
SELECT depwatch.close_incident(currval('depwatch.incident_id_seq'), '2024-01-02 14:00+00');
INSERT INTO depwatch.vantage_sample (vantage, id, dependency, at, ok)
	SELECT 'east', g, 'core_db', timestamptz '2024-01-02 00:00+00' + g * interval '10 s', g % 100 <> 0
	FROM generate_series(0, 8639) g;
INSERT INTO depwatch.vantage_gap (vantage, dependency, before, unmonitored)
	VALUES ('east', 'core_db', '2024-01-02 00:00+00', '[2024-01-01 00:00+00, 2024-01-02 00:00+00)');

-- companion_check: per interval column, how many rows have a value and
-- whether <column>_seconds equals extract(epoch FROM <column>) (NULL for
-- NULL) on every row
CREATE FUNCTION pg_temp.companion_check()
	RETURNS TABLE(relation text, col text, valued bigint, equal boolean)
LANGUAGE plpgsql AS $$
DECLARE
	c record;
BEGIN
	FOR c IN
		SELECT i.relation, i.col, coalesce(k.source, i.relation) AS source
		FROM pg_temp.interval_column i LEFT JOIN pg_temp.call k ON k.relation = i.relation
		WHERE i.what = 'view' OR k.source IS NOT NULL
		ORDER BY 1, 2
	LOOP
		relation := c.relation;
		col := c.col;
		EXECUTE format('SELECT count(%1$I), coalesce(bool_and(%2$I IS NOT DISTINCT FROM extract(epoch FROM %1$I)), true) FROM %3$s',
					   c.col, c.col || '_seconds', c.source)
			INTO valued, equal;
		RETURN NEXT;
	END LOOP;
END
$$;

SELECT plan(6 + (SELECT count(*)::int FROM interval_column i
				 WHERE i.what = 'view' OR EXISTS (SELECT FROM call k WHERE k.relation = i.relation)));

-- 1: every interval column has its companion, numeric, after it
SELECT is_empty($$SELECT i.relation, i.col FROM interval_column i
				  WHERE NOT EXISTS (SELECT FROM result_column r
									WHERE r.relation = i.relation AND r.col = i.col || '_seconds'
									  AND r.typ = 'numeric'::regtype AND r.pos > i.pos)$$,
				'every interval column of a reading function or view of depwatch has a numeric <column>_seconds after it');
-- 2: every reading function with interval columns is called below
SELECT is_empty($$SELECT DISTINCT i.relation FROM interval_column i
				  WHERE i.what = 'function' AND NOT EXISTS (SELECT FROM call k WHERE k.relation = i.relation)$$,
				'every reading function with interval columns has a call in this test');
-- 3 ...: each companion equals extract(epoch ...) where there is a value
-- (worker_status has values only while a probe worker runs)
SELECT ok(c.equal AND (c.valued > 0 OR c.relation = 'depwatch.worker_status'),
		  format('%s: %s_seconds = extract(epoch FROM %s) on %s rows with a value',
				 c.relation, c.col, c.col, c.valued))
FROM pg_temp.companion_check() c;

-- the outages view's duration_seconds: ended_at - started_at, up to now
-- while ongoing
SELECT depwatch.record_outage('bureau_a', now() - interval '30 minutes');
SELECT results_eq($$SELECT o.duration_seconds FROM depwatch.outages o
					WHERE o.dependency = 'bureau_a' ORDER BY o.started_at$$,
				  $$VALUES (14400.000000), (3600.000000), (1800.000000)$$,
				  'outages.duration_seconds: ended_at - started_at, up to now while ongoing');

-- a reader listing schema depwatch sees the API, not the helpers; and the
-- views for BI
CREATE ROLE bi_seconds_reader LOGIN IN ROLE depwatch_reader;
SET ROLE bi_seconds_reader;
SELECT is_empty($$SELECT routine_name FROM information_schema.routines
				  WHERE routine_schema = 'depwatch' AND routine_name ~ '^_'
				  UNION ALL
				  SELECT table_name FROM information_schema.tables
				  WHERE table_schema = 'depwatch' AND table_name ~ '^(_|sample_[0-9]{8}$)'$$,
				'a reader listing schema depwatch in information_schema sees no helper');
SELECT set_eq($$SELECT table_name::text FROM information_schema.tables
				WHERE table_schema = 'depwatch'
				  AND table_name IN ('capability_outages_recent', 'incidents', 'last_probe')$$,
			  ARRAY['capability_outages_recent', 'incidents', 'last_probe'],
			  'a reader sees the views capability_outages_recent, incidents and last_probe');
SELECT results_eq($$SELECT (SELECT count(*) FROM depwatch.capability_outages_recent WHERE kind = 'down'),
						   (SELECT count(*) FROM depwatch.incidents),
						   (SELECT count(*) FROM depwatch.last_probe WHERE at IS NOT NULL)$$,
				  $$VALUES (1::bigint, 1::bigint, 1::bigint)$$,
				  'a reader reads them: the recent capability outage, the incident, the latest sample');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
