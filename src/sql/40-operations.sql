-- Operations: maintenance, outages recorded by hand, incidents.

-- Operations API: maintenance, outages, incidents, with their bounds.
CREATE OR REPLACE FUNCTION add_maintenance(target text, during tstzrange, note text DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	dep_id bigint;
	cap_id bigint;
	result bigint;
BEGIN
	IF target IS NULL THEN
		RAISE EXCEPTION 'maintenance target must not be NULL'
			USING ERRCODE = 'null_value_not_allowed',
				  HINT = 'Pass the name of a dependency or a capability.';
	END IF;
	SELECT d.id INTO dep_id FROM depwatch.dependency d WHERE d.name = target;
	SELECT c.id INTO cap_id FROM depwatch.capability c WHERE c.name = target;
	IF dep_id IS NULL AND cap_id IS NULL THEN
		RAISE EXCEPTION 'no dependency or capability is named "%"', depwatch_internal._clip(target)
			USING ERRCODE = 'undefined_object',
				  HINT = 'Maintenance is planned on a dependency or a capability.';
	END IF;
	IF during IS NULL OR isempty(during) THEN
		RAISE EXCEPTION 'maintenance window on "%" must not be empty, not %', target, coalesce(during::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass a window such as tstzrange(''2026-11-28 02:00+09'', ''2026-11-28 04:00+09'').';
	END IF;
	IF lower_inf(during) OR upper_inf(during) THEN
		RAISE EXCEPTION 'maintenance window % on "%" is unbounded', during, target
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Planned maintenance has a start and an end.';
	END IF;
	PERFORM depwatch_internal._check_time('during', lower(during));
	PERFORM depwatch_internal._check_time('during', upper(during));
	IF upper(during) - lower(during) > interval '31 days' THEN
		RAISE EXCEPTION 'maintenance window % on "%" is longer than 31 days', during, target
			USING ERRCODE = 'datetime_field_overflow',
				  HINT = 'Plan long work as several windows of at most 31 days each.';
	END IF;
	PERFORM depwatch_internal._check_text('note', note);
	INSERT INTO depwatch.maintenance (dependency_id, capability_id, during, note)
	VALUES (dep_id, cap_id, during, note)
	RETURNING id INTO result;
	RETURN result;
END
$$;
COMMENT ON FUNCTION add_maintenance(text, tstzrange, text) IS 'Plan maintenance on a dependency or capability';

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
	dep_id bigint := depwatch_internal._dependency_id(dependency);
	clash record;
	result bigint;
BEGIN
	PERFORM depwatch_internal._check_kind(kind);
	IF started_at IS NULL THEN
		RAISE EXCEPTION 'outage start must be a finite time, not NULL'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass when the outage started.';
	END IF;
	PERFORM depwatch_internal._check_time('started_at', started_at);
	PERFORM depwatch_internal._check_time('ended_at', ended_at);
	PERFORM depwatch_internal._check_time('detected_at', detected_at);
	PERFORM depwatch_internal._check_text('note', note);
	-- SHARE on the dependency: alter_dependency cannot move
	-- tracked_since past this outage until we commit
	PERFORM FROM depwatch.dependency x WHERE x.id = dep_id FOR SHARE;
	PERFORM depwatch_internal._check_tracked(dep_id, 'started_at', started_at);
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
COMMENT ON FUNCTION record_outage(text, timestamptz, timestamptz, text, text, timestamptz) IS 'Record an outage by hand';

-- record_outage() applies these bounds: it is restated once, with
-- tracked_since, in 60-tracked.sql.
CREATE OR REPLACE FUNCTION end_outage(dependency text, ended_at timestamptz DEFAULT now(),
						   kind text DEFAULT 'down') RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	dep_id bigint := depwatch_internal._dependency_id(dependency);
	o depwatch.outage;
BEGIN
	PERFORM depwatch_internal._check_kind(kind);
	PERFORM depwatch_internal._check_time('ended_at', ended_at);
	SELECT * INTO o FROM depwatch.outage x
	WHERE x.dependency_id = dep_id AND x.kind = end_outage.kind AND upper_inf(x.during)
	FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'dependency "%" has no ongoing % outage', dependency, kind
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = 'See depwatch.outages for its outages.';
	END IF;
	IF ended_at IS NULL OR ended_at <= lower(o.during) THEN
		RAISE EXCEPTION 'outage % of "%" started at %, so it cannot end at %', o.id, dependency,
				lower(o.during), coalesce(ended_at::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'The end must come after the start.';
	END IF;
	UPDATE depwatch.outage SET during = tstzrange(lower(during), ended_at) WHERE id = o.id;
	RETURN o.id;
END
$$;
COMMENT ON FUNCTION end_outage(text, timestamptz, text) IS 'End the ongoing outage of a dependency';

CREATE OR REPLACE FUNCTION open_incident(title text, started_at timestamptz DEFAULT now(),
							  dependencies text[] DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	result bigint;
	dep text;
BEGIN
	IF title IS NULL OR btrim(title) = '' THEN
		RAISE EXCEPTION 'incident title must not be empty'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Name the incident, such as ''credit bureaus overloaded on launch day''.';
	END IF;
	PERFORM depwatch_internal._check_text('title', title);
	IF started_at IS NULL THEN
		RAISE EXCEPTION 'incident start must be a finite time, not NULL'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass when the incident started.';
	END IF;
	PERFORM depwatch_internal._check_time('started_at', started_at);
	INSERT INTO depwatch.incident (title, started_at) VALUES (title, started_at)
	RETURNING id INTO result;
	FOREACH dep IN ARRAY coalesce(dependencies, '{}') LOOP
		INSERT INTO depwatch.incident_dependency VALUES (result, depwatch_internal._dependency_id(dep))
		ON CONFLICT DO NOTHING;
	END LOOP;
	RETURN result;
END
$$;
COMMENT ON FUNCTION open_incident(text, timestamptz, text[]) IS 'Open an incident; returns its id';

-- _incident_row: incident "incident", or the error that says there is
-- none.
CREATE OR REPLACE FUNCTION depwatch_internal._incident_row(incident bigint) RETURNS depwatch.incident
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	i depwatch.incident;
BEGIN
	SELECT * INTO i FROM depwatch.incident x WHERE x.id = incident;
	IF NOT FOUND THEN
		PERFORM depwatch_internal._lookup_failed('incident', 'incident ' || incident,
			'Pass the id of an incident; depwatch.incident lists them.',
			'See depwatch.incident for the incidents there are.');
	END IF;
	RETURN i;
END
$$;

-- _incident_for_update: the same, for a caller that changes it: locked
-- first, then read (after a wait for the lock, as it now is).
CREATE OR REPLACE FUNCTION depwatch_internal._incident_for_update(incident bigint) RETURNS depwatch.incident
LANGUAGE plpgsql
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
BEGIN
	PERFORM FROM depwatch.incident x WHERE x.id = incident FOR UPDATE;
	RETURN depwatch_internal._incident_row(incident);
END
$$;

CREATE OR REPLACE FUNCTION close_incident(incident bigint, ended_at timestamptz DEFAULT now(),
							   root_cause text DEFAULT NULL) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	i depwatch.incident := depwatch_internal._incident_for_update(incident);
BEGIN
	IF i.ended_at IS NOT NULL THEN
		RAISE EXCEPTION 'incident % is already closed (at %)', i.id, i.ended_at
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = 'An incident is closed once.';
	END IF;
	PERFORM depwatch_internal._check_time('ended_at', ended_at);
	PERFORM depwatch_internal._check_text('root_cause', root_cause);
	IF ended_at IS NULL OR ended_at <= i.started_at THEN
		RAISE EXCEPTION 'incident % started at %, so it cannot end at %', i.id, i.started_at,
				coalesce(ended_at::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'The end must come after the start.';
	END IF;
	UPDATE depwatch.incident x
	   SET ended_at = close_incident.ended_at,
		   root_cause = coalesce(close_incident.root_cause, x.root_cause)
	 WHERE x.id = i.id;
END
$$;
COMMENT ON FUNCTION close_incident(bigint, timestamptz, text) IS 'Close an incident';
