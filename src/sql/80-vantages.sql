-- Vantages: shipping what this node observed, and the consensus of all
-- (doc/vantages.md).

-- _ships_samples: whether this node's samples are wanted in vantage_sample:
-- the table is published (this node is a vantage that a central node
-- subscribes to), or this database subscribes (it is a central node, and
-- its own vantage, if it probes, counts beside the others).  A node on its
-- own ships nothing: copying every sample would double its sample writes
-- for no reader.
CREATE OR REPLACE FUNCTION depwatch_internal._ships_samples() RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT EXISTS (SELECT FROM pg_publication_rel WHERE prrelid = 'depwatch.vantage_sample'::regclass)
		OR EXISTS (SELECT FROM pg_publication_namespace WHERE pnnspid = 'depwatch'::regnamespace)
		OR EXISTS (SELECT FROM pg_publication WHERE puballtables)
		OR EXISTS (SELECT FROM pg_subscription
				   WHERE subdbid = (SELECT oid FROM pg_database WHERE datname = current_database()))
$$;
COMMENT ON FUNCTION depwatch_internal._ships_samples() IS 'Whether this node copies its samples into vantage_sample (published, or a subscriber)';

-- Each batch of samples is copied when _ships_samples() says so, and
-- expires this vantage's shipped samples older than
-- depwatch.sample_retention (the central node deletes them too).
CREATE OR REPLACE FUNCTION depwatch_internal._ship_samples() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
BEGIN
	IF depwatch_internal._ships_samples() THEN
		INSERT INTO depwatch.vantage_sample (vantage, dependency, at, ok, latency, detail)
		SELECT n.vantage, d.name, n.at, n.ok, n.latency, n.detail
		FROM new_samples n JOIN depwatch.dependency d ON d.id = n.dependency_id;
	END IF;
	DELETE FROM depwatch.vantage_sample
	WHERE vantage = depwatch_internal._vantage() AND at < now() - depwatch_internal._sample_retention();
	RETURN NULL;
END
$$;

-- A vantage ships the outages its machine made: reported ones too.
CREATE OR REPLACE FUNCTION depwatch_internal._ship_outage() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
BEGIN
	IF TG_OP = 'DELETE' THEN
		DELETE FROM depwatch.vantage_outage
		WHERE vantage = depwatch_internal._vantage() AND outage_id = OLD.id;
		RETURN NULL;
	END IF;
	IF NEW.source NOT IN ('probe', 'reported', 'passive') THEN
		RETURN NULL;
	END IF;
	INSERT INTO depwatch.vantage_outage AS v (vantage, outage_id, dependency, kind, during, detected_at)
	SELECT depwatch_internal._vantage(), NEW.id, d.name, NEW.kind, NEW.during, NEW.detected_at
	FROM depwatch.dependency d WHERE d.id = NEW.dependency_id
	ON CONFLICT (vantage, outage_id) DO UPDATE
		SET during = EXCLUDED.during, detected_at = EXCLUDED.detected_at
		WHERE (v.during, v.detected_at) IS DISTINCT FROM (EXCLUDED.during, EXCLUDED.detected_at);
	RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION depwatch_internal._ship_gap() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
BEGIN
	INSERT INTO depwatch.vantage_gap AS v (vantage, dependency, before, unmonitored)
	SELECT depwatch_internal._vantage(), d.name, NEW.before, NEW.unmonitored
	FROM depwatch.dependency d WHERE d.id = NEW.dependency_id
	ON CONFLICT (vantage, dependency, before) DO UPDATE SET unmonitored = EXCLUDED.unmonitored
		WHERE v.unmonitored <> EXCLUDED.unmonitored;
	RETURN NULL;
END
$$;

-- A dependency dropped here takes this vantage's rows of it along (the
-- same as its samples, outages and gaps here), on the central node too.
CREATE OR REPLACE FUNCTION depwatch_internal._ship_drop() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
BEGIN
	DELETE FROM depwatch.vantage_sample WHERE vantage = depwatch_internal._vantage() AND dependency = OLD.name;
	DELETE FROM depwatch.vantage_outage WHERE vantage = depwatch_internal._vantage() AND dependency = OLD.name;
	DELETE FROM depwatch.vantage_gap WHERE vantage = depwatch_internal._vantage() AND dependency = OLD.name;
	RETURN NULL;
END
$$;

-- _vantage_spans: per probed dependency configured here and vantage that
-- ever reported it, when that vantage watched it (from its first sample,
-- which ends its first gap, to 3 x every after its latest sample, less its
-- gaps) and when it saw it down (only while watching: a vantage that stops
-- reporting is unmonitored, never down), within [lo, min(hi, now)).
CREATE OR REPLACE FUNCTION depwatch_internal._vantage_spans(lo timestamptz, hi timestamptz)
	RETURNS TABLE(dependency_id bigint, dependency text, vantage text,
				  monitored tstzmultirange, down tstzmultirange)
