#!/usr/bin/env bash
# bench/load.sh: depwatch under load (issue 8, item 6).  pgbench drives a
# ledger-like workload at full speed while the probe worker probes 500 tcp
# dependencies every second; reports worker errors in the server log,
# the worker's memory at the start and end (from /proc), probes stored, and
# pgbench's throughput with and without the worker probing.
#
#   bench/load.sh [DURATION]        (seconds with probing, default 600)
#
# Environment: DURATION (same as the argument), WINDOW (seconds of each
# window of the throughput comparison, default 15), PAIRS (its pairs of
# windows, default 20), CLIENTS (pgbench clients, default 8), RESULTS
# (markdown file to write, default bench/load_results.md; "-" for none).
#
# Own cluster tmp/faults_load on port 15460 (depwatch.databases = 'ledger'),
# 10 loopback listeners on 127.0.0.1:18470-18479 (bench/listeners.py) with
# 50 dependencies each.  "Without the worker probing" means every dependency
# disabled: the worker idles (it is the same server and the same database,
# so the comparison is of probing alone).  The throughput drop comes from
# PAIRS pairs of windows after the loaded run, alternating off, on, on,
# off, off, on, ... (so a drift of the machine falls on both sides): the
# drop of each pair (its two windows are next to each other in time), and
# their median, beside the drop between the medians of all off and all on
# windows.  Short windows, many pairs: on a shared 2-core machine the tps of
# one 30 s window swings by 10 % (checkpoints, autovacuum of the ledger,
# neighbours), more than the effect measured.
#
# Then, without pgbench, what probing costs the machine: 3 pairs of 20 s
# on/off, the machine's busy CPU (/proc/stat), the worker's and the
# listeners' (the fake dependencies, which in production run elsewhere).
#
# Exits non-zero if the worker logged a warning or error, restarted, or
# stored fewer than 95 % of the samples it should have.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
cd "$repo"

DURATION=${1:-${DURATION:-600}}
WINDOW=${WINDOW:-15}
PAIRS=${PAIRS:-20}
CLIENTS=${CLIENTS:-8}
RESULTS=${RESULTS:-$here/load_results.md}
port=15460
dir=tmp/faults_load
lport_lo=18470
lport_hi=18479
ndeps=500
raw=$dir/raw

listener_pid=
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [ -n "$listener_pid" ]; then
		kill "$listener_pid" 2>/dev/null || true
		wait "$listener_pid" 2>/dev/null || true
	fi
	scripts/cluster.sh stop "$dir" "$port" || true
	[ "$rc" -eq 0 ] || echo "load: failed (exit $rc); server log: $dir/server.log" >&2
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for tool in psql pgbench python3 pg_config; do
	command -v "$tool" >/dev/null || { echo "load: $tool is missing" >&2; exit 1; }
done
[ -f "$(pg_config --sharedir)/extension/depwatch.control" ] ||
	{ echo "load: depwatch is not installed (make install)" >&2; exit 1; }

log() { echo "load: $(date -u +%H:%M:%S) $*"; }
sql() { psql -X -A -t -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d "${DB:-ledger}" -c "$1"; }

scripts/cluster.sh stop "$dir" "$port" 2>/dev/null || true
rm -rf "$dir"
mkdir -p "$dir"
scripts/cluster.sh start "$dir" "$port" "depwatch.databases = 'ledger'" "max_connections = 100" \
	"shared_buffers = '256MB'" "log_line_prefix = '%m [%p] %b '" \
	"max_wal_size = '20GB'" "checkpoint_timeout = '1h'"
mkdir -p "$raw"
DB=postgres sql "CREATE DATABASE ledger"
sql "CREATE EXTENSION depwatch CASCADE" 2>/dev/null

