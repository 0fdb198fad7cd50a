/* depwatch--0.1--0.2.sql: several vantages (SPEC section 5, doc/vantages.md) */

\echo Use "ALTER EXTENSION depwatch UPDATE TO '0.2'" to load this file. \quit

-- ---------------------------------------------------------------------------
-- What this node's vantage observed, keyed by vantage and dependency name
-- (dependency ids differ from node to node), for logical replication to a
-- central node.  Triggers on sample, outage and monitor_gap fill them; a
-- central node receives every vantage's rows into the same tables.  Rows of
-- two vantages never share a key, because the key starts with the vantage.
-- ---------------------------------------------------------------------------
CREATE FUNCTION _vantage() RETURNS text
	AS 'MODULE_PATHNAME', 'dw_vantage_name'
	LANGUAGE C STABLE;

CREATE SEQUENCE vantage_sample_id_seq;
CREATE TABLE vantage_sample (
	vantage			text NOT NULL,
	id				bigint NOT NULL DEFAULT nextval('depwatch.vantage_sample_id_seq'),
	dependency		text NOT NULL,
	at				timestamptz NOT NULL,
	ok				boolean NOT NULL,
	latency			interval,
	detail			text,
	-- when this node stored the row: on the central node, when it arrived
	-- (the publication leaves the column out, so the default fills it)
	received_at		timestamptz NOT NULL DEFAULT clock_timestamp(),
	PRIMARY KEY (vantage, id)
);
ALTER SEQUENCE vantage_sample_id_seq OWNED BY vantage_sample.id;
CREATE INDEX vantage_sample_last ON vantage_sample (dependency, vantage, at);
CREATE INDEX vantage_sample_expiry ON vantage_sample (vantage, at);

-- A vantage's own outages (source probe or passive), by its outage id.
CREATE TABLE vantage_outage (
	vantage			text NOT NULL,
	outage_id		bigint NOT NULL,
	dependency		text NOT NULL,
	kind			text NOT NULL CHECK (kind IN ('down', 'degraded')),
	during			tstzrange NOT NULL,
	detected_at		timestamptz,
	PRIMARY KEY (vantage, outage_id)
);
CREATE INDEX vantage_outage_dependency ON vantage_outage (dependency, kind);

-- A vantage's unmonitored windows (its monitor_gap rows).
CREATE TABLE vantage_gap (
	vantage			text NOT NULL,
	dependency		text NOT NULL,
	before			timestamptz NOT NULL,
	unmonitored		tstzrange NOT NULL,
	PRIMARY KEY (vantage, dependency, before)
);

SELECT pg_catalog.pg_extension_config_dump('vantage_sample', '');
SELECT pg_catalog.pg_extension_config_dump('vantage_sample_id_seq', '');
-- This node's own outage and gap rows come back from outage and monitor_gap
-- as they are restored (through the triggers below): pg_dump keeps the
-- other vantages' rows only.
SELECT pg_catalog.pg_extension_config_dump('vantage_outage', 'WHERE vantage <> depwatch._vantage()');
SELECT pg_catalog.pg_extension_config_dump('vantage_gap', 'WHERE vantage <> depwatch._vantage()');

-- _ships_samples: whether this node's samples are wanted in vantage_sample:
-- the table is published (this node is a vantage that a central node
-- subscribes to), or this database subscribes (it is a central node, and
-- its own vantage, if it probes, counts beside the others).  A node on its
-- own ships nothing: copying every sample would double its sample writes
-- for no reader.
CREATE FUNCTION _ships_samples() RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT EXISTS (SELECT FROM pg_publication_rel WHERE prrelid = 'depwatch.vantage_sample'::regclass)
		OR EXISTS (SELECT FROM pg_publication_namespace WHERE pnnspid = 'depwatch'::regnamespace)
		OR EXISTS (SELECT FROM pg_publication WHERE puballtables)
		OR EXISTS (SELECT FROM pg_subscription
				   WHERE subdbid = (SELECT oid FROM pg_database WHERE datname = current_database()))
$$;

-- Each batch of samples is copied when _ships_samples() says so, and
-- expires this vantage's shipped samples older than
-- depwatch.sample_retention (the central node deletes them too).
CREATE FUNCTION _ship_samples() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
BEGIN
	IF depwatch._ships_samples() THEN
		INSERT INTO depwatch.vantage_sample (vantage, dependency, at, ok, latency, detail)
		SELECT n.vantage, d.name, n.at, n.ok, n.latency, n.detail
		FROM new_samples n JOIN depwatch.dependency d ON d.id = n.dependency_id;
	END IF;
	DELETE FROM depwatch.vantage_sample
	WHERE vantage = depwatch._vantage() AND at < now() - depwatch._sample_retention();
	RETURN NULL;
