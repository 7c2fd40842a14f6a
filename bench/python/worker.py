"""One node of a benchmark cluster (started three times by bench/python/run.py).

Every process starts one node (raftengine or pysyncobj) with a Python counter state machine
and waits for a leader. The process whose node leads runs the load in-process (as
pysyncobj's own benchmarks do): it keeps N 64-byte commands in flight for a warm-up and a
measured window, then prints one line `RESULT {json}` and waits to be stopped. The others
only serve as replicas until run.py sends SIGTERM.
"""

import argparse
import json
import os
import signal
import sys
import threading
import time

PAYLOAD = bytes(range(64))  # 64-byte commands, the same on both sides
assert len(PAYLOAD) == 64

clock = time.perf_counter


def _stop(*_):
    # Leaves through the finally blocks (nodes closed, data dirs released).
    raise SystemExit(0)


class Recorder:
    """Counts commits acknowledged inside [t_start, t_end) and keeps their latencies, as
    (seconds, how many commands) pairs: one pair per batch for submit_many, per command
    otherwise."""

    def __init__(self, t_start, t_end):
        self.t_start, self.t_end = t_start, t_end
        self.commits = 0
        self.errors = 0
        self.error_kinds = {}
        self.lat = []

    def done(self, t0, t1, ok, failed=0, kind=None):
        if self.t_start <= t1 < self.t_end:
            self.commits += ok
            if ok and t0 >= self.t_start:
                self.lat.append((t1 - t0, ok))
        if failed:
            self.errors += failed
            self.error_kinds[kind] = self.error_kinds.get(kind, 0) + failed

    def summary(self, extra):
        lat = sorted(self.lat)
        total = sum(n for _, n in lat)

        def pct(p):
            if not total:
                return None
            want, seen = p * total, 0
            for v, n in lat:
                seen += n
                if seen >= want:
                    return v * 1e3
            return lat[-1][0] * 1e3

        d = dict(commits=self.commits, rate=self.commits / (self.t_end - self.t_start),
                 p50_ms=pct(0.50), p99_ms=pct(0.99), errors=self.errors,
                 error_kinds={str(k): v for k, v in self.error_kinds.items()})
        d.update(extra)
        return d


def cpu_seconds():
    t = os.times()
    return t.user + t.system


def emit(result):
    sys.stdout.write("RESULT " + json.dumps(result) + "\n")
    sys.stdout.flush()


def wait_stopped():
    while True:
        time.sleep(3600)


# ---------------------------------------------------------------- raftengine (ours)

