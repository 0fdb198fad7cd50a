-- bench/economics/generate.sql: the bank's ledger for the economics
-- benchmark, made set-based and reproducibly (setseed) after setup.sql.
--
-- psql variables: seed, n (transfers of the large ledger, 10,000,000),
-- n_small (of the small one, 1,000,000), customers (100,000).
--
--   bank.accounts      1.3 accounts per customer (30 % have two), opened
--                      before 2023; 3 % closed during 2023
--   bank.balances      a snapshot of every open account on the 1st of each
--                      month, and a 0 when it closes
--   bank.applications  account opening over 2023 (150,000) and a promotion
--                      during the bureau incident (6,000 more); most fail
--                      while account_opening is down
--   l10m.transfers     n transfers over 2023 in time order (a ledger is
--                      appended to as it happens, so occurred_at follows the
--                      heap): transfer 45 %, simple_transfer 20 %, card 15 %,
--                      atm 8 %, notification 7 %, group_account 5 %; 85 %
--                      fail while their capability is down; transfer, ATM
--                      and notification fees at the schedule's prices, 30 %
--                      of them waived (fee 0) as a free quota, and all of
--                      them from 10-20 to the end of October (a waiver
--                      programme after the fire); the ATM operator's 900 in
--                      partner_fee;
--                      after the fire, external transfers lean outwards for
--                      a week and 1 customer in 40 drains 60 % of the
--                      balance (1 in 120 also closes the account)
--   l1m.transfers      the small ledger: every row of l10m.transfers inside
--                      the scale test's windows (bench.scale_window), and
--                      an even sample of the rest, n_small rows in all
--
-- Both ledgers have a primary key on txn_id and an index on occurred_at,
-- built after loading; applications, balances and accounts are shared.

\set ON_ERROR_STOP 1
\set t0 '2023-01-01 00:00+09'
\set t1 '2024-01-01 00:00+09'
SET TimeZone = 'Asia/Seoul';
SET client_min_messages = warning;
CREATE SCHEMA bank;
CREATE SCHEMA l10m;
CREATE SCHEMA l1m;
CREATE SCHEMA bench;
RESET client_min_messages;

-- Where each capability was really down (every dependency, incident or
-- not): the ledger shows the failures.
CREATE TEMP TABLE hint AS
SELECT c.name AS capability, range_agg(tstzrange(o.started_at, o.ended_at)) AS down
FROM depwatch.capability c
CROSS JOIN LATERAL depwatch.capability_outages(c.name, tstzrange(:'t0', :'t1')) o
WHERE o.kind = 'down'
GROUP BY c.name;

-- When a drained customer moves the money out: spread over the 6 days
-- after the fire, by customer.
CREATE FUNCTION pg_temp.drain_at(c bigint) RETURNS timestamptz
LANGUAGE sql IMMUTABLE AS $$
	SELECT timestamptz '2023-10-15 16:00+09' + (c * 7919 % 518400) * interval '1 second'
$$;

SELECT setseed(:seed);

CREATE TABLE bank.accounts (
	account_id	bigint PRIMARY KEY,
	customer_id	bigint NOT NULL,
	opened_at	timestamptz NOT NULL,
	closed_at	timestamptz
);
INSERT INTO bank.accounts
SELECT c * 10 + k, c,
	   timestamptz '2021-07-27 09:00+09' + random() * interval '520 days' + (k - 1) * interval '30 days',
	   CASE WHEN c % 120 = 0 AND k = 1 THEN pg_temp.drain_at(c) + interval '2 hours'
			WHEN random() < 0.03 THEN :'t0'::timestamptz + random() * interval '365 days' END
FROM generate_series(1, :customers) c
CROSS JOIN generate_series(1, 2) k
WHERE k = 1 OR c % 10 < 3
ORDER BY c, k;
CREATE INDEX ON bank.accounts (customer_id);

CREATE TABLE bank.balances (
	account_id	bigint NOT NULL,
	customer_id	bigint NOT NULL,
	as_of		timestamptz NOT NULL,
	balance		numeric NOT NULL,
	PRIMARY KEY (account_id, as_of)
);
INSERT INTO bank.balances
SELECT a.account_id, a.customer_id, m.as_of,
	   round(a.base * (1 + 0.015 * m.i + 0.1 * (random() - 0.5)))
FROM (SELECT x.account_id, x.customer_id, x.opened_at, x.closed_at, exp(11 + 5 * random()) AS base
	  FROM bank.accounts x ORDER BY x.account_id OFFSET 0) a
CROSS JOIN (SELECT i, :'t0'::timestamptz + i * interval '1 month' AS as_of
			FROM generate_series(0, 11) i) m
WHERE a.opened_at <= m.as_of AND (a.closed_at IS NULL OR a.closed_at > m.as_of)
UNION ALL
SELECT a.account_id, a.customer_id, a.closed_at, 0
FROM bank.accounts a WHERE a.closed_at IS NOT NULL
ORDER BY 3, 1;

