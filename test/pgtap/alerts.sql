-- alerts.sql: who may do what with alerts (SPEC sections 6 and 8, issue
-- 19).  Readers read the events, their deliveries and the routes with
-- their secrets masked, and write nothing; operators mark reports sent;
-- admins manage routes; PUBLIC has nothing.  Route secrets are planted,
-- each spelled Zq<n>-..., in every place a route holds one (URL user
-- info, query value, path, header value, PagerDuty routing key); a reader
-- searches every relation it may SELECT for them.
BEGIN;
SET TimeZone = 'UTC';
SELECT plan(35);

-- run(query) returns the rows of a one-column query as text, or the error
-- it raised as one row 'ERROR sqlstate', so that a query that fails for a
-- role shows up as a failed assertion, not an aborted file.
CREATE FUNCTION pg_temp.run(query text) RETURNS SETOF text
LANGUAGE plpgsql AS $$
BEGIN
	RETURN QUERY EXECUTE query;
EXCEPTION WHEN OTHERS THEN
	RETURN NEXT format('ERROR %s', SQLSTATE);
END
$$;
GRANT EXECUTE ON FUNCTION pg_temp.run(text) TO PUBLIC;

-- leaks(): every column of every relation the current role may read, cast
-- to text, where a planted secret (Zq, digits) shows.
CREATE FUNCTION pg_temp.leaks() RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
	c record;
	hit text;
BEGIN
	FOR c IN
		SELECT r.oid::regclass AS rel, a.attname
		FROM pg_class r
		JOIN pg_namespace n ON n.oid = r.relnamespace
		JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
		WHERE r.relkind IN ('r', 'p', 'v', 'm', 'f') AND n.nspname = 'depwatch'
		  AND (has_table_privilege(r.oid, 'SELECT') OR has_column_privilege(r.oid, a.attnum, 'SELECT'))
		ORDER BY 1, 2
	LOOP
		BEGIN
			EXECUTE format('SELECT %1$I::text FROM %2$s WHERE %1$I::text ~ %3$L LIMIT 1',
						   c.attname, c.rel, 'Zq[0-9]+') INTO hit;
		EXCEPTION WHEN insufficient_privilege THEN
			hit := NULL;
		END;
		IF hit IS NOT NULL THEN
			RETURN NEXT format('%s.%s: %s', c.rel, c.attname, hit);
		END IF;
	END LOOP;
END
$$;
GRANT EXECUTE ON FUNCTION pg_temp.leaks() TO PUBLIC;

CREATE ROLE alerts_nobody;
CREATE ROLE alerts_reader IN ROLE depwatch_reader;
CREATE ROLE alerts_operator IN ROLE depwatch_operator;
CREATE ROLE alerts_admin IN ROLE depwatch_admin;

-- ---------------------------------------------------------------------------
-- The secrets, and events to read (3)
-- ---------------------------------------------------------------------------
SELECT lives_ok($$SELECT depwatch.add_alert_route('pager', 'webhook',
	'https://oncall:Zq1-userinfo@hooks.example/Zq2-path/x?token=Zq3-query', 'pagerduty',
	options => '{"routing_key": "Zq4-routing", "headers": {"X-Api": "Zq5-header"}}')$$,
	'a superuser adds a pagerduty route with secrets');
SELECT lives_ok($$SELECT depwatch.add_alert_route('board', 'notify', 'board')$$, 'and a notify route');
SELECT depwatch.add_dependency('core', 'core', 'none', tracked_since => now() - interval '1 hour');
SELECT depwatch.add_capability('transfer', ARRAY['core']);
SELECT depwatch.record_outage('core', now() - interval '1 minute');
-- the capability's event and the routing run at commit (deferred): now
SET CONSTRAINTS ALL IMMEDIATE;
SELECT ok((SELECT count(*) FROM depwatch.alert_event) >= 2, 'the outage made events');

-- ---------------------------------------------------------------------------
-- PUBLIC: nothing (10)
-- ---------------------------------------------------------------------------
SET ROLE alerts_nobody;
SELECT is(pg_temp.run(format('SELECT count(*)::text FROM depwatch.%I', r)), 'ERROR 42501',
		  format('PUBLIC may not read %s', r))
FROM unnest(ARRAY['alert_route', 'alert_event', 'alert_delivery', 'alerts', 'alert_routes',
				  'alert_report_sent']) r;
SELECT is(pg_temp.run($$SELECT depwatch.add_alert_route('x', 'notify', 'x')::text$$), 'ERROR 42501',
		  'PUBLIC may not add routes');
SELECT is(pg_temp.run($$SELECT count(*)::text FROM depwatch.burn_rate('transfer')$$), 'ERROR 42501',
		  'PUBLIC may not run burn_rate');
