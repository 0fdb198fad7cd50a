-- The audit chain: every change to the catalog, hash-chained
-- (doc/semantics.md, "Audit chain").

-- _audit_hash: the hash of one audit row chained to the hash before it.
-- The row is encoded as a JSON array, which is unambiguous, and the time as
-- microseconds since the epoch, which no session setting can change.
CREATE OR REPLACE FUNCTION depwatch_internal._audit_hash(prev_hash bytea, id bigint, at timestamptz, actor text,
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
CREATE OR REPLACE FUNCTION depwatch_internal._audit_actor() RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT CASE WHEN current_setting('role') = 'none' THEN session_user::text
				ELSE current_setting('role') END
$$;

-- Rows are turned into jsonb in UTC and the postgres interval style, so
-- that what is logged does not depend on the session.
CREATE OR REPLACE FUNCTION depwatch_internal._audit_append() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
SET TimeZone = 'UTC'
SET IntervalStyle = 'postgres'
AS $$
#variable_conflict use_variable
DECLARE
	o jsonb := CASE WHEN TG_OP <> 'INSERT' THEN depwatch_internal._mask_row(TG_TABLE_NAME, to_jsonb(OLD)) END;
	n jsonb := CASE WHEN TG_OP <> 'DELETE' THEN depwatch_internal._mask_row(TG_TABLE_NAME, to_jsonb(NEW)) END;
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
	PERFORM depwatch_internal._audit_write(TG_OP, TG_TABLE_NAME, rid, o, n);
	RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION depwatch_internal._audit_refuse() RETURNS trigger
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

-- verify_audit: a missing or nulled head, while the log has rows, fails
-- the last row (the head must point at it); so does a head left behind.
CREATE OR REPLACE FUNCTION verify_audit() RETURNS TABLE(ok boolean, checked bigint, first_bad bigint)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
	WITH chain AS (
		SELECT a.id, a.hash,
			   a.prev_hash IS NOT DISTINCT FROM lag(a.hash) OVER w
			   AND a.hash = depwatch_internal._audit_hash(lag(a.hash) OVER w, a.id, a.at, a.actor, a.session_actor,
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
COMMENT ON FUNCTION verify_audit() IS 'Check the audit hash chain; first_bad is the first row that does not match';

-- _audit_hash, format 2: the row as a JSON array that starts with 2 and
-- holds session_actor too.  Rows without a session_actor (written before
-- 0.3, or restored from a dump of 0.2) keep format 1, the array of
-- _audit_hash's first form, so that they still verify; a format 2 row whose
-- session_actor were nulled would be hashed as format 1, another array, and
-- fail.
CREATE OR REPLACE FUNCTION depwatch_internal._audit_hash(prev_hash bytea, id bigint, at timestamptz, actor text,
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
CREATE OR REPLACE FUNCTION depwatch_internal._audit_write(action text, table_name text, row_id bigint,
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
	row_.actor := depwatch_internal._audit_actor();
	row_.session_actor := session_user;
	row_.action := action;
	row_.table_name := table_name;
	row_.row_id := row_id;
	row_.old := old;
	row_.new := new;
	row_.prev_hash := head.last_hash;
	row_.hash := depwatch_internal._audit_hash(row_.prev_hash, row_.id, row_.at, row_.actor, row_.session_actor,
									  row_.action, row_.table_name, row_.row_id, row_.old, row_.new);
	INSERT INTO depwatch.audit_log SELECT row_.*;
	UPDATE depwatch.audit_head SET last_id = row_.id, last_hash = row_.hash;
	RETURN row_.id;
END
$$;

-- audit_head moves forward only, to a row of the log with that hash; it is
-- never deleted, nulled or truncated.  The chain's own writes meet this;
-- anything else is refused (and a superuser who bypasses triggers is still
-- caught by verify_audit()).
CREATE OR REPLACE FUNCTION depwatch_internal._audit_head_guard() RETURNS trigger
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

CREATE OR REPLACE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
	FOR EACH ROW EXECUTE FUNCTION depwatch_internal._audit_refuse();

CREATE OR REPLACE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
	FOR EACH STATEMENT EXECUTE FUNCTION depwatch_internal._audit_refuse();

-- the audited tables: every change to a row of theirs goes to the chain
DO $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['dependency', 'capability', 'outage', 'maintenance', 'incident', 'ledger_binding',
							 'fee_policy', 'fee_schedule', 'incident_dependency', 'scenario'] LOOP
		EXECUTE format('CREATE OR REPLACE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON %I'
					   ' FOR EACH ROW EXECUTE FUNCTION depwatch_internal._audit_append()', t);
	END LOOP;
END
$$;

CREATE OR REPLACE TRIGGER audit_head_guard BEFORE UPDATE OR DELETE ON audit_head
	FOR EACH ROW EXECUTE FUNCTION depwatch_internal._audit_head_guard();

CREATE OR REPLACE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_head
	FOR EACH STATEMENT EXECUTE FUNCTION depwatch_internal._audit_head_guard();
