#!/usr/bin/env bash
# bench/alerts.sh: alert delivery by the probe worker while it probes.
#
# Starts its own cluster (tmp/bench_alerts, port 16150, depwatch.databases =
# 'bench'), 500 tcp dependencies probed every 1 s (timeout 500 ms) on
# loopback listeners (bench/listeners.py, ports 16160-16169), 500 more of
# site "dc9" on listeners of their own (16170-16179) with the dependency
# dc9 itself, one webhook route to test/alert_receiver.py (port 16151) that
# takes every event, suppressed ones too, then measures
#   1. commit-to-arrival latency of real state changes: every 100 ms for
#      DURATION s an operator's transaction opens or ends an outage
#      (record_outage, end_outage) of one of ten dependencies: from the
#      event's recorded_at (its insert, just before the commit) to the
#      request's arrival at the receiver: p50, p99, max;
#   2. a burst: the listeners of dc9 stop (connections refused): the worker
#      opens 501 outages within a few probes; from the first event's
#      recorded_at to the arrival of the last, and the worker's probe lag p99
#      (worker_status, sampled every 200 ms) before and during the burst.
# Prints the figures.  Run as root from anywhere, after make install;
# DURATION (default 30) and WARMUP (default 10) in seconds.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
cd "$repo"

port=16150 recv_port=16151
dir=tmp/bench_alerts
DURATION=${DURATION:-30} WARMUP=${WARMUP:-10}

pids=()
cleanup() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	scripts/cluster.sh stop "$dir" "$port" || true
}
trap cleanup EXIT

scripts/cluster.sh stop "$dir" "$port" 2>/dev/null || true
rm -rf "$dir"
mkdir -p "$dir"
scripts/cluster.sh start "$dir" "$port" "depwatch.databases = 'bench'" "max_connections = 100"
psql() { command psql -h 127.0.0.1 -p "$port" -U postgres -X -q -A -t -v ON_ERROR_STOP=1 "$@"; }
psql -d postgres -c "CREATE DATABASE bench"
psql -d bench -c "CREATE EXTENSION depwatch CASCADE" 2>/dev/null

ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
python3 "$here/listeners.py" --healthy 16160-16169 >"$dir/listeners.out" 2>&1 &
pids+=($!)
python3 "$here/listeners.py" --healthy 16170-16179 >"$dir/dc9.out" 2>&1 &
dc9_pid=$!
pids+=($dc9_pid)
python3 test/alert_receiver.py --port $recv_port --log "$dir/received.log" >"$dir/receiver.out" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
	grep -q '^ready' "$dir/listeners.out" 2>/dev/null && grep -q '^ready' "$dir/dc9.out" 2>/dev/null &&
		grep -q '^alert_receiver' "$dir/receiver.out" && break
	sleep 0.2
done

psql -d bench <<SQL >/dev/null
SELECT depwatch.add_dependency('dep' || i, 'other', 'tcp', '127.0.0.1:' || (16160 + i % 10),
	every => '1 s', timeout => '500 ms') FROM generate_series(1, 500) i;
SELECT depwatch.add_dependency('dc9', 'datacenter', 'tcp', '127.0.0.1:16170', every => '1 s', timeout => '500 ms');
SELECT depwatch.add_dependency('svc' || i, 'other', 'tcp', '127.0.0.1:' || (16170 + i % 10),
	every => '1 s', timeout => '500 ms', site => 'dc9') FROM generate_series(1, 500) i;
SELECT depwatch.add_dependency('flap' || i, 'other', 'none') FROM generate_series(1, 10) i;
SELECT depwatch.add_alert_route('bench', 'webhook', 'http://127.0.0.1:$recv_port/bench',
								options => '{"suppressed": true}');
SQL
echo "1,001 tcp dependencies at 1 s; warming up ${WARMUP} s"
sleep "$WARMUP"
psql -d bench -c "SELECT 'worker: ' || dependencies || ' dependencies, ' || round(probes_per_second) || ' probes/s'
	FROM depwatch.worker_status"

