"""raftengine.sim's fault mode with options, one-seed runs, the sweep raising for pytest, and
client histories checked for linearizability, with Python machines and Python invariants."""

import os
import re
import shutil
import subprocess
import sys

import pytest

from raftengine import NodeStopped, Role
from raftengine.sim import Cluster, FaultFound, History, default_rates, fault_run, fault_sweep

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
HEADING = "## Fault mode options, replay and client histories from C and Python"


class Counter:
    """A decimal number is added to the total, "=N" sets it (a register's write); anything else
    (the fault mode's "c1", "c2", ...) changes nothing. The result is the total, but for
    "name", which answers "counter"."""

    def __init__(self):
        self.total = 0

    def apply(self, command: bytes) -> bytes:
        if command.startswith(b"="):
            self.total = int(command[1:])
        elif command.lstrip(b"-").isdigit():
            self.total += int(command)
        elif command == b"name":
            return b"counter"
        return str(self.total).encode()

    def snapshot(self) -> bytes:
        return str(self.total).encode()

    def restore(self, data: bytes) -> None:
        self.total = int(data)


def counter(node):
    return Counter()


def kinds(run):
    return [a.kind for a in run.actions]


def one_leader_per_term(c: Cluster):
    """Election safety, read through the Cluster the invariant is handed."""
    leaders = {}
    for n in range(1, c.nodes + 1):
        s = c.state(n)
        if s.role == Role.LEADER:
            if s.term in leaders:
                return f"nodes {leaders[s.term]} and {n} both lead term {s.term}"
            leaders[s.term] = n
    return None


# -- options --

def test_defaults_come_from_the_library():
    rates = default_rates()
    assert rates["deliver"] == 480 and rates["crash"] == 20 and rates["link_fault"] == 0
    base = [k for k in rates if k not in ("power_loss", "disk_full", "power_loss_all", "disk_error", "sync_job")]
    assert sum(rates[k] for k in base) == 1000
    assert rates["sync_job"] == 150
    with pytest.raises(ValueError, match="no rate 'crashes'"):
        fault_run(1, rates={"crashes": 0})
    with pytest.raises(ValueError):
        fault_run(1, nodes=16)


def test_an_invariant_that_never_holds_is_reported_at_the_first_step():
    seen = []

    def never(c):
        seen.append(c.nodes)
        return f"saw {c.nodes} nodes, leader {c.leader()}"

    with fault_run(7, steps=50, invariants={"never holds": never}) as run:
        assert not run.ok
        v = run.violations[0]
        assert v.property == "never holds"
        assert v.message == "never holds: saw 3 nodes, leader None"
        # The turns before the first step took none; the run stopped at the turn that took it.
        assert run.turns == len(run.actions) >= 1
        assert {a.step for a in run.actions} == {run.actions[0].step}
        assert v.step == run.actions[0].step + 1
        assert seen[0] == 3
        with pytest.raises(FaultFound) as e:
            run.assert_ok()
        assert "fault_run(7, nodes=3, steps=50, invariants={'never holds': " in str(e.value)


def test_an_invariant_that_raises_does_not_hold():
    def broken(c):
        raise KeyError("no such thing")

    with fault_run(2, steps=20, invariants=[broken]) as run:
        assert run.violations[0].property == "broken"
        assert "KeyError" in run.violations[0].message and "no such thing" in run.violations[0].message


def test_zero_rates_turn_actions_off():
    crashes = 0
    for seed in range(1, 5):
        with fault_run(seed, steps=120, trace=False) as run:
            assert run.ok, run.violations
            crashes += kinds(run).count("crash")
    assert crashes > 0
    for seed in range(1, 5):
        with fault_run(seed, steps=120, rates={"crash": 0, "partition": 0}, trace=False) as run:
            assert run.ok, run.violations
            assert "crash" not in kinds(run) and "partition" not in kinds(run)
            assert "deliver" in kinds(run)


SYNC_KINDS = ("syncJob", "syncRun", "syncComplete")


