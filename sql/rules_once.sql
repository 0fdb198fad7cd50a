-- Each rule written once (issue 18 item 2): the probed set, the silence
-- of 3 x every, the name rule, _clip and the option checks each have one
-- home, and every other place calls it.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION depwatch CASCADE;
RESET client_min_messages;
SET TimeZone = 'UTC';

-- try(call) runs one call in a subtransaction and says how it failed.
CREATE FUNCTION try(call text, OUT state text, OUT message text, OUT hint text)
LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE call;
	state := 'no error';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT,
							hint = PG_EXCEPTION_HINT;
END
$$;

-- ---------------------------------------------------------------------------
-- _probed and _silent_until: inlined where they are called, so a query
-- costs what the expression would (_silent_until is STABLE, as
-- timestamptz + interval is: an IMMUTABLE one is never inlined)
-- ---------------------------------------------------------------------------
EXPLAIN (VERBOSE, COSTS OFF)
SELECT depwatch_internal._probed(d.probe), depwatch_internal._silent_until(d.created_at, d.every)
FROM depwatch.dependency d;
SELECT p.probe, depwatch_internal._probed(p.probe)
FROM unnest(ARRAY['tcp', 'http', 'postgres', 'passive', 'none']) p(probe);
-- the triggers that tell of a missing worker ask the rule too
SELECT tgname, pg_get_triggerdef(oid) ~ '_probed\(new\.probe\)' AS calls_probed
FROM pg_trigger WHERE tgrelid = 'depwatch.dependency'::regclass AND tgname LIKE 'notice_no_worker%'
ORDER BY 1;

-- ---------------------------------------------------------------------------
-- the name rule: C's dw_valid_name, called by every table's CHECK and by
-- the API
-- ---------------------------------------------------------------------------
SELECT conrelid::regclass, pg_get_constraintdef(oid)
FROM pg_constraint
WHERE conname LIKE '%\_name\_check' AND connamespace = 'depwatch'::regnamespace
ORDER BY conrelid::regclass::text;
-- it holds to the pattern 0.2 wrote in its CHECKs, edge by edge
SELECT n.name, depwatch_internal._valid_name(n.name),
	   depwatch_internal._valid_name(n.name) IS NOT DISTINCT FROM (n.name ~ '^[a-z_][a-z0-9_]{0,62}$') AS as_before
FROM (VALUES ('a'), ('_'), ('credit_bureau_a'), ('a1'), ('1a'), ('A'), ('aB'), (''), ('a-b'), ('a b'),
			 (E'a\n'), ('café'), (repeat('a', 63)), (repeat('a', 64)), (NULL)) n(name);
-- a row written around the API meets the same rule
SELECT depwatch.add_dependency('ledger', 'core', 'none') > 0 AS added;
SELECT * FROM try($$UPDATE depwatch.dependency SET name = 'Ledger' WHERE name = 'ledger'$$);
SELECT * FROM try($$SELECT depwatch.add_capability('Payments', ARRAY['ledger'])$$);
SELECT * FROM try($$SELECT depwatch.add_fee_policy('Waive', ARRAY['atm'], ARRAY['payments'])$$);

-- ---------------------------------------------------------------------------
-- _clip: one rule, in characters, for the SQL checks and the C ones (the C
-- one counted bytes: a name of 60 Hangul syllables, 180 bytes, was cut)
-- ---------------------------------------------------------------------------
SELECT length(depwatch_internal._clip(repeat('가', 100))) AS whole,
	   depwatch_internal._clip(repeat('가', 101)) = repeat('가', 97) || '...' AS cut,
	   depwatch_internal._clip(NULL) IS NULL AS null_stays_null;
SELECT message = 'unknown probe "' || repeat('가', 60) || '"' AS c_quotes_it_whole
FROM try($$SELECT depwatch.add_dependency('x', 'core', repeat('가', 60), 'a')$$);
SELECT message = 'unknown dependency kind "' || repeat('가', 60) || '"' AS sql_quotes_it_whole
FROM try($$SELECT depwatch.add_dependency('x', repeat('가', 60), 'none')$$);

