-- The outage machine's rules are read by column name (issue 18 item 6):
-- with depwatch_internal._machine_rules' columns in another order, report_sample
-- and derive_outages decide as with the view in order; without the column
-- 0.3 added (a catalog at 0.1 or 0.2) its default holds; without a column
-- every version has, a clear error.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION depwatch CASCADE;
RESET client_min_messages;
SET TimeZone = 'UTC';

-- twins: "_a" fed with the view's columns reversed, "_b" with the view in
-- order, "_c" with a view that lacks degraded_error_rate
SELECT count(depwatch.add_dependency('bureau' || t, 'credit_bureau', 'none',
									 degraded_after => '500 ms')) AS bureaus,
	   count(depwatch.add_dependency('fx' || t, 'payment_network', 'passive',
									 options => '{"error_rate": 0.5, "degraded_error_rate": 0.2}')) AS fxs
FROM unnest(ARRAY['_a', '_b', '_c']) t;

-- feed(dep, pattern, from_ms): one sample per character, 10 ms apart,
-- the first from_ms after the dependencies were made: g good, s slow (good
-- but 900 ms), b bad.
CREATE FUNCTION feed(dep text, pattern text, from_ms int) RETURNS void
LANGUAGE sql AS $$
	SELECT depwatch.report_sample(dep, c <> 'b',
								  CASE c WHEN 's' THEN interval '900 ms' ELSE interval '20 ms' END,
								  (SELECT max(created_at) FROM depwatch.dependency)
								  + (from_ms + (i - 1) * 10) * interval '1 ms')
	FROM unnest(string_to_array(pattern, NULL)) WITH ORDINALITY u(c, i)
	ORDER BY i
$$;

-- outcome(twin): the outages report_sample opened and those derive_outages
-- finds, in ms after the dependencies were made, the twin's suffix cut off
CREATE FUNCTION outcome(twin text)
RETURNS TABLE(dependency text, way text, kind text, start_ms int, end_ms int)
LANGUAGE sql AS $$
	WITH b AS (SELECT max(created_at) AS base FROM depwatch.dependency)
	SELECT left(o.dependency, -2), 'stored', o.kind,
		   (extract(epoch FROM o.started_at - b.base) * 1000)::int,
		   (extract(epoch FROM o.ended_at - b.base) * 1000)::int
	FROM depwatch.outages o, b WHERE o.dependency LIKE '%' || twin
	UNION ALL
	SELECT left(d.name, -2), 'derived', x.kind,
		   (extract(epoch FROM x.started_at - b.base) * 1000)::int,
		   (extract(epoch FROM x.ended_at - b.base) * 1000)::int
	FROM depwatch.dependency d, b, depwatch.derive_outages(d.name) x
	WHERE d.name LIKE '%' || twin
	ORDER BY 1, 2, 4, 3
$$;

-- the view with its columns the other way round
ALTER VIEW depwatch_internal._machine_rules RENAME TO _machine_rules_in_order;
CREATE VIEW depwatch_internal._machine_rules AS
	SELECT degraded_error_rate, "window", min_calls, error_rate, degraded_after,
		   recover_after, fail_after, probe, name, id
	FROM depwatch_internal._machine_rules_in_order;
SELECT feed('bureau_a', 'gsssggbbbgg', 0), feed('fx_a', 'gggggggbbb', 0), feed('fx_a', 'bbbb', 100);
SELECT * FROM outcome('_a');

-- the view as 0.1 and 0.2 had it: no degraded_error_rate, so fx_c has no
-- degraded level (3 bad calls of 10, then 7 of 14: down only)
DROP VIEW depwatch_internal._machine_rules;
CREATE VIEW depwatch_internal._machine_rules AS
	SELECT id, name, probe, fail_after, recover_after, degraded_after, error_rate, min_calls, "window"
	FROM depwatch_internal._machine_rules_in_order;
SELECT feed('fx_c', 'gggggggbbb', 0), feed('fx_c', 'bbbb', 100);
SELECT * FROM outcome('_c');

-- a view without a column every version has: refused, by name
DROP VIEW depwatch_internal._machine_rules;
CREATE VIEW depwatch_internal._machine_rules AS
	SELECT id, name, probe, recover_after, degraded_after, error_rate, min_calls, "window"
	FROM depwatch_internal._machine_rules_in_order;
\set VERBOSITY terse
SELECT depwatch.report_sample('bureau_c', true);
SELECT * FROM depwatch.derive_outages('bureau_c');
\set VERBOSITY default

-- the view in order again: the same outages as with its columns reversed
DROP VIEW depwatch_internal._machine_rules;
ALTER VIEW depwatch_internal._machine_rules_in_order RENAME TO _machine_rules;
SELECT feed('bureau_b', 'gsssggbbbgg', 0), feed('fx_b', 'gggggggbbb', 0), feed('fx_b', 'bbbb', 100);
WITH a AS (SELECT * FROM outcome('_a')), b AS (SELECT * FROM outcome('_b'))
SELECT (SELECT count(*) FROM a) AS outcomes,
	   (SELECT count(*) FROM ((TABLE a EXCEPT ALL TABLE b) UNION ALL (TABLE b EXCEPT ALL TABLE a)) x) AS differences;

DROP EXTENSION depwatch CASCADE;
DROP FUNCTION feed(text, text, int), outcome(text);
