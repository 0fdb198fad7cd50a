#!/usr/bin/env bash
# Faults (issue 8): things removed under the worker's feet.
#   a. dependencies dropped while their probes are in flight: an http probe
#      whose peer answers after 1.5 s (the answer arrives after the drop),
#      and a postgres probe whose peer accepts and never answers, dropped
#      in a transaction that commits 1 s later; a dependency of the same
#      name added again at once gets none of the old probes' samples; the
#      worker stays the same process, logs nothing, closes the connections,
#      and a dependency probed every 200 ms beside them keeps its schedule;
#   b. a database dropped while its worker runs, still listed in
#      depwatch.databases: the launcher warns once and starts no worker for
#      it (no crash loop), stays the same process; created again, the
#      database gets a worker at once; DROP DATABASE ... WITH (FORCE) works
#      as well;
#   c. a DROP DATABASE that fails (another session is connected) stops the
#      worker only for as long as the attempt: it probes again within 3 s,
#      not after the 30 s the launcher holds off a database being dropped.
# (test/integration/worker_databases.sh and worker_probes.sh hold the plain
# cases: a DROP DATABASE that succeeds, tcp probes dropped while they hang.)
# Ports: cluster 15464, fake 18467 (control), 18468-18469.
set -euo pipefail
cd "$(dirname "$0")/../.."

dir=tmp/faults_drops
port=15464
ctl=18467
p_slow=18468
p_hang=18469

fake_pid=
cleanup() {
	[ -z "$fake_pid" ] || kill "$fake_pid" 2>/dev/null || true
	scripts/cluster.sh stop "$dir" "$port"
}
trap cleanup EXIT

. test/lib.sh
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# open_conns PORT: connections the fake holds open on PORT
open_conns() { curl -sS -m 2 "http://127.0.0.1:$ctl/status" | awk -v p="$1" '$1 == p { print $6 }'; }
worker_pid() { DB=postgres sql "SELECT pid FROM pg_stat_activity WHERE backend_type = 'depwatch worker' AND datname = '$1'"; }
launcher_pid() { DB=postgres sql "SELECT pid FROM pg_stat_activity WHERE backend_type = 'depwatch launcher'"; }
# problems SINCE: the worker's and launcher's warnings and errors, and any
# depwatch process that exited, after byte SINCE of the server log
problems() {
	tail -c +"$(($1 + 1))" "$dir/server.log" |
		grep -E 'depwatch (worker|launcher) +(WARNING|ERROR)|"depwatch (worker|launcher)".*(exited with exit code|terminated by signal)' || true
}

for p in $ctl $p_slow $p_hang; do port_open "$p" && fail "port $p is in use"; done
scripts/cluster.sh stop "$dir" "$port"
rm -rf "$dir"
scripts/cluster.sh start "$dir" "$port" "log_line_prefix = '%m [%p] %b '"
python3 test/fake_dependency.py --control $ctl --ports $p_slow,$p_hang --set $p_slow=slow:1500 --set $p_hang=hang \
	>"$dir/fake.out" 2>&1 &
fake_pid=$!
for _ in $(seq 50); do grep -q '^fake_dependency: control' "$dir/fake.out" && break; sleep 0.1; done
grep -q '^fake_dependency: control' "$dir/fake.out" || fail "the fake dependency did not start"

for db in bank gone; do
	DB=postgres sql "CREATE DATABASE $db"
	DB=$db sql "CREATE EXTENSION depwatch CASCADE" 2>/dev/null
	DB=$db sql "SELECT depwatch.add_dependency('steady', 'other', 'tcp', '127.0.0.1:$port', every => '200 ms', timeout => '150 ms')" >/dev/null
done
DB=postgres sql "ALTER SYSTEM SET depwatch.databases = 'bank, gone'"
DB=postgres sql "SELECT pg_reload_conf()" >/dev/null
wait_for 15 "SELECT count(*) > 2 FROM depwatch.sample" t
DB=gone wait_for 15 "SELECT count(*) > 2 FROM depwatch.sample" t

