#!/usr/bin/env bash
# incident_report() against its JSON Schema (doc/incident_report.schema.json,
# draft 2020-12, checked with python3-jsonschema): a closed incident with
# a ledger bound and a fee policy (every part filled in), an open one, and
# one without a ledger; and a report with a part removed or mistyped must
# fail the schema, so the check can fail.
set -uo pipefail
cd "$(dirname "$0")/../.."

dir=tmp/it_report
port=15473
failures=0
ok() { echo "ok - $*"; }
fail() { echo "FAIL - $*"; failures=$((failures + 1)); }
cleanup() { scripts/cluster.sh stop "$dir" "$port" >/dev/null 2>&1 || true; }
trap cleanup EXIT

cleanup
rm -rf "$dir"
mkdir -p "$dir"
scripts/cluster.sh start "$dir" "$port" >/dev/null || { echo "FAIL - could not start the cluster"; exit 1; }
sql() { psql -X -A -t -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d bank "$@"; }
psql -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -c "CREATE DATABASE bank" || exit 1

sql >/dev/null <<'SQL' || { echo "FAIL - setting up"; exit 1; }
SET client_min_messages = warning;
CREATE EXTENSION depwatch CASCADE;
SELECT depwatch.add_dependency('core', 'core', tracked_since => '1990-01-01 00:00+00');
SELECT depwatch.add_dependency('kakaotalk', 'messaging', tracked_since => '1990-01-01 00:00+00');
SELECT depwatch.add_capability('simple_transfer', ARRAY['core', 'kakaotalk']);
SELECT depwatch.record_outage('kakaotalk', '2022-10-15 06:30+00', '2022-10-17 03:09+00');
SELECT depwatch.open_incident('fire', '2022-10-15 06:19+00', ARRAY['kakaotalk']);
SELECT depwatch.close_incident(1, '2022-10-17 03:30+00', 'fire');
SELECT depwatch.set_incident_facts(1, '{"critical_services_affected": true, "aware_at": "2022-10-15T06:25:00Z",
	"classified_at": "2022-10-15T09:00:00Z", "fee_policy": "fire", "reputational": ["media"]}');
SELECT depwatch.record_outage('kakaotalk', now() - interval '1 hour');
SELECT depwatch.open_incident('still going', now() - interval '1 hour', ARRAY['kakaotalk']);
CREATE SCHEMA bank;
CREATE TABLE bank.transfers (txn_id bigint, account_id bigint, customer_id text, occurred_at timestamptz,
	amount numeric, fee numeric, fee_type text, capability text, status text, external boolean);
INSERT INTO bank.transfers
SELECT g, g % 50, 'c' || (g % 50), timestamptz '2022-09-10' + g * interval '10 min',
	   CASE WHEN g % 2 = 0 THEN 100 ELSE -120 END, CASE WHEN g % 3 = 0 THEN 500 ELSE 0 END,
	   'transfer_fee', 'simple_transfer', CASE WHEN g % 7 = 0 THEN 'failed' ELSE 'posted' END, g % 4 = 0
FROM generate_series(1, 8000) g;
CREATE TABLE bank.balances (account_id bigint, customer_id text, as_of timestamptz, balance numeric);
INSERT INTO bank.balances SELECT g, 'c' || g, '2022-09-01', 100000 FROM generate_series(0, 49) g;
SELECT depwatch.add_fee_policy('fire', grace => '1 day');
SQL

schema=doc/incident_report.schema.json
validate() { # NAME FILE [EXPECT=valid|invalid]
	/usr/bin/python3 - "$schema" "$2" <<'PY'
import json, sys
import jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
doc = json.load(open(sys.argv[2]))
errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(doc), key=lambda e: list(e.path))
for e in errors[:5]:
    print("  %s: %s" % ("/".join(map(str, e.path)), e.message), file=sys.stderr)
sys.exit(1 if errors else 0)
PY
}

report() { sql -c "SELECT depwatch.incident_report($1)" 2>/dev/null; }

# 1: before the ledger is bound, 2: the open incident, 3: with the ledger
report 1 >"$dir/no_ledger.json"
sql -c "SELECT depwatch.bind_ledger('bank.transfers', balances => 'bank.balances')" >/dev/null
report 1 >"$dir/closed.json"
report 2 >"$dir/open.json"
for f in no_ledger closed open; do
	if [ -s "$dir/$f.json" ] && validate "$f" "$dir/$f.json"; then
		ok "the $f report validates against $schema"
	else
		fail "the $f report does not validate against $schema"
	fi
done

# every part is filled in when everything is there
got=$(/usr/bin/python3 -c "
import json; r = json.load(open('$dir/closed.json')); e = r['economics']
print(bool(e['impact']), e['fee_waiver_summary'] is not None, e['deposit_outflow_summary'] is not None,
      r['classification']['dora']['major'], r['deadlines']['dora']['initial'])")
[ "$got" = "True True True True 2022-10-15T13:00:00+00:00" ] && ok "the closed report has impact, fee waiver, outflow, a major DORA verdict and its deadline" ||
	fail "the closed report's parts: $got"

# the check can fail: a part removed, a type changed, an unknown event
/usr/bin/python3 - "$dir" <<'PY'
import json, sys
d = sys.argv[1]
r = json.load(open(d + "/closed.json"))
bad = dict(r); del bad["deadlines"]; json.dump(bad, open(d + "/bad1.json", "w"))
bad = json.loads(json.dumps(r)); bad["classification"]["dora"]["major"] = "yes"; json.dump(bad, open(d + "/bad2.json", "w"))
bad = json.loads(json.dumps(r)); bad["timeline"][0]["event"] = "party"; json.dump(bad, open(d + "/bad3.json", "w"))
PY
for b in bad1 bad2 bad3; do
	if validate "$b" "$dir/$b.json" 2>/dev/null; then
		fail "a broken report ($b) passed the schema"
	else
		ok "a broken report ($b) fails the schema"
	fi
done

[ "$failures" -eq 0 ] && echo "ok - incident_report: all checks passed" || exit 1
