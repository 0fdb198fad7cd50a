
-- ---------------------------------------------------------------------------
-- The audit chain (doc/semantics.md, "Audit chain"): it records both the
-- role in effect and the login role, detects a deleted or nulled head, and
-- is re-chained once here, after the rows it logs were masked again
-- (50-secrets.sql).  This piece comes after every other piece that changes
-- rows, so the chain it leaves covers them.
-- ---------------------------------------------------------------------------

-- actor is the role in effect (SET ROLE, else the login role), which is the
-- caller's current_user; session_actor is session_user.  Rows written
-- before 0.3 have none.
ALTER TABLE audit_log ADD COLUMN session_actor text;
ALTER TABLE audit_log DROP CONSTRAINT audit_log_action_check;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_action_check
	CHECK (action IN ('INSERT', 'UPDATE', 'DELETE', 'RECHAIN'));

-- _audit_hash, format 2: the row as a JSON array that starts with 2 and
-- holds session_actor too.  Rows without a session_actor (written before
-- 0.3, or restored from a dump of 0.2) keep format 1, the array of
-- _audit_hash's first form, so that they still verify; a format 2 row whose
-- session_actor were nulled would be hashed as format 1, another array, and
-- fail.
CREATE FUNCTION _audit_hash(prev_hash bytea, id bigint, at timestamptz, actor text,
							session_actor text, action text, table_name text, row_id bigint,
							old jsonb, new jsonb) RETURNS bytea
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT sha256(coalesce(prev_hash, '\x'::bytea) ||
		convert_to(CASE WHEN session_actor IS NULL THEN
					   jsonb_build_array(id, (extract(epoch FROM at) * 1000000)::bigint,
										 actor, action, table_name, row_id, old, new)
				   ELSE
					   jsonb_build_array(2, id, (extract(epoch FROM at) * 1000000)::bigint,
										 actor, session_actor, action, table_name, row_id, old, new)
				   END::text,
				   'UTF8'))
$$;

-- _audit_write appends one row to the chain and moves the head to it.
CREATE FUNCTION _audit_write(action text, table_name text, row_id bigint,
							 old jsonb, new jsonb) RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	head depwatch.audit_head;
	row_ depwatch.audit_log;
BEGIN
	INSERT INTO depwatch.audit_head (one) VALUES (true) ON CONFLICT DO NOTHING;
	SELECT * INTO head FROM depwatch.audit_head FOR UPDATE;

	row_.id := nextval('depwatch.audit_log_id_seq');
	row_.at := clock_timestamp();
	row_.actor := depwatch._audit_actor();
	row_.session_actor := session_user;
	row_.action := action;
	row_.table_name := table_name;
	row_.row_id := row_id;
	row_.old := old;
	row_.new := new;
	row_.prev_hash := head.last_hash;
	row_.hash := depwatch._audit_hash(row_.prev_hash, row_.id, row_.at, row_.actor, row_.session_actor,
									  row_.action, row_.table_name, row_.row_id, row_.old, row_.new);
	INSERT INTO depwatch.audit_log SELECT row_.*;
	UPDATE depwatch.audit_head SET last_id = row_.id, last_hash = row_.hash;
	RETURN row_.id;
END
$$;

-- Rows are turned into jsonb in UTC and the postgres interval style, so
-- that what is logged does not depend on the session.
CREATE OR REPLACE FUNCTION _audit_append() RETURNS trigger
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
	PERFORM depwatch._audit_write(TG_OP, TG_TABLE_NAME, rid, o, n);
	RETURN NULL;
END
$$;

-- verify_audit: a missing or nulled head, while the log has rows, fails
-- the last row (the head must point at it); so does a head left behind.
CREATE OR REPLACE FUNCTION verify_audit() RETURNS TABLE(ok boolean, checked bigint, first_bad bigint)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
	WITH chain AS (
		SELECT a.id, a.hash,
			   a.prev_hash IS NOT DISTINCT FROM lag(a.hash) OVER w
			   AND a.hash = depwatch._audit_hash(lag(a.hash) OVER w, a.id, a.at, a.actor, a.session_actor,
												 a.action, a.table_name, a.row_id, a.old, a.new) AS good,
			   lead(a.id) OVER w IS NULL AS last
		FROM depwatch.audit_log a
		WINDOW w AS (ORDER BY a.id)
	), judged AS (
		-- the last row must be the one the head points at: rows cut off the
		-- end of the log, and a head deleted or nulled, are caught here
		SELECT c.id, c.good AND (NOT c.last OR coalesce(h.last_id = c.id AND h.last_hash = c.hash, false)) AS good
		FROM chain c LEFT JOIN depwatch.audit_head h ON true
	)
	SELECT coalesce(bool_and(good), (SELECT h.last_id IS NULL FROM depwatch.audit_head h
									 UNION ALL SELECT true LIMIT 1)),
		   count(*),
		   min(id) FILTER (WHERE NOT good)
	FROM judged
$$;

