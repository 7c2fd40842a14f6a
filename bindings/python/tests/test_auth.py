"""Peer authentication from Python: a secured cluster commits, a wrong secret is refused and
counted, bad secrets raise with the library's words."""

import pytest

import raftengine
from conftest import Cluster, Counter, wait_for

SECRET = b"correct horse battery staple"


def test_a_secured_cluster_commits_and_a_wrong_secret_is_counted(tmpdir_path):
    c = Cluster(tmpdir_path)
    for nid in c.ids:
        c.start(nid, cluster_secret=SECRET if nid != "n3" else "a different secret entirely")
    try:
        assert c.submit(b"4") == b"4"
        n1, n3 = c.nodes["n1"], c.nodes["n3"]
        assert wait_for(lambda: n3.counters()["auth_failed"] > 0 and n1.counters()["auth_failed"] > 0, timeout=5)
        assert c.machines["n3"].total == 0
        assert not n3.status().stopped
        assert c.nodes["n2"].counters()["frames_received"] > 0
    finally:
        c.close()


def test_rotation_with_an_accepted_secret(tmpdir_path):
    c = Cluster(tmpdir_path)
    new = b"the next secret, long enough"
    c.start("n1", cluster_secret=SECRET, accept_cluster_secrets=[new])
    c.start("n2", cluster_secret=new, accept_cluster_secrets=[SECRET])
    c.start("n3", cluster_secret=SECRET, accept_cluster_secrets=[new])
    try:
        assert c.submit(b"1") == b"1"
        assert wait_for(lambda: all(m.total == 1 for m in c.machines.values()), timeout=5)
        assert all(n.counters()["auth_failed"] == 0 for n in c.nodes.values())
    finally:
        c.close()


def test_bad_secrets_are_refused(tmpdir_path):
    with pytest.raises(raftengine.InvalidArgument, match="a cluster secret needs at least 16 bytes, got 5"):
        raftengine.Node(id="a", data_dir=tmpdir_path, listen="127.0.0.1:0", state_machine=Counter(), cluster_secret=b"short")
    with pytest.raises(raftengine.InvalidArgument, match="cluster_secret must be bytes or str, not int"):
        raftengine.Node(id="a", data_dir=tmpdir_path, listen="127.0.0.1:0", state_machine=Counter(), cluster_secret=5)
