"""Client history and checks for the partition tests.

Workers are threads of the test process that talk RESP to the nodes. Every request to a node
is one recorded operation: its invoke and complete times (time.monotonic()), the node that was
asked, the node the logical operation started at (`first`), and the outcome: ok (with the value
read), moved, tryagain, timeout (the node's TIMEOUT answer or no answer within the client's
socket timeout), conn (connection refused, reset or closed) or error (any other error reply).

Keys are single-writer registers: worker c alone writes key k<c>, with strictly increasing
integers (a value is never reused, even when a write's outcome is unknown). Raft commits one
writer's entries in the order it sent them (a command left behind in a deposed leader's log
can never commit after a later term's entry), so the register's value only grows, and a read
history is linearizable exactly when, for every successful read r of key k:

  1. r returns at least the latest write to k acknowledged before r was invoked (no stale read);
  2. r returns 0 (never written) or a value whose write had been invoked before r completed;
  3. r returns at least what any read of k that completed before r was invoked returned.

Any outcome other than ok leaves a write unknown: it may or may not take effect, so it only
bounds rule 2.
"""

import bisect
import itertools
import random
import socket
import threading
import time

from conftest import RespError

OK, MOVED, TRYAGAIN, TIMEOUT, ERROR, CONN = "ok", "moved", "tryagain", "timeout", "error", "conn"


class Op:
    __slots__ = ("seq", "client", "kind", "key", "value", "node", "first", "start", "invoke", "complete",
                 "outcome", "detail")

    def __init__(self, **kw):
        for k in self.__slots__:
            setattr(self, k, kw.get(k))


class History:
    def __init__(self):
        self.t0 = time.monotonic()
        self.ops = []
        self.lock = threading.Lock()
        self.seq = itertools.count()

    def record(self, op):
        with self.lock:
            op.seq = next(self.seq)
            self.ops.append(op)

    def snapshot(self):
        with self.lock:
            return list(self.ops)

    def __len__(self):
        return len(self.ops)

    def since(self, i):
        """Operations recorded from position i on (recorded when they complete, so in
        completion order up to the few microseconds between completing and recording)."""
        with self.lock:
            return self.ops[i:]

    def t(self, when):
        return f"{when - self.t0:8.3f}"

    def fmt(self, op):
        what = f"SET {op.key} {op.value}" if op.kind == "w" else f"GET {op.key}"
        got = op.value if (op.kind == "r" and op.outcome == OK) else ""
        via = f" (first {op.first})" if op.first and op.first != op.node else ""
        detail = f" {op.detail}" if op.detail else ""
        return (f"#{op.seq:<6} c{op.client:<5} {what:<16} at {op.node}{via} "
                f"[{self.t(op.invoke)} → {self.t(op.complete)}] {op.outcome} {got}{detail}")


def classify(err):
    msg = str(err)
    if msg.startswith("MOVED"):
        return MOVED, msg.rsplit(" ", 1)[-1]
    if msg.startswith("TRYAGAIN"):
        return TRYAGAIN, msg
    if msg.startswith("TIMEOUT"):
        return TIMEOUT, msg
    return ERROR, msg


class Worker(threading.Thread):
    """Writes its own register and reads its own and others'. A roaming worker follows MOVED
    and retries elsewhere on TRYAGAIN, timeouts and connection errors (up to 4 s per logical
    operation); a pinned worker asks one node, following at most one MOVED it answers."""

    def __init__(self, load, cid, pin=None):
        super().__init__(daemon=True, name=f"worker-{cid}")
        self.load = load
        self.cid = cid
        self.pin = pin
        self.key = f"k{cid}"
        self.conns = {}
        self.target = pin or random.choice(load.cluster.ids)
        self.rng = random.Random(cid)
        self.writes_ok = 0
        self.last_value = 0

    def conn(self, nid):
        c = self.conns.get(nid)
        if c is None:
            c = self.conns[nid] = self.load.cluster.client(nid, timeout=self.load.op_timeout)
        return c

    def drop(self, nid):
        c = self.conns.pop(nid, None)
        if c is not None:
            try:
                c.close()
            except OSError:
                pass

    def attempt(self, nid, kind, key, value, first, start):
        invoke = time.monotonic()
        detail, moved = None, None
        try:
            c = self.conn(nid)
            if kind == "w":
                r = c.call("SET", key, str(value))
                outcome = OK if r == "OK" else ERROR
                detail = None if r == "OK" else repr(r)
            else:
                r = c.call("GET", key)
                value = 0 if r is None else int(r)
                outcome = OK
        except RespError as e:
            outcome, detail = classify(e)
            if outcome == MOVED:
                moved = self.load.cluster.by_addr.get(detail)
        except socket.timeout:
            outcome, detail = TIMEOUT, "no answer within the client timeout"
            self.drop(nid)
        except OSError as e:
            outcome, detail = CONN, f"{type(e).__name__}: {e}"
            self.drop(nid)
        except Exception as e:  # a malformed reply: an error, never a silent success
            outcome, detail = ERROR, f"{type(e).__name__}: {e}"
            self.drop(nid)
        op = Op(client=self.cid, kind=kind, key=key, value=value, node=nid, first=first, start=start,
                invoke=invoke, complete=time.monotonic(), outcome=outcome, detail=detail)
        self.load.history.record(op)
        return op, moved

    def operate(self, kind, key, value=None):
        start = time.monotonic()
        if self.pin:
            op, moved = self.attempt(self.pin, kind, key, value, self.pin, start)
            if op.outcome == MOVED and moved:
                op, _ = self.attempt(moved, kind, key, value, self.pin, start)
            return op
        deadline = start + 4.0
        nid, first = self.target, self.target
        while True:
            op, moved = self.attempt(nid, kind, key, value, first, start)
            if op.outcome == OK:
                self.target = nid
                return op
            if self.load.stopping.is_set() or time.monotonic() > deadline or op.outcome == ERROR:
                return op
            if op.outcome == MOVED and moved:
                nid = moved
                continue
            time.sleep(0.02 + 0.03 * self.rng.random())
            nid = self.rng.choice([n for n in self.load.cluster.ids if n != nid])

    def run(self):
        keys = self.load.keys
        while not self.load.stopping.is_set():
            self.last_value += 1
            op = self.operate("w", self.key, self.last_value)
            if op.outcome == OK:
                self.writes_ok += 1
            self.operate("r", self.key)
            self.operate("r", self.rng.choice(keys))
            # Leave the two cores to the nodes; a pinned worker whose node refuses everything
            # would otherwise spin.
            time.sleep(0.004 if op.outcome == OK else 0.02)
        for nid in list(self.conns):
            self.drop(nid)


