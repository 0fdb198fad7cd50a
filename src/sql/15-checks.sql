-- Input checks shared by the API: names, texts, times, probe targets and
-- options (the parsers are C: src/validate.c, src/options.c, src/targets.c,
-- src/bounds.c).

CREATE OR REPLACE FUNCTION depwatch_internal._check_probe_target(probe text, target text) RETURNS void
	AS 'MODULE_PATHNAME', 'dw_check_probe_target'
	LANGUAGE C IMMUTABLE;

-- _clip: a value as an error message quotes it, its first 97 characters
-- and "..." when it is longer than 100, so that a huge argument is never
-- sent back whole.
CREATE OR REPLACE FUNCTION depwatch_internal._clip(v text) RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT CASE WHEN length(v) > 100 THEN left(v, 97) || '...' ELSE v END
$$;

-- _check_name: a new dependency or capability name, unused by either.
CREATE OR REPLACE FUNCTION depwatch_internal._check_name(name text, what text) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
BEGIN
	IF name IS NULL THEN
		RAISE EXCEPTION '% name must not be NULL', what
			USING ERRCODE = 'null_value_not_allowed',
				  HINT = 'Names are lower-case identifiers such as ''credit_bureau_a''.';
	END IF;
	IF name !~ '^[a-z_][a-z0-9_]{0,62}$' THEN
		RAISE EXCEPTION '% name "%" is not a lower-case identifier', what,
				depwatch_internal._clip(name)
			USING ERRCODE = 'invalid_name',
				  DETAIL = 'A name starts with a letter or underscore, goes on with letters, digits or underscores, and is at most 63 characters long.',
				  HINT = 'Use a name such as ''credit_bureau_a''.';
	END IF;
	IF EXISTS (SELECT FROM depwatch.dependency d WHERE d.name = _check_name.name) THEN
		RAISE EXCEPTION 'a dependency named "%" already exists', name
			USING ERRCODE = 'duplicate_object',
				  HINT = 'Dependencies and capabilities share one namespace; choose another name or use alter_dependency().';
	END IF;
	IF EXISTS (SELECT FROM depwatch.capability c WHERE c.name = _check_name.name) THEN
		RAISE EXCEPTION 'a capability named "%" already exists', name
			USING ERRCODE = 'duplicate_object',
				  HINT = 'Dependencies and capabilities share one namespace; choose another name or use alter_capability().';
	END IF;
END
$$;

-- _check_options: the options a probe understands, with the right types.
CREATE OR REPLACE FUNCTION depwatch_internal._check_options(probe text, options jsonb) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	known CONSTANT jsonb := '{
		"slo": "number", "quorum": "number",
		"method": "string", "expect_status": "array", "body_contains": "string",
		"headers": "object", "verify_tls": "boolean",
		"query": "string",
		"error_rate": "number", "window": "string", "min_calls": "number",
		"degraded_error_rate": "number"}';
	allowed CONSTANT jsonb := '{
		"tcp": ["slo", "quorum"],
		"http": ["slo", "quorum", "method", "expect_status", "body_contains", "headers", "verify_tls"],
		"postgres": ["slo", "quorum", "query"],
		"passive": ["slo", "quorum", "error_rate", "window", "min_calls", "degraded_error_rate"],
		"none": ["slo", "quorum"]}';
	e record;
	bad text;
