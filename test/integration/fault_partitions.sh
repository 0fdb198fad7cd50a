#!/usr/bin/env bash
# Faults (issue 8): a full sample partition set, retention at its minimum
# (depwatch.sample_retention = 1d), must not stop probing.
#   a. 1d is the minimum: a shorter retention is refused;
#   b. a full set: 40 expired daily partitions holding samples, old rows in
#      the default partition and 30 days of partitions ahead; the worker,
#      restarted, drops what has expired (yesterday's and today's stay)
#      and goes on probing;
#   c. someone else's transaction holds depwatch.sample for 3 s (an admin's
#      maintain_sample_partitions() dropping a partition, then LOCK TABLE,
#      left open): the worker keeps probing on schedule (consecutive
#      samples of a dependency probed every 200 ms stay < 0.5 s apart), no
#      sample is lost, no unmonitored gap is recorded, and it logs no
#      warning (only LOG lines saying it waits);
#   d. a report holds an expired partition open while the worker's own
#      maintenance wants to drop it: probing goes on.
# Ports: cluster 15462.
set -euo pipefail
cd "$(dirname "$0")/../.."

dir=tmp/faults_partitions
port=15462
trap 'scripts/cluster.sh stop "$dir" "$port"' EXIT

. test/lib.sh

scripts/cluster.sh stop "$dir" "$port"
rm -rf "$dir"
scripts/cluster.sh start "$dir" "$port" "depwatch.sample_retention = '1d'" "log_line_prefix = '%m [%p] %b '"
DB=postgres sql "CREATE DATABASE bank"
sql "CREATE EXTENSION depwatch CASCADE" 2>/dev/null

# --- a. the minimum -----------------------------------------------------------
[ "$(sql "SHOW depwatch.sample_retention")" = 1d ] || fail "depwatch.sample_retention is $(sql "SHOW depwatch.sample_retention")"
if sql "ALTER SYSTEM SET depwatch.sample_retention = '23h'" 2>/dev/null; then fail "a retention of 23h was accepted"; fi
if sql "SELECT depwatch.maintain_sample_partitions(retention => '23 hours')" 2>/dev/null; then
	fail "maintain_sample_partitions(retention => '23 hours') was accepted"
fi
ok "a. depwatch.sample_retention = 1d is the minimum: 23h is refused, by the setting and by maintain_sample_partitions"

# --- b. a full partition set ----------------------------------------------------
sql "SELECT depwatch.add_dependency('up', 'other', 'tcp', '127.0.0.1:$port', every => '200 ms', timeout => '150 ms')" >/dev/null
up_id=$(sql "SELECT id FROM depwatch.dependency WHERE name = 'up'")
sql "DO \$\$
	DECLARE d date;
	BEGIN
		FOR i IN 3..42 LOOP
			d := current_date - i;
			EXECUTE format('CREATE TABLE depwatch.%I PARTITION OF depwatch.sample FOR VALUES FROM (%L) TO (%L)',
						   'sample_' || to_char(d, 'YYYYMMDD'), d::timestamptz, (d + 1)::timestamptz);
			INSERT INTO depwatch.sample (dependency_id, vantage, at, ok)
				SELECT $up_id, 'old', d + g * interval '1 minute', true FROM generate_series(0, 499) g;
		END LOOP;
	END \$\$"
sql "INSERT INTO depwatch.sample (dependency_id, vantage, at, ok)
	SELECT $up_id, 'old', current_date - 400 + g * interval '1 hour', true FROM generate_series(0, 999) g"
sql "SELECT count(*) FROM depwatch.maintain_sample_partitions(30, retention => '1000 days')" >/dev/null
parts=$(sql "SELECT count(*) FROM pg_inherits WHERE inhparent = 'depwatch.sample'::regclass")
old_rows=$(sql "SELECT count(*) FROM depwatch.sample WHERE at < current_date - 1")
ok "b. $parts partitions (40 expired, today and 30 ahead, the default), $old_rows expired samples"

