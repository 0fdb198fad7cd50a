-- scenario.sql: the properties of scenario() (SPEC section 9) on a random
-- map and ledger (fixed seed): a longer scenario never shows less; losing
-- more names never shows less; k of n: losing n - k + 1 members of a
-- group breaks it, n - k does not; and who may run what: a reader runs
-- scenario() and resilience_report(), only an admin saves a scenario, and
-- the ledger is read with the caller's rights.
BEGIN;
SET TimeZone = 'UTC';
SELECT plan(14);

CREATE FUNCTION pg_temp.run(query text) RETURNS SETOF text
LANGUAGE plpgsql AS $$
BEGIN
	RETURN QUERY EXECUTE query;
EXCEPTION WHEN OTHERS THEN
	RETURN NEXT format('ERROR %s', SQLSTATE);
END
$$;

SELECT setseed(0.2022);

-- 24 dependencies on 5 sites and 4 vendors; 10 capabilities of 1 to 3
-- groups over them (some k of n), two of them nested.
SELECT count(*) FROM (
	SELECT depwatch.add_dependency('d' || g, 'other', site => 's' || (g % 5), vendor => 'v' || (g * 7 % 4),
								   tracked_since => '2020-01-01 00:00+00')
	FROM generate_series(1, 24) g) x;
CREATE TEMP TABLE cap_def AS
SELECT c, ARRAY(
	SELECT CASE WHEN n = 1 THEN 'd' || (1 + (c * 5 + grp * 11) % 24)
				ELSE least(k, n) || ':' || (SELECT string_agg('d' || (1 + (c * 3 + grp * 7 + m * 5) % 24), '|')
											  FROM generate_series(1, n) m) END
	FROM generate_series(1, 1 + c % 3) grp,
		 LATERAL (SELECT 1 + (c + grp) % 4 AS n, 1 + (c * grp) % 3 AS k) p) AS requires
FROM generate_series(1, 8) c;
SELECT count(*) FROM (
	SELECT depwatch.add_capability('c' || c, requires,
								   impact_tolerance => CASE WHEN c % 2 = 0 THEN c * interval '1 hour' END)
	FROM cap_def) x;
SELECT depwatch.add_capability('n1', ARRAY['c1', 'c2|d3']);
SELECT depwatch.add_capability('n2', ARRAY['2:n1|c4|c5'], impact_tolerance => '3 hours');

-- a ledger: 20,000 rows over the 8 weeks before 2024-06-03
CREATE SCHEMA scen_bank;
CREATE TABLE scen_bank.transfers (txn_id bigint, account_id bigint, customer_id text, occurred_at timestamptz,
	amount numeric, fee numeric, fee_type text, capability text, status text, external boolean);
INSERT INTO scen_bank.transfers
SELECT g, g % 300, 'c' || (g % 300), timestamptz '2024-04-08' + random() * interval '56 days',
	   round((random() * 2000 - 1000)::numeric, 2), CASE WHEN g % 3 = 0 THEN 50 ELSE 0 END, 'transfer_fee',
	   (ARRAY['c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7', 'c8', 'n1', 'n2'])[1 + g % 10],
	   CASE WHEN g % 9 = 0 THEN 'failed' ELSE 'posted' END, false
FROM generate_series(1, 20000) g;
CREATE INDEX ON scen_bank.transfers (occurred_at);
SELECT depwatch.bind_ledger('scen_bank.transfers');

CREATE TEMP TABLE providers AS
SELECT DISTINCT p FROM depwatch.dependency d, LATERAL (VALUES (d.site), (d.vendor), (d.name)) v(p);

