import os
import socket
import tempfile
import threading
import time

import pytest

import raftengine


class Counter:
    """State machine: each command is a decimal number added to the total; returns the total.
    b"fail:WHY" is a bad command every replica refuses alike (ValueError(WHY))."""

    def __init__(self):
        self.total = 0
        self.applied = 0
        self.fail = False
        self.failed = 0
        self.lock = threading.Lock()

    def apply(self, command: bytes) -> bytes:
        if self.fail:
            self.failed += 1
            raise RuntimeError("injected failure")
        if command.startswith(b"fail:"):
            raise ValueError(command[5:].decode())
        with self.lock:
            self.total += int(command.decode())
            self.applied += 1
            return str(self.total).encode()

    def snapshot(self) -> bytes:
        return str(self.total).encode()

    def restore(self, data: bytes) -> None:
        self.total = int(data.decode() or "0")


def free_ports(n):
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def wait_for(predicate, timeout=10.0, interval=0.01):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


FAST = dict(heartbeat_ms=20, election_timeout_ms=(150, 300))


class Cluster:
    def __init__(self, base, n=3, host=None):
        self.base = base
        self.ids = [f"n{i + 1}" for i in range(n)]
        ports = free_ports(n)
        self.addr = {i: f"127.0.0.1:{p}" for i, p in zip(self.ids, ports)}
        self.machines = {i: Counter() for i in self.ids}
        self.nodes = {}
        self.events = {}
        self.host = host

    def start(self, nid, **options):
        peers = {p: a for p, a in self.addr.items() if p != nid}
        self.events.setdefault(nid, [])
        self.nodes[nid] = raftengine.Node(id=nid, data_dir=os.path.join(self.base, nid), listen=self.addr[nid],
                                          peers=peers, state_machine=self.machines[nid], host=self.host,
                                          on_event=self.events[nid].append, **{**FAST, **options})
        return self.nodes[nid]

    def start_all(self, **options):
        for nid in self.ids:
            self.start(nid, **options)

    def events_of(self, nid, kind):
        return [e for e in list(self.events.get(nid, [])) if e.kind == kind]

    def leader(self):
        for nid, node in self.nodes.items():
            try:
                if node.status().is_leader:
                    return nid
            except raftengine.NodeStopped:
                pass
        return None

    def submit(self, command: bytes, timeout=10.0):
        end = time.monotonic() + timeout
        while True:
            nid = wait_for(self.leader, timeout=max(0.1, end - time.monotonic()))
            try:
                if nid is None:
                    raise raftengine.RetryLater("no leader")
                return self.nodes[nid].submit(command, timeout=3.0)
            except (raftengine.NotLeader, raftengine.RetryLater, raftengine.CommandTimeout):
                if time.monotonic() > end:
                    raise
                time.sleep(0.02)

    def close(self):
        for node in self.nodes.values():
            node.close()
        self.nodes.clear()


@pytest.fixture
def tmpdir_path():
    with tempfile.TemporaryDirectory(prefix="raftengine-py-") as d:
        yield d


@pytest.fixture
def cluster(tmpdir_path):
    c = Cluster(tmpdir_path)
    c.start_all()
    yield c
    c.close()
