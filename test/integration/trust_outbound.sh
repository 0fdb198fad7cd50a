#!/usr/bin/env bash
# Outbound connections are the superuser's decision (SPEC section 6, issue
# 16 items 2 to 4).  mallory is a LOGIN role in depwatch_admin, no
# superuser.  The cluster trusts every local connection (127.0.0.1 and its
# socket), and the server process has PGPASSFILE pointing at a password
# file with a password for every server.  test/fake_outbound.py runs an
# http peer on 127.0.0.5 and 127.0.0.1, and fake PostgreSQL servers that
# ask for a cleartext password and write down any that comes.
#   a. at SQL time mallory cannot point a probe at the local server (unix
#      socket, loopback, "localhost"), set options (session_preload_
#      libraries) or passfile, or probe loopback addresses (42501 each);
#   b. the worker is the enforcement point: restricted rows that slipped
#      past those checks (as 0.2 left them, or a name resolving to
#      loopback, which the postgres probe resolves first) give failed
#      samples saying why, the fake peers see no connection, the server
#      logs no probe login, and the planted library's marker never
#      appears;
#   c. a bad depwatch.allowed_addresses is refused with the reason; once
#      a superuser allows 127.0.0.5/32 (ALTER SYSTEM + reload) those
#      probes reach 127.0.0.5, still not 127.0.0.1; mallory may now add
#      one; a restricted postgres probe to a fake server sends no password
#      from the server's password file;
#   d. a superuser's dependencies on loopback are probed as before, and
#      their postgres probes send no stored password either;
#   e. item 3: with a held serializable transaction and a held lock, a
#      superuser's probes made to wait (deferrable serializable defaults, a
#      query on the locked table) leave at most one backend each behind,
#      and a superuser can still connect.
set -euo pipefail
cd "$(dirname "$0")/../.."

dir=tmp/trust_outbound
port=15602
P_HTTP=15605 P_PG=15606 P_PG_LOCAL=15607 P_HTTP_LOCAL=15608

holders=()
cleanup() {
	for pid in "${holders[@]}"; do kill "$pid" 2>/dev/null || true; done
	[ ! -f "$dir/fake.pid" ] || kill "$(cat "$dir/fake.pid")" 2>/dev/null || true
	scripts/cluster.sh stop "$dir" "$port"
}
trap cleanup EXIT

. test/lib.sh
# sqlm SQL: as mallory
sqlm() { psql -X -A -t -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U mallory -d bank -c "$1"; }
# refused_for_mallory LABEL SQL: mallory's SQL fails with 42501
refused_for_mallory() {
	local out
	if out=$(psql -X -A -t -q -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -h 127.0.0.1 -p "$port" \
		-U mallory -d bank -c "$2" 2>&1); then
		fail "$1: accepted"
	fi
	case $out in
	*42501*) ok "$1: refused ($(echo "$out" | sed -n 's/^ERROR:  42501: //p'))" ;;
	*) fail "$1: $out" ;;
	esac
}
samples() { sql "SELECT count(*) FROM depwatch.sample s JOIN depwatch.dependency d ON d.id = s.dependency_id WHERE d.name = '$1' $2"; }

scripts/cluster.sh stop "$dir" "$port"
rm -rf "$dir"
mkdir -p "$dir/lib"
abs=$(cd "$dir" && pwd)

# a library that leaves a marker when any process loads it
cat >"$dir/lib/marker.c" <<EOF
#include <fcntl.h>
#include <unistd.h>
__attribute__((constructor)) static void planted(void)
{
	int fd = open("$abs/MARKER", O_WRONLY | O_CREAT, 0644);
	if (fd >= 0) close(fd);
}
EOF
gcc -shared -fPIC -o "$dir/lib/marker.so" "$dir/lib/marker.c"
# the server's own password file: a password for every server
echo '*:*:*:*:SERVER_SECRET' >"$dir/server.pgpass"
chmod 600 "$dir/server.pgpass"

