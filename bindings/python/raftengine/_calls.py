"""The C calls' plumbing: the loaded library, status checks and the completion tables that
route the library's callbacks to Python callers."""

import bisect
import ctypes
import itertools
import logging
import struct
import threading
from dataclasses import dataclass
from typing import Callable, Dict, Optional

from . import _lib
from .errors import error_for

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


def declared_by(declare: Callable[[ctypes.CDLL], None]) -> Callable[[], ctypes.CDLL]:
    """A getter of the library with a module's own functions declared: `declare(L)` runs once,
    at the first call (importing never loads the library)."""
    lock = threading.Lock()
    done = False

    def get():
        nonlocal done
        L = lib()
        with lock:
            if not done:
                declare(L)
                done = True
        return L
    return get


def version() -> str:
    """The library's version, "MAJOR.MINOR.PATCH"."""
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


# re_batch_result as the library lays it out (x86-64): tag, status (+4 padding), result,
# result_len, leader_id, leader_address, message.
_BATCH_RESULT = struct.Struct("=Qi4xQQQQQ")


class _BatchCompletions:
    """Outcomes of commands submitted together. One C callback hands over an array: it is read
    whole (struct), the results' bytes copied at once (the library packs them in order), and
    each submit_many call's collector found by the range of tags it was given."""

    def __init__(self):
        self._lock = threading.Lock()
        self._next = 1
        self._firsts = []  # first tags of the collectors still waiting, ascending
        self._ranges = {}  # first tag -> (end tag, collector)
        self.c_callback = _lib.BATCH_DONE_FN(self._done)

    def register(self, count, collector):
        with self._lock:
            first = self._next
            self._next += count
            self._firsts.append(first)  # tags only grow: the list stays sorted
            self._ranges[first] = (first + count, collector)
        return first

    def forget(self, first, count=None):
        with self._lock:
            if self._ranges.pop(first, None) is not None:
                i = bisect.bisect_left(self._firsts, first)
                if i < len(self._firsts) and self._firsts[i] == first:
                    del self._firsts[i]

    def _find(self, tag):
        i = bisect.bisect_right(self._firsts, tag) - 1
        if i < 0:
            return None
        first = self._firsts[i]
        end, col = self._ranges[first]
        return (first, end, col) if tag < end else None

    def _done(self, user, results, count):
        rows = list(_BATCH_RESULT.iter_unpack(ctypes.string_at(results, count * _BATCH_RESULT.size)))
        # The non-empty results lie packed in order: one copy, then slices.
        start = next((r[2] for r in rows if r[3]), 0)
        blob = b""
        if start:
            last = next(r for r in reversed(rows) if r[3])
            blob = ctypes.string_at(start, last[2] + last[3] - start)
        groups = []
        with self._lock:
            current = None
            for tag, status, ptr, n, lid, laddr, msg in rows:
                if current is None or not (current[0] <= tag < current[1]):
                    current = self._find(tag)
                    if current is None:
                        continue
                    groups.append((current[2], []))
                if status == 0:
                    value = blob[ptr - start:ptr - start + n] if n else b""
                else:
                    value = error_for(status, _cstr(msg) or "", leader_id=_cstr(lid), leader_address=_cstr(laddr))
                groups[-1][1].append((tag, value))
        for col, items in groups:
            try:
                if col.add(items):
                    self.forget(col.first)
            except Exception:  # a collector must never unwind into C
                _log.exception("batch completion failed")


def _cstr(address):
    return ctypes.string_at(address).decode("utf-8", "replace") if address else None


class _Collector:
    """Gathers one submit_many call's outcomes; `on_complete(list)` runs once all are in."""

    def __init__(self, count, on_complete):
        self.first = 0
        self.results = [None] * count
        self.left = count
        self.on_complete = on_complete
        self.lock = threading.Lock()

    def add(self, items) -> bool:
        """Takes outcomes as (tag, value) pairs; True once every outcome is in."""
        with self.lock:
            results, first = self.results, self.first
            for tag, value in items:
                results[tag - first] = value
            self.left -= len(items)
            done = self.left == 0
        if done:
            self.on_complete(self.results)
        return done


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