-- ---------------------------------------------------------------------------
-- the option checks, now in C: the same errors, and a long name or value
-- quoted clipped
-- ---------------------------------------------------------------------------
SELECT * FROM try($$SELECT depwatch.add_dependency('x', 'core', 'tcp', '127.0.0.1:9', options => '[]')$$);
SELECT * FROM try($$SELECT depwatch.add_dependency('x', 'core', 'tcp', '127.0.0.1:9', options => '"x"')$$);
SELECT * FROM try($$SELECT depwatch.add_dependency('x', 'core', 'tcp', '127.0.0.1:9', options => 'null')$$);
SELECT * FROM try($$SELECT depwatch.add_dependency('x', 'core', 'tcp', '127.0.0.1:9', options => NULL)$$);
SELECT * FROM try($$SELECT depwatch.add_dependency('x', 'core', 'tcp', '127.0.0.1:9', options => '{"method": "GET"}')$$);
SELECT * FROM try($$SELECT depwatch.add_dependency('x', 'core', 'passive', options => '{"window": 5}')$$);
SELECT * FROM try($$SELECT depwatch.add_dependency('x', 'core', 'passive', options => '{"window": "2 days"}')$$);
SELECT * FROM try($$SELECT depwatch.add_dependency('x', 'core', 'passive', options => '{"window": "soon"}')$$);
SELECT * FROM try($$SELECT depwatch.add_dependency('x', 'core', 'passive', options => '{"min_calls": 0.5}')$$);
SELECT * FROM try($$SELECT depwatch.add_dependency('x', 'core', 'http', 'http://127.0.0.1/', options => '{"method": "DELETE"}')$$);
SELECT * FROM try($$SELECT depwatch.add_dependency('x', 'core', 'http', 'http://127.0.0.1/', options => '{"expect_status": [200, 2000]}')$$);
SELECT * FROM try($$SELECT depwatch.add_dependency('x', 'core', 'http', 'http://127.0.0.1/', options => '{"expect_status": [200, "204"]}')$$);
SELECT * FROM try($$SELECT depwatch.add_dependency('x', 'core', 'http', 'http://127.0.0.1/', options => '{"expect_status": [200.0]}')$$);
SELECT * FROM try($$SELECT depwatch.add_dependency('x', 'core', 'http', 'http://127.0.0.1/', options => '{"headers": {"X-A": "1", "Bad Name": "2"}}')$$);
SELECT * FROM try($$SELECT depwatch.add_dependency('x', 'core', 'http', 'http://127.0.0.1/', options => '{"headers": {"X-A": "secret\nX-B: 1"}}')$$);
SELECT * FROM try($$SELECT depwatch.add_dependency('x', 'core', 'http', 'http://127.0.0.1/', options => '{"headers": {"X-A": 1}}')$$);
SELECT * FROM try($$SELECT depwatch.add_dependency('x', 'core', 'http', 'http://127.0.0.1/', options => '{"headers": {"X-Ä": "1"}}')$$);
SELECT * FROM try($$SELECT depwatch.add_dependency('x', 'core', 'http', 'http://127.0.0.1/',
	options => '{"headers": {"!#$%&''*+.^_`|~-09azAZ": "ok"}, "method": "HEAD", "expect_status": [100, 599],
				 "verify_tls": false, "body_contains": "ok", "slo": 99.9, "quorum": 2}')$$);
SELECT * FROM try($$SELECT depwatch.add_dependency('y', 'core', 'passive',
	options => '{"window": "PT1M", "error_rate": 0.2, "degraded_error_rate": 0.1, "min_calls": 5}')$$);
SELECT length(message) AS length, message LIKE 'unknown option "' || repeat('k', 97) || '..." for probe "tcp"' AS clipped
FROM try(format($$SELECT depwatch.add_dependency('z', 'core', 'tcp', '127.0.0.1:9', options => '{"%s": 1}')$$,
				repeat('k', 300)));
SELECT length(message) AS length, message LIKE 'option "method" must be GET, HEAD, POST, PUT or OPTIONS, not "' || repeat('M', 96) || '...' AS clipped
FROM try(format($$SELECT depwatch.add_dependency('z', 'core', 'http', 'http://127.0.0.1/', options => '{"method": "%s"}')$$,
				repeat('M', 300)));
-- one function checks options now: _check_option_values is gone
SELECT to_regprocedure('depwatch_internal._check_option_values(jsonb)') IS NULL AS gone;

-- ---------------------------------------------------------------------------
-- "unmonitored now" has one home (_unmonitored_now, with its reason) that
-- current_status and the capabilities' timelines both read: in a database
-- no worker probes, a probed dependency never sampled is unmonitored from
-- when it was added, and so is a capability that needs it (it was "up"),
-- since it was made (not since the look-back's start, ten years ago)
-- ---------------------------------------------------------------------------
SET client_min_messages = warning;
SELECT depwatch.add_dependency('watched_by_nobody', 'core', 'tcp', '127.0.0.1:9') > 0 AS added;
RESET client_min_messages;
SELECT depwatch.add_capability('needs_it', ARRAY['watched_by_nobody']) > 0 AS added,
	   depwatch.add_capability('either', ARRAY['watched_by_nobody|ledger']) > 0 AS added;
SELECT s.target, s.target_type, s.state, s.reason,
	   s.since = coalesce((SELECT created_at FROM depwatch.dependency WHERE name = s.target),
						  (SELECT created_at FROM depwatch.capability WHERE name = s.target)) AS since_made
FROM depwatch.current_status() s
WHERE s.target IN ('watched_by_nobody', 'needs_it', 'either', 'ledger')
ORDER BY s.target_type DESC, s.target;
SELECT u.reason, u.since = d.created_at AS since_added
FROM depwatch_internal._unmonitored_now() u JOIN depwatch.dependency d ON d.id = u.dependency_id;

-- ---------------------------------------------------------------------------
-- the breach of an impact tolerance: a run strictly longer than it, at its
-- start + the tolerance; tolerance_breaches(), availability() and the
-- scenarios call the one rule
-- ---------------------------------------------------------------------------
SELECT l AS lasted, depwatch_internal._breached(l, '2 hours') AS breached,
	   depwatch_internal._breached_at('2024-01-01 10:00+00', l, '2 hours') AS breached_at
FROM unnest(ARRAY[interval '1 hour 59 minutes', '2 hours', '2 hours 0.000001 seconds', '3 days']) l;
SELECT depwatch_internal._breached('3 hours', NULL) AS without_tolerance,
	   depwatch_internal._breached_at('2024-01-01 10:00+00', '3 hours', NULL) AS at_without_tolerance;
SELECT p.oid::regprocedure AS function, pg_get_functiondef(p.oid) ~ '_breached\(' AS calls_breached,
	   pg_get_functiondef(p.oid) ~ '> *c\.impact_tolerance' AS compares_itself
FROM pg_proc p
WHERE p.oid IN ('depwatch.tolerance_breaches(tstzrange)'::regprocedure,
				'depwatch.availability(tstzrange,text)'::regprocedure,
				'depwatch_internal._scenario_outcomes(text[],timestamptz,interval)'::regprocedure)
ORDER BY 1::text;

-- the name error is raised in one place, _check_identifier, which every
-- function that names a new dependency, capability, policy, scenario or
-- route calls (directly or through _check_name)
SELECT p.oid::regprocedure AS raises_the_name_error
FROM pg_proc p
WHERE p.pronamespace IN ('depwatch'::regnamespace, 'depwatch_internal'::regnamespace)
  AND p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'plpgsql')
  AND pg_get_functiondef(p.oid) ~ 'is not a lower-case identifier';
SELECT p.proname, pg_get_functiondef(p.oid) ~ '_check_(identifier|name)\(' AS calls_the_rule
FROM pg_proc p
WHERE p.pronamespace = 'depwatch'::regnamespace
  AND p.proname IN ('add_fee_policy', 'add_redress_policy', 'save_scenario', 'add_alert_route')
ORDER BY 1;

DROP EXTENSION depwatch CASCADE;
DROP EXTENSION btree_gist;
DROP FUNCTION try(text);

