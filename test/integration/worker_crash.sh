#!/usr/bin/env bash
# Crash safety of the probe worker (SPEC section 4: "restarts after a crash
# and resumes open outages instead of duplicating them").  A tcp dependency
# on a refused port has an open down outage; then
#   a. the worker is killed with SIGKILL (PostgreSQL restarts every backend),
#      once and then 5 times in a row: the outage stays the same row, open;
#   b. the server stops in immediate mode and starts again: the outage goes
#      on, and the time it was down is a gap in the samples longer than
#      3 x every, which monitor_gap and state_timeline report as
#      unmonitored for the up dependency, while the down one stays down
#      through it;
#   c. the port starts to listen: the outage closes once, at the first good
#      sample;
#   d. the worker is terminated (SIGTERM): the launcher starts it again;
#   e. the audit chain is intact.
set -euo pipefail
cd "$(dirname "$0")/../.."

dir=tmp/it_crash
port=15451
up_port=18298					# a listener we start: the "up" dependency
down_port=18299					# nothing listens (refused), until step c
bindir=$(pg_config --bindir)
pg_ctl=(runuser -u postgres -- "$bindir/pg_ctl" -D "$dir/data")

listeners=()
cleanup() {
	for pid in "${listeners[@]}"; do kill "$pid" 2>/dev/null || true; done
	scripts/cluster.sh stop "$dir" "$port"
}
trap cleanup EXIT

. test/lib.sh
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# listen PORT: start an HTTP listener on 127.0.0.1:PORT, wait until it accepts
listen() {
	python3 -m http.server "$1" --bind 127.0.0.1 >/dev/null 2>&1 &
	listeners+=($!)
	local deadline=$((SECONDS + 10))
	until port_open "$1"; do
		[ $SECONDS -ge $deadline ] && fail "the listener on port $1 did not start"
		sleep 0.1
	done
}

port_open $down_port && fail "port $down_port is in use; it must refuse connections"
port_open $up_port && fail "port $up_port is in use"

scripts/cluster.sh stop "$dir" "$port"
rm -rf "$dir"
scripts/cluster.sh start "$dir" "$port" "depwatch.databases = 'bank'"
DB=postgres sql "CREATE DATABASE bank"
sql "CREATE EXTENSION depwatch CASCADE" 2>/dev/null
listen $up_port
down_id=$(sql "SELECT depwatch.add_dependency('refused', 'other', 'tcp', '127.0.0.1:$down_port',
	every => '1 s', timeout => '500 ms', fail_after => 2)")
up_id=$(sql "SELECT depwatch.add_dependency('listening', 'other', 'tcp', '127.0.0.1:$up_port',
	every => '1 s', timeout => '500 ms', fail_after => 2)")

