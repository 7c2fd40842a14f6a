"""Members, learners and the read barrier from Python."""

import os

import pytest

import raftengine
from conftest import Counter, FAST, wait_for


def test_members_and_follower_progress(cluster):
    assert cluster.submit(b"2") == b"2"
    leader = wait_for(cluster.leader)
    s = cluster.nodes[leader].status()
    assert [m.id for m in s.members] == cluster.ids
    assert all(m.voter for m in s.members)
    for m in s.members:
        assert m.address == cluster.addr[m.id]
        if m.id == leader:
            assert m.match_index is None
        else:
            assert m.match_index is not None and m.match_index <= s.commit_index + 1
            assert 0 <= m.ms_since_contact < 2000
    follower = next(n for n in cluster.ids if n != leader)
    fs = cluster.nodes[follower].status()
    assert fs.leader_id == leader
    assert all(m.match_index is None for m in fs.members)


def test_read_barrier_on_the_leader_and_a_follower(cluster):
    assert cluster.submit(b"7") == b"7"
    leader = wait_for(cluster.leader)
    cluster.nodes[leader].read_barrier()
    assert cluster.machines[leader].total == 7
    follower = next(n for n in cluster.ids if n != leader)
    with pytest.raises(raftengine.NotLeader) as err:
        cluster.nodes[follower].read_barrier()
    assert err.value.leader_id == leader


def test_a_learner_joins_and_is_promoted(cluster, tmpdir_path):
    assert cluster.submit(b"3") == b"3"
    leader = wait_for(cluster.leader)
    machine = Counter()
    n4 = raftengine.Node(id="n4", data_dir=os.path.join(tmpdir_path, "n4"), listen="127.0.0.1:0",
                         state_machine=machine, **FAST)
    try:
        n4.join(leader, cluster.addr[leader], voter=False)
        s = cluster.nodes[leader].status()
        assert (s.voters, s.learners) == (3, 1)
        assert [m.voter for m in s.members if m.id == "n4"] == [False]
        assert cluster.submit(b"1") == b"4"
        assert wait_for(lambda: machine.total == 4, timeout=5)
        cluster.nodes[leader].add_server("n4", f"127.0.0.1:{n4.port}", voter=True)
        assert cluster.nodes[leader].status().voters == 4
        with pytest.raises(raftengine.AlreadyMember, match="n4 is already a voter"):
            cluster.nodes[leader].add_server("n4", f"127.0.0.1:{n4.port}", voter=True)
    finally:
        n4.close()


def test_a_stopped_node_reports_stopped(cluster):
    node = cluster.nodes["n1"]
    node.stop()
    s = node.status()
    assert s.role == "stopped" and s.stopped and s.leader_id is None


def test_counters_count_proposals_refusals_snapshots_and_syncs(cluster):
    for _ in range(5):
        cluster.submit(b"1")
    leader = wait_for(cluster.leader)
    follower = next(n for n in cluster.ids if n != leader)
    with pytest.raises(raftengine.NotLeader):
        cluster.nodes[follower].submit(b"1")
    cluster.nodes[leader].take_snapshot()
    lc = cluster.nodes[leader].counters()
    assert lc["proposals"] >= 5 and lc["elections_started"] >= 1 and lc["snapshots_taken"] == 1
    # A leader's fsyncs run on its sync thread: one may cover several commands, and the last may
    # still be in flight when the command it covers has committed on the followers' copies.
    assert lc["log_syncs"] >= 1 and lc["log_sync_micros_total"] > 0 and lc["log_sync_failures"] == 0
    # Each node zeroes log space ahead of its records (1 MiB or smaller stretches) on a thread
    # of its own.
    for n in cluster.ids:
        assert wait_for(lambda: cluster.nodes[n].counters()["log_zero_fills"] >= 1)
        zc = cluster.nodes[n].counters()
        assert 4096 * zc["log_zero_fills"] <= zc["log_zero_fill_bytes"] <= (1 << 20) * zc["log_zero_fills"]
    fc = cluster.nodes[follower].counters()
    assert fc["proposals"] == 0 and fc["refused_proposals"] == 1 and fc["frames_received"] > 0
