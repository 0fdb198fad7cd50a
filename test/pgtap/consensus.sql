-- consensus.sql: the consensus of vantages, computed in C since 0.3 (the
-- capability sweep of src/timeline.c over the vantages' views with a quorum
-- group, src/consensus.c), agrees with a plain SQL recomputation of
-- doc/semantics.md, "Vantages and consensus" (0.2's own SQL sweep, kept
-- here as the reference), on random vantage histories (fixed seed); and its
-- figures are availability()'s, maintenance taken out.
BEGIN;
SET TimeZone = 'UTC';
SET client_min_messages = warning;
SELECT plan(8);

SELECT setseed(0.0818);

-- ---------------------------------------------------------------------------
-- 30 probed dependencies, each seen by 1 to 6 vantages, the quorum a
-- majority (NULL) or 1, 2 or 3.  Every count is drawn per row, into a column
-- (a draw in a join's filter would be shared by every row).
-- ---------------------------------------------------------------------------
CREATE TEMP TABLE dep AS
	SELECT 'c' || g AS name, g,
		   (ARRAY[NULL, NULL, 1, 2, 3])[1 + floor(random() * 5)::int] AS quorum,
		   1 + floor(random() * 6)::int AS vantages, floor(random() * 3)::int AS maintenance
	FROM generate_series(1, 30) g;
DO $$
BEGIN
	PERFORM depwatch.add_dependency(d.name, 'other', 'tcp', '127.0.0.1:9', every => '10 s',
									options => CASE WHEN d.quorum IS NULL THEN '{}'
													ELSE jsonb_build_object('quorum', d.quorum) END,
									tracked_since => '1990-01-01 00:00+00')
	FROM dep d;
END
$$;

-- Each vantage watched from its first sample (09:50 to 10:20) to 30 s after
-- its last (up to 90 minutes later), less 0 to 3 gaps of up to 5 minutes,
-- and saw up to 4 down outages of up to 10 minutes (one in ten still open).
CREATE TEMP TABLE watch AS
	SELECT x.*, x.first + random() * interval '90 minutes' AS last
	FROM (SELECT d.name AS dependency, 'v' || v AS vantage,
				 timestamptz '2024-01-01 09:50' + random() * interval '30 minutes' AS first,
				 floor(random() * 4)::int AS gaps, floor(random() * 5)::int AS outages
		  FROM dep d CROSS JOIN generate_series(1, 6) v
		  WHERE v <= d.vantages) x;
INSERT INTO depwatch.vantage_sample (vantage, id, dependency, at, ok)
SELECT w.vantage, row_number() OVER (PARTITION BY w.vantage), w.dependency, t, true
FROM watch w CROSS JOIN LATERAL (VALUES (w.first), (w.last)) s(t);
INSERT INTO depwatch.vantage_gap (vantage, dependency, before, unmonitored)
SELECT w.vantage, w.dependency, w.first, tstzrange(NULL, w.first) FROM watch w
UNION ALL
SELECT w.vantage, w.dependency, g.a + g.len, tstzrange(g.a, g.a + g.len)
FROM watch w CROSS JOIN LATERAL (
	SELECT w.first + random() * (w.last - w.first) AS a, random() * interval '5 minutes' AS len
	FROM generate_series(1, w.gaps)) g
WHERE g.len > interval '0';
INSERT INTO depwatch.vantage_outage (vantage, outage_id, dependency, kind, during)
SELECT o.vantage, row_number() OVER (PARTITION BY o.vantage), o.dependency, 'down',
	   tstzrange(o.a, CASE WHEN o.open THEN NULL ELSE o.a + o.len END)
FROM (SELECT w.vantage, w.dependency, w.first + random() * (w.last - w.first + interval '30 s') AS a,
			 random() * interval '10 minutes' AS len, random() < 0.1 AS open
	  FROM watch w CROSS JOIN LATERAL generate_series(1, w.outages) k) o
WHERE o.len > interval '0';

-- ---------------------------------------------------------------------------
-- The reference: 0.2's consensus_timeline, in SQL, over 10:00-11:00.
-- ---------------------------------------------------------------------------
CREATE TEMP TABLE ref AS
	WITH s AS (
		SELECT * FROM depwatch_internal._vantage_spans('2024-01-01 10:00', '2024-01-01 11:00')
	), edge AS (
		SELECT s.dependency_id, lower(r) AS t FROM s, unnest(s.monitored) r
		UNION SELECT s.dependency_id, upper(r) FROM s, unnest(s.monitored) r
		UNION SELECT s.dependency_id, lower(r) FROM s, unnest(s.down) r
		UNION SELECT s.dependency_id, upper(r) FROM s, unnest(s.down) r
		UNION SELECT s.dependency_id, '2024-01-01 10:00' FROM s
		UNION SELECT s.dependency_id, '2024-01-01 11:00' FROM s
	), piece AS (
		SELECT e.dependency_id, e.t AS lo, lead(e.t) OVER (PARTITION BY e.dependency_id ORDER BY e.t) AS hi
		FROM edge e WHERE e.t BETWEEN '2024-01-01 10:00' AND '2024-01-01 11:00'
	), counted AS (
		SELECT p.dependency_id, p.lo, p.hi,
			   count(*) FILTER (WHERE s.monitored @> p.lo)::int AS reporting,
			   count(*) FILTER (WHERE s.down @> p.lo)::int AS down,
			   array_agg(s.vantage ORDER BY s.vantage) FILTER (WHERE s.down @> p.lo) AS down_vantages
		FROM piece p JOIN s ON s.dependency_id = p.dependency_id
		WHERE p.hi > p.lo
		GROUP BY p.dependency_id, p.lo, p.hi
	), judged AS (
		SELECT d.name, c.*, coalesce((d.options->>'quorum')::int, c.reporting / 2 + 1) AS quorum
		FROM counted c JOIN depwatch.dependency d ON d.id = c.dependency_id
	)
	SELECT j.name AS dependency, j.lo AS started_at, j.hi AS ended_at,
		   CASE WHEN j.reporting = 0 OR j.reporting < j.quorum THEN 'unmonitored'
				WHEN j.down >= j.quorum THEN 'down' ELSE 'up' END AS state,
		   j.reporting, j.down, j.quorum, coalesce(j.down_vantages, '{}') AS down_vantages
	FROM judged j;

SELECT ok((SELECT count(*) FROM ref) > 300
		  AND (SELECT count(DISTINCT dependency) FROM ref WHERE state = 'down') >= 10
		  AND (SELECT count(DISTINCT dependency) FROM ref WHERE state = 'unmonitored' AND reporting > 0) >= 3
		  AND (SELECT count(DISTINCT coalesce(quorum, 0)) FROM dep) = 4
		  AND (SELECT count(*) FROM dep WHERE vantages = 1) >= 2,
		  'the random histories have pieces down, unmonitored with vantages watching, every quorum, single vantages');

SELECT set_eq($$SELECT * FROM depwatch.consensus_timeline('[2024-01-01 10:00, 2024-01-01 11:00)')$$,
			  $$SELECT * FROM ref$$,
			  'consensus_timeline: the same pieces, states, counts and vantages as the SQL reference');

SELECT set_eq($$SELECT dependency, monitored, downtime, outages
				FROM depwatch.vantage_availability('[2024-01-01 10:00, 2024-01-01 11:00)') WHERE vantage IS NULL$$,
			  $$SELECT r.dependency,
					   coalesce(sum(r.ended_at - r.started_at) FILTER (WHERE r.state <> 'unmonitored'), '0') AS monitored,
					   coalesce(sum(r.ended_at - r.started_at) FILTER (WHERE r.state = 'down'), '0') AS downtime,
					   (SELECT count(*)::int FROM unnest(range_agg(tstzrange(r.started_at, r.ended_at))
														 FILTER (WHERE r.state = 'down'))) AS outages
				FROM ref r GROUP BY r.dependency$$,
			  'vantage_availability: the consensus''s monitored time, down time and outages are the reference''s');

-- one vantage with a majority or quorum 1: the consensus is that vantage
SELECT is_empty($$SELECT c.dependency FROM depwatch.vantage_availability('[2024-01-01 10:00, 2024-01-01 11:00)') c
				  JOIN depwatch.vantage_availability('[2024-01-01 10:00, 2024-01-01 11:00)') v
					ON v.dependency = c.dependency AND v.vantage IS NOT NULL
				  JOIN dep d ON d.name = c.dependency AND d.vantages = 1 AND coalesce(d.quorum, 1) = 1
				  WHERE c.vantage IS NULL
					AND (c.monitored, c.downtime, c.unmonitored, c.availability, c.outages)
						IS DISTINCT FROM (v.monitored, v.downtime, v.unmonitored, v.availability, v.outages)$$,
				'a single vantage with quorum 1 (or a majority) is the consensus');

-- ---------------------------------------------------------------------------
-- Maintenance: up to 2 windows of up to 20 minutes per dependency.
-- ---------------------------------------------------------------------------
CREATE TEMP TABLE planned AS
	SELECT depwatch.add_maintenance(m.name, tstzrange(m.a, m.a + m.len)) AS id
	FROM (SELECT d.name, timestamptz '2024-01-01 09:55' + random() * interval '60 minutes' AS a,
				 interval '1 minute' + random() * interval '19 minutes' AS len
		  FROM dep d CROSS JOIN LATERAL generate_series(1, d.maintenance) k) m;
SELECT ok((SELECT count(DISTINCT r.dependency) FROM ref r JOIN depwatch.dependency d ON d.name = r.dependency
		   JOIN depwatch.maintenance m ON m.dependency_id = d.id
		   WHERE r.state = 'down' AND m.during && tstzrange(r.started_at, r.ended_at)) >= 5,
		  'maintenance covers consensus down time of several dependencies');

SELECT set_eq($$SELECT dependency, downtime
				FROM depwatch.vantage_availability('[2024-01-01 10:00, 2024-01-01 11:00)') WHERE vantage IS NULL$$,
			  $$SELECT r.dependency,
					   coalesce((SELECT sum(upper(x) - lower(x))
								 FROM unnest(range_agg(tstzrange(r.started_at, r.ended_at)) FILTER (WHERE r.state = 'down')
											 - coalesce((SELECT range_agg(m.during) FROM depwatch.maintenance m
														 JOIN depwatch.dependency d ON d.id = m.dependency_id
														 WHERE d.name = r.dependency), '{}')) x), '0') AS downtime
				FROM ref r GROUP BY r.dependency$$,
			  'vantage_availability: the consensus''s down time is the reference''s less maintenance');

SET depwatch.consensus = on;
SELECT set_eq($$SELECT dependency, monitored, downtime, maintenance, unmonitored, availability, outages
				FROM depwatch.vantage_availability('[2024-01-01 10:00, 2024-01-01 11:00)') WHERE vantage IS NULL$$,
			  $$SELECT target, monitored, downtime, maintenance, unmonitored, availability, outages
				FROM depwatch.availability('[2024-01-01 10:00, 2024-01-01 11:00)')$$,
			  'with depwatch.consensus on, availability() gives the consensus''s figures, maintenance taken out');
SELECT set_eq($$SELECT target, state, started_at, ended_at
				FROM depwatch.state_timeline('[2024-01-01 10:00, 2024-01-01 11:00)') WHERE NOT maintenance$$,
			  $$SELECT dependency, state, lower(x), upper(x)
				FROM (SELECT r.dependency, r.state,
							 unnest(range_agg(tstzrange(r.started_at, r.ended_at))
									- coalesce((SELECT range_agg(m.during) FROM depwatch.maintenance m
												JOIN depwatch.dependency d ON d.id = m.dependency_id
												WHERE d.name = r.dependency), '{}')) AS x
					  FROM ref r GROUP BY r.dependency, r.state) y$$,
			  'with depwatch.consensus on, state_timeline() outside maintenance is the reference''s runs');
RESET depwatch.consensus;

SELECT * FROM finish();
ROLLBACK;
