"""Bring your own storage from Python: raftengine.Log, the adapter to the C table, SQLiteLog.

A 3-node cluster on SQLiteLogs commits and applies; every node is closed and reopened on the
same files (term, vote and entries survive, the machines are rebuilt to the same totals); a
snapshot compacts the log through the Log, a node restarts from it and a follower far behind
receives one; a Log written from the protocol alone (in memory) that raises in append stops its
node cleanly; a Log missing a method is refused. SQLiteLog's own contract (working transaction,
rollback, lock) is tested directly. The SIGKILL test is test_sqlite_processes.py.

RAFTENGINE_STORAGE_BENCH=1 also runs the throughput comparison with FileLog (docs/benchmarks.md).
"""

import logging
import os
import sqlite3
import threading
import time

import pytest

import raftengine
from conftest import FAST, Cluster, Counter, free_ports, wait_for


class SQLCluster(Cluster):
    """conftest's Cluster with every node's log in an SQLiteLog (no data dir)."""

    def __init__(self, base, n=3, log_class=None, host=None):
        super().__init__(base, n, host=host)
        self.log_class = log_class or raftengine.SQLiteLog
        self.logs = {}

    def path(self, nid):
        return os.path.join(self.base, nid + ".sqlite3")

    def start(self, nid, log=None, **options):
        peers = {p: a for p, a in self.addr.items() if p != nid}
        self.events.setdefault(nid, [])
        self.logs[nid] = log if log is not None else self.log_class(self.path(nid))
        self.nodes[nid] = raftengine.Node(id=nid, listen=self.addr[nid], peers=peers, state_machine=self.machines[nid],
                                          host=self.host, on_event=self.events[nid].append, log=self.logs[nid],
                                          **{**FAST, **options})
        return self.nodes[nid]

    def restart(self, nid, same_log=True):
        """Closes node `nid` and starts it again on its file with an empty machine."""
        self.nodes.pop(nid).close()
        self.machines[nid] = Counter()
        return self.start(nid, log=self.logs[nid] if same_log else None)

    def totals(self):
        return {nid: m.total for nid, m in self.machines.items()}

    def wait_totals(self, expected, timeout=15):
        return wait_for(lambda: all(t == expected for t in self.totals().values()), timeout=timeout)


@pytest.fixture
def sql_cluster(tmpdir_path):
    c = SQLCluster(tmpdir_path)
    yield c
    c.close()


# ---- The protocol and the adapter ----


class MemLog:
    """A Log written from raftengine.Log's docstrings alone, in memory (durable only as long
    as the object lives): proof that the adapter asks nothing SQLiteLog-specific."""

    def __init__(self):
        self.term, self.vote, self.commit, self.bootstrap = 0, None, 0, None
        self.prefix = (0, 0)
        self.entries = []  # entries[i] has index prefix[0] + 1 + i
        self.snapshot, self.broken = None, False
        self.fail_append = self.fail_loads = False
        self.syncs = self.closes = 0

    def _load(self, value):
        if self.fail_loads:
            raise OSError("cannot read (injected)")
        return value

    def load_hard_state(self):
        return self._load((self.term, self.vote))

    def save_hard_state(self, term, voted_for):
        self.term, self.vote = term, voted_for

    def load_commit_index(self):
        return self._load(self.commit)

    def save_commit_index(self, index):
        self.commit = index

    def load_bootstrap_config(self):
        return self._load(self.bootstrap)

    def save_bootstrap_config(self, config):
        self.bootstrap = config

    def load_bounds(self):
        return self._load((self.prefix[0], self.prefix[1], self.prefix[0] + len(self.entries)))

    def read_entries(self, first, last):
        base = self.prefix[0] + 1
        return iter(self.entries[first - base:last - base + 1])

    def append(self, entries):
        if self.fail_append:
            raise OSError(28, "disk full (injected)")
        assert entries[0][0] == self.prefix[0] + len(self.entries) + 1
        self.entries.extend(entries)

    def truncate(self, from_index):
        del self.entries[from_index - self.prefix[0] - 1:]

    def _drop_through(self, index):
        del self.entries[:max(0, index - self.prefix[0])]

    def save_snapshot(self, meta, data, compact_through, compact_term):
        self.snapshot = (meta, data)
        if compact_through > self.prefix[0]:
            self._drop_through(compact_through)
            self.prefix = (compact_through, compact_term)

    def install_snapshot(self, meta, data, index, term, keep_entries):
        self.snapshot = (meta, data)
        if keep_entries:
            self._drop_through(index)
        else:
            self.entries = []
        self.prefix = (index, term)

    def load_snapshot(self):
        return self.snapshot

    def load_broken(self):
        return self._load(self.broken)

    def save_broken(self, broken):
        self.broken = broken

    def sync(self):
        self.syncs += 1

    def close(self):
        self.closes += 1


