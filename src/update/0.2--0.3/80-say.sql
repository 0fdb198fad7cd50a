
-- ---------------------------------------------------------------------------
-- 80-say: told truthfully (doc/semantics.md, "Current status",
-- "Reporting deadlines", "Incidents"): no silent non-probing, deadlines
-- never blank, incidents half-open.
-- ---------------------------------------------------------------------------

-- _no_worker_reason: NULL when this database has a probe worker, else the
-- setting that keeps it from having one ('shared_preload_libraries': no
-- launcher runs; 'depwatch.databases': the database is not listed).  Read
-- from the configuration, not from the running workers: a listed
-- database's worker that is starting or restarting is no reason to warn
-- (C: worker_presence.c).
CREATE FUNCTION _no_worker_reason() RETURNS text
	AS 'MODULE_PATHNAME', 'dw_no_worker_reason'
	LANGUAGE C STABLE;

-- _notice_no_worker: adding or enabling a probed dependency in a database
-- without a probe worker says why it will not be probed and how to fix it.
CREATE FUNCTION _notice_no_worker() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
DECLARE
	why text := depwatch._no_worker_reason();
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

CREATE TRIGGER notice_no_worker_on_add AFTER INSERT ON dependency
	FOR EACH ROW WHEN (NEW.enabled AND NEW.probe IN ('tcp', 'http', 'postgres'))
	EXECUTE FUNCTION _notice_no_worker();
CREATE TRIGGER notice_no_worker_on_enable AFTER UPDATE OF enabled, probe ON dependency
	FOR EACH ROW WHEN (NEW.enabled AND NEW.probe IN ('tcp', 'http', 'postgres')
					   AND NOT (OLD.enabled AND OLD.probe IN ('tcp', 'http', 'postgres')))
	EXECUTE FUNCTION _notice_no_worker();

-- current_status gains reason: why a dependency is unmonitored.  A probed,
-- enabled dependency in a database without a probe worker is unmonitored
-- from the moment it was added, not after 3 x its interval, unless samples
-- come some other way (report_sample): then, as anywhere, until 3 x its
-- interval after the last one.  The status view shows the same.
DROP VIEW status;
DROP FUNCTION current_status();

CREATE FUNCTION current_status()
	RETURNS TABLE(target text, target_type text, state text, since timestamptz, reason text)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
	SELECT d.name, 'dependency',
		   CASE WHEN m.since IS NOT NULL THEN 'maintenance'
				WHEN dn.since IS NOT NULL THEN 'down'
				WHEN u.since IS NOT NULL OR nw.since IS NOT NULL THEN 'unmonitored'
				WHEN dg.since IS NOT NULL THEN 'degraded'
				ELSE 'up' END,
		   coalesce(m.since, dn.since, nw.since, u.since, dg.since,
					greatest(d.created_at, last_end.at)),
		   CASE WHEN m.since IS NOT NULL OR dn.since IS NOT NULL THEN NULL
				WHEN nw.since IS NOT NULL THEN 'no worker for this database'
				WHEN u.since IS NOT NULL AND NOT d.enabled THEN 'disabled'
				WHEN u.since IS NOT NULL THEN 'no sample for 3 x every' END
	FROM depwatch.dependency d
	CROSS JOIN (SELECT depwatch._no_worker_reason() AS why) w
	LEFT JOIN depwatch._unmonitored_now() u ON u.dependency_id = d.id
	LEFT JOIN depwatch.probe_state ps ON ps.dependency_id = d.id
	CROSS JOIN LATERAL (
		SELECT CASE WHEN w.why IS NOT NULL AND d.enabled AND d.probe IN ('tcp', 'http', 'postgres')
						 AND (ps.last_at IS NULL OR ps.last_at + 3 * d.every < now())
					THEN coalesce(ps.last_at + 3 * d.every, d.created_at) END AS since) nw
	LEFT JOIN LATERAL (
		SELECT min(lower(x.during)) AS since FROM depwatch.maintenance x
		WHERE x.dependency_id = d.id AND x.during @> now()) m ON true
	LEFT JOIN LATERAL (
		SELECT lower(o.during) AS since FROM depwatch.outage o
		WHERE o.dependency_id = d.id AND o.kind = 'down' AND o.during @> now()) dn ON true
	LEFT JOIN LATERAL (
		SELECT lower(o.during) AS since FROM depwatch.outage o
		WHERE o.dependency_id = d.id AND o.kind = 'degraded' AND o.during @> now()) dg ON true
	LEFT JOIN LATERAL (
		SELECT max(upper(o.during)) AS at FROM depwatch.outage o
		WHERE o.dependency_id = d.id AND upper(o.during) <= now()) last_end ON true
	UNION ALL
	SELECT c.target, 'capability', c.state, c.since, NULL FROM depwatch._capability_status() c
	ORDER BY 2 DESC, 1
