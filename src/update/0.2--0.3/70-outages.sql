
-- ---------------------------------------------------------------------------
-- Truth at the edges: outages (doc/semantics.md, "Degraded level",
-- "Outage sources", "Bounds on input").
--
-- A dependency without degraded_after (or, passive, degraded_error_rate)
-- has no degraded machine: the C code decides it in one place
-- (dw_has_degraded), for the worker, report_sample and derive_outages
-- alike.  Outages opened by report_sample on a dependency that is not
-- passive say source 'reported'.  discard_samples repairs a history that a
-- sample from the future (accepted before 0.3) or any other bad sample
-- spoiled.
-- ---------------------------------------------------------------------------

ALTER TABLE outage DROP CONSTRAINT outage_source_check;
ALTER TABLE outage ADD CONSTRAINT outage_source_check
	CHECK (source IN ('probe', 'reported', 'passive', 'manual', 'import'));
COMMENT ON COLUMN outage.source IS 'probe (the worker), reported (report_sample), passive (the error-rate rule), manual (record_outage) or import';
COMMENT ON COLUMN outages.source IS 'probe (the worker), reported (report_sample), passive (the error-rate rule), manual (record_outage) or import';

-- A vantage ships the outages its machine made: reported ones too.
CREATE OR REPLACE FUNCTION _ship_outage() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
BEGIN
	IF TG_OP = 'DELETE' THEN
		DELETE FROM depwatch.vantage_outage
		WHERE vantage = depwatch._vantage() AND outage_id = OLD.id;
		RETURN NULL;
	END IF;
	IF NEW.source NOT IN ('probe', 'reported', 'passive') THEN
		RETURN NULL;
	END IF;
	INSERT INTO depwatch.vantage_outage AS v (vantage, outage_id, dependency, kind, during, detected_at)
	SELECT depwatch._vantage(), NEW.id, d.name, NEW.kind, NEW.during, NEW.detected_at
	FROM depwatch.dependency d WHERE d.id = NEW.dependency_id
	ON CONFLICT (vantage, outage_id) DO UPDATE
		SET during = EXCLUDED.during, detected_at = EXCLUDED.detected_at
		WHERE (v.during, v.detected_at) IS DISTINCT FROM (EXCLUDED.during, EXCLUDED.detected_at);
	RETURN NULL;
END
$$;

-- The existing data.  Degraded rows the machine made for a dependency
-- without degraded_after are the twins of its down rows: deleted through
-- the table, so that the audit log has each one (and a vantage's shipped
-- copy goes too); degraded rows recorded by hand or imported stay.  The
-- machines' degraded streaks go with them.
DO $$
DECLARE
	n bigint;
BEGIN
	WITH gone AS (
		DELETE FROM depwatch.outage o
		USING depwatch.dependency d
		WHERE d.id = o.dependency_id AND d.degraded_after IS NULL
		  AND o.kind = 'degraded' AND o.source IN ('probe', 'passive')
		RETURNING o.id)
	SELECT count(*) INTO n FROM gone;
	UPDATE depwatch.probe_state s
	   SET degraded_open = false, degraded_streak = 0, degraded_since = NULL
	  FROM depwatch.dependency d
	 WHERE d.id = s.dependency_id AND d.degraded_after IS NULL
	   AND (s.degraded_open OR s.degraded_streak <> 0);
	IF n > 0 THEN
		RAISE WARNING 'depwatch 0.3: removed % degraded outages of dependencies without degraded_after (each the twin of a down outage; audited)', n
			USING HINT = 'Set degraded_after on a dependency to have degraded outages.';
	END IF;
END
$$;

