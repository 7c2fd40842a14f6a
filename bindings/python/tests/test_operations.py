"""Membership, transfer, settings, events and snapshot install, asserted from Python."""

import asyncio
import os
import time

import pytest

import raftengine
from raftengine import EventKind, Role
from conftest import Cluster, Counter, FAST, wait_for


def kinds(events, *wanted):
    return [(e.kind, e.value, e.node) for e in events if e.kind in wanted]


def in_order(seq, expected):
    """True when `expected` appears in `seq` as a subsequence (same order, gaps allowed)."""
    it = iter(seq)
    return all(any(x == want for x in it) for want in expected)


def test_events_of_the_first_election_arrive_in_order(cluster):
    leader = wait_for(cluster.leader)
    cluster.submit(b"1")
    ev = cluster.events[leader]
    assert in_order([(e.kind, e.value) for e in ev],
                    [(EventKind.ROLE, "CANDIDATE"), (EventKind.ELECTION, "START_ELECTION"),
                     (EventKind.ROLE, "LEADER"), (EventKind.LEADER, leader), (EventKind.ELECTION, "WON")])
    terms = [e.number for e in ev if e.kind == EventKind.TERM]
    assert terms == sorted(terms) and terms[-1] == cluster.nodes[leader].status().term
    for nid in cluster.ids:
        if nid != leader:
            # A follower learns its leader from the first append; the commit above may have
            # come from the other follower's answer, and events arrive on the loop thread.
            def learned():
                return in_order([(e.kind, e.value) for e in cluster.events[nid]],
                                [(EventKind.TERM, None), (EventKind.LEADER, leader)])
            wait_for(learned)
            got = [(e.kind, e.value) for e in cluster.events[nid]]
            assert in_order(got, [(EventKind.TERM, None), (EventKind.LEADER, leader)]), got
            assert (EventKind.ROLE, "LEADER") not in got


def test_transfer_moves_leadership_and_every_node_sees_it(cluster):
    leader = wait_for(cluster.leader)
    cluster.submit(b"1")
    target = next(n for n in cluster.ids if n != leader)
    before = cluster.nodes[leader].status().term
    cluster.nodes[leader].transfer_leadership(target)
    assert wait_for(lambda: cluster.leader() == target)
    assert cluster.nodes[target].status().term > before
    assert wait_for(lambda: all(cluster.nodes[n].status().leader_id == target for n in cluster.ids))
    old = [(e.kind, e.value) for e in cluster.events[leader]]
    assert in_order(old, [(EventKind.ROLE, "LEADER"), (EventKind.ROLE, "FOLLOWER"), (EventKind.LEADER, target)])
    assert cluster.submit(b"2") == b"3"
    with pytest.raises(raftengine.UnknownNode):
        cluster.nodes[target].transfer_leadership("n9")


def test_remove_server_stops_the_removed_node_and_the_rest_go_on(cluster):
    leader = wait_for(cluster.leader)
    cluster.submit(b"1")
    gone = next(n for n in cluster.ids if n != leader)
    cluster.nodes[leader].remove_server(gone)
    s = cluster.nodes[leader].status()
    assert s.voters == 2 and gone not in [m.id for m in s.members]
    assert wait_for(lambda: cluster.nodes[gone].status().stopped, timeout=5)
    assert in_order(kinds(cluster.events[gone], EventKind.MEMBERSHIP_DONE, EventKind.STOPPED),
                    [(EventKind.MEMBERSHIP_DONE, "REMOVE", gone), (EventKind.STOPPED, "REMOVED", None)])
    assert (EventKind.MEMBERSHIP_DONE, "REMOVE", gone) in kinds(cluster.events[leader], EventKind.MEMBERSHIP_DONE)
    assert cluster.submit(b"5") == b"6"
    with pytest.raises(raftengine.UnknownNode):
        cluster.nodes[leader].remove_server(gone)


def test_the_leader_removing_itself_hands_over(cluster):
    leader = wait_for(cluster.leader)
    cluster.submit(b"1")
    cluster.nodes[leader].remove_server(leader)
    assert wait_for(lambda: cluster.nodes[leader].status().stopped, timeout=5)
    new = wait_for(lambda: next((n for n in cluster.ids if n != leader and cluster.nodes[n].status().is_leader), None))
    assert new and cluster.nodes[new].status().voters == 2
    assert cluster.submit(b"1") == b"2"


def test_exit_cluster_from_a_follower(cluster):
    leader = wait_for(cluster.leader)
    cluster.submit(b"1")
    leaver = next(n for n in cluster.ids if n != leader)
    cluster.nodes[leaver].exit_cluster()
    assert wait_for(lambda: cluster.nodes[leaver].status().stopped, timeout=5)
    assert wait_for(lambda: cluster.nodes[leader].status().voters == 2)
    assert cluster.submit(b"1") == b"2"
    with pytest.raises(raftengine.NodeStopped):
        cluster.nodes[leaver].submit(b"1")


