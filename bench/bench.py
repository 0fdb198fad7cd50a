#!/usr/bin/env python3
"""Probe-worker benchmark driver (Python 3 standard library; talks to the
server through psql and pgbench, reads the worker from /proc).

    bench.py scenarios   run scenarios 1-4, one JSON file per run in $RAW
    bench.py report      print the table and write bench/results.md

Everything it needs comes from the environment set by bench/run.sh: PGPORT,
PGDATABASE, SERVER_LOG, RAW, DURATION, PGBENCH_DURATION, WARMUP, LISTENER_PID,
RESULTS, SCENARIOS.
"""
import json
import os
import statistics
import subprocess
import sys
import threading
import time

PORT = os.environ.get("PGPORT", "54471")
DB = os.environ.get("PGDATABASE", "bench")
SERVER_LOG = os.environ.get("SERVER_LOG", "")
RAW = os.environ.get("RAW", "/tmp/depwatch-bench")
DURATION = int(os.environ.get("DURATION", "60"))
PGBENCH_DURATION = int(os.environ.get("PGBENCH_DURATION", "60"))
WARMUP = int(os.environ.get("WARMUP", "10"))
RUNS = int(os.environ.get("RUNS", "3"))
LISTENER_PID = os.environ.get("LISTENER_PID")
RESULTS = os.environ.get("RESULTS", "bench/results.md")
SCENARIOS = os.environ.get("SCENARIOS", "1,2,3,5,4").split(",")
HEALTHY_BASE = 20000        # dependency i (1-based) -> port 20000 + i - 1
HUNG_BASE = 25000           # hung peers: 25000 ...
HEALTHY_COUNT = 5000        # healthy listeners: 20000-24999
ALERT_RECEIVER_PORT = 54472 # scenario 5's webhook route (nothing listens: no event is due)
CLK_TCK = os.sysconf("SC_CLK_TCK")
PSQL = ["psql", "-h", "127.0.0.1", "-p", PORT, "-U", "postgres", "-d", DB,
        "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1"]


