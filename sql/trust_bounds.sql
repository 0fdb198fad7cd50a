-- Time and size bounds on every input (SPEC section 6; issue 16 items 6, 8,
-- 9, 12).  First the attacks as 0.2 took them: rows that break every
-- report, and what the update to 0.3 says about them.  Then, on 0.3, each
-- hostile input is refused with its SQLSTATE, and every report keeps
-- working for everyone after each attempt.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
SET TimeZone = 'UTC';

-- reports() runs what every reader runs; a row breaking them shows here.
CREATE FUNCTION reports() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	period CONSTANT tstzrange := tstzrange(now() - interval '2 days', now());
BEGIN
	PERFORM count(*) FROM depwatch.status;
	PERFORM length(depwatch.metrics());
	PERFORM count(*) FROM depwatch.availability(period);
	PERFORM count(*) FROM depwatch.state_timeline(period);
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	RETURN 'FAILS: ' || SQLSTATE;
END
$$;

-- try(call) runs one call in a subtransaction and says how it failed,
-- and whether the reports work afterwards: with what the call wrote when
-- it did not fail (rolled back after the reports ran).  Messages are shown
-- up to 160 characters, with their full length.
CREATE FUNCTION try(call text, OUT state text, OUT message text, OUT message_length int,
					OUT hint text, OUT reports text)
LANGUAGE plpgsql AS $$
BEGIN
	BEGIN
		EXECUTE call;
		state := 'no error';
		reports := reports();
		RAISE EXCEPTION 'undo' USING ERRCODE = 'DWNOE';
	EXCEPTION WHEN OTHERS THEN
		IF SQLSTATE <> 'DWNOE' THEN
			GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT,
									hint = PG_EXCEPTION_HINT;
		END IF;
	END;
	message_length := length(message);
	message := left(message, 160);
	reports := coalesce(reports, reports());
END
$$;
GRANT EXECUTE ON FUNCTION reports(), try(text) TO PUBLIC;

