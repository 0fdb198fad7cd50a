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

CREATE OR REPLACE FUNCTION add_dependency(name text, kind text, probe text DEFAULT 'none',
							   target text DEFAULT NULL, every interval DEFAULT '10 s',
							   timeout interval DEFAULT '2 s', fail_after int DEFAULT 3,
							   recover_after int DEFAULT 2, degraded_after interval DEFAULT NULL,
							   options jsonb DEFAULT '{}', site text DEFAULT NULL,
							   vendor text DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	d depwatch.dependency;
BEGIN
	PERFORM depwatch._check_name(name, 'dependency');
	d.name := name; d.kind := kind; d.probe := probe; d.target := target;
	d.every := every; d.timeout := timeout; d.fail_after := fail_after;
	d.recover_after := recover_after; d.degraded_after := degraded_after;
	d.options := options; d.site := site; d.vendor := vendor;
	d.probe_set_by_superuser := depwatch._caller_is_superuser();
	PERFORM depwatch._check_dependency(d);
	IF NOT d.probe_set_by_superuser THEN
		PERFORM depwatch._check_restricted(d);
	END IF;
	INSERT INTO depwatch.dependency (name, kind, probe, target, every, timeout, fail_after,
									 recover_after, degraded_after, options, site, vendor,
									 probe_set_by_superuser)
	VALUES (d.name, d.kind, d.probe, d.target, d.every, d.timeout, d.fail_after,
			d.recover_after, d.degraded_after, d.options, d.site, d.vendor,
			d.probe_set_by_superuser)
	RETURNING id INTO d.id;
	RETURN d.id;
END
$$;

-- alter_dependency: NULL leaves a setting as it is; degraded_after '0' and
-- an empty site or vendor clear them.  A superuser who passes probe, target
-- or options sets the probe settings (even to what they were); a role who
-- is not one and changes them makes the dependency restricted.
CREATE OR REPLACE FUNCTION alter_dependency(name text, kind text DEFAULT NULL, probe text DEFAULT NULL,
								 target text DEFAULT NULL, every interval DEFAULT NULL,
								 timeout interval DEFAULT NULL, fail_after int DEFAULT NULL,
								 recover_after int DEFAULT NULL, degraded_after interval DEFAULT NULL,
								 options jsonb DEFAULT NULL, site text DEFAULT NULL,
								 vendor text DEFAULT NULL, enabled boolean DEFAULT NULL) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	d depwatch.dependency;
	old depwatch.dependency;
	superuser boolean := depwatch._caller_is_superuser();
	probe_changed boolean;
BEGIN
	-- NO KEY UPDATE: the probe worker's key-share locks need not wait for us
	SELECT * INTO d FROM depwatch.dependency x
	WHERE x.id = depwatch._dependency_id(alter_dependency.name) FOR NO KEY UPDATE;
	old := d;
	d.kind := coalesce(kind, d.kind);
	d.probe := coalesce(probe, d.probe);
	d.target := coalesce(target, d.target);
	d.every := coalesce(every, d.every);
	d.timeout := coalesce(timeout, d.timeout);
	d.fail_after := coalesce(fail_after, d.fail_after);
	d.recover_after := coalesce(recover_after, d.recover_after);
	d.degraded_after := CASE WHEN degraded_after = interval '0' THEN NULL
							 ELSE coalesce(degraded_after, d.degraded_after) END;
	d.options := coalesce(options, d.options);
	d.site := CASE WHEN site = '' THEN NULL ELSE coalesce(site, d.site) END;
	d.vendor := CASE WHEN vendor = '' THEN NULL ELSE coalesce(vendor, d.vendor) END;
	d.enabled := coalesce(enabled, d.enabled);
	-- slo and quorum are about reports, not about what the worker connects to
	probe_changed := (d.probe, d.target, d.options - 'slo' - 'quorum')
					 IS DISTINCT FROM (old.probe, old.target, old.options - 'slo' - 'quorum');
	IF superuser AND (probe IS NOT NULL OR target IS NOT NULL OR options IS NOT NULL) THEN
		d.probe_set_by_superuser := true;
	ELSIF NOT superuser AND probe_changed THEN
		d.probe_set_by_superuser := false;
	END IF;
	PERFORM depwatch._check_dependency(d);
	IF NOT d.probe_set_by_superuser AND probe_changed THEN
		PERFORM depwatch._check_restricted(d);
	END IF;
	UPDATE depwatch.dependency x
	   SET kind = d.kind, probe = d.probe, target = d.target, every = d.every,
		   timeout = d.timeout, fail_after = d.fail_after, recover_after = d.recover_after,
		   degraded_after = d.degraded_after, options = d.options, site = d.site,
		   vendor = d.vendor, enabled = d.enabled,
		   probe_set_by_superuser = d.probe_set_by_superuser
	 WHERE x.id = d.id
	   AND (x.kind, x.probe, x.target, x.every, x.timeout, x.fail_after, x.recover_after,
			x.degraded_after, x.options, x.site, x.vendor, x.enabled, x.probe_set_by_superuser)
		   IS DISTINCT FROM
		   (d.kind, d.probe, d.target, d.every, d.timeout, d.fail_after, d.recover_after,
			d.degraded_after, d.options, d.site, d.vendor, d.enabled, d.probe_set_by_superuser);
END
$$;

REVOKE ALL ON FUNCTION _caller_is_superuser(), _check_restricted_probe(text, text, text, text[]),
	_check_restricted(depwatch.dependency) FROM PUBLIC;
