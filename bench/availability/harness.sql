-- bench/availability/harness.sql: timing and equality harness, loaded after
-- reference.sql (it lives in the same schema, ref).
--
-- CALL ref.race(label, c_query, ref_query, runs) runs the two queries
-- `runs` times each, alternating which goes first (C first in odd runs, the
-- reference first in even ones), each in its own transaction, each
-- materialising its whole result (CREATE TEMP TABLE ... AS), and records
-- the wall-clock seconds.  Then it compares the last two results: every
-- column of every row, both ways (EXCEPT ALL), and the md5 of the rows'
-- text forms in order (so that even '1 day' against '24:00:00' would
-- count as a difference).  ref.report has the medians and ratios.

CREATE TABLE ref.timing (
	label		text NOT NULL,
	contender	text NOT NULL CHECK (contender IN ('c', 'ref')),
	run			int NOT NULL,
	seconds		float8 NOT NULL,
	rows		bigint NOT NULL,
	PRIMARY KEY (label, contender, run)
);

CREATE TABLE ref.equality (
	label		text PRIMARY KEY,
	c_not_ref	bigint NOT NULL,		-- rows of C's result missing from the reference's
	ref_not_c	bigint NOT NULL,		-- and the other way round
	md5_c		text,
	md5_ref		text
);

CREATE PROCEDURE ref.race(label text, c_query text, ref_query text, runs int)
LANGUAGE plpgsql
AS $$
DECLARE
	who text;
	t0 timestamptz;
	secs float8;
	n bigint;
	c_not_ref bigint;
	ref_not_c bigint;
	md5_c text;
	md5_ref text;
BEGIN
	DELETE FROM ref.timing t WHERE t.label = race.label;
	DELETE FROM ref.equality e WHERE e.label = race.label;
	COMMIT;
	FOR r IN 1 .. runs LOOP
		FOREACH who IN ARRAY CASE WHEN r % 2 = 1 THEN ARRAY['c', 'ref'] ELSE ARRAY['ref', 'c'] END LOOP
			IF to_regclass('pg_temp.result_' || who) IS NOT NULL THEN
				EXECUTE format('DROP TABLE %I', 'result_' || who);
				COMMIT;
			END IF;
			t0 := clock_timestamp();
			EXECUTE format('CREATE TEMP TABLE %I AS %s', 'result_' || who,
						   CASE who WHEN 'c' THEN c_query ELSE ref_query END);
			GET DIAGNOSTICS n = ROW_COUNT;
			secs := extract(epoch FROM clock_timestamp() - t0);
			INSERT INTO ref.timing VALUES (label, who, r, secs, n);
			COMMIT;
			RAISE NOTICE '%: run % %: % s, % rows', label, r, rpad(who, 3), round(secs::numeric, 3), n;
		END LOOP;
	END LOOP;

	EXECUTE 'SELECT count(*) FROM (SELECT * FROM result_c EXCEPT ALL SELECT * FROM result_ref) x'
		INTO c_not_ref;
	EXECUTE 'SELECT count(*) FROM (SELECT * FROM result_ref EXCEPT ALL SELECT * FROM result_c) x'
		INTO ref_not_c;
	EXECUTE 'SELECT md5(string_agg(x::text, E''\n'' ORDER BY x::text COLLATE "C")) FROM result_c x'
		INTO md5_c;
	EXECUTE 'SELECT md5(string_agg(x::text, E''\n'' ORDER BY x::text COLLATE "C")) FROM result_ref x'
		INTO md5_ref;
	INSERT INTO ref.equality VALUES (label, c_not_ref, ref_not_c, md5_c, md5_ref);
	COMMIT;
	RAISE NOTICE '%: % rows of C not in the reference, % of the reference not in C, md5 %',
		label, c_not_ref, ref_not_c, CASE WHEN md5_c = md5_ref THEN 'equal' ELSE 'DIFFERENT' END;
END
$$;

