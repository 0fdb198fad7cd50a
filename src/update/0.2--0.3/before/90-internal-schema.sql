-- The helpers leave the API's schema (src/sql/tables/00-schemas.sql): every
-- function named _*, the worker's view of the rules and the daily sample
-- partitions move to depwatch_internal.  This comes last of the steps
-- before the source files: the steps above still run 0.2's functions,
-- whose bodies name the helpers in depwatch; the source files that follow
-- replace every body with one that names depwatch_internal.
CREATE SCHEMA depwatch_internal;
COMMENT ON SCHEMA depwatch_internal IS 'depwatch''s internal helpers and sample partitions: not an API, may change in any release';

DO $$
DECLARE
	f regprocedure;
	part regclass;
BEGIN
	FOR f IN SELECT p.oid FROM pg_proc p
			 WHERE p.pronamespace = 'depwatch'::regnamespace AND p.proname LIKE '\_%'
	LOOP
		EXECUTE format('ALTER FUNCTION %s SET SCHEMA depwatch_internal', f);
	END LOOP;
	FOR part IN SELECT c.oid FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
				WHERE i.inhparent = 'depwatch.sample'::regclass AND c.relname ~ '^sample_[0-9]{8}$'
				  AND c.relnamespace = 'depwatch'::regnamespace
	LOOP
		EXECUTE format('ALTER TABLE %s SET SCHEMA depwatch_internal', part);
	END LOOP;
END
$$;
ALTER VIEW _machine_rules SET SCHEMA depwatch_internal;

-- pg_dump evaluates these conditions by name
SELECT pg_catalog.pg_extension_config_dump('vantage_outage', 'WHERE vantage <> depwatch_internal._vantage()');
SELECT pg_catalog.pg_extension_config_dump('vantage_gap', 'WHERE vantage <> depwatch_internal._vantage()');