class Sample:
    __slots__ = ("node", "invoke", "complete", "role", "term", "leader", "commit", "applied")

    def __init__(self, **kw):
        for k in self.__slots__:
            setattr(self, k, kw.get(k))


class Sampler(threading.Thread):
    """Asks every node for INFO every ~40 ms (over the clients' network, which no fault cuts)."""

    def __init__(self, load):
        super().__init__(daemon=True, name="sampler")
        self.load = load
        self.samples = []
        self.lock = threading.Lock()
        self.conns = {}

    def one(self, nid):
        invoke = time.monotonic()
        try:
            c = self.conns.get(nid) or self.load.cluster.client(nid, timeout=1.0)
            self.conns[nid] = c
            text = c.call("INFO").decode()
        except Exception:
            c = self.conns.pop(nid, None)
            if c:
                c.close()
            return
        f = dict(line.split(":", 1) for line in text.split("\r\n") if ":" in line)
        s = Sample(node=nid, invoke=invoke, complete=time.monotonic(), role=f.get("role"),
                   term=int(f.get("term", 0)), leader=f.get("leader") or None,
                   commit=int(f.get("commit_index", 0)), applied=int(f.get("applied_index", 0)))
        with self.lock:
            self.samples.append(s)

    def run(self):
        while not self.load.stopping.is_set():
            for nid in self.load.cluster.ids:
                self.one(nid)
            time.sleep(0.04)
        for c in self.conns.values():
            c.close()

    def snapshot(self):
        with self.lock:
            return list(self.samples)


class Load:
    """The workers and the sampler of one test case."""

    def __init__(self, cluster, roaming=3, op_timeout=1.0):
        self.cluster = cluster
        self.history = History()
        self.stopping = threading.Event()
        self.op_timeout = op_timeout
        cids = itertools.count(1)
        self.workers = [Worker(self, next(cids)) for _ in range(roaming)]
        self.workers += [Worker(self, next(cids), pin=nid) for nid in cluster.ids]
        self.keys = [w.key for w in self.workers]
        self.sampler = Sampler(self)

    def start(self):
        self.sampler.start()
        for w in self.workers:
            w.start()

    def stop(self):
        self.stopping.set()
        for w in self.workers + [self.sampler]:
            w.join(30)
        alive = [w.name for w in self.workers + [self.sampler] if w.is_alive()]
        assert not alive, f"client threads did not stop: {alive}"

    def final_reads(self, timeout=30.0):
        """A linearizable read of every key after the load stopped, recorded in the history
        (client 0): at the leader, following MOVED, retrying until `timeout`."""
        reader = Worker(self, 0)
        reader.load = _Unstopped(self)
        out = {}
        for key in self.keys:
            end = time.monotonic() + timeout
            op = reader.operate("r", key)
            while op.outcome != OK and time.monotonic() < end:
                time.sleep(0.1)
                op = reader.operate("r", key)
            out[key] = op
        for nid in list(reader.conns):
            reader.drop(nid)
        return out


class _Unstopped:
    """The Load as the final reader sees it: never stopping."""

    def __init__(self, load):
        self.cluster, self.history, self.op_timeout = load.cluster, load.history, load.op_timeout
        self.stopping = threading.Event()
        self.keys = load.keys


# Checks --------------------------------------------------------------------------------------

