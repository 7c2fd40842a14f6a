"""raftengine.sim: links, nodes and cluster operations of the simulated cluster, with a Python
machine: per-link loss (the same seed loses the same messages) and delay, delivery between two
nodes or by count, newest-first release of held messages, per-node election timeouts, a memory
log that loses unsynced writes at a crash, join / learner / remove / exit / transfer, the
leader's per-follower progress, snapshot install on a restarted and on a new node, and the
apply history across lifetimes. Virtual time only: nothing here depends on the machine's speed.
"""

import os
import re
import shutil
import subprocess
import sys

import pytest

from raftengine import InvalidArgument, NodeStopped, NotLeader, Role
from raftengine.sim import ApplyRecord, Cluster

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


class Counter:
    """Each command is a number added to the total; counts its restores."""

    def __init__(self):
        self.total = 0
        self.restores = 0
        self.applied = 0

    def apply(self, command: bytes) -> bytes:
        self.total += int(command)
        self.applied += 1
        return str(self.total).encode()

    def snapshot(self) -> bytes:
        return str(self.total).encode()

    def restore(self, data: bytes) -> None:
        self.total = int(data)
        self.restores += 1


def counter(node):
    return Counter()


def settle(c: Cluster, leader: int):
    c.deliver_until_idle()
    c.heartbeat(leader)
    c.deliver_until_idle()


def commands(c: Cluster, leader: int, n: int):
    for _ in range(n):
        r = c.propose(leader, b"1")
        settle(c, leader)
        assert c.result(r) == str(c.machine(leader).total).encode()


def elected(seed=1, **kw) -> Cluster:
    c = Cluster(nodes=3, seed=seed, machine=counter, **kw)
    c.elect(1)
    assert c.leader() == 1
    return c


def command_indexes(c: Cluster, node: int, lifetime=None):
    return [r.index for r in c.apply_history(node) if r.kind == "command" and lifetime in (None, r.lifetime)]


def test_total_loss_on_one_link_stops_only_that_link():
    c = elected(5)
    base = c.state(1).last_index
    lost = c.lost_count
    c.set_link_fault(1, 2, loss=1.0)
    commands(c, 1, 3)
    assert c.state(2).last_index == base
    assert c.state(3).commit_index == base + 3 and c.machine(3).total == 3
    assert c.machine(2).total == 0
    assert c.lost_count >= lost + 6
    c.set_link_fault(1, 2)  # loss 0, delay 0: cleared
    settle(c, 1)
    settle(c, 1)
    assert c.machine(2).total == 3


def loss_pattern(seed):
    c = elected(seed)
    c.set_link_fault(1, 2, loss=0.5)
    pattern = []
    for _ in range(64):
        before = c.lost_count
        c.heartbeat(1)
        c.deliver_until_idle()
        pattern.append(c.lost_count - before)
    c.close()
    return pattern


def test_link_loss_is_deterministic_per_seed():
    a, again, other = loss_pattern(7), loss_pattern(7), loss_pattern(8)
    assert a == again
    assert a != other
    assert set(a) <= {0, 1} and 8 < sum(a) < 56


def test_a_delayed_link_delivers_once_virtual_time_passes():
    c = elected(3)
    base = c.state(1).last_index
    c.set_link_fault(1, 2, delay_ms=5)
    c.propose(1, b"1")
    c.deliver_until_idle()
    assert c.state(2).last_index == base and c.state(3).last_index == base + 1
    assert c.in_flight_count == 1
    c.advance(4)
    c.deliver_until_idle()
    assert c.state(2).last_index == base
    c.advance(1)
    c.deliver_until_idle()
    assert c.state(2).last_index == base + 1
    assert c.in_flight_count == 0
    c.clear_link_faults()
    c.propose(1, b"1")
    c.deliver_until_idle()
    assert c.state(2).last_index == base + 2


