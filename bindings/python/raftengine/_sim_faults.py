"""The simulator's fault mode with its options, one-seed runs kept for reading, and the sweep
raising for pytest (re_sim_fault_options, re_sim_fault_run_*, re_sim_fault_sweep_with).
Imported through raftengine.sim, which re-exports it: it builds on raftengine.sim's Cluster."""

import ctypes
from dataclasses import dataclass
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from ._closing import Closing
from . import _lib
from ._calls import _check, declared_by, lib
from .sim import Cluster, MachineFactory, _Machines

__all__ = ["Rates", "default_rates", "Violation", "Action", "FaultRun", "fault_run", "FaultReport", "FaultFound",
           "fault_sweep", "Invariant"]

# -- the C structs of include/raftengine.h --

RATE_FIELDS = ("deliver", "advance", "propose", "drop", "duplicate", "crash", "restart", "partition", "heal",
               "cluster_operation", "link_fault", "power_loss", "disk_full", "power_loss_all", "disk_error")


# Rates kept outside re_sim_fault_rates (fields appended to the options later), by their field.
EXTRA_RATES = {"sync_job": "sync_job_rate"}
SYNC_PLACEMENTS = {"inline": 0, "leader": 1, "always": 2}


class _Rates(ctypes.Structure):
    _fields_ = [(name, ctypes.c_uint32) for name in RATE_FIELDS]


INVARIANT_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t)


class _Invariant(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("check", INVARIANT_FN), ("user", ctypes.c_void_p)]


class _Options(ctypes.Structure):
    _fields_ = [("size", ctypes.c_size_t), ("nodes", ctypes.c_int), ("steps", ctypes.c_size_t), ("rates", _Rates),
                ("pre_vote", ctypes.c_int), ("cluster_operations", ctypes.c_int), ("check_recovery", ctypes.c_int),
                ("storage_faults", ctypes.c_int), ("trace", ctypes.c_int),
                ("machine", ctypes.POINTER(_lib.SimMachine)), ("factory", ctypes.c_void_p),
                ("invariants", ctypes.POINTER(_Invariant)), ("n_invariants", ctypes.c_size_t),
                ("sync_placement", ctypes.c_int), ("sync_job_rate", ctypes.c_uint32)]


def _declare(L):
    """This module's functions."""
    i, p, u64, sz = ctypes.c_int, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_size_t
    pp, cpp = ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_char_p)
    u64_p, sz_p, i_p = ctypes.POINTER(u64), ctypes.POINTER(sz), ctypes.POINTER(i)
    opts = ctypes.POINTER(_Options)
    _lib._fn(L, "re_sim_fault_options_init", None, opts)
    _lib._fn(L, "re_sim_fault_sweep_with", i, u64, u64, i_p, sz, opts, i, u64_p, u64_p, pp)
    _lib._fn(L, "re_sim_fault_run_seed", i, u64, opts, pp)
    _lib._fn(L, "re_sim_fault_run_free", None, p)
    _lib._fn(L, "re_sim_fault_run_turns", sz, p)
    _lib._fn(L, "re_sim_fault_run_committed", u64, p)
    _lib._fn(L, "re_sim_fault_run_violation_count", sz, p)
    _lib._fn(L, "re_sim_fault_run_violation", i, p, sz, cpp, cpp, u64_p)
    _lib._fn(L, "re_sim_fault_run_action_count", sz, p)
    _lib._fn(L, "re_sim_fault_run_action", i, p, sz, sz_p, u64_p, cpp, i_p)
    _lib._fn(L, "re_sim_fault_run_sim", p, p)


_L = declared_by(_declare)


# -- options --

Rates = Mapping[str, int]
# A property that must hold after every step: None (or True) when it holds; a text saying what
# is wrong (or False) when not. Raising counts as not holding, with the exception's words.
Invariant = Callable[[Cluster], Optional[str]]