# --- a. dropped with probes in flight ---------------------------------------
sql "SELECT depwatch.add_dependency('slow_http', 'other', 'http', 'http://127.0.0.1:$p_slow/', every => '2 s', timeout => '1900 ms');
	 SELECT depwatch.add_dependency('hung_pg', 'other', 'postgres', 'host=127.0.0.1 port=$p_hang dbname=x user=probe',
		every => '2 s', timeout => '1900 ms')" >/dev/null
wait_for 10 "SELECT count(DISTINCT d.name) FROM depwatch.sample s JOIN depwatch.dependency d ON d.id = s.dependency_id
	WHERE d.name IN ('slow_http', 'hung_pg')" 2
wpid=$(worker_pid bank)
log_at=$(stat -c %s "$dir/server.log")
since=$(sql "SELECT clock_timestamp()")
# both in flight: slow_http's peer answers 1.5 s after each request
wait_for 5 "SELECT (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'depwatch worker') > 0
	AND in_flight >= 2 FROM depwatch.worker_status WHERE database = 'bank'" t
deadline=$((SECONDS + 4))
until [ "$(open_conns $p_slow)" -ge 1 ] && [ "$(open_conns $p_hang)" -ge 1 ]; do
	[ $SECONDS -ge $deadline ] && fail "a. the probes are never in flight together (open connections: slow $(open_conns $p_slow), hung $(open_conns $p_hang))"
	sleep 0.05