-- The update re-masks the logged rows (a password stored before 0.3 may
-- sit in clear in them: a postgres target whose probe was switched to
-- none, key=value targets of passive dependencies, query values), then
-- re-computes every hash in order and moves the head, and logs that it did
-- so, with the counts and the verdict on the chain it found (so that a
-- chain broken before the update is not made whole silently).
ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only;
DO $$
DECLARE
	before record;
	head_before bytea;
	remasked bigint;
	rehashed bigint := 0;
	total bigint := 0;
	prev bytea;
	h bytea;
	last_id bigint;
	r depwatch.audit_log;
BEGIN
	SELECT * INTO before FROM depwatch.verify_audit();
	SELECT a.last_hash INTO head_before FROM depwatch.audit_head a;

	UPDATE depwatch.audit_log a
	   SET old = depwatch._mask_row(a.table_name, a.old),
		   new = depwatch._mask_row(a.table_name, a.new)
	 WHERE (a.old, a.new) IS DISTINCT FROM
		   (depwatch._mask_row(a.table_name, a.old), depwatch._mask_row(a.table_name, a.new));
	GET DIAGNOSTICS remasked = ROW_COUNT;

	FOR r IN SELECT * FROM depwatch.audit_log a ORDER BY a.id LOOP
		h := depwatch._audit_hash(prev, r.id, r.at, r.actor, r.session_actor, r.action,
								  r.table_name, r.row_id, r.old, r.new);
		IF r.prev_hash IS DISTINCT FROM prev OR r.hash <> h THEN
			UPDATE depwatch.audit_log a SET prev_hash = prev, hash = h WHERE a.id = r.id;
			rehashed := rehashed + 1;
		END IF;
		prev := h;
		last_id := r.id;
		total := total + 1;
	END LOOP;
	IF total = 0 THEN
		RETURN;					-- a fresh install: nothing to re-chain
	END IF;
	INSERT INTO depwatch.audit_head (one, last_id, last_hash) VALUES (true, last_id, prev)
	ON CONFLICT (one) DO UPDATE SET last_id = excluded.last_id, last_hash = excluded.last_hash;
	PERFORM depwatch._audit_write('RECHAIN', 'audit_log', NULL, NULL,
		jsonb_build_object('update', '0.2 to 0.3', 'rows', total, 'remasked', remasked,
						   'rehashed', rehashed,
						   'chain_before', jsonb_build_object('ok', before.ok, 'checked', before.checked,
															  'first_bad', before.first_bad,
															  'head_hash', encode(head_before, 'hex'))));
	IF NOT before.ok THEN
		RAISE WARNING 'the audit chain did not verify before the update (first bad row: %); it is re-chained now',
				coalesce(before.first_bad::text, 'none')
			USING DETAIL = 'The update re-computes every hash after masking the logged rows; its RECHAIN row in depwatch.audit_log records what verify_audit() said before.',
				  HINT = 'Compare the log with a backup taken before the update.';
	END IF;
END
$$;
ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only;

-- audit_head moves forward only, to a row of the log with that hash; it is
-- never deleted, nulled or truncated.  The chain's own writes meet this;
-- anything else is refused (and a superuser who bypasses triggers is still
-- caught by verify_audit()).
CREATE FUNCTION _audit_head_guard() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
BEGIN
	IF TG_OP = 'UPDATE' THEN
		IF NEW.last_id IS NOT NULL AND NEW.last_hash IS NOT NULL
		   AND NEW.last_id >= coalesce(OLD.last_id, NEW.last_id)
		   AND EXISTS (SELECT FROM depwatch.audit_log a
					   WHERE a.id = NEW.last_id AND a.hash = NEW.last_hash) THEN
			RETURN NEW;
		END IF;
	END IF;
	RAISE EXCEPTION 'depwatch.audit_head only moves forward along the audit log'
		USING ERRCODE = 'insufficient_privilege',
			  DETAIL = format('%s on the audit head is refused: it must point at the last audit row, by id and hash.', TG_OP),
			  HINT = 'The audit chain writes its head itself; verify_audit() checks it.';
END
$$;

CREATE TRIGGER audit_head_guard BEFORE UPDATE OR DELETE ON audit_head
	FOR EACH ROW EXECUTE FUNCTION _audit_head_guard();
CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_head
	FOR EACH STATEMENT EXECUTE FUNCTION _audit_head_guard();

REVOKE ALL ON FUNCTION _audit_hash(bytea, bigint, timestamptz, text, text, text, text, bigint, jsonb, jsonb),
	_audit_write(text, text, bigint, jsonb, jsonb), _audit_head_guard() FROM PUBLIC;

COMMENT ON COLUMN audit_log.actor IS 'The role in effect when the change was made (SET ROLE, else the login role): the caller''s current_user';
COMMENT ON COLUMN audit_log.session_actor IS 'The login role (session_user); NULL in rows written before 0.3';
COMMENT ON COLUMN audit_log.action IS 'INSERT, UPDATE or DELETE of a row; RECHAIN when an update re-masked and re-hashed the log';
COMMENT ON COLUMN audit_log.hash IS 'sha256(prev_hash || the row as a JSON array); the array starts with 2 and holds session_actor when it is set';
