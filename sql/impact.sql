-- Incident economics, part 1: binding the bank's ledger and impact() on a
-- small hand-checked ledger.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION depwatch CASCADE;
RESET client_min_messages;
SET TimeZone = 'UTC';
SET search_path = depwatch, public;

SELECT count(*) FROM (VALUES
	(add_dependency('core', 'core', tracked_since => '1990-01-01 00:00+00')),
	(add_dependency('nice', 'credit_bureau', tracked_since => '1990-01-01 00:00+00')),
	(add_dependency('kcb', 'credit_bureau', tracked_since => '1990-01-01 00:00+00')),
	(add_dependency('kakao', 'messaging', tracked_since => '1990-01-01 00:00+00'))) v;
SELECT add_capability('account_opening', ARRAY['core', 'nice|kcb']) > 0;
SELECT add_capability('transfer', ARRAY['core']) > 0;
SELECT add_capability('simple_transfer', ARRAY['transfer', 'kakao']) > 0;

-- 2022-10-15 (UTC): the messaging platform down 06:30-08:00; both bureaus
-- down 06:40-06:50 (nice 06:00-07:00, kcb 06:40-06:50).
SELECT count(*) FROM (VALUES
	(record_outage('kakao', '2022-10-15 06:30', '2022-10-15 08:00')),
	(record_outage('nice', '2022-10-15 06:00', '2022-10-15 07:00')),
	(record_outage('kcb', '2022-10-15 06:40', '2022-10-15 06:50'))) v;
-- 1: names kakao only; 2: names nobody, so every dependency down during it
SELECT open_incident('data center fire', '2022-10-15 06:00', ARRAY['kakao']);
SELECT close_incident(1, '2022-10-15 09:00', 'power');
SELECT open_incident('bureaus overloaded', '2022-10-15 06:00');
SELECT close_incident(2, '2022-10-15 07:00');

-- The bank's ledger, its own way: a table with an index on occurred_at,
-- plenty of other days, and a view for the applications.
CREATE SCHEMA bank;
CREATE TABLE bank.transfers (
	txn_id bigint PRIMARY KEY, account_id bigint, customer_id text,
	occurred_at timestamptz NOT NULL, amount numeric NOT NULL, fee numeric NOT NULL DEFAULT 0,
	fee_type text, capability text, status text, external boolean NOT NULL DEFAULT false);
CREATE INDEX ON bank.transfers (occurred_at);
INSERT INTO bank.transfers (txn_id, account_id, customer_id, occurred_at, amount, capability, status) VALUES
	(1, 11, 'c1', '2022-10-15 06:45', -100, 'simple_transfer', 'posted'),
	(2, 12, 'c2', '2022-10-15 07:10', -250, 'simple_transfer', 'failed'),
	(3, 12, 'c2', '2022-10-15 07:20', 300, 'simple_transfer', 'failed'),	-- money in: abs()
	(4, 13, 'c3', '2022-10-15 07:00', -40, 'transfer', 'failed'),		-- transfer stayed up
	(5, 14, 'c4', '2022-10-15 08:00', -70, 'simple_transfer', 'failed'),	-- at the end: up again
	(6, 15, 'c5', '2022-10-15 06:29:59', -80, 'simple_transfer', 'failed');	-- before it
INSERT INTO bank.transfers (txn_id, account_id, customer_id, occurred_at, amount, capability, status)
SELECT 100 + g, g % 1000, 'c' || (g % 1000), timestamptz '2022-01-01' + g * interval '5 min',
	   -(g % 97), 'simple_transfer', 'posted'
FROM generate_series(1, 60000) g
WHERE timestamptz '2022-01-01' + g * interval '5 min' NOT BETWEEN '2022-10-14' AND '2022-10-16';
ANALYZE bank.transfers;
CREATE TABLE bank.account_applications (id bigint, customer bigint, at timestamptz, status text, why text);
INSERT INTO bank.account_applications VALUES
	(1, 6, '2022-10-15 06:45', 'failed', 'bureau timeout'),	-- c6: affected through this alone
	(2, 7, '2022-10-15 06:39', 'failed', 'bureau timeout'),	-- before both bureaus were down
	(3, 1, '2022-10-15 06:41', 'approved', NULL);				-- c1 again: counted once
