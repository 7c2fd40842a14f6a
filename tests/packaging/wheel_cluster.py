"""Run with the installed wheel's Python and nothing else in the environment: a 3-node cluster
in one process commits and every node applies. Exits non-zero on failure."""
import os
import socket
import sys
import tempfile
import time

import raftengine

here = os.path.dirname(raftengine.__file__)
assert os.path.exists(os.path.join(here, "libraftengine.so")), "the wheel carries no library"
assert "RAFTENGINE_LIBRARY" not in os.environ


class Counter:
    def __init__(self):
        self.total = 0

    def apply(self, command):
        self.total += int(command)
        return str(self.total).encode()

    def snapshot(self):
        return str(self.total).encode()

    def restore(self, data):
        self.total = int(data or b"0")


ports = []
socks = []
for _ in range(3):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
    ports.append(s.getsockname()[1])
for s in socks:
    s.close()
addr = {f"n{i + 1}": f"127.0.0.1:{p}" for i, p in enumerate(ports)}
machines = {n: Counter() for n in addr}
with tempfile.TemporaryDirectory() as d, raftengine.Host() as host:
    nodes = {n: raftengine.Node(id=n, data_dir=os.path.join(d, n), listen=a, host=host, state_machine=machines[n],
                                peers={p: pa for p, pa in addr.items() if p != n}, heartbeat_ms=20,
                                election_timeout_ms=(150, 300)) for n, a in addr.items()}
    end = time.monotonic() + 20
    result = None
    while result is None and time.monotonic() < end:
        for node in nodes.values():
            try:
                if node.status().is_leader:
                    result = node.submit(b"5", timeout=3)
                    break
            except (raftengine.NotLeader, raftengine.RetryLater, raftengine.CommandTimeout):
                pass
        time.sleep(0.05)
    assert result == b"5", result
    while time.monotonic() < end and not all(m.total == 5 for m in machines.values()):
        time.sleep(0.02)
    assert all(m.total == 5 for m in machines.values()), [m.total for m in machines.values()]
    for node in nodes.values():
        node.close()
print(f"wheel: raftengine {raftengine.version()} from {here}: 3 nodes committed and applied")
