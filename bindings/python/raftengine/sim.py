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
from typing import Callable, Dict, Iterable, List, Mapping, Optional, Tuple

from ._closing import Closing
from . import _args, _lib
from ._calls import _check, lib
from .errors import InvalidArgument, NodeStopped, error_for
from .types import Role, StateMachine

__all__ = ["Cluster", "NodeState", "Outcome", "Progress", "ApplyRecord", "FaultReport", "FaultFound", "fault_sweep",
           "fault_run", "FaultRun", "Violation", "Action", "default_rates", "History", "Operation", "Linearizability"]

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


class Cluster(Closing):
    """A simulated cluster of `nodes` voters whose machines `machine(node)` makes (1..nodes),
    once when a node is created and again at each restart (a crash loses the volatile machine;
    the new one is rebuilt from the node's log). Single-threaded: one thread at a time.

    `election_timeouts` gives nodes their own election timeout range: {node: (min_ms, max_ms)},
    node 0 for every node not named (spare nodes `add_node` creates later included); the others
    keep 150-300 ms. `lose_unsynced_writes` makes each node's memory log keep only what it
    synced, so a crash loses every write since its last sync."""

    def __init__(self, nodes: int = 3, seed: int = 1, machine: Optional[MachineFactory] = None,
                 pre_vote: bool = True, election_timeouts: Optional[Mapping[int, Tuple[int, int]]] = None,
                 lose_unsynced_writes: bool = False):
        if machine is None or not callable(machine):
            raise TypeError("machine must be a callable taking a node number and returning a state machine")
        self._L = lib()
        self._machines = _Machines(machine)
        handle = ctypes.c_void_p()
        if election_timeouts or lose_unsynced_writes:
            self._new_with_options(int(nodes), int(seed), pre_vote, election_timeouts or {}, lose_unsynced_writes, handle)
        else:
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

    def release_held(self, from_node: int = 0, to_node: int = 0, limit: Optional[int] = None,
                     newest_first: bool = False) -> int:
        """Releases held messages (oldest first, or newest first) as if sent now; how many
        reached an inbox."""
        n = ctypes.c_size_t()
        cap = (1 << 62) if limit is None else limit
        self._call(self._L.re_sim_release_held_in_order(self._handle(), from_node, to_node, cap, 1 if newest_first else 0,
                                                        ctypes.byref(n)), "release_held")
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

    def restart(self, node: int, election_timeout: Optional[Tuple[int, int]] = None):
        """Restarts `node` on a new machine, rebuilt from its log. `election_timeout`, a
        (min_ms, max_ms) pair, gives it its own range first ((0, 0): back to the cluster's);
        it stays for later restarts."""
        if election_timeout is None:
            self._call(self._L.re_sim_restart(self._handle(), node), "restart")
            return
        self._node("node", node)
        lo, hi = (0, 0) if tuple(election_timeout) == (0, 0) else _timeout_range("election_timeout", election_timeout)
        self._call(self._L.re_sim_restart_with_election_timeout(self._handle(), node, lo, hi), "restart")

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

    # -- links, nodes and cluster operations --

    def _new_with_options(self, nodes, seed, pre_vote, election_timeouts, lose_unsynced_writes, handle):
        """re_sim_new_with_options: the options object lives only for the call."""
        if not isinstance(election_timeouts, Mapping):
            raise InvalidArgument(f"election_timeouts must map node numbers to (min_ms, max_ms), got {election_timeouts!r}")
        opts = ctypes.c_void_p()
        _check(self._L.re_sim_options_new(nodes, seed, 1 if pre_vote else 0, ctypes.byref(opts)), "Cluster")
        try:
            for node, pair in election_timeouts.items():
                _args.integer("election_timeouts node", node, 0, 15)
                lo, hi = _timeout_range(f"election_timeouts[{node}]", pair)
                _check(self._L.re_sim_options_set_election_timeout(opts, node, lo, hi), "Cluster")
            _check(self._L.re_sim_options_set_lose_unsynced_writes(opts, 1 if lose_unsynced_writes else 0), "Cluster")
            _check(self._L.re_sim_new_with_options(opts, ctypes.byref(self._machines.table), None,
                                                   ctypes.byref(handle)), "Cluster")
        finally:
            self._L.re_sim_options_free(opts)

    def _node(self, name: str, value, zero: bool = False) -> int:
        """`value` as a node number of this cluster (0 too when `zero`), or InvalidArgument
        naming the argument."""
        return _args.integer(name, value, 0 if zero else 1, self.nodes)

    def _request(self, status, what, rid) -> int:
        self._call(status, what)
        return rid.value

    def set_link_fault(self, from_node: int, to_node: int, loss: float = 0.0, delay_ms: int = 0):
        """Each message from `from_node` to `to_node` is lost with probability `loss` (0 to 1,
        drawn from the cluster's seeded generator: the same seed loses the same messages), the
        rest arrive `delay_ms` of virtual time later (`advance` lands them). loss 0 and delay 0
        clear the link's fault; `heal` leaves link faults."""
        self._node("from_node", from_node)
        self._node("to_node", to_node)
        if from_node == to_node:
            raise InvalidArgument(f"to_node must differ from from_node, both are {from_node}")
        if isinstance(loss, bool) or not isinstance(loss, (int, float)) or not 0 <= loss <= 1:
            raise InvalidArgument(f"loss must be a probability from 0 to 1, got {loss!r}")
        _args.integer("delay_ms", delay_ms, 0, 86_400_000)
        self._call(self._L.re_sim_set_link_fault(self._handle(), from_node, to_node, float(loss), delay_ms),
                   "set_link_fault")

    def clear_link_faults(self):
        """Ends every link fault (messages already delayed still land)."""
        self._call(self._L.re_sim_clear_link_faults(self._handle()), "clear_link_faults")

    @property
    def in_flight_count(self) -> int:
        """Messages a link delay holds that have not landed yet."""
        return self._L.re_sim_in_flight_count(self._handle())

    @property
    def lost_count(self) -> int:
        """Messages lost so far, for any reason (crash, partition, cut, link loss, drop)."""
        return self._L.re_sim_lost_count(self._handle())

    def deliver_between(self, a: int, b: int, max_steps: int = 100_000) -> int:
        """Handles only messages between `a` and `b` (both ways) until none is left; the others
        stay in their inboxes, in order. Returns how many were handled."""
        self._node("a", a)
        self._node("b", b)
        if a == b:
            raise InvalidArgument(f"b must differ from a, both are {a}")
        _args.integer("max_steps", max_steps, 0, None)
        steps = ctypes.c_size_t()
        self._call(self._L.re_sim_deliver_between(self._handle(), a, b, max_steps, ctypes.byref(steps)),
                   "deliver_between")
        return steps.value

    def deliver_count(self, count: int) -> int:
        """Handles exactly `count` messages (fewer if the network goes quiet) in deliver_all's
        order; returns how many."""
        _args.integer("count", count, 0, None)
        n = ctypes.c_size_t()
        self._call(self._L.re_sim_deliver_count(self._handle(), count, ctypes.byref(n)), "deliver_count")
        return n.value

    def set_syncs_deferred(self, node: int, on: bool = True):
        """A slow disk at `node`: while on, its syncs wait for `finish_sync`, and so do the
        messages that must follow a sync (acknowledgements, votes)."""
        self._node("node", node)
        self._call(self._L.re_sim_set_syncs_deferred(self._handle(), node, 1 if on else 0), "set_syncs_deferred")

    def finish_sync(self, node: int):
        """Carries out `node`'s awaited sync now (nothing when none is awaited)."""
        self._node("node", node)
        self._call(self._L.re_sim_finish_sync(self._handle(), node), "finish_sync")

    def set_sync_placement(self, node: int, placement: str):
        """Where `node`'s syncs run, as the runtime's: "inline" (the default), "leader" (on a
        sync thread while leading) or "always". Off the loop a round that writes starts a sync
        job and the acknowledgements it covers wait for it: `run_sync_job` runs its fdatasync,
        `complete_sync_job` takes it back (at most 2 in flight; a crash drops them)."""
        self._node("node", node)
        codes = {"inline": 0, "leader": 1, "always": 2}
        if placement not in codes:
            raise ValueError(f"placement must be one of {', '.join(codes)}, not {placement!r}")
        self._call(self._L.re_sim_set_sync_placement(self._handle(), node, codes[placement]), "set_sync_placement")

    def run_sync_job(self, node: int) -> bool:
        """Runs `node`'s oldest sync job not run yet (its fdatasync); False if there is none."""
        self._node("node", node)
        done = ctypes.c_int()
        self._call(self._L.re_sim_run_sync_job(self._handle(), node, ctypes.byref(done)), "run_sync_job")
        return done.value == 1

    def complete_sync_job(self, node: int) -> bool:
        """Takes back `node`'s oldest sync job once it ran: what it covered counts as durable and
        the messages that waited for it leave. False if the oldest has not run (or none)."""
        self._node("node", node)
        done = ctypes.c_int()
        self._call(self._L.re_sim_complete_sync_job(self._handle(), node, ctypes.byref(done)), "complete_sync_job")
        return done.value == 1

    def sync_jobs(self, node: int) -> Tuple[int, int]:
        """`node`'s sync jobs in flight and how many of them ran."""
        self._node("node", node)
        in_flight, ran = ctypes.c_size_t(), ctypes.c_size_t()
        self._call(self._L.re_sim_sync_jobs(self._handle(), node, ctypes.byref(in_flight), ctypes.byref(ran)),
                   "sync_jobs")
        return in_flight.value, ran.value

    def add_node(self) -> int:
        """Creates node N + 1 outside the configuration (its machine from the factory), for
        `join` or `add_server`; returns its number. At most 15 nodes."""
        n = ctypes.c_int()
        self._call(self._L.re_sim_add_node(self._handle(), ctypes.byref(n)), "add_node")
        self.nodes = self._L.re_sim_node_count(self._handle())
        return n.value

    def join(self, node: int, via: int, voter: bool = True) -> int:
        """`node` asks the leader `via` to add it (as a voter, or a learner); the request id
        for `outcome` (known once the messages that decide it were delivered)."""
        self._node("node", node)
        self._node("via", via)
        rid = ctypes.c_uint64()
        return self._request(self._L.re_sim_join(self._handle(), node, via, 1 if voter else 0, ctypes.byref(rid)),
                             "join", rid)

    def add_server(self, leader: int, node: int, voter: bool = True) -> int:
        """The leader adds `node` (or promotes a learner); the request id for `outcome`."""
        self._node("leader", leader)
        self._node("node", node)
        rid = ctypes.c_uint64()
        return self._request(self._L.re_sim_add_server(self._handle(), leader, node, 1 if voter else 0,
                                                       ctypes.byref(rid)), "add_server", rid)

    def remove_server(self, leader: int, node: int) -> int:
        """The leader removes `node`; the request id for `outcome`."""
        self._node("leader", leader)
        self._node("node", node)
        rid = ctypes.c_uint64()
        return self._request(self._L.re_sim_remove_server(self._handle(), leader, node, ctypes.byref(rid)),
                             "remove_server", rid)

    def exit_cluster(self, node: int) -> int:
        """`node` leaves the cluster by itself; the request id for `outcome`."""
        self._node("node", node)
        rid = ctypes.c_uint64()
        return self._request(self._L.re_sim_exit_cluster(self._handle(), node, ctypes.byref(rid)), "exit_cluster", rid)

    def transfer_leadership(self, leader: int, target: int) -> int:
        """The leader hands leadership to `target`; the request id for `outcome`."""
        self._node("leader", leader)
        self._node("target", target)
        rid = ctypes.c_uint64()
        return self._request(self._L.re_sim_transfer_leadership(self._handle(), leader, target, ctypes.byref(rid)),
                             "transfer_leadership", rid)

    def take_snapshot(self, node: int, keep_trailing: int = 0) -> Optional[int]:
        """Snapshots `node`'s machine at its applied index and compacts its log, keeping
        `keep_trailing` entries before it; the snapshot's index, None when there was nothing new."""
        self._node("node", node)
        _args.integer("keep_trailing", keep_trailing, 0, 1 << 62)
        index = ctypes.c_uint64()
        self._call(self._L.re_sim_take_snapshot(self._handle(), node, keep_trailing, ctypes.byref(index)),
                   "take_snapshot")
        return index.value or None

    def membership(self, node: int, member: int) -> Optional[str]:
        """"voter", "learner" or None: what `member` is in the configuration `node` has in force."""
        self._node("node", node)
        self._node("member", member)
        r = self._L.re_sim_membership(self._handle(), node, member)
        if r < 0:
            raise NodeStopped(f"node {node} is down")
        return _MEMBERSHIP[r]

    def progress(self, leader: int) -> List["Progress"]:
        """The leader's view of every node it replicates to, by node number; [] unless `leader`
        is a live leader."""
        self._node("leader", leader)
        count = ctypes.c_size_t()
        self._call(self._L.re_sim_follower_progress(self._handle(), leader, None, 0, ctypes.byref(count)), "progress")
        arr = (_lib.SimProgress * max(1, count.value))()
        self._call(self._L.re_sim_follower_progress(self._handle(), leader, arr, count.value, ctypes.byref(count)),
                   "progress")
        return [Progress(p.node, _REPLICATION[p.state], p.match, p.next, p.snapshot_index or None, p.inflight)
                for p in arr[:count.value]]

    def apply_history(self, node: int) -> List["ApplyRecord"]:
        """Every command and snapshot restore `node`'s machines took in, in order, over all its
        lifetimes (1 from creation, one more per restart)."""
        self._node("node", node)
        records, count = ctypes.POINTER(_lib.SimApplyRecord)(), ctypes.c_size_t()
        self._call(self._L.re_sim_apply_history(self._handle(), node, ctypes.byref(records), ctypes.byref(count)),
                   "apply_history")
        if not count.value:
            return []
        try:
            return [ApplyRecord(r.lifetime, r.index, _APPLY_KINDS[r.kind],
                                ctypes.string_at(r.command, r.command_len) if r.kind == 0 else None)
                    for r in records[:count.value]]
        finally:
            _lib.free(ctypes.cast(records, ctypes.c_void_p))

    def reapplied_indexes(self, node: int, machine_survives_restart: bool = False) -> List[int]:
        """Indexes whose command reached `node`'s machine state more than once, ascending (a
        snapshot restore counts as one application of what it covers). With
        `machine_survives_restart` False each lifetime's new machine counts afresh; True adds
        the lifetimes up (a factory handing back one durable machine)."""
        self._node("node", node)
        out, count = ctypes.POINTER(ctypes.c_uint64)(), ctypes.c_size_t()
        self._call(self._L.re_sim_reapplied_indexes(self._handle(), node, 1 if machine_survives_restart else 0,
                                                    ctypes.byref(out), ctypes.byref(count)), "reapplied_indexes")
        if not count.value:
            return []
        try:
            return list(out[:count.value])
        finally:
            _lib.free(ctypes.cast(out, ctypes.c_void_p))

    def lifetime(self, node: int) -> int:
        """`node`'s starts so far: 1 after creation, one more per restart."""
        self._node("node", node)
        return self._L.re_sim_lifetime(self._handle(), node)