-- ---------------------------------------------------------------------------
-- A longer scenario never shows less (2)
-- ---------------------------------------------------------------------------
CREATE TEMP TABLE longer AS
SELECT p.p, l.short, l.long, s.capability,
	   s.down AS s_down, s.downtime AS s_downtime, s.breached AS s_breached,
	   s.expected_transfers AS s_tx, s.expected_customers AS s_cu, s.expected_value AS s_va, s.expected_fees AS s_fe,
	   t.down AS l_down, t.downtime AS l_downtime, t.breached AS l_breached,
	   t.expected_transfers AS l_tx, t.expected_customers AS l_cu, t.expected_value AS l_va, t.expected_fees AS l_fe
FROM (SELECT p FROM providers ORDER BY p LIMIT 12) p
CROSS JOIN (VALUES (interval '30 minutes', interval '2 hours'), ('2 hours', '7 hours'), ('7 hours', '3 days')) l(short, long)
CROSS JOIN LATERAL depwatch.scenario(ARRAY[p.p], '2024-06-03 09:00+00', l.short) s
JOIN LATERAL depwatch.scenario(ARRAY[p.p], '2024-06-03 09:00+00', l.long) t ON t.capability = s.capability;
SELECT is_empty($$SELECT * FROM longer
				  WHERE s_down > l_down OR s_downtime > l_downtime
					 OR coalesce(s_breached, false) > coalesce(l_breached, false)
					 OR s_tx > l_tx OR s_cu > l_cu OR s_va > l_va OR s_fe > l_fe$$,
				'a longer scenario never shows less: down time, breach, expected transfers, customers, value, fees');
SELECT ok((SELECT count(*) FILTER (WHERE l_down) > 20 AND count(*) FILTER (WHERE l_breached AND NOT s_breached) > 0
				  AND count(*) FILTER (WHERE l_tx > s_tx) > 20 FROM longer),
		  'the scenarios are rich enough: capabilities down, breaches that only the longer one shows, more transfers expected');

-- ---------------------------------------------------------------------------
-- Losing more never shows less (2)
-- ---------------------------------------------------------------------------
CREATE TEMP TABLE pairs AS
SELECT a.p AS a, b.p AS b FROM providers a, providers b WHERE a.p < b.p AND random() < 0.25;
CREATE TEMP TABLE more AS
SELECT x.a, x.b, s.capability, s.down AS one_down, s.downtime AS one_downtime, s.dora_major AS one_dora,
	   s.fss_reportable AS one_fss, t.down AS both_down, t.downtime AS both_downtime, t.dora_major AS both_dora,
	   t.fss_reportable AS both_fss
FROM pairs x
CROSS JOIN LATERAL depwatch.scenario(ARRAY[x.a], '2024-06-03 09:00+00', '3 hours') s
JOIN LATERAL depwatch.scenario(ARRAY[x.a, x.b], '2024-06-03 09:00+00', '3 hours') t ON t.capability = s.capability;
SELECT is_empty($$SELECT * FROM more
				  WHERE one_down > both_down OR one_downtime > both_downtime
					 OR one_dora > both_dora OR one_fss > both_fss$$,
				'losing a superset of names never shows less: down, down time, DORA major, FSS reportable');
SELECT ok((SELECT count(*) FILTER (WHERE both_down AND NOT one_down) > 10 FROM more),
		  'the supersets are rich enough: capabilities only the larger loss takes down');

-- ---------------------------------------------------------------------------
-- k of n (2)
-- ---------------------------------------------------------------------------
-- g = 3 of k1..k5 (n = 5, k = 3): any n - k + 1 = 3 members lost break it,
-- any n - k = 2 do not; every subset of the five.
SELECT count(*) FROM (
	SELECT depwatch.add_dependency('k' || g, 'other', tracked_since => '2020-01-01 00:00+00')
	FROM generate_series(1, 5) g) x;
