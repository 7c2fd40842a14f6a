"""The API as Python users expect it: documented names, enums, a Protocol for the state
machine, py.typed, argument checks that name the argument, wait_for_leader, async variants of
every operation, and the engine's account reaching `logging`."""

import asyncio
import inspect
import logging
import os

import pytest

import raftengine
from conftest import Counter, FAST, wait_for


def public(obj):
    return [n for n in dir(obj) if not n.startswith("_")]


def test_every_public_name_has_a_docstring():
    missing = []
    for name in raftengine.__all__:
        obj = getattr(raftengine, name)
        if not (obj.__doc__ or "").strip():
            missing.append(name)
        if inspect.isclass(obj) and not issubclass(obj, BaseException):
            for m in public(obj):
                attr = getattr(obj, m)
                if callable(attr) and not (getattr(attr, "__doc__", "") or "").strip():
                    missing.append(f"{name}.{m}")
    assert not missing, missing


def test_every_blocking_operation_has_an_async_variant():
    ops = [m for m in public(raftengine.Node) if callable(getattr(raftengine.Node, m))
           and m not in ("stop", "close", "status", "counters") and not m.endswith("_async")]
    missing = [m for m in ops if not inspect.iscoroutinefunction(getattr(raftengine.Node, m + "_async", None))]
    assert not missing, missing


def test_typing():
    pkg = os.path.dirname(raftengine.__file__)
    assert os.path.exists(os.path.join(pkg, "py.typed"))
    assert isinstance(Counter(), raftengine.StateMachine)
    assert raftengine.Role.LEADER == "leader" and str(raftengine.Role.STOPPED) == "stopped"
    assert raftengine.EventKind.APPLY_FAILED == "apply_failed"
    assert [p.value for p in raftengine.ApplyPolicy] == ["reject", "retry", "halt"]


BAD = [
    (dict(election_timeout_ms=300), "election_timeout_ms must be a (min, max) pair of milliseconds, got 300"),
    (dict(election_timeout_ms=(300, 100)), "election_timeout_ms must have min <= max, got (300, 100)"),
    (dict(heartbeat_ms=-5), "heartbeat_ms must not be negative, got -5"),
    (dict(heartbeat_ms="10"), "heartbeat_ms must be an int, not str ('10')"),
    (dict(heartbeat_ms=200, election_timeout_ms=(150, 300)),
     "heartbeat_ms (200) must be below the election timeout minimum (150)"),
    (dict(snapshot_threshold=-1), "snapshot_threshold must not be negative, got -1"),
    (dict(command_timeout_ms=0), "command_timeout_ms must be 1 to 3600000, got 0"),
    (dict(max_command_size=1 << 40), "max_command_size must be 1 to 67108864, got 1099511627776"),
    (dict(apply_policy="sometimes"), "apply_policy must be one of reject, retry, halt, got 'sometimes'"),
    (dict(on_event=5), "on_event must be callable"),
    (dict(cluster_id=""), "cluster_id must be a non-empty string, got ''"),
]


@pytest.mark.parametrize("kwargs,words", BAD)
def test_bad_arguments_are_named(tmpdir_path, kwargs, words):
    with pytest.raises(raftengine.InvalidArgument) as err:
        raftengine.Node(id="a", data_dir=tmpdir_path, listen="127.0.0.1:0", state_machine=Counter(), **kwargs)
    assert str(err.value) == words


def test_wait_for_leader_and_async_operations(cluster):
    leader = cluster.nodes["n1"].wait_for_leader(10)
    assert leader in cluster.ids
    node = cluster.nodes[leader]

    async def go():
        assert await node.wait_for_leader_async(5) == leader
        assert await node.submit_async(b"3") == b"3"
        await node.read_barrier_async()
        await node.take_snapshot_async()
        await node.update_settings_async(heartbeat_ms=25)
        target = next(n for n in cluster.ids if n != leader)
        await node.transfer_leadership_async(target)
        return target

    target = asyncio.run(go())
    assert wait_for(lambda: cluster.leader() == target, timeout=5)
    with pytest.raises(raftengine.InvalidArgument, match="timeout must be positive, got 0"):
        node.read_barrier(timeout=0)


def test_engine_events_reach_logging(tmpdir_path, caplog):
    caplog.set_level(logging.INFO, logger="raftengine")
    with raftengine.Node(id="solo", data_dir=tmpdir_path, listen="127.0.0.1:0", state_machine=Counter(), **FAST) as n:
        n.wait_for_leader(10)
        assert n.submit(b"1") == b"1"
    text = caplog.text
    assert "node solo: role LEADER" in text
    assert "node solo: leader solo" in text