-- ---------------------------------------------------------------------------
-- 0.2: what an operator could store, and the update to 0.3
-- ---------------------------------------------------------------------------
CREATE EXTENSION depwatch VERSION '0.2' CASCADE;
SELECT depwatch.add_dependency('core', 'core', 'tcp', '127.0.0.1:1') AS core;
SELECT depwatch.add_dependency('bureau', 'credit_bureau', 'passive') AS bureau;
-- a sample at the end of year 294276, then one 30 days ahead, as 0.2's report_sample
-- stored them (0.3's library refuses them, so they are planted here)
INSERT INTO depwatch.sample VALUES (1, 'regress', '294276-12-31 23:59:59+00', true, NULL, NULL);
INSERT INTO depwatch.probe_state (dependency_id, last_at) VALUES (1, '294276-12-31 23:59:59+00');
SELECT reports();
UPDATE depwatch.sample SET at = now() + interval '30 days';
UPDATE depwatch.probe_state SET last_at = now() + interval '30 days';
SELECT reports();
-- 0.2's API takes all of these
SELECT depwatch.add_maintenance('core', tstzrange('-infinity', 'infinity')) AS maintenance;
SELECT reports();
SELECT depwatch.add_maintenance('core', '[2026-01-01, 2026-06-01)') AS maintenance;
SELECT depwatch.record_outage('bureau', '4713-01-01 BC', '4713-01-02 BC') AS outage;
SELECT depwatch.record_outage('bureau', '2020-01-01', '2020-01-02', note => repeat('x', 5000)) AS outage;
SELECT depwatch.open_incident('far ahead', '294276-12-31') AS incident;
-- a chain of 150 capabilities closed into a cycle: 0.2 looks 100 deep
SELECT depwatch.add_capability('c1', ARRAY['core']) AS c1;
DO $$
BEGIN
	FOR i IN 2..150 LOOP
		PERFORM depwatch.add_capability('c' || i, ARRAY['c' || (i - 1)]);
	END LOOP;
END
$$;
SELECT depwatch.alter_capability('c1', ARRAY['c150']);
SELECT reports();
-- the update lists what it leaves for the admin (as warnings: PostgreSQL
-- hides notices raised by extension scripts)
ALTER EXTENSION depwatch UPDATE TO '0.3';
DROP EXTENSION depwatch CASCADE;

-- ---------------------------------------------------------------------------
-- 0.3: the same inputs, refused
-- ---------------------------------------------------------------------------
CREATE EXTENSION depwatch CASCADE;
SELECT depwatch.add_dependency('core', 'core', 'tcp', '127.0.0.1:1', tracked_since => '1990-01-01 00:00+00') AS core;
SELECT depwatch.add_dependency('bureau', 'credit_bureau', 'passive', tracked_since => '1990-01-01 00:00+00') AS bureau;
SELECT depwatch.record_outage('core', '2022-10-15 06:00', '2022-10-15 07:00') AS outage;
SELECT depwatch.record_outage('bureau', '2022-10-15 06:00') AS ongoing;
SELECT depwatch.open_incident('fire', '2022-10-15 06:00') AS incident;
CREATE ROLE bounds_operator IN ROLE depwatch_operator;
CREATE ROLE bounds_admin IN ROLE depwatch_admin;

SET ROLE bounds_operator;
\x on
SELECT label, (try(call)).* FROM (VALUES
	('sample 30 days ahead', $$SELECT depwatch.report_sample('core', false, at => now() + interval '30 days')$$),
	('sample at the end of year 294276', $$SELECT depwatch.report_sample('core', true, at => '294276-12-31 23:59:59+00')$$),
	('sample at infinity', $$SELECT depwatch.report_sample('bureau', true, at => 'infinity')$$),
	('sample in 4713 BC', $$SELECT depwatch.report_sample('bureau', true, at => '4713-01-01 BC')$$),
	('sample in 1989', $$SELECT depwatch.report_sample('bureau', true, at => '1989-12-31 23:59:59+00')$$),
	('sample with a 10 MB detail', $$SELECT depwatch.report_sample('bureau', false, detail => repeat('x', 10 * 1024 * 1024))$$),
	('sample with a vantage of 4,001 characters', $$SELECT depwatch.report_sample('bureau', true, vantage => repeat('v', 4001))$$),
	('sample 4 s ahead (within the skew)', $$SELECT depwatch.report_sample('core', true, at => now() + interval '4 s')$$),
	('sample with 4,000 two-byte characters', $$SELECT depwatch.report_sample('bureau', true, detail => repeat('é', 4000), vantage => repeat('é', 4000))$$),
	('maintenance (-infinity, infinity)', $$SELECT depwatch.add_maintenance('core', tstzrange('-infinity', 'infinity'))$$),
	('maintenance in year 294276', $$SELECT depwatch.add_maintenance('core', '[294276-12-30, 294276-12-31)')$$),
	('maintenance of 32 days', $$SELECT depwatch.add_maintenance('core', '[2026-01-01, 2026-02-02)')$$),
	('maintenance of 31 days', $$SELECT depwatch.add_maintenance('core', '[2026-01-01, 2026-02-01]')$$),
	('maintenance with a 10 MB note', $$SELECT depwatch.add_maintenance('core', '[2026-01-01, 2026-01-02)', repeat('n', 10 * 1024 * 1024))$$),
	('outage in year 294276', $$SELECT depwatch.record_outage('core', '294276-12-30')$$),
	('outage in 4713 BC', $$SELECT depwatch.record_outage('core', '4713-01-01 BC', '4713-01-02 BC')$$),
	('outage from -infinity', $$SELECT depwatch.record_outage('core', '-infinity', '2020-01-01')$$),
	('outage ending in 2100', $$SELECT depwatch.record_outage('core', '2023-01-01', '2100-01-01')$$),
	('outage detected in 294276', $$SELECT depwatch.record_outage('core', '2023-01-01', '2023-01-02', detected_at => '294276-12-31')$$),
	('outage with a 10 MB note', $$SELECT depwatch.record_outage('core', '2023-01-01', '2023-01-02', note => repeat('n', 10 * 1024 * 1024))$$),
	('outage from 1990-01-01', $$SELECT depwatch.record_outage('core', '1990-01-01 00:00+00', '1990-01-02 00:00+00')$$),
	('outage ended in year 294276', $$SELECT depwatch.end_outage('bureau', '294276-12-31')$$),
	('outage ended at infinity', $$SELECT depwatch.end_outage('bureau', 'infinity')$$),
	('incident in 4713 BC', $$SELECT depwatch.open_incident('old', '4713-01-01 BC')$$),
	('incident in 2100', $$SELECT depwatch.open_incident('ahead', '2100-01-01')$$),
	('incident titled with 10 MB', $$SELECT depwatch.open_incident(repeat('t', 10 * 1024 * 1024), '2023-01-01')$$),
	('incident closed in year 294276', $$SELECT depwatch.close_incident(1, '294276-12-31')$$),
	('incident closed with a 10 MB root cause', $$SELECT depwatch.close_incident(1, '2022-10-15 09:00', repeat('r', 10 * 1024 * 1024))$$),
	('incident fact of 4,001 characters', $$SELECT depwatch.set_incident_facts(1, jsonb_build_object('root_cause', repeat('r', 4001)))$$),
	('incident fact repeated a million times', $$SELECT depwatch.set_incident_facts(1, jsonb_build_object('reputational', (SELECT jsonb_agg('media'::text) FROM generate_series(1, 1000000))))$$)
	) AS v(label, call);
\x off
-- an operator cannot lift the skew; a superuser can, for a session
SET depwatch.max_clock_skew = '1h';
RESET ROLE;
SET depwatch.max_clock_skew = '1h';
SELECT (try($$SELECT depwatch.report_sample('bureau', true, at => now() + interval '30 min')$$)).state;
RESET depwatch.max_clock_skew;
SHOW depwatch.max_clock_skew;

-- ---------------------------------------------------------------------------
-- Capability graphs: acyclic at any depth, at most 32 deep, checked in
-- linear time
-- ---------------------------------------------------------------------------
SET ROLE bounds_admin;
-- a chain of 32 capabilities is fine; a 33rd is refused, so is making the
-- chain deeper from below
SELECT depwatch.add_capability('d1', ARRAY['core']) AS d1;
DO $$
BEGIN
	FOR i IN 2..32 LOOP
		PERFORM depwatch.add_capability('d' || i, ARRAY['d' || (i - 1)]);
	END LOOP;
END
$$;
\x on
SELECT label, (try(call)).* FROM (VALUES
	('depth 33', $$SELECT depwatch.add_capability('d33', ARRAY['d32'])$$),
	('depth 33 from below', $$SELECT depwatch.add_capability('d0', ARRAY['core']); SELECT depwatch.alter_capability('d1', ARRAY['d0'])$$),
	('cycle of 32', $$SELECT depwatch.alter_capability('d1', ARRAY['d32'])$$)
	) AS v(label, call);
\x off
RESET ROLE;
-- a chain of 150 as 0.2 could store it, closed into a cycle through the API
INSERT INTO depwatch.capability (name, requires)
	SELECT 'c' || i, ARRAY[CASE WHEN i = 1 THEN 'core' ELSE 'c' || (i - 1) END]
	FROM generate_series(1, 150) i;
SET ROLE bounds_admin;
SELECT state, message_length, left(message, 60) AS message, reports
FROM try($$SELECT depwatch.alter_capability('c1', ARRAY['c150'])$$);
RESET ROLE;
DELETE FROM depwatch.capability WHERE name ~ '^c[0-9]+$';

-- a diamond of 19 levels (2^19 paths from the top): each add takes a
-- moment, all 38 well within 2 seconds
SET ROLE bounds_admin;
SET statement_timeout = '2s';
DO $$
BEGIN
	PERFORM depwatch.add_capability('l1_a', ARRAY['core']);
	PERFORM depwatch.add_capability('l1_b', ARRAY['core']);
	FOR i IN 2..19 LOOP
		PERFORM depwatch.add_capability(format('l%s_a', i), ARRAY[format('l%s_a', i - 1), format('l%s_b', i - 1)]);
		PERFORM depwatch.add_capability(format('l%s_b', i), ARRAY[format('l%s_a', i - 1), format('l%s_b', i - 1)]);
	END LOOP;
END
$$;
SELECT depwatch.alter_capability('l19_a', ARRAY['l18_a', 'l18_b', 'core']);
RESET statement_timeout;
SELECT count(*) AS capabilities FROM depwatch.capability WHERE name ~ '^l[0-9]+_[ab]$';
SELECT reports();
RESET ROLE;

DROP EXTENSION depwatch CASCADE;
DROP ROLE bounds_operator, bounds_admin;
