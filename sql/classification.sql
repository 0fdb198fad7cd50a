-- classify_incident() on hand-made incidents (SPEC section 3,
-- "Classification"; Commission Delegated Regulation (EU) 2024/1772
-- Arts 8-9, and the Korean FSS rules).
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION depwatch CASCADE;
RESET client_min_messages;
SET TimeZone = 'UTC';
SET search_path = depwatch, public;

SELECT count(*) FROM (VALUES
	(add_dependency('core', 'core', tracked_since => '1990-01-01 00:00+00')),
	(add_dependency('kakao', 'messaging', tracked_since => '1990-01-01 00:00+00')),
	(add_dependency('bureau', 'credit_bureau', tracked_since => '1990-01-01 00:00+00'))) v;
SELECT add_capability('simple_transfer', ARRAY['core', 'kakao']) > 0;
SELECT add_capability('account_opening', ARRAY['core', 'bureau']) > 0;

-- The ledger: 100,001 customers send money through simple_transfer while
-- kakao is down on 2024-03-01 10:00-13:00; 20 a day in February.
CREATE SCHEMA bank;
CREATE TABLE bank.transfers (txn_id bigint, account_id bigint, customer_id text, occurred_at timestamptz,
	amount numeric, fee numeric, fee_type text, capability text, status text, external boolean);
INSERT INTO bank.transfers
SELECT g, g, 'c' || g, timestamptz '2024-03-01 10:00+00' + g * interval '100 ms', -10, 0, NULL,
	   'simple_transfer', 'failed', false
FROM generate_series(1, 100001) g;
INSERT INTO bank.transfers
SELECT 200000 + g, 1, 'c1', timestamptz '2024-02-01 00:00+00' + g * interval '72 min', -10, 0, NULL,
	   'simple_transfer', 'posted', false
FROM generate_series(0, 579) g;
CREATE INDEX ON bank.transfers (occurred_at);
ANALYZE bank.transfers;
SELECT bind_ledger('bank.transfers');

-- Outages and incidents (each incident spans its outage and names its dependency)
CREATE FUNCTION pg_temp.incident(title text, dep text, s timestamptz, e timestamptz, facts jsonb)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	id bigint;
BEGIN
	PERFORM depwatch.record_outage(dep, s, e);
	id := depwatch.open_incident(title, s, ARRAY[dep]);
	PERFORM depwatch.close_incident(id, e);
	PERFORM depwatch.set_incident_facts(id, facts);
	RETURN id;
END
$$;
-- 1: a critical service down 3 h, 100,001 clients affected: major
SELECT pg_temp.incident('fire', 'kakao', '2024-03-01 10:00+00', '2024-03-01 13:00+00',
	'{"critical_services_affected": true, "clients_total": 5000000, "subscribers": 20000000}');
-- 2: the same outage, seen by a bank whose affected services are not critical
INSERT INTO incident (title, started_at, ended_at, facts)
VALUES ('fire, non-critical', '2024-03-01 10:00+00', '2024-03-01 13:00+00',
		'{"critical_services_affected": false, "clients_total": 5000000}');
INSERT INTO incident_dependency SELECT 2, id FROM dependency WHERE name = 'kakao';
-- 3: ten minutes, but malicious access that may lose data
SELECT pg_temp.incident('intrusion', 'bureau', '2024-04-01 10:00+00', '2024-04-01 10:10+00',
	'{"critical_services_affected": true, "malicious_access": true}');
-- 4: 25 hours, and nothing else: one threshold
SELECT pg_temp.incident('long bureau outage', 'bureau', '2024-04-10 10:00+00', '2024-04-11 11:00+00',
	'{"critical_services_affected": true, "reputational": []}');
-- 5 and 6: 90 minutes and EUR 60,000 each, same root cause, a month apart:
-- neither is major, together they are (3 h of downtime, EUR 120,000)
SELECT pg_temp.incident('bureau capacity I', 'bureau', '2024-05-01 10:00+00', '2024-05-01 11:30+00',
	'{"critical_services_affected": true, "costs_eur": 60000, "root_cause": "bureau_capacity"}');
SELECT pg_temp.incident('bureau capacity II', 'bureau', '2024-06-01 10:00+00', '2024-06-01 11:30+00',
	'{"critical_services_affected": true, "costs_eur": 60000, "root_cause": "bureau_capacity"}');
-- 7, 8, 9: 15 min with 20,000 subscribers; 15 min with 5,000; 35 min with 5,000
SELECT pg_temp.incident('blip, big service', 'bureau', '2024-07-01 10:00+00', '2024-07-01 10:15+00',
	'{"subscribers": 20000}');
SELECT pg_temp.incident('blip, small service', 'bureau', '2024-07-02 10:00+00', '2024-07-02 10:15+00',
	'{"subscribers": 5000}');
SELECT pg_temp.incident('outage, small service', 'bureau', '2024-07-03 10:00+00', '2024-07-03 10:35+00',
	'{"subscribers": 5000}');

SELECT * FROM classify_incident(1);
SELECT criterion, met FROM classify_incident(2) WHERE criterion IN ('critical_services', 'clients_transactions', 'duration_downtime', 'major');
SELECT criterion, met FROM classify_incident(3) WHERE met OR criterion = 'major';
SELECT criterion, met FROM classify_incident(4) WHERE met OR criterion = 'major';
SELECT criterion, value, met FROM classify_incident(5) WHERE criterion IN ('duration_downtime', 'economic_impact', 'recurring', 'major');
SELECT criterion, value, met FROM classify_incident(6) WHERE criterion IN ('duration_downtime', 'economic_impact', 'recurring', 'major');

-- Korean FSS
SELECT * FROM classify_incident(1, 'kr_fss');
SELECT id, title, met AS reportable
FROM incident, classify_incident(id, 'kr_fss') c WHERE c.criterion = 'reportable' AND id IN (3, 7, 8, 9)
ORDER BY id;

-- Fee waivers count as costs, in EUR
SELECT add_fee_policy('all_fees') > 0;
UPDATE bank.transfers SET status = 'posted', fee = 5000, fee_type = 'transfer_fee'
WHERE txn_id BETWEEN 1 AND 30000;
ANALYZE bank.transfers;
SELECT set_incident_facts(4, '{"fee_policy": "all_fees", "eur_per_unit": 0.0007}') IS NOT NULL;
SELECT set_incident_facts(1, '{"fee_policy": "all_fees", "eur_per_unit": 0.0007}') IS NOT NULL;
SELECT criterion, value, met FROM classify_incident(1) WHERE criterion = 'economic_impact';

-- A major incident is not looked at as part of a recurring series
SELECT set_incident_facts(1, '{"root_cause": "power"}') IS NOT NULL;
SELECT value, met FROM classify_incident(1) WHERE criterion = 'recurring';

\set VERBOSITY terse
SELECT * FROM classify_incident(1, 'nis2');
SELECT * FROM classify_incident(99);
\set VERBOSITY default

DROP FUNCTION pg_temp.incident(text, text, timestamptz, timestamptz, jsonb);
DROP SCHEMA bank CASCADE;
DROP EXTENSION depwatch;
DROP EXTENSION btree_gist;
