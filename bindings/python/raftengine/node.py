"""Node: one RaftEngine node embedded in this process."""

import array
import asyncio
import ctypes
import logging
import threading
from itertools import accumulate
import time
from typing import Callable, Dict, Optional, Tuple

from ._closing import Closing
from . import _lib
from ._calls import _Collector, _batches, _check, _check_config, _completions, _log, _s, lib
from .errors import CommandTimeout, InvalidArgument, NodeStopped, NotLeader, error_for
from . import _args
from .host import Host
from .storage import _LogAdapter
from .types import APPLY_POLICIES, COUNTERS, EVENT_KINDS, ROLES, Event, EventKind, Member, Status


def _secret_bytes(name, value):
    if isinstance(value, str):
        value = value.encode()
    if not isinstance(value, (bytes, bytearray)):
        raise InvalidArgument(f"{name} must be bytes or str, not {type(value).__name__}")
    return bytes(value)



class _ThreadBuffers(threading.local):
    """Each thread's buffers for re_node_submit_sync's leader id and address."""

    size = 256

    def get(self):
        bufs = getattr(self, "bufs", None)
        if bufs is None:
            bufs = self.bufs = (ctypes.create_string_buffer(self.size), ctypes.create_string_buffer(self.size))
        bufs[0].value = b""
        bufs[1].value = b""
        return bufs


_SUBMIT_BUFFERS = _ThreadBuffers()
_NOT_LEADER = NotLeader.status


