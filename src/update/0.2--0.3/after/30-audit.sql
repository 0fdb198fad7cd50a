-- Re-mask and re-chain the audit log with 0.3's mask and hash, and log it.

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
	   SET old = depwatch_internal._mask_row(a.table_name, a.old),
		   new = depwatch_internal._mask_row(a.table_name, a.new)
	 WHERE (a.old, a.new) IS DISTINCT FROM
		   (depwatch_internal._mask_row(a.table_name, a.old), depwatch_internal._mask_row(a.table_name, a.new));
	GET DIAGNOSTICS remasked = ROW_COUNT;

	FOR r IN SELECT * FROM depwatch.audit_log a ORDER BY a.id LOOP
		h := depwatch_internal._audit_hash(prev, r.id, r.at, r.actor, r.session_actor, r.action,
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
	PERFORM depwatch_internal._audit_write('RECHAIN', 'audit_log', NULL, NULL,
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