END
$$;

CREATE TRIGGER ship_samples AFTER INSERT ON sample
	REFERENCING NEW TABLE AS new_samples
	FOR EACH STATEMENT EXECUTE FUNCTION _ship_samples();

-- An outage the state machine takes back (it lasted no time) goes.
CREATE FUNCTION _ship_outage() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
BEGIN
	IF TG_OP = 'DELETE' THEN
		DELETE FROM depwatch.vantage_outage
		WHERE vantage = depwatch._vantage() AND outage_id = OLD.id;
		RETURN NULL;
	END IF;
	IF NEW.source NOT IN ('probe', 'passive') THEN
		RETURN NULL;
	END IF;
	INSERT INTO depwatch.vantage_outage AS v (vantage, outage_id, dependency, kind, during, detected_at)
	SELECT depwatch._vantage(), NEW.id, d.name, NEW.kind, NEW.during, NEW.detected_at
	FROM depwatch.dependency d WHERE d.id = NEW.dependency_id
	ON CONFLICT (vantage, outage_id) DO UPDATE
		SET during = EXCLUDED.during, detected_at = EXCLUDED.detected_at
		WHERE (v.during, v.detected_at) IS DISTINCT FROM (EXCLUDED.during, EXCLUDED.detected_at);
	RETURN NULL;
END
$$;

CREATE TRIGGER ship_outage AFTER INSERT OR UPDATE OR DELETE ON outage
	FOR EACH ROW EXECUTE FUNCTION _ship_outage();

CREATE FUNCTION _ship_gap() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
BEGIN
	INSERT INTO depwatch.vantage_gap AS v (vantage, dependency, before, unmonitored)
	SELECT depwatch._vantage(), d.name, NEW.before, NEW.unmonitored
	FROM depwatch.dependency d WHERE d.id = NEW.dependency_id
	ON CONFLICT (vantage, dependency, before) DO UPDATE SET unmonitored = EXCLUDED.unmonitored
		WHERE v.unmonitored <> EXCLUDED.unmonitored;
	RETURN NULL;
END
$$;

CREATE TRIGGER ship_gap AFTER INSERT OR UPDATE ON monitor_gap
	FOR EACH ROW EXECUTE FUNCTION _ship_gap();

-- A dependency dropped here takes this vantage's rows of it along (the
-- same as its samples, outages and gaps here), on the central node too.
CREATE FUNCTION _ship_drop() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
BEGIN
	DELETE FROM depwatch.vantage_sample WHERE vantage = depwatch._vantage() AND dependency = OLD.name;
	DELETE FROM depwatch.vantage_outage WHERE vantage = depwatch._vantage() AND dependency = OLD.name;
	DELETE FROM depwatch.vantage_gap WHERE vantage = depwatch._vantage() AND dependency = OLD.name;
	RETURN NULL;
END
$$;

CREATE TRIGGER ship_drop AFTER DELETE ON dependency
	FOR EACH ROW EXECUTE FUNCTION _ship_drop();

-- What a database on 0.1 observed before the update: its outages and
-- monitor gaps (small).  Its older samples stay local; shipping samples
-- starts with the update.
INSERT INTO vantage_outage (vantage, outage_id, dependency, kind, during, detected_at)
SELECT _vantage(), o.id, d.name, o.kind, o.during, o.detected_at
FROM outage o JOIN dependency d ON d.id = o.dependency_id
WHERE o.source IN ('probe', 'passive');
INSERT INTO vantage_gap (vantage, dependency, before, unmonitored)
SELECT _vantage(), d.name, g.before, g.unmonitored
FROM monitor_gap g JOIN dependency d ON d.id = g.dependency_id;