$$;

CREATE VIEW status AS
	SELECT s.target, s.target_type, s.state, s.since, s.reason FROM depwatch.current_status() s;

-- worker_status lists this database when no worker probes it: a row with
-- pid NULL, the enabled probed dependencies nobody watches, and why in
-- last_error.
CREATE OR REPLACE VIEW worker_status AS
	SELECT w.pid, w.database, w.vantage, w.started_at, w.dependencies, w.in_flight,
		   w.probes_per_second, w.lag_p50, w.lag_p99, w.last_error, w.last_error_at
	FROM depwatch._worker_status() w
	UNION ALL
	SELECT NULL, current_database()::text COLLATE "default", depwatch._vantage(), NULL,
		   (SELECT count(*)::int FROM depwatch.dependency d
			WHERE d.enabled AND d.probe IN ('tcp', 'http', 'postgres')),
		   NULL, NULL, NULL, NULL,
		   CASE r.why WHEN 'shared_preload_libraries'
				THEN 'no probe worker: depwatch is not in shared_preload_libraries'
				ELSE 'no probe worker: this database is not listed in depwatch.databases' END,
		   NULL
	FROM (SELECT depwatch._no_worker_reason() AS why) r
	WHERE r.why IS NOT NULL;

REVOKE ALL ON FUNCTION _no_worker_reason(), _notice_no_worker(), current_status() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION _no_worker_reason(), current_status() TO depwatch_reader;
GRANT SELECT ON status TO depwatch_reader;

-- ---------------------------------------------------------------------------
-- Incidents are half-open: [started_at, ended_at), like every other window
-- (ended_at = now while open).  An outage that starts at ended_at, a fee
-- or a transfer at ended_at, are not the incident's.
-- ---------------------------------------------------------------------------

CREATE OR REPLACE VIEW outages AS
	SELECT o.id, d.name AS dependency, o.kind,
		   lower(o.during) AS started_at,
		   CASE WHEN upper_inf(o.during) THEN NULL ELSE upper(o.during) END AS ended_at,
		   o.detected_at, o.source, o.note,
		   (SELECT i.id FROM incident i
			WHERE tstzrange(i.started_at, i.ended_at, '[)') && o.during
			  AND (NOT EXISTS (SELECT FROM incident_dependency x WHERE x.incident_id = i.id)
				   OR EXISTS (SELECT FROM incident_dependency x
							  WHERE x.incident_id = i.id AND x.dependency_id = o.dependency_id))
			ORDER BY i.started_at, i.id LIMIT 1) AS incident
	FROM outage o JOIN dependency d ON d.id = o.dependency_id;

-- _incident_dependencies: those named at open_incident, or, when none
-- were, every dependency with a down outage overlapping the incident.
CREATE OR REPLACE FUNCTION _incident_dependencies(i depwatch.incident) RETURNS bigint[]
LANGUAGE sql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
	SELECT coalesce(
		(SELECT array_agg(x.dependency_id ORDER BY x.dependency_id)
		 FROM depwatch.incident_dependency x WHERE x.incident_id = i.id),
		(SELECT array_agg(DISTINCT o.dependency_id)
		 FROM depwatch.outage o
		 WHERE o.kind = 'down'
		   AND o.during && tstzrange(i.started_at, coalesce(i.ended_at, now()), '[)')),
		'{}')
