-- Numbers in options are finite and inside their documented ranges, and
-- request headers are at most 32 and 8 KB in all (SPEC section 6, issue 16
-- items 7 and 11).  0.2 accepted {"error_rate": 1e-400}: numeric said it
-- was in (0, 1], the worker's float8 cast failed, and from then on the
-- worker read no configuration at all.  Now one C routine parses the
-- numbers for the SQL check, the _machine_rules view and the worker, and a
-- row stored before the rule (or written around the API) is reported and
-- costs only itself.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION depwatch CASCADE;

CREATE FUNCTION try(call text, OUT state text, OUT message text, OUT hint text)
LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE call;
	state := 'ok';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT, hint = PG_EXCEPTION_HINT;
	message := left(message, 80);
END
$$;

-- every numeric option of every probe kind: out of range, too big or too
-- small for a double, not a number, or not whole where it must be
-- (each call once: LATERAL, not (try(...)).*, which calls it per column)
SELECT o AS options, t.*
FROM (VALUES
	(1, 'passive', NULL, '{"error_rate": 1e-400}'),
	(2, 'passive', NULL, '{"error_rate": 1e400}'),
	(3, 'passive', NULL, '{"error_rate": -0}'),
	(4, 'passive', NULL, '{"error_rate": 0}'),
	(5, 'passive', NULL, '{"error_rate": 1.0000001}'),
	(6, 'passive', NULL, '{"error_rate": "NaN"}'),
	(7, 'passive', NULL, '{"min_calls": 1e400}'),
	(8, 'passive', NULL, '{"min_calls": 2.5}'),
	(9, 'passive', NULL, '{"min_calls": 2147483648}'),
	(10, 'tcp', '127.0.0.1:9', '{"slo": 1e-400}'),
	(11, 'tcp', '127.0.0.1:9', '{"slo": 100.0000001}'),
	(12, 'http', 'http://127.0.0.1:9/', '{"quorum": -0}'),
	(13, 'none', NULL, '{"quorum": 1e-400}'),
	(14, 'postgres', 'host=127.0.0.1 port=9', '{"slo": "NaN"}')) v(n, probe, target, o),
	LATERAL try(format('SELECT depwatch.add_dependency(%L, %L, %L, %L, options => %L)',
					   'd' || n, 'other', probe, target, o)) t
ORDER BY n;

-- what is inside the ranges is accepted, at their very edges too
SELECT count(*) FROM (VALUES
	(depwatch.add_dependency('tiny_rate', 'other', 'passive',
							 options => '{"error_rate": 1e-300, "min_calls": 2147483647, "slo": 100}')),
	(depwatch.add_dependency('whole_rate', 'other', 'passive', options => '{"error_rate": 1, "min_calls": 1.0}')),
	(depwatch.add_dependency('edge_slo', 'other', 'tcp', '127.0.0.1:9', options => '{"slo": 1e-300, "quorum": 1}'))) v;
SELECT name, error_rate, min_calls FROM depwatch_internal._machine_rules
WHERE name IN ('tiny_rate', 'whole_rate') ORDER BY name;

-- request headers: 20,000 are refused at once, so are 33, or 8 KB in all;
-- 32 small ones are fine
SELECT n, t.*
FROM (VALUES
	(1, (SELECT jsonb_build_object('headers', jsonb_object_agg('X-H' || i, 'v')) FROM generate_series(1, 20000) i)),
	(2, (SELECT jsonb_build_object('headers', jsonb_object_agg('X-H' || i, 'v')) FROM generate_series(1, 33) i)),
	(3, (SELECT jsonb_build_object('headers', jsonb_object_agg('X-H' || i, repeat('v', 300))) FROM generate_series(1, 30) i)),
	(4, (SELECT jsonb_build_object('headers', jsonb_object_agg('X-H' || i, 'v')) FROM generate_series(1, 32) i))) v(n, o),
	LATERAL try(format('SELECT depwatch.add_dependency(%L, %L, %L, %L, options => %L)',
					   'h' || n, 'other', 'http', 'http://127.0.0.1:9/', o)) t
ORDER BY n;
-- alter_dependency applies the same rules
SELECT * FROM try($$SELECT depwatch.alter_dependency('tiny_rate', options => '{"error_rate": 1e-400}')$$);

-- A row stored before these rules: the worker's loader and report_sample
-- read the same view; the loader's guard names the row, report_sample on
-- it says what is wrong, and every other row reads as before.
UPDATE depwatch.dependency SET options = '{"error_rate": 1e-400}' WHERE name = 'whole_rate';
SELECT d.name, depwatch_internal._options_problem(d.options) FROM depwatch.dependency d
WHERE depwatch_internal._options_problem(d.options) IS NOT NULL;
SELECT * FROM try($$SELECT depwatch.report_sample('whole_rate', false)$$);
SELECT * FROM try($$SELECT depwatch.report_sample('tiny_rate', false)$$);

DROP FUNCTION try(text);
DROP EXTENSION depwatch;
DROP EXTENSION btree_gist;
