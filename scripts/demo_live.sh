#!/usr/bin/env bash
# The live part of the demo (called by scripts/demo.sh, which started the
# cluster and exported PGHOST, PGPORT and PGUSER).
#
# Fake dependencies on loopback (test/fake_dependency.py) stand in for the
# bank's outside services; the real probe worker of database "live" probes
# them over HTTP once a second, while this script replays both incidents on a
# compressed timeline by switching the fakes' modes.  A watcher prints every
# change of state of a dependency or capability as the worker records it,
# and a webhook receiver on loopback (test/alert_receiver.py) prints every
# alert as the worker delivers it.
#
# DEPWATCH_DEMO_SHORT=1 halves the timeline (used by the demo's test).
set -euo pipefail
cd "$(dirname "$0")/.."

dir=${DEPWATCH_DEMO_DIR:-tmp/demo}
ctl=$((PGPORT + 3000))			# the fakes' control port; services follow it
scale=1
[ "${DEPWATCH_DEMO_SHORT:-0}" = 1 ] && scale=0.5

declare -A port
names=(nice kcb kakao_auth kakaotalk kftc core pangyo)
i=1
for n in "${names[@]}"; do port[$n]=$((ctl + i)); i=$((i + 1)); done

sql() { psql -qXAt -v ON_ERROR_STOP=1 -d live -c "$1"; }
now_ms() { local t=${EPOCHREALTIME/[.,]/}; echo $((t / 1000)); }
stamp() { local ms=$(( $(now_ms) - t0 )); printf '[%3d.%d s]' $((ms / 1000)) $((ms % 1000 / 100)); }
set_mode() {						# set_mode NAME MODE
	curl -fsS "http://127.0.0.1:$ctl/set?port=${port[$1]}&mode=$2" >/dev/null
}
# at SECONDS: sleep until SECONDS (scaled) after the start of the timeline
at() {
	local due_ms
	due_ms=$(awk -v s="$1" -v f="$scale" 'BEGIN { printf "%d", s * f * 1000 }')
	local wait_ms=$(( due_ms - ($(now_ms) - t0) ))
	[ "$wait_ms" -le 0 ] || sleep "$(awk -v m="$wait_ms" 'BEGIN { printf "%.3f", m / 1000 }')"
}
say() { printf '%s %s\n' "$(stamp)" "$*"; }

cleanup() {
	[ -z "${watcher:-}" ] || kill "$watcher" 2>/dev/null || true
	[ -z "${pager:-}" ] || kill "$pager" 2>/dev/null || true
	[ ! -f "$dir/alert_receiver.pid" ] || kill "$(cat "$dir/alert_receiver.pid")" 2>/dev/null || true
	[ ! -f "$dir/fake_dependency.pid" ] || kill "$(cat "$dir/fake_dependency.pid")" 2>/dev/null || true
}
trap cleanup EXIT

python3 test/fake_dependency.py --control "$ctl" --ports "$((ctl + 1))-$((ctl + ${#names[@]}))" \
	--pidfile "$dir/fake_dependency.pid" >"$dir/fake_dependency.log" 2>&1 &
for _ in $(seq 50); do grep -q '^fake_dependency: control' "$dir/fake_dependency.log" && break; sleep 0.1; done
# the on-call team's pager: a webhook receiver that records every alert
pager_port=$((ctl + 20))
: >"$dir/alerts.jsonl"
python3 test/alert_receiver.py --port "$pager_port" --log "$dir/alerts.jsonl" \
	--pidfile "$dir/alert_receiver.pid" >"$dir/alert_receiver.log" 2>&1 &
for _ in $(seq 50); do grep -q '^alert_receiver: port' "$dir/alert_receiver.log" && break; sleep 0.1; done

psql -qX -d postgres -c "DROP DATABASE IF EXISTS live WITH (FORCE)" -c "CREATE DATABASE live"
psql -qX -v ON_ERROR_STOP=1 -d live >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION depwatch CASCADE;
-- every second, 1 s timeout; down after 3 bad probes, up after 2 good ones,
-- "slow" (degraded) above 300 ms
SELECT depwatch.add_dependency(n, k, 'http', format('http://127.0.0.1:%s/health', p),
							   every => '1 s', timeout => '1 s', fail_after => 3,
							   recover_after => 2, degraded_after => '300 ms', site => s)
FROM (VALUES ('nice', 'credit_bureau', ${port[nice]}, 'nice_dc'),
			 ('kcb', 'credit_bureau', ${port[kcb]}, 'kcb_dc'),
			 ('kakao_auth', 'identity', ${port[kakao_auth]}, 'pangyo'),
			 ('kakaotalk', 'messaging', ${port[kakaotalk]}, 'pangyo'),
			 ('kftc', 'payment_network', ${port[kftc]}, 'kftc'),
			 ('core', 'core', ${port[core]}, 'sangam')) AS d(n, k, p, s);
-- the data center itself (its power and network), which the services above
-- name as their site: up or down, never slow
SELECT depwatch.add_dependency('pangyo', 'datacenter', 'http', 'http://127.0.0.1:${port[pangyo]}/health',
							   every => '1 s', timeout => '1 s', fail_after => 3, recover_after => 2);
-- impact tolerances on the compressed clock (minutes there, seconds here)
SELECT depwatch.add_capability('account_opening', ARRAY['core', 'kakao_auth', 'nice|kcb'], slo => 99.5);
SELECT depwatch.add_capability('transfer', ARRAY['core', 'kftc'], slo => 99.95);
SELECT depwatch.add_capability('simple_transfer', ARRAY['transfer', 'kakaotalk'],
							   impact_tolerance => interval '1 s' * 30 * $scale);