def test_sync_placement_moves_syncs_off_the_loop():
    # Off the loop every node's syncs are jobs: their fdatasyncs and completions are actions,
    # power losses land among them, and the run stays safe (acknowledged commands kept).
    runs = completes = 0
    for seed in range(1, 4):
        with fault_run(seed, steps=300, storage_faults=True, sync_placement="always", trace=False) as run:
            assert run.ok, run.violations
            runs += kinds(run).count("syncRun")
            completes += kinds(run).count("syncComplete")
            assert run.committed > 0
    assert runs > 0 and completes > 0
    # Inline: no such action; and none when their rate is 0.
    with fault_run(3, steps=200, sync_placement="inline", trace=False) as run:
        assert not set(SYNC_KINDS) & set(kinds(run))
    with fault_run(3, steps=200, sync_placement="leader", rates={"sync_job": 0}, trace=False) as run:
        assert not set(SYNC_KINDS) & set(kinds(run))
    # Seed 5 chooses "always" itself: the same run as with it named.
    with fault_run(5, steps=150, trace=False) as seeded, \
            fault_run(5, steps=150, sync_placement="always", trace=False) as named:
        assert seeded.actions == named.actions
        assert "syncComplete" in kinds(seeded)
    with pytest.raises(ValueError, match="sync_placement"):
        fault_run(1, sync_placement="sometimes")
    with fault_run(1, steps=10, sync_placement="leader") as run:
        assert run.replay == "fault_run(1, nodes=3, steps=10, sync_placement='leader')"


def test_steps_set_the_run_length():
    with fault_run(9, steps=30, trace=False) as short, fault_run(9, steps=90, trace=False) as long:
        assert short.turns == len(short.actions) == 30
        assert long.turns == len(long.actions) == 90
        # The longer run begins as the shorter one did.
        assert [(a.kind, a.node) for a in long.actions[:30]] == [(a.kind, a.node) for a in short.actions]


def test_cluster_operations_storage_faults_recovery_and_pre_vote():
    with fault_run(1, nodes=5, steps=300, rates={"cluster_operation": 200}, cluster_operations=False,
                   trace=False) as run:
        assert "clusterOperation" in kinds(run)
        assert not {"snapshot", "transfer", "add", "remove", "promote"} & set(kinds(run))
        assert run.cluster.nodes == 5
    with fault_run(1, nodes=5, steps=300, rates={"cluster_operation": 200}, trace=False) as run:
        assert run.ok, run.violations
        assert {"snapshot", "transfer", "add"} & set(kinds(run))
        assert run.cluster.nodes > 5  # spares joined

    storage = {"power_loss": 100, "disk_full": 50}
    with fault_run(4, steps=200, rates=storage, trace=False) as run:
        assert not {"powerLoss", "diskFull"} & set(kinds(run))
    with fault_run(4, steps=200, rates=storage, storage_faults=True, trace=False) as run:
        assert run.ok, run.violations
        assert "powerLoss" in kinds(run) and "diskFull" in kinds(run)

    # With no turns, only the recovery check elects a leader and commits.
    with fault_run(6, steps=0, check_recovery=False) as run:
        assert run.committed == 0 and run.cluster.leader() is None
    with fault_run(6, steps=0, machine=counter) as run:
        assert run.ok and run.committed >= 2
        c = run.cluster
        leader = c.leader()
        assert leader is not None
        assert all(c.state(n).applied_index == c.state(leader).commit_index for n in (1, 2, 3))

    for pre_vote in (False, True):
        with fault_run(6, steps=0, pre_vote=pre_vote) as run:
            rst = run.trace("rst")
            assert ("p_v_r" in rst) == pre_vote and "poll" in rst


def test_the_same_seed_replays_the_same_run():
    a, b, c = (fault_run(seed, steps=80, machine=counter) for seed in (11, 11, 12))
    try:
        assert a.actions == b.actions and a.action_log() == b.action_log()
        assert a.actions != c.actions
        for fmt in ("rst", "csv", "plantuml"):
            assert len(a.trace(fmt)) > 1000
            assert a.trace(fmt) == b.trace(fmt)
            assert a.trace(fmt) != c.trace(fmt)
        assert a.trace("plantuml").startswith("@startuml")
        assert a.committed == b.committed > 0
        assert a.cluster.machine(a.cluster.leader()).total == 0  # "c<n>" commands add nothing
    finally:
        for r in (a, b, c):
            r.close()
    with pytest.raises(ValueError):
        a.cluster


# -- the sweep from pytest --

def test_fifty_seeds_clean_with_a_python_machine_and_invariant():
    checked = []

    def safe(c):
        checked.append(1)
        return one_leader_per_term(c)

    report = fault_sweep(50, node_counts=(3, 5), machine=counter, steps=100, invariants={"one leader per term": safe},
                         raise_on_failure=True)
    assert report.ok and report.seeds_run == 50
    assert len(checked) > 50 * 100


