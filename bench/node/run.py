"""`make bench-node`: raftengine-node next to redis-server, measured in one run.

A 3-node raftengine-node cluster (three processes, loopback, each with its own data dir under
.build/bench-node, default node settings) against one redis-server with `appendonly yes` and
`appendfsync always` (its own dir, `--save ''`): a single durable node, what a Redis user
would run instead. redis-benchmark drives the raftengine leader and redis in turn, alternating
within each round (three rounds by default), 50 clients, 64-byte values, SET and GET at -P 1
and -P 16, the same keyspace randomisation for both; the table shows medians and the ratio
raftengine/redis. Every process shares this machine's cores (two on the VM the issue's table
came from), so only ratios measured in the same run mean anything.

    python3 bench/node/run.py                    # what `make bench-node` runs
    python3 bench/node/run.py --rounds 1 --tests "SET -P16"
"""

import argparse
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
WORK = os.path.join(ROOT, ".build", "bench-node")
TICK = os.sysconf("SC_CLK_TCK")

# (name, redis-benchmark -t, pipeline)
ALL_TESTS = [("SET -P1", "set", 1), ("GET -P1", "get", 1), ("SET -P16", "set", 16), ("GET -P16", "get", 16)]


def log(msg=""):
    print(msg, flush=True)


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


# --- a minimal RESP client (status queries only) ---------------------------------------------

def resp_read(f):
    line = f.readline()
    if not line:
        raise ConnectionError("closed")
    t, body = line[:1], line[1:-2]
    if t in (b"+", b"-"):
        return body.decode() if t == b"+" else RuntimeError(body.decode())
    if t == b":":
        return int(body)
    if t == b"$":
        n = int(body)
        if n < 0:
            return None
        data = f.read(n + 2)[:-2]
        return data.decode(errors="replace")
    if t == b"*":
        n = int(body)
        return None if n < 0 else [resp_read(f) for _ in range(n)]
    raise ValueError(f"unexpected reply {line!r}")


def command(port, *args, timeout=2.0):
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        out = b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a.encode()), a.encode()) for a in args)
        s.sendall(out)
        return resp_read(s.makefile("rb"))


def raft_status(port, timeout=2.0):
    r = command(port, "RAFT.STATUS", timeout=timeout)
    return dict(zip(r[0::2], r[1::2])) if isinstance(r, list) else {}


# --- CPU accounting ------------------------------------------------------------------------

def proc_cpu(pid):
    """CPU seconds (user + system, all threads) of a process so far."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK
    except (OSError, IndexError, ValueError):
        return 0.0


def machine_busy():
    """CPU seconds the whole machine has been busy (every core, every process)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (sum(v[:8]) - v[3] - v[4]) / TICK


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


# --- the systems ---------------------------------------------------------------------------

