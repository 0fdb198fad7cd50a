#!/usr/bin/env bash
# The probe worker against fake dependencies (SPEC sections 3 and 4, README
# "Probe worker").  test/fake_dependency.py serves fake services on
# 127.0.0.1:18101-18122 whose modes the test switches at run time; every
# probed dependency runs with every 1 s, timeout 500 ms, fail_after 2,
# recover_after 2 unless said otherwise.
#   a. up tcp (by address, and by host name through libcurl) and http
#      dependencies get an ok sample about once a second and no outage; a refused one gets a down outage backdated to its first bad
#      sample (detected at the second) that closes at the first good sample
#      of the recovering streak; http 503 and a wrong body make outages with
#      the reason in the samples; an unresolvable host fails within its
#      timeout; a slow peer makes a degraded outage, not a down one;
#   b. ten hung peers do not delay the others: the up dependencies' samples
#      stay 1 s +- 100 ms apart, worker_status.lag_p99 stays under 100 ms,
#      the hung ones time out; so does a tcp probe to a peer that drops
#      SYNs, and its socket is closed;
#   c. a peer refused for at most 2 probes in a row (fail_after 3) makes bad
#      samples but no outage;
#   d. add_dependency is probed within one interval; enabled => false stops
#      the samples (and loses none already taken); drop_dependency with
#      probes in flight, once in a transaction that commits 1.6 s later,
#      leaves no error and delays no other probe, and closes their sockets
#      at once (a tcp connect in flight too);
#   e. a passive dependency's outage opens on reported failures and is closed
#      by the worker's own evaluation once the failures leave the window;
#   f. pg_stat_activity shows the launcher and the worker, worker_status one
#      row for bank with the right number of dependencies;
#   a (slow DNS). where a private network and mount namespace can be made
#      (unshare, as root): a second throwaway cluster whose resolv.conf
#      points at a name server that never answers; an http dependency on a
#      host name there must still fail within its timeout, and an up
#      dependency beside it keep its one-second schedule.
# Each check prints "ok - ..." or "FAIL - ..."; the script goes on with the
# next check after a failure and exits non-zero if any failed.
set -euo pipefail
self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
cd "$(dirname "$0")/../.."

dir=tmp/it_probes
dns_dir=tmp/it_probes_dns		# the slow-DNS cluster (in its own namespaces)
in_dns_namespace=false
if [ "${1:-}" = --in-dns-namespace ]; then
	in_dns_namespace=true
	dir=$dns_dir
fi
port=15441
ctl=18100						# the fake server's control port
P_TCP_UP=18101 P_HTTP_UP=18102 P_REFUSED=18103 P_503=18104 P_WRONGBODY=18105
P_SLOW=18106 P_FLAP=18107 P_NEWCOMER=18108 P_TCP_HUNG=18109
P_HUNG_FIRST=18110 P_HUNG_LAST=18119	# ten hung peers
P_DOOMED_FIRST=18120 P_DOOMED_LAST=18122 # hung peers of the dependencies dropped in d
export PGOPTIONS='-c client_min_messages=warning'

fake_pid=
sampler_pid=
cleanup() {
	local rc=$?
	[ -z "$sampler_pid" ] || kill "$sampler_pid" 2>/dev/null || true
	if [ -f "$dir/fake_dependency.pid" ]; then
		kill "$(cat "$dir/fake_dependency.pid")" 2>/dev/null || true
	elif [ -n "$fake_pid" ]; then
		kill "$fake_pid" 2>/dev/null || true
	fi
	scripts/cluster.sh stop "$dir" "$port"
	# the slow-DNS cluster, if its namespace part was cut short
	if ! $in_dns_namespace && [ -f "$dns_dir/data/postmaster.pid" ]; then
		[ ! -f "$dns_dir/fake_dependency.pid" ] || kill "$(cat "$dns_dir/fake_dependency.pid")" 2>/dev/null || true
		scripts/cluster.sh stop "$dns_dir" "$port"
	fi
	exit $rc
}
trap cleanup EXIT

sql() { psql -X -A -t -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d "${DB:-bank}" -c "$1"; }
now_ms() { local t=${EPOCHREALTIME/[.,]/}; echo $((t / 1000)); }
t_start=$(now_ms)
elapsed() { echo "[$(( ($(now_ms) - t_start) / 1000 )) s]"; }
die() { echo "FAIL - $* $(elapsed)" >&2; exit 1; }
fail() { echo "FAIL - $* $(elapsed)"; exit 1; }		# inside a check: ends that check
ok() { echo "ok - $* $(elapsed)"; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# fake PORT MODE: switch a fake service (PORT may be a range A-B)
fake() {
	local out
	out=$(curl -sS -m 2 "http://127.0.0.1:$ctl/set?port=$1&mode=$2" 2>&1) || die "fake server: $out"
	[ "$out" = ok ] || die "fake server refused port=$1 mode=$2: $out"
}
# wait_for SECONDS SQL EXPECTED WHAT: poll (every 100 ms) until SQL prints
# EXPECTED; fails with WHAT after SECONDS (may be fractional).  Sets $waited
# (seconds, two decimals).
waited=
wait_for() {
	local start deadline got
	start=$(now_ms)
	deadline=$((start + $(awk "BEGIN { printf \"%d\", $1 * 1000 }")))
	while :; do
		got=$(sql "$2" 2>&1 || true)
		if [ "$got" = "$3" ]; then
			waited=$(awk "BEGIN { printf \"%.2f\", ($(now_ms) - $start) / 1000 }")
			return 0
		fi
		[ "$(now_ms)" -ge $deadline ] && fail "$4: not within $1 s (last answer: '$got', expected '$3')"
		sleep 0.1
	done
}
# run_check NAME FUNCTION: run one check in a subshell with errexit; a
# failure is counted and the script goes on
failed_checks=()
run_check() {
	local rc
	set +e
	(set -e; "$2")
	rc=$?
	set -e
	[ $rc -eq 0 ] || failed_checks+=("$1")
}

# syn_sent PORT: our connection attempts to PORT not yet answered (state 02)
syn_sent() {
	awk -v port="$(printf '%04X' "$1")" '$3 ~ ":" port "$" && $4 == "02"' /proc/net/tcp | wc -l
}

# SQL fragments: samples and outages of a dependency by name
S() { echo "(SELECT s.* FROM depwatch.sample s JOIN depwatch.dependency d ON d.id = s.dependency_id WHERE d.name = '$1')"; }
O() { echo "(SELECT o.* FROM depwatch.outages o WHERE o.dependency = '$1')"; }
# longest run of consecutive bad samples of a dependency
longest_bad() {
	echo "SELECT coalesce(max(n), 0) FROM (SELECT count(*) n FROM
		(SELECT ok, row_number() OVER (ORDER BY at) - row_number() OVER (PARTITION BY ok ORDER BY at) g
		   FROM $(S "$1") x) y WHERE NOT ok GROUP BY g) z"
}
# "min|max" gap in seconds between consecutive samples of a dependency
gaps() {
	sql "SELECT coalesce(round(extract(epoch FROM min(gap))::numeric, 3), -1) || '|' ||
			    coalesce(round(extract(epoch FROM max(gap))::numeric, 3), -1)
		   FROM (SELECT at - lag(at) OVER (ORDER BY at) gap FROM $(S "$1") x) y"
}

