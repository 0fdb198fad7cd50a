-- Outbound connections are the superuser's decision (doc/semantics.md,
-- "Outbound connections"): who set each dependency's probe, from the audit log.

-- Rows written under 0.2: 0.2 let any admin set every probe setting but a
-- postgres query.  The audit log says who made each change (the role in
-- effect): a dependency whose latest change of probe, target or options was
-- made by a role that is a superuser now stays unrestricted, provided the
-- chain verifies; every other is restricted.  The WARNING below lists the
-- probed ones that are; a superuser confirms one by setting it again
-- (alter_dependency(name, target => ...)).
ALTER TABLE dependency ADD COLUMN probe_set_by_superuser boolean NOT NULL DEFAULT false;

COMMENT ON COLUMN dependency.probe_set_by_superuser IS
	'A superuser set probe, target and options last: the probe is not held to depwatch.allowed_addresses and the rules for others';

UPDATE dependency d SET probe_set_by_superuser = true
FROM (SELECT DISTINCT ON (a.row_id) a.row_id, a.actor
	  FROM audit_log a
	  WHERE a.table_name = 'dependency'
		AND (a.action = 'INSERT'
			 OR (a.action = 'UPDATE'
				 AND (a.new->>'probe', a.new->>'target', a.new->'options')
					 IS DISTINCT FROM (a.old->>'probe', a.old->>'target', a.old->'options')))
	  ORDER BY a.row_id, a.id DESC) last
JOIN pg_roles r ON r.rolname = last.actor AND r.rolsuper
WHERE d.id = last.row_id AND (SELECT v.ok FROM verify_audit() v);

-- A WARNING, not a NOTICE: ALTER EXTENSION hides NOTICEs of its script.
DO $$
DECLARE
	r record;
BEGIN
	SELECT count(*) AS n, string_agg(d.name, ', ' ORDER BY d.name) AS names INTO r
	FROM depwatch.dependency d WHERE d.probe IN ('tcp', 'http', 'postgres') AND NOT d.probe_set_by_superuser;
	IF r.n > 0 THEN
		RAISE WARNING 'depwatch 0.3: % probed dependencies are now restricted to depwatch.allowed_addresses and plain probe settings: %', r.n, r.names
			USING HINT = 'A superuser keeps one as it was by setting it again: SELECT depwatch.alter_dependency(name, target => target) FROM depwatch.dependency WHERE name IN (...).';
	END IF;
END
$$;

-- the query check of 0.2 is now one of the rules of _check_restricted
DROP FUNCTION _check_probe_query(depwatch.dependency, depwatch.dependency);
