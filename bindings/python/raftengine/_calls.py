"""The C calls' plumbing: the loaded library, status checks and the completion tables that
route the library's callbacks to Python callers."""

import ctypes
import itertools
import logging
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
