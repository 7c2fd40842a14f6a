"""One RaftEngine node in its own process, driven over stdin/stdout by test_processes.py.

Commands (one per line): `submit <text>` -> `ok <result>` | `err <ExceptionName> <leader-id>`;
`applied` -> `applied <count> <comma-separated items>`; `role` -> `role <role>`; `quit`.
"""

import json
import sys

import raftengine


class Items:
    """State machine: an ordered list of the commands applied."""

    def __init__(self):
        self.items = []

    def apply(self, command: bytes) -> bytes:
        self.items.append(command.decode())
        return str(len(self.items)).encode()

    def snapshot(self) -> bytes:
        return json.dumps(self.items).encode()

    def restore(self, data: bytes) -> None:
        self.items = json.loads(data.decode()) if data else []


def main():
    nid, data_dir, peers_json = sys.argv[1], sys.argv[2], sys.argv[3]
    addrs = json.loads(peers_json)
    sm = Items()
    peers = {p: a for p, a in addrs.items() if p != nid}
    node = raftengine.Node(id=nid, data_dir=data_dir, listen=addrs[nid], peers=peers, state_machine=sm,
                           heartbeat_ms=20, election_timeout_ms=(150, 300))
    print("ready", flush=True)
    for line in sys.stdin:
        parts = line.strip().split(" ", 1)
        if not parts or not parts[0]:
            continue
        op = parts[0]
        if op == "submit":
            try:
                print("ok", node.submit(parts[1].encode(), timeout=3).decode(), flush=True)
            except raftengine.NotLeader as e:
                print("err NotLeader", e.leader_id or "-", flush=True)
            except raftengine.RaftError as e:
                print("err", type(e).__name__, "-", flush=True)
        elif op == "applied":
            print("applied", len(sm.items), ",".join(sm.items), flush=True)
        elif op == "role":
            print("role", node.status().role, flush=True)
        elif op == "quit":
            break
    node.close()


if __name__ == "__main__":
    main()
