#!/usr/bin/env bash
# Several vantages, native logical replication and quorum (issue 9, SPEC
# section 5; the set-up is doc/vantages.md's).  Three clusters, each a
# vantage probing from its own source address (a 127.0.0.2, b 127.0.0.3,
# c 127.0.0.4); a and b publish their observations, c subscribes to both
# and is the central node.  Fake services reset connections from some
# source addresses only:
#   one   fails for a only         -> no consensus outage (1 of 3)
#   two   fails for a and b        -> a consensus outage, starting when the
#                                     second vantage's outage starts
#   fine  fails for nobody
# Then:
#   - options->>'quorum' = 1 on c makes a alone enough for "one";
#   - vantage a stops entirely: "fine" stays up, a is unmonitored (it does
#     not count toward quorum), "one" (down for a) does not become down;
#   - a starts again: c catches up through replication, with no duplicate
#     and nothing missing, and a's stopped time reaches c as a gap;
#   - c's consensus availability over a closed period equals what a
#     reference (below, in Python) computes from the vantages' samples.
set -euo pipefail
cd "$(dirname "$0")/../.."

base=tmp/vantage_it
declare -A port=([a]=15483 [b]=15484 [c]=15485) addr=([a]=127.0.0.2 [b]=127.0.0.3 [c]=127.0.0.4)
ctl=18485
p_one=18486 p_two=18487 p_fine=18488

cleanup() {
	[ ! -f "$base/fake.pid" ] || kill "$(cat "$base/fake.pid")" 2>/dev/null || true
	for v in a b c; do scripts/cluster.sh stop "$base/$v" "${port[$v]}"; done
}
trap cleanup EXIT

