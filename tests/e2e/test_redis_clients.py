"""raftengine-node as Redis client libraries see it: redis-py with its defaults (RESP3 HELLO,
CLIENT SETINFO), AUTH with --requirepass, the commands and their Redis replies, MULTI/EXEC,
INFO sections, CONFIG GET, COMMAND, and TTLs judged by the leader's time on every replica."""

import os
import shutil
import subprocess
import tempfile
import time

import pytest

redis = pytest.importorskip("redis")

from conftest import BIN, Cluster, wait_for


@pytest.fixture
def cluster():
    base = tempfile.mkdtemp(prefix="raftengine-clients-")
    c = Cluster(base)
    c.start_all()
    assert c.wait_leader()
    yield c
    c.stop_all()
    shutil.rmtree(base, ignore_errors=True)


def at(cluster, nid, **kw):
    return redis.Redis(host="127.0.0.1", port=cluster.client[nid], socket_timeout=10, **kw)


def test_redis_py_defaults_connect_and_speak_resp3(cluster):
    r = at(cluster, cluster.leader())
    assert r.ping() is True
    assert r.connection_pool.connection_kwargs.get("protocol") in (None, 2, 3)
    assert r.set("greeting", "hello") is True
    assert r.get("greeting") == b"hello"
    assert r.get("missing") is None
    assert r.hset("h", mapping={"a": "1", "b": "2"}) == 2
    assert r.hgetall("h") == {b"a": b"1", b"b": b"2"}
    assert r.client_setname("worker-1") is True
    assert r.client_getname() in ("worker-1", b"worker-1")  # redis-py decodes this one
    assert isinstance(r.client_id(), int)
    listed = r.client_list()
    assert any(c.get("name") == "worker-1" for c in listed)
    assert r.echo("x") == b"x"
    assert r.execute_command("SELECT", 0) in (b"OK", "OK", True)
    with pytest.raises(redis.ResponseError, match="DB index is out of range"):
        r.execute_command("SELECT", 1)
    r.close()


def test_resp2_and_resp3_sessions_get_the_same_answers(cluster):
    leader = cluster.leader()
    r2 = at(cluster, leader, protocol=2)
    r3 = at(cluster, leader, protocol=3)
    r2.rpush("l", "a", "b", "c")
    for r in (r2, r3):
        assert r.lrange("l", 0, -1) == [b"a", b"b", b"c"]
        assert r.get("nope") is None
        assert r.ttl("l") == -1
        assert r.type("l") == b"list"
    hello = r3.execute_command("HELLO", "3")
    assert hello[b"proto" if b"proto" in hello else "proto"] == 3


def test_the_commands_redis_users_reach_for(cluster):
    r = at(cluster, cluster.leader())
    assert r.set("k", "v", nx=True) is True
    assert r.set("k", "w", nx=True) is None
    assert r.set("k", "w", xx=True, get=True) == b"v"
    assert r.getset("k", "x") == b"w"
    assert r.append("k", "yz") == 3
    assert r.strlen("k") == 3
    assert r.getrange("k", 0, 1) == b"xy"
    assert r.setrange("k", 1, "Q") == 3 and r.get("k") == b"xQz"
    assert r.mset({"m1": "1", "m2": "2"}) is True
    assert r.msetnx({"m2": "9", "m3": "3"}) is False
    assert r.mget("m1", "m2", "m3") == [b"1", b"2", None]
    assert r.incrbyfloat("f", "10.5") == 10.5
    with pytest.raises(redis.ResponseError, match="value is not an integer or out of range"):
        r.incr("k")
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        r.lpush("k", "x")
    assert sorted(r.keys("m*")) == [b"m1", b"m2"]
    seen, cursor = set(), 0
    while True:
        cursor, keys = r.scan(cursor, match="m*", count=5)
        seen.update(keys)
        if cursor == 0:
            break
    assert seen == {b"m1", b"m2"}
    assert r.rename("m1", "m9") is True and r.get("m9") == b"1"
    assert r.getdel("m9") == b"1" and r.exists("m9") == 0
    assert r.lpush("q", "b", "a") == 2 and r.rpush("q", "c") == 3
    assert r.lpop("q") == b"a" and r.rpop("q") == b"c" and r.llen("q") == 1
    assert r.hincrby("h", "n", 5) == 5 and r.hexists("h", "n") and r.hlen("h") == 1
    assert r.hdel("h", "n") == 1 and r.hget("h", "n") is None
    assert r.flushdb() is True and r.dbsize() == 0


def test_multi_exec_is_all_or_nothing_and_one_entry(cluster):
    r = at(cluster, cluster.leader())
    before = int(cluster.info(cluster.leader())["last_index"])
    p = r.pipeline(transaction=True)
    p.set("a", "1").incr("a").lpush("a", "x").get("a")
    results = p.execute(raise_on_error=False)
    assert results[0] is True and results[1] == 2
    assert isinstance(results[2], redis.ResponseError) and "WRONGTYPE" in str(results[2])
    assert results[3] == b"2"
    # One log entry for the whole transaction.
    assert int(cluster.info(cluster.leader())["last_index"]) == before + 1
    # A bad command inside MULTI aborts EXEC: nothing applies.
    raw = r.connection_pool.get_connection()
    try:
        raw.send_command("MULTI")
        assert raw.read_response() in (b"OK", "OK")
        raw.send_command("SET", "b", "1")
        assert raw.read_response() in (b"QUEUED", "QUEUED")
        raw.send_command("NOSUCHCMD")
        with pytest.raises(redis.ResponseError, match="unknown command"):
            raw.read_response()
        raw.send_command("EXEC")
        with pytest.raises(redis.exceptions.ExecAbortError, match="Transaction discarded because of previous errors"):
            raw.read_response()
    finally:
        r.connection_pool.release(raw)
    assert r.get("b") is None


