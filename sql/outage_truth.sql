-- Truth at the edges: outages (SPEC section 7; issue 17 items 4 and 5).
-- Degraded outages only where a degraded level is defined; where each
-- outage came from; a sample from the future refused, and what one stored
-- before 0.3 spoiled repaired with discard_samples.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
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
	-- times in messages are the test's clock: keep their place only
	message := regexp_replace(message, '\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?\+00', '<time>', 'g');
END
$$;
GRANT EXECUTE ON FUNCTION try(text) TO PUBLIC;

-- ---------------------------------------------------------------------------
-- 0.2: every outage twice, and report_sample's outages said "probe"; the
-- update keeps the down rows, says where they came from, and audits it
-- ---------------------------------------------------------------------------
CREATE EXTENSION depwatch VERSION '0.2' CASCADE;
SELECT depwatch.add_dependency('ledger', 'core', 'none') AS ledger;
SELECT depwatch.add_dependency('core', 'core', 'tcp', '127.0.0.1:1') AS core;
SELECT depwatch.add_dependency('slowapi', 'core', 'tcp', '127.0.0.1:2', degraded_after => '1 s') AS slowapi;
-- as 0.2's machine wrote them: a down row and its degraded twin
INSERT INTO depwatch.outage (dependency_id, kind, during, detected_at, source) VALUES
	(1, 'down', '[2026-11-01 10:00+00, 2026-11-01 11:00+00)', '2026-11-01 10:00:20+00', 'probe'),
	(1, 'degraded', '[2026-11-01 10:00+00, 2026-11-01 11:00+00)', '2026-11-01 10:00:20+00', 'probe'),
	(2, 'down', '[2026-11-02 10:00+00,)', '2026-11-02 10:00:20+00', 'probe'),
	(2, 'degraded', '[2026-11-02 10:00+00,)', '2026-11-02 10:00:20+00', 'probe'),
	(3, 'degraded', '[2026-11-03 10:00+00, 2026-11-03 11:00+00)', '2026-11-03 10:00:20+00', 'probe');
INSERT INTO depwatch.probe_state (dependency_id, last_at, down_open, degraded_open) VALUES
	(2, '2026-11-02 10:00:20+00', true, true);
-- a degraded outage recorded by hand is nobody's twin
SELECT depwatch.record_outage('ledger', '2026-11-04 10:00+00', '2026-11-04 11:00+00', 'degraded') AS manual;
-- 0.3's library on the catalog not yet updated: report_sample writes what
-- that catalog takes ("reported" is not one of its sources)
SELECT depwatch.add_dependency('feeder', 'other', 'none', fail_after => 2) AS feeder;
SELECT depwatch.report_sample('feeder', false, at => now() - interval '3 s'),
	   depwatch.report_sample('feeder', false, at => now() - interval '2 s');
SELECT dependency, kind, source, started_at FROM depwatch.outages WHERE dependency <> 'feeder' ORDER BY started_at, kind;
SELECT dependency, kind, source FROM depwatch.outages WHERE dependency = 'feeder';
ALTER EXTENSION depwatch UPDATE TO '0.3';
SELECT dependency, kind, source, started_at FROM depwatch.outages WHERE dependency <> 'feeder' ORDER BY started_at, kind;
SELECT dependency, kind, source FROM depwatch.outages WHERE dependency = 'feeder';
SELECT degraded_open, degraded_streak FROM depwatch.probe_state WHERE dependency_id = 2;
SELECT action, row_id, old->>'kind' AS kind, old->>'source' AS source
FROM depwatch.audit_log WHERE table_name = 'outage' AND action = 'DELETE' ORDER BY id;
SELECT count(*) AS sources_changed_audited FROM depwatch.audit_log
WHERE table_name = 'outage' AND action = 'UPDATE' AND old->>'source' = 'probe' AND new->>'source' = 'reported';
SELECT ok FROM depwatch.verify_audit();
DROP EXTENSION depwatch CASCADE;

-- ---------------------------------------------------------------------------
-- 0.3
-- ---------------------------------------------------------------------------
CREATE EXTENSION depwatch CASCADE;
CREATE ROLE truth_operator IN ROLE depwatch_operator;
CREATE ROLE truth_reader IN ROLE depwatch_reader;

