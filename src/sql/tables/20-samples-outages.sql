-- Samples, monitor gaps, the state machine's counters, and outages.
-- Tables are created once, at install; an update changes them in src/update/.

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
-- It covers ok and latency, which the availability sweep reads.
CREATE INDEX ON sample_default (dependency_id, at) INCLUDE (ok, latency);
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
CREATE SEQUENCE outage_id_seq;
CREATE TABLE outage (
	id				bigint PRIMARY KEY DEFAULT nextval('depwatch.outage_id_seq'),
	dependency_id	bigint NOT NULL REFERENCES dependency ON DELETE CASCADE,
	kind			text NOT NULL CHECK (kind IN ('down', 'degraded')),
	during			tstzrange NOT NULL CHECK (NOT isempty(during) AND NOT lower_inf(during)
											  AND lower_inc(during) AND NOT upper_inc(during)),
	detected_at		timestamptz,
	source			text NOT NULL CHECK (source IN ('probe', 'reported', 'passive', 'manual', 'import')),
	note			text,
	created_at		timestamptz NOT NULL DEFAULT now(),
	EXCLUDE USING gist (dependency_id WITH =, kind WITH =, during WITH &&)
);
ALTER SEQUENCE outage_id_seq OWNED BY outage.id;
-- the state machine looks up the ongoing outages of the dependencies it feeds
CREATE INDEX outage_ongoing ON outage (dependency_id) WHERE upper_inf(during);
SELECT pg_catalog.pg_extension_config_dump('sample_default', '');
SELECT pg_catalog.pg_extension_config_dump('probe_state', '');
SELECT pg_catalog.pg_extension_config_dump('monitor_gap', '');
SELECT pg_catalog.pg_extension_config_dump('outage', '');
SELECT pg_catalog.pg_extension_config_dump('outage_id_seq', '');
COMMENT ON TABLE sample IS 'One probe or call outcome; partitioned by day, kept for depwatch.sample_retention';
COMMENT ON COLUMN sample.vantage IS 'The node that took the sample (depwatch.vantage)';
COMMENT ON COLUMN sample.ok IS 'The probe or call succeeded';
COMMENT ON COLUMN sample.latency IS 'How long it took';
COMMENT ON TABLE sample_default IS 'Samples outside every daily partition (history imported from long ago)';
COMMENT ON TABLE probe_state IS 'Streak counters of the outage state machine between samples';
COMMENT ON TABLE outage IS 'A window in which a dependency was down or degraded';
COMMENT ON COLUMN outage.during IS '[start, end); the end is infinite while the outage goes on';
COMMENT ON COLUMN outage.detected_at IS 'When depwatch saw it (the fail_after-th bad sample); NULL if recorded by hand';
COMMENT ON COLUMN outage.source IS 'probe (the worker), reported (report_sample), passive (the error-rate rule), manual (record_outage) or import';
