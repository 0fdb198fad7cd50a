-- bench/economics/plain.sql: the reports as a competent DBA would write
-- them in plain SQL, without depwatch's report functions, to compare with.
--
-- The DBA writes the interval logic themselves (bench.dba_windows below):
-- from depwatch's catalog they read the incident, the dependencies it
-- names and the down outages, and they know their bank's capabilities, so
-- each capability's down time is a multirange expression over its
-- dependencies' down time (+ is "any of them down", * is "all of them
-- down"), clipped to [incident start, incident end).  They do not call
-- capability_outages() or depwatch's internal functions.  The windows are
-- checked against depwatch's own in run.sql.
--
-- Rows inside the windows are read window by window, each through the
-- index on occurred_at: the DBA's first version joined the windows to the
-- ledger directly, and the planner, which guesses 100 rows for each
-- unnest(), chose a hash join over a sequential scan of the whole ledger
-- (2 s instead of 20 ms on 10M rows); a LATERAL subquery with OFFSET 0 (so
-- that it is not flattened back into that join) is the usual cure.  A
-- single index range scan from the first window's start to the last one's
-- end, then a join, was the other candidate: 2x slower on the fire.
--
-- The reports are templates: @transfers@ is the ledger (l10m or l1m),
-- @incident@, @policy@, @baseline@, @horizon@, @period@ and @bucket@ the
-- arguments; run.sql expands them into bench.report.  The other relations
-- (bank.applications, bank.balances, bank.accounts) are shared.  The
-- DBA uses the same indexes depwatch has: occurred_at on the transfers and
-- applications, the primary keys.

\set ON_ERROR_STOP 1

-- Each capability's down windows within an incident (SPEC section 3,
-- "Incidents"): the down outages of the incident's dependencies (those it
-- names, else every dependency), per capability by its requirements:
--   account_opening  core, nice|kcb, idv
--   transfer         core, payment_net
--   simple_transfer  transfer, kakao
--   group_account    core, kakao
--   notification     kakao
--   atm, card        core, payment_net
CREATE FUNCTION bench.dba_windows(incident bigint)
	RETURNS TABLE(capability text, started_at timestamptz, ended_at timestamptz)
LANGUAGE sql STABLE
AS $$
	WITH i AS (
		SELECT i.id, tstzrange(i.started_at, coalesce(i.ended_at, now())) AS span,
			   EXISTS (SELECT FROM depwatch.incident_dependency x WHERE x.incident_id = i.id) AS named
		FROM depwatch.incident i WHERE i.id = incident),
	d AS (
		SELECT d.name,
			   coalesce(range_agg(o.during * i.span) FILTER (WHERE o.id IS NOT NULL),
						'{}'::tstzmultirange) AS down
		FROM i CROSS JOIN depwatch.dependency d
		LEFT JOIN depwatch.outage o
			   ON o.dependency_id = d.id AND o.kind = 'down' AND o.during && i.span
			  AND (NOT i.named OR EXISTS (SELECT FROM depwatch.incident_dependency x
										  WHERE x.incident_id = i.id AND x.dependency_id = d.id))
		GROUP BY d.name),
	dep AS (
		SELECT (SELECT down FROM d WHERE name = 'core') AS core,
			   (SELECT down FROM d WHERE name = 'nice') AS nice,
			   (SELECT down FROM d WHERE name = 'kcb') AS kcb,
			   (SELECT down FROM d WHERE name = 'idv') AS idv,
			   (SELECT down FROM d WHERE name = 'kakao') AS kakao,
			   (SELECT down FROM d WHERE name = 'payment_net') AS payment_net)
	SELECT c.capability, lower(r), upper(r)
	FROM dep
	CROSS JOIN LATERAL (VALUES
		('account_opening', dep.core + dep.nice * dep.kcb + dep.idv),
		('transfer', dep.core + dep.payment_net),
		('simple_transfer', dep.core + dep.payment_net + dep.kakao),
		('group_account', dep.core + dep.kakao),
		('notification', dep.kakao),
		('atm', dep.core + dep.payment_net),
		('card', dep.core + dep.payment_net)) c(capability, down)
	CROSS JOIN LATERAL unnest(c.down) r
$$;

CREATE TABLE bench.template (name text PRIMARY KEY, sql text NOT NULL);

