"""A 3-node cluster in one Python process over loopback TCP."""

import asyncio

import pytest

import raftengine
from conftest import wait_for


def test_leader_is_elected_and_commands_apply_everywhere(cluster):
    leader = wait_for(cluster.leader)
    assert leader in cluster.ids
    assert cluster.submit(b"5") == b"5"
    assert cluster.submit(b"10") == b"15"
    assert wait_for(lambda: all(m.total == 15 for m in cluster.machines.values()))
    st = cluster.nodes[leader].status()
    assert st.role == "leader" and st.term >= 1 and st.commit_index >= 3
    assert st.voters == 3 and st.learners == 0


def test_follower_raises_not_leader_naming_the_leader(cluster):
    leader = wait_for(cluster.leader)
    cluster.submit(b"1")
    follower = next(n for n in cluster.ids if n != leader)
    with pytest.raises(raftengine.NotLeader) as info:
        cluster.nodes[follower].submit(b"1")
    assert info.value.leader_id == leader
    assert info.value.leader_address == cluster.addr[leader]


def test_new_leader_after_the_leader_stops_and_restart_catches_up(cluster):
    old = wait_for(cluster.leader)
    cluster.submit(b"3")
    cluster.nodes[old].close()
    del cluster.nodes[old]
    new = wait_for(lambda: (lambda l: l if l and l != old else None)(cluster.leader()))
    assert new and new != old
    assert cluster.submit(b"4") == b"7"
    # Restart from its data dir with a fresh state machine: it replays and catches up.
    cluster.machines[old] = type(cluster.machines[old])()
    cluster.start(old)
    assert wait_for(lambda: cluster.machines[old].total == 7, timeout=10)


def test_submit_async_does_not_block_the_event_loop(cluster):
    wait_for(cluster.leader)
    cluster.submit(b"1")

    async def main():
        leader = cluster.nodes[cluster.leader()]
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.001)

        t = asyncio.create_task(ticker())
        results = await asyncio.gather(*(leader.submit_async(b"1") for _ in range(20)))
        t.cancel()
        return results, ticks

    results, ticks = asyncio.run(main())
    assert sorted(int(r) for r in results) == list(range(2, 22))
    assert ticks > 0


def test_apply_exception_becomes_apply_error(tmpdir_path):
    from conftest import Cluster
    c = Cluster(tmpdir_path)
    c.start_all()
    try:
        leader = wait_for(c.leader)
        c.submit(b"1")
        for m in c.machines.values():
            m.fail = True
        with pytest.raises(raftengine.ApplyError):
            c.nodes[leader].submit(b"1")
    finally:
        c.close()


def test_cluster_operations(cluster):
    leader = wait_for(cluster.leader)
    cluster.submit(b"2")
    cluster.nodes[leader].take_snapshot()
    target = next(n for n in cluster.ids if n != leader)
    cluster.nodes[leader].transfer_leadership(target)
    assert wait_for(lambda: cluster.leader() == target)
    with pytest.raises(raftengine.NotLeader):
        cluster.nodes[leader].transfer_leadership(target)
