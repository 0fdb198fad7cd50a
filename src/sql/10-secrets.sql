-- Secrets: what readers and the audit log see of targets and options
-- (doc/semantics.md, "Secrets masked by structure").

CREATE OR REPLACE FUNCTION depwatch_internal._mask_probe_target(probe text, target text) RETURNS text
	AS 'MODULE_PATHNAME', 'dw_mask_probe_target'
	LANGUAGE C IMMUTABLE;

CREATE OR REPLACE FUNCTION depwatch_internal._mask_options(options jsonb) RETURNS jsonb
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
CREATE OR REPLACE FUNCTION depwatch_internal._mask_row(table_name text, r jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
	SELECT CASE WHEN jsonb_typeof(r) <> 'object' THEN r
		ELSE r
			|| CASE WHEN r ? 'target' THEN
				   jsonb_build_object('target', depwatch_internal._mask_probe_target(r->>'probe', r->>'target'))
			   ELSE '{}' END
			|| CASE WHEN r ? 'options' THEN
				   jsonb_build_object('options', depwatch_internal._mask_options(r->'options'))
			   ELSE '{}' END
	END
$$;
