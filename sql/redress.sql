-- Redress beyond fees (SPEC section 9): tiered payouts per customer of an
-- incident, on failed value or lost activity, reproducing a hand-computed
-- tier table on a small ledger.  The tier table of the first policy is the
-- messaging company's 2022 compensation of small merchants (KRW 30,000 for
-- a loss up to 300,000, 50,000 up to 500,000).
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION depwatch CASCADE;
RESET client_min_messages;
SET TimeZone = 'UTC';
SET search_path = depwatch, public;

-- try(call) runs one call in a subtransaction and says how it failed.
CREATE FUNCTION try(call text, OUT state text, OUT message text, OUT detail text, OUT hint text)
LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE call;
	state := 'no error';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT,
							detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
END
$$;

SELECT count(*) FROM (VALUES
	(add_dependency('core', 'core', tracked_since => '1990-01-01 00:00+00')),
	(add_dependency('msg', 'messaging', tracked_since => '1990-01-01 00:00+00'))) v;
SELECT add_capability('simple_transfer', ARRAY['core', 'msg']) > 0;
SELECT add_capability('group_account', ARRAY['msg']) > 0;
SELECT add_capability('transfer', ARRAY['core']) > 0;
-- 2022-10-15 (a Saturday): msg down 06:00-07:00 and 07:30-08:00, so
-- simple_transfer and group_account have two down windows each; transfer
-- stays up.  The incident runs 06:00-09:00.
SELECT count(*) FROM (VALUES
	(record_outage('msg', '2022-10-15 06:00', '2022-10-15 07:00')),
	(record_outage('msg', '2022-10-15 07:30', '2022-10-15 08:00'))) v;
SELECT open_incident('fire', '2022-10-15 06:00', ARRAY['msg']);
SELECT close_incident(1, '2022-10-15 09:00');

-- ---------------------------------------------------------------------------
-- policies: the 2022 table, a capped one on simple_transfer alone, and one
-- on lost activity
-- ---------------------------------------------------------------------------
SELECT add_redress_policy('kakao_2022', basis => 'failed_value',
						  tiers => '[{"up_to": 300000, "pay": 30000}, {"up_to": 500000, "pay": 50000}]');
SELECT add_redress_policy('capped', ARRAY['simple_transfer'], 'failed_value',
						  '[{"up_to": 100000, "pay": 10000}, {"up_to": 400000, "pay": 40000},
							{"up_to": 1000000, "pay": 90000}]', cap => 60000);
SELECT add_redress_policy('lost', basis => 'lost_activity',
						  tiers => '[{"up_to": 50000, "pay": 5000}, {"up_to": 200000, "pay": 20000}]');
SELECT name, capabilities, basis, tiers, cap FROM redress_policy ORDER BY id;
-- audited like every configuration table
SELECT table_name, action, new->>'name' AS name FROM audit_log
WHERE table_name = 'redress_policy' ORDER BY id;

-- no ledger bound yet
SELECT * FROM try($$SELECT * FROM depwatch.redress(1, 'kakao_2022')$$);

CREATE SCHEMA bank;
CREATE TABLE bank.transfers (
	txn_id serial PRIMARY KEY, account_id int, customer_id text, occurred_at timestamptz NOT NULL,
	amount numeric NOT NULL, fee numeric NOT NULL DEFAULT 0, fee_type text,
	capability text, status text NOT NULL, external boolean NOT NULL DEFAULT false);
