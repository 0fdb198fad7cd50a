-- bench/availability/reference.sql: plain-SQL reference implementations of
-- depwatch.availability(), depwatch.capability_outages() and
-- depwatch.derive_outages(), written from SPEC section 3 the way a DBA
-- would write them without the extension's C code: multiranges
-- (range_agg, *, -, &&, @>), +1/-1 event sweeps with window sums,
-- generate_series buckets, and window-function gaps-and-islands.
--
-- They read the same catalog (depwatch.dependency, capability, outage,
-- maintenance, sample) and return the same columns, so that the benchmark
-- can compare the results row for row.
--
-- Scope: the availability references cover dependencies that are
-- monitored all the time (probe none or passive, so no monitor gaps),
-- tracked since before the period begins (so no untracked time, SPEC
-- section 7), over periods in the past (so no "future is unmonitored"):
-- the benchmark's data.  They refuse anything else rather than answer it
-- wrongly.

SET client_min_messages = warning;
DROP SCHEMA IF EXISTS ref CASCADE;
RESET client_min_messages;
CREATE SCHEMA ref;

-- ---------------------------------------------------------------------------
-- Helpers
-- ---------------------------------------------------------------------------

-- usecs: the length of a range in microseconds
CREATE FUNCTION ref.usecs(r tstzrange) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN round(date_part('epoch', upper(r) - lower(r)) * 1000000)::bigint;

-- iv: microseconds as an interval of hours, minutes and seconds (the C
-- functions return intervals without days)
CREATE FUNCTION ref.iv(us bigint) RETURNS interval
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN interval '1 microsecond' * us;

-- The requirement groups, parsed from their stored form ('a', 'a|b',
-- '2:a|b|c'): k members of the group must be up.
CREATE VIEW ref.requirement AS
SELECT c.name AS capability, g.ord::int AS grp, g.txt AS group_text,
	   CASE WHEN g.txt LIKE '%:%' THEN split_part(g.txt, ':', 1)::int ELSE 1 END AS k,
	   string_to_array(regexp_replace(g.txt, '^[0-9]+:', ''), '|') AS members
FROM depwatch.capability c
CROSS JOIN LATERAL unnest(c.requires) WITH ORDINALITY AS g(txt, ord);

-- Capability levels: 0 when it needs dependencies only, else one more
-- than its deepest member capability (longest path in the requirement DAG).
CREATE VIEW ref.capability_level AS
WITH RECURSIVE edge AS (
	SELECT DISTINCT r.capability AS parent, m.member AS child
	FROM ref.requirement r
	CROSS JOIN LATERAL unnest(r.members) AS m(member)
	JOIN depwatch.capability c ON c.name = m.member
), depth(capability, lvl) AS (
	SELECT c.name, 0 FROM depwatch.capability c
	UNION
	SELECT e.parent, d.lvl + 1 FROM depth d JOIN edge e ON e.child = d.capability
)
SELECT capability, max(lvl) AS lvl FROM depth GROUP BY capability;

