-- Outages told truthfully: the source "reported", and no degraded twin of
-- a down outage where no degraded_after defines degraded.

ALTER TABLE outage DROP CONSTRAINT outage_source_check;

ALTER TABLE outage ADD CONSTRAINT outage_source_check
	CHECK (source IN ('probe', 'reported', 'passive', 'manual', 'import'));

COMMENT ON COLUMN outage.source IS 'probe (the worker), reported (report_sample), passive (the error-rate rule), manual (record_outage) or import';

-- The existing data.  Degraded rows the machine made for a dependency
-- without degraded_after are the twins of its down rows: deleted through
-- the table, so that the audit log has each one (and a vantage's shipped
-- copy goes too); degraded rows recorded by hand or imported stay.  The
-- machines' degraded streaks go with them.
DO $$
DECLARE
	n bigint;
BEGIN
	WITH gone AS (
		DELETE FROM depwatch.outage o
		USING depwatch.dependency d
		WHERE d.id = o.dependency_id AND d.degraded_after IS NULL
		  AND o.kind = 'degraded' AND o.source IN ('probe', 'passive')
		RETURNING o.id)
	SELECT count(*) INTO n FROM gone;
	UPDATE depwatch.probe_state s
	   SET degraded_open = false, degraded_streak = 0, degraded_since = NULL
	  FROM depwatch.dependency d
	 WHERE d.id = s.dependency_id AND d.degraded_after IS NULL
	   AND (s.degraded_open OR s.degraded_streak <> 0);
	IF n > 0 THEN
		RAISE WARNING 'depwatch 0.3: removed % degraded outages of dependencies without degraded_after (each the twin of a down outage; audited)', n
			USING HINT = 'Set degraded_after on a dependency to have degraded outages.';
	END IF;
END
$$;

-- Where the outages came from: the machine's outages of a dependency that
-- nobody probes (probe 'none') can only have come from report_sample.  On a
-- probed dependency the worker's and report_sample's outages cannot be told
-- apart (both write as the extension's owner), so they stay 'probe'.
UPDATE outage o SET source = 'reported'
  FROM dependency d
 WHERE d.id = o.dependency_id AND d.probe = 'none' AND o.source = 'probe';
