-- The name rule: dependencies, capabilities, fee policies and alert routes
-- are named by lower-case identifiers of at most 63 characters.  Written
-- once, in C (dw_valid_name in src/requirements.c, which reads the names
-- in requirement groups too); the tables' CHECK constraints and the API's
-- checks call it, so it is declared here, before the tables.
CREATE FUNCTION depwatch_internal._valid_name(name text) RETURNS boolean
	AS 'MODULE_PATHNAME', 'dw_valid_name_sql'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION depwatch_internal._valid_name(text)
	IS 'A letter or underscore, then letters, digits or underscores, at most 63 characters in all';
