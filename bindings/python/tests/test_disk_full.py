"""A full disk under one node of a Python host's cluster: the node stops and says why (an ERROR
and a STOPPED event naming the cause, role stopped, NodeStopped on submit), the other two keep
every acknowledged command, and once space is freed the node restarts on its data dir and
catches up. Its data dir is a small tmpfs (root only; skipped with the reason otherwise)."""

import os
import subprocess

import pytest

import raftengine
from conftest import Cluster, Counter, wait_for


def mount_tmpfs(path, size):
    if os.geteuid() != 0:
        return "not root"
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", path], capture_output=True, text=True)
    return None if r.returncode == 0 else f"mount tmpfs: {r.stderr.strip()}"


def test_a_node_whose_disk_fills_stops_with_the_reason_and_recovers(tmpdir_path):
    n1dir = os.path.join(tmpdir_path, "n1")
    os.makedirs(n1dir)
    why = mount_tmpfs(n1dir, "2m")
    if why:
        pytest.skip(f"cannot mount a small tmpfs ({why})")
    c = Cluster(tmpdir_path)
    try:
        c.start_all()
        c.submit(b"1")
        if c.leader() != "n1":
            c.nodes[c.leader()].transfer_leadership("n1")
            assert wait_for(lambda: c.leader() == "n1", 10)
        filler = os.path.join(n1dir, "filler")
        st = os.statvfs(n1dir)
        with open(filler, "wb") as f:
            os.posix_fallocate(f.fileno(), 0, st.f_bavail * st.f_frsize - (12 << 10))

        acknowledged, taken = 1, 1
        n1 = c.nodes["n1"]
        while n1.status().role != raftengine.Role.STOPPED and taken < 20_000:
            try:
                outcomes = n1.submit_many([b"1"] * 64, timeout=10)
            except raftengine.NodeStopped:
                break
            taken += 64
            acknowledged += sum(1 for o in outcomes if isinstance(o, bytes))
        assert wait_for(lambda: n1.status().role == raftengine.Role.STOPPED, 10)

        stopped = c.events_of("n1", raftengine.EventKind.STOPPED)
        assert len(stopped) == 1 and stopped[0].value == "STORAGE_FAILURE", stopped
        assert "No space left on device" in stopped[0].detail
        assert any("No space left on device" in (e.detail or "") for e in c.events_of("n1", raftengine.EventKind.ERROR))
        st = n1.status()
        assert st.stop_reason == "STORAGE_FAILURE" and "No space left on device" in st.stop_detail
        assert c.nodes["n2"].status().stop_reason is None
        with pytest.raises(raftengine.NodeStopped):
            n1.submit(b"1")

        # The other two keep every acknowledged command (and none that was never taken).
        c.submit(b"1")
        acknowledged, taken = acknowledged + 1, taken + 1
        leader = c.leader()
        assert leader in ("n2", "n3")
        total = c.machines[leader].total
        assert acknowledged <= total <= taken
        assert wait_for(lambda: all(c.machines[i].total == total for i in ("n2", "n3")), 10)

        # Space freed: n1 restarts on the same data dir with a fresh machine and catches up.
        os.unlink(filler)
        n1.close()
        c.machines["n1"] = Counter()
        c.start("n1")
        c.submit(b"1")
        assert wait_for(lambda: all(m.total == total + 1 for m in c.machines.values()), 15)
    finally:
        c.close()
        subprocess.run(["umount", "-l", n1dir])
