-- Configuration: dependencies and capabilities, their views, and the API
-- that changes them.

CREATE OR REPLACE FUNCTION parse_requirements(requires text[])
	RETURNS TABLE(requirement int, k int, members text[])
	AS 'MODULE_PATHNAME', 'dw_parse_requirements'
	LANGUAGE C IMMUTABLE ROWS 4;
COMMENT ON FUNCTION parse_requirements(text[]) IS 'Parse requirement groups into (requirement, k, members)';

-- _check_dependency: every rule a dependency row must meet, for add and alter.
CREATE OR REPLACE FUNCTION depwatch_internal._check_dependency(d depwatch.dependency) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
BEGIN
	IF d.kind IS NULL OR d.kind NOT IN ('credit_bureau', 'identity', 'messaging', 'datacenter',
										 'payment_network', 'core', 'other') THEN
		RAISE EXCEPTION 'unknown dependency kind "%"',
				coalesce(depwatch_internal._clip(d.kind), 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Use one of credit_bureau, identity, messaging, datacenter, payment_network, core or other.';
	END IF;
	PERFORM depwatch_internal._check_probe_target(d.probe, d.target);
	IF d.every IS NULL OR d.every < interval '100 ms' OR d.every > interval '1 day' THEN
		RAISE EXCEPTION 'probe interval "every" must be from 100 ms to 1 day, not %', coalesce(d.every::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Probe every few seconds: ''10 s'' is the default.';
	END IF;
	IF d.timeout IS NULL OR d.timeout <= interval '0' OR d.timeout > d.every THEN
		RAISE EXCEPTION 'timeout % must be positive and at most the probe interval %',
				coalesce(d.timeout::text, 'NULL'), d.every
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = 'A probe must end before the next one starts.',
				  HINT = 'Lower the timeout or probe less often.';
	END IF;
	IF d.fail_after IS NULL OR d.fail_after < 1 THEN
		RAISE EXCEPTION 'fail_after must be at least 1, not %', coalesce(d.fail_after::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'fail_after is how many bad samples in a row open an outage; 3 is the default.';
	END IF;
	IF d.recover_after IS NULL OR d.recover_after < 1 THEN
		RAISE EXCEPTION 'recover_after must be at least 1, not %', coalesce(d.recover_after::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'recover_after is how many good samples in a row close an outage; 2 is the default.';
	END IF;
	IF d.degraded_after <= interval '0' OR d.degraded_after > interval '1 day' THEN
		RAISE EXCEPTION 'degraded_after must be positive and at most 1 day, not %', d.degraded_after
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass NULL if no latency counts as slow.';
	END IF;
	IF length(d.site) > 200 OR length(d.vendor) > 200 THEN
		RAISE EXCEPTION '% is longer than 200 characters', CASE WHEN length(d.site) > 200 THEN 'site' ELSE 'vendor' END
			USING ERRCODE = 'string_data_right_truncation',
				  HINT = 'Name the data center, region or vendor, such as ''dc_pangyo''.';
	END IF;
	PERFORM depwatch_internal._check_options(d.probe, d.options);
END
$$;

-- _named_id: the id of the dependency or capability (what) called name,
-- or the error that says there is none.
CREATE OR REPLACE FUNCTION depwatch_internal._named_id(what text, name text) RETURNS bigint
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	plural text := CASE what WHEN 'dependency' THEN 'dependencies' ELSE 'capabilities' END;
	listed_in text := CASE what WHEN 'dependency' THEN 'depwatch.dependencies' ELSE 'depwatch.capability' END;
	result bigint;
BEGIN
	IF what = 'dependency' THEN
		SELECT d.id INTO result FROM depwatch.dependency d WHERE d.name = name;
	ELSE
		SELECT c.id INTO result FROM depwatch.capability c WHERE c.name = name;
	END IF;
	IF result IS NULL THEN
		PERFORM depwatch_internal._lookup_failed(what || ' name', what || ' "' || name || '"',
			format('Pass the name of a %s; %s lists them.', what, listed_in),
			format('See %s for the %s there are.', listed_in, plural));
	END IF;
	RETURN result;
END
$$;

CREATE OR REPLACE FUNCTION depwatch_internal._dependency_id(name text) RETURNS bigint
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT depwatch_internal._named_id('dependency', name)
$$;

-- _refuse_if_required: a dependency or capability that capabilities still
-- require cannot be dropped.
CREATE OR REPLACE FUNCTION depwatch_internal._refuse_if_required(name text, what text) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	users text;
BEGIN
	SELECT string_agg(DISTINCT r.capability, ', ' ORDER BY r.capability) INTO users
	FROM depwatch.requirements r WHERE name = ANY (r.members);
	IF users IS NOT NULL THEN
		RAISE EXCEPTION 'cannot drop % "%" because capabilities require it', what, name
			USING ERRCODE = 'dependent_objects_still_exist',
				  DETAIL = format('Required by: %s.', users),
				  HINT = 'Change those capabilities with alter_capability() first.';
	END IF;
END
$$;

-- drop_dependency removes a dependency with its samples, outages and
-- maintenance (the audit log keeps them); it refuses while a capability
-- requires it or an incident names it.
CREATE OR REPLACE FUNCTION drop_dependency(name text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	dep_id bigint := depwatch_internal._dependency_id(name);
	users text;
BEGIN
	PERFORM depwatch_internal._refuse_if_required(name, 'dependency');
	SELECT string_agg(x.incident_id::text, ', ' ORDER BY x.incident_id) INTO users
	FROM depwatch.incident_dependency x WHERE x.dependency_id = dep_id;
	IF users IS NOT NULL THEN
		RAISE EXCEPTION 'cannot drop dependency "%" because incidents name it', name
			USING ERRCODE = 'dependent_objects_still_exist',
				  DETAIL = format('Named by incidents: %s.', users),
				  HINT = 'Disable it instead: alter_dependency(name, enabled => false).';
	END IF;
	DELETE FROM depwatch.dependency WHERE id = dep_id;
END
$$;
COMMENT ON FUNCTION drop_dependency(text) IS 'Remove a dependency with its samples, outages and maintenance';

-- _check_requirements: every group parses, every member exists, and the
-- capability "name" would neither come to require itself nor sit on too
-- deep a chain (_check_capability_graph).
CREATE OR REPLACE FUNCTION depwatch_internal._check_requirements(name text, requires text[]) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	g record;
	m text;
BEGIN
	FOR g IN SELECT * FROM depwatch.parse_requirements(requires) LOOP
		FOREACH m IN ARRAY g.members LOOP
			IF m = name THEN
				RAISE EXCEPTION 'capability "%" cannot require itself', name
					USING ERRCODE = 'invalid_object_definition',
						  DETAIL = format('Requirement group %s is "%s".', g.requirement, requires[g.requirement]),
						  HINT = 'A capability requires dependencies or other capabilities.';
			END IF;
			IF NOT EXISTS (SELECT FROM depwatch.dependency d WHERE d.name = m)
			   AND NOT EXISTS (SELECT FROM depwatch.capability c WHERE c.name = m) THEN
				RAISE EXCEPTION 'requirement group "%" names "%", which is neither a dependency nor a capability',
						requires[g.requirement], m
					USING ERRCODE = 'undefined_object',
						  HINT = 'Add it with add_dependency() or add_capability() first.';
			END IF;
		END LOOP;
	END LOOP;
	PERFORM depwatch_internal._check_capability_graph(name, requires);
END
$$;

-- _normalize_requirements writes groups the one way they are stored:
-- no blanks, and no '1:'.
CREATE OR REPLACE FUNCTION depwatch_internal._normalize_requirements(requires text[]) RETURNS text[]
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
	SELECT array_agg(CASE WHEN r.k > 1 THEN r.k || ':' ELSE '' END || array_to_string(r.members, '|')
					 ORDER BY r.requirement)
	FROM depwatch.parse_requirements(requires) r
$$;

CREATE OR REPLACE FUNCTION depwatch_internal._check_capability_settings(slo numeric, impact_tolerance interval) RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
BEGIN
	IF slo IS NULL OR NOT (slo > 0 AND slo <= 100) THEN
		RAISE EXCEPTION 'slo must be in (0, 100], not %', coalesce(slo::text, 'NULL')
			USING ERRCODE = 'numeric_value_out_of_range',
				  HINT = 'The SLO is a percentage of monitored time, such as 99.95.';
	END IF;
	IF impact_tolerance <= interval '0' THEN
		RAISE EXCEPTION 'impact_tolerance must be positive, not %', impact_tolerance
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'It is the longest one outage may last, such as ''2 hours''; NULL for none.';
	END IF;
END
$$;

-- add_capability and alter_capability change the graph one at a time
-- (SHARE ROW EXCLUSIVE conflicts with itself, not with readers): two
-- changes checked side by side could otherwise close a cycle together.
CREATE OR REPLACE FUNCTION add_capability(name text, requires text[], slo numeric DEFAULT 99.9,
							   impact_tolerance interval DEFAULT NULL,
							   display_name text DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	result bigint;
BEGIN
	LOCK TABLE depwatch.capability IN SHARE ROW EXCLUSIVE MODE;
	PERFORM depwatch_internal._check_name(name, 'capability');
	PERFORM depwatch_internal._check_requirements(name, requires);
	PERFORM depwatch_internal._check_capability_settings(slo, impact_tolerance);
	PERFORM depwatch_internal._valid_display_name(display_name);
	INSERT INTO depwatch.capability (name, requires, slo, impact_tolerance, display_name)
	VALUES (name, depwatch_internal._normalize_requirements(requires), slo, impact_tolerance, display_name)
	RETURNING id INTO result;
	RETURN result;
END
$$;
COMMENT ON FUNCTION add_capability(text, text[], numeric, interval, text) IS 'Add a business capability; returns its id; display_name is what customers read on the status page (NULL: the name)';

CREATE OR REPLACE FUNCTION depwatch_internal._capability_id(name text) RETURNS bigint
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT depwatch_internal._named_id('capability', name)
$$;

CREATE OR REPLACE FUNCTION alter_capability(name text, requires text[] DEFAULT NULL, slo numeric DEFAULT NULL,
								 impact_tolerance interval DEFAULT NULL,
								 display_name text DEFAULT NULL) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	c depwatch.capability;
BEGIN
	LOCK TABLE depwatch.capability IN SHARE ROW EXCLUSIVE MODE;
	SELECT * INTO c FROM depwatch.capability x
	WHERE x.id = depwatch_internal._capability_id(alter_capability.name) FOR UPDATE;
	IF requires IS NOT NULL THEN
		PERFORM depwatch_internal._check_requirements(name, requires);
		c.requires := depwatch_internal._normalize_requirements(requires);
	END IF;
	c.slo := coalesce(slo, c.slo);
	c.impact_tolerance := CASE WHEN impact_tolerance = interval '0' THEN NULL
							   ELSE coalesce(impact_tolerance, c.impact_tolerance) END;
	-- '' goes back to the name, as interval '0' clears impact_tolerance
	c.display_name := CASE WHEN display_name = '' THEN NULL
						   ELSE coalesce(display_name, c.display_name) END;
	PERFORM depwatch_internal._check_capability_settings(c.slo, c.impact_tolerance);
	PERFORM depwatch_internal._valid_display_name(c.display_name);
	UPDATE depwatch.capability x
	   SET requires = c.requires, slo = c.slo, impact_tolerance = c.impact_tolerance,
		   display_name = c.display_name
	 WHERE x.id = c.id
	   AND (x.requires, x.slo, x.impact_tolerance, x.display_name)
		   IS DISTINCT FROM (c.requires, c.slo, c.impact_tolerance, c.display_name);
END
$$;
COMMENT ON FUNCTION alter_capability(text, text[], numeric, interval, text) IS 'Change a capability; NULL leaves a setting unchanged (impact_tolerance ''0'' clears it, display_name '''' goes back to the name)';

CREATE OR REPLACE FUNCTION drop_capability(name text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	cap_id bigint := depwatch_internal._capability_id(name);
BEGIN
	PERFORM depwatch_internal._refuse_if_required(name, 'capability');
	DELETE FROM depwatch.capability WHERE id = cap_id;
END
$$;
COMMENT ON FUNCTION drop_capability(text) IS 'Remove a capability';

CREATE OR REPLACE FUNCTION depwatch_internal._check_capability_graph(name text, requires text[]) RETURNS void
	AS 'MODULE_PATHNAME', 'dw_check_capability_graph'
	LANGUAGE C STABLE;
COMMENT ON FUNCTION depwatch_internal._check_capability_graph(text, text[]) IS 'Refuses requirement groups that would make a capability require itself or a chain of more than 32 capabilities';

CREATE OR REPLACE FUNCTION depwatch_internal._check_tracked(dependency_id bigint, argument text, value timestamptz) RETURNS void
	AS 'MODULE_PATHNAME', 'dw_check_tracked_sql'
	LANGUAGE C STABLE;
COMMENT ON FUNCTION depwatch_internal._check_tracked(bigint, text, timestamptz)
	IS 'Refuses a sample or outage time before the dependency''s tracked_since (SQLSTATE 22008)';

-- _check_tracked_since: a tracked_since to be set on dependency d (NULL:
-- not yet added): from 1990-01-01 to now(), and, to keep every stored
-- sample and outage inside the history, never later than the earliest.
CREATE OR REPLACE FUNCTION depwatch_internal._check_tracked_since(d depwatch.dependency) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
DECLARE
	iso CONSTANT text := 'YYYY-MM-DD HH24:MI:SSOF';
	first_sample timestamptz;
	first_outage timestamptz;
BEGIN
	PERFORM depwatch_internal._check_time('tracked_since', d.tracked_since);
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

-- add_dependency: tracked_since NULL is now (when it is added).
CREATE OR REPLACE FUNCTION add_dependency(name text, kind text, probe text DEFAULT 'none',
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
	PERFORM depwatch_internal._check_name(name, 'dependency');
	d.name := name; d.kind := kind; d.probe := probe; d.target := target;
	d.every := every; d.timeout := timeout; d.fail_after := fail_after;
	d.recover_after := recover_after; d.degraded_after := degraded_after;
	d.options := options; d.site := site; d.vendor := vendor;
	d.tracked_since := coalesce(tracked_since, now());
	d.probe_set_by_superuser := depwatch_internal._caller_is_superuser();
	PERFORM depwatch_internal._check_dependency(d);
	PERFORM depwatch_internal._check_tracked_since(d);
	IF NOT d.probe_set_by_superuser THEN
		PERFORM depwatch_internal._check_restricted(d);
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
COMMENT ON FUNCTION add_dependency(text, text, text, text, interval, interval, int, int, interval, jsonb, text, text, timestamptz)
	IS 'Add a dependency; returns its id';

-- alter_dependency: NULL leaves a setting as it is; degraded_after '0' and
-- an empty site or vendor clear them.  A superuser who passes probe, target
-- or options sets the probe settings (even to what they were); a role who
-- is not one and changes them makes the dependency restricted.
-- tracked_since moves the start of the history: back, to import older
-- samples and outages; later, up to the earliest one stored.
CREATE OR REPLACE FUNCTION alter_dependency(name text, kind text DEFAULT NULL, probe text DEFAULT NULL,
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
	superuser boolean := depwatch_internal._caller_is_superuser();
	probe_changed boolean;
BEGIN
	-- NO KEY UPDATE: the probe worker's key-share locks need not wait for us
	SELECT * INTO d FROM depwatch.dependency x
	WHERE x.id = depwatch_internal._dependency_id(alter_dependency.name) FOR NO KEY UPDATE;
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
	PERFORM depwatch_internal._check_dependency(d);
	IF NOT d.probe_set_by_superuser AND probe_changed THEN
		PERFORM depwatch_internal._check_restricted(d);
	END IF;
	IF d.tracked_since IS DISTINCT FROM old.tracked_since THEN
		-- report_sample checks and stores a sample under the machine's
		-- lock (its probe_state row, which it creates): taking it here,
		-- none slips in before a later tracked_since while we look
		IF d.tracked_since > old.tracked_since THEN
			INSERT INTO depwatch.probe_state AS s (dependency_id) VALUES (d.id)
			ON CONFLICT (dependency_id) DO UPDATE SET dependency_id = s.dependency_id;
		END IF;
		PERFORM depwatch_internal._check_tracked_since(d);
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
COMMENT ON FUNCTION alter_dependency(text, text, text, text, interval, interval, int, int, interval, jsonb, text, text, boolean, timestamptz)
	IS 'Change a dependency; NULL leaves a setting unchanged';

CREATE OR REPLACE VIEW dependencies AS
	SELECT d.id, d.name, d.kind, d.probe,
		   depwatch_internal._mask_probe_target(d.probe, d.target) AS target,
		   d.every, d.timeout, d.fail_after, d.recover_after, d.degraded_after,
		   depwatch_internal._mask_options(d.options) AS options,
		   d.site, d.vendor, d.enabled, d.created_at, d.tracked_since,
		   extract(epoch FROM d.every) AS every_seconds,
		   extract(epoch FROM d.timeout) AS timeout_seconds,
		   extract(epoch FROM d.degraded_after) AS degraded_after_seconds
	FROM dependency d;
COMMENT ON VIEW dependencies IS 'Dependencies with secrets in target and options masked';
COMMENT ON COLUMN dependencies.id IS 'Dependency id';
COMMENT ON COLUMN dependencies.name IS 'Unique lower-case name';
COMMENT ON COLUMN dependencies.kind IS 'credit_bureau, identity, messaging, datacenter, payment_network, core or other';
COMMENT ON COLUMN dependencies.probe IS 'tcp, http, postgres, passive or none';
COMMENT ON COLUMN dependencies.target IS 'What is probed, with passwords, URL user info, query values and fragments masked';
COMMENT ON COLUMN dependencies.every IS 'Time between probes';
COMMENT ON COLUMN dependencies.timeout IS 'Longest a probe may take';
COMMENT ON COLUMN dependencies.fail_after IS 'Consecutive bad samples that open an outage';
COMMENT ON COLUMN dependencies.recover_after IS 'Consecutive good samples that close it';
COMMENT ON COLUMN dependencies.degraded_after IS 'Latency above which a good sample is slow; NULL: never';
COMMENT ON COLUMN dependencies.options IS 'Per-probe options, with header values and secret-named options masked';
COMMENT ON COLUMN dependencies.site IS 'Data center or region it runs in';
COMMENT ON COLUMN dependencies.vendor IS 'Who provides it';
COMMENT ON COLUMN dependencies.enabled IS 'Whether the worker probes it';
COMMENT ON COLUMN dependencies.created_at IS 'When it was added';
COMMENT ON COLUMN dependencies.tracked_since IS 'Start of its history: before it the dependency is untracked and every report counts that time as unmonitored';
COMMENT ON COLUMN dependencies.every_seconds IS 'every in seconds';
COMMENT ON COLUMN dependencies.timeout_seconds IS 'timeout in seconds';
COMMENT ON COLUMN dependencies.degraded_after_seconds IS 'degraded_after in seconds; NULL: never';

-- _machine_rules: what the outage state machine needs of each dependency,
-- with the defaults of the passive error-rate rule.  report_sample and the
-- worker both read it; the numbers go through the C parser, never a cast
-- that a stored value can make fail for every row.
CREATE OR REPLACE VIEW depwatch_internal._machine_rules AS
	SELECT d.id, d.name, d.probe, d.fail_after, d.recover_after, d.degraded_after,
		   depwatch_internal._option_number('error_rate', d.options->'error_rate', 0.5) AS error_rate,
		   depwatch_internal._option_number('min_calls', d.options->'min_calls', 10)::int8 AS min_calls,
		   coalesce((d.options->>'window')::interval, interval '1 min') AS "window",
		   -- passive only: a degraded level below error_rate (doc/semantics.md,
		   -- "Passive error rate")
		   depwatch_internal._option_number('degraded_error_rate', d.options->'degraded_error_rate', NULL) AS degraded_error_rate
	FROM dependency d;
COMMENT ON VIEW depwatch_internal._machine_rules IS 'What the outage state machine needs of each dependency, with defaults';

CREATE OR REPLACE VIEW requirements AS
	SELECT c.name AS capability, r.requirement, c.requires[r.requirement] AS "group",
		   r.k, r.members
	FROM capability c, LATERAL parse_requirements(c.requires) r;
COMMENT ON VIEW requirements IS 'Capability requirement groups, parsed: one row per group';
COMMENT ON COLUMN requirements.capability IS 'Capability name';
COMMENT ON COLUMN requirements.requirement IS 'Position of the group in capability.requires, from 1';
COMMENT ON COLUMN requirements."group" IS 'The group as written: a, a|b (any one) or 2:a|b|c (at least 2)';
COMMENT ON COLUMN requirements.k IS 'Members that must be up';
COMMENT ON COLUMN requirements.members IS 'Dependencies or capabilities of the group';

CREATE OR REPLACE VIEW outages AS
	SELECT o.id, d.name AS dependency, o.kind,
		   lower(o.during) AS started_at,
		   CASE WHEN upper_inf(o.during) THEN NULL ELSE upper(o.during) END AS ended_at,
		   o.detected_at, o.source, o.note,
		   (SELECT i.id FROM incident i
			WHERE tstzrange(i.started_at, i.ended_at, '[)') && o.during
			  AND (NOT EXISTS (SELECT FROM incident_dependency x WHERE x.incident_id = i.id)
				   OR EXISTS (SELECT FROM incident_dependency x
							  WHERE x.incident_id = i.id AND x.dependency_id = o.dependency_id))
			ORDER BY i.started_at, i.id LIMIT 1) AS incident,
		   extract(epoch FROM coalesce(upper(o.during), now()) - lower(o.during)) AS duration_seconds
	FROM outage o JOIN dependency d ON d.id = o.dependency_id;
COMMENT ON VIEW outages IS 'Outages for people and BI tools: ended_at is NULL while ongoing, duration_seconds counts up to now';
COMMENT ON COLUMN outages.id IS 'Outage id';
COMMENT ON COLUMN outages.dependency IS 'Dependency name';
COMMENT ON COLUMN outages.kind IS 'down or degraded';
COMMENT ON COLUMN outages.started_at IS 'First bad sample of the streak that opened it (backdated), or the recorded start';
COMMENT ON COLUMN outages.ended_at IS 'First good sample of the recovery; NULL while ongoing';
COMMENT ON COLUMN outages.detected_at IS 'When the probe or reports saw it (the fail_after-th bad sample); NULL for manual outages';
COMMENT ON COLUMN outages.source IS 'probe (the worker), reported (report_sample), passive (the error-rate rule), manual (record_outage) or import';
COMMENT ON COLUMN outages.note IS 'Free text';
COMMENT ON COLUMN outages.incident IS 'The earliest incident it belongs to, if any';
COMMENT ON COLUMN outages.duration_seconds IS 'How long it lasted, in seconds: ended_at - started_at, or up to now while ongoing';
