"""raftengine-node's repairs of a stopped node's data dir: --force-sole-voter after losing a
quorum for good, then new nodes join; --clear-broken; both refuse a running node's dir."""

import os
import shutil
import signal
import subprocess
import tempfile

import pytest

from conftest import BIN, Client, Cluster, call_any, wait_for


@pytest.fixture
def cluster():
    base = tempfile.mkdtemp(prefix="raftengine-repair-")
    c = Cluster(base)
    c.start_all()
    assert c.wait_leader()
    yield c
    c.stop_all()
    shutil.rmtree(base, ignore_errors=True)


def repair(cluster, nid, flag):
    return subprocess.run([BIN, flag, "--data-dir", os.path.join(cluster.base, nid)], capture_output=True,
                          text=True, timeout=30)


def test_a_survivor_made_sole_voter_serves_its_data_and_takes_new_members(cluster):
    for i in range(10):
        assert call_any(cluster, "SET", f"k{i}", str(i)) == "OK"
    # A running node's dir is locked.
    r = repair(cluster, "n1", "--force-sole-voter")
    assert r.returncode == 1 and "is locked" in r.stderr
    # Two of three lost for good; the survivor stopped for the repair.
    for nid in ("n2", "n3"):
        cluster.kill(nid)
    cluster.kill("n1", sig=signal.SIGTERM)
    r = repair(cluster, "n1", "--force-sole-voter")
    assert r.returncode == 0, r.stderr
    assert "node n1: now the only voter (removed: n2, n3)" in r.stdout
    for nid in ("n2", "n3"):
        del cluster.procs[nid]
        shutil.rmtree(os.path.join(cluster.base, nid))  # never run again on the old data
    cluster.start("n1", fresh_args=[])
    assert wait_for(lambda: cluster.leader() == "n1", 15)
    c = Client(cluster.client["n1"])
    assert [c.call("GET", f"k{i}") for i in range(10)] == [str(i).encode() for i in range(10)]
    assert c.call("SET", "after", "1") == "OK"
    # A new, empty node joins the one-voter cluster and catches up.
    cluster.raft["j4"], cluster.client["j4"] = cluster.spare
    cluster.start("j4", fresh_args=["--id", "j4", "--raft-addr", f"127.0.0.1:{cluster.raft['j4']}",
                                    "--client-addr", f"127.0.0.1:{cluster.client['j4']}",
                                    "--join", f"127.0.0.1:{cluster.raft['n1']}"])
    assert wait_for(lambda: "j4=" in cluster.info("n1")["members"], 20)
    commit = int(cluster.info("n1")["commit_index"])
    assert wait_for(lambda: int(cluster.info("j4")["applied_index"]) >= commit, 15)


def test_clear_broken_on_a_healthy_dir_changes_nothing(cluster):
    cluster.kill("n3", sig=signal.SIGTERM)
    r = repair(cluster, "n3", "--clear-broken")
    assert r.returncode == 0 and "was not marked broken; nothing to do" in r.stdout
    cluster.start("n3", fresh_args=[])
    assert call_any(cluster, "SET", "x", "1") == "OK"


def test_repairs_need_a_node_data_dir(tmp_path):
    r = subprocess.run([BIN, "--clear-broken"], capture_output=True, text=True, timeout=10)
    assert r.returncode == 2 and r.stderr.strip() == "raftengine-node: --clear-broken needs --data-dir of the stopped node"
    r = subprocess.run([BIN, "--force-sole-voter", "--data-dir", str(tmp_path / "none")], capture_output=True,
                       text=True, timeout=10)
    assert r.returncode == 2 and "no node here" in r.stderr
    assert not (tmp_path / "none").exists()
    r = subprocess.run([BIN, "--clear-broken", "--force-sole-voter", "--data-dir", str(tmp_path)],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 2 and "not both" in r.stderr