python3 test/fake_outbound.py --log "$abs/fake.log" --pidfile "$dir/fake.pid" \
	127.0.0.5:$P_HTTP:http 127.0.0.5:$P_PG:pg 127.0.0.1:$P_PG_LOCAL:pg 127.0.0.1:$P_HTTP_LOCAL:http \
	>"$dir/fake.out" 2>&1 &
deadline=$((SECONDS + 10))
until grep -qx ready "$dir/fake.log" 2>/dev/null; do
	[ $SECONDS -ge $deadline ] && fail "the fake peers did not start: $(cat "$dir/fake.out")"
	sleep 0.1
done

chown -R postgres "$dir"
PGPASSFILE=$abs/server.pgpass scripts/cluster.sh start "$dir" "$port" "depwatch.databases = 'bank'" \
	"log_connections = on"
DB=postgres sql "CREATE DATABASE bank"
sql "CREATE EXTENSION depwatch CASCADE" 2>/dev/null
sql "CREATE ROLE mallory LOGIN IN ROLE depwatch_admin"

# ---------------------------------------------------------------------------
# a. SQL time
# ---------------------------------------------------------------------------
refused_for_mallory "log into the local server as postgres through its socket" \
	"SELECT depwatch.add_dependency('local_sock', 'core', 'postgres', 'host=$abs port=$port dbname=bank user=postgres')"
refused_for_mallory "... with no host (libpq's default socket)" \
	"SELECT depwatch.add_dependency('local_default', 'core', 'postgres', 'dbname=bank user=postgres')"
refused_for_mallory "... over loopback" \
	"SELECT depwatch.add_dependency('local_tcp', 'core', 'postgres', 'postgresql://postgres@127.0.0.1:$port/bank')"
refused_for_mallory "... with a password, over loopback" \
	"SELECT depwatch.add_dependency('local_pw', 'core', 'postgres', 'host=127.0.0.1 port=$port dbname=bank user=postgres password=HideMe9')"
grep -q HideMe9 "$dir/server.log" && fail "the refused statement put its password in the server log: $(grep HideMe9 "$dir/server.log" | head -2)"
ok "... and the refusal leaves no STATEMENT line with the password in the server log"
refused_for_mallory "... by the name localhost" \
	"SELECT depwatch.add_dependency('local_name', 'core', 'postgres', 'host=localhost port=$port dbname=bank user=postgres')"
refused_for_mallory "load a library through options" \
	"SELECT depwatch.add_dependency('preload', 'core', 'postgres', 'host=127.0.0.9 dbname=bank options=''-c session_preload_libraries=$abs/lib/marker.so''')"
refused_for_mallory "... in URI form" \
	"SELECT depwatch.add_dependency('preload', 'core', 'postgres', 'postgresql://127.0.0.9/bank?options=-c%20session_preload_libraries%3D$abs/lib/marker.so')"
refused_for_mallory "use the server's password file" \
	"SELECT depwatch.add_dependency('pass', 'core', 'postgres', 'host=127.0.0.9 dbname=x passfile=$abs/server.pgpass')"
refused_for_mallory "http to a loopback address" \
	"SELECT depwatch.add_dependency('internal', 'other', 'http', 'http://127.0.0.5:$P_HTTP/', options => '{\"body_contains\": \"ok\"}')"
refused_for_mallory "tcp to a loopback address" \
	"SELECT depwatch.add_dependency('internal', 'other', 'tcp', '127.0.0.5:$P_HTTP')"
[ "$(sql "SELECT count(*) FROM depwatch.dependency")" = 0 ] || fail "a refused dependency was stored"

