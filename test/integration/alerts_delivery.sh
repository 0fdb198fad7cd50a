#!/usr/bin/env bash
# Alert delivery to webhook routes (SPEC section 8, "Delivery"; issue 19,
# "Reliability").  Routes, events and pending deliveries are written
# directly, as the event functions write them; test/alert_receiver.py
# records every request it gets (headers and body) on loopback.
#   a. two routes, 60 events each (40 in one transaction, 20 one by one):
#      each route gets every event once, in id order, with
#      Idempotency-Key <dedup_key>:<event>:<route name>; test_alert_route
#      reaches its route only;
#   b. a route not set by a superuser is held to
#      depwatch.allowed_addresses (loopback refused): its receiver sees no
#      request, last_error says why;
#   c. the receiver down (stopped) while 15 events come, then back: every
#      event arrives after it returns, in order, none lost; attempts and
#      last_error were kept, next_attempt_at backed off;
#   d. kill -9 of the worker 20 times while events flow: no event lost, in
#      order per route, a duplicate only with the same Idempotency-Key;
#   e. receivers that answer 500, accept and never answer, or send 30 MB:
#      probe lag of a dependency probed every 200 ms stays within 100 ms of
#      the lag without them, another route's alerts still arrive within
#      1.5 s (the request timeout is 2 s), the 30 MB body was not read;
#   f. the alertmanager format against a real Alertmanager: the alert is
#      in its /api/v2/alerts while firing, gone once resolved;
#   g. a delivery still failing after depwatch.alert_retry_for is failed;
#   h. databases whose catalogs are still at 0.1 and 0.2 (no alert
#      tables) are probed as before, without errors from the sender.
set -euo pipefail
cd "$(dirname "$0")/../.."

dir=tmp/alerts_delivery
port=16120
P_A=16121 P_B=16122 P_FAIL=16123 P_HANG=16124 P_HUGE=16125 P_CLOSED=16126
P_PROBED=16127 P_AM=16130
bindir=$(pg_config --bindir)

pids=()
cleanup() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	[ ! -f "$dir/b.pid" ] || kill "$(cat "$dir/b.pid")" 2>/dev/null || true
	scripts/cluster.sh stop "$dir" "$port"
}
trap cleanup EXIT

. test/lib.sh
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() {
	local deadline=$((SECONDS + 15))
	until port_open "$1"; do
		[ $SECONDS -ge $deadline ] && fail "nothing listens on port $1"
		sleep 0.1
	done
}
# receiver PORT MODE LOG [PIDFILE]
receiver() {
	python3 test/alert_receiver.py --port "$1" --mode "$2" --log "$3" ${4:+--pidfile "$4"} \
		>>"$dir/receiver-$1.out" 2>&1 &
	[ -n "${4:-}" ] || pids+=($!)
	wait_port "$1"
}
worker_pid() { sql "SELECT pid FROM pg_stat_activity WHERE backend_type = 'depwatch worker' AND datname = 'bank'"; }
route_id() { sql "SELECT id FROM depwatch.alert_route WHERE name = '$1'"; }
# undelivered ROUTE: its deliveries not yet delivered
undelivered() { sql "SELECT count(*) FROM depwatch.alert_delivery d JOIN depwatch.alert_route r ON r.id = d.route_id WHERE r.name = '$1' AND d.state <> 'delivered'"; }
# expected ROUTE: its event ids, in order
expected() { sql "SELECT coalesce(string_agg(event_id::text, ',' ORDER BY event_id), '') FROM depwatch.alert_delivery WHERE route_id = $(route_id "$1")"; }

# check_log LOG ROUTE IDS [dups]: the requests for ROUTE in LOG are the events
# IDS, each at least once, in id order (a duplicate only right after the
# same event); each request's Idempotency-Key is <dedup_key>:<event>:ROUTE
# of the event in its body.  Without "dups", each event exactly once.
check_log() {
	python3 - "$@" <<'EOF'
import json, sys
log, route, ids = sys.argv[1], sys.argv[2], [int(x) for x in sys.argv[3].split(",") if x]
dups_ok = len(sys.argv) > 4
got = []
for line in open(log):
    r = json.loads(line)
    if r["path"] != "/" + route:
        continue
    b = json.loads(r["body"])
    want = f'{b["dedup_key"]}:{b["event"]}:{route}'
    if r["headers"].get("idempotency-key") != want:
        sys.exit(f"event {b['id']}: Idempotency-Key {r['headers'].get('idempotency-key')!r}, expected {want!r}")
    got.append(b["id"])
if any(b < a for a, b in zip(got, got[1:])):
    sys.exit(f"out of order: {got}")
dups = len(got) - len(set(got))
if dups and not dups_ok:
    sys.exit(f"{dups} duplicates: {got}")
missing = sorted(set(ids) - set(got))
extra = sorted(set(got) - set(ids))
if missing or extra:
    sys.exit(f"missing {missing}, unexpected {extra}")
print(f"{len(ids)} events, {len(got)} requests, {dups} duplicates")
EOF
}

