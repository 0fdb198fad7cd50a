#!/usr/bin/env bash
# The probe worker runs as a superuser; its search_path must not be the
# database's.  The owner of a database (no superuser) plants operators
# = (text, text) and = (bigint, bigint) in a schema of its own, each noting
# who ran it in a table, and sets the database's search_path to put that
# schema before pg_catalog.  The worker then probes a dependency for a few
# seconds:
#   a. it writes samples (the setting does not break it);
#   b. none of the planted operators ran.
# The same operators do run for a session that uses the database's path,
# so the trap is real.
set -euo pipefail
cd "$(dirname "$0")/../.."

dir=tmp/it_search_path
port=15453

cleanup() { scripts/cluster.sh stop "$dir" "$port"; }
trap cleanup EXIT

sql() { psql -X -A -t -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d bank -c "$1"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok - $*"; }

scripts/cluster.sh stop "$dir" "$port"
rm -rf "$dir"
scripts/cluster.sh start "$dir" "$port" "depwatch.databases = 'bank'"
psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d postgres \
	-c "CREATE ROLE bank_owner LOGIN" -c "CREATE DATABASE bank OWNER bank_owner"
sql "SET client_min_messages = warning; CREATE EXTENSION depwatch CASCADE"

# the owner's trap
psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U bank_owner -d bank <<'SQL'
CREATE SCHEMA trap;
CREATE TABLE trap.calls (op text, by_whom text);
GRANT USAGE ON SCHEMA trap TO PUBLIC;
GRANT ALL ON trap.calls TO PUBLIC;
CREATE FUNCTION trap.text_eq(a text, b text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO trap.calls VALUES ('text = text', current_user);
	RETURN pg_catalog.texteq(a, b);
END
$$;
CREATE OPERATOR trap.= (LEFTARG = text, RIGHTARG = text, FUNCTION = trap.text_eq);
CREATE FUNCTION trap.int8_eq(a bigint, b bigint) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO trap.calls VALUES ('bigint = bigint', current_user);
	RETURN pg_catalog.int8eq(a, b);
END
$$;
CREATE OPERATOR trap.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = trap.int8_eq);
ALTER DATABASE bank SET search_path = trap, pg_catalog, depwatch;
SQL

# the trap is real: a session on the database's path walks into it
[ "$(sql "SELECT 1::bigint = 1::bigint AND 'a'::text = 'a'::text")" = t ] || fail "the trap's operators do not work"
[ "$(sql "SELECT count(DISTINCT op) FROM trap.calls")" = 2 ] || fail "a session on the database's path did not use the trap"
sql "TRUNCATE trap.calls"
ok "a session on the database's search_path runs the owner's operators"

# a dependency the worker probes (the server's own port), from a fresh
# worker that read the database's settings when it connected
sql "SELECT depwatch.add_dependency('self', 'core', 'tcp', '127.0.0.1:$port', every => '200 ms', timeout => '100 ms')" >/dev/null
scripts/cluster.sh stop "$dir" "$port"
scripts/cluster.sh start "$dir" "$port"
deadline=$((SECONDS + 30))
until [ "$(sql "SELECT count(*) >= 10 FROM depwatch.sample")" = t ]; do
	[ $SECONDS -ge $deadline ] && fail "the worker wrote fewer than 10 samples in 30 s"
	sleep 0.5
done
ok "the worker probes and writes samples"
calls=$(sql "SELECT coalesce(string_agg(op || ' by ' || by_whom || ' x' || n, ', '), '') FROM
			 (SELECT op, by_whom, count(*) n FROM trap.calls GROUP BY 1, 2) c")
[ -z "$calls" ] || fail "the worker ran the database owner's operators: $calls"
ok "none of the planted operators ran in the worker"
