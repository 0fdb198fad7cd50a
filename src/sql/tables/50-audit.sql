-- The audit chain.
-- Tables are created once, at install; an update changes them in src/update/.

CREATE SEQUENCE audit_log_id_seq;
CREATE TABLE audit_log (
	id				bigint PRIMARY KEY DEFAULT nextval('depwatch.audit_log_id_seq'),
	at				timestamptz NOT NULL,
	actor			text NOT NULL,
	action			text NOT NULL CHECK (action IN ('INSERT', 'UPDATE', 'DELETE', 'RECHAIN')),
	table_name		text NOT NULL,
	row_id			bigint,
	old				jsonb,
	new				jsonb,
	prev_hash		bytea,
	hash			bytea NOT NULL,
	session_actor	text
);
ALTER SEQUENCE audit_log_id_seq OWNED BY audit_log.id;
CREATE INDEX audit_log_row ON audit_log (table_name, row_id, id);
CREATE TABLE audit_head (
	one				boolean PRIMARY KEY DEFAULT true CHECK (one),
	last_id			bigint,
	last_hash		bytea
);
SELECT pg_catalog.pg_extension_config_dump('audit_log', '');
SELECT pg_catalog.pg_extension_config_dump('audit_log_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('audit_head', '');
COMMENT ON TABLE audit_log IS 'Append-only, SHA-256 hash-chained log of every change; secrets masked';
COMMENT ON COLUMN audit_log.actor IS 'The role in effect when the change was made (SET ROLE, else the login role): the caller''s current_user';
COMMENT ON COLUMN audit_log.action IS 'INSERT, UPDATE or DELETE of a row; RECHAIN when an update re-masked and re-hashed the log';
COMMENT ON COLUMN audit_log.hash IS 'sha256(prev_hash || the row as a JSON array); the array starts with 2 and holds session_actor when it is set';
COMMENT ON COLUMN audit_log.session_actor IS 'The login role (session_user); NULL in rows written before 0.3';
COMMENT ON TABLE audit_head IS 'The last hash of the audit chain';
