-- Samples and the outage state machine (C: src/samples.c,
-- src/outage_store.c), and the daily sample partitions.

CREATE OR REPLACE FUNCTION report_sample(dependency text, ok boolean, latency interval DEFAULT NULL,
							  at timestamptz DEFAULT now(), vantage text DEFAULT NULL,
							  detail text DEFAULT NULL) RETURNS void
	AS 'MODULE_PATHNAME', 'dw_report_sample'
	LANGUAGE C VOLATILE SECURITY DEFINER
	SET search_path = pg_catalog, depwatch, pg_temp;
COMMENT ON FUNCTION report_sample(text, boolean, interval, timestamptz, text, text)
	IS 'Record one probe or call outcome and advance the outage state machine';

CREATE OR REPLACE FUNCTION derive_outages(dependency text, period tstzrange DEFAULT NULL,
							   fail_after int DEFAULT NULL, recover_after int DEFAULT NULL)
	RETURNS TABLE(kind text, started_at timestamptz, ended_at timestamptz, bad_samples bigint)
	AS 'MODULE_PATHNAME', 'dw_derive_outages'
	LANGUAGE C STABLE SECURITY DEFINER
	SET search_path = pg_catalog, depwatch, pg_temp;
COMMENT ON FUNCTION derive_outages(text, tstzrange, int, int)
	IS 'Replay stored samples through the outage state machine without writing anything';

-- The daily partitions live in depwatch_internal, out of the API's way.
CREATE OR REPLACE FUNCTION maintain_sample_partitions(days_ahead int DEFAULT 3, retention interval DEFAULT NULL)
	RETURNS TABLE(action text, partition text)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
SET TimeZone = 'UTC'
AS $$
#variable_conflict use_variable
DECLARE
	cutoff timestamptz;
	day date;
	part text;
	lo timestamptz;
	hi timestamptz;
	r record;
