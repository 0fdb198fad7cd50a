#!/usr/bin/env bash
# Degraded only where defined, and where an outage came from (SPEC section
# 7; issue 17 item 4), with the probe worker.  On 0.2 the worker wrote every
# outage twice, a down row and an identical degraded row, when degraded_after
# was not set.  Here:
#   a. the worker probes a tcp dependency without degraded_after, on a
#      loopback port where nothing listens (connections refused), every
#      200 ms: it opens a down outage, source "probe", and no degraded one,
#      and its machine keeps no degraded streak;
#   b. the same dependency's outages re-derived from its samples
#      (derive_outages) are down only too.
set -euo pipefail
cd "$(dirname "$0")/../.."

dir=tmp/it_outage_truth
port=15722
refusing=15723		# nothing listens here: connections are refused
DB=bank
. test/lib.sh

cleanup() { scripts/cluster.sh stop "$dir" "$port"; }
trap cleanup EXIT

scripts/cluster.sh stop "$dir" "$port"
rm -rf "$dir"
scripts/cluster.sh start "$dir" "$port" "depwatch.databases = 'bank'"
psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d postgres -c "CREATE DATABASE bank"
sql "SET client_min_messages = warning; CREATE EXTENSION depwatch CASCADE"
sql "SELECT depwatch.add_dependency('bureau', 'credit_bureau', 'tcp', '127.0.0.1:$refusing',
							 every => '200 ms', timeout => '100 ms', fail_after => 2)" >/dev/null

# a. the worker's outage: down, from the probe, and only that
wait_for 30 "SELECT count(*) > 0 FROM depwatch.outages WHERE kind = 'down'" t
# a few more probes after the opening, each of which could have opened a twin
wait_for 15 "SELECT count(*) >= 5 FROM depwatch.sample s
			 WHERE s.at > (SELECT detected_at FROM depwatch.outages WHERE kind = 'down')" t
got=$(sql "SELECT string_agg(kind || ':' || source, ',' ORDER BY kind) FROM depwatch.outages")
[ "$got" = "down:probe" ] || fail "the worker's outages are '$got', not 'down:probe'"
got=$(sql "SELECT degraded_open::text || ':' || degraded_streak FROM depwatch.probe_state")
[ "$got" = "false:0" ] || fail "the machine keeps a degraded track: '$got'"
ok "the worker opens one down outage (source probe) and no degraded one without degraded_after"

# b. derive_outages agrees
got=$(sql "SELECT string_agg(kind, ',') FROM depwatch.derive_outages('bureau')")
[ "$got" = "down" ] || fail "derive_outages gives '$got', not 'down'"
ok "derive_outages re-derives the down outage only"