CREATE VIEW bank.applications AS
	SELECT id AS application_id, 'c' || customer AS customer_id, at AS occurred_at, status, why AS reason
	FROM bank.account_applications;

-- Nothing bound yet
\set VERBOSITY terse
SELECT * FROM impact(1);
\set VERBOSITY default
SELECT bind_ledger('bank.transfers', 'bank.applications');
SELECT contract, relation FROM ledger_binding ORDER BY contract;

-- Incident 1 names kakao: simple_transfer down 06:30-08:00.  Transfers 1-3
-- are inside (2 failed, 250 + 300), 5 is at the end, 6 before, 4 is of a
-- capability that stayed up.  account_opening was down too, but through
-- the bureaus, which incident 1 does not name.
SELECT * FROM impact(1);
-- Incident 2 names nobody: nice, kcb and kakao were down during it.
-- account_opening down 06:40-06:50: no transfers, applications 1 and 3
-- (customers c6 and c1), one failed; simple_transfer clipped to 06:30-07:00.
SELECT * FROM impact(2);

-- An open incident is measured up to now, and says so.
SELECT open_incident('still going', '2022-10-15 06:00', ARRAY['kakao']);
SELECT capability, attempted, failed FROM impact(3);

-- The ledger is read through its index on occurred_at, window by window.
CREATE FUNCTION pg_temp.plan_of(q text, i depwatch.incident) RETURNS SETOF text
LANGUAGE plpgsql AS $$
BEGIN
	RETURN QUERY EXECUTE 'EXPLAIN (COSTS OFF) ' || q USING i;
END
$$;
SELECT bool_or(p ~ 'Index (Only )?Scan .*on transfers') AS index_scan_on_transfers,
	   NOT bool_or(p ~ 'Seq Scan on transfers') AS no_seq_scan_on_transfers
FROM pg_temp.plan_of(depwatch_internal._impact_query('bank.transfers', 'bank.applications'),
					 (SELECT i FROM incident i WHERE id = 1)) p;

-- Bad bindings and calls: clear errors, nothing written
CREATE TABLE bank.wrong (txn_id int, account_id int, customer_id int, occurred_at timestamp,
						 amount float8, fee numeric, capability varchar, status text);
CREATE TABLE bank.wrong_partner AS SELECT *, 1.5::float8 AS partner_fee FROM bank.transfers LIMIT 0;
CREATE SEQUENCE bank.seq;
\set VERBOSITY terse
SELECT bind_ledger('bank.wrong');
SELECT bind_ledger('bank.wrong_partner');
SELECT bind_ledger('bank.seq');
SELECT bind_ledger(NULL);
SELECT bind_ledger('bank.transfers', applications => 'bank.transfers');
SELECT * FROM impact(99);
SELECT * FROM impact(NULL);
\set VERBOSITY default
SELECT bind_ledger('bank.wrong');
SELECT contract, relation FROM ledger_binding ORDER BY contract;

-- A bound relation that goes away
BEGIN;
DROP VIEW bank.applications;
\set VERBOSITY terse
SELECT * FROM impact(1);
\set VERBOSITY default
ROLLBACK;
-- Binding again replaces the binding; what is not named is unbound
SELECT bind_ledger('bank.transfers');
SELECT contract, relation FROM ledger_binding ORDER BY contract;
SELECT capability, customers, applications_failed FROM impact(2);
SELECT action, coalesce(new, old)->>'contract' AS contract, old->>'relation' AS old, new->>'relation' AS new
FROM audit_log WHERE table_name = 'ledger_binding' ORDER BY id;

DROP FUNCTION pg_temp.plan_of(text, depwatch.incident);
DROP SCHEMA bank CASCADE;
DROP EXTENSION depwatch;
DROP EXTENSION btree_gist;