python3 "$here/listeners.py" --healthy "$lport_lo-$lport_hi" >"$raw/listeners.out" 2>&1 &
listener_pid=$!
for _ in $(seq 100); do
	grep -q '^ready' "$raw/listeners.out" 2>/dev/null && break
	kill -0 "$listener_pid" 2>/dev/null || { cat "$raw/listeners.out" >&2; exit 1; }
	sleep 0.2
done
grep -q '^ready' "$raw/listeners.out" || { echo "load: listeners did not start" >&2; exit 1; }

# the ledger: accounts with balances, and transfers following depwatch's
# ledger contract (bound with bind_ledger, as a bank would)
log "creating the ledger (100,000 accounts)"
sql "CREATE TABLE account (account_id int PRIMARY KEY, customer_id int NOT NULL, balance numeric NOT NULL,
		opened_at timestamptz NOT NULL DEFAULT now(), closed_at timestamptz) WITH (fillfactor = 80);
	INSERT INTO account SELECT g, g, 1000 FROM generate_series(1, 100000) g;
	CREATE TABLE transfer (txn_id bigserial PRIMARY KEY, account_id int NOT NULL, customer_id int NOT NULL,
		occurred_at timestamptz NOT NULL DEFAULT now(), amount numeric NOT NULL, fee numeric NOT NULL DEFAULT 0,
		fee_type text, capability text NOT NULL, status text NOT NULL, external boolean NOT NULL);
	CREATE INDEX ON transfer (occurred_at);
	SELECT depwatch.bind_ledger('public.transfer')" >/dev/null
sql "VACUUM ANALYZE account"
cat >"$raw/transfer.sql" <<'EOF'
\set a random(1, 100000)
\set b random(1, 100000)
\set amt random(1, 5000)
BEGIN;
UPDATE account SET balance = balance - :amt WHERE account_id = :a;
UPDATE account SET balance = balance + :amt WHERE account_id = :b;
INSERT INTO transfer (account_id, customer_id, amount, fee, fee_type, capability, status, external)
	VALUES (:a, :a, -(:amt)::numeric, 0.5, 'transfer', 'transfer', 'posted', false),
	       (:b, :b, (:amt)::numeric, 0, NULL, 'transfer', 'posted', false);
END;
EOF
chmod o+r "$raw/transfer.sql"

# 500 tcp dependencies, disabled until the loaded run
log "adding $ndeps dependencies (disabled)"
sql "SELECT count(depwatch.add_dependency('load_' || g, 'other', 'tcp',
		'127.0.0.1:' || ($lport_lo + g % ($lport_hi - $lport_lo + 1)), every => '1 s', timeout => '500 ms'))
	FROM generate_series(1, $ndeps) g" >/dev/null
sql "SELECT count(depwatch.alter_dependency(name, enabled => false)) FROM depwatch.dependency WHERE name LIKE 'load_%'" >/dev/null

worker_pid() { sql "SELECT pid FROM pg_stat_activity WHERE backend_type = 'depwatch worker' AND datname = 'ledger'"; }
for _ in $(seq 50); do wpid=$(worker_pid); [ -n "$wpid" ] && break; sleep 0.2; done
[ -n "$wpid" ] || { echo "load: no depwatch worker runs" >&2; exit 1; }
# rss PID: "VmRSS RssAnon" in kB
rss() { awk '/^VmRSS:/ { r = $2 } /^RssAnon:/ { a = $2 } END { print r " " a }' "/proc/$1/status"; }

