#!/usr/bin/env bash
# Peers are hostile (SPEC section 6; issue 16 items 7, 10 and 11).  A
# throwaway cluster on port 15622 probes test/hostile_peer.py's peers on
# 15625-15632 next to a well-behaved neighbour probed every 200 ms:
#   a. 20,000 request headers in the options are refused at SQL time (22023);
#   b. http peers answering 20,000 headers, an endless body or 30 MB, and a
#      postgres peer sending one 400 MB DataRow: the failed samples say why
#      (the 30 MB answer is judged on its first 64 KB; the 400 MB row also
#      over a unix socket, where the bytes are counted another way), the probe worker's
#      anonymous memory (RssAnon) stays under 64 MB, and the neighbour's
#      samples stay 200 ms apart;
#   c. postgres login errors in EUC-KR, in bytes valid in no encoding, and a
#      long valid Korean one: every stored detail is valid UTF-8, the long
#      one cut between characters (no replacement character);
#   d. pg_dump | pg_restore of that database keeps every sample row;
#   e. a row whose options break the number rule (error_rate 1e-400, stored
#      around the API as 0.2 allowed) is skipped with one WARNING; the worker
#      still sees configuration changes, and after a restart probes the rest;
#   f. 2,000 passive dependencies (calls leaving their windows meanwhile):
#      the worker uses under 20 % of a core over 10 s, and the neighbour's
#      samples stay on time.
# Each check prints "ok - ..."; the first failure ends the script.
set -euo pipefail
cd "$(dirname "$0")/../.."

dir=tmp/it_trust_peers
port=15622
P_HEADERS=15625 P_ENDLESS=15626 P_BIG=15627 P_PG_HUGE=15628
P_PG_EUCKR=15629 P_PG_BAD=15630 P_PG_LONG=15631 P_OK=15632 P_PG_ECHO=15633
export PGOPTIONS='-c client_min_messages=warning'

cleanup() {
	local rc=$?
	[ ! -f "$dir/hostile_peer.pid" ] || kill "$(cat "$dir/hostile_peer.pid")" 2>/dev/null || true
	scripts/cluster.sh stop "$dir" "$port"
	exit $rc
}
scripts/cluster.sh stop "$dir" "$port"
rm -rf "$dir"
trap cleanup EXIT
scripts/cluster.sh start "$dir" "$port" "depwatch.databases = 'bank'" "depwatch.vantage = 'it'"
. test/lib.sh

now_ms() { local t=${EPOCHREALTIME/[.,]/}; echo $((t / 1000)); }
S() { echo "(SELECT s.* FROM depwatch.sample s JOIN depwatch.dependency d ON d.id = s.dependency_id WHERE d.name = '$1')"; }
worker_pid() { sql "SELECT pid FROM pg_stat_activity WHERE backend_type = 'depwatch worker' AND datname = 'bank'"; }
# latest detail of a dependency's samples, "ok|detail"
latest() { sql "SELECT ok::int || '|' || coalesce(detail, '') FROM $(S "$1") x ORDER BY at DESC LIMIT 1"; }
# neighbour_since T: "count|max gap in ms" of the neighbour's samples after T
neighbour_since() {
	sql "SELECT count(*) || '|' || coalesce(round(extract(epoch FROM max(gap)) * 1000), 0)
		   FROM (SELECT at - lag(at) OVER (ORDER BY at) gap FROM $(S neighbour) x WHERE at > '$1') y"
}
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

sockdir=$(cd "$dir" && pwd)/hostile_sockets
mkdir -p "$sockdir" && chmod 777 "$sockdir"
python3 test/hostile_peer.py --pidfile "$dir/hostile_peer.pid" \
	"$sockdir/.s.PGSQL.$P_PG_HUGE=pg_huge_row" \
	$P_HEADERS=http_headers $P_ENDLESS=http_endless $P_BIG=http_big $P_PG_HUGE=pg_huge_row \
	$P_PG_EUCKR=pg_error_euckr $P_PG_BAD=pg_error_bad $P_PG_LONG=pg_error_long $P_OK=http_ok \
	$P_PG_ECHO=pg_echo_password \
	>"$dir/hostile_peer.log" 2>&1 &
for _ in $(seq 50); do grep -q ready "$dir/hostile_peer.log" 2>/dev/null && break; sleep 0.1; done
grep -q ready "$dir/hostile_peer.log" || fail "hostile_peer.py did not start: $(cat "$dir/hostile_peer.log")"

