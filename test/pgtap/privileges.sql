-- privileges.sql: the roles depwatch_reader < depwatch_operator <
-- depwatch_admin, what each may read, call and write, that secrets in
-- targets and options reach neither readers nor the audit log, and that
-- the audit log names the role that made each change.
BEGIN;
SET TimeZone = 'UTC';
SELECT plan(123);

-- run(query) returns the rows of a one-column query as text, or the error
-- it raised as one row 'ERROR sqlstate: message', so that a query that
-- fails for a role shows up as a failed assertion, not an aborted file.
CREATE FUNCTION pg_temp.run(query text) RETURNS SETOF text
LANGUAGE plpgsql AS $$
BEGIN
	RETURN QUERY EXECUTE query;
EXCEPTION WHEN OTHERS THEN
	RETURN NEXT format('ERROR %s: %s', SQLSTATE, SQLERRM);
END
$$;

-- audit_mark: the last audit row (max) before the changes a role makes next.
CREATE TEMP TABLE audit_mark (id bigint);

-- ---------------------------------------------------------------------------
-- The roles (8)
-- ---------------------------------------------------------------------------
SELECT has_role(r, format('role %s exists', r))
FROM unnest(ARRAY['depwatch_reader', 'depwatch_operator', 'depwatch_admin']) r;
SELECT is_member_of('depwatch_reader', 'depwatch_operator', 'an operator is a reader');
SELECT is_member_of('depwatch_operator', 'depwatch_admin', 'an admin is an operator');
SELECT ok(pg_has_role('depwatch_admin', 'depwatch_reader', 'USAGE'),
		  'an admin has the privileges of a reader');
SELECT ok(NOT pg_has_role('depwatch_reader', 'depwatch_operator', 'MEMBER')
		  AND NOT pg_has_role('depwatch_operator', 'depwatch_admin', 'MEMBER'),
		  'membership goes one way: a reader is no operator, an operator no admin');
SELECT is_empty($$SELECT rolname FROM pg_roles
				  WHERE rolname IN ('depwatch_reader', 'depwatch_operator', 'depwatch_admin')
					AND (rolcanlogin OR rolsuper OR rolcreaterole OR rolcreatedb OR rolbypassrls)$$,
				'the depwatch roles cannot log in and hold no special attributes');

