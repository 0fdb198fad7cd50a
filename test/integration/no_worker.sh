#!/usr/bin/env bash
# No silent non-probing (SPEC section 7): in a database that has no probe
# worker (not listed in depwatch.databases, or depwatch not preloaded),
# adding or enabling a probed dependency raises a NOTICE saying why and how
# to fix it, current_status() shows it unmonitored at once with reason 'no
# worker for this database', and worker_status lists the database (pid
# NULL, last_error saying why).  In a listed database: no NOTICE, and a new
# probed dependency is up until its worker has had 3 x every to sample it.
#   a. not listed: NOTICE on add, none for probe 'none', NOTICE on enable
#   b. not listed: current_status unmonitored from the start, with reason
#   c. not listed: worker_status lists the database
#   d. listed: no NOTICE, status up, no worker_status row without a pid
#   e. a reload that lists the database ends all three
#   f. depwatch not preloaded: the NOTICE names shared_preload_libraries
set -euo pipefail
cd "$(dirname "$0")/../.."

dir=tmp/it_no_worker
port=15741
scripts/cluster.sh stop "$dir" "$port"
rm -rf "$dir"
scripts/cluster.sh start "$dir" "$port" "depwatch.databases = 'bank'"
trap 'scripts/cluster.sh stop "$dir" "$port"' EXIT
. test/lib.sh

# notices SQL: what the statement says on stderr (NOTICE, DETAIL, HINT)
notices() { psql -X -A -t -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d "${DB:-bank}" \
				 -c "$1" 2>&1 >/dev/null; }

DB=postgres sql "CREATE DATABASE bank"
DB=postgres sql "CREATE DATABASE other"
DB=bank sql "CREATE EXTENSION depwatch CASCADE" 2>/dev/null
DB=other sql "CREATE EXTENSION depwatch CASCADE" 2>/dev/null
DB=postgres wait_for 15 "SELECT string_agg(datname, ',') FROM pg_stat_activity WHERE backend_type = 'depwatch worker'" "bank"

# a. not listed
said=$(DB=other notices "SELECT depwatch.add_dependency('core', 'core', 'tcp', '127.0.0.1:$port', every => '1 min')")
echo "$said" | grep -q 'NOTICE:  dependency "core" will not be probed: no probe worker runs for database "other"' ||
	fail "a. adding a probed dependency in an unlisted database said: '$said'"
echo "$said" | grep -q 'DETAIL:  This database is not listed in depwatch.databases.' ||
	fail "a. the NOTICE does not say why: '$said'"
echo "$said" | grep -q 'HINT:  Add it to depwatch.databases' || fail "a. the NOTICE does not say how to fix it: '$said'"
ok "a. adding a probed dependency where no worker runs raises a NOTICE that says why and how to fix it"
said=$(DB=other notices "SELECT depwatch.add_dependency('app', 'other')")
[ -z "$said" ] || fail "a. a probe 'none' dependency raised: '$said'"
DB=other sql "SELECT depwatch.add_dependency('quiet', 'other', 'tcp', '127.0.0.1:$port')" >/dev/null 2>&1
DB=other sql "SELECT depwatch.alter_dependency('quiet', enabled => false)" >/dev/null
said=$(DB=other notices "SELECT depwatch.alter_dependency('quiet', every => '2 min')")
[ -z "$said" ] || fail "a. altering a disabled dependency raised: '$said'"
said=$(DB=other notices "SELECT depwatch.alter_dependency('quiet', enabled => true)")
echo "$said" | grep -q 'NOTICE:  dependency "quiet" will not be probed' ||
	fail "a. enabling a probed dependency in an unlisted database said: '$said'"
said=$(DB=other notices "SELECT depwatch.alter_dependency('quiet', every => '1 min')")
[ -z "$said" ] || fail "a. altering an enabled dependency again raised: '$said'"
ok "a. no NOTICE for probe 'none' nor for other changes; a NOTICE again on enabling"

