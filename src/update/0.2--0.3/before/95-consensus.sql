-- The consensus is computed in C since 0.3 (src/consensus.c), with the
-- capability sweep of timeline.c: the reports read its input from
-- _vantage_windows, so _consensus_windows (0.2's SQL sweep, moved to
-- depwatch_internal above) goes; vantage_availability gains the column
-- maintenance (availability() takes maintenance out; 0.2 did not).
DROP FUNCTION depwatch_internal._consensus_windows(timestamptz, timestamptz);
DROP FUNCTION depwatch.vantage_availability(tstzrange);
