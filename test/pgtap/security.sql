-- security.sql: what privileges.sql (each role's grants, masking, the audit
-- actor) leaves out: that the grants hold for every object, new ones
-- included, and that they cannot be got round.  A reader can change
-- nothing and reads no secret through any report; no function a reader
-- may call can write; an operator cannot reach the configuration; an admin
-- who is not a superuser cannot make the probe worker or the economics
-- reports run SQL of their choosing with depwatch's rights; and functions
-- or operators planted earlier on search_path (in a schema of the
-- caller's) never reach depwatch's functions.
BEGIN;
SET TimeZone = 'UTC';
SELECT plan(45);

-- run(query) returns the rows of a one-column query as text, or the error
-- it raised as one row 'ERROR sqlstate: message'.
CREATE FUNCTION pg_temp.run(query text) RETURNS SETOF text
LANGUAGE plpgsql AS $$
BEGIN
	RETURN QUERY EXECUTE query;
EXCEPTION WHEN OTHERS THEN
	RETURN NEXT format('ERROR %s: %s', SQLSTATE, SQLERRM);
END
$$;

-- The attacker: a login role that is an admin (so an operator and a reader
-- too) but no superuser, with a schema of its own, as it would have public
-- where CREATE on public is granted.
CREATE ROLE depwatch_sec_mallory LOGIN IN ROLE depwatch_admin;
CREATE ROLE depwatch_sec_rita LOGIN IN ROLE depwatch_reader;
CREATE SCHEMA mallory AUTHORIZATION depwatch_sec_mallory;

-- Secrets, spelled S3cret-..., in every place depwatch keeps them.
DO $$
BEGIN
	PERFORM depwatch.add_dependency('idv', 'identity', 'http',
		'https://alice:S3cret-url@idv.example.com/health',
		options => '{"headers": {"Authorization": "Bearer S3cret-header"}}', tracked_since => '1990-01-01 00:00+00');
	PERFORM depwatch.add_dependency('ledger', 'core', 'postgres',
		'host=10.0.0.5 user=monitor password=S3cret-conninfo sslpassword=S3cret-key dbname=ledger',
		options => '{"query": "SELECT count(*) > 0 FROM accounts"}', tracked_since => '1990-01-01 00:00+00');
	PERFORM depwatch.add_dependency('bureau', 'credit_bureau', 'none', site => 'dc_a', vendor => 'acme', tracked_since => '1990-01-01 00:00+00');
	PERFORM depwatch.add_capability('account_opening', ARRAY['bureau|ledger', 'idv']);
	PERFORM depwatch.record_outage('bureau', '2026-03-01 09:00', '2026-03-01 10:00', note => 'overloaded');
	PERFORM depwatch.record_outage('idv', '2026-03-01 09:30', '2026-03-01 09:40');
	PERFORM depwatch.open_incident('bureau overloaded', '2026-03-01 09:00');
	PERFORM depwatch.close_incident(1, '2026-03-01 11:00');
END
$$;

-- ---------------------------------------------------------------------------
-- A reader changes nothing (6)
-- ---------------------------------------------------------------------------
SELECT is_empty($$SELECT c.oid::regclass, p.p FROM pg_class c
				  CROSS JOIN unnest(ARRAY['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']) p(p)
				  WHERE c.relnamespace IN ('depwatch'::regnamespace, 'depwatch_internal'::regnamespace) AND c.relkind IN ('r', 'p', 'v')
					AND (has_table_privilege('depwatch_reader', c.oid, p.p)
						 OR (p.p IN ('INSERT', 'UPDATE', 'REFERENCES')
							 AND has_any_column_privilege('depwatch_reader', c.oid, p.p)))$$,
				'a reader holds no write privilege on any table or view of depwatch, later ones included');
SELECT is_empty($$SELECT c.oid::regclass FROM pg_class c
				  WHERE c.relnamespace IN ('depwatch'::regnamespace, 'depwatch_internal'::regnamespace) AND c.relkind = 'S'
					AND CASE WHEN c.relkind = 'S' THEN has_sequence_privilege('depwatch_reader', c.oid, 'USAGE, UPDATE') END$$,
				'a reader cannot advance or set any sequence of depwatch');
SELECT is_empty($$SELECT r FROM unnest(ARRAY['depwatch_reader', 'depwatch_operator', 'depwatch_admin']) r
				  WHERE has_schema_privilege(r, 'depwatch', 'CREATE')$$,
				'no depwatch role may create objects in schema depwatch');
-- every function a reader may call is STABLE or IMMUTABLE (PostgreSQL then
-- refuses any write inside a SQL or PL/pgSQL one), but the C function that
-- reads the workers' shared memory
SELECT is_empty($$SELECT p.oid::regprocedure FROM pg_proc p
				  WHERE p.pronamespace IN ('depwatch'::regnamespace, 'depwatch_internal'::regnamespace)
					AND has_function_privilege('depwatch_reader', p.oid, 'EXECUTE')
					AND p.provolatile = 'v' AND p.oid <> 'depwatch_internal._worker_status()'::regprocedure$$,
				'every function a reader may call is STABLE or IMMUTABLE');
-- and the C ones among them are the known read-only ones
SELECT is_empty($$SELECT p.proname FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
				  WHERE p.pronamespace IN ('depwatch'::regnamespace, 'depwatch_internal'::regnamespace) AND l.lanname = 'c'
					AND has_function_privilege('depwatch_reader', p.oid, 'EXECUTE')
					AND p.proname NOT IN ('_worker_status', 'parse_requirements', '_mask_probe_target',
										  'derive_outages', 'availability', 'capability_outages',
										  'state_timeline', 'timeline_svg', '_vantage',
										  'consensus_timeline', 'vantage_availability',
										  '_check_period', '_pin_relation', '_no_worker_reason',
										  '_scenario_baseline')$$,
				'the C functions a reader may call are the known read-only ones');
SET SESSION AUTHORIZATION depwatch_sec_rita;
SELECT results_eq($$SELECT * FROM pg_temp.run('SELECT set_config(''role'', ''depwatch_admin'', false)')$$,
				  ARRAY['ERROR 42501: permission denied to set role "depwatch_admin"'],
				  'a reader cannot make itself an admin, nor pass for one in the audit log');
RESET SESSION AUTHORIZATION;

-- ---------------------------------------------------------------------------
-- A reader reads no secret, through any report (3)
-- ---------------------------------------------------------------------------
SET ROLE depwatch_reader;
CREATE TEMP TABLE reader_saw AS
SELECT 'metrics' AS what, depwatch.metrics() AS t
UNION ALL SELECT 'timeline_svg', depwatch.timeline_svg('[2026-03-01, 2026-03-02)')
UNION ALL SELECT 'incident_report', depwatch.incident_report(1)::text
UNION ALL SELECT 'incident_timeline', (SELECT string_agg(x::text, '|') FROM depwatch.incident_timeline(1) x)
UNION ALL SELECT 'classify_incident', (SELECT string_agg(x::text, '|') FROM depwatch.classify_incident(1) x)
UNION ALL SELECT 'availability', (SELECT string_agg(x::text, '|') FROM depwatch.availability('[2026-03-01, 2026-03-02)') x)
UNION ALL SELECT 'state_timeline', (SELECT string_agg(x::text, '|') FROM depwatch.state_timeline('[2026-03-01, 2026-03-02)') x)
UNION ALL SELECT 'current_status', (SELECT string_agg(x::text, '|') FROM depwatch.current_status() x)
UNION ALL SELECT 'redundancy_risks', (SELECT string_agg(x::text, '|') FROM depwatch.redundancy_risks() x)
UNION ALL SELECT 'concentration', (SELECT string_agg(x::text, '|') FROM depwatch.concentration('[2026-03-01, 2026-03-02)') x)
UNION ALL SELECT 'scenario', (SELECT string_agg(x::text, '|') FROM depwatch.scenario(ARRAY['ledger'], '2026-03-01', '1 hour') x)
UNION ALL SELECT 'resilience_report', depwatch.resilience_report('[2026-03-01, 2026-03-02)')::text
UNION ALL SELECT 'derive_outages', (SELECT string_agg(x::text, '|') FROM depwatch.derive_outages('ledger') x)
UNION ALL SELECT 'dependencies', (SELECT string_agg(x::text, '|') FROM depwatch.dependencies x)
UNION ALL SELECT 'requirements', (SELECT string_agg(x::text, '|') FROM depwatch.requirements x)
UNION ALL SELECT 'outages', (SELECT string_agg(x::text, '|') FROM depwatch.outages x)
UNION ALL SELECT 'status', (SELECT string_agg(x::text, '|') FROM depwatch.status x)
UNION ALL SELECT 'audit_log', (SELECT string_agg(x::text, '|') FROM depwatch.audit_log x);
RESET ROLE;
SELECT is((SELECT count(*) FROM reader_saw), 18::bigint, 'a reader ran 18 reports and views');
SELECT is_empty($$SELECT what FROM reader_saw WHERE t ~ 'S3cret'$$,
				'no report or view a reader may use shows a password, a header or an sslpassword');
SET ROLE depwatch_reader;
SELECT results_eq($$SELECT * FROM pg_temp.run('SELECT current_setting(''depwatch.databases'')')$$,
				  ARRAY['ERROR 42501: must be superuser or have privileges of pg_read_all_settings to examine "depwatch.databases"'],
				  'a reader cannot read the superuser-only settings');
RESET ROLE;

-- ---------------------------------------------------------------------------
-- SECURITY DEFINER functions give a reader nothing to escalate with (4)
-- ---------------------------------------------------------------------------
SELECT is_empty($$SELECT p.oid::regprocedure FROM pg_proc p
				  WHERE p.pronamespace IN ('depwatch'::regnamespace, 'depwatch_internal'::regnamespace) AND p.prosecdef
					AND NOT (SELECT r.rolsuper FROM pg_roles r WHERE r.oid = p.proowner)$$,
				'every SECURITY DEFINER function belongs to a superuser (the extension''s owner)');
SELECT is_empty($$SELECT p.oid::regprocedure, a.grantee::regrole FROM pg_proc p,
					   aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
				  WHERE p.pronamespace IN ('depwatch'::regnamespace, 'depwatch_internal'::regnamespace) AND a.grantee <> p.proowner
					AND (a.is_grantable
						 OR a.grantee NOT IN ('depwatch_reader'::regrole, 'depwatch_operator'::regrole,
											  'depwatch_admin'::regrole))$$,
				'EXECUTE on depwatch''s functions goes only to its roles, none of whom may pass it on');
SET ROLE depwatch_reader;
SELECT throws_ok('SELECT depwatch_internal._audit_append()', '42501', NULL,
				 'a reader cannot call the audit trigger function');
SELECT throws_ok($$SELECT depwatch_internal._check_options('none', '{}')$$, '42501', NULL,
				 'a reader cannot call the internal helpers');
RESET ROLE;

-- ---------------------------------------------------------------------------
-- An operator cannot reach the configuration (3)
-- ---------------------------------------------------------------------------
SELECT is_empty($$SELECT p.oid::regprocedure FROM pg_proc p
				  WHERE p.pronamespace IN ('depwatch'::regnamespace, 'depwatch_internal'::regnamespace)
					AND p.prosrc ~* '(insert\s+into|update|delete\s+from)\s+depwatch\.dependency\M'
					AND has_function_privilege('depwatch_operator', p.oid, 'EXECUTE')$$,
				'no function an operator may call writes depwatch.dependency');
SELECT ok(NOT has_any_column_privilege('depwatch_operator', 'depwatch.dependency', 'INSERT')
		  AND NOT has_any_column_privilege('depwatch_operator', 'depwatch.dependency', 'UPDATE'),
		  'an operator cannot write any column of depwatch.dependency');
SET ROLE depwatch_operator;
SELECT throws_ok($$SELECT depwatch.add_dependency('evil', 'core', 'postgres', 'host=/var/run/postgresql user=postgres')$$,
				 '42501', NULL, 'an operator cannot add a postgres probe');
RESET ROLE;

-- ---------------------------------------------------------------------------
-- An admin who is no superuser cannot have the worker run SQL of their
-- choosing: the query of a postgres probe runs with whatever rights the
-- connection gets, perhaps a superuser's through peer or trust (7)
-- ---------------------------------------------------------------------------
SET SESSION AUTHORIZATION depwatch_sec_mallory;
SELECT throws_ok($$SELECT depwatch.add_dependency('evil', 'core', 'postgres', 'host=/var/run/postgresql user=postgres',
												  options => '{"query": "ALTER ROLE depwatch_sec_mallory SUPERUSER"}')$$,
				 '42501', 'only a superuser may set the query of a postgres probe, or change its target',
				 'an admin cannot add a postgres probe with a query');
SELECT throws_ok($$SELECT depwatch.alter_dependency('ledger', options => '{"query": "COPY (SELECT 1) TO PROGRAM ''id''"}')$$,
				 '42501', NULL, 'an admin cannot change the query of a postgres probe');
SELECT throws_ok($$SELECT depwatch.alter_dependency('ledger', target => 'host=/var/run/postgresql user=postgres')$$,
				 '42501', NULL, 'an admin cannot point a superuser''s query at another server');
SELECT lives_ok($$SELECT depwatch.alter_dependency('ledger', every => '30 s', enabled => false)$$,
				'an admin can still change the other settings of a probe with a query');
SELECT lives_ok($$SELECT depwatch.add_dependency('ledger2', 'core', 'postgres', 'host=10.0.0.6 user=monitor')$$,
				'an admin can add a postgres probe without a query (it runs SELECT 1)');
RESET SESSION AUTHORIZATION;
SELECT lives_ok($$SELECT depwatch.alter_dependency('ledger2', options => '{"query": "SELECT true"}')$$,
				'a superuser can set the query');
SELECT ok(NOT (SELECT rolsuper FROM pg_roles WHERE rolname = 'depwatch_sec_mallory'), 'the admin is no superuser');

-- ---------------------------------------------------------------------------
-- ... nor have the economics reports run their functions with depwatch's
-- rights through a bound view, a foreign child table, or a cast of a type
-- of theirs (9)
-- ---------------------------------------------------------------------------
CREATE SCHEMA bank;
CREATE TABLE bank.transfers (txn_id bigint, account_id bigint, customer_id text, occurred_at timestamptz,
							 amount numeric, fee numeric, fee_type text, capability text, status text,
							 external boolean);
-- a transfer inside the incident, so that reading the ledger evaluates every column
INSERT INTO bank.transfers VALUES (1, 1, 'c1', '2026-03-01 09:35', -10, 0, 'atm', 'account_opening', 'posted', false);
CREATE VIEW bank.transfers_v AS SELECT * FROM bank.transfers;
GRANT USAGE, CREATE ON SCHEMA bank TO depwatch_sec_mallory;
GRANT SELECT ON ALL TABLES IN SCHEMA bank TO depwatch_sec_mallory;
CREATE TEMP TABLE pwned (by_whom text);
GRANT ALL ON pwned TO PUBLIC;

SET SESSION AUTHORIZATION depwatch_sec_mallory;
CREATE FUNCTION mallory.evil() RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO pg_temp.pwned VALUES (current_user);
	BEGIN
		EXECUTE 'ALTER ROLE depwatch_sec_mallory SUPERUSER';
	EXCEPTION WHEN insufficient_privilege THEN
		NULL;
	END;
	RETURN 'posted';
END
$$;
CREATE VIEW mallory.transfers AS
	SELECT txn_id, account_id, customer_id, occurred_at, amount, fee, fee_type, capability,
		   mallory.evil() AS status, external
	FROM bank.transfers;
SELECT throws_ok($$SELECT depwatch.bind_ledger('mallory.transfers')$$, '42501',
				 'mallory.transfers cannot be bound as transfers: it is, or holds, a view or foreign table of a role who is not a superuser: mallory.transfers (owned by depwatch_sec_mallory)',
				 'an admin cannot bind a view of their own');
-- a table of the admin's whose customer_id has a type of the admin's, with
-- a cast to text of the admin's: the reports cast ids to text
CREATE TYPE mallory.cid AS ENUM ('c1');
CREATE FUNCTION mallory.cid_text(mallory.cid) RETURNS text LANGUAGE sql AS $$ SELECT mallory.evil() $$;
CREATE CAST (mallory.cid AS text) WITH FUNCTION mallory.cid_text(mallory.cid);
CREATE TABLE mallory.typed (txn_id bigint, account_id bigint, customer_id mallory.cid, occurred_at timestamptz,
							amount numeric, fee numeric, fee_type text, capability text, status text,
							external boolean);
INSERT INTO mallory.typed VALUES (1, 1, 'c1', '2026-03-01 09:35', -10, 0, 'atm', 'account_opening', 'failed', false);
SELECT throws_ok($$SELECT depwatch.bind_ledger('mallory.typed')$$, '42501', NULL,
				 'an admin cannot bind a table whose ids have a type (and a cast) of their own');
-- a table of the admin's with a foreign table as a child: reading the
-- table reads the child through its wrapper, with depwatch's user mapping
CREATE TABLE mallory.parent AS SELECT * FROM bank.transfers WITH NO DATA;
RESET SESSION AUTHORIZATION;
CREATE EXTENSION file_fdw;
CREATE SERVER sec_files FOREIGN DATA WRAPPER file_fdw;
CREATE FOREIGN TABLE mallory.child () INHERITS (mallory.parent) SERVER sec_files OPTIONS (filename '/dev/null');
ALTER FOREIGN TABLE mallory.child OWNER TO depwatch_sec_mallory;
SET SESSION AUTHORIZATION depwatch_sec_mallory;
SELECT throws_ok($$SELECT depwatch.bind_ledger('mallory.parent')$$, '42501',
				 'mallory.parent cannot be bound as transfers: it is, or holds, a view or foreign table of a role who is not a superuser: mallory.child (owned by depwatch_sec_mallory)',
				 'an admin cannot bind a table of their own with a foreign table of theirs as a child');
CREATE TABLE mallory.plain AS SELECT * FROM bank.transfers;
SELECT lives_ok($$SELECT depwatch.bind_ledger('mallory.plain')$$,
				'an admin can bind a table of their own (reading it runs no code of theirs)');
RESET SESSION AUTHORIZATION;

-- a superuser's view, bound, then handed to the admin and replaced
SELECT lives_ok($$SELECT depwatch.bind_ledger('bank.transfers_v')$$, 'a superuser''s view can be bound');
ALTER VIEW bank.transfers_v OWNER TO depwatch_sec_mallory;
SET SESSION AUTHORIZATION depwatch_sec_mallory;
CREATE OR REPLACE VIEW bank.transfers_v AS
	SELECT txn_id, account_id, customer_id, occurred_at, amount, fee, fee_type, capability,
		   mallory.evil() AS status, external
	FROM bank.transfers;
SELECT throws_ok('SELECT * FROM depwatch.impact(1)', '42501', NULL,
				 'a bound view that changed hands is refused when a report reads it');
RESET SESSION AUTHORIZATION;
SET ROLE depwatch_reader;
SELECT throws_ok('SELECT * FROM depwatch.fee_waiver_cost(''[2026-03-01, 2026-03-02)'')', '42501', NULL,
				 'also when a reader runs the report');
RESET ROLE;
SELECT is_empty('SELECT * FROM pg_temp.pwned', 'the admin''s function never ran inside depwatch');
SELECT ok(NOT (SELECT rolsuper FROM pg_roles WHERE rolname = 'depwatch_sec_mallory'), 'the admin is still no superuser');

-- ---------------------------------------------------------------------------
-- search_path (14)
-- ---------------------------------------------------------------------------
-- schema.sql checks that SECURITY DEFINER functions start their path with
-- pg_catalog and end it with pg_temp; here: every SQL and PL/pgSQL function
-- pins it (or binds its names when it is created), to nothing but
-- depwatch's own schemas, and no one could have planted an object in
-- depwatch or depwatch_internal.
CREATE FUNCTION pg_temp.search_path_of(config text[]) RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
	SELECT regexp_split_to_array(regexp_replace(substr(c, 13), '[\s"]', '', 'g'), ',')
	FROM unnest(config) c WHERE c LIKE 'search_path=%'
$$;
SELECT is_empty($$SELECT p.oid::regprocedure FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
				  WHERE p.pronamespace IN ('depwatch'::regnamespace, 'depwatch_internal'::regnamespace) AND l.lanname IN ('sql', 'plpgsql')
					AND pg_temp.search_path_of(p.proconfig) IS NULL
					-- a body in SQL-standard form (RETURN ..., BEGIN ATOMIC) binds
					-- every name when it is created: no path is searched when it runs
					AND p.prosqlbody IS NULL$$,
				'every SQL and PL/pgSQL function of depwatch pins search_path, or binds its names at creation');
SELECT is_empty($$SELECT p.oid::regprocedure, p.proconfig FROM pg_proc p
				  WHERE p.pronamespace IN ('depwatch'::regnamespace, 'depwatch_internal'::regnamespace)
					AND NOT pg_temp.search_path_of(p.proconfig) <@ ARRAY['pg_catalog', 'depwatch', 'pg_temp']$$,
				'no pinned search_path names public, "$user" or any schema but pg_catalog, depwatch and pg_temp');
SELECT is_empty($$SELECT p.oid::regprocedure, p.proconfig FROM pg_proc p
				  WHERE p.pronamespace IN ('depwatch'::regnamespace, 'depwatch_internal'::regnamespace) AND p.prosecdef
					AND pg_temp.search_path_of(p.proconfig) NOT IN (ARRAY['pg_catalog', 'depwatch', 'pg_temp'],
																	ARRAY['pg_catalog', 'pg_temp'])$$,
				'every SECURITY DEFINER function runs with exactly pg_catalog, depwatch, pg_temp');
-- the functions that pin nothing are C or SQL-standard bodies (the shared
-- rules of src/sql/12-rules.sql, whose names are bound at creation), and
-- the C ones a depwatch role may call run no SQL
SELECT is_empty($$SELECT p.oid::regprocedure FROM pg_proc p
				  WHERE p.pronamespace IN ('depwatch'::regnamespace, 'depwatch_internal'::regnamespace) AND p.proconfig IS NULL
					AND p.prosqlbody IS NULL
					AND (has_function_privilege('depwatch_reader', p.oid, 'EXECUTE')
						 OR has_function_privilege('depwatch_admin', p.oid, 'EXECUTE'))
					AND p.proname NOT IN ('_worker_status', 'parse_requirements', '_mask_probe_target', '_vantage',
										  '_check_period', '_pin_relation', '_no_worker_reason',
										  '_scenario_baseline')$$,
				'the functions that do not pin search_path and that depwatch''s roles may call run no SQL');
SELECT is_empty($$SELECT c.oid, c.classid::regclass FROM pg_depend d
				  RIGHT JOIN (SELECT 'pg_proc'::regclass AS classid, p.oid FROM pg_proc p
							  WHERE p.pronamespace IN ('depwatch'::regnamespace, 'depwatch_internal'::regnamespace)
							  UNION ALL SELECT 'pg_class'::regclass, r.oid FROM pg_class r
							  WHERE r.relnamespace IN ('depwatch'::regnamespace, 'depwatch_internal'::regnamespace)
								AND r.relkind IN ('r', 'p', 'v', 'S', 'm', 'f')
								AND r.relname !~ '^sample_[0-9]{8}$'
							  UNION ALL SELECT 'pg_operator'::regclass, o.oid FROM pg_operator o
							  WHERE o.oprnamespace IN ('depwatch'::regnamespace, 'depwatch_internal'::regnamespace)) c
					 ON d.classid = c.classid AND d.objid = c.oid AND d.deptype = 'e'
				  WHERE d.objid IS NULL$$,
				'every function, operator, table and view in schema depwatch is the extension''s own (sample partitions aside)');

-- A concrete attack.  The attacker plants, in a schema of its own put
-- before pg_catalog on its search_path (as public would be, where CREATE
-- on public is granted), functions and an operator with the exact
-- signatures that open_incident() and record_outage() use unqualified:
-- btrim(text), isfinite(timestamptz) and = (text, text).  Each notes who
-- ran it, and tries to make the attacker a superuser.  Pinned search_paths
-- must keep every one of them out.  (pg_temp needs no test of its own:
-- PostgreSQL never looks there for functions or operators, and depwatch
-- lists it last, after its own tables.)
CREATE TEMP TABLE trojan_calls (fn text, by_whom text);
GRANT ALL ON trojan_calls TO PUBLIC;
SET SESSION AUTHORIZATION depwatch_sec_mallory;
CREATE FUNCTION mallory.trojan(fn text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO pg_temp.trojan_calls VALUES (fn, current_user);
	BEGIN
		EXECUTE 'ALTER ROLE depwatch_sec_mallory SUPERUSER';
	EXCEPTION WHEN insufficient_privilege THEN
		NULL;
	END;
END
$$;
CREATE FUNCTION mallory.btrim(t text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	PERFORM mallory.trojan('btrim');
	RETURN pg_catalog.btrim(t);
END
$$;
CREATE FUNCTION mallory.isfinite(t timestamptz) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	PERFORM mallory.trojan('isfinite');
	RETURN pg_catalog.isfinite(t);
END
$$;
CREATE FUNCTION mallory.text_eq(a text, b text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	PERFORM mallory.trojan('=');
	RETURN pg_catalog.texteq(a, b);
END
$$;
CREATE OPERATOR mallory.= (LEFTARG = text, RIGHTARG = text, FUNCTION = mallory.text_eq);
-- the trap works: called with this path, the caller's own code takes it
SET search_path = mallory, pg_catalog, depwatch;
DO $$ BEGIN PERFORM btrim('x') = '', isfinite(now()); END $$;
RESET search_path;
SELECT results_eq($$SELECT fn || ' ' || by_whom FROM pg_temp.trojan_calls ORDER BY 1$$,
				  ARRAY['= depwatch_sec_mallory', 'btrim depwatch_sec_mallory', 'isfinite depwatch_sec_mallory'],
				  'the planted functions and operator shadow pg_catalog''s on the attacker''s path');
DELETE FROM pg_temp.trojan_calls;
-- depwatch's functions, called with the same path
SET search_path = mallory, pg_catalog, depwatch;
DO $$
BEGIN
	PERFORM depwatch.open_incident('trojan', '2026-03-02 09:00');
	PERFORM depwatch.record_outage('bureau', '2026-03-02 09:00', '2026-03-02 09:30', note => 'trojan');
	PERFORM depwatch.set_incident_facts(2, '{"data_losses": false}');
	PERFORM depwatch.add_maintenance('idv', '[2026-03-05, 2026-03-06)', 'trojan');
	PERFORM depwatch.add_dependency('trojan_dep', 'other', tracked_since => '1990-01-01 00:00+00');
	PERFORM count(*) FROM depwatch.availability('[2026-03-01, 2026-03-03)');
	PERFORM depwatch.metrics();
END
$$;
RESET search_path;
RESET SESSION AUTHORIZATION;
SELECT is_empty('SELECT * FROM pg_temp.trojan_calls',
				'no planted function or operator ran inside depwatch''s functions');
SELECT ok(NOT (SELECT rolsuper FROM pg_roles WHERE rolname = 'depwatch_sec_mallory'),
		  'the attacker did not become a superuser');
SELECT results_eq($$SELECT actor || ' ' || action || ' ' || table_name FROM depwatch.audit_log
					WHERE coalesce(new, old)::text ~ 'trojan' ORDER BY id$$,
				  ARRAY['depwatch_sec_mallory INSERT incident', 'depwatch_sec_mallory INSERT outage',
						'depwatch_sec_mallory UPDATE incident', 'depwatch_sec_mallory INSERT maintenance',
						'depwatch_sec_mallory INSERT dependency'],
				  'the changes were made, and logged under the attacker''s own name');
SELECT is((SELECT ok FROM depwatch.verify_audit()), true, 'the audit chain is intact');

-- The control: the same attack on a copy of open_incident() that does not
-- pin search_path reaches the trojans, which then run as its owner, a
-- superuser.  (Undone at once.)
SAVEPOINT unpinned;
ALTER FUNCTION depwatch.open_incident(text, timestamptz, text[]) RESET search_path;
SET SESSION AUTHORIZATION depwatch_sec_mallory;
SET search_path = mallory, pg_catalog, depwatch;
DO $$ BEGIN PERFORM depwatch.open_incident('control', '2026-03-03 09:00'); END $$;
RESET search_path;
RESET SESSION AUTHORIZATION;
SELECT string_agg(DISTINCT fn || ' ' || by_whom, ', ' ORDER BY fn || ' ' || by_whom) AS control_calls,
	   (SELECT rolsuper FROM pg_roles WHERE rolname = 'depwatch_sec_mallory') AS control_super
FROM pg_temp.trojan_calls \gset
ROLLBACK TO SAVEPOINT unpinned;
SELECT is(:'control_calls'::text, '= postgres, btrim postgres',
		  'without a pinned search_path the trojans would run inside depwatch, as the superuser that owns it');
SELECT is(:'control_super'::text, 't', '... and the attacker would have become a superuser');
SELECT ok(NOT (SELECT rolsuper FROM pg_roles WHERE rolname = 'depwatch_sec_mallory')
		  AND (SELECT pg_temp.search_path_of(proconfig) FROM pg_proc
			   WHERE oid = 'depwatch.open_incident(text, timestamptz, text[])'::regprocedure)
			  = ARRAY['pg_catalog', 'depwatch', 'pg_temp'],
		  'the control was undone');

SELECT * FROM finish();
ROLLBACK;
