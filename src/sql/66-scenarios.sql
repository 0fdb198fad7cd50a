-- "What if" scenarios and the resilience report (SPEC section 9,
-- doc/semantics.md, "Scenarios").  The rules stay where they live: what a
-- loss breaks in the capability algebra (_capabilities_lost, resilience.c),
-- the ledger's binding and rights in _ledger(), the DORA and FSS
-- thresholds in _dora_criteria() and _kr_fss_criteria(), real down runs
-- in tolerance_breaches().

-- _check_scenario: the arguments every scenario takes (starts is checked
-- when given).
CREATE OR REPLACE FUNCTION depwatch_internal._check_scenario(lose text[], lasts interval) RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF lose IS NULL THEN
		RAISE EXCEPTION 'lose must not be NULL'
			USING ERRCODE = 'null_value_not_allowed',
				  HINT = 'Name the dependencies, sites or vendors lost, such as ARRAY[''pangyo''].';
	END IF;
	IF cardinality(lose) = 0 THEN
		RAISE EXCEPTION 'lose must name at least one dependency, site or vendor'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Name what is lost, such as ARRAY[''pangyo''].';
	END IF;
	IF lasts IS NULL THEN
		RAISE EXCEPTION 'lasts must not be NULL'
			USING ERRCODE = 'null_value_not_allowed',
				  HINT = 'Say how long the loss lasts, such as ''48 hours''.';
	END IF;
	IF lasts <= interval '0' OR lasts > interval '366 days' THEN
		RAISE EXCEPTION 'lasts must be longer than 0 and at most 366 days, not %', lasts
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Say how long the loss lasts, such as ''48 hours''.';
	END IF;
END
$$;

-- _check_starts: when a scenario starts.
CREATE OR REPLACE FUNCTION depwatch_internal._check_starts(starts timestamptz) RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF starts IS NULL THEN
		RAISE EXCEPTION 'starts must not be NULL'
			USING ERRCODE = 'null_value_not_allowed',
				  HINT = 'Say when the loss starts, such as now().';
	END IF;
	IF NOT isfinite(starts) THEN
		RAISE EXCEPTION 'starts must be finite, not %', starts
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Say when the loss starts, such as now().';
	END IF;
END
$$;

-- _scenario_dependencies: the dependencies a scenario loses: each name is
-- matched against dependency names, sites and vendors, and counts for
-- all it matches; a name that matches nothing is an error.
CREATE OR REPLACE FUNCTION depwatch_internal._scenario_dependencies(lose text[]) RETURNS bigint[]
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	missing text;
BEGIN
	SELECT v.name INTO missing
	FROM unnest(lose) WITH ORDINALITY v(name, n)
	WHERE v.name IS NULL
	   OR NOT EXISTS (SELECT FROM depwatch.dependency d
					  WHERE v.name IN (d.name, d.site, d.vendor))
	ORDER BY v.n LIMIT 1;
	IF FOUND THEN
		PERFORM depwatch_internal._lookup_failed('a name in lose',
			'dependency, site or vendor "' || depwatch_internal._clip(missing) || '"',
			'Name dependencies, sites or vendors; depwatch.dependencies lists them.',
			'Name dependencies, sites or vendors as depwatch.dependencies spells them (capabilities are not lost directly: lose what they require).');
	END IF;
	RETURN (SELECT array_agg(d.id ORDER BY d.id) FROM depwatch.dependency d
			WHERE d.name = ANY (lose) OR d.site = ANY (lose) OR d.vendor = ANY (lose));
END
$$;

-- _scenario_lost: the capabilities a scenario's names break (42704 for a
-- name that matches nothing).  Definer: the algebra reads the whole map.
CREATE OR REPLACE FUNCTION depwatch_internal._scenario_lost(lose text[]) RETURNS text[]
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
RETURN depwatch_internal._capabilities_lost(depwatch_internal._scenario_dependencies(lose));

-- _scenario_outcomes: per capability, what a loss that breaks the
-- capabilities lost (_scenario_lost: the callers have checked the
-- scenario) does from
-- starts for lasts, everything else up and maintenance ignored.  The state
-- is the same all along, so a capability lost is down for the whole window
-- in one run, and breaches its tolerance as tolerance_breaches() judges a
-- run (_breached).
CREATE OR REPLACE FUNCTION depwatch_internal._scenario_outcomes(lost text[], starts timestamptz, lasts interval)
	RETURNS TABLE(capability text, down boolean, downtime interval, tolerance interval,
				  breached boolean, breached_at timestamptz)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
