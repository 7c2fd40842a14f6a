"""Runs raftengine-node processes on loopback and talks to them as Redis clients do."""

import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("RAFTENGINE_NODE", os.path.join(ROOT, ".build", "debug", "raftengine-node"))


class RespError(Exception):
    pass


class Client:
    """A minimal Redis protocol client: one connection, one request at a time."""

    def __init__(self, port, timeout=5.0, host="127.0.0.1"):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""

    def close(self):
        self.sock.close()

    def send_raw(self, data: bytes):
        self.sock.sendall(data)

    def call(self, *args):
        parts = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.sock.sendall(b"".join(parts))
        return self.read()

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def read(self):
        line = self._line()
        t, rest = line[:1], line[1:]
        if t == b"+":
            return rest.decode()
        if t == b"-":
            raise RespError(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise ConnectionError("closed")
                self.buf += chunk
            data, self.buf = self.buf[:n], self.buf[n + 2:]
            return data
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        raise RespError("bad reply " + repr(line))


def free_ports(n):
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


class Cluster:
    """`password` starts every node with --requirepass (and makes the helpers AUTH);
    `metrics` gives each node a --metrics-addr (ports in self.metrics)."""

    def __init__(self, base, n=3, password=None, metrics=False):
        self.base = base
        self.ids = [f"n{i + 1}" for i in range(n)]
        ports = free_ports(3 * n + 2)
        self.raft = {nid: ports[i] for i, nid in enumerate(self.ids)}
        self.client = {nid: ports[n + i] for i, nid in enumerate(self.ids)}
        self.metrics = {nid: ports[2 * n + i] for i, nid in enumerate(self.ids)} if metrics else {}
        self.spare = ports[3 * n:]
        self.procs = {}
        self.password = password

    def connect(self, nid, timeout=5.0):
        c = Client(self.client[nid], timeout=timeout)
        if self.password:
            c.call("AUTH", self.password)
        return c

    def start(self, nid, extra=(), fresh_args=None):
        log = open(os.path.join(self.base, f"{nid}.log"), "a")
        ddir = os.path.join(self.base, nid)
        if fresh_args is None and not os.path.exists(os.path.join(ddir, "node.conf")):
            fresh_args = ["--id", nid, "--raft-addr", f"127.0.0.1:{self.raft[nid]}",
                          "--client-addr", f"127.0.0.1:{self.client[nid]}"]
            for p in self.ids:
                if p != nid and p in self.raft and not p.startswith("j"):
                    fresh_args += ["--peer", f"{p}=127.0.0.1:{self.raft[p]},127.0.0.1:{self.client[p]}"]
        args = [BIN, "--data-dir", ddir, "--heartbeat-ms", "20", "--election-timeout-ms", "150-300",
                "--log-level", "debug"] + (fresh_args or []) + list(extra)
        if self.password:
            args += ["--requirepass", self.password]
        if nid in self.metrics:
            args += ["--metrics-addr", f"127.0.0.1:{self.metrics[nid]}"]
        self.procs[nid] = subprocess.Popen(args, stdout=log, stderr=log)
        wait_for(lambda: self.ping(nid), 10)

    def start_all(self):
        for nid in self.ids:
            self.start(nid)

    def ping(self, nid):
        try:
            c = self.connect(nid, timeout=1)
            try:
                return c.call("PING") == "PONG"
            finally:
                c.close()
        except OSError:
            return False

    def info(self, nid):
        c = self.connect(nid)
        try:
            text = c.call("INFO").decode()
        finally:
            c.close()
        return dict(line.split(":", 1) for line in text.split("\r\n") if ":" in line)

    def leader(self):
        for nid, p in self.procs.items():
            if p.poll() is None:
                try:
                    if self.info(nid).get("role") == "leader":
                        return nid
                except OSError:
                    pass
        return None

    def wait_leader(self, timeout=15):
        return wait_for(self.leader, timeout)

    def kill(self, nid, sig=signal.SIGKILL):
        p = self.procs[nid]
        p.send_signal(sig)
        p.wait(timeout=20)

    def stop_all(self):
        for nid, p in self.procs.items():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs.values():
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


def wait_for(pred, timeout=10.0, interval=0.05):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    return pred()


def call_any(cluster, *args, timeout=15.0):
    """Sends a command to the cluster the way a cluster-aware client does: follows MOVED and
    retries on TRYAGAIN and connection errors."""
    end = time.monotonic() + timeout
    target = cluster.leader() or cluster.ids[0]
    last = None
    while time.monotonic() < end:
        port = cluster.client.get(target)
        try:
            c = Client(port)
            try:
                return c.call(*args)
            finally:
                c.close()
        except RespError as e:
            last = e
            msg = str(e)
            if msg.startswith("MOVED"):
                moved_port = int(msg.rsplit(":", 1)[1])
                target = next(n for n, p in cluster.client.items() if p == moved_port)
                continue
            if msg.startswith("TRYAGAIN") or msg.startswith("TIMEOUT"):
                time.sleep(0.05)
                target = cluster.leader() or target
                continue
            raise
        except OSError as e:
            last = e
            time.sleep(0.05)
            target = cluster.leader() or random.choice(cluster.ids)
    raise TimeoutError(f"no answer for {args}: {last}")


@pytest.fixture
def cluster():
    if not os.path.exists(BIN):
        pytest.fail(f"{BIN} is missing: run `swift build` first")
    base = tempfile.mkdtemp(prefix="raftengine-e2e-")
    c = Cluster(base)
    c.start_all()
    assert c.wait_leader()
    yield c
    c.stop_all()
    shutil.rmtree(base, ignore_errors=True)
