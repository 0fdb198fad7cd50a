#!/usr/bin/env bash
# The demo (after make install): a throwaway cluster under tmp/demo with
# depwatch preloaded, then
#   1. the live part (scripts/demo_live.sh): the real probe worker of
#      database "live" watches fake services while both incidents are
#      replayed on a compressed timeline;
#   2. the historical part (scripts/demo.sql) in database "demo": both
#      incidents as the public timelines give them, a generated ledger
#      around them, and every report;
#   3. tmp/demo/timeline.svg, tmp/demo/report.json, resilience_report.json
#      and the customers'
#      status pages tmp/demo/status.html and status_launch_day.html.
# DEPWATCH_DEMO_SHORT=1 runs a shorter timeline on a smaller ledger (the
# demo's test); DEPWATCH_DEMO_PORT picks the port (15420) and
# DEPWATCH_DEMO_DIR the directory (tmp/demo).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${DEPWATCH_DEMO_DIR:-tmp/demo}
export DEPWATCH_DEMO_DIR=$dir
port=${DEPWATCH_DEMO_PORT:-15420}
transfers=1000000 customers=100000
if [ "${DEPWATCH_DEMO_SHORT:-0}" = 1 ]; then
	transfers=100000 customers=10000
fi

# a fresh cluster every time: nothing left over from an earlier run
scripts/cluster.sh stop "$dir" "$port"
rm -rf "$dir"
scripts/cluster.sh start "$dir" "$port" "depwatch.vantage = 'demo'" "depwatch.databases = 'live'"
export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres

echo "== Part 1: live (about $([ "${DEPWATCH_DEMO_SHORT:-0}" = 1 ] && echo 1 || echo 2) minutes)"
scripts/demo_live.sh

echo
echo "== Part 2: the two incidents as they happened, on a generated ledger"
psql -qX -d postgres -c "DROP DATABASE IF EXISTS demo WITH (FORCE)" -c "CREATE DATABASE demo"
psql -qX -d demo -v ON_ERROR_STOP=1 -v transfers="$transfers" -v customers="$customers" \
	-v outdir="$(pwd)/$dir" -f scripts/demo.sql
echo
echo "Pictures and reports:"
echo "  $(pwd)/$dir/timeline.svg          both incidents, one row per dependency and capability"
echo "  $(pwd)/$dir/report.json           incident_report(2): the fire, for the regulator"
echo "  $(pwd)/$dir/report_launch_day.json incident_report(1): launch day"
echo "  $(pwd)/$dir/resilience_report.json resilience_report(): Q4 2022, the saved scenario run again"
echo "  $(pwd)/$dir/status.html           status_page(): what customers read, 90 days up to the fire"
echo "  $(pwd)/$dir/status_launch_day.html status_page(): the same, up to launch day"
echo
echo "The demo cluster is still running: psql -h 127.0.0.1 -p $port -U postgres demo"
echo "(database \"live\" holds the live part).  Stop it with: scripts/cluster.sh stop $dir $port"