-- ---------------------------------------------------------------------------
-- PUBLIC (4)
-- ---------------------------------------------------------------------------
SELECT is_empty($$SELECT p.oid::regprocedure FROM pg_proc p
				  WHERE p.pronamespace IN ('depwatch'::regnamespace, 'depwatch_internal'::regnamespace)
					AND EXISTS (SELECT FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
								WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE')$$,
				'PUBLIC has no EXECUTE on any depwatch function');
SELECT is_empty($$SELECT c.oid::regclass FROM pg_class c
				  WHERE c.relnamespace IN ('depwatch'::regnamespace, 'depwatch_internal'::regnamespace) AND c.relkind IN ('r', 'p', 'v', 'S')
					AND EXISTS (SELECT FROM aclexplode(coalesce(c.relacl, acldefault(CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END::"char",
																							  c.relowner))) a
								WHERE a.grantee = 0)$$,
				'PUBLIC has no privilege on any depwatch table, view or sequence');

CREATE ROLE depwatch_tap_outsider NOLOGIN;
SET ROLE depwatch_tap_outsider;
SELECT throws_ok('SELECT * FROM depwatch.current_status()', '42501', NULL,
				 'a role outside the depwatch roles cannot call current_status()');
SELECT throws_ok('SELECT * FROM depwatch.outages', '42501', NULL,
				 'a role outside the depwatch roles cannot read the outages');
SELECT throws_ok($$SELECT * FROM depwatch.availability('[2026-03-01, 2026-03-02)')$$, '42501', NULL,
				 'a role outside the depwatch roles cannot call availability()');
RESET ROLE;

-- ---------------------------------------------------------------------------
-- Set-up as the extension owner: dependencies whose targets and options
-- hold secrets, all spelled Sup3rS3cret-...
-- ---------------------------------------------------------------------------
DO $$
BEGIN
	PERFORM depwatch.add_dependency('idv', 'identity', 'http',
		'https://alice:Sup3rS3cret-url@idv.example.com:8443/health?check=1',
		options => '{"headers": {"Authorization": "Bearer Sup3rS3cret-header", "X-Api-Key": "Sup3rS3cret-apikey"},
					 "expect_status": [200, 204]}', tracked_since => '1990-01-01 00:00+00');
	PERFORM depwatch.add_dependency('ledger', 'core', 'postgres',
		'host=10.0.0.5 port=5432 user=monitor password=Sup3rS3cret-conninfo dbname=ledger', tracked_since => '1990-01-01 00:00+00');
	PERFORM depwatch.add_dependency('ledger_uri', 'core', 'postgres',
		'postgresql://monitor:Sup3rS3cret-uri@10.0.0.6:5432/ledger', tracked_since => '1990-01-01 00:00+00');
	-- sslpassword unlocks the client key: a secret too (spelled TlsS3cret-...)
	PERFORM depwatch.add_dependency('ledger_tls', 'core', 'postgres',
		'host=10.0.0.7 user=monitor sslmode=verify-full sslcert=/etc/mon.crt sslkey=/etc/mon.key sslpassword=TlsS3cret-key dbname=ledger', tracked_since => '1990-01-01 00:00+00');
	PERFORM depwatch.add_dependency('bureau', 'credit_bureau', 'none', tracked_since => '1990-01-01 00:00+00');
	-- a secret changed: the UPDATE is logged with old and new masked
	PERFORM depwatch.alter_dependency('idv',
		target => 'https://alice:Sup3rS3cret-rotated@idv.example.com:8443/health?check=1');
	PERFORM depwatch.record_outage('bureau', '2026-03-01 09:00', note => 'bureau overloaded');
END
$$;

-- ---------------------------------------------------------------------------
-- depwatch_reader (18 + 6 + 33 + 10 + 1)
-- ---------------------------------------------------------------------------
SET ROLE depwatch_reader;

SELECT lives_ok('SELECT * FROM depwatch.dependencies', 'a reader can SELECT the view dependencies');
SELECT lives_ok('SELECT * FROM depwatch.outages', 'a reader can SELECT the view outages');
SELECT lives_ok('SELECT * FROM depwatch.requirements', 'a reader can SELECT the view requirements');
SELECT lives_ok('SELECT * FROM depwatch.status', 'a reader can SELECT the view status');
SELECT lives_ok('SELECT * FROM depwatch.availability_daily', 'a reader can SELECT the view availability_daily');
SELECT results_eq($$SELECT target || ' ' || downtime FROM depwatch.availability('[2026-03-01, 2026-03-02)')
					WHERE target = 'bureau'$$,
				  ARRAY['bureau 15:00:00'],
				  'a reader can call availability(), which reads options it cannot see');
SELECT lives_ok($$SELECT * FROM depwatch.state_timeline('[2026-03-01, 2026-03-02)')$$,
				'a reader can call state_timeline()');
SELECT lives_ok($$SELECT depwatch.timeline_svg('[2026-03-01, 2026-03-02)')$$,
				'a reader can call timeline_svg()');
SELECT throws_ok($$SELECT * FROM depwatch.capability_outages('nope', '[2026-03-01, 2026-03-02)')$$,
				 '42704', NULL, 'a reader can call capability_outages(), and hears the capability does not exist');
-- no probe worker runs for this database (not in depwatch.databases): the
-- probed dependencies are unmonitored from the start (SPEC section 7)
SELECT results_eq($$SELECT target || ' ' || state FROM depwatch.current_status() ORDER BY target$$,
				  ARRAY['bureau down', 'idv unmonitored', 'ledger unmonitored', 'ledger_tls unmonitored',
						'ledger_uri unmonitored'],
				  'a reader can call current_status()');
SELECT results_eq($$SELECT dependency || ' ' || kind || ' ' || started_at || ' ' || note
					FROM depwatch.outages$$,
				  ARRAY['bureau down 2026-03-01 09:00:00+00 bureau overloaded'],
				  'a reader sees the outages');

-- What the view dependencies shows a reader
SELECT results_eq($$SELECT * FROM pg_temp.run('SELECT target FROM depwatch.dependencies WHERE name = ''idv''')$$,
				  ARRAY['https://alice:********@idv.example.com:8443/health?check=********'],
				  'the password of an http URL is shown as ********, every query value too, the rest of the URL as it is');
SELECT results_eq($$SELECT * FROM pg_temp.run('SELECT options::text FROM depwatch.dependencies WHERE name = ''idv''')$$,
				  ARRAY['{"headers": {"X-Api-Key": "********", "Authorization": "********"}, "expect_status": [200, 204]}'],
				  'header values of options are shown as ********, other options as they are');
SELECT results_eq($$SELECT * FROM pg_temp.run($q$
					SELECT (target ~ $r$password='?\*{8}'?( |$)$r$ AND target ~ $r$host='?10\.0\.0\.5'?( |$)$r$
							AND target ~ $r$user='?monitor'?( |$)$r$)::text
					FROM depwatch.dependencies WHERE name = 'ledger'$q$)$$,
				  ARRAY['true'],
				  'the password of a postgres key=value conninfo is shown as ********, host and user as they are');
SELECT results_eq($$SELECT * FROM pg_temp.run($q$
					SELECT (target ~ $r$password='?\*{8}'?( |$)$r$ AND target ~ $r$10\.0\.0\.6$r$)::text
					FROM depwatch.dependencies WHERE name = 'ledger_uri'$q$)$$,
				  ARRAY['true'],
				  'the password of a postgres URI is shown as ********');
SELECT results_eq($$SELECT * FROM pg_temp.run($q$
					SELECT count(*)::text FROM depwatch.dependencies d WHERE d::text ~ 'Sup3rS3cret'$q$)$$,
				  ARRAY['0'],
				  'no row of the view dependencies holds a raw secret');
SELECT results_eq($$SELECT * FROM pg_temp.run($q$
					SELECT (target ~ $r$sslpassword='?\*{8}'?( |$)$r$ AND target !~ 'TlsS3cret')::text
					FROM depwatch.dependencies WHERE name = 'ledger_tls'$q$)$$,
				  ARRAY['true'],
				  'the sslpassword of a postgres conninfo is shown as ********');
SELECT results_eq($$SELECT * FROM pg_temp.run('SELECT count(*)::text FROM depwatch.dependencies')$$,
				  ARRAY['5'],
				  'a reader sees every dependency in the view');

-- The table itself: the secret columns are closed, the others open
SELECT throws_ok('SELECT target FROM depwatch.dependency', '42501', 'permission denied for table dependency',
				 'a reader cannot read dependency.target');
SELECT throws_ok('SELECT options FROM depwatch.dependency', '42501', 'permission denied for table dependency',
				 'a reader cannot read dependency.options');
SELECT throws_ok('SELECT * FROM depwatch.dependency', '42501', 'permission denied for table dependency',
				 'a reader cannot SELECT * from dependency');
SELECT results_eq('SELECT name FROM depwatch.dependency ORDER BY name',
				  ARRAY['bureau', 'idv', 'ledger', 'ledger_tls', 'ledger_uri'],
				  'a reader can read the other columns of dependency');
SELECT lives_ok('SELECT * FROM depwatch.derive_outages(''bureau'')', 'a reader can call derive_outages()');
SELECT results_eq('SELECT ok FROM depwatch.verify_audit()', ARRAY[true], 'a reader can call verify_audit()');

-- No table can be written directly
SELECT throws_ok(format(CASE v WHEN 'INSERT' THEN 'INSERT INTO depwatch.%1$I DEFAULT VALUES'
							   WHEN 'UPDATE' THEN 'UPDATE depwatch.%1$I SET %2$I = %2$I WHERE false'
							   ELSE 'DELETE FROM depwatch.%1$I WHERE false' END, t, c.attname),
				 '42501', format('permission denied for table %s', t),
				 format('a reader cannot %s %s', v, t))
FROM unnest(ARRAY['dependency', 'capability', 'sample', 'sample_default', 'probe_state', 'outage',
				  'maintenance', 'incident', 'incident_dependency', 'audit_log', 'audit_head']) WITH ORDINALITY t(t, n)
CROSS JOIN unnest(ARRAY['INSERT', 'UPDATE', 'DELETE']) WITH ORDINALITY v(v, m)
CROSS JOIN LATERAL (SELECT a.attname FROM pg_attribute a
					WHERE a.attrelid = ('depwatch.' || t)::regclass AND a.attnum = 1) c
ORDER BY n, m;

-- Nor changed through the API
SELECT throws_ok(call, '42501', format('permission denied for function %s', fn),
				 format('a reader cannot call %s()', fn))
FROM (VALUES
	('record_outage', $$SELECT depwatch.record_outage('bureau', '2026-03-02 00:00', '2026-03-02 01:00')$$),
	('end_outage', $$SELECT depwatch.end_outage('bureau', '2026-03-02 00:00')$$),
	('report_sample', $$SELECT depwatch.report_sample('bureau', false, at => '2026-03-02 00:00')$$),
	('add_maintenance', $$SELECT depwatch.add_maintenance('bureau', '[2026-03-05, 2026-03-06)')$$),
	('open_incident', $$SELECT depwatch.open_incident('reader incident', '2026-03-01 09:00')$$),
	('close_incident', $$SELECT depwatch.close_incident(1, '2026-03-02 00:00')$$),
	('add_dependency', $$SELECT depwatch.add_dependency('reader_dep', 'other')$$),
	('alter_dependency', $$SELECT depwatch.alter_dependency('bureau', fail_after => 9)$$),
	('drop_dependency', $$SELECT depwatch.drop_dependency('bureau')$$),
	('add_capability', $$SELECT depwatch.add_capability('reader_cap', ARRAY['bureau'])$$),
	('bind_ledger', $$SELECT depwatch.bind_ledger('pg_catalog.pg_class')$$),
	('set_incident_facts', $$SELECT depwatch.set_incident_facts(1, '{"data_losses": true}')$$),
	('add_fee_policy', $$SELECT depwatch.add_fee_policy('reader_policy')$$),
	('set_fee_schedule', $$SELECT depwatch.set_fee_schedule('atm_fee', NULL, 1, '[2026-01-01,)')$$)) f(fn, call);
-- The economics reports are the reader's (there is no incident and no
-- ledger yet: they say so, instead of refusing the reader)
SELECT throws_ok('SELECT * FROM depwatch.impact(1)', '42704', 'incident 1 does not exist',
				 'a reader can call impact()');
