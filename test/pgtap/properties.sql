-- properties.sql: report_sample and derive_outages agree.  Random sample
-- histories (fixed seed) are fed in time order through report_sample; the
-- outages it wrote must be exactly the windows derive_outages replays from
-- the stored samples, for probed dependencies with several thresholds and
-- for passive ones fed bursts of calls.  One assertion per dependency, and
-- assertions that the histories are rich enough for that to mean something.
BEGIN;
SET TimeZone = 'UTC';
SELECT plan(29);

-- One stream of random numbers, drawn in a fixed order from a fixed seed;
-- every history below takes its numbers from it by row number.
SELECT setseed(0.2017);
CREATE TEMP TABLE rnd AS
	SELECT g, random() AS a, random() AS b, random() AS c, random() AS d
	FROM generate_series(1, 8000) g;
CREATE UNIQUE INDEX ON rnd (g);

-- ---------------------------------------------------------------------------
-- Dependencies
-- ---------------------------------------------------------------------------
CREATE TEMP TABLE probed (name text, history int, fail_after int, recover_after int, degraded_after interval);
INSERT INTO probed VALUES
	('p_1_1', 1, 1, 1, NULL),
	('p_3_2', 2, 3, 2, '500 ms'),
	('p_2_4', 3, 2, 4, NULL),
	('p_5_1', 4, 5, 1, '800 ms'),
	-- twins: one history, two sets of thresholds
	('twin_a', 5, 3, 2, '500 ms'),
	('twin_b', 5, 5, 1, '500 ms');

DO $$
BEGIN
	PERFORM depwatch.add_dependency(p.name, 'other', 'none', fail_after => p.fail_after,
									recover_after => p.recover_after, degraded_after => p.degraded_after, tracked_since => '1990-01-01 00:00+00')
	FROM probed p;
	PERFORM depwatch.add_dependency('passive_a', 'credit_bureau', 'passive',
									options => '{"error_rate": 0.5, "window": "1 min", "min_calls": 5}', tracked_since => '1990-01-01 00:00+00');
	PERFORM depwatch.add_dependency('passive_b', 'identity', 'passive', degraded_after => '800 ms',
									options => '{"error_rate": 0.3, "window": "30 s", "min_calls": 3}', tracked_since => '1990-01-01 00:00+00');
END
$$;

-- ---------------------------------------------------------------------------
-- Probed histories: 400 samples each, 1 to 20 s apart.  Every block of 12
-- samples has a regime: healthy, flaky, down or slow.  Good samples take
-- 5-255 ms (some report no latency), slow ones 600-3000 ms, bad ones time
-- out at 2 s or report nothing.  Histories 1 and 4 end with 8 bad samples,
-- so that some outages are still open at the last sample.
-- ---------------------------------------------------------------------------
CREATE TEMP TABLE regime (history int, block int, p_bad float8, p_slow float8);
INSERT INTO regime
	SELECT h, blk, x.p_bad, x.p_slow
	FROM generate_series(1, 5) h CROSS JOIN generate_series(0, 33) blk
	JOIN rnd ON rnd.g = 3000 + (h - 1) * 40 + blk
	CROSS JOIN LATERAL (SELECT CASE WHEN rnd.a < 0.40 THEN 0.03 WHEN rnd.a < 0.60 THEN 0.45
									WHEN rnd.a < 0.80 THEN 0.90 ELSE 0.05 END,
							   CASE WHEN rnd.a < 0.40 THEN 0.05 WHEN rnd.a < 0.60 THEN 0.25
									WHEN rnd.a < 0.80 THEN 0.05 ELSE 0.70 END) x(p_bad, p_slow);