-- Where the outages came from: the machine's outages of a dependency that
-- nobody probes (probe 'none') can only have come from report_sample.  On a
-- probed dependency the worker's and report_sample's outages cannot be told
-- apart (both write as the extension's owner), so they stay 'probe'.
UPDATE outage o SET source = 'reported'
  FROM dependency d
 WHERE d.id = o.dependency_id AND d.probe = 'none' AND o.source = 'probe';

-- ---------------------------------------------------------------------------
-- discard_samples
-- ---------------------------------------------------------------------------
CREATE FUNCTION _rederive_outages(dependency text, since timestamptz) RETURNS int
	AS 'MODULE_PATHNAME', 'dw_rederive_outages'
	LANGUAGE C VOLATILE STRICT
	SET search_path = pg_catalog, depwatch, pg_temp;
REVOKE ALL ON FUNCTION _rederive_outages(text, timestamptz) FROM PUBLIC;
COMMENT ON FUNCTION _rederive_outages(text, timestamptz)
	IS 'Replays a dependency''s samples and rewrites its machine-made outages from a time on, and its machine';

-- discard_samples deletes the samples of one dependency in a window, says
-- so in the audit log (who, which window, how many, why), then rewrites
-- the dependency's machine-made outages from the first discarded sample on
-- and its state machine, from the samples that remain.  The window is
-- finite and at most 31 days, as a maintenance window: a repair names what
-- it repairs, and a typo cannot wipe a year.
CREATE FUNCTION discard_samples(dependency text, during tstzrange, reason text) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
-- the audit row's times read the same whatever the caller's zone
SET TimeZone = 'UTC'
AS $$
#variable_conflict use_variable
DECLARE
	dep_id bigint := depwatch._dependency_id(dependency);
	n bigint;
	first_at timestamptz;
	vantages text[];
BEGIN
	IF during IS NULL OR isempty(during) OR lower_inf(during) OR upper_inf(during)
	   OR NOT isfinite(lower(during)) OR NOT isfinite(upper(during)) THEN
		RAISE EXCEPTION 'the window of samples to discard must be a finite, non-empty range, not %',
				coalesce(during::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass the window the bad samples lie in, such as tstzrange(''2026-12-06 10:00+00'', ''2026-12-07 10:00+00'').';
	END IF;
	IF upper(during) - lower(during) > interval '31 days' THEN
		RAISE EXCEPTION 'the window of samples to discard must be at most 31 days long, not %',
				upper(during) - lower(during)
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Discard a longer stretch in windows of at most 31 days.';
	END IF;
	IF reason IS NULL OR btrim(reason) = '' THEN
		RAISE EXCEPTION 'a reason for discarding samples is required'
			USING ERRCODE = CASE WHEN reason IS NULL THEN 'null_value_not_allowed' ELSE 'invalid_parameter_value' END,
				  HINT = 'Say why the samples are wrong, such as ''sent with a clock a day ahead''; it goes into the audit log.';
	END IF;
	PERFORM depwatch._check_text('reason', reason);

	-- report_sample and the worker wait on the machine's row until commit
	INSERT INTO depwatch.probe_state AS s (dependency_id) VALUES (dep_id)
	ON CONFLICT (dependency_id) DO UPDATE SET dependency_id = s.dependency_id;

	WITH gone AS (
		DELETE FROM depwatch.sample s
		WHERE s.dependency_id = dep_id AND s.at <@ during
		RETURNING s.at, s.vantage)
	SELECT count(*), min(g.at), array_agg(DISTINCT g.vantage) INTO n, first_at, vantages FROM gone g;
	-- this node's shipped copies of them
	DELETE FROM depwatch.vantage_sample v
	WHERE v.vantage = ANY (vantages) AND v.dependency = dependency AND v.at <@ during;

	PERFORM depwatch._audit_write('DELETE', 'sample', dep_id,
		-- times as JSON writes them (ISO 8601), whatever the DateStyle
		jsonb_build_object('dependency', dependency, 'from', lower(during), 'until', upper(during),
						   'bounds', CASE WHEN lower_inc(during) THEN '[' ELSE '(' END
									 || CASE WHEN upper_inc(during) THEN ']' ELSE ')' END,
						   'samples', n, 'first', first_at, 'reason', reason),
		NULL);

	IF n > 0 THEN
		PERFORM depwatch._rederive_outages(dependency, first_at);
	END IF;
	RETURN n;
END
$$;
REVOKE ALL ON FUNCTION discard_samples(text, tstzrange, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION discard_samples(text, tstzrange, text) TO depwatch_operator;
COMMENT ON FUNCTION discard_samples(text, tstzrange, text)
	IS 'Delete a dependency''s samples in a window of at most 31 days (audited, with a reason) and re-derive its outages from them on';
