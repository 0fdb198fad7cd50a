-- Incident economics, part 2: fee waivers, the cost of a waiver programme
-- and deposit outflow, on a small hand-checked ledger (SPEC section 3,
-- "Fee waiver", "Deposit outflow").
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
SELECT add_capability('simple_transfer', ARRAY['core', 'kakao']) > 0;
-- 2022-10-15: kakao down 06:30-08:00, both bureaus 06:40-06:50;
-- 2022-11-20: kakao down 06:00-07:00.
SELECT count(*) FROM (VALUES
	(record_outage('kakao', '2022-10-15 06:30', '2022-10-15 08:00')),
	(record_outage('nice', '2022-10-15 06:00', '2022-10-15 07:00')),
	(record_outage('kcb', '2022-10-15 06:40', '2022-10-15 06:50')),
	(record_outage('kakao', '2022-11-20 06:00', '2022-11-20 07:00'))) v;
SELECT open_incident('fire', '2022-10-15 06:00', ARRAY['kakao', 'nice', 'kcb']);
SELECT close_incident(1, '2022-10-15 09:00');
SELECT open_incident('quiet one', '2022-11-20 06:00', ARRAY['kakao']);
SELECT close_incident(2, '2022-11-20 07:00');

CREATE SCHEMA bank;
CREATE TABLE bank.transfers (
	txn_id serial PRIMARY KEY, account_id int, customer_id text, occurred_at timestamptz NOT NULL,
	amount numeric NOT NULL DEFAULT 0, fee numeric NOT NULL DEFAULT 0, fee_type text,
	capability text, status text NOT NULL DEFAULT 'posted', external boolean NOT NULL DEFAULT false,
	partner_fee numeric);
CREATE INDEX ON bank.transfers (occurred_at);
INSERT INTO bank.transfers (account_id, customer_id, occurred_at, amount, fee, fee_type, capability, status, external, partner_fee) VALUES
	-- inside the incident: c1 and c2 are affected (simple_transfer down 06:30-08:00)
	(11, 'c1', '2022-10-15 06:45', -100, 500, 'transfer_fee', 'simple_transfer', 'posted', false, NULL),
	(12, 'c2', '2022-10-15 07:10', -250, 0, NULL, 'simple_transfer', 'failed', false, NULL),
	-- fees after the end, inside a day of grace, and after it
	(11, 'c1', '2022-10-15 10:00', -20, 1300, 'atm_fee', 'atm', 'posted', false, NULL),
	(11, 'c1', '2022-10-17 12:00', 0, 300, 'notification_fee', 'notification', 'posted', false, NULL),
	(12, 'c2', '2022-10-15 08:30', -30, 500, 'transfer_fee', 'transfer', 'posted', false, NULL),
	(12, 'c2', '2022-10-15 08:40', -30, 500, 'transfer_fee', 'transfer', 'posted', false, NULL),
	(12, 'c2', '2022-10-16 08:00', -40, 1300, 'atm_fee', 'atm', 'posted', false, NULL),
	-- c6 is affected only through a failed application (below)
	(16, 'c6', '2022-10-15 07:00', 0, 300, 'notification_fee', 'notification', 'posted', false, NULL),
	-- c3 paid a fee during the incident, but was not affected
	(13, 'c3', '2022-10-15 07:00', -10, 500, 'transfer_fee', 'transfer', 'posted', false, NULL),
	-- the same window 1, 2 and 4 weeks earlier (baseline fees 500 + 1800 + 0 + 500)
	(19, 'c9', '2022-10-08 07:00', -10, 500, 'transfer_fee', 'transfer', 'posted', false, NULL),
	(19, 'c9', '2022-10-01 07:00', -10, 500, 'transfer_fee', 'transfer', 'posted', false, NULL),
	(19, 'c9', '2022-10-01 20:00', -10, 1300, 'atm_fee', 'atm', 'posted', false, NULL),
	(19, 'c9', '2022-09-17 08:00', -10, 500, 'transfer_fee', 'transfer', 'posted', false, NULL),
	-- waived fees of a waiver programme (fee 0), priced by the schedule
	(19, 'c9', '2022-09-20 10:00', -10, 0, 'transfer_fee', 'transfer', 'posted', false, NULL),
	(19, 'c9', '2022-10-20 10:00', -50, 0, 'atm_fee', 'atm', 'posted', false, 900),
	(19, 'c9', '2022-10-21 10:00', -10, 0, 'transfer_fee', 'simple_transfer', 'posted', false, NULL),
	(19, 'c9', '2022-10-22 10:00', 0, 0, 'sms_fee', 'notification', 'posted', false, NULL),
	(19, 'c9', '2022-10-23 10:00', -10, 0, 'transfer_fee', 'transfer', 'failed', false, NULL),
	-- external flows: a baseline of +1000, +2000, +3000 a day
	(19, 'c9', '2022-10-12 12:00', 1000, 0, NULL, 'transfer', 'posted', true, NULL),
	(19, 'c9', '2022-10-13 12:00', 2000, 0, NULL, 'transfer', 'posted', true, NULL),
	(19, 'c9', '2022-10-14 12:00', 3000, 0, NULL, 'transfer', 'posted', true, NULL),
	-- then c2 drains the account (balance 15000 at the start: half is 7500)
	(12, 'c2', '2022-10-15 10:00', -5000, 0, NULL, 'transfer', 'posted', true, NULL),
	(11, 'c1', '2022-10-15 11:00', 1000, 0, NULL, 'transfer', 'posted', true, NULL),
	-- 10-16: no flows at all
	(12, 'c2', '2022-10-17 09:00', -3000, 0, NULL, 'transfer', 'posted', true, NULL),
	(14, 'c4', '2022-10-17 09:30', -100, 0, NULL, 'transfer', 'failed', true, NULL),
	(15, 'c5', '2022-10-17 09:45', -7777, 0, NULL, 'transfer', 'posted', false, NULL),
	(11, 'c1', '2022-10-18 09:00', 500, 0, NULL, 'transfer', 'posted', true, NULL),
	-- a flat baseline before the quiet incident
	(19, 'c9', '2022-11-18 12:00', 1000, 0, NULL, 'transfer', 'posted', true, NULL),
	(19, 'c9', '2022-11-19 12:00', 1000, 0, NULL, 'transfer', 'posted', true, NULL);
