"""A follower acknowledges an append before it applies what that append committed, so Python
state machines busy on the followers do not hold up the leader's next commit."""

import threading

from conftest import Cluster, wait_for


class GatedCounter:
    """Blocks (on the node's loop thread) in applying `gate` until it is opened."""

    def __init__(self):
        self.gate = None
        self.opened = threading.Event()
        self.waiting_in = None
        self.applied = []

    def apply(self, command: bytes) -> bytes:
        if command == self.gate:
            self.waiting_in = command
            self.opened.wait(60)
            self.waiting_in = None
        self.applied.append(command)
        return str(len(self.applied)).encode()

    def snapshot(self) -> bytes:
        return b""

    def restore(self, data: bytes) -> None:
        pass


def test_followers_blocked_in_apply_still_acknowledge_the_next_entry(tmpdir_path):
    c = Cluster(tmpdir_path)
    c.machines = {i: GatedCounter() for i in c.ids}
    # Heartbeats rare: the leader's next append, not a heartbeat, tells the followers that A
    # committed, so each must acknowledge B before it starts applying A.
    c.start_all(heartbeat_ms=1000, election_timeout_ms=(3000, 5000))
    try:
        leader = wait_for(c.leader, timeout=60)
        assert leader is not None
        node = c.nodes[leader]
        assert node.submit(b"warm", timeout=30) == b"1"
        assert wait_for(lambda: all(m.applied == [b"warm"] for m in c.machines.values()), timeout=30)
        followers = [i for i in c.ids if i != leader]
        for f in followers:
            c.machines[f].gate = b"A"
        assert node.submit(b"A", timeout=30) == b"2"
        # Both followers are (or are about to be) stuck applying A: B commits on their
        # acknowledgements alone.
        assert node.submit(b"B", timeout=30) == b"3"
        assert wait_for(lambda: all(c.machines[f].waiting_in == b"A" for f in followers), timeout=30)
        for f in followers:
            assert c.machines[f].applied == [b"warm"]
        for m in c.machines.values():
            m.opened.set()
        assert wait_for(lambda: all(m.applied == [b"warm", b"A", b"B"] for m in c.machines.values()), timeout=30)
    finally:
        for m in c.machines.values():
            m.opened.set()
        c.close()