-- ---------------------------------------------------------------------------
-- Sample indexes that cover what derive_outages() reads (at, ok, latency of
-- one dependency in time order), so that it reads the index alone instead
-- of visiting a heap page for every sample: on a partition holding many
-- dependencies' samples that is a page per sample.  Partitions made from
-- now on get the covering index; those with rows keep theirs (rebuilding
-- them here would block probing for as long as it takes) and expire in
-- time: doc/reference.md says how to rebuild them by hand.  Empty ones (the
-- days ahead, a fresh install's default partition) are rebuilt now.
-- ---------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION maintain_sample_partitions(days_ahead int DEFAULT 3, retention interval DEFAULT NULL)
	RETURNS TABLE(action text, partition text)
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
SET TimeZone = 'UTC'
AS $$
#variable_conflict use_variable
DECLARE
	cutoff timestamptz;
	day date;
	part text;
	lo timestamptz;
	hi timestamptz;
	r record;
BEGIN
	IF days_ahead IS NULL OR days_ahead < 0 OR days_ahead > 366 THEN
		RAISE EXCEPTION 'days_ahead must be from 0 to 366, not %', coalesce(days_ahead::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'A few days ahead is enough; the worker calls this every hour.';
	END IF;
	IF retention < interval '1 day' OR retention > interval '100 years' THEN
		RAISE EXCEPTION 'sample retention must be from 1 day to 100 years, not %', retention
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Keep samples for as long as availability reports look back, such as ''90 days''.';
	END IF;
	cutoff := date_trunc('day', now() - coalesce(retention, depwatch._sample_retention()));
	FOR day IN SELECT generate_series(current_date, current_date + days_ahead, interval '1 day')::date LOOP
		part := 'sample_' || to_char(day, 'YYYYMMDD');
		CONTINUE WHEN to_regclass('depwatch.' || part) IS NOT NULL;
		lo := day::timestamptz;
		hi := (day + 1)::timestamptz;
		EXECUTE format('CREATE TABLE depwatch.%I (LIKE depwatch.sample)', part);
		EXECUTE format('WITH moved AS (DELETE FROM depwatch.sample_default WHERE at >= $1 AND at < $2 RETURNING *)
						INSERT INTO depwatch.%I SELECT * FROM moved', part) USING lo, hi;
		EXECUTE format('CREATE INDEX ON depwatch.%I (dependency_id, at) INCLUDE (ok, latency)', part);
		EXECUTE format('ALTER TABLE depwatch.sample ATTACH PARTITION depwatch.%I FOR VALUES FROM (%L) TO (%L)',
					   part, lo, hi);
		action := 'created'; partition := part;
		RETURN NEXT;
	END LOOP;

	FOR r IN
		SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) AS bound
		FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'depwatch.sample'::regclass AND c.relname ~ '^sample_[0-9]{8}$'
		  AND to_date(substr(c.relname, 8), 'YYYYMMDD') + 1 <= cutoff::date
		ORDER BY c.relname
	LOOP
		EXECUTE format('DROP TABLE depwatch.%I', r.relname);
		action := 'dropped'; partition := r.relname;
		RETURN NEXT;
	END LOOP;
	DELETE FROM depwatch.sample_default WHERE at < cutoff;
END
$$;

DO $$
DECLARE
	r record;
	has_rows boolean;
BEGIN
	FOR r IN
		SELECT c.oid::regclass AS part, i.indexrelid::regclass AS idx
		FROM pg_inherits h
		JOIN pg_class c ON c.oid = h.inhrelid
		JOIN pg_index i ON i.indrelid = c.oid AND i.indnatts = 2 AND i.indnkeyatts = 2
		WHERE h.inhparent = 'depwatch.sample'::regclass
	LOOP
		EXECUTE format('SELECT EXISTS (SELECT FROM %s)', r.part) INTO has_rows;
		CONTINUE WHEN has_rows;
		EXECUTE format('DROP INDEX %s', r.idx);
		EXECUTE format('CREATE INDEX ON %s (dependency_id, at) INCLUDE (ok, latency)', r.part);
	END LOOP;
END
$$;

-- ---------------------------------------------------------------------------
-- Consensus (on the central node, or any node with several vantages' rows).
-- ---------------------------------------------------------------------------

-- _vantage_spans: per probed dependency configured here and vantage that
-- ever reported it, when that vantage watched it (from its first sample,
-- which ends its first gap, to 3 x every after its latest sample, less its
-- gaps) and when it saw it down (only while watching: a vantage that stops
-- reporting is unmonitored, never down), within [lo, min(hi, now)).
CREATE FUNCTION _vantage_spans(lo timestamptz, hi timestamptz)
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
			   (tstzmultirange(tstzrange(NULL, l.last_at + 3 * d.every)) - g.gaps)
			   * tstzmultirange(tstzrange(lo, least(hi, now()))) AS monitored
		FROM gap g
		JOIN depwatch.dependency d ON d.name = g.dependency AND d.probe IN ('tcp', 'http', 'postgres')
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

-- consensus_timeline: for each probed dependency seen by some vantage, the
-- pieces of [lo, min(hi, now)) in which the set of vantages watching it and
-- seeing it down stays the same, and what the quorum makes of each piece:
-- 'down' when at least quorum vantages see it down, 'unmonitored' when
-- fewer than quorum (or none) watch it, else 'up'.  The quorum is
-- options->>'quorum', else depwatch.quorum, else (0) a majority of the
-- vantages watching at the time.
CREATE FUNCTION consensus_timeline(period tstzrange)
	RETURNS TABLE(dependency text, started_at timestamptz, ended_at timestamptz, state text,
				  reporting int, down int, quorum int, down_vantages text[])
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
	WITH s AS (
		SELECT * FROM depwatch._vantage_spans(lower(period), upper(period))
	), edge AS (
		SELECT s.dependency_id, lower(r) AS t FROM s, unnest(s.monitored) r
		UNION SELECT s.dependency_id, upper(r) FROM s, unnest(s.monitored) r
		UNION SELECT s.dependency_id, lower(r) FROM s, unnest(s.down) r
		UNION SELECT s.dependency_id, upper(r) FROM s, unnest(s.down) r
		UNION SELECT s.dependency_id, lower(period) FROM s
		UNION SELECT s.dependency_id, least(upper(period), now()) FROM s
	), piece AS (
		SELECT e.dependency_id, e.t AS lo,
			   lead(e.t) OVER (PARTITION BY e.dependency_id ORDER BY e.t) AS hi
		FROM edge e
		WHERE e.t >= lower(period) AND e.t <= least(upper(period), now())
	), counted AS (
		SELECT p.dependency_id, p.lo, p.hi,
			   count(*) FILTER (WHERE s.monitored @> p.lo)::int AS reporting,
			   count(*) FILTER (WHERE s.down @> p.lo)::int AS down,
			   array_agg(s.vantage ORDER BY s.vantage) FILTER (WHERE s.down @> p.lo) AS down_vantages
		FROM piece p JOIN s ON s.dependency_id = p.dependency_id
		WHERE p.hi > p.lo
		GROUP BY p.dependency_id, p.lo, p.hi
	), judged AS (
		SELECT d.name, c.lo, c.hi, c.reporting, c.down, c.down_vantages,
			   coalesce((d.options->>'quorum')::int,
						nullif(coalesce(nullif(current_setting('depwatch.quorum', true), ''), '0')::int, 0),
						c.reporting / 2 + 1) AS quorum
		FROM counted c JOIN depwatch.dependency d ON d.id = c.dependency_id
	)
	SELECT j.name, j.lo, j.hi,
		   CASE WHEN j.reporting = 0 OR j.reporting < j.quorum THEN 'unmonitored'
				WHEN j.down >= j.quorum THEN 'down'
				ELSE 'up' END,
		   j.reporting, j.down, j.quorum, coalesce(j.down_vantages, '{}')
	FROM judged j
	ORDER BY 1, 2
$$;

-- consensus_outages: the maximal windows in which a quorum of vantages saw
-- the dependency down, clipped to the period; ended_at is NULL while it is
-- still down.
CREATE FUNCTION consensus_outages(period tstzrange)
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

-- _consensus_windows: what the reports of a node with depwatch.consensus
-- on read instead of its own outages and monitor gaps: for probed
-- dependencies the consensus outages ('down') and the time too few
-- vantages watched them ('unmonitored'; all of it for a probed dependency
-- no vantage reported yet), and for the others (none, passive) this node's
-- own outages, within [lo, min(hi, now)).
CREATE FUNCTION _consensus_windows(lo timestamptz, hi timestamptz)
	RETURNS TABLE(dependency_id bigint, kind text, started_at timestamptz, ended_at timestamptz)
LANGUAGE sql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
	SELECT d.id, 'down', o.started_at, o.ended_at
	FROM depwatch.consensus_outages(tstzrange(lo, hi)) o
	JOIN depwatch.dependency d ON d.name = o.dependency
	UNION ALL
	SELECT d.id, 'unmonitored', t.started_at, t.ended_at
	FROM depwatch.consensus_timeline(tstzrange(lo, hi)) t
	JOIN depwatch.dependency d ON d.name = t.dependency
	WHERE t.state = 'unmonitored'
	UNION ALL
	SELECT d.id, 'unmonitored', lo, least(hi, now())
	FROM depwatch.dependency d
	WHERE d.probe IN ('tcp', 'http', 'postgres') AND lo < least(hi, now())
	  AND NOT EXISTS (SELECT FROM depwatch.vantage_gap g WHERE g.dependency = d.name)
	UNION ALL
	SELECT o.dependency_id, o.kind, lower(o.during), upper(o.during)
	FROM depwatch.outage o
	JOIN depwatch.dependency d ON d.id = o.dependency_id AND d.probe IN ('none', 'passive')
	WHERE o.during && tstzrange(lo, hi)
$$;

-- vantage_availability: availability of each probed dependency over the
-- period as the consensus sees it (vantage NULL) and as each vantage saw
-- it, over the time each watched it (maintenance is not taken out here).
CREATE FUNCTION vantage_availability(period tstzrange)
	RETURNS TABLE(dependency text, vantage text, monitored interval, downtime interval,
				  unmonitored interval, availability numeric, outages int)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
	WITH o AS (
		SELECT o.dependency, count(*)::int AS outages
		FROM depwatch.consensus_outages(period) o GROUP BY o.dependency
	), v AS (
		SELECT c.dependency, NULL::text AS vantage,
			   sum(c.ended_at - c.started_at) FILTER (WHERE c.state <> 'unmonitored') AS monitored,
			   sum(c.ended_at - c.started_at) FILTER (WHERE c.state = 'down') AS downtime,
			   coalesce(min(o.outages), 0) AS outages
		FROM depwatch.consensus_timeline(period) c
		LEFT JOIN o ON o.dependency = c.dependency
		GROUP BY c.dependency
		UNION ALL
		SELECT s.dependency, s.vantage,
			   (SELECT sum(upper(r) - lower(r)) FROM unnest(s.monitored) r),
			   (SELECT sum(upper(r) - lower(r)) FROM unnest(s.down) r),
			   (SELECT count(*) FROM unnest(s.down) r)::int
		FROM depwatch._vantage_spans(lower(period), upper(period)) s
	)
	SELECT v.dependency, v.vantage,
		   coalesce(v.monitored, interval '0'), coalesce(v.downtime, interval '0'),
		   (upper(period) - lower(period)) - coalesce(v.monitored, interval '0'),
		   CASE WHEN v.monitored > interval '0' THEN
				round(100 * (1 - extract(epoch FROM coalesce(v.downtime, interval '0'))
							 / extract(epoch FROM v.monitored)), 4) END,
		   v.outages
	FROM v
	ORDER BY 1, 2 NULLS FIRST
$$;

-- vantage_status: each vantage this node holds rows of, its latest sample,
-- when that arrived here, how long it took (the replication lag of the
-- latest sample), how many dependencies it watches now, and whether it
-- counts toward the quorum now.
CREATE VIEW vantage_status AS
	SELECT p.vantage,
		   max(l.at) AS last_sample_at,
		   max(l.received_at) AS last_received_at,
		   (array_agg(l.received_at - l.at ORDER BY l.at DESC))[1] AS replication_lag,
		   count(*) FILTER (WHERE l.at + 3 * d.every >= now())::int AS reporting,
		   count(*) FILTER (WHERE l.at + 3 * d.every >= now()) > 0 AS counts_toward_quorum
	FROM (SELECT DISTINCT g.dependency, g.vantage FROM depwatch.vantage_gap g) p
	JOIN depwatch.dependency d ON d.name = p.dependency
	CROSS JOIN LATERAL (SELECT s.at, s.received_at FROM depwatch.vantage_sample s
						WHERE s.dependency = p.dependency AND s.vantage = p.vantage
						ORDER BY s.at DESC LIMIT 1) l
	GROUP BY p.vantage;

-- ---------------------------------------------------------------------------
-- Privileges (the role model of 0.1: readers read, nobody writes these
-- tables but the triggers and logical replication)
-- ---------------------------------------------------------------------------
REVOKE ALL ON FUNCTION _vantage(), _ships_samples(), _ship_samples(), _ship_outage(), _ship_gap(), _ship_drop(),
	_vantage_spans(timestamptz, timestamptz), _consensus_windows(timestamptz, timestamptz),
	consensus_timeline(tstzrange),
	consensus_outages(tstzrange), vantage_availability(tstzrange) FROM PUBLIC;
REVOKE ALL ON vantage_sample, vantage_outage, vantage_gap, vantage_status FROM PUBLIC;
GRANT SELECT ON vantage_sample, vantage_outage, vantage_gap, vantage_status TO depwatch_reader;
GRANT EXECUTE ON FUNCTION _vantage(), _consensus_windows(timestamptz, timestamptz),
	consensus_timeline(tstzrange), consensus_outages(tstzrange),
	vantage_availability(tstzrange) TO depwatch_reader;

COMMENT ON FUNCTION consensus_timeline(tstzrange) IS 'Each dependency''s state by quorum of vantages, piece by piece';
COMMENT ON FUNCTION consensus_outages(tstzrange) IS 'Down windows a quorum of vantages agrees on';
COMMENT ON FUNCTION vantage_availability(tstzrange) IS 'Availability by consensus (vantage NULL) and by each vantage';
COMMENT ON VIEW vantage_status IS 'Each vantage: latest sample, replication lag, whether it counts toward quorum';
COMMENT ON COLUMN vantage_status.vantage IS 'The vantage (its depwatch.vantage setting)';
COMMENT ON COLUMN vantage_status.last_sample_at IS 'Time of its latest sample held here';
COMMENT ON COLUMN vantage_status.last_received_at IS 'When the latest sample arrived here';
COMMENT ON COLUMN vantage_status.replication_lag IS 'How long the latest sample took to arrive (received_at - at)';
COMMENT ON COLUMN vantage_status.reporting IS 'Dependencies it sampled within 3 x their interval';
COMMENT ON COLUMN vantage_status.counts_toward_quorum IS 'Whether it reports now, so counts toward quorum';
COMMENT ON TABLE vantage_sample IS 'Samples of every vantage, by dependency name (logical replication)';
COMMENT ON TABLE vantage_outage IS 'Each vantage''s own outages, by dependency name (logical replication)';
COMMENT ON TABLE vantage_gap IS 'Each vantage''s unmonitored windows, by dependency name (logical replication)';
COMMENT ON COLUMN vantage_sample.vantage IS 'The vantage that took the sample';
COMMENT ON COLUMN vantage_sample.id IS 'Its number on that vantage (unique with vantage)';
COMMENT ON COLUMN vantage_sample.dependency IS 'Dependency name';
COMMENT ON COLUMN vantage_sample.at IS 'When the probe or call was made';
COMMENT ON COLUMN vantage_sample.ok IS 'Whether it succeeded';
COMMENT ON COLUMN vantage_sample.latency IS 'How long it took';
COMMENT ON COLUMN vantage_sample.detail IS 'What the probe saw';
COMMENT ON COLUMN vantage_sample.received_at IS 'When this node stored it (arrival, on the central node)';
COMMENT ON COLUMN vantage_outage.vantage IS 'The vantage that saw the outage';
COMMENT ON COLUMN vantage_outage.outage_id IS 'Its id in depwatch.outage on that vantage';
COMMENT ON COLUMN vantage_outage.dependency IS 'Dependency name';
COMMENT ON COLUMN vantage_outage.kind IS 'down or degraded';
COMMENT ON COLUMN vantage_outage.during IS 'When, [start, end); end open while ongoing';
COMMENT ON COLUMN vantage_outage.detected_at IS 'When the vantage opened it';
COMMENT ON COLUMN vantage_gap.vantage IS 'The vantage that was not watching';
COMMENT ON COLUMN vantage_gap.dependency IS 'Dependency name';
COMMENT ON COLUMN vantage_gap.before IS 'The sample that ended the gap';
COMMENT ON COLUMN vantage_gap.unmonitored IS 'The unmonitored window';
COMMENT ON FUNCTION _vantage() IS 'This node''s vantage name';
COMMENT ON FUNCTION _ships_samples() IS 'Whether this node copies its samples into vantage_sample (published, or a subscriber)';

-- ---------------------------------------------------------------------------
-- A NULL where a dependency, capability, fee policy, incident or maintenance
-- target is named is refused as NULL (22004), rather than looked for and
-- reported as an object that does not exist (42704, 'dependency "NULL"
-- does not exist', which reads as if a dependency were named NULL).  Only
-- the check at the start of each function is new.
-- ---------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION _dependency_id(name text) RETURNS bigint
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	result bigint;
BEGIN
	IF name IS NULL THEN
		RAISE EXCEPTION 'dependency name must not be NULL'
			USING ERRCODE = 'null_value_not_allowed',
				  HINT = 'Pass the name of a dependency; depwatch.dependencies lists them.';
	END IF;
	SELECT d.id INTO result FROM depwatch.dependency d WHERE d.name = _dependency_id.name;
	IF result IS NULL THEN
		RAISE EXCEPTION 'dependency "%" does not exist', name
			USING ERRCODE = 'undefined_object',
				  HINT = 'See depwatch.dependencies for the dependencies there are.';
	END IF;
	RETURN result;
END
$$;

CREATE OR REPLACE FUNCTION _capability_id(name text) RETURNS bigint
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	result bigint;
BEGIN
	IF name IS NULL THEN
		RAISE EXCEPTION 'capability name must not be NULL'
			USING ERRCODE = 'null_value_not_allowed',
				  HINT = 'Pass the name of a capability; depwatch.capability lists them.';
	END IF;
	SELECT c.id INTO result FROM depwatch.capability c WHERE c.name = _capability_id.name;
	IF result IS NULL THEN
		RAISE EXCEPTION 'capability "%" does not exist', name
			USING ERRCODE = 'undefined_object',
				  HINT = 'See depwatch.capability for the capabilities there are.';
	END IF;
	RETURN result;
END
$$;

CREATE OR REPLACE FUNCTION _fee_policy(policy text) RETURNS depwatch.fee_policy
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	p depwatch.fee_policy;
BEGIN
	IF policy IS NULL THEN
		RAISE EXCEPTION 'fee policy must not be NULL'
			USING ERRCODE = 'null_value_not_allowed',
				  HINT = 'Pass the name of a fee policy; depwatch.fee_policy lists them.';
	END IF;
	SELECT * INTO p FROM depwatch.fee_policy x WHERE x.name = policy;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'fee policy "%" does not exist', policy
			USING ERRCODE = 'undefined_object',
				  HINT = 'Add it with add_fee_policy(); depwatch.fee_policy lists them.';
	END IF;
	RETURN p;
END
$$;

CREATE OR REPLACE FUNCTION _incident(incident bigint) RETURNS depwatch.incident
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	i depwatch.incident;
BEGIN
	IF incident IS NULL THEN
		RAISE EXCEPTION 'incident must not be NULL'
			USING ERRCODE = 'null_value_not_allowed',
				  HINT = 'Pass the id of an incident; depwatch.incident lists them.';
	END IF;
	SELECT * INTO i FROM depwatch.incident x WHERE x.id = incident;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'incident % does not exist', incident
			USING ERRCODE = 'undefined_object',
				  HINT = 'See depwatch.incident for the incidents there are.';
	END IF;
	IF i.ended_at IS NULL THEN
		RAISE NOTICE 'incident % is still open: reports take now as its end', i.id;
	END IF;
	RETURN i;
END
$$;

CREATE OR REPLACE FUNCTION close_incident(incident bigint, ended_at timestamptz DEFAULT now(),
							   root_cause text DEFAULT NULL) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	i depwatch.incident;
BEGIN
	IF incident IS NULL THEN
		RAISE EXCEPTION 'incident must not be NULL'
			USING ERRCODE = 'null_value_not_allowed',
				  HINT = 'Pass the id of an incident; depwatch.incident lists them.';
	END IF;
	SELECT * INTO i FROM depwatch.incident x WHERE x.id = close_incident.incident FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'incident % does not exist', incident
			USING ERRCODE = 'undefined_object',
				  HINT = 'See depwatch.incident for the incidents there are.';
	END IF;
	IF i.ended_at IS NOT NULL THEN
		RAISE EXCEPTION 'incident % is already closed (at %)', i.id, i.ended_at
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = 'An incident is closed once.';
	END IF;
	IF ended_at IS NULL OR NOT isfinite(ended_at) OR ended_at <= i.started_at THEN
		RAISE EXCEPTION 'incident % started at %, so it cannot end at %', i.id, i.started_at,
				coalesce(ended_at::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'The end must come after the start.';
	END IF;
	UPDATE depwatch.incident x
	   SET ended_at = close_incident.ended_at,
		   root_cause = coalesce(close_incident.root_cause, x.root_cause)
	 WHERE x.id = i.id;
END
$$;

CREATE OR REPLACE FUNCTION set_incident_facts(incident bigint, facts jsonb) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	i depwatch.incident;
	f record;
	t text;
	valid boolean;
	merged jsonb;
BEGIN
	IF incident IS NULL THEN
		RAISE EXCEPTION 'incident must not be NULL'
			USING ERRCODE = 'null_value_not_allowed',
				  HINT = 'Pass the id of an incident; depwatch.incident lists them.';
	END IF;
	SELECT * INTO i FROM depwatch.incident x WHERE x.id = incident FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'incident % does not exist', incident
			USING ERRCODE = 'undefined_object',
				  HINT = 'See depwatch.incident for the incidents there are.';
	END IF;
	IF facts IS NULL OR jsonb_typeof(facts) <> 'object' THEN
		RAISE EXCEPTION 'facts must be a JSON object, not %', coalesce(jsonb_typeof(facts), 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass facts such as ''{"critical_services_affected": true, "clients_total": 1200000}''.';
	END IF;
	FOR f IN SELECT e.key, e.value, k.type FROM jsonb_each(facts) e
			 LEFT JOIN depwatch._incident_fact_types() k ON k.key = e.key ORDER BY e.key LOOP
		IF f.type IS NULL THEN
			RAISE EXCEPTION 'unknown incident fact "%"', f.key
				USING ERRCODE = 'invalid_parameter_value',
					  HINT = 'The facts are: ' || (SELECT string_agg(k.key, ', ') FROM depwatch._incident_fact_types() k) || '.';
		END IF;
		CONTINUE WHEN jsonb_typeof(f.value) = 'null';
		t := jsonb_typeof(f.value);
		valid := CASE f.type
			WHEN 'boolean' THEN t = 'boolean'
			WHEN 'count' THEN t = 'number' AND f.value::text ~ '^[0-9]{1,10}$'
							  AND f.value::text::numeric <= 2147483647
			WHEN 'amount' THEN CASE WHEN t = 'number' THEN (f.value::text)::numeric >= 0 ELSE false END
			WHEN 'text' THEN t = 'string' AND btrim(f.value #>> '{}') <> ''
			WHEN 'timestamp' THEN
				CASE WHEN t = 'string'
						  AND (f.value #>> '{}') ~ '^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}.*(Z|[+-]\d{2}(:?\d{2})?)$'
					 THEN depwatch._is_timestamptz(f.value #>> '{}') ELSE false END
			WHEN 'reputational' THEN t = 'array' AND NOT EXISTS (
					SELECT FROM jsonb_array_elements(f.value) r
					WHERE jsonb_typeof(r) <> 'string'
					   OR r #>> '{}' NOT IN ('media', 'complaints', 'regulatory', 'client_loss'))
		END;
		IF NOT valid THEN
			RAISE EXCEPTION 'incident fact "%" must be %, not %', f.key,
					CASE f.type
						WHEN 'count' THEN 'a whole number from 0 to 2147483647'
						WHEN 'amount' THEN 'a number of at least 0'
						WHEN 'text' THEN 'a non-empty string'
						WHEN 'timestamp' THEN 'a timestamp with its time zone, such as "2022-10-15T15:30:00+09:00"'
						WHEN 'reputational' THEN 'an array of "media", "complaints", "regulatory" or "client_loss"'
						ELSE 'a ' || f.type END,
					depwatch._clip(f.value::text)
				USING ERRCODE = 'invalid_parameter_value',
					  HINT = 'Pass JSON null to remove a fact.';
		END IF;
	END LOOP;
	merged := jsonb_strip_nulls(i.facts || facts);
	UPDATE depwatch.incident x SET facts = merged WHERE x.id = i.id AND x.facts IS DISTINCT FROM merged;
	RETURN merged;
END
$$;

CREATE OR REPLACE FUNCTION add_maintenance(target text, during tstzrange, note text DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, depwatch, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
	dep_id bigint;
	cap_id bigint;
	result bigint;
BEGIN
	IF target IS NULL THEN
		RAISE EXCEPTION 'maintenance target must not be NULL'
			USING ERRCODE = 'null_value_not_allowed',
				  HINT = 'Pass the name of a dependency or a capability.';
	END IF;
	SELECT d.id INTO dep_id FROM depwatch.dependency d WHERE d.name = target;
	SELECT c.id INTO cap_id FROM depwatch.capability c WHERE c.name = target;
	IF dep_id IS NULL AND cap_id IS NULL THEN
		RAISE EXCEPTION 'no dependency or capability is named "%"', target
			USING ERRCODE = 'undefined_object',
				  HINT = 'Maintenance is planned on a dependency or a capability.';
	END IF;
	IF during IS NULL OR isempty(during) THEN
		RAISE EXCEPTION 'maintenance window on "%" must not be empty, not %', target, coalesce(during::text, 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Pass a window such as tstzrange(''2026-11-28 02:00+09'', ''2026-11-28 04:00+09'').';
	END IF;
	IF lower_inf(during) OR upper_inf(during) THEN
		RAISE EXCEPTION 'maintenance window % on "%" is unbounded', during, target
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Planned maintenance has a start and an end.';
	END IF;
	INSERT INTO depwatch.maintenance (dependency_id, capability_id, during, note)
	VALUES (dep_id, cap_id, during, note)
	RETURNING id INTO result;
	RETURN result;
END
$$;

-- No JIT inside the new functions either (see the end of depwatch--0.1.sql).
DO $$
DECLARE
	f regprocedure;
BEGIN
	FOR f IN SELECT p.oid FROM pg_proc p
			 WHERE p.pronamespace = 'depwatch'::regnamespace AND p.proconfig IS NOT NULL
			   AND NOT 'jit=off' = ANY (p.proconfig)
	LOOP
		EXECUTE format('ALTER FUNCTION %s SET jit = off', f);
	END LOOP;
END
$$;