# b. every => 1 min: before, it would have been 'up' for 3 minutes
got=$(DB=other sql "SELECT state || '|' || reason || '|' || (since = d.created_at)
					FROM depwatch.current_status() s JOIN depwatch.dependency d ON d.name = s.target
					WHERE s.target = 'core'")
[ "$got" = "unmonitored|no worker for this database|true" ] ||
	fail "b. current_status of core in the unlisted database: '$got'"
got=$(DB=other sql "SELECT state || '|' || coalesce(reason, '-') FROM depwatch.status WHERE target = 'app'")
[ "$got" = "up|-" ] || fail "b. a probe 'none' dependency: '$got'"
ok "b. current_status and the status view show it unmonitored since it was added, reason 'no worker for this database'"

# c.
got=$(DB=other sql "SELECT coalesce(pid::text, 'NULL') || '|' || dependencies || '|' || last_error
					FROM depwatch.worker_status WHERE database = 'other'")
[ "$got" = "NULL|2|no probe worker: this database is not listed in depwatch.databases" ] ||
	fail "c. worker_status in the unlisted database: '$got'"
got=$(DB=other sql "SELECT count(*) FROM depwatch.worker_status WHERE database = 'bank' AND pid IS NOT NULL")
[ "$got" = 1 ] || fail "c. worker_status no longer shows bank's worker: '$got'"
ok "c. worker_status lists the unlisted database with pid NULL and why, beside the running worker"

# d. listed
said=$(notices "SELECT depwatch.add_dependency('core', 'core', 'tcp', '127.0.0.1:$port', every => '1 min')")
[ -z "$said" ] || fail "d. adding a probed dependency in the listed database raised: '$said'"
got=$(sql "SELECT state || '|' || coalesce(reason, '-') FROM depwatch.current_status() WHERE target = 'core'")
[ "$got" = "up|-" ] || fail "d. current_status in the listed database: '$got'"
got=$(sql "SELECT count(*) FROM depwatch.worker_status WHERE pid IS NULL")
[ "$got" = 0 ] || fail "d. worker_status in the listed database has $got rows without a pid"
ok "d. in the listed database: no NOTICE, up, no worker_status row without a pid"

# e.
DB=postgres sql "ALTER SYSTEM SET depwatch.databases = 'bank, other'"
DB=postgres sql "SELECT pg_reload_conf()" >/dev/null
DB=other wait_for 10 "SELECT count(*) FROM depwatch.worker_status WHERE pid IS NULL" "0"
DB=other wait_for 10 "SELECT coalesce(reason, '-') FROM depwatch.current_status() WHERE target = 'core'" "-"
DB=other sql "SELECT depwatch.alter_dependency('quiet', enabled => false)" >/dev/null
said=$(DB=other notices "SELECT depwatch.alter_dependency('quiet', enabled => true)")
[ -z "$said" ] || fail "e. enabling once the database is listed raised: '$said'"
ok "e. once a reload lists the database: no NOTICE, no reason, no row without a pid"

# f.
# (ALTER SYSTEM would write '""', a list of one empty name)
scripts/cluster.sh stop "$dir" "$port"
echo "shared_preload_libraries = ''" >>"$dir/data/postgresql.conf"
scripts/cluster.sh start "$dir" "$port"
said=$(notices "SELECT depwatch.add_dependency('bureau', 'credit_bureau', 'tcp', '127.0.0.1:$port')")
echo "$said" | grep -q 'DETAIL:  depwatch is not in shared_preload_libraries' ||
	fail "f. without the library preloaded, adding said: '$said'"
got=$(sql "SELECT coalesce(pid::text, 'NULL') || '|' || last_error FROM depwatch.worker_status")
[ "$got" = "NULL|no probe worker: depwatch is not in shared_preload_libraries" ] ||
	fail "f. worker_status without the library preloaded: '$got'"
got=$(sql "SELECT state || ':' || reason FROM depwatch.current_status() WHERE target = 'bureau'")
[ "$got" = "unmonitored:no worker for this database" ] ||
	fail "f. current_status without the library preloaded: '$got'"
ok "f. without depwatch preloaded, even a listed database has no worker, and says so"
