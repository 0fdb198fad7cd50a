#!/usr/bin/env bash
# bench/availability.sh: depwatch's availability analytics (C) against the
# best plain-SQL implementation of the same numbers, on generated data.
#
#   availability(one year, 'day')   200 dependencies, 50 capabilities
#   capability_outages(...)          (any-of, k-of-n, nested two deep),
#                                    500,000 outage windows, maintenance
#   derive_outages(...)              10,000,000 samples of one dependency
#
# Starts its own throwaway cluster (tmp/bench_avail, port 15433), makes the
# data (bench/availability/data.sql and samples.sql, a fixed seed), loads
# the references (reference.sql) and the harness (harness.sql), checks
# that the period is monitored and has outages (every dependency is
# tracked since before it: SPEC section 7; ref.check_monitored), runs each
# contender RUNS times, alternating, checks that the results are identical
# (every column of every row), and prints medians and ratios, also written
# to bench/availability_results.md.  It fails, and leaves the results file
# alone, when the period is not monitored or a result differs.  The server
# is stopped at the end, also on failure.  Run as root (the server runs as the postgres OS user) or as
# any user that can run PostgreSQL; takes 10-15 minutes on 2 cores.
#
# Settings (environment): RUNS (default 5), SEED (default 0.42),
# SAMPLES (default 10000000), PORT (15433) and DIR (tmp/bench_avail) of the
# cluster, TZ_BENCH (session time zone of the reports,
# default Europe/Berlin, so that day buckets cross both DST changes).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
cd "$repo"

port=${PORT:-15433}
dir=${DIR:-tmp/bench_avail}
sqldir=$here/availability
results=$here/availability_results.md
RUNS=${RUNS:-5}
SEED=${SEED:-0.42}
SAMPLES=${SAMPLES:-10000000}
TZ_BENCH=${TZ_BENCH:-Europe/Berlin}
# a full past year, for availability (the future would be unmonitored)
year_start='2025-01-01 00:00+00'
year_end='2026-01-01 00:00+00'
period='[2025-01-01 00:00, 2026-01-01 00:00)'	# in TZ_BENCH
samples_t0='2025-03-01 00:00+00'
fail_after=3 recover_after=2

