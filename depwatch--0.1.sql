/* depwatch--0.1.sql: catalog, audit chain, roles and SQL API of depwatch */

\echo Use "CREATE EXTENSION depwatch CASCADE" to load this file. \quit

-- ---------------------------------------------------------------------------
-- Roles (cluster-wide; created once, shared by every database that installs
-- depwatch).  Each includes the one below it.
-- ---------------------------------------------------------------------------
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

-- ---------------------------------------------------------------------------
-- C functions: parsers and settings
-- ---------------------------------------------------------------------------
CREATE FUNCTION parse_requirements(requires text[])
	RETURNS TABLE(requirement int, k int, members text[])
	AS 'MODULE_PATHNAME', 'dw_parse_requirements'
	LANGUAGE C IMMUTABLE ROWS 4;

CREATE FUNCTION _check_probe_target(probe text, target text) RETURNS void
	AS 'MODULE_PATHNAME', 'dw_check_probe_target'
	LANGUAGE C IMMUTABLE;

CREATE FUNCTION _mask_probe_target(probe text, target text) RETURNS text
	AS 'MODULE_PATHNAME', 'dw_mask_probe_target'
	LANGUAGE C IMMUTABLE;

CREATE FUNCTION _sample_retention() RETURNS interval
	AS 'MODULE_PATHNAME', 'dw_sample_retention'
	LANGUAGE C STABLE;

-- ---------------------------------------------------------------------------
-- Catalog
-- ---------------------------------------------------------------------------
CREATE SEQUENCE dependency_id_seq;
CREATE TABLE dependency (
	id				bigint PRIMARY KEY DEFAULT nextval('depwatch.dependency_id_seq'),
	name			text NOT NULL UNIQUE CHECK (name ~ '^[a-z_][a-z0-9_]{0,62}$'),
	kind			text NOT NULL CHECK (kind IN ('credit_bureau', 'identity', 'messaging',
								'datacenter', 'payment_network', 'core', 'other')),
	probe			text NOT NULL CHECK (probe IN ('tcp', 'http', 'postgres', 'passive', 'none')),
	target			text,
	every			interval NOT NULL CHECK (every >= interval '100 ms'),
	timeout			interval NOT NULL CHECK (timeout > interval '0' AND timeout <= every),
	fail_after		int NOT NULL CHECK (fail_after >= 1),
	recover_after	int NOT NULL CHECK (recover_after >= 1),
	degraded_after	interval CHECK (degraded_after > interval '0'),
	options			jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(options) = 'object'),
	site			text,
	vendor			text,
	enabled			boolean NOT NULL DEFAULT true,
	created_at		timestamptz NOT NULL DEFAULT now()
);
ALTER SEQUENCE dependency_id_seq OWNED BY dependency.id;

CREATE SEQUENCE capability_id_seq;
CREATE TABLE capability (
	id				bigint PRIMARY KEY DEFAULT nextval('depwatch.capability_id_seq'),
	name			text NOT NULL UNIQUE CHECK (name ~ '^[a-z_][a-z0-9_]{0,62}$'),
	requires		text[] NOT NULL CHECK (cardinality(requires) >= 1),
	slo				numeric NOT NULL DEFAULT 99.9 CHECK (slo > 0 AND slo <= 100),
	impact_tolerance interval CHECK (impact_tolerance > interval '0'),
	created_at		timestamptz NOT NULL DEFAULT now()
);
ALTER SEQUENCE capability_id_seq OWNED BY capability.id;

-- Samples: one row per probe or reported call, partitioned by day.  Rows
-- outside every daily partition (history imported from long ago) land in
-- the default partition; maintain_sample_partitions() makes the days ahead
-- and drops the days past depwatch.sample_retention.
CREATE TABLE sample (
	dependency_id	bigint NOT NULL REFERENCES dependency ON DELETE CASCADE,
	vantage			text NOT NULL,
	at				timestamptz NOT NULL,
	ok				boolean NOT NULL,
	latency			interval,
	detail			text
) PARTITION BY RANGE (at);
CREATE TABLE sample_default PARTITION OF sample DEFAULT;
-- Each partition has its own index and the parent none: pg_dump recreates
-- partition indexes by name, which would collide with the ones a parent
-- index (created again by CREATE EXTENSION on restore) makes on ATTACH.
CREATE INDEX ON sample_default (dependency_id, at);

-- Monitor gaps: a probed dependency's samples more than 3 x every apart
-- (or the first one that long after it was added).  Recorded as samples
-- are stored, so reports need not scan the samples, and kept when the
-- samples expire.
CREATE TABLE monitor_gap (
	dependency_id	bigint NOT NULL REFERENCES dependency ON DELETE CASCADE,
	after			timestamptz NOT NULL,
	before			timestamptz NOT NULL,
	unmonitored		tstzrange NOT NULL,
	PRIMARY KEY (dependency_id, before)
);
CREATE INDEX monitor_gap_unmonitored ON monitor_gap USING gist (unmonitored);

-- The state machine's streak counters between samples (report_sample and
-- the worker).  Whether an outage is open is read from depwatch.outage.
CREATE TABLE probe_state (
	dependency_id	bigint PRIMARY KEY REFERENCES dependency ON DELETE CASCADE,
	last_at			timestamptz,
	down_open		boolean NOT NULL DEFAULT false,
	down_streak		int NOT NULL DEFAULT 0,
	down_since		timestamptz,
	degraded_open	boolean NOT NULL DEFAULT false,
	degraded_streak	int NOT NULL DEFAULT 0,
	degraded_since	timestamptz
);

CREATE SEQUENCE incident_id_seq;
CREATE TABLE incident (
	id				bigint PRIMARY KEY DEFAULT nextval('depwatch.incident_id_seq'),
	title			text NOT NULL CHECK (btrim(title) <> ''),
	started_at		timestamptz NOT NULL,
	ended_at		timestamptz CHECK (ended_at > started_at),
	root_cause		text,
	facts			jsonb NOT NULL DEFAULT '{}',
	created_at		timestamptz NOT NULL DEFAULT now()
);
ALTER SEQUENCE incident_id_seq OWNED BY incident.id;

-- The dependencies an incident was opened with (none: every dependency with
-- a down outage overlapping the incident).
CREATE TABLE incident_dependency (
	incident_id		bigint NOT NULL REFERENCES incident ON DELETE CASCADE,
	dependency_id	bigint NOT NULL REFERENCES dependency,
	PRIMARY KEY (incident_id, dependency_id)
);

CREATE SEQUENCE outage_id_seq;
CREATE TABLE outage (
	id				bigint PRIMARY KEY DEFAULT nextval('depwatch.outage_id_seq'),
	dependency_id	bigint NOT NULL REFERENCES dependency ON DELETE CASCADE,
	kind			text NOT NULL CHECK (kind IN ('down', 'degraded')),
	during			tstzrange NOT NULL CHECK (NOT isempty(during) AND NOT lower_inf(during)
											  AND lower_inc(during) AND NOT upper_inc(during)),
	detected_at		timestamptz,
	source			text NOT NULL CHECK (source IN ('probe', 'passive', 'manual', 'import')),
	note			text,
	created_at		timestamptz NOT NULL DEFAULT now(),
	EXCLUDE USING gist (dependency_id WITH =, kind WITH =, during WITH &&)
);
ALTER SEQUENCE outage_id_seq OWNED BY outage.id;
-- the state machine looks up the ongoing outages of the dependencies it feeds
CREATE INDEX outage_ongoing ON outage (dependency_id) WHERE upper_inf(during);

CREATE SEQUENCE maintenance_id_seq;
CREATE TABLE maintenance (
	id				bigint PRIMARY KEY DEFAULT nextval('depwatch.maintenance_id_seq'),
	dependency_id	bigint REFERENCES dependency ON DELETE CASCADE,
	capability_id	bigint REFERENCES capability ON DELETE CASCADE,
	during			tstzrange NOT NULL CHECK (NOT isempty(during) AND NOT lower_inf(during)
											  AND NOT upper_inf(during)),
	note			text,
	created_at		timestamptz NOT NULL DEFAULT now(),
	CHECK ((dependency_id IS NULL) <> (capability_id IS NULL))
);
ALTER SEQUENCE maintenance_id_seq OWNED BY maintenance.id;
CREATE INDEX maintenance_during ON maintenance USING gist (during);

-- Append-only, SHA-256 hash-chained log of every change to the tables
-- above.  audit_head holds the hash of the last row: writers take its row
-- lock, so the chain never forks, and verify_audit() can tell when rows at
-- the end were removed.
-- Fee waiver policies, and the fee schedule that prices waived fees.
CREATE SEQUENCE fee_policy_id_seq;
CREATE TABLE fee_policy (
	id				bigint PRIMARY KEY DEFAULT nextval('depwatch.fee_policy_id_seq'),
	name			text NOT NULL UNIQUE CHECK (name ~ '^[a-z_][a-z0-9_]{0,62}$'),
	fee_types		text[],
	capabilities	text[],
	grace			interval NOT NULL DEFAULT '0' CHECK (grace >= interval '0'),
	per_customer_cap numeric CHECK (per_customer_cap >= 0),
	created_at		timestamptz NOT NULL DEFAULT now()
);
ALTER SEQUENCE fee_policy_id_seq OWNED BY fee_policy.id;

CREATE SEQUENCE fee_schedule_id_seq;
CREATE TABLE fee_schedule (
	id				bigint PRIMARY KEY DEFAULT nextval('depwatch.fee_schedule_id_seq'),
	fee_type		text NOT NULL,
	capability		text,
	amount			numeric NOT NULL CHECK (amount >= 0),
	effective		tstzrange NOT NULL CHECK (NOT isempty(effective) AND NOT lower_inf(effective)),
	EXCLUDE USING gist (fee_type WITH =, (coalesce(capability, '')) WITH =, effective WITH &&)
);
ALTER SEQUENCE fee_schedule_id_seq OWNED BY fee_schedule.id;

-- The bank's ledger relations, by name (pg_dump keeps names, not oids).
CREATE SEQUENCE ledger_binding_id_seq;
CREATE TABLE ledger_binding (
	id				bigint PRIMARY KEY DEFAULT nextval('depwatch.ledger_binding_id_seq'),
	contract		text NOT NULL UNIQUE
						CHECK (contract IN ('transfers', 'applications', 'balances', 'accounts')),
	relation		text NOT NULL,
	bound_at		timestamptz NOT NULL DEFAULT now()
);
ALTER SEQUENCE ledger_binding_id_seq OWNED BY ledger_binding.id;

CREATE SEQUENCE audit_log_id_seq;
CREATE TABLE audit_log (
	id				bigint PRIMARY KEY DEFAULT nextval('depwatch.audit_log_id_seq'),
	at				timestamptz NOT NULL,
	actor			text NOT NULL,
	action			text NOT NULL CHECK (action IN ('INSERT', 'UPDATE', 'DELETE')),
	table_name		text NOT NULL,
	row_id			bigint,
	old				jsonb,
	new				jsonb,
	prev_hash		bytea,
	hash			bytea NOT NULL
);
ALTER SEQUENCE audit_log_id_seq OWNED BY audit_log.id;
CREATE INDEX audit_log_row ON audit_log (table_name, row_id, id);

CREATE TABLE audit_head (
	one				boolean PRIMARY KEY DEFAULT true CHECK (one),
	last_id			bigint,
	last_hash		bytea
);

