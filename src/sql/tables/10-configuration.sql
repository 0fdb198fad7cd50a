-- Configuration: dependencies, capabilities and maintenance windows.
-- Tables are created once, at install; an update changes them in src/update/.

CREATE SEQUENCE dependency_id_seq;
CREATE TABLE dependency (
	id				bigint PRIMARY KEY DEFAULT nextval('depwatch.dependency_id_seq'),
	name			text NOT NULL UNIQUE CHECK (depwatch_internal._valid_name(name)),
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
	created_at		timestamptz NOT NULL DEFAULT now(),
	-- whether a superuser set probe, target and options last (restricted
	-- probes otherwise: doc/semantics.md, "Outbound connections")
	probe_set_by_superuser boolean NOT NULL DEFAULT false,
	-- the start of its history: nothing is known of it before
	tracked_since	timestamptz NOT NULL DEFAULT now()
);
ALTER SEQUENCE dependency_id_seq OWNED BY dependency.id;
CREATE SEQUENCE capability_id_seq;
CREATE TABLE capability (
	id				bigint PRIMARY KEY DEFAULT nextval('depwatch.capability_id_seq'),
	name			text NOT NULL UNIQUE CHECK (depwatch_internal._valid_name(name)),
	requires		text[] NOT NULL CHECK (cardinality(requires) >= 1),
	slo				numeric NOT NULL DEFAULT 99.9 CHECK (slo > 0 AND slo <= 100),
	impact_tolerance interval CHECK (impact_tolerance > interval '0'),
	created_at		timestamptz NOT NULL DEFAULT now(),
	-- what customers read on the status page; NULL: the name
	display_name	text CONSTRAINT capability_display_name_rule
						CHECK (depwatch_internal._valid_display_name(display_name))
);
ALTER SEQUENCE capability_id_seq OWNED BY capability.id;
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
-- pg_dump keeps the bank's configuration and history.
SELECT pg_catalog.pg_extension_config_dump('dependency', '');
SELECT pg_catalog.pg_extension_config_dump('dependency_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('capability', '');
SELECT pg_catalog.pg_extension_config_dump('capability_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('maintenance', '');
SELECT pg_catalog.pg_extension_config_dump('maintenance_id_seq', '');
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
COMMENT ON COLUMN dependency.probe_set_by_superuser IS 'A superuser set probe, target and options last: the probe is not held to depwatch.allowed_addresses and the rules for others';
COMMENT ON COLUMN dependency.tracked_since IS 'Start of its history: before it the dependency is untracked and every report counts that time as unmonitored';
COMMENT ON TABLE capability IS 'A business service and the dependencies or capabilities it requires';
COMMENT ON COLUMN capability.requires IS 'AND of groups: ''a'', ''a|b'' (any one) or ''2:a|b|c'' (at least 2)';
COMMENT ON COLUMN capability.slo IS 'Availability objective in percent of monitored time';
COMMENT ON COLUMN capability.impact_tolerance IS 'Longest tolerable downtime of one outage';
COMMENT ON COLUMN capability.display_name IS 'Name customers read on the status page (status_page()); NULL: the name';
COMMENT ON TABLE maintenance IS 'Planned maintenance on a dependency or a capability';
