"""Flow control from Python: max_inflight and max_inflight_bytes are checked with messages that
name them, and a cluster with the tightest caps (every append alone) still commits and agrees."""

import pytest

import raftengine
from conftest import Cluster, Counter, wait_for


@pytest.mark.parametrize("name,value,words", [
    ("max_inflight", 0, "max_inflight must be 1 to 100000"),
    ("max_inflight", -1, "max_inflight must not be negative"),
    ("max_inflight_bytes", 0, "max_inflight_bytes must be 1 to"),
    ("max_inflight_bytes", 1 << 41, "max_inflight_bytes must be 1 to"),
    ("max_inflight", "8", "max_inflight must be an int"),
])
def test_bad_flow_control_values_name_the_argument(tmpdir_path, name, value, words):
    with pytest.raises(raftengine.InvalidArgument, match=words):
        raftengine.Node(id="a", data_dir=tmpdir_path, listen="127.0.0.1:1", state_machine=Counter(), **{name: value})


def test_the_tightest_caps_still_commit_everything(tmpdir_path):
    c = Cluster(tmpdir_path)
    try:
        c.start_all(max_inflight=1, max_inflight_bytes=1)
        leader = wait_for(c.leader, 10)
        outcomes = c.nodes[leader].submit_many([b"1"] * 50, timeout=20)
        assert outcomes[-1] == b"50"
        assert wait_for(lambda: all(m.total == 50 for m in c.machines.values()), 10)
    finally:
        c.close()
