"""Safe defaults from Python: a bad command never stops the cluster, a joining node never starts
a cluster of its own, and peer lists that cannot work are refused with the library's words."""

import os
import socket
import time

import pytest

import raftengine
from conftest import Cluster, Counter, FAST, free_ports, wait_for


def applied(node):
    return node.status().applied_index


def test_a_bad_command_is_its_own_result_and_every_replica_goes_on(tmpdir_path):
    c = Cluster(tmpdir_path)
    c.start_all()
    try:
        assert c.submit(b"5") == b"5"
        with pytest.raises(raftengine.ApplyError) as err:
            c.submit(b"fail:no such key")
        assert str(err.value) == "no such key"
        index = c.nodes[c.leader()].status().commit_index
        for nid in c.ids:
            assert wait_for(lambda: c.events_of(nid, "apply_failed"), timeout=5)
            (ev,) = c.events_of(nid, "apply_failed")
            assert (ev.value, ev.detail, ev.number) == ("reject", "no such key", index)
            assert not c.nodes[nid].status().stopped
        assert c.submit(b"2") == b"7"
        assert wait_for(lambda: all(m.total == 7 for m in c.machines.values()), timeout=5)
        # A follower whose machine raises goes on too.
        follower = next(n for n in c.ids if n != c.leader())
        c.machines[follower].fail = True
        assert c.submit(b"1") == b"8"
        assert wait_for(lambda: len(c.events_of(follower, "apply_failed")) == 2, timeout=5)
        assert c.events_of(follower, "apply_failed")[1].detail == "injected failure"
        c.machines[follower].fail = False
        assert c.submit(b"1") == b"9"
        assert wait_for(lambda: c.machines[follower].total == 8, timeout=5)
        assert not c.nodes[follower].status().stopped
    finally:
        c.close()


def test_an_apply_that_returns_the_wrong_type_is_rejected_with_the_reason(tmpdir_path):
    class Bad(Counter):
        def apply(self, command):
            if command == b"str":
                return "not bytes"
            return super().apply(command)

    c = Cluster(tmpdir_path)
    c.machines = {n: Bad() for n in c.ids}
    c.start_all()
    try:
        with pytest.raises(raftengine.ApplyError, match="apply\\(\\) must return bytes, not str"):
            c.submit(b"str")
        assert c.submit(b"3") == b"3"
        for nid in c.ids:
            assert not c.nodes[nid].status().stopped
    finally:
        c.close()


def test_retry_backs_off_and_resumes(tmpdir_path):
    c = Cluster(tmpdir_path)
    c.start_all(apply_policy="retry")
    try:
        assert c.submit(b"1") == b"1"
        assert wait_for(lambda: all(m.total == 1 for m in c.machines.values()), timeout=5)
        follower = next(n for n in c.ids if n != c.leader())
        c.machines[follower].fail = True
        assert c.submit(b"1") == b"2"
        time.sleep(1.0)
        stuck = c.events_of(follower, "apply_failed")
        assert 3 <= len(stuck) <= 12, len(stuck)
        assert all(e.value == "retry" for e in stuck)
        assert c.machines[follower].total == 1
        c.machines[follower].fail = False
        assert wait_for(lambda: c.machines[follower].total == 2, timeout=5)
    finally:
        c.close()


def test_halt_stops_the_node_and_marks_the_log_broken(tmpdir_path):
    c = Cluster(tmpdir_path)
    c.start_all(apply_policy="halt")
    try:
        assert c.submit(b"1") == b"1"
        leader = c.leader()
        c.machines[leader].fail = True
        with pytest.raises(raftengine.ApplyError):
            c.nodes[leader].submit(b"1", timeout=5)
        assert wait_for(lambda: c.nodes[leader].status().stopped, timeout=5)
        assert [e.value for e in c.events_of(leader, "stopped")] == ["APPLY_HALTED"]
        c.nodes[leader].close()
        del c.nodes[leader]
        with pytest.raises(raftengine.LogBroken, match="the log is marked broken"):
            c.start(leader, apply_policy="halt")
    finally:
        c.close()


def test_bad_apply_policy_is_refused(tmpdir_path):
    with pytest.raises(raftengine.InvalidArgument, match="apply_policy must be one of reject, retry, halt"):
        raftengine.Node(id="a", data_dir=tmpdir_path, listen="127.0.0.1:0", state_machine=Counter(),
                        apply_policy="idempotent")


def test_a_joiner_held_back_never_campaigns_then_joins(tmpdir_path):
    c = Cluster(tmpdir_path)
    c.start_all()
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(16)  # accepts into its backlog, never reads: the join request is held back
    try:
        assert c.submit(b"3") == b"3"
        events = []
        machine = Counter()
        joiner = raftengine.Node(id="n4", data_dir=os.path.join(tmpdir_path, "n4"), listen="127.0.0.1:0",
                                 state_machine=machine, on_event=events.append, command_timeout_ms=1500,
                                 join=[f"127.0.0.1:{hole.getsockname()[1]}"] + [c.addr[n] for n in c.ids], **FAST)
        try:
            end = time.monotonic() + 1.2  # four to eight election timeouts
            roles, terms, applied_max = set(), set(), 0
            while time.monotonic() < end:
                s = joiner.status()
                roles.add(s.role)
                terms.add(s.term)
                applied_max = max(applied_max, s.applied_index)
                time.sleep(0.005)
            assert roles == {"follower"}
            assert terms == {0}
            assert applied_max == 0 and machine.total == 0
            with pytest.raises(raftengine.RetryLater):
                joiner.submit(b"1", timeout=2)
            assert wait_for(lambda: any(e.kind == "membership_done" and e.node == "n4" and e.value == "ADD"
                                        for e in list(events)), timeout=20)
            assert c.nodes[c.leader()].status().voters == 4
            assert c.submit(b"4") == b"7"
            assert wait_for(lambda: machine.total == 7, timeout=5)
        finally:
            joiner.close()
    finally:
        hole.close()
        c.close()


def test_join_and_peers_exclude_each_other(tmpdir_path):
    with pytest.raises(raftengine.InvalidArgument,
                       match="a node that joins a cluster learns its members from it: give peers or join, not both"):
        raftengine.Node(id="a", data_dir=tmpdir_path, listen="127.0.0.1:0", state_machine=Counter(),
                        peers={"b": "127.0.0.1:7002"}, join="127.0.0.1:7003")


# The same words as the C ABI's re_config_errmsg and raftengine-node's flag checks.
BAD_PEERS = [
    ({"n1": "127.0.0.1:7001"}, raftengine.DuplicateId, "peer n1 has this node's own id"),
    ({"n2": "127.0.0.1:70000"}, raftengine.AddressError, 'the port of "127.0.0.1:70000" is outside 1-65535'),
    ({"n2": "127.0.0.1:0"}, raftengine.AddressError, 'the port of "127.0.0.1:0" is outside 1-65535'),
    ({"n2": "nohost"}, raftengine.AddressError,
     'address "nohost" is not HOST:PORT (HOST an IPv4 literal, [IPv6] or localhost)'),
]


@pytest.mark.parametrize("peers,error,words", BAD_PEERS)
def test_bad_peer_lists_are_refused_with_the_library_words(tmpdir_path, peers, error, words):
    with pytest.raises(error) as err:
        raftengine.Node(id="n1", data_dir=tmpdir_path, listen="127.0.0.1:0", state_machine=Counter(), peers=peers)
    assert str(err.value) == f"peers: {words}"