def solo(log, **options):
    return raftengine.Node(id="solo", listen="127.0.0.1:0", state_machine=options.pop("machine", Counter()), log=log,
                           **{**FAST, **options})


def test_a_log_missing_a_method_is_refused_by_name(tmpdir_path):
    class NoTruncate(MemLog):
        truncate = None

    with pytest.raises(raftengine.InvalidArgument, match=r"log must have a callable truncate\(\)"):
        solo(NoTruncate())

    class Bare:
        def load_hard_state(self):
            return 0, None

    with pytest.raises(raftengine.InvalidArgument, match=r"log must have a callable save_hard_state\(\)"):
        solo(Bare())
    with pytest.raises(raftengine.InvalidArgument, match="data_dir is required unless log= is given"):
        raftengine.Node(id="a", listen="127.0.0.1:0", state_machine=Counter())
    # close is optional, as in the C table; both satisfy the Protocol structurally.
    assert isinstance(MemLog(), raftengine.Log)
    log = raftengine.SQLiteLog(os.path.join(tmpdir_path, "p.sqlite3"))
    assert isinstance(log, raftengine.Log)
    log.close()


def test_any_log_object_works_and_restarts_on_it():
    log = MemLog()
    with solo(log) as n:
        n.wait_for_leader(10)
        assert n.submit(b"4") == b"4"
        assert n.submit_many([b"1"] * 5) == [str(4 + i).encode() for i in range(1, 6)]
    assert log.closes == 1 and log.syncs > 0 and log.term >= 1 and log.vote == "solo"
    assert [e[3] for e in log.entries if e[2] == 0] == [b"4"] + [b"1"] * 5
    machine = Counter()
    with solo(log, machine=machine) as n:  # the same object serves the node restarted after it
        n.wait_for_leader(10)
        assert wait_for(lambda: machine.total == 9, timeout=5)
        assert n.submit(b"1") == b"10"
    assert log.closes == 2

    class NoClose(MemLog):  # close() is optional
        close = None

    with solo(NoClose()) as n:
        n.wait_for_leader(10)
        assert n.submit(b"1") == b"1"


def test_a_log_that_raises_in_append_stops_the_node_cleanly(caplog):
    caplog.set_level(logging.ERROR, logger="raftengine")
    log, events = MemLog(), []
    n = solo(log, on_event=events.append)
    try:
        n.wait_for_leader(10)
        assert n.submit(b"1") == b"1"
        log.fail_append = True
        with pytest.raises(raftengine.NodeStopped):
            n.submit(b"2", timeout=5)
        assert wait_for(lambda: n.status().stopped, timeout=5)
        assert any(e.kind == raftengine.EventKind.ERROR for e in events)
        stopped = [e for e in events if e.kind == raftengine.EventKind.STOPPED]
        assert [e.value for e in stopped] == ["STORAGE_FAILURE"]
        assert "append returned -1" in stopped[0].detail
    finally:
        n.close()
    assert log.closes == 1
    # The exception itself reached the raftengine logger, with its traceback.
    assert "node solo: storage MemLog.append() failed" in caplog.text
    assert "disk full (injected)" in caplog.text


def test_a_log_that_raises_in_a_load_fails_the_start(caplog):
    log = MemLog()
    log.fail_loads = True
    with pytest.raises(raftengine.StorageError, match="load_hard_state returned -1"):
        solo(log)
    assert log.closes == 1
    assert "cannot read (injected)" in caplog.text


