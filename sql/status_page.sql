-- status_page(): the customers' page, checked through its structure
-- (xpath over the page, which is also well-formed XML): the banner's
-- states now, each capability's daily bars (worst state of the day and its
-- downtime) on hand-made outages, maintenance, incidents with their public
-- updates only, display names (default and escaped), no dependency names
-- unless asked; add_incident_update() and the display-name rule, with
-- their errors.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION depwatch CASCADE;
RESET client_min_messages;
SET TimeZone = 'UTC';
SET search_path = depwatch, public;

-- Dependencies recorded by hand (probe none: monitored all the time).
SELECT count(*) FROM (VALUES
	(add_dependency('core', 'core', tracked_since => '1990-01-01 00:00+00')),
	(add_dependency('bureau_a', 'credit_bureau', tracked_since => '1990-01-01 00:00+00')),
	(add_dependency('bureau_b', 'credit_bureau', tracked_since => '1990-01-01 00:00+00')),
	(add_dependency('sms_gateway', 'messaging', tracked_since => '1990-01-01 00:00+00')),
	(add_dependency('ledger_db', 'core', tracked_since => '1990-01-01 00:00+00'))) v;
SELECT count(*) FROM (VALUES
	(add_capability('transfer', ARRAY['core'],
					display_name => 'Money <script>alert("x")</script> & ''transfers''')),
	(add_capability('account_opening', ARRAY['core', 'bureau_a|bureau_b'])),
	(add_capability('notifications', ARRAY['sms_gateway'], display_name => 'Notifications')),
	(add_capability('statements', ARRAY['ledger_db'], display_name => 'Statements'))) v;
-- the default display name is NULL (the name); '' goes back to it
SELECT name, display_name FROM capability ORDER BY id;
SELECT alter_capability('statements', display_name => 'Monthly statements');
SELECT alter_capability('statements', slo => 99.5);
SELECT display_name FROM capability WHERE name = 'statements';
SELECT alter_capability('statements', display_name => '');
SELECT display_name FROM capability WHERE name = 'statements';
SELECT alter_capability('statements', display_name => 'Statements');
-- display names are audited like the other columns
SELECT action, old->>'display_name' AS old, new->>'display_name' AS new
FROM audit_log WHERE table_name = 'capability' AND action = 'UPDATE'
  AND old->>'display_name' IS DISTINCT FROM new->>'display_name' ORDER BY id;

-- 2024-03-08 .. 2024-03-11 (UTC), by hand:
--  03-08 03:00-04:00 transfer under maintenance
--  03-09 10:00-10:30 core down: transfer and account opening down 30 min
--  03-10 10:00-11:00 bureau_a down: account opening degraded 1 h
--  03-11 02:00-02:15 and 20:00-20:45 core down: both down 1 h in all
SELECT count(*) FROM (VALUES
	(add_maintenance('transfer', '[2024-03-08 03:00, 2024-03-08 04:00)')),
	(record_outage('core', '2024-03-09 10:00', '2024-03-09 10:30')),
	(record_outage('bureau_a', '2024-03-10 10:00', '2024-03-10 11:00')),
	(record_outage('core', '2024-03-11 02:00', '2024-03-11 02:15')),
	(record_outage('core', '2024-03-11 20:00', '2024-03-11 20:45'))) v;
-- the incident of 03-11 evening, with two public updates and a private one
SELECT open_incident('Transfers <b>failing</b>', '2024-03-11 20:00', ARRAY['core']) AS incident;
SELECT close_incident(1, '2024-03-11 20:45');
SELECT add_incident_update(1, 'investigating', 'We see <script>alert(1)</script> "errors" & delays', '2024-03-11 20:05') AS update;
SELECT add_incident_update(1, 'identified', 'internal: the core database''s vendor (bureau_a contract)', '2024-03-11 20:10', false) AS update;
SELECT add_incident_update(1, 'resolved', 'Transfers work again.', '2024-03-11 20:50') AS update;
SELECT incident, incident_title, status, message, at, public FROM incident_updates ORDER BY id;
SELECT action, row_id, new->>'status' AS status FROM audit_log WHERE table_name = 'incident_update' ORDER BY id;

