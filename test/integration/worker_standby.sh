#!/usr/bin/env bash
# The probe worker on a hot standby (SPEC section 4: "does nothing on a hot
# standby and starts after promotion").  A primary probes an "up" tcp
# dependency; a streaming standby made with pg_basebackup runs no depwatch
# launcher or worker and writes no samples of its own (each node stamps its
# samples with its depwatch.vantage), while the primary keeps probing.  Then
# the primary stops, the standby is promoted, and within 5 s it runs a worker
# that writes samples of its own.
set -euo pipefail
cd "$(dirname "$0")/../.."

pdir=tmp/it_standby_p
sdir=tmp/it_standby_s
pport=15461
sport=15462
up_port=18296					# a listener we start: the "up" dependency
bindir=$(pg_config --bindir)
runas=(runuser -u postgres --)

listener=
placeholder=
cleanup() {
	[ -z "$listener" ] || kill "$listener" 2>/dev/null || true
	[ -z "$placeholder" ] || kill "$placeholder" 2>/dev/null || true
	scripts/cluster.sh stop "$sdir" "$sport"
	scripts/cluster.sh stop "$pdir" "$pport"
}
trap cleanup EXIT

# sql PORT SQL
sql() { psql -X -A -t -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$1" -U postgres -d "${DB:-bank}" -c "$2"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok - $*"; }
# wait_for SECONDS PORT SQL EXPECTED: poll until SQL prints EXPECTED
wait_for() {
	local deadline=$((SECONDS + $1)) got
	while :; do
		got=$(sql "$2" "$3" 2>/dev/null || true)
		[ "$got" = "$4" ] && return 0
		[ $SECONDS -ge $deadline ] && fail "after $1 s, '$3' on port $2 gave '$got', not '$4'"
		sleep 0.2
	done
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
depwatch_procs="SELECT coalesce(string_agg(backend_type, ',' ORDER BY backend_type), '')
	FROM pg_stat_activity WHERE backend_type LIKE 'depwatch%'"

port_open $up_port && fail "port $up_port is in use"
scripts/cluster.sh stop "$sdir" "$sport"
scripts/cluster.sh stop "$pdir" "$pport"

# Linux gives outgoing connections even local ports by preference, so one of
# the many connections made below (probes, psql, pg_basebackup) may take
# $sport as its own port, and the standby could not bind it until that
# socket's TIME_WAIT (60 s) is over.  A placeholder holds the port until
# the standby starts; it waits out such a socket of someone else's first.
python3 -c "
import socket, sys, time
deadline = time.time() + 65
while True:
    s = socket.socket()
    try:
        s.bind(('127.0.0.1', $sport))
        break
    except OSError:
        s.close()
        if time.time() > deadline:
            sys.exit(1)
        time.sleep(0.5)
s.listen()
time.sleep(300)" &
placeholder=$!
deadline=$((SECONDS + 70))
until port_open $sport; do
	kill -0 $placeholder 2>/dev/null || fail "port $sport stayed in use for 65 s"
	[ $SECONDS -ge $deadline ] && fail "the placeholder on port $sport did not start"
	sleep 0.1
done
[ $SECONDS -lt 2 ] || echo "   (waited $SECONDS s for port $sport to be free)"

python3 -m http.server $up_port --bind 127.0.0.1 >/dev/null 2>&1 &
listener=$!
deadline=$((SECONDS + 10))
until port_open $up_port; do
	[ $SECONDS -ge $deadline ] && fail "the listener on port $up_port did not start"
	sleep 0.1
done

# --- the primary ------------------------------------------------------------
rm -rf "$pdir" "$sdir"
scripts/cluster.sh start "$pdir" "$pport" "depwatch.databases = 'bank'" "wal_level = replica" \
	"depwatch.vantage = 'primary'"
DB=postgres sql $pport "CREATE DATABASE bank"
sql $pport "CREATE EXTENSION depwatch CASCADE" 2>/dev/null
up_id=$(sql $pport "SELECT depwatch.add_dependency('listening', 'other', 'tcp', '127.0.0.1:$up_port',
	every => '1 s', timeout => '500 ms')")
# the launcher looks for a missing database again every 10 s
wait_for 20 $pport "SELECT count(*) > 0 FROM depwatch.sample WHERE dependency_id = $up_id AND ok" t
ok "the primary probes the dependency"

# --- the standby --------------------------------------------------------------
mkdir -p "$sdir"
chown postgres "$sdir"
"${runas[@]}" "$bindir/pg_basebackup" -h 127.0.0.1 -p $pport -U postgres -D "$sdir/data" -R -X stream -c fast
{
	echo "port = $sport"
	echo "unix_socket_directories = '$(cd "$sdir" && pwd)'"
	echo "depwatch.vantage = 'standby'"
} >>"$sdir/data/postgresql.auto.conf"
chown -R postgres "$sdir"
kill $placeholder
wait $placeholder 2>/dev/null || true
placeholder=
"${runas[@]}" "$bindir/pg_ctl" -D "$sdir/data" -l "$sdir/server.log" -w -t 60 start >/dev/null
[ "$(sql $sport "SELECT pg_is_in_recovery()")" = t ] || fail "the standby is not in recovery"
ok "a streaming standby runs on port $sport"

# the standby replays what the primary's worker writes...
since=$(sql $pport "SELECT clock_timestamp()")
wait_for 10 $sport "SELECT count(*) > 0 FROM depwatch.sample WHERE vantage = 'primary' AND at > '$since'" t
ok "the standby replays the samples of the primary"
# ...for a while, during which it runs no depwatch process and writes nothing
sleep 3
got=$(sql $sport "$depwatch_procs")
[ -z "$got" ] || fail "the standby runs: $got"
ok "no depwatch launcher or worker runs on the standby"
got=$(sql $pport "$depwatch_procs")
[ "$got" = "depwatch launcher,depwatch worker" ] || fail "the primary runs '$got'"
ok "the primary runs its launcher and worker"
got=$(sql $sport "SELECT count(*) FROM depwatch.sample WHERE vantage <> 'primary'")
[ "$got" = 0 ] || fail "the standby has $got samples not written by the primary"
ok "the standby holds no samples of its own"
got=$(sql $sport "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'depwatch%'")
[ "$got" = 0 ] || fail "$got sessions named depwatch* run on the standby"
if grep -iE 'depwatch' "$sdir/server.log" | grep -E 'ERROR|WARNING|FATAL|PANIC'; then
	fail "the standby's log has depwatch errors"
fi
! grep -E 'depwatch worker started' "$sdir/server.log" || fail "a depwatch worker started on the standby"
ok "the standby's log has no depwatch errors or warnings, and no worker start"
since=$(sql $pport "SELECT clock_timestamp()")
wait_for 5 $pport "SELECT count(*) > 1 FROM depwatch.sample WHERE dependency_id = $up_id AND at > '$since'" t
ok "the primary's worker keeps probing"

# --- promotion ----------------------------------------------------------------
"${runas[@]}" "$bindir/pg_ctl" -D "$pdir/data" -m fast -w stop >/dev/null
ok "the primary is stopped"
[ "$(sql $sport "SELECT pg_promote()")" = t ] || fail "pg_promote() failed"
t0=$(date +%s.%N)
deadline=$((SECONDS + 5))
while :; do
	got=$(sql $sport "SELECT count(*) FROM depwatch.sample WHERE vantage = 'standby' AND dependency_id = $up_id AND ok" 2>/dev/null || true)
	[ -n "$got" ] && [ "$got" -gt 0 ] && break
	[ $SECONDS -ge $deadline ] &&
		fail "5 s after pg_promote() the promoted standby has no samples of its own (depwatch processes: '$(sql $sport "$depwatch_procs")')"
	sleep 0.1
done
ok "the promoted standby writes samples of its own $(awk "BEGIN { printf \"%.1f\", $(date +%s.%N) - $t0 }") s after pg_promote()"
got=$(sql $sport "$depwatch_procs")
[ "$got" = "depwatch launcher,depwatch worker" ] || fail "the promoted standby runs '$got'"
ok "the promoted standby runs a depwatch launcher and worker"
got=$(sql $sport "SELECT count(*) FROM depwatch.outage WHERE dependency_id = $up_id")
[ "$got" = 0 ] || fail "the up dependency has $got outages after the promotion"
got=$(sql $sport "SELECT ok FROM depwatch.verify_audit()")
[ "$got" = t ] || fail "verify_audit() on the promoted standby says $got"
ok "no outage of the up dependency; verify_audit() is ok"