-- Times are relative to :base, when the dependencies were added: a sample
-- lies between then and the server's clock.
SELECT depwatch.add_dependency('ledger', 'core', 'none') AS ledger;
SELECT depwatch.add_dependency('app', 'other', 'none') AS app;
SELECT depwatch.add_dependency('bureau', 'credit_bureau', 'none', degraded_after => '500 ms') AS bureau;
SELECT depwatch.add_dependency('core', 'core', 'tcp', '127.0.0.1:1') AS core;
SELECT depwatch.add_dependency('cards', 'payment_network', 'passive') AS cards;
SELECT depwatch.add_dependency('wire', 'payment_network', 'passive') AS wire;
SELECT depwatch.add_dependency('fx', 'payment_network', 'passive',
							   options => '{"error_rate": 0.5, "degraded_error_rate": 0.2}') AS fx;
SELECT max(created_at) AS base FROM depwatch.dependency \gset

-- feed(dep, pattern, from_ms): one sample per character, 10 ms apart,
-- the first from_ms after :base: g good, s slow (good but 900 ms), b bad.
CREATE FUNCTION feed(dep text, pattern text, from_ms int) RETURNS void
LANGUAGE sql AS $$
	SELECT depwatch.report_sample(dep, c <> 'b',
								  CASE c WHEN 's' THEN interval '900 ms' ELSE interval '20 ms' END,
								  (SELECT max(created_at) FROM depwatch.dependency)
								  + (from_ms + (i - 1) * 10) * interval '1 ms')
	FROM unnest(string_to_array(pattern, NULL)) WITH ORDINALITY u(c, i)
	ORDER BY i
$$;
GRANT EXECUTE ON FUNCTION feed(text, text, int) TO PUBLIC;

-- outages(): the outages, their times in ms after :base
CREATE FUNCTION outages() RETURNS TABLE(dependency text, kind text, source text, start_ms int, end_ms int, detected_ms int)
LANGUAGE sql AS $$
	SELECT o.dependency, o.kind, o.source,
		   (extract(epoch FROM o.started_at - b.base) * 1000)::int,
		   (extract(epoch FROM o.ended_at - b.base) * 1000)::int,
		   (extract(epoch FROM o.detected_at - b.base) * 1000)::int
	FROM depwatch.outages o, (SELECT max(created_at) AS base FROM depwatch.dependency) b
	ORDER BY o.dependency, o.started_at, o.kind
$$;
GRANT EXECUTE ON FUNCTION outages() TO PUBLIC;

-- derived(dep): derive_outages, in ms after :base
CREATE FUNCTION derived(dep text) RETURNS TABLE(kind text, start_ms int, end_ms int, bad_samples bigint)
LANGUAGE sql AS $$
	SELECT d.kind, (extract(epoch FROM d.started_at - b.base) * 1000)::int,
		   (extract(epoch FROM d.ended_at - b.base) * 1000)::int, d.bad_samples
	FROM depwatch.derive_outages(dep) d, (SELECT max(created_at) AS base FROM depwatch.dependency) b
$$;
GRANT EXECUTE ON FUNCTION derived(text) TO PUBLIC;

-- Degraded only where defined: without degraded_after, one outage, down;
-- with it, slow samples open a degraded one, and bad ones both.
SET ROLE truth_operator;
SELECT feed('ledger', 'gbbbbgg', 0);
SELECT feed('bureau', 'gsssggbbbgg', 0);
-- report_sample on a probed dependency: reported too
SELECT feed('core', 'bbbgg', 0);
SELECT depwatch.record_outage('core', :'base'::timestamptz + interval '200 ms',
							  :'base'::timestamptz + interval '300 ms') > 0 AS manual;
RESET ROLE;
SELECT * FROM outages() WHERE dependency IN ('ledger', 'bureau', 'core');
SELECT * FROM derived('ledger');
SELECT * FROM derived('bureau');
SELECT dependency_id, degraded_open, degraded_streak FROM depwatch.probe_state ORDER BY 1;

-- Passive: the error-rate rule opens "passive" outages; degraded only with
-- degraded_error_rate (or degraded_after).  cards: 10 calls, 6 bad: down.
-- fx: 10 calls, 3 bad (30 %, under 50 % but over 20 %): degraded; then 7
-- bad of 14 calls in the window: down too.
SET ROLE truth_operator;
SELECT feed('cards', 'ggggbbbbbb', 0);
SELECT feed('fx', 'gggggggbbb', 0);
SELECT feed('fx', 'bbbb', 100);
RESET ROLE;
SELECT * FROM outages() WHERE dependency IN ('cards', 'fx');
SELECT * FROM derived('cards');
SELECT * FROM derived('fx');