LANGUAGE sql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
	WITH gap AS (
		SELECT g.dependency, g.vantage,
			   coalesce(range_agg(g.unmonitored) FILTER (WHERE g.unmonitored && tstzrange(lo, hi)),
						'{}') AS gaps
		FROM depwatch.vantage_gap g
		GROUP BY g.dependency, g.vantage
	), watched AS (
		SELECT d.id, d.name, g.vantage,
			   (tstzmultirange(tstzrange(NULL, depwatch_internal._silent_until(l.last_at, d.every))) - g.gaps)
			   * tstzmultirange(tstzrange(lo, greatest(lo, least(hi, now())))) AS monitored
		FROM gap g
		JOIN depwatch.dependency d ON d.name = g.dependency AND depwatch_internal._probed(d.probe)
		CROSS JOIN LATERAL (SELECT max(s.at) AS last_at FROM depwatch.vantage_sample s
							WHERE s.dependency = g.dependency AND s.vantage = g.vantage) l
		WHERE l.last_at IS NOT NULL
	), down AS (
		SELECT o.dependency, o.vantage, range_agg(o.during) AS down
		FROM depwatch.vantage_outage o
		WHERE o.kind = 'down' AND o.during && tstzrange(lo, hi)
		GROUP BY o.dependency, o.vantage
	)
	SELECT w.id, w.name, w.vantage, w.monitored, coalesce(dn.down, '{}') * w.monitored
	FROM watched w
	LEFT JOIN down dn ON dn.dependency = w.name AND dn.vantage = w.vantage
$$;