-- impact: per capability, its affected transfers (and applications)
INSERT INTO bench.template VALUES ('impact', $q$
WITH w AS MATERIALIZED (SELECT * FROM bench.dba_windows(@incident@)),
t AS MATERIALIZED (
	SELECT w.capability, x.customer_id, x.status, x.amount
	FROM w CROSS JOIN LATERAL (
		SELECT x.customer_id, x.status, x.amount FROM @transfers@ x
		WHERE x.occurred_at >= w.started_at AND x.occurred_at < w.ended_at AND x.capability = w.capability
		OFFSET 0) x),
a AS MATERIALIZED (
	SELECT x.customer_id, x.status
	FROM w CROSS JOIN LATERAL (
		SELECT x.customer_id, x.status FROM bank.applications x
		WHERE x.occurred_at >= w.started_at AND x.occurred_at < w.ended_at
		OFFSET 0) x
	WHERE w.capability = 'account_opening')
SELECT w.capability, w.started_at, w.ended_at,
	   coalesce(t.attempted, 0) AS attempted, coalesce(t.failed, 0) AS failed,
	   coalesce(c.customers, 0) AS customers, coalesce(t.failed_amount, 0) AS failed_amount,
	   CASE WHEN w.capability = 'account_opening'
			THEN (SELECT count(*) FROM a WHERE a.status = 'failed') END AS applications_failed
FROM (SELECT w.capability, min(w.started_at) AS started_at, max(w.ended_at) AS ended_at
	  FROM w GROUP BY w.capability) w
LEFT JOIN (SELECT t.capability, count(*) AS attempted, count(*) FILTER (WHERE t.status = 'failed') AS failed,
				  sum(abs(t.amount)) FILTER (WHERE t.status = 'failed') AS failed_amount
		   FROM t GROUP BY t.capability) t USING (capability)
LEFT JOIN (SELECT u.capability, count(DISTINCT u.customer_id) AS customers
		   FROM (SELECT t.capability, t.customer_id FROM t
				 UNION ALL SELECT 'account_opening', a.customer_id FROM a) u
		   GROUP BY u.capability) c USING (capability)
ORDER BY w.started_at, w.capability
$q$);

-- fee_waiver: per affected customer, the fees the policy waives
INSERT INTO bench.template VALUES ('fee_waiver', $q$
WITH w AS MATERIALIZED (SELECT * FROM bench.dba_windows(@incident@)),
affected AS MATERIALIZED (
	SELECT x.customer_id
	FROM w CROSS JOIN LATERAL (
		SELECT x.customer_id FROM @transfers@ x
		WHERE x.occurred_at >= w.started_at AND x.occurred_at < w.ended_at AND x.capability = w.capability
		OFFSET 0) x
	UNION
	SELECT x.customer_id
	FROM w CROSS JOIN LATERAL (
		SELECT x.customer_id FROM bank.applications x
		WHERE x.occurred_at >= w.started_at AND x.occurred_at < w.ended_at
		OFFSET 0) x
	WHERE w.capability = 'account_opening')
SELECT x.customer_id::text AS customer_id, count(*) AS fee_count, sum(x.fee) AS fees,
	   CASE WHEN p.per_customer_cap IS NULL THEN sum(x.fee)
			ELSE least(sum(x.fee), p.per_customer_cap) END AS waiver
FROM depwatch.incident i
JOIN depwatch.fee_policy p ON p.name = '@policy@'
JOIN @transfers@ x
  ON x.occurred_at >= i.started_at AND x.occurred_at <= coalesce(i.ended_at, now()) + p.grace
WHERE i.id = @incident@
  AND x.status = 'posted' AND x.fee > 0
  AND (p.fee_types IS NULL OR x.fee_type = ANY (p.fee_types))
  AND (p.capabilities IS NULL OR x.capability = ANY (p.capabilities))
  AND x.customer_id IN (SELECT a.customer_id FROM affected a)
GROUP BY x.customer_id, p.per_customer_cap
ORDER BY 1
$q$);

