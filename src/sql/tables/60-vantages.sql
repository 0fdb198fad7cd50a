-- Vantages: what each node observed, shipped by logical replication.
-- Tables are created once, at install; an update changes them in src/update/.

CREATE SEQUENCE vantage_sample_id_seq;
CREATE TABLE vantage_sample (
	vantage			text NOT NULL,
	id				bigint NOT NULL DEFAULT nextval('depwatch.vantage_sample_id_seq'),
	dependency		text NOT NULL,
	at				timestamptz NOT NULL,
	ok				boolean NOT NULL,
	latency			interval,
	detail			text,
	-- when this node stored the row: on the central node, when it arrived
	-- (the publication leaves the column out, so the default fills it)
	received_at		timestamptz NOT NULL DEFAULT clock_timestamp(),
	PRIMARY KEY (vantage, id)
);
ALTER SEQUENCE vantage_sample_id_seq OWNED BY vantage_sample.id;
CREATE INDEX vantage_sample_last ON vantage_sample (dependency, vantage, at);
CREATE INDEX vantage_sample_expiry ON vantage_sample (vantage, at);
-- A vantage's own outages (source probe or passive), by its outage id.
CREATE TABLE vantage_outage (
	vantage			text NOT NULL,
	outage_id		bigint NOT NULL,
	dependency		text NOT NULL,
	kind			text NOT NULL CHECK (kind IN ('down', 'degraded')),
	during			tstzrange NOT NULL,
	detected_at		timestamptz,
	PRIMARY KEY (vantage, outage_id)
);
CREATE INDEX vantage_outage_dependency ON vantage_outage (dependency, kind);
-- A vantage's unmonitored windows (its monitor_gap rows).
CREATE TABLE vantage_gap (
	vantage			text NOT NULL,
	dependency		text NOT NULL,
	before			timestamptz NOT NULL,
	unmonitored		tstzrange NOT NULL,
	PRIMARY KEY (vantage, dependency, before)
);
SELECT pg_catalog.pg_extension_config_dump('vantage_sample', '');
SELECT pg_catalog.pg_extension_config_dump('vantage_sample_id_seq', '');
-- This node's own outage and gap rows come back from outage and monitor_gap
-- as they are restored (through the triggers below): pg_dump keeps the
-- other vantages' rows only.
SELECT pg_catalog.pg_extension_config_dump('vantage_outage', 'WHERE vantage <> depwatch_internal._vantage()');
SELECT pg_catalog.pg_extension_config_dump('vantage_gap', 'WHERE vantage <> depwatch_internal._vantage()');
COMMENT ON TABLE vantage_sample IS 'Samples of every vantage, by dependency name (logical replication)';
COMMENT ON COLUMN vantage_sample.vantage IS 'The vantage that took the sample';
COMMENT ON COLUMN vantage_sample.id IS 'Its number on that vantage (unique with vantage)';
COMMENT ON COLUMN vantage_sample.dependency IS 'Dependency name';
COMMENT ON COLUMN vantage_sample.at IS 'When the probe or call was made';
COMMENT ON COLUMN vantage_sample.ok IS 'Whether it succeeded';
COMMENT ON COLUMN vantage_sample.latency IS 'How long it took';
COMMENT ON COLUMN vantage_sample.detail IS 'What the probe saw';
COMMENT ON COLUMN vantage_sample.received_at IS 'When this node stored it (arrival, on the central node)';
COMMENT ON TABLE vantage_outage IS 'Each vantage''s own outages, by dependency name (logical replication)';
COMMENT ON COLUMN vantage_outage.vantage IS 'The vantage that saw the outage';
COMMENT ON COLUMN vantage_outage.outage_id IS 'Its id in depwatch.outage on that vantage';
COMMENT ON COLUMN vantage_outage.dependency IS 'Dependency name';
COMMENT ON COLUMN vantage_outage.kind IS 'down or degraded';
COMMENT ON COLUMN vantage_outage.during IS 'When, [start, end); end open while ongoing';
COMMENT ON COLUMN vantage_outage.detected_at IS 'When the vantage opened it';
COMMENT ON TABLE vantage_gap IS 'Each vantage''s unmonitored windows, by dependency name (logical replication)';
COMMENT ON COLUMN vantage_gap.vantage IS 'The vantage that was not watching';
COMMENT ON COLUMN vantage_gap.dependency IS 'Dependency name';
COMMENT ON COLUMN vantage_gap.before IS 'The sample that ended the gap';
COMMENT ON COLUMN vantage_gap.unmonitored IS 'The unmonitored window';