DB=postgres sql "CREATE DATABASE bank"
sql "CREATE EXTENSION depwatch CASCADE"
wait_for 20 "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'depwatch worker' AND datname = 'bank'" 1

# ---------------------------------------------------------------------------
# a. 20,000 request headers: refused when set
# ---------------------------------------------------------------------------
out=$(psql -X -q -h 127.0.0.1 -p "$port" -U postgres -d bank -v VERBOSITY=verbose -c "
	SELECT depwatch.add_dependency('many_headers', 'other', 'http', 'http://127.0.0.1:$P_OK/',
		options => (SELECT jsonb_build_object('headers', jsonb_object_agg('X-H' || i, 'v'))
					FROM generate_series(1, 20000) i))" 2>&1 || true)
echo "$out" | grep -q 'ERROR:  22023: invalid options: option "headers" has more than 32 headers' ||
	fail "a. 20,000 request headers were not refused with 22023: $out"
echo "$out" | grep -q 'HINT:  Send at most 32 request headers' || fail "a. no hint: $out"
[ "$(sql "SELECT count(*) FROM depwatch.dependency")" = 0 ] || fail "a. a dependency was added"
ok "a. 20,000 request headers refused at SQL time (22023, with a hint)"

# ---------------------------------------------------------------------------
# b. hostile answers, next to a neighbour probed every 200 ms
# ---------------------------------------------------------------------------
sql "SELECT depwatch.add_dependency('neighbour', 'other', 'http', 'http://127.0.0.1:$P_OK/',
		every => '200 ms', timeout => '150 ms')" >/dev/null
wait_for 5 "SELECT count(*) > 0 FROM $(S neighbour) x" t
t0=$(sql "SELECT now()")
sql "SELECT count(*) FROM (VALUES
	(depwatch.add_dependency('h_headers', 'other', 'http', 'http://127.0.0.1:$P_HEADERS/', every => '1 s', timeout => '800 ms')),
	(depwatch.add_dependency('h_endless', 'other', 'http', 'http://127.0.0.1:$P_ENDLESS/', every => '1 s', timeout => '800 ms',
							 options => '{\"body_contains\": \"healthy\"}')),
	(depwatch.add_dependency('h_big', 'other', 'http', 'http://127.0.0.1:$P_BIG/', every => '1 s', timeout => '800 ms')),
	(depwatch.add_dependency('pg_huge', 'other', 'postgres',
							 'host=127.0.0.1 port=$P_PG_HUGE dbname=x user=x sslmode=disable', every => '1 s', timeout => '800 ms')),
	(depwatch.add_dependency('pg_huge_unix', 'other', 'postgres',
							 'host=$sockdir port=$P_PG_HUGE dbname=x user=x', every => '1 s', timeout => '800 ms')),
	(depwatch.add_dependency('pg_euckr', 'other', 'postgres',
							 'host=127.0.0.1 port=$P_PG_EUCKR dbname=x user=x sslmode=disable', every => '1 s', timeout => '800 ms')),
	(depwatch.add_dependency('pg_bad', 'other', 'postgres',
							 'host=127.0.0.1 port=$P_PG_BAD dbname=x user=x sslmode=disable', every => '1 s', timeout => '800 ms')),
	(depwatch.add_dependency('pg_long', 'other', 'postgres',
							 'host=127.0.0.1 port=$P_PG_LONG dbname=x user=x sslmode=disable', every => '1 s', timeout => '800 ms'))) v" >/dev/null

# watch the worker's memory while every hostile peer is probed 5 times
pid=$(worker_pid)
max_anon=0 max_rss=0
deadline=$(( $(now_ms) + 6000 ))
while [ "$(now_ms)" -lt $deadline ]; do
	anon=$(awk '/^RssAnon:/ { print $2 }' "/proc/$pid/status")
	rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")
	[ "$anon" -le "$max_anon" ] || max_anon=$anon
	[ "$rss" -le "$max_rss" ] || max_rss=$rss
	sleep 0.1
done
[ "$(worker_pid)" = "$pid" ] || fail "b. the worker restarted (pid $pid -> $(worker_pid))"
for d in h_headers h_endless h_big pg_huge pg_huge_unix pg_euckr pg_bad pg_long; do
	n=$(sql "SELECT count(*) FROM $(S $d) x")
	[ "$n" -ge 3 ] || fail "b. $d: only $n samples in 6 s"
done
[ "$max_anon" -lt 65536 ] || fail "b. the worker's RssAnon reached $max_anon kB"
ok "b. worker memory while probing hostile peers: RssAnon at most $max_anon kB, VmRSS at most $max_rss kB (shared buffers included)"