BEGIN
	RETURN QUERY
		SELECT c.name, x.down, x.downtime, c.impact_tolerance,
			   depwatch_internal._breached(x.downtime, c.impact_tolerance),
			   depwatch_internal._breached_at(starts, x.downtime, c.impact_tolerance)
		FROM depwatch.capability c
		CROSS JOIN LATERAL (SELECT c.name = ANY (lost) AS down,
								   CASE WHEN c.name = ANY (lost) THEN lasts ELSE interval '0' END AS downtime) x
		ORDER BY c.name;
END
$$;

-- _scenario_baseline_rows: per capability, the means over the windows
-- [starts - k weeks, starts - k weeks + lasts), k = 1..weeks, of its
-- transfer rows (any status), their distinct customers (a NULL customer
-- counts as one, as impact() counts them), |amount| and posted fees
-- (fee > 0, what fee_waiver() waives); applications (any status) for
-- account_opening when they are bound, as impact() binds them; the
-- distinct customers of all the windows together.  Two rows per
-- capability: down for lasts, and up (a scenario's capability is one or
-- the other for its whole window: _scenario_outcomes), each with its DORA
-- and FSS outcomes, those criteria of _dora_criteria() and
-- _kr_fss_criteria() a scenario measures: the expected customers are the
-- clients (subscribers) affected when the capability is down.  A sweep
-- over providers so judges each capability twice, not once per provider.
-- Without transfers bound the expectations are NULL.  Read with the
-- caller's rights, each window through occurred_at as _in_windows() reads
-- (OFFSET 0 keeps the per-window scans).
CREATE OR REPLACE FUNCTION depwatch_internal._scenario_baseline_rows(starts timestamptz, lasts interval, weeks int)
	RETURNS TABLE(capability text, down boolean, transfers numeric, customers numeric, value numeric,
				  applications numeric, fees numeric, customers_total bigint,
				  dora_major boolean, fss_reportable boolean)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	transfers regclass := depwatch_internal._ledger('transfers', optional => true);
	applications regclass := depwatch_internal._ledger('applications', optional => true);
	customer_type regtype;
	expectations text := 'SELECT c.name AS capability, NULL::numeric AS transfers, NULL::numeric AS customers,
							 NULL::numeric AS value, NULL::numeric AS applications, NULL::numeric AS fees,
							 NULL::bigint AS customers_total
						  FROM depwatch.capability c';
BEGIN
	IF transfers IS NOT NULL THEN
		SELECT a.atttypid INTO customer_type FROM pg_attribute a
		WHERE a.attrelid = transfers AND a.attname = 'customer_id' AND a.attnum > 0 AND NOT a.attisdropped;
		expectations := format($q$
			WITH w AS MATERIALIZED (
				SELECT k, $1 - k * interval '1 week' AS started_at, $1 - k * interval '1 week' + $2 AS ended_at
				FROM generate_series(1, $3) k),
			t AS MATERIALIZED (
				SELECT w.k, x.capability COLLATE "C" AS capability, %4$s AS customer_id, x.amount, x.fee, x.status
				FROM w CROSS JOIN LATERAL (
					SELECT x.capability, x.customer_id, x.amount, x.fee, x.status FROM %1$s x
					WHERE x.occurred_at >= w.started_at AND x.occurred_at < w.ended_at
					OFFSET 0) x),
			per_window AS (
				SELECT t.capability, t.k, count(*) AS n,
					   coalesce(sum(abs(t.amount)), 0) AS value,
					   coalesce(sum(t.fee) FILTER (WHERE t.status = 'posted' AND t.fee > 0), 0) AS fees
				FROM t GROUP BY t.capability, t.k),
			customers AS (
				-- distinct customers per window (k) and over all windows (k
				-- NULL) in one pass over one sort, led by the customer: the
				-- capabilities are few, and a sort led by them would compare
				-- them at nearly every step.  Grouping puts the NULL
				-- customers together: a missing customer counts as one.
				SELECT d.capability, d.k, count(*) AS customers
				FROM (SELECT s.capability, s.k
					  FROM (SELECT t.customer_id, t.capability, t.k FROM t ORDER BY 1, 2, 3) s
					  GROUP BY GROUPING SETS ((s.customer_id, s.capability, s.k), (s.customer_id, s.capability))) d
				GROUP BY d.capability, d.k),
			apps AS (
				SELECT count(*) AS n FROM w CROSS JOIN LATERAL (
					SELECT 1 FROM %2$s x
					WHERE x.occurred_at >= w.started_at AND x.occurred_at < w.ended_at
					OFFSET 0) x)
			SELECT c.name AS capability,
				   trim_scale(coalesce(sum(p.n), 0) / $3) AS transfers,
				   trim_scale(coalesce(sum(pc.customers), 0) / $3) AS customers,
				   trim_scale(coalesce(sum(p.value), 0) / $3) AS value,
				   CASE WHEN c.name = 'account_opening' AND %3$L THEN trim_scale((SELECT a.n FROM apps a) / $3::numeric) END
					   AS applications,
				   trim_scale(coalesce(sum(p.fees), 0) / $3) AS fees,
				   coalesce(o.customers, 0) AS customers_total
			FROM depwatch.capability c
			LEFT JOIN per_window p ON p.capability = c.name COLLATE "C"
			LEFT JOIN customers pc ON pc.capability = p.capability AND pc.k = p.k
			LEFT JOIN customers o ON o.capability = c.name COLLATE "C" AND o.k IS NULL
			GROUP BY c.name, o.customers
		$q$, transfers, coalesce(applications, transfers), applications IS NOT NULL,
			-- ids are compared as text (the ledger contract), byte by byte:
			-- distinct customers are the same in any deterministic
			-- collation, and counted several times faster; integers and
			-- uuids have one text each, so they are compared as they are
			CASE WHEN customer_type IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype, 'uuid'::regtype)
				 THEN 'x.customer_id' ELSE 'x.customer_id::text COLLATE "C"' END);
	END IF;
	RETURN QUERY EXECUTE format($q$
		SELECT e.capability, s.down, e.transfers, e.customers, e.value, e.applications, e.fees, e.customers_total,
			   c.impact_tolerance IS NOT NULL
			   AND coalesce((SELECT bool_or(x.met) FROM depwatch_internal._dora_criteria(m.facts, m.measures) x
							 WHERE x.criterion IN ('duration_downtime', 'clients_transactions')), false),
			   (SELECT x.met FROM depwatch_internal._kr_fss_criteria(m.facts, m.measures) x
				WHERE x.criterion = 'reportable')
		FROM (%s) e
		JOIN depwatch.capability c ON c.name = e.capability
		CROSS JOIN LATERAL (VALUES (true, $2, e.customers), (false, interval '0', 0)) s(down, downtime, affected)
		CROSS JOIN LATERAL (
			SELECT jsonb_build_object('critical_services_affected', c.impact_tolerance IS NOT NULL,
									  'clients_total', e.customers_total, 'subscribers', s.affected) AS facts,
				   jsonb_build_object('downtime', s.downtime, 'clients_affected', s.affected) AS measures) m
	$q$, expectations)
		USING starts, lasts, weeks;