# pgbench_run SECONDS TAG: pgbench at full speed, progress every 10 s
pgbench_run() {
	pgbench -h 127.0.0.1 -p "$port" -U postgres -n -M prepared -c "$CLIENTS" -j 2 -T "$1" -P 10 \
		--max-tries 10 -f "$raw/transfer.sql" ledger >"$raw/pgbench_$2.out" 2>&1
}
# tps TAG: the tps of a run; tps10 TAG: its 10 s figures, one a line
tps() { sed -nE 's/^tps = ([0-9.]+) .*/\1/p' "$raw/pgbench_$1.out" | head -1; }
tps10() { sed -nE 's/^progress: [0-9.]+ s, ([0-9.]+) tps.*/\1/p' "$raw/pgbench_$1.out"; }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# probing on|off: enable or disable every dependency; on waits until all
# are probed
probing() {
	sql "SELECT count(depwatch.alter_dependency(name, enabled => $([ "$1" = on ] && echo true || echo false)))
		FROM depwatch.dependency WHERE name LIKE 'load_%'" >/dev/null
	[ "$1" = on ] || { sleep 2; return; }
	for _ in $(seq 100); do
		[ "$(sql "SELECT dependencies || ',' || (probes_per_second >= $ndeps * 0.95) FROM depwatch.worker_status WHERE database = 'ledger'")" = "$ndeps,true" ] && break
		sleep 0.2
	done
	sleep 2
}

log "warming up (20 s of pgbench)"
pgbench_run 20 warmup

