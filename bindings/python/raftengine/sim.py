"""The deterministic simulator (libraftengine's re_sim_*): a Raft cluster of your own Python
state machines in one process, driven step by step, with crashes, partitions, held and lost
messages, virtual time, the trace as the seed document's tables, and the randomized fault mode.

    from raftengine.sim import Cluster

    with Cluster(nodes=3, seed=1, machine=lambda node: Counter()) as c:
        c.elect(1)
        r = c.propose(1, b"5")
        c.deliver_all()
        assert c.result(r) == b"5"

Nothing runs on its own: no thread, no timer; the machines' methods run inside the calls that
make the nodes apply. Nodes are numbered 1..N. The same seed and the same calls give the same
run (and the same trace).
"""

import ctypes
from dataclasses import dataclass
from typing import Callable, Dict, Iterable, Optional, Sequence

from . import _lib
from ._calls import _check, lib
from .errors import error_for
from .types import Role, StateMachine

__all__ = ["Cluster", "NodeState", "Outcome", "FaultReport", "FaultFound", "fault_sweep"]

_ROLES = {0: Role.FOLLOWER, 1: Role.CANDIDATE, 2: Role.LEADER, 3: Role.STOPPED}
_FORMATS = {"rst": 0, "csv": 1, "plantuml": 2}

MachineFactory = Callable[[int], StateMachine]


class _Machines:
    """The C machine table over Python machines: `create` asks the factory for node n's machine
    and hands C a small integer standing for it; apply, snapshot and restore find it again."""

    def __init__(self, factory: MachineFactory):
        self._factory = factory
        self._by_handle: Dict[int, StateMachine] = {}
        self.current: Dict[int, StateMachine] = {}
        self._next = 1
        self.error: Optional[BaseException] = None  # a factory that raised, re-raised after the call
        self.table = _lib.SimMachine(_lib.APPLY_FN(self._apply), _lib.SNAPSHOT_FN(self._snapshot),
                                     _lib.RESTORE_FN(self._restore), _lib.SIM_CREATE_FN(self._create),
                                     _lib.SIM_DESTROY_FN(self._destroy))

    def raise_pending(self):
        e, self.error = self.error, None
        if e is not None:
            raise e

    def _create(self, factory, node):
        handle = self._next
        self._next += 1
        try:
            m = self._factory(node)
        except BaseException as e:  # never unwind into C; its applies fail with this
            self.error = self.error or e
            m = _Broken(e)
        self._by_handle[handle] = m
        self.current[node] = m
        return handle

    def _destroy(self, factory, node, user):
        m = self._by_handle.pop(user or 0, None)
        if m is not None and self.current.get(node) is m:
            del self.current[node]

    @staticmethod
    def _put(out, out_len, data: bytes):
        buf, n = _lib.malloc_copy(data)
        out[0] = buf if buf is not None else _lib.c_u8_p()
        out_len[0] = n

    def _apply(self, user, index, cmd, length, out, out_len):
        try:
            result = self._by_handle[user or 0].apply(ctypes.string_at(cmd, length) if length else b"")
            if result is None:
                result = b""
            if not isinstance(result, (bytes, bytearray)):
                raise TypeError(f"apply() must return bytes, not {type(result).__name__}")
            self._put(out, out_len, bytes(result))
            return 0
        except BaseException as e:  # the refusal's words travel back as the message
            self._put(out, out_len, (str(e) or type(e).__name__).encode("utf-8", "replace"))
            return 1

    def _snapshot(self, user, out, out_len):
        try:
            self._put(out, out_len, bytes(self._by_handle[user or 0].snapshot() or b""))
            return 0
        except BaseException:
            return 1

    def _restore(self, user, data, length):
        try:
            self._by_handle[user or 0].restore(ctypes.string_at(data, length) if length else b"")
            return 0
        except BaseException:
            return 1


class _Broken:
    """The machine of a node whose factory raised: every call fails with that exception."""

    def __init__(self, e):
        self._e = e

    def apply(self, command):
        raise self._e

    def snapshot(self):
        raise self._e

    def restore(self, data):
        raise self._e


@dataclass(frozen=True)
class NodeState:
    """One node's state now (a crashed node: role STOPPED, the rest as its log says)."""

    role: Role
    term: int
    commit_index: int
    applied_index: int
    last_index: int
    leader: Optional[int]


