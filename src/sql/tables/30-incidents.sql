-- Incidents.
-- Tables are created once, at install; an update changes them in src/update/.

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
SELECT pg_catalog.pg_extension_config_dump('incident', '');
SELECT pg_catalog.pg_extension_config_dump('incident_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('incident_dependency', '');
COMMENT ON TABLE incident IS 'A named event that groups outages';
COMMENT ON COLUMN incident.facts IS 'Facts recorded with set_incident_facts()';
COMMENT ON TABLE incident_dependency IS 'Dependencies an incident was opened with';
