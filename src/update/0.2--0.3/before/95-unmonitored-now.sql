-- _unmonitored_now() gains the column reason: the rule of "unmonitored now"
-- (with "no worker for this database") has one home, which current_status
-- and the capabilities' timelines both read.  Dropped after the move to
-- depwatch_internal (90-internal-schema.sql), made again by src/sql.
DROP FUNCTION depwatch_internal._unmonitored_now();
