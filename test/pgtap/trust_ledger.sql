-- The ledger reports run with the rights of the role that runs them (SPEC
-- section 6): they are SECURITY INVOKER, a role that may not read the bound
-- ledger gets a clear refusal, a reader granted SELECT runs every report,
-- and a superuser does not run them over a schema a non-superuser owns.
-- test/integration/trust_ledger.sh swaps a view in while a report runs.
BEGIN;
SELECT plan(24);
SET client_min_messages = warning;

CREATE ROLE depwatch_tl_analyst IN ROLE depwatch_reader;
CREATE ROLE depwatch_tl_owner;
CREATE SCHEMA bank;
GRANT USAGE ON SCHEMA bank TO depwatch_tl_analyst;
CREATE TABLE bank.transfers (txn_id bigint, account_id bigint, customer_id text, occurred_at timestamptz,
							 amount numeric, fee numeric, fee_type text, capability text, status text,
							 external boolean);
INSERT INTO bank.transfers VALUES
	(1, 1, 'c1', '2026-03-01 09:30+00', -10, 300, 'transfer_fee', 'simple_transfer', 'posted', true),
	(2, 2, 'c2', '2026-03-01 09:40+00', -20, 0, 'transfer_fee', 'simple_transfer', 'failed', true);
CREATE TABLE bank.applications (application_id bigint, customer_id text, occurred_at timestamptz,
								status text, reason text);
CREATE TABLE bank.balances (account_id bigint, customer_id text, as_of timestamptz, balance numeric);
INSERT INTO bank.balances VALUES (1, 'c1', '2026-02-01', 1000), (2, 'c2', '2026-02-01', 500);
CREATE TABLE bank.accounts (account_id bigint, customer_id text, opened_at timestamptz, closed_at timestamptz);
SELECT depwatch.add_dependency('msg', 'messaging', tracked_since => '1990-01-01 00:00+00');
SELECT depwatch.add_capability('simple_transfer', ARRAY['msg']);
SELECT depwatch.record_outage('msg', '2026-03-01 09:00+00', '2026-03-01 10:00+00');
SELECT depwatch.open_incident('fire', '2026-03-01 09:00+00', ARRAY['msg']);
SELECT depwatch.close_incident((SELECT max(id) FROM depwatch.incident), '2026-03-01 10:00+00');
SELECT depwatch.add_fee_policy('fire_waiver', ARRAY['transfer_fee']);
SELECT depwatch.set_fee_schedule('transfer_fee', NULL, 500, tstzrange('2026-01-01', NULL));
SELECT depwatch.bind_ledger('bank.transfers', 'bank.applications', 'bank.balances', 'bank.accounts');
CREATE TEMP TABLE reports (call text);
INSERT INTO reports VALUES
	('SELECT * FROM depwatch.impact(%s)'),
	('SELECT * FROM depwatch.fee_waiver(%s, ''fire_waiver'')'),
	('SELECT * FROM depwatch.fee_waiver_summary(%s, ''fire_waiver'')'),
	('SELECT * FROM depwatch.fee_waiver_cost(''[2026-03-01, 2026-03-02)'')'),
	('SELECT * FROM depwatch.deposit_outflow(%s)'),
	('SELECT * FROM depwatch.deposit_outflow_summary(%s)'),
	('SELECT * FROM depwatch.classify_incident(%s)'),
	('SELECT depwatch.incident_report(%s)');
UPDATE reports SET call = format(call, (SELECT max(id) FROM depwatch.incident));
GRANT SELECT ON reports TO depwatch_tl_analyst;

-- the reports run with their caller's rights (1)
SELECT is_empty($$SELECT p.oid::regprocedure FROM pg_proc p
				  WHERE p.pronamespace IN ('depwatch'::regnamespace, 'depwatch_internal'::regnamespace) AND p.prosecdef
					AND p.proname IN ('impact', 'fee_waiver', 'fee_waiver_summary', 'fee_waiver_cost',
									  'deposit_outflow', 'deposit_outflow_summary', 'classify_incident',
									  'incident_report')$$,
				'the ledger reports are SECURITY INVOKER');

-- a reader the bank did not let read its ledger is refused by each (8)
SET ROLE depwatch_tl_analyst;
SELECT throws_ok(r.call, '42501', NULL, 'without SELECT on the ledger: ' || r.call) FROM reports r;
SELECT throws_ok('SELECT * FROM depwatch.impact((SELECT max(id) FROM depwatch.incident))', '42501',
				 'depwatch_tl_analyst may not read bank.transfers, the bound transfers relation',
				 'the refusal names the role and the relation');
RESET ROLE;

-- with SELECT on it, the reader runs each report (8)
GRANT SELECT ON ALL TABLES IN SCHEMA bank TO depwatch_tl_analyst;
SET ROLE depwatch_tl_analyst;
SELECT lives_ok(r.call, 'a reader with SELECT on the ledger: ' || r.call) FROM reports r;
SELECT is((SELECT attempted FROM depwatch.impact((SELECT max(id) FROM depwatch.incident))), 2::bigint,
		  'the reader''s impact reads the ledger');
RESET ROLE;

-- a superuser and a ledger in a schema of a role who is not one (2)
ALTER SCHEMA bank OWNER TO depwatch_tl_owner;
SELECT throws_ok('SELECT * FROM depwatch.impact((SELECT max(id) FROM depwatch.incident))', '42501',
				 'a superuser does not run ledger reports over bank.transfers: its schema belongs to depwatch_tl_owner, who is not a superuser',
				 'a superuser does not run a report over a schema a non-superuser owns');
SET ROLE depwatch_tl_analyst;
SELECT lives_ok('SELECT * FROM depwatch.impact((SELECT max(id) FROM depwatch.incident))',
				'a reader still runs it, with the reader''s rights');
RESET ROLE;

-- schema public belongs to pg_database_owner, which acts for the
-- database's owner: a superuser here (1)
CREATE TABLE public.tl_transfers AS SELECT * FROM bank.transfers;
SELECT depwatch.bind_ledger('public.tl_transfers');
SELECT lives_ok('SELECT * FROM depwatch.impact((SELECT max(id) FROM depwatch.incident))',
				'a superuser runs a report over schema public of a database a superuser owns');

-- the lock helper is no way around privileges (2)
CREATE TABLE bank.salaries (amount numeric);
SET ROLE depwatch_tl_analyst;
SELECT throws_ok($$SELECT depwatch_internal._pin_relation('bank.salaries')$$, '42501', NULL,
				 '_pin_relation refuses a relation the caller may not read');
SELECT is_empty($$SELECT FROM pg_locks WHERE relation = 'bank.salaries'::regclass AND pid = pg_backend_pid() AND mode = 'AccessShareLock'$$,
				'and takes no lock on it');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
