#!/usr/bin/env bash
# The demo in its short mode (half the live timeline, a 100k-row ledger),
# in its own directory and port, checked for its key numbers:
#   live: the worker saw the bureaus degrade and fail, account opening go
#         down only when both were down, the fire take down simple transfer
#         and group accounts but not transfer, and everything come back;
#   historical: the outage windows of both incidents, July 2017's account
#         opening downtime, the capabilities the fire took down, impact and
#         the 2017 fee-waiver cost equal to plain SQL over the generated
#         ledger, both classifications, an intact audit log;
#   alerts: the on-call webhook got the building and each capability once,
#         not the services in the building, the tolerance events and the
#         DORA reminder;
#   files: timeline.svg is well-formed SVG with both incidents, report.json
#         follows doc/incident_report.schema.json, status.html (the demo
#         prints where it is) has 90 daily bars for each of the five
#         capabilities, with the fire's outage bars, and the fire with its
#         public updates, not the internal note.
set -uo pipefail
cd "$(dirname "$0")/../.."
dir=tmp/it_demo
port=15426
out=$dir.out
failures=0
ok() { echo "ok - $*"; }
not_ok() { echo "FAIL - $*"; failures=$((failures + 1)); }
check() {							# check WHAT COMMAND...
	local what=$1; shift
	if "$@"; then ok "$what"; else not_ok "$what"; fi
}
has() { grep -Eq -- "$1" "$out"; }
sql() { psql -qXAt -h 127.0.0.1 -p $port -U postgres -d "${DB:-demo}" -c "$1"; }
cleanup() { scripts/cluster.sh stop "$dir" $port; }
trap cleanup EXIT

if ! DEPWATCH_DEMO_SHORT=1 DEPWATCH_DEMO_DIR=$dir DEPWATCH_DEMO_PORT=$port scripts/demo.sh >"$out" 2>&1; then
	tail -30 "$out"
	echo "FAIL - the demo did not run to its end"
	exit 1
fi
ok "the demo ran to its end"

# live part: the lines the watcher printed
check "live: NICE degraded, then down" has 'dependency +nice +degraded -> down'
check "live: account opening down only once KCB failed too" \
	bash -c "grep -n 'capability account_opening .*-> down' '$out' | head -1 | cut -d: -f1 |
			 xargs -I{} test {} -gt \$(grep -n 'dependency kcb .*-> down' '$out' | head -1 | cut -d: -f1)"
check "live: the fire takes down simple transfer and group accounts" \
	bash -c "grep -Eq 'capability +simple_transfer +up -> down' '$out' && grep -Eq 'capability +group_account +up -> down' '$out'"
check "live: transfer is never down" bash -c "! grep -Eq 'capability +transfer +.*-> down' '$out'"
check "live: current_status() shows all eleven targets up at the end" \
	test "$(sed -n '/^== current_status()/,/^$/p' "$out" | grep -Ec '\| (dependency|capability) +\| up +\|')" = 11
check "live: outages were opened by the probes" \
	test "$(DB=live sql "SELECT count(DISTINCT dependency) FROM depwatch.outages WHERE source = 'probe' AND kind = 'down'")" = 5

# live part: the alerts the on-call webhook received (tmp/.../alerts.jsonl)
paged() {							# paged EVENT TARGET: how many times
	python3 -c "
import json, sys
n = 0
for line in open('$dir/alerts.jsonl'):
	e = json.loads(json.loads(line)['body'])
	n += e['event'] == sys.argv[1] and e['target'] == sys.argv[2]
print(n)" "$1" "$2"
}
check "alerts: the fire pages once for the building" test "$(paged dependency_down pangyo)" = 1
check "alerts: once per capability it took down" \
	test "$(paged capability_down group_account)/$(paged capability_down simple_transfer)" = 1/1
