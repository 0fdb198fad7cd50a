-- Redress and privileges (SPEC sections 6 and 9): redress() and
-- redress_summary() read the ledger with the rights of the role that runs
-- them, so a reader runs them exactly when the bank lets it read the
-- ledger; only depwatch_admin adds a redress policy.
BEGIN;
SELECT plan(14);
SET client_min_messages = warning;

CREATE ROLE depwatch_rd_analyst IN ROLE depwatch_reader;
CREATE ROLE depwatch_rd_operator IN ROLE depwatch_operator;
CREATE ROLE depwatch_rd_admin IN ROLE depwatch_admin;
CREATE ROLE depwatch_rd_nobody;
CREATE SCHEMA bank;
GRANT USAGE ON SCHEMA bank TO depwatch_rd_analyst, depwatch_rd_nobody;
CREATE TABLE bank.transfers (txn_id bigint, account_id bigint, customer_id text, occurred_at timestamptz,
							 amount numeric, fee numeric, fee_type text, capability text, status text,
							 external boolean);
INSERT INTO bank.transfers VALUES
	(1, 1, 'c1', '2026-03-01 09:30+00', -10, 0, NULL, 'simple_transfer', 'failed', true),
	(2, 2, 'c2', '2026-03-01 09:40+00', -20, 0, NULL, 'simple_transfer', 'failed', true);
SELECT depwatch.add_dependency('msg', 'messaging', tracked_since => '1990-01-01 00:00+00');
SELECT depwatch.add_capability('simple_transfer', ARRAY['msg']);
SELECT depwatch.record_outage('msg', '2026-03-01 09:00+00', '2026-03-01 10:00+00');
SELECT depwatch.open_incident('fire', '2026-03-01 09:00+00', ARRAY['msg']);
SELECT depwatch.close_incident((SELECT max(id) FROM depwatch.incident), '2026-03-01 10:00+00');
SELECT depwatch.add_redress_policy('fire_redress', tiers => '[{"up_to": 15, "pay": 5}, {"up_to": 100, "pay": 7}]');
SELECT depwatch.bind_ledger('bank.transfers');
CREATE TEMP TABLE calls (call text);
INSERT INTO calls VALUES
	('SELECT * FROM depwatch.redress(%s, ''fire_redress'')'),
	('SELECT * FROM depwatch.redress_summary(%s, ''fire_redress'')');
UPDATE calls SET call = format(call, (SELECT max(id) FROM depwatch.incident));
GRANT SELECT ON calls TO depwatch_rd_analyst, depwatch_rd_nobody;

-- they run with their caller's rights (1)
SELECT is_empty($$SELECT p.oid::regprocedure FROM pg_proc p
				  WHERE p.pronamespace IN ('depwatch'::regnamespace, 'depwatch_internal'::regnamespace)
					AND p.prosecdef AND p.proname IN ('redress', 'redress_summary', '_redress_query',
													  '_redress_policy', '_redress_pay')$$,
				'redress, redress_summary and their helpers are SECURITY INVOKER');

-- a reader the bank did not let read its ledger is refused (2)
SET ROLE depwatch_rd_analyst;
SELECT throws_ok(c.call, '42501', NULL, 'without SELECT on the ledger: ' || c.call) FROM calls c;
RESET ROLE;

-- with SELECT on it, the reader runs both and sees the tiers paid (3)
GRANT SELECT ON bank.transfers TO depwatch_rd_analyst, depwatch_rd_nobody;
SET ROLE depwatch_rd_analyst;
SELECT lives_ok(c.call, 'a reader with SELECT on the ledger: ' || c.call) FROM calls c;
SELECT results_eq($$SELECT customers, amount, payout
					FROM depwatch.redress_summary((SELECT max(id) FROM depwatch.incident), 'fire_redress')$$,
				  $$VALUES (2::bigint, 30::numeric, 12::numeric)$$,
				  'the reader''s redress reads the ledger: 10 pays 5, 20 pays 7');
-- and reads the policies, but cannot write them (2)
SELECT lives_ok('SELECT * FROM depwatch.redress_policy', 'a reader reads depwatch.redress_policy');
SELECT throws_ok($$INSERT INTO depwatch.redress_policy (name, basis, tiers) VALUES ('x', 'failed_value', '[{"up_to": 1, "pay": 1}]')$$,
				 '42501', NULL, 'a reader does not write depwatch.redress_policy');
RESET ROLE;

-- a role outside depwatch_reader runs neither, even with SELECT on the ledger (2)
SET ROLE depwatch_rd_nobody;
SELECT throws_ok(c.call, '42501', NULL, 'outside depwatch_reader: ' || c.call) FROM calls c;
RESET ROLE;

-- only an admin adds a policy (3)
SET ROLE depwatch_rd_analyst;
SELECT throws_ok($$SELECT depwatch.add_redress_policy('by_reader', tiers => '[{"up_to": 1, "pay": 1}]')$$,
				 '42501', NULL, 'a reader does not add a redress policy');
SET ROLE depwatch_rd_operator;
SELECT throws_ok($$SELECT depwatch.add_redress_policy('by_operator', tiers => '[{"up_to": 1, "pay": 1}]')$$,
				 '42501', NULL, 'an operator does not add a redress policy');
SET ROLE depwatch_rd_admin;
SELECT lives_ok($$SELECT depwatch.add_redress_policy('by_admin', tiers => '[{"up_to": 1, "pay": 1}]')$$,
				'an admin adds a redress policy');
RESET ROLE;

-- the admin's policy is in the audit log, with who added it (1)
SELECT is((SELECT a.actor FROM depwatch.audit_log a
		   WHERE a.table_name = 'redress_policy' AND a.new->>'name' = 'by_admin'),
		  'depwatch_rd_admin', 'adding a redress policy is audited, with its actor');

SELECT * FROM finish();
ROLLBACK;
