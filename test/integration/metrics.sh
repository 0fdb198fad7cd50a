#!/usr/bin/env bash
# metrics() as a scraper reads it (SPEC section 2; README "Availability").
# A throwaway cluster whose probe worker probes a dependency for real (the
# cluster's own TCP port), one whose host name does not resolve (with a
# password in its URL and a token in its headers: it goes down), a passive
# one fed with report_sample, one recorded by hand, and two capabilities.
# The exposition, as psql -XAtq hands it over, is written to
# tmp/it_metrics/metrics.txt and
#   a. is the Prometheus text format 0.0.4: every line ends with a newline,
#      no OpenMetrics "# UNIT" or "# EOF" (psql adds one newline of its
#      own, an empty line the text format ignores);
#   b. passes promtool check metrics (package prometheus, 2.42 on Debian
#      12) with exit status 0 and nothing to say, piped straight from psql
#      as README shows.  What that validates: promtool parses the text
#      format 0.0.4 (expfmt), so every sample line, label escape, value,
#      HELP and TYPE line (one HELP and TYPE per family, before its
#      samples) must parse, then lints the families (promlint: HELP
#      present, counters end in _total, base units, no camelCase or
#      reserved characters);
#   c. parses with the text-format parser of python3-prometheus-client,
#      with the families and types in the documented order, each with its
#      HELP, one state set per target, depwatch_up agreeing with it, and
#      the values the data makes (the probed dependency up with a real
#      latency, the broken one down, the passive one's quantiles, the
#      hand-made one's 24 h availability);
#   d. names no target, host, user, password or header of any dependency;
#   e. is what a login role in depwatch_reader gets too.
# Each check prints "ok - ..." or "FAIL - ..."; the script exits non-zero
# if any failed.  Needs the packages prometheus and python3-prometheus-client
# (scripts/deps.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."

dir=tmp/it_metrics
port=15472
export PGOPTIONS='-c client_min_messages=warning'
# Debian's python3, which has python3-prometheus-client (another python3
# may come first on PATH)
python=/usr/bin/python3

cleanup() {
	local rc=$?
	scripts/cluster.sh stop "$dir" "$port"
	exit $rc
}
trap cleanup EXIT