def test_read_entries_stops_when_put_says_so():
    """A Log that would give more than asked: the adapter stops at put()'s word and closes it."""

    class Greedy(MemLog):
        calls = []

        def read_entries(self, first, last):
            call = dict(first=first, last=last, pulled=[], closed=False)
            self.calls.append(call)
            try:
                for e in self.entries[first - self.prefix[0] - 1:]:
                    call["pulled"].append(e[0])
                    yield e
                for extra in range(last + 1, last + 100):  # beyond what exists: must never be pulled
                    call["pulled"].append(extra)
                    yield (extra, self.term, 0, b"x")
            finally:
                call["closed"] = True

    log = Greedy()
    with solo(log) as n:
        n.wait_for_leader(10)
        n.submit_many([b"1"] * 20)
    last = len(log.entries)
    Greedy.calls.clear()
    machine = Counter()
    with solo(log, machine=machine) as n:  # the start reads every retained entry once
        n.wait_for_leader(10)
        assert wait_for(lambda: machine.total == 20, timeout=5)
    assert (Greedy.calls[0]["first"], Greedy.calls[0]["last"]) == (1, last)
    for call in Greedy.calls:
        assert call["pulled"] == list(range(call["first"], call["last"] + 1)), "read past put()'s stop"
        assert call["closed"]


# ---- SQLiteLog's own contract ----