@dataclass(frozen=True)
class Outcome:
    """A proposal's outcome: status 0 with the machine's result, or a failure's status and
    message (`error()` gives the matching raftengine exception)."""

    status: int
    data: bytes

    @property
    def ok(self) -> bool:
        return self.status == 0

    def error(self):
        return None if self.ok else error_for(self.status, self.data.decode("utf-8", "replace"))


class Cluster:
    """A simulated cluster of `nodes` voters whose machines `machine(node)` makes (1..nodes),
    once when a node is created and again at each restart (a crash loses the volatile machine;
    the new one is rebuilt from the node's log). Single-threaded: one thread at a time."""

    def __init__(self, nodes: int = 3, seed: int = 1, machine: Optional[MachineFactory] = None,
                 pre_vote: bool = True):
        if machine is None or not callable(machine):
            raise TypeError("machine must be a callable taking a node number and returning a state machine")
        self._L = lib()
        self._machines = _Machines(machine)
        handle = ctypes.c_void_p()
        _check(self._L.re_sim_new(int(nodes), int(seed), 1 if pre_vote else 0, ctypes.byref(self._machines.table),
                                  None, ctypes.byref(handle)), "Cluster")
        self._machines.raise_pending()
        self._h = handle
        self.nodes = int(nodes)
        self.seed = int(seed)

    # -- lifetime --

    def close(self):
        if self._h:
            self._L.re_sim_free(self._h)
            self._h = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def _call(self, status, what):
        """Re-raises a machine factory's exception, then raises for a negative status;
        returns the status (some calls answer 0 or 1)."""
        self._machines.raise_pending()
        if status < 0:
            _check(status, what)
        return status

    def _handle(self):
        if not self._h:
            raise ValueError("the cluster is closed")
        return self._h

    def machine(self, node: int) -> StateMachine:
        """Node `node`'s machine of its current lifetime."""
        return self._machines.current[node]

    # -- commands --

    def propose(self, node: int, command) -> int:
        """Proposes `command` (bytes, or str as UTF-8) at `node`; the request id for `outcome`."""
        data = command.encode() if isinstance(command, str) else bytes(command)
        rid = ctypes.c_uint64()
        self._call(self._L.re_sim_propose(self._handle(), node, data, len(data), ctypes.byref(rid)), "propose")
        return rid.value

    def outcome(self, request: int) -> Optional[Outcome]:
        """The request's outcome, or None while it is pending."""
        status, buf, n = ctypes.c_int(), _lib.c_u8_p(), ctypes.c_size_t()
        rc = self._L.re_sim_outcome(self._handle(), request, ctypes.byref(status), ctypes.byref(buf), ctypes.byref(n))
        if rc < 0:
            self._call(rc, "outcome")
        if rc == 0:
            return None
        return Outcome(status.value, ctypes.string_at(buf, n.value) if n.value else b"")

    def result(self, request: int) -> bytes:
        """The applied command's result; raises its error (NotLeader, ApplyError ...) for a
        failure, LookupError while it is pending."""
        o = self.outcome(request)
        if o is None:
            raise LookupError(f"request {request} has no outcome yet")
        if not o.ok:
            raise o.error()
        return o.data

    # -- messages --

    def transmit(self, node: int = 0):
        """Moves `node`'s outbox onto the network (0: every node's)."""
        self._call(self._L.re_sim_transmit(self._handle(), node), "transmit")

    def deliver(self, node: int, position: int = 0) -> bool:
        """`node` handles the message at `position` of its inbox (nothing is transmitted
        first; its replies wait in its outbox); False if there was none."""
        return self._call(self._L.re_sim_deliver(self._handle(), node, position), "deliver") == 1

    def deliver_all(self, max_steps: int = 100_000) -> int:
        """Transmits and handles messages until none is left or `max_steps` were handled;
        returns how many were handled."""
        steps = ctypes.c_size_t()
        self._call(self._L.re_sim_deliver_all(self._handle(), max_steps, ctypes.byref(steps)), "deliver_all")
        return steps.value

    def deliver_until_idle(self, max_steps: int = 100_000) -> int:
        """As deliver_all, but raises RuntimeError when the cap stopped it before the network
        went quiet."""
        steps = ctypes.c_size_t()
        quiet = self._call(self._L.re_sim_deliver_all(self._handle(), max_steps, ctypes.byref(steps)), "deliver_all")
        if quiet != 1:
            raise RuntimeError(f"still not idle after {steps.value} steps")
        return steps.value

    def deliver_until(self, condition: Callable[[], bool], max_steps: int = 100_000) -> bool:
        """Delivers one message at a time until `condition()` holds (asked before each); False
        when the network went quiet or the cap was reached first. `condition` may read the
        cluster (state, outcome) but not change it."""
        raised = []

        def until(user):
            try:
                return 1 if condition() else 0
            except BaseException as e:  # stop, and raise it once back in Python
                raised.append(e)
                return 1

        fn = _lib.SIM_UNTIL_FN(until)
        met = self._call(self._L.re_sim_deliver_until(self._handle(), fn, None, max_steps), "deliver_until") == 1
        if raised:
            raise raised[0]
        return met

    def inbox_count(self, node: int) -> int:
        return self._L.re_sim_inbox_count(self._handle(), node)

    def drop(self, node: int, position: int = 0):
        self._call(self._L.re_sim_drop(self._handle(), node, position), "drop")

    def duplicate(self, node: int, position: int = 0):
        self._call(self._L.re_sim_duplicate(self._handle(), node, position), "duplicate")

    def hold(self, from_node: int = 0, to_node: int = 0, on: bool = True):
        """Holds messages from `from_node` to `to_node` (0: any) from now on (or, on=False, no longer)."""
        self._call(self._L.re_sim_hold(self._handle(), from_node, to_node, 1 if on else 0), "hold")

    @property
    def held_count(self) -> int:
        return self._L.re_sim_held_count(self._handle())

    def release_held(self, from_node: int = 0, to_node: int = 0, limit: Optional[int] = None) -> int:
        """Releases held messages (oldest first) as if sent now; how many reached an inbox."""
        n = ctypes.c_size_t()
        cap = (1 << 62) if limit is None else limit
        self._call(self._L.re_sim_release_held(self._handle(), from_node, to_node, cap, ctypes.byref(n)), "release_held")
        return n.value

    def drop_held(self, from_node: int = 0, to_node: int = 0):
        self._call(self._L.re_sim_drop_held(self._handle(), from_node, to_node), "drop_held")

    # -- faults --

    def partition(self, *groups: Iterable[int]):
        """Splits the network into `groups` of node numbers; nodes named in none form one more."""
        label = [0] * self.nodes
        for g, members in enumerate(groups, start=1):
            for n in members:
                if not 1 <= n <= self.nodes:
                    raise ValueError(f"node {n} is outside 1 to {self.nodes}")
                label[n - 1] = g
        arr = (ctypes.c_int * self.nodes)(*label)
        self._call(self._L.re_sim_partition(self._handle(), arr, self.nodes), "partition")

    def heal(self):
        self._call(self._L.re_sim_heal(self._handle()), "heal")

    def cut(self, from_node: int, to_node: int):
        """One way: messages from `from_node` to `to_node` are lost until `uncut` (or `heal`)."""
        self._call(self._L.re_sim_cut(self._handle(), from_node, to_node), "cut")

    def uncut(self, from_node: int, to_node: int):
        self._call(self._L.re_sim_uncut(self._handle(), from_node, to_node), "uncut")

    def crash(self, node: int):
        self._call(self._L.re_sim_crash(self._handle(), node), "crash")

    def restart(self, node: int):
        self._call(self._L.re_sim_restart(self._handle(), node), "restart")

    # -- time and elections --

    def advance(self, ms: int, node: Optional[int] = None):
        """Virtual time passes: for every node (timers that fall due fire, if enabled), or only
        on `node`'s clock."""
        if node is None:
            self._call(self._L.re_sim_advance(self._handle(), ms), "advance")
        else:
            self._call(self._L.re_sim_advance_node(self._handle(), node, ms), "advance")

    def enable_timers(self, on: bool = True):
        self._call(self._L.re_sim_enable_timers(self._handle(), 1 if on else 0), "enable_timers")

    def run(self, ms: int):
        """`ms` of virtual time with timers firing and every message delivered each 1 ms."""
        self._call(self._L.re_sim_run(self._handle(), ms), "run")

    def campaign(self, node: int):
        self._call(self._L.re_sim_campaign(self._handle(), node), "campaign")

    def elect(self, node: int):
        """`node` campaigns, then messages are delivered until quiet."""
        self._call(self._L.re_sim_elect(self._handle(), node), "elect")

    def heartbeat(self, node: int):
        self._call(self._L.re_sim_heartbeat(self._handle(), node), "heartbeat")

    # -- status --

    def role(self, node: int) -> Role:
        r = self._L.re_sim_role(self._handle(), node)
        if r < 0:
            raise ValueError(f"node {node} is outside 1 to {self.nodes}")
        return _ROLES[r]

    def state(self, node: int) -> NodeState:
        h = self._handle()
        role = self.role(node)
        leader = self._L.re_sim_leader_of(h, node)
        return NodeState(role, self._L.re_sim_term(h, node), self._L.re_sim_commit_index(h, node),
                         self._L.re_sim_applied_index(h, node), self._L.re_sim_last_index(h, node), leader or None)

    def leader(self) -> Optional[int]:
        """The live leader of the highest term, or None."""
        return self._L.re_sim_leader(self._handle()) or None

    # -- trace --

    def section(self, title: str):
        """Starts a titled section of the trace."""
        self._call(self._L.re_sim_section(self._handle(), title.encode()), "section")

    @property
    def section_count(self) -> int:
        return self._L.re_sim_section_count(self._handle())

    def trace(self, fmt: str = "rst", section: int = 0) -> str:
        """The trace as "rst", "csv" or "plantuml" text: section `section` (from 1), or every
        section with 0."""
        out = ctypes.c_void_p()
        self._call(self._L.re_sim_trace(self._handle(), _format(fmt), section, ctypes.byref(out)), "trace")
        try:
            return ctypes.string_at(out.value).decode("utf-8")
        finally:
            _lib.free(out.value)

    def trace_rst(self, section: int = 0) -> str:
        return self.trace("rst", section)

    def trace_csv(self, section: int = 0) -> str:
        return self.trace("csv", section)

    def trace_plantuml(self, section: int = 0) -> str:
        return self.trace("plantuml", section)

    def write_trace(self, path: str, fmt: str = "rst", section: int = 0):
        self._call(self._L.re_sim_write_trace(self._handle(), _format(fmt), section, str(path).encode()), "write_trace")