check "alerts: the services in the building are not paged while it is down, but recorded" \
	test "$(paged dependency_down kakaotalk)/$(paged dependency_down kakao_auth)/$(DB=live sql "SELECT count(*) FROM depwatch.alerts WHERE event = 'dependency_down' AND suppressed AND route IS NULL")" = 0/0/2
check "alerts: impact tolerance 50 %, 80 % and breached, in that order, for both capabilities" \
	test "$(DB=live sql "SELECT string_agg(target || ':' || event, ',' ORDER BY target, id) FROM depwatch.alert_event WHERE event LIKE 'tolerance%'")" = \
		 group_account:tolerance_50,group_account:tolerance_80,group_account:tolerance_breached,simple_transfer:tolerance_50,simple_transfer:tolerance_80,simple_transfer:tolerance_breached
check "alerts: the DORA deadline reminder reached the pager" \
	test "$(paged report_due 1)" -ge 1
check "alerts: every alert for the route was delivered, each once" \
	test "$(DB=live sql "SELECT count(*) FILTER (WHERE state <> 'delivered') || '/' || count(*) FROM depwatch.alert_delivery")" = \
		 "0/$(wc -l <"$dir/alerts.jsonl")"
check "alerts: the printed PAGE lines" has 'PAGE critical capability_down +group_account is down'
# historical part
check "historical: 8 outages, 2 incidents" \
	test "$(sql "SELECT count(*) FROM depwatch.outage")/$(sql "SELECT count(*) FROM depwatch.incident")" = 8/2
check "historical: account opening down 01:10:00 in July 2017" \
	test "$(sql "SET TimeZone = 'Asia/Seoul'; SELECT downtime FROM depwatch.availability('[2017-07-01, 2017-08-01)') WHERE target = 'account_opening'")" = 01:10:00
check "historical: the fire took down group_account, notifications, simple_transfer" \
	test "$(sql "SELECT string_agg(capability, ',' ORDER BY capability) FROM depwatch.impact(2)")" = group_account,notifications,simple_transfer
check "historical: impact(1) counts the failed applications of the down window" \
	test "$(sql "SELECT applications_failed FROM depwatch.impact(1)")" = \
		 "$(sql "SELECT count(*) FROM bank.applications WHERE status = 'failed' AND occurred_at >= '2017-07-27 09:30+09' AND occurred_at < '2017-07-27 10:40+09'")"
check "historical: impact(2) counts the failed simple transfers" \
	test "$(sql "SELECT failed FROM depwatch.impact(2) WHERE capability = 'simple_transfer'")" = \
		 "$(sql "SELECT count(*) FROM bank.transfers WHERE capability = 'simple_transfer' AND status = 'failed' AND occurred_at >= '2022-10-15 15:30+09' AND occurred_at < '2022-10-17 12:09+09'")"
check "historical: the 2017 waiver programme priced as plain SQL does" \
	test "$(sql "SELECT sum(forgone) || '/' || sum(partner_cost) FROM depwatch.fee_waiver_cost('[2017-07-27+09, 2018-01-01+09)')")" = \
		 "$(sql "SELECT sum(CASE fee_type WHEN 'atm_fee' THEN 1300 ELSE 500 END) || '/' || sum(coalesce(partner_fee, 0)) FROM bank.transfers WHERE status = 'posted' AND fee = 0 AND fee_type IS NOT NULL AND occurred_at < '2018-01-01+09'")"
check "historical: the output shows the 2017 programme month by month" has '^ 2017-12 +\| atm_fee'
check "historical: the fire is major for DORA and the FSS" \
	test "$(sql "SELECT string_agg(met::text, ',') FROM (SELECT met FROM depwatch.classify_incident(2, 'dora') WHERE criterion = 'major' UNION ALL SELECT met FROM depwatch.classify_incident(2, 'kr_fss') WHERE criterion = 'major') m")" = true,true