def default_rates() -> Dict[str, int]:
    """The fault mode's default action weights, by name (the library's own defaults)."""
    o = _Options()
    _L().re_sim_fault_options_init(ctypes.byref(o))
    rates = {name: getattr(o.rates, name) for name in RATE_FIELDS}
    rates.update({name: getattr(o, field) for name, field in EXTRA_RATES.items()})
    return rates


class _RunCluster(Cluster):
    """A cluster the fault mode owns, lent for reading (state, leader, machine, trace): it is
    not freed here, and it is gone once its run is."""

    def __init__(self, handle: int, machines, seed: int):
        self._L = lib()
        self._machines = machines
        self._h = ctypes.c_void_p(handle)
        self.seed = seed

    @property
    def nodes(self) -> int:  # the fault mode adds nodes as it goes
        return self._L.re_sim_node_count(self._handle())

    def close(self):
        self._h = None


class _NoMachines:
    """The library's own counter machine: nothing of Python's to reach."""
    current: Dict[int, object] = {}

    def raise_pending(self):
        pass


class _Invariants:
    """The C invariant table over Python callables; `cluster` is the run's cluster as they see it."""

    def __init__(self, invariants, machines):
        self._machines = machines
        self._clusters: Dict[int, _RunCluster] = {}
        self.seed = 0
        pairs = _invariant_pairs(invariants)
        self.names = [name for name, _ in pairs]
        self._fns = [INVARIANT_FN(self._wrap(check)) for _, check in pairs]
        self.table = (_Invariant * max(1, len(pairs)))()
        self._names = [name.encode() for name in self.names]
        for k, fn in enumerate(self._fns):
            self.table[k] = _Invariant(self._names[k], fn, None)

    def cluster(self, handle: int) -> _RunCluster:
        c = self._clusters.get(handle)
        if c is None:
            # One cluster per run (a sweep's runs come one after another).
            for old in self._clusters.values():
                old.close()
            self._clusters = {handle: _RunCluster(handle, self._machines, self.seed)}
            c = self._clusters[handle]
        return c

    def release(self):
        for c in self._clusters.values():
            c.close()
        self._clusters = {}

    def _wrap(self, check: Invariant):
        def call(user, sim, why, why_len):
            try:
                verdict = check(self.cluster(sim))
            except BaseException as e:  # never unwind into C: the invariant did not hold
                verdict = f"{type(e).__name__}: {e}"
            if verdict is None or verdict is True:
                return 0
            text = "failed" if verdict is False else str(verdict)
            data = text.encode("utf-8", "replace")[:max(0, why_len - 1)]
            ctypes.memmove(why, data, len(data))
            ctypes.memset(why + len(data), 0, 1)
            return 1
        return call


def _invariant_pairs(invariants) -> List[Tuple[str, Invariant]]:
    """(name, callable) pairs from a mapping, or an iterable of callables and (name, callable)."""
    if not invariants:
        return []
    items = invariants.items() if isinstance(invariants, Mapping) else invariants
    pairs = []
    for item in items:
        name, check = item if isinstance(item, tuple) else (getattr(item, "__name__", "invariant"), item)
        if not callable(check):
            raise TypeError(f"invariant {name!r} is not callable")
        pairs.append((str(name), check))
    return pairs


@dataclass
class _Built:
    """C options and what they point at (kept alive for the call)."""
    options: _Options
    machines: object
    invariants: Optional[_Invariants]


