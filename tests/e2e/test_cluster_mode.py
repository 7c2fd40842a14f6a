"""Cluster-mode clients find the leader through CLUSTER SLOTS/SHARDS/NODES and MOVED: redis-py's
RedisCluster and `redis-cli -c` keep writing through a leader kill and a leadership transfer,
and every write they saw acknowledged is there afterwards."""

import shutil
import subprocess
import tempfile
import threading
import time

import pytest

redis = pytest.importorskip("redis")
from redis.backoff import ExponentialBackoff
from redis.cluster import RedisCluster
from redis.retry import Retry

from conftest import Cluster, wait_for


@pytest.fixture
def cluster():
    base = tempfile.mkdtemp(prefix="raftengine-clustermode-")
    c = Cluster(base)
    c.start_all()
    assert c.wait_leader()
    yield c
    c.stop_all()
    shutil.rmtree(base, ignore_errors=True)


def test_cluster_replies_describe_one_shard_led_by_the_leader(cluster):
    leader = cluster.leader()
    follower = next(n for n in cluster.ids if n != leader)
    r = redis.Redis(port=cluster.client[follower], protocol=2)
    slots = r.execute_command("CLUSTER", "SLOTS")
    assert len(slots) == 1
    (lo, hi, primary, *replicas) = slots[0]
    assert (lo, hi) == (0, 16383)
    assert primary[1] == cluster.client[leader]
    assert sorted(x[1] for x in replicas) == sorted(cluster.client[n] for n in cluster.ids if n != leader)
    nodes = r.execute_command("CLUSTER", "NODES")
    text = nodes.decode() if isinstance(nodes, bytes) else nodes
    lines = text.strip().splitlines()
    assert len(lines) == 3
    mine = [l for l in lines if "myself" in l]
    assert len(mine) == 1 and str(cluster.client[follower]) in mine[0] and "slave" in mine[0]
    master = [l for l in lines if "master" in l]
    assert len(master) == 1 and master[0].endswith("0-16383") and str(cluster.client[leader]) in master[0]
    myid = r.execute_command("CLUSTER", "MYID")
    assert len(myid) == 40 and (myid.decode() if isinstance(myid, bytes) else myid) in text
    info = r.execute_command("CLUSTER", "INFO")
    info = info.decode() if isinstance(info, bytes) else info
    assert "cluster_state:ok" in info and "cluster_size:1" in info
    assert r.execute_command("CLUSTER", "KEYSLOT", "foo") == 12182
    assert r.execute_command("CLUSTER", "KEYSLOT", "{user1000}.following") == \
        r.execute_command("CLUSTER", "KEYSLOT", "{user1000}.followers")
    lr = redis.Redis(port=cluster.client[leader], protocol=2)
    lr.set("foo", "1")
    assert lr.execute_command("CLUSTER", "COUNTKEYSINSLOT", 12182) == 1
    shards = redis.Redis(port=cluster.client[leader], protocol=3).execute_command("CLUSTER", "SHARDS")
    assert len(shards) == 1
    # READONLY is accepted; reads still go to the leader (MOVED from a follower).
    assert r.execute_command("READONLY") in (b"OK", "OK", True)
    with pytest.raises(redis.exceptions.MovedError, match=f"^12182 127.0.0.1:{cluster.client[leader]}$"):
        r.get("foo")


def writer(make_client, acked, stop, errors):
    """Writes w0, w1, ... until told to stop; records the keys acknowledged."""
    i = 0
    client = make_client()
    while not stop.is_set():
        key = f"w{i}"
        try:
            if client.set(key, str(i)):
                acked.append(key)
            i += 1
        except Exception as e:  # connection reset by the kill, a timeout: try the next key
            errors.append(repr(e))
            time.sleep(0.05)
            i += 1


def test_redis_cluster_writes_through_a_leader_kill_and_a_transfer(cluster):
    follower = next(n for n in cluster.ids if n != cluster.leader())
    # redis-py's own retry object (cluster_error_retry_attempts is deprecated since 6.0).
    make = lambda: RedisCluster(host="127.0.0.1", port=cluster.client[follower], socket_timeout=3,
                                retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), 20))
    acked, errors, stop = [], [], threading.Event()
    t = threading.Thread(target=writer, args=(make, acked, stop, errors))
    t.start()
    try:
        assert wait_for(lambda: len(acked) > 50, 15)
        old = cluster.leader()
        cluster.kill(old)
        n_at_kill = len(acked)
        assert wait_for(lambda: len(acked) > n_at_kill + 50, 30), errors[-5:]
        leader = cluster.wait_leader()
        target = next(n for n in cluster.ids if n not in (old, leader))
        redis.Redis(port=cluster.client[leader]).execute_command("RAFT.TRANSFER", target)
        assert wait_for(lambda: cluster.leader() == target, 15)
        n_at_transfer = len(acked)
        assert wait_for(lambda: len(acked) > n_at_transfer + 50, 30), errors[-5:]
    finally:
        stop.set()
        t.join(30)
    cluster.start(old)
    check = RedisCluster(host="127.0.0.1", port=cluster.client[target])
    values = check.mget_nonatomic(acked)
    missing = [k for k, v in zip(acked, values) if v is None]
    assert not missing, f"{len(missing)} acknowledged writes lost: {missing[:10]}"
    check.close()


def test_redis_cli_cluster_mode_follows_the_leader_through_a_kill(cluster):
    acked = []

    def cli(*args, port):
        return subprocess.run(["redis-cli", "-c", "-p", str(port)] + list(args), capture_output=True, text=True,
                              timeout=20)

    entry = next(n for n in cluster.ids if n != cluster.leader())
    for i in range(20):
        if cli("SET", f"c{i}", str(i), port=cluster.client[entry]).stdout.strip() == "OK":
            acked.append(f"c{i}")
    old = cluster.leader()
    cluster.kill(old)
    entry = next(n for n in cluster.ids if n != old)
    end = time.monotonic() + 30
    i = 20
    while len(acked) < 40 and time.monotonic() < end:
        if cli("SET", f"c{i}", str(i), port=cluster.client[entry]).stdout.strip() == "OK":
            acked.append(f"c{i}")
        i += 1
    assert len(acked) >= 40
    for k in acked:
        assert cli("GET", k, port=cluster.client[entry]).stdout.strip() == k[1:]