BEGIN
	IF days_ahead IS NULL OR days_ahead < 0 OR days_ahead > 366 THEN
		RAISE EXCEPTION 'days_ahead must be from 0 to 366, not %', coalesce(days_ahead::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'A few days ahead is enough; the worker calls this every hour.';
	END IF;
	IF retention < interval '1 day' OR retention > interval '100 years' THEN
		RAISE EXCEPTION 'sample retention must be from 1 day to 100 years, not %', retention
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Keep samples for as long as availability reports look back, such as ''90 days''.';
	END IF;
	cutoff := date_trunc('day', now() - coalesce(retention, depwatch_internal._sample_retention()));
	FOR day IN SELECT generate_series(current_date, current_date + days_ahead, interval '1 day')::date LOOP
		part := 'sample_' || to_char(day, 'YYYYMMDD');
		CONTINUE WHEN to_regclass('depwatch_internal.' || part) IS NOT NULL;
		lo := day::timestamptz;
		hi := (day + 1)::timestamptz;
		EXECUTE format('CREATE TABLE depwatch_internal.%I (LIKE depwatch.sample)', part);
		EXECUTE format('WITH moved AS (DELETE FROM depwatch.sample_default WHERE at >= $1 AND at < $2 RETURNING *)
						INSERT INTO depwatch_internal.%I SELECT * FROM moved', part) USING lo, hi;
		EXECUTE format('CREATE INDEX ON depwatch_internal.%I (dependency_id, at) INCLUDE (ok, latency)', part);
		EXECUTE format('ALTER TABLE depwatch.sample ATTACH PARTITION depwatch_internal.%I FOR VALUES FROM (%L) TO (%L)',
					   part, lo, hi);
		action := 'created'; partition := part;
		RETURN NEXT;
	END LOOP;

	FOR r IN
		SELECT c.oid::regclass AS part, c.relname
		FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'depwatch.sample'::regclass AND c.relname ~ '^sample_[0-9]{8}$'
		  AND to_date(substr(c.relname, 8), 'YYYYMMDD') + 1 <= cutoff::date
		ORDER BY c.relname
	LOOP
		EXECUTE format('DROP TABLE %s', r.part);
		action := 'dropped'; partition := r.relname;
		RETURN NEXT;
	END LOOP;
	DELETE FROM depwatch.sample_default WHERE at < cutoff;
END
$$;
COMMENT ON FUNCTION maintain_sample_partitions(int, interval) IS 'Make the coming days'' sample partitions and drop expired ones';

CREATE OR REPLACE FUNCTION depwatch_internal._rederive_outages(dependency text, since timestamptz) RETURNS int
	AS 'MODULE_PATHNAME', 'dw_rederive_outages'
	LANGUAGE C VOLATILE STRICT
	SET search_path = pg_catalog, depwatch, pg_temp;
COMMENT ON FUNCTION depwatch_internal._rederive_outages(text, timestamptz)
	IS 'Replays a dependency''s samples and rewrites its machine-made outages from a time on, and its machine';

-- discard_samples deletes the samples of one dependency in a window, says
-- so in the audit log (who, which window, how many, why), then rewrites
-- the dependency's machine-made outages from the first discarded sample on
-- and its state machine, from the samples that remain.  The window is
-- finite and at most 31 days, as a maintenance window: a repair names what
-- it repairs, and a typo cannot wipe a year.
CREATE OR REPLACE FUNCTION discard_samples(dependency text, during tstzrange, reason text) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
-- the audit row's times read the same whatever the caller's zone
SET TimeZone = 'UTC'
AS $$
#variable_conflict use_variable
DECLARE
	dep_id bigint := depwatch_internal._dependency_id(dependency);
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
	PERFORM depwatch_internal._check_text('reason', reason);

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

	PERFORM depwatch_internal._audit_write('DELETE', 'sample', dep_id,
		-- times as JSON writes them (ISO 8601), whatever the DateStyle
		jsonb_build_object('dependency', dependency, 'from', lower(during), 'until', upper(during),
						   'bounds', CASE WHEN lower_inc(during) THEN '[' ELSE '(' END
									 || CASE WHEN upper_inc(during) THEN ']' ELSE ')' END,
						   'samples', n, 'first', first_at, 'reason', reason),
		NULL);

	IF n > 0 THEN
		PERFORM depwatch_internal._rederive_outages(dependency, first_at);
	END IF;
	RETURN n;
END
$$;
COMMENT ON FUNCTION discard_samples(text, tstzrange, text)
	IS 'Delete a dependency''s samples in a window of at most 31 days (audited, with a reason) and re-derive its outages from them on';

-- last_probe: each dependency's latest sample, from any vantage this node
-- holds (SPEC section 10).  One backward index scan of (dependency_id, at)
-- per dependency and daily partition.
CREATE OR REPLACE VIEW last_probe AS
	SELECT d.name AS dependency, s.vantage, s.at, s.ok, s.latency,
		   extract(epoch FROM s.latency) AS latency_seconds,
		   extract(epoch FROM s.latency) * 1000 AS latency_ms,
		   s.detail
	FROM depwatch.dependency d
	LEFT JOIN LATERAL (SELECT x.vantage, x.at, x.ok, x.latency, x.detail
					   FROM depwatch.sample x
					   WHERE x.dependency_id = d.id
					   ORDER BY x.at DESC
					   LIMIT 1) s ON true;
COMMENT ON VIEW last_probe IS 'Each dependency''s latest sample (NULLs when it has none): when, whether it succeeded, how long it took, what it said';
COMMENT ON COLUMN last_probe.dependency IS 'Dependency name';
COMMENT ON COLUMN last_probe.vantage IS 'The node that took the sample';
COMMENT ON COLUMN last_probe.at IS 'When the sample was taken';
COMMENT ON COLUMN last_probe.ok IS 'The probe or call succeeded';
COMMENT ON COLUMN last_probe.latency IS 'How long it took';
COMMENT ON COLUMN last_probe.latency_seconds IS 'latency in seconds';
COMMENT ON COLUMN last_probe.latency_ms IS 'latency in milliseconds';
COMMENT ON COLUMN last_probe.detail IS 'What the probe or caller reported';