-- ---------------------------------------------------------------------------
-- State timelines as multiranges, over [lo, hi), in temp tables:
--   ref_tl(name, is_cap, d, dg, m)
--     d   down
--     dg  down or degraded (a capability: down, or some member down or
--         degraded -- its own state is degraded on dg - d)
--     m   under maintenance (a capability: its own windows, and any
--         member's maintenance while the capability is down)
--   ref_grp(capability, grp, group_text, f, l)
--     f   the group fails: more than n - k members down
--     l   the group loses members: some member down or degraded (only
--         with_causes, for capability_outages)
-- root names one capability (only its subtree is built) or NULL for all.
-- ---------------------------------------------------------------------------
CREATE FUNCTION ref.build_timelines(lo timestamptz, hi timestamptz, root text DEFAULT NULL,
									 with_causes boolean DEFAULT false)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
	p tstzrange := tstzrange(lo, hi);
	level int;
	top int;
BEGIN
	IF hi > now() THEN
		RAISE EXCEPTION 'ref: the reference does not model the unmonitored future (period ends after now)';
	END IF;
	IF EXISTS (SELECT FROM depwatch.dependency WHERE probe IN ('tcp', 'http', 'postgres')) THEN
		RAISE EXCEPTION 'ref: the reference does not model monitor gaps of probed dependencies';
	END IF;
	IF EXISTS (SELECT FROM depwatch.dependency WHERE tracked_since > lo) THEN
		RAISE EXCEPTION 'ref: the reference does not model untracked time (% dependencies tracked only since after the period begins)',
			(SELECT count(*) FROM depwatch.dependency WHERE tracked_since > lo);
	END IF;

	IF to_regclass('pg_temp.ref_tl') IS NULL THEN
		CREATE TEMP TABLE ref_tl (
			name text PRIMARY KEY, is_cap boolean NOT NULL,
			d tstzmultirange NOT NULL, dg tstzmultirange NOT NULL, m tstzmultirange NOT NULL);
		CREATE TEMP TABLE ref_grp (
			capability text NOT NULL, grp int NOT NULL, group_text text NOT NULL,
			f tstzmultirange NOT NULL, l tstzmultirange NOT NULL, PRIMARY KEY (capability, grp));
		CREATE TEMP TABLE ref_subject (name text PRIMARY KEY, is_cap boolean, lvl int);
		-- big multiranges: stored out of line but not compressed
		ALTER TABLE ref_tl ALTER d SET STORAGE EXTERNAL, ALTER dg SET STORAGE EXTERNAL,
			ALTER m SET STORAGE EXTERNAL;
		ALTER TABLE ref_grp ALTER f SET STORAGE EXTERNAL, ALTER l SET STORAGE EXTERNAL;
	END IF;
	TRUNCATE ref_tl, ref_grp, ref_subject;

	-- the subjects to build: every one, or root and what it needs
	IF root IS NULL THEN
		INSERT INTO ref_subject
		SELECT d.name, false, NULL FROM depwatch.dependency d
		UNION ALL
		SELECT l.capability, true, l.lvl FROM ref.capability_level l;
	ELSE
		INSERT INTO ref_subject
		WITH RECURSIVE below(name) AS (
			SELECT root
			UNION
			SELECT m.member FROM below b
			JOIN ref.requirement r ON r.capability = b.name
			CROSS JOIN LATERAL unnest(r.members) AS m(member)
		)
		SELECT b.name, l.capability IS NOT NULL, l.lvl
		FROM below b LEFT JOIN ref.capability_level l ON l.capability = b.name;
	END IF;
	ANALYZE ref_subject;

	-- dependencies: their outages and maintenance windows, clipped
	INSERT INTO ref_tl
	WITH dep AS (
		SELECT d.id, d.name FROM depwatch.dependency d JOIN ref_subject s ON s.name = d.name
	), o AS (
		SELECT x.dependency_id,
			   range_agg(x.during * p) FILTER (WHERE x.kind = 'down') AS d,
			   range_agg(x.during * p) AS dg
		FROM depwatch.outage x
		JOIN dep ON dep.id = x.dependency_id
		WHERE x.during && p
		GROUP BY x.dependency_id
	), mt AS (
		SELECT x.dependency_id, range_agg(x.during * p) AS m
		FROM depwatch.maintenance x
		JOIN dep ON dep.id = x.dependency_id
		WHERE x.during && p
		GROUP BY x.dependency_id
	)
	SELECT dep.name, false, coalesce(o.d, '{}'), coalesce(o.dg, '{}'), coalesce(mt.m, '{}')
	FROM dep
	LEFT JOIN o ON o.dependency_id = dep.id
	LEFT JOIN mt ON mt.dependency_id = dep.id;
	ANALYZE ref_tl;

	-- capabilities, level by level: each from its members' timelines
	SELECT max(lvl) INTO top FROM ref_subject WHERE is_cap;
	FOR level IN 0 .. coalesce(top, -1) LOOP
		-- per group: fails where more than n - k members are down (a +1/-1
		-- sweep over the members' down ranges), loses members where some
		-- member is down or degraded
		INSERT INTO ref_grp
		WITH RECURSIVE grp AS MATERIALIZED (
			SELECT r.capability, r.grp, r.group_text, r.k, cardinality(r.members) AS n, r.members,
				   row_number() OVER () AS gid,
				   -- subsets of n - k + 1 members (any of which down fails the group)
				   factorial(cardinality(r.members))
					 / (factorial(cardinality(r.members) - r.k + 1) * factorial(r.k - 1)) <= 64 AS few_subsets
			FROM ref.requirement r
			JOIN ref_subject s ON s.name = r.capability AND s.is_cap AND s.lvl = level
		), member AS MATERIALIZED (
			SELECT g.capability, g.grp, g.gid, g.k, g.n, g.few_subsets, m.i, t.d, t.dg
			FROM grp g
			CROSS JOIN LATERAL unnest(g.members) WITH ORDINALITY AS m(name, i)
			JOIN ref_tl t ON t.name = m.name
		), plain AS MATERIALIZED (
			-- a group that needs all its members fails when any is down, one
			-- that needs any one of them when all are; it loses members when
			-- any is down or degraded (only capability_outages wants that
			-- per group, for its causes)
			SELECT m.gid,
				   range_agg(m.d) FILTER (WHERE m.k = m.n) AS f_all,
				   range_intersect_agg(m.d) FILTER (WHERE m.k = 1 AND m.n > 1) AS f_any,
				   range_agg(m.dg) FILTER (WHERE with_causes) AS l
			FROM member m
			GROUP BY m.gid
		), subset(gid, size, last, idx) AS (
			-- a k-of-n group fails where more than n - k members are down,
			-- i.e. where every member of some n - k + 1 of them is: when
			-- there are few such subsets, intersect each and unite them
			SELECT m.gid, m.n - m.k + 1, m.i, ARRAY[m.i]
			FROM member m
			WHERE m.k > 1 AND m.k < m.n AND m.few_subsets
			UNION ALL
			SELECT x.gid, x.size, m.i, x.idx || m.i
			FROM subset x
			JOIN member m ON m.gid = x.gid AND m.i > x.last
			WHERE cardinality(x.idx) < x.size
		), k_of_n_subsets AS MATERIALIZED (
			SELECT x.gid, range_agg(x.f) AS f
			FROM (SELECT s.gid, range_intersect_agg(m.d) AS f
				  FROM subset s
				  JOIN member m ON m.gid = s.gid AND m.i = ANY (s.idx)
				  WHERE cardinality(s.idx) = s.size
				  GROUP BY s.gid, s.idx) x
			GROUP BY x.gid
		), k_of_n_sweep AS MATERIALIZED (
			-- otherwise count the members down with a sweep over the ends of
			-- their down ranges, +1 where one starts and -1 where one ends (a
			-- RANGE frame sums all the events of an instant; the ranges
			-- between peers are empty)
			SELECT e.gid, range_agg(tstzrange(e.at, e.next_at)) FILTER (WHERE e.down > e.spare) AS f
			FROM (
				SELECT e.gid, e.spare, e.at,
					   lead(e.at) OVER w AS next_at,
					   sum(e.delta) OVER w AS down
				FROM (
					SELECT m.gid, m.n - m.k AS spare, lower(u.r) AS at, 1 AS delta
					FROM member m CROSS JOIN LATERAL unnest(m.d) AS u(r)
					WHERE m.k > 1 AND m.k < m.n AND NOT m.few_subsets
					UNION ALL
					SELECT m.gid, m.n - m.k, upper(u.r), -1
					FROM member m CROSS JOIN LATERAL unnest(m.d) AS u(r)
					WHERE m.k > 1 AND m.k < m.n AND NOT m.few_subsets) e
				WINDOW w AS (PARTITION BY e.gid ORDER BY e.at)
			) e
			WHERE e.next_at IS NOT NULL
			GROUP BY e.gid
		)
		SELECT g.capability, g.grp, g.group_text,
			   coalesce(CASE WHEN g.k = g.n THEN p.f_all WHEN g.k = 1 THEN p.f_any
							 WHEN g.few_subsets THEN ks.f ELSE kw.f END, '{}'),
			   coalesce(p.l, '{}')
		FROM grp g
		LEFT JOIN plain p USING (gid)
		LEFT JOIN k_of_n_subsets ks USING (gid)
		LEFT JOIN k_of_n_sweep kw USING (gid);
		ANALYZE ref_grp;

		-- the capability: down where a group fails; down or degraded where
		-- also some member is down or degraded; maintenance on its own
		-- windows, and on its members' while it is down
		INSERT INTO ref_tl
		WITH cap AS MATERIALIZED (
			SELECT g.capability, range_agg(g.f) AS d
			FROM ref_grp g
			JOIN ref_subject s ON s.name = g.capability AND s.is_cap AND s.lvl = level
			GROUP BY g.capability
		), member_union AS MATERIALIZED (
			SELECT x.capability, range_agg(t.dg) AS dg, range_agg(t.m) AS m
			FROM (SELECT DISTINCT r.capability, m.name
				  FROM ref.requirement r
				  JOIN ref_subject s ON s.name = r.capability AND s.is_cap AND s.lvl = level
				  CROSS JOIN LATERAL unnest(r.members) AS m(name)) x
			JOIN ref_tl t ON t.name = x.name
			GROUP BY x.capability
		), own_m AS MATERIALIZED (
			SELECT c.name AS capability, range_agg(x.during * p) AS m
			FROM depwatch.maintenance x
			JOIN depwatch.capability c ON c.id = x.capability_id
			WHERE x.during && p
			GROUP BY c.name
		)
		SELECT c.capability, true, c.d, c.d + mu.dg,
			   coalesce(o.m, '{}') + (c.d * mu.m)
		FROM cap c
		JOIN member_union mu USING (capability)
		LEFT JOIN own_m o USING (capability);
		ANALYZE ref_tl;
	END LOOP;
END
$$;

-- ---------------------------------------------------------------------------
-- availability(period, bucket): SPEC section 3 "Availability"
-- ---------------------------------------------------------------------------
CREATE FUNCTION ref.availability(period tstzrange, bucket text DEFAULT NULL)
RETURNS TABLE(target text, target_type text, bucket_start timestamptz,
			  monitored interval, downtime interval, degraded interval, maintenance interval,
			  unmonitored interval, availability numeric, slo numeric,
			  budget interval, budget_left interval, outages int,
			  mttr interval, mtbf interval, longest interval)
LANGUAGE plpgsql
AS $$
DECLARE
	lo timestamptz := lower(period);
	hi timestamptz := upper(period);
	step interval := CASE bucket WHEN 'hour' THEN interval '1 hour' WHEN 'day' THEN interval '1 day'
								 WHEN 'week' THEN interval '7 days' WHEN 'month' THEN interval '1 month' END;
BEGIN
	IF bucket IS NOT NULL AND step IS NULL THEN
		RAISE EXCEPTION 'unknown bucket "%"', bucket;
	END IF;
	PERFORM ref.build_timelines(lo, hi);

	RETURN QUERY
	WITH bk AS (
		-- every bucket, cut to the period
		SELECT s AS start, tstzrange(greatest(s, lo), least(s + step, hi)) AS r
		FROM generate_series(date_trunc(bucket, lo), hi, step) AS s
		WHERE bucket IS NOT NULL AND s < hi
		UNION ALL
		SELECT lo, tstzrange(lo, hi) WHERE bucket IS NULL
	), piece AS MATERIALIZED (
		-- each target's time as disjoint ranges, with the bucket its start
		-- falls in: 1 down outside maintenance, 2 down or degraded outside
		-- maintenance, 3 maintenance, 4 the maximal down runs (and the
		-- maintenance they may lie in)
		SELECT x.name, x.what, x.r, x.m, x.b0,
			   CASE WHEN bucket IS NULL THEN hi ELSE x.b0 + step END AS b1
		FROM (
			SELECT y.name, y.what, y.r, y.m,
				   CASE WHEN bucket IS NULL THEN lo ELSE date_trunc(bucket, lower(y.r)) END AS b0
			FROM (
				SELECT t.name, 1 AS what, u.r, NULL::tstzmultirange AS m FROM ref_tl t, unnest(t.d - t.m) AS u(r)
				UNION ALL
				SELECT t.name, 2, u.r, NULL FROM ref_tl t, unnest(t.dg - t.m) AS u(r)
				UNION ALL
				SELECT t.name, 3, u.r, NULL FROM ref_tl t, unnest(t.m) AS u(r)
				UNION ALL
				SELECT t.name, 4, u.r, t.m FROM ref_tl t, unnest(t.d) AS u(r)
			) y
		) x
	), cut AS (
		-- the pieces cut at bucket bounds (most lie within one bucket)
		SELECT p.name, p.what, p.b0 AS start, p.r, p.m
		FROM piece p
		WHERE upper(p.r) <= p.b1
		UNION ALL
		SELECT p.name, p.what, s, p.r * tstzrange(s, s + step), p.m
		FROM piece p
		CROSS JOIN LATERAL generate_series(p.b0, upper(p.r), step) AS s
		WHERE upper(p.r) > p.b1 AND s < upper(p.r)
	), sums AS (
		-- per target and bucket; an outage is a down run cut to the bucket
		-- that does not lie wholly in maintenance
		SELECT c.name, c.start,
			   coalesce(sum(c.us) FILTER (WHERE c.what = 1), 0)::bigint AS down_us,
			   coalesce(sum(c.us) FILTER (WHERE c.what = 2), 0)::bigint AS down_or_degraded_us,
			   coalesce(sum(c.us) FILTER (WHERE c.what = 3), 0)::bigint AS maint_us,
			   count(*) FILTER (WHERE c.what = 4 AND c.unplanned)::int AS n,
			   sum(c.us) FILTER (WHERE c.what = 4 AND c.unplanned)::bigint AS total_us,
			   max(c.us) FILTER (WHERE c.what = 4 AND c.unplanned) AS longest_us
		FROM (SELECT c.name, c.start, c.what, ref.usecs(c.r) AS us,
					 c.what = 4 AND NOT c.m @> c.r AS unplanned
			  FROM cut c) c
		GROUP BY c.name, c.start
	), target AS (
		SELECT d.name, 'dependency' AS target_type, coalesce((d.options->>'slo')::numeric, 99.9) AS slo
		FROM depwatch.dependency d
		UNION ALL
		SELECT c.name, 'capability', c.slo FROM depwatch.capability c
	), account AS (
		-- every target and bucket, quiet ones too
		SELECT t.name, t.target_type, t.slo, b.start,
			   ref.usecs(b.r) AS monitored_us,
			   ref.usecs(b.r) - coalesce(x.maint_us, 0) AS counted_us,
			   coalesce(x.down_us, 0) AS down_us,
			   coalesce(x.maint_us, 0) AS maint_us,
			   coalesce(x.down_or_degraded_us - x.down_us, 0) AS degraded_us,
			   coalesce(x.n, 0) AS n, x.total_us, x.longest_us
		FROM target t
		CROSS JOIN bk b
		LEFT JOIN sums x ON x.name = t.name AND x.start = b.start
	), budget AS (
		SELECT a.*, a.counted_us - a.down_us AS up_us,
			   ((100 - a.slo) * a.counted_us / 100)::bigint AS budget_us
		FROM account a
	)
	SELECT b.name, b.target_type, b.start,
		   ref.iv(b.monitored_us), ref.iv(b.down_us), ref.iv(b.degraded_us), ref.iv(b.maint_us),
		   ref.iv(0),
		   CASE WHEN b.counted_us > 0 THEN (100 * b.up_us)::numeric / b.counted_us::numeric END,
		   b.slo,
		   ref.iv(b.budget_us), ref.iv(b.budget_us - b.down_us),
		   b.n,
		   CASE WHEN b.n > 0 THEN ref.iv(b.total_us / b.n) END,
		   CASE WHEN b.n > 0 THEN ref.iv(b.up_us / b.n) END,
		   CASE WHEN b.n > 0 THEN ref.iv(b.longest_us) END
	FROM budget b;
END
$$;

-- ---------------------------------------------------------------------------
-- availability_with_seconds(period, bucket): what depwatch.availability()
-- returns (SPEC section 10): the figures above, each interval with its
-- seconds beside it, then worst_disruption, its seconds and
-- tolerance_breached, which are NULL for a capability without an impact
-- tolerance.  The reference does not model tolerances (bench/bi.sh measures
-- them): it refuses a catalog where a capability has one.
-- ---------------------------------------------------------------------------
CREATE FUNCTION ref.availability_with_seconds(period tstzrange, bucket text DEFAULT NULL)
RETURNS TABLE(target text, target_type text, bucket_start timestamptz,
			  monitored interval, downtime interval, degraded interval, maintenance interval,
			  unmonitored interval, availability numeric, slo numeric,
			  budget interval, budget_left interval, outages int,
			  mttr interval, mtbf interval, longest interval,
			  monitored_seconds numeric, downtime_seconds numeric, degraded_seconds numeric,
			  maintenance_seconds numeric, unmonitored_seconds numeric, budget_seconds numeric,
			  budget_left_seconds numeric, mttr_seconds numeric, mtbf_seconds numeric,
			  longest_seconds numeric,
			  worst_disruption interval, worst_disruption_seconds numeric, tolerance_breached boolean)
LANGUAGE plpgsql
AS $$
BEGIN
	IF EXISTS (SELECT FROM depwatch.capability c WHERE c.impact_tolerance IS NOT NULL) THEN
		RAISE EXCEPTION 'ref: the reference does not model impact tolerances';
	END IF;
	RETURN QUERY
		SELECT a.target, a.target_type, a.bucket_start, a.monitored, a.downtime, a.degraded,
			   a.maintenance, a.unmonitored, a.availability, a.slo, a.budget, a.budget_left,
			   a.outages, a.mttr, a.mtbf, a.longest,
			   extract(epoch FROM a.monitored), extract(epoch FROM a.downtime),
			   extract(epoch FROM a.degraded), extract(epoch FROM a.maintenance),
			   extract(epoch FROM a.unmonitored), extract(epoch FROM a.budget),
			   extract(epoch FROM a.budget_left), extract(epoch FROM a.mttr),
			   extract(epoch FROM a.mtbf), extract(epoch FROM a.longest),
			   NULL::interval, NULL::numeric, NULL::boolean
		FROM ref.availability(period, bucket) a;
END
$$;

-- ---------------------------------------------------------------------------
-- capability_outages(capability, period): SPEC section 3 "Capabilities"
-- ---------------------------------------------------------------------------
CREATE FUNCTION ref.capability_outages(capability text, period tstzrange)
RETURNS TABLE(kind text, started_at timestamptz, ended_at timestamptz, causes text[])
LANGUAGE plpgsql
AS $$
#variable_conflict use_column
BEGIN
	IF NOT EXISTS (SELECT FROM depwatch.capability c WHERE c.name = capability_outages.capability) THEN
		RAISE EXCEPTION 'capability "%" does not exist', capability_outages.capability;
	END IF;
	PERFORM ref.build_timelines(lower(period), upper(period), capability_outages.capability, true);

	RETURN QUERY
	WITH t AS MATERIALIZED (
		SELECT * FROM ref_tl WHERE name = capability_outages.capability
	), g AS MATERIALIZED (
		SELECT * FROM ref_grp WHERE ref_grp.capability = capability_outages.capability
	), w AS (
		-- the windows: maximal down runs, and maximal degraded runs (down
		-- or degraded, but not down)
		SELECT 'down' AS kind, lower(u.r) AS s, upper(u.r) AS e FROM t, unnest(t.d) AS u(r)
		UNION ALL
		SELECT 'degraded', lower(u.r), upper(u.r) FROM t, unnest(t.dg - t.d) AS u(r)
	), piece AS (
		-- where each group failed (within the down windows) or lost members
		-- (within the degraded windows)
		SELECT 'down' AS kind, lower(u.r) AS s, g.grp, g.group_text FROM g, unnest(g.f) AS u(r)
		UNION ALL
		SELECT 'degraded', lower(u.r), g.grp, g.group_text FROM g, t, unnest(g.l - t.d) AS u(r)
	), tagged AS (
		-- each piece lies in the last window of its kind that starts at or
		-- before it
		SELECT x.kind, x.grp, x.group_text,
			   max(x.s) FILTER (WHERE x.grp IS NULL) OVER (PARTITION BY x.kind ORDER BY x.s, x.grp NULLS FIRST
														   ROWS UNBOUNDED PRECEDING) AS window_start
		FROM (SELECT w.kind, w.s, NULL::int AS grp, NULL::text AS group_text FROM w
			  UNION ALL
			  SELECT piece.kind, piece.s, piece.grp, piece.group_text FROM piece) x
	), causes AS (
		SELECT y.kind, y.window_start, array_agg(y.group_text ORDER BY y.grp) AS causes
		FROM (SELECT DISTINCT tagged.kind, tagged.window_start, tagged.grp, tagged.group_text
			  FROM tagged WHERE tagged.grp IS NOT NULL) y
		GROUP BY y.kind, y.window_start
	)
	SELECT w.kind, w.s, w.e, coalesce(c.causes, '{}'::text[])
	FROM w
	LEFT JOIN causes c ON c.kind = w.kind AND c.window_start = w.s;
END
$$;

-- ---------------------------------------------------------------------------
-- derive_outages(dependency, period, fail_after, recover_after): SPEC
-- section 3 "Samples -> outages", as gaps and islands.
--
-- Per kind (down: a sample is bad when not ok; degraded: when not ok or
-- slower than degraded_after), cut the samples in time order into maximal
-- runs of bad and of not-bad samples.  A run of at least fail_after bad
-- samples can open an outage at its first sample, a run of at least
-- recover_after not-bad samples can close one at its first sample.  Between
-- the long runs the machine only counts streaks that never reach the
-- threshold, so the outages are: the first long bad run after the start
-- or after a long not-bad run opens; the first long not-bad run after it
-- closes.  bad_samples: the kind's bad samples in [started_at, ended_at).
-- ---------------------------------------------------------------------------
CREATE FUNCTION ref.derive_outages(dependency text, period tstzrange DEFAULT NULL,
								   fail_after int DEFAULT NULL, recover_after int DEFAULT NULL)
RETURNS TABLE(kind text, started_at timestamptz, ended_at timestamptz, bad_samples bigint)
LANGUAGE sql STABLE
AS $$
	WITH dep AS (
		SELECT d.id, coalesce(derive_outages.fail_after, d.fail_after) AS fail_after,
			   coalesce(derive_outages.recover_after, d.recover_after) AS recover_after,
			   d.degraded_after
		FROM depwatch.dependency d WHERE d.name = derive_outages.dependency
	), s AS (
		-- each sample in time order: its number, its class (0 good, 1 slow,
		-- 2 bad), the class of the sample before, and whether it is the last
		SELECT x.at, x.class,
			   row_number() OVER w AS rn,
			   lag(x.class) OVER w AS prev,
			   lead(x.at) OVER w IS NULL AS last
		FROM (SELECT smp.at,
					 CASE WHEN NOT smp.ok THEN 2
						  WHEN smp.latency > (SELECT dep.degraded_after FROM dep) THEN 1
						  ELSE 0 END AS class
			  FROM depwatch.sample smp
			  -- a scalar subquery, so that the plan walks the (dependency_id,
			  -- at) index in time order instead of sorting
			  WHERE smp.dependency_id = (SELECT dep.id FROM dep)
				AND (derive_outages.period IS NULL OR derive_outages.period @> smp.at)) x
		WINDOW w AS (ORDER BY x.at)
	), edge AS (
		-- per kind, the first sample of each run of bad or of not-bad
		-- samples (down: bad is class 2; degraded: class 1 or 2), and an end
		-- marker after the last sample
		SELECT v.kind, v.rn, v.at, v.bad
		FROM s
		CROSS JOIN LATERAL (VALUES
			('down', s.rn, s.at, s.class = 2, (s.class = 2) IS DISTINCT FROM (s.prev = 2)),
			('degraded', s.rn, s.at, s.class > 0, (s.class > 0) IS DISTINCT FROM (s.prev > 0)),
			('down', s.rn + 1, NULL::timestamptz, NULL::boolean, s.last),
			('degraded', s.rn + 1, NULL::timestamptz, NULL::boolean, s.last)
		) AS v(kind, rn, at, bad, keep)
		WHERE ((s.class = 2) IS DISTINCT FROM (s.prev = 2) OR (s.class > 0) IS DISTINCT FROM (s.prev > 0) OR s.last)
		  AND v.keep
	), run AS (
		-- the runs: where each starts, bad or not, how many samples
		SELECT e.kind, e.at, e.bad, lead(e.rn) OVER (PARTITION BY e.kind ORDER BY e.rn) - e.rn AS len
		FROM edge e
	), counted AS (
		-- bad samples before each run, and whether the run is long enough
		-- to open (bad) or close (not bad) an outage
		SELECT r.kind, r.at, r.bad,
			   coalesce(sum(r.len) FILTER (WHERE r.bad) OVER w, 0) AS bad_before,
			   r.len >= CASE WHEN r.bad THEN dep.fail_after ELSE dep.recover_after END AS long
		FROM run r, dep
		WHERE r.bad IS NOT NULL
		WINDOW w AS (PARTITION BY r.kind ORDER BY r.at ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
	), turn AS (
		-- the long runs that change the machine's state: a long bad run
		-- after a long good one (or the start) opens, and the reverse closes
		SELECT c.kind, c.at, c.bad, c.bad_before,
			   c.bad IS DISTINCT FROM coalesce(lag(c.bad) OVER w, false) AS turns
		FROM counted c
		WHERE c.long
		WINDOW w AS (PARTITION BY c.kind ORDER BY c.at)
	), flip AS (
		SELECT t.kind, t.at, t.bad, t.bad_before,
			   lead(t.at) OVER w AS close_at, lead(t.bad_before) OVER w AS close_bad_before
		FROM turn t
		WHERE t.turns
		WINDOW w AS (PARTITION BY t.kind ORDER BY t.at)
	), total AS (
		SELECT r.kind, coalesce(sum(r.len) FILTER (WHERE r.bad), 0) AS bad_total FROM run r GROUP BY r.kind
	)
	SELECT e.kind, e.at, e.close_at,
		   coalesce(e.close_bad_before, tt.bad_total) - e.bad_before
	FROM flip e JOIN total tt USING (kind)
	WHERE e.bad
$$;