# lag_p99_max SECONDS: the worst probe lag p99 the worker published, sampled every 200 ms
lag_p99_max() {
	local worst=0 v
	for _ in $(seq $(($1 * 5))); do
		v=$(psql -d bench -c "SELECT round(extract(epoch FROM lag_p99) * 1000, 1) FROM depwatch.worker_status" || echo 0)
		worst=$(python3 -c "print(max($worst, ${v:-0}))")
		sleep 0.2
	done
	echo "$worst"
}

# --- 1. commit-to-arrival latency -----------------------------------------
n=$((DURATION * 10))
{
	for i in $(seq 0 $((n - 1))); do
		f=flap$((i % 10 + 1))
		if [ $((i / 10 % 2)) = 0 ]; then
			echo "SELECT depwatch.record_outage('$f', now());"
		else
			echo "SELECT depwatch.end_outage('$f');"
		fi
		echo "SELECT pg_sleep(0.1);"
	done
} | psql -d bench >/dev/null
for _ in $(seq 50); do
	[ "$(psql -d bench -c "SELECT count(*) FROM depwatch.alert_delivery WHERE state <> 'delivered'")" = 0 ] && break
	sleep 0.2
done
# latency LOG FROM_ID TO_ID: p50, p99, max (ms) from recorded_at to arrival
psql -d bench -c "COPY (SELECT id, extract(epoch FROM recorded_at) FROM depwatch.alert_event) TO STDOUT" >"$dir/recorded.tsv"
latency() {
	python3 - "$dir/received.log" "$dir/recorded.tsv" "$1" "$2" <<'EOF'
import json, sys
rec = {int(i): float(t) for i, t in (l.split() for l in open(sys.argv[2]))}
lo, hi = int(sys.argv[3]), int(sys.argv[4])
first = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    i = json.loads(r["body"])["id"]
    if lo <= i <= hi and i not in first:
        first[i] = r["t"]
lat = sorted((first[i] - rec[i]) * 1000 for i in first)
missing = (hi - lo + 1) - len(lat)
if not lat:
    sys.exit("nothing arrived")
p = lambda q: lat[min(len(lat) - 1, int(len(lat) * q))]
print(f"{len(lat)} events ({missing} missing): p50 {p(0.5):.1f} ms, p99 {p(0.99):.1f} ms, "
      f"max {lat[-1]:.1f} ms, last arrival {max(first.values()) - min(rec[i] for i in first):.2f} s after the first commit")
EOF
}
hi=$(psql -d bench -c "SELECT max(id) FROM depwatch.alert_event")
echo "1. a state change every 100 ms for ${DURATION} s (record_outage / end_outage), commit to arrival: $(latency 1 "$hi")"

# --- 2. a site of 500 dependencies fails at once ---------------------------
before=$(lag_p99_max 3)
lo=$((hi + 1))
lag_p99_max 8 >"$dir/burst_lag" &
lagger=$!
kill "$dc9_pid"
wait $lagger
for _ in $(seq 100); do
	[ "$(psql -d bench -c "SELECT count(*) FROM depwatch.alert_event WHERE id >= $lo AND event = 'dependency_down'")" = 501 ] &&
		[ "$(psql -d bench -c "SELECT count(*) FROM depwatch.alert_delivery WHERE state <> 'delivered'")" = 0 ] && break
	sleep 0.2
done
hi2=$(psql -d bench -c "SELECT max(id) FROM depwatch.alert_event")
psql -d bench -c "COPY (SELECT id, extract(epoch FROM recorded_at) FROM depwatch.alert_event) TO STDOUT" >"$dir/recorded.tsv"
echo "2. site dc9 (500 dependencies and the site) fails at once: $(psql -d bench -c "SELECT count(*) || ' events (' ||
	count(*) FILTER (WHERE suppressed) || ' suppressed, all sent to the route)' FROM depwatch.alert_event WHERE id >= $lo")"
echo "   $(latency $lo "$hi2")"
echo "   probe lag p99 (worst published, ms): $before before, $(cat "$dir/burst_lag") during the burst"
psql -d bench -c "SELECT '   worker: ' || round(probes_per_second) || ' probes/s' FROM depwatch.worker_status"