sql "ALTER SYSTEM SET depwatch.databases = 'bank'"
sql "SELECT pg_reload_conf()" >/dev/null
wait_for 20 "SELECT count(*) >= 3 FROM depwatch.sample WHERE vantage <> 'old' AND at > clock_timestamp() - interval '1 s'" t
wait_for 10 "SELECT count(*) FROM depwatch.sample WHERE at < date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' - interval '1 day'" 0
got=$(sql "SELECT count(*) FILTER (WHERE c.relname ~ '^sample_[0-9]{8}\$' AND c.relname < 'sample_' || to_char(now() AT TIME ZONE 'UTC', 'YYYYMMDD'))
	|| '|' || count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'depwatch.sample'::regclass")
[ "$got" = "0|32" ] || fail "after the worker's maintenance: ${got%|*} partitions before today, ${got#*|} in all; expected none before today, 32 in all (today, 30 ahead, the default)"
ok "b. the worker's maintenance dropped the 40 expired partitions and the expired default rows; today and 30 days ahead stay"
wait_for 5 "SELECT count(*) >= 3 FROM depwatch.sample WHERE dependency_id = $up_id AND at > clock_timestamp() - interval '1 s'" t
ok "b. the worker goes on probing every 200 ms"

# --- c. someone holds depwatch.sample -----------------------------------------
# max_gap SINCE: the longest time between consecutive samples of 'up' since
max_gap() {
	sql "SELECT round(extract(epoch FROM max(g))::numeric, 3) FROM (SELECT at - lag(at) OVER (ORDER BY at) g
		FROM depwatch.sample WHERE dependency_id = $up_id AND at > '$1') x"
}
log_at=$(stat -c %s "$dir/server.log")
for how in maintain lock; do
	if [ $how = maintain ]; then
		# an expired partition for the admin's maintenance to drop
		sql "CREATE TABLE depwatch_internal.sample_20200101 PARTITION OF depwatch.sample FOR VALUES FROM ('2020-01-01') TO ('2020-01-02')"
		hold="SELECT count(*) FROM depwatch.maintain_sample_partitions()"
	else
		hold="LOCK TABLE depwatch.sample IN ACCESS EXCLUSIVE MODE"
	fi
	since=$(sql "SELECT clock_timestamp()")
	sql "BEGIN; $hold; SELECT pg_sleep(3); COMMIT" >/dev/null
	until_=$(sql "SELECT clock_timestamp()")
	wait_for 5 "SELECT count(*) > 0 FROM depwatch.sample WHERE dependency_id = $up_id AND at > '$until_'::timestamptz + interval '0.5 s'" t
	gap=$(max_gap "$since")
	n=$(sql "SELECT count(*) FROM depwatch.sample WHERE dependency_id = $up_id AND at > '$since' AND at < '$until_'")
	awk "BEGIN { exit !($gap < 0.5) }" ||
		fail "c. ($how) while another transaction held depwatch.sample for 3 s, consecutive samples of 'up' were up to $gap s apart (every 200 ms): the worker stopped probing"
	got=$(sql "SELECT count(*) FROM depwatch.monitor_gap WHERE dependency_id = $up_id AND before > '$since'")
	[ "$got" = 0 ] || fail "c. ($how) $got unmonitored gaps recorded for 'up'"
	ok "c. ($how, held 3 s) 'up' kept its schedule: $n samples stored, at most $gap s apart, no unmonitored gap"
done
got=$(tail -c +"$((log_at + 1))" "$dir/server.log" | grep -cE 'depwatch worker +LOG: .*waits for a lock' || true)
[ "$got" -gt 0 ] || fail "c. the worker did not log that it waited for a lock"
got=$(tail -c +"$((log_at + 1))" "$dir/server.log" | grep -E 'depwatch (worker|launcher) +(WARNING|ERROR)' | head -3 || true)
[ -z "$got" ] || fail "c. the worker logged: $got"
[ "$(sql "SELECT coalesce(last_error, '<none>') FROM depwatch.worker_status")" = "<none>" ] ||
	fail "c. worker_status.last_error: $(sql "SELECT last_error FROM depwatch.worker_status")"
ok "c. the worker logged that it waited for the lock, no warning, no last_error"

# --- d. a report holds an expired partition while the worker maintains ------------
sql "CREATE TABLE depwatch_internal.sample_20200102 PARTITION OF depwatch.sample FOR VALUES FROM ('2020-01-02') TO ('2020-01-03')"
wpid=$(sql "SELECT pid FROM pg_stat_activity WHERE backend_type = 'depwatch worker'")
since=$(sql "SELECT clock_timestamp()")
# the report reads the partition and sits on it; the worker, restarted,
# maintains the partitions first thing
sql "BEGIN; SELECT count(*) FROM depwatch_internal.sample_20200102; SELECT pg_terminate_backend($wpid); SELECT pg_sleep(4); COMMIT" >/dev/null &
report=$!
# while it sits, the restarted worker must store samples again
got=0
while kill -0 "$report" 2>/dev/null; do
	got=$(sql "SELECT count(*) FROM depwatch.sample WHERE dependency_id = $up_id AND at > '$since'::timestamptz + interval '1 s'")
	[ "$got" -ge 3 ] && break
	sleep 0.1
done
kill -0 "$report" 2>/dev/null || fail "d. while a report held an expired partition (4 s) the restarted worker stored only $got samples of 'up'"
wait "$report"
[ "$(sql "SELECT to_regclass('depwatch_internal.sample_20200102') IS NOT NULL")" = t ] ||
	fail "d. the partition the report held was dropped anyway"
ok "d. a report holding an expired partition: the restarted worker probes on while it does, and leaves the partition for later"
