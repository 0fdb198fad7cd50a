#!/usr/bin/env bash
# scripts/valgrind.sh (make valgrind): depwatch's tests with the server under
# Valgrind's memcheck, failing on any memcheck error with a frame in
# depwatch.so.
#
# The server runs as test/valgrind/postgres (memcheck around the real
# postgres; every backend and background worker it forks runs under it
# too), with PostgreSQL's own suppressions (test/valgrind/postgresql.supp)
# and depwatch's (test/valgrind/depwatch.supp).  What runs under it, chosen
# to reach every C file of depwatch:
#   - pg_regress, the files of sql/ that drive depwatch's C functions:
#     state_machine (report_sample, derive_outages, the machine),
#     availability (the timelines, availability, capability_outages),
#     timeline_svg, metrics, config (the target, requirement and options
#     parsers and validators) and fuzz_regressions (the parsers on what the
#     fuzzers found); the others are mostly PL/pgSQL and SQL, and each file
#     costs minutes under memcheck;
#   - test/integration/worker_probes.sh: the launcher, the worker's event
#     loop and every probe driver (tcp and http through libcurl, postgres
#     through libpq, passive), hung and refused peers, live configuration
#     changes and drops with probes in flight;
#   - test/integration/fault_kills.sh (KILLS=2): crash restarts, an open
#     outage resumed;
#   - test/integration/fault_partitions.sh: partition maintenance and the
#     lock timeouts of the worker's writes.
# Those tests' timing checks (a probe every 200 ms, within 100 ms, ...)
# cannot all hold on a server 20 to 50 times slower, so their results are
# printed but do not decide; the memcheck reports do.  Runs for about
# 30 minutes.  Results: tmp/valgrind/summary.txt; each process's report
# in tmp/valgrind/*/valgrind/PID.log (and the tests' own cluster
# directories).
set -uo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)

command -v valgrind >/dev/null || { echo "valgrind: not installed (scripts/deps.sh)" >&2; exit 1; }
export DEPWATCH_POSTGRES=$top/test/valgrind/postgres
out=tmp/valgrind
rm -rf "$out"
mkdir -p "$out"
port=15463
bindir=$(pg_config --bindir)
pg_regress=$(dirname "$(pg_config --pgxs)")/../test/regress/pg_regress
summary=$out/summary.txt
: >"$summary"
note() { echo "$*" | tee -a "$summary"; }

# the cluster directories whose valgrind/ reports count
dirs=()

note "== pg_regress (sql/) on a server under memcheck"
scripts/cluster.sh stop "$out/regress" "$port"
scripts/cluster.sh start "$out/regress" "$port" "depwatch.vantage = 'regress'" "depwatch.databases = ''"
dirs+=("$out/regress")
mkdir -p "$out/regress/results"
chown -R postgres "$out/regress/results" 2>/dev/null || true
tests="state_machine availability timeline_svg metrics config fuzz_regressions"
psql -X -q -h 127.0.0.1 -p $port -U postgres -d postgres -c "CREATE DATABASE contrib_regression"
# shellcheck disable=SC2086
runuser -u postgres -- "$pg_regress" --use-existing --host=127.0.0.1 --port=$port \
	--user=postgres --bindir="$bindir" --inputdir=. --outputdir="$out/regress/results" \
	--dbname=contrib_regression $tests >"$out/regress/pg_regress.log" 2>&1
note "   $(grep -cE '\.\.\. +ok' "$out/regress/pg_regress.log") ok, $(grep -cE '\.\.\. +FAILED' "$out/regress/pg_regress.log") failed"
grep -qE '\.\.\. +(ok|FAILED)' "$out/regress/pg_regress.log" || { cat "$out/regress/pg_regress.log"; exit 1; }
scripts/cluster.sh stop "$out/regress" "$port"

for t in worker_probes fault_kills fault_partitions; do
	note "== test/integration/$t.sh on servers under memcheck"
	start=$SECONDS
	KILLS=2 "test/integration/$t.sh" >"$out/$t.log" 2>&1
	rc=$?
	note "   exit $rc after $((SECONDS - start)) s; $(grep -c '^ok' "$out/$t.log") checks ok, $(grep -c 'FAIL' "$out/$t.log") failed (timing checks may fail under memcheck)"
done
# the integration tests' cluster directories (tmp/it_probes*, tmp/faults_*)
for d in tmp/it_probes tmp/it_probes_dns tmp/faults_kills tmp/faults_partitions; do
	[ -d "$d/valgrind" ] && dirs+=("$d")
done

# Every memcheck report (each starts with "==PID== <kind>" after a blank
# line).  It is depwatch's when its innermost frame outside libc, the
# dynamic loader and valgrind's own wrappers is in depwatch.so: depwatch's
# code made the bad access or handed libc the bad memory.  Reports that
# merely have depwatch.so deeper in the stack (everything a worker does
# does) are PostgreSQL's or a library's, and listed apart.
python3 - "$summary" "${dirs[@]}" <<'EOF'
import glob, os, re, sys

summary, dirs = sys.argv[1], sys.argv[2:]
errors, ours, processes = [], [], 0
for d in dirs:
    for path in sorted(glob.glob(os.path.join(d, "valgrind", "*.log"))):
        processes += 1
        block = []
        for line in open(path, errors="replace"):
            text = re.sub(r"^==\d+== ?", "", line.rstrip("\n"))
            if text.strip() == "":
                if block:
                    errors.append((path, block))
                block = []
            else:
                block.append(text)
        if block:
            errors.append((path, block))
OURS = {os.path.basename(f) for f in glob.glob("src/*.c")}
def frame(line):
    """'ours', 'system' (libc, the loader, valgrind's wrappers: the only
    objects here with line numbers besides depwatch) or 'other'"""
    loc = re.search(r"\(([\w.-]+\.[cS]):\d+\)$", line)
    if "depwatch.so" in line or (loc and loc.group(1) in OURS):
        return "ours"
    if loc or re.search(r"/usr/libexec/valgrind/|/libc\.so|/ld-linux", line):
        return "system"
    return "other"
def innermost(block):
    for l in block:
        m = re.match(r"\s*(at|by) 0x[0-9A-F]+: (.*)", l)
        if m and frame(m.group(2)) != "system":
            return m.group(2)
    return ""
for path, block in errors:
    if frame(innermost(block)) == "ours":
        ours.append((path, block))
with open(summary, "a") as f:
    def out(s):
        print(s)
        f.write(s + "\n")
    out("== memcheck: %d processes, %d reports, %d in depwatch's code" % (processes, len(errors), len(ours)))
    for path, block in ours[:20]:
        out("-- " + path)
        for l in block[:40]:
            out("   " + l)
    others = [b for _, b in errors if b not in [o for _, o in ours]]
    kinds = {}
    for b in others:
        key = "%s (innermost: %s; depwatch.so deeper in the stack: %s)" % (
            b[0], innermost(b) or "-", "yes" if any(frame(l) == "ours" for l in b) else "no")
        kinds[key] = kinds.get(key, 0) + 1
    if kinds:
        out("reports outside depwatch's code, by kind:")
        for k, n in sorted(kinds.items(), key=lambda x: -x[1]):
            out("   %3d  %s" % (n, k))
sys.exit(1 if ours else 0)
EOF