# ---------------------------------------------------------------------------
# b. the worker refuses what SQL could not judge (or what 0.2 stored)
# ---------------------------------------------------------------------------
# added by the superuser and made restricted in one transaction, as a row
# 0.2 left is (the worker never sees it unrestricted)
add_restricted() {
	sql "SELECT depwatch.add_dependency('$1', 'other', '$2', \$t\$$3\$t\$, every => '300 ms', timeout => '250 ms');
		UPDATE depwatch.dependency SET probe_set_by_superuser = false WHERE name = '$1'" >/dev/null
}
add_restricted pg_sock postgres "host=$abs port=$port dbname=bank user=postgres options='-c session_preload_libraries=$abs/lib/marker.so'"
add_restricted pg_default postgres "dbname=bank user=postgres"
add_restricted pg_local postgres "host=localhost port=$port dbname=bank user=postgres"
add_restricted pg_fake postgres "host=127.0.0.5 port=$P_PG dbname=x user=bob"
add_restricted pg_passfile postgres "host=127.0.0.9 dbname=x user=bob passfile=$abs/server.pgpass"
add_restricted http_int http "http://127.0.0.5:$P_HTTP/"
add_restricted tcp_int tcp "127.0.0.5:$P_HTTP"
add_restricted http_name http "http://localhost:$P_HTTP_LOCAL/"
add_restricted tcp_name tcp "localhost:$P_HTTP_LOCAL"
restricted="'pg_sock', 'pg_default', 'pg_local', 'pg_fake', 'pg_passfile', 'http_int', 'tcp_int', 'http_name', 'tcp_name'"
names="pg_sock pg_default pg_local pg_fake pg_passfile http_int tcp_int http_name tcp_name"
# a name SQL cannot judge that resolves to loopback: the postgres probe
# checks the address it resolved (where this host's name is loopback)
me=$(hostname)
if getent ahostsv4 "$me" 2>/dev/null | grep -q '^127\.'; then
	sqlm "SELECT depwatch.add_dependency('pg_myname', 'other', 'postgres', 'host=$me port=$port dbname=bank user=postgres',
		every => '300 ms', timeout => '250 ms')" >/dev/null
	restricted="$restricted, 'pg_myname'"
	names="$names pg_myname"
else
	echo "# $me does not resolve to loopback here: pg_myname not tried"
fi
wait_for 20 "SELECT count(*) = $(wc -w <<<"$names") FROM depwatch.dependency d WHERE d.name IN ($restricted)
	AND (SELECT count(*) FROM depwatch.sample s WHERE s.dependency_id = d.id) >= 3" t
bad=$(sql "SELECT string_agg(DISTINCT d.name || ': ' || s.detail, '; ') FROM depwatch.sample s
	JOIN depwatch.dependency d ON d.id = s.dependency_id
	WHERE d.name IN ($restricted) AND (s.ok OR s.detail NOT LIKE '%not allowed%')")
[ -z "$bad" ] || fail "restricted probes that were not refused: $bad"
for n in $names; do
	ok "restricted $n: $(sql "SELECT detail FROM depwatch.sample s JOIN depwatch.dependency d ON d.id = s.dependency_id
		WHERE d.name = '$n' ORDER BY at DESC LIMIT 1")"
done
grep -q '^accept' "$dir/fake.log" && fail "a fake peer was reached: $(grep '^accept' "$dir/fake.log" | sort | uniq -c)"
ok "no fake peer saw a connection"
grep -q 'application_name=depwatch probe' "$dir/server.log" && fail "a probe logged into the local server"
ok "no probe logged into the local server"
[ ! -e "$dir/MARKER" ] || fail "the planted library was loaded"
ok "the planted library was never loaded"

# ---------------------------------------------------------------------------
# c. a superuser allows 127.0.0.5
# ---------------------------------------------------------------------------
for bad in '10.0.0.1/8' '127.0.0.5/32, !bank.example' '127.0.0.5/32,'; do
	if out=$(psql -X -q -v VERBOSITY=verbose -h 127.0.0.1 -p "$port" -U postgres -d bank \
		-c "ALTER SYSTEM SET depwatch.allowed_addresses = '$bad'" 2>&1); then
		fail "depwatch.allowed_addresses = '$bad' was accepted"
	fi
	case $out in
	*22023*DETAIL*) ok "depwatch.allowed_addresses = '$bad' is refused: $(echo "$out" | sed -n 's/^DETAIL:  //p')" ;;
	*) fail "depwatch.allowed_addresses = '$bad': $out" ;;
	esac