def _context(history, ops, key, around, before=2.0, after=0.5, limit=40):
    lo, hi = min(o.invoke for o in around) - before, max(o.complete for o in around) + after
    near = [o for o in ops if o.key == key and o.complete >= lo and o.invoke <= hi]
    lines = [history.fmt(o) for o in near[-limit:]]
    return "\n      ".join(lines)


def check_registers(history, ops=None, limit=5):
    """Rules 1-3 of the module docstring over every successful read. Returns messages (empty
    when the history is linearizable), each with the offending operations and their key's
    neighbourhood."""
    ops = ops if ops is not None else history.snapshot()
    writes = {}  # key -> value -> [first invoke, first ack or None, ops]
    for o in ops:
        if o.kind != "w":
            continue
        e = writes.setdefault(o.key, {}).setdefault(o.value, [o.invoke, None, []])
        e[0] = min(e[0], o.invoke)
        e[2].append(o)
        if o.outcome == OK and (e[1] is None or o.complete < e[1]):
            e[1] = o.complete
    problems = []
    reads_by_key = {}
    for o in ops:
        if o.kind == "r" and o.outcome == OK:
            reads_by_key.setdefault(o.key, []).append(o)
    for key, reads in reads_by_key.items():
        wk = writes.get(key, {})
        acks = sorted((e[1], v) for v, e in wk.items() if e[1] is not None)
        ack_times = [a for a, _ in acks]
        best = []
        m = 0
        for _, v in acks:
            m = max(m, v)
            best.append(m)
        for r in reads:
            i = bisect.bisect_left(ack_times, r.invoke)
            floor = best[i - 1] if i > 0 else 0
            if r.value < floor:
                w = [o for o in wk[floor][2] if o.outcome == OK]
                problems.append(f"stale read: {history.fmt(r)}\n    write of {floor} acknowledged before it: "
                                f"{history.fmt(w[0])}\n    key {key} around it:\n      "
                                + _context(history, ops, key, [r] + w))
            if r.value != 0 and (r.value not in wk or wk[r.value][0] > r.complete):
                problems.append(f"read of a value not yet written: {history.fmt(r)}\n    key {key} around it:\n      "
                                + _context(history, ops, key, [r]))
        # Rule 3: sweep reads by invoke time, with the largest value among reads completed
        # before it.
        by_complete = sorted(reads, key=lambda o: o.complete)
        j, top = 0, None
        for r in sorted(reads, key=lambda o: o.invoke):
            while j < len(by_complete) and by_complete[j].complete < r.invoke:
                if top is None or by_complete[j].value > top.value:
                    top = by_complete[j]
                j += 1
            if top is not None and r.value < top.value:
                problems.append(f"read went back in time: {history.fmt(r)}\n    after {history.fmt(top)}\n"
                                f"    key {key} around it:\n      " + _context(history, ops, key, [r, top]))
        if len(problems) >= limit:
            break
    return problems


def check_final(history, finals, ops=None):
    """Every key's final read returns at least its last acknowledged write."""
    ops = ops if ops is not None else history.snapshot()
    problems = []
    for key, r in finals.items():
        acked = [o for o in ops if o.key == key and o.kind == "w" and o.outcome == OK]
        if r.outcome != OK:
            problems.append(f"no final read of {key} succeeded: {history.fmt(r)}")
            continue
        if acked:
            last = max(acked, key=lambda o: o.value)
            if r.value < last.value:
                problems.append(f"acknowledged write missing: {history.fmt(last)}\n    final read {history.fmt(r)}\n"
                                f"    key {key} at the end:\n      "
                                + "\n      ".join(history.fmt(o) for o in [o for o in ops if o.key == key][-30:]))
    return problems


def check_election_safety(history, samples):
    """At most one node is ever seen leading a given term."""
    leaders = {}
    for s in samples:
        if s.role == "leader":
            leaders.setdefault(s.term, {}).setdefault(s.node, s)
    return [f"term {t} had {len(by)} leaders: " + ", ".join(f"{n} seen at {history.t(s.invoke)}" for n, s in by.items())
            for t, by in leaders.items() if len(by) > 1]


def fmt_sample(history, s):
    return (f"{s.node} [{history.t(s.invoke)} → {history.t(s.complete)}] role {s.role} term {s.term} "
            f"leader {s.leader} commit {s.commit} applied {s.applied}")


def longest_write_gap(ops, t_from, t_to):
    """The longest time in [t_from, t_to] between two successful writes (any clients), counted
    from the last success before t_from when `ops` holds one."""
    oks = [o.complete for o in ops if o.kind == "w" and o.outcome == OK and o.complete <= t_to]
    before = [t for t in oks if t <= t_from]
    times = [max(before) if before else t_from] + sorted(t for t in oks if t > t_from)
    if len(times) < 2:
        return t_to - times[0], (times[0], t_to)
    return max((b - a, (a, b)) for a, b in zip(times, times[1:]))


def first_write_through(ops, nid, after):
    """The first successful write of a logical operation that started at `nid` after `after`."""
    hits = [o for o in ops if o.kind == "w" and o.outcome == OK and o.first == nid and o.start >= after]
    return min(hits, key=lambda o: o.complete) if hits else None
