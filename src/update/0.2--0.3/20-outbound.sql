-- ---------------------------------------------------------------------------
-- Outbound connections are the superuser's decision (doc/semantics.md,
-- "Restricted probes"; issue 16 items 2 to 4).
--
-- A dependency whose probe settings (probe, target, and options other than
-- slo and quorum) a superuser set last is probed as set.  Any other is
-- restricted: it reaches only the addresses of depwatch.allowed_addresses,
-- never a unix socket; a postgres probe takes only plain connection
-- keywords and no query; an http probe only GET, HEAD or OPTIONS and no
-- header that re-addresses the request.  The probe worker enforces this
-- when it connects (src/outbound.c); add_dependency() and
-- alter_dependency() refuse at once what they can already tell.
-- ---------------------------------------------------------------------------

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
GRANT SELECT (probe_set_by_superuser) ON dependency TO depwatch_reader;
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

CREATE FUNCTION _caller_is_superuser() RETURNS boolean
	AS 'MODULE_PATHNAME', 'dw_caller_is_superuser'
	LANGUAGE C STABLE;

CREATE FUNCTION _check_restricted_probe(probe text, target text, method text, headers text[]) RETURNS void
	AS 'MODULE_PATHNAME', 'dw_check_restricted_probe'
	LANGUAGE C STABLE;

-- _check_restricted: the settings of d, a dependency whose probe settings
-- no superuser made, as far as they can be judged before the worker
-- connects.
CREATE FUNCTION _check_restricted(d depwatch.dependency) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
BEGIN
	IF d.probe NOT IN ('tcp', 'http', 'postgres') THEN
		RETURN;
	END IF;
	IF d.probe = 'postgres' AND d.options ? 'query' THEN
		RAISE EXCEPTION 'only a superuser may set the query of a postgres probe, or change its target'
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = 'The probe worker runs the query with whatever rights the connection obtains, which may be a superuser''s.',
				  HINT = 'Leave out the option "query" (the probe then runs SELECT 1), or ask a superuser.';
	END IF;
	PERFORM depwatch._check_restricted_probe(d.probe, d.target, d.options->>'method',
		ARRAY(SELECT jsonb_object_keys(CASE WHEN jsonb_typeof(d.options->'headers') = 'object'
											THEN d.options->'headers' END)));
END
$$;

-- the query check of 0.2 is now one of the rules of _check_restricted
DROP FUNCTION _check_probe_query(depwatch.dependency, depwatch.dependency);

-- add_dependency() and alter_dependency() apply these rules: they are
-- restated once, with tracked_since, in 60-tracked.sql.

REVOKE ALL ON FUNCTION _caller_is_superuser(), _check_restricted_probe(text, text, text, text[]),
	_check_restricted(depwatch.dependency) FROM PUBLIC;
