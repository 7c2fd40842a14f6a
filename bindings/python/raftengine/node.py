"""Pythonic wrapper over the C ABI: Host, Node, Status and Event."""

import asyncio
import ctypes
import itertools
import logging
import threading
from dataclasses import dataclass
from typing import Callable, Dict, Optional, Tuple

from . import _lib
from .errors import CommandTimeout, InvalidArgument, NodeStopped, error_for

_LIB = None
_LIB_LOCK = threading.Lock()
_log = logging.getLogger("raftengine")


def lib():
    """The loaded library (loaded on first use, so importing never fails)."""
    global _LIB
    with _LIB_LOCK:
        if _LIB is None:
            _LIB = _lib.load()
        return _LIB


def version() -> str:
    return lib().re_version().decode()


def _check(status: int, what: str):
    """Raises for a failed C call, with the library's own reason (re_errmsg)."""
    if status != 0:
        why = (lib().re_errmsg() or b"").decode("utf-8", "replace")
        raise error_for(status, f"{what}: {why or lib().re_strerror(status).decode()}")


def _check_config(status: int, cfg, what: str):
    """Raises for a failed call on a config, with the library's own words for what was wrong
    (the same sentence the C ABI and raftengine-node give)."""
    if status != 0:
        why = (lib().re_config_errmsg(cfg) or b"").decode("utf-8", "replace")
        raise error_for(status, f"{what}: {why or lib().re_strerror(status).decode()}")


APPLY_POLICIES = {"reject": 0, "retry": 1, "halt": 2}

COUNTERS = ("frames_received", "frames_sent", "unknown_sender", "spoofed_sender", "auth_failed", "wrong_cluster",
            "malformed_frames", "oversized_frames", "connects_failed", "dropped_while_disconnected")


def _secret_bytes(name, value):
    if isinstance(value, str):
        value = value.encode()
    if not isinstance(value, (bytes, bytearray)):
        raise InvalidArgument(f"{name} must be bytes or str, not {type(value).__name__}")
    return bytes(value)


ROLES = {0: "follower", 1: "candidate", 2: "leader", 3: "stopped"}
EVENT_KINDS = {1: "role", 2: "term", 3: "leader", 4: "election", 5: "resync", 6: "membership_done",
               7: "membership_aborted", 8: "settings", 9: "snapshot", 10: "stopped", 11: "error",
               12: "apply_failed"}


@dataclass(frozen=True)
class Member:
    """A member of the configuration in force. On the leader, `match_index` (the highest index
    known on it) and `ms_since_contact` (since it last answered; -1 never) for the others."""
    id: str
    address: str
    voter: bool
    match_index: Optional[int] = None
    ms_since_contact: Optional[int] = None


@dataclass(frozen=True)
class Status:
    role: str
    term: int
    leader_id: Optional[str]
    leader_address: Optional[str]
    commit_index: int
    applied_index: int
    last_index: int
    stopped: bool
    voters: int
    learners: int
    members: Tuple[Member, ...] = ()

    @property
    def is_leader(self) -> bool:
        return self.role == "leader"


@dataclass(frozen=True)
class Event:
    kind: str
    value: Optional[str]
    node: Optional[str]
    detail: Optional[str]
    number: int


@dataclass(frozen=True)
class _Outcome:
    status: int
    result: bytes
    leader_id: Optional[str]
    leader_address: Optional[str]
    message: str

    def value(self) -> bytes:
        if self.status == 0:
            return self.result
        raise error_for(self.status, self.message or lib().re_strerror(self.status).decode(),
                        leader_id=self.leader_id, leader_address=self.leader_address)


def _s(p):
    return p.decode("utf-8", "replace") if p else None


class _Completions:
    """One C callback for every pending operation: `user` is a key into this table, so no
    per-call ctypes callback object has to be kept alive."""

    def __init__(self):
        self._lock = threading.Lock()
        self._pending: Dict[int, Callable[[_Outcome], None]] = {}
        self._ids = itertools.count(1)
        self.c_callback = _lib.DONE_FN(self._done)

    def register(self, fn) -> int:
        key = next(self._ids)
        with self._lock:
            self._pending[key] = fn
        return key

    def forget(self, key: int):
        with self._lock:
            self._pending.pop(key, None)

    def _done(self, user, result_p):
        key = user or 0
        with self._lock:
            fn = self._pending.pop(key, None)
        if fn is None:
            return
        r = result_p.contents
        data = ctypes.string_at(r.result, r.result_len) if r.result and r.result_len else b""
        outcome = _Outcome(r.status, data, _s(r.leader_id), _s(r.leader_address), _s(r.message) or "")
        try:
            fn(outcome)
        except Exception:  # a caller's callback must never unwind into C
            pass


