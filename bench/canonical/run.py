"""`make bench-raft`: RaftEngine next to canonical/raft, measured in one run.

Both systems run the same trial: 3 servers in one process, one libuv loop thread per server
(ours: `raftengine-bench side-trial host-per-node`; theirs: bench/canonical/raft_bench.c
against Debian's libraft-dev, its uv disk backend), loopback TCP, a counting state machine,
64-byte commands, a closed loop of N commands in flight at the leader, 0.5 s of warm-up and
a 3 s window, a fresh cluster and data dirs per trial. Trials alternate between the systems
(the order flips every round) so both see the same phases of a shared machine; the table
shows medians over the rounds and the ratio RaftEngine / canonical. The load average is
printed with every trial: absolute figures swing with it, the ratios of one run are what
count.

    python3 bench/canonical/run.py                          # what `make bench-raft` runs
    python3 bench/canonical/run.py --rounds 5 --inflight 1 --snapshots 0
    python3 bench/canonical/run.py --ours inline,leader    # our fsync placements side by side
    python3 bench/canonical/run.py --nodes 5 --payload 65536 --inflight 64 --snapshots 0
"""

import argparse
import mmap
import os
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
WORK = os.path.join(ROOT, ".build", "bench-raft")


def log(msg=""):
    print(msg, flush=True)


def loadavg():
    return os.getloadavg()[0]


def parse_result(out):
    for line in out.splitlines():
        if line.startswith("RESULT "):
            kv = dict(f.split("=", 1) for f in line.split()[1:] if "=" in f)
            if "error" in kv:
                return None, kv["error"]
            return {k: float(v) for k, v in kv.items() if k != "system"}, None
    return None, "no RESULT line"


def disk_bandwidth(path, total=256 << 20, chunk=1 << 20):
    """This disk's sequential write bandwidth in MB/s: the better of 1 MiB writes of a new file
    through the page cache and then one fdatasync, and 1 MiB O_DIRECT writes then one fdatasync
    (FileLog writes large batches the second way, so the first alone can read lower than what
    the log reaches). Returns (best, buffered, direct); direct is 0 where O_DIRECT is refused."""
    def run(flags, buf):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | flags, 0o644)
        try:
            t0 = time.monotonic()
            for _ in range(total // chunk):
                os.write(fd, buf)
            os.fdatasync(fd)
            return total / (time.monotonic() - t0) / 1e6
        finally:
            os.close(fd)
            os.unlink(path)
    data = os.urandom(chunk)
    buffered = run(0, data)
    aligned = mmap.mmap(-1, chunk)  # page-aligned, as O_DIRECT needs
    aligned.write(data)
    try:
        direct = run(getattr(os, "O_DIRECT", 0), aligned) if hasattr(os, "O_DIRECT") else 0.0
    except OSError:
        direct = 0.0
    return max(buffered, direct), buffered, direct


def trial(system, exe, inflight, snapshots, seconds, payload, n, nodes):
    data = os.path.join(WORK, f"{n}")
    shutil.rmtree(data, ignore_errors=True)
    env = dict(os.environ)
    if system.startswith("raftengine"):
        if "[" in system:
            env["RAFTENGINE_BENCH_SYNC"] = system[system.index("[") + 1:-1]
        # raftengine-bench makes and removes its own temporary directory: under WORK too, so
        # both systems write the same file system.
        env["TMPDIR"] = WORK
        env["RAFTENGINE_BENCH_NODES"] = str(nodes)
        cmd = [exe, "side-trial", "host-per-node", str(seconds), str(inflight), str(snapshots), str(payload)]
    else:
        cmd = [exe, data, str(inflight), str(seconds), str(snapshots), str(payload), "0.5", str(nodes)]
    before = loadavg()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 90, env=env)
        out, err = p.stdout, p.stderr
    except subprocess.TimeoutExpired as e:
        out, err = (e.stdout or b"").decode() if isinstance(e.stdout, bytes) else (e.stdout or ""), "timeout"
    finally:
        shutil.rmtree(data, ignore_errors=True)
    r, why = parse_result(out)
    if r is None:
        log(f"  {system}: trial failed ({why}) {err.strip()[-300:]}")
        return None
    r["load"] = (before + loadavg()) / 2
    return r


