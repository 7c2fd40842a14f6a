"""Pipelined requests through the per-turn request path: a turn's writes share one log entry
and its reads one ReadIndex, yet every reply is the one its own command gets, in request
order, and each connection's commands take effect in the order it sent them."""

import glob
import os
import socket
import threading

from conftest import Cluster, RespError, wait_for


def cmd(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


def read_all(c, n):
    """n replies, errors as ("ERR", text)."""
    out = []
    for _ in range(n):
        try:
            out.append(c.read())
        except RespError as e:
            out.append(("ERR", str(e)))
    return out


def test_each_connection_sees_its_own_order(cluster):
    c = cluster.connect(cluster.wait_leader())
    # SET then GET, twenty times in one send: each GET sees the SET just before it and not the
    # ones after it (they share entries and a ReadIndex).
    c.send_raw(b"".join(cmd("SET", "k", "v%02d" % i) + cmd("GET", "k") for i in range(20)))
    replies = read_all(c, 40)
    assert replies == [x for i in range(20) for x in ("OK", b"v%02d" % i)]
    # GET then INCR then GET: the first read runs before the write after it.
    c.send_raw(cmd("SET", "n", "1") + cmd("GET", "n") + cmd("INCR", "n") + cmd("GET", "n") + cmd("PING"))
    assert read_all(c, 5) == ["OK", b"1", 2, b"2", "PONG"]


def test_errors_in_a_batch_are_each_commands_own(cluster):
    c = cluster.connect(cluster.wait_leader())
    c.send_raw(cmd("SET", "s", "x") + cmd("INCR", "s") + cmd("SET", "n", "5") + cmd("INCR", "n")
               + cmd("NOPE", "n") + cmd("LPUSH", "s", "a") + cmd("GET", "n") + cmd("SET", "n"))
    r = read_all(c, 8)
    assert r[0] == "OK" and r[1] == ("ERR", "ERR value is not an integer or out of range")
    assert r[2] == "OK" and r[3] == 6
    assert r[4][0] == "ERR" and "unknown command 'NOPE'" in r[4][1]
    assert r[5] == ("ERR", "WRONGTYPE Operation against a key holding the wrong kind of value")
    assert r[6] == b"6"
    assert r[7] == ("ERR", "ERR wrong number of arguments for 'set' command")


def test_resp3_replies_in_a_pipeline(cluster):
    c = cluster.connect(cluster.wait_leader())
    c.send_raw(cmd("HELLO", "3"))
    c.sock.settimeout(5)
    hello = b""
    while not hello.endswith(b"$7\r\nmodules\r\n*0\r\n"):
        hello += c.sock.recv(65536)
    assert hello.startswith(b"%7\r\n")
    c.send_raw(cmd("GET", "missing") + cmd("HSET", "h", "a", "b") + cmd("HGETALL", "h") + cmd("SET", "x", "y")
               + cmd("SET", "x", "z", "GET") + cmd("SET", "xx", "z", "GET") + cmd("LPOP", "nolist", "2"))
    want = b"_\r\n:1\r\n%1\r\n$1\r\na\r\n$1\r\nb\r\n+OK\r\n$1\r\ny\r\n_\r\n_\r\n"
    data = b""
    while len(data) < len(want):
        data += c.sock.recv(65536)
    assert data == want


def test_many_connections_interleaved(cluster):
    """Concurrent pipelining clients: every reply is its own command's, none lost."""
    lead = cluster.wait_leader()
    errors = []

    def client(k):
        try:
            c = cluster.connect(lead, timeout=20)
            for r in range(10):
                c.send_raw(b"".join(cmd("SET", f"c{k}:{i}", f"{k}.{r}.{i}") + cmd("GET", f"c{k}:{i}")
                                    for i in range(16)))
                got = read_all(c, 32)
                assert got == [x for i in range(16) for x in ("OK", f"{k}.{r}.{i}".encode())], got[:4]
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=client, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors[:3]
    assert cluster.connect(lead).call("DBSIZE") == 8 * 16


def test_snapshot_every_counts_commands(tmp_path):
    """A turn's writes share one entry, so --snapshot-every counts applied commands: 1,000
    pipelined SETs (a few dozen entries) take snapshots on every node."""
    c = Cluster(str(tmp_path))
    try:
        for nid in c.ids:
            c.start(nid, extra=["--snapshot-every", "200"])
        lead = c.wait_leader()
        cl = c.connect(lead)
        for r in range(10):
            cl.send_raw(b"".join(cmd("SET", f"k{r}:{i}", "v") for i in range(100)))
            assert read_all(cl, 100) == ["OK"] * 100
        st = cl.call("RAFT.STATUS")
        last = int(dict(zip(st[0::2], st[1::2]))[b"last_index"])
        assert last < 500, "writes were not batched"
        for nid in c.ids:
            assert wait_for(lambda: glob.glob(os.path.join(str(tmp_path), nid, "**", "*.snap"), recursive=True), 10), nid
    finally:
        c.stop_all()


def snapshots_taken(port):
    import urllib.request
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        for line in r.read().decode().splitlines():
            if line.startswith("raftengine_snapshots_taken_total "):
                return int(float(line.split()[1]))
    return None


def test_nodes_take_their_snapshots_at_different_points(tmp_path):
    """Each node's snapshots fall at its own point of the --snapshot-every interval (its place
    among the members in id order: 0, 1/3, 2/3 of it early), so the nodes do not all stall in
    the same turn. With 3,000: after 2,500 commands n1 has taken none, n2 (due at 2,000) and
    n3 (due at 1,000) one each; after 3,500 every node has taken one."""
    c = Cluster(str(tmp_path), metrics=True)
    try:
        for nid in c.ids:
            c.start(nid, extra=["--snapshot-every", "3000"])
        lead = c.wait_leader()
        cl = c.connect(lead)

        def write(rounds, start):
            for r in range(start, start + rounds):
                cl.send_raw(b"".join(cmd("SET", f"k{r}:{i}", "v") for i in range(100)))
                assert read_all(cl, 100) == ["OK"] * 100

        def counts():
            return {nid: snapshots_taken(c.metrics[nid]) for nid in c.ids}

        write(25, 0)
        want = {"n1": 0, "n2": 1, "n3": 1}
        assert sorted(c.ids) == sorted(want)
        assert wait_for(lambda: counts() == want, 10), counts()
        write(10, 25)
        assert wait_for(lambda: counts() == {"n1": 1, "n2": 1, "n3": 1}, 10), counts()
    finally:
        c.stop_all()