CREATE INDEX ON bank.transfers (occurred_at);
INSERT INTO bank.transfers (customer_id, occurred_at, amount, capability, status) VALUES
	-- failed value, in the down windows
	('m1', '2022-10-15 06:10', -300000, 'simple_transfer', 'failed'),	-- exactly 300,000
	('m2', '2022-10-15 06:20', -100000, 'simple_transfer', 'failed'),	-- 100,000 + 200,001
	('m2', '2022-10-15 07:40', -200001, 'group_account', 'failed'),
	('m3', '2022-10-15 07:35', -500000, 'simple_transfer', 'failed'),	-- exactly 500,000
	('m4', '2022-10-15 06:30', -2000000, 'simple_transfer', 'failed'),	-- above the last tier
	('m8', '2022-10-15 06:50', 150000, 'simple_transfer', 'failed'),	-- incoming: |amount|
	-- not counted: between the windows, after the incident, a capability
	-- that stayed up, posted rather than failed
	('m5', '2022-10-15 07:10', -70000, 'simple_transfer', 'failed'),
	('m5', '2022-10-15 09:30', -70000, 'simple_transfer', 'failed'),
	('m7', '2022-10-15 06:15', -90000, 'transfer', 'failed'),
	('m6', '2022-10-15 06:40', -80000, 'simple_transfer', 'posted'),
	-- lost activity: the same windows 1 to 4 weeks back (10-08, 10-01,
	-- 09-24, 09-17), posted rows only
	('a1', '2022-10-08 06:30', -40000, 'simple_transfer', 'posted'),	-- usual 40,000, none now
	('a1', '2022-10-01 06:30', -40000, 'simple_transfer', 'posted'),
	('a1', '2022-09-24 06:30', -40000, 'simple_transfer', 'posted'),
	('a1', '2022-09-17 06:30', -40000, 'simple_transfer', 'posted'),
	('a2', '2022-10-08 07:45', 100000, 'group_account', 'posted'),		-- usual 50,000, none now
	('a2', '2022-10-01 07:45', 100000, 'group_account', 'posted'),
	('a3', '2022-10-08 06:05', -250000, 'simple_transfer', 'posted'),	-- usual 250,000, 30,000 now
	('a3', '2022-10-01 06:05', -250000, 'simple_transfer', 'posted'),
	('a3', '2022-09-24 07:55', -250000, 'group_account', 'posted'),
	('a3', '2022-09-17 06:05', -250000, 'simple_transfer', 'posted'),
	('a3', '2022-10-15 06:05', -30000, 'simple_transfer', 'posted'),
	('a4', '2022-10-08 06:05', -40000, 'simple_transfer', 'posted'),	-- usual 10,000, 60,000 now: 0
	('a4', '2022-10-15 06:05', -60000, 'simple_transfer', 'posted'),
	('a7', '2022-10-08 06:05', -30000, 'simple_transfer', 'posted'),	-- usual 25,000, 5,000 now
	('a7', '2022-09-24 07:31', -70000, 'group_account', 'posted'),
	('a7', '2022-10-15 07:50', -5000, 'group_account', 'posted'),
	-- not counted: between the shifted windows, a capability that stayed
	-- up, failed rows, five weeks back
	('a5', '2022-10-08 07:10', -40000, 'simple_transfer', 'posted'),
	('a6', '2022-10-08 06:10', -40000, 'transfer', 'posted'),
	('a8', '2022-10-08 06:10', -40000, 'simple_transfer', 'failed'),
	('a9', '2022-09-10 06:10', -40000, 'simple_transfer', 'posted');
SELECT bind_ledger('bank.transfers');

-- ---------------------------------------------------------------------------
-- failed value under the 2022 table: up_to is inclusive (m1 at 300,000
-- gets 30,000, m3 at 500,000 gets 50,000), m2 just above 300,000 gets
-- 50,000, m4 above the last tier gets the last tier's 50,000; m5, m6 and
-- m7 have nothing and are not listed
-- ---------------------------------------------------------------------------
SELECT * FROM redress(1, 'kakao_2022');
SELECT * FROM redress_summary(1, 'kakao_2022');
-- the capped policy counts simple_transfer alone: m2's 100,000 is exactly
-- the first tier; m3 (90,000) and m4 (above the last: 90,000) are capped
-- at 60,000
SELECT * FROM redress(1, 'capped');
SELECT * FROM redress_summary(1, 'capped');
-- lost activity: a1 40,000 -> 5,000; a2 exactly 50,000 -> 5,000; a3
-- 250,000 - 30,000 = 220,000, above the last tier -> 20,000; a7 25,000 -
-- 5,000 = 20,000 -> 5,000; a4 posted more than usual and is not listed
SELECT * FROM redress(1, 'lost');
SELECT * FROM redress_summary(1, 'lost');