done
sql "ALTER SYSTEM SET depwatch.allowed_addresses = '127.0.0.5/32'" >/dev/null
sql "SELECT pg_reload_conf()" >/dev/null
for n in http_int tcp_int; do
	wait_for 15 "SELECT count(*) > 0 FROM depwatch.sample s JOIN depwatch.dependency d ON d.id = s.dependency_id
		WHERE d.name = '$n' AND s.ok" t
done
grep -q "^accept 127.0.0.5:$P_HTTP" "$dir/fake.log" || fail "127.0.0.5 saw no probe"
ok "after the reload, restricted http and tcp probes reach 127.0.0.5"
before=$(samples http_name "")
wait_for 15 "SELECT count(*) >= $before + 3 FROM depwatch.sample s JOIN depwatch.dependency d ON d.id = s.dependency_id
	WHERE d.name = 'http_name'" t
[ "$(samples http_name "AND s.ok")" = 0 ] && [ "$(samples tcp_name "AND s.ok")" = 0 ] ||
	fail "a restricted probe reached 127.0.0.1"
grep -q "^accept 127.0.0.1:$P_HTTP_LOCAL" "$dir/fake.log" && fail "127.0.0.1 saw a restricted probe"
ok "127.0.0.1 is still refused"
sqlm "SELECT depwatch.add_dependency('internal', 'other', 'http', 'http://127.0.0.5:$P_HTTP/', every => '300 ms', timeout => '250 ms')" >/dev/null
wait_for 15 "SELECT count(*) > 0 FROM depwatch.sample s JOIN depwatch.dependency d ON d.id = s.dependency_id
	WHERE d.name = 'internal' AND s.ok" t
ok "mallory may add a probe of 127.0.0.5 now, and it is probed"
sql "SELECT depwatch.drop_dependency('pg_fake')" >/dev/null
sqlm "SELECT depwatch.add_dependency('pg_fake', 'other', 'postgres', 'host=127.0.0.5 port=$P_PG dbname=x user=bob', every => '300 ms', timeout => '250 ms')" >/dev/null
wait_for 15 "SELECT count(*) >= 3 FROM depwatch.sample s JOIN depwatch.dependency d ON d.id = s.dependency_id
	WHERE d.name = 'pg_fake'" t
grep -q "^startup 127.0.0.5:$P_PG user=bob" "$dir/fake.log" || fail "the fake server saw no startup"
grep -q "^password" "$dir/fake.log" && fail "a password was sent: $(grep '^password' "$dir/fake.log" | head -1)"
ok "mallory's postgres probe reaches the fake server without a password ($(sql "SELECT detail FROM depwatch.sample s
	JOIN depwatch.dependency d ON d.id = s.dependency_id WHERE d.name = 'pg_fake' ORDER BY at DESC LIMIT 1"))"
[ "$(samples pg_passfile "AND s.detail LIKE '%\"passfile\" is not allowed%'")" -gt 0 ] ||
	fail "pg_passfile: $(sql "SELECT string_agg(DISTINCT detail, '; ') FROM depwatch.sample s JOIN depwatch.dependency d ON d.id = s.dependency_id WHERE d.name = 'pg_passfile'")"
ok "a restricted probe naming a passfile is refused by the worker"

# ---------------------------------------------------------------------------
# d. a superuser's dependencies on loopback
# ---------------------------------------------------------------------------
sql "SELECT depwatch.drop_dependency(name) FROM depwatch.dependency" >/dev/null
sql "SELECT depwatch.add_dependency('su_tcp', 'core', 'tcp', '127.0.0.1:$port', every => '300 ms', timeout => '250 ms')" >/dev/null
sql "SELECT depwatch.add_dependency('su_pg', 'core', 'postgres', 'host=127.0.0.1 port=$port dbname=bank user=postgres', every => '300 ms', timeout => '250 ms')" >/dev/null
sql "SELECT depwatch.add_dependency('su_fake', 'core', 'postgres', 'host=127.0.0.1 port=$P_PG_LOCAL dbname=x user=carol', every => '300 ms', timeout => '250 ms')" >/dev/null
for n in su_tcp su_pg; do
	wait_for 15 "SELECT count(*) >= 2 FROM depwatch.sample s JOIN depwatch.dependency d ON d.id = s.dependency_id
		WHERE d.name = '$n' AND s.ok" t