def _build(nodes: int, steps, rates, pre_vote, cluster_operations, check_recovery, storage_faults, trace,
           invariants, machine, sync_placement=None) -> _Built:
    o = _Options()
    L = _L()
    L.re_sim_fault_options_init(ctypes.byref(o))
    o.nodes = int(nodes)
    if steps is not None:
        if steps < 0:
            raise ValueError(f"steps must be 0 or more, not {steps}")
        o.steps = int(steps)
    for name, weight in (rates or {}).items():
        if name not in RATE_FIELDS and name not in EXTRA_RATES:
            raise ValueError(f"no rate {name!r}; the rates are {', '.join(RATE_FIELDS + tuple(EXTRA_RATES))}")
        if not 0 <= weight < 2 ** 32:
            raise ValueError(f"rate {name} must lie in 0 to 2**32 - 1, not {weight}")
        if name in EXTRA_RATES:
            setattr(o, EXTRA_RATES[name], int(weight))
        else:
            setattr(o.rates, name, int(weight))
    if sync_placement is not None:
        if sync_placement not in SYNC_PLACEMENTS:
            raise ValueError(f"sync_placement must be one of {', '.join(SYNC_PLACEMENTS)} or None, not {sync_placement!r}")
        o.sync_placement = SYNC_PLACEMENTS[sync_placement]
    if pre_vote is not None:
        o.pre_vote = 1 if pre_vote else 0
    for field, value in (("cluster_operations", cluster_operations), ("check_recovery", check_recovery),
                         ("storage_faults", storage_faults), ("trace", trace)):
        if value is not None:
            setattr(o, field, 1 if value else 0)
    machines = _Machines(machine) if machine is not None else _NoMachines()
    if machine is not None:
        o.machine = ctypes.pointer(machines.table)
    inv = _Invariants(invariants, machines) if invariants else None
    if inv is not None:
        o.invariants = ctypes.cast(inv.table, ctypes.POINTER(_Invariant))
        o.n_invariants = len(inv.names)
    return _Built(o, machines, inv)


def _replay_args(steps, rates, pre_vote, cluster_operations, check_recovery, storage_faults, invariants,
                 machine, sync_placement=None) -> str:
    """The options as keyword arguments, as given (callables by name)."""
    def name(f):
        n = getattr(f, "__qualname__", None) or repr(f)
        return n if n.replace(".", "").replace("_", "").isalnum() else repr(f)

    parts = []
    for key, value in (("steps", steps), ("rates", dict(rates) if rates else None), ("pre_vote", pre_vote),
                       ("cluster_operations", cluster_operations), ("check_recovery", check_recovery),
                       ("storage_faults", storage_faults), ("sync_placement", sync_placement)):
        if value is not None:
            parts.append(f"{key}={value!r}")
    if invariants:
        parts.append("invariants={" + ", ".join(f"{n!r}: {name(f)}" for n, f in _invariant_pairs(invariants)) + "}")
    if machine is not None:
        parts.append(f"machine={name(machine)}")
    return "".join(", " + p for p in parts)


# -- one seed --

@dataclass(frozen=True)
class Violation:
    """A failure of a run: the property ("election safety", ..., an invariant's name, or
    "recovery"), its text, and the cluster step after which it was seen."""
    property: str
    message: str
    step: int


@dataclass(frozen=True)
class Action:
    """One action of the fault mode: its turn, the cluster step before it, its kind ("deliver",
    "crash", "partition", ...), the node acted on (None for none)."""
    turn: int
    step: int
    kind: str
    node: Optional[int]


