"""SQLiteLog under SIGKILL: a 3-node cluster of three child processes (this file run as a
script), each node's log in its own SQLiteLog. The leader is killed mid-stream and restarted;
then all three are killed at once, with a command in flight, and restarted on their files.
Every acknowledged command must still be there, once, in one order: after the second kill the
cluster has nothing but what the three SQLite files made durable."""

import json
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from node_proc import Items  # noqa: E402  (the same ordered-list machine)


def child(nid, path, addrs_json):
    """One node on SQLiteLog(path), driven over stdin: `submit <text>` -> `ok <result>` |
    `err <ExceptionName> <leader-id>`; `applied` -> `applied <count> <items>`; `role`; `quit`."""
    import raftengine

    addrs = json.loads(addrs_json)
    sm = Items()
    node = raftengine.Node(id=nid, listen=addrs[nid], peers={p: a for p, a in addrs.items() if p != nid},
                           state_machine=sm, log=raftengine.SQLiteLog(path), heartbeat_ms=20,
                           election_timeout_ms=(150, 300))
    print("ready", flush=True)
    for line in sys.stdin:
        op, _, arg = line.strip().partition(" ")
        if op == "submit":
            try:
                print("ok", node.submit(arg.encode(), timeout=3).decode(), flush=True)
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


class Proc:
    def __init__(self, nid, base, addrs):
        self.nid, self.path, self.addrs = nid, os.path.join(base, nid + ".sqlite3"), addrs
        self.start()

    def start(self):
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.dirname(HERE), os.environ.get("PYTHONPATH", "")]))
        self.p = subprocess.Popen([sys.executable, os.path.abspath(__file__), self.nid, self.path, json.dumps(self.addrs)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        assert self.p.stdout.readline().strip() == "ready"

    def alive(self):
        return self.p.poll() is None

    def send(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()

    def ask(self, line):
        self.send(line)
        return self.p.stdout.readline().strip()

    def kill(self):
        self.p.send_signal(signal.SIGKILL)
        self.p.wait()
        self.p.stdin.close()
        self.p.stdout.close()


def test_sigkill_of_sqlite_nodes_loses_nothing_acknowledged(tmpdir_path):
    from conftest import free_ports

    ids = ["s1", "s2", "s3"]
    addrs = dict(zip(ids, (f"127.0.0.1:{p}" for p in free_ports(3))))
    procs = {i: Proc(i, tmpdir_path, addrs) for i in ids}
    acked = []
    state = dict(n=0, leader=None)

    def submit_until(count, deadline_s=20):
        deadline = time.monotonic() + deadline_s
        while len(acked) < count:
            assert time.monotonic() < deadline, f"only {len(acked)} of {count} acknowledged"
            target = state["leader"] or ids[state["n"] % 3]
            if not procs[target].alive():
                state["leader"] = None
                state["n"] += 1
                continue
            item = f"c{state['n']}"
            state["n"] += 1
            reply = procs[target].ask(f"submit {item}").split()
            if not reply:
                raise AssertionError(f"{target} exited (code {procs[target].p.wait()})")
            if reply[0] == "ok":
                acked.append(item)
                state["leader"] = target
            elif reply[1] == "NotLeader" and reply[2] in procs and procs[reply[2]].alive():
                state["leader"] = reply[2]
            else:
                state["leader"] = None
                time.sleep(0.02)

    try:
        submit_until(20)
        victim = state["leader"]
        procs[victim].kill()  # the leader, mid-stream
        state["leader"] = None
        submit_until(40)
        procs[victim].start()
        submit_until(60)

        # Everyone at once, with a command in flight at the leader.
        leader = state["leader"]
        procs[leader].send(f"submit c{state['n']}")  # its outcome unknown: never reused
        state["n"] += 1
        for p in procs.values():
            p.kill()
        for p in procs.values():
            p.start()
        state["leader"] = None
        submit_until(61)  # a new leader commits its term, and with it everything before

        deadline = time.monotonic() + 15
        while True:
            applied = {i: procs[i].ask("applied").split(" ", 2) for i in ids}
            items = {i: (s[2].split(",") if len(s) > 2 else []) for i, s in applied.items()}
            if all(set(acked) <= set(v) for v in items.values()) or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        for i, v in items.items():
            missing = [a for a in acked if a not in v]
            assert not missing, f"{i} lost acknowledged commands {missing[:5]}"
            assert len(v) == len(set(v)), f"{i} applied a command twice"
        longest = max(items.values(), key=len)
        for i, v in items.items():
            assert v == longest[:len(v)], f"{i} applied another order"
    finally:
        for p in procs.values():
            if p.alive():
                p.kill()


if __name__ == "__main__":
    child(*sys.argv[1:4])
