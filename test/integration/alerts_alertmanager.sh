#!/usr/bin/env bash
# Alerts end to end into a real Alertmanager (Debian's
# prometheus-alertmanager, started here on loopback): the probe worker sees
# a dependency go down, the capability that needs it goes down, and the
# capability's alert shows in Alertmanager's /api/v2/alerts, sent by the
# worker in the alertmanager format; once the dependency is back, the
# capability_up event resolves it there.
#   a. the capability's alert is active in Alertmanager while it is down,
#      with its labels (alertname, target, severity) and summary;
#   b. resolved (gone from the active alerts) once the capability is up;
#   c. each delivery delivered, once, with its Idempotency-Key.
set -euo pipefail
cd "$(dirname "$0")/../.."

dir=tmp/it_alerts_am
port=15477 am_port=15478 peer_port=15479
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	scripts/cluster.sh stop "$dir" "$port"
}
trap cleanup EXIT
. test/lib.sh

scripts/cluster.sh stop "$dir" "$port"
rm -rf "$dir"
mkdir -p "$dir"
scripts/cluster.sh start "$dir" "$port" "depwatch.databases = 'bank'"
DB=postgres sql "CREATE DATABASE bank"
sql "CREATE EXTENSION depwatch CASCADE" 2>/dev/null

# the peer: a listener we can stop (refused) and start again (up)
peer_up() {
	python3 bench/listeners.py --healthy $peer_port-$peer_port >"$dir/peer.out" 2>&1 &
	peer=$!
	pids+=($peer)
	for _ in $(seq 50); do grep -q '^ready' "$dir/peer.out" && return; sleep 0.1; done
	fail "the peer did not start"
}
peer_up
prometheus-alertmanager --config.file=test/alertmanager.yml --storage.path="$dir/am" \
	--web.listen-address=127.0.0.1:$am_port --cluster.listen-address= >"$dir/alertmanager.log" 2>&1 &
pids+=($!)
am_alerts() {
	curl -s "http://127.0.0.1:$am_port/api/v2/alerts" 2>/dev/null | python3 -c '
import json, sys
try:
	alerts = json.load(sys.stdin)
except ValueError:
	sys.exit(0)
print(",".join(sorted("%s:%s:%s:%s" % (a["labels"]["alertname"], a["labels"]["target"], a["labels"]["severity"],
										a["status"]["state"])
					  for a in alerts if a["labels"].get("source") == "depwatch")))'
}
deadline=$((SECONDS + 20))
until curl -sf "http://127.0.0.1:$am_port/-/ready" >/dev/null; do
	[ $SECONDS -ge $deadline ] && fail "Alertmanager did not start: $(tail -3 "$dir/alertmanager.log")"
	sleep 0.2
done

sql "SELECT depwatch.add_dependency('ledger_db', 'core', 'tcp', '127.0.0.1:$peer_port', every => '200 ms',
	timeout => '150 ms', fail_after => 2, recover_after => 2)" >/dev/null
sql "SELECT depwatch.add_capability('payments', ARRAY['ledger_db'])" >/dev/null
sql "SELECT depwatch.add_alert_route('am', 'webhook', 'http://127.0.0.1:$am_port/api/v2/alerts', 'alertmanager',
	events => ARRAY['capability_down', 'capability_up'])" >/dev/null
wait_for 15 "SELECT state FROM depwatch.current_status() WHERE target = 'payments'" up

# a.
kill "$peer"
wait_for 15 "SELECT state FROM depwatch.current_status() WHERE target = 'payments'" down
deadline=$((SECONDS + 15))
until [ "$(am_alerts)" = "capability_down:payments:critical:active" ]; do
	[ $SECONDS -ge $deadline ] && fail "a. Alertmanager's alerts: '$(am_alerts)'; $(tail -3 "$dir/alertmanager.log")"
	sleep 0.2
done
summary=$(curl -s "http://127.0.0.1:$am_port/api/v2/alerts" | python3 -c '
import json, sys
print([a["annotations"].get("summary") for a in json.load(sys.stdin)][0])')
[ "$summary" = "payments is down" ] || fail "a. the alert's summary: '$summary'"
ok "a. the worker saw payments go down; Alertmanager shows its alert: $(am_alerts)"

# b.
peer_up
wait_for 15 "SELECT state FROM depwatch.current_status() WHERE target = 'payments'" up
deadline=$((SECONDS + 15))
until [ -z "$(am_alerts)" ]; do
	[ $SECONDS -ge $deadline ] && fail "b. Alertmanager's alerts once payments is up: '$(am_alerts)'"
	sleep 0.2
done
ok "b. capability_up resolved it in Alertmanager"

# c.
got=$(sql "SELECT string_agg(e.event || ':' || d.state || ':' || d.attempts, ',' ORDER BY e.id)
	FROM depwatch.alert_delivery d JOIN depwatch.alert_event e ON e.id = d.event_id")
[ "$got" = "capability_down:delivered:1,capability_up:delivered:1" ] || fail "c. deliveries: $got"
ok "c. both delivered at the first attempt ($got)"
echo "alerts_alertmanager: all passed"
