#!/usr/bin/env bash
# A site of many dependencies failing at once (issue 19, "a burst"): the
# worker opens every outage, loses no sample, and writes the state changes
# over several transactions of at most 64 changes each (worker.c,
# MAX_CHANGES_PER_FLUSH), so that the probes due meanwhile start on time.
#   a. 150 dependencies of one site refused at once: 150 down outages, one
#      each, written by at least 3 transactions of at most 64 each;
#   b. their site's event is the building's; every service's event was
#      recorded, none lost, and the webhook-less database has no delivery;
#   c. every sample the worker took of them is stored (none dropped by the
#      cut: five a second, no gap between the first and the last);
#   d. 1,100 more dependencies, up: every one's samples are written, by
#      transactions of at most 1,000 dependencies each (MAX_GROUPS_PER_FLUSH).
set -euo pipefail
cd "$(dirname "$0")/../.."

dir=tmp/it_state_burst
port=15475
scripts/cluster.sh stop "$dir" "$port"
rm -rf "$dir"
scripts/cluster.sh start "$dir" "$port" "depwatch.databases = 'bank'"
trap 'scripts/cluster.sh stop "$dir" "$port"' EXIT
. test/lib.sh

DB=postgres sql "CREATE DATABASE bank"
sql "CREATE EXTENSION depwatch CASCADE" 2>/dev/null
# port 9 on loopback refuses at once: every probe fails
sql "SELECT depwatch.add_dependency('dc9', 'datacenter', 'tcp', '127.0.0.1:9', every => '200 ms', timeout => '150 ms', fail_after => 2)" >/dev/null
sql "SELECT count(depwatch.add_dependency('svc' || i, 'other', 'tcp', '127.0.0.1:9', every => '200 ms',
	timeout => '150 ms', fail_after => 2, site => 'dc9')) FROM generate_series(1, 150) i" >/dev/null
# Every 200 ms, down at the second failure: all 151 go down within a few
# hundred ms, inside one or two of the worker's flushes (every 500 ms).
# Without the budget a flush would then write 76 or more changes at once.

# a.
wait_for 30 "SELECT count(*) FROM depwatch.outage WHERE kind = 'down'" 151
got=$(sql "SELECT count(DISTINCT dependency_id) || ' ' || count(DISTINCT xmin::text)
	|| ' ' || (SELECT max(n) FROM (SELECT count(*) AS n FROM depwatch.outage GROUP BY xmin::text) x)
	FROM depwatch.outage WHERE kind = 'down'")
set -- $got
[ "$1" = 151 ] || fail "a. $1 dependencies have a down outage, not 151"
[ "$2" -ge 3 ] && [ "$3" -le 64 ] || fail "a. the 151 outages were written by $2 transactions, the largest of $3 (want >= 3, <= 64)"
ok "a. 151 outages opened, by $2 transactions of at most $3"

# b.
got=$(sql "SELECT count(*) FILTER (WHERE event = 'dependency_down') || ' ' || count(*) FILTER (WHERE target = 'dc9')
	|| ' ' || (SELECT count(*) FROM depwatch.alert_delivery) FROM depwatch.alert_event")
[ "$got" = "151 1 0" ] || fail "b. events (down, of dc9, deliveries): $got"
ok "b. one dependency_down event each, recorded; no route, no delivery"

# c. each dependency's samples, five a second from its first to its last,
# none missing (a group left for the next turn keeps its samples)
sleep 2
got=$(sql "SELECT count(*) FROM (
	SELECT dependency_id, count(*) AS n, extract(epoch FROM max(at) - min(at)) AS span
	FROM depwatch.sample GROUP BY dependency_id) x
	WHERE n < span / 0.2 - 2")
[ "$got" = 0 ] || fail "c. $got dependencies miss samples"
ok "c. no dependency misses a sample"
# d. every 200 ms, so that each flush (every 500 ms) holds samples of all
# 1,100: without the cap one transaction would write them all.  The peer
# is bench/listeners.py (accepts in the kernel: a tcp probe costs it nothing).
lport=15476
python3 bench/listeners.py --healthy $lport-$lport >"$dir/listeners.out" 2>&1 &
lpid=$!
trap 'kill $lpid 2>/dev/null; scripts/cluster.sh stop "$dir" "$port"' EXIT
for _ in $(seq 50); do grep -q '^ready' "$dir/listeners.out" && break; sleep 0.1; done
sql "SELECT count(depwatch.add_dependency('up' || i, 'other', 'tcp', '127.0.0.1:$lport', every => '200 ms',
	timeout => '150 ms')) FROM generate_series(1, 1100) i" >/dev/null
wait_for 30 "SELECT count(DISTINCT s.dependency_id) FROM depwatch.sample s JOIN depwatch.dependency d ON d.id = s.dependency_id
	WHERE d.name LIKE 'up%' AND s.ok" 1100
# two more seconds of samples of all of them
t=$(sql "SELECT now()")
wait_for 30 "SELECT count(*) > 0 FROM depwatch.sample WHERE at > '$t'::timestamptz + interval '2 s'" t
got=$(sql "SELECT max(n) FROM (SELECT count(DISTINCT s.dependency_id) AS n FROM depwatch.sample s
	JOIN depwatch.dependency d ON d.id = s.dependency_id WHERE d.name LIKE 'up%' GROUP BY s.xmin::text) x")
[ "$got" -le 1000 ] || fail "d. one transaction wrote the samples of $got dependencies"
ok "d. 1,100 dependencies sampled every 200 ms, at most $got of them per transaction"
echo "state_burst: all passed"