SELECT throws_ok('SELECT * FROM depwatch.deposit_outflow(1)', '42704', 'incident 1 does not exist',
				 'a reader can call deposit_outflow()');
SELECT throws_ok($$SELECT * FROM depwatch.fee_waiver_cost('[2026-01-01, 2026-02-01)')$$, '55000',
				 'no transfers relation is bound', 'a reader can call fee_waiver_cost()');
RESET ROLE;

SELECT is((SELECT count(*) FROM depwatch.outage), 1::bigint, 'nothing the reader tried was written');

-- ---------------------------------------------------------------------------
-- depwatch_operator (16 + 2)
-- ---------------------------------------------------------------------------
INSERT INTO audit_mark SELECT max(id) FROM depwatch.audit_log;
SET ROLE depwatch_operator;

SELECT lives_ok($$SELECT depwatch.record_outage('ledger', '2026-03-01 10:00', '2026-03-01 11:00')$$,
				'an operator can record_outage()');
SELECT lives_ok($$SELECT depwatch.end_outage('bureau', '2026-03-01 12:00')$$,
				'an operator can end_outage()');
SELECT lives_ok($$SELECT depwatch.add_maintenance('bureau', '[2026-03-05 02:00, 2026-03-05 04:00)', 'patching')$$,
				'an operator can add_maintenance()');