# start_fake ARGS...: the fake server in the background, ready to answer
start_fake() {
	local deadline=$((SECONDS + 10))
	python3 test/fake_dependency.py --control $ctl --pidfile "$dir/fake_dependency.pid" "$@" \
		>"$dir/fake_dependency.log" 2>&1 &
	fake_pid=$!
	until curl -sf -m 1 "http://127.0.0.1:$ctl/status" >/dev/null 2>&1; do
		kill -0 $fake_pid 2>/dev/null || die "the fake server exited: $(cat "$dir/fake_dependency.log")"
		[ $SECONDS -ge $deadline ] && die "the fake server did not answer on its control port $ctl"
		sleep 0.1
	done
}

# --- the slow-DNS part, run as: unshare --net --mount -- worker_probes.sh --in-dns-namespace
# Its own loopback, its own /etc/resolv.conf (a bind mount, seen only in
# this namespace) naming the fake server's UDP port 53, which never answers;
# glibc gives up on a query after 2 s.
dns_namespace_main() {
	local n gaps_up got deadline lag queries anyok max_ms detail
	ip link set lo up
	rm -rf "$dir"
	mkdir -p "$dir"
	printf 'nameserver 127.0.0.1\noptions timeout:2 attempts:1\n' >"$dir/resolv.conf"
	mount --bind "$dir/resolv.conf" /etc/resolv.conf
	start_fake --ports $P_TCP_UP --dns-hang 53
	scripts/cluster.sh start "$dir" "$port" "depwatch.databases = 'bank'" "depwatch.vantage = 'it-dns'"
	DB=postgres sql "CREATE DATABASE bank"
	sql "CREATE EXTENSION depwatch CASCADE"
	sql "SELECT depwatch.add_dependency('up', 'core', 'tcp', '127.0.0.1:$P_TCP_UP', every => '1 s', timeout => '500 ms');
		 SELECT depwatch.add_dependency('slow_dns', 'identity', 'http', 'http://depwatch-dns-test.example/',
			every => '1 s', timeout => '500 ms', fail_after => 2)" >/dev/null
	# 6 s for 5 samples of 'up' and 3 of 'slow_dns'
	deadline=$((SECONDS + 6))
	while :; do
		n=$(sql "SELECT count(*) FILTER (WHERE d.name = 'up') >= 5 AND count(*) FILTER (WHERE d.name = 'slow_dns') >= 3
			FROM depwatch.sample s JOIN depwatch.dependency d ON d.id = s.dependency_id")
		[ "$n" = t ] && break
		[ $SECONDS -ge $deadline ] && break
		sleep 0.1
	done
	lag=$(sql "SELECT round(extract(epoch FROM lag_p99)::numeric * 1000, 1) FROM depwatch.worker_status")
	gaps_up=$(gaps up)
	got=$(sql "SELECT count(*) || '|' || coalesce(bool_or(ok)::text, '-') || '|' ||
			coalesce(round(extract(epoch FROM max(latency))::numeric * 1000)::text, '-') || '|' ||
			coalesce(string_agg(DISTINCT detail, ','), '-') FROM $(S slow_dns) x")
	IFS='|' read -r n anyok max_ms detail <<<"$got"
	queries=$(curl -sS -m 2 "http://127.0.0.1:$ctl/status" | awk '$1 == "dns" { print $2 }')
	[ "${queries:-0}" -gt 0 ] || fail "a. (name server that never answers) it got no query: name resolution did not go through it (test set-up)"
	echo "   (slow DNS: $queries queries left unanswered; lag_p99 $lag ms)"
	[ "$n" -ge 3 ] && [ "$max_ms" -le 600 ] ||
		fail "a. (name server that never answers) slow_dns (timeout 500 ms): $n samples in 6 s, the slowest took $max_ms ms ('$detail'): name resolution is not bounded by the probe's timeout"
	[ "$anyok" = false ] || fail "a. (name server that never answers) slow_dns has a good sample"
	awk "BEGIN { split(\"$gaps_up\", g, \"|\"); exit !(g[1] >= 0.9 && g[2] <= 1.1) }" ||
		fail "a. (name server that never answers) 'up' beside slow_dns: consecutive samples $gaps_up s apart (min|max), not 1 s +- 100 ms: the hung name resolution delayed the other probes"
	awk "BEGIN { exit !($lag < 100) }" || fail "a. (name server that never answers) worker_status.lag_p99 is $lag ms"
	ok "a. (name server that never answers) slow_dns fails within $max_ms ms ('$detail'); 'up' beside it stays ${gaps_up/|/..} s apart"
}
if $in_dns_namespace; then
	dns_namespace_main
	exit 0
fi

# --- set-up ----------------------------------------------------------------
for p in $port $ctl $(seq $P_TCP_UP $P_DOOMED_LAST); do
	port_open "$p" && die "port $p is in use; this test needs 15441 and 18100-18122 free"
done
scripts/cluster.sh stop "$dir" "$port"
rm -rf "$dir"
scripts/cluster.sh start "$dir" "$port" "depwatch.databases = 'bank'" "depwatch.vantage = 'it'"
DB=postgres sql "CREATE DATABASE bank"
sql "CREATE EXTENSION depwatch CASCADE"

start_fake --ports $P_TCP_UP-$P_DOOMED_LAST
fake $P_REFUSED refuse
fake $P_503 http503
fake $P_WRONGBODY wrongbody
fake $P_SLOW slow:300
fake $P_FLAP flap:1.7:1.8		# up 1.7 s, refused 1.8 s: at most 2 probes in a row refused
fake $P_HUNG_FIRST-$P_HUNG_LAST hang
fake $P_TCP_HUNG blackhole		# drops SYNs: hangs a tcp connect
fake $P_DOOMED_FIRST-$P_DOOMED_LAST hang
port_open $P_REFUSED && die "the fake server's 'refuse' port $P_REFUSED accepts connections"

worker_pid=$(sql "SELECT pid FROM depwatch.worker_status WHERE database = 'bank'")
[ -n "$worker_pid" ] || die "no depwatch worker for database bank"
worker_started=$(sql "SELECT started_at FROM depwatch.worker_status WHERE database = 'bank'")

# every dependency of the test in one transaction: one wake-up
std="every => '1 s', timeout => '500 ms', fail_after => 2, recover_after => 2"
{
	echo "BEGIN;"
	echo "SELECT depwatch.add_dependency('a_tcp_up', 'core', 'tcp', '127.0.0.1:$P_TCP_UP', $std);"
	echo "SELECT depwatch.add_dependency('a_tcp_name', 'core', 'tcp', 'localhost:$P_TCP_UP', $std);"
	echo "SELECT depwatch.add_dependency('a_http_up', 'identity', 'http', 'http://127.0.0.1:$P_HTTP_UP/health', $std,
		options => '{\"body_contains\": \"status: ok\"}');"
	echo "SELECT depwatch.add_dependency('a_refused', 'credit_bureau', 'tcp', '127.0.0.1:$P_REFUSED', $std);"
	echo "SELECT depwatch.add_dependency('a_http503', 'credit_bureau', 'http', 'http://127.0.0.1:$P_503/', $std);"
	echo "SELECT depwatch.add_dependency('a_wrongbody', 'identity', 'http', 'http://127.0.0.1:$P_WRONGBODY/', $std,
		options => '{\"body_contains\": \"status: ok\"}');"
	echo "SELECT depwatch.add_dependency('a_unresolvable', 'messaging', 'http', 'http://depwatch-test.invalid/', $std);"
	echo "SELECT depwatch.add_dependency('a_slow', 'payment_network', 'http', 'http://127.0.0.1:$P_SLOW/', $std,
		degraded_after => '200 ms');"
	for p in $(seq $P_HUNG_FIRST $P_HUNG_LAST); do
		echo "SELECT depwatch.add_dependency('b_hung_$p', 'other', 'http', 'http://127.0.0.1:$p/', $std);"
	done
	echo "SELECT depwatch.add_dependency('b_tcp_hung', 'other', 'tcp', '127.0.0.1:$P_TCP_HUNG', $std);"
	echo "SELECT depwatch.add_dependency('c_flapping', 'datacenter', 'tcp', '127.0.0.1:$P_FLAP',
		every => '1 s', timeout => '500 ms', fail_after => 3, recover_after => 2);"
	for p in $(seq $P_DOOMED_FIRST $P_DOOMED_LAST); do
		echo "SELECT depwatch.add_dependency('d_doomed_$p', 'other', 'http', 'http://127.0.0.1:$p/',
			every => '1 s', timeout => '950 ms', fail_after => 2);"
	done
	echo "SELECT depwatch.add_dependency('e_passive', 'credit_bureau', 'passive',
		options => '{\"error_rate\": 0.5, \"window\": \"5 s\", \"min_calls\": 4}');"
	echo "SELECT depwatch.add_dependency('f_manual', 'other');"
	echo "SELECT depwatch.add_dependency('f_disabled', 'other', 'tcp', '127.0.0.1:$P_TCP_UP', $std);"
	echo "SELECT depwatch.alter_dependency('f_disabled', enabled => false);"
	echo "COMMIT;"
} | psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d bank >/dev/null
t_setup=$(now_ms)
echo "   set-up done: worker $worker_pid, $(sql "SELECT count(*) FROM depwatch.dependency") dependencies"