-- degraded_error_rate's rules: passive only, in (0, 1], below error_rate
SELECT label, (try(call)).* FROM (VALUES
	('on a tcp dependency', $$SELECT depwatch.alter_dependency('core', options => '{"degraded_error_rate": 0.1}')$$),
	('0', $$SELECT depwatch.alter_dependency('cards', options => '{"degraded_error_rate": 0}')$$),
	('1.5', $$SELECT depwatch.alter_dependency('cards', options => '{"degraded_error_rate": 1.5}')$$),
	('not below error_rate', $$SELECT depwatch.alter_dependency('cards', options => '{"error_rate": 0.3, "degraded_error_rate": 0.3}')$$),
	('not below the default 0.5', $$SELECT depwatch.alter_dependency('cards', options => '{"degraded_error_rate": 0.6}')$$),
	('0.2 with 0.5', $$SELECT depwatch.alter_dependency('cards', options => '{"error_rate": 0.5, "degraded_error_rate": 0.2}')$$)
	) AS v(label, call);
SELECT name, error_rate, degraded_error_rate FROM depwatch_internal._machine_rules WHERE probe = 'passive' ORDER BY name;

-- ---------------------------------------------------------------------------
-- The future is refused
-- ---------------------------------------------------------------------------
SET ROLE truth_operator;
SELECT label, (try(call)).* FROM (VALUES
	('a day ahead', $$SELECT depwatch.report_sample('ledger', true, at => now() + interval '1 day')$$),
	('an hour ahead, passive', $$SELECT depwatch.report_sample('cards', false, at => now() + interval '1 hour')$$),
	-- an application at UTC+9 sends its wall clock without a zone; the
	-- session (UTC) reads it 9 hours ahead
	('Seoul wall clock read in UTC', format('SELECT depwatch.report_sample(%L, true, at => %L)', 'app',
		to_char(clock_timestamp() AT TIME ZONE 'Asia/Seoul', 'YYYY-MM-DD HH24:MI:SS.US')))
	) AS v(label, call);
-- the same string in a session in Seoul's zone is now
SET TimeZone = 'Asia/Seoul';
SELECT (try(format('SELECT depwatch.report_sample(%L, true, at => %L)', 'app',
		to_char(clock_timestamp() AT TIME ZONE 'Asia/Seoul', 'YYYY-MM-DD HH24:MI:SS.US')))).state AS seoul_in_seoul;
SET TimeZone = 'UTC';
RESET ROLE;

-- ---------------------------------------------------------------------------
-- discard_samples repairs what was stored before the rule
-- ---------------------------------------------------------------------------
-- ledger: one sample a day ahead, as 0.2 stored it; every later sample is
-- refused, with no way around it.
INSERT INTO depwatch.sample (dependency_id, vantage, at, ok)
SELECT id, 'regress', now() + interval '1 day', true FROM depwatch.dependency WHERE name = 'ledger';
UPDATE depwatch.probe_state SET last_at = now() + interval '1 day'
WHERE dependency_id = (SELECT id FROM depwatch.dependency WHERE name = 'ledger');
SET ROLE truth_operator;
SELECT (try($$SELECT feed('ledger', 'bbbbgg', 1000)$$)).*;
SELECT depwatch.discard_samples('ledger', tstzrange(now() + interval '12 hours', now() + interval '36 hours'),
								'stored by an application whose clock ran a day ahead') AS discarded;
SELECT feed('ledger', 'bbbbgg', 1000);
RESET ROLE;
SELECT * FROM outages() WHERE dependency = 'ledger';
SELECT count(*) AS ledger_samples_ahead FROM depwatch.sample s JOIN depwatch.dependency d ON d.id = s.dependency_id
WHERE d.name = 'ledger' AND s.at > clock_timestamp() + interval '1 hour';
-- discarding the samples that made an outage takes the outage back: three
-- of the four bad samples at 1000-1030 ms go, one bad one is no outage
SET ROLE truth_operator;
SELECT depwatch.discard_samples('ledger', tstzrange(:'base'::timestamptz + interval '1000 ms',
												   :'base'::timestamptz + interval '1030 ms'),
								'taken from a host that had lost its network') AS discarded;