def test_sqlite_log_transaction_rollback_and_lock(tmpdir_path):
    path = os.path.join(tmpdir_path, "unit.sqlite3")
    log = raftengine.SQLiteLog(path)
    assert log.load_hard_state() == (0, None)
    assert (log.load_commit_index(), log.load_bootstrap_config(), log.load_bounds()) == (0, None, (0, 0, 0))
    assert log.load_snapshot() is None and log.load_broken() is False
    # The file is locked while open.
    with pytest.raises(raftengine.DataDirLocked, match="in use"):
        raftengine.SQLiteLog(path)

    log.save_hard_state(3, "n2")
    log.save_bootstrap_config(b"\x01cfg")
    log.append([(1, 1, 1, b""), (2, 1, 0, b"a"), (3, 2, 0, b"b"), (4, 2, 0, b"c")])
    log.sync()
    log.truncate(4)
    log.append([(4, 3, 0, b"d"), (5, 3, 2, b"conf")])
    log.save_commit_index(3)
    assert log.load_bounds() == (0, 0, 5)  # reads see the working transaction
    log.sync()
    log.append([(6, 3, 0, b"lost")])
    log.save_hard_state(4, None)
    log.close()  # unsynced: gone, as in a crash
    assert log.load_hard_state() == (3, "n2")  # the next call reopens
    assert log.load_bounds() == (0, 0, 5)
    assert list(log.read_entries(2, 5)) == [(2, 1, 0, b"a"), (3, 2, 0, b"b"), (4, 3, 0, b"d"), (5, 3, 2, b"conf")]
    assert log.load_commit_index() == 3 and log.load_bootstrap_config() == b"\x01cfg"
    with pytest.raises(ValueError):
        list(log.read_entries(5, 6))
    # The commit index alone is lazy: no transaction of its own, written at close() once the
    # rest is durable.
    log.save_commit_index(4)
    log.sync()
    log.close()
    assert log.load_commit_index() == 4

    # A snapshot compacts; entries after it stay.
    log.save_snapshot(b"meta3", b"state3", 3, 2)
    assert log.load_bounds() == (3, 2, 5) and log.load_snapshot() == (b"meta3", b"state3")
    assert list(log.read_entries(4, 5))[0] == (4, 3, 0, b"d")
    # Installed snapshots: keeping the entries after it, then dropping all (and moving past them).
    log.install_snapshot(b"meta4", b"state4", 4, 3, True)
    assert log.load_bounds() == (4, 3, 5)
    log.install_snapshot(b"meta9", b"state9", 9, 5, False)
    assert log.load_bounds() == (9, 5, 9)
    log.append([(10, 5, 0, b"e")])
    log.save_broken(True)
    log.sync()

    # A write that fails rolls back every unsynced write and fails the log until close().
    log.append([(11, 5, 0, b"f")])
    with pytest.raises(ValueError, match="append of 13 to 13"):
        log.append([(13, 5, 0, b"gap")])
    with pytest.raises(raftengine.StorageError, match="an earlier write failed"):
        log.sync()
    log.close()
    fresh = raftengine.SQLiteLog(path)
    assert fresh.load_bounds() == (9, 5, 10) and fresh.load_broken() is True
    assert fresh.load_snapshot() == (b"meta9", b"state9")
    fresh.close()
    # One file, two tables; nothing else beside it but SQLite's own WAL.
    tables = {r[0] for r in sqlite3.connect(path).execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {"entries", "meta"}


# ---- A cluster on SQLiteLogs ----


def test_cluster_commits_and_everything_survives_a_restart(sql_cluster):
    c = sql_cluster
    c.start_all()
    total = 0
    for i in range(1, 11):
        c.submit(str(i).encode())
        total += i
    leader = c.leader()
    assert c.nodes[leader].submit_many([b"2"] * 200) [-1] == str(total + 400).encode()
    total += 400
    assert c.wait_totals(total), c.totals()
    assert sorted(os.listdir(c.base)) == sorted(
        f for nid in c.ids for f in (nid + ".sqlite3", nid + ".sqlite3-wal")), "FileLog wrote a data dir"
    before = {nid: n.status() for nid, n in c.nodes.items()}
    for nid in [n for n in c.ids if n != leader] + [leader]:  # followers first: no election meanwhile
        c.nodes.pop(nid).close()  # the node stops: syncs, then closes its file

    lasts = set()
    for nid in c.ids:
        log = raftengine.SQLiteLog(c.path(nid))
        term, vote = log.load_hard_state()
        assert term == before[leader].term  # a stable cluster: every node in the leader's term
        if nid == leader:
            assert vote == leader
        prefix, _, last = log.load_bounds()
        assert prefix == 0 and last >= 211  # a term start, 10 + 200 commands
        lasts.add(last)
        commands = [e[3] for e in log.read_entries(1, last) if e[2] == 0]
        assert commands == [str(i).encode() for i in range(1, 11)] + [b"2"] * 200
        assert log.load_commit_index() <= last
        log.close()
    assert len(lasts) == 1

    for nid in c.ids:  # reopen on the same files, with empty machines
        c.machines[nid] = Counter()
        c.start(nid)
    assert c.wait_totals(total), c.totals()
    assert all(n.status().term >= before[nid].term for nid, n in c.nodes.items())
    assert c.submit(b"5") == str(total + 5).encode()
    assert c.wait_totals(total + 5)


class CountingLog(raftengine.SQLiteLog):
    """SQLiteLog counting the snapshot calls the node makes through the protocol."""

    def __init__(self, path):
        super().__init__(path)
        self.saved = self.installed = self.loads = 0

    def save_snapshot(self, *args):
        super().save_snapshot(*args)
        self.saved += 1

    def install_snapshot(self, *args):
        super().install_snapshot(*args)
        self.installed += 1

    def load_snapshot(self):
        self.loads += 1
        return super().load_snapshot()


def test_snapshot_compaction_restart_and_install_through_the_log(tmpdir_path):
    c = SQLCluster(tmpdir_path, log_class=CountingLog)
    try:
        c.start_all()
        c.submit(b"1")
        leader = c.leader()
        behind = next(n for n in c.ids if n != leader)
        c.nodes.pop(behind).close()  # falls far behind
        burst = 1200  # more than the 1000 entries a snapshot leaves behind, so it compacts
        outcomes = c.nodes[leader].submit_many([b"1"] * burst)
        assert all(isinstance(o, bytes) for o in outcomes)
        total = 1 + burst
        running = [n for n in c.ids if n != behind]
        assert wait_for(lambda: all(c.machines[n].total == total for n in running), timeout=10)
        for nid in running:
            c.nodes[nid].take_snapshot()
            log = c.logs[nid]
            prefix, _, last = log.load_bounds()
            assert log.saved == 1 and prefix > 0 and last > prefix
            assert log.load_snapshot() is not None

        # The leader restarts from its own snapshot plus the entries after it (same object).
        loads = c.logs[leader].loads
        c.restart(leader)
        assert c.logs[leader].loads > loads
        c.submit(b"1")
        total += 1
        assert wait_for(lambda: all(c.machines[n].total == total for n in running), timeout=10)

        # The follower's log ends before every other node's first entry: it gets a snapshot.
        c.machines[behind] = Counter()
        c.start(behind)
        assert wait_for(lambda: c.logs[behind].installed == 1, timeout=10)
        assert c.logs[behind].load_bounds()[0] > 1
        assert c.wait_totals(total, timeout=10), c.totals()

        # And it restarts from the installed snapshot (a new SQLiteLog on its file).
        c.restart(behind, same_log=False)
        assert c.wait_totals(total, timeout=10), c.totals()
    finally:
        c.close()


# ---- Throughput against FileLog (opt-in; the figures are in docs/benchmarks.md) ----


def _pin_thread_state(event):
    """on_event for the FileLog+pin row: keeps a Python thread state on the loop thread from
    its first event on, as the Log adapter does (never released: benchmark only)."""
    if not getattr(_pinned, "done", False):  # per thread state, so a reused thread id is pinned again
        from raftengine import storage
        storage._gil_ensure()
        _pinned.done = True


_pinned = threading.local()


def _throughput(base, kind, single, batch_rounds, batch):
    ids = ["b1", "b2", "b3"]
    addrs = dict(zip(ids, (f"127.0.0.1:{p}" for p in free_ports(3))))
    nodes = []
    for i in ids:
        if kind == "SQLiteLog":
            where = dict(log=raftengine.SQLiteLog(os.path.join(base, i + ".sqlite3")))
        else:
            where = dict(data_dir=os.path.join(base, i))
            if kind == "FileLog+pin":
                where["on_event"] = _pin_thread_state
        nodes.append(raftengine.Node(id=i, listen=addrs[i], peers={p: a for p, a in addrs.items() if p != i},
                                     state_machine=Counter(), **where))
    try:
        leader = nodes[0].wait_for_leader(10)
        node = next(n for n in nodes if n.id == leader)
        for _ in range(300):  # warm-up: SQLite's WAL reaches its working size, FileLog its segment
            node.submit(b"1")
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(single):
            node.submit(b"1")
        one = single / (time.perf_counter() - t0)
        one_cpu = (time.process_time() - c0) / single * 1e6
        cmds = [b"1"] * batch
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(batch_rounds):
            node.submit_many(cmds)
        many = batch_rounds * batch / (time.perf_counter() - t0)
        many_cpu = (time.process_time() - c0) / (batch_rounds * batch) * 1e6
        return one, many, one_cpu, many_cpu
    finally:
        for n in nodes:
            n.close()


@pytest.mark.skipif(not os.environ.get("RAFTENGINE_STORAGE_BENCH"), reason="set RAFTENGINE_STORAGE_BENCH=1")
def test_benchmark_sqlite_log_against_file_log(tmpdir_path):
    """Medians of alternating rounds, one process: FileLog as Node() has it; FileLog with a
    thread state kept on each loop thread (what the Log adapter does for its nodes, isolated);
    SQLiteLog. A host (loop thread) per node, 1-byte commands to a Counter."""
    rounds = int(os.environ.get("RAFTENGINE_STORAGE_BENCH_ROUNDS", "3"))
    results = {"FileLog": [], "FileLog+pin": [], "SQLiteLog": []}
    for r in range(rounds):  # alternating, so all see the same machine
        for name in results:
            base = os.path.join(tmpdir_path, f"{name}-{r}")
            os.makedirs(base)
            results[name].append(_throughput(base, name, single=1000, batch_rounds=20, batch=1000))
    def median(values):
        return sorted(values)[len(values) // 2]

    print()
    print("median of rounds: commits/s (CPU us of the process per commit); every round's commits/s")
    for name, runs in results.items():
        print(f"{name:12} submit(): {median([r[0] for r in runs]):>7,.0f}/s ({median([r[2] for r in runs]):.0f} us)"
              f"  submit_many(1000): {median([r[1] for r in runs]):>7,.0f}/s ({median([r[3] for r in runs]):.0f} us)"
              f"  | {', '.join(f'{r[0]:,.0f}' for r in runs)} | {', '.join(f'{r[1]:,.0f}' for r in runs)}")