check "historical: launch day is reportable to the FSS but not major" \
	test "$(sql "SELECT string_agg(met::text, ',' ORDER BY criterion) FROM depwatch.classify_incident(1, 'kr_fss') WHERE criterion IN ('major', 'reportable')")" = false,true
check "historical: deposit outflow shows the run on the bank" \
	test "$(sql "SELECT worst_zscore < -3 AND net_flow < 0 FROM depwatch.deposit_outflow_summary(2)")" = t
check "resilience: the Pangyo scenario, asked before the fire, breaks what the fire broke" \
	test "$(sql "SELECT string_agg(capability, ',' ORDER BY capability) FROM depwatch.scenario(ARRAY['pangyo'], '2022-10-15 15:19+09', '48 hours') WHERE down")" = \
		 "$(sql "SELECT string_agg(capability, ',' ORDER BY capability) FROM depwatch.impact(2)")"
check "resilience: simple transfer breaches its 4-hour tolerance in the scenario and in the fire" \
	test "$(sql "SET TimeZone = 'UTC'; SELECT breached_at FROM depwatch.scenario(ARRAY['pangyo'], '2022-10-15 15:19+09', '48 hours') WHERE capability = 'simple_transfer'")/$(sql "SELECT count(*) FROM depwatch.tolerance_breaches('[2022-10-01, 2023-01-01)') WHERE capability = 'simple_transfer' AND breached")" = \
		 "2022-10-15 10:19:00+00/1"
check "resilience: redress pays on the failed value impact() counts" \
	test "$(sql "SELECT amount FROM depwatch.redress_summary(2, 'merchants_2022')")" = \
		 "$(sql "SELECT sum(failed_amount) FROM depwatch.impact(2) WHERE capability IN ('simple_transfer', 'group_account')")"
check "resilience: the output shows the scenario beside what happened" has '^ simple_transfer +\| 48:00:00 +\| 1 day 20:39:00'
check "historical: the audit log verifies" test "$(sql "SELECT ok FROM depwatch.verify_audit()")" = t

# files
check "timeline.svg is well-formed" xmllint --noout "$dir/timeline.svg"
check "timeline.svg shows both incidents" \
	bash -c "grep -q '2017-07-27' '$dir/timeline.svg' && grep -q '2022-10-15' '$dir/timeline.svg' && grep -q 'class=\"run down\"' '$dir/timeline.svg'"
check "report.json follows the schema" python3 -c "
import json, jsonschema
jsonschema.validate(json.load(open('$dir/report.json')), json.load(open('doc/incident_report.schema.json')))"
check "resilience_report.json follows its schema and holds the saved scenario" python3 -c "
import json, jsonschema
r = json.load(open('$dir/resilience_report.json'))
jsonschema.validate(r, json.load(open('doc/resilience_report.schema.json')))
assert [s['name'] for v in r['services'] for s in v['scenarios']] == ['pangyo_48h', 'pangyo_48h']"
check "the demo prints where status.html is" has "/status\.html +status_page\(\)"
check "status.html has 90 daily bars for each of the five capabilities" python3 -c "
import re, sys
html = open('$dir/status.html', encoding='utf-8').read()
bars = {c: len(re.findall(r'<rect class=\"bar ', s)) for c, s in re.findall(r'<section class=\"capability\" data-capability=\"([a-z_]+)\"(.*?)</section>', html, re.S)}
sys.exit(0 if sorted(bars) == ['account_opening', 'group_account', 'notifications', 'simple_transfer', 'transfer'] and set(bars.values()) == {90} else 1)"
check "status.html shows the fire's outage days and the fire with its public updates, not the internal note" \
	bash -c "grep -q 'data-state=\"outage\" [^>]*><title>2022-10-16: outage' '$dir/status.html' && grep -q 'Pangyo data-center fire' '$dir/status.html' && grep -q 'A fire at a partner&apos;s data center' '$dir/status.html' && ! grep -q 'internal:' '$dir/status_launch_day.html'"

[ "$failures" -eq 0 ]
