#!/usr/bin/env bash
# One sample must not blind monitoring (issue 16 item 6).  On 0.2 an
# operator's report_sample(at => now() + '30 days') was stored, and the
# worker then dropped every sample of that dependency older than it,
# silently: the dependency stayed "up" while it was down.  Here:
#   a. the worker probes a dependency every 200 ms (the server's own port);
#   b. an operator reports a sample 30 days ahead: refused with 22008, and
#      nothing is stored; the operator cannot lift depwatch.max_clock_skew;
#   c. the dependency's port starts refusing connections: the worker still
#      sees it, and the dependency goes down.
set -euo pipefail
cd "$(dirname "$0")/../.."

dir=tmp/it_trust_bounds
port=15642
refusing=15643		# nothing listens here: connections are refused
DB=bank
. test/lib.sh

cleanup() { scripts/cluster.sh stop "$dir" "$port"; }
trap cleanup EXIT

scripts/cluster.sh stop "$dir" "$port"
rm -rf "$dir"
scripts/cluster.sh start "$dir" "$port" "depwatch.databases = 'bank'"
psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d postgres -c "CREATE DATABASE bank"
sql "SET client_min_messages = warning; CREATE EXTENSION depwatch CASCADE"
sql "CREATE ROLE ops LOGIN IN ROLE depwatch_operator"
sql "SELECT depwatch.add_dependency('bureau', 'credit_bureau', 'tcp', '127.0.0.1:$port',
							 every => '200 ms', timeout => '100 ms')" >/dev/null

# a. probed and up
wait_for 30 "SELECT count(*) >= 5 FROM depwatch.sample" t
wait_for 10 "SELECT state FROM depwatch.status WHERE target = 'bureau'" up
ok "the worker probes bureau, which is up"

# b. a sample from 30 days ahead, by an operator
out=$(psql -X -A -t -q -h 127.0.0.1 -p "$port" -U ops -d bank -v VERBOSITY=verbose 2>&1 \
	-c "SELECT depwatch.report_sample('bureau', true, at => now() + interval '30 days')" || true)
case $out in
*22008*) ;;
*) fail "a sample 30 days ahead was not refused with 22008: $out" ;;
esac
[ "$(sql "SELECT count(*) FROM depwatch.sample WHERE at > now() + interval '1 minute'")" = 0 ] ||
	fail "a sample from the future was stored"
[ "$(sql "SELECT last_at < now() + interval '1 minute' FROM depwatch.probe_state")" = t ] ||
	fail "the dependency's last sample time moved into the future"
out=$(psql -X -A -t -q -h 127.0.0.1 -p "$port" -U ops -d bank 2>&1 \
	-c "SET depwatch.max_clock_skew = '40 days'" || true)
case $out in
*"permission denied"*) ;;
*) fail "an operator could set depwatch.max_clock_skew: $out" ;;
esac
ok "an operator's sample 30 days ahead is refused (22008), and the skew is not the operator's to lift"

# c. the port refuses: the worker still sees it and the dependency goes down
sql "SELECT depwatch.alter_dependency('bureau', target => '127.0.0.1:$refusing')" >/dev/null
wait_for 15 "SELECT state FROM depwatch.status WHERE target = 'bureau'" down
[ "$(sql "SELECT count(*) > 0 FROM depwatch.sample WHERE NOT ok AND at <= now()")" = t ] ||
	fail "no failed sample stored"
ok "the worker keeps probing bureau: its refusing port takes it down"

echo "trust_bounds: all passed"