def _timeout_range(name, pair):
    """A (min_ms, max_ms) pair, 1 <= min <= max <= 600000, or InvalidArgument naming `name`."""
    if not isinstance(pair, (tuple, list)) or len(pair) != 2:
        raise InvalidArgument(f"{name} must be a (min_ms, max_ms) pair, got {pair!r}")
    lo = _args.integer(f"{name}[0]", pair[0], *_args.RANGES["election_timeout_ms"])
    hi = _args.integer(f"{name}[1]", pair[1], *_args.RANGES["election_timeout_ms"])
    if lo > hi:
        raise InvalidArgument(f"{name} must have min <= max, got {tuple(pair)}")
    return lo, hi


_MEMBERSHIP = {0: None, 1: "voter", 2: "learner"}
_REPLICATION = {0: "probe", 1: "replicate", 2: "snapshot"}
_APPLY_KINDS = {0: "command", 1: "snapshot"}


@dataclass(frozen=True)
class Progress:
    """The leader's view of one follower: its state ("probe", "replicate" or "snapshot"), the
    highest index known on it, the next index to send, the snapshot being sent (state
    "snapshot") and the appends not yet acknowledged."""

    node: int
    state: str
    match: int
    next: int
    snapshot_index: Optional[int]
    inflight: int


@dataclass(frozen=True)
class ApplyRecord:
    """One thing a node's machine took in: a command ("command", its bytes) or a snapshot
    restore ("snapshot", command None: the state now covers every index up to `index`; 0 until
    the node learns the index). `lifetime` counts the node's starts from 1."""

    lifetime: int
    index: int
    kind: str
    command: Optional[bytes]


def _format(fmt: str) -> int:
    try:
        return _FORMATS[fmt]
    except KeyError:
        raise ValueError(f"format must be one of {', '.join(_FORMATS)}, not {fmt!r}") from None


# The fault mode (options, one-seed runs, sweeps) and client histories live in their own
# modules, built on Cluster above.
from ._sim_faults import (Action, FaultFound, FaultReport, FaultRun, Violation, default_rates,  # noqa: E402
                          fault_run, fault_sweep)
from ._sim_history import History, Linearizability, Operation  # noqa: E402
