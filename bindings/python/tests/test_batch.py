"""The batch path from Python: submit_many (sync and asyncio) and a state machine's
apply_batch, each command keeping its own outcome."""

import asyncio

import pytest

import raftengine
from conftest import Cluster, Counter, wait_for


class BatchCounter(Counter):
    """Counter with apply_batch: records the batch sizes it got."""

    def __init__(self):
        super().__init__()
        self.batches = []

    def apply_batch(self, commands):
        self.batches.append(len(commands))
        out = []
        for c in commands:
            try:
                out.append(self.apply(c))
            except Exception as e:
                out.append(e)
        return out


def test_submit_many_with_apply_batch(tmpdir_path):
    c = Cluster(tmpdir_path)
    c.machines = {n: BatchCounter() for n in c.ids}
    c.start_all()
    try:
        leader = wait_for(c.leader)
        node = c.nodes[leader]
        commands = [b"1"] * 300 + [b"fail:no"] + [b"2"] * 10
        out = node.submit_many(commands)
        assert len(out) == len(commands)
        assert out[0] == b"1" and out[299] == b"300"
        assert isinstance(out[300], raftengine.ApplyError) and str(out[300]) == "no"
        assert out[-1] == b"320"
        assert wait_for(lambda: all(m.total == 320 for m in c.machines.values()), timeout=5)
        assert all(max(m.batches) > 1 for m in c.machines.values())
        # A follower answers each command with the leader.
        follower = next(n for n in c.ids if n != leader)
        refused = c.nodes[follower].submit_many([b"1", b"1"])
        assert all(isinstance(r, raftengine.NotLeader) and r.leader_id == leader for r in refused)
        with pytest.raises(raftengine.InvalidArgument):
            node.submit_many([])
        with pytest.raises(raftengine.InvalidArgument):
            node.submit_many(["not bytes"])
    finally:
        c.close()


def test_submit_many_async(cluster):
    leader = wait_for(cluster.leader)
    node = cluster.nodes[leader]

    async def go():
        parts = await asyncio.gather(*(node.submit_many_async([b"1"] * 100) for _ in range(5)))
        return [r for part in parts for r in part]

    results = asyncio.run(go())
    assert len(results) == 500
    assert sorted(int(r) for r in results) == list(range(1, 501))
