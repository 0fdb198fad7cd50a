-- The outage state machine: report_sample opens and closes outages,
-- derive_outages replays the same samples with the same rules.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION depwatch CASCADE;
RESET client_min_messages;
SET TimeZone = 'UTC';

SELECT depwatch.add_dependency('bureau', 'credit_bureau', 'none', fail_after => 3, recover_after => 2,
							   degraded_after => '500 ms', tracked_since => '1990-01-01 00:00+00');

-- feed(dep, pattern, start): one sample per character every 10 s:
-- g good, s slow (good but 900 ms), b bad.
CREATE FUNCTION feed(dep text, pattern text, start timestamptz) RETURNS void
LANGUAGE sql AS $$
	SELECT depwatch.report_sample(dep, c <> 'b',
								  CASE c WHEN 's' THEN interval '900 ms' ELSE interval '20 ms' END,
								  start + (i - 1) * interval '10 s')
	FROM unnest(string_to_array(pattern, NULL)) WITH ORDINALITY u(c, i)
	ORDER BY i
$$;

-- Two bad samples are a blip; three open a down outage backdated to the
-- first, detected at the third.  One good sample is not a recovery; the
-- outage ends at the first good sample of two in a row.
SELECT feed('bureau', 'gbbgbbbbgbgggg', '2026-03-01 09:00');
SELECT kind, started_at, ended_at, detected_at, source FROM depwatch.outages ORDER BY kind, started_at;
SELECT * FROM depwatch.derive_outages('bureau');

-- Slow samples open a degraded outage but keep the dependency up; slow
-- samples count toward recovery from down.
SELECT feed('bureau', 'sssgbbbssgg', '2026-03-01 10:00');
SELECT kind, started_at, ended_at, detected_at FROM depwatch.outages
WHERE started_at >= '2026-03-01 10:00' ORDER BY kind, started_at;
SELECT * FROM depwatch.derive_outages('bureau', tstzrange('2026-03-01 10:00', NULL));

-- An outage still open at the last sample has no end.
SELECT feed('bureau', 'bbbbg', '2026-03-01 11:00');
SELECT kind, started_at, ended_at FROM depwatch.outages WHERE ended_at IS NULL ORDER BY kind;
SELECT * FROM depwatch.derive_outages('bureau', tstzrange('2026-03-01 11:00', NULL));

-- derive_outages can try other thresholds without writing anything.
SELECT * FROM depwatch.derive_outages('bureau', tstzrange('2026-03-01 09:00', '2026-03-01 09:05'), 2, 1);
SELECT count(*) AS outages_unchanged FROM depwatch.outage;

-- Samples must come in time order for a probed dependency.
\set VERBOSITY terse
SELECT depwatch.report_sample('bureau', true, at => '2026-03-01 10:30');
\set VERBOSITY default

-- An outage ended by hand stays ended; the machine counts afresh.
SELECT depwatch.end_outage('bureau', '2026-03-01 11:00:45') > 0 AS ended;
SELECT depwatch.end_outage('bureau', '2026-03-01 11:00:45', 'degraded') > 0 AS ended;
SELECT feed('bureau', 'ggbbb', '2026-03-01 11:01');
SELECT kind, started_at, ended_at, source FROM depwatch.outages
WHERE started_at >= '2026-03-01 11:00' ORDER BY kind, started_at;

-- A new streak never overlaps an outage recorded by hand: it starts when
-- that one ends.
SELECT depwatch.add_dependency('idcheck', 'identity', 'none', fail_after => 2, recover_after => 1, tracked_since => '1990-01-01 00:00+00');
SELECT depwatch.record_outage('idcheck', '2026-03-02 08:00', '2026-03-02 08:00:15') > 0 AS recorded;
SELECT feed('idcheck', 'bbbgg', '2026-03-02 08:00');
SELECT kind, started_at, ended_at, source FROM depwatch.outages WHERE dependency = 'idcheck'
ORDER BY started_at;

