"""raftengine-node end to end: real processes, loopback TCP, the Redis protocol."""

import os
import subprocess
import threading
import time

import pytest

from conftest import Client, RespError, call_any, wait_for


def test_writes_reads_and_moved_from_followers(cluster):
    leader = cluster.leader()
    c = Client(cluster.client[leader])
    assert c.call("SET", "a", "1") == "OK"
    assert c.call("GET", "a") == b"1"
    assert c.call("INCRBY", "a", "41") == 42
    assert c.call("MGET", "a", "zz") == [b"42", None]
    assert c.call("EXISTS", "a", "zz") == 1
    assert c.call("DBSIZE") == 1
    assert c.call("DEL", "a") == 1
    follower = next(n for n in cluster.ids if n != leader)
    f = Client(cluster.client[follower])
    for cmd in (("SET", "b", "2"), ("GET", "b")):
        with pytest.raises(RespError) as e:
            f.call(*cmd)
        # The key's own slot (CLUSTER KEYSLOT b is 3300 on Redis too) and the leader.
        assert str(e.value) == f"MOVED 3300 127.0.0.1:{cluster.client[leader]}"
    # redis-cli -c follows the redirect.
    out = subprocess.run(["redis-cli", "-c", "-p", str(cluster.client[follower]), "SET", "c", "3"],
                         capture_output=True, text=True, timeout=10).stdout.strip()
    assert out == "OK"
    assert c.call("GET", "c") == b"3"


def test_pipelined_requests_answer_in_order(cluster):
    leader = cluster.leader()
    c = Client(cluster.client[leader])
    req = b"".join(b"*3\r\n$3\r\nSET\r\n$3\r\nk%d\r\n$1\r\n%d\r\n" % (i, i % 10) for i in range(10, 60))
    req += b"*2\r\n$3\r\nGET\r\n$3\r\nk42\r\n*1\r\n$4\r\nPING\r\n"
    c.send_raw(req)
    replies = [c.read() for _ in range(52)]
    assert replies[:50] == ["OK"] * 50
    assert replies[50] == b"2" and replies[51] == "PONG"


def test_replies_larger_than_the_socket_buffer_arrive_whole_and_in_order(cluster):
    # Replies go straight to the socket when it takes them whole; what a full send buffer
    # leaves is queued behind, and later replies must wait for it (never overtake it).
    leader = cluster.leader()
    c = Client(cluster.client[leader])
    values = {f"big{i}": bytes([65 + i]) * (900_000 + i) for i in range(16)}
    for k, v in values.items():
        assert c.call("SET", k, v) == "OK"
    req = b""
    for k in values:
        req += b"*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n*1\r\n$4\r\nPING\r\n" % (len(k), k.encode())
    c.send_raw(req)
    time.sleep(0.3)  # the node writes 14 MB while nothing reads: its socket buffer fills
    for k, v in values.items():
        assert c.read() == v
        assert c.read() == "PONG"


