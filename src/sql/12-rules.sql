-- Rules that several parts of depwatch apply, each written once
-- (doc/semantics.md).  Plain SQL functions, no more volatile than their
-- expression, so the planner inlines them where they are called: they cost
-- what the expression would.  The C code builds its queries over them too
-- (dw_sql_probed, dw_sql_silent_until in src/catalog_version.c).

-- _probed: the worker probes a dependency itself (tcp, http, postgres);
-- passive and none dependencies are told what happened (report_sample).
CREATE OR REPLACE FUNCTION depwatch_internal._probed(probe text) RETURNS boolean
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	RETURN probe IN ('tcp', 'http', 'postgres');

-- _silent_until: a probed dependency whose last sample was at last_at is
-- monitored until 3 x every after it (doc/semantics.md, "Unmonitored
-- time"): the probe worker is allowed to miss two beats.  STABLE, as
-- timestamptz + interval is (a day is 23 or 25 hours across a DST change).
CREATE OR REPLACE FUNCTION depwatch_internal._silent_until(last_at timestamptz, every interval)
	RETURNS timestamptz
	LANGUAGE sql STABLE PARALLEL SAFE
	RETURN last_at + 3 * every;

-- _breached, _breached_at: a continuous down run of a capability that
-- lasted longer than its impact tolerance (strictly) breached it, at its
-- start + the tolerance (doc/semantics.md, "Alert events"); NULL
-- without a tolerance.  tolerance_breaches(), availability()'s
-- tolerance_breached and scenario() judge by them.
CREATE OR REPLACE FUNCTION depwatch_internal._breached(lasted interval, tolerance interval)
	RETURNS boolean
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	RETURN lasted > tolerance;

CREATE OR REPLACE FUNCTION depwatch_internal._breached_at(started_at timestamptz, lasted interval,
														  tolerance interval)
	RETURNS timestamptz
	LANGUAGE sql STABLE PARALLEL SAFE
	RETURN CASE WHEN depwatch_internal._breached(lasted, tolerance) THEN started_at + tolerance END;