def log(msg):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def q(sql):
    """Run sql, return its rows as lists of strings."""
    r = subprocess.run(PSQL + ["-c", sql], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("psql failed: %s\n%s" % (sql[:200], r.stderr))
    return [line.split("\t") for line in r.stdout.splitlines() if line != ""]


def q1(sql):
    rows = q(sql)
    return rows[0][0] if rows else None


class Session:
    """One long-lived psql, for sampling worker_status every second."""

    def __init__(self):
        self.p = subprocess.Popen(PSQL, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, text=True, bufsize=1)

    def query(self, sql):
        self.p.stdin.write(sql.rstrip().rstrip(";") + ";\n\\echo __END__\n")
        self.p.stdin.flush()
        rows = []
        while True:
            line = self.p.stdout.readline()
            if line == "":
                raise RuntimeError("psql session ended")
            line = line.rstrip("\n")
            if line == "__END__":
                return rows
            if line:
                rows.append(line.split("\t"))

    def close(self):
        try:
            self.p.stdin.close()
            self.p.wait(5)
        except Exception:
            self.p.kill()


# ---------------------------------------------------------------- /proc

def proc_cpu(pid):
    """utime + stime of pid, in seconds."""
    with open("/proc/%s/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_rss_kb(pid):
    with open("/proc/%s/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


def proc_fds(pid):
    try:
        return len(os.listdir("/proc/%s/fd" % pid))
    except OSError:
        return None


def proc_nofile(pid):
    with open("/proc/%s/limits" % pid) as f:
        for line in f:
            if line.startswith("Max open files"):
                return line.split()[3:5]
    return None


def worker_pid():
    for _ in range(60):
        pid = q1("SELECT pid FROM depwatch.worker_status WHERE database = '%s'" % DB)
        if pid:
            return pid
        time.sleep(1)
    raise RuntimeError("no depwatch worker for database %s" % DB)


def log_size():
    try:
        return os.path.getsize(SERVER_LOG)
    except OSError:
        return 0


def log_since(offset):
    try:
        with open(SERVER_LOG, errors="replace") as f:
            f.seek(offset)
            return f.read()
    except OSError:
        return ""


def memory_contexts(pid):
    """Ask the worker to log its memory contexts; return (TopMemoryContext
    own bytes, grand total bytes) as it logged them."""
    off = log_size()
    q("SELECT pg_log_backend_memory_contexts(%s)" % pid)
    # "...TopMemoryContext: 1322952 total in 6 blocks; 5000 free (10 chunks); 1317952 used"
    # "...Grand total: 24485776 bytes in 709 blocks; 7199976 free (317 chunks); 17285800 used"
    top = total = None
    for _ in range(40):
        time.sleep(0.25)
        text = log_since(off)
        for line in text.splitlines():
            if ("TopMemoryContext:" in line and top is None) or "Grand total:" in line:
                try:
                    used = int(line.rsplit(";", 1)[1].split()[0])
                except (IndexError, ValueError):
                    continue
                if "Grand total:" in line:
                    total = used
                else:
                    top = used
        if total is not None:
            break
    return top, total


# ---------------------------------------------------------------- statistics

def pct(values, p):
    if not values:
        return None
    v = sorted(values)
    return v[min(len(v) - 1, int(len(v) * p / 100.0))]


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def sample_lags(rows, every_us):
    """Schedule lag of each probe from the samples alone.

    The worker starts dependency d's probes at due_k + lag with due_k =
    phase_d + k * every, and stores `at` = the start.  So (at mod every) -
    phase_d is the lag.  phase_d is taken as the start of the largest
    circular gap in d's (at mod every) values: the lag measured is relative
    to d's earliest-in-phase probe, a lower bound off by that probe's own
    lag (milliseconds at most when the worker keeps up)."""
    by_dep = {}
    for dep, at in rows:
        by_dep.setdefault(dep, []).append(at)
    lags = {}
    for dep, ats in by_dep.items():
        if len(ats) < 3:
            continue
        e = every_us.get(dep, 1000000)
        r = sorted(a % e for a in ats)
        best, phase = -1, r[0]
        for i in range(len(r)):
            gap = r[i] - r[i - 1] if i > 0 else r[0] + e - r[-1]
            if gap > best:
                best, phase = gap, r[i]
        lags[dep] = [((a % e) - phase) % e / 1000.0 for a in ats]   # ms
    return lags


def lag_summary(lags_by_dep, deps):
    all_lags = [x for d in deps for x in lags_by_dep.get(d, [])]
    if not all_lags:
        return {}
    return {
        "n": len(all_lags),
        "p50_ms": pct(all_lags, 50),
        "p99_ms": pct(all_lags, 99),
        "max_ms": max(all_lags),
        "within_100ms": sum(1 for x in all_lags if x < 100.0) / len(all_lags),
    }


# ---------------------------------------------------------------- one measured window

def measure(scenario, run, seconds, hung=frozenset(), pgbench=None):
    """Watch the worker for `seconds` (or while pgbench runs)."""
    pid = worker_pid()
    listener = LISTENER_PID
    off = log_size()
    sess = Session()
    ndeps = int(q1("SELECT count(*) FROM depwatch.dependency WHERE enabled AND probe = 'tcp'"))
    enabled = [int(r[0]) for r in q("SELECT id FROM depwatch.dependency WHERE enabled AND probe = 'tcp'")]
    every_us = {int(r[0]): int(r[1]) for r in
                q("SELECT id, (extract(epoch FROM every) * 1000000)::int8 FROM depwatch.dependency")}

    rss0 = proc_rss_kb(pid)
    cpu0 = proc_cpu(pid)
    lcpu0 = proc_cpu(listener) if listener else None
    t0 = time.time()
    proc = subprocess.Popen(pgbench, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True) if pgbench else None
    per_second = []
    errors = {}
    nxt = t0 + 1.0
    while True:
        now = time.time()
        if proc is None and now >= t0 + seconds:
            break
        if proc is not None and proc.poll() is not None:
            break
        time.sleep(max(0.0, nxt - now))
        nxt += 1.0
        rows = sess.query(
            "SELECT pid, dependencies, in_flight, probes_per_second,"
            "       extract(epoch FROM lag_p50) * 1000, extract(epoch FROM lag_p99) * 1000,"
            "       coalesce(extract(epoch FROM last_error_at)::text, ''),"
            "       coalesce(replace(replace(last_error, E'\\n', ' '), E'\\t', ' '), '')"
            "  FROM depwatch.worker_status WHERE database = '%s'" % DB)
        if not rows:
            per_second.append({"t": time.time() - t0, "missing": True})
            continue
        r = rows[0]
        per_second.append({"t": time.time() - t0, "pid": r[0], "deps": int(r[1]), "fds": proc_fds(pid),
                           "in_flight": int(r[2]), "pps": float(r[3]),
                           "p50": float(r[4] or 0), "p99": float(r[5] or 0)})
        if r[7]:
            errors.setdefault(r[7], r[6])
    t1 = time.time()
    cpu1 = proc_cpu(pid)
    rss1 = proc_rss_kb(pid)
    lcpu1 = proc_cpu(listener) if listener else None
    sess.close()
    pgbench_out = proc.communicate()[0] if proc else None

    # samples in the window: wait for the last in-flight probes and tick
    time.sleep(1.5)
    rows = q("SELECT dependency_id, (extract(epoch FROM at) * 1000000)::int8, ok"
             "  FROM depwatch.sample"
             " WHERE at >= to_timestamp(%.6f) AND at < to_timestamp(%.6f)" % (t0, t1))
    samples = [(int(r[0]), int(r[1])) for r in rows]
    failures = {}
    for r in q("SELECT detail, count(*) FROM depwatch.sample"
               " WHERE at >= to_timestamp(%.6f) AND at < to_timestamp(%.6f) AND NOT ok"
               " GROUP BY 1 ORDER BY 2 DESC" % (t0, t1)):
        failures[r[0]] = int(r[1])
    outages = {}
    for r in q("SELECT kind, count(*), count(DISTINCT dependency) FROM depwatch.outages"
               " WHERE started_at >= to_timestamp(%.6f) AND started_at < to_timestamp(%.6f)"
               " GROUP BY 1" % (t0, t1)):
        outages[r[0]] = {"outages": int(r[1]), "dependencies": int(r[2])}
    oks = sum(1 for r in rows if r[2] == "t")
    elapsed = t1 - t0
    lags = sample_lags(samples, every_us)
    # coverage: how many of its due probes each enabled dependency got
    per_dep = {}
    for dep, _ in samples:
        per_dep[dep] = per_dep.get(dep, 0) + 1
    cov = sorted(per_dep.get(d, 0) / (elapsed * 1e6 / every_us.get(d, 1e6)) for d in enabled)
    by_fifth = []
    ordered = sorted(enabled)
    for k in range(5):
        part = ordered[k * len(ordered) // 5:(k + 1) * len(ordered) // 5]
        if part:
            by_fifth.append(sum(per_dep.get(d, 0) for d in part) / (elapsed * len(part)))
    healthy = [d for d in enabled if d not in hung]
    hung_deps = [d for d in enabled if d in hung]
    logtext = log_since(off)
    loglines = [l for l in logtext.splitlines()
                if any(k in l for k in ("WARNING", "ERROR", "FATAL", "PANIC"))
                or ("depwatch" in l and "LOG" in l)]
    live = [s for s in per_second if not s.get("missing")]
    # the first second reports the second before the window: drop it
    live = live[1:] if len(live) > 1 else live
    pid_changes = sorted({s["pid"] for s in live})
    res = {
        "scenario": scenario, "run": run, "elapsed_s": elapsed, "dependencies": ndeps,
        "hung": len(hung_deps), "worker_pid": pid, "worker_pids_seen": pid_changes,
        "samples": len(samples), "samples_ok": oks,
        "samples_per_s": len(samples) / elapsed,
        "expected_per_s": sum(1e6 / every_us.get(d, 1e6) for d in enabled),
        "ws_pps_median": med([s["pps"] for s in live]),
        "ws_p50_median_ms": med([s["p50"] for s in live]),
        "ws_p99_median_ms": med([s["p99"] for s in live]),
        "ws_p99_max_ms": max([s["p99"] for s in live], default=None),
        "ws_share_p99_lt_100": (sum(1 for s in live if s["p99"] < 100.0) / len(live)) if live else None,
        "ws_in_flight_max": max([s["in_flight"] for s in live], default=None),
        "fds_max": max([s["fds"] or 0 for s in live], default=None),
        "nofile": proc_nofile(pid),
        "failures": failures,
        "outages_opened": outages,
        "ws_seconds": len(live),
        "ws_missing_seconds": sum(1 for s in per_second if s.get("missing")),
        "cpu_pct": 100.0 * (cpu1 - cpu0) / elapsed,
        "listener_cpu_pct": (100.0 * (lcpu1 - lcpu0) / elapsed) if listener else None,
        "rss_start_kb": rss0, "rss_end_kb": rss1,
        "deps_without_sample": sum(1 for d in enabled if per_dep.get(d, 0) == 0),
        "deps_below_90pct": sum(1 for c in cov if c < 0.9),
        "coverage_by_id_fifth": by_fifth,
        "lag_all": lag_summary(lags, enabled),
        "lag_healthy": lag_summary(lags, healthy),
        "lag_hung": lag_summary(lags, hung_deps),
        "last_errors": errors,
        "log_lines": len(loglines), "log_sample": loglines[:8],
        "per_second": per_second,
    }
    if pgbench_out is not None:
        res["pgbench"] = parse_pgbench(pgbench_out)
        res["pgbench_output"] = pgbench_out[-2000:]
    os.makedirs(RAW, exist_ok=True)
    with open(os.path.join(RAW, "s%s_run%s.json" % (scenario, run)), "w") as f:
        json.dump(res, f, indent=1)
    la = res["lag_all"]
    log("scenario %s run %s: %.0f samples/s (ws %.0f), ws lag p50 %.1f ms p99 med %.1f max %.1f ms, "
        "%.0f%% s p99<100ms, samples lag p99 %.1f ms, %.2f%% <100ms, cpu %.1f%%, rss %s->%s kB, errors %d, log %d"
        % (scenario, run, res["samples_per_s"], res["ws_pps_median"] or 0, res["ws_p50_median_ms"] or 0,
           res["ws_p99_median_ms"] or 0, res["ws_p99_max_ms"] or 0,
           100 * (res["ws_share_p99_lt_100"] or 0), la.get("p99_ms") or 0, 100 * (la.get("within_100ms") or 0),
           res["cpu_pct"], rss0, rss1, len(errors), len(loglines)))
    return res


def parse_pgbench(out):
    r = {}
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("tps =") and "without initial connection" in line:
            r["tps"] = float(line.split("=")[1].split()[0])
        elif line.startswith("number of transactions actually processed:"):
            r["transactions"] = int(line.split(":")[1].split("/")[0].strip())
        elif line.startswith("number of failed transactions:"):
            r["failed"] = int(line.split(":")[1].split()[0])
        elif line.startswith("latency average ="):
            r["latency_avg_ms"] = float(line.split("=")[1].split()[0])
    return r


# ---------------------------------------------------------------- configuration

# The dependencies are set by an admin who is no superuser, so that every
# probe goes through the outbound checks of SPEC section 6 (run.sh allows
# loopback, where the listeners are, in depwatch.allowed_addresses).
AS_ADMIN = "SET ROLE bench_admin; "


def ensure_dependencies(n):
    """Dependencies p00001..pNNNNN, tcp to 127.0.0.1:20000+(i-1) mod 5000 at 1 s
    (beyond 5,000, two dependencies share a healthy listener)."""
    have = int(q1("SELECT count(*) FROM depwatch.dependency"))
    if have < n:
        log("adding dependencies %d..%d" % (have + 1, n))
        q(AS_ADMIN + "SELECT count(depwatch.add_dependency(format('p%%s', lpad(i::text, 5, '0')), 'other', 'tcp',"
          "       format('127.0.0.1:%%s', %d + (i - 1) %% %d), '1 s', '500 ms'))"
          "  FROM generate_series(%d, %d) i" % (HEALTHY_BASE, HEALTHY_COUNT, have + 1, n))


def set_enabled(upto):
    """Enable p00001..p<upto>, disable the rest (one statement: one wake-up)."""
    q(AS_ADMIN + "SELECT count(depwatch.alter_dependency(name, enabled => (substr(name, 2)::int <= %d)))"
      "  FROM depwatch.dependency WHERE enabled <> (substr(name, 2)::int <= %d)" % (upto, upto))


def set_hung(ids_to_port):
    """Point the given dependencies (i -> port) elsewhere, in one statement."""
    if not ids_to_port:
        return
    values = ",".join("(%d, %d)" % (i, p) for i, p in ids_to_port.items())
    q(AS_ADMIN + "SELECT count(depwatch.alter_dependency(d.name, target => format('127.0.0.1:%%s', v.port)))"
      "  FROM depwatch.dependency d JOIN (VALUES %s) v(i, port) ON substr(d.name, 2)::int = v.i" % values)


def dep_ids_by_index(indexes):
    rows = q("SELECT substr(name, 2)::int, id FROM depwatch.dependency")
    m = {int(a): int(b) for a, b in rows}
    return frozenset(m[i] for i in indexes)


def wait_steady(expect_deps, seconds):
    for _ in range(30):
        r = q("SELECT dependencies FROM depwatch.worker_status WHERE database = '%s'" % DB)
        if r and int(r[0][0]) == expect_deps:
            break
        time.sleep(1)
    log("warming up %d s with %d dependencies" % (seconds, expect_deps))
    time.sleep(seconds)


def scenario_header(n, text):
    log("=== scenario %s: %s" % (n, text))


def mem_snapshot(tag):
    pid = worker_pid()
    top, total = memory_contexts(pid)
    probes = int(q1("SELECT count(*) FROM depwatch.sample"))
    snap = {"tag": tag, "pid": pid, "rss_kb": proc_rss_kb(pid), "top_memory_context": top,
            "grand_total": total, "samples_stored": probes, "time": time.time()}
    path = os.path.join(RAW, "memory.json")
    data = []
    if os.path.exists(path):
        with open(path) as f:
            data = json.load(f)
    data.append(snap)
    with open(path, "w") as f:
        json.dump(data, f, indent=1)
    log("memory %s: pid %s rss %s kB, TopMemoryContext %s B, grand total %s B" % (tag, pid, snap["rss_kb"], top, total))


PGBENCH_SCRIPT = """\\set a random(1, 1000000)
\\set b random(1, 1000000)
BEGIN;
UPDATE accounts SET balance = balance - 1 WHERE id = :a;
UPDATE accounts SET balance = balance + 1 WHERE id = :b;
INSERT INTO transfers (src, dst, amount) VALUES (:a, :b, 1);
END;
"""


def scenarios():
    os.makedirs(RAW, exist_ok=True)
    if "1" in SCENARIOS or "2" in SCENARIOS:
        ensure_dependencies(1000)
        set_enabled(1000)
        set_hung({i: HEALTHY_BASE + i - 1 for i in range(1, 1001)})
        wait_steady(1000, WARMUP)
        mem_snapshot("start")
    if "1" in SCENARIOS:
        scenario_header(1, "1,000 tcp dependencies, every 1 s, timeout 500 ms, all healthy")
        for run in range(1, RUNS + 1):
            measure(1, run, DURATION)
        mem_snapshot("after scenario 1")
    if "2" in SCENARIOS:
        scenario_header(2, "1,000 tcp dependencies, 10 % hung (SYN never answered)")
        hung_idx = [i for i in range(1, 1001) if i % 10 == 0]
        set_hung({i: HUNG_BASE + k for k, i in enumerate(hung_idx)})
        hung = dep_ids_by_index(hung_idx)
        wait_steady(1000, WARMUP)
        for run in range(1, RUNS + 1):
            measure(2, run, DURATION, hung=hung)
        set_hung({i: HEALTHY_BASE + i - 1 for i in hung_idx})
        mem_snapshot("after scenario 2")
    if "3" in SCENARIOS:
        scenario_header(3, "5,000 tcp dependencies, every 1 s")
        ensure_dependencies(5000)
        set_enabled(5000)
        wait_steady(5000, WARMUP + 5)
        for run in range(1, RUNS + 1):
            measure(3, run, DURATION)
        mem_snapshot("after scenario 3")
    if "5" in SCENARIOS:
        scenario_header(5, "10,000 tcp dependencies, every 1 s, with alerting on")
        # alerting on: a webhook route (to a receiver that is never called
        # while everything is up) and the worker's alert tick and sender
        q("SELECT depwatch.add_alert_route('bench', 'webhook', 'http://127.0.0.1:%d/bench')" % ALERT_RECEIVER_PORT)
        ensure_dependencies(10000)
        set_enabled(10000)
        wait_steady(10000, WARMUP + 10)
        for run in range(1, RUNS + 1):
            measure(5, run, DURATION)
        mem_snapshot("after scenario 5")
        q("SELECT depwatch.drop_alert_route('bench')")
        set_enabled(5000)
    if "4" in SCENARIOS:
        scenario_header(4, "pgbench transfers with and without 500 dependencies probed")
        ensure_dependencies(500)
        set_enabled(0)
        log("creating the pgbench tables")
        q("DROP TABLE IF EXISTS accounts, transfers")
        q("CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL) WITH (fillfactor = 90)")
        q("INSERT INTO accounts SELECT i, 1000000 FROM generate_series(1, 1000000) i")
        q("CREATE TABLE transfers (id bigserial PRIMARY KEY, src int NOT NULL, dst int NOT NULL,"
          " amount bigint NOT NULL, at timestamptz NOT NULL DEFAULT now())")
        q("VACUUM ANALYZE accounts")
        script = os.path.join(RAW, "transfer.sql")
        with open(script, "w") as f:
            f.write(PGBENCH_SCRIPT)
        clients = max(4, 4 * os.cpu_count())
        pgbench = ["pgbench", "-h", "127.0.0.1", "-p", PORT, "-U", "postgres", "-n", "-M", "prepared",
                   "-c", str(clients), "-j", str(os.cpu_count()), "-T", str(PGBENCH_DURATION),
                   "--max-tries", "10", "-f", script, DB]
        with open(os.path.join(RAW, "pgbench_cmd.json"), "w") as f:
            json.dump(pgbench, f)
        # short untimed warm-up of the tables and the client
        subprocess.run(pgbench[:pgbench.index("-T") + 1] + ["10"] + pgbench[pgbench.index("-T") + 2:],
                       capture_output=True)
        order = []                                           # A B B A A B ...: balances drift
        for i in range(RUNS):
            order += ["off", "on"] if i % 2 == 0 else ["on", "off"]
        counts = {"off": 0, "on": 0}
        for mode in order:
            counts[mode] += 1
            set_enabled(500 if mode == "on" else 0)
            # every run starts from the same state: no transfers, accounts vacuumed
            q("TRUNCATE transfers")
            q("VACUUM ANALYZE accounts")
            q("CHECKPOINT")
            wait_steady(500 if mode == "on" else 0, 5)
            log("pgbench %s run %d" % (mode, counts[mode]))
            res = measure("4" + mode, counts[mode], PGBENCH_DURATION, pgbench=pgbench)
            log("pgbench %s run %d: %s" % (mode, counts[mode], res.get("pgbench")))
        mem_snapshot("after scenario 4")
        set_enabled(0)


# ---------------------------------------------------------------- report

def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = "?"
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem = "%.1f GiB" % (int(line.split()[1]) / 1048576)
    kernel = os.uname().release
    pgv = subprocess.run(["pg_config", "--version"], capture_output=True, text=True).stdout.strip()
    curl = subprocess.run(["sh", "-c", "curl-config --version 2>/dev/null || dpkg-query -W -f='${Version}' libcurl4 2>/dev/null"],
                          capture_output=True, text=True).stdout.strip()
    return {"nproc": os.cpu_count(), "cpu": model, "ram": mem, "kernel": kernel,
            "postgres": pgv, "libcurl": curl}


def load(prefix):
    runs = []
    i = 1
    while True:
        p = os.path.join(RAW, "s%s_run%d.json" % (prefix, i))
        if not os.path.exists(p):
            break
        with open(p) as f:
            runs.append(json.load(f))
        i += 1
    return runs


def fmt(v, spec="%.1f"):
    return "–" if v is None else spec % v


def g(run, *path):
    v = run
    for k in path:
        if not isinstance(v, dict):
            return None
        v = v.get(k)
    return v


def report():
    m = machine()
    out = []
    w = out.append
    w("# depwatch probe worker: benchmark results\n")
    w("Generated by `bench/run.sh` on %s. Each figure is the median of %d runs unless it says otherwise.\n"
      % (time.strftime("%Y-%m-%d %H:%M %Z"), RUNS))
    w("## Machine\n")
    w("| nproc | CPU | RAM | kernel | PostgreSQL | libcurl |")
    w("|---|---|---|---|---|---|")
    w("| %s | %s | %s | %s | %s | %s |\n" % (m["nproc"], m["cpu"], m["ram"], m["kernel"], m["postgres"], m["libcurl"]))
    w("Windows: %d s per run for scenarios 1-3, %d s per pgbench run; the listeners (`bench/listeners.py`) "
      "and pgbench run on the same machine as the server.\n" % (DURATION, PGBENCH_DURATION))

    w("## Scenarios 1-3 and 5: the worker alone (5: with an alert route, the alert tick and sender)\n")
    w("probes/s: samples stored per second over the window (`depwatch.sample`), and the median of "
      "`worker_status.probes_per_second`. ws lag: `worker_status` sampled every second (median of its "
      "p50; median and max of its p99; share of seconds whose p99 < 100 ms). Sample lag: each probe's "
      "start (`sample.at`) against its dependency's schedule phase (see `sample_lags` in bench.py): "
      "p50, p99 and the share of probes that started within 100 ms. CPU: utime+stime of the worker "
      "over the window / elapsed time, in % of one core. RSS: VmRSS at the start of run 1 and at the "
      "end of the last run.\n")
    rows = [("1", "1,000 deps, all up"), ("2", "1,000 deps, 10 % hung"), ("3", "5,000 deps"),
            ("5", "10,000 deps, alerting on")]
    w("| scenario | deps | probes/s expected | probes/s (samples) | probes/s (ws) | ok % | ws lag p50 ms | ws lag p99 ms median / max | s with ws p99 < 100 ms | sample lag p50 / p99 ms | probes within 100 ms | worker CPU % | RSS start → end MB | last_error | log lines |")
    w("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    table = []
    for key, label in rows:
        runs = load(key)
        if not runs:
            continue
        lag = "lag_healthy" if key == "2" else "lag_all"
        r = {
            "label": label,
            "deps": runs[0]["dependencies"],
            "expected": med([x["expected_per_s"] for x in runs]),
            "pps": med([x["samples_per_s"] for x in runs]),
            "wspps": med([x["ws_pps_median"] for x in runs]),
            "ok": med([100.0 * x["samples_ok"] / max(1, x["samples"]) for x in runs]),
            "p50": med([x["ws_p50_median_ms"] for x in runs]),
            "p99m": med([x["ws_p99_median_ms"] for x in runs]),
            "p99x": med([x["ws_p99_max_ms"] for x in runs]),
            "p99xx": max([x["ws_p99_max_ms"] or 0 for x in runs]),
            "share": med([x["ws_share_p99_lt_100"] for x in runs]),
            "sp50": med([g(x, "lag_all", "p50_ms") for x in runs]),
            "sp99": med([g(x, "lag_all", "p99_ms") for x in runs]),
            "within": med([g(x, "lag_all", "within_100ms") for x in runs]),
            "cpu": med([x["cpu_pct"] for x in runs]),
            "rss0": runs[0]["rss_start_kb"], "rss1": runs[-1]["rss_end_kb"],
            "errors": sum(len(x["last_errors"]) for x in runs),
            "loglines": sum(x["log_lines"] for x in runs),
        }
        table.append((key, r, runs))
        w("| %s %s | %d | %s | %s | %s | %s | %s | %s / %s (max of all runs %s) | %s %% | %s / %s | %s %% | %s | %.1f → %.1f | %d | %d |" % (
            key, label, r["deps"], fmt(r["expected"], "%.0f"), fmt(r["pps"], "%.0f"), fmt(r["wspps"], "%.0f"),
            fmt(r["ok"]), fmt(r["p50"]), fmt(r["p99m"]), fmt(r["p99x"]), fmt(r["p99xx"]),
            fmt(None if r["share"] is None else 100 * r["share"], "%.0f"),
            fmt(r["sp50"]), fmt(r["sp99"]), fmt(None if r["within"] is None else 100 * r["within"], "%.2f"),
            fmt(r["cpu"]), r["rss0"] / 1024, r["rss1"] / 1024, r["errors"], r["loglines"]))
    w("")
    runs2 = load("2")
    if runs2:
        w("### Scenario 2: healthy and hung dependencies apart (lag from the samples)\n")
        w("| group | deps | lag p50 ms | lag p99 ms | lag max ms | probes within 100 ms |")
        w("|---|---|---|---|---|---|")
        runs1 = load("1")
        if runs1:
            w("| scenario 1, all (baseline) | %d | %s | %s | %s | %s %% |" % (
                runs1[0]["dependencies"], fmt(med([g(x, "lag_all", "p50_ms") for x in runs1])),
                fmt(med([g(x, "lag_all", "p99_ms") for x in runs1])),
                fmt(med([g(x, "lag_all", "max_ms") for x in runs1])),
                fmt(100 * med([g(x, "lag_all", "within_100ms") for x in runs1]), "%.2f")))
        for grp, name, n in (("lag_healthy", "scenario 2, healthy 90 %", runs2[0]["dependencies"] - runs2[0]["hung"]),
                             ("lag_hung", "scenario 2, hung 10 %", runs2[0]["hung"])):
            w("| %s | %d | %s | %s | %s | %s %% |" % (
                name, n, fmt(med([g(x, grp, "p50_ms") for x in runs2])),
                fmt(med([g(x, grp, "p99_ms") for x in runs2])),
                fmt(med([g(x, grp, "max_ms") for x in runs2])),
                fmt(100 * (med([g(x, grp, "within_100ms") for x in runs2]) or 0), "%.2f")))
        w("")

    w("### Every run\n")
    w("| run | elapsed s | samples/s | ok % | ws pps | ws p50 ms | ws p99 ms med / max | s p99<100 | sample lag p99 ms | within 100 ms | CPU % | listener CPU % | RSS start → end kB | in_flight max |")
    w("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for key in ("1", "2", "3", "5", "4off", "4on"):
        for x in load(key):
            w("| %s/%d | %.1f | %.0f | %.1f | %s | %s | %s / %s | %s %% | %s | %s %% | %.1f | %s | %s → %s | %s |" % (
                key, x["run"], x["elapsed_s"], x["samples_per_s"], 100.0 * x["samples_ok"] / max(1, x["samples"]),
                fmt(x["ws_pps_median"], "%.0f"), fmt(x["ws_p50_median_ms"]), fmt(x["ws_p99_median_ms"]),
                fmt(x["ws_p99_max_ms"]),
                fmt(None if x["ws_share_p99_lt_100"] is None else 100 * x["ws_share_p99_lt_100"], "%.0f"),
                fmt(g(x, "lag_all", "p99_ms")),
                fmt(None if g(x, "lag_all", "within_100ms") is None else 100 * g(x, "lag_all", "within_100ms"), "%.2f"),
                x["cpu_pct"], fmt(x["listener_cpu_pct"]), x["rss_start_kb"], x["rss_end_kb"],
                x["ws_in_flight_max"]))
    w("")

    off, on = load("4off"), load("4on")
    if off and on:
        w("## Scenario 4: pgbench transfers with and without 500 dependencies probed at 1 s\n")
        cmd = json.load(open(os.path.join(RAW, "pgbench_cmd.json")))
        w("`%s` (script: two UPDATEs of `accounts` (1,000,000 rows) and an INSERT into `transfers` "
          "in one transaction), alternating off/on/on/off/off/on; off = every dependency disabled (the "
          "worker idles with none), on = 500 tcp dependencies at 1 s, all up.\n" % " ".join(cmd))
        w("| mode | tps per run | tps median | failed | worker CPU % | ws lag p99 ms median / max |")
        w("|---|---|---|---|---|---|")
        for name, runs in (("without probing", off), ("with 500 deps probed", on)):
            w("| %s | %s | %.0f | %s | %s | %s / %s |" % (
                name, ", ".join("%.0f" % g(x, "pgbench", "tps") for x in runs),
                med([g(x, "pgbench", "tps") for x in runs]),
                sum(g(x, "pgbench", "failed") or 0 for x in runs),
                fmt(med([x["cpu_pct"] for x in runs])),
                fmt(med([x["ws_p99_median_ms"] for x in runs])), fmt(max(x["ws_p99_max_ms"] or 0 for x in runs))))
        t_off = med([g(x, "pgbench", "tps") for x in off])
        t_on = med([g(x, "pgbench", "tps") for x in on])
        drop = 100.0 * (t_off - t_on) / t_off
        pair = [100.0 * (g(a, "pgbench", "tps") - g(b, "pgbench", "tps")) / g(a, "pgbench", "tps")
                for a, b in zip(off, on)]
        w("\n**Throughput drop with probing: %.1f %%** (median tps %.0f → %.0f; per run pair: %s; target ≤ 3 %%).\n"
          % (drop, t_off, t_on, ", ".join("%.1f %%" % p for p in pair)))

    mp = os.path.join(RAW, "memory.json")
    if os.path.exists(mp):
        w("## Worker memory\n")
        w("`pg_log_backend_memory_contexts()` of the worker at each point: bytes *used* in TopMemoryContext "
          "itself and in all contexts, with VmRSS.\n")
        w("| when | pid | VmRSS kB | TopMemoryContext used B | all contexts used B | samples stored since the row before | TopMemoryContext growth per sample B |")
        w("|---|---|---|---|---|---|---|")
        prev = None
        for s in json.load(open(mp)):
            per = dn = None
            if prev and prev["pid"] == s["pid"] and s["top_memory_context"] and prev["top_memory_context"]:
                dn = s["samples_stored"] - prev["samples_stored"]
                per = (s["top_memory_context"] - prev["top_memory_context"]) / dn if dn else None
            w("| %s | %s | %s | %s | %s | %s | %s |" % (s["tag"], s["pid"], s["rss_kb"], s["top_memory_context"],
                                                     s["grand_total"], fmt(dn, "%d"), fmt(per, "%.0f")))
            prev = s
        w("")

    errs = {}
    logs = []
    w("## Failed probes, outages opened and coverage inside the windows\n")
    w("Coverage: probes per dependency per second (1.00 = every scheduled probe ran), for the enabled "
      "dependencies in id order split in fifths (the worker scans them in id order); dependencies that got "
      "no probe at all, or fewer than 90 % of theirs, in the window. All peers were up except the hung 10 % "
      "of scenario 2, so any other failure or outage is a false one.\n")
    w("| run | failed probes by detail | outages opened (kind: outages / dependencies) | worker fds max (soft limit) | coverage by id fifth | deps with no probe / < 90 % |")
    w("|---|---|---|---|---|---|")
    for key in ("1", "2", "3", "5", "4off", "4on"):
        for x in load(key):
            w("| %s/%d | %s | %s | %s (%s) | %s | %s / %s |" % (
                key, x["run"], ", ".join("%s: %d" % kv for kv in x.get("failures", {}).items()) or "none",
                ", ".join("%s: %d / %d" % (k, v["outages"], v["dependencies"]) for k, v in x.get("outages_opened", {}).items()) or "none",
                x.get("fds_max"), (x.get("nofile") or ["?"])[0],
                " ".join("%.2f" % c for c in x.get("coverage_by_id_fifth", [])) or "–",
                x.get("deps_without_sample"), x.get("deps_below_90pct")))
    w("")
    for key in ("1", "2", "3", "5", "4off", "4on"):
        for x in load(key):
            for e, at in x["last_errors"].items():
                errs.setdefault(e, "%s/%d" % (key, x["run"]))
            logs.extend(x["log_sample"])
    w("## Errors seen\n")
    if errs:
        for e, where in errs.items():
            w("- `worker_status.last_error` (first seen in run %s): %s" % (where, e))
    else:
        w("- `worker_status.last_error`: none in any run.")
    if logs:
        w("- server log lines during the windows (WARNING/ERROR/depwatch), first ones:")
        w("```")
        for l in logs[:15]:
            w(l[:300])
        w("```")
    else:
        w("- server log: no WARNING, ERROR or depwatch line during the windows.")
    w("")
    text = "\n".join(out)
    with open(RESULTS, "w") as f:
        f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else "scenarios"
    if cmd == "scenarios":
        scenarios()
    elif cmd == "report":
        report()
    else:
        sys.exit("usage: bench.py scenarios|report")
