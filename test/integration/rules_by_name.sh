#!/usr/bin/env bash
# The probe worker reads its configuration by column name (issue 18 item
# 6).  A database whose depwatch_internal._machine_rules lists its columns the other
# way round (a view can only gain columns at its end, so the test renames
# it and puts another view in its place):
#   a. a listening tcp dependency gets ok samples and no outage, a refused
#      one an open down outage after fail_after (2) bad samples;
#   b. a passive dependency's outage, opened by report_sample, is closed by
#      the worker once the first failure leaves its 2 s window (the worker read
#      the window, min_calls and error_rate by name);
#   c. with a view that lacks fail_after, the worker's next load fails with
#      the clear error naming the column, and goes on probing what it had;
#      with the view in order again, it loads again and probes a new
#      dependency.
set -euo pipefail
cd "$(dirname "$0")/../.."

dir=tmp/it_rules_by_name
port=15762

cleanup() { scripts/cluster.sh stop "$dir" "$port"; }
trap cleanup EXIT

. test/lib.sh

scripts/cluster.sh stop "$dir" "$port"
rm -rf "$dir"
scripts/cluster.sh start "$dir" "$port" "depwatch.databases = 'bank'" \
	"depwatch.allowed_addresses = '127.0.0.0/8'"
DB=postgres sql "CREATE DATABASE bank"
sql "SET client_min_messages = warning; CREATE EXTENSION depwatch CASCADE"

# the view with its columns the other way round
sql "ALTER VIEW depwatch_internal._machine_rules RENAME TO _machine_rules_in_order"
sql "CREATE VIEW depwatch_internal._machine_rules AS
	SELECT degraded_error_rate, \"window\", min_calls, error_rate, degraded_after,
		   recover_after, fail_after, probe, name, id
	FROM depwatch_internal._machine_rules_in_order"

# --- a. probed dependencies ---------------------------------------------
up_id=$(sql "SELECT depwatch.add_dependency('listening', 'other', 'tcp', '127.0.0.1:$port',
	every => '200 ms', timeout => '150 ms', fail_after => 2)")
down_id=$(sql "SELECT depwatch.add_dependency('refused', 'other', 'tcp', '127.0.0.1:9',
	every => '200 ms', timeout => '150 ms', fail_after => 2)")
wait_for 20 "SELECT count(*) FROM depwatch.outage WHERE dependency_id = $down_id AND kind = 'down' AND upper_inf(during)" 1
got=$(sql "SELECT count(*) FILTER (WHERE NOT ok) || '|' || count(*) FILTER (WHERE ok)
	FROM (SELECT ok FROM depwatch.sample WHERE dependency_id = $down_id ORDER BY at LIMIT 2) s")
[ "$got" = "2|0" ] || fail "a. the refused dependency's first two samples are '$got' (bad|good), expected 2|0"
got=$(sql "SELECT detected_at = (SELECT at FROM depwatch.sample WHERE dependency_id = $down_id ORDER BY at OFFSET 1 LIMIT 1)
	FROM depwatch.outage WHERE dependency_id = $down_id AND kind = 'down'")
[ "$got" = t ] || fail "a. the down outage was not detected at the second bad sample (fail_after 2)"
ok "a. the refused dependency's outage opened at its second bad sample (fail_after 2)"
wait_for 10 "SELECT count(*) >= 3 FROM depwatch.sample WHERE dependency_id = $up_id AND ok" t
[ "$(sql "SELECT count(*) FROM depwatch.outage WHERE dependency_id = $up_id")" = 0 ] ||
	fail "a. the listening dependency has an outage"
[ "$(sql "SELECT count(*) FROM depwatch.sample WHERE dependency_id = $up_id AND NOT ok")" = 0 ] ||
	fail "a. the listening dependency has bad samples"
ok "a. the listening dependency has good samples and no outage"

# --- b. a passive dependency, closed by the worker -----------------------
fx_id=$(sql "SELECT depwatch.add_dependency('fx', 'payment_network', 'passive',
	options => '{\"error_rate\": 0.5, \"min_calls\": 2, \"window\": \"2 s\"}')")
sql "SELECT depwatch.report_sample('fx', false, at => clock_timestamp()),
		   depwatch.report_sample('fx', false, at => clock_timestamp())" >/dev/null
[ "$(sql "SELECT count(*) FROM depwatch.outage WHERE dependency_id = $fx_id AND kind = 'down' AND upper_inf(during)")" = 1 ] ||
	fail "b. two failed calls (min_calls 2) opened no passive outage"
wait_for 10 "SELECT count(*) FROM depwatch.outage WHERE dependency_id = $fx_id AND kind = 'down' AND NOT upper_inf(during)" 1
# with 2 calls and min_calls 2 the rule stops holding when the first leaves the window
got=$(sql "SELECT upper(during) = (SELECT at + interval '2 s' FROM depwatch.sample WHERE dependency_id = $fx_id ORDER BY at LIMIT 1)
	FROM depwatch.outage WHERE dependency_id = $fx_id AND kind = 'down'")
[ "$got" = t ] || fail "b. the passive outage did not end at the first failed call + its 2 s window"
ok "b. the worker closed the passive outage when the first failure left its 2 s window"

# --- c. a required column missing, then the view in order again ----------
sql "DROP VIEW depwatch_internal._machine_rules"
sql "CREATE VIEW depwatch_internal._machine_rules AS
	SELECT id, name, probe, recover_after, degraded_after, error_rate, min_calls, \"window\"
	FROM depwatch_internal._machine_rules_in_order"
sql "SELECT depwatch.add_dependency('late', 'other', 'tcp', '127.0.0.1:$port', every => '200 ms', timeout => '150 ms')" >/dev/null
deadline=$((SECONDS + 10))
until grep -q 'column "fail_after" is missing from depwatch_internal._machine_rules' "$dir/server.log"; do
	[ $SECONDS -ge $deadline ] && fail "c. no error naming the missing column in the server log"
	sleep 0.2
done
since=$(sql "SELECT clock_timestamp()")
wait_for 10 "SELECT count(*) > 0 FROM depwatch.sample WHERE dependency_id = $up_id AND at > '$since'" t
ok "c. the load failed with the column named, and the worker goes on probing"
sql "DROP VIEW depwatch_internal._machine_rules"
sql "ALTER VIEW depwatch_internal._machine_rules_in_order RENAME TO _machine_rules"
sql "SELECT depwatch.alter_dependency('late', every => '300 ms')" >/dev/null
wait_for 10 "SELECT count(*) > 0 FROM depwatch.sample s JOIN depwatch.dependency d ON d.id = s.dependency_id WHERE d.name = 'late' AND s.ok" t
ok "c. with the view in order again, the worker loads and probes the new dependency"