CREATE TABLE bank.applications (
	application_id	bigint PRIMARY KEY,
	customer_id		bigint NOT NULL,
	occurred_at		timestamptz NOT NULL,
	status			text NOT NULL,
	reason			text
);
INSERT INTO bank.applications
SELECT r.g, r.customer_id, r.ts,
	   CASE WHEN coalesce(h.down @> r.ts, false) THEN
				CASE WHEN r.u < 0.9 THEN 'failed' ELSE 'abandoned' END
			WHEN r.u < 0.80 THEN 'approved' WHEN r.u < 0.88 THEN 'failed' ELSE 'abandoned' END,
	   CASE WHEN coalesce(h.down @> r.ts, false) THEN
				CASE WHEN r.u < 0.9 THEN 'bureau timeout' ELSE 'gave up' END
			WHEN r.u < 0.80 THEN NULL WHEN r.u < 0.88 THEN 'declined' ELSE 'gave up' END
FROM (SELECT g,
			 CASE WHEN g > 150000 THEN timestamptz '2023-03-06 09:00+09'
									   + ((g - 150001) + random()) * interval '36 hours' / 6000
				  ELSE :'t0'::timestamptz + ((g - 1) + random()) * interval '365 days' / 150000 END AS ts,
			 CASE WHEN random() < 0.15 THEN 1 + floor(random() * :customers)::bigint
				  ELSE :customers + g END AS customer_id,
			 random() AS u
	  FROM generate_series(1, 156000) g OFFSET 0) r
LEFT JOIN hint h ON h.capability = 'account_opening';
CREATE INDEX ON bank.applications (occurred_at);

-- The large ledger
CREATE TABLE l10m.transfers (
	txn_id		bigint NOT NULL,
	account_id	bigint NOT NULL,
	customer_id	bigint NOT NULL,
	occurred_at	timestamptz NOT NULL,
	amount		numeric NOT NULL,
	fee			numeric NOT NULL,
	fee_type	text,
	capability	text NOT NULL,
	status		text NOT NULL,
	external	boolean NOT NULL,
	partner_fee	numeric
);

INSERT INTO l10m.transfers
SELECT s.g, s.customer_id * 10 + CASE WHEN s.customer_id % 10 < 3 AND s.u_acct < 0.4 THEN 2 ELSE 1 END,
	   s.customer_id, s.ts,
	   CASE WHEN s.inward THEN s.size ELSE -s.size END,
	   CASE WHEN s.fee_type IS NOT NULL AND s.status = 'posted' AND NOT s.waived THEN s.price ELSE 0 END,
	   s.fee_type, s.capability, s.status, s.external,
	   CASE WHEN s.capability = 'atm' AND s.status = 'posted' THEN 900 END
FROM (
	SELECT c.*,
		   CASE WHEN coalesce(h.down @> c.ts, false) THEN
					CASE WHEN c.u_st < 0.85 THEN 'failed' ELSE 'posted' END
				WHEN c.u_st < 0.965 THEN 'posted' WHEN c.u_st < 0.985 THEN 'failed'
				WHEN c.u_st < 0.993 THEN 'reversed' ELSE 'pending' END AS status,
		   CASE WHEN c.capability IN ('transfer', 'simple_transfer') AND c.external AND NOT c.inward THEN 'transfer_fee'
				WHEN c.capability = 'atm' AND NOT c.inward THEN 'atm_fee'
				WHEN c.capability = 'notification' THEN 'notification_fee' END AS fee_type,
		   CASE c.capability
				WHEN 'transfer' THEN CASE WHEN c.ts >= '2023-07-01 00:00+09' THEN 400 ELSE 500 END
				WHEN 'simple_transfer' THEN 500
				WHEN 'atm' THEN CASE WHEN c.ts >= '2023-09-01 00:00+09' THEN 1500 ELSE 1300 END
				WHEN 'notification' THEN 300 END AS price,
		   c.u_free < 0.3 OR (c.ts >= '2023-10-20 00:00+09' AND c.ts < '2023-11-01 00:00+09') AS waived
	FROM (
		SELECT b.g, b.ts, b.customer_id, b.u_st, b.u_free, b.u_acct, b.capability,
			   CASE b.capability
					WHEN 'transfer' THEN b.u_ext < 0.7
					WHEN 'simple_transfer' THEN b.u_ext < 0.25
					WHEN 'card' THEN true
					WHEN 'atm' THEN true
					ELSE false END AS external,
			   CASE b.capability
					WHEN 'transfer' THEN b.u_dir < CASE WHEN b.ts >= '2023-10-15 15:30+09'
														 AND b.ts < '2023-10-22 15:30+09' THEN 0.55 ELSE 0.64 END
					WHEN 'simple_transfer' THEN b.u_dir < 0.45
					WHEN 'card' THEN b.u_dir < 0.03
					WHEN 'atm' THEN b.u_dir < 0.1
					WHEN 'group_account' THEN b.u_dir < 0.5
					ELSE false END AS inward,
			   CASE b.capability
					WHEN 'transfer' THEN round(exp(8 + 6 * b.u_amt))
					WHEN 'simple_transfer' THEN round(exp(7 + 5 * b.u_amt))
					WHEN 'card' THEN round(exp(7 + 5 * b.u_amt))
					WHEN 'atm' THEN 10000 * (1 + floor(30 * b.u_amt))
					WHEN 'group_account' THEN round(exp(8 + 5 * b.u_amt))
					ELSE 0 END::numeric AS size
		FROM (
			SELECT g,
				   :'t0'::timestamptz + ((g - 1) + random()) * (interval '365 days' / :n) AS ts,
				   1 + floor(random() * :customers)::bigint AS customer_id,
				   CASE WHEN u_cap < 0.45 THEN 'transfer' WHEN u_cap < 0.65 THEN 'simple_transfer'
						WHEN u_cap < 0.80 THEN 'card' WHEN u_cap < 0.88 THEN 'atm'
						WHEN u_cap < 0.95 THEN 'notification' ELSE 'group_account' END AS capability,
				   random() AS u_ext, random() AS u_dir, random() AS u_amt, random() AS u_st,
				   random() AS u_free, random() AS u_acct
			FROM (SELECT g, random() AS u_cap FROM generate_series(1, :n) g OFFSET 0) a
			OFFSET 0) b
		OFFSET 0) c
	LEFT JOIN hint h ON h.capability = c.capability
	OFFSET 0) s;