-- the totals match the ledger read by plain SQL over the down windows
SELECT (SELECT amount FROM redress_summary(1, 'kakao_2022')) =
	   (SELECT sum(abs(t.amount)) FROM bank.transfers t
		WHERE t.status = 'failed' AND t.capability IN ('simple_transfer', 'group_account')
		  AND (t.occurred_at >= '2022-10-15 06:00' AND t.occurred_at < '2022-10-15 07:00'
			   OR t.occurred_at >= '2022-10-15 07:30' AND t.occurred_at < '2022-10-15 08:00'))
	   AS failed_value_matches_ledger,
	   (SELECT amount FROM redress_summary(1, 'kakao_2022')) =
	   (SELECT sum(failed_amount) FROM impact(1)) AS failed_value_matches_impact,
	   (SELECT amount FROM redress_summary(1, 'capped')) =
	   (SELECT sum(failed_amount) FROM impact(1) WHERE capability = 'simple_transfer')
	   AS capped_matches_impact;
WITH windows(lo, hi) AS (VALUES ('2022-10-15 06:00'::timestamptz, '2022-10-15 07:00'::timestamptz),
								('2022-10-15 07:30', '2022-10-15 08:00')),
rows AS (
	SELECT t.customer_id, k, abs(t.amount) AS amount
	FROM bank.transfers t CROSS JOIN generate_series(0, 4) k JOIN windows w
	  ON t.occurred_at >= w.lo - k * interval '1 week' AND t.occurred_at < w.hi - k * interval '1 week'
	WHERE t.status = 'posted' AND t.capability IN ('simple_transfer', 'group_account')),
per_customer AS (
	SELECT customer_id,
		   greatest(sum(amount) FILTER (WHERE k > 0) / 4 - coalesce(sum(amount) FILTER (WHERE k = 0), 0), 0) AS lost
	FROM rows GROUP BY customer_id)
SELECT (SELECT amount FROM redress_summary(1, 'lost')) = sum(lost) AS lost_activity_matches_ledger,
	   (SELECT customers FROM redress_summary(1, 'lost')) = count(*) FILTER (WHERE lost > 0) AS customers_match
FROM per_customer;

-- idempotent, and writes nothing
CREATE TEMP TABLE first_run AS
	SELECT 'kakao_2022' AS policy, r.* FROM redress(1, 'kakao_2022') r
	UNION ALL SELECT 'lost', r.* FROM redress(1, 'lost') r;
SELECT count(*) AS audit_rows FROM audit_log \gset
SELECT count(*) AS ledger_rows FROM bank.transfers \gset
CREATE TEMP TABLE second_run AS
	SELECT 'kakao_2022' AS policy, r.* FROM redress(1, 'kakao_2022') r
	UNION ALL SELECT 'lost', r.* FROM redress(1, 'lost') r;
SELECT (SELECT count(*) FROM first_run) AS rows,
	   NOT EXISTS ((TABLE first_run EXCEPT TABLE second_run) UNION ALL (TABLE second_run EXCEPT TABLE first_run))
	   AS same_rows,
	   (SELECT count(*) FROM audit_log) = :audit_rows AS no_audit_row,
	   (SELECT count(*) FROM bank.transfers) = :ledger_rows AS ledger_unchanged;
SELECT provolatile, prosecdef FROM pg_proc
WHERE oid IN ('depwatch.redress(bigint, text)'::regprocedure, 'depwatch.redress_summary(bigint, text)'::regprocedure);