CREATE TEMP TABLE probed_history AS
	SELECT h AS history, i,
		   timestamptz '2026-03-01 00:00+00'
			   + sum(1 + floor(rnd.c * 20)) OVER (PARTITION BY h ORDER BY i) * interval '1 s' AS at,
		   s.ok,
		   CASE WHEN NOT s.ok THEN CASE WHEN rnd.d < 0.5 THEN interval '2 s' END
				WHEN s.slow THEN interval '600 ms' + rnd.d * interval '2400 ms'
				WHEN rnd.d < 0.05 THEN NULL
				ELSE interval '5 ms' + rnd.d * interval '250 ms' END AS latency
	FROM generate_series(1, 5) h CROSS JOIN generate_series(1, 400) i
	JOIN rnd ON rnd.g = (h - 1) * 400 + i
	JOIN regime r ON r.history = h AND r.block = (i - 1) / 12
	CROSS JOIN LATERAL (SELECT NOT (rnd.a < r.p_bad OR (h IN (1, 4) AND i > 392)),
							   rnd.b < r.p_slow) s(ok, slow);

-- ---------------------------------------------------------------------------
-- Passive histories: 45 bursts of 1-15 calls.  passive_a: calls 1-3 s apart
-- and bursts 5-90 s apart in whole seconds, so that calls fall exactly on
-- the edge of the one-minute window; passive_b: to the millisecond.  Each
-- burst is healthy, failing, borderline or slow.
-- ---------------------------------------------------------------------------
CREATE TEMP TABLE burst AS
	SELECT p, n AS b, 1 + floor(rnd.a * 15)::int AS calls,
		   CASE WHEN rnd.b < 0.40 THEN 0.10 WHEN rnd.b < 0.65 THEN 0.75
				WHEN rnd.b < 0.85 THEN 0.45 ELSE 0.15 END AS p_bad,
		   CASE WHEN rnd.b < 0.85 THEN 0.10 ELSE 0.60 END AS p_slow
	FROM generate_series(1, 2) p CROSS JOIN generate_series(1, 45) n
	JOIN rnd ON rnd.g = 4000 + (p - 1) * 50 + n;

CREATE TEMP TABLE passive_history AS
	WITH calls AS (
		SELECT u.p, u.b, u.c, u.p_bad, u.p_slow,
			   row_number() OVER (PARTITION BY u.p ORDER BY u.b, u.c) AS seq
		FROM (SELECT bu.*, c FROM burst bu, generate_series(1, bu.calls) c) u
	), drawn AS (
		SELECT c.p, c.seq, rnd.a < c.p_bad AS bad, rnd.b < c.p_slow AS slow, rnd.d,
			   CASE WHEN c.p = 1 THEN
						CASE WHEN c.c = 1 THEN (5 + floor(rnd.c * 86)) * interval '1 s'
							 ELSE (1 + floor(rnd.c * 3)) * interval '1 s' END
					ELSE
						CASE WHEN c.c = 1 THEN (5000 + floor(rnd.c * 85000)) * interval '1 ms'
							 ELSE (100 + floor(rnd.c * 2900)) * interval '1 ms' END
			   END AS delta
		FROM calls c JOIN rnd ON rnd.g = 5000 + (c.p - 1) * 1000 + c.seq
	)
	SELECT CASE p WHEN 1 THEN 'passive_a' ELSE 'passive_b' END AS name, seq,
		   timestamptz '2026-03-01 00:00+00' + sum(delta) OVER (PARTITION BY p ORDER BY seq) AS at,
		   NOT bad AS ok,
		   CASE WHEN bad THEN NULL
				WHEN slow THEN interval '900 ms' + d * interval '2100 ms'
				ELSE interval '20 ms' + d * interval '380 ms' END AS latency
	FROM drawn;

-- ---------------------------------------------------------------------------
-- Feed everything through report_sample, in time order, the dependencies
-- interleaved as they would be in life.
-- ---------------------------------------------------------------------------
CREATE TEMP TABLE feed AS
	SELECT p.name, h.at, h.ok, h.latency FROM probed_history h JOIN probed p ON p.history = h.history
	UNION ALL
	SELECT name, at, ok, latency FROM passive_history;

DO $$
DECLARE
	s record;
BEGIN
	FOR s IN SELECT * FROM feed ORDER BY at, name LOOP
		PERFORM depwatch.report_sample(s.name, s.ok, s.latency, s.at);
	END LOOP;