def test_delivery_between_two_nodes_by_count_and_newest_first():
    c = elected(9)
    base = c.state(1).last_index
    r = c.propose(1, b"1")
    assert c.deliver_between(1, 2) == 2
    assert c.state(2).last_index == base + 1 and c.state(1).commit_index == base + 1
    assert c.result(r) == b"1"
    assert c.state(3).last_index == base and c.inbox_count(3) == 1
    assert c.deliver_count(1) == 1
    assert c.state(3).last_index == base + 1 and c.inbox_count(3) == 0
    settle(c, 1)

    base = c.state(1).last_index
    c.hold(1, 2)
    c.propose(1, b"1")
    c.deliver_until_idle()
    c.propose(1, b"1")
    c.deliver_until_idle()
    assert c.held_count == 2
    c.hold(1, 2, on=False)
    assert c.release_held(1, 2, limit=1, newest_first=True) == 1
    assert c.deliver(2)
    assert c.state(2).last_index == base  # the newer append finds a gap
    assert c.release_held(1, 2, limit=1) == 1
    assert c.deliver(2)
    assert c.state(2).last_index == base + 1
    settle(c, 1)
    assert c.state(2).last_index == base + 2


@pytest.mark.parametrize("fast", [1, 2, 3])
def test_the_node_with_the_short_election_timeout_wins(fast):
    c = Cluster(nodes=3, seed=3, machine=counter, election_timeouts={0: (800, 900), fast: (20, 30)})
    c.enable_timers()
    c.run(200)
    assert c.leader() == fast
    assert c.state(fast).term == 1


def test_a_spare_node_gets_its_own_election_timeout():
    c = Cluster(nodes=3, seed=4, machine=counter, election_timeouts={0: (800, 900), 4: (40, 50)})
    c.elect(1)
    n4 = c.add_node()
    r = c.join(n4, via=1)
    settle(c, 1)
    assert c.outcome(r).ok
    c.crash(1)
    c.enable_timers()
    c.run(300)
    assert c.leader() == 4


def test_a_restart_with_a_new_election_timeout_decides_the_next_election():
    c = Cluster(nodes=3, seed=6, machine=counter, election_timeouts={0: (800, 900), 3: (20, 30)})
    c.enable_timers()
    c.run(200)
    assert c.leader() == 3
    c.enable_timers(False)
    with pytest.raises(InvalidArgument, match="election_timeout"):
        c.restart(2, election_timeout=(30, 20))
    assert c.lifetime(2) == 1
    c.restart(3, election_timeout=(800, 900))
    c.restart(2, election_timeout=(20, 30))
    assert c.lifetime(2) == 2 and c.leader() is None
    c.enable_timers()
    c.run(2000)
    assert c.leader() == 2
    assert c.state(1).leader == 2 and c.state(3).leader == 2
    c.restart(1, election_timeout=(0, 0))
    assert c.lifetime(1) == 2 and c.role(1) == Role.FOLLOWER


@pytest.mark.parametrize("loses", [True, False])
def test_a_crash_loses_unsynced_writes_only_with_the_option(loses):
    c = elected(2, lose_unsynced_writes=loses)
    commands(c, 1, 1)
    base = c.state(1).last_index
    c.set_syncs_deferred(2)
    c.propose(1, b"2")
    c.deliver_until_idle()
    assert c.state(2).last_index == base + 1
    c.crash(2)
    c.restart(2)
    assert c.state(2).last_index == (base if loses else base + 1)
    c.set_syncs_deferred(2, False)
    settle(c, 1)
    assert c.machine(2).total == 3


def test_acknowledgements_wait_for_a_deferred_sync():
    c = elected(2)
    base = c.state(1).last_index
    c.set_syncs_deferred(2)
    c.set_syncs_deferred(3)
    r = c.propose(1, b"1")
    c.deliver_until_idle()
    assert c.state(2).last_index == base + 1
    assert c.state(1).commit_index == base and c.outcome(r) is None
    c.finish_sync(2)
    c.deliver_until_idle()
    assert c.state(1).commit_index == base + 1 and c.result(r) == b"1"


def test_sync_jobs_the_leader_commits_before_its_own_sync_ran():
    c = elected(2)
    c.set_sync_placement(1, "always")
    c.set_sync_placement(2, "always")
    with pytest.raises(ValueError):
        c.set_sync_placement(3, "sometimes")
    base = c.state(1).last_index
    r = c.propose(1, b"1")
    assert c.sync_jobs(1) == (1, 0)
    c.deliver_until_idle()
    # Node 3 (inline) acknowledged; node 2's acknowledgement waits for its job.
    assert c.state(2).last_index == base + 1 and c.outcome(r) is None
    assert not c.complete_sync_job(2)  # not run yet
    assert c.run_sync_job(2)
    c.deliver_until_idle()
    assert c.outcome(r) is None
    assert c.complete_sync_job(2)
    c.deliver_until_idle()
    assert c.result(r) == b"1" and c.state(1).commit_index == base + 1
    # The leader's own job is still out and has not run.
    assert c.sync_jobs(1) == (1, 0)
    assert c.run_sync_job(1) and c.sync_jobs(1) == (1, 1)
    assert c.complete_sync_job(1) and c.sync_jobs(1) == (0, 0)
    assert not c.run_sync_job(1)