def test_a_broken_invariant_names_the_seed_and_the_replay_call():
    def commit_below_3(c):
        top = max(c.state(n).commit_index for n in range(1, c.nodes + 1))
        return None if top < 3 else f"commit index {top}"

    inv = {"commit stays below 3": commit_below_3}
    with pytest.raises(FaultFound) as e:
        fault_sweep(range(1, 30), node_counts=(3,), machine=counter, steps=100, invariants=inv, raise_on_failure=True)
    assert isinstance(e.value, AssertionError)
    msg = str(e.value)
    seed = int(re.search(r"failed at seed (\d+)", msg).group(1))
    assert f"fault_run({seed}, nodes=3, steps=100, invariants={{'commit stays below 3': " in msg
    assert f"fault_sweep(range({seed}, {seed + 1}), node_counts=(3,), steps=100" in msg
    assert re.search(r"seed \d+ \(3 nodes\): commit stays below 3: commit index \d+ \(step \d+\)", msg)
    # The replay call fails the same way, and the seed before it passes.
    with fault_run(seed, nodes=3, steps=100, invariants=inv, machine=counter) as run:
        assert run.violations[0].property == "commit stays below 3"
        assert f"{run.violations[0].message} (step {run.violations[0].step})" in msg
    if seed > 1:
        with fault_run(seed - 1, nodes=3, steps=100, invariants=inv, machine=counter, trace=False) as run:
            assert run.ok


# -- client histories --

def total(machine):
    return machine.total