for p in $P_A $P_B $P_FAIL $P_HANG $P_HUGE $P_CLOSED $P_PROBED $P_AM; do
	port_open $p && fail "port $p is in use"
done

scripts/cluster.sh stop "$dir" "$port"
rm -rf "$dir"
scripts/cluster.sh start "$dir" "$port" "depwatch.databases = 'bank, old, older'" \
	"depwatch.alert_backoff_max = '2s'" "depwatch.alert_timeout = '2s'"
DB=postgres sql "CREATE DATABASE bank"
DB=postgres sql "CREATE DATABASE old"
DB=postgres sql "CREATE DATABASE older"
sql "CREATE EXTENSION depwatch CASCADE" 2>/dev/null
# This test makes its own deliveries, route by route (emit below): the
# routing of events to routes is alerts_events.sh's and sql/alerts_events.sql's.
sql "ALTER TABLE depwatch.alert_event DISABLE TRIGGER route_event"
sql "CREATE SEQUENCE public.ev"
# emit ROUTES N [EVENT TARGET KEY]: N events (each its own dedup_key unless
# KEY), each with a pending delivery to every route named in ROUTES
sql "CREATE FUNCTION public.emit(p_routes text[], p_n int, p_event text DEFAULT 'dependency_down',
		p_target text DEFAULT 'svc', p_key text DEFAULT NULL) RETURNS void LANGUAGE plpgsql AS \$\$
	DECLARE v bigint;
	BEGIN
		FOR i IN 1..p_n LOOP
			INSERT INTO depwatch.alert_event (at, event, target, target_type, severity, summary, dedup_key)
			VALUES (now(), p_event, p_target, split_part(p_event, '_', 1),
					CASE WHEN depwatch_internal._alert_resolves(p_event) THEN 'info' ELSE 'critical' END,
					p_event || ' ' || p_target, coalesce(p_key, 'k' || nextval('public.ev')))
			RETURNING id INTO v;
			INSERT INTO depwatch.alert_delivery (event_id, route_id)
			SELECT v, id FROM depwatch.alert_route WHERE name = ANY (p_routes);
		END LOOP;
	END \$\$"
# route NAME PORT [FORMAT] [BY_SUPERUSER]
route() {
	sql "INSERT INTO depwatch.alert_route (name, channel, target, format, set_by_superuser)
		 VALUES ('$1', 'webhook', 'http://127.0.0.1:$2/$1', '${3:-json}', ${4:-true})"
}
log_a=$dir/a.log log_b=$dir/b.log
receiver $P_A accept "$log_a"
receiver $P_B accept "$log_b" "$dir/b.pid"

# --- a. order and Idempotency-Key ---------------------------------------
route ra $P_A
route rb $P_A
route other $P_A
sql "SELECT public.emit('{ra,rb}', 40)" >/dev/null
for i in $(seq 20); do sql "SELECT public.emit('{ra,rb}', 1)" >/dev/null; done
wait_for 30 "SELECT count(*) FROM depwatch.alert_delivery WHERE state <> 'delivered'" 0
for r in ra rb; do
	out=$(check_log "$log_a" $r "$(expected $r)") || fail "route $r: $out"
	ok "route $r: $out, in id order, Idempotency-Key per event and route"
done
got=$(sql "SELECT count(*) || ',' || max(attempts) || ',' || count(*) FILTER (WHERE delivered_at IS NULL) FROM depwatch.alert_delivery")
[ "$got" = "120,1,0" ] || fail "deliveries (count, max attempts, undelivered): $got"
test_id=$(sql "SELECT depwatch.test_alert_route('other')")
wait_for 10 "SELECT state FROM depwatch.alert_delivery WHERE event_id = $test_id" delivered
got=$(sql "SELECT count(*) || ',' || min(r.name) FROM depwatch.alert_delivery d JOIN depwatch.alert_route r ON r.id = d.route_id WHERE d.event_id = $test_id")
[ "$got" = "1,other" ] || fail "test_alert_route's deliveries: $got"
out=$(check_log "$log_a" other "$test_id") || fail "route other: $out"
got=$(grep -c '"/other"' "$log_a")
[ "$got" = 1 ] || fail "route other got $got requests"
got=$(sql "SELECT event || ',' || target_type || ',' || target || ',' || severity FROM depwatch.alert_event WHERE id = $test_id")
[ "$got" = "test,route,other,info" ] || fail "the test event: $got"
ok "test_alert_route('other') made one test event, delivered to route other only"

