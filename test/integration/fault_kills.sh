#!/usr/bin/env bash
# Faults (issue 8): kill -9 of the launcher and of each per-database worker,
# KILLS times each (default 20), at random moments, while dependencies flap.
#
# Two databases (bank, bank2) are probed; test/fake_dependency.py (--verbose:
# its log of every "port listening" / "port closed" is the mode log) flaps
# five tcp dependencies with different periods (every 200 ms, timeout
# 150 ms, fail_after 2, recover_after 2) and keeps one up in each
# database.  Each round kills the launcher, then bank's worker, then
# bank2's (each of which makes the postmaster restart every process), a
# random 0-0.6 s after the process came back.  Then the fake stops
# flapping and the outages close.  Afterwards, for every dependency:
#   1. each stored sample agrees with the mode log (ok while the port
#      listened, failed while it was closed; 250 ms either side of a flip
#      is not judged);
#   2. the outages are exactly those the state machine makes of the stored
#      samples, replayed here in Python independently of depwatch's C
#      (start = first bad sample of the streak, detected_at = the
#      fail_after-th, end = first good sample of recover_after; and no
#      degraded one, without degraded_after (SPEC section 7)): no
#      transition lost, none duplicated, none opened twice across a crash;
#   3. against the mode log: every closed phase in which the monitor took
#      fail_after samples lies in an outage; no outage outlives an open
#      phase in which it took recover_after samples; every outage starts
#      in a closed phase (the hysteresis may join phases across a gap the
#      monitor did not see: that is allowed, and counted);
#   4. no overlapping outages, no duplicate; every outage's audit trail is
#      one INSERT and at most one UPDATE; verify_audit() is ok;
#   5. the gaps in the samples of the up dependencies are the kills'
#      (the longest is printed), and probing goes on after the last kill.
# Ports: cluster 15461, fake 18460 (control) and 18461-18466.
set -euo pipefail
cd "$(dirname "$0")/../.."

dir=tmp/faults_kills
port=15461
ctl=18460
KILLS=${KILLS:-20}
# port:up-seconds:down-seconds:database
flappers=(18461:2.3:1.9:bank 18462:1.7:2.9:bank 18463:3.1:1.3:bank 18464:1.1:2.3:bank2 18465:2.7:2.1:bank2)
up_port=18466

fake_pid=
cleanup() {
	[ -z "$fake_pid" ] || kill "$fake_pid" 2>/dev/null || true
	scripts/cluster.sh stop "$dir" "$port"
}
trap cleanup EXIT

sql() { psql -X -A -t -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d "${DB:-bank}" -c "$1"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok - $* [${SECONDS}s]"; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
fake() { curl -sS -m 2 "http://127.0.0.1:$ctl/set?port=$1&mode=$2" >/dev/null; }

for p in $ctl $(seq 18461 $up_port); do port_open "$p" && fail "port $p is in use"; done

scripts/cluster.sh stop "$dir" "$port"
rm -rf "$dir"
scripts/cluster.sh start "$dir" "$port" "log_line_prefix = '%m [%p] %b '"
mkdir -p "$dir/out"

python3 test/fake_dependency.py --control $ctl --ports 18461-$up_port --verbose \
	>"$dir/out/fake.out" 2>"$dir/out/modes.log" &
fake_pid=$!
for _ in $(seq 50); do grep -q '^fake_dependency: control' "$dir/out/fake.out" && break; sleep 0.1; done
grep -q '^fake_dependency: control' "$dir/out/fake.out" || fail "the fake dependency did not start"

for db in bank bank2; do
	DB=postgres sql "CREATE DATABASE $db"
	DB=$db sql "CREATE EXTENSION depwatch CASCADE" 2>/dev/null
	DB=$db sql "SELECT depwatch.add_dependency('steady', 'other', 'tcp', '127.0.0.1:$up_port',
		every => '200 ms', timeout => '150 ms', fail_after => 2, recover_after => 2)" >/dev/null
done
for f in "${flappers[@]}"; do
	IFS=: read -r p u d db <<<"$f"
	DB=$db sql "SELECT depwatch.add_dependency('flap_$p', 'other', 'tcp', '127.0.0.1:$p',
		every => '200 ms', timeout => '150 ms', fail_after => 2, recover_after => 2)" >/dev/null