def test_join_remove_learner_exit_transfer_and_progress():
    c = elected(21)
    commands(c, 1, 5)
    n4 = c.add_node()
    assert n4 == 4 and c.nodes == 4
    assert c.membership(1, 4) is None
    r = c.join(4, via=1)
    settle(c, 1)
    assert c.outcome(r).ok
    assert c.membership(1, 4) == "voter" and c.membership(4, 4) == "voter"
    assert c.machine(4).total == 5
    assert command_indexes(c, 4) == command_indexes(c, 1) and len(command_indexes(c, 1)) == 5
    assert [r.command for r in c.apply_history(4)] == [b"1"] * 5

    last = c.state(1).last_index
    progress = c.progress(1)
    assert [p.node for p in progress] == [2, 3, 4]
    assert all(p.match == last and p.next == last + 1 and p.state == "replicate" and p.inflight == 0
               and p.snapshot_index is None for p in progress)
    assert c.progress(2) == []

    # Node 2 removed: with 3 down too, 1 and 4 are a majority of the three voters left.
    r = c.remove_server(1, 2)
    settle(c, 1)
    assert c.outcome(r).ok
    assert c.membership(1, 2) is None and c.membership(4, 2) is None
    c.crash(2)
    c.crash(3)
    r = c.propose(1, b"10")
    settle(c, 1)
    assert c.result(r) == b"15"
    assert c.machine(4).total == 15
    c.restart(3)
    settle(c, 1)
    # A partition counts the added node: 3 alone cannot commit, 1 and 4 can.
    c.partition([1, 4], [3])
    r = c.propose(1, b"1")
    settle(c, 1)
    assert c.result(r) == b"16" and c.machine(3).total == 15
    c.heal()
    settle(c, 1)
    assert c.machine(3).total == 16

    n5 = c.add_node()
    r = c.add_server(1, n5, voter=False)
    settle(c, 1)
    assert c.outcome(r).ok and c.membership(1, 5) == "learner"
    assert c.machine(5).total == 16
    r = c.add_server(1, n5)
    settle(c, 1)
    assert c.outcome(r).ok and c.membership(1, 5) == "voter"
    r = c.exit_cluster(5)
    settle(c, 1)
    assert c.outcome(r).ok and c.membership(1, 5) is None

    r = c.transfer_leadership(1, 4)
    c.deliver_until_idle()
    assert c.outcome(r).ok
    assert c.leader() == 4 and c.state(3).leader == 4
    r = c.propose(4, b"1")
    settle(c, 4)
    assert c.result(r) == b"17" and c.machine(1).total == 17
    with pytest.raises(NotLeader):
        r = c.transfer_leadership(1, 3)
        c.deliver_until_idle()
        c.result(r)


def test_snapshot_brings_up_a_restarted_and_a_new_node():
    c = elected(31)
    commands(c, 1, 4)
    c.crash(3)
    commands(c, 1, 6)
    index = c.take_snapshot(1)
    assert index == c.state(1).applied_index
    assert c.take_snapshot(1) is None
    commands(c, 1, 2)

    c.restart(3)
    settle(c, 1)
    assert c.machine(3).restores == 1 and c.machine(3).total == 12
    restores = [r for r in c.apply_history(3) if r.kind == "snapshot"]
    assert restores == [ApplyRecord(2, index, "snapshot", None)]
    assert command_indexes(c, 3, lifetime=2)[-2:] == [index + 1, index + 2]

    n4 = c.add_node()
    r = c.join(n4, via=1)
    settle(c, 1)
    assert c.outcome(r).ok
    m = c.machine(n4)
    assert (m.restores, m.total, m.applied) == (1, 12, 2)
    assert c.apply_history(n4)[0] == ApplyRecord(1, index, "snapshot", None)


