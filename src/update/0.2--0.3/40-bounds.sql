
-- ---------------------------------------------------------------------------
-- Time and size bounds on every input (doc/semantics.md, "Bounds on
-- input"; issue 16 items 6, 8, 9, 12).  The rules live once, in C
-- (bounds.c, capability_graph.c):
--   samples: at from 1990-01-01 to the server's clock + depwatch.max_clock_skew
--     (report_sample checks it in C, before anything is read or written);
--   outages, maintenance, incidents: from 1990-01-01 to now() + 10 years;
--     maintenance windows at most 31 days;
--   free text (titles, notes, root causes, details, vantage names, text
--     facts): at most 4,000 characters (SQLSTATE 22001);
--   capability graphs: no cycle at any depth, chains of at most 32
--     capabilities, checked in time linear in the graph's size.
-- Times out of range fail with SQLSTATE 22008.
-- ---------------------------------------------------------------------------

CREATE FUNCTION _check_text(argument text, value text) RETURNS void
	AS 'MODULE_PATHNAME', 'dw_check_text_sql'
	LANGUAGE C IMMUTABLE;

CREATE FUNCTION _check_time(argument text, value timestamptz) RETURNS void
	AS 'MODULE_PATHNAME', 'dw_check_time_sql'
	LANGUAGE C STABLE;

CREATE FUNCTION _check_capability_graph(name text, requires text[]) RETURNS void
	AS 'MODULE_PATHNAME', 'dw_check_capability_graph'
	LANGUAGE C STABLE;

REVOKE ALL ON FUNCTION _check_text(text, text), _check_time(text, timestamptz),
	_check_capability_graph(text, text[]) FROM PUBLIC;

COMMENT ON FUNCTION _check_text(text, text) IS 'Refuses a free text longer than 4,000 characters (SQLSTATE 22001)';
COMMENT ON FUNCTION _check_time(text, timestamptz) IS 'Refuses a time of an outage, maintenance or incident outside 1990-01-01 to now() + 10 years (SQLSTATE 22008)';
COMMENT ON FUNCTION _check_capability_graph(text, text[]) IS 'Refuses requirement groups that would make a capability require itself or a chain of more than 32 capabilities';

-- _check_requirements: every group parses, every member exists, and the
-- capability "name" would neither come to require itself nor sit on too
-- deep a chain (_check_capability_graph).
CREATE OR REPLACE FUNCTION _check_requirements(name text, requires text[]) RETURNS void
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
	PERFORM depwatch._check_capability_graph(name, requires);
END
$$;

-- add_capability and alter_capability change the graph one at a time
-- (SHARE ROW EXCLUSIVE conflicts with itself, not with readers): two
-- changes checked side by side could otherwise close a cycle together.
CREATE OR REPLACE FUNCTION add_capability(name text, requires text[], slo numeric DEFAULT 99.9,
							   impact_tolerance interval DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	result bigint;
BEGIN
	LOCK TABLE depwatch.capability IN SHARE ROW EXCLUSIVE MODE;
	PERFORM depwatch._check_name(name, 'capability');
	PERFORM depwatch._check_requirements(name, requires);
	PERFORM depwatch._check_capability_settings(slo, impact_tolerance);
	INSERT INTO depwatch.capability (name, requires, slo, impact_tolerance)
	VALUES (name, depwatch._normalize_requirements(requires), slo, impact_tolerance)
	RETURNING id INTO result;
	RETURN result;
END
$$;

CREATE OR REPLACE FUNCTION alter_capability(name text, requires text[] DEFAULT NULL, slo numeric DEFAULT NULL,
								 impact_tolerance interval DEFAULT NULL) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	c depwatch.capability;
BEGIN
	LOCK TABLE depwatch.capability IN SHARE ROW EXCLUSIVE MODE;
	SELECT * INTO c FROM depwatch.capability x
	WHERE x.id = depwatch._capability_id(alter_capability.name) FOR UPDATE;
	IF requires IS NOT NULL THEN
		PERFORM depwatch._check_requirements(name, requires);
		c.requires := depwatch._normalize_requirements(requires);
	END IF;
	c.slo := coalesce(slo, c.slo);
	c.impact_tolerance := CASE WHEN impact_tolerance = interval '0' THEN NULL
							   ELSE coalesce(impact_tolerance, c.impact_tolerance) END;
	PERFORM depwatch._check_capability_settings(c.slo, c.impact_tolerance);
	UPDATE depwatch.capability x
	   SET requires = c.requires, slo = c.slo, impact_tolerance = c.impact_tolerance
	 WHERE x.id = c.id
	   AND (x.requires, x.slo, x.impact_tolerance) IS DISTINCT FROM (c.requires, c.slo, c.impact_tolerance);
END
$$;

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
		RAISE EXCEPTION 'no dependency or capability is named "%"', depwatch._clip(target)
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
	PERFORM depwatch._check_time('during', lower(during));
	PERFORM depwatch._check_time('during', upper(during));
	IF upper(during) - lower(during) > interval '31 days' THEN
		RAISE EXCEPTION 'maintenance window % on "%" is longer than 31 days', during, target
			USING ERRCODE = 'datetime_field_overflow',
				  HINT = 'Plan long work as several windows of at most 31 days each.';
	END IF;
	PERFORM depwatch._check_text('note', note);
	INSERT INTO depwatch.maintenance (dependency_id, capability_id, during, note)
	VALUES (dep_id, cap_id, during, note)
	RETURNING id INTO result;
	RETURN result;
END
$$;

-- record_outage() applies these bounds: it is restated once, with
-- tracked_since, in 60-tracked.sql.

CREATE OR REPLACE FUNCTION end_outage(dependency text, ended_at timestamptz DEFAULT now(),
						   kind text DEFAULT 'down') RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	dep_id bigint := depwatch._dependency_id(dependency);
	o depwatch.outage;
BEGIN
	PERFORM depwatch._check_kind(kind);
	PERFORM depwatch._check_time('ended_at', ended_at);
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
	PERFORM depwatch._check_text('title', title);
	IF started_at IS NULL THEN
		RAISE EXCEPTION 'incident start must be a finite time, not NULL'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass when the incident started.';
	END IF;
	PERFORM depwatch._check_time('started_at', started_at);
	INSERT INTO depwatch.incident (title, started_at) VALUES (title, started_at)
	RETURNING id INTO result;
	FOREACH dep IN ARRAY coalesce(dependencies, '{}') LOOP
		INSERT INTO depwatch.incident_dependency VALUES (result, depwatch._dependency_id(dep))
		ON CONFLICT DO NOTHING;
	END LOOP;
	RETURN result;
END
$$;

CREATE OR REPLACE FUNCTION close_incident(incident bigint, ended_at timestamptz DEFAULT now(),
							   root_cause text DEFAULT NULL) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	i depwatch.incident;
BEGIN
	IF incident IS NULL THEN
		RAISE EXCEPTION 'incident must not be NULL'
			USING ERRCODE = 'null_value_not_allowed',
				  HINT = 'Pass the id of an incident; depwatch.incident lists them.';
	END IF;
	SELECT * INTO i FROM depwatch.incident x WHERE x.id = close_incident.incident FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'incident % does not exist', incident
			USING ERRCODE = 'undefined_object',
				  HINT = 'See depwatch.incident for the incidents there are.';
	END IF;
	IF i.ended_at IS NOT NULL THEN
		RAISE EXCEPTION 'incident % is already closed (at %)', i.id, i.ended_at
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = 'An incident is closed once.';
	END IF;
	PERFORM depwatch._check_time('ended_at', ended_at);
	PERFORM depwatch._check_text('root_cause', root_cause);
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

-- set_incident_facts: text facts are bounded as free text, and the
-- reputational list as the four values it may hold.
CREATE OR REPLACE FUNCTION set_incident_facts(incident bigint, facts jsonb) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	i depwatch.incident;
	f record;
	t text;
	valid boolean;
	merged jsonb;
BEGIN
	IF incident IS NULL THEN
		RAISE EXCEPTION 'incident must not be NULL'
			USING ERRCODE = 'null_value_not_allowed',
				  HINT = 'Pass the id of an incident; depwatch.incident lists them.';
	END IF;
	SELECT * INTO i FROM depwatch.incident x WHERE x.id = incident FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'incident % does not exist', incident
			USING ERRCODE = 'undefined_object',
				  HINT = 'See depwatch.incident for the incidents there are.';
	END IF;
	IF facts IS NULL OR jsonb_typeof(facts) <> 'object' THEN
		RAISE EXCEPTION 'facts must be a JSON object, not %', coalesce(jsonb_typeof(facts), 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass facts such as ''{"critical_services_affected": true, "clients_total": 1200000}''.';
	END IF;
	FOR f IN SELECT e.key, e.value, k.type FROM jsonb_each(facts) e
			 LEFT JOIN depwatch._incident_fact_types() k ON k.key = e.key ORDER BY e.key LOOP
		IF f.type IS NULL THEN
			RAISE EXCEPTION 'unknown incident fact "%"', f.key
				USING ERRCODE = 'invalid_parameter_value',
					  HINT = 'The facts are: ' || (SELECT string_agg(k.key, ', ') FROM depwatch._incident_fact_types() k) || '.';
		END IF;
		CONTINUE WHEN jsonb_typeof(f.value) = 'null';
		t := jsonb_typeof(f.value);
		-- text facts are free text: bounded like every other
		IF t = 'string' THEN
			PERFORM depwatch._check_text(format('incident fact "%s"', f.key), f.value #>> '{}');
		END IF;
		IF f.type = 'reputational' AND t = 'array' AND jsonb_array_length(f.value) > 4 THEN
			RAISE EXCEPTION 'incident fact "reputational" lists % values, more than the 4 there are',
					jsonb_array_length(f.value)
				USING ERRCODE = 'invalid_parameter_value',
					  HINT = 'Name each of "media", "complaints", "regulatory" and "client_loss" at most once.';
		END IF;
		valid := CASE f.type
			WHEN 'boolean' THEN t = 'boolean'
			WHEN 'count' THEN t = 'number' AND f.value::text ~ '^[0-9]{1,10}$'
							  AND f.value::text::numeric <= 2147483647
			WHEN 'amount' THEN CASE WHEN t = 'number' THEN (f.value::text)::numeric >= 0 ELSE false END
			WHEN 'text' THEN t = 'string' AND btrim(f.value #>> '{}') <> ''
			WHEN 'timestamp' THEN
				CASE WHEN t = 'string'
						  AND (f.value #>> '{}') ~ '^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}.*(Z|[+-]\d{2}(:?\d{2})?)$'
					 THEN depwatch._is_timestamptz(f.value #>> '{}') ELSE false END
			WHEN 'reputational' THEN t = 'array' AND NOT EXISTS (
					SELECT FROM jsonb_array_elements(f.value) r
					WHERE jsonb_typeof(r) <> 'string'
					   OR r #>> '{}' NOT IN ('media', 'complaints', 'regulatory', 'client_loss'))
		END;
		IF NOT valid THEN
			RAISE EXCEPTION 'incident fact "%" must be %, not %', f.key,
					CASE f.type
						WHEN 'count' THEN 'a whole number from 0 to 2147483647'
						WHEN 'amount' THEN 'a number of at least 0'
						WHEN 'text' THEN 'a non-empty string'
						WHEN 'timestamp' THEN 'a timestamp with its time zone, such as "2022-10-15T15:30:00+09:00"'
						WHEN 'reputational' THEN 'an array of "media", "complaints", "regulatory" or "client_loss"'
						ELSE 'a ' || f.type END,
					depwatch._clip(f.value::text)
				USING ERRCODE = 'invalid_parameter_value',
					  HINT = 'Pass JSON null to remove a fact.';
		END IF;
	END LOOP;
	merged := jsonb_strip_nulls(i.facts || facts);
	UPDATE depwatch.incident x SET facts = merged WHERE x.id = i.id AND x.facts IS DISTINCT FROM merged;
	RETURN merged;
END
$$;

-- Rows stored before 0.3 that break a bound above are left for the admin,
-- and listed here: one message per kind, with the count and the first ids.
-- They are WARNINGs: PostgreSQL raises client_min_messages to WARNING while
-- it runs an extension script, so a NOTICE would never be seen.
-- Samples are checked for their times only (a scan of every sample's text
-- would make the update take minutes on a large history; their texts come
-- from the worker and from report_sample, and expire with the retention).
DO $bounds$
DECLARE
	skew interval := coalesce(current_setting('depwatch.max_clock_skew', true), '5s')::interval;
	earliest CONSTANT timestamptz := '1990-01-01 00:00:00+00';
	latest CONSTANT timestamptz := now() + interval '10 years';
	r record;
	cycles text[] := '{}';
	deep text[] := '{}';
	state text;
	-- the ids shown: the first 20, then how many more
	shown CONSTANT text := $q$
		SELECT count(*) AS n,
			   array_to_string((array_agg(x ORDER BY x))[1:20], ', ')
			   || CASE WHEN count(*) > 20 THEN format(' and %%s more', count(*) - 20) ELSE '' END AS ids
		FROM (%s) q(x)$q$;
BEGIN
	EXECUTE format(shown, $q$
		SELECT format('%s (%s samples%s)', d.name, b.n,
					  CASE WHEN p.last_at > now() + $1 THEN ', the last one ahead of the clock' ELSE '' END)
		FROM depwatch.dependency d
		LEFT JOIN depwatch.probe_state p ON p.dependency_id = d.id
		CROSS JOIN LATERAL (SELECT count(*) AS n FROM depwatch.sample s
							WHERE s.dependency_id = d.id AND (s.at > now() + $1 OR s.at < $2)) b
		WHERE b.n > 0 OR p.last_at > now() + $1$q$) INTO r USING skew, earliest;
	IF r.n > 0 THEN
		RAISE WARNING 'depwatch 0.3: % dependencies have samples from the future or before 1990, left as they are: %', r.n, r.ids
			USING HINT = 'The worker ignores its samples older than a dependency''s last one: delete the future samples, and set probe_state.last_at back.';
	END IF;

	EXECUTE format(shown, $q$
		SELECT m.id FROM depwatch.maintenance m
		WHERE CASE WHEN isfinite(lower(m.during)) AND isfinite(upper(m.during))
				   THEN lower(m.during) < $1 OR upper(m.during) >= $2
						OR upper(m.during) - lower(m.during) > interval '31 days'
				   ELSE true END$q$)
		INTO r USING earliest, latest;
	IF r.n > 0 THEN
		RAISE WARNING 'depwatch 0.3: % maintenance windows are infinite, outside 1990-01-01 to now() + 10 years, or longer than 31 days, left as they are: ids %', r.n, r.ids
			USING HINT = 'Delete them from depwatch.maintenance, and plan the work again with add_maintenance().';
	END IF;

	EXECUTE format(shown, $q$
		SELECT o.id FROM depwatch.outage o
		WHERE lower(o.during) < $1 OR lower(o.during) >= $2 OR NOT isfinite(lower(o.during))
		   OR (NOT upper_inf(o.during) AND (upper(o.during) >= $2 OR NOT isfinite(upper(o.during))))
		   OR o.detected_at < $1 OR o.detected_at >= $2 OR NOT isfinite(o.detected_at)$q$)
		INTO r USING earliest, latest;
	IF r.n > 0 THEN
		RAISE WARNING 'depwatch 0.3: % outages lie outside 1990-01-01 to now() + 10 years, left as they are: ids %', r.n, r.ids
			USING HINT = 'Correct or delete them in depwatch.outage.';
	END IF;

	EXECUTE format(shown, $q$
		SELECT i.id FROM depwatch.incident i
		WHERE i.started_at < $1 OR i.started_at >= $2 OR NOT isfinite(i.started_at)
		   OR i.ended_at >= $2 OR NOT isfinite(i.ended_at)$q$)
		INTO r USING earliest, latest;
	IF r.n > 0 THEN
		RAISE WARNING 'depwatch 0.3: % incidents lie outside 1990-01-01 to now() + 10 years, left as they are: ids %', r.n, r.ids
			USING HINT = 'Correct or delete them in depwatch.incident.';
	END IF;

	EXECUTE format(shown, $q$
		SELECT format('incident %s', i.id) FROM depwatch.incident i
		WHERE length(i.title) > 4000 OR length(i.root_cause) > 4000
		   OR EXISTS (SELECT FROM jsonb_each(i.facts) f
					  WHERE jsonb_typeof(f.value) = 'string' AND length(f.value #>> '{}') > 4000
						 OR jsonb_typeof(f.value) = 'array' AND jsonb_array_length(f.value) > 4)
		UNION ALL
		SELECT format('outage %s', o.id) FROM depwatch.outage o WHERE length(o.note) > 4000
		UNION ALL
		SELECT format('maintenance %s', m.id) FROM depwatch.maintenance m WHERE length(m.note) > 4000$q$)
		INTO r;
	IF r.n > 0 THEN
		RAISE WARNING 'depwatch 0.3: % rows hold a text longer than 4,000 characters, left as they are: %', r.n, r.ids
			USING HINT = 'Shorten the text by hand if it should not stay (the audit log keeps it either way).';
	END IF;

	-- every capability's groups, checked as alter_capability() now would
	FOR r IN SELECT c.name, c.requires FROM depwatch.capability c ORDER BY c.name LOOP
		BEGIN
			PERFORM depwatch._check_capability_graph(r.name, r.requires);
		EXCEPTION WHEN invalid_object_definition OR program_limit_exceeded THEN
			GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE;
			IF state = '42P17' THEN
				cycles := cycles || r.name;
			ELSE
				deep := deep || r.name;
			END IF;
		END;
	END LOOP;
	IF cardinality(cycles) > 0 THEN
		RAISE WARNING 'depwatch 0.3: % capabilities require themselves or a cycle, left as they are: %',
				cardinality(cycles), depwatch._clip(array_to_string(cycles, ', '))
			USING HINT = 'Break each cycle with alter_capability(); capability reports fail until then.';
	END IF;
	IF cardinality(deep) > 0 THEN
		RAISE WARNING 'depwatch 0.3: % capabilities are on requirement chains deeper than 32 capabilities, left as they are: %',
				cardinality(deep), depwatch._clip(array_to_string(deep, ', '))
			USING HINT = 'Let them require the dependencies of deeper capabilities directly, with alter_capability().';
	END IF;
END
$bounds$;
