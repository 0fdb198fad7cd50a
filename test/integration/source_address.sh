#!/usr/bin/env bash
# depwatch.source_address (issue 9, item 5): tcp and http probes connect
# from that local address.  A fake service resets every connection that
# comes from 127.0.0.2 and answers all others:
#   a. with source_address = 127.0.0.2 its http dependency goes down;
#   b. after SIGHUP with 127.0.0.3 it comes back up;
#   c. a tcp probe binds too: from 192.0.2.1 (an address this host does not
#      have) it cannot even connect, and says why;
#   d. a value that is not an IP address is refused.
set -euo pipefail
cd "$(dirname "$0")/../.."

dir=tmp/vantage_source_address
port=15480
ctl=18480
svc=18481

cleanup() {
	[ ! -f "$dir/fake.pid" ] || kill "$(cat "$dir/fake.pid")" 2>/dev/null || true
	scripts/cluster.sh stop "$dir" "$port"
}
trap cleanup EXIT

. test/lib.sh
set_source() {
	sql "ALTER SYSTEM SET depwatch.source_address = '$1'" >/dev/null
	sql "SELECT pg_reload_conf()" >/dev/null
}

scripts/cluster.sh stop "$dir" "$port"
rm -rf "$dir"
mkdir -p "$dir"
python3 test/fake_dependency.py --control $ctl --ports $svc --mode resetfrom:127.0.0.2 \
	--pidfile "$dir/fake.pid" >"$dir/fake.log" 2>&1 &
deadline=$((SECONDS + 10))
until curl -sf -m 1 "http://127.0.0.1:$ctl/status" >/dev/null 2>&1; do
	[ $SECONDS -ge $deadline ] && fail "the fake service did not start: $(cat "$dir/fake.log")"
	sleep 0.1
done
curl -sf --interface 127.0.0.2 "http://127.0.0.1:$svc/" >/dev/null 2>&1 &&
	fail "the fake answers 127.0.0.2"
curl -sf --interface 127.0.0.3 "http://127.0.0.1:$svc/" >/dev/null ||
	fail "the fake does not answer 127.0.0.3"

scripts/cluster.sh start "$dir" "$port" "depwatch.databases = 'bank'" \
	"depwatch.source_address = '127.0.0.2'"
DB=postgres sql "CREATE DATABASE bank"
sql "CREATE EXTENSION depwatch CASCADE" 2>/dev/null
id=$(sql "SELECT depwatch.add_dependency('bureau', 'credit_bureau', 'http', 'http://127.0.0.1:$svc/',
	every => '200 ms', timeout => '150 ms', fail_after => 2, recover_after => 2)")

# a. from 127.0.0.2: down
wait_for 15 "SELECT count(*) FROM depwatch.outage WHERE dependency_id = $id AND kind = 'down' AND upper_inf(during)" 1
[ "$(sql "SELECT count(*) FILTER (WHERE ok) FROM depwatch.sample WHERE dependency_id = $id")" = 0 ] ||
	fail "a probe from 127.0.0.2 was answered"
ok "from 127.0.0.2 the dependency is down ($(sql "SELECT detail FROM depwatch.sample WHERE dependency_id = $id ORDER BY at DESC LIMIT 1"))"

# b. from 127.0.0.3: up again
set_source 127.0.0.3
wait_for 15 "SELECT count(*) FROM depwatch.outage WHERE dependency_id = $id AND kind = 'down' AND upper_inf(during)" 0
ok "after SIGHUP, from 127.0.0.3 the dependency is up ($(sql "SELECT detail FROM depwatch.sample WHERE dependency_id = $id ORDER BY at DESC LIMIT 1"))"

# c. a tcp probe binds as well
sql "SELECT depwatch.drop_dependency('bureau')" >/dev/null
tcp=$(sql "SELECT depwatch.add_dependency('core', 'core', 'tcp', '127.0.0.1:$svc',
	every => '200 ms', timeout => '150 ms', fail_after => 2)")
wait_for 15 "SELECT bool_and(ok) FROM depwatch.sample WHERE dependency_id = $tcp HAVING count(*) >= 2" t
set_source 192.0.2.1
wait_for 15 "SELECT count(*) FROM depwatch.outage WHERE dependency_id = $tcp AND kind = 'down' AND upper_inf(during)" 1
detail=$(sql "SELECT detail FROM depwatch.sample WHERE dependency_id = $tcp ORDER BY at DESC LIMIT 1")
case $detail in
*bind*) ok "a tcp probe from 192.0.2.1 fails: $detail" ;;
*) fail "a tcp probe from 192.0.2.1 gave '$detail'" ;;
esac
set_source ''
wait_for 15 "SELECT count(*) FROM depwatch.outage WHERE dependency_id = $tcp AND kind = 'down' AND upper_inf(during)" 0
ok "with an empty source_address the system chooses again"

# d. not an address
if out=$(sql "ALTER SYSTEM SET depwatch.source_address = 'eth0'" 2>&1); then
	fail "depwatch.source_address accepted 'eth0'"
fi
case $out in
*'"eth0" is not an IPv4 or IPv6 address'*) ok "a value that is not an address is refused" ;;
*) fail "unexpected error: $out" ;;
esac
echo "source_address: all passed"
