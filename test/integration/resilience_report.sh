#!/usr/bin/env bash
# resilience_report() against its JSON Schema (doc/resilience_report.schema.json,
# draft 2020-12, checked with python3-jsonschema): a period with a breach
# and saved scenarios, a period with a run still going on, a map with no
# service that has a tolerance; its figures checked; and a report with a
# part removed, mistyped or added must fail the schema, so the check can
# fail.
set -uo pipefail
cd "$(dirname "$0")/../.."

dir=tmp/it_resilience
port=16711
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
SELECT depwatch.add_dependency('core', 'core', site => 'sangam', vendor => 'lg', tracked_since => '1990-01-01 00:00+00');
SELECT depwatch.add_dependency('kakaotalk', 'messaging', site => 'pangyo', vendor => 'kakao', tracked_since => '1990-01-01 00:00+00');
SELECT depwatch.add_dependency('alimtalk', 'messaging', site => 'pangyo', vendor => 'kakao', tracked_since => '1990-01-01 00:00+00');
SELECT depwatch.add_capability('transfer', ARRAY['core'], impact_tolerance => '2 hours');
SELECT depwatch.add_capability('simple_transfer', ARRAY['transfer', 'kakaotalk'], impact_tolerance => '1 hour');
SELECT depwatch.add_capability('notifications', ARRAY['kakaotalk|alimtalk']);
-- 2022-10-15: kakaotalk down 44 h 50 min (simple_transfer breached at
-- 07:19); core down 30 min (within transfer's 2 h)
SELECT depwatch.record_outage('kakaotalk', '2022-10-15 06:19+00', '2022-10-17 03:09+00');
SELECT depwatch.record_outage('core', '2022-10-16 01:00+00', '2022-10-16 01:30+00');
SELECT depwatch.save_scenario('pangyo_48h', ARRAY['pangyo'], '48 hours');
SELECT depwatch.save_scenario('core_90m', ARRAY['core'], '90 minutes');
-- still going: core down since 3 hours ago
SELECT depwatch.record_outage('core', now() - interval '3 hours');
SQL

schema=doc/resilience_report.schema.json
validate() { # NAME FILE
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

sql -c "SELECT depwatch.resilience_report('[2022-10-01, 2022-11-01)')" >"$dir/fire.json"
sql -c "SELECT depwatch.resilience_report(tstzrange(now() - interval '1 day', now() - interval '1 minute'))" >"$dir/ongoing.json"
psql -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -c "CREATE DATABASE empty" || exit 1
psql -X -A -t -q -h 127.0.0.1 -p "$port" -U postgres -d empty -c "SET client_min_messages = warning" \
	-c "CREATE EXTENSION depwatch CASCADE" \
	-c "SELECT depwatch.resilience_report('[2022-10-01, 2022-11-01)')" >"$dir/empty.json"
for f in fire ongoing empty; do
	if [ -s "$dir/$f.json" ] && validate "$f" "$dir/$f.json"; then
		ok "the $f report validates against $schema"
	else
		fail "the $f report does not validate against $schema"
	fi
done

# the figures
got=$(/usr/bin/python3 - "$dir" <<'PY'
import json, sys
d = sys.argv[1]
r = json.load(open(d + "/fire.json"))
s = {x["capability"]: x for x in r["services"]}
st, t = s["simple_transfer"], s["transfer"]
sc = {x["name"]: x for x in st["scenarios"]}
print(sorted(s), st["tolerance_seconds"], st["worst_disruption_seconds"],
      [(b["started_at"], b["breached_at"], b["lasted_seconds"]) for b in st["breaches"]],
      t["worst_disruption_seconds"], t["breaches"],
      (sc["pangyo_48h"]["down"], sc["pangyo_48h"]["downtime_seconds"], sc["pangyo_48h"]["breached"]),
      (sc["core_90m"]["down"], sc["core_90m"]["breached"]),
      [(x["name"], x["down"], x["breached"]) for x in t["scenarios"]], r["period"]["to"])
o = json.load(open(d + "/ongoing.json"))
b = {x["capability"]: x for x in o["services"]}["transfer"]["breaches"]
print(len(b), b[0]["ended_at"] if b else "none")
e = json.load(open(d + "/empty.json"))
print(e["services"])
PY
)
want="['simple_transfer', 'transfer'] 3600 161400 [('2022-10-15T06:19:00+00:00', '2022-10-15T07:19:00+00:00', 161400)] 1800 [] (True, 172800, True) (True, True) [('core_90m', True, False), ('pangyo_48h', False, False)] 2022-11-01T00:00:00+00:00
1 None
[]"
if [ "$got" = "$want" ]; then
	ok "the figures: tolerances, worst disruptions, the breach and its instant, scenarios from the period's end, a run still going on, no services"
else
	fail "the figures: got
$got
wanted
$want"
fi

# the check can fail: a part removed, a type changed, a key added
/usr/bin/python3 - "$dir" <<'PY'
import json, sys
d = sys.argv[1]
r = json.load(open(d + "/fire.json"))
bad = dict(r); del bad["services"]; json.dump(bad, open(d + "/bad1.json", "w"))
bad = json.loads(json.dumps(r)); bad["services"][0]["scenarios"][0]["down"] = "yes"; json.dump(bad, open(d + "/bad2.json", "w"))
bad = json.loads(json.dumps(r)); bad["services"][0]["breaches"] = [{"started_at": "2022-10-15T06:19:00+00:00"}]; json.dump(bad, open(d + "/bad3.json", "w"))
bad = json.loads(json.dumps(r)); bad["services"][0]["extra"] = 1; json.dump(bad, open(d + "/bad4.json", "w"))
PY
for b in bad1 bad2 bad3 bad4; do
	if validate "$b" "$dir/$b.json" 2>/dev/null; then
		fail "a broken report ($b) passed the schema"
	else
		ok "a broken report ($b) fails the schema"
	fi
done

[ "$failures" -eq 0 ] && echo "ok - resilience_report: all checks passed" || exit 1
