#!/usr/bin/env bash
# bench/vantages.sh: replication lag and consensus lag with several vantages
# (issue 9, doc/vantages.md).  Three clusters on this machine, vantages a, b
# and c, each probing N tcp dependencies (default 1,000) every second; a and
# b publish, c subscribes and is the central node.  Measures, RUNS times:
#   1. sample lag: on c, received_at - at of a's and b's samples over
#      DURATION seconds of steady probing (p50, p99, max);
#   2. consensus query: how long consensus_outages() over the last 10
#      minutes takes on c for N dependencies (median of 5);
#   3. outage lag: every dependency's peer starts refusing; for each
#      dependency, from the moment the second vantage's outage was detected
#      (its detected_at on that vantage, the instant a quorum exists) to the
#      first poll of consensus_outages() on c that shows it (p50, p99, max).
# Run as root after make install; prints a table, also written to
# bench/vantages_results.md.  Exits with an error when the three vantages do
# not keep up with N dependencies at 1 s on this machine (each must have
# sampled all N within 3 s).  Settings (environment): N (1000), DURATION
# (30), RUNS (3).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."

N=${N:-1000} DURATION=${DURATION:-30} RUNS=${RUNS:-3}
base=tmp/vantage_bench
declare -A port=([a]=15488 [b]=15489 [c]=15481)
svc=18491
results=bench/vantages_results.md

cleanup() {
	fake refuse
	for v in a b c; do scripts/cluster.sh stop "$base/$v" "${port[$v]}"; done
}
trap cleanup EXIT
q() { PGOPTIONS="-c TimeZone=UTC" psql -X -A -t -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "${port[$1]}" -U postgres -d bank -c "$2"; }
# The peer every dependency probes: bench/listeners.py (accept and close,
# the cheapest peer there is: 3,000 connections a second on this machine's
# two cores) while up; refusing once it is stopped (the kernel answers a
# closed port with a reset).
listener_pid=
fake() {
	case $1 in
	up)
		python3 bench/listeners.py --healthy $svc >"$base/listener.out" 2>&1 &
		listener_pid=$!
		until grep -q '^ready' "$base/listener.out" 2>/dev/null; do
			kill -0 "$listener_pid" 2>/dev/null || { cat "$base/listener.out" >&2; exit 1; }
			sleep 0.1
		done ;;
	refuse)
		[ -z "$listener_pid" ] || { kill "$listener_pid" 2>/dev/null; wait "$listener_pid" 2>/dev/null || true; }
		listener_pid= ;;
	esac
}
pct="percentile_cont(ARRAY[0.5, 0.99]) WITHIN GROUP (ORDER BY x)"

for v in a b c; do scripts/cluster.sh stop "$base/$v" "${port[$v]}"; done
rm -rf "$base"
mkdir -p "$base"
fake up
for v in a b c; do
	scripts/cluster.sh start "$base/$v" "${port[$v]}" "wal_level = logical" "max_worker_processes = 16" \
		"depwatch.databases = 'bank'" "depwatch.vantage = '$v'" "shared_buffers = '64MB'"
	PGOPTIONS= psql -X -q -h 127.0.0.1 -p "${port[$v]}" -U postgres -d postgres -c "CREATE DATABASE bank"
	q $v "SET client_min_messages = warning; CREATE EXTENSION depwatch CASCADE"
	q $v "SELECT count(depwatch.add_dependency('d' || g, 'other', 'tcp', '127.0.0.1:$svc',
			every => '1 s', timeout => '500 ms', fail_after => 2, recover_after => 2))
		  FROM generate_series(1, $N) g" >/dev/null
done
for v in a b; do
	q $v "CREATE PUBLICATION depwatch_vantage FOR TABLE
			depwatch.vantage_sample (vantage, id, dependency, at, ok, latency, detail),
			depwatch.vantage_outage, depwatch.vantage_gap"
	q c "CREATE SUBSCRIPTION depwatch_$v CONNECTION 'host=127.0.0.1 port=${port[$v]} dbname=bank user=postgres'
			PUBLICATION depwatch_vantage" 2>/dev/null
