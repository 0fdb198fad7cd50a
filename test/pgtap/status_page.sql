-- status_page.sql: who may do what with the status page: a reader writes
-- the page and reads the updates (public and internal) but adds none; an
-- operator adds updates (audited under its name); a reader cannot set a
-- display name; a role outside depwatch gets nothing.
BEGIN;
SET TimeZone = 'UTC';
SELECT plan(14);

CREATE ROLE depwatch_tap_page_reader NOLOGIN IN ROLE depwatch_reader;
CREATE ROLE depwatch_tap_page_operator NOLOGIN IN ROLE depwatch_operator;
CREATE ROLE depwatch_tap_page_outsider NOLOGIN;

SELECT depwatch.add_dependency('tap_page_core', 'core', tracked_since => '2020-01-01 00:00+00');
SELECT depwatch.add_capability('tap_page_transfer', ARRAY['tap_page_core'], display_name => 'Transfers');
SELECT depwatch.record_outage('tap_page_core', '2024-03-11 20:00+00', '2024-03-11 20:45+00');
CREATE TEMP TABLE tap_incident AS
	SELECT depwatch.open_incident('tap page incident', '2024-03-11 20:00+00') AS id;
SELECT depwatch.close_incident((SELECT id FROM tap_incident), '2024-03-11 20:45+00');
GRANT SELECT ON tap_incident TO depwatch_tap_page_reader, depwatch_tap_page_operator, depwatch_tap_page_outsider;

-- the reader
SET ROLE depwatch_tap_page_reader;
SELECT ok(depwatch.status_page('[2024-03-08 00:00+00, 2024-03-12 00:00+00)') LIKE '<!DOCTYPE html>%Transfers%tap page incident%',
		  'a reader writes the status page');
SELECT lives_ok('SELECT depwatch.status_page()', 'a reader writes the default page (the last 90 days)');
SELECT lives_ok('SELECT * FROM depwatch.incident_updates', 'a reader reads incident_updates');
SELECT lives_ok('SELECT * FROM depwatch.incident_update', 'a reader reads the table incident_update');
SELECT throws_ok(format($$SELECT depwatch.add_incident_update(%s, 'investigating', 'reader says')$$,
						(SELECT id FROM tap_incident)),
				 '42501', NULL, 'a reader cannot add an incident update');
SELECT throws_ok($$INSERT INTO depwatch.incident_update (incident_id, status, message, at)
				   SELECT id, 'resolved', 'planted', '2024-03-11 20:50+00' FROM tap_incident$$,
				 '42501', NULL, 'a reader cannot write the table incident_update');
SELECT throws_ok($$SELECT depwatch.alter_capability('tap_page_transfer', display_name => 'Mine')$$,
				 '42501', NULL, 'a reader cannot set a display name');
RESET ROLE;

-- the operator
SET ROLE depwatch_tap_page_operator;
SELECT lives_ok(format($$SELECT depwatch.add_incident_update(%s, 'investigating', 'We are looking into failed transfers.', '2024-03-11 20:05+00')$$,
					   (SELECT id FROM tap_incident)),
				'an operator adds an incident update');
SELECT ok(depwatch.status_page('[2024-03-08 00:00+00, 2024-03-12 00:00+00)') LIKE '%We are looking into failed transfers.%',
		  'the operator''s public update is on the page');
SELECT throws_ok($$UPDATE depwatch.incident_update SET message = 'rewritten'$$,
				 '42501', NULL, 'an operator cannot rewrite updates behind the function');
SELECT throws_ok($$SELECT depwatch.alter_capability('tap_page_transfer', display_name => 'Mine')$$,
				 '42501', NULL, 'an operator cannot set a display name (an admin''s setting)');
RESET ROLE;
SELECT is((SELECT a.actor FROM depwatch.audit_log a
		   WHERE a.table_name = 'incident_update' ORDER BY a.id DESC LIMIT 1),
		  'depwatch_tap_page_operator', 'the audit log names the operator who added the update');

-- outside depwatch's roles
SET ROLE depwatch_tap_page_outsider;
SELECT throws_ok('SELECT depwatch.status_page()', '42501', NULL,
				 'a role outside the depwatch roles cannot write the page');
SELECT throws_ok('SELECT * FROM depwatch.incident_updates', '42501', NULL,
				 'a role outside the depwatch roles cannot read the updates');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
