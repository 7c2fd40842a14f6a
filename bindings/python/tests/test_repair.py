"""Operator repairs of a stopped node's data dir from Python: the broken mark a halted apply
leaves, and a survivor made the sole voter after a quorum is lost for good."""

import os

import pytest

import raftengine
from conftest import Cluster, Counter, wait_for


def test_a_halted_node_starts_again_once_the_mark_is_cleared(tmpdir_path):
    c = Cluster(tmpdir_path)
    c.start_all(apply_policy="halt")
    try:
        assert c.submit(b"4") == b"4"
        follower = next(n for n in c.ids if n != c.leader())
        c.machines[follower].fail = True
        assert c.submit(b"3") == b"7"
        assert wait_for(lambda: c.nodes[follower].status().stopped, timeout=5)
        c.nodes.pop(follower).close()
        ddir = os.path.join(tmpdir_path, follower)
        assert raftengine.is_broken(ddir)
        with pytest.raises(raftengine.LogBroken):
            c.start(follower, apply_policy="halt")
        # Fixed machine (a fresh one that does not fail), mark cleared: it replays and catches up.
        c.machines[follower] = Counter()
        raftengine.clear_broken(ddir)
        assert not raftengine.is_broken(ddir)
        c.start(follower, apply_policy="halt")
        assert c.submit(b"1") == b"8"
        assert wait_for(lambda: c.machines[follower].total == 8, timeout=5)
        with pytest.raises(raftengine.DataDirLocked):
            raftengine.clear_broken(ddir)
    finally:
        c.close()


def test_a_path_without_node_data_is_refused_and_not_created(tmpdir_path):
    missing = os.path.join(tmpdir_path, "nothing")
    with pytest.raises(raftengine.StorageError, match="holds no node data"):
        raftengine.is_broken(missing)
    assert not os.path.exists(missing)
    with pytest.raises(raftengine.InvalidArgument, match="data_dir"):
        raftengine.clear_broken("")


def test_a_survivor_forced_to_be_the_sole_voter_leads_again(tmpdir_path):
    c = Cluster(tmpdir_path)
    c.start_all()
    try:
        assert c.submit(b"5") == b"5"
        assert c.submit(b"6") == b"11"
        assert wait_for(lambda: all(m.total == 11 for m in c.machines.values()))
        for nid in list(c.nodes):
            c.nodes.pop(nid).close()
        ddir = os.path.join(tmpdir_path, "n1")
        with pytest.raises(raftengine.UnknownNode):
            raftengine.force_sole_voter(ddir, "n9")
        raftengine.force_sole_voter(ddir, "n1")
        c.machines["n1"] = Counter()
        node = c.start("n1")
        assert node.wait_for_leader(timeout=10) == "n1"
        s = node.status()
        assert s.voters == 1 and [m.id for m in s.members] == ["n1"]
        assert node.submit(b"1") == b"12"
    finally:
        c.close()