done
DB=postgres sql "ALTER SYSTEM SET depwatch.databases = 'bank, bank2'"
DB=postgres sql "SELECT pg_reload_conf()" >/dev/null
for f in "${flappers[@]}"; do
	IFS=: read -r p u d db <<<"$f"
	fake "$p" "flap:$u:$d"
done
ok "2 databases, ${#flappers[@]} flapping dependencies and 2 steady ones, probed every 200 ms"

# pid_of WHAT: the pid of the launcher, or of the worker of database WHAT
pid_of() {
	if [ "$1" = launcher ]; then
		DB=postgres sql "SELECT pid FROM pg_stat_activity WHERE backend_type = 'depwatch launcher'"
	else
		DB=postgres sql "SELECT pid FROM pg_stat_activity WHERE backend_type = 'depwatch worker' AND datname = '$1'"
	fi
}
sleep 3
declare -A last=([launcher]=0 [bank]=0 [bank2]=0) kills=([launcher]=0 [bank]=0 [bank2]=0)
t_first=$(date +%s.%N)
for round in $(seq "$KILLS"); do
	for what in launcher bank bank2; do
		deadline=$((SECONDS + 30))
		while :; do
			pid=$(pid_of "$what" 2>/dev/null || true)
			[ -n "$pid" ] && [ "$pid" != "${last[$what]}" ] && break
			[ $SECONDS -ge $deadline ] && fail "round $round: no $what process 30 s after the last kill"
			sleep 0.05
		done
		sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.2f", (r % 61) / 100 }')"
		kill -9 "$pid" 2>/dev/null && kills[$what]=$((kills[$what] + 1))
		last[$what]=$pid
	done
done
t_last=$(date +%s.%N)
ok "killed (-9) the launcher ${kills[launcher]} times, bank's worker ${kills[bank]} times, bank2's ${kills[bank2]} times in $(awk "BEGIN { printf \"%.0f\", $t_last - $t_first }") s"

# let it flap a little longer, then stop flapping: every outage must close
sleep 4
for f in "${flappers[@]}"; do fake "${f%%:*}" up; done
t_up=$(date +%s.%N)
for db in bank bank2; do
	deadline=$((SECONDS + 30))
	until [ "$(DB=$db sql "SELECT count(*) FROM depwatch.outage WHERE upper_inf(during)")" = 0 ] &&
		[ "$(DB=$db sql "SELECT count(*) FROM depwatch.sample WHERE at > to_timestamp($t_up) + interval '1 s'")" -gt 10 ]; do
		[ $SECONDS -ge $deadline ] && fail "$db: outages still open 30 s after the fake stopped flapping"
		sleep 0.2
	done
done
ok "after the kills and the flapping, every outage closed and both workers probe"
sleep 0.5

for db in bank bank2; do
	DB=$db sql "COPY (SELECT id, name, split_part(target, ':', 2), fail_after, recover_after FROM depwatch.dependency ORDER BY id) TO STDOUT WITH CSV" >"$dir/out/$db.deps"
	DB=$db sql "COPY (SELECT dependency_id, extract(epoch FROM at), ok FROM depwatch.sample ORDER BY dependency_id, at) TO STDOUT WITH CSV" >"$dir/out/$db.samples"
	DB=$db sql "COPY (SELECT o.id, o.dependency_id, o.kind, extract(epoch FROM lower(during)), extract(epoch FROM upper(during)),
			extract(epoch FROM detected_at), o.source,
			(SELECT string_agg(action, ',' ORDER BY a.id) FROM depwatch.audit_log a WHERE a.table_name = 'outage' AND a.row_id = o.id)
		FROM depwatch.outage o ORDER BY dependency_id, lower(during)) TO STDOUT WITH CSV" >"$dir/out/$db.outages"
	got=$(DB=$db sql "SELECT ok::text || ' ' || checked FROM depwatch.verify_audit()")
	[ "${got%% *}" = true ] || fail "$db: verify_audit() says $(DB=$db sql "SELECT * FROM depwatch.verify_audit()")"
	ok "$db: verify_audit() is ok (${got#* } rows checked)"
done

