"""Client histories over a simulated cluster and their linearizability check (re_sim_history_*).
Imported through raftengine.sim, which re-exports it."""

import ctypes
from dataclasses import dataclass
from typing import Callable, List, Optional

from ._closing import Closing
from . import _lib
from ._calls import _check, declared_by
from .sim import Cluster

__all__ = ["History", "Operation", "Linearizability"]

_MODELS = {"register": 0, "counter": 1}
_OPS = {"read": 0, "write": 1, "add": 2}
_OP_NAMES = {v: k for k, v in _OPS.items()}
_COMPLETIONS = {0: "pending", 1: "completed", 2: "failed"}
_VERDICTS = {0: "not linearizable", 1: "linearizable", 2: "undecided"}

VALUE_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(ctypes.c_int64))

def _declare(L):
    """This module's functions."""
    i, p, cp, i64, sz, u64 = ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int64, ctypes.c_size_t, ctypes.c_uint64
    pp, sz_p, u64_p, i_p, i64_p = (ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(sz), ctypes.POINTER(u64),
                                   ctypes.POINTER(i), ctypes.POINTER(i64))
    _lib._fn(L, "re_sim_history_new", i, i, i64, pp)
    _lib._fn(L, "re_sim_history_free", None, p)
    _lib._fn(L, "re_sim_history_propose", i, p, p, i, ctypes.c_char_p, sz, i, i64, cp, sz_p, u64_p)
    _lib._fn(L, "re_sim_history_read", i, p, p, i, VALUE_FN, p, cp, sz_p, u64_p)
    _lib._fn(L, "re_sim_history_read_locally", i, p, p, i, VALUE_FN, p, cp, sz_p)
    _lib._fn(L, "re_sim_history_invoke", i, p, i, i64, cp, sz_p)
    _lib._fn(L, "re_sim_history_complete", i, p, sz, i64)
    _lib._fn(L, "re_sim_history_fail", i, p, sz)
    _lib._fn(L, "re_sim_history_count", sz, p)
    _lib._fn(L, "re_sim_history_operation", i, p, sz, i_p, i64_p, i_p, i64_p)
    _lib._fn(L, "re_sim_history_check", i, p, sz, pp)


_L = declared_by(_declare)


@dataclass(frozen=True)
class Operation:
    """One client operation: "read", "write" or "add" with its argument; its completion
    ("pending", "completed", "failed") and output (None unless completed)."""
    op: str
    arg: int
    completion: str
    output: Optional[int]


@dataclass(frozen=True)
class Linearizability:
    """A check's answer: verdict "linearizable", "not linearizable" or "undecided" (the search's
    state limit ran out), and the library's description (the order found, the operations)."""
    verdict: str
    description: str

    @property
    def ok(self) -> bool:
        return self.verdict == "linearizable"

    def __bool__(self) -> bool:
        return self.ok