check_detail() {
	local d=$1 want_ok=$2 pattern=$3 got
	got=$(latest "$d")
	case "$got" in
		"$want_ok|"*) ;;
		*) fail "b. $d: expected ok=$want_ok, got '$got'" ;;
	esac
	echo "$got" | grep -q -- "$pattern" || fail "b. $d: detail '$got' does not say '$pattern'"
	ok "b. $d: ${got:0:110}"
}
check_detail h_headers 0 'response headers longer than 32768 bytes'
check_detail h_endless 0 'without "healthy" in the first 64 KB of the body'
check_detail h_big 1 'HTTP 200, body read up to 65536 bytes'
check_detail pg_huge 0 'the server sent more than 65536 bytes while answering; connection abandoned'
check_detail pg_huge_unix 0 'the server sent more than 65536 bytes while answering; connection abandoned'

read -r n gap <<<"$(neighbour_since "$t0" | tr '|' ' ')"
[ "$n" -ge 27 ] || fail "b. the neighbour got $n samples in about 6.5 s next to the hostile peers (expected ~32)"
[ "$gap" -le 400 ] || fail "b. the neighbour's samples were up to $gap ms apart"
ok "b. the neighbour kept its schedule: $n samples, at most $gap ms apart"

# ---------------------------------------------------------------------------
# c. peer text in any encoding is stored as valid UTF-8, cut between characters
# ---------------------------------------------------------------------------
for d in pg_euckr pg_bad pg_long; do
	# convert_from checks the bytes: it fails on invalid UTF-8
	got=$(sql "SELECT count(*) FILTER (WHERE convert_from(convert_to(detail, 'UTF8'), 'UTF8') = detail
								  AND octet_length(detail) < 160 AND NOT ok)
				 || '|' || count(*) FROM $(S $d) x" 2>&1) || fail "c. $d: stored detail is not valid UTF-8: $got"
	[ "${got%|*}" = "${got#*|}" ] || fail "c. $d: $got samples valid, short and failed"
done
[ "$(sql "SELECT bool_and(detail LIKE '%' || U&'\FFFD' || '%') FROM $(S pg_euckr) x")" = t ] ||
	fail "c. pg_euckr: EUC-KR bytes were not replaced"
got=$(sql "SELECT detail FROM $(S pg_long) x ORDER BY at DESC LIMIT 1")
[ "$(sql "SELECT bool_and(detail NOT LIKE '%' || U&'\FFFD' || '%' AND detail LIKE '%사용자 \"probe\"의 비밀번호%')
			FROM $(S pg_long) x")" = t ] || fail "c. pg_long: the valid Korean message was not cut between characters: $got"
ok "c. login errors in EUC-KR and invalid bytes stored as valid UTF-8; the long Korean one cut between characters (${#got} characters)"

# ---------------------------------------------------------------------------
# c2. a peer that quotes back the password it was sent: the sample's detail
#     (which readers read) shows it masked
# ---------------------------------------------------------------------------
sql "SELECT depwatch.add_dependency('pg_echo', 'other', 'postgres',
	'host=127.0.0.1 port=$P_PG_ECHO dbname=x user=x sslmode=disable password=EchoSecret7', every => '1 s', timeout => '800 ms')" >/dev/null
wait_for 20 "SELECT count(*) > 0 FROM $(S pg_echo) x" t
got=$(latest pg_echo)
case $got in *EchoSecret7*) fail "c2. the echoed password is stored: $got" ;; esac
case $got in 0*'password "********" is wrong'*) ;; *) fail "c2. the echo was not stored masked: $got" ;; esac
ok "c2. a peer's echo of the password is stored masked: $got"

# ---------------------------------------------------------------------------
# d. a dump restores whole
# ---------------------------------------------------------------------------
DB=postgres sql "CREATE DATABASE bank_copy"
sql "SELECT depwatch.alter_dependency(name, enabled => false) FROM depwatch.dependency" >/dev/null
pg_dump -h 127.0.0.1 -p "$port" -U postgres -Fc bank >"$dir/bank.dump"
restore_out=$(pg_restore -h 127.0.0.1 -p "$port" -U postgres -d bank_copy "$dir/bank.dump" 2>&1) ||
	fail "d. pg_restore failed: $(echo "$restore_out" | head -5)"