SELECT depwatch.add_capability('kofn', ARRAY['3:k1|k2|k3|k4|k5']);
CREATE TEMP TABLE subsets AS
SELECT m, ARRAY(SELECT 'k' || i FROM generate_series(1, 5) i WHERE m & (1 << (i - 1)) <> 0) AS lose
FROM generate_series(1, 31) m;
CREATE TEMP TABLE kofn AS
SELECT cardinality(x.lose) AS lost, s.down
FROM subsets x CROSS JOIN LATERAL depwatch.scenario(x.lose, '2024-06-03 09:00+00', '1 hour') s
WHERE s.capability = 'kofn';
SELECT is_empty($$SELECT * FROM kofn WHERE down <> (lost >= 3)$$,
				'3 of 5: every set of 3 or more members lost breaks the group, every set of 2 or fewer does not');
SELECT results_eq($$SELECT lost, count(*) FILTER (WHERE down) FROM kofn GROUP BY lost ORDER BY lost$$,
				  $$VALUES (1, 0::bigint), (2, 0), (3, 10), (4, 5), (5, 1)$$,
				  'all 31 subsets: none of the 15 of 1 or 2 members breaks it, all 16 of 3 or more do');

-- ---------------------------------------------------------------------------
-- Who may run what (8)
-- ---------------------------------------------------------------------------
CREATE ROLE scen_rita LOGIN IN ROLE depwatch_reader;
CREATE ROLE scen_otto LOGIN IN ROLE depwatch_operator;
CREATE ROLE scen_ada LOGIN IN ROLE depwatch_admin;
GRANT SELECT ON scen_bank.transfers TO scen_rita, scen_ada;
GRANT USAGE ON SCHEMA scen_bank TO scen_rita, scen_otto, scen_ada;
SELECT depwatch.save_scenario('s0_48h', ARRAY['s0'], '48 hours');

SET ROLE scen_rita;
SELECT results_eq($$SELECT count(*) FROM depwatch.scenario(ARRAY['s1'], '2024-06-03 09:00+00', '48 hours')
					 WHERE expected_transfers IS NOT NULL$$,
				  ARRAY[11::bigint], 'a reader runs scenario(), with expectations from the ledger it may read');
SELECT ok(depwatch.resilience_report('[2024-05-01, 2024-06-01)') ? 'services',
		  'a reader runs resilience_report()');
SELECT results_eq($$SELECT * FROM pg_temp.run('SELECT depwatch.save_scenario(''x'', ARRAY[''s1''], ''1 hour'')::text')$$,
				  ARRAY['ERROR 42501'], 'a reader cannot save a scenario');
RESET ROLE;
SET ROLE scen_otto;
SELECT results_eq($$SELECT * FROM pg_temp.run('SELECT depwatch.save_scenario(''x'', ARRAY[''s1''], ''1 hour'')::text')$$,
				  ARRAY['ERROR 42501'], 'an operator cannot save a scenario');
-- without SELECT on the bound ledger: the ledger is read with the
-- caller's rights, and the report that reads none still runs
SELECT results_eq($$SELECT * FROM pg_temp.run('SELECT count(*)::text FROM depwatch.scenario(ARRAY[''s1''], ''2024-06-03 09:00+00'', ''48 hours'')')$$,
				  ARRAY['ERROR 42501'], 'scenario() reads the ledger with its caller''s rights');
SELECT ok(jsonb_array_length(depwatch.resilience_report('[2024-05-01, 2024-06-01)')->'services') = 5,
		  'resilience_report() reads no ledger: every service with a tolerance, for a role that may not read it');
RESET ROLE;
SET ROLE scen_ada;
SELECT ok(depwatch.save_scenario('s1_1h', ARRAY['s1'], '1 hour') > 0, 'an admin saves a scenario');
RESET ROLE;
SELECT results_eq($$SELECT actor, new->>'name' FROM depwatch.audit_log WHERE table_name = 'scenario' ORDER BY id$$,
				  $$VALUES ('postgres', 's0_48h'), ('scen_ada', 's1_1h')$$,
				  'saving a scenario is audited, with who saved it');

SELECT * FROM finish();
ROLLBACK;
