
-- ---------------------------------------------------------------------------
-- Tracked since (doc/semantics.md, "Tracked since"; issue 17 items 2 and 3).
--
-- Every dependency has tracked_since: before it the dependency is
-- untracked, and every report counts that time as unmonitored, never as up
-- (the reports' loader adds the span, src/subjects.c).  Samples and
-- outages before it are refused (_check_tracked, src/bounds.c); an
-- operator who imports older history moves it back first with
-- alter_dependency(name, tracked_since => ...).
-- ---------------------------------------------------------------------------

-- Rows written under 0.2: tracked since they were added (their first audit
-- row, else created_at), or since their earliest stored sample or outage
-- when that is earlier, so that nothing stored becomes invalid.
ALTER TABLE dependency ADD COLUMN tracked_since timestamptz;
UPDATE dependency d
   SET tracked_since = least(coalesce((SELECT a.at FROM audit_log a
									   WHERE a.table_name = 'dependency' AND a.row_id = d.id
										 AND a.action = 'INSERT'
									   ORDER BY a.id LIMIT 1), d.created_at),
							 (SELECT min(s.at) FROM sample s WHERE s.dependency_id = d.id),
							 (SELECT min(lower(o.during)) FROM outage o WHERE o.dependency_id = d.id));
ALTER TABLE dependency ALTER COLUMN tracked_since SET DEFAULT now(),
	ALTER COLUMN tracked_since SET NOT NULL;
COMMENT ON COLUMN dependency.tracked_since IS
	'Start of its history: before it the dependency is untracked and every report counts that time as unmonitored';
GRANT SELECT (tracked_since) ON dependency TO depwatch_reader;

CREATE OR REPLACE VIEW dependencies AS
	SELECT d.id, d.name, d.kind, d.probe,
		   _mask_probe_target(d.probe, d.target) AS target,
		   d.every, d.timeout, d.fail_after, d.recover_after, d.degraded_after,
		   _mask_options(d.options) AS options,
		   d.site, d.vendor, d.enabled, d.created_at, d.tracked_since
	FROM dependency d;
COMMENT ON COLUMN dependencies.tracked_since IS
	'Start of its history: before it the dependency is untracked and every report counts that time as unmonitored';

CREATE FUNCTION _check_tracked(dependency_id bigint, argument text, value timestamptz) RETURNS void
	AS 'MODULE_PATHNAME', 'dw_check_tracked_sql'
	LANGUAGE C STABLE;
REVOKE ALL ON FUNCTION _check_tracked(bigint, text, timestamptz) FROM PUBLIC;
COMMENT ON FUNCTION _check_tracked(bigint, text, timestamptz)
	IS 'Refuses a sample or outage time before the dependency''s tracked_since (SQLSTATE 22008)';

-- _check_tracked_since: a tracked_since to be set on dependency d (NULL:
-- not yet added): from 1990-01-01 to now(), and, to keep every stored
-- sample and outage inside the history, never later than the earliest.
CREATE FUNCTION _check_tracked_since(d depwatch.dependency) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
DECLARE
	iso CONSTANT text := 'YYYY-MM-DD HH24:MI:SSOF';
	first_sample timestamptz;
	first_outage timestamptz;
BEGIN
	PERFORM depwatch._check_time('tracked_since', d.tracked_since);
	IF d.tracked_since IS NULL OR d.tracked_since > now() THEN
		RAISE EXCEPTION 'tracked_since of "%" must be a time up to now, not %', d.name,
				coalesce(to_char(d.tracked_since, iso), 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass when depwatch''s history of the dependency begins; leave it out for now.';
	END IF;
	IF d.id IS NULL THEN
		RETURN;
	END IF;
	SELECT min(s.at) INTO first_sample FROM depwatch.sample s WHERE s.dependency_id = d.id;
	SELECT min(lower(o.during)) INTO first_outage FROM depwatch.outage o WHERE o.dependency_id = d.id;
	IF d.tracked_since > least(first_sample, first_outage) THEN
		RAISE EXCEPTION 'tracked_since of "%" cannot be %: its history begins at %', d.name,
				to_char(d.tracked_since, iso), to_char(least(first_sample, first_outage), iso)
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = format('Its earliest sample is at %s, its earliest outage starts at %s.',
								  coalesce(to_char(first_sample, iso), '(none)'),
								  coalesce(to_char(first_outage, iso), '(none)')),
				  HINT = 'tracked_since is never later than a stored sample or outage; pass that time or an earlier one.';
	END IF;
END
$$;
REVOKE ALL ON FUNCTION _check_tracked_since(depwatch.dependency) FROM PUBLIC;

-- add_dependency and alter_dependency take tracked_since: a new signature.
DROP FUNCTION add_dependency(text, text, text, text, interval, interval, int, int, interval, jsonb, text, text);
DROP FUNCTION alter_dependency(text, text, text, text, interval, interval, int, int, interval, jsonb, text, text, boolean);

-- add_dependency: tracked_since NULL is now (when it is added).
CREATE FUNCTION add_dependency(name text, kind text, probe text DEFAULT 'none',
							   target text DEFAULT NULL, every interval DEFAULT '10 s',
							   timeout interval DEFAULT '2 s', fail_after int DEFAULT 3,
							   recover_after int DEFAULT 2, degraded_after interval DEFAULT NULL,
							   options jsonb DEFAULT '{}', site text DEFAULT NULL,
							   vendor text DEFAULT NULL, tracked_since timestamptz DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	d depwatch.dependency;
BEGIN
	PERFORM depwatch._check_name(name, 'dependency');
	d.name := name; d.kind := kind; d.probe := probe; d.target := target;
	d.every := every; d.timeout := timeout; d.fail_after := fail_after;
	d.recover_after := recover_after; d.degraded_after := degraded_after;
	d.options := options; d.site := site; d.vendor := vendor;
	d.tracked_since := coalesce(tracked_since, now());
	d.probe_set_by_superuser := depwatch._caller_is_superuser();
	PERFORM depwatch._check_dependency(d);
	PERFORM depwatch._check_tracked_since(d);
	IF NOT d.probe_set_by_superuser THEN
		PERFORM depwatch._check_restricted(d);
	END IF;
	INSERT INTO depwatch.dependency (name, kind, probe, target, every, timeout, fail_after,
									 recover_after, degraded_after, options, site, vendor,
									 probe_set_by_superuser, tracked_since)
	VALUES (d.name, d.kind, d.probe, d.target, d.every, d.timeout, d.fail_after,
			d.recover_after, d.degraded_after, d.options, d.site, d.vendor,
			d.probe_set_by_superuser, d.tracked_since)
	RETURNING id INTO d.id;
	RETURN d.id;
END
$$;

-- alter_dependency: NULL leaves a setting as it is; degraded_after '0' and
-- an empty site or vendor clear them.  A superuser who passes probe, target
-- or options sets the probe settings (even to what they were); a role who
-- is not one and changes them makes the dependency restricted.
-- tracked_since moves the start of the history: back, to import older
-- samples and outages; later, up to the earliest one stored.
CREATE FUNCTION alter_dependency(name text, kind text DEFAULT NULL, probe text DEFAULT NULL,
								 target text DEFAULT NULL, every interval DEFAULT NULL,
								 timeout interval DEFAULT NULL, fail_after int DEFAULT NULL,
								 recover_after int DEFAULT NULL, degraded_after interval DEFAULT NULL,
								 options jsonb DEFAULT NULL, site text DEFAULT NULL,
								 vendor text DEFAULT NULL, enabled boolean DEFAULT NULL,
								 tracked_since timestamptz DEFAULT NULL) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	d depwatch.dependency;
	old depwatch.dependency;
	superuser boolean := depwatch._caller_is_superuser();
	probe_changed boolean;
BEGIN
	-- NO KEY UPDATE: the probe worker's key-share locks need not wait for us
	SELECT * INTO d FROM depwatch.dependency x
	WHERE x.id = depwatch._dependency_id(alter_dependency.name) FOR NO KEY UPDATE;
	old := d;
	d.kind := coalesce(kind, d.kind);
	d.probe := coalesce(probe, d.probe);
	d.target := coalesce(target, d.target);
	d.every := coalesce(every, d.every);
	d.timeout := coalesce(timeout, d.timeout);
	d.fail_after := coalesce(fail_after, d.fail_after);
	d.recover_after := coalesce(recover_after, d.recover_after);
	d.degraded_after := CASE WHEN degraded_after = interval '0' THEN NULL
							 ELSE coalesce(degraded_after, d.degraded_after) END;
	d.options := coalesce(options, d.options);
	d.site := CASE WHEN site = '' THEN NULL ELSE coalesce(site, d.site) END;
	d.vendor := CASE WHEN vendor = '' THEN NULL ELSE coalesce(vendor, d.vendor) END;
	d.enabled := coalesce(enabled, d.enabled);
	d.tracked_since := coalesce(tracked_since, d.tracked_since);
	-- slo and quorum are about reports, not about what the worker connects to
	probe_changed := (d.probe, d.target, d.options - 'slo' - 'quorum')
					 IS DISTINCT FROM (old.probe, old.target, old.options - 'slo' - 'quorum');
	IF superuser AND (probe IS NOT NULL OR target IS NOT NULL OR options IS NOT NULL) THEN
		d.probe_set_by_superuser := true;
	ELSIF NOT superuser AND probe_changed THEN
		d.probe_set_by_superuser := false;
	END IF;
	PERFORM depwatch._check_dependency(d);
	IF NOT d.probe_set_by_superuser AND probe_changed THEN
		PERFORM depwatch._check_restricted(d);
	END IF;
	IF d.tracked_since IS DISTINCT FROM old.tracked_since THEN
		-- report_sample checks and stores a sample under the machine's
		-- lock (its probe_state row, which it creates): taking it here,
		-- none slips in before a later tracked_since while we look
		IF d.tracked_since > old.tracked_since THEN
			INSERT INTO depwatch.probe_state AS s (dependency_id) VALUES (d.id)
			ON CONFLICT (dependency_id) DO UPDATE SET dependency_id = s.dependency_id;
		END IF;
		PERFORM depwatch._check_tracked_since(d);
	END IF;
	UPDATE depwatch.dependency x
	   SET kind = d.kind, probe = d.probe, target = d.target, every = d.every,
		   timeout = d.timeout, fail_after = d.fail_after, recover_after = d.recover_after,
		   degraded_after = d.degraded_after, options = d.options, site = d.site,
		   vendor = d.vendor, enabled = d.enabled,
		   probe_set_by_superuser = d.probe_set_by_superuser, tracked_since = d.tracked_since
	 WHERE x.id = d.id
	   AND (x.kind, x.probe, x.target, x.every, x.timeout, x.fail_after, x.recover_after,
			x.degraded_after, x.options, x.site, x.vendor, x.enabled, x.probe_set_by_superuser,
			x.tracked_since)
		   IS DISTINCT FROM
		   (d.kind, d.probe, d.target, d.every, d.timeout, d.fail_after, d.recover_after,
			d.degraded_after, d.options, d.site, d.vendor, d.enabled, d.probe_set_by_superuser,
			d.tracked_since);
END
$$;

REVOKE ALL ON FUNCTION
	add_dependency(text, text, text, text, interval, interval, int, int, interval, jsonb, text, text, timestamptz),
	alter_dependency(text, text, text, text, interval, interval, int, int, interval, jsonb, text, text, boolean, timestamptz)
	FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
	add_dependency(text, text, text, text, interval, interval, int, int, interval, jsonb, text, text, timestamptz),
	alter_dependency(text, text, text, text, interval, interval, int, int, interval, jsonb, text, text, boolean, timestamptz)
	TO depwatch_admin;
COMMENT ON FUNCTION add_dependency(text, text, text, text, interval, interval, int, int, interval, jsonb, text, text, timestamptz)
	IS 'Add a dependency; returns its id';
COMMENT ON FUNCTION alter_dependency(text, text, text, text, interval, interval, int, int, interval, jsonb, text, text, boolean, timestamptz)
	IS 'Change a dependency; NULL leaves a setting unchanged';

-- record_outage records an outage by hand (source 'manual'); ended_at NULL
-- leaves it open until end_outage().  Not before the dependency's
-- tracked_since.
CREATE OR REPLACE FUNCTION record_outage(dependency text, started_at timestamptz, ended_at timestamptz DEFAULT NULL,
							  kind text DEFAULT 'down', note text DEFAULT NULL,
							  detected_at timestamptz DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	dep_id bigint := depwatch._dependency_id(dependency);
	clash record;
	result bigint;
BEGIN
	PERFORM depwatch._check_kind(kind);
	IF started_at IS NULL THEN
		RAISE EXCEPTION 'outage start must be a finite time, not NULL'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass when the outage started.';
	END IF;
	PERFORM depwatch._check_time('started_at', started_at);
	PERFORM depwatch._check_time('ended_at', ended_at);
	PERFORM depwatch._check_time('detected_at', detected_at);
	PERFORM depwatch._check_text('note', note);
	-- SHARE on the dependency: alter_dependency cannot move
	-- tracked_since past this outage until we commit
	PERFORM FROM depwatch.dependency x WHERE x.id = dep_id FOR SHARE;
	PERFORM depwatch._check_tracked(dep_id, 'started_at', started_at);
	IF ended_at <= started_at THEN
		RAISE EXCEPTION 'outage of "%" ends at % but starts at %', dependency, ended_at, started_at
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'The end must come after the start; pass NULL for an outage still going on.';
	END IF;
	IF detected_at < started_at THEN
		RAISE EXCEPTION 'outage of "%" is detected at % but starts at %', dependency, detected_at, started_at
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'An outage is detected at or after its start; pass NULL if nobody knows when.';
	END IF;
	SELECT o.id, o.during INTO clash FROM depwatch.outage o
	WHERE o.dependency_id = dep_id AND o.kind = record_outage.kind
	  AND o.during && tstzrange(started_at, ended_at)
	ORDER BY lower(o.during) LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION '% outage of "%" from % overlaps outage % (%)', kind, dependency, started_at,
				clash.id, clash.during
			USING ERRCODE = 'exclusion_violation',
				  DETAIL = 'Two outages of one dependency and kind never overlap.',
				  HINT = 'Change the window, or end the other outage first with end_outage().';
	END IF;
	INSERT INTO depwatch.outage (dependency_id, kind, during, detected_at, source, note)
	VALUES (dep_id, kind, tstzrange(started_at, ended_at), detected_at, 'manual', note)
	RETURNING id INTO result;
	RETURN result;
END
$$;
