#!/usr/bin/env bash
# Alert events with the probe worker (SPEC section 8; issue 19).  The
# worker probes two fake tcp services on loopback (test/fake_dependency.py):
# a data center dc1 and a bureau in it, which account opening needs
# (impact tolerance 6 s).  Then:
#   a. dc1 goes down: the worker's transaction that opens its outage also
#      appends dependency_down (same xmin), and a notify route's LISTENer
#      receives the event id;
#   b. the bureau goes down while its site is down: its dependency_down is
#      suppressed (the LISTENer never hears it), account_opening's
#      capability_down is not, and comes in the worker's transaction;
#   c. the tolerance events of account_opening: at start + 3 s, 4.8 s and
#      6 s exactly, each recorded within 1 s of that instant (the worker's
#      alert tick; we wait for the clock, polling);
#   d. everything comes back: dependency_up and capability_up, each with the
#      dedup key of the event it ends.
#   e. pg_dump | pg_restore of it all: no error, nothing routed or audited
#      twice, the audit chain verifies.
set -euo pipefail
cd "$(dirname "$0")/../.."

dir=tmp/it_alerts_events
port=16030
ctl=16031
dc=16032
bureau=16033
DB=bank
. test/lib.sh

listener_pid=
cleanup() {
	[ -z "$listener_pid" ] || kill "$listener_pid" 2>/dev/null || true
	if [ -f "$dir/fake_dependency.pid" ]; then
		kill "$(cat "$dir/fake_dependency.pid")" 2>/dev/null || true
	fi
	scripts/cluster.sh stop "$dir" "$port"
}
trap cleanup EXIT

scripts/cluster.sh stop "$dir" "$port"
rm -rf "$dir"
scripts/cluster.sh start "$dir" "$port" "depwatch.databases = 'bank'"
psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d postgres -c "CREATE DATABASE bank"
sql "SET client_min_messages = warning; CREATE EXTENSION depwatch CASCADE"

python3 test/fake_dependency.py --control $ctl --ports $dc-$bureau --mode up \
	--pidfile "$dir/fake_dependency.pid" >"$dir/fake_dependency.log" 2>&1 &
deadline=$((SECONDS + 10))
until curl -sf -m 1 "http://127.0.0.1:$ctl/status" >/dev/null 2>&1; do
	[ $SECONDS -ge $deadline ] && fail "the fake server did not answer on $ctl: $(cat "$dir/fake_dependency.log")"
	sleep 0.1