q() {							# q NODE SQL
	PGOPTIONS="-c TimeZone=UTC" psql -X -A -t -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "${port[$1]}" -U postgres \
		-d "${DB:-bank}" -c "$2"
}
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok - $*"; }
wait_for() {					# wait_for SECONDS NODE SQL EXPECTED
	local deadline=$((SECONDS + $1)) got
	while :; do
		got=$(q "$2" "$3" 2>/dev/null || true)
		[ "$got" = "$4" ] && return 0
		[ $SECONDS -ge $deadline ] && fail "after $1 s, on $2, '$3' gave '$got', not '$4'"
		sleep 0.25
	done
}
fake() { [ "$(curl -s -m 2 "http://127.0.0.1:$ctl/set?port=$1&mode=${2//+/%2B}")" = ok ] || fail "fake: $1=$2"; }
# the period after this: every consensus question below is asked over it
window="tstzrange(now() - interval '10 minutes', now() + interval '1 minute')"

for v in a b c; do scripts/cluster.sh stop "$base/$v" "${port[$v]}"; done
rm -rf "$base"
mkdir -p "$base"
python3 test/fake_dependency.py --control $ctl --ports $p_one-$p_fine --mode up --pidfile "$base/fake.pid" >"$base/fake.log" 2>&1 &
deadline=$((SECONDS + 10))
until curl -sf -m 1 "http://127.0.0.1:$ctl/status" >/dev/null 2>&1; do
	[ $SECONDS -ge $deadline ] && fail "the fake services did not start: $(cat "$base/fake.log")"
	sleep 0.1
done

for v in a b c; do
	scripts/cluster.sh start "$base/$v" "${port[$v]}" "wal_level = logical" "max_worker_processes = 16" \
		"depwatch.databases = 'bank'" "depwatch.vantage = '$v'" "depwatch.source_address = '${addr[$v]}'"
	DB=postgres q $v "CREATE DATABASE bank"
	q $v "SET client_min_messages = warning; CREATE EXTENSION depwatch CASCADE"
done
# every node watches the same dependencies, by the same names
for v in a b c; do
	q $v "SELECT depwatch.add_dependency(n, 'credit_bureau', 'http', 'http://127.0.0.1:' || p || '/',
			every => '1 s', timeout => '900 ms', fail_after => 2, recover_after => 2)
		  FROM (VALUES ('one', $p_one), ('two', $p_two), ('fine', $p_fine)) d(n, p)" >/dev/null
done
# doc/vantages.md: a publication on each vantage, a subscription to each on c
for v in a b; do
	q $v "CREATE PUBLICATION depwatch_vantage FOR TABLE
			depwatch.vantage_sample (vantage, id, dependency, at, ok, latency, detail),
			depwatch.vantage_outage, depwatch.vantage_gap"
	q c "CREATE SUBSCRIPTION depwatch_$v
			CONNECTION 'host=127.0.0.1 port=${port[$v]} dbname=bank user=postgres'
			PUBLICATION depwatch_vantage"
done
wait_for 30 c "SELECT string_agg(vantage || ' ' || reporting, ',' ORDER BY vantage) FROM depwatch.vantage_status" \
	"a 3,b 3,c 3"
ok "three vantages probe from 127.0.0.2-4; a and b publish, c subscribes and hears from all"

# the failures start while every vantage reports (alone, at its start, a
# vantage's word is the majority)
fake $p_one resetfrom:127.0.0.2
fake $p_two resetfrom:127.0.0.2+127.0.0.3

# each vantage sees what its address gets
wait_for 30 a "SELECT string_agg(dependency, ',' ORDER BY dependency) FROM depwatch.vantage_outage
	WHERE kind = 'down' AND upper_inf(during)" "one,two"
wait_for 30 b "SELECT string_agg(dependency, ',' ORDER BY dependency) FROM depwatch.vantage_outage
	WHERE kind = 'down' AND upper_inf(during)" "two"
# c holds all three vantages' outages
wait_for 30 c "SELECT string_agg(vantage || ':' || dependency, ',' ORDER BY vantage, dependency)
	FROM depwatch.vantage_outage WHERE kind = 'down' AND upper_inf(during)" "a:one,a:two,b:two"
[ "$(q c "SELECT count(*) FROM depwatch.vantage_outage WHERE vantage = 'c'")" = 0 ] || fail "c saw an outage"
ok "vantage-local outages: a sees one and two down, b two, c nothing; c holds them all"

# one of three: no consensus; two of three: consensus from the second start
got=$(q c "SELECT string_agg(dependency || ' ' || coalesce(ended_at::text, 'open') || ' ' || array_to_string(vantages, '+'), ',')
	FROM depwatch.consensus_outages($window)")
[ "$got" = "two open a+b" ] || fail "consensus outages on c: '$got'"
got=$(q c "SELECT c.started_at = max(lower(o.during)) FROM depwatch.consensus_outages($window) c
	JOIN depwatch.vantage_outage o ON o.dependency = c.dependency AND o.kind = 'down'
	GROUP BY c.started_at")
[ "$got" = t ] || fail "the consensus outage does not start when the second vantage's does"
ok "seen by one vantage of three: no consensus outage; by two: one, from the second vantage's start"

q c "SELECT depwatch.alter_dependency('one', options => '{\"quorum\": 1}')" >/dev/null
got=$(q c "SELECT string_agg(dependency || ' ' || array_to_string(vantages, '+'), ',' ORDER BY dependency)
	FROM depwatch.consensus_outages($window)")
[ "$got" = "one a,two a+b" ] || fail "with quorum 1 for one: '$got'"
q c "SELECT depwatch.alter_dependency('one', options => '{}')" >/dev/null
ok "options->>'quorum' = 1 makes a alone enough"

# two recovers: the consensus outage closes
fake $p_two up
wait_for 30 c "SELECT count(*) FROM depwatch.consensus_outages($window) WHERE ended_at IS NULL" 0
ok "two recovers; its consensus outage ends ($(q c "SELECT ended_at - started_at FROM depwatch.consensus_outages($window)"))"

# vantage a stops entirely
stopped_at=$(q c "SELECT now()")
scripts/cluster.sh stop "$base/a" "${port[a]}"
wait_for 30 c "SELECT string_agg(vantage || ' ' || counts_toward_quorum, ',' ORDER BY vantage) FROM depwatch.vantage_status" \
	"a false,b true,c true"
wait_for 30 c "SELECT string_agg(dependency || ' ' || state || ' ' || reporting, ',' ORDER BY dependency)
	FROM (SELECT DISTINCT ON (dependency) * FROM depwatch.consensus_timeline($window)
		  ORDER BY dependency, started_at DESC) t" "fine up 2,one up 2,two up 2"
got=$(q c "SELECT count(*) FROM depwatch.consensus_outages($window) WHERE ended_at IS NULL OR ended_at > '$stopped_at'")
[ "$got" = 0 ] || fail "a consensus outage after a stopped"
got=$(q c "SELECT bool_and(upper(monitored) < now())::text || count(*)
	FROM depwatch_internal._vantage_spans(now() - interval '10 minutes', now() + interval '1 minute') WHERE vantage = 'a'")
[ "$got" = true3 ] || fail "a is still monitored on c after it stopped ($got)"
ok "a stopped: a is unmonitored and out of the quorum; every dependency is up on b and c's word"
sleep 3

# a starts again and catches up
scripts/cluster.sh start "$base/a" "${port[a]}"
wait_for 30 a "SELECT count(*) > 0 FROM depwatch.vantage_gap WHERE lower(unmonitored) > '$stopped_at'" t
sleep 2
# everything a holds up to a moment reaches c, once
upto=$(q a "SELECT max(at) FROM depwatch.vantage_sample")
digest="SELECT count(*) || ' ' || count(DISTINCT (dependency, at)) || ' ' ||
	md5(string_agg(dependency || at || ok, ',' ORDER BY dependency, at))
	FROM depwatch.vantage_sample WHERE vantage = 'a' AND at <= '$upto'"
expect=$(q a "$digest")
wait_for 30 c "$digest" "$expect"
read -r n distinct _ <<<"$expect"
[ "$n" = "$distinct" ] || fail "a's samples have duplicates"
for t in "vantage_outage" "vantage_gap"; do
	a_rows=$(q a "SELECT md5(string_agg(x::text, ',' ORDER BY x::text)) FROM depwatch.$t x WHERE vantage = 'a'")
	wait_for 30 c "SELECT md5(string_agg(x::text, ',' ORDER BY x::text)) FROM depwatch.$t x WHERE vantage = 'a'" "$a_rows"
done
got=$(q c "SELECT count(*) FROM depwatch.vantage_gap WHERE vantage = 'a' AND lower(unmonitored) > '$stopped_at'")
[ "$got" -ge 3 ] || fail "a's stopped time did not reach c as gaps ($got)"
wait_for 30 c "SELECT string_agg(vantage || ' ' || counts_toward_quorum, ',' ORDER BY vantage) FROM depwatch.vantage_status" \
	"a true,b true,c true"
ok "a restarted: c caught up ($n samples of a, no duplicates; outages and gaps equal), a counts again"

# c's consensus availability against a reference computed from the samples
# alone, over a closed period from after every vantage's first sample
period=$(q c "SELECT tstzrange(max(f) + interval '1 s', now() - interval '4 s')
	FROM (SELECT min(at) AS f FROM depwatch.vantage_sample GROUP BY vantage, dependency) x")
q c "COPY (SELECT s.vantage, s.dependency, s.at, s.ok, extract(epoch FROM d.every), d.fail_after, d.recover_after
		   FROM depwatch.vantage_sample s JOIN depwatch.dependency d ON d.name = s.dependency
		   ORDER BY 1, 2, 3) TO STDOUT WITH (FORMAT csv)" >"$base/samples.csv"
q c "COPY (SELECT dependency, extract(epoch FROM monitored), extract(epoch FROM downtime)
		   FROM depwatch.vantage_availability('$period') WHERE vantage IS NULL ORDER BY 1)
	 TO STDOUT WITH (FORMAT csv)" >"$base/central.csv"
lo=$(q c "SELECT extract(epoch FROM lower('$period'::tstzrange))")
hi=$(q c "SELECT extract(epoch FROM upper('$period'::tstzrange))")
python3 - "$base/samples.csv" "$base/central.csv" "$lo" "$hi" <<'PY'
# Reference (SPEC section 3 and doc/vantages.md): per vantage and
# dependency, monitored = sample times joined where consecutive samples are
# at most 3 x every apart, each run lasting until 3 x every after its last
# sample; down = from the first bad sample of fail_after bad ones in a row
# to the first good one of recover_after good ones in a row, within
# monitored time.  Consensus at an instant: R vantages monitored, D down;
# down when D >= R // 2 + 1, monitored when R > 0.
import csv, sys
from collections import defaultdict
from datetime import datetime

def ts(s):
    return datetime.fromisoformat(s.replace("+00", "+00:00")).timestamp()

series = defaultdict(list)
rules = {}
for v, d, at, ok, every, fa, ra in csv.reader(open(sys.argv[1])):
    series[(d, v)].append((ts(at), ok == "t"))
    rules[d] = (float(every), int(fa), int(ra))
lo, hi = float(sys.argv[3]), float(sys.argv[4])

def clip(spans):
    return [(max(a, lo), min(b, hi)) for a, b in spans if min(b, hi) > max(a, lo)]

def intersect(xs, ys):
    out = []
    for a, b in xs:
        for c, d in ys:
            if min(b, d) > max(a, c):
                out.append((max(a, c), min(b, d)))
    return out

views = defaultdict(dict)
for (d, v), ss in series.items():
    every, fa, ra = rules[d]
    monitored, start = [], ss[0][0]
    for (t0, _), (t1, _) in zip(ss, ss[1:]):
        if t1 - t0 > 3 * every:
            monitored.append((start, t0 + 3 * every))
            start = t1
    monitored.append((start, ss[-1][0] + 3 * every))
    down, bad, good, since, opened, first_good = [], 0, 0, None, None, None
    for t, ok in ss:
        if not ok:
            good = 0
            if bad == 0:
                since = t
            bad += 1
            if opened is None and bad >= fa:
                opened = since
        else:
            bad = 0
            if opened is not None:
                if good == 0:
                    first_good = t
                good += 1
                if good >= ra:
                    down.append((opened, first_good))
                    opened, good = None, 0
    if opened is not None:
        down.append((opened, float("inf")))
    views[d][v] = (clip(monitored), clip(intersect(down, monitored)))

ref = {}
for d, per in views.items():
    edges = sorted({lo, hi} | {x for m, dn in per.values() for s in m + dn for x in s})
    mon = dt = 0.0
    for a, b in zip(edges, edges[1:]):
        if not lo <= a < hi:
            continue
        r = sum(any(x <= a < y for x, y in m) for m, _ in per.values())
        n = sum(any(x <= a < y for x, y in dn) for _, dn in per.values())
        if r > 0:
            mon += b - a
            if n >= r // 2 + 1:
                dt += b - a
    ref[d] = (mon, dt)

central = {d: (float(m), float(t)) for d, m, t in csv.reader(open(sys.argv[2]))}
bad = False
for d in sorted(ref):
    c = central.get(d)
    agree = c is not None and abs(c[0] - ref[d][0]) < 0.001 and abs(c[1] - ref[d][1]) < 0.001
    print("%-5s reference monitored %.3f s down %.3f s; central %s %s"
          % (d, ref[d][0], ref[d][1], "monitored %.3f s down %.3f s" % c if c else "nothing",
             "ok" if agree else "DIFFERENT"))
    bad |= not agree
if set(central) != set(ref) or bad or ref["two"][1] <= 0 or ref["one"][1] != 0:
    sys.exit("the central node's consensus availability differs from the reference")
PY
ok "c's consensus availability equals the reference computed from the samples"

# with depwatch.consensus on, c's own reports read the consensus
cons="SET depwatch.consensus = on;"
q c "SELECT depwatch.add_capability('opening', ARRAY['two', 'fine'])" >/dev/null
a=$(q c "SELECT string_agg(concat_ws(' ', dependency, round(extract(epoch FROM monitored), 3),
		round(extract(epoch FROM downtime), 3)), ',' ORDER BY dependency)
	FROM depwatch.vantage_availability('$period') WHERE vantage IS NULL")
b=$(q c "$cons SELECT string_agg(concat_ws(' ', target, round(extract(epoch FROM monitored), 3),
		round(extract(epoch FROM downtime), 3)), ',' ORDER BY target)
	FROM depwatch.availability('$period') WHERE target_type = 'dependency'")
[ "$a" = "$b" ] || fail "availability() with depwatch.consensus on gives '$b', the consensus '$a'"
a=$(q c "SELECT started_at || ' ' || ended_at FROM depwatch.consensus_outages('$period') WHERE dependency = 'two'")
b=$(q c "$cons SELECT string_agg(started_at || ' ' || ended_at || ' ' || array_to_string(causes, '+'), ',')
	FROM depwatch.capability_outages('opening', '$period') WHERE kind = 'down'")
[ "$b" = "$a two" ] || fail "capability_outages() with depwatch.consensus on gives '$b', not '$a two'"
b=$(q c "SELECT count(*) FROM depwatch.capability_outages('opening', '$period')")
[ "$b" = 0 ] || fail "capability_outages() with depwatch.consensus off (c's own view) gives $b windows"
ok "with depwatch.consensus on, availability() and capability_outages() on c use the consensus"
got=$(q c "SELECT string_agg(coalesce(vantage, 'consensus') || ' ' || round(availability, 1), ',' ORDER BY vantage NULLS FIRST)
	FROM depwatch.vantage_availability('$period') WHERE dependency = 'one'")
echo "   availability of one over the period: $got"
echo "vantages: all passed"