done
old_ids=$(sql "SELECT string_agg(id::text, ',') FROM depwatch.dependency WHERE name IN ('slow_http', 'hung_pg')")
sql "SELECT depwatch.drop_dependency('hung_pg'); SELECT pg_sleep(1)" >/dev/null &
dropper=$!
sql "SELECT depwatch.drop_dependency('slow_http')" >/dev/null
# the same name again at once, on a peer that answers at once
sql "SELECT depwatch.add_dependency('slow_http', 'other', 'tcp', '127.0.0.1:$port', every => '2 s', timeout => '1 s')" >/dev/null
added=$(sql "SELECT clock_timestamp()")
wait "$dropper"
sleep 2.5
got=$(sql "SELECT count(*) FROM depwatch.sample WHERE dependency_id IN ($old_ids)")
[ "$got" = 0 ] || fail "a. $got samples of the dropped dependencies remain"
got=$(sql "SELECT count(*) || '|' || coalesce(bool_and(ok AND at >= '$since'), true) || '|' || coalesce(min(detail), '')
	FROM depwatch.sample s JOIN depwatch.dependency d ON d.id = s.dependency_id WHERE d.name = 'slow_http'")
IFS='|' read -r n good detail <<<"$got"
[ "$n" -ge 1 ] && [ "$good" = true ] ||
	fail "a. the new slow_http (tcp, up) has $n samples, all ok: $good (detail '$detail'): an old probe's result went to it"
[ "$(open_conns $p_slow)" = 0 ] && [ "$(open_conns $p_hang)" = 0 ] ||
	fail "a. connections left open: slow peer $(open_conns $p_slow), hung peer $(open_conns $p_hang)"
[ "$(worker_pid bank)" = "$wpid" ] || fail "a. the worker is now $(worker_pid bank), not $wpid"
[ "$(sql "SELECT coalesce(last_error, '<none>') FROM depwatch.worker_status WHERE database = 'bank'")" = "<none>" ] ||
	fail "a. worker_status.last_error: $(sql "SELECT last_error FROM depwatch.worker_status WHERE database = 'bank'")"
got=$(problems "$log_at")
[ -z "$got" ] || fail "a. the server log says: $got"
got=$(sql "SELECT round(extract(epoch FROM max(g))::numeric, 3) FROM (SELECT at - lag(at) OVER (ORDER BY at) g
	FROM depwatch.sample s JOIN depwatch.dependency d ON d.id = s.dependency_id WHERE d.name = 'steady' AND at > '$since') x")
awk "BEGIN { exit !($got < 0.5) }" || fail "a. 'steady' (every 200 ms) had a gap of $got s around the drops"
ok "a. http and postgres probes dropped in flight (one commit 1 s later): no samples left, the name re-added gets only its own ($n), connections closed, same worker, nothing logged; 'steady' at most $got s apart"

# --- b. the database dropped while its worker runs -----------------------------
lpid=$(launcher_pid)
log_at=$(stat -c %s "$dir/server.log")
gpid=$(worker_pid gone)
[ -n "$gpid" ] || fail "b. no worker for 'gone'"
DB=postgres sql "DROP DATABASE gone"
sleep 4
[ -z "$(worker_pid gone)" ] || fail "b. a worker runs for the dropped database"
[ "$(launcher_pid)" = "$lpid" ] || fail "b. the launcher is now $(launcher_pid), not $lpid"
got=$(tail -c +"$((log_at + 1))" "$dir/server.log" | grep -c 'database "gone" listed in "depwatch.databases" does not exist' || true)
[ "$got" = 1 ] || fail "b. the launcher warned $got times that 'gone' does not exist (expected once)"
got=$(tail -c +"$((log_at + 1))" "$dir/server.log" | grep -c 'depwatch worker started for database "gone"' || true)
[ "$got" = 0 ] || fail "b. $got workers started for the dropped database"
# the worker that was asked to leave exits once (exit code 1, as after any
# SIGTERM); nothing else may
got=$(problems "$log_at" | grep -vE "listed in \"depwatch.databases\" does not exist|\(PID $gpid\) exited with exit code 1" || true)
[ -z "$got" ] || fail "b. the server log says: $got"
ok "b. DROP DATABASE of a listed database while its worker ran: one warning, no worker started for it in 4 s, same launcher"
log_at=$(stat -c %s "$dir/server.log")
DB=postgres sql "CREATE DATABASE gone"
deadline=$((SECONDS + 5))
until [ -n "$(worker_pid gone)" ]; do
	[ $SECONDS -ge $deadline ] && fail "b. created again, 'gone' got no worker within 5 s"
	sleep 0.1
done
ok "b. created again, the database gets a worker at once (it waits for the extension)"
gpid=$(worker_pid gone)
DB=postgres sql "DROP DATABASE gone WITH (FORCE)"
sleep 2
[ -z "$(worker_pid gone)" ] && [ "$(launcher_pid)" = "$lpid" ] || fail "b. after DROP DATABASE WITH (FORCE): worker '$(worker_pid gone)', launcher $(launcher_pid)"
got=$(problems "$log_at" | grep -vE "listed in \"depwatch.databases\" does not exist|\(PID $gpid\) exited with exit code 1" || true)
[ -z "$got" ] || fail "b. the server log says: $got"
ok "b. DROP DATABASE ... WITH (FORCE) too; the launcher is still $lpid"

# --- c. a DROP DATABASE that fails -----------------------------------------------
sql "SELECT pg_sleep(12)" >/dev/null 2>&1 &
blocker=$!
sleep 0.5
if DB=postgres sql "DROP DATABASE bank" 2>"$dir/drop.err"; then fail "c. DROP DATABASE bank succeeded with a session connected"; fi
failed_at=$(DB=postgres sql "SELECT clock_timestamp()")
grep -q 'is being accessed by other users' "$dir/drop.err" || fail "c. DROP DATABASE failed otherwise: $(cat "$dir/drop.err")"
DB=bank wait_for 3 "SELECT count(*) > 0 FROM depwatch.sample WHERE at > '$failed_at'" t ||
	fail "c. the worker of bank did not probe again within 3 s of the failed DROP DATABASE"
kill "$blocker" 2>/dev/null || true
wait "$blocker" 2>/dev/null || true
ok "c. a DROP DATABASE that failed (a session connected): bank's worker probes again within 3 s"
