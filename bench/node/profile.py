"""Profiles the raftengine-node leader's request path under redis-benchmark.

    python3 bench/node/profile.py callgrind --test set --pipeline 16 -n 20000
    python3 bench/node/profile.py perf --test get --pipeline 16 -n 200000
    python3 bench/node/profile.py callgrind --snapshots 2 --prefill 200000

callgrind: n1 runs under valgrind --tool=callgrind (instrumentation off until the benchmark
starts, so start-up and the election are not counted) and is made leader (RAFT.TRANSFER if
another node won); the election timeout is raised so the slowed leader keeps its term. The
result is instructions (Ir) per request, repeatable between two builds of our own code, and
the top functions by inclusive and self cost. `--snapshots N` counts N RAFT.SNAPSHOTs instead of
a benchmark (the first after the prefill, the others each after 20,000 more SETs): Ir per
snapshot and the keys it held. perf: the cluster runs at full speed and
`perf record -g` samples the leader (user and kernel) during the benchmark.
Output under .build/bench-node/profile/.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from run import ROOT, Cluster, command, log, raft_status  # noqa: E402

OUT = os.path.join(ROOT, ".build", "bench-node", "profile")


class ProfiledCluster(Cluster):
    def __init__(self, binary, root, wrap_n1=None, extra=(), profiled="n1"):
        super().__init__(binary, root)
        self.wrap_n1, self.extra, self.profiled = wrap_n1 or [], list(extra), profiled

    def start(self):
        for i in self.ids:
            d = os.path.join(self.root, i)
            os.makedirs(d)
            args = [self.binary, "--id", i, "--data-dir", d, "--raft-addr", f"127.0.0.1:{self.raft[i]}",
                    "--client-addr", f"127.0.0.1:{self.client[i]}", "--log-level", "warn", *self.extra]
            for p in self.ids:
                if p != i:
                    args += ["--peer", f"{p}=127.0.0.1:{self.raft[p]},127.0.0.1:{self.client[p]}"]
            if i == self.profiled:
                args = self.wrap_n1 + args
            self.procs[i] = subprocess.Popen(args, stdout=open(os.path.join(d, "node.log"), "w"),
                                             stderr=subprocess.STDOUT)

    def make_n1_leader(self, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                leader, port, _ = self.leader(timeout=60)
            except RuntimeError:
                continue
            if leader == "n1":
                return port
            try:
                command(port, "RAFT.TRANSFER", "n1", timeout=10)
            except OSError:
                pass
            time.sleep(2)
        raise RuntimeError("n1 did not become leader")


def wait_applied(cluster, leader_port, nid, timeout=600):
    """Waits until node nid has applied everything the leader has committed."""
    target = raft_status(leader_port).get("commit_index")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if raft_status(cluster.client[nid], timeout=30).get("applied_index") == target:
                return
        except OSError:
            pass
        time.sleep(0.5)


def bench(port, a, n=None):
    cmd = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-c", str(a.clients), "-n", str(n or a.n),
           "-d", "64", "-r", "100000", "-P", str(a.pipeline), "-t", a.test, "--csv"]
    out = subprocess.run(cmd, capture_output=True, text=True)
    rows = [line for line in out.stdout.splitlines() if line.startswith('"') and not line.startswith('"test"')]
    return rows[0] if rows else out.stderr.strip()


def snapshots(port, pid, a):
    """Counts a.snapshots RAFT.SNAPSHOTs (instrumentation on only around each); between them,
    20,000 SETs (not counted) change the keyspace as a running server's would."""
    keys = []
    for i in range(a.snapshots):
        if i:
            bench(port, argparse.Namespace(**{**vars(a), "test": "set", "pipeline": 16}), n=20000)
        keys.append(command(port, "DBSIZE", timeout=60))
        subprocess.run(["callgrind_control", "-i", "on", str(pid)], check=True, capture_output=True)
        reply = command(port, "RAFT.SNAPSHOT", timeout=600)
        subprocess.run(["callgrind_control", "-i", "off", str(pid)], check=True, capture_output=True)
        log(f"RAFT.SNAPSHOT with {keys[-1]} keys: {reply}")
    a.n = a.snapshots
    return f"{a.snapshots} snapshots of {'/'.join(map(str, keys))} keys"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("tool", choices=["callgrind", "perf"])
    ap.add_argument("--binary", default=os.path.join(ROOT, ".build", "release", "raftengine-node"))
    ap.add_argument("--test", default="set")
    ap.add_argument("--pipeline", type=int, default=16)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("-n", type=int, default=20000)
    ap.add_argument("--prefill", type=int, default=200000, help="SETs before collecting (0: none)")
    ap.add_argument("--label", default="", help="name for the output files")
    ap.add_argument("--snapshots", type=int, default=0,
                    help="callgrind: count this many RAFT.SNAPSHOTs on the leader instead of a benchmark")
    ap.add_argument("--node", choices=["leader", "follower"], default="leader",
                    help="profile the leader (n1) or a follower (n2, with n1 leading)")
    a = ap.parse_args()

    # Results of earlier runs stay (compare by --label); the cluster starts fresh.
    shutil.rmtree(os.path.join(OUT, "cluster"), ignore_errors=True)
    os.makedirs(OUT, exist_ok=True)
    binary = os.path.join(OUT, "raftengine-node")
    if a.tool == "callgrind":
        # valgrind 3.19 gives up on the DWARF 5 debug info of the static Swift runtime; the
        # symbol table stays, so the report still names every function.
        subprocess.run(["strip", "--strip-debug", "-o", binary, a.binary], check=True)
    else:
        shutil.copy2(a.binary, binary)
    tag = a.label or f"{a.test}-P{a.pipeline}"
    cg_out = os.path.join(OUT, f"callgrind.{tag}.out")
    for f in os.listdir(OUT):
        if f.startswith(f"callgrind.{tag}.out"):
            os.remove(os.path.join(OUT, f))
    wrap = []
    extra = []
    if a.tool == "callgrind":
        wrap = ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={cg_out}"]
        extra = ["--election-timeout-ms", "3000-6000", "--heartbeat-ms", "200"]
    profiled = "n1" if a.node == "leader" else "n2"
    cluster = ProfiledCluster(binary, os.path.join(OUT, "cluster"), wrap, extra, profiled)
    try:
        cluster.start()
        port = cluster.make_n1_leader()
        pid = cluster.procs[profiled].pid
        # Warm-up, not collected: fills the keyspace as make bench-node's prefill does (200,000
        # SETs over -r 100000), so SETs mostly replace and GETs mostly find a value.
        a_set = argparse.Namespace(**{**vars(a), "test": "set", "pipeline": 16})
        if a.prefill:
            bench(port, a_set, n=a.prefill)
        if a.tool == "callgrind":
            if profiled != "n1":
                # The slowed follower finishes the prefill before counting starts.
                wait_applied(cluster, port, profiled)
            if a.snapshots:
                row = snapshots(port, pid, a)
            else:
                subprocess.run(["callgrind_control", "-i", "on", str(pid)], check=True, capture_output=True)
                row = bench(port, a)
            if profiled != "n1":
                # The slowed follower catches up before its counters are read.
                wait_applied(cluster, port, profiled)
            subprocess.run(["callgrind_control", "-i", "off", str(pid)], check=True, capture_output=True)
            subprocess.run(["callgrind_control", "-d", str(pid)], check=True, capture_output=True)
        else:
            data = os.path.join(OUT, f"perf.{tag}.data")
            rec = subprocess.Popen(["perf", "record", "-g", "-p", str(pid), "-o", data],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.5)
            row = bench(port, a)
            rec.send_signal(2)
            rec.wait()
        st = raft_status(port)
        log(f"redis-benchmark: {row}")
        log(f"leader after the run: {st.get('id')} {st.get('role')} term {st.get('term')}")
    finally:
        cluster.stop()

    if a.tool == "callgrind":
        dumps = sorted(f for f in os.listdir(OUT) if f.startswith(f"callgrind.{tag}.out"))
        path = os.path.join(OUT, dumps[-1])
        ann = subprocess.run(["callgrind_annotate", "--inclusive=no", path], capture_output=True, text=True).stdout
        total = re.search(r"^([\d,]+) +\(100.0%\) +PROGRAM TOTALS", ann, re.M)
        ir = int(total.group(1).replace(",", "")) if total else 0
        what = "snapshots" if a.snapshots else "requests"
        log(f"callgrind: {ir:,} Ir in the {a.node} during {a.n} {what}: {ir / a.n:,.0f} Ir per {what[:-1]} ({path})")
        with open(os.path.join(OUT, f"self.{tag}.txt"), "w") as f:
            f.write(ann)
        inc = subprocess.run(["callgrind_annotate", "--inclusive=yes", path], capture_output=True, text=True).stdout
        with open(os.path.join(OUT, f"inclusive.{tag}.txt"), "w") as f:
            f.write(inc)
        log(f"annotations: {OUT}/self.{tag}.txt and inclusive.{tag}.txt")
    else:
        rep = subprocess.run(["perf", "report", "-i", data, "--no-children", "--stdio", "--percent-limit", "0.7",
                              "-g", "none"], capture_output=True, text=True).stdout
        with open(os.path.join(OUT, f"perf.{tag}.txt"), "w") as f:
            f.write(rep)
        log(f"perf report: {OUT}/perf.{tag}.txt")


if __name__ == "__main__":
    main()