END
$$;

CREATE TEMP TABLE deps AS SELECT name FROM probed UNION ALL VALUES ('passive_a'), ('passive_b');

-- ---------------------------------------------------------------------------
-- The property: what report_sample wrote is what derive_outages replays (8)
-- ---------------------------------------------------------------------------
SELECT results_eq(
	format('SELECT kind, started_at, ended_at FROM depwatch.outages WHERE dependency = %L
			ORDER BY started_at, kind', d.name),
	format('SELECT kind, started_at, ended_at FROM depwatch.derive_outages(%L)
			ORDER BY started_at, kind', d.name),
	format('report_sample and derive_outages agree for %s', d.name))
FROM deps d ORDER BY d.name;

-- derive_outages with other thresholds replays what report_sample wrote for
-- a dependency that has those thresholds (2)
SELECT results_eq(
	$$SELECT kind, started_at, ended_at FROM depwatch.outages WHERE dependency = 'twin_b'
	  ORDER BY started_at, kind$$,
	$$SELECT kind, started_at, ended_at FROM depwatch.derive_outages('twin_a', NULL, 5, 1)
	  ORDER BY started_at, kind$$,
	'derive_outages(twin_a, fail_after => 5, recover_after => 1) gives the outages of twin_b');
SELECT results_eq(
	$$SELECT kind, started_at, ended_at FROM depwatch.outages WHERE dependency = 'twin_a'
	  ORDER BY started_at, kind$$,
	$$SELECT kind, started_at, ended_at FROM depwatch.derive_outages('twin_b', NULL, 3, 2)
	  ORDER BY started_at, kind$$,
	'derive_outages(twin_b, fail_after => 3, recover_after => 2) gives the outages of twin_a');

-- ---------------------------------------------------------------------------
-- The histories are rich enough for the property to mean something
-- (1 + 16 + 1 + 1)
-- ---------------------------------------------------------------------------
SELECT is_empty($$SELECT d.name, count(s.*) FROM deps d
				  JOIN depwatch.dependency x ON x.name = d.name
				  LEFT JOIN depwatch.sample s ON s.dependency_id = x.id
				  GROUP BY d.name HAVING count(s.*) < 300$$,
				'every dependency was fed at least 300 samples');

-- degraded outages only where degraded_after is set (SPEC section 7)
SELECT cmp_ok((SELECT count(*)::int FROM depwatch.outages o WHERE o.dependency = d.name AND o.kind = k),
			  CASE WHEN graded THEN '>' ELSE '=' END, CASE WHEN graded THEN 2 ELSE 0 END,
			  format(CASE WHEN graded THEN '%s has several %s outages' ELSE '%s has no %s outage' END, d.name, k))
FROM deps d CROSS JOIN unnest(ARRAY['down', 'degraded']) k
	 CROSS JOIN LATERAL (SELECT k = 'down' OR x.degraded_after IS NOT NULL AS graded
						 FROM depwatch.dependency x WHERE x.name = d.name) g
ORDER BY d.name, k DESC;

SELECT set_eq($$SELECT DISTINCT g.dependency FROM depwatch.outages g
				WHERE g.kind = 'degraded'
				  AND NOT EXISTS (SELECT FROM depwatch.outages w
								  WHERE w.dependency = g.dependency AND w.kind = 'down'
									AND w.started_at = g.started_at
									AND w.ended_at IS NOT DISTINCT FROM g.ended_at)$$,
			  ARRAY['p_3_2', 'p_5_1', 'twin_a', 'twin_b', 'passive_b'],
			  'slow samples make degraded outages that are not down outages, exactly where degraded_after is set');

SELECT set_has($$SELECT dependency FROM depwatch.outages WHERE ended_at IS NULL AND kind = 'down'$$,
			   $$VALUES ('p_1_1'), ('p_5_1')$$,
			   'outages still open at the last sample are compared too');

SELECT * FROM finish();
ROLLBACK;