-- An outage that closes at the instant it opened (samples with equal
-- times) lasted no time: neither path keeps it.
SELECT depwatch.add_dependency('blink', 'other', fail_after => 1, recover_after => 1, tracked_since => '1990-01-01 00:00+00');
SELECT count(*) AS samples FROM (
	SELECT depwatch.report_sample('blink', ok, NULL, t)
	FROM (VALUES (1, false, '2026-03-02 09:00:00+00'::timestamptz), (2, true, '2026-03-02 09:00:00'),
				 (3, true, '2026-03-02 09:00:10')) v(n, ok, t)
	ORDER BY n) s;
SELECT count(*) AS outages FROM depwatch.outages WHERE dependency = 'blink';
SELECT count(*) AS derived FROM depwatch.derive_outages('blink');

-- Passive dependencies: down while at least half of at least 4 calls in
-- the trailing minute failed.
SELECT depwatch.add_dependency('bureau_api', 'credit_bureau', 'passive',
							   options => '{"error_rate": 0.5, "window": "1 min", "min_calls": 4}', tracked_since => '1990-01-01 00:00+00');
SELECT depwatch.report_sample('bureau_api', ok, NULL, t)
FROM (VALUES (true,  '2026-03-03 12:00:00+00'::timestamptz),
			 (false, '2026-03-03 12:00:05'),	-- 1 of 2: too few calls
			 (false, '2026-03-03 12:00:10'),	-- 2 of 3: too few calls
			 (true,  '2026-03-03 12:00:15'),	-- 2 of 4 failed: down
			 (true,  '2026-03-03 12:00:20'),	-- 2 of 5: up again
			 (false, '2026-03-03 12:00:50'),	-- 3 of 6: down
			 (true,  '2026-03-03 12:01:06'),	-- window (12:00:06, 12:01:06]: 2 of 5: up
			 (false, '2026-03-03 12:01:40')) v(ok, t)	-- window keeps 2 calls: too few
ORDER BY t;
SELECT kind, started_at, ended_at, detected_at, source FROM depwatch.outages
WHERE dependency = 'bureau_api' ORDER BY kind, started_at;
SELECT * FROM depwatch.derive_outages('bureau_api');

-- The rule holds "while": when calls stop, the outage ends the instant the
-- window holds too few of them, not at the next call.
SELECT depwatch.add_dependency('kyc_api', 'identity', 'passive',
							   options => '{"error_rate": 0.5, "window": "1 min", "min_calls": 4}', tracked_since => '1990-01-01 00:00+00');
SELECT count(*) AS calls FROM (
	SELECT depwatch.report_sample('kyc_api', ok, NULL, t)
	FROM (VALUES (false, '2026-03-04 12:00:00+00'::timestamptz), (false, '2026-03-04 12:00:01'),
				 (false, '2026-03-04 12:00:02'), (false, '2026-03-04 12:00:03'),	-- 4 of 4: down
				 (false, '2026-03-04 12:00:04'),
				 (true, '2026-03-04 12:30:00')) v(ok, t)	-- at 12:01:01 only 3 calls were left
	ORDER BY t) s;
SELECT kind, started_at, ended_at FROM depwatch.outages WHERE dependency = 'kyc_api' ORDER BY kind;
SELECT kind, started_at, ended_at FROM depwatch.derive_outages('kyc_api');

-- A late call of a passive dependency is stored and counted by later
-- windows, but does not move the machine back in time.
SELECT depwatch.report_sample('bureau_api', false, at => '2026-03-03 12:01:30');
SELECT count(*) AS samples FROM depwatch.sample s JOIN depwatch.dependency d ON d.id = s.dependency_id
WHERE d.name = 'bureau_api';

-- Every sample carries the vantage (depwatch.vantage by default).
SELECT DISTINCT vantage FROM depwatch.sample ORDER BY 1;
SELECT depwatch.report_sample('bureau', true, at => '2026-03-01 12:00', vantage => 'seoul-dc2',
							  detail => 'HTTP 200');
SELECT vantage, detail FROM depwatch.sample WHERE at = '2026-03-01 12:00';

DROP FUNCTION feed(text, text, timestamptz);
DROP EXTENSION depwatch;
DROP EXTENSION btree_gist;