class FaultRun(Closing):
    """One seed of the fault mode, run to its end: `violations` (with steps), `actions` (the
    action log), `turns`, `committed`, the cluster as it ended (`cluster`, for reading) and
    its `trace(fmt)` when recorded. Holds the run until `close()` (or a `with` block)."""

    def __init__(self, seed: int, nodes: int, built: _Built, handle: int, replay: str):
        self.seed = seed
        self.nodes = nodes
        self.replay = replay
        self._built = built  # the machines' callbacks live as long as the run
        self._h = ctypes.c_void_p(handle)
        L = _L()
        self.turns = L.re_sim_fault_run_turns(self._h)
        self.committed = L.re_sim_fault_run_committed(self._h)
        prop, msg, step = ctypes.c_char_p(), ctypes.c_char_p(), ctypes.c_uint64()
        self.violations: List[Violation] = []
        for k in range(L.re_sim_fault_run_violation_count(self._h)):
            _check(L.re_sim_fault_run_violation(self._h, k, ctypes.byref(prop), ctypes.byref(msg), ctypes.byref(step)),
                   "violation")
            self.violations.append(Violation(prop.value.decode("utf-8", "replace"), msg.value.decode("utf-8", "replace"),
                                             step.value))
        turn, kind, node = ctypes.c_size_t(), ctypes.c_char_p(), ctypes.c_int()
        self.actions: List[Action] = []
        for k in range(L.re_sim_fault_run_action_count(self._h)):
            _check(L.re_sim_fault_run_action(self._h, k, ctypes.byref(turn), ctypes.byref(step), ctypes.byref(kind),
                                             ctypes.byref(node)), "action")
            self.actions.append(Action(turn.value, step.value, kind.value.decode(), node.value or None))
        self._cluster = _RunCluster(L.re_sim_fault_run_sim(self._h), built.machines, seed)

    @property
    def ok(self) -> bool:
        return not self.violations

    @property
    def cluster(self) -> Cluster:
        """The cluster as the run left it: read it (state, leader, machine, trace); change nothing."""
        if not self._h:
            raise ValueError("the run is closed")
        return self._cluster

    def trace(self, fmt: str = "rst", section: int = 0) -> str:
        """The run's trace ("rst", "csv" or "plantuml"), recorded when the run had trace=True."""
        return self.cluster.trace(fmt, section)

    def action_log(self) -> str:
        """The action log as text, one "turn [step s] kind node" line per action."""
        return "".join(f"{a.turn} [step {a.step}] {a.kind}" + (f" {a.node}" if a.node else "") + "\n"
                       for a in self.actions)

    def assert_ok(self):
        """Raises FaultFound (an AssertionError) with the violations and the replay call."""
        if not self.ok:
            text = "\n".join(f"{v.message} (step {v.step})" for v in self.violations)
            raise FaultFound(f"fault mode failed at seed {self.seed} (replay: {self.replay}):\n{text}")

    def close(self):
        if self._h:
            self._cluster.close()
            if self._built.invariants:
                self._built.invariants.release()
            _L().re_sim_fault_run_free(self._h)
            self._h = None



def fault_run(seed: int, nodes: int = 3, *, steps: Optional[int] = None, rates: Optional[Rates] = None,
              pre_vote: Optional[bool] = None, cluster_operations: Optional[bool] = None,
              check_recovery: Optional[bool] = None, storage_faults: Optional[bool] = None,
              invariants=None, machine: Optional[MachineFactory] = None, trace: bool = True,
              sync_placement: Optional[str] = None) -> FaultRun:
    """Runs one seed of the fault mode on `nodes` nodes and keeps it for reading: the replay of
    a sweep's failing seed (the same seed and options give the same run). Options left None
    keep the library's defaults: steps (turns, 400), rates (weights by name, see
    default_rates(); those named replace the defaults), pre_vote (None: the seed chooses),
    cluster_operations (True), check_recovery (True), storage_faults (False), sync_placement
    (where the nodes' syncs run, as the runtime's: "inline", "leader" (on a sync thread while
    leading) or "always"; None: the seed chooses; off the loop each job's fdatasync and
    completion are actions "syncRun" and "syncComplete", weighted by rates["sync_job"]). `invariants`: a
    mapping of name to callable (or callables, named by __name__) taking the Cluster, asked
    after every step. `machine`: your machines, as Cluster's (proposals are "c1", "c2", ...;
    added nodes get node 0). `trace` records the trace for `trace(fmt)`."""
    built = _build(nodes, steps, rates, pre_vote, cluster_operations, check_recovery, storage_faults, trace,
                   invariants, machine, sync_placement)
    if built.invariants:
        built.invariants.seed = int(seed)
    handle = ctypes.c_void_p()
    status = _L().re_sim_fault_run_seed(int(seed), ctypes.byref(built.options), ctypes.byref(handle))
    built.machines.raise_pending()
    _check(status, "fault_run")
    replay = f"fault_run({int(seed)}, nodes={int(nodes)}" + _replay_args(
        steps, rates, pre_vote, cluster_operations, check_recovery, storage_faults, invariants, machine,
        sync_placement) + ")"
    return FaultRun(int(seed), int(nodes), built, handle.value, replay)