class Cluster:
    """Three raftengine-node processes on loopback."""

    def __init__(self, binary, root):
        self.binary, self.root = binary, root
        raft, client = free_ports(3), free_ports(3)
        self.ids = ["n1", "n2", "n3"]
        self.raft = dict(zip(self.ids, raft))
        self.client = dict(zip(self.ids, client))
        self.procs = {}

    def start(self):
        for i in self.ids:
            d = os.path.join(self.root, i)
            os.makedirs(d)
            args = [self.binary, "--id", i, "--data-dir", d, "--raft-addr", f"127.0.0.1:{self.raft[i]}",
                    "--client-addr", f"127.0.0.1:{self.client[i]}", "--log-level", "warn"]
            for p in self.ids:
                if p != i:
                    args += ["--peer", f"{p}=127.0.0.1:{self.raft[p]},127.0.0.1:{self.client[p]}"]
            self.procs[i] = subprocess.Popen(args, stdout=open(os.path.join(d, "node.log"), "w"),
                                             stderr=subprocess.STDOUT)

    def leader(self, timeout=30.0):
        """(id, client port, term) of the leader once one is elected and has applied its entry."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for i in self.ids:
                try:
                    st = raft_status(self.client[i])
                except (OSError, ConnectionError, ValueError):
                    continue
                if st.get("role") == "leader" and command(self.client[i], "SET", "bench:probe", "1") == "OK":
                    return i, self.client[i], int(st["term"])
            time.sleep(0.1)
        raise RuntimeError("no leader within %.0f s" % timeout)

    def pids(self):
        return {i: p.pid for i, p in self.procs.items()}

    def stop(self):
        for p in self.procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs.values():
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


class Redis:
    """One redis-server, durable as a Redis user would make it: AOF, fsync on every write."""

    def __init__(self, root):
        self.dir = os.path.join(root, "redis")
        os.makedirs(self.dir)
        self.port = free_ports(1)[0]
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir,
             "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--daemonize", "no",
             "--logfile", os.path.join(self.dir, "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if command(self.port, "PING") == "PONG":
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def version(self):
        out = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout
        return out.split()[2].removeprefix("v=") if out else "?"

    def config(self, key):
        r = command(self.port, "CONFIG", "GET", key)
        return r[1] if isinstance(r, list) and len(r) == 2 else "?"

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# --- one redis-benchmark run -----------------------------------------------------------------

def bench_run(port, test, pipeline, n, a, watch):
    """Runs redis-benchmark once; returns dict(rps, p50, cpu per watched process, others)."""
    cmd = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-c", str(a.clients), "-n", str(n),
           "-d", str(a.value_size), "-r", str(a.keyspace), "-P", str(pipeline), "-t", test, "--csv"]
    resource_children_delta()
    c0 = {k: proc_cpu(p) for k, p in watch.items()}
    m0, t0 = machine_busy(), time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = p.communicate()
    t1, m1 = time.monotonic(), machine_busy()
    c1 = {k: proc_cpu(p2) for k, p2 in watch.items()}
    wall = t1 - t0
    cpu = {k: (c1[k] - c0[k]) / wall for k in watch}
    bench_cpu = resource_children_delta()
    cpu["redis-benchmark"] = bench_cpu / wall
    ours = sum(cpu.values())
    rows = [line for line in out.decode().splitlines() if line.startswith('"') and not line.startswith('"test"')]
    if p.returncode != 0 or not rows:
        raise RuntimeError(f"redis-benchmark failed ({p.returncode}): {err.decode().strip()[:400]}")
    fields = [x.strip('"') for x in rows[0].split(",")]
    errors = err.decode().count("Error")
    return dict(rps=float(fields[1]), p50=float(fields[4]), cpu=cpu, others=max(0.0, (m1 - m0) / wall - ours),
                wall=wall, errors=errors)


_children_cpu = [0.0]


def resource_children_delta():
    """CPU seconds used by finished children (redis-benchmark) since the last call."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = r.ru_utime + r.ru_stime
    d = total - _children_cpu[0]
    _children_cpu[0] = total
    return d