done
deadline=$((SECONDS + 120))
until [ "$(q c "SELECT count(*) FROM depwatch.vantage_status WHERE reporting = $N")" = 3 ]; do
	[ $SECONDS -ge $deadline ] && {
		echo "bench: the vantages do not keep up with $N dependencies at 1 s (vantage_status, worker_status):" >&2
		q c "SELECT * FROM depwatch.vantage_status" >&2
		q a "SELECT probes_per_second, lag_p50, lag_p99 FROM depwatch.worker_status" >&2
		exit 1
	}
	sleep 1
done

rows=()
for run in $(seq 1 "$RUNS"); do
	[ -n "$listener_pid" ] || fake up
	until [ "$(q c "SELECT count(*) FROM depwatch.consensus_outages(tstzrange(now() - interval '10 minutes', now()))
			WHERE ended_at IS NULL")" = 0 ]; do sleep 1; done
	t0=$(q c "SELECT now()")
	sleep "$DURATION"
	lag=$(q c "SELECT to_char(x[1] * 1000, 'FM99990') || ' | ' || to_char(x[2] * 1000, 'FM99990') || ' | ' || to_char(m * 1000, 'FM99990')
		FROM (SELECT $pct AS x, max(x) AS m FROM (SELECT extract(epoch FROM received_at - at) AS x
			  FROM depwatch.vantage_sample WHERE vantage IN ('a', 'b') AND at > '$t0') s) p")
	times=()
	for i in 1 2 3 4 5; do
		s=$(date +%s%N)
		q c "SELECT count(*) FROM depwatch.consensus_outages(tstzrange(now() - interval '10 minutes', now()))" >/dev/null
		times+=($(( ($(date +%s%N) - s) / 1000000 )))
	done
	query=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 3p)

	# every peer refuses: poll the consensus on c until all N are down
	: >"$base/seen.csv"
	fake refuse
	deadline=$((SECONDS + 120))
	while :; do
		q c "COPY (SELECT dependency, clock_timestamp() FROM depwatch.consensus_outages(
				tstzrange(now() - interval '10 minutes', now())) WHERE ended_at IS NULL) TO STDOUT WITH (FORMAT csv)" \
			>>"$base/seen.csv"
		[ "$(cut -d, -f1 "$base/seen.csv" | sort -u | wc -l)" -ge "$N" ] && break
		[ $SECONDS -ge $deadline ] && { echo "bench: not every consensus outage appeared" >&2; exit 1; }
	done
	outlag=$(q c "CREATE TEMP TABLE seen (dependency text, at timestamptz);
		COPY seen FROM '$PWD/$base/seen.csv' WITH (FORMAT csv);
		SELECT to_char(x[1] * 1000, 'FM99990') || ' | ' || to_char(x[2] * 1000, 'FM99990') || ' | ' || to_char(m * 1000, 'FM99990')
		FROM (SELECT $pct AS x, max(x) AS m FROM (
			SELECT extract(epoch FROM min(s.at) - q.quorum_at) AS x
			FROM seen s JOIN (
				SELECT dependency, (array_agg(detected_at ORDER BY detected_at))[2] AS quorum_at
				FROM depwatch.vantage_outage WHERE kind = 'down' AND upper_inf(during) GROUP BY dependency) q
			  ON q.dependency = s.dependency
			GROUP BY s.dependency, q.quorum_at) y) p")
	rows+=("| $run | $N x 3 | $lag | $query | $outlag |")
done

{
	echo "# Vantages: replication and consensus lag"
	echo
	echo "bench/vantages.sh, $(date -u +%Y-%m-%d), $(nproc) cores shared by three clusters; N=$N tcp dependencies per vantage"
	echo "every 1 s, DURATION=$DURATION s of steady probing per run.  Times in ms."
	echo
	echo "| run | dependencies x vantages | sample lag p50 | p99 | max | consensus_outages() query | outage lag p50 | p99 | max |"
	echo "|---|---|---|---|---|---|---|---|---|"
	printf '%s\n' "${rows[@]}"
	echo
	echo "Sample lag: received_at - at on the central node for a's and b's samples (the vantage's write batching"
	echo "plus logical replication).  Outage lag: from the second vantage's detected_at (a quorum of 3 exists) to"
	echo "the first poll of consensus_outages() on the central node that shows the outage (the polls run back to"
	echo "back, each taking the query time)."
} | tee "$results"