# --- b. a route no superuser set: depwatch.allowed_addresses --------------
route mallory $P_A json false
sql "SELECT public.emit('{mallory}', 1)" >/dev/null
wait_for 10 "SELECT attempts >= 1 FROM depwatch.alert_delivery WHERE route_id = $(route_id mallory)" t
got=$(sql "SELECT state || ': ' || last_error FROM depwatch.alert_delivery WHERE route_id = $(route_id mallory)")
[ "$got" = "pending: address 127.0.0.1 is not allowed by depwatch.allowed_addresses" ] ||
	fail "the restricted route's delivery: $got"
grep -q '"/mallory"' "$log_a" && fail "the restricted route's receiver got a request"
ok "a route not set by a superuser cannot reach loopback ($got)"
sql "DELETE FROM depwatch.alert_route WHERE name = 'mallory'"

# --- c. the receiver down, then back ------------------------------------
route down_back $P_B
kill "$(cat "$dir/b.pid")"
while port_open $P_B; do sleep 0.1; done
for i in $(seq 15); do sql "SELECT public.emit('{down_back}', 1)" >/dev/null; sleep 0.2; done
wait_for 20 "SELECT attempts >= 3 FROM depwatch.alert_delivery WHERE route_id = $(route_id down_back) ORDER BY event_id LIMIT 1" t
got=$(sql "SELECT d.state || ',' || d.attempts || ',' || (d.next_attempt_at > e.recorded_at + interval '2 s') || ',' || d.last_error
	FROM depwatch.alert_delivery d JOIN depwatch.alert_event e ON e.id = d.event_id
	WHERE route_id = $(route_id down_back) ORDER BY event_id LIMIT 1")
case $got in
pending,[3-9],true,"Couldn't connect to server") ;;
*) fail "the first delivery while the receiver is down: $got" ;;
esac
[ "$(sql "SELECT max(attempts) FROM depwatch.alert_delivery WHERE route_id = $(route_id down_back) AND event_id > (SELECT min(event_id) FROM depwatch.alert_delivery WHERE route_id = $(route_id down_back))")" = 0 ] ||
	fail "a later event was tried while the first was pending"
ok "receiver down: the first event retried with backoff ($got), the later ones wait their turn"
receiver $P_B accept "$log_b" "$dir/b.pid"
wait_for 15 "SELECT count(*) FROM depwatch.alert_delivery WHERE route_id = $(route_id down_back) AND state <> 'delivered'" 0
out=$(check_log "$log_b" down_back "$(expected down_back)") || fail "route down_back: $out"
ok "receiver back: $out, in order, none lost"

# --- d. kill -9 of the worker while events flow ---------------------------
route rk1 $P_A
route rk2 $P_A
(
	for i in $(seq 150); do
		psql -X -q -h 127.0.0.1 -p $port -U postgres -d bank -c "SELECT public.emit('{rk1,rk2}', 1)" >/dev/null 2>&1 || true
		sleep 0.03
	done
) &
emitter=$!
pids+=($emitter)
kills=0
t0=$SECONDS
while [ $kills -lt 20 ]; do
	old=$(worker_pid 2>/dev/null || true)
	if [ -n "$old" ]; then
		kill -9 "$old"
		kills=$((kills + 1))
		# until a new worker runs (the server restarts every backend)
		deadline=$((SECONDS + 30))
		until new=$(worker_pid 2>/dev/null) && [ -n "$new" ] && [ "$new" != "$old" ]; do
			[ $SECONDS -ge $deadline ] && fail "no worker 30 s after kill -9 of $old"
			sleep 0.05
		done
	else
		sleep 0.05
	fi
done
wait $emitter || true
ok "killed the worker 20 times in $((SECONDS - t0)) s while events were made"
wait_for 60 "SELECT count(*) FROM depwatch.alert_delivery d JOIN depwatch.alert_route r ON r.id = d.route_id WHERE r.name IN ('rk1', 'rk2') AND state <> 'delivered'" 0
n=$(sql "SELECT count(*) FROM depwatch.alert_delivery WHERE route_id = $(route_id rk1)")
[ "$n" -ge 20 ] || fail "only $n events were made while the worker was killed"
for r in rk1 rk2; do
	out=$(check_log "$log_a" $r "$(expected $r)" dups) || fail "route $r after the kills: $out"
	ok "route $r after 20 kills: $out; none lost, in order, duplicates with the same key"
