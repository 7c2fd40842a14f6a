"""`make bench-python`: raftengine's Python bindings next to pysyncobj, measured in one run.

Each system runs as three OS processes with one node each (loopback TCP) and a Python counter
state machine; the load runs in the leader's process and keeps N 64-byte commands in flight
(bench/python/worker.py). Scenarios: 1, 1,000 and 10,000 in flight; pysyncobj both with its
default batching and with appendEntriesUseBatch=False. Trials alternate between the systems,
three rounds of each, and the table shows medians. pysyncobj is a benchmark-only dependency:
it is installed from PyPI into a scratch venv (.build/bench-python-venv), never by `make test`.

    python3 bench/python/run.py                     # what `make bench-python` runs
    python3 bench/python/run.py --rounds 1 --in-flight 1000
    python3 bench/python/run.py --profile 1000      # py-spy on our leader (installed in the venv)
"""

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
VENV = os.path.join(ROOT, ".build", "bench-python-venv")
VPY = os.path.join(VENV, "bin", "python")
LIBRARY = os.path.join(ROOT, ".build", "release", "libraftengine.so")
WORKER = os.path.join(ROOT, "bench", "python", "worker.py")
OUT_DIR = os.path.join(ROOT, ".build", "bench-python")
# The version measured in docs/benchmarks.md; benchmark-only, pinned so runs compare.
PYSYNCOBJ = os.environ.get("PYSYNCOBJ_SPEC", "pysyncobj==0.3.17")

SYSTEMS = {  # label -> worker arguments
    "raftengine": ["--system", "raftengine"],
    "pysyncobj batching on": ["--system", "pysyncobj", "--batching", "on"],
    "pysyncobj batching off": ["--system", "pysyncobj", "--batching", "off"],
}


def log(msg):
    print(msg, flush=True)


def ensure_venv(extra=()):
    """The scratch venv with pysyncobj (and whatever else asked for, e.g. py-spy)."""
    if not os.path.exists(VPY):
        log(f"creating {os.path.relpath(VENV, ROOT)} (benchmark-only)")
        subprocess.check_call([sys.executable, "-m", "venv", VENV])
    want = [PYSYNCOBJ] + list(extra)
    freeze = subprocess.run([VPY, "-m", "pip", "freeze"], capture_output=True, text=True).stdout
    have = dict(line.lower().split("==", 1) for line in freeze.splitlines() if "==" in line)
    missing = [w for w in want if w.lower().split("==")[0] not in have
               or ("==" in w and have[w.lower().split("==")[0]] != w.split("==")[1])]
    if missing:
        log(f"pip install {' '.join(missing)} into {os.path.relpath(VENV, ROOT)}")
        subprocess.check_call([VPY, "-m", "pip", "install", "-q", "--disable-pip-version-check", *missing])


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


BINDINGS = os.path.join(ROOT, "bindings", "python")


