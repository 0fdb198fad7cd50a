-- Operational resilience (SPEC section 9): where losing one provider
-- breaks capabilities.  The rules stay where they live: k of n and nesting
-- in the capability algebra (src/timeline.c, through resilience.c), down
-- time in availability().

-- _capabilities_lost: the capabilities that are down while the given
-- dependencies are down and every other one is up (doc/semantics.md,
-- "Concentration"); recorded outages, gaps and maintenance play no part.
CREATE OR REPLACE FUNCTION depwatch_internal._capabilities_lost(dependencies bigint[]) RETURNS text[]
	AS 'MODULE_PATHNAME', 'dw_capabilities_lost'
	LANGUAGE C STABLE STRICT;

-- concentration: one row per distinct non-empty site and vendor of the
-- dependencies: how many it holds, the capabilities that stand on them
-- (directly or through nested capabilities), those of them that are down
-- when all of them are (single_point_of_failure, k of n and nesting
-- followed), and its share of all dependencies' down time in the period,
-- as availability() counts it (outside maintenance); NULL when no
-- dependency was down.
CREATE OR REPLACE FUNCTION concentration(period tstzrange DEFAULT tstzrange(now() - interval '365 days', now()))
	RETURNS TABLE(provider_type text, provider text, dependencies int, capabilities text[],
				  single_point_of_failure text[], downtime_share numeric)
LANGUAGE sql STABLE CALLED ON NULL INPUT SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
	SELECT depwatch_internal._check_period(period);
	WITH RECURSIVE held AS (
		SELECT p.what, p.value, array_agg(d.id ORDER BY d.id) AS ids, array_agg(d.name) AS names
		FROM depwatch.dependency d
		CROSS JOIN LATERAL (VALUES ('site', d.site), ('vendor', d.vendor)) p(what, value)
		WHERE p.value <> ''
		GROUP BY p.what, p.value),
	stands_on(what, value, capability) AS (
		SELECT h.what, h.value, r.capability
		FROM held h JOIN depwatch.requirements r ON r.members && h.names
		UNION
		SELECT s.what, s.value, r.capability
		FROM stands_on s JOIN depwatch.requirements r ON s.capability = ANY (r.members)),
	-- read once for every provider
	down AS MATERIALIZED (
		SELECT a.target, extract(epoch FROM a.downtime) AS seconds
		FROM depwatch_internal._availability(period) a
		WHERE a.target_type = 'dependency')
	SELECT h.what, h.value, cardinality(h.ids),
		   coalesce((SELECT array_agg(s.capability ORDER BY s.capability)
					 FROM stands_on s WHERE s.what = h.what AND s.value = h.value), '{}'),
		   depwatch_internal._capabilities_lost(h.ids),
		   (SELECT trim_scale(sum(w.seconds) FILTER (WHERE w.target = ANY (h.names))
							  / nullif(sum(w.seconds), 0))
			FROM down w)
	FROM held h
	ORDER BY h.what, h.value
$$;
COMMENT ON FUNCTION concentration(tstzrange) IS 'Per site and vendor: dependencies held, capabilities standing on them, those that go down when all of them are (k of n and nesting followed), share of all dependency down time in the period';