CREATE TABLE bank.applications (application_id int, customer_id text, occurred_at timestamptz,
								status text, reason text);
INSERT INTO bank.applications VALUES (1, 'c6', '2022-10-15 06:45', 'failed', 'bureau timeout');
CREATE TABLE bank.balances (account_id int, customer_id text, as_of timestamptz, balance numeric);
INSERT INTO bank.balances VALUES
	(11, 'c1', '2022-10-14 00:00', 10000),
	(12, 'c2', '2022-10-10 00:00', 12000),
	(12, 'c2', '2022-10-14 00:00', 15000),
	(13, 'c3', '2022-10-16 00:00', 3000);		-- after the start: not counted
CREATE TABLE bank.accounts (account_id int, customer_id text, opened_at timestamptz, closed_at timestamptz);
INSERT INTO bank.accounts VALUES
	(11, 'c1', '2020-01-01', NULL),
	(12, 'c2', '2020-01-01', '2022-10-17 15:00');
SELECT bind_ledger('bank.transfers', 'bank.applications', 'bank.balances', 'bank.accounts');

-- Fee waivers
SELECT add_fee_policy('launch', grace => '1 day', per_customer_cap => 2000) > 0;
SELECT add_fee_policy('atm_only', fee_types => ARRAY['atm_fee'], grace => '1 day') > 0;
SELECT add_fee_policy('atm_no_grace', fee_types => ARRAY['atm_fee']) > 0;
SELECT add_fee_policy('transfers_only', capabilities => ARRAY['transfer', 'simple_transfer']) > 0;
-- c1: 500 + 1300 (inside the grace; the 300 of 10-17 is after it);
-- c2: 500 + 500 + 1300 = 2300, capped at 2000; c6: 300 (through the
-- application alone); c3 paid 500 but was not affected.
SELECT * FROM fee_waiver(1, 'launch');
SELECT * FROM fee_waiver(1, 'atm_only');
SELECT * FROM fee_waiver(1, 'atm_no_grace');
SELECT * FROM fee_waiver(1, 'transfers_only');
-- baseline: (500 + 1800 + 0 + 500) / 4 = 700; waiver 4100 = 585.7 %
SELECT * FROM fee_waiver_summary(1, 'launch');
SELECT * FROM fee_waiver_summary(1, 'atm_no_grace');