# worker_status once every 300 ms, for check b: ms since set-up|lag_p99 in ms|in_flight
(
	set +e
	while :; do
		psql -X -A -t -q -h 127.0.0.1 -p "$port" -U postgres -d bank -c \
			"SELECT $(now_ms) - $t_setup, round(extract(epoch FROM lag_p99) * 1000, 1), in_flight
			   FROM depwatch.worker_status WHERE database = 'bank'" >>"$dir/worker_status.log" 2>/dev/null
		sleep 0.3
	done
) &
sampler_pid=$!

# --- e (first half): failures reported to a passive dependency -------------
# five failed calls, each at its own time.  In one transaction: the first
# call locks the dependency's machine, so the worker's once-a-second
# evaluation cannot slip in between two calls and make a later one "late"
# (a late call is only counted by later windows, README: report_sample).
psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d bank >/dev/null <<-SQL
	BEGIN;
	SELECT depwatch.report_sample('e_passive', false, at => clock_timestamp(), detail => 'call 1 failed');
	SELECT depwatch.report_sample('e_passive', false, at => clock_timestamp(), detail => 'call 2 failed');
	SELECT depwatch.report_sample('e_passive', false, at => clock_timestamp(), detail => 'call 3 failed');
	SELECT depwatch.report_sample('e_passive', false, at => clock_timestamp(), detail => 'call 4 failed');
	SELECT depwatch.report_sample('e_passive', false, at => clock_timestamp(), detail => 'call 5 failed');
	COMMIT;