class Node(Closing):
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

    `snapshot_threshold` snapshots automatically after that many applied entries (0, the
    default: only on take_snapshot()); `snapshot_trailing` (default 1000) is how many entries a
    snapshot keeps before its index, so a follower slightly behind gets entries, not the snapshot.

    `max_inflight` (default 64 messages) and `max_inflight_bytes` (default 32 MiB; a soft cap)
    bound what a leader has unacknowledged toward each follower.

    `log` keeps the node's Raft log in any object implementing raftengine.Log (SQLiteLog, or
    the host's own) instead of a FileLog in `data_dir`; `data_dir` is then optional (and
    unused). The node keeps `log` for its lifetime and calls it on its loop thread.
    """

    def __init__(self, *, id: str, data_dir: Optional[str] = None, listen: str, state_machine,
                 peers: Optional[Dict[str, str]] = None, join=None, host: Optional[Host] = None,
                 heartbeat_ms: Optional[int] = None, election_timeout_ms: Optional[Tuple[int, int]] = None,
                 pre_vote: Optional[bool] = None, check_quorum: Optional[bool] = None,
                 apply_policy: Optional[str] = None, cluster_id: Optional[str] = None,
                 cluster_secret=None, accept_cluster_secrets=(),
                 max_command_size: Optional[int] = None, command_timeout_ms: Optional[int] = None,
                 snapshot_threshold: Optional[int] = None,
                 snapshot_trailing: Optional[int] = None, on_event: Optional[Callable[[Event], None]] = None,
                 log=None, max_inflight: Optional[int] = None, max_inflight_bytes: Optional[int] = None):
        for name, value in (("id", id), ("listen", listen)):
            _args.text(name, value)
        if data_dir is not None or log is None:
            if data_dir is None:
                raise InvalidArgument("data_dir is required unless log= is given")
            _args.text("data_dir", data_dir)
        # Refuses a log without every required method, naming it; the node keeps the adapter
        # (the C table's callbacks) and so the log alive as long as itself.
        self._log_adapter = _LogAdapter(log, id) if log is not None else None
        for method in ("apply", "snapshot", "restore"):
            if not callable(getattr(state_machine, method, None)):
                raise InvalidArgument(f"state_machine must have a callable {method}()")
        # Checked here so the messages name the argument (a negative number would wrap in C).
        if heartbeat_ms is not None:
            heartbeat_ms = _args.integer("heartbeat_ms", heartbeat_ms)
        if election_timeout_ms is not None:
            election_timeout_ms = _args.milliseconds_pair("election_timeout_ms", election_timeout_ms)
        hb = heartbeat_ms if heartbeat_ms is not None else 10
        et = election_timeout_ms if election_timeout_ms is not None else (150, 300)
        if hb >= et[0]:
            raise InvalidArgument(f"heartbeat_ms ({hb}) must be below the election timeout minimum ({et[0]})")
        for name, value in (("command_timeout_ms", command_timeout_ms), ("max_command_size", max_command_size),
                            ("snapshot_threshold", snapshot_threshold), ("snapshot_trailing", snapshot_trailing),
                            ("max_inflight", max_inflight), ("max_inflight_bytes", max_inflight_bytes)):
            if value is not None:
                _args.integer(name, value)
        if on_event is not None and not callable(on_event):
            raise InvalidArgument("on_event must be callable")
        if cluster_id is not None:
            _args.text("cluster_id", cluster_id)
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
        batch_fn = getattr(state_machine, "apply_batch", None)
        self._sm_apply_batch = batch_fn if callable(batch_fn) else None
        self._lent = b""
        self._c_snapshot = _lib.SNAPSHOT_FN(self._snapshot)
        self._c_restore = _lib.RESTORE_FN(self._restore)
        self._c_event = _lib.EVENT_FN(self._event)
        self._done = _completions()

        cfg = ctypes.c_void_p()
        _check(L.re_config_new(ctypes.byref(cfg)), "re_config_new")
        try:
            _check_config(L.re_config_set_id(cfg, id.encode()), cfg, "id")
            if data_dir is not None:
                _check_config(L.re_config_set_data_dir(cfg, data_dir.encode()), cfg, "data_dir")
            if self._log_adapter is not None:
                _check_config(L.re_config_set_storage(cfg, ctypes.byref(self._log_adapter.table), None), cfg, "log")
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
            if snapshot_trailing is not None:
                _check_config(L.re_config_set_snapshot_trailing(cfg, int(snapshot_trailing)), cfg, "snapshot_trailing")
            if max_inflight is not None:
                _check_config(L.re_config_set_max_inflight(cfg, int(max_inflight)), cfg, "max_inflight")
            if max_inflight_bytes is not None:
                _check_config(L.re_config_set_max_inflight_bytes(cfg, int(max_inflight_bytes)), cfg, "max_inflight_bytes")
            _check_config(L.re_config_set_state_machine(cfg, self._c_apply, self._c_snapshot, self._c_restore, None), cfg, "state_machine")
            # Always the batch path: one crossing per run of commands, even for a machine with
            # only apply() (called command by command on the Python side).
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
        """A run of committed commands in one call: the re_command array is read whole, the
        commands' bytes (packed by the library) copied at once, and the state machine's
        apply_batch (or its apply, command by command) called. The results go back packed in
        one buffer the node keeps until its next callback (the library borrows it)."""
        try:
            words = memoryview(ctypes.string_at(commands, 24 * count)).cast("Q")  # index, data, len
            lens = words[2::3].tolist()
            offsets = list(accumulate(lens, initial=0))
            blob = ctypes.string_at(words[1], offsets[-1]) if offsets[-1] else b""
            batch = list(map(blob.__getitem__, map(slice, offsets, offsets[1:])))
            if self._sm_apply_batch is not None:
                out = self._sm_apply_batch(batch)
                if not isinstance(out, (list, tuple)):
                    raise TypeError(f"apply_batch() must return a list, not {type(out).__name__}")
                if len(out) > count:
                    raise TypeError(f"apply_batch() returned {len(out)} results for {count} commands")
            else:
                out = []
                apply = self._sm.apply
                for command in batch:
                    try:
                        out.append(apply(command))
                    except BaseException as e:  # this command's failure, not the batch's
                        out.append(e)
                        if stop_at_failure:
                            break
        except BaseException as e:  # the whole batch failed: every command gets the reason
            out = [e] * (1 if stop_at_failure else count)
        payloads = out
        failed = None
        if not all(type(r) is bytes for r in out):
            payloads, failed = [], []
            for i, r in enumerate(out):
                if r is None:
                    r = b""
                if isinstance(r, (bytes, bytearray, memoryview)):
                    payloads.append(bytes(r))
                    continue
                if not isinstance(r, BaseException):
                    r = TypeError(f"apply() must return bytes, not {type(r).__name__}")
                payloads.append((str(r) or type(r).__name__).encode("utf-8", "replace"))
                failed.append(i)
                if stop_at_failure:
                    break
        n = len(payloads)
        joined = b"".join(payloads)
        self._lent = joined  # the library copies it after this call returns
        base = ctypes.cast(ctypes.c_char_p(joined), ctypes.c_void_p).value or 0
        sizes = array.array("Q", map(len, payloads))
        table = array.array("Q", bytes(24 * n))  # re_apply_result: status (+padding), result, result_len
        table[1::3] = array.array("Q", accumulate(sizes, initial=base))[:n]
        table[2::3] = sizes
        for i in failed or ():
            table[3 * i] = 1
        if n:
            ctypes.memmove(results, table.buffer_info()[0], 24 * n)
        return n

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

    # The engine's own account of what happens reaches `logging` (logger "raftengine"), at
    # these levels; a host sees it with logging.basicConfig(level=logging.INFO).
    _EVENT_LEVELS = {EventKind.ERROR: logging.ERROR, EventKind.STOPPED: logging.WARNING,
                     EventKind.APPLY_FAILED: logging.WARNING, EventKind.MEMBERSHIP_ABORTED: logging.WARNING,
                     EventKind.ROLE: logging.INFO, EventKind.LEADER: logging.INFO, EventKind.TERM: logging.INFO,
                     EventKind.MEMBERSHIP_DONE: logging.INFO, EventKind.SETTINGS: logging.INFO,
                     EventKind.SNAPSHOT: logging.INFO}

    def _event(self, user, ev_p):
        e = ev_p.contents
        event = Event(EVENT_KINDS.get(e.kind, EventKind.ERROR), _s(e.value), _s(e.node), _s(e.detail), e.number)
        level = self._EVENT_LEVELS.get(event.kind, logging.DEBUG)
        if _log.isEnabledFor(level):
            parts = [str(x) for x in (event.value, event.node, event.detail) if x]
            if event.kind in (EventKind.TERM, EventKind.SNAPSHOT, EventKind.APPLY_FAILED):
                parts.append(str(event.number))
            _log.log(level, "node %s: %s %s", self.id, event.kind.value, " ".join(parts))
        if self._on_event is None:
            return
        try:
            self._on_event(event)
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
        NodeStopped. Not from a state machine or event callback (WrongState): those run on
        the engine's thread, which this would wait on; use submit_async there."""
        self._require_open()
        data = self._as_bytes(command)
        ms = max(1, min(int(_args.timeout("timeout", timeout) * 1000), 0xFFFFFFFF))
        # The library waits for the outcome on this thread, with the GIL released: no Python
        # callback on the engine's thread, no wake-up through an Event.
        result, size = ctypes.c_void_p(), ctypes.c_size_t()
        leader, address = _SUBMIT_BUFFERS.get()
        status = lib().re_node_submit_sync(self._handle, data, len(data), ms, ctypes.byref(result),
                                           ctypes.byref(size), leader, address, _SUBMIT_BUFFERS.size)
        if status == 0:
            if not result.value:
                return b""
            try:
                return ctypes.string_at(result.value, size.value)
            finally:
                _lib.free(result.value)
        why = (lib().re_errmsg() or b"").decode("utf-8", "replace")
        raise error_for(status, why or lib().re_strerror(status).decode(),
                        leader_id=(leader.value.decode() or None) if status == _NOT_LEADER else None,
                        leader_address=(address.value.decode() or None) if status == _NOT_LEADER else None)

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
                          voters, len(members) - voters, tuple(members),
                          _s(L.re_status_stop_reason(snap)), _s(L.re_status_stop_detail(snap)))
        finally:
            L.re_status_free(snap)

    def counters(self) -> Dict[str, int]:
        """Counters since the node started: the transport's (frames sent and received, what it
        refused: auth_failed, spoofed_sender, wrong_cluster, malformed_frames, ...), the node's
        (proposals, refused_proposals, elections_started, leader_changes, snapshots_taken,
        snapshots_installed, apply_failures, errors) and the log's (log_syncs,
        log_sync_micros_total, log_sync_failures, log_zero_fills, log_zero_fill_bytes: log space
        written with zeros ahead of the records)."""
        self._require_open()
        out = {}
        v = ctypes.c_uint64()
        for name in COUNTERS:
            _check(lib().re_node_counter(self._handle, name.encode(), ctypes.byref(v)), "re_node_counter")
            out[name] = v.value
        return out

    @property
    def port(self) -> int:
        """The port the node listens on (useful with listen="127.0.0.1:0")."""
        self._require_open()
        p = ctypes.c_uint16()
        _check(lib().re_node_listen_port(self._handle, ctypes.byref(p)), "re_node_listen_port")
        return p.value

    # -- cluster operations: each has a blocking form and an asyncio form (..._async) --

    def _op(self, name, start):
        """A call that starts operation `name` for completion key k, for _wait/_wait_async."""
        L = lib()
        return lambda k: start(L, self._done.c_callback, k)

    def _add_server_call(self, id, address, voter):
        _args.text("id", id)
        _args.text("address", address)
        return self._op("add_server", lambda L, cb, k: L.re_node_add_server(self._handle, id.encode(), address.encode(),
                                                                          int(bool(voter)), cb, k))

    def add_server(self, id: str, address: str, voter: bool = True, timeout: float = 30.0):
        """Leader: adds server `id` at raft `address` once it has caught up (as a learner when
        `voter` is False), or promotes a learner to voter. Raises NotLeader (naming the
        leader), AlreadyMember, ChangeInProgress, CommandTimeout."""
        self._wait(self._add_server_call(id, address, voter), _args.timeout("timeout", timeout))

    async def add_server_async(self, id: str, address: str, voter: bool = True, timeout: float = 30.0):
        """add_server() for asyncio."""
        await self._wait_async(self._add_server_call(id, address, voter), _args.timeout("timeout", timeout))

    def _remove_server_call(self, id):
        _args.text("id", id)
        return self._op("remove_server", lambda L, cb, k: L.re_node_remove_server(self._handle, id.encode(), cb, k))

    def remove_server(self, id: str, timeout: float = 30.0):
        """Leader: removes member `id` (itself included: it hands over leadership and stops).
        Raises NotLeader, UnknownNode, ChangeInProgress, Rejected (the last voter)."""
        self._wait(self._remove_server_call(id), _args.timeout("timeout", timeout))

    async def remove_server_async(self, id: str, timeout: float = 30.0):
        """remove_server() for asyncio."""
        await self._wait_async(self._remove_server_call(id), _args.timeout("timeout", timeout))

    def _join_call(self, leader_id, leader_address, voter):
        _args.text("leader_id", leader_id)
        _args.text("leader_address", leader_address)
        return self._op("join", lambda L, cb, k: L.re_node_join(self._handle, leader_id.encode(), leader_address.encode(),
                                                              int(bool(voter)), cb, k))

    def join(self, leader_id: str, leader_address: str, voter: bool = True, timeout: float = 30.0):
        """Asks the leader to add this node (started without peers), as a voter or a learner.
        (A node created with join= does this by itself.)"""
        self._wait(self._join_call(leader_id, leader_address, voter), _args.timeout("timeout", timeout))

    async def join_async(self, leader_id: str, leader_address: str, voter: bool = True, timeout: float = 30.0):
        """join() for asyncio."""
        await self._wait_async(self._join_call(leader_id, leader_address, voter), _args.timeout("timeout", timeout))

    def _read_call(self):
        return self._op("read_barrier", lambda L, cb, k: L.re_node_read(self._handle, cb, k))

    def read_barrier(self, timeout: float = 10.0):
        """Returns once a read of this node's state machine is linearizable: the node is the
        leader, confirmed it still is with a majority, and applied every write acknowledged
        before the call. Raises NotLeader (naming the leader), RetryLater or CommandTimeout
        elsewhere, never returns on a deposed leader."""
        self._wait(self._read_call(), _args.timeout("timeout", timeout))

    async def read_barrier_async(self, timeout: float = 10.0):
        """read_barrier() for asyncio."""
        await self._wait_async(self._read_call(), _args.timeout("timeout", timeout))

    def _exit_call(self):
        return self._op("exit_cluster", lambda L, cb, k: L.re_node_exit(self._handle, cb, k))

    def exit_cluster(self, timeout: float = 30.0):
        """Leaves the cluster; the node stops once its removal commits."""
        self._wait(self._exit_call(), _args.timeout("timeout", timeout))

    async def exit_cluster_async(self, timeout: float = 30.0):
        """exit_cluster() for asyncio."""
        await self._wait_async(self._exit_call(), _args.timeout("timeout", timeout))

    def _transfer_call(self, target_id):
        _args.text("target_id", target_id)
        return self._op("transfer_leadership",
                        lambda L, cb, k: L.re_node_transfer_leadership(self._handle, target_id.encode(), cb, k))

    def transfer_leadership(self, target_id: str, timeout: float = 30.0):
        """Leader: hands leadership to voter `target_id` (caught up first). Raises NotLeader,
        UnknownNode, ChangeInProgress, CommandTimeout (the target did not take over in time)."""
        self._wait(self._transfer_call(target_id), _args.timeout("timeout", timeout))

    async def transfer_leadership_async(self, target_id: str, timeout: float = 30.0):
        """transfer_leadership() for asyncio."""
        await self._wait_async(self._transfer_call(target_id), _args.timeout("timeout", timeout))

    def _snapshot_call(self):
        return self._op("take_snapshot", lambda L, cb, k: L.re_node_take_snapshot(self._handle, cb, k))

    def take_snapshot(self, timeout: float = 30.0):
        """Snapshots the state machine at the applied index and compacts the log."""
        self._wait(self._snapshot_call(), _args.timeout("timeout", timeout))

    async def take_snapshot_async(self, timeout: float = 30.0):
        """take_snapshot() for asyncio."""
        await self._wait_async(self._snapshot_call(), _args.timeout("timeout", timeout))

    def _settings_call(self, heartbeat_ms, election_timeout_ms, max_entries_per_message):
        hb = _args.integer("heartbeat_ms", heartbeat_ms, 0, 60_000)
        if not isinstance(election_timeout_ms, (tuple, list)) or len(election_timeout_ms) != 2:
            raise InvalidArgument(f"election_timeout_ms must be a (min, max) pair, got {election_timeout_ms!r}")
        lo = _args.integer("election_timeout_ms[0]", election_timeout_ms[0], 0, 600_000)
        hi = _args.integer("election_timeout_ms[1]", election_timeout_ms[1], 0, 600_000)
        if lo and hi and lo > hi:
            raise InvalidArgument(f"election_timeout_ms must have min <= max, got {tuple(election_timeout_ms)}")
        me = _args.integer("max_entries_per_message", max_entries_per_message, 0, 100_000)
        return self._op("update_settings",
                        lambda L, cb, k: L.re_node_update_settings(self._handle, hb, lo, hi, me, cb, k))

    def update_settings(self, heartbeat_ms: int = 0, election_timeout_ms: Tuple[int, int] = (0, 0),
                        max_entries_per_message: int = 0, timeout: float = 30.0):
        """Leader: replicates new timing settings (0 keeps a value); every node switches when the
        change commits. Raises NotLeader, ChangeInProgress, InvalidArgument."""
        self._wait(self._settings_call(heartbeat_ms, election_timeout_ms, max_entries_per_message),
                   _args.timeout("timeout", timeout))

    async def update_settings_async(self, heartbeat_ms: int = 0, election_timeout_ms: Tuple[int, int] = (0, 0),
                                    max_entries_per_message: int = 0, timeout: float = 30.0):
        """update_settings() for asyncio."""
        await self._wait_async(self._settings_call(heartbeat_ms, election_timeout_ms, max_entries_per_message),
                               _args.timeout("timeout", timeout))

    def wait_for_leader(self, timeout: float = 10.0) -> str:
        """Waits until this node knows a leader (itself or another) and returns its id. Raises
        CommandTimeout when none is known in time (no majority reachable)."""
        end = time.monotonic() + _args.timeout("timeout", timeout)
        while True:
            s = self.status()
            if s.stopped:
                raise NodeStopped(f"node {self.id} is stopped")
            if s.leader_id:
                return s.leader_id
            if time.monotonic() >= end:
                raise CommandTimeout(f"node {self.id} knows no leader after {timeout} s")
            time.sleep(0.01)

    async def wait_for_leader_async(self, timeout: float = 10.0) -> str:
        """wait_for_leader() for asyncio (polls without blocking the event loop)."""
        end = time.monotonic() + _args.timeout("timeout", timeout)
        while True:
            s = self.status()
            if s.stopped:
                raise NodeStopped(f"node {self.id} is stopped")
            if s.leader_id:
                return s.leader_id
            if time.monotonic() >= end:
                raise CommandTimeout(f"node {self.id} knows no leader after {timeout} s")
            await asyncio.sleep(0.01)

    # -- lifecycle --

    def stop(self):
        """Stops the node; its data dir can be reopened at once."""
        if not self._closed:
            _check(lib().re_node_stop(self._handle), "re_node_stop")

    def close(self):
        """Stops the node if needed and frees it (and its host, if the node made its own)."""
        if self._closed:
            return
        self._closed = True
        lib().re_node_free(self._handle)
        if self._own_host:
            self._host.close()

