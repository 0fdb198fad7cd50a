#!/usr/bin/env bash
# Prometheus for real (SPEC section 10; prometheus/README.md): a depwatch
# cluster whose worker probes a fake tcp service (test/fake_dependency.py),
# Debian's prometheus-sql-exporter running prometheus/sql-exporter.yml as
# the login of prometheus/exporter-role.sql, and a real Prometheus
# (/usr/bin/prometheus) scraping it with the relabelling of
# prometheus/prometheus.yml and the rules of prometheus/depwatch.rules.yml,
# all on 127.0.0.1, config and data in tmp/it_prometheus.  Checks:
#   a. the exporter's login is a depwatch_reader, not a superuser, and
#      cannot write;
#   b. through Prometheus's HTTP API (/api/v1/query): depwatch_up is 1 for
#      the probed dependency and its capability, with the labels target,
#      type, kind and database and none of the exporter's (host, user, col,
#      sql_job), and no sql_depwatch_* series is left; every query of the
#      configuration runs as that login without failing;
#   c. the service goes down (the fake refuses): depwatch_up turns 0 for it
#      and the capability, depwatch_state{state="down"} 1, the capability's
#      down run grows; the rules DepwatchDependencyDown and
#      DepwatchCapabilityDown are active (pending, as their "for" runs) and
#      every rule evaluates without error (/api/v1/rules);
#   d. promtool: check metrics on psql -XAtq -c 'SELECT depwatch.metrics()'
#      (as the exporter's login), check config on the generated
#      prometheus.yml, check rules, test rules.
# Waits poll with deadlines.  Needs the packages prometheus and
# prometheus-sql-exporter (scripts/deps.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."

dir=tmp/it_prometheus
port=17020		# PostgreSQL
ctl=17021		# fake_dependency.py control
svc=17022		# the fake tcp service the worker probes
exporter=17023	# prometheus-sql-exporter
prom=17024		# Prometheus
DB=bank
export PGOPTIONS='-c client_min_messages=warning'
. test/lib.sh
# Debian's python3, which has python3-yaml
python=/usr/bin/python3

failures=0
check() { if [ "$1" = "$2" ]; then ok "$3"; else echo "FAIL - $3: got '$1', not '$2'"; failures=$((failures + 1)); fi; }

pids=()
cleanup() {
	local rc=$? p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	[ -f "$dir/fake_dependency.pid" ] && kill "$(cat "$dir/fake_dependency.pid")" 2>/dev/null || true
	scripts/cluster.sh stop "$dir" "$port"
	exit $rc
}
trap cleanup EXIT

for b in /usr/bin/prometheus /usr/bin/promtool /usr/bin/prometheus-sql-exporter; do
	[ -x $b ] || fail "$b is missing (run scripts/deps.sh)"
done
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
scripts/cluster.sh stop "$dir" "$port"
for p in $port $ctl $svc $exporter $prom; do
	port_open $p && fail "port $p is in use; this test needs it free"
done
rm -rf "$dir"
scripts/cluster.sh start "$dir" "$port" "depwatch.databases = 'bank'" "depwatch.vantage = 'it_prometheus'"
psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d postgres -c "CREATE DATABASE bank"
sql "CREATE EXTENSION depwatch CASCADE"
# the exporter's login, as shipped (the test cluster trusts loopback: no
# password needed)
psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d bank -f prometheus/exporter-role.sql

# the fake service, up
python3 test/fake_dependency.py --control $ctl --ports $svc --mode up \
	--pidfile "$dir/fake_dependency.pid" >"$dir/fake_dependency.log" 2>&1 &
pids+=($!)
deadline=$((SECONDS + 10))
until curl -sf -m 1 "http://127.0.0.1:$ctl/status" >/dev/null 2>&1; do
	[ $SECONDS -ge $deadline ] && fail "the fake service did not answer on $ctl: $(cat "$dir/fake_dependency.log")"
	sleep 0.1
done

# gateway: probed every 200 ms; ledger: by hand; payments needs both
sql "SELECT depwatch.add_dependency('gateway', 'payment_network', 'tcp', '127.0.0.1:$svc',
									every => '200 ms', timeout => '150 ms', fail_after => 2, recover_after => 2,
									tracked_since => now() - interval '1 day');
	 SELECT depwatch.add_dependency('ledger', 'core', tracked_since => now() - interval '1 day');
	 SELECT depwatch.add_capability('payments', ARRAY['gateway', 'ledger'], 99.9, '1 hour')" >/dev/null
wait_for 20 "SELECT state FROM depwatch.status WHERE target = 'payments'" up