-- fee_waiver_summary: the waiver beside the same window 1-4 weeks back
INSERT INTO bench.template VALUES ('fee_waiver_summary', $q$
WITH w AS MATERIALIZED (SELECT * FROM bench.dba_windows(@incident@)),
i AS (SELECT i.started_at, coalesce(i.ended_at, now()) AS ended_at FROM depwatch.incident i WHERE i.id = @incident@),
p AS (SELECT * FROM depwatch.fee_policy p WHERE p.name = '@policy@'),
affected AS MATERIALIZED (
	SELECT x.customer_id
	FROM w CROSS JOIN LATERAL (
		SELECT x.customer_id FROM @transfers@ x
		WHERE x.occurred_at >= w.started_at AND x.occurred_at < w.ended_at AND x.capability = w.capability
		OFFSET 0) x
	UNION
	SELECT x.customer_id
	FROM w CROSS JOIN LATERAL (
		SELECT x.customer_id FROM bank.applications x
		WHERE x.occurred_at >= w.started_at AND x.occurred_at < w.ended_at
		OFFSET 0) x
	WHERE w.capability = 'account_opening'),
fees AS (
	SELECT x.customer_id, count(*) AS fee_count,
		   CASE WHEN p.per_customer_cap IS NULL THEN sum(x.fee)
				ELSE least(sum(x.fee), p.per_customer_cap) END AS waiver
	FROM i CROSS JOIN p
	JOIN @transfers@ x ON x.occurred_at >= i.started_at AND x.occurred_at <= i.ended_at + p.grace
	WHERE x.status = 'posted' AND x.fee > 0
	  AND (p.fee_types IS NULL OR x.fee_type = ANY (p.fee_types))
	  AND (p.capabilities IS NULL OR x.capability = ANY (p.capabilities))
	  AND x.customer_id IN (SELECT a.customer_id FROM affected a)
	GROUP BY x.customer_id, p.per_customer_cap),
baseline AS (
	SELECT coalesce(sum(x.fee), 0) / 4 AS fees
	FROM i CROSS JOIN p CROSS JOIN generate_series(1, 4) k
	JOIN @transfers@ x ON x.occurred_at >= i.started_at - k * interval '1 week'
					  AND x.occurred_at <= i.ended_at + p.grace - k * interval '1 week'
	WHERE x.status = 'posted' AND x.fee > 0
	  AND (p.fee_types IS NULL OR x.fee_type = ANY (p.fee_types))
	  AND (p.capabilities IS NULL OR x.capability = ANY (p.capabilities)))
SELECT (SELECT count(*) FROM fees) AS customers,
	   (SELECT coalesce(sum(f.fee_count), 0) FROM fees f)::bigint AS fee_count,
	   (SELECT coalesce(sum(f.waiver), 0) FROM fees f) AS waiver,
	   b.fees AS baseline_fees,
	   100 * (SELECT coalesce(sum(f.waiver), 0) FROM fees f) / nullif(b.fees, 0) AS waiver_pct_of_baseline
FROM baseline b
$q$);

-- fee_waiver_cost: posted rows with fee 0 priced at the schedule in force
-- (the capability's own price, else the fee type's price for any)
INSERT INTO bench.template VALUES ('fee_waiver_cost', $q$
SELECT date_trunc('@bucket@', x.occurred_at) AS bucket_start, x.fee_type, count(*) AS waived_count,
	   sum(coalesce(sc.amount, sa.amount)) AS forgone, coalesce(sum(x.partner_fee), 0) AS partner_cost
FROM @transfers@ x
LEFT JOIN depwatch.fee_schedule sc
	   ON sc.fee_type = x.fee_type AND sc.capability = x.capability AND sc.effective @> x.occurred_at
LEFT JOIN depwatch.fee_schedule sa
	   ON sa.fee_type = x.fee_type AND sa.capability IS NULL AND sa.effective @> x.occurred_at
WHERE x.occurred_at >= lower('@period@'::tstzrange) AND x.occurred_at < upper('@period@'::tstzrange)
  AND x.status = 'posted' AND x.fee = 0 AND x.fee_type IS NOT NULL
  AND (sc.id IS NOT NULL OR sa.id IS NOT NULL)
GROUP BY 1, 2
ORDER BY 1, 2
$q$);

