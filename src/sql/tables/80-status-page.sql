-- The status page's incident updates: what customers were told, and when.
-- Tables are created once, at install; an update changes them in src/update/.

CREATE SEQUENCE incident_update_id_seq;
CREATE TABLE incident_update (
	id				bigint PRIMARY KEY DEFAULT nextval('depwatch.incident_update_id_seq'),
	incident_id		bigint NOT NULL REFERENCES incident ON DELETE CASCADE,
	status			text NOT NULL CHECK (status IN ('investigating', 'identified', 'monitoring', 'resolved')),
	message			text NOT NULL CHECK (btrim(message) <> '' AND char_length(message) <= 4000),
	at				timestamptz NOT NULL,
	public			boolean NOT NULL DEFAULT true,
	created_at		timestamptz NOT NULL DEFAULT now()
);
ALTER SEQUENCE incident_update_id_seq OWNED BY incident_update.id;
CREATE INDEX incident_update_incident ON incident_update (incident_id, at);
SELECT pg_catalog.pg_extension_config_dump('incident_update', '');
SELECT pg_catalog.pg_extension_config_dump('incident_update_id_seq', '');
COMMENT ON TABLE incident_update IS 'Updates on an incident for customers (add_incident_update()); the public ones appear on the status page';
COMMENT ON COLUMN incident_update.status IS 'investigating, identified, monitoring or resolved';
COMMENT ON COLUMN incident_update.message IS 'What customers are told (at most 4,000 characters)';
COMMENT ON COLUMN incident_update.at IS 'When it was (or is said to be) posted';
COMMENT ON COLUMN incident_update.public IS 'false: an internal note, never on the status page';