$$;

-- _fee_waiver_query: waivable fees per affected customer ($1 incident,
-- $2 policy): posted rows with fee > 0 in [start, end + grace).
CREATE OR REPLACE FUNCTION _fee_waiver_query(transfers regclass, applications regclass) RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
	SELECT format($q$
		WITH affected AS MATERIALIZED (%2$s),
		fees AS (
			SELECT x.customer_id::text AS customer_id, count(*) AS fee_count, sum(x.fee) AS fees
			FROM %1$s x
			WHERE x.occurred_at >= ($1).started_at
			  AND x.occurred_at < coalesce(($1).ended_at, now()) + ($2).grace
			  AND x.status = 'posted' AND x.fee > 0
			  AND (($2).fee_types IS NULL OR x.fee_type = ANY (($2).fee_types))
			  AND (($2).capabilities IS NULL OR x.capability = ANY (($2).capabilities))
			  AND x.customer_id::text IN (SELECT a.customer_id FROM affected a)
			GROUP BY 1)
		SELECT f.customer_id, f.fee_count, f.fees,
			   CASE WHEN ($2).per_customer_cap IS NULL THEN f.fees
					ELSE least(f.fees, ($2).per_customer_cap) END AS waiver
		FROM fees f ORDER BY f.customer_id
	$q$, transfers, depwatch._incident_customers_query(transfers, applications))
$$;

-- fee_waiver_summary: the waiver beside the fees of normal weeks: the mean
-- over 1, 2, 3 and 4 weeks back of the same window's fees (posted,
-- fee > 0, the policy's fee types and capabilities, every customer).  With
-- the rights of its caller, like every ledger report (10-ledger.sql).
CREATE OR REPLACE FUNCTION fee_waiver_summary(incident bigint, policy text)
	RETURNS TABLE(customers bigint, fee_count bigint, waiver numeric,
				  baseline_fees numeric, waiver_pct_of_baseline numeric)
LANGUAGE plpgsql STABLE SECURITY INVOKER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	i depwatch.incident := depwatch._incident(incident);
	p depwatch.fee_policy := depwatch._fee_policy(policy);
	transfers regclass := depwatch._ledger('transfers');
	applications regclass := depwatch._ledger('applications', optional => true);
BEGIN
	RETURN QUERY EXECUTE format($q$
		WITH w AS (%2$s),
		baseline AS (
			SELECT coalesce(sum(f.fees), 0) / 4 AS fees
			FROM generate_series(1, 4) k
			CROSS JOIN LATERAL (
				SELECT sum(x.fee) AS fees FROM %1$s x
				WHERE x.occurred_at >= ($1).started_at - k * interval '1 week'
				  AND x.occurred_at < coalesce(($1).ended_at, now()) + ($2).grace - k * interval '1 week'
				  AND x.status = 'posted' AND x.fee > 0
				  AND (($2).fee_types IS NULL OR x.fee_type = ANY (($2).fee_types))
				  AND (($2).capabilities IS NULL OR x.capability = ANY (($2).capabilities))
				OFFSET 0) f)
		SELECT count(w.*), coalesce(sum(w.fee_count), 0)::bigint, coalesce(sum(w.waiver), 0),
			   b.fees, 100 * coalesce(sum(w.waiver), 0) / nullif(b.fees, 0)
		FROM baseline b LEFT JOIN w ON true
		GROUP BY b.fees
	$q$, transfers, depwatch._fee_waiver_query(transfers, applications)) USING i, p;
END
$$;