def fmt_rate(x):
    return f"{x:,.0f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--inflight", default="1,64,1024")
    ap.add_argument("--snapshots", default="0,100000", help="snapshot thresholds; 0 = snapshots off")
    ap.add_argument("--payload", type=int, default=64)
    ap.add_argument("--nodes", type=int, default=3, help="servers per cluster (both systems)")
    ap.add_argument("--disk-bandwidth", action="store_true",
                    help="measure the disk's sequential write bandwidth at the start and the end, and show MB/s against it")
    ap.add_argument("--raftengine", default=os.path.join(ROOT, ".build", "release", "raftengine-bench"))
    ap.add_argument("--canonical", default=os.path.join(ROOT, ".build", "canonical", "raft-bench"))
    ap.add_argument("--disk-floor", action="store_true",
                    help="measure the disk's floor for a commit at the start and the end: one writer per node, "
                    "each appending 100-byte records made durable both systems' ways (bench/canonical/disk_floor.c)")
    ap.add_argument("--disk-floor-exe", default=os.path.join(ROOT, ".build", "canonical", "disk-floor"))
    ap.add_argument("--ours", default="", help="comma-separated fsync placements (inline, leader, always), each "
                    "its own column; default: the build's default placement only")
    a = ap.parse_args()
    inflights = [int(x) for x in a.inflight.split(",")]
    thresholds = [int(x) for x in a.snapshots.split(",")]
    ours = [p for p in a.ours.split(",") if p]
    systems = [(f"raftengine[{p}]", a.raftengine) for p in ours] if ours else [("raftengine", a.raftengine)]
    if os.access(a.canonical, os.X_OK):
        systems.append(("canonical", a.canonical))
    else:
        log(f"NOTE: no canonical/raft harness at {a.canonical} (libraft-dev could not be installed or the harness "
            "did not build): RaftEngine's figures only, no side-by-side table.")
    os.makedirs(WORK, exist_ok=True)
    bandwidths = []
    if a.disk_bandwidth:
        best, buffered, direct = disk_bandwidth(os.path.join(WORK, "bandwidth-probe"))
        bandwidths.append(best)
        log(f"disk sequential write bandwidth (256 MiB in 1 MiB writes + fdatasync): {best:.0f} MB/s "
            f"(through the page cache {buffered:.0f}, O_DIRECT {direct:.0f})")
    floors = []

    def disk_floor(when):
        if not a.disk_floor:
            return
        if not os.access(a.disk_floor_exe, os.X_OK):
            log(f"NOTE: no disk-floor probe at {a.disk_floor_exe}")
            return
        out = subprocess.run([a.disk_floor_exe, WORK, str(a.nodes), "1000"], capture_output=True, text=True,
                             timeout=300).stdout
        for line in out.splitlines():
            if line.startswith("DISKFLOOR"):
                f = dict(kv.split("=", 1) for kv in line.split()[1:])
                floors.append(f)
                log(f"disk floor {when}: {a.nodes} writers at once, {f['mode']}: p50 {float(f['p50_us']):.0f} µs, "
                    f"p90 {float(f['p90_us']):.0f}, p99 {float(f['p99_us']):.0f}")

    disk_floor("at the start")
    log(f"side by side: {a.nodes} servers, {a.rounds} rounds, {a.seconds:.1f} s per trial, {a.payload}-byte commands, "
        f"in flight {inflights}, snapshot thresholds {thresholds} (0 = off), {os.cpu_count()} cores, "
        f"load average at start {loadavg():.2f}")
    results = {}  # (system, threshold, inflight) -> [result]
    n = 0
    for rnd in range(a.rounds):
        order = systems if rnd % 2 == 0 else list(reversed(systems))
        for th in thresholds:
            for inf in inflights:
                for name, exe in order:
                    n += 1
                    r = trial(name, exe, inf, th, a.seconds, a.payload, n, a.nodes)
                    if r is None:
                        continue
                    results.setdefault((name, th, inf), []).append(r)
                    r["mb_per_s"] = r["commits_per_s"] * a.payload / 1e6
                    log(f"  round {rnd + 1} {name:10s} snapshots {th or 'off':>6} in flight {inf:5d}: "
                        f"{fmt_rate(r['commits_per_s']):>9}/s  p50 {r['p50_us']:8.1f} us  p99 {r['p99_us']:8.1f} us  "
                        f"p999 {r['p999_us']:8.1f} us  failed {int(r['failed'])}  load {r['load']:.2f}")

    def med(name, th, inf, key):
        rs = results.get((name, th, inf), [])
        return statistics.median(r[key] for r in rs) if rs else None

    def cell(v, rate=False):
        if v is None:
            return "—"
        return fmt_rate(v) if rate else f"{v:.0f}"

    def ratio(x, y):
        return f"{x / y:.2f}×" if x is not None and y else "—"

    log("")
    log("medians over the rounds (latencies in µs; ratio = RaftEngine / canonical: above 1 is more "
        "throughput, below 1 is lower latency)")
    log("")
    names = [n for n, _ in systems if n != "canonical"]
    header = "| snapshots | in flight | measure | canonical/raft | " + " | ".join(
        n.replace("raftengine", "RaftEngine") for n in names) + " | " + " | ".join(
        "ratio" + (n[len("raftengine"):] if len(names) > 1 else "") for n in names) + " |"
    log(header)
    log("|---" * (4 + 2 * len(names)) + "|")
    for th in thresholds:
        for inf in inflights:
            rows = [("commits_per_s", "commits/s", True)]
            if a.payload >= 1024:
                rows.append(("mb_per_s", "MB/s", False))
            rows += [("p50_us", "p50", False), ("p99_us", "p99", False), ("p999_us", "p999", False)]
            for key, label, rate in rows:
                c = med("canonical", th, inf, key)
                os_ = [med(n, th, inf, key) for n in names]
                log(f"| {'every ' + format(th, ',') if th else 'off'} | {inf:,} | {label} | {cell(c, rate)} | "
                    + " | ".join(cell(o, rate) for o in os_) + " | " + " | ".join(ratio(o, c) for o in os_) + " |")
    if a.disk_bandwidth:
        best, buffered, direct = disk_bandwidth(os.path.join(WORK, "bandwidth-probe"))
        bandwidths.append(best)
        log(f"disk sequential write bandwidth at the end: {best:.0f} MB/s (through the page cache {buffered:.0f}, O_DIRECT {direct:.0f})")
        bw = statistics.median(bandwidths)
        log(f"\ndisk sequential write bandwidth: {bandwidths[0]:.0f} MB/s at the start, {bandwidths[-1]:.0f} at the end")
        for name, _ in systems:
            for th in thresholds:
                for inf in inflights:
                    m = med(name, th, inf, "mb_per_s")
                    if m is not None:
                        log(f"{name}: {a.payload}-byte commands, {inf} in flight, snapshots {th or 'off'}: "
                            f"{m:.1f} MB/s = {m / bw:.2f} x the disk's sequential bandwidth")
    disk_floor("at the end")
    loads = [r["load"] for rs in results.values() for r in rs]
    if loads:
        log(f"\nload average over the trials: {min(loads):.2f}–{max(loads):.2f} (median {statistics.median(loads):.2f})")
    th0 = thresholds[0]
    for n in names:
        c1, o1 = med("canonical", th0, 1, "p50_us"), med(n, th0, 1, "p50_us")
        cN, oN = med("canonical", th0, 1024, "commits_per_s"), med(n, th0, 1024, "commits_per_s")
        if c1 and o1:
            log(f"{n}: 1 in flight p50 {o1:.0f} µs against canonical's {c1:.0f} µs, ratio {o1 / c1:.2f} (target <= 0.80)")
        if cN and oN:
            log(f"{n}: 1024 in flight {oN:,.0f}/s against canonical's {cN:,.0f}/s, ratio {oN / cN:.2f} (target >= 3.00)")
    if len(systems) == 1:
        log("NOTE: canonical/raft was not measured (see the note at the top).")


if __name__ == "__main__":
    sys.exit(main())
