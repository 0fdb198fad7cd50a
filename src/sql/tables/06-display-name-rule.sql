-- The display-name rule: what customers read for a capability on the
-- status page (status_page(), src/sql/88-status-page.sql) is 1 to 200
-- characters, not blank, without control characters.  One home: the CHECK
-- of capability.display_name calls it, and add_capability() and
-- alter_capability() call it first for the same error.  Declared here,
-- before the tables; NULL (the name) passes.
CREATE FUNCTION depwatch_internal._valid_display_name(display_name text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF char_length(display_name) > 200 THEN
		RAISE EXCEPTION 'display_name is % characters long, more than 200', char_length(display_name)
			USING ERRCODE = 'string_data_right_truncation',
				  HINT = 'Customers read it on the status page: a short name such as ''Money transfers''.';
	END IF;
	IF btrim(display_name) = '' OR display_name ~ '[[:cntrl:]]' THEN
		RAISE EXCEPTION 'display_name must not be blank or hold control characters'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass a short name such as ''Money transfers'', or NULL for the capability''s name.';
	END IF;
	RETURN true;
END
$$;
COMMENT ON FUNCTION depwatch_internal._valid_display_name(text)
	IS 'A capability''s display name: 1 to 200 characters, not blank, no control characters (raises 22001 or 22023 otherwise); NULL passes';