END
$$;

-- _scenario_baseline: the rows above, read once per statement (a sweep
-- over providers reads the same baseline for each): src/scenario.c.
CREATE OR REPLACE FUNCTION depwatch_internal._scenario_baseline(starts timestamptz, lasts interval, weeks int)
	RETURNS TABLE(capability text, down boolean, transfers numeric, customers numeric, value numeric,
				  applications numeric, fees numeric, customers_total bigint,
				  dora_major boolean, fss_reportable boolean)
	AS 'MODULE_PATHNAME', 'dw_scenario_baseline'
	LANGUAGE C STABLE STRICT ROWS 40;

-- scenario: what if these dependencies, sites or vendors were down from
-- starts for lasts (doc/semantics.md, "Scenarios").  The capability part
-- reads the configuration; the expectations read the ledger with the
-- caller's rights, like every ledger report, and are NULL when no ledger
-- is bound.  DORA and FSS outcomes are judged with the baseline, once
-- per statement, for each capability down and up.
CREATE OR REPLACE FUNCTION scenario(lose text[], starts timestamptz, lasts interval, baseline_weeks int DEFAULT 4)
	RETURNS TABLE(capability text, down boolean, downtime interval, tolerance interval,
				  breached boolean, breached_at timestamptz,
				  expected_transfers numeric, expected_customers numeric, expected_value numeric,
				  expected_applications numeric, expected_fees numeric,
				  dora_major boolean, fss_reportable boolean, downtime_seconds numeric,
				  tolerance_seconds numeric)
LANGUAGE plpgsql STABLE SECURITY INVOKER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	lost text[];
BEGIN
	-- every argument before the ledger is read
	PERFORM depwatch_internal._check_scenario(lose, lasts);
	PERFORM depwatch_internal._check_starts(starts);
	lost := depwatch_internal._scenario_lost(lose);
	IF baseline_weeks IS NULL THEN
		RAISE EXCEPTION 'baseline_weeks must not be NULL'
			USING ERRCODE = 'null_value_not_allowed',
				  HINT = 'Pass how many weeks back the expectations are taken from, such as 4.';
	END IF;
	IF baseline_weeks NOT BETWEEN 1 AND 52 THEN
		RAISE EXCEPTION 'baseline_weeks must be between 1 and 52, not %', baseline_weeks
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass how many weeks back the expectations are taken from, such as 4.';
	END IF;
	RETURN QUERY
		SELECT o.capability, o.down, o.downtime, o.tolerance, o.breached, o.breached_at,
			   b.transfers, b.customers, b.value, b.applications, b.fees,
			   b.dora_major, b.fss_reportable,
			   trim_scale(extract(epoch FROM o.downtime)), trim_scale(extract(epoch FROM o.tolerance))
		FROM depwatch_internal._scenario_outcomes(lost, starts, lasts) o
		LEFT JOIN depwatch_internal._scenario_baseline(starts, lasts, baseline_weeks) b
			   ON b.capability = o.capability AND b.down = o.down
		ORDER BY o.capability;
