"""Benchmark (not a test): a 3-node in-process cluster over loopback; prints commands/s and
p50/p99 latency with 1 and 256 commands in flight.

    RAFTENGINE_LIBRARY=.build/release/libraftengine.so PYTHONPATH=bindings/python python3 bindings/python/bench.py
"""

import asyncio
import os
import socket
import statistics
import sys
import tempfile
import time

import raftengine


class Counter:
    def __init__(self):
        self.total = 0

    def apply(self, command: bytes) -> bytes:
        self.total += 1
        return b""

    def snapshot(self) -> bytes:
        return str(self.total).encode()

    def restore(self, data: bytes) -> None:
        self.total = int(data or b"0")


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


async def run(leader, total, in_flight):
    latencies = []
    sem = asyncio.Semaphore(in_flight)
    payload = b"x" * 64

    async def one():
        async with sem:
            t0 = time.perf_counter()
            await leader.submit_async(payload, timeout=30)
            latencies.append(time.perf_counter() - t0)

    start = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(total)))
    elapsed = time.perf_counter() - start
    latencies.sort()
    return total / elapsed, latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.99) - 1]


def main():
    with tempfile.TemporaryDirectory(prefix="raftengine-pybench-") as base:
        ids = ["b1", "b2", "b3"]
        addrs = dict(zip(ids, (f"127.0.0.1:{p}" for p in free_ports(3))))
        host = raftengine.Host()
        nodes = [raftengine.Node(id=i, data_dir=os.path.join(base, i), listen=addrs[i], host=host,
                                 peers={p: a for p, a in addrs.items() if p != i}, state_machine=Counter())
                 for i in ids]
        try:
            deadline = time.monotonic() + 10
            leader = None
            while leader is None and time.monotonic() < deadline:
                leader = next((n for n in nodes if n.status().is_leader), None)
                time.sleep(0.02)
            if leader is None:
                sys.exit("no leader elected")
            print("python bindings: 3 nodes, one process, loopback TCP, FileLog, 64-byte commands")
            print("in-flight  commands/s   p50 ms   p99 ms")
            for in_flight, total in ((1, 2000), (256, 20000)):
                rate, p50, p99 = asyncio.run(run(leader, total, in_flight))
                print(f"{in_flight:9d}  {rate:10.0f}  {p50 * 1e3:7.3f}  {p99 * 1e3:7.3f}")
        finally:
            for n in nodes:
                n.close()
            host.close()


if __name__ == "__main__":
    main()