-- After the fire, 1 customer in 40 moves 60 % of the balance out.
INSERT INTO l10m.transfers
SELECT :n + row_number() OVER (ORDER BY d.at, d.customer_id), d.customer_id * 10 + 1, d.customer_id, d.at,
	   -round(0.6 * d.balance), 0, 'transfer_fee', 'transfer', 'posted', true, NULL
FROM (SELECT y.customer_id, pg_temp.drain_at(y.customer_id) AS at, sum(y.balance) AS balance
	  FROM (SELECT DISTINCT ON (b.account_id) b.customer_id, b.balance
			FROM bank.balances b
			WHERE b.customer_id % 40 = 0 AND b.as_of <= '2023-10-15 15:30+09'
			ORDER BY b.account_id, b.as_of DESC) y
	  GROUP BY y.customer_id HAVING sum(y.balance) > 0) d
ORDER BY 1;

ALTER TABLE l10m.transfers ADD PRIMARY KEY (txn_id);
CREATE INDEX transfers_occurred_at ON l10m.transfers (occurred_at);

-- The scale test's windows (run.sql, "scale"): every range of occurred_at
-- one of its report calls reads.  Each incident's span (impact); the
-- bureaus' fee window [start, end + 1 day] (fee_waiver); the fire's fee
-- window and the same window 1 to 4 weeks back (fee_waiver_summary);
-- deposit_outflow with 7 days of baseline and of horizon: the day buckets
-- from 10-08 to 10-22 (the horizon's last bucket starts before the fire's
-- start + 7 days); fee_waiver_cost over the week of 10-15.
CREATE TABLE bench.scale_window (what text, during tstzrange);
INSERT INTO bench.scale_window
SELECT 'incident ' || i.id, tstzrange(i.started_at, i.ended_at, '[]') FROM depwatch.incident i
UNION ALL
SELECT 'bureaus fees', tstzrange(i.started_at, i.ended_at + interval '1 day', '[]')
FROM depwatch.incident i WHERE i.id = 1
UNION ALL
SELECT 'fire fees, ' || k || ' weeks back',
	   tstzrange(i.started_at - k * interval '1 week', i.ended_at + interval '1 day' - k * interval '1 week', '[]')
FROM depwatch.incident i, generate_series(0, 4) k WHERE i.id = 2
UNION ALL
SELECT 'deposit_outflow 7 days / 7 days', tstzrange('2023-10-08 00:00+09', '2023-10-23 00:00+09')
UNION ALL
SELECT 'fee_waiver_cost, a week', tstzrange('2023-10-15 00:00+09', '2023-10-22 00:00+09');

-- The small ledger: the same rows inside those windows, an even sample
-- outside them.
CREATE TABLE l1m.transfers (LIKE l10m.transfers);
SELECT count(*) FILTER (WHERE (SELECT range_agg(during) FROM bench.scale_window) @> x.occurred_at) AS inside,
	   count(*) AS total
FROM l10m.transfers x \gset
INSERT INTO l1m.transfers
SELECT x.* FROM l10m.transfers x
WHERE (SELECT range_agg(during) FROM bench.scale_window) @> x.occurred_at
   OR floor(x.txn_id * (:n_small - :inside)::numeric / (:total - :inside))
	  <> floor((x.txn_id - 1) * (:n_small - :inside)::numeric / (:total - :inside))
ORDER BY x.txn_id;
ALTER TABLE l1m.transfers ADD PRIMARY KEY (txn_id);
CREATE INDEX transfers_occurred_at ON l1m.transfers (occurred_at);

VACUUM (FREEZE, ANALYZE) bank.accounts, bank.balances, bank.applications, l10m.transfers, l1m.transfers;