def test_protocol_errors_never_crash_the_node(cluster):
    leader = cluster.leader()
    c = Client(cluster.client[leader])
    with pytest.raises(RespError, match="unknown command"):
        c.call("NOSUCH", "x")
    with pytest.raises(RespError, match="wrong number of arguments"):
        c.call("GET")
    with pytest.raises(RespError, match="not an integer"):
        c.call("INCRBY", "n", "abc")
    assert c.call("PING") == "PONG"  # the connection stays usable
    bad = Client(cluster.client[leader])
    bad.send_raw(b"*2\r\n$3\r\nGET\r\n$x\r\n")
    with pytest.raises(RespError, match="Protocol error"):
        bad.read()
    with pytest.raises((ConnectionError, OSError)):
        bad.read()  # closed after a stream error, as Redis does
    big = Client(cluster.client[leader])
    big.send_raw(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%d\r\n" % (4 << 20))
    with pytest.raises(RespError, match="too large"):
        big.read()
    assert Client(cluster.client[leader]).call("PING") == "PONG"


def test_sigkill_of_leader_and_follower_while_writing_loses_nothing(cluster):
    acked = []
    stop = threading.Event()

    def writer():
        i = 0
        while not stop.is_set():
            try:
                if call_any(cluster, "SET", f"w{i}", str(i), timeout=10) == "OK":
                    acked.append(i)
            except (TimeoutError, RespError, OSError):
                pass
            i += 1

    def progress(k, timeout=30):
        n = len(acked)
        return wait_for(lambda: len(acked) >= n + k, timeout)

    t = threading.Thread(target=writer)
    t.start()
    try:
        assert progress(30), "no writes acknowledged by the fresh cluster"
        # The leader dies; the other two elect a leader and keep committing.
        victim = cluster.leader()
        cluster.kill(victim)
        assert wait_for(lambda: cluster.leader() not in (None, victim), 15)
        assert progress(30), "no progress after the leader was killed"
        # It comes back from its data dir while writes flow.
        cluster.start(victim)
        assert progress(20), "no progress after the old leader restarted"
        # Then a follower dies (a majority stays up) and comes back.
        follower = next(x for x in cluster.ids if x != cluster.leader())
        cluster.kill(follower)
        assert progress(20), "no progress after a follower was killed"
        cluster.start(follower)
        assert progress(20), "no progress after the follower restarted"
    finally:
        stop.set()
        t.join(30)
    for i in acked:
        assert call_any(cluster, "GET", f"w{i}") == str(i).encode(), f"acknowledged write w{i} lost"
    # The restarted nodes caught up.
    leader = cluster.leader()
    commit = int(cluster.info(leader)["commit_index"])
    assert wait_for(lambda: all(int(cluster.info(n)["applied_index"]) >= commit for n in cluster.ids), 15)


def test_restart_keeps_data_and_needs_only_the_data_dir(cluster):
    for i in range(20):
        assert call_any(cluster, "SET", f"r{i}", str(i)) == "OK"
    cluster.stop_all()
    for nid in cluster.ids:
        cluster.start(nid, fresh_args=[])
    assert cluster.wait_leader()
    assert all(call_any(cluster, "GET", f"r{i}") == str(i).encode() for i in range(20))


def test_join_transfer_remove_and_snapshot(cluster):
    for i in range(10):
        call_any(cluster, "SET", f"s{i}", str(i))
    leader = cluster.leader()
    # A fourth node joins through the leader's raft address.
    cluster.raft["j4"], cluster.client["j4"] = cluster.spare
    cluster.start("j4", fresh_args=["--id", "j4", "--raft-addr", f"127.0.0.1:{cluster.raft['j4']}",
                                    "--client-addr", f"127.0.0.1:{cluster.client['j4']}",
                                    "--join", f"127.0.0.1:{cluster.raft[leader]}"])
    assert wait_for(lambda: "j4=" in cluster.info(cluster.leader())["members"], 20)
    commit = int(cluster.info(cluster.leader())["commit_index"])
    assert wait_for(lambda: int(cluster.info("j4")["applied_index"]) >= commit, 15)

    # Leadership transfer to the new node.
    assert call_any(cluster, "RAFT.TRANSFER", "j4") == "OK"
    assert wait_for(lambda: cluster.leader() == "j4", 10)
    assert call_any(cluster, "GET", "s3") == b"3"

    # Remove an original member.
    gone = next(n for n in cluster.ids if n != "j4")
    assert call_any(cluster, "RAFT.REMOVE", gone) == "OK"
    assert wait_for(lambda: f"{gone}=" not in cluster.info("j4")["members"], 10)
    # The removed node says why and exits 0 instead of answering PING forever.
    assert cluster.procs[gone].wait(timeout=20) == 0
    with open(os.path.join(cluster.base, f"{gone}.log")) as f:
        assert "removed from the cluster" in f.read()
    del cluster.procs[gone]
    assert call_any(cluster, "SET", "after-remove", "1") == "OK"

    # Snapshot, then restart that node: its state comes back from the snapshot.
    assert Client(cluster.client["j4"]).call("RAFT.SNAPSHOT") == "OK"
    cluster.kill("j4", sig=15)
    cluster.start("j4", fresh_args=[])
    assert wait_for(cluster.leader, 15)
    assert call_any(cluster, "GET", "s9") == b"9"
    assert call_any(cluster, "GET", "after-remove") == b"1"