SELECT lives_ok($$SELECT depwatch.open_incident('bureau overloaded', '2026-03-01 09:00', ARRAY['bureau'])$$,
				'an operator can open_incident()');
SELECT lives_ok(format('SELECT depwatch.close_incident(%s, %L)',
					   (SELECT max(id) FROM depwatch.incident), '2026-03-01 13:00'),
				'an operator can close_incident()');
SELECT lives_ok($$SELECT depwatch.report_sample('bureau', true, '20 ms', '2026-03-02 00:00')$$,
				'an operator can report_sample()');
SELECT lives_ok(format('SELECT depwatch.set_incident_facts(%s, %L)',
					   (SELECT max(id) FROM depwatch.incident), '{"critical_services_affected": true}'),
				'an operator can set_incident_facts()');
SELECT throws_ok(call, '42501', format('permission denied for function %s', fn),
				 format('an operator cannot call %s()', fn))
FROM (VALUES
	('add_dependency', $$SELECT depwatch.add_dependency('operator_dep', 'other')$$),
	('alter_dependency', $$SELECT depwatch.alter_dependency('bureau', fail_after => 9)$$),
	('drop_dependency', $$SELECT depwatch.drop_dependency('ledger_uri')$$),
	('add_capability', $$SELECT depwatch.add_capability('operator_cap', ARRAY['bureau'])$$),
	('bind_ledger', $$SELECT depwatch.bind_ledger('pg_catalog.pg_class')$$),
	('add_fee_policy', $$SELECT depwatch.add_fee_policy('operator_policy')$$),
	('set_fee_schedule', $$SELECT depwatch.set_fee_schedule('atm_fee', NULL, 1, '[2026-01-01,)')$$)) f(fn, call);