python3 - "$dir/out" "$t_first" "$t_last" <<'EOF'
import csv, os, re, sys
from decimal import Decimal

out, t_first, t_last = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
TOL = 0.25
failures = []

# the mode log: per port, [(time, listening?)] in time order
flips = {}
for line in open(os.path.join(out, "modes.log")):
    m = re.match(r"fake_dependency: ([0-9.]+) port (\d+) (listening|closed)", line)
    if m:
        flips.setdefault(int(m.group(2)), []).append((float(m.group(1)), m.group(3) == "listening"))

def mode_at(port, t):
    """listening at t? None within TOL of a flip"""
    state = None
    for when, listening in flips[port]:
        if abs(when - t) < TOL:
            return None
        if when <= t:
            state = listening
    return state

def phases(port, end):
    """[(start, end, listening)] of the port from its first flip on"""
    f = flips[port]
    return [(f[i][0], f[i + 1][0] if i + 1 < len(f) else end, f[i][1]) for i in range(len(f))]

def machine(samples, fail_after, recover_after):
    """the outage state machine of SPEC 3, on (at, ok) in time order"""
    outages, open_, bad, good = [], None, [], []
    for at, ok in samples:
        if open_ is None:
            if ok:
                bad = []
            else:
                bad.append(at)
                if len(bad) == fail_after:
                    open_ = [bad[0], None, at]
                    good = []
        else:
            if ok:
                good.append(at)
                if len(good) == recover_after:
                    open_[1] = good[0]
                    outages.append(tuple(open_))
                    open_, bad = None, []
            else:
                good = []
    if open_ is not None:
        outages.append(tuple(open_))
    return outages

totals = dict(samples=0, judged=0, outages=0, phases_seen=0, joined=0, gaps=[])
for db in ("bank", "bank2"):
    deps = {int(r[0]): (r[1], int(r[2]), int(r[3]), int(r[4])) for r in csv.reader(open(os.path.join(out, db + ".deps")))}
    samples = {}
    for r in csv.reader(open(os.path.join(out, db + ".samples"))):
        samples.setdefault(int(r[0]), []).append((Decimal(r[1]), r[2] == "t"))
    outages = {}
    for r in csv.reader(open(os.path.join(out, db + ".outages"))):
        outages.setdefault(int(r[1]), []).append(dict(
            id=r[0], kind=r[2], start=Decimal(r[3]), end=Decimal(r[4]) if r[4] else None,
            detected=Decimal(r[5]) if r[5] else None, source=r[6], audit=r[7]))
    end_of_test = float(max(s[-1][0] for s in samples.values())) + 1
    for dep_id, (name, port, fail_after, recover_after) in deps.items():
        ss = samples.get(dep_id, [])
        os_ = outages.get(dep_id, [])
        totals["samples"] += len(ss)
        totals["outages"] += sum(1 for o in os_ if o["kind"] == "down")
        where = "%s.%s" % (db, name)
        if len(ss) < 30:
            failures.append("%s: only %d samples" % (where, len(ss)))
            continue
        # 1. samples agree with the mode log
        wrong = []
        for at, ok in ss:
            want = mode_at(port, float(at))
            if want is None:
                continue
            totals["judged"] += 1
            if want != ok:
                wrong.append("%.3f:%s" % (at, ok))
        if wrong:
            failures.append("%s: %d samples disagree with the mode log: %s" % (where, len(wrong), ", ".join(wrong[:5])))
        # 2. the outages are the machine's over the stored samples, exactly.
        # Without degraded_after there is no degraded machine: no degraded
        # outage at all (SPEC section 7, "Degraded only where defined").
        for o in os_:
            if o["source"] != "probe":
                failures.append("%s: an outage of source %s" % (where, o["source"]))
            if o["audit"] not in ("INSERT", "INSERT,UPDATE"):
                failures.append("%s: outage %s has the audit trail %s" % (where, o["id"], o["audit"]))
        want = machine(ss, fail_after, recover_after)
        for kind in ("down", "degraded"):
            got = [(o["start"], o["end"], o["detected"]) for o in os_ if o["kind"] == kind]
            if kind == "degraded" and got:
                failures.append("%s: %d degraded outages without degraded_after" % (where, len(got)))
            elif kind == "down" and got != want:
                g, w = set(got), set(want)
                failures.append("%s: %s outages differ from the replay of its samples: only stored %s; only replayed %s"
                                % (where, kind, sorted(g - w)[:3], sorted(w - g)[:3]))
            # 4. no overlaps among them (the exclusion constraint says so too)
            for a, b in zip(got, got[1:]):
                if a[1] is None or a[1] > b[0]:
                    failures.append("%s: %s outages %s and %s overlap" % (where, kind, a, b))
        got = [(o["start"], o["end"], o["detected"]) for o in os_ if o["kind"] == "down"]
        # 5. gaps in the samples of the steady ones
        if name == "steady":
            ats = [float(a) for a, _ in ss]
            totals["gaps"] += [b - a for a, b in zip(ats, ats[1:]) if b - a > 0.6]
            continue
        # 3. against the mode log
        ats = [float(a) for a, _ in ss]
        for lo, hi, listening in phases(port, end_of_test):
            inside = [a for a in ats if lo + TOL <= a < hi - TOL]
            if listening:
                if len(inside) < recover_after:
                    continue
                totals["phases_seen"] += 1
                # an outage may not span recover_after good samples of this phase
                for s, e, _ in got:
                    if float(s) < inside[0] and (e is None or float(e) > inside[recover_after - 1]):
                        failures.append("%s: outage from %.3f outlived the open phase %.3f-%.3f (%d samples in it)"
                                        % (where, s, lo, hi, len(inside)))
            else:
                if len(inside) < fail_after:
                    continue
                totals["phases_seen"] += 1
                if not any(float(s) < hi and (e is None or float(e) > lo) for s, e, _ in got):
                    failures.append("%s: closed phase %.3f-%.3f (%d samples in it) lies in no outage"
                                    % (where, lo, hi, len(inside)))
        closed = [(lo, hi) for lo, hi, listening in phases(port, end_of_test) if not listening]
        for s, e, _ in got:
            s = float(s)
            if not any(lo - TOL <= s < hi + TOL for lo, hi in closed):
                failures.append("%s: the outage from %.3f starts in no closed phase" % (where, s))
            n = sum(1 for lo, hi in closed if lo < (float(e) if e is not None else end_of_test) and hi > s)
            totals["joined"] += n > 1