-- incident_timeline: what happened during an incident, in time order:
-- the incident opened and closed, its dependencies' outages, the
-- capabilities taken down and restored, maintenance, the facts as they
-- were recorded (from the audit log), awareness, classification and the
-- backlog cleared.
CREATE OR REPLACE FUNCTION incident_timeline(incident bigint)
	RETURNS TABLE(at timestamptz, event text, target text, detail text)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	i depwatch.incident := depwatch._incident(incident);
	deps bigint[] := depwatch._incident_dependencies(i);
	span tstzrange := tstzrange(i.started_at, coalesce(i.ended_at, now()), '[)');
BEGIN
	RETURN QUERY
	SELECT e.at, e.event, e.target, e.detail FROM (
		SELECT i.started_at AS at, 'incident opened' AS event, NULL::text AS target, i.title AS detail, 1 AS o
		UNION ALL
		SELECT i.ended_at, 'incident closed', NULL, i.root_cause, 9 WHERE i.ended_at IS NOT NULL
		UNION ALL
		SELECT lower(o.during), o.kind || ' outage started', d.name, o.note, 3
		FROM depwatch.outage o JOIN depwatch.dependency d ON d.id = o.dependency_id
		WHERE o.dependency_id = ANY (deps) AND o.during && span
		UNION ALL
		SELECT upper(o.during), o.kind || ' outage ended', d.name, o.note, 5
		FROM depwatch.outage o JOIN depwatch.dependency d ON d.id = o.dependency_id
		WHERE o.dependency_id = ANY (deps) AND o.during && span AND NOT upper_inf(o.during)
		UNION ALL
		SELECT w.started_at, 'capability down', w.capability, NULL, 4 FROM depwatch._incident_windows(i) w
		UNION ALL
		SELECT w.ended_at, 'capability restored', w.capability, NULL, 6
		FROM depwatch._incident_windows(i) w WHERE w.ended_at < coalesce(i.ended_at, now())
		UNION ALL
		SELECT x.at, x.event, coalesce(d.name, c.name), m.note, 2
		FROM depwatch.maintenance m
		LEFT JOIN depwatch.dependency d ON d.id = m.dependency_id
		LEFT JOIN depwatch.capability c ON c.id = m.capability_id
		CROSS JOIN LATERAL (VALUES (lower(m.during), 'maintenance started'),
								   (upper(m.during), 'maintenance ended')) x(at, event)
		WHERE m.during && span AND (m.dependency_id = ANY (deps) OR m.capability_id IS NOT NULL)
		UNION ALL
		SELECT a.at, 'facts recorded', NULL,
			   (SELECT string_agg(k, ', ' ORDER BY k) FROM jsonb_object_keys(a.new->'facts') k
				WHERE (a.new->'facts'->k) IS DISTINCT FROM (a.old->'facts'->k)), 7
		FROM depwatch.audit_log a
		WHERE a.table_name = 'incident' AND a.row_id = i.id AND a.action = 'UPDATE'
		  AND (a.new->'facts') IS DISTINCT FROM (a.old->'facts')
		UNION ALL
		SELECT (i.facts->>k.key)::timestamptz, k.event, NULL, NULL, 8
		FROM (VALUES ('aware_at', 'became aware'), ('classified_at', 'classified'),
					 ('backlog_cleared_at', 'backlog cleared')) k(key, event)
		WHERE i.facts ? k.key
	) e
	ORDER BY e.at, e.o, e.target;
END
$$;

-- ---------------------------------------------------------------------------
-- Deadlines never blank: without aware_at, awareness is assumed at the
-- earliest detected_at of the incident's outages (else at its start), and
-- the deadlines say "assumed": true.
-- ---------------------------------------------------------------------------