SELECT is(pg_temp.run($$SELECT count(*)::text FROM depwatch.tolerance_breaches(tstzrange(now() - interval '1 day', now()))$$),
		  'ERROR 42501', 'PUBLIC may not run tolerance_breaches');
SELECT is(pg_temp.run($$SELECT depwatch_internal._alert_tick()::text$$), 'ERROR 42501', 'PUBLIC may not tick');
RESET ROLE;

-- ---------------------------------------------------------------------------
-- Readers (12)
-- ---------------------------------------------------------------------------
SET ROLE alerts_reader;
SELECT is_empty('SELECT * FROM pg_temp.leaks()',
				'a reader finds no route secret in any relation it can read, audit_log included');
SELECT isnt(pg_temp.run('SELECT count(*)::text FROM depwatch.alerts'), 'ERROR 42501', 'a reader reads alerts');
SELECT isnt(pg_temp.run('SELECT count(*)::text FROM depwatch.alert_event'), 'ERROR 42501', 'and alert_event');
SELECT is(pg_temp.run($$SELECT target FROM depwatch.alert_routes WHERE name = 'pager'$$),
		  'https://oncall:********@hooks.example/********?token=********', 'a webhook URL, masked');
SELECT is(pg_temp.run($$SELECT options::text FROM depwatch.alert_routes WHERE name = 'pager'$$),
		  '{"headers": {"X-Api": "********"}, "routing_key": "********"}', 'header values and the routing key, masked');
SELECT is(pg_temp.run('SELECT target FROM depwatch.alert_route'), 'ERROR 42501', 'not the routes table');
SELECT is(pg_temp.run($$SELECT depwatch.add_alert_route('x', 'notify', 'x')::text$$), 'ERROR 42501',
		  'a reader may not add routes');
SELECT is(pg_temp.run($$SELECT depwatch.drop_alert_route('pager')::text$$), 'ERROR 42501', 'nor drop them');
SELECT is(pg_temp.run($$WITH x AS (DELETE FROM depwatch.alert_event RETURNING 1) SELECT count(*)::text FROM x$$),
		  'ERROR 42501', 'nor delete events');
SELECT is(pg_temp.run($$WITH x AS (UPDATE depwatch.alert_delivery SET state = 'delivered', delivered_at = now() RETURNING 1) SELECT count(*)::text FROM x$$),
		  'ERROR 42501', 'nor mark deliveries');
SELECT is(pg_temp.run($$SELECT depwatch.mark_report_sent(1, 'dora_initial')::text$$), 'ERROR 42501',
		  'nor mark reports sent');
SELECT isnt(pg_temp.run($$SELECT count(*)::text FROM depwatch.burn_rate('transfer')$$), 'ERROR 42501',
			'a reader runs burn_rate');
RESET ROLE;

-- ---------------------------------------------------------------------------
-- Operators and admins (8)
-- ---------------------------------------------------------------------------
SELECT depwatch.open_incident('core down', now() - interval '1 minute') AS incident \gset
SET ROLE alerts_operator;
SELECT is(pg_temp.run(format($$SELECT depwatch.mark_report_sent(%s, 'kr_fss_initial')::text$$, :incident)), '',
		  'an operator marks a report sent');
SELECT is(pg_temp.run($$SELECT depwatch.add_alert_route('x', 'notify', 'x')::text$$), 'ERROR 42501',
		  'an operator may not add routes');
RESET ROLE;
SET ROLE alerts_admin;
SELECT is(pg_temp.run($$SELECT (depwatch.add_alert_route('ops', 'webhook', 'https://ops.example/hook') > 0)::text$$),
		  'true', 'an admin adds a route');
SELECT is(pg_temp.run($$SELECT set_by_superuser::text FROM depwatch.alert_route WHERE name = 'ops'$$), 'false',
		  'recorded as not set by a superuser');
SELECT is(pg_temp.run($$SELECT depwatch.alter_alert_route('pager', min_severity => 'warning')::text$$), '',
		  'an admin changes a route');
SELECT is(pg_temp.run($$SELECT set_by_superuser::text FROM depwatch.alert_route WHERE name = 'pager'$$), 'true',
		  'changing its severity keeps who set its target');
SELECT is(pg_temp.run($$SELECT depwatch.alter_alert_route('pager', target => 'https://hooks.example/new')::text$$), '',
		  'an admin changes its target');
SELECT is(pg_temp.run($$SELECT set_by_superuser::text FROM depwatch.alert_route WHERE name = 'pager'$$), 'false',
		  'which is then not a superuser''s');
RESET ROLE;

-- the audit log has the routes' changes, secrets masked, and verifies
SELECT is((SELECT count(*) FROM depwatch.audit_log WHERE table_name = 'alert_route'), 5::bigint,
		  'every change to a route is audited');
SELECT results_eq('SELECT ok FROM depwatch.verify_audit()', $$VALUES (true)$$, 'the chain verifies');

SELECT * FROM finish();
ROLLBACK;
