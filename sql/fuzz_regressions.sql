-- Cases the fuzzers (test/fuzz/, make fuzz) found, replayed through the SQL
-- functions over the parsers: each fails or passes as it should, and no
-- error message shows a password.  test/fuzz/corpus/ holds the same cases
-- for the C targets.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION depwatch CASCADE;
RESET client_min_messages;

-- check(probe, target): 'ok', or the SQLSTATE and message of the error
CREATE FUNCTION check_target(probe text, target text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM depwatch_internal._check_probe_target(probe, target);
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;

-- tcp targets: an IPv6 address in brackets must be one libcurl (the probe)
-- can use; an unknown probe without a target is an unknown probe.
SELECT probe, coalesce(target, 'NULL') AS target, check_target(probe, target) AS result
FROM (VALUES ('tcp', '[:81]:80'),
			 ('tcp', '[::::]:80'),
			 ('tcp', '[1.2]:80'),
			 ('tcp', '[::1]:80'),
			 ('tcp', '[::ffff:127.0.0.1]:5432'),
			 ('tcp', '[2001:DB8::1]:443'),
			 ('bogus', NULL),
			 ('bogus', '')) AS t(probe, target);

-- Targets that do not parse are shown redacted: no password that libpq or
-- libcurl would read from the original survives.
SELECT probe, target, check_target(probe, target) AS result
FROM (VALUES ('tcp', 'http:/u:s3cret@h:80'),
			 ('tcp', 'user:s3cret@host:80'),
			 ('tcp', 'postgresql://u:s3c?ret@host/db'),
			 ('tcp', 'postgresql://h/db?sslpassword=s3c ret&application_name=a'),
			 ('tcp', 'postgresql://u:s3cret?password=x/y&a=1@h'),
			 ('http', 'password=s3c&ret host=x'),
			 ('http', 'password=s3c\ ret host=x'),
			 ('http', 'password=''s3c''ret host=x'),
			 ('http', 'password = ''s3c ret'' host=x'),
			 ('http', 'host=db password=''a=''a')) AS t(probe, target);

-- Requirement groups at the edges the fuzzer explored.
SELECT requirement, k, cardinality(members) AS n, members[1:3] AS first_members
FROM depwatch.parse_requirements(ARRAY[
	E' \r2\n:\ta\r|\n b ',
	'64:' || (SELECT string_agg('m' || i, '|') FROM generate_series(1, 64) i),
	repeat('n', 63)]) r;
SELECT depwatch.parse_requirements(ARRAY[(SELECT string_agg('m' || i, '|') FROM generate_series(1, 65) i)]);
SELECT depwatch.parse_requirements(ARRAY[repeat('n', 64)]);
SELECT depwatch.parse_requirements(ARRAY['1:a:b']);

DROP FUNCTION check_target(text, text);
DROP EXTENSION depwatch;
DROP EXTENSION btree_gist;