-- Now: sms_gateway down (notifications: outage), bureau_a down (account
-- opening: degraded, redundancy lost), statements under maintenance, and
-- maintenance on core tomorrow (transfer and account opening).
SELECT count(*) FROM (VALUES
	(record_outage('sms_gateway', now() - interval '1 hour')),
	(record_outage('bureau_a', now() - interval '1 hour')),
	(add_maintenance('statements', tstzrange(now() - interval '1 hour', now() + interval '1 hour'))),
	(add_maintenance('core', tstzrange(now() + interval '1 day', now() + interval '1 day 2 hours')))) v;

-- pg_temp.x(page, path): xpath over the page as XML (without its doctype), with h
-- for XHTML and s for SVG, as text
CREATE FUNCTION pg_temp.x(page text, path text) RETURNS text[]
LANGUAGE sql AS $$
	SELECT xpath(path, substr(page, position('<html' IN page))::xml,
				 ARRAY[ARRAY['h', 'http://www.w3.org/1999/xhtml'], ARRAY['s', 'http://www.w3.org/2000/svg']])::text[]
$$;
CREATE TEMP TABLE p AS
	SELECT status_page('[2024-03-08 00:00+00, 2024-03-12 00:00+00)') AS page,
		   status_page('[2024-03-08 00:00+00, 2024-03-12 00:00+00)', ARRAY['notifications', 'transfer'],
					   'Bank <i>status</i>', show_dependencies => true) AS asked;

SELECT left(page, 16) AS doctype, (pg_temp.x(page, '/h:html/h:head/h:title/text()'))[1] AS title FROM p;
-- the banner: the worst state on top, each capability's state now
SELECT (pg_temp.x(page, '//h:section[contains(@class,"banner")]/@class'))[1] AS banner,
	   (pg_temp.x(page, '//h:section[contains(@class,"banner")]/h:h2/text()'))[1] AS headline FROM p;
SELECT unnest(pg_temp.x(page, '//h:li[@data-capability-state]/h:span[@class="name"]/text()')) AS name,
	   unnest(pg_temp.x(page, '//h:li[@data-capability-state]/@data-capability-state')) AS state
FROM p;
-- the bars: one per day, the day's worst state, its downtime in the tooltip
SELECT unnest(pg_temp.x(page, '//h:section[@data-capability]/@data-capability')) AS capability,
	   unnest(pg_temp.x(page, '//h:section[@data-capability]//h:h3/text()')) AS shown,
	   unnest(pg_temp.x(page, '//h:section[@data-capability]//h:span[@class="uptime"]/text()')) AS uptime
FROM p;
SELECT c AS capability, unnest(pg_temp.x(page, format('//h:section[@data-capability="%s"]//s:rect/@data-state', c))) AS state,
	   unnest(pg_temp.x(page, format('//h:section[@data-capability="%s"]//s:rect/s:title/text()', c))) AS tooltip
FROM p, unnest(ARRAY['transfer', 'account_opening']) c;
-- the same for screen readers: the days that were not fully operational
SELECT unnest(pg_temp.x(page, '//h:section[@data-capability="account_opening"]//h:div[@class="sr-only"]//text()')) AS said FROM p;
-- maintenance: the one in the period, and the one to come (on a
-- dependency: the capabilities that need it, not its name)
SELECT unnest(pg_temp.x(page, '//h:li[contains(@class,"maintenance-window")]/@class')) AS class,
	   regexp_replace(unnest(pg_temp.x(page, '//h:li[contains(@class,"maintenance-window")]/text()[last()]')), '^.*?; affects ', '') AS affects
