-- bench/economics/setup.sql: depwatch's side of the economics benchmark,
-- through depwatch's own API only: dependencies (probe 'none': outages
-- recorded by hand), capabilities, the outages of two incidents, the
-- incidents themselves, fee policies and the fee schedule.
--
-- Times are Korea Standard Time (the database's TimeZone is Asia/Seoul,
-- which has no DST), so day buckets are cut at local midnight.
--
--   1 "credit bureaus overloaded", 2023-03-06 09:00 - 03-07 21:00 (36 h),
--     opened naming nice and kcb: account_opening (nice|kcb) is down
--     where both bureaus are; a core outage that night is not part of it.
--   2 "data center fire", 2023-10-15 15:30 - 10-17 16:00 (48.5 h), opened
--     naming nobody, so every dependency with a down outage in it counts:
--     the messaging platform (simple_transfer, group_account, notification)
--     and a 20-minute core outage (everything that needs core).
-- Together 84.5 h: 0.96 % of the year.

\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS depwatch CASCADE;
RESET client_min_messages;

SELECT count(*) AS dependencies FROM (VALUES
	(depwatch.add_dependency('core', 'core', tracked_since => '2022-01-01 00:00+09', site => 'sangam', vendor => 'self')),
	(depwatch.add_dependency('nice', 'credit_bureau', tracked_since => '2022-01-01 00:00+09', vendor => 'nice')),
	(depwatch.add_dependency('kcb', 'credit_bureau', tracked_since => '2022-01-01 00:00+09', vendor => 'kcb')),
	(depwatch.add_dependency('idv', 'identity', tracked_since => '2022-01-01 00:00+09', vendor => 'pass')),
	(depwatch.add_dependency('kakao', 'messaging', tracked_since => '2022-01-01 00:00+09', site => 'pangyo', vendor => 'kakao')),
	(depwatch.add_dependency('payment_net', 'payment_network', tracked_since => '2022-01-01 00:00+09', vendor => 'kftc'))) v;

SELECT count(*) AS capabilities FROM (VALUES
	(depwatch.add_capability('account_opening', ARRAY['core', 'nice|kcb', 'idv'])),
	(depwatch.add_capability('transfer', ARRAY['core', 'payment_net'], 99.95)),
	(depwatch.add_capability('simple_transfer', ARRAY['transfer', 'kakao'])),
	(depwatch.add_capability('group_account', ARRAY['core', 'kakao'])),
	(depwatch.add_capability('notification', ARRAY['kakao'])),
	(depwatch.add_capability('atm', ARRAY['core', 'payment_net'])),
	(depwatch.add_capability('card', ARRAY['core', 'payment_net'], 99.95))) v;

SELECT count(*) AS outages FROM (VALUES
	-- incident 1: the bureaus, flapping under load
	(depwatch.record_outage('nice', '2023-03-06 09:00+09', '2023-03-06 13:30+09')),
	(depwatch.record_outage('nice', '2023-03-06 15:00+09', '2023-03-06 19:00+09')),
	(depwatch.record_outage('nice', '2023-03-07 10:00+09', '2023-03-07 16:00+09')),
	(depwatch.record_outage('kcb', '2023-03-06 09:20+09', '2023-03-06 12:00+09')),
	(depwatch.record_outage('kcb', '2023-03-06 16:00+09', '2023-03-06 20:00+09')),
	(depwatch.record_outage('kcb', '2023-03-07 11:00+09', '2023-03-07 23:00+09')),
	-- not named by incident 1
	(depwatch.record_outage('core', '2023-03-06 23:00+09', '2023-03-06 23:30+09')),
	-- incident 2: the fire
	(depwatch.record_outage('kakao', '2023-10-15 15:30+09', '2023-10-16 02:00+09')),
	(depwatch.record_outage('kakao', '2023-10-16 06:00+09', '2023-10-16 14:00+09')),
	(depwatch.record_outage('kakao', '2023-10-17 08:00+09', '2023-10-17 17:00+09')),
	(depwatch.record_outage('core', '2023-10-15 16:00+09', '2023-10-15 16:20+09')),
	-- an ordinary short outage outside both incidents
	(depwatch.record_outage('payment_net', '2023-06-12 03:00+09', '2023-06-12 03:40+09'))) v;

SELECT depwatch.open_incident('credit bureaus overloaded', '2023-03-06 09:00+09', ARRAY['nice', 'kcb']) AS bureaus;
SELECT depwatch.close_incident(1, '2023-03-07 21:00+09', 'bureau capacity');
SELECT depwatch.open_incident('data center fire', '2023-10-15 15:30+09') AS fire;
SELECT depwatch.close_incident(2, '2023-10-17 16:00+09', 'fire at the messaging platform''s data center');

-- Fee policies: after the bureaus, the affected customers' transfer and
-- notification fees for a day more; after the fire, every fee for a day
-- more, capped per customer.
SELECT depwatch.add_fee_policy('bureaus', fee_types => ARRAY['transfer_fee', 'notification_fee'],
							   grace => '1 day') AS p1;
SELECT depwatch.add_fee_policy('fire', grace => '1 day', per_customer_cap => 5000) AS p2;

-- The fee schedule (KRW): transfer fees 500, 400 for plain transfers from
-- July; ATM fees 1300, 1500 from September; notifications 300.
SELECT count(*) AS prices FROM (VALUES
	(depwatch.set_fee_schedule('transfer_fee', NULL, 500, '[2023-01-01 00:00+09,)')),
	(depwatch.set_fee_schedule('transfer_fee', 'transfer', 400, '[2023-07-01 00:00+09,)')),
	(depwatch.set_fee_schedule('atm_fee', NULL, 1300, '[2023-01-01 00:00+09, 2023-09-01 00:00+09)')),
	(depwatch.set_fee_schedule('atm_fee', NULL, 1500, '[2023-09-01 00:00+09,)')),
	(depwatch.set_fee_schedule('notification_fee', NULL, 300, '[2023-01-01 00:00+09,)'))) v;
