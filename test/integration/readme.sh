#!/usr/bin/env bash
# README's commands cannot rot: every ```sql block of the sections
# "Tutorial" and "Binding a real ledger" is run, in order, as a user would
# paste it into psql (a server with depwatch.databases = 'bank'), and the
# answers the text promises are checked.
set -uo pipefail
cd "$(dirname "$0")/../.."
top=$(pwd)
dir=tmp/it_readme
port=15427
failures=0
ok() { echo "ok - $*"; }
not_ok() { echo "FAIL - $*"; failures=$((failures + 1)); }
check() {							# check WHAT COMMAND...
	local what=$1; shift
	if "$@"; then ok "$what"; else not_ok "$what"; fi
}
cleanup() { scripts/cluster.sh stop "$dir" $port; }
trap cleanup EXIT

# sql_blocks HEADING: the ```sql blocks of README's section HEADING
sql_blocks() {
	awk -v h="## $1" '
		index($0, h) == 1 { insec = 1; next }
		insec && /^## / { insec = 0 }
		insec && /^```sql$/ { inblock = 1; next }
		inblock && /^```$/ { inblock = 0; print ""; next }
		inblock { print }' README.md
}

scripts/cluster.sh stop "$dir" $port
rm -rf "$dir"
scripts/cluster.sh start "$dir" $port "depwatch.databases = 'bank'" "depwatch.vantage = 'readme'"
export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres
psql -qX -d postgres -c "CREATE DATABASE bank" -c "CREATE DATABASE ledger_example"
mkdir -p "$dir/work"

sql_blocks "Tutorial" >"$dir/tutorial.sql"
sql_blocks "Binding a real ledger" >"$dir/ledger.sql"
sql_blocks "Installing on an existing server" >"$dir/install.sql"
check "the tutorial has its steps" test "$(grep -c . "$dir/tutorial.sql")" -gt 30
check "the ledger example has its steps" test "$(grep -c . "$dir/ledger.sql")" -gt 30

(cd "$dir/work" && psql -X -v ON_ERROR_STOP=1 -d bank -f "$top/$dir/tutorial.sql") >"$dir/tutorial.out" 2>&1
check "the tutorial runs without an error" test $? -eq 0
out=$dir/tutorial.out
has() { grep -Eq -- "$1" "$out"; }
check "step 3: the worker probed the SMS gateway" has '^ sms +\| dependency +\| up'
check "step 4: the samples print how many were stored, not empty rows" \
	bash -c "grep -Eq '^ +samples *\$' '$out' && grep -A2 -E '^ +samples *\$' '$out' | grep -Eq '^ +5\$' && ! grep -q 'report_sample' '$out'"
check "step 4: NICE's outage was opened by the samples, backdated" \
	test "$(psql -qXAt -d bank -c "SELECT round(extract(epoch FROM ended_at - started_at) / 60) FROM depwatch.outages WHERE dependency = 'nice' AND kind = 'down'")" = 30
check "step 4: one outage of NICE, down, reported; KCB's manual" \
	test "$(psql -qXAt -d bank -c "SELECT string_agg(dependency || ':' || kind || ':' || source, ' ' ORDER BY dependency)
		FROM depwatch.outages WHERE dependency IN ('nice', 'kcb')")" = "kcb:down:manual nice:down:reported"
check "step 5: account opening down 10 minutes, because of nice|kcb" \
	has '^ down +\| 00:10:00(\.[0-9]+)? +\| \{nice\|kcb\}'
# the hour was monitored whole (every member tracked since an hour ago), so
# the figures are the ones the text gives: 50 of 60 minutes up
check "step 5: account opening 83.33 % over a whole monitored hour, budget overspent by 9 min 42 s" \
	has '^ account_opening +\| 01:00:00 +\| 00:10:00 +\| +83\.33 \| -00:09:42$'
check "step 6: impact counts 120 customers and 90 failed applications" \
	has '^ account_opening +\| +120 \| +90$'
check "step 7: reportable to the FSS" has '^ reportable +\| t '
check "step 8: timeline.svg is well-formed SVG" xmllint --noout "$dir/work/timeline.svg"
check "step 8: the metrics" has '^depwatch_up\{'
check "step 9: the audit log verifies" has '^ t +\| +[0-9]+ \| *$'