-- _reporting_deadlines: DORA (Commission Delegated Regulation (EU)
-- 2025/301 Art 5) for a major incident: the initial notification within 4
-- hours of classification and no later than 24 hours after awareness
-- (within 4 hours of a classification later than that), the intermediate
-- report within 72 hours of the initial, the final within one month of
-- the intermediate; the Korean FSS initial report within one day of
-- recognition.  Awareness is the fact aware_at, else assumed_aware (then
-- "assumed" is true).  NULL where no report is due.
DROP FUNCTION _reporting_deadlines(jsonb, boolean, boolean);
CREATE FUNCTION _reporting_deadlines(facts jsonb, dora_major boolean, fss_reportable boolean,
									 assumed_aware timestamptz DEFAULT NULL) RETURNS jsonb
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	WITH t AS (
		SELECT coalesce((facts->>'aware_at')::timestamptz, assumed_aware) AS aware,
			   (facts->>'aware_at') IS NULL AND assumed_aware IS NOT NULL AS assumed,
			   (facts->>'classified_at')::timestamptz AS classified),
	d AS (
		SELECT CASE WHEN dora_major THEN
					CASE WHEN t.classified > t.aware + interval '24 hours' THEN t.classified + interval '4 hours'
						 ELSE least(t.classified + interval '4 hours', t.aware + interval '24 hours') END
			   END AS initial, t.aware, t.assumed
		FROM t)
	SELECT jsonb_build_object(
		'dora', jsonb_build_object(
			'due', dora_major,
			'initial', d.initial,
			'intermediate', d.initial + interval '72 hours',
			'final', d.initial + interval '72 hours' + interval '1 month',
			'assumed', d.assumed),
		'kr_fss', jsonb_build_object(
			'due', fss_reportable,
			'initial', CASE WHEN fss_reportable THEN d.aware + interval '1 day' END,
			'assumed', d.assumed))
	FROM d
$$;

-- _assumed_aware: when the bank is taken to have become aware of an
-- incident whose aware_at is not recorded: the earliest detected_at of
-- the outages of its dependencies within it, else its start.
CREATE FUNCTION _assumed_aware(i depwatch.incident) RETURNS timestamptz
LANGUAGE sql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
	SELECT coalesce(min(o.detected_at), i.started_at)
	FROM depwatch.outage o
	WHERE o.dependency_id = ANY (depwatch._incident_dependencies(i))
	  AND o.during && tstzrange(i.started_at, coalesce(i.ended_at, now()), '[)')
$$;

