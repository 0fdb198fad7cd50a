-- Roles and schemas.

-- Roles (cluster-wide; created once, shared by every database that installs
-- depwatch).  Each includes the one below it.
-- Two databases may install depwatch at the same moment: the loser of a
-- race to create a role or a membership waits for the winner, then finds
-- it there.
DO $roles$
DECLARE
	r text;
BEGIN
	FOREACH r IN ARRAY ARRAY['depwatch_reader', 'depwatch_operator', 'depwatch_admin'] LOOP
		IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = r) THEN
			BEGIN
				EXECUTE format('CREATE ROLE %I NOLOGIN', r);
			EXCEPTION WHEN duplicate_object OR unique_violation THEN
				NULL;
			END;
		END IF;
	END LOOP;
	BEGIN
		GRANT depwatch_reader TO depwatch_operator;
		GRANT depwatch_operator TO depwatch_admin;
	EXCEPTION WHEN unique_violation THEN
		NULL;
	END;
END
$roles$;

COMMENT ON SCHEMA depwatch IS 'depwatch: outages of the outside services a bank depends on, and what they cost';

-- The helpers of the API (functions named _*, the worker's view of the
-- rules, the daily sample partitions) live in their own schema, on nobody's
-- search_path and granted to nobody but depwatch's own roles, so that the
-- schema depwatch is the API of doc/reference.md.
CREATE SCHEMA depwatch_internal;
COMMENT ON SCHEMA depwatch_internal IS 'depwatch''s internal helpers and sample partitions: not an API, may change in any release';