def test_apply_history_across_a_restart():
    c = elected(41)
    assert c.lifetime(2) == 1
    commands(c, 1, 5)
    c.crash(2)
    commands(c, 1, 3)
    c.restart(2)
    assert c.lifetime(2) == 2 and c.lifetime(1) == 1
    settle(c, 1)
    leader = command_indexes(c, 1)
    assert len(leader) == 8 and leader == sorted(leader)
    assert command_indexes(c, 2, lifetime=1) == leader[:5]
    assert command_indexes(c, 2, lifetime=2) == leader
    history = c.apply_history(2)
    assert [r.lifetime for r in history] == [1] * 5 + [2] * 8
    assert all(r.command == b"1" for r in history)
    assert c.reapplied_indexes(2) == []
    assert c.reapplied_indexes(2, machine_survives_restart=True) == leader[:5]
    assert c.apply_history(c.add_node()) == []


def test_bad_arguments_name_the_argument():
    c = elected(1)
    with pytest.raises(InvalidArgument, match="loss"):
        c.set_link_fault(1, 2, loss=1.5)
    with pytest.raises(InvalidArgument, match="to_node"):
        c.set_link_fault(1, 1, loss=0.5)
    with pytest.raises(InvalidArgument, match="from_node"):
        c.set_link_fault(4, 1, loss=0.5)
    with pytest.raises(InvalidArgument, match="delay_ms"):
        c.set_link_fault(1, 2, delay_ms=-1)
    with pytest.raises(InvalidArgument, match="count"):
        c.deliver_count(-1)
    with pytest.raises(InvalidArgument, match="via"):
        c.join(2, via=7)
    with pytest.raises(InvalidArgument, match="target"):
        c.transfer_leadership(1, 0)
    with pytest.raises(InvalidArgument, match="keep_trailing"):
        c.take_snapshot(1, keep_trailing=-1)
    with pytest.raises(InvalidArgument, match="election_timeouts\\[2\\]"):
        Cluster(nodes=3, machine=counter, election_timeouts={2: (30, 20)})
    with pytest.raises(InvalidArgument, match="election_timeouts node"):
        Cluster(nodes=3, machine=counter, election_timeouts={16: (20, 30)})
    c.crash(3)
    with pytest.raises(NodeStopped):
        c.exit_cluster(3)
    with pytest.raises(NodeStopped):
        c.membership(3, 1)
    for _ in range(12):
        c.add_node()
    with pytest.raises(InvalidArgument, match="15 nodes"):
        c.add_node()


def _doc_block(lang):
    """The first `lang` code block of docs/simulator.md's section on links, nodes and cluster
    operations."""
    text = open(os.path.join(REPO, "docs", "simulator.md")).read()
    section = text[text.index("## Links, nodes and cluster operations"):]
    return re.search(r"```" + lang + r"\n(.*?)```", section, re.S).group(1)


def test_the_python_example_of_the_docs_runs(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.join(REPO, "bindings", "python"),
                                                       os.environ.get("PYTHONPATH", "")]))
    r = subprocess.run([sys.executable, "-c", _doc_block("python")], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["node 2: 1 in flight: 1", "node 2: 2 total: 5", "[(1, 2, b'5'), (2, 2, b'5')]",
                                     "reapplied: [] lifetime: 2", "node 4: True voter [(2, 3), (3, 3), (4, 3)]"]


def test_the_c_example_of_the_docs_runs(tmp_path):
    library = os.environ.get("RAFTENGINE_LIBRARY")
    if not library or not shutil.which("cc"):
        pytest.skip("needs RAFTENGINE_LIBRARY and a C compiler")
    source = tmp_path / "example_sim_cluster.c"
    source.write_text(_doc_block("c"))
    libdir = os.path.dirname(os.path.abspath(library))
    build = subprocess.run(["cc", "-std=c11", "-Wall", "-Werror", "-I", os.path.join(REPO, "include"), str(source),
                            "-L", libdir, "-l:" + os.path.basename(library), "-Wl,-rpath," + libdir,
                            "-o", str(tmp_path / "example_sim_cluster")], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    r = subprocess.run([str(tmp_path / "example_sim_cluster")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.splitlines() == ["leader 2", "last index: node 1 6, node 3 1",
                                     "node 4 joined: restored at 6 (snapshot at 6)", "leader 4"]