def test_exit_and_join_async(cluster, tmpdir_path):
    leader = wait_for(cluster.leader)
    cluster.submit(b"1")
    machine = Counter()
    n4 = raftengine.Node(id="n4", data_dir=os.path.join(tmpdir_path, "n4"), listen="127.0.0.1:0",
                         state_machine=machine, **FAST)
    try:
        async def run():
            await n4.join_async(leader, cluster.addr[leader])
            assert await cluster.nodes[leader].submit_async(b"2") == b"3"
            await cluster.nodes[leader].read_barrier_async()
            await n4.exit_cluster_async()
        asyncio.run(run())
        assert machine.total == 3
        assert wait_for(lambda: n4.status().stopped)
        assert cluster.nodes[leader].status().voters == 3
    finally:
        n4.close()


def test_update_settings_reaches_every_node(cluster):
    leader = wait_for(cluster.leader)
    cluster.submit(b"1")
    cluster.nodes[leader].update_settings(heartbeat_ms=30, election_timeout_ms=(200, 400))
    assert wait_for(lambda: all(cluster.events_of(n, EventKind.SETTINGS) for n in cluster.ids), timeout=5)
    # Still one leader, still committing, under the new timing.
    time.sleep(0.5)
    assert cluster.leader() == leader
    assert cluster.submit(b"1") == b"2"
    follower = next(n for n in cluster.ids if n != leader)
    with pytest.raises(raftengine.NotLeader):
        cluster.nodes[follower].update_settings(heartbeat_ms=30)


@pytest.mark.parametrize("kwargs, words", [
    (dict(heartbeat_ms=-1), "heartbeat_ms"),
    (dict(heartbeat_ms="10"), "heartbeat_ms"),
    (dict(election_timeout_ms=(400, 200)), "min <= max"),
    (dict(election_timeout_ms=300), "pair"),
    (dict(max_entries_per_message=-5), "max_entries_per_message"),
    (dict(heartbeat_ms=500, election_timeout_ms=(200, 400)), "heartbeat"),
])
def test_update_settings_refuses_bad_values(cluster, kwargs, words):
    leader = wait_for(cluster.leader)
    with pytest.raises(raftengine.InvalidArgument, match=words):
        cluster.nodes[leader].update_settings(**kwargs)


class RecordingCounter(Counter):
    def __init__(self):
        super().__init__()
        self.restores = []

    def restore(self, data: bytes) -> None:
        self.restores.append(data)
        super().restore(data)


def test_a_follower_far_behind_is_restored_from_a_snapshot(tmpdir_path):
    c = Cluster(tmpdir_path)
    c.machines = {i: RecordingCounter() for i in c.ids}
    c.start_all(snapshot_trailing=0)
    try:
        leader = wait_for(c.leader)
        lagger = next(n for n in c.ids if n != leader)
        c.nodes[lagger].close()
        for _ in range(50):
            c.submit(b"2")
        c.nodes[leader].take_snapshot()
        fresh = RecordingCounter()
        c.machines[lagger] = fresh
        # A brand-new data directory: the node has nothing, and the leader's log starts after
        # its snapshot, so only InstallSnapshot can bring it up to date.
        peers = {p: a for p, a in c.addr.items() if p != lagger}
        c.nodes[lagger] = raftengine.Node(id=lagger, data_dir=os.path.join(tmpdir_path, "fresh"),
                                          listen=c.addr[lagger], peers=peers, state_machine=fresh,
                                          on_event=c.events[lagger].append, snapshot_trailing=0, **FAST)
        assert wait_for(lambda: fresh.total == 100, timeout=10)
        assert fresh.restores and fresh.restores[-1] == b"100"
        # The event follows the restore in the same loop turn.
        assert wait_for(lambda: EventKind.SNAPSHOT in [e.kind for e in c.events[lagger]], timeout=5)
        assert c.submit(b"1") == b"101"
        assert wait_for(lambda: fresh.total == 101)
    finally:
        c.close()


def test_read_barrier_after_a_leader_change(cluster):
    leader = wait_for(cluster.leader)
    assert cluster.submit(b"4") == b"4"
    cluster.nodes[leader].close()
    new = wait_for(lambda: next((n for n in cluster.ids if n != leader and cluster.nodes[n].status().is_leader), None))
    assert new
    # The new leader's barrier waits for an entry of its own term, so its state machine has
    # every command the old leader acknowledged.
    cluster.nodes[new].read_barrier()
    assert cluster.machines[new].total == 4
    other = next(n for n in cluster.ids if n not in (leader, new))
    with pytest.raises(raftengine.NotLeader) as err:
        cluster.nodes[other].read_barrier()
    assert err.value.leader_id == new
    with pytest.raises(raftengine.NodeStopped):
        cluster.nodes[leader].read_barrier()