class _BatchCompletions:
    """Outcomes of commands submitted together: one C callback hands over an array, and each
    submit_many call's collector is found by its commands' tags."""

    def __init__(self):
        self._lock = threading.Lock()
        self._next = 1
        self._by_tag = {}
        self.c_callback = _lib.BATCH_DONE_FN(self._done)

    def register(self, count, collector):
        with self._lock:
            first = self._next
            self._next += count
            for t in range(first, first + count):
                self._by_tag[t] = collector
        return first

    def forget(self, first, count):
        with self._lock:
            for t in range(first, first + count):
                self._by_tag.pop(t, None)

    def _done(self, user, results, count):
        got = {}
        with self._lock:
            pop = self._by_tag.pop
            for i in range(count):
                r = results[i]
                col = pop(r.tag, None)
                if col is None:
                    continue
                if r.status == 0:
                    value = ctypes.string_at(r.result, r.result_len) if r.result_len else b""
                else:
                    value = error_for(r.status, _s(r.message) or "", leader_id=_s(r.leader_id),
                                      leader_address=_s(r.leader_address))
                got.setdefault(id(col), (col, []))[1].append((r.tag, value))
        for col, items in got.values():
            try:
                col.add(items)
            except Exception:  # a collector must never unwind into C
                _log.exception("batch completion failed")


class _Collector:
    """Gathers one submit_many call's outcomes; `on_complete(list)` runs once all are in."""

    def __init__(self, count, on_complete):
        self.first = 0
        self.results = [None] * count
        self.left = count
        self.on_complete = on_complete
        self.lock = threading.Lock()

    def add(self, items):
        with self.lock:
            for tag, value in items:
                self.results[tag - self.first] = value
            self.left -= len(items)
            done = self.left == 0
        if done:
            self.on_complete(self.results)


_COMPLETIONS = None
_BATCHES = None


def _batches():
    global _BATCHES
    with _LIB_LOCK:
        if _BATCHES is None:
            _BATCHES = _BatchCompletions()
        return _BATCHES


def _completions():
    global _COMPLETIONS
    with _LIB_LOCK:
        if _COMPLETIONS is None:
            _COMPLETIONS = _Completions()
        return _COMPLETIONS