-- an incident no policy capability was down in: nothing, and a zero summary
SELECT open_incident('quiet', '2022-11-01 06:00', ARRAY['core']);
SELECT close_incident(2, '2022-11-01 07:00');
SELECT * FROM redress(2, 'kakao_2022');
SELECT * FROM redress_summary(2, 'kakao_2022');

-- ---------------------------------------------------------------------------
-- errors
-- ---------------------------------------------------------------------------
SELECT t.* FROM (VALUES
	($$SELECT depwatch.add_redress_policy(NULL, tiers => '[{"up_to": 1, "pay": 1}]')$$),
	($$SELECT depwatch.add_redress_policy('Kakao', tiers => '[{"up_to": 1, "pay": 1}]')$$),
	($$SELECT depwatch.add_redress_policy('kakao_2022', tiers => '[{"up_to": 1, "pay": 1}]')$$),
	($$SELECT depwatch.add_redress_policy('p', ARRAY['simple_transfer', 'atm'], tiers => '[{"up_to": 1, "pay": 1}]')$$),
	($$SELECT depwatch.add_redress_policy('p', ARRAY[]::text[], tiers => '[{"up_to": 1, "pay": 1}]')$$),
	($$SELECT depwatch.add_redress_policy('p', basis => 'refund', tiers => '[{"up_to": 1, "pay": 1}]')$$),
	($$SELECT depwatch.add_redress_policy('p', basis => NULL, tiers => '[{"up_to": 1, "pay": 1}]')$$),
	($$SELECT depwatch.add_redress_policy('p')$$),
	($$SELECT depwatch.add_redress_policy('p', tiers => '{"up_to": 1, "pay": 1}')$$),
	($$SELECT depwatch.add_redress_policy('p', tiers => '[]')$$),
	($$SELECT depwatch.add_redress_policy('p', tiers => '[300000]')$$),
	($$SELECT depwatch.add_redress_policy('p', tiers => '[{"up_to": 1}]')$$),
	($$SELECT depwatch.add_redress_policy('p', tiers => '[{"up_to": "300000", "pay": 1}]')$$),
	($$SELECT depwatch.add_redress_policy('p', tiers => '[{"up_to": 1, "pay": 1, "note": "x"}]')$$),
	($$SELECT depwatch.add_redress_policy('p', tiers => '[{"up_to": 0, "pay": 1}]')$$),
	($$SELECT depwatch.add_redress_policy('p', tiers => '[{"up_to": 5, "pay": 1}, {"up_to": 5, "pay": 2}]')$$),
	($$SELECT depwatch.add_redress_policy('p', tiers => '[{"up_to": 5, "pay": 1}, {"up_to": 4, "pay": 2}]')$$),
	($$SELECT depwatch.add_redress_policy('p', tiers => '[{"up_to": 5, "pay": -1}]')$$),
	($$SELECT depwatch.add_redress_policy('p', tiers => '[{"up_to": 5, "pay": 1}]', cap => -1)$$),
	($$SELECT depwatch.add_redress_policy('p', tiers => (SELECT jsonb_agg(jsonb_build_object('up_to', n, 'pay', n))
														 FROM generate_series(1, 101) n))$$),
	($$SELECT * FROM depwatch.redress(1, 'nope')$$),
	($$SELECT * FROM depwatch.redress(1, NULL)$$),
	($$SELECT * FROM depwatch.redress(99, 'kakao_2022')$$),
	($$SELECT * FROM depwatch.redress_summary(1, 'nope')$$)) c(call)
CROSS JOIN LATERAL try(c.call) t;
-- none of the refused calls added a policy
SELECT count(*) FROM redress_policy;

DROP SCHEMA bank CASCADE;
DROP FUNCTION try(text);
DROP EXTENSION depwatch;
DROP EXTENSION btree_gist;