done

# --- e. bad receivers delay neither probes nor other routes -------------
python3 -m http.server $P_PROBED --bind 127.0.0.1 >/dev/null 2>&1 &
pids+=($!)
wait_port $P_PROBED
dep=$(sql "SELECT depwatch.add_dependency('probed', 'other', 'tcp', '127.0.0.1:$P_PROBED', every => '200 ms', timeout => '150 ms')")
receiver $P_FAIL fail "$dir/fail.log"
receiver $P_HANG hang "$dir/hang.log"
receiver $P_HUGE huge "$dir/huge.log"
route r500 $P_FAIL
route rhang $P_HANG
route rhuge $P_HUGE
route rgood $P_A
# lag PERIOD_START PERIOD_END: p99 and max, in ms, of the probe lag of
# "probed" from its samples: each start's distance from the regular 200 ms
# grid, less the smallest such distance in the period
lag() {
	sql "WITH s AS (SELECT extract(epoch FROM at - min(at) OVER ()) * 1000 AS ms
					  FROM depwatch.sample WHERE dependency_id = $dep AND at BETWEEN '$1' AND '$2'),
			  d AS (SELECT ms - round(ms / 200) * 200 AS off FROM s)
		 SELECT round(percentile_cont(0.99) WITHIN GROUP (ORDER BY off - (SELECT min(off) FROM d)))::int
				|| ',' || round(max(off - (SELECT min(off) FROM d)))::int || ',' || count(*) FROM d"
}
# let it settle, then a quiet period and a period with the bad receivers busy
wait_for 10 "SELECT count(*) >= 5 FROM depwatch.sample WHERE dependency_id = $dep" t
start=$(sql "SELECT clock_timestamp()")
for i in $(seq 20); do sql "SELECT public.emit('{rgood}', 1)" >/dev/null; sleep 0.3; done
stop=$(sql "SELECT clock_timestamp()")
quiet=$(lag "$start" "$stop")
: >"$dir/good.log"
start=$(sql "SELECT clock_timestamp()")
sql "SELECT public.emit('{r500,rhang,rhuge}', 5)" >/dev/null
for i in $(seq 20); do sql "SELECT public.emit('{rgood}', 1)" >/dev/null; sleep 0.3; done
stop=$(sql "SELECT clock_timestamp()")
busy=$(lag "$start" "$stop")
wait_for 10 "SELECT count(*) FROM depwatch.alert_delivery WHERE route_id = $(route_id rgood) AND state <> 'delivered'" 0
echo "   probe lag of 'probed' (p99,max ms,samples): quiet $quiet, with bad receivers $busy"
[ "${busy##*,}" -ge 30 ] || fail "too few samples of 'probed' while the bad receivers were busy: $busy"
[ "${busy%%,*}" -le $((${quiet%%,*} + 100)) ] ||
	fail "probe lag p99 $busy with the bad receivers against $quiet without"