SELECT depwatch.add_capability('group_account', ARRAY['core', 'kakaotalk'],
							   impact_tolerance => interval '1 s' * 24 * $scale);
-- the on-call route: every event but those of a service whose building is
-- down (suppressed: the building and the capabilities page instead)
SELECT depwatch.add_alert_route('oncall', 'webhook', 'http://127.0.0.1:${pager_port}/oncall');
SQL
# The worker of "live" starts once the extension exists (depwatch.databases).
for _ in $(seq 150); do
	[ "$(sql "SELECT count(*) FROM depwatch.current_status() WHERE state = 'up'")" = 11 ] && break
	sleep 0.2
done

# The timeline, the watcher and the pager count from here.
t0=$(now_ms)
# The watcher: every change of state, as current_status() shows it.
(
	declare -A seen
	while true; do
		while IFS='|' read -r type target state; do
			[ -n "$target" ] || continue
			if [ "${seen[$target]:-}" != "$state" ]; then
				[ -z "${seen[$target]:-}" ] ||
					printf '%s   %-10s %-16s %s -> %s\n' "$(stamp)" "$type" "$target" "${seen[$target]}" "$state"
				seen[$target]=$state
			fi
		done < <(sql "SELECT target_type, target, state FROM depwatch.current_status()" 2>/dev/null || true)
		sleep 0.25
	done
) &
watcher=$!

# The pager: every alert the worker delivers to the on-call route.
python3 - "$dir/alerts.jsonl" "$t0" <<'PY' &
import json, sys, time
path, t0 = sys.argv[1], int(sys.argv[2])
with open(path) as f:
	while True:
		line = f.readline()
		if not line:
			time.sleep(0.1)
			continue
		try:
			e = json.loads(json.loads(line)['body'])
		except ValueError:
			continue
		ms = int(time.time() * 1000) - t0
		print('[%3d.%d s]     PAGE %-8s %-18s %s' % (ms // 1000, ms % 1000 // 100, e['severity'], e['event'],
												   e['summary']), flush=True)
PY
pager=$!

echo
echo "Seven fake services on 127.0.0.1:$((ctl + 1))-$((ctl + ${#names[@]})), probed over HTTP every second by the"
echo "worker of database \"live\"; all eleven targets are up.  Faults are injected on a"
echo "compressed timeline (one second here is a few minutes there); the indented lines"
echo "are what depwatch saw, and PAGE lines what it sent the on-call webhook."
echo
say "Launch day, 07:00: sign-ups surge; both credit bureaus answer slowly"
set_mode nice slow:600; set_mode kcb slow:450
at 14; say "NICE collapses under the look-ups (other banks cannot query it either)"
set_mode nice refuse
at 24; say "KCB takes NICE's overflow and fails too: nobody can open an account"
set_mode kcb refuse
at 38; say "KCB adds capacity and comes back"
set_mode kcb up
at 46; say "NICE recovers"
set_mode nice up
at 58; say "2022-10-15, 15:19: fire in the Pangyo data center; power cut"
set_mode pangyo refuse; set_mode kakaotalk refuse; set_mode kakao_auth hang; set_mode core slow:500
at 64; say "The bank opens an incident and classifies it major under DORA; awareness is"
say "  dated 23 h 05 min back so that the 24-hour notification deadline falls within the hour"
sql "SELECT depwatch.set_incident_facts(depwatch.open_incident('Pangyo fire', now() - interval '10 seconds', ARRAY['kakaotalk', 'kakao_auth']),
	jsonb_build_object('critical_services_affected', true, 'relevant_clients_affected', true,
					   'reputational', jsonb_build_array('media', 'complaints'),
					   'aware_at', now() - interval '23 hours 5 minutes'))" >/dev/null
at 70; say "The bank's own core (another building) shakes off the delays"
set_mode core up
at 82; say "Kakao-linked authentication is restored"
set_mode kakao_auth up
at 96; say "Power is back in Pangyo; KakaoTalk comes back: simple transfer and group accounts work again"
set_mode pangyo up; set_mode kakaotalk up
at 108
kill "$watcher" "$pager" 2>/dev/null || true
wait "$watcher" "$pager" 2>/dev/null || true
watcher= pager=

echo
echo "== What the worker recorded (database \"live\")"
psql -qX -d live -P footer=off <<'SQL'
SELECT dependency, kind, to_char(started_at, 'HH24:MI:SS') AS started,
	   to_char(ended_at, 'HH24:MI:SS') AS ended,
	   round(extract(epoch FROM ended_at - started_at)) AS seconds, source
FROM depwatch.outages ORDER BY started_at, dependency;
SELECT c.name AS capability, o.kind, to_char(o.started_at, 'HH24:MI:SS') AS started,
	   to_char(o.ended_at, 'HH24:MI:SS') AS ended, o.causes
FROM depwatch.capability c,
	 LATERAL depwatch.capability_outages(c.name, tstzrange(now() - interval '10 min', now())) o
ORDER BY o.started_at, c.name;
SQL
echo "== Alerts (depwatch.alerts): recorded, and what the on-call route got"
psql -qX -d live -P footer=off <<'SQL'
SELECT to_char(at, 'HH24:MI:SS') AS at, event, target, severity, suppressed,
	   coalesce(route || ' ' || state, 'not sent (suppressed)') AS delivery
FROM depwatch.alerts ORDER BY id;
SQL
echo "== current_status()"
psql -qX -d live -P footer=off -c \
	"SELECT target, target_type, state, to_char(since, 'HH24:MI:SS') AS since FROM depwatch.current_status()"
# The fakes stop with this script: stop probing them too, so that the
# cluster left running does not fill with outages of services that are gone.
sql "SELECT depwatch.alter_dependency(name, enabled => false) FROM depwatch.dependency" >/dev/null