cleanup() {
	rc=$?
	trap - EXIT INT TERM
	scripts/cluster.sh stop "$dir" "$port" || true
	if [ "$rc" -ne 0 ]; then
		echo "bench/availability: failed (exit $rc); server log: $dir/server.log" >&2
	else
		rm -rf "$dir/data"	# 2 GB of generated data; the logs stay
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for tool in psql pg_config; do
	command -v "$tool" >/dev/null || { echo "bench/availability: $tool is missing" >&2; exit 1; }
done
[ -f "$(pg_config --sharedir)/extension/depwatch.control" ] ||
	{ echo "bench/availability: depwatch is not installed (make install)" >&2; exit 1; }

# A fresh cluster.  Samples in the past are kept (sample_retention); no
# probe worker runs in the bench databases (depwatch.databases).
scripts/cluster.sh stop "$dir" "$port" 2>/dev/null || true
rm -rf "$dir"
mkdir -p "$dir"
scripts/cluster.sh start "$dir" "$port" \
	"depwatch.databases = 'postgres'" \
	"depwatch.sample_retention = '3650d'" \
	"shared_buffers = '1GB'" "work_mem = '256MB'" "maintenance_work_mem = '512MB'"
psql() { command psql -h 127.0.0.1 -p "$port" -U postgres -X -q -v ON_ERROR_STOP=1 "$@"; }
psql -d postgres -c "CREATE DATABASE bench_avail" -c "CREATE DATABASE bench_derive"
# one at a time: the extension creates cluster-wide roles the first time
for db in bench_avail bench_derive; do
	psql -d "$db" -c "SET client_min_messages = warning" -c "CREATE EXTENSION depwatch CASCADE"
done

# The data, both databases at once (two cores).
echo "== data (seed $SEED)"
t0=$(date +%s)
psql -d bench_avail -v seed="$SEED" -v year_start="$year_start" -v year_end="$year_end" \
	-f "$sqldir/data.sql" >"$dir/data.out" 2>&1 &
data_pid=$!
psql -d bench_derive -v seed="$SEED" -v samples="$SAMPLES" -v t0="$samples_t0" \
	-f "$sqldir/samples.sql" >"$dir/samples.out" 2>&1 &
samples_pid=$!
wait "$data_pid" || { cat "$dir/data.out" >&2; exit 1; }
wait "$samples_pid" || { cat "$dir/samples.out" >&2; exit 1; }
gen_seconds=$(( $(date +%s) - t0 ))
for db in bench_avail bench_derive; do
	psql -d "$db" -f "$sqldir/reference.sql" -f "$sqldir/harness.sql"
done
catalog=$(psql -d bench_avail -At -F ' ' -c "
	SELECT (SELECT count(*) FROM depwatch.dependency),
		   (SELECT count(*) FROM depwatch.dependency WHERE probe = 'none'),
		   (SELECT count(*) FROM depwatch.capability),
		   (SELECT count(*) FROM ref.capability_level WHERE lvl > 0),
		   (SELECT max(lvl) FROM ref.capability_level),
		   (SELECT count(*) FROM depwatch.outage),
		   (SELECT count(*) FROM depwatch.outage WHERE kind = 'down'),
		   (SELECT count(*) FROM depwatch.outage WHERE kind = 'degraded'),
		   (SELECT count(*) FROM depwatch.maintenance WHERE dependency_id IS NOT NULL),
		   (SELECT count(*) FROM depwatch.maintenance WHERE capability_id IS NOT NULL),
		   (SELECT count(*) FROM ref.requirement WHERE k > 1),
		   (SELECT count(*) FROM ref.requirement WHERE k = 1 AND cardinality(members) > 1)")
read -r n_deps n_none n_caps n_nested depth n_outages n_down n_degraded n_dep_maint n_cap_maint n_kofn n_anyof <<<"$catalog"
sample_info=$(psql -d bench_derive -At -F ' ' -c "
	SELECT count(*), count(*) FILTER (WHERE NOT ok),
		   count(*) FILTER (WHERE ok AND latency > interval '800 ms'),
		   to_char(min(at) AT TIME ZONE 'UTC', 'YYYY-MM-DD'), to_char(max(at) AT TIME ZONE 'UTC', 'YYYY-MM-DD')
	FROM depwatch.sample")
read -r n_samples n_bad n_slow s_first s_last <<<"$sample_info"
echo "   $n_deps dependencies ($n_none with probe 'none': recorded or imported, so monitored all the time -- no monitor gaps),"
echo "   $n_caps capabilities ($n_anyof any-of groups, $n_kofn k-of-n groups; $n_nested require capabilities, nested $depth deep),"
echo "   $n_outages outage windows ($n_down down, $n_degraded degraded), maintenance: $n_dep_maint on dependencies, $n_cap_maint on capabilities;"
echo "   $n_samples samples ($n_bad bad, $n_slow slow) from $s_first to $s_last; made in ${gen_seconds} s"

# The period must be monitored, with outages in it: before its
# tracked_since a dependency is untracked, and every report counts that
# time as unmonitored (0.3), so a bench whose dependencies were tracked only
# since they were added would race over an empty year.  Raises otherwise.
tracked=$(psql -d bench_avail -At -F ' ' -c "
	SELECT to_char(min(tracked_since) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'),
		   to_char(max(tracked_since) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI')
	FROM depwatch.dependency")
read -r tracked_min_d tracked_min_t tracked_max_d tracked_max_t <<<"$tracked"
check=$(PGOPTIONS="-c TimeZone=$TZ_BENCH" psql -d bench_avail -At -F ' ' \
	-c "SELECT * FROM ref.check_monitored('$period')")
read -r n_targets monitored_pct downtime_pct deps_with_outages caps_with_outages <<<"$check"
echo "   dependencies tracked since $tracked_min_d $tracked_min_t .. $tracked_max_d $tracked_max_t UTC;"
echo "   availability() over the period: $monitored_pct % of $n_targets targets' time monitored, $downtime_pct % of it down;"
echo "   $deps_with_outages dependencies and $caps_with_outages capabilities with outages"

echo "== races ($RUNS runs each, alternating; session time zone $TZ_BENCH)"
# progress: the harness's notices, without psql's file:line prefix
progress() { sed -u 's/^psql:[^ ]*: NOTICE:  /   /'; }
psql -d bench_avail -v period="$period" -v tz="$TZ_BENCH" -v runs="$RUNS" \
	-f "$sqldir/race_availability.sql" 2>&1 | progress
psql -d bench_derive -v tz="$TZ_BENCH" -v runs="$RUNS" -v samples="$n_samples" \
	-v fail_after="$fail_after" -v recover_after="$recover_after" \
	-f "$sqldir/race_derive.sql" 2>&1 | progress

# The report.
report_sql="SELECT label, runs, round(c_median::numeric, 3), round(ref_median::numeric, 3),
				   round(ratio::numeric, 1), rows, CASE WHEN identical THEN 'yes' ELSE 'NO' END,
				   round(c_min::numeric, 3) || '-' || round(c_max::numeric, 3),
				   round(ref_min::numeric, 3) || '-' || round(ref_max::numeric, 3)
			FROM ref.report ORDER BY label"
rows=$( { psql -d bench_avail -At -F '|' -c "$report_sql"; psql -d bench_derive -At -F '|' -c "$report_sql"; } )
pgversion=$(psql -d postgres -At -c "SELECT version()")
jit=$(psql -d postgres -At -c "SHOW jit")
cpu=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //' || echo unknown)
mem=$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
cores=$(nproc)
load=$(cut -d' ' -f1-3 /proc/loadavg)

echo
printf '%-66s %9s %9s %7s %9s  %s\n' "median of $RUNS runs, seconds" "C" "plain SQL" "ratio" "rows" "identical"
while IFS='|' read -r label n c r ratio nrows same crange rrange; do
	printf '%-66s %9s %9s %6sx %9s  %s\n' "$label" "$c" "$r" "$ratio" "$nrows" "$same"
done <<<"$rows"
echo
echo "(ratio = plain-SQL median / C median; the issue's target is at least 5x)"
if grep -q '|NO|' <<<"$rows"; then
	echo "bench/availability: a contender's results differ (identical: NO); ${results#"$repo"/} left as it was" >&2
	exit 1
fi

{
	echo "# Availability analytics: C against plain SQL"
	echo
	echo "Made by \`bench/availability.sh\` (part of \`make bench\`) on $(date -u '+%Y-%m-%d %H:%M UTC')."
	echo
	echo "## Machine"
	echo
	echo "- $cores cores ($(nproc --all) online), $cpu"
	echo "- RAM: $mem"
	echo "- $pgversion"
	echo "- server settings: shared_buffers 1GB, work_mem 256MB, jit $jit, fsync off; session TimeZone $TZ_BENCH"
	echo "- load average when the report was written: $load (the machine is shared; runs alternate"
	echo "  between the contenders so that background load hits both alike)"
	echo
	echo "## Data (seed $SEED)"
	echo
	echo "- $n_deps dependencies, all with probe \`none\` (outages recorded or imported), so there are no"
	echo "  monitor gaps, tracked since $tracked_min_d $tracked_min_t UTC (a month before the year;"
	echo "  SPEC section 7: before it a dependency is untracked, unmonitored in every report):"
	echo "  every second of the year is monitored.  Checked before the races (\`ref.check_monitored\`):"
	echo "  \`availability()\` over the period counts $monitored_pct % of the $n_targets targets' time"
	echo "  monitored, $downtime_pct % of it down; $deps_with_outages dependencies and $caps_with_outages"
	echo "  capabilities have outages"
	echo "- $n_caps capabilities: $n_anyof any-of groups (\`a|b|c\`), $n_kofn k-of-n groups (\`2:a|b|c\`,"
	echo "  \`3:a|b|c|d|e\`); $n_nested capabilities require capabilities, nested $depth deep"
	echo "- $n_outages outage windows over $year_start .. $year_end: $n_down \`down\`, $n_degraded"
	echo "  \`degraded\` (never overlapping within one dependency and kind; 8 % shared by a site's"
	echo "  dependencies), inserted in bulk"
	echo "- maintenance windows: $n_dep_maint on dependencies, $n_cap_maint on capabilities"
	echo "- $n_samples samples of one dependency, one a second, $s_first .. $s_last: $n_bad bad,"
	echo "  $n_slow slow (blips, bad and slow streaks, flapping recoveries); derive_outages with"
	echo "  fail_after $fail_after, recover_after $recover_after"
	echo "- data made in $gen_seconds s"
	echo
	echo "## Results"
	echo
	echo "Period: \`$period\` in $TZ_BENCH (day buckets of 23 and 25 hours at the DST changes)."
	echo "\`availability\` is what users call (since 0.3 SQL over the C figures of"
	echo "\`depwatch_internal._availability\`, adding each interval's seconds and the impact-tolerance"
	echo "columns, NULL here: no capability of this data has a tolerance), against the reference's"
	echo "figures with the same columns added the same way; \`C figures alone\` races"
	echo "\`_availability\`'s 16 columns (what availability() returned in 0.2) against the reference's."
	echo "Each contender ran $RUNS times, alternating which went first, each run materialising its"
	echo "whole result; seconds are wall-clock medians; ratio = plain SQL / C.  capability_outages"
	echo "is called once per capability (\`CROSS JOIN LATERAL\` over depwatch.capability), as a"
	echo "report of every capability's windows would call it; tier 0 needs dependencies only, the"
	echo "top tier is nested two deep."
	echo
	echo "| contender | C median (s) | plain SQL median (s) | ratio | at least 5x | rows | identical | C range (s) | SQL range (s) |"
	echo "|---|---:|---:|---:|---|---:|---|---|---|"
	while IFS='|' read -r label n c r ratio nrows same crange rrange; do
		target=$(awk -v r="$ratio" 'BEGIN { print (r >= 5 ? "yes" : "no") }')
		echo "| \`$label\` | $c | $r | ${ratio}x | $target | $nrows | $same | $crange | $rrange |"
	done <<<"$rows"
	echo
	echo "\"Identical\": the last run's two results have the same rows, column for column, both ways"
	echo "(\`EXCEPT ALL\`), and the same md5 over their rows' text forms in order; every run returned"
	echo "the same number of rows."
	echo
	echo "The plain-SQL references are in \`bench/availability/reference.sql\`: multiranges"
	echo "(\`range_agg\`, \`range_intersect_agg\`, \`*\`, \`-\`, \`@>\`); a k-of-n group fails on the union"
	echo "of the intersections of its (n-k+1)-member subsets (a +1/-1 sweep with window sums when"
	echo "there are many); one set-based statement per nesting level; \`generate_series\` buckets;"
	echo "for derive_outages a window-function gaps-and-islands query over the samples in index"
	echo "order.  They cover what the data holds (no monitor gaps, a period in the past) and refuse"
	echo "anything else."
	cat "$sqldir/notes.md"
} >"$results"
echo "written to ${results#"$repo"/}"
