#!/usr/bin/env bash
# Run every test of depwatch (after make install): pg_regress, pgTAP through
# pg_prove, and the integration scripts in test/integration.  Counts one
# test per regression file, pgTAP file and integration script, and ends
# with the line "N passed, N failed"; exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)

passed=0
failed=0
record() {						# record NAME OK?
	if [ "$2" = 0 ]; then
		passed=$((passed + 1)); printf '  ok      %s\n' "$1"
	else
		failed=$((failed + 1)); printf '  FAILED  %s\n' "$1"
	fi
}

runas=()
if [ "$(id -u)" -eq 0 ]; then
	id postgres >/dev/null 2>&1 || useradd --system postgres
	runas=(runuser -u postgres --)
fi
mkdir -p tmp
p=$top; while [ "$p" != / ]; do chmod o+x "$p" 2>/dev/null || true; p=$(dirname "$p"); done
# the test user reads the sources; data directories under tmp/ must stay 0700
find "$top" -path "$top/tmp" -prune -o -path "$top/.git" -prune -o -exec chmod o+rX {} + 2>/dev/null || true

echo "== pg_regress (sql/, expected/)"
rm -rf tmp/regress && mkdir -p tmp/regress
[ ${#runas[@]} -eq 0 ] || chown -R postgres tmp/regress
"${runas[@]}" make -s installcheck >tmp/regress/run.log 2>&1
while read -r name result; do
	record "regress/$name" "$([ "$result" = ok ] && echo 0 || echo 1)"
done < <(sed -nE 's/^(test| )? *([a-z_0-9]+) +\.\.\. +(ok|FAILED|failed).*/\2 \3/p' tmp/regress/run.log)
if ! grep -qE '\.\.\. +(ok|FAILED|failed)' tmp/regress/run.log; then
	record "regress (did not run)" 1
	cat tmp/regress/run.log
fi
[ -s tmp/regress/regression.diffs ] && head -150 tmp/regress/regression.diffs

echo "== pgTAP (test/pgtap/)"
tapdir=tmp/pgtap
tapport=15410
scripts/cluster.sh stop "$tapdir" "$tapport"
rm -rf "$tapdir"
scripts/cluster.sh start "$tapdir" "$tapport" "depwatch.vantage = 'pgtap'"
export PGHOST=127.0.0.1 PGPORT=$tapport PGUSER=postgres
for t in test/pgtap/*.sql; do
	[ -e "$t" ] || continue
	db="tap_$(basename "$t" .sql)"
	psql -qX -d postgres -c "CREATE DATABASE $db" >/dev/null &&
		psql -qX -d "$db" -c "CREATE EXTENSION pgtap" -c "CREATE EXTENSION depwatch CASCADE" >/dev/null 2>&1
	pg_prove -d "$db" "$t" >"$tapdir/$(basename "$t").log" 2>&1
	rc=$?
	record "pgtap/$(basename "$t" .sql)" $rc
	[ $rc -eq 0 ] || cat "$tapdir/$(basename "$t").log"
done
scripts/cluster.sh stop "$tapdir" "$tapport"
unset PGHOST PGPORT PGUSER

echo "== integration (test/integration/)"
for t in test/integration/*.sh; do
	[ -e "$t" ] || continue
	log="tmp/$(basename "$t" .sh).log"
	"$t" >"$log" 2>&1
	rc=$?
	record "integration/$(basename "$t" .sh)" $rc
	[ $rc -eq 0 ] || tail -40 "$log"
done

# --- fuzz regressions: each fuzz target, built with gcc and the sanitizers
# (no clang needed), replays its committed corpus: seeds and every case
# "make fuzz" has found.
echo "== fuzz regressions (test/fuzz/corpus/)"
for t in test/fuzz/fuzz_*.c; do
	[ -e "$t" ] || continue
	name=$(basename "$t" .c); name=${name#fuzz_}
	log="tmp/fuzz_replay_$name.log"
	FUZZ_DIR=tmp/fuzz_replay scripts/fuzz.sh --replay "$name" >"$log" 2>&1
	rc=$?
	record "fuzz/$name" $rc
	[ $rc -eq 0 ] || tail -20 "$log"
done
# --- end of fuzz regressions

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