wait_for 15 "SELECT count(*) FROM depwatch.outage WHERE dependency_id = $down_id AND kind = 'down' AND upper_inf(during)" 1
outage=$(sql "SELECT id || '|' || lower(during) || '|' || detected_at FROM depwatch.outage
	WHERE dependency_id = $down_id AND kind = 'down'")
ok "the refused dependency has an open down outage ($outage)"
[ "$(sql "SELECT count(*) FROM depwatch.outage WHERE dependency_id = $up_id")" = 0 ] ||
	fail "the listening dependency has an outage"
ok "the listening dependency has none"

worker_pid() { sql "SELECT pid FROM pg_stat_activity WHERE backend_type = 'depwatch worker' AND datname = 'bank'"; }

# samples_since TIME: how many samples of both dependencies are later than TIME
samples_since() {
	sql "SELECT count(DISTINCT dependency_id) FILTER (WHERE at > '$1')
		   || ',' || count(*) FILTER (WHERE at > '$1' AND dependency_id = $down_id AND ok)
		 FROM depwatch.sample"
}

# the down outage is the same row as before, still open, and no outages of
# one dependency and kind overlap (nor is there a second one of a kind)
check_outage() {
	local got
	got=$(sql "SELECT count(*) || '|' || string_agg(id || '|' || lower(during) || '|' || detected_at, ',')
		FROM depwatch.outage WHERE dependency_id = $down_id AND kind = 'down'")
	[ "$got" = "1|$outage" ] || fail "$1: down outages of 'refused' are '$got', expected exactly '1|$outage'"
	[ "$(sql "SELECT bool_and(upper_inf(during)) FROM depwatch.outage WHERE dependency_id = $down_id AND kind = 'down'")" = t ] ||
		fail "$1: the down outage of 'refused' was closed"
	got=$(sql "SELECT count(*) FROM depwatch.outage a JOIN depwatch.outage b
		ON a.dependency_id = b.dependency_id AND a.kind = b.kind AND a.id < b.id AND a.during && b.during")
	[ "$got" = 0 ] || fail "$1: $got pairs of overlapping outages"
	got=$(sql "SELECT coalesce(string_agg(dependency_id || ':' || kind || '×' || n, ','), '')
		FROM (SELECT dependency_id, kind, count(*) n FROM depwatch.outage GROUP BY 1, 2 HAVING count(*) > 1) x")
	[ -z "$got" ] || fail "$1: duplicate outages: $got"
	got=$(sql "SELECT down_open FROM depwatch.probe_state WHERE dependency_id = $down_id")
	[ "$got" = t ] || fail "$1: probe_state.down_open of 'refused' is '$got'"
	ok "$1: one down outage, same id, started_at and detected_at, still open; no overlaps, no duplicates"
}

# kill_worker: SIGKILL the worker, wait until a new one runs and samples
# of both dependencies arrive again (the refused one still bad)
kill_worker() {
	local old since deadline new t0=$SECONDS
	old=$(worker_pid)
	[ -n "$old" ] || fail "no depwatch worker runs"
	since=$(sql "SELECT clock_timestamp()")
	kill -9 "$old"
	deadline=$((SECONDS + 20))
	while :; do
		new=$(worker_pid 2>/dev/null || true)
		if [ -n "$new" ] && [ "$new" != "$old" ] &&
			[ "$(samples_since "$since" 2>/dev/null || true)" = "2,0" ]; then
			break
		fi
		[ $SECONDS -ge $deadline ] && fail "20 s after kill -9 of worker $old: worker '$new', samples '$(samples_since "$since" 2>/dev/null || true)'"
		sleep 0.2
	done
	echo "   killed worker $old; worker $new probes again after $((SECONDS - t0)) s"
}

# --- a. SIGKILL ---------------------------------------------------------
kill_worker
check_outage "after kill -9 of the worker"
for i in 1 2 3 4 5; do kill_worker; done
check_outage "after 5 kills -9 in a row"

# --- b. immediate shutdown ----------------------------------------------
before=$(sql "SELECT max(at) FROM depwatch.sample WHERE dependency_id = $up_id")
"${pg_ctl[@]}" -m immediate -w stop >/dev/null
t_stop=$(date -u +'%Y-%m-%d %H:%M:%S.%6N+00')
sleep 5
port_open $port && fail "the server still listens after an immediate stop"
scripts/cluster.sh start "$dir" "$port"
t_start=$(date -u +'%Y-%m-%d %H:%M:%S.%6N+00')
wait_for 20 "SELECT count(DISTINCT dependency_id) FROM depwatch.sample WHERE at > '$before'::timestamptz + interval '5 s'" 2
ok "after an immediate shutdown and restart the worker probes again"
check_outage "after an immediate shutdown"
# the gap in the samples of 'listening' around the shutdown
gap=$(sql "SELECT extract(epoch FROM min(at) - '$before'::timestamptz)::numeric(8,2)
	FROM depwatch.sample WHERE dependency_id = $up_id AND at > '$before'")
[ "$(sql "SELECT '$gap'::numeric > 3 * extract(epoch FROM every) FROM depwatch.dependency WHERE id = $up_id")" = t ] ||
	fail "the samples of 'listening' have a gap of only $gap s around the shutdown (every = 1 s)"
[ "$(sql "SELECT '$before'::timestamptz < '$t_stop' AND min(at) > '$t_start'
	FROM depwatch.sample WHERE dependency_id = $up_id AND at > '$before'")" = t ] ||
	fail "the gap after $before does not span the downtime ($t_stop to $t_start)"
ok "the time the server was down is a gap of $gap s (> 3 × every) in the samples of 'listening'"
# and depwatch reports it so (SPEC 3, unmonitored time): 'listening' is
# unmonitored from 3 x every after its last sample before the stop to its
# first sample after the start; 'refused', down at both ends, stays down
# through it
after=$(sql "SELECT min(at) FROM depwatch.sample WHERE dependency_id = $up_id AND at > '$before'")
got=$(sql "SELECT count(*) FROM depwatch.monitor_gap WHERE dependency_id = $up_id
	AND unmonitored = tstzrange('$before'::timestamptz + 3 * interval '1 s', '$after')")
[ "$got" = 1 ] || fail "no monitor gap [$before + 3 s, $after) recorded for 'listening': $(sql "SELECT string_agg(unmonitored::text, ',') FROM depwatch.monitor_gap WHERE dependency_id = $up_id")"
period="tstzrange('$before'::timestamptz - interval '1 s', '$after'::timestamptz + interval '1 s')"
# time after now is unmonitored: wait for the clock to pass the period's end
wait_for 10 "SELECT now() > '$after'::timestamptz + interval '1 s'" t
got=$(sql "SELECT string_agg(target || ':' || state, ',' ORDER BY target, started_at) FROM depwatch.state_timeline($period, ARRAY['listening', 'refused'])")
[ "$got" = "listening:up,listening:unmonitored,listening:up,refused:down" ] ||
	fail "state_timeline around the shutdown says '$got', expected listening up, unmonitored, up and refused down throughout"
got=$(sql "SELECT (started_at = '$before'::timestamptz + interval '3 s') || ',' || (ended_at = '$after')
	FROM depwatch.state_timeline($period, ARRAY['listening']) WHERE state = 'unmonitored'")
[ "$got" = "true,true" ] || fail "the unmonitored run of 'listening' does not span [$before + 3 s, $after): $got"
ok "state_timeline: 'listening' unmonitored from 3 s after its last sample to its first after the restart; 'refused' down throughout (one outage, same row)"

# --- c. the refused port listens ----------------------------------------
listen $down_port
wait_for 15 "SELECT count(*) FROM depwatch.outage WHERE dependency_id = $down_id AND kind = 'down' AND NOT upper_inf(during)" 1
sleep 2.5						# more good samples: it must stay closed once
oid=${outage%%|*}
got=$(sql "SELECT count(*) || '|' || min(id) FROM depwatch.outage WHERE dependency_id = $down_id AND kind = 'down'")
[ "$got" = "1|$oid" ] || fail "down outages of 'refused' after recovery: '$got', expected '1|$oid'"
got=$(sql "SELECT upper(o.during) = (SELECT min(s.at) FROM depwatch.sample s
		WHERE s.dependency_id = $down_id AND s.ok AND s.at >= lower(o.during))
	FROM depwatch.outage o WHERE o.id = $oid")
[ "$got" = t ] || fail "the outage did not end at the first good sample: $(sql "SELECT upper(during) FROM depwatch.outage WHERE id = $oid") vs $(sql "SELECT min(at) FROM depwatch.sample WHERE dependency_id = $down_id AND ok")"
got=$(sql "SELECT string_agg(action, ',' ORDER BY id) FROM depwatch.audit_log WHERE table_name = 'outage' AND row_id = $oid")
[ "$got" = "INSERT,UPDATE" ] || fail "the audit log of outage $oid is '$got', expected one INSERT and one UPDATE"
got=$(sql "SELECT count(*) FROM depwatch.outage WHERE dependency_id = $down_id AND upper_inf(during)")
[ "$got" = 0 ] || fail "'refused' still has $got open outages"
ok "the outage closed exactly once, at the first good sample (audit: INSERT,UPDATE)"

# --- d. SIGTERM -----------------------------------------------------------
# terminate_worker CAP: pg_terminate_backend the worker; a new one must run
# within CAP seconds and write samples.  Sets $took (seconds, one decimal).
terminate_worker() {
	local old new t0 deadline since
	old=$(worker_pid)
	[ -n "$old" ] || fail "no depwatch worker runs"
	lived=$(sql "SELECT extract(epoch FROM now() - backend_start)::int FROM pg_stat_activity WHERE pid = $old")
	sql "SELECT pg_terminate_backend($old)" >/dev/null
	t0=$(date +%s.%N)
	deadline=$((SECONDS + $1))
	while :; do
		new=$(worker_pid)
		[ -n "$new" ] && [ "$new" != "$old" ] && break
		[ $SECONDS -ge $deadline ] &&
			fail "$1 s after pg_terminate_backend($old) (it had run $lived s) no worker runs"
		sleep 0.1
	done
	took=$(awk "BEGIN { printf \"%.1f\", $(date +%s.%N) - $t0 }")
	since=$(sql "SELECT clock_timestamp()")
	wait_for 5 "SELECT count(DISTINCT dependency_id) FROM depwatch.sample WHERE at > '$since'" 2
}
# a worker that has been probing for a while (longer than the launcher's
# 10 s "died at once" window)
wait_for 15 "SELECT now() - backend_start > interval '11 s' FROM pg_stat_activity WHERE backend_type = 'depwatch worker'" t
terminate_worker 5
ok "after pg_terminate_backend of a worker that had run $lived s the launcher started a new one in $took s; it writes samples"
# the new worker, terminated while it has been probing for only a few seconds
sleep 2
terminate_worker 5
if awk "BEGIN { exit !($took > 5) }"; then
	echo "   NOTE: a worker that had run $lived s came back only after $took s (the launcher's quick-death back-off); that time is unmonitored"
fi
ok "terminated again after $lived s, the worker came back in $took s; it writes samples"
got=$(sql "SELECT count(*) FROM depwatch.outage WHERE dependency_id = $down_id AND kind = 'down'")
[ "$got" = 1 ] || fail "'refused' has $got down outages after the terminations"

# --- e. audit -------------------------------------------------------------
got=$(sql "SELECT ok FROM depwatch.verify_audit()")
[ "$got" = t ] || fail "verify_audit() says $(sql "SELECT * FROM depwatch.verify_audit()")"
ok "verify_audit() is ok"
! grep -E '(WARNING|ERROR): +depwatch worker' "$dir/server.log" || fail "the worker logged failures"
ok "the worker logged no warnings or errors"