-- Medians (of `runs` runs), the ratio reference / C, rows, and whether the
-- results were identical (same rows every run, nothing missing either way,
-- same md5).
CREATE VIEW ref.report AS
SELECT t.label,
	   count(*) FILTER (WHERE t.contender = 'c') AS runs,
	   percentile_cont(0.5) WITHIN GROUP (ORDER BY t.seconds) FILTER (WHERE t.contender = 'c') AS c_median,
	   percentile_cont(0.5) WITHIN GROUP (ORDER BY t.seconds) FILTER (WHERE t.contender = 'ref') AS ref_median,
	   percentile_cont(0.5) WITHIN GROUP (ORDER BY t.seconds) FILTER (WHERE t.contender = 'ref')
		 / percentile_cont(0.5) WITHIN GROUP (ORDER BY t.seconds) FILTER (WHERE t.contender = 'c') AS ratio,
	   min(t.seconds) FILTER (WHERE t.contender = 'c') AS c_min,
	   max(t.seconds) FILTER (WHERE t.contender = 'c') AS c_max,
	   min(t.seconds) FILTER (WHERE t.contender = 'ref') AS ref_min,
	   max(t.seconds) FILTER (WHERE t.contender = 'ref') AS ref_max,
	   max(t.rows) AS rows,
	   min(t.rows) = max(t.rows) AND e.c_not_ref = 0 AND e.ref_not_c = 0
		 AND e.md5_c IS NOT DISTINCT FROM e.md5_ref AS identical,
	   e.c_not_ref, e.ref_not_c
FROM ref.timing t
JOIN ref.equality e USING (label)
GROUP BY t.label, e.c_not_ref, e.ref_not_c, e.md5_c, e.md5_ref;

-- ref.check_monitored(period): the benchmark must measure a monitored
-- period, with outages in it.  Under 0.3 a dependency is untracked, so
-- unmonitored in every report, before its tracked_since (SPEC section 7);
-- a bench whose dependencies were tracked only since they were added would
-- race over an empty year (as this one did until 0.3's figures).  Raises
-- an error unless availability() over the period (one bucket) counts every
-- target monitored all the time, and some of that time down; returns the
-- figures for the report.
CREATE FUNCTION ref.check_monitored(period tstzrange)
RETURNS TABLE(targets bigint, monitored_pct numeric, downtime_pct numeric,
			  dependencies_with_outages bigint, capabilities_with_outages bigint)
LANGUAGE plpgsql
AS $$
DECLARE
	mon float8;
	unmon float8;
	down float8;
BEGIN
	CREATE TEMP TABLE check_year ON COMMIT DROP AS
	SELECT a.target_type, extract(epoch FROM a.monitored)::float8 AS mon,
		   extract(epoch FROM a.unmonitored)::float8 AS unmon,
		   extract(epoch FROM a.downtime)::float8 AS down, a.outages
	FROM depwatch.availability(period) a;
	SELECT sum(c.mon), sum(c.unmon), sum(c.down), count(*),
		   count(*) FILTER (WHERE c.target_type = 'dependency' AND c.outages > 0),
		   count(*) FILTER (WHERE c.target_type = 'capability' AND c.outages > 0)
	INTO mon, unmon, down, targets, dependencies_with_outages, capabilities_with_outages
	FROM check_year c;
	IF coalesce(mon, 0) = 0 OR unmon > 0 THEN
		RAISE EXCEPTION 'bench: availability() counts % %% of the period unmonitored (% of % targets): the benchmark would measure an empty period',
			round((100 * coalesce(unmon, 0) / nullif(coalesce(mon, 0) + coalesce(unmon, 0), 0))::numeric, 2),
			(SELECT count(*) FROM check_year c WHERE c.unmon > 0), targets
			USING HINT = 'Every dependency must be tracked since before the period begins (add_dependency(..., tracked_since => ...)), and the period must lie in the past.';
	END IF;
	IF down = 0 OR dependencies_with_outages = 0 OR capabilities_with_outages = 0 THEN
		RAISE EXCEPTION 'bench: availability() finds no downtime in the period (% dependencies and % capabilities with outages)',
			dependencies_with_outages, capabilities_with_outages;
	END IF;
	monitored_pct := round((100 * mon / (mon + unmon))::numeric, 2);
	downtime_pct := round((100 * down / mon)::numeric, 3);
	RETURN NEXT;
END
$$;