class History(Closing):
    """A history of client operations on one object for a linearizability check: a "register"
    (write v; read gives the last write, `initial` before any) or a "counter" (add n answers
    the total after it; read gives the total). Record operations through a simulated Cluster
    (propose, read, read_locally) or by hand (invoke, complete, fail), then check()."""

    def __init__(self, model: str = "register", initial: int = 0):
        if model not in _MODELS:
            raise ValueError(f"model must be one of {', '.join(_MODELS)}, not {model!r}")
        self.model = model
        self._L = _L()
        h = ctypes.c_void_p()
        _check(self._L.re_sim_history_new(_MODELS[model], int(initial), ctypes.byref(h)), "History")
        self._h = h
        self._values: dict = {}  # read callbacks' value functions, by key
        self._next = 1
        self._fn = VALUE_FN(self._value)

    def close(self):
        if self._h:
            self._L.re_sim_history_free(self._h)
            self._h = None


    def _handle(self):
        if not self._h:
            raise ValueError("the history is closed")
        return self._h

    # -- through a cluster --

    def propose(self, cluster: Cluster, node: int, command, *, write: Optional[int] = None, add: Optional[int] = None,
                read: bool = False, client: str = "c") -> int:
        """Proposes `command` at `node` as one operation: write=v (register), add=n (counter) or
        read=True (either; the machine's result is the value). Completed when its outcome comes:
        applied, with the machine's result as the output (a decimal integer for add and read);
        refused or redirected: failed; a timeout or a stepped-down leader: left pending. Returns
        the operation's id."""
        given = [(k, v) for k, v in (("write", write), ("add", add)) if v is not None] + ([("read", 0)] if read else [])
        if len(given) != 1:
            raise ValueError("name exactly one of write=, add= or read=True")
        op, arg = given[0]
        data = command.encode() if isinstance(command, str) else bytes(command)
        oid = ctypes.c_size_t()
        cluster._call(self._L.re_sim_history_propose(self._handle(), cluster._handle(), node, data, len(data), _OPS[op],
                                                     int(arg), client.encode(), ctypes.byref(oid), None), "propose")
        return oid.value

    def read(self, cluster: Cluster, node: int, value: Callable[[object], int], client: str = "c") -> int:
        """A linearizable read (ReadIndex) at `node`: once the node confirms it leads and has
        applied up to the read's index, `value(machine)` gives the read's answer from the node's
        machine (inside a later cluster call). A redirect fails it. Returns its id."""
        key = self._keep(cluster, value)
        oid = ctypes.c_size_t()
        cluster._call(self._L.re_sim_history_read(self._handle(), cluster._handle(), node, self._fn, key, client.encode(),
                                                  ctypes.byref(oid), None), "read")
        return oid.value

    def read_locally(self, cluster: Cluster, node: int, value: Callable[[object], int], client: str = "c") -> int:
        """A read of `node`'s local state with no check that it still leads: invoked and
        answered now with `value(machine)`. It can be stale. Returns its id."""
        key = self._keep(cluster, value)
        oid = ctypes.c_size_t()
        cluster._call(self._L.re_sim_history_read_locally(self._handle(), cluster._handle(), node, self._fn, key,
                                                          client.encode(), ctypes.byref(oid)), "read_locally")
        return oid.value

    def _keep(self, cluster: Cluster, value) -> int:
        """Files `value` under a key for the C callback. The cluster keeps the callback too: a
        pending read may be answered after this history is gone."""
        if not callable(value):
            raise TypeError("value must be a callable taking the node's machine")
        key = self._next
        self._next += 1
        self._values[key] = (cluster, value)
        keep = cluster.__dict__.setdefault("_history_callbacks", [])
        if self._fn not in keep:
            keep.append(self._fn)
        return key

    def _value(self, user, sim, node, out):
        entry = self._values.get(user or 0)
        if entry is None:
            return 1
        cluster, value = entry
        try:
            out[0] = int(value(cluster.machine(node)))
            return 0
        except BaseException:  # never unwind into C: the read's answer is then wrong
            return 1

    # -- by hand --

    def invoke(self, op: str, arg: int = 0, client: str = "c") -> int:
        """Records that `client` invoked `op` ("read", "write", "add") with `arg`; its id."""
        if op not in _OPS:
            raise ValueError(f"op must be one of {', '.join(_OPS)}, not {op!r}")
        oid = ctypes.c_size_t()
        _check(self._L.re_sim_history_invoke(self._handle(), _OPS[op], int(arg), client.encode(), ctypes.byref(oid)),
               "invoke")
        return oid.value

    def complete(self, id: int, output: int = 0):
        """Records operation `id`'s answer (a write's output is not compared)."""
        _check(self._L.re_sim_history_complete(self._handle(), id, int(output)), "complete")

    def fail(self, id: int):
        """Records that operation `id` did not take effect."""
        _check(self._L.re_sim_history_fail(self._handle(), id), "fail")

    # -- reading and checking --

    def __len__(self) -> int:
        return self._L.re_sim_history_count(self._handle())

    def operation(self, id: int) -> Operation:
        op, arg, completion, output = ctypes.c_int(), ctypes.c_int64(), ctypes.c_int(), ctypes.c_int64()
        _check(self._L.re_sim_history_operation(self._handle(), id, ctypes.byref(op), ctypes.byref(arg),
                                                ctypes.byref(completion), ctypes.byref(output)), "operation")
        done = _COMPLETIONS[completion.value]
        return Operation(_OP_NAMES[op.value], arg.value, done, output.value if done == "completed" else None)

    @property
    def operations(self) -> List[Operation]:
        return [self.operation(k) for k in range(len(self))]

    def check(self, limit: int = 0) -> Linearizability:
        """Searches for a linearization (giving up after `limit` states; 0: 1,000,000)."""
        text = ctypes.c_void_p()
        rc = self._L.re_sim_history_check(self._handle(), limit, ctypes.byref(text))
        if rc < 0:
            _check(rc, "check")
        try:
            description = ctypes.string_at(text.value).decode("utf-8", "replace") if text.value else ""
        finally:
            _lib.free(text.value)
        return Linearizability(_VERDICTS[rc], description)
