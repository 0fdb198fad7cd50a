-- bench/economics/run.sql: the reports measured, and the procedures that
-- check and time them (called by bench/economics.sh).
--
--   bench.report       each report call: depwatch's function and the plain
--                      SQL (plain.sql's template with its arguments);
--                      in_compare: timed against the plain SQL on the large
--                      ledger; in_scale: timed on both ledgers, whose rows
--                      inside its windows are the same (generate.sql)
--   bench.check_result per ledger and report: rows of each, rows only in
--                      one of them (EXCEPT ALL both ways), a few of those
--   bench.timing       one row per timed run
--
-- Every timed query runs server-side, in a procedure, as
--   SELECT count(*), sum(hashtext(r::text)) FROM (query) r
-- so that both sides produce and read every column of every row (a bare
-- count(*) would let the planner drop the plain SQL's unused columns, and
-- the work behind them), and nothing is sent to the client.  A sample is
-- the mean of reps calls (bench.calibrate: about 300 ms per sample).

\set ON_ERROR_STOP 1

CREATE FUNCTION bench.expand(template text, args jsonb) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
	q text;
	k text;
BEGIN
	SELECT t.sql INTO STRICT q FROM bench.template t WHERE t.name = template;
	FOR k IN SELECT jsonb_object_keys(args) LOOP
		q := replace(q, '@' || k || '@', args ->> k);
	END LOOP;
	RETURN q;
END
$$;

CREATE TABLE bench.report (
	ord			int PRIMARY KEY,
	label		text NOT NULL,
	dw_sql		text NOT NULL,
	plain_sql	text NOT NULL,
	in_compare	boolean NOT NULL,
	in_scale	boolean NOT NULL,
	reps		int NOT NULL DEFAULT 1	-- calls per timed sample (bench.calibrate)
);
INSERT INTO bench.report (ord, label, dw_sql, plain_sql, in_compare, in_scale) VALUES
	(1, 'impact(1) bureaus', 'SELECT * FROM depwatch.impact(1)',
	 bench.expand('impact', '{"incident": 1}'), true, true),
	(2, 'impact(2) fire', 'SELECT * FROM depwatch.impact(2)',
	 bench.expand('impact', '{"incident": 2}'), true, true),
	(3, 'fee_waiver(1, bureaus)', $$SELECT * FROM depwatch.fee_waiver(1, 'bureaus')$$,
	 bench.expand('fee_waiver', '{"incident": 1, "policy": "bureaus"}'), true, true),
	(4, 'fee_waiver(2, fire)', $$SELECT * FROM depwatch.fee_waiver(2, 'fire')$$,
	 bench.expand('fee_waiver', '{"incident": 2, "policy": "fire"}'), true, true),
	(5, 'fee_waiver_summary(2, fire)', $$SELECT * FROM depwatch.fee_waiver_summary(2, 'fire')$$,
	 bench.expand('fee_waiver_summary', '{"incident": 2, "policy": "fire"}'), true, true),
	(6, 'fee_waiver_cost(October, week)',
	 $$SELECT * FROM depwatch.fee_waiver_cost('[2023-10-01 00:00+09, 2023-11-01 00:00+09)', 'week')$$,
	 bench.expand('fee_waiver_cost', '{"period": "[2023-10-01 00:00+09, 2023-11-01 00:00+09)", "bucket": "week"}'),
	 true, false),
	(7, 'fee_waiver_cost(a week, day)',
	 $$SELECT * FROM depwatch.fee_waiver_cost('[2023-10-15 00:00+09, 2023-10-22 00:00+09)', 'day')$$,
	 bench.expand('fee_waiver_cost', '{"period": "[2023-10-15 00:00+09, 2023-10-22 00:00+09)", "bucket": "day"}'),
	 true, true),
	(8, 'deposit_outflow(2) 28 d / 14 d', 'SELECT * FROM depwatch.deposit_outflow(2)',
	 bench.expand('deposit_outflow', '{"incident": 2, "baseline": "28 days", "horizon": "14 days"}'), true, false),
	(9, 'deposit_outflow_summary(2) 28 d / 14 d', 'SELECT * FROM depwatch.deposit_outflow_summary(2)',
	 bench.expand('deposit_outflow_summary', '{"incident": 2, "baseline": "28 days", "horizon": "14 days"}'), true, false),
	(10, 'deposit_outflow(2) 7 d / 7 d', $$SELECT * FROM depwatch.deposit_outflow(2, '7 days', '7 days')$$,
	 bench.expand('deposit_outflow', '{"incident": 2, "baseline": "7 days", "horizon": "7 days"}'), true, true),
	(11, 'deposit_outflow_summary(2) 7 d / 7 d',
	 $$SELECT * FROM depwatch.deposit_outflow_summary(2, '7 days', '7 days')$$,
	 bench.expand('deposit_outflow_summary', '{"incident": 2, "baseline": "7 days", "horizon": "7 days"}'), true, true);

CREATE FUNCTION bench.bind(ledger text) RETURNS void
LANGUAGE sql AS $$
	SELECT depwatch.bind_ledger(format('%I.transfers', ledger)::regclass, 'bank.applications',
								'bank.balances', 'bank.accounts')
$$;

CREATE FUNCTION bench.sql_of(r bench.report, variant text, ledger text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE variant WHEN 'depwatch' THEN r.dw_sql
		   ELSE replace(r.plain_sql, '@transfers@', format('%I.transfers', ledger)) END
$$;

-- The DBA's windows against depwatch's, per incident
CREATE VIEW bench.window_check AS
SELECT i.id AS incident,
	   (SELECT count(*) FROM depwatch_internal._incident_windows(i)) AS depwatch_windows,
	   (SELECT count(*) FROM bench.dba_windows(i.id)) AS dba_windows,
	   (SELECT count(*) FROM (SELECT * FROM depwatch_internal._incident_windows(i)
							  EXCEPT ALL SELECT * FROM bench.dba_windows(i.id)) d) AS only_depwatch,
	   (SELECT count(*) FROM (SELECT * FROM bench.dba_windows(i.id)
							  EXCEPT ALL SELECT * FROM depwatch_internal._incident_windows(i)) d) AS only_dba
FROM depwatch.incident i;

CREATE TABLE bench.check_result (
	ledger		text,
	ord			int,
	dw_rows		bigint,
	plain_rows	bigint,
	only_dw		bigint,
	only_plain	bigint,
	sample		text,
	PRIMARY KEY (ledger, ord)
);

CREATE PROCEDURE bench.check(ledger text)
LANGUAGE plpgsql AS $$
DECLARE
	r bench.report;
	c bench.check_result;
BEGIN
	PERFORM bench.bind(ledger);
	FOR r IN SELECT * FROM bench.report x
			 WHERE x.in_compare AND ledger = 'l10m' OR x.in_scale ORDER BY x.ord LOOP
		DROP TABLE IF EXISTS pg_temp.dw_result, pg_temp.plain_result;
		EXECUTE format('CREATE TEMP TABLE dw_result AS %s', bench.sql_of(r, 'depwatch', ledger));
		EXECUTE format('CREATE TEMP TABLE plain_result AS %s', bench.sql_of(r, 'plain', ledger));
		c.ledger := ledger;
		c.ord := r.ord;
		SELECT (SELECT count(*) FROM dw_result), (SELECT count(*) FROM plain_result),
			   (SELECT count(*) FROM (TABLE dw_result EXCEPT ALL TABLE plain_result) d),
			   (SELECT count(*) FROM (TABLE plain_result EXCEPT ALL TABLE dw_result) e),
			   (SELECT string_agg(s, E'\n') FROM (
					(SELECT 'depwatch: ' || d::text AS s FROM (TABLE dw_result EXCEPT ALL TABLE plain_result) d LIMIT 3)
					UNION ALL
					(SELECT 'plain:    ' || e::text FROM (TABLE plain_result EXCEPT ALL TABLE dw_result) e LIMIT 3)) x)
		  INTO c.dw_rows, c.plain_rows, c.only_dw, c.only_plain, c.sample;
		DELETE FROM bench.check_result x WHERE x.ledger = c.ledger AND x.ord = c.ord;
		INSERT INTO bench.check_result VALUES (c.*);
		COMMIT;
	END LOOP;
END
$$;

CREATE TABLE bench.timing (
	id			bigserial PRIMARY KEY,
	test		text NOT NULL,		-- compare | scale
	run			int NOT NULL,
	ord			int NOT NULL,
	variant		text NOT NULL,		-- depwatch | plain
	ledger		text NOT NULL,
	ms			float8 NOT NULL,
	nrows		bigint NOT NULL,
	hash		bigint NOT NULL
);

-- One timed sample: the query run reps times, the mean time of a call.
CREATE FUNCTION bench.time_one(q text, reps int DEFAULT 1) RETURNS TABLE(ms float8, nrows bigint, hash bigint)
LANGUAGE plpgsql AS $$
DECLARE
	t0 timestamptz := clock_timestamp();
	qq text := format('SELECT count(*), coalesce(sum(hashtext(r::text)), 0) FROM (%s) r', q);
BEGIN
	FOR k IN 1..reps LOOP
		EXECUTE qq INTO nrows, hash;
	END LOOP;
	ms := 1000 * extract(epoch FROM clock_timestamp() - t0) / reps;
	RETURN NEXT;
END
$$;

-- calibrate: the calls per sample, so that a sample of a quick report lasts
-- about 300 ms (at most 50 calls) and timer and scheduling noise averages
-- out; the same for both sides and both ledgers.
CREATE PROCEDURE bench.calibrate()
LANGUAGE plpgsql AS $$
DECLARE
	r bench.report;
	fastest float8;
BEGIN
	PERFORM bench.bind('l10m');
	FOR r IN SELECT * FROM bench.report x ORDER BY x.ord LOOP
		SELECT least((SELECT t.ms FROM bench.time_one(bench.sql_of(r, 'depwatch', 'l10m')) t),
					 (SELECT t.ms FROM bench.time_one(bench.sql_of(r, 'plain', 'l10m')) t))
		  INTO fastest;
		UPDATE bench.report x SET reps = least(50, greatest(1, ceil(300 / fastest)::int)) WHERE x.ord = r.ord;
		COMMIT;
	END LOOP;
END
$$;

-- compare: on l10m, each report, depwatch and plain SQL one right after
-- the other, which goes first alternating from run to run and report to
-- report.  scale: each scale report on l1m and on l10m right after each
-- other (bound again before each), both sides on each, the order
-- alternating the same way; so both of a pair see the same load.
CREATE PROCEDURE bench.measure(test text, runs int)
LANGUAGE plpgsql AS $$
DECLARE
	run int;
	ledger text;
	r bench.report;
	variant text;
	t record;
BEGIN
	IF test = 'compare' THEN
		PERFORM bench.bind('l10m');
		COMMIT;
	END IF;
	FOR run IN 1..runs LOOP
		FOR r IN SELECT * FROM bench.report x
				 WHERE CASE test WHEN 'compare' THEN x.in_compare ELSE x.in_scale END
				 ORDER BY x.ord LOOP
			FOREACH ledger IN ARRAY CASE WHEN test = 'compare' THEN ARRAY['l10m']
										 WHEN (run + r.ord) % 2 = 1 THEN ARRAY['l1m', 'l10m']
										 ELSE ARRAY['l10m', 'l1m'] END LOOP
				IF test = 'scale' THEN
					PERFORM bench.bind(ledger);
					COMMIT;
				END IF;
				FOREACH variant IN ARRAY CASE WHEN (run + r.ord) % 2 = 1 THEN ARRAY['depwatch', 'plain']
											  ELSE ARRAY['plain', 'depwatch'] END LOOP
					SELECT * INTO t FROM bench.time_one(bench.sql_of(r, variant, ledger), r.reps);
					INSERT INTO bench.timing (test, run, ord, variant, ledger, ms, nrows, hash)
					VALUES (test, run, r.ord, variant, ledger, t.ms, t.nrows, t.hash);
					COMMIT;
				END LOOP;
			END LOOP;
		END LOOP;
	END LOOP;
END
$$;

CREATE VIEW bench.medians AS
SELECT t.test, t.ord, t.variant, t.ledger, count(*) AS runs,
	   percentile_cont(0.5) WITHIN GROUP (ORDER BY t.ms) AS median_ms,
	   min(t.ms) AS min_ms, max(t.ms) AS max_ms,
	   min(t.nrows) AS nrows, count(DISTINCT t.hash) AS hashes
FROM bench.timing t
GROUP BY t.test, t.ord, t.variant, t.ledger;
