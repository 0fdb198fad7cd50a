-- The lookups by name or id share one error rule (_lookup_failed): a NULL
-- argument is null_value_not_allowed (22004), a value no row has is
-- undefined_object (42704), each with its own message and hint.  Every
-- lookup, both ways.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION depwatch CASCADE;
SET TimeZone = 'UTC';

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

SELECT depwatch.open_incident('bureau slow', '2026-03-01 09:00+00') AS incident;
SELECT pg_temp.raised(c) FROM unnest(ARRAY[
	'SELECT depwatch.drop_dependency(NULL)',
	'SELECT depwatch.drop_dependency(''nope'')',
	'SELECT depwatch.alter_capability(NULL, slo => 99)',
	'SELECT depwatch.drop_capability(''nope'')',
	'SELECT depwatch.close_incident(NULL)',
	'SELECT depwatch.close_incident(42)',
	'SELECT depwatch.set_incident_facts(NULL, ''{}'')',
	'SELECT * FROM depwatch.classify_incident(42)',
	'SELECT * FROM depwatch.fee_waiver(1, NULL)',
	'SELECT * FROM depwatch.fee_waiver(1, ''nope'')']) WITH ORDINALITY AS t(c, n)
ORDER BY n;

-- a lookup that finds its row: the id, the row
SELECT depwatch.add_dependency('core', 'core', tracked_since => '1990-01-01 00:00+00') AS core;
SELECT depwatch_internal._dependency_id('core') AS core_id;
SELECT (depwatch_internal._incident_row(1)).title;
DROP EXTENSION depwatch;