-- deposit_outflow: the common part (the CTEs), used by the per-bucket
-- report and by the summary.  One read of the baseline and horizon's
-- external posted rows; the customers' running outflow only from the
-- horizon's rows; deposits at the start from each account's latest
-- snapshot, one index probe per account.
INSERT INTO bench.template VALUES ('outflow_ctes', $q$
WITH p AS (
	SELECT i.started_at, date_trunc('day', i.started_at) AS s
	FROM depwatch.incident i WHERE i.id = @incident@),
b AS MATERIALIZED (
	SELECT g AS bucket_start, g + interval '1 day' AS bucket_end, g >= p.s AS in_horizon
	FROM p CROSS JOIN generate_series(p.s - interval '@baseline@', p.started_at + interval '@horizon@',
									  interval '1 day') g
	WHERE g < p.started_at + interval '@horizon@'),
r AS MATERIALIZED (
	SELECT date_trunc('day', x.occurred_at) AS bucket_start, x.customer_id, x.amount
	FROM @transfers@ x
	WHERE x.occurred_at >= (SELECT min(b.bucket_start) FROM b)
	  AND x.occurred_at < (SELECT max(b.bucket_end) FROM b)
	  AND x.status = 'posted' AND x.external),
f AS (
	SELECT b.bucket_start, b.in_horizon, coalesce(fl.inflow, 0) AS inflow, coalesce(fl.outflow, 0) AS outflow,
		   coalesce(fl.inflow, 0) - coalesce(fl.outflow, 0) AS net
	FROM b LEFT JOIN (
		SELECT r.bucket_start, sum(r.amount) FILTER (WHERE r.amount > 0) AS inflow,
			   -sum(r.amount) FILTER (WHERE r.amount < 0) AS outflow
		FROM r GROUP BY r.bucket_start) fl USING (bucket_start)),
base AS (SELECT avg(f.net) AS expected, stddev_samp(f.net) AS sd FROM f WHERE NOT f.in_horizon),
start_balance AS MATERIALIZED (
	SELECT a.customer_id, y.balance
	FROM p CROSS JOIN bank.accounts a
	CROSS JOIN LATERAL (SELECT y.balance FROM bank.balances y
						WHERE y.account_id = a.account_id AND y.as_of <= p.started_at
						ORDER BY y.as_of DESC LIMIT 1) y),
deposits AS (SELECT coalesce(sum(y.balance), 0) AS total FROM start_balance y),
customer_balance AS (
	SELECT y.customer_id, sum(y.balance) AS balance FROM start_balance y
	GROUP BY y.customer_id HAVING sum(y.balance) > 0),
customer_out AS (
	SELECT c.bucket_start, c.customer_id,
		   sum(c.net_out) OVER w AS running_out, lead(c.bucket_start) OVER w AS next_bucket
	FROM (SELECT r.bucket_start, r.customer_id, -sum(r.amount) AS net_out
		  FROM r JOIN b USING (bucket_start) WHERE b.in_horizon
		  GROUP BY r.bucket_start, r.customer_id) c
	WINDOW w AS (PARTITION BY c.customer_id ORDER BY c.bucket_start)),
drained AS (
	SELECT b.bucket_start, count(*) AS customers
	FROM customer_out co
	JOIN customer_balance cb USING (customer_id)
	JOIN b ON b.in_horizon AND b.bucket_start >= co.bucket_start
		  AND (co.next_bucket IS NULL OR b.bucket_start < co.next_bucket)
	WHERE co.running_out >= cb.balance / 2
	GROUP BY b.bucket_start),
closed AS (
	SELECT date_trunc('day', z.closed_at) AS bucket_start, count(*) AS accounts
	FROM bank.accounts z
	WHERE z.closed_at >= (SELECT min(b.bucket_start) FROM b WHERE b.in_horizon)
	  AND z.closed_at < (SELECT max(b.bucket_end) FROM b)
	GROUP BY 1),
o AS (
	SELECT f.bucket_start, f.inflow, f.outflow, f.net,
		   base.expected AS expected_net,
		   f.net - base.expected AS abnormal_net,
		   (f.net - base.expected) / nullif(base.sd, 0) AS zscore,
		   sum(f.net - base.expected) OVER (ORDER BY f.bucket_start) AS cumulative_abnormal,
		   100 * sum(f.net) OVER (ORDER BY f.bucket_start) / nullif(d.total, 0) AS pct_of_deposits,
		   coalesce(dr.customers, 0) AS customers_drained,
		   coalesce(cl.accounts, 0) AS accounts_closed
	FROM f CROSS JOIN base CROSS JOIN deposits d
	LEFT JOIN drained dr USING (bucket_start)
	LEFT JOIN closed cl USING (bucket_start)
	WHERE f.in_horizon)
$q$);

INSERT INTO bench.template
SELECT 'deposit_outflow', t.sql || $q$
SELECT * FROM o ORDER BY o.bucket_start
$q$ FROM bench.template t WHERE t.name = 'outflow_ctes';

INSERT INTO bench.template
SELECT 'deposit_outflow_summary', t.sql || $q$
SELECT d.total AS deposits_at_start, sum(o.net) AS net_flow, -sum(o.abnormal_net) AS abnormal_outflow,
	   -100 * sum(o.net) FILTER (WHERE o.bucket_start < p.started_at + least(interval '@horizon@', interval '30 days'))
		   / nullif(d.total, 0) AS runoff_pct,
	   5::numeric AS lcr_stable_pct, 10::numeric AS lcr_less_stable_pct,
	   (array_agg(o.customers_drained ORDER BY o.bucket_start DESC))[1] AS customers_drained,
	   min(o.zscore) AS worst_zscore
FROM o CROSS JOIN p CROSS JOIN deposits d
GROUP BY d.total, p.started_at
$q$ FROM bench.template t WHERE t.name = 'outflow_ctes';