-- _vantage_windows: what the consensus (src/consensus.c) is computed from,
-- within [lo, min(hi, now)): per probed dependency configured here a row
-- 'dependency' (vantage NULL) with its options->>'quorum'; per vantage that
-- reported it a row 'vantage', and the windows in which that vantage did
-- not watch it ('unwatched') and in which it watched and saw it down
-- ('down').
CREATE OR REPLACE FUNCTION depwatch_internal._vantage_windows(lo timestamptz, hi timestamptz)
	RETURNS TABLE(dependency_id bigint, dependency text, quorum int, vantage text, kind text,
				  started_at timestamptz, ended_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
	WITH s AS MATERIALIZED (
		SELECT * FROM depwatch_internal._vantage_spans(lo, hi)
	)
	SELECT d.id, d.name, (d.options->>'quorum')::int, NULL::text, 'dependency', NULL::timestamptz,
		   NULL::timestamptz
	FROM depwatch.dependency d
	WHERE depwatch_internal._probed(d.probe)
	UNION ALL
	SELECT s.dependency_id, s.dependency, NULL, s.vantage, 'vantage', NULL, NULL
	FROM s
	UNION ALL
	SELECT s.dependency_id, s.dependency, NULL, s.vantage, 'unwatched', lower(r), upper(r)
	FROM s, unnest(tstzmultirange(tstzrange(lo, greatest(lo, least(hi, now())))) - s.monitored) r
	UNION ALL
	SELECT s.dependency_id, s.dependency, NULL, s.vantage, 'down', lower(r), upper(r)
	FROM s, unnest(s.down) r
$$;

-- consensus_timeline: for each probed dependency seen by some vantage, the
-- pieces of [lo, min(hi, now)) in which the set of vantages watching it and
-- seeing it down stays the same, and what the quorum makes of each piece
-- (doc/semantics.md, "Vantages and consensus"; src/consensus.c).
CREATE OR REPLACE FUNCTION consensus_timeline(period tstzrange)
	RETURNS TABLE(dependency text, started_at timestamptz, ended_at timestamptz, state text,
				  reporting int, down int, quorum int, down_vantages text[])
	AS 'MODULE_PATHNAME', 'dw_consensus_timeline'
	LANGUAGE C STABLE CALLED ON NULL INPUT SECURITY DEFINER
	SET search_path = pg_catalog, depwatch, pg_temp;
COMMENT ON FUNCTION consensus_timeline(tstzrange) IS 'Each dependency''s state by quorum of vantages, piece by piece';

-- consensus_outages: the maximal windows in which a quorum of vantages saw
-- the dependency down, clipped to the period; ended_at is NULL while it is
-- still down.
CREATE OR REPLACE FUNCTION consensus_outages(period tstzrange)
	RETURNS TABLE(dependency text, started_at timestamptz, ended_at timestamptz, vantages text[])
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
	WITH c AS (
		SELECT c.*, row_number() OVER (PARTITION BY c.dependency ORDER BY c.started_at) AS n
		FROM depwatch.consensus_timeline(period) c
	), d AS (
		-- the pieces are back to back: a run of down pieces is one outage
		SELECT c.*, c.n - row_number() OVER (PARTITION BY c.dependency ORDER BY c.started_at) AS island
		FROM c WHERE c.state = 'down'
	), seen AS (
		SELECT d.dependency, d.island, array_agg(DISTINCT v ORDER BY v) AS vantages
		FROM d, unnest(d.down_vantages) v
		GROUP BY d.dependency, d.island
	)
	SELECT d.dependency, min(d.started_at),
		   CASE WHEN upper(period) >= now() AND max(d.ended_at) >= now() THEN NULL
				ELSE max(d.ended_at) END,
		   min(seen.vantages)
	FROM d JOIN seen ON seen.dependency = d.dependency AND seen.island = d.island
	GROUP BY d.dependency, d.island
	ORDER BY 1, 2
$$;
COMMENT ON FUNCTION consensus_outages(tstzrange) IS 'Down windows a quorum of vantages agrees on';

-- vantage_availability: availability of each probed dependency some
-- vantage reported, over the period, as the consensus sees it (vantage
-- NULL) and as each vantage saw it, by availability()'s formula
-- (doc/semantics.md, "Availability"; src/consensus.c).
CREATE OR REPLACE FUNCTION depwatch_internal._vantage_availability(period tstzrange)
	RETURNS TABLE(dependency text, vantage text, monitored interval, downtime interval,
				  maintenance interval, unmonitored interval, availability numeric, outages int)
	AS 'MODULE_PATHNAME', 'dw_vantage_availability'
	LANGUAGE C STABLE CALLED ON NULL INPUT;

-- vantage_availability: the same, each interval with its number of seconds
-- beside it for BI tools (SPEC section 10).
CREATE OR REPLACE FUNCTION vantage_availability(period tstzrange)
	RETURNS TABLE(dependency text, vantage text, monitored interval, downtime interval,
				  maintenance interval, unmonitored interval, availability numeric, outages int,
				  monitored_seconds numeric, downtime_seconds numeric, maintenance_seconds numeric,
				  unmonitored_seconds numeric)
LANGUAGE sql STABLE CALLED ON NULL INPUT SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
	SELECT v.dependency, v.vantage, v.monitored, v.downtime, v.maintenance, v.unmonitored,
		   v.availability, v.outages,
		   extract(epoch FROM v.monitored), extract(epoch FROM v.downtime),
		   extract(epoch FROM v.maintenance), extract(epoch FROM v.unmonitored)
	FROM depwatch_internal._vantage_availability(period) WITH ORDINALITY v
	ORDER BY v.ordinality
$$;
COMMENT ON FUNCTION vantage_availability(tstzrange) IS 'Availability by consensus (vantage NULL) and by each vantage, each duration also in seconds';

-- vantage_status: each vantage this node holds rows of, its latest sample,
-- when that arrived here, how long it took (the replication lag of the
-- latest sample), how many dependencies it watches now, and whether it
-- counts toward the quorum now.
CREATE OR REPLACE VIEW vantage_status AS
	SELECT p.vantage,
		   max(l.at) AS last_sample_at,
		   max(l.received_at) AS last_received_at,
		   (array_agg(l.received_at - l.at ORDER BY l.at DESC))[1] AS replication_lag,
		   count(*) FILTER (WHERE depwatch_internal._silent_until(l.at, d.every) >= now())::int AS reporting,
		   count(*) FILTER (WHERE depwatch_internal._silent_until(l.at, d.every) >= now()) > 0 AS counts_toward_quorum,
		   extract(epoch FROM (array_agg(l.received_at - l.at ORDER BY l.at DESC))[1]) AS replication_lag_seconds
	FROM (SELECT DISTINCT g.dependency, g.vantage FROM depwatch.vantage_gap g) p
	JOIN depwatch.dependency d ON d.name = p.dependency
	CROSS JOIN LATERAL (SELECT s.at, s.received_at FROM depwatch.vantage_sample s
						WHERE s.dependency = p.dependency AND s.vantage = p.vantage
						ORDER BY s.at DESC LIMIT 1) l
	GROUP BY p.vantage;
COMMENT ON VIEW vantage_status IS 'Each vantage: latest sample, replication lag, whether it counts toward quorum';
COMMENT ON COLUMN vantage_status.vantage IS 'The vantage (its depwatch.vantage setting)';
COMMENT ON COLUMN vantage_status.last_sample_at IS 'Time of its latest sample held here';
COMMENT ON COLUMN vantage_status.last_received_at IS 'When the latest sample arrived here';
COMMENT ON COLUMN vantage_status.replication_lag IS 'How long the latest sample took to arrive (received_at - at)';
COMMENT ON COLUMN vantage_status.reporting IS 'Dependencies it sampled within 3 x their interval';
COMMENT ON COLUMN vantage_status.counts_toward_quorum IS 'Whether it reports now, so counts toward quorum';
COMMENT ON COLUMN vantage_status.replication_lag_seconds IS 'replication_lag in seconds';

CREATE OR REPLACE TRIGGER ship_samples AFTER INSERT ON sample
	REFERENCING NEW TABLE AS new_samples
	FOR EACH STATEMENT EXECUTE FUNCTION depwatch_internal._ship_samples();

CREATE OR REPLACE TRIGGER ship_outage AFTER INSERT OR UPDATE OR DELETE ON outage
	FOR EACH ROW EXECUTE FUNCTION depwatch_internal._ship_outage();

CREATE OR REPLACE TRIGGER ship_gap AFTER INSERT OR UPDATE ON monitor_gap
	FOR EACH ROW EXECUTE FUNCTION depwatch_internal._ship_gap();

CREATE OR REPLACE TRIGGER ship_drop AFTER DELETE ON dependency
	FOR EACH ROW EXECUTE FUNCTION depwatch_internal._ship_drop();