ok "probe lag p99 with a 500, a hung and a 30 MB receiver within 100 ms of the quiet run"
got=$(sql "SELECT round(extract(epoch FROM max(d.delivered_at - e.recorded_at)) * 1000)
	FROM depwatch.alert_delivery d JOIN depwatch.alert_event e ON e.id = d.event_id
	WHERE d.route_id = $(route_id rgood) AND e.recorded_at >= '$start'")
[ "$got" -le 1500 ] || fail "route rgood waited up to $got ms while the bad receivers were busy"
ok "another route's alerts were delivered within $got ms (the request timeout is 2 s)"
got=$(sql "SELECT string_agg(r.name || ':' || d.state || ':' || coalesce(d.last_error, ''), ',' ORDER BY r.name)
	FROM depwatch.alert_delivery d JOIN depwatch.alert_route r ON r.id = d.route_id
	WHERE r.name IN ('r500', 'rhang') AND d.attempts > 0 AND d.event_id = (SELECT min(event_id) FROM depwatch.alert_delivery WHERE route_id = r.id)")
[ "$got" = "r500:pending:HTTP 500,rhang:pending:timeout after 2000 ms" ] || fail "the bad routes' first deliveries: $got"
wait_for 10 "SELECT count(*) FROM depwatch.alert_delivery WHERE route_id = $(route_id rhuge) AND state <> 'delivered'" 0
sent=$(sed -n 's/^huge: sent \([0-9]*\) of .*/\1/p' "$dir/receiver-$P_HUGE.out" | sort -n | tail -1)
[ -n "$sent" ] && [ "$sent" -lt $((30 * 1024 * 1024)) ] || fail "the 30 MB receiver sent '$sent' bytes"
ok "the 500 and hung routes retry ($got); the 30 MB answer delivered after at most $sent bytes of it were sent"
sql "DELETE FROM depwatch.alert_route WHERE name IN ('r500', 'rhang')"

# --- f. a real Alertmanager --------------------------------------------------
prometheus-alertmanager --config.file=test/alertmanager.yml --storage.path="$dir/am" \
	--web.listen-address=127.0.0.1:$P_AM --cluster.listen-address= \
	>"$dir/alertmanager.log" 2>&1 &
pids+=($!)
wait_port $P_AM
sql "INSERT INTO depwatch.alert_route (name, channel, target, format, set_by_superuser)
	 VALUES ('am', 'webhook', 'http://127.0.0.1:$P_AM/api/v2/alerts', 'alertmanager', true)"
am_alerts() {
	curl -s "http://127.0.0.1:$P_AM/api/v2/alerts" | python3 -c '
import json, sys
print(",".join(sorted(a["labels"]["alertname"] + ":" + a["labels"]["target"] + ":" + a["status"]["state"]
                      for a in json.load(sys.stdin) if a["labels"].get("source") == "depwatch")))'
}
sql "SELECT public.emit('{am}', 1, 'capability_down', 'payments', 'capability:payments:1')" >/dev/null
deadline=$((SECONDS + 15))
until [ "$(am_alerts)" = "capability_down:payments:active" ]; do
	[ $SECONDS -ge $deadline ] && fail "Alertmanager's alerts: '$(am_alerts)'; $(tail -3 "$dir/alertmanager.log")"
	sleep 0.2
done
ok "Alertmanager shows the capability's alert while it is down"
sql "SELECT public.emit('{am}', 1, 'capability_up', 'payments', 'capability:payments:1')" >/dev/null
deadline=$((SECONDS + 15))
until [ -z "$(am_alerts)" ]; do
	[ $SECONDS -ge $deadline ] && fail "Alertmanager's alerts after capability_up: '$(am_alerts)'"
	sleep 0.2
done
[ "$(sql "SELECT string_agg(state || ':' || attempts, ',') FROM depwatch.alert_delivery WHERE route_id = $(route_id am)")" = "delivered:1,delivered:1" ] ||
	fail "the alertmanager route's deliveries were not each delivered at once"
ok "and no longer once capability_up resolved it"

# --- g. failed after depwatch.alert_retry_for --------------------------
sql "ALTER SYSTEM SET depwatch.alert_retry_for = '3s'"
sql "SELECT pg_reload_conf()" >/dev/null
route rclosed $P_CLOSED
sql "SELECT public.emit('{rclosed}', 1)" >/dev/null
wait_for 20 "SELECT state FROM depwatch.alert_delivery WHERE route_id = $(route_id rclosed)" failed
got=$(sql "SELECT d.attempts || ',' || (clock_timestamp() - e.recorded_at >= interval '3 s') || ',' || d.last_error
	FROM depwatch.alert_delivery d JOIN depwatch.alert_event e ON e.id = d.event_id WHERE d.route_id = $(route_id rclosed)")
case $got in
[3-9],true,"Couldn't connect to server") ;;
*) fail "the failed delivery: $got" ;;
esac
ok "a delivery still failing after alert_retry_for (3 s) is failed ($got)"
sql "ALTER SYSTEM RESET depwatch.alert_retry_for"
sql "SELECT pg_reload_conf()" >/dev/null

# --- h. catalogs at 0.1 and 0.2 -------------------------------------------
for v in older:0.1 old:0.2; do
	DB=${v%:*} sql "CREATE EXTENSION depwatch VERSION '${v#*:}' CASCADE" 2>/dev/null
	old_dep=$(DB=${v%:*} sql "SELECT depwatch.add_dependency('probed', 'other', 'tcp', '127.0.0.1:$P_PROBED', every => '1 s', timeout => '500 ms')")
	DB=${v%:*} wait_for 15 "SELECT count(*) >= 2 FROM depwatch.sample WHERE dependency_id = $old_dep" t
done
if grep -q 'delivering alerts failed' "$dir/server.log"; then
	fail "the sender failed: $(grep 'delivering alerts failed' "$dir/server.log" | head -2)"
fi
ok "databases at 0.1 and 0.2 are probed, and the sender leaves them alone"