done
set_mode() { [ "$(curl -sf -m 2 "http://127.0.0.1:$ctl/set?port=$1&mode=$2")" = ok ] || fail "fake: set $1 $2"; }

sql "SET client_min_messages = warning;
	 SELECT depwatch.add_dependency('dc1', 'datacenter', 'tcp', '127.0.0.1:$dc',
									every => '200 ms', timeout => '150 ms', fail_after => 2, recover_after => 2);
	 SELECT depwatch.add_dependency('bureau', 'credit_bureau', 'tcp', '127.0.0.1:$bureau', site => 'dc1',
									every => '200 ms', timeout => '150 ms', fail_after => 2, recover_after => 2);
	 SELECT depwatch.add_capability('account_opening', ARRAY['bureau'], 99.9, '6 seconds');
	 SELECT depwatch.add_alert_route('board', 'notify', 'depwatch_alerts');" >/dev/null

# the LISTENer: a session that listens and polls, printing each notification
(echo "LISTEN depwatch_alerts;"; while sleep 0.1; do echo "SELECT 1;"; done) |
	psql -X -q -A -t -h 127.0.0.1 -p "$port" -U postgres -d bank >"$dir/listener.log" 2>&1 &
listener_pid=$!
heard() { grep -c "with payload \"$1\"" "$dir/listener.log" || true; }

# both probed up first
wait_for 30 "SELECT count(DISTINCT dependency_id) FROM depwatch.sample WHERE ok" 2
wait_for 10 "SELECT state FROM depwatch.status WHERE target = 'account_opening'" up

# a. the building goes down
set_mode $dc refuse
wait_for 30 "SELECT count(*) FROM depwatch.alert_event WHERE event = 'dependency_down' AND target = 'dc1'" 1
got=$(sql "SELECT (e.xmin = o.xmin)::text || ':' || o.source || ':' || e.suppressed
		   FROM depwatch.alert_event e JOIN depwatch.outage o ON o.id = (e.details->>'outage')::bigint
		   WHERE e.event = 'dependency_down' AND e.target = 'dc1'")
[ "$got" = "true:probe:false" ] || fail "dc1's event and outage: '$got', not one worker transaction"
dc_event=$(sql "SELECT id FROM depwatch.alert_event WHERE event = 'dependency_down' AND target = 'dc1'")
deadline=$((SECONDS + 10))
until [ "$(heard "$dc_event")" = 1 ]; do
	[ $SECONDS -ge $deadline ] && fail "the LISTENer did not hear event $dc_event: $(cat "$dir/listener.log")"
	sleep 0.1
done
ok "dc1 down: dependency_down in the worker's transaction, and the LISTENer heard its id"

# b. the bureau in it goes down: suppressed; the capability is not
set_mode $bureau refuse
wait_for 30 "SELECT count(*) FROM depwatch.alert_event WHERE event = 'capability_down' AND target = 'account_opening'" 1
got=$(sql "SELECT string_agg(e.target || ':' || e.suppressed || ':' || (e.xmin = o.xmin), ',' ORDER BY e.id)
		   FROM depwatch.alert_event e, depwatch.outage o
		   WHERE o.dependency_id = (SELECT id FROM depwatch.dependency WHERE name = 'bureau')
			 AND e.event IN ('dependency_down', 'capability_down') AND e.target IN ('bureau', 'account_opening')")
[ "$got" = "bureau:true:true,account_opening:false:true" ] ||
	fail "bureau and account_opening events: '$got' (target:suppressed:in the outage's transaction)"
cap_event=$(sql "SELECT id FROM depwatch.alert_event WHERE event = 'capability_down'")
bureau_event=$(sql "SELECT id FROM depwatch.alert_event WHERE event = 'dependency_down' AND target = 'bureau'")
got=$(sql "SELECT details->>'dependencies_down' FROM depwatch.alert_event WHERE id = $cap_event")
[ "$got" = '["bureau"]' ] || fail "capability_down details name '$got'"
deadline=$((SECONDS + 10))
until [ "$(heard "$cap_event")" = 1 ]; do
	[ $SECONDS -ge $deadline ] && fail "the LISTENer did not hear event $cap_event"
	sleep 0.1
done
[ "$(heard "$bureau_event")" = 0 ] || fail "the LISTENer heard the suppressed event $bureau_event"
got=$(sql "SELECT count(*) FROM depwatch.alert_delivery WHERE event_id = $bureau_event")
[ "$got" = 0 ] || fail "the suppressed event has $got deliveries"
ok "bureau down with its site: suppressed and not sent; account_opening down, sent"

# c. tolerance: wait for the clock to pass the breach, then check each instant
wait_for 30 "SELECT now() > at + interval '6.5 seconds' FROM depwatch.alert_event WHERE id = $cap_event" t
wait_for 5 "SELECT count(*) FROM depwatch.alert_event WHERE event LIKE 'tolerance%'" 3
got=$(sql "SELECT string_agg(t.event || '@' || extract(epoch FROM t.at - c.at)::numeric(6, 3)
							 || ':' || (t.recorded_at >= t.at AND t.recorded_at <= t.at + interval '1 second')
							 || ':' || (t.dedup_key = 'tolerance:account_opening:' || depwatch_internal._alert_iso(c.at)),
							 ',' ORDER BY t.id)
		   FROM depwatch.alert_event t, depwatch.alert_event c
		   WHERE c.id = $cap_event AND t.event LIKE 'tolerance%'")
[ "$got" = "tolerance_50@3.000:true:true,tolerance_80@4.800:true:true,tolerance_breached@6.000:true:true" ] ||
	fail "tolerance events (event@seconds after the start:recorded within 1 s:key of the run): '$got'
$(sql "SELECT event, at, recorded_at FROM depwatch.alert_event WHERE event LIKE 'tolerance%'")"
for e in $(sql "SELECT id FROM depwatch.alert_event WHERE event LIKE 'tolerance%'"); do
	deadline=$((SECONDS + 10))
	until [ "$(heard "$e")" = 1 ]; do
		[ $SECONDS -ge $deadline ] && fail "the LISTENer did not hear tolerance event $e"
		sleep 0.1
	done
done
ok "tolerance_50, _80 and _breached at start + 3, 4.8 and 6 s, each recorded within 1 s, heard"

# d. everything comes back
set_mode $dc up
set_mode $bureau up
wait_for 30 "SELECT count(*) FROM depwatch.alert_event WHERE event = 'capability_up'" 1
wait_for 10 "SELECT count(*) FROM depwatch.alert_event WHERE event = 'dependency_up'" 2
got=$(sql "SELECT string_agg(u.event || ':' || u.target, ',' ORDER BY u.id)
		   FROM depwatch.alert_event u
		   WHERE u.event IN ('dependency_up', 'capability_up')
			 AND NOT EXISTS (SELECT FROM depwatch.alert_event d
							 WHERE d.dedup_key = u.dedup_key AND d.id < u.id
							   AND d.event IN ('dependency_down', 'capability_down'))")
[ -z "$got" ] || fail "events that end nothing they share a key with: $got"
got=$(sql "SELECT (u.at = (SELECT ended_at FROM depwatch.outages WHERE dependency = 'bureau'))::text
		   FROM depwatch.alert_event u WHERE u.event = 'dependency_up' AND u.target = 'bureau'")
[ "$got" = true ] || fail "bureau's dependency_up is not at its outage's end"
ok "all up again: dependency_up and capability_up share the keys of the events they end"

# e. a backup restores whole: routes, events, deliveries and the audit log,
# with no event routed or route audited twice
sql "SET client_min_messages = warning; SELECT depwatch.open_incident('bureau down', now() - interval '1 minute') > 0;
	 SELECT depwatch.mark_report_sent(1, 'kr_fss_initial', now(), 'FSS-1');" >/dev/null
counts="SELECT (SELECT count(*) FROM depwatch.alert_route) || ' ' || (SELECT count(*) FROM depwatch.alert_event)
		|| ' ' || (SELECT count(*) FROM depwatch.alert_delivery) || ' ' || (SELECT count(*) FROM depwatch.alert_report_sent)
		|| ' ' || (SELECT count(*) FROM depwatch.audit_log) || ' ' || (SELECT ok FROM depwatch.verify_audit())"
DB=postgres sql "CREATE DATABASE restored"
pg_dump -Fc -h 127.0.0.1 -p "$port" -U postgres -d bank -f "$dir/bank.dump"
pg_restore -h 127.0.0.1 -p "$port" -U postgres -d restored "$dir/bank.dump" 2>"$dir/pg_restore.err" ||
	fail "pg_restore failed: $(cat "$dir/pg_restore.err")"
[ -s "$dir/pg_restore.err" ] && fail "pg_restore wrote: $(cat "$dir/pg_restore.err")"
# the worker of bank writes on; compare what bank had when it was dumped
before=$(pg_restore -f - -a -t audit_log "$dir/bank.dump" | grep -c '^[0-9]' || true)
got=$(DB=restored sql "$counts")
[ "${got##* }" = true ] || fail "the restored audit chain does not verify: $got"
set -- $got
[ "$5" = "$before" ] || fail "the restored audit log has $5 rows, the dump $before"
[ "$1 $4" = "1 1" ] || fail "restored routes and reports sent: '$1 $4'"
ok "pg_dump | pg_restore: routes, $2 events, $3 deliveries, the audit log ($5 rows) restore whole and verify"