SELECT throws_ok('SELECT target FROM depwatch.dependency', '42501', 'permission denied for table dependency',
				 'an operator cannot read dependency.target either');
SELECT throws_ok($$INSERT INTO depwatch.outage (dependency_id, kind, during, source)
				   VALUES (1, 'down', tstzrange('2026-04-01', '2026-04-02'), 'manual')$$,
				 '42501', 'permission denied for table outage',
				 'an operator writes outages only through the API');
RESET ROLE;

SELECT results_eq($$SELECT actor, action, table_name FROM depwatch.audit_log
					WHERE id > (SELECT max(id) FROM audit_mark) ORDER BY id$$,
				  $$VALUES ('depwatch_operator', 'INSERT', 'outage'), ('depwatch_operator', 'UPDATE', 'outage'),
						   ('depwatch_operator', 'INSERT', 'maintenance'), ('depwatch_operator', 'INSERT', 'incident'),
						   ('depwatch_operator', 'INSERT', 'incident_dependency'),
						   ('depwatch_operator', 'UPDATE', 'incident'), ('depwatch_operator', 'UPDATE', 'incident')$$,
				  'the audit log names depwatch_operator, the role set with SET ROLE, as the actor of its changes');
SELECT is((SELECT count(*) FROM depwatch.sample s JOIN depwatch.dependency d ON d.id = s.dependency_id
		   WHERE d.name = 'bureau' AND s.at = '2026-03-02 00:00'),
		  1::bigint, 'the operator''s sample was stored');

-- ---------------------------------------------------------------------------
-- depwatch_admin (10 + 1)
-- ---------------------------------------------------------------------------
INSERT INTO audit_mark SELECT max(id) FROM depwatch.audit_log;
SET ROLE depwatch_admin;

SELECT lives_ok($$SELECT depwatch.add_dependency('bureau_b', 'credit_bureau', 'tcp', 'bureau-b.example.com:443', tracked_since => '1990-01-01 00:00+00')$$,
				'an admin can add_dependency()');
SELECT lives_ok($$SELECT depwatch.alter_dependency('bureau_b', fail_after => 5, vendor => 'acme')$$,
				'an admin can alter_dependency()');
SELECT lives_ok($$SELECT depwatch.add_capability('account_opening', ARRAY['bureau|bureau_b', 'idv'])$$,
				'an admin can add_capability()');
SELECT lives_ok($$SELECT depwatch.alter_capability('account_opening', slo => 99.95)$$,
				'an admin can alter_capability()');
SELECT lives_ok($$SELECT depwatch.add_dependency('scratch', 'other', 'http',
												 'http://bob:Sup3rS3cret-dropped@scratch.example.com/')$$,
				'an admin can add a dependency with a secret');
SELECT lives_ok($$SELECT depwatch.drop_dependency('scratch')$$, 'an admin can drop_dependency()');
SELECT lives_ok($$SELECT depwatch.record_outage('bureau_b', '2026-03-01 09:30', '2026-03-01 09:45')$$,
				'an admin can do what an operator can');