# -- many seeds --

class FaultFound(AssertionError):
    """The fault mode found a failing seed; the message says how to replay it."""


@dataclass(frozen=True)
class FaultReport:
    """What a fault sweep found: how many seeds ran, the first failing seed (None if none),
    what failed there, and the call that replays that seed alone (`replay`)."""

    seeds_run: int
    first_failing_seed: Optional[int]
    violation: Optional[str]
    node_counts: Sequence[int]
    replay: Optional[str] = None

    @property
    def ok(self) -> bool:
        return self.first_failing_seed is None

    def assert_ok(self):
        """Raises FaultFound naming the replay seed and call when a seed failed (an
        AssertionError, so pytest prints it as the test's failure)."""
        if not self.ok:
            raise FaultFound(f"fault mode failed at seed {self.first_failing_seed} (replay: {self.replay}):\n"
                             f"{self.violation}")


def fault_sweep(seeds, node_counts: Sequence[int] = (3, 5, 7), machine: Optional[MachineFactory] = None,
                stop_at_failure: bool = True, *, steps: Optional[int] = None, rates: Optional[Rates] = None,
                pre_vote: Optional[bool] = None, cluster_operations: Optional[bool] = None,
                check_recovery: Optional[bool] = None, storage_faults: Optional[bool] = None, invariants=None,
                raise_on_failure: bool = False, sync_placement: Optional[str] = None) -> FaultReport:
    """Runs the randomized fault mode for every seed of `seeds` (a range with step 1 of seeds
    from 1, or a count: seeds 1..count), seed s on a cluster of node_counts[s % len] nodes,
    checking Raft's safety properties and `invariants` after every step and recovery at the
    end. The options are fault_run's. With `machine` the nodes run your machines (proposals are
    text commands "c<n>"; the spare nodes the fault mode adds get node 0); without, the
    library's counter machine. The same seed always replays the same run. With
    `raise_on_failure` a failing seed raises FaultFound (an AssertionError, for pytest) whose
    message names the seed and the exact calls that replay it; otherwise the report says."""
    if isinstance(seeds, int):
        seeds = range(1, seeds + 1)
    if not isinstance(seeds, range) or seeds.step != 1 or len(seeds) == 0:
        raise ValueError("seeds must be a non-empty range with step 1 (or a count)")
    if not node_counts:
        raise ValueError("node_counts must name at least one node count")
    built = _build(node_counts[0], steps, rates, pre_vote, cluster_operations, check_recovery, storage_faults, None,
                   invariants, machine, sync_placement)
    counts = (ctypes.c_int * len(node_counts))(*node_counts)
    run, failing, why = ctypes.c_uint64(), ctypes.c_uint64(), ctypes.c_void_p()
    status = _L().re_sim_fault_sweep_with(seeds.start, len(seeds), counts, len(node_counts), ctypes.byref(built.options),
                                          1 if stop_at_failure else 0, ctypes.byref(run), ctypes.byref(failing),
                                          ctypes.byref(why))
    built.machines.raise_pending()
    if built.invariants:
        built.invariants.release()
    _check(status, "fault_sweep")
    text = None
    if why.value:
        text = ctypes.string_at(why.value).decode("utf-8", "replace")
        _lib.free(why.value)
    replay = None
    s = failing.value
    if s:
        args = _replay_args(steps, rates, pre_vote, cluster_operations, check_recovery, storage_faults, invariants,
                            machine, sync_placement)
        replay = (f"fault_sweep(range({s}, {s + 1}), node_counts={tuple(node_counts)!r}{args}); one run, kept: "
                  f"fault_run({s}, nodes={node_counts[s % len(node_counts)]}{args})")
    report = FaultReport(run.value, s or None, text, tuple(node_counts), replay)
    if raise_on_failure:
        report.assert_ok()
    return report