failures=0
ok() { echo "ok - $*"; }
fail() { echo "FAIL - $*"; failures=$((failures + 1)); }
sql() { psql -X -A -t -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U "${PGROLE:-postgres}" -d bank "$@"; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

scripts/cluster.sh stop "$dir" "$port"
port_open "$port" && { echo "FAIL - port $port is in use; this test needs it free"; exit 1; }
rm -rf "$dir"
scripts/cluster.sh start "$dir" "$port" "depwatch.databases = 'bank'" "depwatch.vantage = 'it_metrics'"
psql -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -c "CREATE DATABASE bank"
sql -c "CREATE EXTENSION depwatch CASCADE"

# core_db: the worker probes this cluster's port every second (up).
# bureau: http to a host that cannot resolve, with secrets (down after 2).
# bureau_calls: passive, calls reported 1-3 minutes ago: 100, 200, 300 ms
# (median 0.2 s), one failed.  ledger: by hand, down 1 h of the last 24.
sql -v port="$port" <<'EOF' >/dev/null
SET search_path = depwatch;
SELECT add_dependency('core_db', 'core', 'tcp', '127.0.0.1:' || :'port', every => '1 s', timeout => '500 ms', tracked_since => '1990-01-01 00:00+00');
SELECT add_dependency('bureau', 'credit_bureau', 'http', 'https://it_user:it-s3cret-pw@bureau.invalid/health',
					  every => '1 s', timeout => '500 ms', fail_after => 2,
					  options => '{"headers": {"Authorization": "Bearer it-t0ken"}}', tracked_since => '1990-01-01 00:00+00');
SELECT add_dependency('bureau_calls', 'credit_bureau', 'passive',
					  options => '{"error_rate": 0.9, "window": "10 min", "min_calls": 100}', tracked_since => '1990-01-01 00:00+00');
SELECT add_dependency('ledger', 'core', tracked_since => '1990-01-01 00:00+00');
SELECT add_capability('account_opening', ARRAY['core_db', 'bureau|bureau_calls', 'ledger'], slo => 99.5);
SELECT add_capability('transfer', ARRAY['core_db', 'ledger']);
SELECT record_outage('ledger', now() - interval '3 hours', now() - interval '2 hours');
SELECT report_sample('bureau_calls', ok, latency, now() - ago)
FROM (VALUES (true, interval '100 ms', interval '3 min'), (true, '300 ms', '2 min'),
			 (true, '200 ms', '90 s'), (false, '200 ms', '60 s')) v(ok, latency, ago);
EOF

# the worker at work: 3 samples of core_db, bureau down (10 s at most)
deadline=$((SECONDS + 10))
until [ "$(sql -c "SELECT (SELECT count(*) >= 3 FROM depwatch.sample s JOIN depwatch.dependency d
						ON d.id = s.dependency_id WHERE d.name = 'core_db')
					 AND (SELECT state = 'down' FROM depwatch.current_status() WHERE target = 'bureau')")" = t ]; do
	if [ $SECONDS -ge $deadline ]; then
		echo "FAIL - set-up: within 10 s the worker did not take 3 samples of core_db and find bureau down"
		sql -c "SELECT target, state FROM depwatch.current_status()"
		exit 1
	fi
	sleep 0.2
done

txt=$dir/metrics.txt
sql -c "SELECT depwatch.metrics()" >"$txt"

# a. the text format: no OpenMetrics end or units; metrics() ends its last
# line with a newline, psql adds its own
if grep -qE '^# (EOF|UNIT)' "$txt"; then
	fail "the exposition has OpenMetrics lines: $(grep -nE '^# (EOF|UNIT)' "$txt" | head -3)"
elif [ "$(tail -c 2 "$txt" | od -An -c | tr -d ' ')" != '\n\n' ] || [ -z "$(tail -n 2 "$txt" | head -n 1)" ]; then
	fail "the exposition does not end with one line and its newline: ...$(tail -c 40 "$txt" | od -An -c | tr -s ' ')"
else
	ok "metrics() is the text format: no # EOF or # UNIT, its last line ends with a newline ($(wc -l <"$txt") lines, $(wc -c <"$txt") bytes in $txt)"
fi

# b. promtool, straight from psql
if ! command -v promtool >/dev/null; then
	fail "promtool is missing (package prometheus: run scripts/deps.sh)"
else
	set +e
	problems=$(sql -c "SELECT depwatch.metrics()" | promtool check metrics 2>&1)
	rc=$?
	set -e
	if [ $rc -ne 0 ] || [ -n "$problems" ]; then
		fail "psql -XAtq -c 'SELECT depwatch.metrics()' | promtool check metrics: exit $rc: $problems"
	else
		ok "psql -XAtq -c 'SELECT depwatch.metrics()' | promtool $(promtool --version 2>&1 | awk 'NR == 1 { print $3 }') check metrics: exit 0, no lint"
	fi
fi

# c. the text format, parsed
if ! $python -c 'import prometheus_client.parser' 2>/dev/null; then
	fail "$python has no prometheus_client (package python3-prometheus-client: run scripts/deps.sh)"
else
	$python - "$txt" <<'EOF' || failures=$((failures + 1))
import math, sys
from prometheus_client.parser import text_string_to_metric_families

failures = 0
def check(good, what):
	global failures
	print(('ok - ' if good else 'FAIL - ') + what)
	failures += 0 if good else 1

text = open(sys.argv[1], encoding='utf-8').read()
try:
	families = list(text_string_to_metric_families(text))
except Exception as e:
	check(False, 'the text-format parser rejects the exposition: %s' % e)
	sys.exit(1)
# the parser names a counter family without its _total, as the client
# library does; its samples keep it
want = [('depwatch_up', 'gauge'), ('depwatch_state', 'gauge'),
		('depwatch_state_duration_seconds', 'gauge'), ('depwatch_outages', 'counter'),
		('depwatch_outages_in_window', 'gauge'), ('depwatch_availability_ratio', 'gauge'),
		('depwatch_monitored_ratio', 'gauge'), ('depwatch_slo_ratio', 'gauge'),
		('depwatch_latest_sample_latency_seconds', 'gauge'),
		('depwatch_sample_latency_seconds', 'summary'),
		('depwatch_alerts_pending', 'gauge'), ('depwatch_alert_deliveries_failed', 'counter')]
got = [(f.name, f.type) for f in families]
check(got == want and all(f.documentation for f in families),
	  'text-format parser: %d families with HELP, in order, with their types, %d samples'
	  % (len(families), sum(len(f.samples) for f in families)) if got == want else
	  'families and types: %s, not %s' % (got, want))
fam = {f.name: f for f in families}
def samples(name, **labels):
	return [s for s in fam[name].samples if all(s.labels.get(k) == v for k, v in labels.items())] \
		if name in fam else []

targets = ['bureau', 'bureau_calls', 'core_db', 'ledger', 'account_opening', 'transfer']
state = {}
for t in targets:
	one = [s.labels['state'] for s in samples('depwatch_state', target=t) if s.value == 1]
	n = len(samples('depwatch_state', target=t))
	up = [s.value for s in samples('depwatch_up', target=t)]
	state[t] = one[0] if len(one) == 1 else None
	check(n == 5 and len(one) == 1 and up == [1 if one[0] in ('up', 'degraded') else 0],
		  '%s: %d state samples, %s set to 1, depwatch_up %s' % (t, n, one, up))
check(state['core_db'] == 'up' and state['bureau'] == 'down',
	  'the probed dependency is up, the unresolvable one down: %s, %s' % (state['core_db'], state['bureau']))
check([s.labels.get('kind') for s in samples('depwatch_up', target='core_db')] == ['core']
	  and [s.labels.get('type') for s in samples('depwatch_up', target='transfer')] == ['capability'],
	  'labels: kind for dependencies, type dependency or capability')
check(all(s.name == 'depwatch_outages_total' for s in fam['depwatch_outages'].samples)
	  and [s.value for s in samples('depwatch_outages', target='ledger')] == [1]
	  and [s.value for s in samples('depwatch_outages', target='bureau')] == [1],
	  'depwatch_outages_total: 1 for ledger (by hand), 1 for bureau (the worker)')

p50 = [s.value for s in samples('depwatch_sample_latency_seconds', target='core_db', quantile='0.5')]
check(len(p50) == 1 and 0 < p50[0] < 0.5,
	  'core_db: median probe latency of the last 5 minutes %s s (real, under its 500 ms timeout)' % p50)
calls = {s.labels['quantile']: s.value for s in samples('depwatch_sample_latency_seconds', target='bureau_calls')}
check(calls == {'0.5': 0.2, '0.9': 0.3, '0.99': 0.3, '1': 0.3},
	  'bureau_calls: quantiles of the reported calls %s' % calls)
latest = [s.value for s in samples('depwatch_latest_sample_latency_seconds', target='bureau_calls')]
check(latest == [0.2], 'bureau_calls: latest call took %s s' % latest)
check(not samples('depwatch_latest_sample_latency_seconds', target='ledger'),
	  'ledger (probe none) has no latency')
avail = {s.labels['window']: s.value for s in samples('depwatch_availability_ratio', target='ledger')}
check(abs(avail.get('24h', 0) - 23 / 24) < 1e-9 and abs(avail.get('30d', 0) - (1 - 1 / 720)) < 1e-9,
	  'ledger: availability 24h %s (23/24), 30d %s (1 - 1/720)' % (avail.get('24h'), avail.get('30d')))
values = [s.value for f in families if f.type != 'summary' for s in f.samples]
check(all(math.isfinite(v) and v >= 0 for v in values), 'every value but summary quantiles is finite and >= 0')
sys.exit(1 if failures else 0)
EOF
fi

# d. no secret, no target
leaks=$(grep -noE 'it_user|it-s3cret|bureau\.invalid|it-t0ken|Bearer|127\.0\.0\.1|:'"$port" "$txt" || true)
in_catalog=$(sql -c "SELECT count(*) FROM depwatch.dependency WHERE target ~ 'it-s3cret-pw|127.0.0.1'")
if [ -n "$leaks" ]; then
	fail "the exposition names a target or secret: $leaks"
elif [ "$in_catalog" != 2 ]; then
	fail "the secrets are not in the catalog either ($in_catalog targets): the check proves nothing"
else
	ok "no target, host, user, password or header in the exposition (the catalog holds them)"
fi

# e. a reader
sql -c "CREATE ROLE it_metrics_reader LOGIN IN ROLE depwatch_reader"
reader=$(PGROLE=it_metrics_reader sql -c "SELECT depwatch.metrics()" 2>&1) || true
if [ "$(grep -c '^depwatch_' <<<"$reader")" = "$(grep -c '^depwatch_' "$txt")" ] && [ "$(tail -n 1 <<<"$reader")" = "$(tail -n 2 "$txt" | head -n 1)" ]; then
	ok "a login role in depwatch_reader gets the same samples ($(grep -c '^depwatch_' <<<"$reader"))"
else
	fail "a login role in depwatch_reader gets: $(head -c 300 <<<"$reader")"
fi

if [ "$failures" -eq 0 ]; then
	echo "ok - metrics: all checks passed"
else
	echo "FAIL - metrics: $failures check(s) failed"
	exit 1
fi