def run_ours(a, addrs):
    import raftengine

    reply = a.reply
    pin = a.pin_thread_state

    class Counter:
        """The counter: each command adds one; the result is the new total (as bytes)."""

        def __init__(self):
            self.total = 0
            self.pinned = False
            self.applied_at = 0.0  # when the last apply ran (loop thread): splits 1-in-flight latency

        def _pin(self):
            # Experiment (--pin-thread-state), not what the bindings do: ctypes creates and
            # destroys a Python thread state around every callback from the engine's loop
            # thread; one extra PyGILState_Ensure that is never released keeps it alive.
            import ctypes
            ctypes.pythonapi.PyGILState_Ensure.restype = ctypes.c_int
            ctypes.pythonapi.PyGILState_Ensure()
            self.pinned = True

        def apply(self, command):
            if pin and not self.pinned:
                self._pin()
            self.total += 1
            self.applied_at = clock()
            return str(self.total).encode() if reply else b""

        def apply_batch(self, commands):
            if pin and not self.pinned:
                self._pin()
            t = self.total
            if reply:
                out = []
                append = out.append
                for _ in commands:
                    t += 1
                    append(str(t).encode())
            else:
                t += len(commands)
                out = [b""] * len(commands)
            self.total = t
            self.applied_at = clock()
            return out

        def snapshot(self):
            return str(self.total).encode()

        def restore(self, data):
            self.total = int(data or b"0")

    me = f"n{a.index}"
    peers = {f"n{i}": addr for i, addr in enumerate(addrs) if i != a.index}
    sm = Counter()
    node = raftengine.Node(id=me, data_dir=os.path.join(a.data_dir, me), listen=addrs[a.index],
                           peers=peers, state_machine=sm)
    try:
        deadline = time.monotonic() + 30
        while True:
            st = node.status()
            if st.is_leader:
                break
            if st.leader_id is not None and st.leader_id != me:
                wait_stopped()
            if time.monotonic() > deadline:
                sys.exit("no leader within 30 s")
            time.sleep(0.01)
        # The cluster has a leader (us): one command through before the clock starts.
        node.submit(PAYLOAD, timeout=10)
        print(f"LEADING {os.getpid()}", flush=True)
        t_start = clock() + a.warmup
        rec = Recorder(t_start, t_start + a.duration)
        cpu0 = [None]
        to_apply, to_caller = [], []

        def split(t0, ta, t1):
            # 1 in flight: submit -> our apply ran (replication, fsyncs, commit) and apply ->
            # submit returned (the outcome's way back to the caller's thread)
            if rec.t_start <= t0 and t1 < rec.t_end and t0 <= ta <= t1:
                to_apply.append(ta - t0)
                to_caller.append(t1 - ta)

        if a.in_flight == 1 and a.submit_sync:
            mode = "re_node_submit_sync through ctypes (experiment), 1 in flight"
            submit_sync = _c_submit_sync(node)
            while True:
                t0 = clock()
                if t0 >= rec.t_end:
                    break
                if cpu0[0] is None and t0 >= t_start:
                    cpu0[0] = cpu_seconds()
                st = submit_sync(PAYLOAD)
                if st == 0:
                    t1 = clock()
                    rec.done(t0, t1, 1)
                    split(t0, sm.applied_at, t1)
                else:
                    rec.done(t0, clock(), 0, 1, f"status {st}")
        elif a.in_flight == 1:
            mode = "submit (blocking), 1 in flight"
            while True:
                t0 = clock()
                if t0 >= rec.t_end:
                    break
                if cpu0[0] is None and t0 >= t_start:
                    cpu0[0] = cpu_seconds()
                try:
                    node.submit(PAYLOAD, timeout=10)
                    t1 = clock()
                    rec.done(t0, t1, 1)
                    split(t0, sm.applied_at, t1)
                except raftengine.RaftError as e:
                    rec.done(t0, clock(), 0, 1, type(e).__name__)
        elif a.client == "threads":
            mode = run_ours_threads(a, node, rec, raftengine, cpu0)
        else:
            mode = run_ours_asyncio(a, node, rec, raftengine, cpu0)
        cpu = cpu_seconds() - (cpu0[0] if cpu0[0] is not None else cpu_seconds())
        extra = dict(system="raftengine", mode=mode, leader=me, leader_cpu=cpu / a.duration, pid=os.getpid())
        if to_apply:
            to_apply.sort()
            to_caller.sort()
            extra.update(p50_to_apply_ms=to_apply[len(to_apply) // 2] * 1e3,
                         p50_apply_to_caller_ms=to_caller[len(to_caller) // 2] * 1e3)
        emit(rec.summary(extra))
        wait_stopped()
    finally:
        node.close()


def _c_submit_sync(node):
    """Experiment (--submit-sync), not what the bindings do: the C ABI's own blocking submit,
    which waits in C with the GIL released, so no Python completion runs on the loop thread."""
    import ctypes
    L = ctypes.CDLL(os.environ["RAFTENGINE_LIBRARY"])
    f = L.re_node_submit_sync
    f.restype = ctypes.c_int
    f.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint32, ctypes.POINTER(ctypes.c_void_p),
                  ctypes.POINTER(ctypes.c_size_t), ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t]
    libc = ctypes.CDLL(None)
    libc.free.argtypes = [ctypes.c_void_p]
    res, n = ctypes.c_void_p(), ctypes.c_size_t()
    lid, laddr = ctypes.create_string_buffer(256), ctypes.create_string_buffer(256)
    handle = node._handle
    ref_res, ref_n = ctypes.byref(res), ctypes.byref(n)

    def submit(cmd):
        st = f(handle, cmd, len(cmd), 10000, ref_res, ref_n, lid, laddr, 256)
        if res.value:
            ctypes.string_at(res.value, n.value)
            libc.free(res.value)
            res.value = None
        return st
    return submit


def _lanes(a):
    lanes = max(1, min(a.lanes, a.in_flight))
    chunk = a.in_flight // lanes
    sizes = [chunk + (1 if i < a.in_flight % lanes else 0) for i in range(lanes)]
    return sizes


def run_ours_asyncio(a, node, rec, raftengine, cpu0):
    """N in flight from one asyncio loop: `lanes` tasks, each with its share of the window
    always outstanding as one submit_many_async call, resubmitted as soon as it resolves."""
    import asyncio

    sizes = _lanes(a)

    async def lane(n):
        batch = [PAYLOAD] * n
        while True:
            t0 = clock()
            if t0 >= rec.t_end:
                return
            if cpu0[0] is None and t0 >= rec.t_start:
                cpu0[0] = cpu_seconds()
            try:
                out = await node.submit_many_async(batch, timeout=30)
            except raftengine.RaftError as e:
                rec.done(t0, clock(), 0, n, type(e).__name__)
                continue
            t1 = clock()
            bad = [r for r in out if not isinstance(r, bytes)]
            rec.done(t0, t1, n - len(bad), len(bad), type(bad[0]).__name__ if bad else None)

    async def main():
        await asyncio.gather(*(lane(n) for n in sizes))

    asyncio.run(main())
    return f"submit_many_async, asyncio, {len(sizes)} lanes of {sizes[0]}"


def run_ours_threads(a, node, rec, raftengine, cpu0):
    """N in flight from `lanes` threads, each blocking in submit_many on its share."""
    sizes = _lanes(a)
    lock = threading.Lock()

    def lane(n):
        batch = [PAYLOAD] * n
        while True:
            t0 = clock()
            if t0 >= rec.t_end:
                return
            if cpu0[0] is None and t0 >= rec.t_start:
                cpu0[0] = cpu_seconds()
            try:
                out = node.submit_many(batch, timeout=30)
            except raftengine.RaftError as e:
                with lock:
                    rec.done(t0, clock(), 0, n, type(e).__name__)
                continue
            t1 = clock()
            bad = [r for r in out if not isinstance(r, bytes)]
            with lock:
                rec.done(t0, t1, n - len(bad), len(bad), type(bad[0]).__name__ if bad else None)

    ts = [threading.Thread(target=lane, args=(n,), daemon=True) for n in sizes]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return f"submit_many, {len(sizes)} threads of {sizes[0]}"


# ---------------------------------------------------------------- pysyncobj (theirs)

def run_pysyncobj(a, addrs):
    from pysyncobj import FAIL_REASON, SyncObj, SyncObjConf, replicated

    class Counter(SyncObj):
        """The same counter as a SyncObj: each command adds one and returns the new total."""

        def __init__(self, me, others, conf):
            super().__init__(me, others, conf)
            self.total = 0

        @replicated
        def incr(self, payload):
            self.total += 1
            return self.total

    me = addrs[a.index]
    others = [x for i, x in enumerate(addrs) if i != a.index]
    # Defaults otherwise: no journalFile, so the Raft log lives in memory (nothing written,
    # nothing fsynced); batching as asked.
    conf = SyncObjConf(appendEntriesUseBatch=a.batching == "on")
    obj = Counter(me, others, conf)
    try:
        deadline = time.monotonic() + 30
        while True:
            leader = obj._getLeader()
            if leader is not None:
                if obj._isLeader():
                    break
                wait_stopped()
            if time.monotonic() > deadline:
                sys.exit("no leader within 30 s")
            time.sleep(0.01)
        first = threading.Event()
        obj.incr(PAYLOAD, callback=lambda res, err: first.set())
        if not first.wait(10):
            sys.exit("first command got no answer in 10 s")
        print(f"LEADING {os.getpid()}", flush=True)

        t_start = clock() + a.warmup
        rec = Recorder(t_start, t_start + a.duration)
        sem = threading.BoundedSemaphore(a.in_flight)
        lock = threading.Lock()
        success = FAIL_REASON.SUCCESS
        names = {v: k for k, v in vars(FAIL_REASON).items() if not k.startswith("_")}

        def done(t0, res, err):  # pysyncobj's tick thread
            t1 = clock()
            with lock:
                if err == success:
                    rec.done(t0, t1, 1)
                else:
                    rec.done(t0, t1, 0, 1, names.get(err, err))
            sem.release()

        cpu0 = None
        incr = obj.incr
        while True:
            sem.acquire()
            t0 = clock()
            if t0 >= rec.t_end:
                sem.release()
                break
            if cpu0 is None and t0 >= t_start:
                cpu0 = cpu_seconds()
            incr(PAYLOAD, callback=lambda res, err, t0=t0: done(t0, res, err))
        cpu = cpu_seconds() - (cpu0 if cpu0 is not None else cpu_seconds())
        emit(rec.summary(dict(system="pysyncobj", mode=f"callbacks + semaphore of {a.in_flight}, batching {a.batching}",
                              leader=me, leader_cpu=cpu / a.duration, pid=os.getpid())))
        wait_stopped()
    finally:
        obj.destroy()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--system", choices=("raftengine", "pysyncobj"), required=True)
    p.add_argument("--index", type=int, required=True)
    p.add_argument("--addrs", required=True, help="comma-separated host:port of the three nodes")
    p.add_argument("--data-dir", required=True)
    p.add_argument("--in-flight", type=int, required=True)
    p.add_argument("--warmup", type=float, default=1.0)
    p.add_argument("--duration", type=float, default=5.0)
    p.add_argument("--batching", choices=("on", "off"), default="on", help="pysyncobj appendEntriesUseBatch")
    p.add_argument("--client", choices=("asyncio", "threads"), default="asyncio", help="raftengine load driver")
    p.add_argument("--lanes", type=int, default=4, help="raftengine: outstanding submit_many calls")
    p.add_argument("--no-reply", dest="reply", action="store_false",
                   help="raftengine: apply returns b'' instead of the new total")
    p.add_argument("--pin-thread-state", action="store_true",
                   help="raftengine experiment: keep the loop thread's Python thread state between callbacks")
    p.add_argument("--submit-sync", action="store_true",
                   help="raftengine experiment at 1 in flight: re_node_submit_sync instead of Node.submit")
    a = p.parse_args()
    signal.signal(signal.SIGTERM, _stop)
    addrs = a.addrs.split(",")
    if a.system == "raftengine":
        run_ours(a, addrs)
    else:
        run_pysyncobj(a, addrs)


if __name__ == "__main__":
    try:
        main()
    except SystemExit:
        raise
    except KeyboardInterrupt:
        pass