psql -X -v ON_ERROR_STOP=1 -d ledger_example -c "CREATE EXTENSION depwatch CASCADE" \
	-f "$dir/ledger.sql" >"$dir/ledger.out" 2>&1
check "the ledger example runs without an error" test $? -eq 0
out=$dir/ledger.out
check "the ledger example shows three customer sides" has '^\(3 rows\)'
check "the fee is folded into the payment, which left the bank" \
	has '^ +1001 \| +70 \| +7 \| .* \| +-50000 \| +500 \| transfer_fee +\| transfer +\| posted +\| t$'
# a year of payments between the two customers, then a day's worth read
# through the view as the reports read it
psql -qX -d ledger_example -c "INSERT INTO ledger.transfers
	SELECT 2000 + g, 70, 80, 100, NULL, 'payment', 'transfer', 'posted',
		   timestamptz '2022-01-01' + g * interval '10 minutes'
	FROM generate_series(1, 50000) g" -c "ANALYZE"
check "the time predicate reaches the ledger's index through the view" \
	bash -c "psql -qXAt -d ledger_example -c \"EXPLAIN SELECT * FROM for_depwatch.transfers
		WHERE occurred_at >= '2022-10-15' AND occurred_at < '2022-10-16'\" | grep -q 'Index.*transfers_created_at_idx'"

# Installing on an existing server: CREATE EXTENSION and the grants run
# as written, and give the roles what the text says
psql -qX -d postgres -c "CREATE DATABASE install_example"
psql -X -v ON_ERROR_STOP=1 -d install_example -f "$dir/install.sql" >"$dir/install.out" 2>&1
check "the installation's SQL runs without an error" test $? -eq 0
check "the installation's grants make grafana a reader, payments_app an operator, sre_lead an admin" \
	test "$(psql -qXAt -d install_example -c "SELECT pg_has_role('grafana', 'depwatch_reader', 'MEMBER')
		AND NOT pg_has_role('grafana', 'depwatch_operator', 'MEMBER')
		AND pg_has_role('payments_app', 'depwatch_operator', 'MEMBER')
		AND NOT pg_has_role('payments_app', 'depwatch_admin', 'MEMBER')
		AND pg_has_role('sre_lead', 'depwatch_admin', 'MEMBER')")" = t
# the settings the section names are depwatch's own (src/guc.c)
for guc in depwatch.databases depwatch.alert_route_from depwatch.alert_capabilities_due; do
	check "the installation names $guc, which the library defines" \
		grep -q "\"$guc\"" src/guc.c
done

# The docs cannot drift from the code: each README section an error hint
# names exists, and the number of bad calls the docs give for
# sql/errors.sql is the number its expected output counts.
for section in $(grep -rhoE 'README, \\?"[^"\\]+\\?"' src | sed -E 's/^README, \\?"//; s/\\?"$//' | sort -u | tr ' ' '_'); do
	check "the section \"${section//_/ }\" a hint names is in README" grep -qx "## ${section//_/ }" README.md
done
cases=$(awk '/^ cases \| succeeded/ { getline; getline; print $1 }' expected/errors.out)
check "README gives the $cases bad calls of sql/errors.sql" grep -q "\`sql/errors.sql\` | $cases bad calls" README.md
check "doc/reference.md gives the $cases bad calls of sql/errors.sql" \
	bash -c "tr '\n' ' ' < doc/reference.md | grep -q '\`sql/errors.sql\` shows $cases of'"

# PGXN's META.json: well-formed, and it says what the control file says
check "META.json describes this release" python3 -c "
import json, re, os, sys
m = json.load(open('META.json'))
control = open('depwatch.control').read()
default = re.search(r\"default_version = '([0-9.]+)'\", control).group(1)
p = m['provides']['depwatch']
ok = (m['name'] == 'depwatch' and m['meta-spec']['version'] == '1.0.0'
      and m['version'].startswith(default + '.') and p['version'] == m['version']
      and os.path.exists(p['file']) and os.path.exists(p['docfile'])
      and m['license'] and m['abstract'] and m['maintainer'])
sys.exit(0 if ok else 1)"

[ "$failures" -eq 0 ]
