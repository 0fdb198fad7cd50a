
-- ---------------------------------------------------------------------------
-- Secrets are masked by structure, not by names (doc/semantics.md,
-- "Secrets masked by structure").
--
-- _mask_probe_target (C, dw_mask_probe_target) now masks whatever the probe:
-- a target that libpq parses as a conninfo (key=value or postgresql://) has
-- its passwords masked, a URL its user info, every query value and its
-- fragment, anything else is redacted as error messages are.  The SQL side
-- masks every header value whatever the shape of "headers", and the audit
-- log masks every row that carries a target or options, not just rows
-- whose probe says they hold secrets.  90-audit.sql re-masks the log.
-- ---------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION _mask_options(options jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT CASE
		WHEN options IS NULL THEN '{}'::jsonb
		-- the API stores objects only; anything else is hidden whole
		WHEN jsonb_typeof(options) <> 'object' THEN '"********"'::jsonb
		ELSE (SELECT coalesce(jsonb_object_agg(key,
				CASE
					-- header values are often credentials (Authorization,
					-- X-Api-Key, Cookie): every one is masked, whatever its name
					WHEN key = 'headers' AND jsonb_typeof(value) = 'object' THEN
						(SELECT coalesce(jsonb_object_agg(h.key, '********'), '{}') FROM jsonb_each(value) h)
					WHEN key = 'headers' THEN '"********"'::jsonb
					WHEN lower(key) ~ '(password|secret|token|authorization|api_key|apikey)' THEN
						'"********"'::jsonb
					ELSE value
				END), '{}'::jsonb)
			  FROM jsonb_each(options))
	END
$$;

-- _mask_row hides the secrets of a row turned into jsonb: any row that
-- carries a probe target or probe options (today only dependency rows).
CREATE OR REPLACE FUNCTION _mask_row(table_name text, r jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
	SELECT CASE WHEN jsonb_typeof(r) <> 'object' THEN r
		ELSE r
			|| CASE WHEN r ? 'target' THEN
				   jsonb_build_object('target', depwatch._mask_probe_target(r->>'probe', r->>'target'))
			   ELSE '{}' END
			|| CASE WHEN r ? 'options' THEN
				   jsonb_build_object('options', depwatch._mask_options(r->'options'))
			   ELSE '{}' END
	END
$$;

REVOKE ALL ON FUNCTION _mask_options(jsonb), _mask_row(text, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION _mask_options(jsonb) TO depwatch_reader;

COMMENT ON COLUMN dependencies.target IS 'What is probed, with passwords, URL user info, query values and fragments masked';
COMMENT ON COLUMN dependencies.options IS 'Per-probe options, with header values and secret-named options masked';