def _format(fmt: str) -> int:
    try:
        return _FORMATS[fmt]
    except KeyError:
        raise ValueError(f"format must be one of {', '.join(_FORMATS)}, not {fmt!r}") from None


class FaultFound(AssertionError):
    """The fault mode found a failing seed; the message says how to replay it."""


@dataclass(frozen=True)
class FaultReport:
    """What a fault sweep found: how many seeds ran, the first failing seed (None if none)
    and what failed there."""

    seeds_run: int
    first_failing_seed: Optional[int]
    violation: Optional[str]
    node_counts: Sequence[int]

    @property
    def ok(self) -> bool:
        return self.first_failing_seed is None

    def assert_ok(self):
        """Raises FaultFound naming the replay seed when a seed failed (an AssertionError, so
        pytest prints it as the test's failure)."""
        if not self.ok:
            s = self.first_failing_seed
            raise FaultFound(f"fault mode failed at seed {s} (replay: fault_sweep(range({s}, {s + 1}), "
                             f"node_counts={tuple(self.node_counts)!r})):\n{self.violation}")


def fault_sweep(seeds, node_counts: Sequence[int] = (3, 5, 7), machine: Optional[MachineFactory] = None,
                stop_at_failure: bool = True) -> FaultReport:
    """Runs the randomized fault mode for every seed of `seeds` (a range with step 1 of seeds
    from 1, or a count: seeds 1..count), seed s on a cluster of node_counts[s % len] nodes,
    checking Raft's safety properties after every action and recovery at the end. With
    `machine` the nodes run your machines (proposals are text commands "c<n>"; the spare nodes
    the fault mode adds get node 0); without, the
    library's counter machine. The same seed always replays the same run."""
    if isinstance(seeds, int):
        seeds = range(1, seeds + 1)
    if not isinstance(seeds, range) or seeds.step != 1 or len(seeds) == 0:
        raise ValueError("seeds must be a non-empty range with step 1 (or a count)")
    counts = (ctypes.c_int * len(node_counts))(*node_counts)
    machines = _Machines(machine) if machine is not None else None
    run, failing, why = ctypes.c_uint64(), ctypes.c_uint64(), ctypes.c_void_p()
    L = lib()
    status = L.re_sim_fault_sweep(seeds.start, len(seeds), counts, len(node_counts),
                                  ctypes.byref(machines.table) if machines else None, None,
                                  1 if stop_at_failure else 0, ctypes.byref(run), ctypes.byref(failing),
                                  ctypes.byref(why))
    if machines:
        machines.raise_pending()
    _check(status, "fault_sweep")
    text = None
    if why.value:
        text = ctypes.string_at(why.value).decode("utf-8", "replace")
        _lib.free(why.value)
    return FaultReport(run.value, failing.value or None, text, tuple(node_counts))