-- incident_report: everything about an incident in one JSON document
-- (doc/incident_report.schema.json): the incident, its timeline, the
-- capabilities it took down with their windows, the economics, both
-- classifications and the reporting deadlines.
CREATE OR REPLACE FUNCTION incident_report(incident bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY INVOKER
SET search_path = pg_catalog, depwatch, pg_temp
SET TimeZone = 'UTC'
AS $$
#variable_conflict use_variable
DECLARE
	i depwatch.incident := depwatch._incident(incident);
	ledger boolean := depwatch._ledger('transfers', optional => true) IS NOT NULL;
	dora jsonb;
	fss jsonb;
	economics jsonb;
BEGIN
	SELECT jsonb_agg(to_jsonb(c)) INTO dora FROM depwatch.classify_incident(i.id, 'dora') c;
	SELECT jsonb_agg(to_jsonb(c)) INTO fss FROM depwatch.classify_incident(i.id, 'kr_fss') c;
	economics := jsonb_build_object(
		'ledger_bound', ledger,
		'impact', CASE WHEN ledger THEN
			(SELECT coalesce(jsonb_agg(to_jsonb(x)), '[]') FROM depwatch.impact(i.id) x) END,
		'fee_waiver_summary', CASE WHEN ledger AND i.facts ? 'fee_policy' THEN
			(SELECT to_jsonb(x) || jsonb_build_object('policy', i.facts->>'fee_policy')
			 FROM depwatch.fee_waiver_summary(i.id, i.facts->>'fee_policy') x) END,
		'deposit_outflow_summary', CASE WHEN ledger THEN
			(SELECT to_jsonb(x) FROM depwatch.deposit_outflow_summary(i.id) x) END);
	RETURN jsonb_build_object(
		'incident', jsonb_build_object(
			'id', i.id, 'title', i.title, 'started_at', i.started_at, 'ended_at', i.ended_at,
			'open', i.ended_at IS NULL, 'root_cause', coalesce(i.facts->>'root_cause', i.root_cause),
			'facts', i.facts,
			'dependencies', (SELECT coalesce(jsonb_agg(d.name ORDER BY d.name), '[]')
							 FROM depwatch.dependency d WHERE d.id = ANY (depwatch._incident_dependencies(i)))),
		'timeline', (SELECT coalesce(jsonb_agg(to_jsonb(t)), '[]') FROM depwatch.incident_timeline(i.id) t),
		'capabilities', (SELECT coalesce(jsonb_agg(jsonb_build_object('capability', c.capability, 'windows', c.windows)
												   ORDER BY c.capability), '[]')
						 FROM (SELECT w.capability,
									  jsonb_agg(jsonb_build_object('started_at', w.started_at, 'ended_at', w.ended_at,
																   'lasted', w.ended_at - w.started_at)
												ORDER BY w.started_at) AS windows
							   FROM depwatch._incident_windows(i) w GROUP BY w.capability) c),
		'economics', economics,
		'classification', jsonb_build_object(
			'dora', jsonb_build_object('criteria', dora,
				'major', (SELECT (c->>'met')::boolean FROM jsonb_array_elements(dora) c WHERE c->>'criterion' = 'major')),
			'kr_fss', jsonb_build_object('criteria', fss,
				'major', (SELECT (c->>'met')::boolean FROM jsonb_array_elements(fss) c WHERE c->>'criterion' = 'major'),
				'reportable', (SELECT (c->>'met')::boolean FROM jsonb_array_elements(fss) c WHERE c->>'criterion' = 'reportable'))),
		'deadlines', depwatch._reporting_deadlines(i.facts,
			(SELECT (c->>'met')::boolean FROM jsonb_array_elements(dora) c WHERE c->>'criterion' = 'major'),
			(SELECT (c->>'met')::boolean FROM jsonb_array_elements(fss) c WHERE c->>'criterion' = 'reportable'),
			depwatch._assumed_aware(i)));
END
$$;

-- ---------------------------------------------------------------------------
-- The probe worker
-- ---------------------------------------------------------------------------

-- A change to dependencies wakes this database's worker when it commits.

REVOKE ALL ON FUNCTION _reporting_deadlines(jsonb, boolean, boolean, timestamptz),
	_assumed_aware(depwatch.incident) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION _reporting_deadlines(jsonb, boolean, boolean, timestamptz),
	_assumed_aware(depwatch.incident) TO depwatch_reader;

-- ---------------------------------------------------------------------------
-- Comments
-- ---------------------------------------------------------------------------
COMMENT ON FUNCTION current_status() IS 'State of every dependency and capability now (up, degraded, down, maintenance, unmonitored), since when, and why it is unmonitored';
COMMENT ON VIEW status IS 'What every dependency and capability is doing now, since when, and why it is unmonitored (current_status())';
COMMENT ON COLUMN status.target IS 'Dependency or capability name';
COMMENT ON COLUMN status.target_type IS 'dependency or capability';
COMMENT ON COLUMN status.state IS 'up, degraded, down, maintenance or unmonitored';
COMMENT ON COLUMN status.since IS 'When the current state began';
COMMENT ON COLUMN status.reason IS 'Why a dependency is unmonitored: disabled, no worker for this database, or no sample for 3 x every';
COMMENT ON VIEW worker_status IS 'The probe workers running now: what they watch, how fast, how late, their last error; and this database, with pid NULL, when no worker probes it';
COMMENT ON COLUMN worker_status.pid IS 'Process id of the worker; NULL on the row of this database when no worker probes it (last_error says why)';
COMMENT ON COLUMN worker_status.dependencies IS 'Enabled probed dependencies it watches (on a row with pid NULL: that nobody watches)';