BEGIN
	IF options IS NULL OR jsonb_typeof(options) <> 'object' THEN
		RAISE EXCEPTION 'options must be a JSON object, not %', coalesce(jsonb_typeof(options), 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass options such as ''{"slo": 99.95}''.';
	END IF;
	FOR e IN SELECT * FROM jsonb_each(options) LOOP
		IF NOT (allowed->probe) ? e.key THEN
			RAISE EXCEPTION 'unknown option "%" for probe "%"', e.key, probe
				USING ERRCODE = 'invalid_parameter_value',
					  HINT = format('Probe "%s" takes: %s.', probe,
									(SELECT string_agg(x, ', ') FROM jsonb_array_elements_text(allowed->probe) x));
		END IF;
		IF jsonb_typeof(e.value) <> known->>e.key THEN
			RAISE EXCEPTION 'option "%" must be a JSON %, not a JSON %', e.key, known->>e.key, jsonb_typeof(e.value)
				USING ERRCODE = 'invalid_parameter_value',
					  HINT = 'See the options of add_dependency() in the reference.';
		END IF;
		-- numbers are parsed by the C routine the worker uses (_option_number)
		IF jsonb_typeof(e.value) = 'number' THEN
			PERFORM depwatch_internal._option_number(e.key, e.value, NULL);
		END IF;
		IF e.key = 'window' THEN
			BEGIN
				IF (e.value #>> '{}')::interval <= interval '0'
				   OR (e.value #>> '{}')::interval > interval '1 day' THEN
					RAISE EXCEPTION USING ERRCODE = 'invalid_datetime_format';
				END IF;
			EXCEPTION WHEN invalid_datetime_format OR datetime_field_overflow OR interval_field_overflow THEN
				RAISE EXCEPTION 'option "window" must be a positive interval of at most 1 day, not %', e.value
					USING ERRCODE = 'invalid_parameter_value',
						  HINT = 'Write a window such as "1 min".';
			END;
		END IF;
		IF e.key = 'expect_status' AND EXISTS (
				SELECT FROM jsonb_array_elements(e.value) s
				WHERE jsonb_typeof(s) <> 'number' OR s::text !~ '^[1-5][0-9][0-9]$') THEN
			RAISE EXCEPTION 'option "expect_status" must list HTTP status codes, not %', e.value
				USING ERRCODE = 'invalid_parameter_value',
					  HINT = 'Write it as [200, 204].';
		END IF;
		IF e.key = 'headers' THEN
			SELECT h.key INTO bad FROM jsonb_each(e.value) h
			WHERE jsonb_typeof(h.value) <> 'string'
			   OR h.key !~ '^[A-Za-z0-9!#$%&''*+.^_`|~-]+$'
			   OR h.value #>> '{}' ~ '[\r\n\x00]'
			LIMIT 1;
			-- the value may be a secret: name the header, never its value
			IF FOUND THEN
				RAISE EXCEPTION 'option "headers" has an invalid header "%"', bad
					USING ERRCODE = 'invalid_parameter_value',
						  DETAIL = 'Header names are HTTP tokens; values are strings of one line.',
						  HINT = 'Write it as {"Authorization": "Bearer ..."}.';
			END IF;
		END IF;
		IF e.key = 'method' AND e.value #>> '{}' NOT IN ('GET', 'HEAD', 'POST', 'PUT', 'OPTIONS') THEN
			RAISE EXCEPTION 'option "method" must be GET, HEAD, POST, PUT or OPTIONS, not %', e.value
				USING ERRCODE = 'invalid_parameter_value',
					  HINT = 'Most health checks use GET or HEAD.';
		END IF;
	END LOOP;
	-- request headers are bounded (count and bytes), by the C rule the
	-- worker applies too
	PERFORM depwatch_internal._check_option_values(options);
END
$$;

CREATE OR REPLACE FUNCTION depwatch_internal._check_kind(kind text) RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
BEGIN
	IF kind IS NULL OR kind NOT IN ('down', 'degraded') THEN
		RAISE EXCEPTION 'unknown outage kind "%"', coalesce(kind, 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'An outage is ''down'' or ''degraded''.';
	END IF;
END
$$;

CREATE OR REPLACE FUNCTION depwatch_internal._check_period(period tstzrange, bucket text DEFAULT NULL) RETURNS void
	AS 'MODULE_PATHNAME', 'dw_check_period'
	LANGUAGE C STABLE CALLED ON NULL INPUT;

-- _check_text_list: a list that is NULL (everything) or names something.
CREATE OR REPLACE FUNCTION depwatch_internal._check_text_list(list text[], what text) RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF list IS NOT NULL AND (cardinality(list) = 0 OR array_position(list, NULL) IS NOT NULL
							 OR EXISTS (SELECT FROM unnest(list) v WHERE btrim(v) = '' OR length(v) > 200)) THEN
		RAISE EXCEPTION '% must be NULL (all) or a list of names without NULL, empty or overlong (over 200 characters) ones', what
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = format('Pass NULL for every %s, or name them, such as ARRAY[''transfer_fee''].', what);
	END IF;
END
$$;

-- _is_timestamptz: does the text read as a timestamptz?
CREATE OR REPLACE FUNCTION depwatch_internal._is_timestamptz(v text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM v::timestamptz;
	RETURN true;
EXCEPTION WHEN invalid_datetime_format OR datetime_field_overflow THEN
	RETURN false;
END
$$;

CREATE OR REPLACE FUNCTION depwatch_internal._caller_is_superuser() RETURNS boolean
	AS 'MODULE_PATHNAME', 'dw_caller_is_superuser'
	LANGUAGE C STABLE;

CREATE OR REPLACE FUNCTION depwatch_internal._check_restricted_probe(probe text, target text, method text, headers text[]) RETURNS void
	AS 'MODULE_PATHNAME', 'dw_check_restricted_probe'
	LANGUAGE C STABLE;

-- _check_restricted: the settings of d, a dependency whose probe settings
-- no superuser made, as far as they can be judged before the worker
-- connects.
CREATE OR REPLACE FUNCTION depwatch_internal._check_restricted(d depwatch.dependency) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
BEGIN
	IF NOT depwatch_internal._probed(d.probe) THEN
		RETURN;
	END IF;
	IF d.probe = 'postgres' AND d.options ? 'query' THEN
		RAISE EXCEPTION 'only a superuser may set the query of a postgres probe, or change its target'
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = 'The probe worker runs the query with whatever rights the connection obtains, which may be a superuser''s.',
				  HINT = 'Leave out the option "query" (the probe then runs SELECT 1), or ask a superuser.';
	END IF;
	PERFORM depwatch_internal._check_restricted_probe(d.probe, d.target, d.options->>'method',
		ARRAY(SELECT jsonb_object_keys(CASE WHEN jsonb_typeof(d.options->'headers') = 'object'
											THEN d.options->'headers' END)));
END
$$;

CREATE OR REPLACE FUNCTION depwatch_internal._option_number(key text, value jsonb, dflt float8) RETURNS float8
	AS 'MODULE_PATHNAME', 'dw_option_number_sql'
	LANGUAGE C IMMUTABLE;
COMMENT ON FUNCTION depwatch_internal._option_number(text, jsonb, float8)
	IS 'A numeric option, parsed as the probe worker parses it; errors unless finite and inside its range';

CREATE OR REPLACE FUNCTION depwatch_internal._check_option_values(options jsonb) RETURNS void
	AS 'MODULE_PATHNAME', 'dw_check_option_values'
	LANGUAGE C IMMUTABLE;
COMMENT ON FUNCTION depwatch_internal._check_option_values(jsonb)
	IS 'Errors unless numeric options are in range and request headers within 32 and 8 KB';

CREATE OR REPLACE FUNCTION depwatch_internal._options_problem(options jsonb) RETURNS text
	AS 'MODULE_PATHNAME', 'dw_options_problem'
	LANGUAGE C IMMUTABLE;
COMMENT ON FUNCTION depwatch_internal._options_problem(jsonb)
	IS 'What the probe worker would refuse in these options, or NULL';

CREATE OR REPLACE FUNCTION depwatch_internal._check_text(argument text, value text) RETURNS void
	AS 'MODULE_PATHNAME', 'dw_check_text_sql'
	LANGUAGE C IMMUTABLE;
COMMENT ON FUNCTION depwatch_internal._check_text(text, text) IS 'Refuses a free text longer than 4,000 characters (SQLSTATE 22001)';

CREATE OR REPLACE FUNCTION depwatch_internal._check_time(argument text, value timestamptz) RETURNS void
	AS 'MODULE_PATHNAME', 'dw_check_time_sql'
	LANGUAGE C STABLE;
COMMENT ON FUNCTION depwatch_internal._check_time(text, timestamptz) IS 'Refuses a time of an outage, maintenance or incident outside 1990-01-01 to now() + 10 years (SQLSTATE 22008)';
