#!/usr/bin/env bash
# A BI tool reads depwatch (SPEC section 10, issue 21 item 3): a login role
# in depwatch_reader connects with psycopg2 (the driver Superset and most
# Python notebooks use) and reads the views capability_outages_recent,
# incidents, last_probe, outages and availability_daily, and the reports
# availability(period, 'day') and tolerance_breaches(period).  Every
# *_seconds column arrives as a number (decimal.Decimal or float, type
# numeric), never as a datetime.timedelta, and equals its interval's
# total_seconds(); the data's own numbers come out (a 2 h 30 min run of a
# capability with a 2 h tolerance: breached).  A throwaway cluster on port
# 17120.  Each check prints "ok - ..." or "FAIL - ..."; the script exits
# non-zero if any failed.  Needs python3-psycopg2 (scripts/deps.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."

dir=tmp/it_bi_reader
port=17120
export PGOPTIONS='-c client_min_messages=warning'
# Debian's python3, which has python3-psycopg2 (another python3 may come
# first on PATH)
python=/usr/bin/python3

cleanup() {
	local rc=$?
	scripts/cluster.sh stop "$dir" "$port"
	exit $rc
}
trap cleanup EXIT

sql() { psql -X -A -t -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d bank "$@"; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

scripts/cluster.sh stop "$dir" "$port"
port_open "$port" && { echo "FAIL - port $port is in use; this test needs it free"; exit 1; }
rm -rf "$dir"
scripts/cluster.sh start "$dir" "$port" "depwatch.vantage = 'it_bi'"
psql -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -c "CREATE DATABASE bank"
sql -c "CREATE EXTENSION depwatch CASCADE"

# Two bureaus, both down together from 4 h to 1 h 30 min ago (the
# capability opening, with a 2 h tolerance, is down 2 h 30 min: breached),
# a sample with a latency, an incident over it; a login role that reads.
sql <<'EOF' >/dev/null
SET search_path = depwatch;
SELECT add_dependency('bureau_a', 'credit_bureau', tracked_since => now() - interval '30 days');
SELECT add_dependency('bureau_b', 'credit_bureau', tracked_since => now() - interval '30 days');
SELECT add_capability('opening', ARRAY['bureau_a|bureau_b'], impact_tolerance => '2 hours');
SELECT record_outage('bureau_a', date_trunc('minute', now()) - interval '5 hours', date_trunc('minute', now()) - interval '1 hour');
SELECT record_outage('bureau_b', date_trunc('minute', now()) - interval '4 hours', date_trunc('minute', now()) - interval '90 minutes');
SELECT report_sample('bureau_a', true, '123.5 ms', now() - interval '1 minute', detail => 'HTTP 200');
SELECT open_incident('bureaus down', date_trunc('minute', now()) - interval '4 hours');
SELECT close_incident(1, date_trunc('minute', now()) - interval '90 minutes', 'bureau overload');
CREATE ROLE bi_analyst LOGIN IN ROLE depwatch_reader;
EOF

PGPORT=$port "$python" - <<'EOF'
import datetime
import decimal
import os
import sys

import psycopg2

NUMERIC = 1700
failures = 0


def check(cond, what):
    global failures
    print(("ok - " if cond else "FAIL - ") + what)
    if not cond:
        failures += 1


conn = psycopg2.connect(host="127.0.0.1", port=int(os.environ["PGPORT"]),
                        user="bi_analyst", dbname="bank")
conn.set_session(readonly=True)
cur = conn.cursor()
cur.execute("SELECT current_user, pg_has_role('depwatch_reader', 'MEMBER')")
check(cur.fetchone() == ("bi_analyst", True), "connected as bi_analyst, a member of depwatch_reader")

queries = {
    "capability_outages_recent": "SELECT * FROM depwatch.capability_outages_recent",
    "incidents": "SELECT * FROM depwatch.incidents",
    "last_probe": "SELECT * FROM depwatch.last_probe",
    "outages": "SELECT * FROM depwatch.outages",
    "availability_daily": "SELECT * FROM depwatch.availability_daily",
    "availability(last 2 days, 'day')":
        "SELECT * FROM depwatch.availability(tstzrange(now() - interval '2 days', now()), 'day')",
    "tolerance_breaches(last day)":
        "SELECT * FROM depwatch.tolerance_breaches(tstzrange(now() - interval '1 day', now()))",
}
results = {}
for name, query in queries.items():
    cur.execute(query)
    cols = [d.name for d in cur.description]
    types = {d.name: d.type_code for d in cur.description}
    rows = [dict(zip(cols, r)) for r in cur.fetchall()]
    results[name] = rows
    seconds = [c for c in cols if c.endswith("_seconds")]
    check(bool(rows) and bool(seconds), f"{name}: {len(rows)} rows, columns {', '.join(seconds)}")
    bad = [(c, type(r[c]).__name__) for r in rows for c in seconds
           if r[c] is not None and not isinstance(r[c], (decimal.Decimal, float))]
    check(not bad and all(types[c] == NUMERIC for c in seconds),
          f"{name}: every *_seconds value is numeric (Decimal or float), none a timedelta {bad[:3]}")
    # each companion of an interval column equals its total_seconds()
    pairs = [(c[:-len("_seconds")], c) for c in seconds if c[:-len("_seconds")] in cols]
    wrong = [(i, s) for r in rows for i, s in pairs
             if (r[i] is None) != (r[s] is None)
             or (r[i] is not None and
                 (not isinstance(r[i], datetime.timedelta)
                  or decimal.Decimal(str(r[i].total_seconds())) != r[s]))]
    check(not wrong, f"{name}: each interval arrives as a timedelta and its *_seconds equals total_seconds() {wrong[:3]}")

inc = results["incidents"][0]
check((inc["duration_seconds"], inc["dora_major"] is not None, inc["fss_reportable"] is not None)
      == (decimal.Decimal(9000), True, True),
      f"incidents: 2 h 30 min (9000 s), with its DORA and FSS classification ({inc['duration_seconds']}, "
      f"dora_major {inc['dora_major']}, fss_reportable {inc['fss_reportable']})")
down = [r for r in results["capability_outages_recent"] if r["kind"] == "down"]
check([(r["capability"], r["duration_seconds"]) for r in down] == [("opening", decimal.Decimal(9000))],
      "capability_outages_recent: opening down 9000 s")
lp = {r["dependency"]: r for r in results["last_probe"]}
check(lp["bureau_a"]["ok"] is True and lp["bureau_a"]["latency_seconds"] == decimal.Decimal("0.1235")
      and lp["bureau_a"]["latency_ms"] == decimal.Decimal("123.5") and lp["bureau_a"]["detail"] == "HTTP 200"
      and lp["bureau_b"]["at"] is None,
      "last_probe: bureau_a's sample (0.1235 s, 123.5 ms, HTTP 200); bureau_b none")
opening = [r for r in results["availability(last 2 days, 'day')"] if r["target"] == "opening"]
worst = max(r["worst_disruption_seconds"] for r in opening)
check(worst == decimal.Decimal(9000) and any(r["tolerance_breached"] for r in opening)
      and all(isinstance(r["tolerance_breached"], bool) for r in opening),
      f"availability: opening's worst disruption 9000 s, breached (worst {worst})")
deps = [r for r in results["availability(last 2 days, 'day')"] if r["target_type"] == "dependency"]
check(all(r["worst_disruption"] is None and r["tolerance_breached"] is None for r in deps),
      "availability: no tolerance columns for dependencies")
tb = results["tolerance_breaches(last day)"]
check([(r["capability"], r["lasted_seconds"], r["headroom_seconds"], r["breached"]) for r in tb]
      == [("opening", decimal.Decimal(9000), decimal.Decimal(-1800), True)],
      "tolerance_breaches: lasted 9000 s, headroom -1800 s")
sys.exit(1 if failures else 0)
EOF