-- The cost of a waiver programme: fee-0 rows priced by the schedule
SELECT set_fee_schedule('transfer_fee', NULL, 500, '[2022-01-01,)') > 0;
SELECT set_fee_schedule('transfer_fee', 'transfer', 400, '[2022-01-01,)') > 0;
SELECT set_fee_schedule('atm_fee', NULL, 1300, '[2022-01-01, 2022-10-01)') > 0;
SELECT set_fee_schedule('atm_fee', NULL, 1500, '[2022-10-01,)') > 0;
-- Sep: a transfer fee at the transfer price (400); Oct: an ATM fee at the
-- new price (1500, of which 900 went to the ATM operator) and a simple
-- transfer at the general price (500); no price for sms_fee; failed rows
-- are not waived fees.
SELECT * FROM fee_waiver_cost('[2022-09-01, 2022-11-01)');
SELECT * FROM fee_waiver_cost('[2022-10-01, 2022-10-22)', 'week');

-- Deposit outflow, daily, 3 days of baseline and of horizon.  Baseline
-- nets 1000, 2000, 3000: expected 2000, standard deviation 1000.
-- Deposits at the start: 10000 (c1) + 15000 (c2, its latest balance).
SELECT * FROM deposit_outflow(1, '3 days', '3 days');
SELECT * FROM deposit_outflow_summary(1, '3 days', '3 days');
-- The same in weekly buckets (baseline 2 weeks, horizon 1 week)
SELECT bucket_start, inflow, outflow, net, expected_net, customers_drained, accounts_closed
FROM deposit_outflow(1, '14 days', '7 days', 'week');
-- A flat baseline: no variance, no z-score
SELECT bucket_start, net, expected_net, zscore FROM deposit_outflow(2, '2 days', '1 day');
SELECT worst_zscore, runoff_pct FROM deposit_outflow_summary(2, '2 days', '1 day');

-- Without balances and accounts bound, what needs them is NULL
SELECT bind_ledger('bank.transfers', 'bank.applications');
SELECT bucket_start, net, pct_of_deposits, customers_drained, accounts_closed
FROM deposit_outflow(1, '3 days', '3 days');
SELECT deposits_at_start, runoff_pct, customers_drained FROM deposit_outflow_summary(1, '3 days', '3 days');
SELECT bind_ledger('bank.transfers', 'bank.applications', 'bank.balances', 'bank.accounts');

-- Bad input: clear errors, nothing written
\set VERBOSITY terse
SELECT add_fee_policy('launch');
SELECT add_fee_policy('Bad Name');
SELECT add_fee_policy('negative', per_customer_cap => -1);
SELECT add_fee_policy('no_types', fee_types => ARRAY[]::text[]);
SELECT add_fee_policy('null_type', fee_types => ARRAY[NULL]);
SELECT add_fee_policy('negative_grace', grace => '-1 day');
SELECT * FROM fee_waiver(1, 'nope');
SELECT * FROM fee_waiver(99, 'launch');
SELECT set_fee_schedule('atm_fee', NULL, 1400, '[2022-12-01, 2023-01-01)');
SELECT set_fee_schedule('atm_fee', NULL, -1, '[2030-01-01,)');
SELECT set_fee_schedule('atm_fee', NULL, 1, '(,2020-01-01)');
SELECT * FROM fee_waiver_cost('[2022-01-01,)');
SELECT * FROM fee_waiver_cost('[2022-01-01, 2022-02-01)', 'fortnight');
SELECT * FROM deposit_outflow(1, '36 hours');
SELECT * FROM deposit_outflow(1, '28 days', '0 days');
SELECT * FROM deposit_outflow(1, '28 days', '10 days', 'week');
SELECT * FROM deposit_outflow(1, '28 days', '14 days', 'fortnight');
\set VERBOSITY default
SELECT count(*) AS policies FROM fee_policy;
SELECT count(*) AS prices FROM fee_schedule;

DROP SCHEMA bank CASCADE;
DROP EXTENSION depwatch;
DROP EXTENSION btree_gist;