END
$$;
COMMENT ON FUNCTION scenario(text[], timestamptz, interval, int) IS 'What if these dependencies, sites or vendors were down from starts for lasts: per capability, down time, tolerance breach, ledger expectations from the same window of the baseline weeks, DORA and FSS outcomes';

-- save_scenario: a scenario resilience_report() runs again; saving one
-- under an existing name replaces it.
CREATE OR REPLACE FUNCTION save_scenario(name text, lose text[], lasts interval) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	id bigint;
BEGIN
	PERFORM depwatch_internal._check_identifier(name, 'scenario', 'pangyo_48h');
	PERFORM depwatch_internal._check_scenario(lose, lasts);
	PERFORM depwatch_internal._scenario_dependencies(lose);
	INSERT INTO depwatch.scenario AS s (name, lose, lasts)
	VALUES (name, lose, lasts)
	ON CONFLICT ON CONSTRAINT scenario_name_key DO UPDATE SET lose = excluded.lose, lasts = excluded.lasts
		WHERE (s.lose, s.lasts) IS DISTINCT FROM (excluded.lose, excluded.lasts)
	RETURNING s.id INTO id;
	IF id IS NULL THEN
		SELECT s.id INTO id FROM depwatch.scenario s WHERE s.name = name;
	END IF;
	RETURN id;
END
$$;
COMMENT ON FUNCTION save_scenario(text, text[], interval) IS 'Save a scenario (names of dependencies, sites or vendors lost, and for how long) for resilience_report(); replaces one of the same name';

-- resilience_report: the annual self-assessment in one JSON document
-- (doc/resilience_report.schema.json): per capability with a tolerance,
-- its real down runs that overlap the period (tolerance_breaches()), the
-- longest of them, those that breached, and every saved scenario run
-- again from the period's end.  Reads no ledger.
CREATE OR REPLACE FUNCTION resilience_report(period tstzrange) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
SET TimeZone = 'UTC'
AS $$
#variable_conflict use_variable
DECLARE
	report jsonb;
BEGIN
	PERFORM depwatch_internal._check_period(period);
	WITH runs AS MATERIALIZED (SELECT * FROM depwatch.tolerance_breaches(period)),
	outcomes AS MATERIALIZED (
		SELECT s.name, s.lose, s.lasts, o.*
		FROM depwatch.scenario s
		CROSS JOIN LATERAL depwatch_internal._scenario_outcomes(depwatch_internal._scenario_lost(s.lose),
																upper(period), s.lasts) o)
	SELECT jsonb_build_object(
		'period', jsonb_build_object('from', lower(period), 'to', upper(period)),
		'services', coalesce(jsonb_agg(jsonb_build_object(
			'capability', c.name,
			'tolerance_seconds', trim_scale(extract(epoch FROM c.impact_tolerance)),
			'worst_disruption_seconds',
				coalesce((SELECT max(trim_scale(extract(epoch FROM r.lasted))) FROM runs r WHERE r.capability = c.name), 0),
			'breaches', coalesce((
				SELECT jsonb_agg(jsonb_build_object('started_at', r.started_at, 'ended_at', r.ended_at,
													'lasted_seconds', trim_scale(extract(epoch FROM r.lasted)),
													'breached_at', r.breached_at) ORDER BY r.started_at)
				FROM runs r WHERE r.capability = c.name AND r.breached), '[]'),
			'scenarios', coalesce((
				SELECT jsonb_agg(jsonb_build_object('name', o.name, 'lose', to_jsonb(o.lose),
													'lasts_seconds', trim_scale(extract(epoch FROM o.lasts)),
													'down', o.down,
													'downtime_seconds', trim_scale(extract(epoch FROM o.downtime)),
													'breached', o.breached) ORDER BY o.name)
				FROM outcomes o WHERE o.capability = c.name), '[]'))
			ORDER BY c.name), '[]'))
	  INTO report
	FROM depwatch.capability c
	WHERE c.impact_tolerance IS NOT NULL;
	RETURN report;
END
$$;
COMMENT ON FUNCTION resilience_report(tstzrange) IS 'Per important business service (a capability with an impact tolerance): tolerance, worst disruption and breaches in the period, and the saved scenarios run again from its end, as one JSON document (doc/resilience_report.schema.json)';