RESET ROLE;
SELECT * FROM outages() WHERE dependency = 'ledger';
SELECT * FROM derived('ledger');
SELECT (extract(epoch FROM s.last_at - :'base'::timestamptz) * 1000)::int AS last_ms, s.down_open, s.down_streak
FROM depwatch.probe_state s JOIN depwatch.dependency d ON d.id = s.dependency_id WHERE d.name = 'ledger';

-- wire: one passive call an hour ahead (a superuser lets it in, as 0.2
-- did) hides the failures that follow: they come "late" and open nothing.
SET depwatch.max_clock_skew = '1h';
SELECT depwatch.report_sample('wire', true, at => now() + interval '59 min');
RESET depwatch.max_clock_skew;
SET ROLE truth_operator;
SELECT feed('wire', 'ggbbbbbbbbbbbb', 1000);
RESET ROLE;
SELECT * FROM outages() WHERE dependency = 'wire';
SET ROLE truth_operator;
SELECT depwatch.discard_samples('wire', tstzrange(now() + interval '30 min', now() + interval '2 hours'),
								'one call stamped by a clock an hour ahead') AS discarded;
RESET ROLE;
-- re-derived from the samples that remain: the hidden failures open the
-- outage, as report_sample would have opened it
SELECT * FROM outages() WHERE dependency = 'wire';
SELECT * FROM derived('wire');
-- and the machine carries on: a later good call in a window still bad keeps it open
SET ROLE truth_operator;
SELECT feed('wire', 'g', 1200);
RESET ROLE;
SELECT count(*) FILTER (WHERE end_ms IS NULL) AS wire_ongoing FROM outages() WHERE dependency = 'wire';

-- discarded samples are audited: who, which window, how many, why
SELECT actor, action, table_name, old->>'dependency' AS dependency, old->>'samples' AS samples,
	   old->>'reason' AS reason, old->>'bounds' AS bounds,
	   (old->>'until')::timestamptz - (old->>'from')::timestamptz AS window_length
FROM depwatch.audit_log WHERE table_name = 'sample' ORDER BY id;
SELECT ok FROM depwatch.verify_audit();

-- errors
SET ROLE truth_operator;
SELECT label, (try(call)).* FROM (VALUES
	('unknown dependency', $$SELECT depwatch.discard_samples('nobody', tstzrange(now(), now() + interval '1 h'), 'why')$$),
	('infinite window', $$SELECT depwatch.discard_samples('ledger', '[2026-12-01 00:00+00,)', 'why')$$),
	('window to infinity', $$SELECT depwatch.discard_samples('ledger', '[2026-12-01 00:00+00, infinity)', 'why')$$),
	('empty window', $$SELECT depwatch.discard_samples('ledger', 'empty', 'why')$$),
	('NULL window', $$SELECT depwatch.discard_samples('ledger', NULL, 'why')$$),
	('32 days', $$SELECT depwatch.discard_samples('ledger', tstzrange(now() - interval '32 days', now()), 'why')$$),
	('no reason', $$SELECT depwatch.discard_samples('ledger', tstzrange(now(), now() + interval '1 h'), NULL)$$),
	('blank reason', $$SELECT depwatch.discard_samples('ledger', tstzrange(now(), now() + interval '1 h'), '  ')$$),
	('reason of 4,001 characters', $$SELECT depwatch.discard_samples('ledger', tstzrange(now(), now() + interval '1 h'), repeat('r', 4001))$$),
	('31 days, nothing in it', $$SELECT depwatch.discard_samples('ledger', tstzrange(now() - interval '40 days', now() - interval '9 days'), 'why')$$)
	) AS v(label, call);
RESET ROLE;
-- a reader may not discard, nor call the re-derivation
SET ROLE truth_reader;
SELECT (try($$SELECT depwatch.discard_samples('ledger', tstzrange(now(), now() + interval '1 h'), 'why')$$)).state AS reader_discards;
SELECT (try($$SELECT depwatch_internal._rederive_outages('ledger', now())$$)).state AS reader_rederives;
RESET ROLE;
SET ROLE truth_operator;
SELECT (try($$SELECT depwatch_internal._rederive_outages('ledger', now())$$)).state AS operator_rederives;
RESET ROLE;

DROP EXTENSION depwatch CASCADE;
DROP FUNCTION try(text), feed(text, text, int), outages(), derived(text);
DROP ROLE truth_operator, truth_reader;