def test_ttls_are_judged_by_the_leaders_time_on_every_replica(cluster):
    leader = cluster.leader()
    r = at(cluster, leader)
    r.set("short", "v", px=300)
    r.set("long", "v", ex=100)
    r.set("kept", "v")
    assert 0 < r.pttl("short") <= 300
    time.sleep(0.5)
    assert r.get("short") is None and r.exists("short") == 0
    # The sweep removes the expired key through the log, on every replica.
    assert wait_for(lambda: all(int(cluster.info(n).get("db0", "keys=0").split(",")[0].split("=")[1]) == 2
                                for n in cluster.ids), 10)
    target = next(n for n in cluster.ids if n != leader)
    r.execute_command("RAFT.TRANSFER", target)
    assert wait_for(lambda: cluster.leader() == target, 10)
    r2 = at(cluster, target)
    assert 90 <= r2.ttl("long") <= 100
    assert r2.ttl("kept") == -1 and r2.ttl("short") == -2


def test_ttls_survive_a_full_restart(cluster):
    r = at(cluster, cluster.leader())
    r.set("t", "v", ex=100)
    r.execute_command("RAFT.SNAPSHOT")
    cluster.stop_all()
    for nid in cluster.ids:
        cluster.start(nid)
    leader = cluster.wait_leader()
    r = at(cluster, leader)
    assert 85 <= wait_for(lambda: r.ttl("t") if r.ttl("t") > 0 else None, 10) <= 100


def test_info_sections_config_and_command(cluster):
    leader = cluster.leader()
    r = at(cluster, leader)
    r.set("x", "1")
    repl = r.info("replication")
    assert repl["role"] == "master" and repl["connected_slaves"] == 2
    slaves = [repl[k] for k in repl if k.startswith("slave")]
    assert len(slaves) == 2 and all("offset" in s and "lag" in s for s in slaves)
    assert set(r.info("server")) >= {"redis_version", "raftengine_version", "tcp_port", "uptime_in_seconds"}
    assert "role" in r.info("raft") and r.info("raft")["role"] == "leader"
    assert "connected_clients" in r.info("clients")
    assert r.info("keyspace")["db0"]["keys"] == 1
    assert "total_commands_processed" in r.info("stats")
    assert "redis_version" not in r.info("replication")
    follower = next(n for n in cluster.ids if n != leader)
    frepl = at(cluster, follower).info("replication")
    assert frepl["role"] == "slave" and frepl["master_port"] == cluster.client[leader]
    assert r.config_get("appendonly") == {"appendonly": "yes"} or r.config_get("appendonly") == {b"appendonly": b"yes"}
    assert r.command_count() > 60
    get = r.execute_command("COMMAND", "INFO", "get")["get"]
    assert (get["arity"], get["first_key_pos"], get["last_key_pos"], get["step_count"]) == (2, 1, 1, 1)
    assert "readonly" in get["flags"]
    assert r.command_getkeys("MSET", "a", "1", "b", "2") in ([b"a", b"b"], ["a", "b"])


def test_quit_closes_after_its_reply(cluster):
    import socket
    s = socket.create_connection(("127.0.0.1", cluster.client[cluster.leader()]), timeout=5)
    s.sendall(b"PING\r\nQUIT\r\nPING\r\n")
    data = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    assert data == b"+PONG\r\n+OK\r\n"


def test_requirepass_gates_everything_but_auth_hello_and_quit(tmp_path):
    c = Cluster(str(tmp_path), password="s3cret-pass")
    c.start_all()
    try:
        leader = c.wait_leader()
        port = c.client[leader]
        anon = redis.Redis(port=port, protocol=2)
        with pytest.raises(redis.AuthenticationError):
            anon.get("a")
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(port=port, password="wrong").ping()
        good = redis.Redis(port=port, password="s3cret-pass")
        assert good.set("a", "1") and good.get("a") == b"1"
        # RESP3 clients authenticate inside HELLO.
        assert redis.Redis(port=port, password="s3cret-pass", protocol=3).get("a") == b"1"
    finally:
        c.stop_all()


def test_requirepass_from_the_config_file(tmp_path):
    conf = tmp_path / "node.conf.in"
    conf.write_text("requirepass = from-the-file\n")
    c = Cluster(str(tmp_path), n=1)
    c.password = "from-the-file"
    c.start("n1", extra=["--config", str(conf)])
    try:
        assert c.wait_leader()
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(port=c.client["n1"], protocol=2).get("a")
        assert redis.Redis(port=c.client["n1"], password="from-the-file").set("a", "1")
    finally:
        c.stop_all()
