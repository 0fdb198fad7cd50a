-- scenario(): what if some dependencies, sites or vendors were down from
-- a start for a time; save_scenario() and resilience_report().  On a map
-- and a ledger checked by hand.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION depwatch CASCADE;
RESET client_min_messages;
SET TimeZone = 'UTC';
SET search_path = depwatch, public;

-- what a call raises: SQLSTATE, message, hint
CREATE FUNCTION pg_temp.raised(call text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	state text;
	message text;
	hint text;
BEGIN
	EXECUTE call;
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT, hint = PG_EXCEPTION_HINT;
	RETURN format('%s %s / %s', state, message, hint);
END
$$;

-- The map:
--   dependency  vendor  site
--   core        lg      sangam
--   kftc        -       kftc      (a name that is a dependency and a site)
--   kakaotalk   kakao   pangyo
--   alimtalk    kakao   pangyo
--   pangyo_dc   sk      pangyo
--   nice        nice    nice_dc
--   kcb         kcb     kcb_dc
--   transfer        = core, kftc              tolerance 2 h
--   simple_transfer = transfer, kakaotalk     tolerance 4 h
--   notifications   = kakaotalk|alimtalk      tolerance 30 min
--   account_opening = core, nice|kcb          no tolerance
SELECT count(*) FROM (VALUES
	(add_dependency('core', 'core', vendor => 'lg', site => 'sangam', tracked_since => '2020-01-01 00:00+00')),
	(add_dependency('kftc', 'payment_network', site => 'kftc', tracked_since => '2020-01-01 00:00+00')),
	(add_dependency('kakaotalk', 'messaging', vendor => 'kakao', site => 'pangyo', tracked_since => '2020-01-01 00:00+00')),
	(add_dependency('alimtalk', 'messaging', vendor => 'kakao', site => 'pangyo', tracked_since => '2020-01-01 00:00+00')),
	(add_dependency('pangyo_dc', 'datacenter', vendor => 'sk', site => 'pangyo', tracked_since => '2020-01-01 00:00+00')),
	(add_dependency('nice', 'credit_bureau', vendor => 'nice', site => 'nice_dc', tracked_since => '2020-01-01 00:00+00')),
	(add_dependency('kcb', 'credit_bureau', vendor => 'kcb', site => 'kcb_dc', tracked_since => '2020-01-01 00:00+00'))) v;
SELECT add_capability('transfer', ARRAY['core', 'kftc'], impact_tolerance => '2 hours') > 0;
SELECT add_capability('simple_transfer', ARRAY['transfer', 'kakaotalk'], impact_tolerance => '4 hours') > 0;
SELECT add_capability('notifications', ARRAY['kakaotalk|alimtalk'], impact_tolerance => '30 minutes') > 0;
SELECT add_capability('account_opening', ARRAY['core', 'nice|kcb']) > 0;

-- Without a ledger: the capability part, expectations NULL.  Losing the
-- site sangam (core) for 3 h from 2024-03-04 10:00 takes down transfer
-- (breached at 12:00: 3 h > 2 h), simple_transfer through it (3 h < 4 h)
-- and account_opening (no tolerance); notifications stays up.  DORA:
-- a tolerance and more than 2 h down; FSS: 30 min or more down.
SELECT capability, down, downtime, tolerance, breached, breached_at, expected_transfers,
	   expected_customers, expected_value, expected_applications, expected_fees, dora_major,
	   fss_reportable, downtime_seconds
FROM scenario(ARRAY['sangam'], '2024-03-04 10:00+00', '3 hours', 2);

-- What each kind of name loses: a site (pangyo: kakaotalk, alimtalk,
-- pangyo_dc), a vendor (kakao: kakaotalk, alimtalk), a dependency
-- (kakaotalk alone: notifications keeps alimtalk), a name that is both a
-- dependency and a site (kftc), and two names together.
SELECT l.lose, array_agg(s.capability ORDER BY s.capability) FILTER (WHERE s.down) AS lost
FROM (VALUES (ARRAY['pangyo']), (ARRAY['kakao']), (ARRAY['kakaotalk']), (ARRAY['alimtalk']),
			 (ARRAY['kftc']), (ARRAY['nice']), (ARRAY['nice', 'kcb_dc']), (ARRAY['kakaotalk', 'kakaotalk'])) l(lose)
CROSS JOIN LATERAL scenario(l.lose, '2024-03-04 10:00+00', '1 hour') s
GROUP BY l.lose ORDER BY l.lose;

-- The ledger.  Windows of 3 h from 10:00, two baseline weeks back:
--   k = 1: [2024-02-26 10:00, 13:00), k = 2: [2024-02-19 10:00, 13:00)
CREATE SCHEMA bank;
CREATE TABLE bank.transfers (txn_id bigint, account_id bigint, customer_id text, occurred_at timestamptz,
	amount numeric, fee numeric, fee_type text, capability text, status text, external boolean);
CREATE TABLE bank.applications (application_id bigint, customer_id text, occurred_at timestamptz,
	status text, reason text);
INSERT INTO bank.transfers VALUES
	-- k = 1, transfer: c1 +100 posted fee 10, c2 -50 failed fee 5 (not
	-- charged), c1 +200 posted fee 0 at 12:30
	(1, 1, 'c1', '2024-02-26 10:15+00', 100, 10, 'transfer_fee', 'transfer', 'posted', false),
	(2, 2, 'c2', '2024-02-26 11:00+00', -50, 5, 'transfer_fee', 'transfer', 'failed', false),
	(3, 1, 'c1', '2024-02-26 12:30+00', 200, 0, 'transfer_fee', 'transfer', 'posted', false),
	-- k = 1, simple_transfer: c3 -30 posted fee 2
	(4, 3, 'c3', '2024-02-26 10:45+00', -30, 2, 'transfer_fee', 'simple_transfer', 'posted', false),
	-- k = 2, transfer: c4 +400 posted fee 20
	(5, 4, 'c4', '2024-02-19 10:20+00', 400, 20, 'transfer_fee', 'transfer', 'posted', false),
	-- outside every window: at the end of k = 1, just before k = 2, inside
	-- the scenario itself, and 3 weeks back
	(6, 1, 'c1', '2024-02-26 13:00+00', 1000, 1, 'transfer_fee', 'transfer', 'posted', false),
	(7, 1, 'c1', '2024-02-19 09:59:59+00', 1000, 1, 'transfer_fee', 'transfer', 'posted', false),
	(8, 1, 'c1', '2024-03-04 10:30+00', 1000, 1, 'transfer_fee', 'transfer', 'posted', false),
	(9, 1, 'c9', '2024-02-12 10:30+00', 1000, 1, 'transfer_fee', 'transfer', 'posted', false);
-- 10,000 notifications in k = 1 at 10:01, one customer each
INSERT INTO bank.transfers
SELECT 100 + g, 100 + g, 'n' || g, '2024-02-26 10:01+00', 0, 0, NULL, 'notifications', 'posted', false
FROM generate_series(1, 10000) g;
INSERT INTO bank.applications VALUES
	(1, 'a1', '2024-02-26 10:10+00', 'approved', ''),
	(2, 'a2', '2024-02-26 12:59+00', 'failed', 'bureau'),
	(3, 'a3', '2024-02-19 11:00+00', 'approved', ''),
	(4, 'a4', '2024-02-19 13:00+00', 'approved', '');
SELECT bind_ledger('bank.transfers', applications => 'bank.applications');

-- By hand, 3 h, 2 weeks:
--   transfer: rows 3 + 1 -> 2; customers {c1, c2} 2, {c4} 1 -> 1.5;
--     |amount| 350 + 400 -> 375; fees charged 10 + 20 -> 15
--   simple_transfer: 1 + 0 -> 0.5; 1 + 0 -> 0.5; 30 -> 15; 2 -> 1
--   notifications: 10000 + 0 -> 5000 each
--   account_opening: no transfers; applications 2 + 1 -> 1.5
SELECT capability, down, downtime, breached, breached_at, expected_transfers, expected_customers,
	   expected_value, expected_applications, expected_fees, dora_major, fss_reportable
FROM scenario(ARRAY['sangam'], '2024-03-04 10:00+00', '3 hours', 2);

-- DORA's client threshold: 90 min from 10:00 (not over 2 h), windows
-- [10:00, 11:30): transfer {c1, c2} and {c4}: 1.5 expected customers of
-- 3 in all the windows, over 10 %: major; simple_transfer c3 and none:
-- 0.5 of 1, over 10 %: major.
SELECT capability, down, downtime, expected_customers, dora_major, fss_reportable
FROM scenario(ARRAY['core'], '2024-03-04 10:00+00', '90 minutes', 2);

-- FSS's 10-minute rule on notifications (losing kakao): 20 min with one
-- baseline week, 10,000 expected customers: reportable; with two weeks,
-- 5,000: not; 5 min with 10,000: not; 45 min: reportable on time alone.
-- DORA major in each: the 10,000 customers are all there are in the
-- windows (each mean over 10 %).
SELECT l.lasts, l.weeks, s.expected_customers, s.dora_major, s.fss_reportable
FROM (VALUES (interval '20 minutes', 1), ('20 minutes', 2), ('5 minutes', 1), ('45 minutes', 4)) l(lasts, weeks)
CROSS JOIN LATERAL scenario(ARRAY['kakao'], '2024-03-04 10:00+00', l.lasts, l.weeks) s
WHERE s.capability = 'notifications';

-- a capability that is not down expects its ledger all the same, and is
-- neither major nor reportable
SELECT capability, down, expected_transfers, expected_customers, dora_major, fss_reportable
FROM scenario(ARRAY['kakao'], '2024-03-04 10:00+00', '3 hours', 2)
WHERE capability = 'transfer';

-- the errors
SELECT pg_temp.raised(c) FROM unnest(ARRAY[
	$$SELECT * FROM depwatch.scenario(ARRAY['nowhere'], now(), '1 hour')$$,
	$$SELECT * FROM depwatch.scenario(ARRAY['core', 'transfer'], now(), '1 hour')$$,
	$$SELECT * FROM depwatch.scenario(ARRAY['core', NULL], now(), '1 hour')$$,
	$$SELECT * FROM depwatch.scenario(NULL, now(), '1 hour')$$,
	$$SELECT * FROM depwatch.scenario('{}', now(), '1 hour')$$,
	$$SELECT * FROM depwatch.scenario(ARRAY['core'], NULL, '1 hour')$$,
	$$SELECT * FROM depwatch.scenario(ARRAY['core'], 'infinity', '1 hour')$$,
	$$SELECT * FROM depwatch.scenario(ARRAY['core'], now(), NULL)$$,
	$$SELECT * FROM depwatch.scenario(ARRAY['core'], now(), '0')$$,
	$$SELECT * FROM depwatch.scenario(ARRAY['core'], now(), '-1 hour')$$,
	$$SELECT * FROM depwatch.scenario(ARRAY['core'], now(), '367 days')$$,
	$$SELECT * FROM depwatch.scenario(ARRAY['core'], now(), '1 hour', 0)$$,
	$$SELECT * FROM depwatch.scenario(ARRAY['core'], now(), '1 hour', 53)$$,
	$$SELECT * FROM depwatch.scenario(ARRAY['core'], now(), '1 hour', NULL)$$,
	$$SELECT depwatch.save_scenario('Bad Name', ARRAY['core'], '1 hour')$$,
	$$SELECT depwatch.save_scenario(NULL, ARRAY['core'], '1 hour')$$,
	$$SELECT depwatch.save_scenario('x', ARRAY['nowhere'], '1 hour')$$,
	$$SELECT depwatch.save_scenario('x', ARRAY['core'], '0')$$,
	$$SELECT depwatch.resilience_report(NULL)$$]) c;

-- scenario() writes nothing
SELECT count(*) AS audit_rows_before FROM audit_log \gset
SELECT count(*) FROM scenario(ARRAY['pangyo'], '2024-03-04 10:00+00', '3 hours');
SELECT count(*) = :audit_rows_before AS nothing_written FROM audit_log;

-- save_scenario: audited; saving under the same name replaces
SELECT save_scenario('pangyo_48h', ARRAY['pangyo'], '48 hours') AS pangyo_id \gset
SELECT save_scenario('core_1h', ARRAY['core'], '1 hour') > 0;
SELECT save_scenario('pangyo_48h', ARRAY['pangyo'], '48 hours') = :pangyo_id AS same_row_unchanged;
SELECT save_scenario('core_1h', ARRAY['sangam'], '3 hours') > 0;
SELECT name, lose, lasts FROM scenario ORDER BY name;
SELECT action, table_name, new->>'name' AS name, new->'lose' AS lose, new->>'lasts' AS lasts
FROM audit_log WHERE table_name = 'scenario' ORDER BY id;

-- resilience_report: transfer was really down 3 h on 2024-03-01 (core),
-- notifications 20 min (both messengers); the saved scenarios run from the
-- period's end.
SELECT record_outage('core', '2024-03-01 09:00+00', '2024-03-01 12:00+00') > 0;
SELECT record_outage('kakaotalk', '2024-03-02 09:00+00', '2024-03-02 09:20+00') > 0;
SELECT record_outage('alimtalk', '2024-03-02 09:00+00', '2024-03-02 09:20+00') > 0;
SELECT jsonb_pretty(resilience_report(tstzrange('2024-03-01', '2024-03-08')));

DROP EXTENSION depwatch;
DROP EXTENSION btree_gist;
SET client_min_messages = warning;
DROP SCHEMA bank CASCADE;
