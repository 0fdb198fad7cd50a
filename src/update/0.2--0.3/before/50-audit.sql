-- The audit chain records the login role too (doc/semantics.md, "Audit").

-- actor is the role in effect (SET ROLE, else the login role), which is the
-- caller's current_user; session_actor is session_user.  Rows written
-- before 0.3 have none.
ALTER TABLE audit_log ADD COLUMN session_actor text;

ALTER TABLE audit_log DROP CONSTRAINT audit_log_action_check;

ALTER TABLE audit_log ADD CONSTRAINT audit_log_action_check
	CHECK (action IN ('INSERT', 'UPDATE', 'DELETE', 'RECHAIN'));

COMMENT ON COLUMN audit_log.actor IS 'The role in effect when the change was made (SET ROLE, else the login role): the caller''s current_user';

COMMENT ON COLUMN audit_log.session_actor IS 'The login role (session_user); NULL in rows written before 0.3';

COMMENT ON COLUMN audit_log.action IS 'INSERT, UPDATE or DELETE of a row; RECHAIN when an update re-masked and re-hashed the log';

COMMENT ON COLUMN audit_log.hash IS 'sha256(prev_hash || the row as a JSON array); the array starts with 2 and holds session_actor when it is set';
