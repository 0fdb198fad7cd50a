-- Input checks shared by the API: names, texts, times, probe targets and
-- options (the parsers are C: src/validate.c, src/options.c, src/targets.c,
-- src/bounds.c).

CREATE OR REPLACE FUNCTION depwatch_internal._check_probe_target(probe text, target text) RETURNS void
	AS 'MODULE_PATHNAME', 'dw_check_probe_target'
	LANGUAGE C IMMUTABLE;

-- _clip: a value as an error message quotes it, its first 97 characters
-- and "..." when it is longer than 100, so that a huge argument is never
-- sent back whole (C: dw_clip in src/bounds.c, which the C checks use).
CREATE OR REPLACE FUNCTION depwatch_internal._clip(v text) RETURNS text
	AS 'MODULE_PATHNAME', 'dw_clip_sql'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- _lookup_failed: the error of an argument meant to name one row that
-- names none: NULL ("<what> must not be NULL") or a value no row has
-- ("<shown> does not exist").  shown is NULL for a NULL argument (build it
-- with ||).  The lookups of dependencies, capabilities, incidents and fee
-- policies call it.
CREATE OR REPLACE FUNCTION depwatch_internal._lookup_failed(what text, shown text, null_hint text,
															missing_hint text) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF shown IS NULL THEN
		RAISE EXCEPTION '% must not be NULL', what
			USING ERRCODE = 'null_value_not_allowed',
				  HINT = null_hint;
	END IF;
	RAISE EXCEPTION '% does not exist', shown
		USING ERRCODE = 'undefined_object',
			  HINT = missing_hint;
END
$$;

-- _check_identifier: the name of a new dependency, capability, policy,
-- scenario or route follows the name rule (_valid_name); example is a
-- name of that kind the hint shows.
CREATE OR REPLACE FUNCTION depwatch_internal._check_identifier(name text, what text, example text)
	RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF name IS NULL THEN
		RAISE EXCEPTION '% name must not be NULL', what
			USING ERRCODE = 'null_value_not_allowed',
				  HINT = format('Names are lower-case identifiers such as %L.', example);
	END IF;
	IF NOT depwatch_internal._valid_name(name) THEN
		RAISE EXCEPTION '% name "%" is not a lower-case identifier', what,
				depwatch_internal._clip(name)
			USING ERRCODE = 'invalid_name',
				  DETAIL = 'A name starts with a letter or underscore, goes on with letters, digits or underscores, and is at most 63 characters long.',
				  HINT = format('Use a name such as %L.', example);
	END IF;
END
$$;

-- _check_name: a new dependency or capability name, unused by either.
CREATE OR REPLACE FUNCTION depwatch_internal._check_name(name text, what text) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
BEGIN
	PERFORM depwatch_internal._check_identifier(name, what, 'credit_bureau_a');
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

-- _check_options: the options a probe takes, each of its JSON type and
-- syntax, and values the probe worker can load (C: src/options.c holds the
-- rules, src/validate.c raises the errors).
CREATE OR REPLACE FUNCTION depwatch_internal._check_options(probe text, options jsonb) RETURNS void
	AS 'MODULE_PATHNAME', 'dw_check_options'
	LANGUAGE C IMMUTABLE;

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