def test_reads_through_the_leader_across_a_leader_change_are_linearizable():
    with Cluster(nodes=3, seed=5, machine=counter) as c:
        h = History("counter")
        c.elect(1)
        add = h.propose(c, 1, b"5", add=5, client="alice")
        assert h.operation(add).completion == "pending"
        c.deliver_all()
        assert h.operation(add).output == 5
        r1 = h.read(c, 1, total, client="bob")
        c.deliver_all()
        assert h.operation(r1).output == 5

        c.crash(1)
        with pytest.raises(NodeStopped):
            h.read(c, 1, total)
        c.advance(301)  # node 3's lease on node 1 runs out
        c.elect(2)
        assert c.leader() == 2
        r2 = h.read(c, 2, total, client="bob")
        c.deliver_all()
        assert h.operation(r2).output == 5
        add2 = h.propose(c, 2, b"3", add=3, client="alice")
        c.deliver_all()
        assert h.operation(add2).output == 8
        r3 = h.read(c, 2, total, client="carol")
        c.deliver_all()
        assert h.operation(r3).output == 8
        redirected = h.propose(c, 3, b"100", add=100)  # a follower: failed, left out
        c.deliver_all()
        assert h.operation(redirected).completion == "failed"
        assert len(h) == 6

        result = h.check()
        assert result.ok and result.verdict == "linearizable"
        assert result.description.startswith("linearizable: order ")
        assert "op 0 [alice] add 5" in result.description

        # A register through the same cluster: "=N" writes N.
        reg = History("register")
        reg.propose(c, 2, b"=42", write=42)
        c.deliver_all()
        r = reg.read(c, 2, total)
        c.deliver_all()
        assert reg.operation(r).output == 42 and reg.check().ok
        reg.read(c, 2, lambda m: 1 // 0)  # a value that cannot be told is a wrong answer
        c.deliver_all()
        bad = reg.check()
        assert bad.verdict == "not linearizable" and "could not say" in bad.description

        # Reads through the log: the command's result is the value read.
        log_reads = History("counter", initial=42)
        r = log_reads.propose(c, 2, b"0", read=True)
        c.deliver_all()
        assert log_reads.operation(r).output == 42 and log_reads.check().ok
        log_reads.propose(c, 2, b"name", read=True)  # a result that is no number: a wrong answer
        c.deliver_all()
        bad = log_reads.check()
        assert not bad and 'result "counter" is not a decimal integer' in bad.description
        with pytest.raises(ValueError):
            log_reads.propose(c, 2, b"1", add=1, read=True)


def test_a_stale_local_read_on_a_partitioned_old_leader_is_not_linearizable():
    with Cluster(nodes=3, seed=8, machine=counter) as c:
        h = History("counter")
        c.elect(1)
        h.propose(c, 1, b"5", add=5)
        c.deliver_all()
        c.partition([1], [2, 3])
        c.advance(301)
        c.elect(2)
        add = h.propose(c, 2, b"10", add=10)
        c.deliver_all()
        assert h.operation(add).output == 15
        assert c.role(1) == Role.LEADER  # it has not heard

        # A ReadIndex at the old leader cannot confirm it leads: pending, which is safe.
        pending = h.read(c, 1, total)
        c.deliver_all()
        assert h.operation(pending).completion == "pending"
        assert h.check().ok

        stale = h.read_locally(c, 1, total)
        assert h.operation(stale).output == 5
        result = h.check()
        assert not result and result.verdict == "not linearizable"
        assert "answered 5" in result.description


def test_histories_built_by_hand():
    h = History("register")
    w = h.invoke("write", 1, client="a")
    h.complete(w)
    r = h.invoke("read", client="b")
    h.complete(r, 7)  # a value never written
    assert h.check().verdict == "not linearizable"
    with pytest.raises(Exception):
        h.complete(r, 1)  # already completed
    with pytest.raises(Exception):
        h.invoke("add", 1)  # not a register's
    assert h.operations[0].op == "write" and h.operations[0].arg == 1

    stale = History("register")
    stale.complete(stale.invoke("write", 1))
    stale.complete(stale.invoke("read"), 0)  # after the write completed
    assert stale.check().verdict == "not linearizable"

    overlap = History("register")
    w = overlap.invoke("write", 1)
    r = overlap.invoke("read")
    overlap.complete(r, 0)  # while the write was in flight
    overlap.complete(w)
    result = overlap.check()
    assert result.ok and result.description.startswith("linearizable: order 1 0\n")
    assert overlap.check(limit=1).verdict == "undecided"

    failed = History("register")
    failed.fail(failed.invoke("write", 9))
    failed.complete(failed.invoke("read"), 9)
    assert failed.check().verdict == "not linearizable"
    pending = History("register")
    pending.invoke("write", 9)
    pending.complete(pending.invoke("read"), 9)
    assert pending.check().ok

    count = History("counter", initial=10)
    count.complete(count.invoke("add", 5), 15)
    count.complete(count.invoke("add", 1), 15)
    assert not count.check()
    with pytest.raises(ValueError):
        History("queue")


# -- docs/simulator.md's examples --

def _doc_block(lang: str) -> str:
    text = open(os.path.join(REPO, "docs", "simulator.md")).read()
    section = text[text.index(HEADING):]
    return re.search(r"```" + lang + r"\n(.*?)```", section, re.S).group(1)


def test_the_python_example_runs(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.join(REPO, "bindings", "python"),
                                                       os.environ.get("PYTHONPATH", "")]))
    r = subprocess.run([sys.executable, "-c", _doc_block("python")], cwd=tmp_path, env=env, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("fault mode failed at seed 1 (replay: fault_sweep(range(1, 2), node_counts=(3,), "
                               "steps=200, invariants={'low terms': low_terms}); one run, kept: fault_run(1, nodes=3")
    assert lines[1].startswith("low terms at step ") and "200 actions" in lines[1]
    assert lines[2].endswith("CSV rows")
    assert lines[3:] == ["linearizable", "not linearizable"]


def test_the_c_example_runs(tmp_path):
    library = os.environ.get("RAFTENGINE_LIBRARY")
    if not library or not shutil.which("cc"):
        pytest.skip("needs RAFTENGINE_LIBRARY and a C compiler")
    source = tmp_path / "example_faults.c"
    source.write_text(_doc_block("c"))
    libdir = os.path.dirname(os.path.abspath(library))
    build = subprocess.run(["cc", "-std=c11", "-Wall", "-Werror", "-I", os.path.join(REPO, "include"), str(source),
                            "-L", libdir, "-l:" + os.path.basename(library), "-Wl,-rpath," + libdir,
                            "-o", str(tmp_path / "example_faults")], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    r = subprocess.run([str(tmp_path / "example_faults")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "first failing seed: 1 of 1 run"
    assert re.fullmatch(r"low terms at step \d+: low terms: node 1 reached term \d+", lines[1])
    assert re.fullmatch(r"\d+ actions, the first: \w+", lines[2])
    assert lines[3:] == ["not linearizable: no order of the operations explains their outputs",
                         "op 0 [a] write 1: invoked at 1, completed at 2", "op 1 [b] read: invoked at 3, answered 0 at 4"]
