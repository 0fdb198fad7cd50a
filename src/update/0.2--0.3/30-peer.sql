
-- ---------------------------------------------------------------------------
-- Peers are hostile; numbers in options are finite and inside their ranges
-- (doc/semantics.md, "Peer answers", "Bounds on input").  The value rules
-- of options live in C (src/options.c): the configuration API refuses what
-- breaks them, the _machine_rules view parses the numbers with the same
-- routine, and the probe worker skips (with a WARNING) a stored row that
-- breaks them instead of failing to read every row.
-- ---------------------------------------------------------------------------
CREATE FUNCTION _option_number(key text, value jsonb, dflt float8) RETURNS float8
	AS 'MODULE_PATHNAME', 'dw_option_number_sql'
	LANGUAGE C IMMUTABLE;

CREATE FUNCTION _check_option_values(options jsonb) RETURNS void
	AS 'MODULE_PATHNAME', 'dw_check_option_values'
	LANGUAGE C IMMUTABLE;

CREATE FUNCTION _options_problem(options jsonb) RETURNS text
	AS 'MODULE_PATHNAME', 'dw_options_problem'
	LANGUAGE C IMMUTABLE;

REVOKE ALL ON FUNCTION _option_number(text, jsonb, float8), _check_option_values(jsonb),
	_options_problem(jsonb) FROM PUBLIC;

COMMENT ON FUNCTION _option_number(text, jsonb, float8)
	IS 'A numeric option, parsed as the probe worker parses it; errors unless finite and inside its range';
COMMENT ON FUNCTION _check_option_values(jsonb)
	IS 'Errors unless numeric options are in range and request headers within 32 and 8 KB';
COMMENT ON FUNCTION _options_problem(jsonb)
	IS 'What the probe worker would refuse in these options, or NULL';

-- _machine_rules: what the outage state machine needs of each dependency,
-- with the defaults of the passive error-rate rule.  report_sample and the
-- worker both read it; the numbers go through the C parser, never a cast
-- that a stored value can make fail for every row.
CREATE OR REPLACE VIEW _machine_rules AS
	SELECT d.id, d.name, d.probe, d.fail_after, d.recover_after, d.degraded_after,
		   _option_number('error_rate', d.options->'error_rate', 0.5) AS error_rate,
		   _option_number('min_calls', d.options->'min_calls', 10)::int8 AS min_calls,
		   coalesce((d.options->>'window')::interval, interval '1 min') AS "window",
		   -- passive only: a degraded level below error_rate (doc/semantics.md,
		   -- "Passive error rate")
		   _option_number('degraded_error_rate', d.options->'degraded_error_rate', NULL) AS degraded_error_rate
	FROM dependency d;

-- _check_options: the options a probe understands, with the right types.
CREATE OR REPLACE FUNCTION _check_options(probe text, options jsonb) RETURNS void
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
			PERFORM depwatch._option_number(e.key, e.value, NULL);
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
	PERFORM depwatch._check_option_values(options);
END
$$;

-- Rows stored before these rules that break them: listed for the admin and
-- left as they are (the worker skips them, report_sample refuses them, until
-- alter_dependency() fixes their options).  A WARNING, not a NOTICE: an
-- extension script runs with client_min_messages at least warning, so a
-- NOTICE would never reach the admin.
DO $$
DECLARE
	r record;
BEGIN
	SELECT count(*) AS n,
		   string_agg(format('%s (%s)', x.name, x.problem), '; ' ORDER BY x.name) FILTER (WHERE x.rank <= 20) AS list
	  INTO r
	FROM (SELECT d.name, p.problem, row_number() OVER (ORDER BY d.name) AS rank
		  FROM depwatch.dependency d, LATERAL (SELECT depwatch._options_problem(d.options) AS problem) p
		  WHERE p.problem IS NOT NULL) x;
	IF r.n > 0 THEN
		RAISE WARNING 'depwatch 0.3: % dependencies break the option rules, left as they are: %', r.n, r.list
			USING HINT = 'Fix their options with alter_dependency(); the probe worker skips them until then.';
	END IF;
END
$$;