log_start=$(stat -c %s "$dir/server.log")
probing on
rss_start=$(rss "$wpid")
t0=$(sql "SELECT clock_timestamp()")
log "loaded run: $DURATION s of pgbench while the worker (pid $wpid, VmRSS/RssAnon ${rss_start/ /\/} kB) probes $ndeps dependencies"
# worker figures every 10 s while pgbench runs
(
	while sleep 10; do
		kill -0 "$wpid" 2>/dev/null || break
		echo "$(date +%s) $(rss "$wpid") $(sql "SELECT probes_per_second || ' ' || round(extract(epoch FROM lag_p99) * 1000)
			|| ' ' || in_flight FROM depwatch.worker_status WHERE database = 'ledger'" 2>/dev/null || echo '- - -')"
	done
) >"$raw/worker.tsv" &
watch_pid=$!
pgbench_run "$DURATION" on
t1=$(sql "SELECT clock_timestamp()")
kill "$watch_pid" 2>/dev/null || true
wait "$watch_pid" 2>/dev/null || true
rss_end=$(rss "$wpid")
wpid_end=$(worker_pid)
samples=$(sql "SELECT count(*) || ' ' || count(*) FILTER (WHERE NOT ok) FROM depwatch.sample
	WHERE at >= '$t0' AND at < '$t1'")
expected=$(sql "SELECT round(extract(epoch FROM '$t1'::timestamptz - '$t0') * $ndeps)")
status=$(sql "SELECT coalesce(last_error, '<none>') FROM depwatch.worker_status WHERE database = 'ledger'")
outages=$(sql "SELECT count(*) FROM depwatch.outage")
# the worker's own lines (log_line_prefix has the backend type), and the
# postmaster's about a depwatch process that died; pgbench's deadlocks
# (retried by --max-tries) are not the worker's
log_lines=$(tail -c +"$((log_start + 1))" "$dir/server.log" |
	grep -cE 'depwatch (worker|launcher) +(WARNING|ERROR|FATAL|PANIC)|depwatch.*(terminated by signal|exited with exit code)' || true)
tail -c +"$((log_start + 1))" "$dir/server.log" | grep -E '(WARNING|ERROR|FATAL|PANIC)|terminated by signal|exited with exit code' >"$raw/log_problems.txt" || true


# the throughput comparison: off, on, on, off, off, on, ...
order=()
for i in $(seq "$PAIRS"); do
	if [ $((i % 2)) = 1 ]; then order+=(off on); else order+=(on off); fi
done
n_off=0 n_on=0 state=on
for m in "${order[@]}"; do
	[ "$m" = "$state" ] || { probing "$m"; state=$m; }
	if [ "$m" = on ]; then n_on=$((n_on + 1)); tag=cmp_on$n_on; else n_off=$((n_off + 1)); tag=cmp_off$n_off; fi
	log "comparison window $tag: $WINDOW s"
	pgbench_run "$WINDOW" "$tag"
done
list() { for i in $(seq "$PAIRS"); do tps "cmp_$1$i"; done; }
tps_off=$(list off | median)
tps_on_cmp=$(list on | median)
tps_on=$(tps on)
drop=$(awk -v a="$tps_off" -v b="$tps_on_cmp" 'BEGIN { printf "%.1f", 100 * (a - b) / a }')
pair_drops=$(paste <(list off) <(list on) | awk '{ printf "%.1f\n", 100 * ($1 - $2) / $1 }')
pair_median=$(echo "$pair_drops" | median)
# how sure that median is: a 95 % bootstrap interval (10,000 resamples of
# the pairs, fixed seed), since one pair's drop swings by more than the bound
pair_ci=$(echo "$pair_drops" | python3 -c '
import random, statistics, sys
d = [float(x) for x in sys.stdin.read().split()]
r = random.Random(1)
m = sorted(statistics.median(r.choices(d, k=len(d))) for _ in range(10000))
print("%.1f to %.1f" % (m[249], m[9749]))')

# what probing costs without pgbench: busy CPU of the machine, the worker
# and the listeners, in % of one core
cpu_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 }' /proc/stat; }
proc_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
cpu_window() {					# cpu_window TAG: one 20 s reading
	local m0 w0 l0 m1 w1 l1
	m0=$(cpu_ticks) w0=$(proc_ticks "$wpid") l0=$(proc_ticks "$listener_pid")
	sleep 20
	m1=$(cpu_ticks) w1=$(proc_ticks "$wpid") l1=$(proc_ticks "$listener_pid")
	echo "$1 $(awk -v m=$((m1 - m0)) -v w=$((w1 - w0)) -v l=$((l1 - l0)) -v hz="$hz" \
		'BEGIN { printf "%.1f %.1f %.1f", 100 * m / hz / 20, 100 * w / hz / 20, 100 * l / hz / 20 }')"
}
# after a pause for the autovacuum pgbench leaves behind; then on, off,
# off, on, on, off: a drift of the machine falls on both sides
log "CPU without pgbench: 3 pairs of 20 s on/off"
sleep 20
: >"$raw/cpu.txt"
for m in on off off on on off; do
	probing "$m"; cpu_window "$m" >>"$raw/cpu.txt"
done
cpu_col() { awk -v m="$1" -v c="$2" '$1 == m { print $c }' "$raw/cpu.txt" | median; }
cpu_machine=$(awk -v on="$(cpu_col on 2)" -v off="$(cpu_col off 2)" 'BEGIN { printf "%.1f", on - off }')
cpu_worker=$(cpu_col on 3)
cpu_listener=$(cpu_col on 4)
cpu_rest=$(awk -v m="$cpu_machine" -v w="$cpu_worker" -v l="$cpu_listener" 'BEGIN { printf "%.1f", m - w - l }')
cpu_depwatch=$(awk -v m="$cpu_machine" -v l="$cpu_listener" -v n="$(nproc)" 'BEGIN { printf "%.1f", (m - l) / n }')
failed_tx=$(sed -nE 's/^number of failed transactions: ([0-9]+).*/\1/p' "$raw/pgbench_on.out")
rss_peak=$(awk 'BEGIN { m = 0 } $2 > m { m = $2 } END { print m }' "$raw/worker.tsv")
read -r n_samples n_bad <<<"$samples"
coverage=$(awk -v n="$n_samples" -v e="$expected" 'BEGIN { printf "%.2f", 100 * n / e }')
lag=$(awk '$5 != "-" { print $5 }' "$raw/worker.tsv" | sort -n | awk '{ v[NR] = $1 } END { if (NR) printf "%d / %d", v[int((NR + 1) / 2)], v[NR]; else print "-" }')

summary=$(cat <<EOF
| figure | value |
|---|---|
| loaded run | $DURATION s, $ndeps tcp dependencies every 1 s, pgbench $CLIENTS clients (ledger transfer: 2 UPDATEs, 2 ledger rows) |
| worker errors in the server log (WARNING/ERROR/FATAL, crash or exit lines) | $log_lines |
| worker_status.last_error | $status |
| worker restarted | $([ "$wpid_end" = "$wpid" ] && echo "no (pid $wpid throughout)" || echo "YES: pid $wpid, then $wpid_end") |
| samples stored / expected | $n_samples / $expected ($coverage %), $n_bad failed; outages: $outages |
| worker_status.lag_p99, median / max of 10 s readings (ms) | $lag |
| worker VmRSS, start → end (peak) | $(echo "$rss_start" | cut -d' ' -f1) → $(echo "$rss_end" | cut -d' ' -f1) kB ($rss_peak kB) |
| worker RssAnon (private memory), start → end | $(echo "$rss_start" | cut -d' ' -f2) → $(echo "$rss_end" | cut -d' ' -f2) kB |
| pgbench tps over the loaded run (10 s figures: median, min) | $tps_on ($(tps10 on | median), $(tps10 on | sort -n | head -1)); failed transactions: ${failed_tx:-0} |
| comparison, $PAIRS pairs of $WINDOW s windows: tps without probing | $(list off | paste -sd, | sed 's/,/, /g') (median $tps_off) |
| comparison: tps with 500 dependencies probed | $(list on | paste -sd, | sed 's/,/, /g') (median $tps_on_cmp) |
| throughput drop of each pair (%) | $(echo "$pair_drops" | paste -sd, | sed 's/,/, /g') |
| throughput drop: median of the pairs | **$pair_median %** (bound: 3 %); 95 % bootstrap interval $pair_ci % |
| throughput drop: between the medians of all off and all on windows | $drop % |
| CPU of probing without pgbench (on − off, medians of 3 pairs of 20 s, % of one core) | machine $cpu_machine: worker $cpu_worker, listeners (fake dependencies) $cpu_listener, rest (server, kernel) $cpu_rest |
| CPU of probing without the listeners, share of the machine's $(nproc) cores | $cpu_depwatch % |
EOF
)
echo
echo "$summary"
if [ "$RESULTS" != - ]; then
	{
		echo "# depwatch under load: results"
		echo
		echo "Generated by \`bench/load.sh $DURATION\` on $(date -u '+%Y-%m-%d %H:%M') UTC;"
		echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo),"
		echo "$(sql "SELECT version()" | cut -d' ' -f1-2), shared with other jobs (pgbench, the listeners"
		echo "and the server on the same cores).  Throughput comparison: after the loaded run,"
		echo "alternating windows with every dependency disabled (off) and enabled (on), same server."
		echo
		echo "$summary"
		echo
		echo "Worker every 10 s (unix time, VmRSS kB, RssAnon kB, probes/s, lag_p99 ms, in flight):"
		echo
		echo '```'
		cat "$raw/worker.tsv"
		echo '```'
		if [ -s "$raw/log_problems.txt" ]; then
			echo
			echo "Server log lines with WARNING, ERROR, FATAL, PANIC or a process exit during the loaded run:"
			echo
			echo '```'
			head -50 "$raw/log_problems.txt"
			echo '```'
		fi
	} >"$RESULTS"
	log "written $RESULTS"
fi

rc=0
[ "$log_lines" = 0 ] || { echo "load: the worker logged $log_lines problems (see $raw/log_problems.txt)" >&2; rc=1; }
[ "$status" = "<none>" ] || { echo "load: worker_status.last_error is '$status'" >&2; rc=1; }
[ "$wpid_end" = "$wpid" ] || { echo "load: the worker restarted" >&2; rc=1; }
awk -v c="$coverage" 'BEGIN { exit !(c >= 95) }' || { echo "load: only $coverage % of the samples were stored" >&2; rc=1; }
exit $rc