# a. least privilege
check "$(sql "SELECT rolsuper OR rolcreaterole OR rolcreatedb OR rolreplication OR rolbypassrls,
				 pg_has_role('depwatch_exporter', 'depwatch_reader', 'MEMBER'),
				 pg_has_role('depwatch_exporter', 'depwatch_operator', 'MEMBER')
		  FROM pg_roles WHERE rolname = 'depwatch_exporter'")" "f|t|f" \
	"the exporter's login is in depwatch_reader, not an operator, not a superuser"
denied=$(psql -X -A -t -q -h 127.0.0.1 -p "$port" -U depwatch_exporter -d bank \
		 -c "SELECT depwatch.record_outage('ledger', now())" 2>&1 || true)
check "$(grep -c 'permission denied\|read-only transaction' <<<"$denied")" 1 \
	"the exporter's login cannot write ($(head -n 1 <<<"$denied"))"

# the exporter: the shipped configuration, pointed at this cluster, every second
sed -e "s#postgres://depwatch_exporter:CHANGE-ME@127.0.0.1:5432/bank#postgres://depwatch_exporter@127.0.0.1:$port/bank#" \
	-e "s/^  interval: '15s'$/  interval: '1s'/" prometheus/sql-exporter.yml >"$dir/sql-exporter.yml"
[ "$(grep -c "127.0.0.1:$port/bank\|^  interval: '1s'$" "$dir/sql-exporter.yml")" = 2 ] ||
	fail "prometheus/sql-exporter.yml: its connection or interval line changed; this test rewrites them"
/usr/bin/prometheus-sql-exporter -config.file "$dir/sql-exporter.yml" \
	-web.listen-address 127.0.0.1:$exporter >"$dir/sql-exporter.log" 2>&1 &
pids+=($!)
deadline=$((SECONDS + 20))
until curl -sf -m 2 "http://127.0.0.1:$exporter/metrics" 2>/dev/null | grep -q '^sql_depwatch_up{'; do
	[ $SECONDS -ge $deadline ] && fail "the exporter serves no sql_depwatch_up after 20 s: $(tail -n 5 "$dir/sql-exporter.log")"
	sleep 0.2
done
ok "prometheus-sql-exporter serves sql_depwatch_up on 127.0.0.1:$exporter"

# Prometheus: the shipped scrape job, every second, and the shipped rules
$python - "$dir" "$exporter" "$PWD/prometheus/depwatch.rules.yml" <<'EOF'
import sys, yaml
d, exporter, rules = sys.argv[1:]
conf = yaml.safe_load(open('prometheus/prometheus.yml'))
conf['global'] = {'scrape_interval': '1s', 'evaluation_interval': '1s'}
conf['rule_files'] = [rules]
job = conf['scrape_configs'][0]
job['scrape_interval'] = '1s'
job['static_configs'] = [{'targets': ['127.0.0.1:' + exporter]}]
yaml.safe_dump(conf, open(d + '/prometheus.yml', 'w'), sort_keys=False)
EOF
/usr/bin/prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/prometheus-data" \
	--web.listen-address=127.0.0.1:$prom --log.level=warn >"$dir/prometheus.log" 2>&1 &
pids+=($!)
deadline=$((SECONDS + 30))
until curl -sf -m 2 "http://127.0.0.1:$prom/-/ready" >/dev/null 2>&1; do
	[ $SECONDS -ge $deadline ] && fail "Prometheus not ready after 30 s: $(tail -n 5 "$dir/prometheus.log")"
	sleep 0.2
done

# query PROMQL: the result vector, one "labels value" line per series
# (labels as JSON, sorted), sorted
query() {
	curl -sf -m 5 "http://127.0.0.1:$prom/api/v1/query" --data-urlencode "query=$1" |
		$python -c '
import json, sys
r = json.load(sys.stdin)
assert r["status"] == "success", r
for s in sorted(r["data"]["result"], key=lambda s: sorted(s["metric"].items())):
	print(json.dumps(s["metric"], sort_keys=True, separators=(",", ":")), s["value"][1])'
}
# value PROMQL: the value of the single series PROMQL gives, or nothing
value() { query "$1" | awk 'END { if (NR == 1) print $NF }'; }
# wait_prom SECONDS PROMQL EXPECTED: poll until value PROMQL is EXPECTED
wait_prom() {
	local deadline=$((SECONDS + $1)) got
	while :; do
		got=$(value "$2" 2>/dev/null || true)
		[ "$got" = "$3" ] && return 0
		[ $SECONDS -ge $deadline ] && { echo "FAIL - after $1 s, $2 is '$got', not '$3'"; failures=$((failures + 1)); return 1; }
		sleep 0.3
	done
}