SELECT results_eq($$SELECT target FROM depwatch.dependency WHERE name = 'ledger'$$,
				  ARRAY['host=10.0.0.5 port=5432 user=monitor password=Sup3rS3cret-conninfo dbname=ledger'],
				  'an admin reads targets unmasked from the table');
SELECT results_eq($$SELECT * FROM pg_temp.run('SELECT target FROM depwatch.dependencies WHERE name = ''idv''')$$,
				  ARRAY['https://alice:********@idv.example.com:8443/health?check=********'],
				  'an admin sees targets masked through the view');
SELECT throws_ok($$UPDATE depwatch.dependency SET fail_after = 1$$, '42501', 'permission denied for table dependency',
				 'an admin writes dependencies only through the API');
RESET ROLE;

SELECT results_eq($$SELECT actor, action, table_name FROM depwatch.audit_log
					WHERE id > (SELECT max(id) FROM audit_mark) ORDER BY id$$,
				  $$VALUES ('depwatch_admin', 'INSERT', 'dependency'), ('depwatch_admin', 'UPDATE', 'dependency'),
						   ('depwatch_admin', 'INSERT', 'capability'), ('depwatch_admin', 'UPDATE', 'capability'),
						   ('depwatch_admin', 'INSERT', 'dependency'), ('depwatch_admin', 'DELETE', 'dependency'),
						   ('depwatch_admin', 'INSERT', 'outage')$$,
				  'the audit log names depwatch_admin as the actor of its changes');

-- ---------------------------------------------------------------------------
-- A login role, without SET ROLE, is its own actor (2)
-- ---------------------------------------------------------------------------
CREATE ROLE depwatch_tap_alice LOGIN IN ROLE depwatch_operator;
INSERT INTO audit_mark SELECT max(id) FROM depwatch.audit_log;
SET SESSION AUTHORIZATION depwatch_tap_alice;
SELECT lives_ok($$SELECT depwatch.record_outage('ledger_uri', '2026-03-03 08:00', '2026-03-03 08:05')$$,
				'a login member of depwatch_operator can record_outage()');
RESET SESSION AUTHORIZATION;
SELECT results_eq($$SELECT actor FROM depwatch.audit_log WHERE id > (SELECT max(id) FROM audit_mark)$$,
				  ARRAY['depwatch_tap_alice'],
				  'without SET ROLE the audit log names the session user');

-- ---------------------------------------------------------------------------
-- The audit log never holds a raw secret (4)
-- ---------------------------------------------------------------------------
SELECT is_empty($$SELECT id, table_name, action FROM depwatch.audit_log
				  WHERE coalesce(old::text, '') || coalesce(new::text, '') ~ 'Sup3rS3cret'$$,
				'no audit row holds a raw secret');
SELECT is_empty($$SELECT id, table_name, action FROM depwatch.audit_log
				  WHERE coalesce(old::text, '') || coalesce(new::text, '') ~ 'TlsS3cret'$$,
				'no audit row holds a raw sslpassword');
SELECT results_eq($$SELECT action, coalesce(new, old)->>'target' FROM depwatch.audit_log
					WHERE table_name = 'dependency' AND coalesce(new, old)->>'name' IN ('idv', 'scratch')
					ORDER BY id$$,
				  $$VALUES ('INSERT', 'https://alice:********@idv.example.com:8443/health?check=********'),
						   ('UPDATE', 'https://alice:********@idv.example.com:8443/health?check=********'),
						   ('INSERT', 'http://bob:********@scratch.example.com/'),
						   ('DELETE', 'http://bob:********@scratch.example.com/')$$,
				  'the audit log holds the targets of inserted, updated and deleted dependencies masked');
SELECT results_eq($$SELECT new->'options'->'headers' FROM depwatch.audit_log
					WHERE table_name = 'dependency' AND action = 'INSERT' AND new->>'name' = 'idv'$$,
				  $$VALUES ('{"X-Api-Key": "********", "Authorization": "********"}'::jsonb)$$,
				  'the audit log holds header values masked');

SELECT * FROM finish();
ROLLBACK;