SQL
t_reported=$(now_ms)

check_e_open() {
	local got want
	got=$(sql "SELECT count(*) || '|' || string_agg(kind || '|' || source || '|' || (ended_at IS NULL), ',')
		FROM $(O e_passive) x WHERE kind = 'down'")
	[ "$got" = "1|down|passive|true" ] || fail "e. after 5 failed calls (min_calls 4) the passive down outages are '$got', expected one open down outage from source passive"
	# the rule first holds at the 4th call (4 calls, all failed)
	want=$(sql "SELECT at FROM $(S e_passive) x ORDER BY at OFFSET 3 LIMIT 1")
	got=$(sql "SELECT started_at FROM $(O e_passive) x WHERE kind = 'down'")
	[ "$got" = "$want" ] || fail "e. the passive outage starts at $got, not at the 4th failed call ($want)"
	ok "e. 5 failed calls reported: a down outage (source passive) opened at the 4th ($got)"
}
run_check e1 check_e_open

# --- a. up, refused, 503, wrong body, unresolvable, slow -------------------
check_a_up() {
	local name got
	for name in a_tcp_up a_tcp_name a_http_up; do
		wait_for 6 "SELECT count(*) >= 4 FROM $(S $name) x" t "a. $name has 4 samples"
	done
	for name in a_tcp_up a_tcp_name a_http_up; do
		got=$(sql "SELECT count(*) || '|' || bool_and(ok) || '|' || string_agg(DISTINCT detail, ',') || '|' ||
				string_agg(DISTINCT vantage, ',') || '|' ||
				round((extract(epoch FROM max(at) - min(at)) / (count(*) - 1))::numeric, 2)
			FROM $(S $name) x")
		IFS='|' read -r n allok detail vantage every <<<"$got"
		[ "$allok" = true ] || fail "a. $name ($got): not every sample is ok"
		[ "$vantage" = it ] || fail "a. $name: samples carry vantage '$vantage', not 'it'"
		awk "BEGIN { exit !($every >= 0.9 && $every <= 1.1) }" ||
			fail "a. $name: one sample every $every s, not about 1 s"
		[ "$(sql "SELECT count(*) FROM depwatch.outage o JOIN depwatch.dependency d ON d.id = o.dependency_id WHERE d.name = '$name'")" = 0 ] ||
			fail "a. $name has an outage"
		ok "a. $name: $n ok samples ('$detail'), one every $every s, vantage it, no outage"
	done
	# a probe closes with a reset: no connection to the peer in TIME_WAIT
	# (state 06 in /proc/net/tcp), where a FIN close would leave one per probe
	got=$(awk -v port="$(printf '%04X' "$P_TCP_UP")" '$3 ~ ":" port "$" && $4 == "06"' /proc/net/tcp | wc -l)
	[ "$got" = 0 ] || fail "a. a_tcp_up: $got connections to the peer in TIME_WAIT"
	ok "a. a_tcp_up: its probes leave no connection in TIME_WAIT (closed with a reset)"
}
run_check a1 check_a_up

check_a_refused() {
	local got first second t_switch
	wait_for 5 "SELECT count(*) FROM $(O a_refused) x WHERE kind = 'down' AND ended_at IS NULL" 1 \
		"a. the refused dependency gets an open down outage"
	# the first two samples (both bad) against the outage's started_at, detected_at
	got=$(sql "SELECT string_agg(at::text, '|' ORDER BY at) || '|' || bool_or(ok) || '|' || min(detail)
		FROM (SELECT * FROM $(S a_refused) x ORDER BY at LIMIT 2) y")
	IFS='|' read -r first second anyok detail <<<"$got"
	[ "$anyok" = false ] || fail "a. the first two samples of a_refused are not both bad: '$got'"
	got=$(sql "SELECT started_at || '|' || detected_at FROM $(O a_refused) x WHERE kind = 'down'")
	[ "$got" = "$first|$second" ] ||
		fail "a. a_refused's outage is started_at|detected_at = '$got', expected its first two (bad) samples '$first|$second'"
	ok "a. a_refused: down outage opened after $waited s, started_at = 1st bad sample, detected_at = 2nd ('$detail')"

	t_switch=$(sql "SELECT clock_timestamp()")
	fake $P_REFUSED up
	wait_for 5 "SELECT count(*) FROM $(O a_refused) x WHERE kind = 'down' AND ended_at IS NOT NULL" 1 \
		"a. a_refused's outage closes once the peer is up"
	# ended_at is the first good sample; every sample before it (since the
	# start) is bad, at least recover_after good ones follow, none bad
	got=$(sql "SELECT (o.ended_at = (SELECT min(at) FROM $(S a_refused) s WHERE ok))
			|| '|' || (SELECT bool_and(NOT ok) FROM $(S a_refused) s WHERE at < o.ended_at)
			|| '|' || (SELECT count(*) FILTER (WHERE ok) || '/' || count(*) FROM $(S a_refused) s WHERE at >= o.ended_at)
			|| '|' || (o.ended_at > '$t_switch')
			|| '|' || (SELECT count(*) FROM $(O a_refused) y WHERE kind = 'down')
		FROM $(O a_refused) o WHERE kind = 'down'")
	IFS='|' read -r at_first_good all_bad_before good_after after_switch n <<<"$got"
	[ "$at_first_good" = true ] ||
		fail "a. a_refused's outage ended at $(sql "SELECT ended_at FROM $(O a_refused) x WHERE kind = 'down'"), not at its first good sample $(sql "SELECT min(at) FROM $(S a_refused) s WHERE ok")"
	[ "$all_bad_before" = true ] || fail "a. a_refused has good samples inside its outage"
	[ "${good_after%/*}" = "${good_after#*/}" ] && [ "${good_after%/*}" -ge 2 ] ||
		fail "a. after ended_at a_refused has $good_after good samples (expected all good, at least recover_after = 2)"
	[ "$after_switch" = true ] || fail "a. a_refused's outage ended before the peer was switched to up"
	[ "$n" = 1 ] || fail "a. a_refused has $n down outages"
	ok "a. a_refused switched to up: the outage closed after $waited s, ended_at = the first good sample of the recovering streak ($good_after good since)"
}
run_check a2 check_a_refused

check_a_http_errors() {
	local name want got
	for name in a_http503 a_wrongbody; do
		wait_for 5 "SELECT count(*) FROM $(O $name) x WHERE kind = 'down' AND ended_at IS NULL" 1 \
			"a. $name gets an open down outage"
		case $name in
		a_http503) want='HTTP 503' ;;
		a_wrongbody) want='HTTP 200 without "status: ok" in the body' ;;
		esac
		got=$(sql "SELECT count(*) FILTER (WHERE ok) || '|' || string_agg(DISTINCT coalesce(detail, '<null>'), ',') FROM $(S $name) x")
		[ "$got" = "0|$want" ] ||
			fail "a. $name: samples are good|details = '$got', expected none good, every detail '$want'"
		got=$(sql "SELECT (started_at = (SELECT min(at) FROM $(S $name) s)) FROM $(O $name) x WHERE kind = 'down'")
		[ "$got" = t ] || fail "a. $name: its outage does not start at its first bad sample"
		ok "a. $name: down outage from its first sample; every sample bad, detail '$want'"
	done
}
run_check a3 check_a_http_errors

check_a_unresolvable() {
	local got
	wait_for 5 "SELECT count(*) FROM $(O a_unresolvable) x WHERE kind = 'down' AND ended_at IS NULL" 1 \
		"a. a_unresolvable gets an open down outage"
	got=$(sql "SELECT count(*) || '|' || bool_or(ok) || '|' ||
			round(extract(epoch FROM max(latency))::numeric * 1000) || '|' || string_agg(DISTINCT detail, ',')
		FROM $(S a_unresolvable) x")
	IFS='|' read -r n anyok max_ms detail <<<"$got"
	[ "$anyok" = false ] || fail "a. a_unresolvable has a good sample ($got)"
	[ "$max_ms" -le 600 ] || fail "a. a_unresolvable: a probe took $max_ms ms, more than its timeout of 500 ms ($detail)"
	ok "a. a_unresolvable (http://depwatch-test.invalid/): $n bad samples within $max_ms ms ('$detail'), down outage"
}
run_check a4 check_a_unresolvable

check_a_slow() {
	local got
	wait_for 5 "SELECT count(*) FROM $(O a_slow) x WHERE kind = 'degraded' AND ended_at IS NULL" 1 \
		"a. a_slow (answers after 300 ms, degraded_after 200 ms) gets an open degraded outage"
	got=$(sql "SELECT bool_and(ok) || '|' || round(extract(epoch FROM min(latency))::numeric * 1000) || '|' ||
			round(extract(epoch FROM max(latency))::numeric * 1000) FROM $(S a_slow) x")
	IFS='|' read -r allok min_ms max_ms <<<"$got"
	[ "$allok" = true ] || fail "a. a_slow has bad samples ($got)"
	[ "$min_ms" -ge 300 ] && [ "$max_ms" -lt 500 ] || fail "a. a_slow's latencies are $min_ms..$max_ms ms, expected 300..500 ms"
	[ "$(sql "SELECT count(*) FROM $(O a_slow) x WHERE kind = 'down'")" = 0 ] || fail "a. a_slow has a down outage"
	ok "a. a_slow: ok samples of $min_ms..$max_ms ms make a degraded outage, no down outage"
}
run_check a5 check_a_slow

# --- e (second half): the worker ends the passive outage -------------------
check_e_close() {
	local left want got closed_by
	# the last failure leaves the 5 s window 5 s after it was reported; the
	# worker evaluates once a second
	left=$(awk "BEGIN { printf \"%.2f\", (6500 - ($(now_ms) - $t_reported)) / 1000 }")
	awk "BEGIN { exit !($left > 0) }" || left=0.3
	wait_for "$left" "SELECT count(*) FROM $(O e_passive) x WHERE kind = 'down' AND ended_at IS NOT NULL" 1 \
		"e. the passive outage closes within window + 1.5 s of the last call, with no new call"
	# with 5 calls and min_calls 4 the rule stops holding when the 2nd call leaves the window
	want=$(sql "SELECT at + interval '5 s' FROM $(S e_passive) x ORDER BY at OFFSET 1 LIMIT 1")
	got=$(sql "SELECT ended_at FROM $(O e_passive) x WHERE kind = 'down'")
	[ "$got" = "$want" ] || fail "e. the passive outage ended at $got, expected $want (the 2nd call + window)"
	[ "$(sql "SELECT count(*) FROM $(S e_passive) x")" = 5 ] || fail "e. the passive dependency has samples besides the 5 reported calls"
	closed_by=$(sql "SELECT actor || '|' || round(extract(epoch FROM a.at - o.ended_at)::numeric, 2)
		FROM depwatch.audit_log a JOIN $(O e_passive) o ON a.row_id = o.id
		WHERE a.table_name = 'outage' AND a.action = 'UPDATE' AND o.kind = 'down'")
	awk "BEGIN { exit !(${closed_by#*|} >= 0 && ${closed_by#*|} <= 1.2) }" ||
		fail "e. the passive outage was closed ${closed_by#*|} s after it ended (by ${closed_by%|*}); the worker evaluates once a second"
	ok "e. no further call: the worker closed the passive outage ${closed_by#*|} s after the rule stopped holding (ended_at = 2nd call + 5 s)"
}
run_check e2 check_e_close

# --- b. hung peers delay nobody ---------------------------------------------
check_b_hung() {
	local name got n gmin gmax max_lag rows max_inflight
	for name in a_tcp_up a_http_up; do
		got=$(gaps $name)
		gmin=${got%|*} gmax=${got#*|}
		n=$(sql "SELECT count(*) FROM $(S $name) x")
		awk "BEGIN { exit !($gmin >= 0.9 && $gmax <= 1.1) }" ||
			fail "b. $name: consecutive samples are $gmin..$gmax s apart, not 1 s +- 100 ms ($(sql "SELECT string_agg(round(extract(epoch FROM g)::numeric, 3)::text, ' ') FROM (SELECT at - lag(at) OVER (ORDER BY at) g FROM $(S $name) x) y WHERE g NOT BETWEEN interval '900 ms' AND interval '1100 ms'"))"
		ok "b. $name: $n samples next to 10 hung peers, consecutive ones $gmin..$gmax s apart"
	done
	got=$(sql "SELECT count(*) || '|' || bool_or(ok) || '|' || string_agg(DISTINCT detail, ',') || '|' ||
			round(extract(epoch FROM min(latency))::numeric * 1000) || '|' || round(extract(epoch FROM max(latency))::numeric * 1000)
		FROM depwatch.sample s JOIN depwatch.dependency d ON d.id = s.dependency_id WHERE d.name LIKE 'b_hung_%'")
	IFS='|' read -r n anyok detail lmin lmax <<<"$got"
	[ "$anyok" = false ] && [ "$detail" = "timeout after 500 ms" ] ||
		fail "b. the hung peers' samples are any ok = $anyok, details '$detail' (expected all 'timeout after 500 ms')"
	[ "$lmin" -ge 500 ] && [ "$lmax" -le 600 ] || fail "b. the hung peers' probes took $lmin..$lmax ms, expected 500..600 ms"
	for name in $(sql "SELECT name FROM depwatch.dependency WHERE name LIKE 'b_hung_%' ORDER BY name"); do
		got=$(gaps "$name")
		awk "BEGIN { exit !(${got#*|} <= 1.1) }" || fail "b. $name's own probes are up to ${got#*|} s apart"
	done
	got=$(curl -sS -m 2 "http://127.0.0.1:$ctl/status" | awk -v a=$P_HUNG_FIRST -v b=$P_HUNG_LAST '$1 >= a && $1 <= b { n += $6; c += $4 } END { print n + 0 "|" c + 0 }')
	[ "${got%|*}" -le 10 ] || fail "b. ${got%|*} connections to the hung peers are open (at most one probe each in flight): timed-out probes leak connections"
	ok "b. 10 hung peers: $n samples, all 'timeout after 500 ms' ($lmin..$lmax ms), each probed every second; ${got#*|} connections made, ${got%|*} open now"
	# a tcp probe whose SYN goes unanswered: the worker's own timeout ends it
	got=$(sql "SELECT count(*) || '|' || bool_or(ok) || '|' || string_agg(DISTINCT detail, ',') || '|' ||
			round(extract(epoch FROM min(latency))::numeric * 1000) || '|' || round(extract(epoch FROM max(latency))::numeric * 1000)
		FROM $(S b_tcp_hung) x")
	IFS='|' read -r n anyok detail lmin lmax <<<"$got"
	[ "$n" -ge 5 ] && [ "$anyok" = false ] && [ "$detail" = "timeout after 500 ms" ] ||
		fail "b. b_tcp_hung: $n samples, any ok = $anyok, details '$detail' (expected all 'timeout after 500 ms')"
	[ "$lmin" -ge 500 ] && [ "$lmax" -le 600 ] || fail "b. b_tcp_hung's probes took $lmin..$lmax ms, expected 500..600 ms"
	got=$(gaps b_tcp_hung)
	awk "BEGIN { exit !(${got#*|} <= 1.1) }" || fail "b. b_tcp_hung's probes are up to ${got#*|} s apart"
	# its sockets are closed at the timeout: at most one in SYN_SENT (02)
	got=$(syn_sent $P_TCP_HUNG)
	[ "$got" -le 1 ] || fail "b. b_tcp_hung: $got connection attempts still open (timed-out probes leak sockets)"
	ok "b. a tcp peer that drops SYNs: $n samples, all 'timeout after 500 ms' ($lmin..$lmax ms), $got attempt open now"
	kill "$sampler_pid" 2>/dev/null || true
	rows=$(wc -l <"$dir/worker_status.log")
	[ "$rows" -ge 10 ] || fail "b. only $rows readings of worker_status"
	max_lag=$(awk -F'|' '$2 > m { m = $2 } END { print m + 0 }' "$dir/worker_status.log")
	max_inflight=$(awk -F'|' '$3 > m { m = $3 } END { print m + 0 }' "$dir/worker_status.log")
	awk "BEGIN { exit !($max_lag < 100) }" ||
		fail "b. worker_status.lag_p99 reached $max_lag ms (readings over 100 ms, ms since set-up|lag|in_flight: $(awk -F'|' '$2 >= 100' "$dir/worker_status.log" | head -5 | tr '\n' ' '))"
	ok "b. worker_status.lag_p99 stayed under 100 ms over $rows readings (max $max_lag ms, in_flight up to $max_inflight)"
}
run_check b1 check_b_hung

# --- c. flapping shorter than fail_after -------------------------------------
check_c_flapping() {
	local got n bad longest would
	wait_for 10 "SELECT count(*) >= 12 FROM $(S c_flapping) x" t "c. c_flapping has 12 samples"
	got=$(sql "SELECT count(*) || '|' || count(*) FILTER (WHERE NOT ok) FROM $(S c_flapping) x")
	n=${got%|*} bad=${got#*|}
	longest=$(sql "$(longest_bad c_flapping)")
	[ "$bad" -ge 2 ] || fail "c. only $bad of $n samples of c_flapping are bad: the fake peer did not flap"
	[ "$longest" -le 2 ] ||
		fail "c. the fake peer was refused for $longest probes in a row (test set-up: the flap must stay under fail_after = 3)"
	got=$(sql "SELECT count(*) FROM $(O c_flapping) x")
	[ "$got" = 0 ] || fail "c. c_flapping (fail_after 3, at most $longest bad in a row) has $got outages: $(sql "SELECT string_agg(kind || ' ' || started_at, ', ') FROM $(O c_flapping) x")"
	would=$(sql "SELECT count(*) FROM depwatch.derive_outages('c_flapping', fail_after => $longest)")
	ok "c. c_flapping: $bad of $n samples bad, at most $longest in a row, no outage (with fail_after $longest it would have had $would)"
}
run_check c1 check_c_flapping

# --- d. live configuration --------------------------------------------------
check_d_add() {
	local before after got
	before=$(sql "SELECT clock_timestamp()")
	sql "SELECT depwatch.add_dependency('d_newcomer', 'other', 'tcp', '127.0.0.1:$P_NEWCOMER', every => '1 s', timeout => '500 ms')" >/dev/null
	after=$(sql "SELECT clock_timestamp()")
	wait_for 2 "SELECT count(*) > 0 FROM $(S d_newcomer) x" t \
		"d. d_newcomer (every 1 s) has a sample within 1 s + every"
	got=$(sql "SELECT (min(at) >= '$before' AND min(at) <= '$after'::timestamptz + interval '1 s' + interval '50 ms')
			   || '|' || round(extract(epoch FROM min(at) - '$before')::numeric, 2) FROM $(S d_newcomer) x")
	[ "${got%|*}" = true ] || fail "d. d_newcomer's first probe started ${got#*|} s after add_dependency, not within one interval (1 s)"
	ok "d. add_dependency: the first probe of d_newcomer started ${got#*|} s later (within every = 1 s), visible after $waited s"
}
run_check d1 check_d_add

# accepted PORT: connections the fake server has accepted on PORT (bash
# only, no process started: fast enough to poll every few milliseconds)
accepted() {
	local port acc _
	exec 4<>"/dev/tcp/127.0.0.1/$ctl"
	printf 'GET /status HTTP/1.0\r\n\r\n' >&4
	while read -r port _ _ acc _ <&4; do
		[ "$port" = "$1" ] && { echo "$acc"; break; }
	done
	exec 4<&-
}
check_d_disable() {
	local after got c0 deadline n conns before_s total round have wfd
	# Disable it just after one of its probes connected: that probe has
	# finished while the dependency was enabled, and its sample is waiting
	# for the next tick (or has just been written).  psql is connected
	# beforehand, to lose no time.  Twice (enabled again in between): the
	# sample is not always still waiting.
	coproc PSQL { psql -X -A -t -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d bank; }
	echo "SELECT 1;" >&"${PSQL[1]}"
	read -r got <&"${PSQL[0]}"
	for round in 1 2; do
		have=$(sql "SELECT count(*) FROM $(S d_newcomer) x")
		[ $round = 1 ] || sql "SELECT depwatch.alter_dependency('d_newcomer', enabled => true)" >/dev/null
		wait_for 2.5 "SELECT count(*) >= $have + $round FROM $(S d_newcomer) x" t "d. d_newcomer is probed (round $round)"
		c0=$(accepted $P_NEWCOMER)
		deadline=$(( $(now_ms) + 1500 ))
		while [ "$(accepted $P_NEWCOMER)" = "$c0" ] && [ "$(now_ms)" -lt $deadline ]; do :; done
		echo "SELECT depwatch.alter_dependency('d_newcomer', enabled => false); SELECT clock_timestamp();" >&"${PSQL[1]}"
		read -r got <&"${PSQL[0]}"		# the (empty) result of alter_dependency
		read -r after <&"${PSQL[0]}"
	done
	wfd=${PSQL[1]}
	exec {wfd}>&-
	wait "$PSQL_PID" || true
	# watch for 2.2 s of a_tcp_up's samples after that
	wait_for 4 "SELECT count(*) > 0 FROM $(S a_tcp_up) x WHERE at > '$after'::timestamptz + interval '2.2 s'" t \
		"d. a_tcp_up goes on being probed"
	got=$(sql "SELECT count(*) FILTER (WHERE at > '$after'::timestamptz + interval '1 s') || '|' ||
			round(extract(epoch FROM '$after' - max(at))::numeric, 2) || '|' || count(*) FROM $(S d_newcomer) x")
	IFS='|' read -r n before_s total <<<"$got"
	[ "$n" = 0 ] || fail "d. d_newcomer has $n samples more than 1 s after it was disabled"
	ok "d. enabled => false: d_newcomer's last stored sample is from $before_s s before the change; none in the 2.2 s after"
	conns=$(accepted $P_NEWCOMER)
	[ "$total" = "$conns" ] ||
		fail "d. d_newcomer made $conns probes (connections its peer accepted) but has $total samples: a probe that finished just before enabled => false lost its sample"
	ok "d. every probe d_newcomer made before it was disabled (twice, just after a probe) has its sample ($total)"
}
run_check d2 check_d_disable

check_d_drop() {
	local p inflight dropped got since
	dropped=()
	# a tcp probe to the peer that drops SYNs, dropped just after it started:
	# its socket is closed at once, not left until its 500 ms timeout
	for _ in $(seq 100); do [ "$(syn_sent $P_TCP_HUNG)" = 0 ] && break; sleep 0.01; done
	for _ in $(seq 200); do [ "$(syn_sent $P_TCP_HUNG)" = 1 ] && break; sleep 0.01; done
	[ "$(syn_sent $P_TCP_HUNG)" = 1 ] || fail "d. b_tcp_hung has no probe in flight"
	sql "SELECT depwatch.drop_dependency('b_tcp_hung')" >/dev/null
	sleep 0.2
	got=$(syn_sent $P_TCP_HUNG)
	[ "$got" = 0 ] || fail "d. 200 ms after drop_dependency('b_tcp_hung'), its probe's connection attempt is still open"
	dropped+=("b_tcp_hung (its connect in flight)")
	since=$(sql "SELECT clock_timestamp()")
	echo "$since" >"$dir/drops_since"
	for p in $(seq $P_DOOMED_FIRST $P_DOOMED_LAST); do
		# their probes hang for 950 ms of every 1 s: one is almost surely in flight
		inflight=$(sql "SELECT in_flight FROM depwatch.worker_status WHERE database = 'bank'")
		if [ "$p" = $P_DOOMED_FIRST ]; then
			# as a migration script would: the drop commits 1.6 s later, after
			# the worker has finished (at least) one more probe of it
			sql "SELECT depwatch.drop_dependency('d_doomed_$p'); SELECT pg_sleep(1.6)" >/dev/null
			dropped+=("d_doomed_$p (in_flight $inflight, committed 1.6 s later)")
		else
			sql "SELECT depwatch.drop_dependency('d_doomed_$p')" >/dev/null
			dropped+=("d_doomed_$p (in_flight $inflight)")
			sleep 0.35
		fi
	done
	wait_for 4 "SELECT count(*) > 0 FROM $(S a_tcp_up) x WHERE at > clock_timestamp() - interval '1.2 s'
		AND at > '$since'::timestamptz + interval '3 s'" t "d. a_tcp_up goes on being probed after the drops"
	got=$(sql "SELECT coalesce(last_error, '<none>') || '|' || pid FROM depwatch.worker_status WHERE database = 'bank'")
	[ "${got%|*}" = "<none>" ] ||
		fail "d. worker_status.last_error after dropping dependencies with probes in flight: '${got%|*}'"
	[ "${got#*|}" = "$worker_pid" ] || fail "d. the worker is now pid ${got#*|}, not $worker_pid"
	got=$(grep -E '(WARNING|ERROR): +depwatch' "$dir/server.log" | head -3 || true)
	[ -z "$got" ] || fail "d. the server log has depwatch warnings: $got"
	got=$(sql "SELECT count(*) FROM depwatch.dependency WHERE name LIKE 'd_doomed_%'")
	[ "$got" = 0 ] || fail "d. $got doomed dependencies are still there"
	got=$(sql "SELECT count(*) FROM depwatch.sample s WHERE NOT EXISTS (SELECT FROM depwatch.dependency d WHERE d.id = s.dependency_id)")
	[ "$got" = 0 ] || fail "d. $got samples of dropped dependencies remain"
	# the dropped dependencies' hung connections were closed, not leaked
	got=$(curl -sS -m 2 "http://127.0.0.1:$ctl/status" | awk -v a=$P_DOOMED_FIRST -v b=$P_DOOMED_LAST '$1 >= a && $1 <= b { n += $6 } END { print n + 0 }')
	[ "$got" = 0 ] || fail "d. $got connections to the dropped dependencies' peers are still open"
	ok "d. drop_dependency of ${dropped[*]}: no last_error, no warning, same worker, no samples left, connections closed"
}
run_check d3 check_d_drop

check_d_drop_schedule() {
	local since got gmin gmax
	since=$(cat "$dir/drops_since")
	# nothing waits for anything else: not even for a drop to commit
	got=$(sql "SELECT round(extract(epoch FROM min(g))::numeric, 3) || '|' || round(extract(epoch FROM max(g))::numeric, 3)
		FROM (SELECT at - lag(at) OVER (ORDER BY at) g FROM $(S a_tcp_up) x WHERE at > '$since') y")
	gmin=${got%|*} gmax=${got#*|}
	awk "BEGIN { exit !($gmin >= 0.9 && $gmax <= 1.1) }" ||
		fail "d. while the drops ran, a_tcp_up's samples were $gmin..$gmax s apart, not 1 s +- 100 ms: the worker waited for the dropping transaction"
	ok "d. while the drops ran, a_tcp_up's samples stayed $gmin..$gmax s apart"
}
run_check d4 check_d_drop_schedule

# --- f. processes and worker_status -------------------------------------------
check_f() {
	local got want
	got=$(sql "SELECT string_agg(backend_type || ':' || coalesce(datname, '-') || ':' || (pid = $worker_pid OR backend_type <> 'depwatch worker'), ',' ORDER BY backend_type)
		FROM pg_stat_activity WHERE backend_type LIKE 'depwatch%'")
	[ "$got" = "depwatch launcher:-:true,depwatch worker:bank:true" ] ||
		fail "f. pg_stat_activity shows depwatch processes '$got', expected the launcher and worker $worker_pid for bank"
	ok "f. pg_stat_activity: 'depwatch launcher' and 'depwatch worker' (pid $worker_pid, database bank)"
	want=$(sql "SELECT count(*) FROM depwatch.dependency WHERE enabled AND probe IN ('tcp', 'http', 'postgres', 'passive')")
	wait_for 2 "SELECT count(*) || '|' || min(dependencies) || '|' || min(vantage) || '|' || min(started_at) FROM depwatch.worker_status WHERE database = 'bank'" \
		"1|$want|it|$worker_started" "f. worker_status has one row for bank with dependencies = $want, vantage it, started at $worker_started"
	got=$(sql "SELECT count(*) FROM depwatch.worker_status")
	[ "$got" = 1 ] || fail "f. worker_status has $got rows"
	ok "f. worker_status: one row for bank, dependencies = $want (enabled, probed or passive; not f_manual, f_disabled, d_newcomer), vantage it, never restarted"
}
run_check f1 check_f

# --- a (slow DNS): in a private network and mount namespace ------------------
check_a_slow_dns() {
	if [ "$(id -u)" -ne 0 ] || ! command -v ip >/dev/null || ! unshare --net --mount true 2>/dev/null; then
		echo "skip - a. (name server that never answers): no private network and mount namespace here (needs root, unshare, ip)"
		return 0
	fi
	unshare --net --mount --propagation private -- bash "$self" --in-dns-namespace
}
run_check a6 check_a_slow_dns

echo "   $(( ($(now_ms) - t_start) / 1000 )) s in all"
if [ ${#failed_checks[@]} -gt 0 ]; then
	echo "FAILED checks: ${failed_checks[*]}"
	echo "--- server log (depwatch lines):"
	grep -E 'depwatch' "$dir/server.log" | tail -20 || true
	exit 1
fi
echo "all checks passed"