# b. up, through Prometheus
wait_prom 30 'depwatch_up{target="gateway"}' 1 &&
	ok "Prometheus: depwatch_up{target=\"gateway\"} 1"
wait_prom 10 'depwatch_up{target="payments"}' 1 &&
	ok "Prometheus: depwatch_up{target=\"payments\"} 1"
labels=$(query 'depwatch_up{target="gateway"}' | cut -d ' ' -f 1 | $python -c 'import json, sys; print(" ".join(sorted(json.load(sys.stdin))))')
check "$labels" "__name__ database instance job kind target type" "depwatch_up's labels: $labels"
check "$(value 'count(depwatch_up)')" 3 "one depwatch_up per dependency and capability"
check "$(value 'count({__name__=~"sql_depwatch_.*"}) or vector(0)')" 0 "no sql_depwatch_* series: the scrape job renames them"
check "$(value 'depwatch_worker_up')" 1 "depwatch_worker_up 1"
# every shipped query runs as the exporter's login, none fails
queries=$(grep -c '^  - name: depwatch_' prometheus/sql-exporter.yml)
check "$(value 'count(sql_exporter_last_scrape_failed{query=~"depwatch_.*"} == 0)')" "$queries" \
	"all $queries queries of prometheus/sql-exporter.yml run as depwatch_exporter without failing"

# c. down
[ "$(curl -sf -m 2 "http://127.0.0.1:$ctl/set?port=$svc&mode=refuse")" = ok ] || fail "fake: refuse $svc"
wait_for 20 "SELECT state FROM depwatch.status WHERE target = 'gateway'" down
wait_prom 30 'depwatch_up{target="gateway"}' 0 &&
	ok "Prometheus: depwatch_up{target=\"gateway\"} 0 once the service refuses"
wait_prom 10 'depwatch_up{target="payments"}' 0 &&
	ok "Prometheus: depwatch_up{target=\"payments\"} 0"
check "$(value 'depwatch_state{target="gateway",state="down"}')" 1 'depwatch_state{target="gateway",state="down"} 1'
wait_prom 10 'depwatch_down_run_seconds{target="payments"} > bool 0' 1 &&
	ok "payments' down run grows ($(value 'depwatch_down_run_seconds{target="payments"}') s of its $(value 'depwatch_impact_tolerance_seconds{target="payments"}') s tolerance)"
wait_prom 20 'count(ALERTS{alertname="DepwatchDependencyDown",target="gateway"})' 1 &&
	ok "rule DepwatchDependencyDown active for gateway ($(query 'ALERTS{alertname="DepwatchDependencyDown"}' | grep -o '"alertstate":"[a-z]*"'))"
wait_prom 20 'count(ALERTS{alertname="DepwatchCapabilityDown",target="payments"})' 1 &&
	ok "rule DepwatchCapabilityDown active for payments"
rules=$(curl -sf -m 5 "http://127.0.0.1:$prom/api/v1/rules" | $python -c '
import json, sys
r = [x for g in json.load(sys.stdin)["data"]["groups"] for x in g["rules"]]
bad = [x["name"] + ": " + x.get("lastError", "") for x in r if x["health"] != "ok"]
print(len(r), "rules", "; ".join(bad) if bad else "all ok")')
check "$rules" "11 rules all ok" "Prometheus loaded and evaluated the rules: $rules"

# d. promtool
check "$(psql -XAtq -h 127.0.0.1 -p "$port" -U depwatch_exporter -d bank -c 'SELECT depwatch.metrics()' |
		 promtool check metrics 2>&1; echo "exit $?")" "exit 0" \
	"psql -XAtq -c 'SELECT depwatch.metrics()' | promtool check metrics: exit 0, nothing to say"
check "$(promtool check config --syntax-only "$dir/prometheus.yml" >/dev/null 2>&1; echo $?)" 0 "promtool check config on the generated prometheus.yml"
check "$(promtool check rules prometheus/depwatch.rules.yml 2>&1 | grep -c SUCCESS)" 1 "promtool check rules prometheus/depwatch.rules.yml"
check "$(cd prometheus && promtool test rules depwatch.rules.test.yml >/dev/null 2>&1; echo $?)" 0 "promtool test rules prometheus/depwatch.rules.test.yml"

if [ "$failures" -eq 0 ]; then
	echo "ok - prometheus: all checks passed"
else
	echo "FAIL - prometheus: $failures check(s) failed"
	exit 1
fi
