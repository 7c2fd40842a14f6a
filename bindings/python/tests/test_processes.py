"""A 3-node cluster of three separate Python processes; one is killed with SIGKILL while
commands flow, restarted, and no acknowledged command is lost."""

import json
import os
import signal
import subprocess
import sys
import time

from conftest import free_ports

HERE = os.path.dirname(os.path.abspath(__file__))


class Proc:
    def __init__(self, nid, base, addrs):
        self.nid, self.base, self.addrs = nid, base, addrs
        self.start()

    def start(self):
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.dirname(HERE), os.environ.get("PYTHONPATH", "")]))
        self.p = subprocess.Popen([sys.executable, os.path.join(HERE, "node_proc.py"), self.nid,
                                   os.path.join(self.base, self.nid), json.dumps(self.addrs)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        assert self.p.stdout.readline().strip() == "ready"

    def ask(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        return self.p.stdout.readline().strip()

    def kill(self):
        self.p.send_signal(signal.SIGKILL)
        self.p.wait()

    def stop(self):
        if self.p.poll() is None:
            try:
                self.ask("quit")
            except BrokenPipeError:
                pass
            self.p.wait(timeout=10)


def test_sigkill_loses_no_acknowledged_command(tmpdir_path):
    ids = ["p1", "p2", "p3"]
    addrs = dict(zip(ids, (f"127.0.0.1:{p}" for p in free_ports(3))))
    procs = {i: Proc(i, tmpdir_path, addrs) for i in ids}
    try:
        acked = []
        victim_killed = False
        leader = None
        n = 0
        deadline = time.monotonic() + 60
        while len(acked) < 60 and time.monotonic() < deadline:
            target = leader or ids[n % 3]
            if procs[target].p.poll() is not None:
                leader = None
                n += 1
                continue
            item = f"c{n}"
            reply = procs[target].ask(f"submit {item}").split()
            n += 1
            if reply[0] == "ok":
                acked.append(item)
                leader = target
            elif reply[1] == "NotLeader" and reply[2] in procs and procs[reply[2]].p.poll() is None:
                leader = reply[2]
            else:
                leader = None
                time.sleep(0.02)
            if len(acked) == 20 and not victim_killed:
                # Kill the leader mid-stream: a new one must take over with every ack intact.
                victim = leader or ids[0]
                procs[victim].kill()
                victim_killed = True
                leader = None
                killed = victim
        assert victim_killed and len(acked) >= 60
        procs[killed].start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            states = {i: procs[i].ask("applied").split(" ", 2) for i in ids}
            if all(set(acked) <= set(s[2].split(",") if len(s) > 2 else []) for s in states.values()):
                break
            time.sleep(0.1)
        for i, s in states.items():
            items = s[2].split(",") if len(s) > 2 else []
            missing = [a for a in acked if a not in items]
            assert not missing, f"{i} lost acknowledged commands {missing[:5]}"
            assert len(items) == len(set(items)), f"{i} applied a command twice"
    finally:
        for p in procs.values():
            if p.p.poll() is None:
                p.kill()