-- pg_dump keeps the bank's configuration and history.
SELECT pg_catalog.pg_extension_config_dump('dependency', '');
SELECT pg_catalog.pg_extension_config_dump('dependency_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('capability', '');
SELECT pg_catalog.pg_extension_config_dump('capability_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('sample_default', '');
SELECT pg_catalog.pg_extension_config_dump('probe_state', '');
SELECT pg_catalog.pg_extension_config_dump('monitor_gap', '');
SELECT pg_catalog.pg_extension_config_dump('incident', '');
SELECT pg_catalog.pg_extension_config_dump('incident_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('incident_dependency', '');
SELECT pg_catalog.pg_extension_config_dump('outage', '');
SELECT pg_catalog.pg_extension_config_dump('outage_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('maintenance', '');
SELECT pg_catalog.pg_extension_config_dump('maintenance_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('audit_log', '');
SELECT pg_catalog.pg_extension_config_dump('audit_log_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('audit_head', '');
SELECT pg_catalog.pg_extension_config_dump('ledger_binding', '');
SELECT pg_catalog.pg_extension_config_dump('ledger_binding_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('fee_policy', '');
SELECT pg_catalog.pg_extension_config_dump('fee_policy_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('fee_schedule', '');
SELECT pg_catalog.pg_extension_config_dump('fee_schedule_id_seq', '');

-- ---------------------------------------------------------------------------
-- Secrets: what readers and the audit log see of targets and options
-- ---------------------------------------------------------------------------
CREATE FUNCTION _mask_options(options jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT coalesce(jsonb_object_agg(key,
		CASE
			WHEN key = 'headers' AND jsonb_typeof(value) = 'object' THEN
				(SELECT coalesce(jsonb_object_agg(h.key, '********'), '{}') FROM jsonb_each(value) h)
			WHEN lower(key) ~ '(password|secret|token|authorization|api_key|apikey)' THEN
				'"********"'::jsonb
			ELSE value
		END), '{}'::jsonb)
	FROM jsonb_each(options)
$$;

-- _mask_row hides the secrets of a dependency row turned into jsonb.
CREATE FUNCTION _mask_row(table_name text, r jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
	SELECT CASE WHEN table_name = 'dependency' AND r IS NOT NULL THEN
		r || jsonb_build_object('target', depwatch._mask_probe_target(r->>'probe', r->>'target'),
								'options', depwatch._mask_options(r->'options'))
	ELSE r END
$$;

-- ---------------------------------------------------------------------------
-- Audit chain
-- ---------------------------------------------------------------------------

-- _audit_hash: the hash of one audit row chained to the hash before it.
-- The row is encoded as a JSON array, which is unambiguous, and the time as
-- microseconds since the epoch, which no session setting can change.
CREATE FUNCTION _audit_hash(prev_hash bytea, id bigint, at timestamptz, actor text,
							action text, table_name text, row_id bigint,
							old jsonb, new jsonb) RETURNS bytea
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT sha256(coalesce(prev_hash, '\x'::bytea) ||
		convert_to(jsonb_build_array(id, (extract(epoch FROM at) * 1000000)::bigint,
									 actor, action, table_name, row_id, old, new)::text,
				   'UTF8'))
$$;

-- _audit_actor: the role on whose behalf a change is made.  Inside the API's
-- SECURITY DEFINER functions current_user is the owner, so this reads the
-- session's role setting instead.
CREATE FUNCTION _audit_actor() RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT CASE WHEN current_setting('role') = 'none' THEN session_user::text
				ELSE current_setting('role') END
$$;

-- Rows are turned into jsonb in UTC and the postgres interval style, so
-- that what is logged does not depend on the session.
CREATE FUNCTION _audit_append() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
SET TimeZone = 'UTC'
SET IntervalStyle = 'postgres'
AS $$
#variable_conflict use_variable
DECLARE
	o jsonb := CASE WHEN TG_OP <> 'INSERT' THEN depwatch._mask_row(TG_TABLE_NAME, to_jsonb(OLD)) END;
	n jsonb := CASE WHEN TG_OP <> 'DELETE' THEN depwatch._mask_row(TG_TABLE_NAME, to_jsonb(NEW)) END;
	rid bigint := coalesce(n->>'id', o->>'id', n->>'incident_id', o->>'incident_id')::bigint;
	head depwatch.audit_head;
	row_ depwatch.audit_log;
BEGIN
	-- A restore (pg_dump, then psql or pg_restore) reloads the log before
	-- the tables it describes: re-inserting a row in a state the log holds,
	-- and has not seen changed or deleted since, is not a change.
	IF TG_OP = 'INSERT' AND EXISTS (
			SELECT FROM depwatch.audit_log a
			WHERE a.table_name = TG_TABLE_NAME AND a.row_id = rid AND a.new = n
			  AND NOT EXISTS (SELECT FROM depwatch.audit_log b
							  WHERE b.table_name = TG_TABLE_NAME AND b.row_id = rid
								AND b.id > a.id AND b.old = n)) THEN
		RETURN NULL;
	END IF;

	INSERT INTO depwatch.audit_head (one) VALUES (true) ON CONFLICT DO NOTHING;
	SELECT * INTO head FROM depwatch.audit_head FOR UPDATE;

	row_.id := nextval('depwatch.audit_log_id_seq');
	row_.at := clock_timestamp();
	row_.actor := depwatch._audit_actor();
	row_.action := TG_OP;
	row_.table_name := TG_TABLE_NAME;
	row_.row_id := rid;
	row_.old := o;
	row_.new := n;
	row_.prev_hash := head.last_hash;
	row_.hash := depwatch._audit_hash(row_.prev_hash, row_.id, row_.at, row_.actor, row_.action,
									  row_.table_name, row_.row_id, row_.old, row_.new);
	INSERT INTO depwatch.audit_log SELECT row_.*;
	UPDATE depwatch.audit_head SET last_id = row_.id, last_hash = row_.hash;
	RETURN NULL;
END
$$;

CREATE FUNCTION _audit_refuse() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
BEGIN
	RAISE EXCEPTION 'depwatch.audit_log is append-only'
		USING ERRCODE = 'insufficient_privilege',
			  DETAIL = format('%s on the audit log is refused.', TG_OP),
			  HINT = 'Audit rows are never changed or removed; verify_audit() checks the chain.';
END
$$;

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
	FOR EACH ROW EXECUTE FUNCTION _audit_refuse();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
	FOR EACH STATEMENT EXECUTE FUNCTION _audit_refuse();

CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON dependency
	FOR EACH ROW EXECUTE FUNCTION _audit_append();
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON capability
	FOR EACH ROW EXECUTE FUNCTION _audit_append();
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON outage
	FOR EACH ROW EXECUTE FUNCTION _audit_append();
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON maintenance
	FOR EACH ROW EXECUTE FUNCTION _audit_append();
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON incident
	FOR EACH ROW EXECUTE FUNCTION _audit_append();
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON ledger_binding
	FOR EACH ROW EXECUTE FUNCTION _audit_append();
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON fee_policy
	FOR EACH ROW EXECUTE FUNCTION _audit_append();
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON fee_schedule
	FOR EACH ROW EXECUTE FUNCTION _audit_append();
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON incident_dependency
	FOR EACH ROW EXECUTE FUNCTION _audit_append();

CREATE FUNCTION verify_audit() RETURNS TABLE(ok boolean, checked bigint, first_bad bigint)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
	WITH chain AS (
		SELECT a.id, a.hash,
			   a.prev_hash IS NOT DISTINCT FROM lag(a.hash) OVER w
			   AND a.hash = depwatch._audit_hash(lag(a.hash) OVER w, a.id, a.at, a.actor, a.action,
												 a.table_name, a.row_id, a.old, a.new) AS good,
			   lead(a.id) OVER w IS NULL AS last
		FROM depwatch.audit_log a
		WINDOW w AS (ORDER BY a.id)
	), judged AS (
		-- the last row must be the one the head points at: rows cut off the
		-- end of the log are caught here
		SELECT c.id, c.good AND (NOT c.last OR (h.last_id = c.id AND h.last_hash = c.hash)) AS good
		FROM chain c LEFT JOIN depwatch.audit_head h ON true
	)
	SELECT coalesce(bool_and(good), (SELECT h.last_id IS NULL FROM depwatch.audit_head h
									 UNION ALL SELECT true LIMIT 1)),
		   count(*),
		   min(id) FILTER (WHERE NOT good)
	FROM judged
$$;

-- ---------------------------------------------------------------------------
-- Views for people and BI tools
-- ---------------------------------------------------------------------------
CREATE VIEW dependencies AS
	SELECT d.id, d.name, d.kind, d.probe,
		   _mask_probe_target(d.probe, d.target) AS target,
		   d.every, d.timeout, d.fail_after, d.recover_after, d.degraded_after,
		   _mask_options(d.options) AS options,
		   d.site, d.vendor, d.enabled, d.created_at
	FROM dependency d;

-- _machine_rules: what the outage state machine needs of each dependency,
-- with the defaults of the passive error-rate rule.  report_sample and the
-- worker both read it.
CREATE VIEW _machine_rules AS
	SELECT d.id, d.name, d.probe, d.fail_after, d.recover_after, d.degraded_after,
		   coalesce((d.options->>'error_rate')::float8, 0.5) AS error_rate,
		   coalesce((d.options->>'min_calls')::int8, 10) AS min_calls,
		   coalesce((d.options->>'window')::interval, interval '1 min') AS "window"
	FROM dependency d;

CREATE VIEW requirements AS
	SELECT c.name AS capability, r.requirement, c.requires[r.requirement] AS "group",
		   r.k, r.members
	FROM capability c, LATERAL parse_requirements(c.requires) r;

CREATE VIEW outages AS
	SELECT o.id, d.name AS dependency, o.kind,
		   lower(o.during) AS started_at,
		   CASE WHEN upper_inf(o.during) THEN NULL ELSE upper(o.during) END AS ended_at,
		   o.detected_at, o.source, o.note,
		   (SELECT i.id FROM incident i
			WHERE tstzrange(i.started_at, i.ended_at, '[]') && o.during
			  AND (NOT EXISTS (SELECT FROM incident_dependency x WHERE x.incident_id = i.id)
				   OR EXISTS (SELECT FROM incident_dependency x
							  WHERE x.incident_id = i.id AND x.dependency_id = o.dependency_id))
			ORDER BY i.started_at, i.id LIMIT 1) AS incident
	FROM outage o JOIN dependency d ON d.id = o.dependency_id;

-- ---------------------------------------------------------------------------
-- Configuration API.  Every function checks its input and raises an error
-- with a SQLSTATE, a message naming the bad value, and a hint; nothing is
-- written unless everything is valid.
-- ---------------------------------------------------------------------------

-- _clip: a value as an error message quotes it, its first 97 characters
-- and "..." when it is longer than 100, so that a huge argument is never
-- sent back whole.
CREATE FUNCTION _clip(v text) RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT CASE WHEN length(v) > 100 THEN left(v, 97) || '...' ELSE v END
$$;

-- _check_name: a new dependency or capability name, unused by either.
CREATE FUNCTION _check_name(name text, what text) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
BEGIN
	IF name IS NULL THEN
		RAISE EXCEPTION '% name must not be NULL', what
			USING ERRCODE = 'null_value_not_allowed',
				  HINT = 'Names are lower-case identifiers such as ''credit_bureau_a''.';
	END IF;
	IF name !~ '^[a-z_][a-z0-9_]{0,62}$' THEN
		RAISE EXCEPTION '% name "%" is not a lower-case identifier', what,
				depwatch._clip(name)
			USING ERRCODE = 'invalid_name',
				  DETAIL = 'A name starts with a letter or underscore, goes on with letters, digits or underscores, and is at most 63 characters long.',
				  HINT = 'Use a name such as ''credit_bureau_a''.';
	END IF;
	IF EXISTS (SELECT FROM depwatch.dependency d WHERE d.name = _check_name.name) THEN
		RAISE EXCEPTION 'a dependency named "%" already exists', name
			USING ERRCODE = 'duplicate_object',
				  HINT = 'Dependencies and capabilities share one namespace; choose another name or use alter_dependency().';
	END IF;
	IF EXISTS (SELECT FROM depwatch.capability c WHERE c.name = _check_name.name) THEN
		RAISE EXCEPTION 'a capability named "%" already exists', name
			USING ERRCODE = 'duplicate_object',
				  HINT = 'Dependencies and capabilities share one namespace; choose another name or use alter_capability().';
	END IF;
END
$$;

-- _check_options: the options a probe understands, with the right types.
CREATE FUNCTION _check_options(probe text, options jsonb) RETURNS void
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
		"error_rate": "number", "window": "string", "min_calls": "number"}';
	allowed CONSTANT jsonb := '{
		"tcp": ["slo", "quorum"],
		"http": ["slo", "quorum", "method", "expect_status", "body_contains", "headers", "verify_tls"],
		"postgres": ["slo", "quorum", "query"],
		"passive": ["slo", "quorum", "error_rate", "window", "min_calls"],
		"none": ["slo", "quorum"]}';
	e record;
	num numeric;
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
		IF jsonb_typeof(e.value) = 'number' THEN
			num := e.value::text::numeric;
			IF (e.key = 'slo' AND NOT (num > 0 AND num <= 100))
			   OR (e.key = 'error_rate' AND NOT (num > 0 AND num <= 1))
			   OR (e.key IN ('min_calls', 'quorum') AND NOT (num >= 1 AND num = trunc(num) AND num < 2147483648)) THEN
				RAISE EXCEPTION 'option "%" is out of range: %', e.key, depwatch._clip(num::text)
					USING ERRCODE = 'numeric_value_out_of_range',
						  HINT = 'slo is in (0, 100], error_rate in (0, 1], min_calls and quorum are whole numbers of at least 1.';
			END IF;
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
END
$$;

-- _check_dependency: every rule a dependency row must meet, for add and alter.
CREATE FUNCTION _check_dependency(d depwatch.dependency) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
BEGIN
	IF d.kind IS NULL OR d.kind NOT IN ('credit_bureau', 'identity', 'messaging', 'datacenter',
										 'payment_network', 'core', 'other') THEN
		RAISE EXCEPTION 'unknown dependency kind "%"',
				coalesce(depwatch._clip(d.kind), 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Use one of credit_bureau, identity, messaging, datacenter, payment_network, core or other.';
	END IF;
	PERFORM depwatch._check_probe_target(d.probe, d.target);
	IF d.every IS NULL OR d.every < interval '100 ms' OR d.every > interval '1 day' THEN
		RAISE EXCEPTION 'probe interval "every" must be from 100 ms to 1 day, not %', coalesce(d.every::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Probe every few seconds: ''10 s'' is the default.';
	END IF;
	IF d.timeout IS NULL OR d.timeout <= interval '0' OR d.timeout > d.every THEN
		RAISE EXCEPTION 'timeout % must be positive and at most the probe interval %',
				coalesce(d.timeout::text, 'NULL'), d.every
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = 'A probe must end before the next one starts.',
				  HINT = 'Lower the timeout or probe less often.';
	END IF;
	IF d.fail_after IS NULL OR d.fail_after < 1 THEN
		RAISE EXCEPTION 'fail_after must be at least 1, not %', coalesce(d.fail_after::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'fail_after is how many bad samples in a row open an outage; 3 is the default.';
	END IF;
	IF d.recover_after IS NULL OR d.recover_after < 1 THEN
		RAISE EXCEPTION 'recover_after must be at least 1, not %', coalesce(d.recover_after::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'recover_after is how many good samples in a row close an outage; 2 is the default.';
	END IF;
	IF d.degraded_after <= interval '0' OR d.degraded_after > interval '1 day' THEN
		RAISE EXCEPTION 'degraded_after must be positive and at most 1 day, not %', d.degraded_after
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass NULL if no latency counts as slow.';
	END IF;
	IF length(d.site) > 200 OR length(d.vendor) > 200 THEN
		RAISE EXCEPTION '% is longer than 200 characters', CASE WHEN length(d.site) > 200 THEN 'site' ELSE 'vendor' END
			USING ERRCODE = 'string_data_right_truncation',
				  HINT = 'Name the data center, region or vendor, such as ''dc_pangyo''.';
	END IF;
	PERFORM depwatch._check_options(d.probe, d.options);
END
$$;

-- _check_probe_query: the worker runs a postgres probe's query with
-- whatever rights its conninfo obtains, possibly through the server's own
-- credentials (peer or trust authentication, ~/.pgpass), as a superuser of
-- this or another server.  Only a superuser may therefore set a query, or
-- point one at another server; old is NULL for a new dependency.
CREATE FUNCTION _check_probe_query(d depwatch.dependency, old depwatch.dependency) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
BEGIN
	IF d.probe = 'postgres' AND d.options ? 'query'
	   AND (old.id IS NULL OR (old.probe, old.target, old.options->'query')
							   IS DISTINCT FROM (d.probe, d.target, d.options->'query'))
	   AND NOT coalesce((SELECT r.rolsuper FROM pg_roles r WHERE r.rolname = depwatch._audit_actor()), false) THEN
		RAISE EXCEPTION 'only a superuser may set the query of a postgres probe, or change its target'
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = 'The probe worker runs the query with whatever rights the connection obtains, which may be a superuser''s.',
				  HINT = 'Leave out the option "query" (the probe then runs SELECT 1), or ask a superuser.';
	END IF;
END
$$;

CREATE FUNCTION _dependency_id(name text) RETURNS bigint
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	result bigint;
BEGIN
	SELECT d.id INTO result FROM depwatch.dependency d WHERE d.name = _dependency_id.name;
	IF result IS NULL THEN
		RAISE EXCEPTION 'dependency "%" does not exist', coalesce(name, 'NULL')
			USING ERRCODE = 'undefined_object',
				  HINT = 'See depwatch.dependencies for the dependencies there are.';
	END IF;
	RETURN result;
END
$$;

CREATE FUNCTION add_dependency(name text, kind text, probe text DEFAULT 'none',
							   target text DEFAULT NULL, every interval DEFAULT '10 s',
							   timeout interval DEFAULT '2 s', fail_after int DEFAULT 3,
							   recover_after int DEFAULT 2, degraded_after interval DEFAULT NULL,
							   options jsonb DEFAULT '{}', site text DEFAULT NULL,
							   vendor text DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	d depwatch.dependency;
BEGIN
	PERFORM depwatch._check_name(name, 'dependency');
	d.name := name; d.kind := kind; d.probe := probe; d.target := target;
	d.every := every; d.timeout := timeout; d.fail_after := fail_after;
	d.recover_after := recover_after; d.degraded_after := degraded_after;
	d.options := options; d.site := site; d.vendor := vendor;
	PERFORM depwatch._check_dependency(d);
	PERFORM depwatch._check_probe_query(d, NULL);
	INSERT INTO depwatch.dependency (name, kind, probe, target, every, timeout, fail_after,
									 recover_after, degraded_after, options, site, vendor)
	VALUES (d.name, d.kind, d.probe, d.target, d.every, d.timeout, d.fail_after,
			d.recover_after, d.degraded_after, d.options, d.site, d.vendor)
	RETURNING id INTO d.id;
	RETURN d.id;
END
$$;

-- alter_dependency: NULL leaves a setting as it is; degraded_after '0' and
-- an empty site or vendor clear them.
CREATE FUNCTION alter_dependency(name text, kind text DEFAULT NULL, probe text DEFAULT NULL,
								 target text DEFAULT NULL, every interval DEFAULT NULL,
								 timeout interval DEFAULT NULL, fail_after int DEFAULT NULL,
								 recover_after int DEFAULT NULL, degraded_after interval DEFAULT NULL,
								 options jsonb DEFAULT NULL, site text DEFAULT NULL,
								 vendor text DEFAULT NULL, enabled boolean DEFAULT NULL) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	d depwatch.dependency;
	old depwatch.dependency;
BEGIN
	-- NO KEY UPDATE: the probe worker's key-share locks need not wait for us
	SELECT * INTO d FROM depwatch.dependency x
	WHERE x.id = depwatch._dependency_id(alter_dependency.name) FOR NO KEY UPDATE;
	old := d;
	d.kind := coalesce(kind, d.kind);
	d.probe := coalesce(probe, d.probe);
	d.target := coalesce(target, d.target);
	d.every := coalesce(every, d.every);
	d.timeout := coalesce(timeout, d.timeout);
	d.fail_after := coalesce(fail_after, d.fail_after);
	d.recover_after := coalesce(recover_after, d.recover_after);
	d.degraded_after := CASE WHEN degraded_after = interval '0' THEN NULL
							 ELSE coalesce(degraded_after, d.degraded_after) END;
	d.options := coalesce(options, d.options);
	d.site := CASE WHEN site = '' THEN NULL ELSE coalesce(site, d.site) END;
	d.vendor := CASE WHEN vendor = '' THEN NULL ELSE coalesce(vendor, d.vendor) END;
	d.enabled := coalesce(enabled, d.enabled);
	PERFORM depwatch._check_dependency(d);
	PERFORM depwatch._check_probe_query(d, old);
	UPDATE depwatch.dependency x
	   SET kind = d.kind, probe = d.probe, target = d.target, every = d.every,
		   timeout = d.timeout, fail_after = d.fail_after, recover_after = d.recover_after,
		   degraded_after = d.degraded_after, options = d.options, site = d.site,
		   vendor = d.vendor, enabled = d.enabled
	 WHERE x.id = d.id
	   AND (x.kind, x.probe, x.target, x.every, x.timeout, x.fail_after, x.recover_after,
			x.degraded_after, x.options, x.site, x.vendor, x.enabled)
		   IS DISTINCT FROM
		   (d.kind, d.probe, d.target, d.every, d.timeout, d.fail_after, d.recover_after,
			d.degraded_after, d.options, d.site, d.vendor, d.enabled);
END
$$;

-- _refuse_if_required: a dependency or capability that capabilities still
-- require cannot be dropped.
CREATE FUNCTION _refuse_if_required(name text, what text) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	users text;
BEGIN
	SELECT string_agg(DISTINCT r.capability, ', ' ORDER BY r.capability) INTO users
	FROM depwatch.requirements r WHERE name = ANY (r.members);
	IF users IS NOT NULL THEN
		RAISE EXCEPTION 'cannot drop % "%" because capabilities require it', what, name
			USING ERRCODE = 'dependent_objects_still_exist',
				  DETAIL = format('Required by: %s.', users),
				  HINT = 'Change those capabilities with alter_capability() first.';
	END IF;
END
$$;

-- drop_dependency removes a dependency with its samples, outages and
-- maintenance (the audit log keeps them); it refuses while a capability
-- requires it or an incident names it.
CREATE FUNCTION drop_dependency(name text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	dep_id bigint := depwatch._dependency_id(name);
	users text;
BEGIN
	PERFORM depwatch._refuse_if_required(name, 'dependency');
	SELECT string_agg(x.incident_id::text, ', ' ORDER BY x.incident_id) INTO users
	FROM depwatch.incident_dependency x WHERE x.dependency_id = dep_id;
	IF users IS NOT NULL THEN
		RAISE EXCEPTION 'cannot drop dependency "%" because incidents name it', name
			USING ERRCODE = 'dependent_objects_still_exist',
				  DETAIL = format('Named by incidents: %s.', users),
				  HINT = 'Disable it instead: alter_dependency(name, enabled => false).';
	END IF;
	DELETE FROM depwatch.dependency WHERE id = dep_id;
END
$$;

-- _check_requirements: every group parses, every member exists, and the
-- capability "name" would not come to require itself.
CREATE FUNCTION _check_requirements(name text, requires text[]) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	g record;
	m text;
	cycle text[];
BEGIN
	FOR g IN SELECT * FROM depwatch.parse_requirements(requires) LOOP
		FOREACH m IN ARRAY g.members LOOP
			IF m = name THEN
				RAISE EXCEPTION 'capability "%" cannot require itself', name
					USING ERRCODE = 'invalid_object_definition',
						  DETAIL = format('Requirement group %s is "%s".', g.requirement, requires[g.requirement]),
						  HINT = 'A capability requires dependencies or other capabilities.';
			END IF;
			IF NOT EXISTS (SELECT FROM depwatch.dependency d WHERE d.name = m)
			   AND NOT EXISTS (SELECT FROM depwatch.capability c WHERE c.name = m) THEN
				RAISE EXCEPTION 'requirement group "%" names "%", which is neither a dependency nor a capability',
						requires[g.requirement], m
					USING ERRCODE = 'undefined_object',
						  HINT = 'Add it with add_dependency() or add_capability() first.';
			END IF;
		END LOOP;
	END LOOP;

	-- Walk down from the new members through capabilities as they are now
	-- (without "name"'s own current groups, which are being replaced).
	WITH RECURSIVE walk(member, path) AS (
		SELECT mm, ARRAY[name, mm]
		FROM depwatch.parse_requirements(requires) r, unnest(r.members) mm
		UNION ALL
		SELECT mm, w.path || mm
		FROM walk w
		JOIN depwatch.capability c ON c.name = w.member AND c.name <> name
		CROSS JOIN LATERAL depwatch.parse_requirements(c.requires) r
		CROSS JOIN LATERAL unnest(r.members) mm
		WHERE cardinality(w.path) < 100
	)
	SELECT path INTO cycle FROM walk WHERE member = name LIMIT 1;
	IF cycle IS NOT NULL THEN
		RAISE EXCEPTION 'capability "%" would require itself through %', name, array_to_string(cycle, ' -> ')
			USING ERRCODE = 'invalid_object_definition',
				  DETAIL = 'Capability requirements must not form a cycle.',
				  HINT = 'Remove one of the capabilities on that path from the requirements.';
	END IF;
END
$$;

-- _normalize_requirements writes groups the one way they are stored:
-- no blanks, and no '1:'.
CREATE FUNCTION _normalize_requirements(requires text[]) RETURNS text[]
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
	SELECT array_agg(CASE WHEN r.k > 1 THEN r.k || ':' ELSE '' END || array_to_string(r.members, '|')
					 ORDER BY r.requirement)
	FROM depwatch.parse_requirements(requires) r
$$;

CREATE FUNCTION _check_capability_settings(slo numeric, impact_tolerance interval) RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
BEGIN
	IF slo IS NULL OR NOT (slo > 0 AND slo <= 100) THEN
		RAISE EXCEPTION 'slo must be in (0, 100], not %', coalesce(slo::text, 'NULL')
			USING ERRCODE = 'numeric_value_out_of_range',
				  HINT = 'The SLO is a percentage of monitored time, such as 99.95.';
	END IF;
	IF impact_tolerance <= interval '0' THEN
		RAISE EXCEPTION 'impact_tolerance must be positive, not %', impact_tolerance
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'It is the longest one outage may last, such as ''2 hours''; NULL for none.';
	END IF;
END
$$;

CREATE FUNCTION add_capability(name text, requires text[], slo numeric DEFAULT 99.9,
							   impact_tolerance interval DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	result bigint;
BEGIN
	PERFORM depwatch._check_name(name, 'capability');
	PERFORM depwatch._check_requirements(name, requires);
	PERFORM depwatch._check_capability_settings(slo, impact_tolerance);
	INSERT INTO depwatch.capability (name, requires, slo, impact_tolerance)
	VALUES (name, depwatch._normalize_requirements(requires), slo, impact_tolerance)
	RETURNING id INTO result;
	RETURN result;
END
$$;

CREATE FUNCTION _capability_id(name text) RETURNS bigint
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	result bigint;
BEGIN
	SELECT c.id INTO result FROM depwatch.capability c WHERE c.name = _capability_id.name;
	IF result IS NULL THEN
		RAISE EXCEPTION 'capability "%" does not exist', coalesce(name, 'NULL')
			USING ERRCODE = 'undefined_object',
				  HINT = 'See depwatch.capability for the capabilities there are.';
	END IF;
	RETURN result;
END
$$;

-- alter_capability: NULL leaves a setting as it is; impact_tolerance '0'
-- clears it.
CREATE FUNCTION alter_capability(name text, requires text[] DEFAULT NULL, slo numeric DEFAULT NULL,
								 impact_tolerance interval DEFAULT NULL) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	c depwatch.capability;
BEGIN
	SELECT * INTO c FROM depwatch.capability x
	WHERE x.id = depwatch._capability_id(alter_capability.name) FOR UPDATE;
	IF requires IS NOT NULL THEN
		PERFORM depwatch._check_requirements(name, requires);
		c.requires := depwatch._normalize_requirements(requires);
	END IF;
	c.slo := coalesce(slo, c.slo);
	c.impact_tolerance := CASE WHEN impact_tolerance = interval '0' THEN NULL
							   ELSE coalesce(impact_tolerance, c.impact_tolerance) END;
	PERFORM depwatch._check_capability_settings(c.slo, c.impact_tolerance);
	UPDATE depwatch.capability x
	   SET requires = c.requires, slo = c.slo, impact_tolerance = c.impact_tolerance
	 WHERE x.id = c.id
	   AND (x.requires, x.slo, x.impact_tolerance) IS DISTINCT FROM (c.requires, c.slo, c.impact_tolerance);
END
$$;

CREATE FUNCTION drop_capability(name text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	cap_id bigint := depwatch._capability_id(name);
BEGIN
	PERFORM depwatch._refuse_if_required(name, 'capability');
	DELETE FROM depwatch.capability WHERE id = cap_id;
END
$$;

-- ---------------------------------------------------------------------------
-- Operations API: maintenance, outages, incidents
-- ---------------------------------------------------------------------------
CREATE FUNCTION add_maintenance(target text, during tstzrange, note text DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	dep_id bigint;
	cap_id bigint;
	result bigint;
BEGIN
	SELECT d.id INTO dep_id FROM depwatch.dependency d WHERE d.name = target;
	SELECT c.id INTO cap_id FROM depwatch.capability c WHERE c.name = target;
	IF dep_id IS NULL AND cap_id IS NULL THEN
		RAISE EXCEPTION 'no dependency or capability is named "%"', coalesce(target, 'NULL')
			USING ERRCODE = 'undefined_object',
				  HINT = 'Maintenance is planned on a dependency or a capability.';
	END IF;
	IF during IS NULL OR isempty(during) THEN
		RAISE EXCEPTION 'maintenance window on "%" must not be empty, not %', target, coalesce(during::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass a window such as tstzrange(''2026-11-28 02:00+09'', ''2026-11-28 04:00+09'').';
	END IF;
	IF lower_inf(during) OR upper_inf(during) THEN
		RAISE EXCEPTION 'maintenance window % on "%" is unbounded', during, target
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Planned maintenance has a start and an end.';
	END IF;
	INSERT INTO depwatch.maintenance (dependency_id, capability_id, during, note)
	VALUES (dep_id, cap_id, during, note)
	RETURNING id INTO result;
	RETURN result;
END
$$;

CREATE FUNCTION _check_kind(kind text) RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
BEGIN
	IF kind IS NULL OR kind NOT IN ('down', 'degraded') THEN
		RAISE EXCEPTION 'unknown outage kind "%"', coalesce(kind, 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'An outage is ''down'' or ''degraded''.';
	END IF;
END
$$;

-- record_outage records an outage by hand (source 'manual'); ended_at NULL
-- leaves it open until end_outage().
CREATE FUNCTION record_outage(dependency text, started_at timestamptz, ended_at timestamptz DEFAULT NULL,
							  kind text DEFAULT 'down', note text DEFAULT NULL,
							  detected_at timestamptz DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	dep_id bigint := depwatch._dependency_id(dependency);
	clash record;
	result bigint;
BEGIN
	PERFORM depwatch._check_kind(kind);
	IF started_at IS NULL OR NOT isfinite(started_at) THEN
		RAISE EXCEPTION 'outage start must be a finite time, not %', coalesce(started_at::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass when the outage started.';
	END IF;
	IF ended_at <= started_at OR ended_at = 'infinity' THEN
		RAISE EXCEPTION 'outage of "%" ends at % but starts at %', dependency, ended_at, started_at
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'The end must come after the start; pass NULL for an outage still going on.';
	END IF;
	IF detected_at < started_at OR NOT isfinite(detected_at) THEN
		RAISE EXCEPTION 'outage of "%" is detected at % but starts at %', dependency, detected_at, started_at
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'An outage is detected at or after its start; pass NULL if nobody knows when.';
	END IF;
	SELECT o.id, o.during INTO clash FROM depwatch.outage o
	WHERE o.dependency_id = dep_id AND o.kind = record_outage.kind
	  AND o.during && tstzrange(started_at, ended_at)
	ORDER BY lower(o.during) LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION '% outage of "%" from % overlaps outage % (%)', kind, dependency, started_at,
				clash.id, clash.during
			USING ERRCODE = 'exclusion_violation',
				  DETAIL = 'Two outages of one dependency and kind never overlap.',
				  HINT = 'Change the window, or end the other outage first with end_outage().';
	END IF;
	INSERT INTO depwatch.outage (dependency_id, kind, during, detected_at, source, note)
	VALUES (dep_id, kind, tstzrange(started_at, ended_at), detected_at, 'manual', note)
	RETURNING id INTO result;
	RETURN result;
END
$$;

CREATE FUNCTION end_outage(dependency text, ended_at timestamptz DEFAULT now(),
						   kind text DEFAULT 'down') RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	dep_id bigint := depwatch._dependency_id(dependency);
	o depwatch.outage;
BEGIN
	PERFORM depwatch._check_kind(kind);
	SELECT * INTO o FROM depwatch.outage x
	WHERE x.dependency_id = dep_id AND x.kind = end_outage.kind AND upper_inf(x.during)
	FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'dependency "%" has no ongoing % outage', dependency, kind
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = 'See depwatch.outages for its outages.';
	END IF;
	IF ended_at IS NULL OR NOT isfinite(ended_at) OR ended_at <= lower(o.during) THEN
		RAISE EXCEPTION 'outage % of "%" started at %, so it cannot end at %', o.id, dependency,
				lower(o.during), coalesce(ended_at::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'The end must come after the start.';
	END IF;
	UPDATE depwatch.outage SET during = tstzrange(lower(during), ended_at) WHERE id = o.id;
	RETURN o.id;
END
$$;

CREATE FUNCTION open_incident(title text, started_at timestamptz DEFAULT now(),
							  dependencies text[] DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	result bigint;
	dep text;
BEGIN
	IF title IS NULL OR btrim(title) = '' THEN
		RAISE EXCEPTION 'incident title must not be empty'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Name the incident, such as ''credit bureaus overloaded on launch day''.';
	END IF;
	IF started_at IS NULL OR NOT isfinite(started_at) THEN
		RAISE EXCEPTION 'incident start must be a finite time, not %', coalesce(started_at::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass when the incident started.';
	END IF;
	INSERT INTO depwatch.incident (title, started_at) VALUES (title, started_at)
	RETURNING id INTO result;
	FOREACH dep IN ARRAY coalesce(dependencies, '{}') LOOP
		INSERT INTO depwatch.incident_dependency VALUES (result, depwatch._dependency_id(dep))
		ON CONFLICT DO NOTHING;
	END LOOP;
	RETURN result;
END
$$;

CREATE FUNCTION close_incident(incident bigint, ended_at timestamptz DEFAULT now(),
							   root_cause text DEFAULT NULL) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	i depwatch.incident;
BEGIN
	SELECT * INTO i FROM depwatch.incident x WHERE x.id = close_incident.incident FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'incident % does not exist', coalesce(incident::text, 'NULL')
			USING ERRCODE = 'undefined_object',
				  HINT = 'See depwatch.incident for the incidents there are.';
	END IF;
	IF i.ended_at IS NOT NULL THEN
		RAISE EXCEPTION 'incident % is already closed (at %)', i.id, i.ended_at
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = 'An incident is closed once.';
	END IF;
	IF ended_at IS NULL OR NOT isfinite(ended_at) OR ended_at <= i.started_at THEN
		RAISE EXCEPTION 'incident % started at %, so it cannot end at %', i.id, i.started_at,
				coalesce(ended_at::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'The end must come after the start.';
	END IF;
	UPDATE depwatch.incident x
	   SET ended_at = close_incident.ended_at,
		   root_cause = coalesce(close_incident.root_cause, x.root_cause)
	 WHERE x.id = i.id;
END
$$;

-- ---------------------------------------------------------------------------
-- Samples and the outage state machine (C)
-- ---------------------------------------------------------------------------
CREATE FUNCTION report_sample(dependency text, ok boolean, latency interval DEFAULT NULL,
							  at timestamptz DEFAULT now(), vantage text DEFAULT NULL,
							  detail text DEFAULT NULL) RETURNS void
	AS 'MODULE_PATHNAME', 'dw_report_sample'
	LANGUAGE C VOLATILE SECURITY DEFINER
	SET search_path = pg_catalog, depwatch, pg_temp;

CREATE FUNCTION derive_outages(dependency text, period tstzrange DEFAULT NULL,
							   fail_after int DEFAULT NULL, recover_after int DEFAULT NULL)
	RETURNS TABLE(kind text, started_at timestamptz, ended_at timestamptz, bad_samples bigint)
	AS 'MODULE_PATHNAME', 'dw_derive_outages'
	LANGUAGE C STABLE SECURITY DEFINER
	SET search_path = pg_catalog, depwatch, pg_temp;

-- maintain_sample_partitions makes the daily partitions of the next days
-- (moving any rows the default partition holds for them) and drops the
-- partitions, and deletes the default partition's rows, older than the
-- retention (depwatch.sample_retention unless given).  The probe worker
-- calls it; it can be called by hand or from a scheduler.
CREATE FUNCTION maintain_sample_partitions(days_ahead int DEFAULT 3, retention interval DEFAULT NULL)
	RETURNS TABLE(action text, partition text)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
SET TimeZone = 'UTC'
AS $$
#variable_conflict use_variable
DECLARE
	cutoff timestamptz;
	day date;
	part text;
	lo timestamptz;
	hi timestamptz;
	r record;
BEGIN
	IF days_ahead IS NULL OR days_ahead < 0 OR days_ahead > 366 THEN
		RAISE EXCEPTION 'days_ahead must be from 0 to 366, not %', coalesce(days_ahead::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'A few days ahead is enough; the worker calls this every hour.';
	END IF;
	IF retention < interval '1 day' OR retention > interval '100 years' THEN
		RAISE EXCEPTION 'sample retention must be from 1 day to 100 years, not %', retention
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Keep samples for as long as availability reports look back, such as ''90 days''.';
	END IF;
	cutoff := date_trunc('day', now() - coalesce(retention, depwatch._sample_retention()));
	FOR day IN SELECT generate_series(current_date, current_date + days_ahead, interval '1 day')::date LOOP
		part := 'sample_' || to_char(day, 'YYYYMMDD');
		CONTINUE WHEN to_regclass('depwatch.' || part) IS NOT NULL;
		lo := day::timestamptz;
		hi := (day + 1)::timestamptz;
		EXECUTE format('CREATE TABLE depwatch.%I (LIKE depwatch.sample)', part);
		EXECUTE format('WITH moved AS (DELETE FROM depwatch.sample_default WHERE at >= $1 AND at < $2 RETURNING *)
						INSERT INTO depwatch.%I SELECT * FROM moved', part) USING lo, hi;
		EXECUTE format('CREATE INDEX ON depwatch.%I (dependency_id, at)', part);
		EXECUTE format('ALTER TABLE depwatch.sample ATTACH PARTITION depwatch.%I FOR VALUES FROM (%L) TO (%L)',
					   part, lo, hi);
		action := 'created'; partition := part;
		RETURN NEXT;
	END LOOP;

	FOR r IN
		SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) AS bound
		FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'depwatch.sample'::regclass AND c.relname ~ '^sample_[0-9]{8}$'
		  AND to_date(substr(c.relname, 8), 'YYYYMMDD') + 1 <= cutoff::date
		ORDER BY c.relname
	LOOP
		EXECUTE format('DROP TABLE depwatch.%I', r.relname);
		action := 'dropped'; partition := r.relname;
		RETURN NEXT;
	END LOOP;
	DELETE FROM depwatch.sample_default WHERE at < cutoff;
END
$$;

-- ---------------------------------------------------------------------------
-- Status
-- ---------------------------------------------------------------------------

-- _unmonitored_now: the probed dependencies nobody is watching now (no
-- sample for 3 x their interval, or disabled), and since when.  One that
-- is down stays down: its last word was an outage.
CREATE FUNCTION _unmonitored_now()
	RETURNS TABLE(dependency_id bigint, since timestamptz)
LANGUAGE sql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
	SELECT d.id,
		   CASE WHEN NOT d.enabled THEN coalesce(s.last_at, d.created_at)
				ELSE coalesce(s.last_at, d.created_at) + 3 * d.every END
	FROM depwatch.dependency d
	LEFT JOIN depwatch.probe_state s ON s.dependency_id = d.id
	WHERE d.probe IN ('tcp', 'http', 'postgres')
	  AND (NOT d.enabled OR coalesce(s.last_at, d.created_at) + 3 * d.every < now())
	  AND NOT EXISTS (SELECT FROM depwatch.outage o
					  WHERE o.dependency_id = d.id AND o.kind = 'down' AND o.during @> now())
$$;

-- _monitor_gaps: the unmonitored windows of every probed dependency that
-- touch [lo, hi) (SPEC section 3, "Unmonitored time"): the recorded gaps
-- (monitor_gap, including the time before its first sample or before it
-- was added, whichever came first), the time before a never-sampled one
-- was added, and the gap still open since the last sample (3 x every
-- after it; from the sample itself when the dependency is disabled).  A
-- gap that one down outage spans from end to end is not unmonitored: the
-- dependency was down at both ends and stays down.
CREATE FUNCTION _monitor_gaps(lo timestamptz, hi timestamptz)
	RETURNS TABLE(dependency_id bigint, gap_from timestamptz, gap_to timestamptz)
LANGUAGE sql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
	WITH gap AS (
		SELECT g.dependency_id, g.after, g.before, lower(g.unmonitored) AS gap_from,
			   upper(g.unmonitored) AS gap_to
		FROM depwatch.monitor_gap g
		JOIN depwatch.dependency d ON d.id = g.dependency_id AND d.probe IN ('tcp', 'http', 'postgres')
		WHERE g.unmonitored && tstzrange(lo, hi)
		UNION ALL
		-- never sampled: nobody watched it before it was added
		SELECT d.id, '-infinity', d.created_at, NULL, d.created_at
		FROM depwatch.dependency d
		LEFT JOIN depwatch.probe_state s ON s.dependency_id = d.id
		WHERE d.probe IN ('tcp', 'http', 'postgres') AND s.last_at IS NULL AND d.created_at > lo
		UNION ALL
		SELECT d.id, b.after, now(),
			   b.after + CASE WHEN d.enabled THEN 3 * d.every ELSE interval '0' END, now()
		FROM depwatch.dependency d
		LEFT JOIN depwatch.probe_state s ON s.dependency_id = d.id
		CROSS JOIN LATERAL (SELECT coalesce(s.last_at, d.created_at) AS after) b
		WHERE d.probe IN ('tcp', 'http', 'postgres')
		  AND b.after + CASE WHEN d.enabled THEN 3 * d.every ELSE interval '0' END < least(hi, now())
	)
	SELECT g.dependency_id, g.gap_from, g.gap_to
	FROM gap g
	WHERE NOT EXISTS (SELECT FROM depwatch.outage o
					  WHERE o.dependency_id = g.dependency_id AND o.kind = 'down'
						AND lower(o.during) <= g.after
						AND (upper_inf(o.during) OR upper(o.during) > g.before))
$$;

-- _capability_status: what each capability is doing now, from its
-- members' current states (C: subjects.c, timeline.c).
CREATE FUNCTION _capability_status()
	RETURNS TABLE(target text, state text, since timestamptz)
	AS 'MODULE_PATHNAME', 'dw_capability_status'
	LANGUAGE C STABLE;

-- current_status: what each dependency and capability is doing now.  A
-- probed dependency with no sample for 3 x its interval (or disabled) is
-- unmonitored unless it is down; planned maintenance shows over anything.
CREATE FUNCTION current_status()
	RETURNS TABLE(target text, target_type text, state text, since timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
	SELECT d.name, 'dependency',
		   CASE WHEN m.since IS NOT NULL THEN 'maintenance'
				WHEN dn.since IS NOT NULL THEN 'down'
				WHEN u.since IS NOT NULL THEN 'unmonitored'
				WHEN dg.since IS NOT NULL THEN 'degraded'
				ELSE 'up' END,
		   coalesce(m.since, dn.since, u.since, dg.since,
					greatest(d.created_at, last_end.at))
	FROM depwatch.dependency d
	LEFT JOIN depwatch._unmonitored_now() u ON u.dependency_id = d.id
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
	SELECT c.target, 'capability', c.state, c.since FROM depwatch._capability_status() c
	ORDER BY 2 DESC, 1
$$;

-- redundancy_risks: requirement groups whose alternatives share a site or a
-- vendor.  breaks_group says whether losing that site or vendor leaves
-- fewer than k members of the group.
CREATE FUNCTION redundancy_risks()
	RETURNS TABLE(capability text, requirement text, shared text, members text[], breaks_group boolean)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
	SELECT r.capability, r."group", s.what || ' ' || s.value,
		   array_agg(d.name ORDER BY d.name),
		   cardinality(r.members) - count(*) < r.k
	FROM depwatch.requirements r
	CROSS JOIN LATERAL unnest(r.members) mm
	JOIN depwatch.dependency d ON d.name = mm
	CROSS JOIN LATERAL (VALUES ('site', d.site), ('vendor', d.vendor)) s(what, value)
	WHERE cardinality(r.members) > 1 AND s.value IS NOT NULL
	GROUP BY r.capability, r.requirement, r."group", r.members, r.k, s.what, s.value
	HAVING count(*) > 1
	ORDER BY r.capability, r.requirement, s.what, s.value
$$;

-- ---------------------------------------------------------------------------
-- Availability (C: timeline.c, subjects.c, availability.c).  SECURITY
-- DEFINER: they read dependency.options (slo), which readers cannot see.
-- ---------------------------------------------------------------------------
CREATE FUNCTION availability(period tstzrange, bucket text DEFAULT NULL)
	RETURNS TABLE(target text, target_type text, bucket_start timestamptz,
				  monitored interval, downtime interval, degraded interval, maintenance interval,
				  unmonitored interval, availability numeric, slo numeric,
				  budget interval, budget_left interval, outages int,
				  mttr interval, mtbf interval, longest interval)
	AS 'MODULE_PATHNAME', 'dw_availability'
	LANGUAGE C STABLE CALLED ON NULL INPUT SECURITY DEFINER
	SET search_path = pg_catalog, depwatch, pg_temp;

CREATE FUNCTION capability_outages(capability text, period tstzrange)
	RETURNS TABLE(kind text, started_at timestamptz, ended_at timestamptz, causes text[])
	AS 'MODULE_PATHNAME', 'dw_capability_outages'
	LANGUAGE C STABLE CALLED ON NULL INPUT SECURITY DEFINER
	SET search_path = pg_catalog, depwatch, pg_temp;

CREATE FUNCTION state_timeline(period tstzrange, targets text[] DEFAULT NULL)
	RETURNS TABLE(target text, target_type text, state text, maintenance boolean,
				  started_at timestamptz, ended_at timestamptz)
	AS 'MODULE_PATHNAME', 'dw_state_timeline'
	LANGUAGE C STABLE CALLED ON NULL INPUT SECURITY DEFINER
	SET search_path = pg_catalog, depwatch, pg_temp;

-- metrics: an OpenMetrics text exposition (SPEC section 2) for Prometheus,
-- read through an exporter (sql_exporter, postgres_exporter) or a small
-- HTTP shim serving it as application/openmetrics-text; version=1.0.0.
-- Per dependency and capability: the state now and since when
-- (current_status()), outages, availability over the trailing 24 hours and
-- 30 days (availability()), and for dependencies that are not probe
-- 'none', the latency of their samples.  It only formats those reports: it
-- reads no target, option or sample detail (they may hold secrets).  Every
-- family's HELP and TYPE are always there, in a fixed order; samples go
-- dependencies first, then capabilities, each by name; a window with
-- nothing monitored has no availability sample.  The counter family
-- depwatch_outages has its samples named depwatch_outages_total.
CREATE FUNCTION metrics() RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
	WITH target AS (
		SELECT row_number() OVER (ORDER BY s.target_type DESC, s.target) AS n,
			   s.target, s.target_type, s.state, s.since, d.id AS dependency_id, d.probe,
			   'target="' || e.target || '",type="' || s.target_type || '"'
			   || coalesce(',kind="' || e.kind || '"', '') AS labels
		FROM depwatch.current_status() s
		LEFT JOIN depwatch.dependency d ON s.target_type = 'dependency' AND d.name = s.target
		-- label values escaped as OpenMetrics says: \ " and newline
		CROSS JOIN LATERAL (SELECT
			replace(replace(replace(s.target, E'\\', E'\\\\'), '"', E'\\"'), E'\n', E'\\n'),
			replace(replace(replace(d.kind, E'\\', E'\\\\'), '"', E'\\"'), E'\n', E'\\n')) e(target, kind)
	), win AS (
		-- hours, not days: a trailing window is as long across a DST change
		SELECT t.n, w.n AS k, t.labels || ',window="' || w.name || '"' AS labels,
			   a.outages, a.availability, a.slo,
			   extract(epoch FROM a.monitored) / extract(epoch FROM w.length) AS monitored
		FROM (VALUES (1, '24h', interval '24 hours'), (2, '30d', interval '720 hours')) w(n, name, length)
		CROSS JOIN LATERAL depwatch.availability(tstzrange(now() - w.length, now())) a
		JOIN target t ON t.target = a.target AND t.target_type = a.target_type
	), family(f, name, type, unit, help) AS (VALUES
		(1, 'depwatch_up', 'gauge', NULL,
			'Whether the target works now: 1 when up or degraded, 0 when down, in maintenance or unmonitored'),
		(2, 'depwatch_state', 'gauge', NULL,
			'State of the target now, one sample per state: 1 for the current one, 0 for the others'),
		(3, 'depwatch_state_duration_seconds', 'gauge', 'seconds',
			'Seconds since the target entered its current state'),
		(4, 'depwatch_outages', 'counter', NULL,
			'Down outages ever recorded for the dependency, the ongoing one included'),
		(5, 'depwatch_outages_in_window', 'gauge', NULL,
			'Down outages within the trailing window, clipped to it; for a capability, its own down windows'),
		(6, 'depwatch_availability_ratio', 'gauge', 'ratio',
			'Availability over the trailing window: up share of the monitored time outside maintenance'),
		(7, 'depwatch_monitored_ratio', 'gauge', 'ratio',
			'Share of the trailing window that was monitored, over which availability is computed'),
		(8, 'depwatch_slo_ratio', 'gauge', 'ratio',
			'Availability objective of the target'),
		(9, 'depwatch_latest_sample_latency_seconds', 'gauge', 'seconds',
			'Latency of the latest sample of the dependency (a probe or a reported call), whatever its outcome'),
		(10, 'depwatch_sample_latency_seconds', 'summary', 'seconds',
			'Latency quantiles of the samples of the dependency in the last 5 minutes, whatever their outcome; NaN when there were none')
	), point(f, n, k, suffix, labels, value) AS (
		SELECT 1, t.n, 0::bigint, '', t.labels, (t.state IN ('up', 'degraded'))::int::text
		FROM target t
		UNION ALL
		SELECT 2, t.n, s.k, '', t.labels || ',state="' || s.state || '"', (t.state = s.state)::int::text
		FROM target t,
			 unnest(ARRAY['up', 'degraded', 'down', 'maintenance', 'unmonitored']) WITH ORDINALITY s(state, k)
		UNION ALL
		SELECT 3, t.n, 0, '', t.labels, trim_scale(round(extract(epoch FROM now() - t.since), 3))::text
		FROM target t WHERE t.since IS NOT NULL
		UNION ALL
		SELECT 4, t.n, 0, '_total', t.labels,
			   (SELECT count(*) FROM depwatch.outage o
				WHERE o.dependency_id = t.dependency_id AND o.kind = 'down')::text
		FROM target t WHERE t.dependency_id IS NOT NULL
		UNION ALL
		SELECT 5, w.n, w.k, '', w.labels, w.outages::text FROM win w
		UNION ALL
		SELECT 6, w.n, w.k, '', w.labels, trim_scale(round(w.availability / 100, 12))::text
		FROM win w WHERE w.availability IS NOT NULL
		UNION ALL
		SELECT 7, w.n, w.k, '', w.labels, trim_scale(round(w.monitored, 12))::text FROM win w
		UNION ALL
		SELECT 8, t.n, 0, '', t.labels, trim_scale(w.slo / 100)::text
		FROM target t JOIN win w ON w.n = t.n AND w.k = 1
		UNION ALL
		SELECT 9, t.n, 0, '', t.labels, trim_scale(extract(epoch FROM l.latency))::text
		FROM target t
		CROSS JOIN LATERAL (
			SELECT s.latency FROM depwatch.sample s
			WHERE s.dependency_id = t.dependency_id AND s.latency IS NOT NULL AND s.at <= now()
			ORDER BY s.at DESC LIMIT 1) l
		WHERE t.probe <> 'none'
		UNION ALL
		SELECT 10, t.n, q.k, '', t.labels || ',quantile="' || q.quantile || '"',
			   coalesce(trim_scale(q.seconds)::text, 'NaN')
		FROM target t
		CROSS JOIN LATERAL (
			SELECT percentile_disc(ARRAY[0.5, 0.9, 0.99, 1]) WITHIN GROUP (ORDER BY extract(epoch FROM s.latency))
			FROM depwatch.sample s
			WHERE s.dependency_id = t.dependency_id AND s.latency IS NOT NULL
			  AND s.at > now() - interval '5 minutes' AND s.at <= now()) p(v)
		CROSS JOIN LATERAL unnest(ARRAY['0.5', '0.9', '0.99', '1'], p.v) WITH ORDINALITY q(quantile, seconds, k)
		WHERE t.probe <> 'none'
	)
	SELECT string_agg(x.line, E'\n' ORDER BY x.f, x.n, x.k) || E'\n# EOF\n'
	FROM (
		SELECT fm.f, 0::bigint AS n, 0::bigint AS k,
			   '# HELP ' || fm.name || ' ' || fm.help || E'\n# TYPE ' || fm.name || ' ' || fm.type
			   || coalesce(E'\n# UNIT ' || fm.name || ' ' || fm.unit, '') AS line
		FROM family fm
		UNION ALL
		SELECT p.f, p.n, p.k, fm.name || p.suffix || '{' || p.labels || '} ' || p.value
		FROM point p JOIN family fm ON fm.f = p.f
	) x
$$;

CREATE FUNCTION timeline_svg(period tstzrange, targets text[] DEFAULT NULL)
	RETURNS text
	AS 'MODULE_PATHNAME', 'dw_timeline_svg'
	LANGUAGE C STABLE CALLED ON NULL INPUT SECURITY DEFINER
	SET search_path = pg_catalog, depwatch, pg_temp;

-- For BI tools (Grafana, Metabase, Superset): the status board, and 90
-- days of daily availability per target for heat maps.
CREATE VIEW status AS
	SELECT s.target, s.target_type, s.state, s.since FROM depwatch.current_status() s;

CREATE VIEW availability_daily AS
	SELECT a.target, a.target_type, a.bucket_start::date AS day, a.bucket_start,
		   a.monitored, a.downtime, a.degraded, a.maintenance, a.unmonitored,
		   a.availability, a.slo, a.budget_left, a.outages, a.longest
	FROM depwatch.availability(tstzrange(date_trunc('day', now()) - interval '89 days',
										 date_trunc('day', now()) + interval '1 day'), 'day') a;

-- ---------------------------------------------------------------------------
-- Incident economics: the bank's ledger, bound by name (SPEC section 3,
-- "Ledger contract"), read with its time predicates pushed down; depwatch
-- never writes to it.
-- ---------------------------------------------------------------------------

-- _ledger_contract: the columns each bound relation must have.  A NULL
-- type takes any type (ids are compared as text); text also takes varchar.
-- It pins search_path like every other function (test/pgtap/security.sql
-- holds them all to it), although that stops it being inlined into the
-- checks every report makes: about 0.25 ms a report.
CREATE FUNCTION _ledger_contract()
	RETURNS TABLE(contract text, col text, type regtype, optional boolean)
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	VALUES ('transfers', 'txn_id', NULL::regtype, false),
		   ('transfers', 'account_id', NULL, false),
		   ('transfers', 'customer_id', NULL, false),
		   ('transfers', 'occurred_at', 'pg_catalog.timestamptz', false),
		   ('transfers', 'amount', 'pg_catalog.numeric', false),
		   ('transfers', 'fee', 'pg_catalog.numeric', false),
		   ('transfers', 'fee_type', 'pg_catalog.text', false),
		   ('transfers', 'capability', 'pg_catalog.text', false),
		   ('transfers', 'status', 'pg_catalog.text', false),
		   ('transfers', 'external', 'pg_catalog.bool', false),
		   ('transfers', 'partner_fee', 'pg_catalog.numeric', true),
		   ('applications', 'application_id', NULL, false),
		   ('applications', 'customer_id', NULL, false),
		   ('applications', 'occurred_at', 'pg_catalog.timestamptz', false),
		   ('applications', 'status', 'pg_catalog.text', false),
		   ('applications', 'reason', 'pg_catalog.text', false),
		   ('balances', 'account_id', NULL, false),
		   ('balances', 'customer_id', NULL, false),
		   ('balances', 'as_of', 'pg_catalog.timestamptz', false),
		   ('balances', 'balance', 'pg_catalog.numeric', false),
		   ('accounts', 'account_id', NULL, false),
		   ('accounts', 'customer_id', NULL, false),
		   ('accounts', 'opened_at', 'pg_catalog.timestamptz', false),
		   ('accounts', 'closed_at', 'pg_catalog.timestamptz', false)
$$;

-- _check_ledger_relation: rel follows the contract, or one error naming
-- every missing and every mistyped column.
CREATE FUNCTION _check_ledger_relation(contract text, rel regclass) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	missing text[];
	mistyped text[];
	untrusted text;
BEGIN
	IF (SELECT c.relkind FROM pg_class c WHERE c.oid = rel) NOT IN ('r', 'p', 'v', 'm', 'f') THEN
		RAISE EXCEPTION '% cannot be bound as %: it is not a table or view', rel, contract
			USING ERRCODE = 'wrong_object_type',
				  HINT = 'Bind a table, a view, a materialized view or a foreign table.';
	END IF;
	-- The reports read the ledger with depwatch's (its owner's) rights, and
	-- the functions a view calls run with them: only a superuser's views
	-- (and foreign tables, as the relation or one of its partitions or
	-- children) may be read so.
	WITH RECURSIVE tree(oid) AS (
		SELECT rel::oid
		UNION SELECT i.inhrelid FROM pg_inherits i JOIN tree t ON i.inhparent = t.oid)
	SELECT string_agg(format('%s (owned by %s)', c.oid::regclass, c.relowner::regrole), ', ')
	  INTO untrusted
	FROM tree t JOIN pg_class c ON c.oid = t.oid JOIN pg_roles r ON r.oid = c.relowner
	WHERE c.relkind IN ('v', 'f') AND NOT r.rolsuper;
	IF untrusted IS NOT NULL THEN
		RAISE EXCEPTION '% cannot be bound as %: it is, or holds, a view or foreign table of a role who is not a superuser: %',
				rel, contract, untrusted
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = 'depwatch reads the ledger with its owner''s rights, and the functions a view calls would run with them.',
				  HINT = 'Bind a table, or have a superuser own the view (ALTER VIEW ... OWNER TO).';
	END IF;
	-- ids of any type are cast to text, which runs the type's casts
	SELECT string_agg(format('%s is of type %s, which belongs to %s', a.attname,
							 format_type(a.atttypid, a.atttypmod), t.typowner::regrole), '; ' ORDER BY a.attname)
	  INTO untrusted
	FROM depwatch._ledger_contract() k
	JOIN pg_attribute a ON a.attrelid = rel AND a.attname = k.col AND a.attnum > 0 AND NOT a.attisdropped
	JOIN pg_type t ON t.oid = a.atttypid
	JOIN pg_roles r ON r.oid = t.typowner
	WHERE k.contract = contract AND NOT r.rolsuper;
	IF untrusted IS NOT NULL THEN
		RAISE EXCEPTION '% cannot be bound as %: its columns have types that belong to a role who is not a superuser',
				rel, contract
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = untrusted || '.  depwatch casts ids to text with its owner''s rights, and that role''s casts would run with them.',
				  HINT = 'Bind a table whose id columns have built-in types, or types a superuser owns.';
	END IF;
	SELECT array_agg(k.col ORDER BY k.col) FILTER (WHERE a.attname IS NULL AND NOT k.optional),
		   array_agg(format('%s is %s, not %s', k.col, format_type(a.atttypid, a.atttypmod), k.type)
					 ORDER BY k.col)
			   FILTER (WHERE a.attname IS NOT NULL AND k.type IS NOT NULL
						 AND a.atttypid <> k.type
						 AND NOT (k.type = 'text'::regtype AND a.atttypid = 'varchar'::regtype))
	  INTO missing, mistyped
	FROM depwatch._ledger_contract() k
	LEFT JOIN pg_attribute a ON a.attrelid = rel AND a.attname = k.col AND a.attnum > 0
							AND NOT a.attisdropped
	WHERE k.contract = contract;
	IF missing IS NOT NULL OR mistyped IS NOT NULL THEN
		RAISE EXCEPTION '% does not follow the % contract', rel, contract
			USING ERRCODE = 'invalid_table_definition',
				  DETAIL = concat_ws(' ',
					  'Missing: ' || array_to_string(missing, ', ') || '.',
					  'Wrong types: ' || array_to_string(mistyped, '; ') || '.'),
				  HINT = 'Bind a view over your table that renames and casts the columns; README, "Binding a ledger", lists the contract.';
	END IF;
END
$$;

-- bind_ledger binds the bank's relations (tables or views); relations not
-- given are unbound.  The caller must be able to read each one: depwatch
-- reads them for its reports, and must not read more for anyone.
CREATE FUNCTION bind_ledger(transfers regclass, applications regclass DEFAULT NULL,
							balances regclass DEFAULT NULL, accounts regclass DEFAULT NULL)
	RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	b record;
BEGIN
	IF transfers IS NULL THEN
		RAISE EXCEPTION 'transfers must not be NULL'
			USING ERRCODE = 'null_value_not_allowed',
				  HINT = 'Every report reads the transfers; bind them, such as bind_ledger(''bank.transfers'').';
	END IF;
	FOR b IN SELECT * FROM (VALUES ('transfers', transfers), ('applications', applications),
								   ('balances', balances), ('accounts', accounts)) v(contract, rel)
			 WHERE v.rel IS NOT NULL LOOP
		IF NOT has_table_privilege(depwatch._audit_actor(), b.rel, 'SELECT') THEN
			RAISE EXCEPTION '% may not read %', depwatch._audit_actor(), b.rel
				USING ERRCODE = 'insufficient_privilege',
					  HINT = 'Bind only relations you can read yourself.';
		END IF;
		PERFORM depwatch._check_ledger_relation(b.contract, b.rel);
	END LOOP;

	DELETE FROM depwatch.ledger_binding l
	WHERE l.contract NOT IN (SELECT v.c FROM (VALUES ('transfers', transfers), ('applications', applications),
															('balances', balances), ('accounts', accounts)) v(c, r)
							 WHERE v.r IS NOT NULL);
	INSERT INTO depwatch.ledger_binding AS l (contract, relation)
	SELECT v.c, format('%I.%I', n.nspname, c.relname)
	FROM (VALUES ('transfers', transfers), ('applications', applications),
				 ('balances', balances), ('accounts', accounts)) v(c, r)
	JOIN pg_class c ON c.oid = v.r
	JOIN pg_namespace n ON n.oid = c.relnamespace
	ON CONFLICT (contract) DO UPDATE SET relation = excluded.relation, bound_at = now()
		WHERE l.relation IS DISTINCT FROM excluded.relation;
END
$$;

-- _ledger: the relation bound for a contract (NULL when it is optional
-- and unbound), checked again: it may have changed since it was bound.
CREATE FUNCTION _ledger(contract text, optional boolean DEFAULT false) RETURNS regclass
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	name text;
	rel regclass;
BEGIN
	SELECT l.relation INTO name FROM depwatch.ledger_binding l WHERE l.contract = contract;
	IF name IS NULL THEN
		IF optional THEN
			RETURN NULL;
		END IF;
		RAISE EXCEPTION 'no % relation is bound', contract
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = 'Bind the bank''s ledger first with bind_ledger().';
	END IF;
	rel := to_regclass(name);
	IF rel IS NULL THEN
		RAISE EXCEPTION 'the bound % relation % no longer exists', contract, name
			USING ERRCODE = 'undefined_table',
				  HINT = 'Bind the ledger again with bind_ledger().';
	END IF;
	PERFORM depwatch._check_ledger_relation(contract, rel);
	RETURN rel;
END
$$;

-- _incident: the incident, or an error; a NOTICE when it is still open.
CREATE FUNCTION _incident(incident bigint) RETURNS depwatch.incident
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	i depwatch.incident;
BEGIN
	SELECT * INTO i FROM depwatch.incident x WHERE x.id = incident;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'incident % does not exist', coalesce(incident::text, 'NULL')
			USING ERRCODE = 'undefined_object',
				  HINT = 'See depwatch.incident for the incidents there are.';
	END IF;
	IF i.ended_at IS NULL THEN
		RAISE NOTICE 'incident % is still open: reports take now as its end', i.id;
	END IF;
	RETURN i;
END
$$;

-- _incident_dependencies: those named at open_incident, or, when none
-- were, every dependency with a down outage overlapping the incident.
CREATE FUNCTION _incident_dependencies(i depwatch.incident) RETURNS bigint[]
LANGUAGE sql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
	SELECT coalesce(
		(SELECT array_agg(x.dependency_id ORDER BY x.dependency_id)
		 FROM depwatch.incident_dependency x WHERE x.incident_id = i.id),
		(SELECT array_agg(DISTINCT o.dependency_id)
		 FROM depwatch.outage o
		 WHERE o.kind = 'down'
		   AND o.during && tstzrange(i.started_at, coalesce(i.ended_at, now()), '[]')),
		'{}')
$$;

CREATE FUNCTION _capability_down_windows(lo timestamptz, hi timestamptz, dependencies bigint[])
	RETURNS TABLE(capability text, started_at timestamptz, ended_at timestamptz)
	AS 'MODULE_PATHNAME', 'dw_capability_down_windows'
	LANGUAGE C STABLE STRICT ROWS 20;

-- _incident_windows: each capability's down windows within the incident,
-- made by the down outages of the incident's dependencies.
CREATE FUNCTION _incident_windows(i depwatch.incident)
	RETURNS TABLE(capability text, started_at timestamptz, ended_at timestamptz)
LANGUAGE sql STABLE ROWS 20
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
	SELECT w.* FROM depwatch._capability_down_windows(i.started_at, coalesce(i.ended_at, now()),
													   depwatch._incident_dependencies(i)) w
$$;

-- _in_windows: SQL for the rows of a ledger relation inside each capability
-- window of "windows" (anything with capability, started_at, ended_at),
-- read window by window through occurred_at, so the bank's index on it is
-- used: OFFSET 0 keeps the planner from flattening the per-window scans
-- into one join over the whole ledger (sql/impact.sql shows the plan).
-- With own_capability, only the rows of the window's capability.
CREATE FUNCTION _in_windows(relation regclass, columns text, windows text, own_capability boolean)
	RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
	SELECT format($q$SELECT w.capability, %2$s FROM %3$s w CROSS JOIN LATERAL (
				SELECT %2$s FROM %1$s x
				WHERE x.occurred_at >= w.started_at AND x.occurred_at < w.ended_at%4$s
				OFFSET 0) x$q$,
		relation, columns, windows,
		CASE WHEN own_capability THEN ' AND x.capability = w.capability' ELSE '' END)
$$;

-- _impact_query: the query impact() runs ($1: the incident) over the bound
-- relations, each capability window reading only its own rows.
CREATE FUNCTION _impact_query(transfers regclass, applications regclass) RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
	SELECT format($q$
		WITH w AS MATERIALIZED (SELECT * FROM depwatch._incident_windows($1)),
		t AS (
			SELECT r.capability, r.customer_id::text AS customer_id, r.status, r.amount FROM (%4$s) r),
		a AS (
			SELECT r.customer_id::text AS customer_id, r.status FROM (%5$s) r
			WHERE r.capability = 'account_opening' AND %3$L),
		per_capability AS (
			SELECT t.capability, count(*) AS attempted, count(*) FILTER (WHERE t.status = 'failed') AS failed,
				   coalesce(sum(abs(t.amount)) FILTER (WHERE t.status = 'failed'), 0) AS failed_amount
			FROM t GROUP BY t.capability),
		customers AS (
			-- not a UNION: hashing it would size its table for the planner's
			-- guess of the rows (100,000s), not for the few there are
			SELECT c.capability,
				   count(DISTINCT c.customer_id) + max((c.customer_id IS NULL)::int) AS customers
			FROM (SELECT t.capability, t.customer_id FROM t
				  UNION ALL SELECT 'account_opening', a.customer_id FROM a) c
			GROUP BY c.capability)
		SELECT ws.capability, ws.started_at, ws.ended_at,
			   coalesce(p.attempted, 0), coalesce(p.failed, 0), coalesce(c.customers, 0),
			   coalesce(p.failed_amount, 0),
			   CASE WHEN ws.capability = 'account_opening' AND %3$L THEN
					(SELECT count(*) FROM a WHERE a.status = 'failed') END
		FROM (SELECT w.capability, min(w.started_at) AS started_at, max(w.ended_at) AS ended_at
			  FROM w GROUP BY w.capability) ws
		LEFT JOIN per_capability p ON p.capability = ws.capability
		LEFT JOIN customers c ON c.capability = ws.capability
		ORDER BY ws.started_at, ws.capability
	$q$, transfers, coalesce(applications, transfers), applications IS NOT NULL,
		depwatch._in_windows(transfers, 'x.customer_id, x.status, x.amount', 'w', true),
		depwatch._in_windows(coalesce(applications, transfers), 'x.customer_id, x.status',
							 '(SELECT * FROM w WHERE w.capability = ''account_opening'')', false))
$$;

-- impact: per capability the incident took down, what it did to the
-- ledger (SPEC section 3, "Affected").
CREATE FUNCTION impact(incident bigint)
	RETURNS TABLE(capability text, started_at timestamptz, ended_at timestamptz,
				  attempted bigint, failed bigint, customers bigint, failed_amount numeric,
				  applications_failed bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	i depwatch.incident := depwatch._incident(incident);
BEGIN
	RETURN QUERY EXECUTE depwatch._impact_query(depwatch._ledger('transfers'),
												depwatch._ledger('applications', optional => true))
		USING i;
END
$$;

CREATE FUNCTION _check_period(period tstzrange, bucket text DEFAULT NULL) RETURNS void
	AS 'MODULE_PATHNAME', 'dw_check_period'
	LANGUAGE C STABLE CALLED ON NULL INPUT;

-- _incident_customers: the affected customers of an incident (as text):
-- those with at least one affected transfer or application, whatever its
-- status (SPEC section 3, "Affected").
CREATE FUNCTION _incident_customers_query(transfers regclass, applications regclass) RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
	SELECT format($q$
		SELECT r.customer_id::text AS customer_id FROM (%1$s) r
		UNION
		SELECT r.customer_id::text FROM (%2$s) r
		WHERE r.capability = 'account_opening' AND %3$L
	$q$,
	depwatch._in_windows(transfers, 'x.customer_id', 'depwatch._incident_windows($1)', true),
	depwatch._in_windows(coalesce(applications, transfers), 'x.customer_id',
						 '(SELECT * FROM depwatch._incident_windows($1) v WHERE v.capability = ''account_opening'')',
						 false),
	applications IS NOT NULL)
$$;

-- _fee_policy: the policy, or an error.
CREATE FUNCTION _fee_policy(policy text) RETURNS depwatch.fee_policy
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	p depwatch.fee_policy;
BEGIN
	SELECT * INTO p FROM depwatch.fee_policy x WHERE x.name = policy;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'fee policy "%" does not exist', coalesce(policy, 'NULL')
			USING ERRCODE = 'undefined_object',
				  HINT = 'Add it with add_fee_policy(); depwatch.fee_policy lists them.';
	END IF;
	RETURN p;
END
$$;

-- _check_text_list: a list that is NULL (everything) or names something.
CREATE FUNCTION _check_text_list(list text[], what text) RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF list IS NOT NULL AND (cardinality(list) = 0 OR array_position(list, NULL) IS NOT NULL
							 OR EXISTS (SELECT FROM unnest(list) v WHERE btrim(v) = '' OR length(v) > 200)) THEN
		RAISE EXCEPTION '% must be NULL (all) or a list of names without NULL, empty or overlong (over 200 characters) ones', what
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = format('Pass NULL for every %s, or name them, such as ARRAY[''transfer_fee''].', what);
	END IF;
END
$$;

-- add_fee_policy: which fees an incident's waiver covers.
CREATE FUNCTION add_fee_policy(name text, fee_types text[] DEFAULT NULL, capabilities text[] DEFAULT NULL,
							   grace interval DEFAULT '0', per_customer_cap numeric DEFAULT NULL)
	RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	id bigint;
BEGIN
	IF name IS NULL OR name !~ '^[a-z_][a-z0-9_]{0,62}$' THEN
		RAISE EXCEPTION 'invalid fee policy name "%"', coalesce(depwatch._clip(name), 'NULL')
			USING ERRCODE = 'invalid_name',
				  HINT = 'Names are lower-case identifiers: a letter or underscore, then letters, digits or underscores.';
	END IF;
	IF EXISTS (SELECT FROM depwatch.fee_policy p WHERE p.name = name) THEN
		RAISE EXCEPTION 'a fee policy named "%" already exists', name
			USING ERRCODE = 'duplicate_object',
				  HINT = 'Choose another name.';
	END IF;
	PERFORM depwatch._check_text_list(fee_types, 'fee_types');
	PERFORM depwatch._check_text_list(capabilities, 'capabilities');
	IF grace IS NULL OR grace < interval '0' THEN
		RAISE EXCEPTION 'grace must be zero or more, not %', coalesce(grace::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Grace is how long after the incident fees still count, such as ''3 days''.';
	END IF;
	IF per_customer_cap < 0 OR per_customer_cap = 'NaN' THEN
		RAISE EXCEPTION 'per_customer_cap must not be negative, not %', per_customer_cap
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass NULL for no cap.';
	END IF;
	INSERT INTO depwatch.fee_policy (name, fee_types, capabilities, grace, per_customer_cap)
	VALUES (name, fee_types, capabilities, grace, per_customer_cap)
	RETURNING fee_policy.id INTO id;
	RETURN id;
END
$$;

-- _fee_waiver_query: waivable fees per affected customer ($1 incident,
-- $2 policy): posted rows with fee > 0 in [start, end + grace].
CREATE FUNCTION _fee_waiver_query(transfers regclass, applications regclass) RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
	SELECT format($q$
		WITH affected AS MATERIALIZED (%2$s),
		fees AS (
			SELECT x.customer_id::text AS customer_id, count(*) AS fee_count, sum(x.fee) AS fees
			FROM %1$s x
			WHERE x.occurred_at >= ($1).started_at
			  AND x.occurred_at <= coalesce(($1).ended_at, now()) + ($2).grace
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

-- fee_waiver: per affected customer, the fees a policy waives
-- (SPEC section 3, "Fee waiver").
CREATE FUNCTION fee_waiver(incident bigint, policy text)
	RETURNS TABLE(customer_id text, fee_count bigint, fees numeric, waiver numeric)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	i depwatch.incident := depwatch._incident(incident);
	p depwatch.fee_policy := depwatch._fee_policy(policy);
BEGIN
	RETURN QUERY EXECUTE depwatch._fee_waiver_query(depwatch._ledger('transfers'),
													depwatch._ledger('applications', optional => true))
		USING i, p;
END
$$;

-- fee_waiver_summary: the waiver beside the fees of normal weeks: the mean
-- over 1, 2, 3 and 4 weeks back of the same window's fees (posted,
-- fee > 0, the policy's fee types and capabilities, every customer).
CREATE FUNCTION fee_waiver_summary(incident bigint, policy text)
	RETURNS TABLE(customers bigint, fee_count bigint, waiver numeric,
				  baseline_fees numeric, waiver_pct_of_baseline numeric)
LANGUAGE plpgsql STABLE SECURITY DEFINER
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
				  AND x.occurred_at <= coalesce(($1).ended_at, now()) + ($2).grace - k * interval '1 week'
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

-- set_fee_schedule: what a fee type costs, per capability (NULL: any
-- capability without its own price), over a time range.
CREATE FUNCTION set_fee_schedule(fee_type text, capability text, amount numeric, effective tstzrange)
	RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	id bigint;
BEGIN
	IF fee_type IS NULL OR btrim(fee_type) = '' THEN
		RAISE EXCEPTION 'fee_type must be named'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Name the fee type as the ledger''s fee_type column spells it.';
	END IF;
	IF length(fee_type) > 200 OR length(capability) > 200 THEN
		RAISE EXCEPTION '% is longer than 200 characters', CASE WHEN length(fee_type) > 200 THEN 'fee_type' ELSE 'capability' END
			USING ERRCODE = 'string_data_right_truncation',
				  HINT = 'Name the fee type and capability as the ledger''s columns spell them.';
	END IF;
	IF amount IS NULL OR amount < 0 OR amount = 'NaN' THEN
		RAISE EXCEPTION 'amount must be zero or more, not %', coalesce(amount::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'The amount is the fee charged per transaction.';
	END IF;
	IF effective IS NULL OR isempty(effective) OR lower_inf(effective) THEN
		RAISE EXCEPTION 'effective must be a non-empty range with a start, not %', coalesce(effective::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass a range such as tstzrange(''2024-01-01'', NULL) for "from 2024 on".';
	END IF;
	IF EXISTS (SELECT FROM depwatch.fee_schedule s
			   WHERE s.fee_type = fee_type AND s.capability IS NOT DISTINCT FROM capability
				 AND s.effective && effective) THEN
		RAISE EXCEPTION 'fee % for % already has a price during %', fee_type,
				coalesce(capability, 'any capability'), effective
			USING ERRCODE = 'exclusion_violation',
				  HINT = 'Prices of one fee type and capability must not overlap in time.';
	END IF;
	INSERT INTO depwatch.fee_schedule (fee_type, capability, amount, effective)
	VALUES (fee_type, capability, amount, effective)
	RETURNING fee_schedule.id INTO id;
	RETURN id;
END
$$;

-- fee_waiver_cost: what a waiver programme gives up: every posted row with
-- fee 0 priced at the schedule in force at occurred_at (a capability's own
-- price, else the fee type's price for any capability).  partner_cost is
-- what the bank still paid others for those rows (the optional
-- partner_fee column), NULL when the ledger has none.
CREATE FUNCTION fee_waiver_cost(period tstzrange, bucket text DEFAULT 'month')
	RETURNS TABLE(bucket_start timestamptz, fee_type text, waived_count bigint, forgone numeric,
				  partner_cost numeric)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	transfers regclass := depwatch._ledger('transfers');
	has_partner boolean;
BEGIN
	PERFORM depwatch._check_period(period, coalesce(bucket, 'NULL'));
	SELECT EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = transfers AND a.attname = 'partner_fee'
				   AND NOT a.attisdropped)
	  INTO has_partner;
	RETURN QUERY EXECUTE format($q$
		SELECT date_trunc($2, x.occurred_at), x.fee_type, count(*), sum(coalesce(sc.amount, sa.amount)), %2$s
		FROM %1$s x
		-- the capability's own price, else the price for any capability
		-- (the exclusion constraint allows one of each at any instant)
		LEFT JOIN depwatch.fee_schedule sc
			   ON sc.fee_type = x.fee_type AND sc.capability = x.capability AND sc.effective @> x.occurred_at
		LEFT JOIN depwatch.fee_schedule sa
			   ON sa.fee_type = x.fee_type AND sa.capability IS NULL AND sa.effective @> x.occurred_at
		WHERE x.occurred_at >= lower($1) AND x.occurred_at < upper($1)
		  AND x.status = 'posted' AND x.fee = 0 AND x.fee_type IS NOT NULL
		  AND (sc.id IS NOT NULL OR sa.id IS NOT NULL)
		GROUP BY 1, 2 ORDER BY 1, 2
	$q$, transfers, CASE WHEN has_partner THEN 'coalesce(sum(x.partner_fee), 0)' ELSE 'NULL::numeric' END)
		USING period, bucket;
END
$$;

-- _outflow_buckets: the buckets of deposit_outflow (SPEC section 3,
-- "Deposit outflow"): s = date_trunc(bucket, incident start); horizon
-- buckets from s while they start before start + horizon; the baseline
-- buckets right before s.  Both lengths must be whole numbers of buckets.
CREATE FUNCTION _outflow_buckets(i depwatch.incident, baseline interval, horizon interval, bucket text)
	RETURNS TABLE(bucket_start timestamptz, bucket_end timestamptz, in_horizon boolean)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	step interval;
	s timestamptz;
BEGIN
	PERFORM depwatch._check_period(tstzrange(i.started_at, i.started_at + interval '1 microsecond'),
								   coalesce(bucket, 'NULL'));
	step := ('1 ' || bucket)::interval;
	s := date_trunc(bucket, i.started_at);
	IF baseline > interval '10 years' OR horizon > interval '10 years' THEN
		RAISE EXCEPTION '% % is longer than 10 years', CASE WHEN baseline > interval '10 years' THEN 'baseline' ELSE 'horizon' END,
				CASE WHEN baseline > interval '10 years' THEN baseline ELSE horizon END
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Compare at most 10 years before and after an incident.';
	END IF;
	IF baseline IS NULL OR baseline <= interval '0' OR date_trunc(bucket, s - baseline) <> s - baseline THEN
		RAISE EXCEPTION 'baseline % is not a whole number of % buckets', coalesce(baseline::text, 'NULL'), bucket
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = format('Pass a multiple of one %s, such as ''28 days'' for daily buckets.', bucket);
	END IF;
	IF horizon IS NULL OR horizon <= interval '0' OR date_trunc(bucket, s + horizon) <> s + horizon THEN
		RAISE EXCEPTION 'horizon % is not a whole number of % buckets', coalesce(horizon::text, 'NULL'), bucket
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = format('Pass a multiple of one %s, such as ''14 days'' for daily buckets.', bucket);
	END IF;
	RETURN QUERY
		SELECT b, b + step, b >= s
		FROM generate_series(s - baseline, i.started_at + horizon, step) b
		WHERE b < i.started_at + horizon;
END
$$;

-- _outflow_query: flows per bucket ($1 incident, $2 baseline, $3 horizon,
-- $4 bucket) over the bound relations; balances and accounts are
-- optional (their columns are then NULL).
CREATE FUNCTION _outflow_query(transfers regclass, balances regclass, accounts regclass) RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
	SELECT format($q$
		WITH b AS MATERIALIZED (SELECT * FROM depwatch._outflow_buckets($1, $2, $3, $4)),
		flows AS (
			SELECT b.bucket_start, b.in_horizon,
				   coalesce(sum(x.amount) FILTER (WHERE x.amount > 0), 0) AS inflow,
				   coalesce(-sum(x.amount) FILTER (WHERE x.amount < 0), 0) AS outflow
			FROM b LEFT JOIN LATERAL (
				SELECT x.amount FROM %1$s x
				WHERE x.occurred_at >= b.bucket_start AND x.occurred_at < b.bucket_end
				  AND x.status = 'posted' AND x.external
				OFFSET 0) x ON true
			GROUP BY b.bucket_start, b.in_horizon),
		base AS (
			SELECT avg(f.inflow - f.outflow) AS expected, stddev_samp(f.inflow - f.outflow) AS sd
			FROM flows f WHERE NOT f.in_horizon),
		horizon AS (
			SELECT min(b.bucket_start) AS lo, max(b.bucket_end) AS hi FROM b WHERE b.in_horizon),
		start_balances AS (
			SELECT y.customer_id::text AS customer_id, y.balance
			FROM (SELECT DISTINCT ON (y.account_id) y.account_id, y.customer_id, y.balance
				  FROM %2$s y WHERE y.as_of <= ($1).started_at
				  ORDER BY y.account_id DESC, y.as_of DESC) y),
		deposits AS (SELECT CASE WHEN %4$L THEN coalesce(sum(y.balance), 0) END AS total FROM start_balances y),
		customer_balance AS (
			SELECT y.customer_id, sum(y.balance) AS balance FROM start_balances y
			GROUP BY y.customer_id HAVING sum(y.balance) > 0),
		customer_out AS (
			-- each customer's running net outflow, in force from its bucket
			-- until the customer's next bucket with flows
			SELECT c.customer_id, c.bucket_start,
				   lead(c.bucket_start) OVER w AS next_start,
				   sum(c.net_out) OVER w AS running_out
			FROM (
				SELECT date_trunc($4, x.occurred_at) AS bucket_start, x.customer_id::text AS customer_id,
					   -sum(x.amount) AS net_out
				FROM %1$s x, horizon h
				WHERE x.occurred_at >= h.lo AND x.occurred_at < h.hi
				  AND x.status = 'posted' AND x.external
				GROUP BY 1, 2) c
			WINDOW w AS (PARTITION BY c.customer_id ORDER BY c.bucket_start)),
		drained AS (
			SELECT b.bucket_start, count(*) AS customers
			FROM customer_out co
			JOIN customer_balance cb ON cb.customer_id = co.customer_id AND co.running_out >= cb.balance / 2
			JOIN b ON b.in_horizon AND b.bucket_start >= co.bucket_start
				  AND (co.next_start IS NULL OR b.bucket_start < co.next_start)
			GROUP BY b.bucket_start),
		closed AS (
			SELECT b.bucket_start, count(z.*) AS accounts
			FROM b LEFT JOIN LATERAL (
				SELECT 1 FROM %3$s z
				WHERE z.closed_at >= b.bucket_start AND z.closed_at < b.bucket_end
				OFFSET 0) z ON true
			WHERE b.in_horizon GROUP BY b.bucket_start)
		SELECT f.bucket_start, f.inflow, f.outflow, f.inflow - f.outflow,
			   base.expected,
			   f.inflow - f.outflow - base.expected,
			   (f.inflow - f.outflow - base.expected) / nullif(base.sd, 0),
			   sum(f.inflow - f.outflow - base.expected) OVER (ORDER BY f.bucket_start),
			   100 * sum(f.inflow - f.outflow) OVER (ORDER BY f.bucket_start) / nullif(d.total, 0),
			   CASE WHEN %4$L THEN coalesce(dr.customers, 0) END,
			   CASE WHEN %5$L THEN coalesce(cl.accounts, 0) END
		FROM flows f CROSS JOIN base CROSS JOIN deposits d
		LEFT JOIN drained dr ON dr.bucket_start = f.bucket_start
		LEFT JOIN closed cl ON cl.bucket_start = f.bucket_start
		WHERE f.in_horizon
		ORDER BY f.bucket_start
	$q$, transfers,
		 coalesce(balances::text, '(SELECT NULL::text AS account_id, NULL::text AS customer_id,'
								  ' NULL::timestamptz AS as_of, NULL::numeric AS balance WHERE false)'),
		 coalesce(accounts::text, '(SELECT NULL::timestamptz AS closed_at WHERE false)'),
		 balances IS NOT NULL, accounts IS NOT NULL)
$$;

-- deposit_outflow: external flows per bucket around an incident, against
-- the baseline buckets before it (SPEC section 3, "Deposit outflow").
CREATE FUNCTION deposit_outflow(incident bigint, baseline interval DEFAULT '28 days',
								horizon interval DEFAULT '14 days', bucket text DEFAULT 'day')
	RETURNS TABLE(bucket_start timestamptz, inflow numeric, outflow numeric, net numeric,
				  expected_net numeric, abnormal_net numeric, zscore numeric,
				  cumulative_abnormal numeric, pct_of_deposits numeric,
				  customers_drained bigint, accounts_closed bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	i depwatch.incident := depwatch._incident(incident);
BEGIN
	RETURN QUERY EXECUTE depwatch._outflow_query(depwatch._ledger('transfers'),
												 depwatch._ledger('balances', optional => true),
												 depwatch._ledger('accounts', optional => true))
		USING i, baseline, horizon, bucket;
END
$$;

-- deposit_outflow_summary: the whole horizon in one row, with the run-off
-- over the first 30 days (at most the horizon) beside the Basel III LCR
-- retail run-off rates (stable 5 %, less stable 10 %).
CREATE FUNCTION deposit_outflow_summary(incident bigint, baseline interval DEFAULT '28 days',
										horizon interval DEFAULT '14 days', bucket text DEFAULT 'day')
	RETURNS TABLE(deposits_at_start numeric, net_flow numeric, abnormal_outflow numeric,
				  runoff_pct numeric, lcr_stable_pct numeric, lcr_less_stable_pct numeric,
				  customers_drained bigint, worst_zscore numeric)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	i depwatch.incident := depwatch._incident(incident);
	balances regclass := depwatch._ledger('balances', optional => true);
	deposits numeric;
BEGIN
	IF balances IS NOT NULL THEN
		EXECUTE format($q$
			SELECT coalesce(sum(y.balance), 0)
			FROM (SELECT DISTINCT ON (y.account_id) y.balance FROM %s y
				  WHERE y.as_of <= $1 ORDER BY y.account_id DESC, y.as_of DESC) y
		$q$, balances) INTO deposits USING i.started_at;
	END IF;
	RETURN QUERY
		SELECT deposits, sum(o.net), -sum(o.abnormal_net),
			   -100 * sum(o.net) FILTER (WHERE o.bucket_start < i.started_at + least(horizon, interval '30 days'))
				   / nullif(deposits, 0),
			   5::numeric, 10::numeric,
			   (array_agg(o.customers_drained ORDER BY o.bucket_start DESC))[1],
			   min(o.zscore)
		FROM depwatch.deposit_outflow(incident, baseline, horizon, bucket) o;
END
$$;

-- ---------------------------------------------------------------------------
-- Regulatory facts: what depwatch cannot measure, recorded on the incident
-- (SPEC section 3, "Classification").
-- ---------------------------------------------------------------------------

-- _incident_fact_types: every fact key and the JSON type it takes.
CREATE FUNCTION _incident_fact_types() RETURNS TABLE(key text, type text, what text)
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	VALUES ('critical_services_affected', 'boolean', 'ICT services supporting critical or important functions were affected'),
		   ('clients_total', 'count', 'clients of the affected services'),
		   ('counterparts_total', 'count', 'financial counterparts of the affected services'),
		   ('counterparts_affected', 'count', 'financial counterparts affected'),
		   ('relevant_clients_affected', 'boolean', 'clients or counterparts identified as relevant were affected'),
		   ('member_states', 'count', 'EU member states where clients, branches or providers were affected'),
		   ('data_losses', 'boolean', 'availability, authenticity, integrity or confidentiality of data was lost'),
		   ('malicious_access', 'boolean', 'successful malicious unauthorised access that may cause data losses'),
		   ('reputational', 'reputational', 'media, complaints, regulatory, client_loss'),
		   ('costs_eur', 'amount', 'direct and indirect costs and losses in EUR, fee waivers aside'),
		   ('root_cause', 'text', 'root cause code, for recurring incidents'),
		   ('aware_at', 'timestamp', 'when the bank became aware of the incident'),
		   ('classified_at', 'timestamp', 'when the incident was classified'),
		   ('backlog_cleared_at', 'timestamp', 'when the backlog after restoration was cleared'),
		   ('subscribers', 'count', 'subscribers of the affected electronic financial service'),
		   ('fee_policy', 'text', 'the fee policy whose waiver counts as a cost'),
		   ('eur_per_unit', 'amount', 'EUR per unit of the ledger''s currency, to count fee waivers in EUR (default 1)')
$$;

-- _is_timestamptz: does the text read as a timestamptz?
CREATE FUNCTION _is_timestamptz(v text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM v::timestamptz;
	RETURN true;
EXCEPTION WHEN invalid_datetime_format OR datetime_field_overflow THEN
	RETURN false;
END
$$;

-- set_incident_facts merges checked facts into the incident's: later
-- calls override earlier keys, and a JSON null removes a key.
CREATE FUNCTION set_incident_facts(incident bigint, facts jsonb) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	i depwatch.incident;
	f record;
	t text;
	valid boolean;
	merged jsonb;
BEGIN
	SELECT * INTO i FROM depwatch.incident x WHERE x.id = incident FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'incident % does not exist', coalesce(incident::text, 'NULL')
			USING ERRCODE = 'undefined_object',
				  HINT = 'See depwatch.incident for the incidents there are.';
	END IF;
	IF facts IS NULL OR jsonb_typeof(facts) <> 'object' THEN
		RAISE EXCEPTION 'facts must be a JSON object, not %', coalesce(jsonb_typeof(facts), 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass facts such as ''{"critical_services_affected": true, "clients_total": 1200000}''.';
	END IF;
	FOR f IN SELECT e.key, e.value, k.type FROM jsonb_each(facts) e
			 LEFT JOIN depwatch._incident_fact_types() k ON k.key = e.key ORDER BY e.key LOOP
		IF f.type IS NULL THEN
			RAISE EXCEPTION 'unknown incident fact "%"', f.key
				USING ERRCODE = 'invalid_parameter_value',
					  HINT = 'The facts are: ' || (SELECT string_agg(k.key, ', ') FROM depwatch._incident_fact_types() k) || '.';
		END IF;
		CONTINUE WHEN jsonb_typeof(f.value) = 'null';
		t := jsonb_typeof(f.value);
		valid := CASE f.type
			WHEN 'boolean' THEN t = 'boolean'
			WHEN 'count' THEN t = 'number' AND f.value::text ~ '^[0-9]{1,10}$'
							  AND f.value::text::numeric <= 2147483647
			WHEN 'amount' THEN CASE WHEN t = 'number' THEN (f.value::text)::numeric >= 0 ELSE false END
			WHEN 'text' THEN t = 'string' AND btrim(f.value #>> '{}') <> ''
			WHEN 'timestamp' THEN
				CASE WHEN t = 'string'
						  AND (f.value #>> '{}') ~ '^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}.*(Z|[+-]\d{2}(:?\d{2})?)$'
					 THEN depwatch._is_timestamptz(f.value #>> '{}') ELSE false END
			WHEN 'reputational' THEN t = 'array' AND NOT EXISTS (
					SELECT FROM jsonb_array_elements(f.value) r
					WHERE jsonb_typeof(r) <> 'string'
					   OR r #>> '{}' NOT IN ('media', 'complaints', 'regulatory', 'client_loss'))
		END;
		IF NOT valid THEN
			RAISE EXCEPTION 'incident fact "%" must be %, not %', f.key,
					CASE f.type
						WHEN 'count' THEN 'a whole number from 0 to 2147483647'
						WHEN 'amount' THEN 'a number of at least 0'
						WHEN 'text' THEN 'a non-empty string'
						WHEN 'timestamp' THEN 'a timestamp with its time zone, such as "2022-10-15T15:30:00+09:00"'
						WHEN 'reputational' THEN 'an array of "media", "complaints", "regulatory" or "client_loss"'
						ELSE 'a ' || f.type END,
					depwatch._clip(f.value::text)
				USING ERRCODE = 'invalid_parameter_value',
					  HINT = 'Pass JSON null to remove a fact.';
		END IF;
	END LOOP;
	merged := jsonb_strip_nulls(i.facts || facts);
	UPDATE depwatch.incident x SET facts = merged WHERE x.id = i.id AND x.facts IS DISTINCT FROM merged;
	RETURN merged;
END
$$;

-- _kr_fss_criteria: the Korean FSS rules (SPEC section 3): reportable when
-- an electronic financial service stopped or was delayed 30 minutes or
-- more, or 10 minutes with 10,000 subscribers or more; major when two or
-- more of impact, data, reputation, time (2 hours) and amount apply.  The
-- FSS does not publish the impact and amount sizes; depwatch's are in the
-- threshold column.
CREATE FUNCTION _kr_fss_criteria(f jsonb, m jsonb)
	RETURNS TABLE(criterion text, value text, threshold text, met boolean)
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	WITH c(n, criterion, value, threshold, met) AS (VALUES
		(1, 'impact',
		 'clients affected ' || coalesce(m->>'clients_affected', 'not measured')
			|| '; relevant clients affected ' || coalesce(f->>'relevant_clients_affected', 'not recorded'),
		 '10000 clients or more affected, or relevant clients affected (depwatch''s size)',
		 coalesce((m->>'clients_affected')::numeric >= 10000, false)
		 OR coalesce((f->>'relevant_clients_affected')::boolean, false)),
		(2, 'data',
		 'data losses ' || coalesce(f->>'data_losses', 'not recorded')
			|| '; malicious access ' || coalesce(f->>'malicious_access', 'not recorded'),
		 'data lost or accessed without authorisation',
		 coalesce((f->>'data_losses')::boolean, false) OR coalesce((f->>'malicious_access')::boolean, false)),
		(3, 'reputation', coalesce(f->>'reputational', 'not recorded'),
		 'media, complaints, regulatory or client loss',
		 jsonb_array_length(coalesce(f->'reputational', '[]')) > 0),
		(4, 'time', 'service stopped or delayed ' || (m->>'downtime'),
		 '2 hours or more',
		 (m->>'downtime')::interval >= interval '2 hours'),
		(5, 'amount', 'transactions affected worth ' || coalesce(m->>'transactions_value', 'not measured'),
		 '100000000 or more in the ledger''s currency (depwatch''s size)',
		 coalesce((m->>'transactions_value')::numeric >= 100000000, false)),
		(6, 'reportable',
		 'service stopped or delayed ' || (m->>'downtime') || coalesce('; subscribers ' || (f->>'subscribers'), ''),
		 '30 minutes or more, or 10 minutes or more with 10000 subscribers or more',
		 (m->>'downtime')::interval >= interval '30 minutes'
		 OR ((m->>'downtime')::interval >= interval '10 minutes'
			 AND coalesce((f->>'subscribers')::numeric >= 10000, false)))
	)
	SELECT c.criterion, c.value, c.threshold, c.met FROM c
	UNION ALL
	SELECT 'major', (SELECT count(*) FROM c WHERE c.met AND c.n <= 5) || ' of 5 apply',
		   'two or more of impact, data, reputation, time and amount',
		   (SELECT count(*) FROM c WHERE c.met AND c.n <= 5) >= 2
$$;

-- _incident_measures: what depwatch measures of an incident for its
-- classification (SPEC section 3, "Classification"): duration; the
-- downtime of the capabilities it took down (the longest, from first down
-- to last up, or to backlog_cleared_at when that is later); and, with a
-- ledger bound, affected clients, affected transactions by number and
-- value, their daily averages over the 4 weeks before, and the waiver of
-- the fee policy named by the fact fee_policy.
CREATE FUNCTION _incident_measures(i depwatch.incident) RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	f jsonb := i.facts;
	transfers regclass := depwatch._ledger('transfers', optional => true);
	applications regclass := depwatch._ledger('applications', optional => true);
	downtime interval;
	clients bigint;
	tx bigint;
	tx_value numeric;
	daily_tx numeric;
	daily_value numeric;
	waiver numeric;
BEGIN
	SELECT max(x.e - x.s) INTO downtime
	FROM (SELECT min(w.started_at) AS s,
				 greatest(max(w.ended_at), (f->>'backlog_cleared_at')::timestamptz) AS e
		  FROM depwatch._incident_windows(i) w GROUP BY w.capability) x;
	IF transfers IS NOT NULL THEN
		EXECUTE format('SELECT count(*) FROM (%s) c', depwatch._incident_customers_query(transfers, applications))
			INTO clients USING i;
		EXECUTE format('SELECT count(*), coalesce(sum(abs(r.amount)), 0) FROM (%s) r',
					   depwatch._in_windows(transfers, 'x.amount', 'depwatch._incident_windows($1)', true))
			INTO tx, tx_value USING i;
		EXECUTE format($q$
			SELECT count(*) / 28.0, coalesce(sum(abs(x.amount)), 0) / 28
			FROM %s x
			WHERE x.occurred_at >= ($1).started_at - interval '28 days' AND x.occurred_at < ($1).started_at
			  AND x.capability IN (SELECT w.capability FROM depwatch._incident_windows($1) w)
		$q$, transfers) INTO daily_tx, daily_value USING i;
		IF f ? 'fee_policy' THEN
			SELECT s.waiver INTO waiver FROM depwatch.fee_waiver_summary(i.id, f->>'fee_policy') s;
		END IF;
	END IF;
	RETURN jsonb_build_object(
		'duration', coalesce(i.ended_at, now()) - i.started_at,
		'downtime', coalesce(downtime, interval '0'),
		'clients_affected', clients,
		'transactions_affected', tx,
		'transactions_value', tx_value,
		'daily_transactions', daily_tx,
		'daily_value', daily_value,
		'fee_waiver', waiver,
		'costs_eur', coalesce((f->>'costs_eur')::numeric, 0)
					 + coalesce(waiver, 0) * coalesce((f->>'eur_per_unit')::numeric, 1));
END
$$;

-- _dora_criteria: the thresholds of Commission Delegated Regulation (EU)
-- 2024/1772 Art 9 over an incident's facts (f) and measures (m), without
-- the recurring rule.  An unrecorded fact is not met.
CREATE FUNCTION _dora_criteria(f jsonb, m jsonb)
	RETURNS TABLE(criterion text, value text, threshold text, met boolean)
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT c.criterion, c.value, c.threshold, coalesce(c.met, false)
	FROM (VALUES
		(1, 'critical_services', coalesce(f->>'critical_services_affected', 'not recorded'),
		 'services supporting critical or important functions affected (Art 6)',
		 (f->>'critical_services_affected')::boolean),
		(2, 'malicious_access', coalesce(f->>'malicious_access', 'not recorded'),
		 'successful malicious unauthorised access that may cause data losses (Art 9(5)(b))',
		 (f->>'malicious_access')::boolean),
		(3, 'clients_transactions',
		 concat_ws('; ',
			'clients affected ' || coalesce(m->>'clients_affected', 'not measured')
				|| coalesce(' of ' || (f->>'clients_total'), ''),
			'counterparts affected ' || (f->>'counterparts_affected') || coalesce(' of ' || (f->>'counterparts_total'), ''),
			'transactions affected ' || coalesce(m->>'transactions_affected', 'not measured')
				|| coalesce(' (daily average ' || round((m->>'daily_transactions')::numeric, 2) || ')', ''),
			'value affected ' || (m->>'transactions_value')
				|| coalesce(' (daily average ' || round((m->>'daily_value')::numeric, 2) || ')', ''),
			'relevant clients affected ' || (f->>'relevant_clients_affected')),
		 '> 10 % of the service''s clients or > 100000 clients; > 30 % of counterparts; > 10 % of the daily average transactions by number or value; relevant clients affected (Art 9(1))',
		 (m->>'clients_affected')::numeric > 100000
		 OR (m->>'clients_affected')::numeric > 0.1 * (f->>'clients_total')::numeric
		 OR (f->>'counterparts_affected')::numeric > 0.3 * (f->>'counterparts_total')::numeric
		 OR (m->>'transactions_affected')::numeric > 0.1 * (m->>'daily_transactions')::numeric
		 OR (m->>'transactions_value')::numeric > 0.1 * (m->>'daily_value')::numeric
		 OR coalesce((f->>'relevant_clients_affected')::boolean, false)),
		(4, 'reputational', coalesce(f->>'reputational', 'not recorded'),
		 'media, repeated complaints, regulatory requirements or loss of clients (Art 9(2))',
		 jsonb_array_length(coalesce(f->'reputational', '[]')) > 0),
		(5, 'duration_downtime',
		 'duration ' || (m->>'duration') || '; downtime ' || (m->>'downtime'),
		 'duration > 24 hours, or downtime > 2 hours of a service supporting critical functions (Art 9(3))',
		 (m->>'duration')::interval > interval '24 hours'
		 OR ((m->>'downtime')::interval > interval '2 hours'
			 AND coalesce((f->>'critical_services_affected')::boolean, false))),
		(6, 'geographical_spread', coalesce(f->>'member_states', 'not recorded'),
		 'two or more member states (Art 9(4))',
		 (f->>'member_states')::int >= 2),
		(7, 'data_losses', coalesce(f->>'data_losses', 'not recorded'),
		 'losses of availability, authenticity, integrity or confidentiality of data (Art 9(5)(a))',
		 (f->>'data_losses')::boolean),
		(8, 'economic_impact',
		 'EUR ' || (m->>'costs_eur') || coalesce(' (fee waiver ' || (m->>'fee_waiver') || ' included)', ''),
		 'costs and losses > EUR 100000, fee waivers and compensation included (Art 9(6))',
		 (m->>'costs_eur')::numeric > 100000)
	) c(n, criterion, value, threshold, met)
	ORDER BY c.n
$$;

-- _dora_major: the rule of Art 8(1) over _dora_criteria's rows: critical
-- services affected and either malicious access or two other thresholds.
CREATE FUNCTION _dora_major(f jsonb, m jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
	SELECT bool_or(c.met) FILTER (WHERE c.criterion = 'critical_services')
		   AND (bool_or(c.met) FILTER (WHERE c.criterion = 'malicious_access')
				OR count(*) FILTER (WHERE c.met AND c.criterion NOT IN ('critical_services', 'malicious_access')) >= 2)
	FROM depwatch._dora_criteria(f, m) c
$$;

-- _combined_measures: the measures of several incidents taken together,
-- for the recurring rule: durations, downtimes, counts, values and costs
-- add up; daily averages are the largest.
CREATE FUNCTION _combined_measures(ms jsonb[]) RETURNS jsonb
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT jsonb_build_object(
		'duration', sum((m->>'duration')::interval),
		'downtime', sum((m->>'downtime')::interval),
		'clients_affected', sum((m->>'clients_affected')::numeric),
		'transactions_affected', sum((m->>'transactions_affected')::numeric),
		'transactions_value', sum((m->>'transactions_value')::numeric),
		'daily_transactions', max((m->>'daily_transactions')::numeric),
		'daily_value', max((m->>'daily_value')::numeric),
		'costs_eur', sum((m->>'costs_eur')::numeric))
	FROM unnest(ms) m
$$;

-- _combined_facts: facts of several incidents taken together: any true
-- boolean, all reputational kinds, the most member states and clients.
CREATE FUNCTION _combined_facts(fs jsonb[]) RETURNS jsonb
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT jsonb_strip_nulls(jsonb_build_object(
		'critical_services_affected', bool_or((f->>'critical_services_affected')::boolean),
		'malicious_access', bool_or((f->>'malicious_access')::boolean),
		'data_losses', bool_or((f->>'data_losses')::boolean),
		'relevant_clients_affected', bool_or((f->>'relevant_clients_affected')::boolean),
		'member_states', max((f->>'member_states')::int),
		'clients_total', max((f->>'clients_total')::numeric),
		'counterparts_total', max((f->>'counterparts_total')::numeric),
		'counterparts_affected', sum((f->>'counterparts_affected')::numeric),
		'reputational', (SELECT jsonb_agg(DISTINCT r) FROM unnest(fs) g, jsonb_array_elements(coalesce(g->'reputational', '[]')) r)))
	FROM unnest(fs) f
$$;

-- classify_incident: one row per criterion, then major (and, for kr_fss,
-- reportable): SPEC section 3, "Classification".
CREATE FUNCTION classify_incident(incident bigint, framework text DEFAULT 'dora')
	RETURNS TABLE(criterion text, value text, threshold text, met boolean)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	i depwatch.incident;
	f jsonb;
	m jsonb;
	cause text;
	peers bigint[];
	peer_facts jsonb[];
	peer_measures jsonb[];
	recurring boolean := false;
	n int;
BEGIN
	IF framework IS NULL OR framework NOT IN ('dora', 'kr_fss') THEN
		RAISE EXCEPTION 'unknown framework "%"', coalesce(framework, 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Use ''dora'' (EU DORA, Commission Delegated Regulation 2024/1772) or ''kr_fss'' (Korean FSS).';
	END IF;
	i := depwatch._incident(incident);
	f := i.facts || jsonb_strip_nulls(jsonb_build_object('root_cause', i.root_cause));
	m := depwatch._incident_measures(i);
	cause := coalesce(i.facts->>'root_cause', i.root_cause);

	IF framework = 'kr_fss' THEN
		RETURN QUERY SELECT * FROM depwatch._kr_fss_criteria(f, m);
		RETURN;
	END IF;

	RETURN QUERY SELECT * FROM depwatch._dora_criteria(f, m);

	-- Art 8(2): non-major incidents with the same root cause, at least two
	-- within 6 months, that together meet Art 8(1)
	IF cause IS NOT NULL AND NOT depwatch._dora_major(f, m) THEN
		SELECT array_agg(x.id ORDER BY x.started_at), array_agg(x.facts ORDER BY x.started_at),
			   array_agg(x.m ORDER BY x.started_at)
		  INTO peers, peer_facts, peer_measures
		FROM (SELECT o.id, o.started_at, o.facts, depwatch._incident_measures(o) AS m
			  FROM depwatch.incident o
			  WHERE coalesce(o.facts->>'root_cause', o.root_cause) = cause
				AND o.started_at > i.started_at - interval '6 months' AND o.started_at <= i.started_at) x
		WHERE NOT depwatch._dora_major(x.facts, x.m);
		n := coalesce(cardinality(peers), 0);
		recurring := n >= 2 AND depwatch._dora_major(depwatch._combined_facts(peer_facts),
													  depwatch._combined_measures(peer_measures));
	END IF;
	criterion := 'recurring';
	value := CASE WHEN cause IS NULL THEN 'no root cause recorded'
				  WHEN depwatch._dora_major(f, m) THEN 'not looked for: major on its own'
				  ELSE format('%s non-major incidents with root cause %s within 6 months: %s',
							  coalesce(n, 0), cause, coalesce(array_to_string(peers, ', '), 'none')) END;
	threshold := 'non-major incidents with the same root cause, twice or more within 6 months, that together are major (Art 8(2))';
	met := recurring;
	RETURN NEXT;
	criterion := 'major';
	value := NULL;
	threshold := 'critical services affected, and malicious access or two other thresholds met (Art 8(1)); or recurring';
	met := depwatch._dora_major(f, m) OR recurring;
	RETURN NEXT;
END
$$;

-- incident_timeline: what happened during an incident, in time order:
-- the incident opened and closed, its dependencies' outages, the
-- capabilities taken down and restored, maintenance, the facts as they
-- were recorded (from the audit log), awareness, classification and the
-- backlog cleared.
CREATE FUNCTION incident_timeline(incident bigint)
	RETURNS TABLE(at timestamptz, event text, target text, detail text)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	i depwatch.incident := depwatch._incident(incident);
	deps bigint[] := depwatch._incident_dependencies(i);
	span tstzrange := tstzrange(i.started_at, coalesce(i.ended_at, now()), '[]');
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

-- _reporting_deadlines: DORA (Commission Delegated Regulation (EU)
-- 2025/301 Art 5) for a major incident: the initial notification within 4
-- hours of classification and no later than 24 hours after awareness
-- (within 4 hours of a classification later than that), the intermediate
-- report within 72 hours of the initial, the final within one month of
-- the intermediate; the Korean FSS initial report within one day of
-- recognition.  NULL where a time is not recorded or no report is due.
CREATE FUNCTION _reporting_deadlines(facts jsonb, dora_major boolean, fss_reportable boolean) RETURNS jsonb
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	WITH t AS (
		SELECT (facts->>'aware_at')::timestamptz AS aware, (facts->>'classified_at')::timestamptz AS classified),
	d AS (
		SELECT CASE WHEN dora_major THEN
					CASE WHEN t.classified > t.aware + interval '24 hours' THEN t.classified + interval '4 hours'
						 ELSE least(t.classified + interval '4 hours', t.aware + interval '24 hours') END
			   END AS initial, t.aware
		FROM t)
	SELECT jsonb_build_object(
		'dora', jsonb_build_object(
			'due', dora_major,
			'initial', d.initial,
			'intermediate', d.initial + interval '72 hours',
			'final', d.initial + interval '72 hours' + interval '1 month'),
		'kr_fss', jsonb_build_object(
			'due', fss_reportable,
			'initial', CASE WHEN fss_reportable THEN d.aware + interval '1 day' END))
	FROM d
$$;

-- incident_report: everything about an incident in one JSON document
-- (doc/incident_report.schema.json): the incident, its timeline, the
-- capabilities it took down with their windows, the economics, both
-- classifications and the reporting deadlines.
CREATE FUNCTION incident_report(incident bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
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
			(SELECT (c->>'met')::boolean FROM jsonb_array_elements(fss) c WHERE c->>'criterion' = 'reportable')));
END
$$;

-- ---------------------------------------------------------------------------
-- The probe worker
-- ---------------------------------------------------------------------------

-- A change to dependencies wakes this database's worker when it commits.
CREATE FUNCTION _config_changed() RETURNS trigger
	AS 'MODULE_PATHNAME', 'dw_config_changed'
	LANGUAGE C;
CREATE TRIGGER wake_worker AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON dependency
	FOR EACH STATEMENT EXECUTE FUNCTION _config_changed();

CREATE FUNCTION _worker_status()
	RETURNS TABLE(pid int, database text, vantage text, started_at timestamptz,
				  dependencies int, in_flight int, probes_per_second float8,
				  lag_p50 interval, lag_p99 interval, last_error text, last_error_at timestamptz)
	AS 'MODULE_PATHNAME', 'dw_worker_status'
	LANGUAGE C VOLATILE;

CREATE VIEW worker_status AS SELECT * FROM _worker_status();

-- ---------------------------------------------------------------------------
-- Privileges.  Tables are written only through the functions above; readers
-- never see targets or options unmasked.
-- ---------------------------------------------------------------------------
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA depwatch FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA depwatch FROM PUBLIC;
GRANT USAGE ON SCHEMA depwatch TO depwatch_reader;

GRANT SELECT ON worker_status, dependencies, requirements, outages, status, availability_daily, capability, sample, outage, maintenance,
				incident, incident_dependency, audit_log TO depwatch_reader;
GRANT SELECT (id, name, kind, probe, every, timeout, fail_after, recover_after, degraded_after,
			  site, vendor, enabled, created_at) ON dependency TO depwatch_reader;
-- the dependencies view masks with these, as the reader
GRANT EXECUTE ON FUNCTION _mask_probe_target(text, text), _mask_options(jsonb) TO depwatch_reader;
GRANT EXECUTE ON FUNCTION _worker_status(), parse_requirements(text[]), current_status(), redundancy_risks(),
				verify_audit(), derive_outages(text, tstzrange, int, int),
				availability(tstzrange, text), capability_outages(text, tstzrange),
				state_timeline(tstzrange, text[]), metrics(), timeline_svg(tstzrange, text[]) TO depwatch_reader;

GRANT EXECUTE ON FUNCTION report_sample(text, boolean, interval, timestamptz, text, text),
				record_outage(text, timestamptz, timestamptz, text, text, timestamptz),
				end_outage(text, timestamptz, text),
				add_maintenance(text, tstzrange, text),
				set_incident_facts(bigint, jsonb),
				open_incident(text, timestamptz, text[]),
				close_incident(bigint, timestamptz, text) TO depwatch_operator;

GRANT SELECT ON dependency, probe_state TO depwatch_admin;
GRANT EXECUTE ON FUNCTION
	add_dependency(text, text, text, text, interval, interval, int, int, interval, jsonb, text, text),
	alter_dependency(text, text, text, text, interval, interval, int, int, interval, jsonb, text, text, boolean),
	drop_dependency(text),
	add_capability(text, text[], numeric, interval),
	alter_capability(text, text[], numeric, interval),
	drop_capability(text),
	maintain_sample_partitions(int, interval) TO depwatch_admin;

-- Economics: the binding is visible to readers; binding takes an admin.
GRANT SELECT ON ledger_binding, fee_policy, fee_schedule TO depwatch_reader;
GRANT EXECUTE ON FUNCTION classify_incident(bigint, text), incident_timeline(bigint), incident_report(bigint)
	TO depwatch_reader;
GRANT EXECUTE ON FUNCTION impact(bigint), fee_waiver(bigint, text), fee_waiver_summary(bigint, text),
				fee_waiver_cost(tstzrange, text), deposit_outflow(bigint, interval, interval, text),
				deposit_outflow_summary(bigint, interval, interval, text) TO depwatch_reader;
GRANT EXECUTE ON FUNCTION bind_ledger(regclass, regclass, regclass, regclass),
				add_fee_policy(text, text[], text[], interval, numeric),
				set_fee_schedule(text, text, numeric, tstzrange) TO depwatch_admin;

-- ---------------------------------------------------------------------------
-- Comments: BI tools show them
-- ---------------------------------------------------------------------------
COMMENT ON SCHEMA depwatch IS 'depwatch: outages of the outside services a bank depends on, and what they cost';
COMMENT ON TABLE dependency IS 'An outside service the bank depends on, and how it is probed';
COMMENT ON COLUMN dependency.name IS 'Unique lower-case name, shared namespace with capabilities';
COMMENT ON COLUMN dependency.kind IS 'credit_bureau, identity, messaging, datacenter, payment_network, core or other';
COMMENT ON COLUMN dependency.probe IS 'tcp, http, postgres (probed by the worker), passive (fed by report_sample) or none (outages recorded by hand)';
COMMENT ON COLUMN dependency.target IS 'What is probed: host:port, an http(s) URL or a libpq conninfo; may hold secrets';
COMMENT ON COLUMN dependency.every IS 'Time between probes';
COMMENT ON COLUMN dependency.timeout IS 'Longest a probe may take; at most every';
COMMENT ON COLUMN dependency.fail_after IS 'Consecutive bad samples that open an outage';
COMMENT ON COLUMN dependency.recover_after IS 'Consecutive good samples that close it';
COMMENT ON COLUMN dependency.degraded_after IS 'Latency above which a good sample is slow; NULL: never';
COMMENT ON COLUMN dependency.options IS 'Per-probe options (slo, headers, query, error_rate, window, min_calls, ...); may hold secrets';
COMMENT ON COLUMN dependency.site IS 'Data center or region, for redundancy_risks()';
COMMENT ON COLUMN dependency.vendor IS 'Who runs it, for redundancy_risks()';
COMMENT ON COLUMN dependency.enabled IS 'false: not probed';
COMMENT ON VIEW dependencies IS 'Dependencies with secrets in target and options masked';
COMMENT ON TABLE capability IS 'A business service and the dependencies or capabilities it requires';
COMMENT ON COLUMN capability.requires IS 'AND of groups: ''a'', ''a|b'' (any one) or ''2:a|b|c'' (at least 2)';
COMMENT ON COLUMN capability.slo IS 'Availability objective in percent of monitored time';
COMMENT ON COLUMN capability.impact_tolerance IS 'Longest tolerable downtime of one outage';
COMMENT ON VIEW requirements IS 'Capability requirement groups, parsed: one row per group';
COMMENT ON TABLE sample IS 'One probe or call outcome; partitioned by day, kept for depwatch.sample_retention';
COMMENT ON COLUMN sample.vantage IS 'The node that took the sample (depwatch.vantage)';
COMMENT ON COLUMN sample.ok IS 'The probe or call succeeded';
COMMENT ON COLUMN sample.latency IS 'How long it took';
COMMENT ON TABLE sample_default IS 'Samples outside every daily partition (history imported from long ago)';
COMMENT ON VIEW _machine_rules IS 'What the outage state machine needs of each dependency, with defaults';
COMMENT ON TABLE probe_state IS 'Streak counters of the outage state machine between samples';
COMMENT ON TABLE outage IS 'A window in which a dependency was down or degraded';
COMMENT ON COLUMN outage.during IS '[start, end); the end is infinite while the outage goes on';
COMMENT ON COLUMN outage.detected_at IS 'When depwatch saw it (the fail_after-th bad sample); NULL if recorded by hand';
COMMENT ON COLUMN outage.source IS 'probe, passive, manual or import';
COMMENT ON VIEW outages IS 'Outages for people and BI tools: ended_at is NULL while ongoing';
COMMENT ON TABLE maintenance IS 'Planned maintenance on a dependency or a capability';
COMMENT ON TABLE incident IS 'A named event that groups outages';
COMMENT ON TABLE incident_dependency IS 'Dependencies an incident was opened with';
COMMENT ON TABLE audit_log IS 'Append-only, SHA-256 hash-chained log of every change; secrets masked';
COMMENT ON COLUMN audit_log.actor IS 'The role that made the change';
COMMENT ON COLUMN audit_log.hash IS 'sha256(prev_hash || the row as a JSON array)';
COMMENT ON TABLE audit_head IS 'The last hash of the audit chain';

COMMENT ON FUNCTION add_dependency(text, text, text, text, interval, interval, int, int, interval, jsonb, text, text)
	IS 'Add a dependency; returns its id';
COMMENT ON FUNCTION alter_dependency(text, text, text, text, interval, interval, int, int, interval, jsonb, text, text, boolean)
	IS 'Change a dependency; NULL leaves a setting unchanged';
COMMENT ON FUNCTION drop_dependency(text) IS 'Remove a dependency with its samples, outages and maintenance';
COMMENT ON FUNCTION add_capability(text, text[], numeric, interval) IS 'Add a business capability; returns its id';
COMMENT ON FUNCTION alter_capability(text, text[], numeric, interval) IS 'Change a capability; NULL leaves a setting unchanged';
COMMENT ON FUNCTION drop_capability(text) IS 'Remove a capability';
COMMENT ON FUNCTION parse_requirements(text[]) IS 'Parse requirement groups into (requirement, k, members)';
COMMENT ON FUNCTION add_maintenance(text, tstzrange, text) IS 'Plan maintenance on a dependency or capability';
COMMENT ON FUNCTION record_outage(text, timestamptz, timestamptz, text, text, timestamptz) IS 'Record an outage by hand';
COMMENT ON FUNCTION end_outage(text, timestamptz, text) IS 'End the ongoing outage of a dependency';
COMMENT ON FUNCTION open_incident(text, timestamptz, text[]) IS 'Open an incident; returns its id';
COMMENT ON FUNCTION close_incident(bigint, timestamptz, text) IS 'Close an incident';
COMMENT ON FUNCTION report_sample(text, boolean, interval, timestamptz, text, text)
	IS 'Record one probe or call outcome and advance the outage state machine';
COMMENT ON FUNCTION derive_outages(text, tstzrange, int, int)
	IS 'Replay stored samples through the outage state machine without writing anything';
COMMENT ON FUNCTION maintain_sample_partitions(int, interval) IS 'Make the coming days'' sample partitions and drop expired ones';
COMMENT ON VIEW status IS 'What every dependency and capability is doing now, and since when (current_status())';
COMMENT ON COLUMN status.target IS 'Dependency or capability name';
COMMENT ON COLUMN status.target_type IS 'dependency or capability';
COMMENT ON COLUMN status.state IS 'up, degraded, down, maintenance or unmonitored';
COMMENT ON COLUMN status.since IS 'When the current state began';
COMMENT ON VIEW availability_daily IS 'Availability per target per day over the last 90 days (session time zone), for heat maps';
COMMENT ON COLUMN availability_daily.target IS 'Dependency or capability name';
COMMENT ON COLUMN availability_daily.target_type IS 'dependency or capability';
COMMENT ON COLUMN availability_daily.day IS 'The day, in the session time zone';
COMMENT ON COLUMN availability_daily.bucket_start IS 'Start of the day, in the session time zone';
COMMENT ON COLUMN availability_daily.monitored IS 'Time that was watched (the day minus unmonitored time)';
COMMENT ON COLUMN availability_daily.downtime IS 'Down time within monitored time, outside maintenance';
COMMENT ON COLUMN availability_daily.degraded IS 'Degraded time that was neither down nor maintenance';
COMMENT ON COLUMN availability_daily.maintenance IS 'Planned maintenance within monitored time';
COMMENT ON COLUMN availability_daily.unmonitored IS 'Time nobody watched (monitor gaps, and the rest of today)';
COMMENT ON COLUMN availability_daily.availability IS 'Percent: 100 x (monitored - maintenance - downtime) / (monitored - maintenance); NULL with nothing monitored';
COMMENT ON COLUMN availability_daily.slo IS 'Objective in percent';
COMMENT ON COLUMN availability_daily.budget_left IS 'Error budget left that day: (1 - slo/100) x (monitored - maintenance) - downtime; negative when overspent';
COMMENT ON COLUMN availability_daily.outages IS 'Outages that day (maximal down runs, clipped to the day)';
COMMENT ON COLUMN availability_daily.longest IS 'Longest outage that day, clipped to the day';
COMMENT ON COLUMN dependencies.id IS 'Dependency id';
COMMENT ON COLUMN dependencies.name IS 'Unique lower-case name';
COMMENT ON COLUMN dependencies.kind IS 'credit_bureau, identity, messaging, datacenter, payment_network, core or other';
COMMENT ON COLUMN dependencies.probe IS 'tcp, http, postgres, passive or none';
COMMENT ON COLUMN dependencies.target IS 'What is probed, with passwords and secret query parameters masked';
COMMENT ON COLUMN dependencies.every IS 'Time between probes';
COMMENT ON COLUMN dependencies.timeout IS 'Longest a probe may take';
COMMENT ON COLUMN dependencies.fail_after IS 'Consecutive bad samples that open an outage';
COMMENT ON COLUMN dependencies.recover_after IS 'Consecutive good samples that close it';
COMMENT ON COLUMN dependencies.degraded_after IS 'Latency above which a good sample is slow; NULL: never';
COMMENT ON COLUMN dependencies.options IS 'Per-probe options, with headers and other secrets masked';
COMMENT ON COLUMN dependencies.site IS 'Data center or region it runs in';
COMMENT ON COLUMN dependencies.vendor IS 'Who provides it';
COMMENT ON COLUMN dependencies.enabled IS 'Whether the worker probes it';
COMMENT ON COLUMN dependencies.created_at IS 'When it was added';
COMMENT ON COLUMN requirements.capability IS 'Capability name';
COMMENT ON COLUMN requirements.requirement IS 'Position of the group in capability.requires, from 1';
COMMENT ON COLUMN requirements."group" IS 'The group as written: a, a|b (any one) or 2:a|b|c (at least 2)';
COMMENT ON COLUMN requirements.k IS 'Members that must be up';
COMMENT ON COLUMN requirements.members IS 'Dependencies or capabilities of the group';
COMMENT ON COLUMN outages.id IS 'Outage id';
COMMENT ON COLUMN outages.dependency IS 'Dependency name';
COMMENT ON COLUMN outages.kind IS 'down or degraded';
COMMENT ON COLUMN outages.started_at IS 'First bad sample of the streak that opened it (backdated), or the recorded start';
COMMENT ON COLUMN outages.ended_at IS 'First good sample of the recovery; NULL while ongoing';
COMMENT ON COLUMN outages.detected_at IS 'When the probe or reports saw it (the fail_after-th bad sample); NULL for manual outages';
COMMENT ON COLUMN outages.source IS 'probe, passive, manual or import';
COMMENT ON COLUMN outages.note IS 'Free text';
COMMENT ON COLUMN outages.incident IS 'The earliest incident it belongs to, if any';
COMMENT ON COLUMN worker_status.pid IS 'Process id of the worker';
COMMENT ON COLUMN worker_status.database IS 'Database it probes for';
COMMENT ON COLUMN worker_status.vantage IS 'Where it probes from (depwatch.vantage)';
COMMENT ON COLUMN worker_status.started_at IS 'When it started';
COMMENT ON COLUMN worker_status.dependencies IS 'Enabled probed dependencies it watches';
COMMENT ON COLUMN worker_status.in_flight IS 'Probes running now';
COMMENT ON COLUMN worker_status.probes_per_second IS 'Probes finished per second, lately';
COMMENT ON COLUMN worker_status.lag_p50 IS 'Median lateness of probe starts against their schedule, lately';
COMMENT ON COLUMN worker_status.lag_p99 IS '99th percentile of that lateness';
COMMENT ON COLUMN worker_status.last_error IS 'Last error the worker logged and survived';
COMMENT ON COLUMN worker_status.last_error_at IS 'When it happened';
COMMENT ON TABLE ledger_binding IS 'The bank''s ledger relations the economics reports read (bind_ledger())';
COMMENT ON COLUMN ledger_binding.contract IS 'transfers, applications, balances or accounts';
COMMENT ON COLUMN ledger_binding.relation IS 'Schema-qualified name of the bound table or view';
COMMENT ON COLUMN ledger_binding.bound_at IS 'When it was bound';
COMMENT ON FUNCTION bind_ledger(regclass, regclass, regclass, regclass) IS 'Bind the bank''s ledger relations (tables or views following the ledger contract); unnamed ones are unbound';
COMMENT ON TABLE fee_policy IS 'Which fees an incident''s waiver covers (add_fee_policy())';
COMMENT ON COLUMN fee_policy.fee_types IS 'Fee types covered; NULL: all';
COMMENT ON COLUMN fee_policy.capabilities IS 'Capabilities (ledger capability column) covered; NULL: all';
COMMENT ON COLUMN fee_policy.grace IS 'How long after the incident''s end fees still count';
COMMENT ON COLUMN fee_policy.per_customer_cap IS 'Most waived per customer; NULL: no cap';
COMMENT ON TABLE fee_schedule IS 'Price of each fee type (per capability, or NULL for any) over time (set_fee_schedule())';
COMMENT ON FUNCTION add_fee_policy(text, text[], text[], interval, numeric) IS 'Add a fee waiver policy: fee types, capabilities, grace after the incident, per-customer cap';
COMMENT ON FUNCTION fee_waiver(bigint, text) IS 'Per affected customer of an incident, the fees a policy waives: count, sum and capped waiver';
COMMENT ON FUNCTION fee_waiver_summary(bigint, text) IS 'An incident''s fee waiver in one row, beside the mean fees of the same window 1 to 4 weeks earlier';
COMMENT ON FUNCTION set_fee_schedule(text, text, numeric, tstzrange) IS 'Price a fee type (for one capability, or NULL for any) over a time range';
COMMENT ON FUNCTION fee_waiver_cost(tstzrange, text) IS 'What a waiver programme gives up per bucket and fee type: posted rows with fee 0 priced at the schedule, and what partners were still paid';
COMMENT ON FUNCTION deposit_outflow(bigint, interval, interval, text) IS 'External flows per bucket after an incident against the baseline before it: net, abnormal net, z-score, share of deposits, customers drained, accounts closed';
COMMENT ON FUNCTION deposit_outflow_summary(bigint, interval, interval, text) IS 'Deposit outflow after an incident in one row, with the 30-day run-off beside the LCR retail run-off rates';
COMMENT ON FUNCTION set_incident_facts(bigint, jsonb) IS 'Record facts about an incident that depwatch cannot measure (for classification); merges, a JSON null removes a key';
COMMENT ON COLUMN incident.facts IS 'Facts recorded with set_incident_facts()';
COMMENT ON FUNCTION classify_incident(bigint, text) IS 'Classify an incident under dora (Commission Delegated Regulation (EU) 2024/1772) or kr_fss: one row per criterion with value, threshold and whether it is met, then major (and reportable for kr_fss)';
COMMENT ON FUNCTION incident_timeline(bigint) IS 'What happened during an incident, in time order: outages, capabilities down and restored, maintenance, facts recorded, awareness, classification';
COMMENT ON FUNCTION incident_report(bigint) IS 'An incident in one JSON document (doc/incident_report.schema.json): timeline, capabilities, economics, DORA and FSS classification, reporting deadlines';
COMMENT ON FUNCTION impact(bigint) IS 'Per capability an incident took down: its windows, affected transfers, failed ones, distinct customers, failed amount and failed account-opening applications';
COMMENT ON FUNCTION current_status() IS 'State of every dependency and capability now (up, degraded, down, maintenance, unmonitored), and since when';
COMMENT ON FUNCTION availability(tstzrange, text) IS 'Per dependency and capability (and per hour, day, week or month bucket): monitored, down, degraded, maintenance and unmonitored time, availability against SLO, error budget, outages, MTTR, MTBF';
COMMENT ON FUNCTION capability_outages(text, tstzrange) IS 'Down and degraded windows of a capability over a period, with the requirement groups that caused them';
COMMENT ON FUNCTION state_timeline(tstzrange, text[]) IS 'What each target was doing over a period: runs of up, degraded, down or unmonitored, with maintenance';
COMMENT ON FUNCTION metrics() IS 'OpenMetrics text exposition for Prometheus: per dependency and capability its state and since when, outages, availability over the last 24 hours and 30 days, and sample latency; never targets or options';
COMMENT ON FUNCTION timeline_svg(tstzrange, text[]) IS 'Status-page picture (SVG) of what each target was doing over a period: a row per target coloured by state, tooltips on every run, axis in the session time zone';
COMMENT ON FUNCTION redundancy_risks() IS 'Requirement groups whose alternatives share a site or vendor';
COMMENT ON VIEW worker_status IS 'The probe workers running now: what they watch, how fast, how late, their last error';
COMMENT ON FUNCTION verify_audit() IS 'Check the audit hash chain; first_bad is the first row that does not match';

-- No JIT inside depwatch's functions.  Their queries are short or read the
-- ledger by index ranges, and set-returning functions make the planner's
-- estimates large enough to reach jit_above_cost: compiling then costs more
-- than running (add_capability took 0.5 s, incident_report 2.3 times as
-- long with JIT on a 1M-row ledger).  Only functions that already carry a
-- SET clause get it, so no function loses SQL inlining.
DO $$
DECLARE
	f regprocedure;
BEGIN
	FOR f IN SELECT p.oid FROM pg_proc p
			 WHERE p.pronamespace = 'depwatch'::regnamespace AND p.proconfig IS NOT NULL
	LOOP
		EXECUTE format('ALTER FUNCTION %s SET jit = off', f);
	END LOOP;
END
$$;

-- Wake this database's probe worker, which waits for the extension, when
-- CREATE EXTENSION commits (a statement trigger fires even on no rows).
DELETE FROM dependency WHERE false;