# --- main ----------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=os.path.join(ROOT, ".build", "release", "raftengine-node"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--n-p1", type=int, default=50000, help="requests per -P 1 run")
    ap.add_argument("--n-p16", type=int, default=200000, help="requests per -P 16 run")
    ap.add_argument("--value-size", type=int, default=64)
    ap.add_argument("--keyspace", type=int, default=100000, help="redis-benchmark -r")
    ap.add_argument("--tests", default=",".join(t[0] for t in ALL_TESTS),
                    help="comma-separated, from: " + ", ".join(t[0] for t in ALL_TESTS))
    ap.add_argument("--only", choices=["raftengine", "redis"], help="run one system (profiling)")
    a = ap.parse_args()
    wanted = [t.strip() for t in a.tests.split(",")]
    tests = [t for t in ALL_TESTS if t[0] in wanted]
    if not tests:
        sys.exit(f"no known test in {a.tests!r}")

    if shutil.which("redis-server") is None or shutil.which("redis-benchmark") is None:
        sys.exit("redis-server and redis-benchmark are needed (make bench-node installs them)")
    # The cluster runs a copy taken now, so a rebuild from another shell cannot change it mid-run.
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    binary = os.path.join(WORK, "raftengine-node")
    shutil.copy2(a.binary, binary)
    built = time.strftime("%Y-%m-%d %H:%M", time.localtime(os.path.getmtime(a.binary)))
    head = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--", "Sources"],
                           capture_output=True, text=True).stdout.strip()

    cluster, redis = Cluster(binary, WORK), Redis(WORK)
    systems = [s for s in ("raftengine", "redis") if a.only in (None, s)]
    load_start = loadavg()
    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    try:
        cluster.start()
        redis.start()
        leader, lport, term0 = cluster.leader()
        log(f"bench-node {started}; {os.cpu_count()} cores; load average {load_start}")
        log(f"raftengine-node {os.path.relpath(a.binary, ROOT)} built {built} (HEAD {head}"
            f"{', Sources/ with uncommitted changes' if dirty else ''}): 3 processes on loopback, "
            f"leader {leader} (client port {lport}, term {term0}), default settings, data under "
            f"{os.path.relpath(WORK, ROOT)}")
        log(f"redis-server {redis.version()}: appendonly {redis.config('appendonly')}, appendfsync "
            f"{redis.config('appendfsync')}, save '{redis.config('save')}', port {redis.port}")
        log(f"redis-benchmark: -c {a.clients} -d {a.value_size} -r {a.keyspace}, -n {a.n_p1} at -P 1 and "
            f"{a.n_p16} at -P 16; rounds {a.rounds}, the two systems alternating")
        node_pids = cluster.pids()
        watch_re = {"leader": node_pids[leader]}
        for i, p in node_pids.items():
            if i != leader:
                watch_re[f"follower {i}"] = p
        watch_redis = {"redis-server": redis.proc.pid}
        ports = {"raftengine": lport, "redis": redis.port}
        watches = {"raftengine": watch_re, "redis": watch_redis}

        # Both start from the same keyspace filled, so GETs find values (untimed).
        for s in systems:
            bench_run(ports[s], "set", 16, a.n_p16, a, watches[s])
        log("prefilled both keyspaces with one SET -P 16 run each (not counted)")
        log()

        results = {(t[0], s): [] for t in tests for s in systems}
        for r in range(a.rounds):
            for k, (name, t, pl) in enumerate(tests):
                order = systems if (r + k) % 2 == 0 else systems[::-1]
                for s in order:
                    n = a.n_p1 if pl == 1 else a.n_p16
                    res = bench_run(ports[s], t, pl, n, a, watches[s])
                    note = ""
                    if s == "raftengine":
                        st = raft_status(lport)
                        if st.get("role") != "leader" or int(st.get("term", 0)) != term0:
                            note = f"  LEADER CHANGED (role {st.get('role')}, term {st.get('term')})"
                    if res["errors"]:
                        note += f"  {res['errors']} error lines from redis-benchmark"
                    cpu = ", ".join(f"{k2} {v:.2f}" for k2, v in res["cpu"].items())
                    log(f"round {r + 1} {name:9} {s:10} {res['rps']:>10,.0f}/s  p50 {res['p50']:6.3f} ms  "
                        f"cores: {cpu}, others {res['others']:.2f}{note}")
                    results[(name, s)].append(res)
        load_end = loadavg()
        sizes = {s: command(ports[s], "DBSIZE") for s in systems}
    finally:
        cluster.stop()
        redis.stop()

    med = {k: statistics.median(x["rps"] for x in v) for k, v in results.items()}
    p50 = {k: statistics.median(x["p50"] for x in v) for k, v in results.items()}
    others = [x["others"] for v in results.values() for x in v]
    log()
    log(f"Medians of {a.rounds} rounds (requests/s, p50 latency); 3-node raftengine-node cluster vs one "
        f"redis-server (appendfsync always), all on this {os.cpu_count()}-core machine:")
    log()
    log("| test | raftengine-node | redis AOF always | ratio | rounds (raftengine / redis) |")
    log("|---|---|---|---|---|")
    for name, _, _ in tests:
        ours = med.get((name, "raftengine"))
        theirs = med.get((name, "redis"))
        ratio = f"{ours / theirs:.2f}" if ours and theirs else "-"
        spread = " / ".join(
            "–".join(f"{v:,.0f}" for v in (min(x["rps"] for x in results[(name, s)]),
                                            max(x["rps"] for x in results[(name, s)])))
            for s in systems)
        cell = lambda s: (f"{med[(name, s)]:,.0f}/s (p50 {p50[(name, s)]:.2f} ms)" if (name, s) in med else "-")
        log(f"| {name} | {cell('raftengine')} | {cell('redis')} | {ratio} | {spread} |")
    log()
    log(f"load average: {load_start} at the start, {load_end} at the end; CPU of other processes during "
        f"the runs: median {statistics.median(others):.2f} cores, max {max(others):.2f}")
    log("keys at the end: " + ", ".join(f"{s} {sizes[s]}" for s in systems))
    log()
    for name, _, _ in tests:
        if ("raftengine" in systems and "redis" in systems):
            ours, theirs = med[(name, "raftengine")], med[(name, "redis")]
            log(f"node: {name} {ours:.0f}/s, redis {theirs:.0f}/s, ratio {ours / theirs:.2f}")


if __name__ == "__main__":
    main()
