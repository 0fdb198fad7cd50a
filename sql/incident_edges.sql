-- Incidents at their edges (SPEC section 7): an incident is half-open,
-- [started_at, ended_at), like every other window; reporting deadlines are
-- never blank: without aware_at, awareness is assumed at the earliest
-- detected_at of the incident's outages (else at its start), marked
-- "assumed".
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION depwatch CASCADE;
RESET client_min_messages;
SET TimeZone = 'UTC';
SET search_path = depwatch, public;

SELECT count(*) FROM (VALUES
	(add_dependency('core', 'core', tracked_since => '1990-01-01 00:00+00')),
	(add_dependency('kakao', 'messaging', tracked_since => '1990-01-01 00:00+00'))) v;
SELECT add_capability('simple_transfer', ARRAY['core', 'kakao']) > 0;
-- kakao down 10:00-11:00 (seen at 10:02); core down from exactly 11:00,
-- the instant the incident ends (seen at 11:01)
SELECT count(*) FROM (VALUES
	(record_outage('kakao', '2024-03-01 10:00', '2024-03-01 11:00', detected_at => '2024-03-01 10:02')),
	(record_outage('core', '2024-03-01 11:00', '2024-03-01 11:30', detected_at => '2024-03-01 11:01'))) v;
-- no dependencies named: those with a down outage within [10:00, 11:00)
SELECT open_incident('edge', '2024-03-01 10:00');
SELECT close_incident(1, '2024-03-01 11:00');

-- 8. The outage that starts at ended_at is not the incident's
SELECT dependency, started_at, ended_at, incident FROM outages ORDER BY started_at;
SELECT incident_report(1)->'incident'->'dependencies' AS dependencies;
SELECT * FROM incident_timeline(1);
SELECT incident_report(1)->'capabilities' AS capabilities;

CREATE SCHEMA bank;
CREATE TABLE bank.transfers (
	txn_id serial PRIMARY KEY, account_id int, customer_id text, occurred_at timestamptz NOT NULL,
	amount numeric NOT NULL DEFAULT 0, fee numeric NOT NULL DEFAULT 0, fee_type text,
	capability text, status text NOT NULL DEFAULT 'posted', external boolean NOT NULL DEFAULT false);
INSERT INTO bank.transfers (account_id, customer_id, occurred_at, amount, fee, fee_type, capability, status) VALUES
	-- c1 is affected at 10:30 and pays a fee at exactly 11:00, and at 12:00
	(11, 'c1', '2024-03-01 10:30', -100, 100, 'transfer_fee', 'simple_transfer', 'posted'),
	(11, 'c1', '2024-03-01 11:00', -100, 700, 'transfer_fee', 'simple_transfer', 'failed'),
	(11, 'c1', '2024-03-01 11:00', -10, 700, 'transfer_fee', 'transfer', 'posted'),
	(11, 'c1', '2024-03-01 12:00', -10, 3000, 'atm_fee', 'atm', 'posted'),
	-- c2 transfers at exactly 11:00 only: not affected
	(12, 'c2', '2024-03-01 11:00', -250, 0, NULL, 'simple_transfer', 'failed'),
	-- one week earlier: a fee at 10:00 (in), one at 11:00 (out)
	(19, 'c9', '2024-02-23 10:00', -10, 400, 'transfer_fee', 'transfer', 'posted'),
	(19, 'c9', '2024-02-23 11:00', -10, 4000, 'transfer_fee', 'transfer', 'posted');
SELECT bind_ledger('bank.transfers');
-- a transfer at exactly ended_at is not affected: one attempted, none failed
SELECT capability, started_at, ended_at, attempted, failed, customers FROM impact(1);
-- fees in [10:00, 11:00): 100; with an hour of grace, [10:00, 12:00): 800
SELECT add_fee_policy('no_grace') > 0;
SELECT add_fee_policy('an_hour', grace => '1 hour') > 0;
SELECT * FROM fee_waiver(1, 'no_grace');
SELECT * FROM fee_waiver(1, 'an_hour');
-- baseline (week 1 back: 400; weeks 2-4: nothing) / 4 = 100
SELECT * FROM fee_waiver_summary(1, 'no_grace');
SELECT criterion, value, met FROM classify_incident(1, 'kr_fss') WHERE criterion IN ('time', 'reportable');

-- 7. Deadlines never blank: awareness assumed at the first detection,
-- 10:02 (FSS: one day later; DORA, once major: 24 hours later)
SELECT jsonb_pretty(incident_report(1)->'deadlines');
SELECT set_incident_facts(1, '{"critical_services_affected": true, "data_losses": true,
							   "reputational": ["media"]}') IS NOT NULL;
SELECT jsonb_pretty(incident_report(1)->'deadlines');
-- recorded awareness wins, and is not assumed
SELECT set_incident_facts(1, '{"aware_at": "2024-03-01T10:30:00+00"}') IS NOT NULL;
SELECT jsonb_pretty(incident_report(1)->'deadlines');
-- an incident whose outages carry no detected_at: assumed at its start
SELECT record_outage('kakao', '2024-04-01 09:00', '2024-04-01 10:00') > 0;
SELECT open_incident('undetected', '2024-04-01 09:10', ARRAY['kakao']);
SELECT close_incident(2, '2024-04-01 10:00');
SELECT incident_report(2)->'deadlines'->'kr_fss' AS kr_fss;
SELECT depwatch_internal._reporting_deadlines('{}', false, true, '2024-01-01 10:00+00')->'kr_fss' AS assumed_given,
	   depwatch_internal._reporting_deadlines('{}', false, true)->'kr_fss' AS nothing_known;

DROP SCHEMA bank CASCADE;
DROP EXTENSION depwatch;
DROP EXTENSION btree_gist;
