#!/usr/bin/env bash
# The demo (after make install): a throwaway cluster under tmp/demo with
# depwatch preloaded, a fresh database "demo", and scripts/demo.sql.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=tmp/demo
port=${DEPWATCH_DEMO_PORT:-15420}

scripts/cluster.sh start "$dir" "$port" "depwatch.vantage = 'demo'"
export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres
psql -qX -d postgres -c "DROP DATABASE IF EXISTS demo" -c "CREATE DATABASE demo"
psql -qX -d demo -v ON_ERROR_STOP=1 -f scripts/demo.sql
echo
echo "The demo cluster is still running: psql -h 127.0.0.1 -p $port -U postgres demo"
echo "Stop it with: scripts/cluster.sh stop $dir $port"
