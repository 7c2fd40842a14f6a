"""A replicated counter: run three of these, one per terminal, and type `add 5` into any.

    python counter.py n1     python counter.py n2     python counter.py n3

Each line on stdin is `add <n>` (replicated through Raft; answered by the leader) or `total`
(a linearizable read on the leader). MEMBERS overrides the addresses, e.g.
MEMBERS=n1=10.0.0.1:7001,n2=10.0.0.2:7001,n3=10.0.0.3:7001.
"""
import os
import sys

import raftengine

MEMBERS = dict(m.split("=", 1) for m in os.environ.get(
    "MEMBERS", "n1=127.0.0.1:7001,n2=127.0.0.1:7002,n3=127.0.0.1:7003").split(","))


class Counter:
    """The state machine: deterministic, and the same on every replica."""

    def __init__(self):
        self.total = 0

    def apply(self, command: bytes) -> bytes:
        self.total += int(command)  # a ValueError here becomes the proposer's ApplyError
        return str(self.total).encode()

    def snapshot(self) -> bytes:
        return str(self.total).encode()

    def restore(self, data: bytes) -> None:
        self.total = int(data or b"0")


def main(me: str) -> None:
    counter = Counter()
    peers = {nid: addr for nid, addr in MEMBERS.items() if nid != me}
    with raftengine.Node(id=me, data_dir=f"data/{me}", listen=MEMBERS[me], peers=peers,
                         state_machine=counter) as node:
        print(me, "up; leader is", node.wait_for_leader(timeout=30), flush=True)
        for line in sys.stdin:
            word, _, arg = line.strip().partition(" ")
            try:
                if word == "add":
                    print("total", node.submit(arg.encode()).decode(), flush=True)
                elif word == "total":
                    node.read_barrier()  # every acknowledged add is applied here
                    print("total", counter.total, flush=True)
            except raftengine.NotLeader as e:
                print("not leader; ask", e.leader_id, "at", e.leader_address, flush=True)
            except raftengine.RaftError as e:
                print("error", type(e).__name__, e, flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