gaps = sorted(totals["gaps"])
print("   %d samples (%d judged against the mode log), %d down outages (no degraded one); %d monitored phases checked; "
      "%d outages span more than one closed phase (joined across a gap the monitor missed)"
      % (totals["samples"], totals["judged"], totals["outages"], totals["phases_seen"], totals["joined"]))
print("   gaps > 0.6 s in the steady dependencies' samples: %d, median %.2f s, longest %.2f s"
      % (len(gaps), gaps[len(gaps) // 2] if gaps else 0, gaps[-1] if gaps else 0))
if failures:
    for f in failures[:30]:
        print("FAIL: " + f)
    sys.exit(1)
EOF
ok "samples agree with the mode log; outages = the replay of the samples; every monitored phase accounted for; no overlaps or duplicates; audit trails INSERT[,UPDATE]"

for db in bank bank2; do
	got=$(DB=$db sql "SELECT count(*) FROM depwatch.outage a JOIN depwatch.outage b ON a.dependency_id = b.dependency_id
		AND a.kind = b.kind AND a.id < b.id AND a.during && b.during")
	[ "$got" = 0 ] || fail "$db: $got pairs of overlapping outages"
	got=$(DB=$db sql "SELECT count(*) FROM depwatch.probe_state p WHERE p.down_open <> EXISTS
		(SELECT FROM depwatch.outage o WHERE o.dependency_id = p.dependency_id AND o.kind = 'down' AND upper_inf(o.during))")
	[ "$got" = 0 ] || fail "$db: $got machines disagree with the outage table about an open outage"
done
ok "no overlapping outages; every machine agrees with the outage table"
got=$(grep -E 'depwatch (worker|launcher) +(WARNING|ERROR)' "$dir/server.log" | head -5 || true)
[ -z "$got" ] || fail "the worker logged failures: $got"
ok "the worker and launcher logged no warnings or errors through $((kills[launcher] + kills[bank] + kills[bank2])) crash restarts"