FROM p;
SELECT unnest(pg_temp.x(page, '//h:li[contains(@class,"completed")]//h:time/text()')) AS completed FROM p;
-- the incident, its public updates (newest first), not the private one
SELECT (pg_temp.x(page, '//h:li[contains(@class,"incident ")]/h:h3/text()'))[1] AS incident,
	   (pg_temp.x(page, '//h:li[contains(@class,"incident ")]//h:span[@class="incident-state"]/text()'))[1] AS state FROM p;
SELECT unnest(pg_temp.x(page, '//h:li[contains(@class,"update ")]/h:span[@class="update-status"]/text()')) AS status,
	   unnest(pg_temp.x(page, '//h:li[contains(@class,"update ")]/h:p/text()')) AS message FROM p;
SELECT position('internal:' IN page) = 0 AS private_update_not_shown FROM p;
-- escaped everywhere: no markup from a display name, title or message
SELECT position('<script' IN page) = 0 AND position('<b>' IN page) = 0 AS no_markup,
	   position('Money &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &apos;transfers&apos;' IN page) > 0 AS name_escaped,
	   position('We see &lt;script&gt;alert(1)&lt;/script&gt; &quot;errors&quot; &amp; delays' IN page) > 0 AS message_escaped,
	   position('<script' IN asked) = 0 AND position('Bank &lt;i&gt;status&lt;/i&gt;' IN asked) > 0 AS title_escaped
FROM p;
-- self-contained: nothing to fetch
SELECT page ~* '(src|href)\s*=' AS has_src_or_href, page ~* 'url\((?!#)' AS has_outside_url,
	   page ~* '@import|<link|<script|<img|<iframe' AS has_fetching_markup FROM p;
-- dependency names never appear, unless asked
SELECT d AS dependency, position(d IN page) > 0 AS in_page, position(d IN asked) > 0 AS in_page_asked
FROM p, unnest(ARRAY['core', 'bureau_a', 'bureau_b', 'sms_gateway', 'ledger_db']) d;
-- capabilities asked for: those, in that order
SELECT unnest(pg_temp.x(asked, '//h:section[@data-capability]/@data-capability')) AS capability FROM p;
SELECT unnest(pg_temp.x(asked, '//h:li[@data-capability-state]//h:span[@class="dependencies"]/text()')) AS dependencies FROM p;

-- by default, the last 90 days up to now: 90 bars per capability
SELECT (pg_temp.x(status_page(), 'count(//h:section[@data-capability="transfer"]//s:rect)'))[1] AS bars_by_default;

-- Errors.
\set VERBOSITY sqlstate
SELECT add_capability('too_long', ARRAY['core'], display_name => repeat('x', 201));
SELECT add_capability('control', ARRAY['core'], display_name => E'Trans\nfers');
SELECT add_capability('blank', ARRAY['core'], display_name => '   ');
SELECT alter_capability('transfer', display_name => E'a\tb');
UPDATE capability SET display_name = E'a\u0007b' WHERE name = 'transfer';
SELECT add_incident_update(1, 'fixed', 'Done');
SELECT add_incident_update(1, NULL, 'Done');
SELECT add_incident_update(1, 'resolved', ' ');
SELECT add_incident_update(1, 'resolved', repeat('x', 4001), '2024-03-11 21:00');
SELECT add_incident_update(1, 'resolved', 'Done', '2024-03-11 19:59');
SELECT add_incident_update(1, 'resolved', 'Done', '2024-04-11 20:46');
SELECT add_incident_update(1, 'resolved', 'Done', NULL);
SELECT add_incident_update(1, 'resolved', 'Done', '2024-03-11 21:00', NULL);
SELECT add_incident_update(99, 'resolved', 'Done');
SELECT status_page('[2023-01-01 00:00+00, 2024-03-12 00:00+00)');
SELECT status_page(capabilities => ARRAY['no_such']);
SELECT status_page(capabilities => '{}');
SELECT status_page('empty');
\set VERBOSITY default
SELECT count(*) AS updates FROM incident_update;
SELECT display_name FROM capability WHERE name = 'transfer';
DROP EXTENSION depwatch;
DROP EXTENSION btree_gist;
