"""raftengine-node refuses flags that cannot make a working cluster: one line naming what is
wrong (the same words as the C ABI's re_config_errmsg and the Python exceptions), exit status 2,
and nothing written to the data dir."""

import os
import subprocess

import pytest

from conftest import BIN, free_ports


def run_node(tmp_path, *extra):
    raft, client, p2, c2 = free_ports(4)
    ddir = tmp_path / "x1"
    args = [BIN, "--id", "x1", "--data-dir", str(ddir), "--raft-addr", f"127.0.0.1:{raft}",
            "--client-addr", f"127.0.0.1:{client}"] + list(extra)
    return subprocess.run(args, capture_output=True, text=True, timeout=30), ddir


CASES = [
    (["--peer", "x1=127.0.0.1:7102,127.0.0.1:6102"], "peer x1 has this node's own id"),
    (["--peer", "x2=127.0.0.1:7102,127.0.0.1:6102", "--peer", "x2=127.0.0.1:7103,127.0.0.1:6103"],
     "peer x2 is given twice"),
    (["--peer", "x2=127.0.0.1:70000,127.0.0.1:6102"], 'the port of "127.0.0.1:70000" is outside 1-65535'),
    (["--peer", "x2=127.0.0.1:0,127.0.0.1:6102"], 'the port of "127.0.0.1:0" is outside 1-65535'),
    (["--peer", "x2=nohost,127.0.0.1:6102"],
     'address "nohost" is not HOST:PORT (HOST an IPv4 literal, [IPv6] or localhost)'),
    (["--peer", "x2=127.0.0.1:7102,127.0.0.1:6102", "--join", "127.0.0.1:7105"],
     "a node that joins a cluster learns its members from it: give peers or join, not both"),
]


@pytest.mark.parametrize("extra,words", CASES)
def test_bad_peer_lists_are_refused_in_one_line(tmp_path, extra, words):
    result, ddir = run_node(tmp_path, *extra)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("raftengine-node: ")
    assert lines[0].endswith(words)
    assert not os.path.exists(ddir)