class Host:
    """One libuv loop thread that can carry several nodes."""

    def __init__(self):
        h = ctypes.c_void_p()
        _check(lib().re_host_new(ctypes.byref(h)), "re_host_new")
        self._handle = h
        self._closed = False

    def close(self):
        if not self._closed:
            self._closed = True
            lib().re_host_free(self._handle)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Node:
    """A running RaftEngine node.

    `state_machine` provides apply(command: bytes) -> bytes, snapshot() -> bytes and
    restore(data: bytes). They run on the engine's loop thread. An exception in apply follows
    the cluster's `apply_policy`: "reject" (the default) makes it that command's result — the
    proposer gets ApplyError with the exception's text and every replica goes on; "retry"
    applies the command again later (for idempotent machines with transient failures); "halt"
    marks the log broken and stops the node. Never a crashed process.

    `cluster_secret` (bytes or str, 16 to 4096 bytes) turns on peer authentication: nodes prove
    to each other that they know it (mutual HMAC-SHA256 challenge-response; the stream is not
    encrypted). `accept_cluster_secrets` lists more secrets accepted from peers while a secret
    is rotated (see docs/security.md).

    `peers` lists the other members of a new cluster. A node that joins a running cluster gives
    `join` instead (a raft address of a member, or a list of them): it never starts a cluster
    of its own, never campaigns until the leader has made it a voter, and keeps asking until
    it is a member.
    """

    def __init__(self, *, id: str, data_dir: str, listen: str, state_machine,
                 peers: Optional[Dict[str, str]] = None, join=None, host: Optional[Host] = None,
                 heartbeat_ms: Optional[int] = None, election_timeout_ms: Optional[Tuple[int, int]] = None,
                 pre_vote: Optional[bool] = None, check_quorum: Optional[bool] = None,
                 apply_policy: Optional[str] = None, cluster_id: Optional[str] = None,
                 cluster_secret=None, accept_cluster_secrets=(),
                 max_command_size: Optional[int] = None, command_timeout_ms: Optional[int] = None,
                 snapshot_threshold: Optional[int] = None, on_event: Optional[Callable[[Event], None]] = None):
        for name, value in (("id", id), ("data_dir", data_dir), ("listen", listen)):
            if not isinstance(value, str) or not value:
                raise InvalidArgument(f"{name} must be a non-empty string, got {value!r}")
        for method in ("apply", "snapshot", "restore"):
            if not callable(getattr(state_machine, method, None)):
                raise InvalidArgument(f"state_machine must have a callable {method}()")
        if peers is not None and not isinstance(peers, dict):
            raise InvalidArgument("peers must be a dict of id -> address")
        if isinstance(join, str):
            join = [join]
        if join is not None and (not isinstance(join, (list, tuple)) or not join
                                 or not all(isinstance(a, str) and a for a in join)):
            raise InvalidArgument("join must be an address or a non-empty list of addresses")
        if apply_policy is not None and apply_policy not in APPLY_POLICIES:
            raise InvalidArgument(f"apply_policy must be one of {', '.join(APPLY_POLICIES)}, got {apply_policy!r}")
        L = lib()
        self.id = id
        self._sm = state_machine
        self._on_event = on_event
        # Keep every ctypes callback alive as long as the node: C holds raw pointers to them.
        self._c_apply = _lib.APPLY_FN(self._apply)
        self._c_apply_batch = _lib.APPLY_BATCH_FN(self._apply_batch)
        self._c_snapshot = _lib.SNAPSHOT_FN(self._snapshot)
        self._c_restore = _lib.RESTORE_FN(self._restore)
        self._c_event = _lib.EVENT_FN(self._event)
        self._done = _completions()

        cfg = ctypes.c_void_p()
        _check(L.re_config_new(ctypes.byref(cfg)), "re_config_new")
        try:
            _check_config(L.re_config_set_id(cfg, id.encode()), cfg, "id")
            _check_config(L.re_config_set_data_dir(cfg, data_dir.encode()), cfg, "data_dir")
            _check_config(L.re_config_set_listen_address(cfg, listen.encode()), cfg, "listen")
            for pid, addr in (peers or {}).items():
                if not isinstance(pid, str) or not isinstance(addr, str):
                    raise InvalidArgument("peers must map str ids to str addresses")
                _check_config(L.re_config_add_peer(cfg, pid.encode(), addr.encode()), cfg, "peers")
            if join is not None:
                _check_config(L.re_config_set_join(cfg, ",".join(join).encode()), cfg, "join")
            if heartbeat_ms is not None:
                _check_config(L.re_config_set_heartbeat_ms(cfg, int(heartbeat_ms)), cfg, "heartbeat_ms")
            if election_timeout_ms is not None:
                lo, hi = election_timeout_ms
                _check_config(L.re_config_set_election_timeout_ms(cfg, int(lo), int(hi)), cfg, "election_timeout_ms")
            if pre_vote is not None:
                _check_config(L.re_config_set_pre_vote(cfg, int(bool(pre_vote))), cfg, "pre_vote")
            if check_quorum is not None:
                _check_config(L.re_config_set_check_quorum(cfg, int(bool(check_quorum))), cfg, "check_quorum")
            if apply_policy is not None:
                _check_config(L.re_config_set_apply_policy(cfg, APPLY_POLICIES[apply_policy]), cfg, "apply_policy")
            if cluster_secret is not None:
                sb = _secret_bytes("cluster_secret", cluster_secret)
                buf = (ctypes.c_uint8 * max(1, len(sb))).from_buffer_copy(sb or b"\0")
                _check_config(L.re_config_set_cluster_secret(cfg, buf, len(sb)), cfg, "cluster_secret")
            for extra in accept_cluster_secrets or ():
                sb = _secret_bytes("accept_cluster_secrets", extra)
                buf = (ctypes.c_uint8 * max(1, len(sb))).from_buffer_copy(sb or b"\0")
                _check_config(L.re_config_accept_cluster_secret(cfg, buf, len(sb)), cfg, "accept_cluster_secrets")
            if cluster_id is not None:
                _check_config(L.re_config_set_cluster_id(cfg, cluster_id.encode()), cfg, "cluster_id")
            if max_command_size is not None:
                _check_config(L.re_config_set_max_command_size(cfg, int(max_command_size)), cfg, "max_command_size")
            if command_timeout_ms is not None:
                _check_config(L.re_config_set_command_timeout_ms(cfg, int(command_timeout_ms)), cfg, "command_timeout_ms")
            if snapshot_threshold is not None:
                _check_config(L.re_config_set_snapshot_threshold(cfg, int(snapshot_threshold)), cfg, "snapshot_threshold")
            _check_config(L.re_config_set_state_machine(cfg, self._c_apply, self._c_snapshot, self._c_restore, None), cfg, "state_machine")
            if callable(getattr(state_machine, "apply_batch", None)):
                _check_config(L.re_config_set_apply_batch(cfg, self._c_apply_batch), cfg, "apply_batch")
            _check_config(L.re_config_set_event_callback(cfg, self._c_event, None), cfg, "event callback")
            self._own_host = host is None
            self._host = host or Host()
            node = ctypes.c_void_p()
            try:
                _check_config(L.re_node_start(self._host._handle, cfg, ctypes.byref(node)), cfg, "start")
            except Exception:
                if self._own_host:
                    self._host.close()
                raise
            self._handle = node
            self._closed = False
        finally:
            L.re_config_free(cfg)

    # -- state machine callbacks (loop thread) --

    def _apply(self, user, index, cmd, length, out, out_len):
        try:
            data = ctypes.string_at(cmd, length) if length else b""
            result = self._sm.apply(data)
            if result is None:
                result = b""
            if not isinstance(result, (bytes, bytearray)):
                raise TypeError(f"apply() must return bytes, not {type(result).__name__}")
            buf, n = _lib.malloc_copy(bytes(result))
            out[0] = buf if buf is not None else _lib.c_u8_p()
            out_len[0] = n
            return 0
        except BaseException as e:  # never let an exception unwind into C
            # The exception's text is the failure's message (the proposer's ApplyError, every
            # replica's apply_failed event).
            text = str(e) or type(e).__name__
            buf, n = _lib.malloc_copy(text.encode("utf-8", "replace"))
            out[0] = buf if buf is not None else _lib.c_u8_p()
            out_len[0] = n
            return 1

    def _apply_batch(self, user, commands, count, stop_at_failure, results):
        """One call of the state machine's apply_batch for a run of committed commands. Each
        result is bytes, or an exception instance for a command it refused."""
        try:
            string_at = ctypes.string_at
            batch = [string_at(commands[i].data, commands[i].len) if commands[i].len else b"" for i in range(count)]
            out = self._sm.apply_batch(batch)
            if not isinstance(out, (list, tuple)):
                raise TypeError(f"apply_batch() must return a list, not {type(out).__name__}")
            if len(out) > count:
                raise TypeError(f"apply_batch() returned {len(out)} results for {count} commands")
        except BaseException as e:  # the whole batch failed: every command gets the reason
            out = [e] * (1 if stop_at_failure else count)
        copy = _lib.malloc_copy
        done = 0
        for i, r in enumerate(out):
            if r is None:
                r = b""
            if isinstance(r, (bytes, bytearray)):
                status, payload = 0, bytes(r)
            else:
                if not isinstance(r, BaseException):
                    r = TypeError(f"apply_batch() results must be bytes or exceptions, not {type(r).__name__}")
                status, payload = 1, (str(r) or type(r).__name__).encode("utf-8", "replace")
            buf, n = copy(payload)
            results[i].status = status
            results[i].result = buf if buf is not None else _lib.c_u8_p()
            results[i].result_len = n
            done = i + 1
            if status and stop_at_failure:
                break
        return done

    def _snapshot(self, user, out, out_len):
        try:
            data = self._sm.snapshot()
            buf, n = _lib.malloc_copy(bytes(data or b""))
            out[0] = buf if buf is not None else _lib.c_u8_p()
            out_len[0] = n
            return 0
        except BaseException:
            return 1

    def _restore(self, user, data, length):
        try:
            self._sm.restore(ctypes.string_at(data, length) if length else b"")
            return 0
        except BaseException:
            return 1

    def _event(self, user, ev_p):
        if self._on_event is None:
            return
        e = ev_p.contents
        try:
            self._on_event(Event(EVENT_KINDS.get(e.kind, str(e.kind)), _s(e.value), _s(e.node), _s(e.detail), e.number))
        except BaseException:  # never unwind into C, never lose it either
            _log.exception("on_event callback of node %s raised", self.id)

    # -- commands --

    def _require_open(self):
        if self._closed:
            raise NodeStopped(f"node {self.id} is closed")

    @staticmethod
    def _as_bytes(command) -> bytes:
        if isinstance(command, str):
            raise InvalidArgument("command must be bytes, not str (encode it first)")
        if not isinstance(command, (bytes, bytearray, memoryview)):
            raise InvalidArgument(f"command must be bytes, not {type(command).__name__}")
        return bytes(command)

    def _start(self, call, on_done):
        key = self._done.register(on_done)
        status = call(key)
        if status != 0:
            self._done.forget(key)
            _check(status, "request")

    def _wait(self, call, timeout: float) -> bytes:
        self._require_open()
        ev = threading.Event()
        box = []

        def on_done(outcome):
            box.append(outcome)
            ev.set()

        self._start(call, on_done)
        if not ev.wait(timeout):
            raise CommandTimeout(f"no answer from node {self.id} within {timeout} s")
        return box[0].value()

    async def _wait_async(self, call, timeout: float) -> bytes:
        self._require_open()
        loop = asyncio.get_running_loop()
        fut = loop.create_future()

        def on_done(outcome):
            loop.call_soon_threadsafe(lambda: fut.done() or fut.set_result(outcome))

        self._start(call, on_done)
        try:
            outcome = await asyncio.wait_for(fut, timeout)
        except asyncio.TimeoutError:
            raise CommandTimeout(f"no answer from node {self.id} within {timeout} s") from None
        return outcome.value()

    def _submit_call(self, command: bytes):
        data = (ctypes.c_uint8 * max(1, len(command))).from_buffer_copy(command or b"\0")
        return lambda key: lib().re_node_submit(self._handle, data, len(command), self._done.c_callback, key)

    def _submit_many_call(self, commands, collector):
        datas = [self._as_bytes(c) for c in commands]
        if not datas:
            raise InvalidArgument("commands must not be empty")
        packed = b"".join(datas)
        lens = (ctypes.c_size_t * len(datas))(*map(len, datas))
        batches = _batches()
        first = batches.register(len(datas), collector)
        collector.first = first
        status = lib().re_node_submit_batch(self._handle, packed, lens, len(datas), first, batches.c_callback, None)
        if status != 0:
            batches.forget(first, len(datas))
            _check(status, "submit_many")

    def submit_many(self, commands, timeout: float = 30.0) -> list:
        """Replicates many commands in one call and returns their outcomes in order: the state
        machine's result (bytes) for each command applied, or the exception instance (NotLeader,
        ApplyError, ...) for each one that was not. Much faster than submit() in a loop."""
        self._require_open()
        ev = threading.Event()
        box = []
        collector = _Collector(len(commands), lambda results: (box.append(results), ev.set()))
        self._submit_many_call(commands, collector)
        if not ev.wait(timeout):
            raise CommandTimeout(f"no answer from node {self.id} within {timeout} s")
        return box[0]

    async def submit_many_async(self, commands, timeout: float = 30.0) -> list:
        """submit_many() for asyncio: the future resolves once, with every outcome."""
        self._require_open()
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        collector = _Collector(len(commands),
                               lambda results: loop.call_soon_threadsafe(lambda: fut.done() or fut.set_result(results)))
        self._submit_many_call(commands, collector)
        try:
            return await asyncio.wait_for(fut, timeout)
        except asyncio.TimeoutError:
            raise CommandTimeout(f"no answer from node {self.id} within {timeout} s") from None

    def submit(self, command: bytes, timeout: float = 10.0) -> bytes:
        """Replicates `command` and returns the state machine's result. Raises NotLeader (with
        leader_id / leader_address), RetryLater, CommandTimeout, ApplyError, CommandTooLarge or
        NodeStopped."""
        return self._wait(self._submit_call(self._as_bytes(command)), timeout)

    async def submit_async(self, command: bytes, timeout: float = 10.0) -> bytes:
        """submit() for asyncio: awaits the result without blocking the event loop."""
        return await self._wait_async(self._submit_call(self._as_bytes(command)), timeout)

    # -- status and cluster operations --

    def status(self) -> Status:
        """One consistent snapshot of the node: role, term, leader, indexes, members (with each
        follower's progress when this node leads)."""
        self._require_open()
        L = lib()
        snap = ctypes.c_void_p()
        _check(L.re_node_get_status(self._handle, ctypes.byref(snap)), "re_node_get_status")
        try:
            members = []
            match, since = ctypes.c_uint64(), ctypes.c_int64()
            for i in range(L.re_status_member_count(snap)):
                progress = L.re_status_member_progress(snap, i, ctypes.byref(match), ctypes.byref(since)) == 0
                members.append(Member(_s(L.re_status_member_id(snap, i)), _s(L.re_status_member_address(snap, i)) or "",
                                      L.re_status_member_is_voter(snap, i) == 1,
                                      match.value if progress else None, since.value if progress else None))
            role = ROLES.get(L.re_status_role(snap), "unknown")
            voters = L.re_status_voter_count(snap)
            return Status(role, L.re_status_term(snap), _s(L.re_status_leader_id(snap)),
                          _s(L.re_status_leader_address(snap)), L.re_status_commit_index(snap),
                          L.re_status_applied_index(snap), L.re_status_last_index(snap), role == "stopped",
                          voters, len(members) - voters, tuple(members))
        finally:
            L.re_status_free(snap)

    def counters(self) -> Dict[str, int]:
        """The transport's counters: frames sent and received, and what it refused (auth_failed,
        spoofed_sender, wrong_cluster, malformed_frames, ...)."""
        self._require_open()
        out = {}
        v = ctypes.c_uint64()
        for name in COUNTERS:
            _check(lib().re_node_counter(self._handle, name.encode(), ctypes.byref(v)), "re_node_counter")
            out[name] = v.value
        return out

    @property
    def port(self) -> int:
        self._require_open()
        p = ctypes.c_uint16()
        _check(lib().re_node_listen_port(self._handle, ctypes.byref(p)), "re_node_listen_port")
        return p.value

    def add_server(self, id: str, address: str, voter: bool = True, timeout: float = 30.0):
        L = lib()
        self._wait(lambda k: L.re_node_add_server(self._handle, id.encode(), address.encode(), int(voter), self._done.c_callback, k), timeout)

    def remove_server(self, id: str, timeout: float = 30.0):
        L = lib()
        self._wait(lambda k: L.re_node_remove_server(self._handle, id.encode(), self._done.c_callback, k), timeout)

    def join(self, leader_id: str, leader_address: str, voter: bool = True, timeout: float = 30.0):
        """Asks the leader to add this node (started without peers), as a voter or a learner."""
        L = lib()
        self._wait(lambda k: L.re_node_join(self._handle, leader_id.encode(), leader_address.encode(), int(voter),
                                            self._done.c_callback, k), timeout)

    def read_barrier(self, timeout: float = 10.0):
        """Returns once a read of this node's state machine is linearizable: the node is the
        leader, confirmed it still is with a majority, and applied every write acknowledged
        before the call. Raises NotLeader (naming the leader), RetryLater or CommandTimeout
        elsewhere, never returns on a deposed leader."""
        L = lib()
        self._wait(lambda k: L.re_node_read(self._handle, self._done.c_callback, k), timeout)

    async def read_barrier_async(self, timeout: float = 10.0):
        """read_barrier() for asyncio."""
        L = lib()
        await self._wait_async(lambda k: L.re_node_read(self._handle, self._done.c_callback, k), timeout)

    def exit_cluster(self, timeout: float = 30.0):
        L = lib()
        self._wait(lambda k: L.re_node_exit(self._handle, self._done.c_callback, k), timeout)

    def transfer_leadership(self, target_id: str, timeout: float = 30.0):
        L = lib()
        self._wait(lambda k: L.re_node_transfer_leadership(self._handle, target_id.encode(), self._done.c_callback, k), timeout)

    def take_snapshot(self, timeout: float = 30.0):
        L = lib()
        self._wait(lambda k: L.re_node_take_snapshot(self._handle, self._done.c_callback, k), timeout)

    def update_settings(self, heartbeat_ms: int = 0, election_timeout_ms: Tuple[int, int] = (0, 0),
                        max_entries_per_message: int = 0, timeout: float = 30.0):
        L = lib()
        lo, hi = election_timeout_ms
        self._wait(lambda k: L.re_node_update_settings(self._handle, heartbeat_ms, lo, hi, max_entries_per_message,
                                                        self._done.c_callback, k), timeout)

    # -- lifecycle --

    def stop(self):
        """Stops the node; its data dir can be reopened at once."""
        if not self._closed:
            _check(lib().re_node_stop(self._handle), "re_node_stop")

    def close(self):
        if self._closed:
            return
        self._closed = True
        lib().re_node_free(self._handle)
        if self._own_host:
            self._host.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass
