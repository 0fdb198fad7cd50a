-- The probe worker as SQL sees it: waking it, its status, and saying so
-- when no worker probes this database.

-- A change to dependencies wakes this database's worker when it commits.
CREATE OR REPLACE FUNCTION depwatch_internal._config_changed() RETURNS trigger
	AS 'MODULE_PATHNAME', 'dw_config_changed'
	LANGUAGE C;

CREATE OR REPLACE FUNCTION depwatch_internal._worker_status()
	RETURNS TABLE(pid int, database text, vantage text, started_at timestamptz,
				  dependencies int, in_flight int, probes_per_second float8,
				  lag_p50 interval, lag_p99 interval, last_error text, last_error_at timestamptz)
	AS 'MODULE_PATHNAME', 'dw_worker_status'
	LANGUAGE C VOLATILE;

-- _no_worker_reason: NULL when this database has a probe worker, else the
-- setting that keeps it from having one ('shared_preload_libraries': no
-- launcher runs; 'depwatch.databases': the database is not listed).  Read
-- from the configuration, not from the running workers: a listed
-- database's worker that is starting or restarting is no reason to warn
-- (C: worker_presence.c).
CREATE OR REPLACE FUNCTION depwatch_internal._no_worker_reason() RETURNS text
	AS 'MODULE_PATHNAME', 'dw_no_worker_reason'
	LANGUAGE C STABLE;

-- _notice_no_worker: adding or enabling a probed dependency in a database
-- without a probe worker says why it will not be probed and how to fix it.
CREATE OR REPLACE FUNCTION depwatch_internal._notice_no_worker() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
DECLARE
	why text := depwatch_internal._no_worker_reason();
BEGIN
	IF why = 'shared_preload_libraries' THEN
		RAISE NOTICE 'dependency "%" will not be probed: no probe worker runs for database "%"',
				NEW.name, current_database()
			USING DETAIL = 'depwatch is not in shared_preload_libraries, so no launcher starts probe workers.',
				  HINT = 'Add depwatch to shared_preload_libraries and restart the server, and list this database in depwatch.databases.';
	ELSIF why = 'depwatch.databases' THEN
		RAISE NOTICE 'dependency "%" will not be probed: no probe worker runs for database "%"',
				NEW.name, current_database()
			USING DETAIL = 'This database is not listed in depwatch.databases.',
				  HINT = 'Add it to depwatch.databases in postgresql.conf and reload the configuration (SELECT pg_reload_conf()).';
	END IF;
	RETURN NULL;
END
$$;

-- worker_status lists this database when no worker probes it: a row with
-- pid NULL, the enabled probed dependencies nobody watches, and why in
-- last_error.
CREATE OR REPLACE VIEW worker_status AS
	SELECT w.pid, w.database, w.vantage, w.started_at, w.dependencies, w.in_flight,
		   w.probes_per_second, w.lag_p50, w.lag_p99, w.last_error, w.last_error_at,
		   extract(epoch FROM w.lag_p50) AS lag_p50_seconds, extract(epoch FROM w.lag_p99) AS lag_p99_seconds
	FROM depwatch_internal._worker_status() w
	UNION ALL
	SELECT NULL, current_database()::text COLLATE "default", depwatch_internal._vantage(), NULL,
		   (SELECT count(*)::int FROM depwatch.dependency d
			WHERE d.enabled AND depwatch_internal._probed(d.probe)),
		   NULL, NULL, NULL, NULL,
		   CASE r.why WHEN 'shared_preload_libraries'
				THEN 'no probe worker: depwatch is not in shared_preload_libraries'
				ELSE 'no probe worker: this database is not listed in depwatch.databases' END,
		   NULL, NULL, NULL
	FROM (SELECT depwatch_internal._no_worker_reason() AS why) r
	WHERE r.why IS NOT NULL;
COMMENT ON VIEW worker_status IS 'The probe workers running now: what they watch, how fast, how late, their last error; and this database, with pid NULL, when no worker probes it';
COMMENT ON COLUMN worker_status.pid IS 'Process id of the worker; NULL on the row of this database when no worker probes it (last_error says why)';
COMMENT ON COLUMN worker_status.database IS 'Database it probes for';
COMMENT ON COLUMN worker_status.vantage IS 'Where it probes from (depwatch.vantage)';
COMMENT ON COLUMN worker_status.started_at IS 'When it started';
COMMENT ON COLUMN worker_status.dependencies IS 'Enabled probed dependencies it watches (on a row with pid NULL: that nobody watches)';
COMMENT ON COLUMN worker_status.in_flight IS 'Probes running now';
COMMENT ON COLUMN worker_status.probes_per_second IS 'Probes finished per second, lately';
COMMENT ON COLUMN worker_status.lag_p50 IS 'Median lateness of probe starts against their schedule, lately';
COMMENT ON COLUMN worker_status.lag_p99 IS '99th percentile of that lateness';
COMMENT ON COLUMN worker_status.last_error IS 'Last error the worker logged and survived';
COMMENT ON COLUMN worker_status.last_error_at IS 'When it happened';
COMMENT ON COLUMN worker_status.lag_p50_seconds IS 'lag_p50 in seconds';
COMMENT ON COLUMN worker_status.lag_p99_seconds IS 'lag_p99 in seconds';

CREATE OR REPLACE TRIGGER wake_worker AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON dependency
	FOR EACH STATEMENT EXECUTE FUNCTION depwatch_internal._config_changed();

CREATE OR REPLACE TRIGGER notice_no_worker_on_add AFTER INSERT ON dependency
	FOR EACH ROW WHEN (NEW.enabled AND depwatch_internal._probed(NEW.probe))
	EXECUTE FUNCTION depwatch_internal._notice_no_worker();

CREATE OR REPLACE TRIGGER notice_no_worker_on_enable AFTER UPDATE OF enabled, probe ON dependency
	FOR EACH ROW WHEN (NEW.enabled AND depwatch_internal._probed(NEW.probe)
					   AND NOT (OLD.enabled AND depwatch_internal._probed(OLD.probe)))
	EXECUTE FUNCTION depwatch_internal._notice_no_worker();
