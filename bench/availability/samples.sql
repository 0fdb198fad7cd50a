-- bench/availability/samples.sql: the derive_outages benchmark's data, made
-- reproducibly (setseed) in the current database: one dependency probed
-- every second, 10 million samples (about 116 days, in the past, in the
-- default partition of depwatch.sample; the cluster keeps samples for
-- depwatch.sample_retention, set high by bench/availability.sh).
--
-- The samples: mostly good (20-300 ms); background blips (0.2 % bad, 1 %
-- slow); and episodes placed at random in 500-sample blocks (35 % of the
-- blocks): short bad or slow streaks of 1-4 samples (blips, under
-- fail_after), outages of 5-64 and 65-464 samples.  Inside an episode 60 to
-- 100 % of the samples are bad (or slow), so that recoveries flap and the
-- recover_after rule matters.
--
-- psql variables: seed, samples (how many), t0 (first sample).

\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS depwatch CASCADE;
RESET client_min_messages;
SET TimeZone = 'UTC';
SELECT setseed(:seed);

SELECT depwatch.add_dependency('api_gateway', 'payment_network', 'http',
							   'https://gateway.example.test/health',
							   every => '1 s', timeout => '900 ms',
							   fail_after => 3, recover_after => 2,
							   degraded_after => '800 ms',
							   -- its history begins with its first sample (SPEC
							   -- section 7; the samples go in below, in bulk)
							   tracked_since => :'t0') AS dependency_id \gset

CREATE TEMP TABLE gen_episode AS
SELECT x.block, x.off,
	   CASE WHEN x.r_len < 0.55 THEN 1 + floor(x.r_n * 4)::int
			WHEN x.r_len < 0.85 THEN 5 + floor(x.r_n * 60)::int
			ELSE 65 + floor(x.r_n * 400)::int END AS len,
	   CASE WHEN x.r_what < 0.6 THEN 'bad' ELSE 'slow' END AS what,
	   0.6 + 0.4 * x.r_int AS intensity
FROM (SELECT b AS block, floor(random() * 400)::int AS off, random() AS r_len, random() AS r_n,
			 random() AS r_what, random() AS r_int, random() AS r_pick
	  FROM generate_series(0, (:samples - 1) / 500) AS b) x
WHERE x.r_pick < 0.35;
CREATE INDEX ON gen_episode (block);
ANALYZE gen_episode;

INSERT INTO depwatch.sample (dependency_id, vantage, at, ok, latency)
SELECT :dependency_id, 'bench',
	   :'t0'::timestamptz + y.i * interval '1 s' + floor(y.r_jitter * 900000) * interval '1 microsecond',
	   y.class <> 'bad',
	   CASE y.class
		   WHEN 'good' THEN interval '1 ms' * (20 + floor(280 * y.r_lat))
		   WHEN 'slow' THEN interval '1 ms' * (801 + floor(2000 * y.r_lat))
		   ELSE CASE WHEN y.r_lat < 0.5 THEN NULL ELSE interval '900 ms' END
	   END
FROM (
	SELECT x.i, x.r_jitter, x.r_lat,
		   CASE WHEN x.what IS NOT NULL AND x.r_class < x.intensity THEN x.what
				WHEN x.what IS NOT NULL THEN 'good'
				WHEN x.r_class < 0.002 THEN 'bad'
				WHEN x.r_class < 0.012 THEN 'slow'
				ELSE 'good' END AS class
	FROM (
		SELECT s.i, random() AS r_jitter, random() AS r_lat, random() AS r_class, e.what, e.intensity
		FROM generate_series(0, :samples - 1) AS s(i)
		LEFT JOIN gen_episode e ON e.block = s.i / 500 AND s.i % 500 >= e.off AND s.i % 500 < e.off + e.len
	) x
) y;

VACUUM ANALYZE depwatch.sample_default;

SELECT count(*) AS samples, min(at) AS first_at, max(at) AS last_at,
	   count(*) FILTER (WHERE NOT ok) AS bad,
	   count(*) FILTER (WHERE ok AND latency > interval '800 ms') AS slow
FROM depwatch.sample;