a=$(sql "SELECT count(*) FROM depwatch.sample")
b=$(DB=bank_copy sql "SELECT count(*) FROM depwatch.sample")
[ "$a" = "$b" ] && [ "$a" -gt 0 ] || fail "d. $a samples dumped, $b restored"
DB=postgres sql "DROP DATABASE bank_copy"
ok "d. pg_dump | pg_restore kept all $a samples, peer text included"
sql "SELECT depwatch.alter_dependency('neighbour', enabled => true)" >/dev/null

# ---------------------------------------------------------------------------
# e. one row with a bad number does not blind the worker
# ---------------------------------------------------------------------------
sql "SELECT depwatch.add_dependency('bad_rate', 'other', 'passive')" >/dev/null
# as 0.2 stored it (its check let 1e-400 through), written around the API
sql "UPDATE depwatch.dependency SET options = '{\"error_rate\": 1e-400}' WHERE name = 'bad_rate'"
sql "SELECT depwatch.add_dependency('newcomer', 'other', 'http', 'http://127.0.0.1:$P_OK/', every => '200 ms', timeout => '150 ms')" >/dev/null
wait_for 5 "SELECT count(*) > 0 FROM $(S newcomer) x" t
sql "SELECT depwatch.alter_dependency('newcomer', every => '300 ms')" >/dev/null
sleep 1
warnings=$(grep -c 'dependency "bad_rate" is skipped: option "error_rate" is not a finite number' "$dir/server.log" || true)
[ "$warnings" = 1 ] || fail "e. $warnings warnings about bad_rate (expected exactly one)"
ok "e. a row with error_rate 1e-400 is skipped with one WARNING; a dependency added after it is probed"
runuser -u postgres -- "$(pg_config --bindir)/pg_ctl" -D "$dir/data" -m fast -w restart -l "$dir/server.log" >/dev/null
wait_for 20 "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'depwatch worker' AND datname = 'bank'" 1
t1=$(sql "SELECT now()")
wait_for 5 "SELECT count(*) > 0 FROM $(S newcomer) x WHERE at > '$t1'" t
wait_for 5 "SELECT count(*) > 0 FROM $(S neighbour) x WHERE at > '$t1'" t
[ "$(sql "SELECT dependencies FROM depwatch.worker_status")" = 2 ] ||
	fail "e. after a restart the worker holds $(sql "SELECT dependencies FROM depwatch.worker_status") dependencies, not 2"
ok "e. after a restart the worker probes every other row"
sql "SELECT depwatch.drop_dependency('bad_rate'), depwatch.drop_dependency('newcomer')" >/dev/null

# ---------------------------------------------------------------------------
# f. 2,000 passive dependencies cost what their calls cost
# ---------------------------------------------------------------------------
sql "SELECT count(depwatch.add_dependency('passive_' || i, 'other', 'passive',
		options => CASE WHEN i % 2 = 0 THEN '{\"window\": \"4 s\"}'::jsonb ELSE '{}' END))
	   FROM generate_series(1, 2000) i" >/dev/null
# one call each: those with a 4 s window see it leave during the measurement
sql "SELECT count(depwatch.report_sample('passive_' || i, i % 3 <> 0)) FROM generate_series(1, 2000) i" >/dev/null
sleep 1
pid=$(worker_pid)
t2=$(sql "SELECT now()")
c0=$(cpu_ticks "$pid")
sleep 10
c1=$(cpu_ticks "$pid")
hz=$(getconf CLK_TCK)
pct=$(( (c1 - c0) * 100 / (hz * 10) ))
[ "$pct" -lt 20 ] || fail "f. with 2,000 passive dependencies the worker used $pct % of a core over 10 s"
read -r n gap <<<"$(neighbour_since "$t2" | tr '|' ' ')"
[ "$n" -ge 45 ] && [ "$gap" -le 400 ] ||
	fail "f. the neighbour got $n samples in 10 s, up to $gap ms apart, next to 2,000 passive dependencies"
lag=$(sql "SELECT round(extract(epoch FROM lag_p99) * 1000) FROM depwatch.worker_status")
expired=$(sql "SELECT count(*) FROM depwatch.probe_state s JOIN depwatch.dependency d ON d.id = s.dependency_id
			   WHERE d.name LIKE 'passive\_%' AND d.options ? 'window' AND s.last_at > '$t2'")
[ "$expired" -ge 990 ] || fail "f. only $expired of the 1,000 passive dependencies whose call left the window were evaluated"
ok "f. 2,000 passive dependencies: the worker used $pct % of a core over 10 s; the neighbour got $n samples at most $gap ms apart (lag p99 $lag ms); the $expired whose call left the window were evaluated"