def use_bindings(which):
    """Where the workers import raftengine from: the work tree (default), or the package as
    committed at a git revision, exported under .build/bench-python (so a run measures one
    definite version even while someone edits bindings/python). Returns a description."""
    global BINDINGS
    git = ["git", "-C", ROOT]
    if which == "worktree":
        dirty = subprocess.run(git + ["status", "--porcelain", "--", "bindings/python/raftengine"],
                               capture_output=True, text=True).stdout.strip()
        head = subprocess.run(git + ["rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
        return f"work tree (HEAD {head or '?'}{', with uncommitted changes' if dirty else ''})"
    rev = subprocess.run(git + ["rev-parse", "--short", which], capture_output=True, text=True, check=True).stdout.strip()
    dest = os.path.join(OUT_DIR, f"bindings-{rev}")
    if not os.path.isdir(os.path.join(dest, "raftengine")):
        os.makedirs(dest, exist_ok=True)
        arch = subprocess.run(git + ["archive", rev, "bindings/python/raftengine"], capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", dest, "--strip-components=2"], input=arch, check=True)
    BINDINGS = dest
    last = subprocess.run(git + ["log", "-1", "--format=%h", rev, "--", "bindings/python/raftengine"],
                          capture_output=True, text=True).stdout.strip()
    return f"as committed at {rev}, last changed in {last or '?'} (exported to {os.path.relpath(dest, ROOT)})"


RUN_LIBRARY = LIBRARY


def snapshot_library():
    """The workers load a copy of the library taken at the start, so a rebuild during the run
    (make lib from another shell) cannot mix two builds in one table."""
    global RUN_LIBRARY
    os.makedirs(OUT_DIR, exist_ok=True)
    RUN_LIBRARY = os.path.join(OUT_DIR, "libraftengine.so")
    shutil.copy2(LIBRARY, RUN_LIBRARY)
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(os.path.getmtime(LIBRARY)))


def worker_env():
    env = dict(os.environ)
    env["RAFTENGINE_LIBRARY"] = RUN_LIBRARY
    env["PYTHONPATH"] = BINDINGS + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


TICK = os.sysconf("SC_CLK_TCK")


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


class CpuWindow:
    """CPU used over the measured window by the leader, by the two followers together and by
    everything else on the machine (another job's load shows up there), in cores."""

    def __init__(self, a, procs):
        self.a, self.procs, self.out = a, procs, None

    def start(self, leader_pid):
        threading.Thread(target=self._run, args=(leader_pid,), daemon=True).start()

    def _run(self, leader_pid):
        time.sleep(self.a.warmup)
        pids = [p.pid for p in self.procs]
        me = os.getpid()
        c0, m0, o0, t0 = [proc_cpu(p) for p in pids], machine_busy(), proc_cpu(me), time.monotonic()
        time.sleep(self.a.duration)
        c1, m1, o1, t1 = [proc_cpu(p) for p in pids], machine_busy(), proc_cpu(me), time.monotonic()
        used = [(b - a) / (t1 - t0) for a, b in zip(c0, c1)]
        lead = used[pids.index(leader_pid)] if leader_pid in pids else 0.0
        mine = sum(used) + (o1 - o0) / (t1 - t0)
        self.out = dict(leader=lead, followers=sum(used) - lead,
                        others=max(0.0, (m1 - m0) / (t1 - t0) - mine))


def trial(label, in_flight, a, data_root, profile=None):
    """Starts three nodes, waits for the leader's RESULT line, stops them. Returns the dict."""
    addrs = ",".join(f"127.0.0.1:{p}" for p in free_ports(3))
    data_dir = tempfile.mkdtemp(prefix="trial-", dir=data_root)
    logf = open(os.path.join(data_dir, "workers.log"), "w")
    cmd = [VPY, WORKER, *SYSTEMS[label], "--addrs", addrs, "--data-dir", data_dir,
           "--in-flight", str(in_flight), "--warmup", str(a.warmup), "--duration", str(a.duration),
           "--client", a.client, "--lanes", str(a.lanes)]
    if a.no_reply:
        cmd.append("--no-reply")
    if getattr(a, "pin_thread_state", False):
        cmd.append("--pin-thread-state")
    if getattr(a, "submit_sync", False):
        cmd.append("--submit-sync")
    env = worker_env()
    procs = [subprocess.Popen(cmd + ["--index", str(i)], stdout=subprocess.PIPE, stderr=logf, text=True, env=env)
             for i in range(3)]
    found = []
    cond = threading.Condition()
    cpu = CpuWindow(a, procs)

    def reader(p):
        for line in p.stdout:
            if line.startswith("LEADING "):
                cpu.start(int(line.split()[1]))
                if profile is not None:
                    profile(int(line.split()[1]))
            if line.startswith("RESULT "):
                with cond:
                    found.append(json.loads(line[7:]))
                    cond.notify_all()
        with cond:
            cond.notify_all()

    readers = [threading.Thread(target=reader, args=(p,), daemon=True) for p in procs]
    for r in readers:
        r.start()
    deadline = time.monotonic() + 40 + a.warmup + a.duration
    with cond:
        while not found and time.monotonic() < deadline and any(p.poll() is None for p in procs):
            cond.wait(0.2)
    t_cpu = time.monotonic() + 2
    while found and cpu.out is None and time.monotonic() < t_cpu:
        time.sleep(0.05)
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    logf.close()
    if not found:
        with open(os.path.join(data_dir, "workers.log")) as f:
            tail = f.read()[-2000:]
        raise RuntimeError(f"{label} at {in_flight} in flight: no result. Worker output:\n{tail}")
    shutil.rmtree(data_dir, ignore_errors=True)
    r = found[0]
    r["cpu"] = cpu.out or dict(leader=r["leader_cpu"], followers=None, others=None)
    return r


def fsync_probe(directory, samples=300):
    """This disk's price of durability right now: 4 KiB appended, then fdatasync (ms)."""
    path = os.path.join(directory, "fsync-probe")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    block, lat = b"x" * 4096, []
    try:
        for _ in range(samples):
            t = time.perf_counter()
            os.write(fd, block)
            os.fdatasync(fd)
            lat.append(time.perf_counter() - t)
    finally:
        os.close(fd)
        os.unlink(path)
    lat.sort()
    return lat[len(lat) // 2] * 1e3, lat[int(len(lat) * 0.99)] * 1e3


def fmt_rate(x):
    return f"{x:,.0f}"


def fmt_cores(x):
    return "-" if x is None else f"{x:.2f}"


def us_per_commit(r):
    """CPU the leader's process spent per commit (all its threads), in microseconds."""
    lead = r["cpu"].get("leader")
    return lead * 1e6 / r["rate"] if lead is not None and r["rate"] else None


def fmt_us(x):
    return "-" if x is None else f"{x:.1f}"


def fmt_ms(x):
    return "-" if x is None else f"{x:.3f}"


def med(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def table(results, scenarios, labels):
    rows = []
    head = (f"{'in flight':>9}  {'system':<24} {'commits/s':>10} {'p50 ms':>8} {'p99 ms':>8}  "
            f"{'CPU: leader':>11} {'followers':>9} {'others':>6}  {'leader us/commit':>16}  {'errors':>6}  per round (commits/s)")
    rows.append(head)
    rows.append("-" * len(head))
    for n in scenarios:
        for label in labels:
            rs = results.get((label, n), [])
            if not rs:
                continue
            rate = med([r["rate"] for r in rs])
            p50 = med([r["p50_ms"] for r in rs])
            p99 = med([r["p99_ms"] for r in rs])
            cpu = {k: med([r["cpu"][k] for r in rs]) for k in ("leader", "followers", "others")}
            errs = sum(r["errors"] for r in rs)
            kinds = {}
            for r in rs:
                for k, v in r.get("error_kinds", {}).items():
                    kinds[k] = kinds.get(k, 0) + v
            per = " / ".join(fmt_rate(r["rate"]) for r in rs)
            rows.append(f"{n:>9,}  {label:<24} {fmt_rate(rate):>10} {fmt_ms(p50):>8} {fmt_ms(p99):>8}  "
                        f"{fmt_cores(cpu['leader']):>11} {fmt_cores(cpu['followers']):>9} {fmt_cores(cpu['others']):>6}  "
                        f"{fmt_us(med([us_per_commit(r) for r in rs])):>16}  {errs:>6}  {per}"
                        + (f"  (errors: {', '.join(f'{v} {k}' for k, v in kinds.items())})" if kinds else ""))
    return "\n".join(rows)


def best_theirs(results, n, key="rate"):
    """pysyncobj's best configuration at n in flight: highest median rate (or lowest p50)."""
    cands = []
    for label in SYSTEMS:
        if label.startswith("pysyncobj") and results.get((label, n)):
            rs = results[(label, n)]
            cands.append((label, med([r["rate"] for r in rs]), med([r["p50_ms"] for r in rs])))
    if not cands:
        return None
    if key == "rate":
        return max(cands, key=lambda c: c[1])
    return min(cands, key=lambda c: c[2])


def thread_table(pids, leader_pid):
    """Per thread of the three nodes: CPU seconds, run-queue wait and context switches so far."""
    d = {}
    for pid in pids:
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            base = f"/proc/{pid}/task/{tid}"
            try:
                with open(base + "/stat") as f:
                    st = f.read()
                with open(base + "/schedstat") as f:
                    run_ns, wait_ns = (int(x) for x in f.read().split()[:2])
                with open(base + "/status") as f:
                    sw = {k: int(v) for k, v in (l.split(":") for l in f if "ctxt_switches" in l)}
            except (OSError, ValueError):
                continue
            who = ("leader " if pid == leader_pid else "follower ") + st[st.index("(") + 1:st.rindex(")")]
            d[tid] = (who, run_ns / 1e9, wait_ns / 1e9, sw.get("voluntary_ctxt_switches", 0),
                      sw.get("nonvoluntary_ctxt_switches", 0))
    return d


def profile_run(a, n):
    """Our leader at n in flight, one trial per tool so their overheads do not mix: per-thread
    CPU and run-queue wait (/proc), perf record (on-CPU by library and symbol), perf trace -s
    (syscalls: fdatasync, futex, ...), py-spy (Python frames). Output under .build/bench-python."""
    ensure_venv(["py-spy"])
    spy = os.path.join(VENV, "bin", "py-spy")
    os.makedirs(OUT_DIR, exist_ok=True)
    data_root = a.data_root or os.path.join(ROOT, ".build", "bench-python-data")
    os.makedirs(data_root, exist_ok=True)
    have_perf = shutil.which("perf") is not None
    window = max(1, int(a.duration) - 1)

    def run_tool(tool):
        done = []

        def attach(pid):
            def go():
                time.sleep(a.warmup + 0.5)
                if tool == "threads":
                    pids = [int(x) for x in os.listdir("/proc") if x.isdigit() and _is_worker(int(x))]
                    t0, s0 = time.monotonic(), thread_table(pids, pid)
                    time.sleep(window)
                    dt, s1 = time.monotonic() - t0, thread_table(pids, pid)
                    rows = [f"  {'thread':<26} {'on CPU':>7} {'runnable, waiting':>18} {'sleeps/s':>9} {'preempted/s':>12}"]
                    for tid, v in sorted(s1.items(), key=lambda kv: -(kv[1][1] - s0.get(kv[0], kv[1])[1])):
                        if tid in s0:
                            u = s0[tid]
                            rows.append(f"  {v[0]:<26} {100 * (v[1] - u[1]) / dt:6.1f}% {100 * (v[2] - u[2]) / dt:17.1f}% "
                                        f"{(v[3] - u[3]) / dt:9.0f} {(v[4] - u[4]) / dt:12.0f}")
                    done.append("\n".join(rows))
                elif tool == "perf":
                    data = os.path.join(OUT_DIR, f"perf-{n}.data")
                    subprocess.run(["perf", "record", "-q", "-F", "999", "-p", str(pid), "-o", data, "--", "sleep",
                                    str(window)], capture_output=True)
                    rep = []
                    for sort, lines in (("comm,dso", 14), ("comm,sym", 30)):
                        out = subprocess.run(["perf", "report", "-i", data, "--no-children", "--sort", sort, "--stdio",
                                              "-g", "none"], capture_output=True, text=True).stdout
                        body = [l for l in out.splitlines() if l.strip() and not l.startswith("#")]
                        rep.append("\n".join("  " + l.strip()[:150] for l in body[:lines]))
                    done.append("\n\n".join(rep))
                elif tool == "trace":
                    txt = os.path.join(OUT_DIR, f"trace-{n}.txt")
                    subprocess.run(["perf", "trace", "-s", "-p", str(pid), "-o", txt, "--", "sleep", str(window)],
                                   capture_output=True)
                    with open(txt) as f:
                        done.append("\n".join("  " + l for l in f.read().strip().splitlines()))
                elif tool == "py-spy":
                    out = os.path.join(OUT_DIR, f"py-spy-{n}.txt")
                    cmd = [spy, "record", "-p", str(pid), "-d", str(window), "-r", str(a.rate), "--threads", "--idle",
                           "-f", "raw", "-o", out] + (["--native"] if a.native else [])
                    r = subprocess.run(cmd, capture_output=True, text=True)
                    if r.returncode != 0:
                        done.append(r.stderr[-2000:])
                    else:
                        done.append(subprocess.run([sys.executable, os.path.join(ROOT, "bench", "python",
                                                                                 "profile_summary.py"), out, "15"],
                                                   capture_output=True, text=True).stdout)
            threading.Thread(target=go, daemon=True).start()

        r = trial("raftengine", n, a, data_root, profile=attach)
        t_end = time.monotonic() + 20
        while not done and time.monotonic() < t_end:
            time.sleep(0.2)
        log(f"\n=== {tool}: raftengine at {n:,} in flight, {fmt_rate(r['rate'])} commits/s in this trial "
            f"(cores: leader {fmt_cores(r['cpu']['leader'])}, followers {fmt_cores(r['cpu']['followers'])}, "
            f"others {fmt_cores(r['cpu']['others'])})")
        log(done[0] if done else "(no output)")

    for tool in ["threads"] + (["perf", "trace"] if have_perf else []) + ["py-spy"]:
        run_tool(tool)


def _is_worker(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return WORKER.encode() in f.read()
    except OSError:
        return False


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--warmup", type=float, default=1.0)
    p.add_argument("--duration", type=float, default=5.0)
    p.add_argument("--in-flight", type=lambda s: [int(x) for x in s.split(",")], default=[1, 1000, 10000])
    p.add_argument("--systems", type=lambda s: s.split(","), default=list(SYSTEMS),
                   help="comma-separated labels, from: " + ", ".join(SYSTEMS))
    p.add_argument("--client", choices=("asyncio", "threads"), default="asyncio",
                   help="how our leader keeps N in flight (submit_many_async lanes or submit_many threads)")
    p.add_argument("--lanes", type=int, default=4, help="outstanding submit_many calls sharing the window")
    p.add_argument("--no-reply", action="store_true", help="our counter returns b'' instead of the new total")
    p.add_argument("--pin-thread-state", action="store_true",
                   help="experiment: our loop thread keeps one Python thread state between callbacks")
    p.add_argument("--submit-sync", action="store_true",
                   help="experiment: our 1-in-flight client calls re_node_submit_sync (the GIL released in C)")
    p.add_argument("--profile", type=int, metavar="N",
                   help="profile our leader at N in flight (per-thread CPU, perf, perf trace, py-spy), then exit")
    p.add_argument("--rate", type=int, default=200, help="py-spy samples/s")
    p.add_argument("--native", action="store_true", help="py-spy --native (C and Swift frames too)")
    p.add_argument("--data-root", metavar="DIR",
                   help="experiment: our nodes' data dirs under DIR (e.g. /dev/shm: fsync costs nothing there)")
    p.add_argument("--bindings", default="worktree", metavar="REV",
                   help="import raftengine from the work tree (default) or as committed at git REV (e.g. HEAD)")
    a = p.parse_args()

    bindings = use_bindings(a.bindings)
    if not os.path.exists(LIBRARY):
        sys.exit(f"{os.path.relpath(LIBRARY, ROOT)} is missing: run `make lib` first")
    built = snapshot_library()
    ensure_venv()
    if a.profile:
        profile_run(a, a.profile)
        return

    # On the real disk by default (not tmpfs, where fsync costs nothing).
    data_root = a.data_root or os.path.join(ROOT, ".build", "bench-python-data")
    os.makedirs(data_root, exist_ok=True)
    labels = [l for l in SYSTEMS if l in a.systems]
    ver = subprocess.run([VPY, "-c", "import pysyncobj.version as v; print(v.VERSION)"],
                         capture_output=True, text=True).stdout.strip() or "?"
    log(f"raftengine (bindings/python: {bindings}; {os.path.relpath(LIBRARY, ROOT)} built {built}) vs pysyncobj {ver}; "
        f"Python {sys.version.split()[0]}; {os.cpu_count()} cores")
    log("3 OS processes per system, one node each, loopback TCP, Python counter state machine, "
        "64-byte commands, load in the leader's process;")
    log(f"{a.warmup:g} s warm-up + {a.duration:g} s measured per trial, {a.rounds} rounds, trials alternate "
        "between systems, medians shown.")
    log("Durability differs: raftengine uses its default FileLog and fdatasyncs before acknowledging (group commit), "
        "on all three nodes; "
        "pysyncobj (defaults, no journalFile) keeps its log in memory and never fsyncs "
        "(with a journalFile it writes an mmap and still does not fsync per entry).")
    log(f"Our client: 1 in flight = blocking submit(); N in flight = "
        + (f"{a.lanes} asyncio tasks each keeping a submit_many_async of N/{a.lanes} outstanding"
           if a.client == "asyncio" else f"{a.lanes} threads each keeping a submit_many of N/{a.lanes} outstanding")
        + ("; apply returns b''" if a.no_reply else "; apply_batch returns each new total as bytes") + ".")
    log("pysyncobj client: obj.incr(payload, callback=cb) with a semaphore keeping N outstanding; "
        "the replicated method returns the new total.")
    f50, f99 = fsync_probe(data_root)
    log(f"fsync probe before (4 KiB append + fdatasync, {os.path.relpath(data_root, ROOT)}): p50 {f50:.3f} ms, p99 {f99:.3f} ms")
    log("")

    results = {}
    t0 = time.monotonic()
    for rnd in range(1, a.rounds + 1):
        for n in a.in_flight:
            for label in labels:
                r = trial(label, n, a, data_root)
                results.setdefault((label, n), []).append(r)
                extra = f", {r['errors']} errors {r['error_kinds']}" if r["errors"] else ""
                if r.get("p50_to_apply_ms") is not None:
                    extra += (f"  (p50 submit->apply {r['p50_to_apply_ms']:.3f} ms, "
                              f"apply->caller {r['p50_apply_to_caller_ms']:.3f} ms)")
                c = r["cpu"]
                log(f"  round {rnd}  {n:>6,} in flight  {label:<24} {fmt_rate(r['rate']):>9} commits/s  "
                    f"p50 {fmt_ms(r['p50_ms'])} ms  p99 {fmt_ms(r['p99_ms'])} ms  cores: leader "
                    f"{fmt_cores(c['leader'])} followers {fmt_cores(c['followers'])} others {fmt_cores(c['others'])}  "
                    f"leader {fmt_us(us_per_commit(r))} us/commit{extra}")
    log(f"\n{a.rounds} rounds in {time.monotonic() - t0:.0f} s. Medians (CPU in cores over the measured "
        f"window, of {os.cpu_count()}; 'others' = the rest of the machine):\n")
    log(table(results, a.in_flight, labels))
    f50, f99 = fsync_probe(data_root)
    log(f"\nfsync probe after: p50 {f50:.3f} ms, p99 {f99:.3f} ms")
    busy = [r["cpu"]["others"] for rs in results.values() for r in rs if r["cpu"].get("others") is not None]
    if busy and max(busy) > 0.25:
        log(f"note: other processes used up to {max(busy):.2f} cores during some trials (median {med(busy):.2f}); "
            "those trials are depressed")
    log("")

    os.makedirs(OUT_DIR, exist_ok=True)
    with open(os.path.join(OUT_DIR, "latest.json"), "w") as f:
        json.dump({f"{l}@{n}": rs for (l, n), rs in results.items()}, f, indent=1)

    ours = {n: results.get(("raftengine", n)) for n in a.in_flight}
    verdicts = []
    if 1000 in a.in_flight and ours.get(1000) and best_theirs(results, 1000):
        o = med([r["rate"] for r in ours[1000]])
        lab, t, _ = best_theirs(results, 1000)
        verdicts.append(f"1,000 in flight: {o / t:.1f}x pysyncobj's best ({lab}); target >= 10x and >= 80,000/s: "
                        + ("met" if o >= 10 * t and o >= 80000 else "NOT met"))
    if 10000 in a.in_flight and ours.get(10000) and best_theirs(results, 10000):
        o = med([r["rate"] for r in ours[10000]])
        lab, t, _ = best_theirs(results, 10000)
        verdicts.append(f"10,000 in flight: {o / t:.1f}x pysyncobj's best ({lab}); target >= 3x: "
                        + ("met" if o >= 3 * t else "NOT met"))
    if 1 in a.in_flight and ours.get(1) and results.get(("pysyncobj batching off", 1)):
        o = med([r["p50_ms"] for r in ours[1]])
        t = med([r["p50_ms"] for r in results[("pysyncobj batching off", 1)]])
        verdicts.append(f"1 in flight: p50 {o:.3f} ms vs pysyncobj batching off {t:.3f} ms; target no higher: "
                        + ("met" if o <= t else "NOT met"))
    for v in verdicts:
        log(v)
    if 1000 in a.in_flight and ours.get(1000) and best_theirs(results, 1000):
        o = med([r["rate"] for r in ours[1000]])
        _, t, _ = best_theirs(results, 1000)
        log(f"python: {o:.0f} commits/s at 1000 in flight, pysyncobj {t:.0f}, ratio {o / t:.1f}")


if __name__ == "__main__":
    main()