done
ok "a superuser's tcp and postgres probes of loopback are probed as before"
wait_for 15 "SELECT count(*) >= 3 FROM depwatch.sample s JOIN depwatch.dependency d ON d.id = s.dependency_id
	WHERE d.name = 'su_fake'" t
grep -q "^startup 127.0.0.1:$P_PG_LOCAL user=carol" "$dir/fake.log" || fail "the local fake server saw no startup"
grep -q "^password" "$dir/fake.log" && fail "a password was sent: $(grep '^password' "$dir/fake.log" | head -1)"
ok "a superuser's postgres probe sends no password from the server's password file either"

# ---------------------------------------------------------------------------
# e. item 3: probes that would wait leave no backends behind
# ---------------------------------------------------------------------------
sql "SELECT depwatch.drop_dependency(name) FROM depwatch.dependency" >/dev/null
sql "CREATE TABLE public.locked (x int); CREATE TABLE public.serial (x int)"
psql -X -q -h 127.0.0.1 -p "$port" -U postgres -d bank -v ON_ERROR_STOP=1 \
	-c "SET application_name = 'holder'" \
	-c "BEGIN; LOCK TABLE public.locked IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(120); COMMIT" >/dev/null 2>&1 &
holders+=($!)
psql -X -q -h 127.0.0.1 -p "$port" -U postgres -d bank -v ON_ERROR_STOP=1 \
	-c "SET application_name = 'holder'" \
	-c "BEGIN ISOLATION LEVEL SERIALIZABLE; INSERT INTO public.serial VALUES (1); SELECT pg_sleep(120); COMMIT" >/dev/null 2>&1 &
holders+=($!)
wait_for 10 "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'holder' AND wait_event = 'PgSleep'" 2
sql "SELECT depwatch.add_dependency('waits_lock', 'core', 'postgres', 'host=127.0.0.1 port=$port dbname=bank user=postgres',
	every => '300 ms', timeout => '250 ms', options => '{\"query\": \"SELECT count(*) FROM public.locked\"}')" >/dev/null
sql "SELECT depwatch.add_dependency('waits_snapshot', 'core', 'postgres',
	\$t\$host=127.0.0.1 port=$port dbname=bank user=postgres options='-c default_transaction_isolation=serializable -c default_transaction_read_only=on -c default_transaction_deferrable=on'\$t\$,
	every => '300 ms', timeout => '250 ms')" >/dev/null
most=0
deadline=$((SECONDS + 30))
while [ "$(samples waits_lock "")" -lt 15 ] || [ "$(samples waits_snapshot "")" -lt 15 ]; do
	[ $SECONDS -ge $deadline ] && fail "the waiting probes took no 15 samples in 30 s"
	n=$(sql "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'depwatch probe'")
	[ "$n" -gt "$most" ] && most=$n
	sleep 0.1
done
[ "$most" -le 4 ] || fail "up to $most probe backends at once (2 dependencies)"
ok "15 probe periods with a held lock and a held serializable transaction: at most $most probe backends at once"
psql -X -A -t -h 127.0.0.1 -p "$port" -U postgres -d bank -c "SELECT 1" >/dev/null || fail "a superuser cannot connect"
ok "a superuser can still connect"
ok "waits_lock: $(sql "SELECT detail FROM depwatch.sample s JOIN depwatch.dependency d ON d.id = s.dependency_id
	WHERE d.name = 'waits_lock' ORDER BY at DESC LIMIT 1")"
[ "$(samples waits_snapshot "AND s.ok")" -gt 0 ] ||
	fail "waits_snapshot: $(sql "SELECT string_agg(DISTINCT detail, '; ') FROM depwatch.sample s JOIN depwatch.dependency d ON d.id = s.dependency_id WHERE d.name = 'waits_snapshot'")"
ok "the deferrable serializable probe does not wait for a safe snapshot"
echo "trust_outbound: all checks passed"
