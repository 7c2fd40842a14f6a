"""Bring your own storage: the `Log` protocol a node keeps its Raft log in (instead of a
FileLog in its data dir), the adapter that turns any such object into the C library's
re_log_vtable, and `SQLiteLog`, a durable Log on the standard library's sqlite3.

    node = raftengine.Node(id="n1", listen="127.0.0.1:7001", peers=..., state_machine=...,
                           log=raftengine.SQLiteLog("n1.sqlite3"))
"""

import ctypes
import sqlite3
import struct
import threading
from typing import Iterable, List, Optional, Protocol, Sequence, Tuple, runtime_checkable

from . import _lib
from ._calls import _log
from .errors import DataDirLocked, InvalidArgument, StorageError

#: One log entry as a Log stores it and hands it back: (index, term, kind, data). `kind` is an
#: int (0 a command, 1 a new leader's no-op, 2 a configuration), `data` bytes; store all four
#: as given and return them unchanged.
Entry = Tuple[int, int, int, bytes]


@runtime_checkable
class Log(Protocol):
    """Where a node keeps its Raft log: give any object with these methods as
    `Node(..., log=...)` (`SQLiteLog` is one). A new log is empty: term 0, no vote, commit 0,
    no bootstrap configuration, bounds (0, 0, 0), no snapshot, not broken.

    Threads: the node calls the methods on its loop thread, one at a time — every load_* and a
    read of all retained entries while Node() starts, then reads and writes while it runs.
    After the node stopped (or its start failed) it never calls them again; `close()` says so.
    One node at a time per Log; the same Log may serve the node restarted after it.

    Failures: raising is failing (the adapter logs the exception to the "raftengine" logger and
    tells the library). A load that raises makes Node() fail with StorageError; a write or
    sync that raises while the node runs stops it (an "error" event, then "stopped" with
    STORAGE_FAILURE); the node makes no further write after a failed one.

    Durability, one rule for every write (save_*, append, truncate, save_snapshot,
    install_snapshot): a write may stay buffered until the next `sync()`; once `sync()` returns
    (without raising) every write made before it must be durable. A crash may lose the writes
    made since the last sync, but only from the end: after a restart the loads must describe
    the state after some prefix of the writes, each write whole or not at all. The simplest way
    is a working transaction that `sync()` commits. The node sends no vote and acknowledges no
    entry before a sync that followed the write. The commit index alone may lag further (see
    save_commit_index).

    Values: what a method receives is the caller's (copy what you keep — bytes already are
    copies); what it returns must be bytes (or bytearray/memoryview) and ints as described.
    """

    def load_hard_state(self) -> Tuple[int, Optional[str]]:
        """The current term and vote: (term, voted_for or None); (0, None) for a new log."""

    def save_hard_state(self, term: int, voted_for: Optional[str]) -> None:
        """Stores the term and vote (None for none). A write: durable at the next sync(); the
        node sends a vote only after that sync."""

    def load_commit_index(self) -> int:
        """The highest index saved by save_commit_index (0 for a new log). It may be lower
        than the last one saved (see save_commit_index), never higher."""

    def save_commit_index(self, index: int) -> None:
        """Stores the commit index, which only grows. A write that alone may be lost even after
        a sync (a restarted node then applies less at first and learns the rest from the
        leader): a Log may keep it lazily."""

    def load_bootstrap_config(self) -> Optional[bytes]:
        """The bytes save_bootstrap_config stored, or None when none was saved."""

    def save_bootstrap_config(self, config: bytes) -> None:
        """Stores the configuration the cluster bootstrapped with (opaque bytes): a write, once,
        at a new node's start."""

    def load_bounds(self) -> Tuple[int, int, int]:
        """(prefix_index, prefix_term, last_index): the retained entries are prefix_index+1 ...
        last_index (none when equal); (prefix_index, prefix_term) is the position of the last
        entry compacted away, (0, 0) when none. (0, 0, 0) for a new log."""

    def read_entries(self, first: int, last: int) -> Iterable[Entry]:
        """The entries first, first+1, ..., last in order, as (index, term, kind, data). Only
        retained entries are asked for (prefix_index < first <= last <= last_index). The node
        may stop consuming early (it limits how many bytes it takes): return a generator or
        iterator to fetch lazily; it is closed when the node has enough."""

    def append(self, entries: Sequence[Entry]) -> None:
        """Appends one or more entries (index, term, kind, data) whose indexes run on from
        last_index + 1. A write: the node acknowledges entries (and a leader counts its own)
        only after the sync that follows."""

    def truncate(self, from_index: int) -> None:
        """Removes every entry at or above `from_index` (prefix_index < from_index <=
        last_index; never a committed entry). A write: lost in a crash only together with the
        appends after it."""

    def save_snapshot(self, meta: bytes, data: bytes, compact_through: int, compact_term: int) -> None:
        """A snapshot this node took: stores it (meta: opaque; data: the state machine's
        bytes), replacing the one before, and when compact_through > prefix_index drops the
        entries at or below compact_through, whose last has term compact_term:
        (compact_through, compact_term) becomes the prefix; entries after it stay. A write,
        whole or not at all: a crash must not leave the entries dropped without the snapshot."""

    def install_snapshot(self, meta: bytes, data: bytes, index: int, term: int, keep_entries: bool) -> None:
        """A snapshot received from the leader: stores it as save_snapshot does and makes
        (index, term) the prefix. keep_entries: the entries at or below `index` are dropped,
        those after it stay; otherwise every entry is dropped (last_index becomes `index`,
        which may lie beyond the old one). A write, whole or not at all."""

    def load_snapshot(self) -> Optional[Tuple[bytes, bytes]]:
        """The stored snapshot as (meta, data), or None when there is none."""

    def load_broken(self) -> bool:
        """Whether the log is marked broken (an apply failed under apply_policy "halt"); a node
        does not start on a broken log until the host clears the mark."""

    def save_broken(self, broken: bool) -> None:
        """Sets or clears the broken mark. A write (the stopping node syncs it)."""

    def sync(self) -> None:
        """Makes every write so far durable; returns only once they are (raise otherwise).
        Called once per loop turn that wrote (group commit), and when the node stops."""

    def close(self) -> None:
        """Optional: called once after the node's last call (when it stopped, after its last
        sync, or when its start failed after the first load)."""


# The methods a Log must have (close is optional, as in the C table).
REQUIRED = ("load_hard_state", "save_hard_state", "load_commit_index", "save_commit_index", "load_bootstrap_config",
            "save_bootstrap_config", "load_bounds", "read_entries", "append", "truncate", "save_snapshot",
            "install_snapshot", "load_snapshot", "load_broken", "save_broken", "sync")

_ENTRY = struct.Struct("@QQiPN")  # re_log_entry: index, term, kind, data, data_len
_FAILED = -1  # what a callback returns when the Log raised

# A ctypes callback on a thread Python did not start creates a Python thread state for the call
# and destroys it after (with its frame stack: an mmap and a munmap, a TLB flush on every core)
# — per call. A node on a Log is called back several times per loop turn, so the adapter keeps
# one thread state on the loop thread from its first call to its close (a nested
# PyGILState_Ensure, released in close).
_gil_ensure = ctypes.pythonapi.PyGILState_Ensure
_gil_ensure.restype = ctypes.c_int
_gil_ensure.argtypes = []
_gil_release = ctypes.pythonapi.PyGILState_Release
_gil_release.restype = None
_gil_release.argtypes = [ctypes.c_int]


def _as_bytes(what, value) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    raise TypeError(f"{what} must be bytes, not {type(value).__name__}")


def _as_int(what, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, not {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{what} must not be negative, got {value}")
    return value


class _LogAdapter:
    """The C re_log_vtable of a Python Log. Every callback catches everything the Log raises
    (logged to "raftengine", then a non-zero result), and what it hands out through
    out-parameters or put() stays referenced in `_keep` until the library's next call."""

    def __init__(self, log, node_id: str = "?"):
        for name in REQUIRED:
            if not callable(getattr(log, name, None)):
                raise InvalidArgument(f"log must have a callable {name}() (see raftengine.Log)")
        self._log = log
        self._node_id = node_id
        self._keep: list = []
        self._pinned = None  # (thread id, PyGILState) while the loop thread's state is kept
        if _ENTRY.size != ctypes.sizeof(_lib.LogEntry):  # pragma: no cover - not an LP64 ABI
            raise RuntimeError("re_log_entry's layout is not the one this module reads")
        t = _lib.LogVtable()
        t.size = ctypes.sizeof(_lib.LogVtable)
        # The ctypes callbacks live as long as this adapter (the node keeps it): C holds them.
        self._callbacks = {}
        for name, ftype in _lib.LogVtable._fields_[1:]:  # close too: it also ends the pin below
            cb = ftype(getattr(self, "_c_" + name))
            self._callbacks[name] = cb
            setattr(t, name, cb)
        self.table = t

    def _pin(self):
        if self._pinned is None:
            self._pinned = (threading.get_ident(), _gil_ensure())

    def _unpin(self):
        pinned, self._pinned = self._pinned, None
        if pinned is not None and pinned[0] == threading.get_ident():
            _gil_release(pinned[1])

    def _failed(self, method):
        try:
            _log.exception("node %s: storage %s.%s() failed", self._node_id, type(self._log).__name__, method)
        except BaseException:  # logging itself must not unwind into C either
            pass
        return _FAILED

    # -- loads --

    def _c_load_hard_state(self, user, term, voted_for):
        self._keep = []
        self._pin()  # the node's first call, on its loop thread
        try:
            t, v = self._log.load_hard_state()
            term[0] = _as_int("load_hard_state() term", t)
            if v is None or v == "":
                voted_for[0] = None
            else:
                if not isinstance(v, str):
                    raise TypeError(f"load_hard_state() voted_for must be a str or None, not {type(v).__name__}")
                b = v.encode()
                self._keep = [b]
                voted_for[0] = b
            return 0
        except BaseException:
            return self._failed("load_hard_state")

    def _c_load_commit_index(self, user, index):
        self._keep = []
        try:
            index[0] = _as_int("load_commit_index()", self._log.load_commit_index())
            return 0
        except BaseException:
            return self._failed("load_commit_index")

    def _out_bytes(self, what, value, ptr, length):
        """Hands `value` (bytes or None) out through (ptr, length), kept alive until the next call."""
        if value is None:
            ptr[0] = _lib.c_u8_p()
            length[0] = 0
            return
        b = _as_bytes(what, value)
        if not b:
            ptr[0] = _lib.c_u8_p()
            length[0] = 0
            return
        self._keep.append(b)
        ptr[0] = ctypes.cast(b, _lib.c_u8_p)
        length[0] = len(b)

    def _c_load_bootstrap_config(self, user, config, length):
        self._keep = []
        try:
            self._out_bytes("load_bootstrap_config()", self._log.load_bootstrap_config(), config, length)
            return 0
        except BaseException:
            return self._failed("load_bootstrap_config")

    def _c_load_bounds(self, user, prefix_index, prefix_term, last_index):
        self._keep = []
        try:
            p, t, last = self._log.load_bounds()
            prefix_index[0] = _as_int("load_bounds() prefix_index", p)
            prefix_term[0] = _as_int("load_bounds() prefix_term", t)
            last_index[0] = _as_int("load_bounds() last_index", last)
            return 0
        except BaseException:
            return self._failed("load_bounds")

    def _c_read_entries(self, user, first, last, put, ctx):
        keep = self._keep = []
        it = None
        try:
            it = iter(self._log.read_entries(first, last))
            LogEntry, byref = _lib.LogEntry, ctypes.byref
            for index, term, kind, data in it:
                if type(data) is not bytes:
                    data = _as_bytes("read_entries() data", data)
                e = LogEntry(index, term, kind, data or None, len(data))
                keep.append(e)  # with its data: valid until the library's next call into the table
                if put(ctx, byref(e)) != 0:
                    break
            return 0
        except BaseException:
            return self._failed("read_entries")
        finally:
            close = getattr(it, "close", None)
            if close is not None:
                try:
                    close()
                except BaseException:
                    self._failed("read_entries (closing its iterator)")

    def _c_load_snapshot(self, user, meta, meta_len, data, data_len):
        self._keep = []
        try:
            snap = self._log.load_snapshot()
            if snap is None:
                self._out_bytes("", None, meta, meta_len)
                self._out_bytes("", None, data, data_len)
            else:
                m, d = snap
                self._out_bytes("load_snapshot() meta", m, meta, meta_len)
                self._out_bytes("load_snapshot() data", d, data, data_len)
            return 0
        except BaseException:
            return self._failed("load_snapshot")

    def _c_load_broken(self, user, broken):
        self._keep = []
        try:
            broken[0] = 1 if self._log.load_broken() else 0
            return 0
        except BaseException:
            return self._failed("load_broken")

    # -- writes --

    def _c_save_hard_state(self, user, term, voted_for):
        self._keep = []
        try:
            self._log.save_hard_state(term, voted_for.decode("utf-8", "surrogateescape") if voted_for else None)
            return 0
        except BaseException:
            return self._failed("save_hard_state")

    def _c_save_commit_index(self, user, index):
        self._keep = []
        try:
            self._log.save_commit_index(index)
            return 0
        except BaseException:
            return self._failed("save_commit_index")

    def _c_save_bootstrap_config(self, user, config, length):
        self._keep = []
        try:
            self._log.save_bootstrap_config(ctypes.string_at(config, length) if length else b"")
            return 0
        except BaseException:
            return self._failed("save_bootstrap_config")

    def _c_append(self, user, entries, count):
        self._keep = []
        try:
            string_at = ctypes.string_at
            raw = string_at(entries, _ENTRY.size * count)
            self._log.append([(i, t, k, string_at(p, n) if n else b"") for i, t, k, p, n in _ENTRY.iter_unpack(raw)])
            return 0
        except BaseException:
            return self._failed("append")

    def _c_truncate(self, user, from_index):
        self._keep = []
        try:
            self._log.truncate(from_index)
            return 0
        except BaseException:
            return self._failed("truncate")

    def _c_save_snapshot(self, user, meta, meta_len, data, data_len, compact_through, compact_term):
        self._keep = []
        try:
            self._log.save_snapshot(ctypes.string_at(meta, meta_len) if meta_len else b"",
                                    ctypes.string_at(data, data_len) if data_len else b"", compact_through,
                                    compact_term)
            return 0
        except BaseException:
            return self._failed("save_snapshot")

    def _c_install_snapshot(self, user, meta, meta_len, data, data_len, index, term, keep_entries):
        self._keep = []
        try:
            self._log.install_snapshot(ctypes.string_at(meta, meta_len) if meta_len else b"",
                                       ctypes.string_at(data, data_len) if data_len else b"", index, term,
                                       bool(keep_entries))
            return 0
        except BaseException:
            return self._failed("install_snapshot")

    def _c_save_broken(self, user, broken):
        self._keep = []
        try:
            self._log.save_broken(bool(broken))
            return 0
        except BaseException:
            return self._failed("save_broken")

    def _c_sync(self, user):
        self._keep = []
        try:
            self._log.sync()
            return 0
        except BaseException:
            return self._failed("sync")

    def _c_close(self, user):
        self._keep = []
        try:
            close = getattr(self._log, "close", None)  # optional
            if callable(close):
                close()
        except BaseException:
            self._failed("close")
        finally:
            self._unpin()


class SQLiteLog:
    """A durable Log in one SQLite file (the standard library's sqlite3), one file per node.

    Entries live in a table keyed by index; the term, vote, commit index, bootstrap
    configuration, bounds, snapshot and broken mark in a key/value table. Every write goes into
    one working transaction that `sync()` commits (WAL journal, PRAGMA synchronous=FULL), so a
    crash loses only the writes since the last sync, all of them together. A write or sync that
    fails rolls the transaction back (as a crash would) and the log then refuses every call
    until `close()`. The file is locked while open (another SQLiteLog on it raises
    DataDirLocked). `close()` — the node calls it when it stops — rolls back what was not
    synced and closes the file; the next call reopens it, so the same object can serve the node
    restarted after it.

    Speed: appended entries are kept in memory and inserted at the next sync() or other write,
    with multi-row INSERTs (one transaction, a few statements per loop turn); the newest entries
    (up to 4096 or 8 MiB) stay in memory, so the node's reads of what it just appended (to
    replicate and apply it) cost no query. The commit index is kept lazily, as the contract
    allows: save_commit_index alone starts no transaction; the latest value is written with the
    next other write, and at close() when everything else is synced.
    """

    _FORMAT = 1
    _READ_CHUNK = 512
    _TAIL_ENTRIES = 4096
    _TAIL_BYTES = 8 << 20
    _PUT = "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)"
    # Multi-row INSERTs of power-of-two sizes (each statement prepared once): one step each,
    # where executemany steps (and releases and retakes the GIL) once per row.
    _INSERT_MAX = 256
    _INSERTS = {n: "INSERT INTO entries (idx, term, kind, data) VALUES " + ",".join(["(?,?,?,?)"] * n)
                for n in (1 << k for k in range(9))}

    def __init__(self, path: str):
        if not isinstance(path, str) or not path:
            raise InvalidArgument(f"path must be a non-empty string, got {path!r}")
        self.path = path
        self._lock = threading.Lock()
        self._conn: Optional[sqlite3.Connection] = None
        self._failure: Optional[BaseException] = None
        with self._lock:
            self._open()

    def __repr__(self):
        return f"SQLiteLog({self.path!r})"

    # -- the file --

    def _open(self):
        try:
            conn = sqlite3.connect(self.path, timeout=0.5, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as e:
            raise StorageError(f"SQLiteLog {self.path}: cannot open: {e}") from e
        try:
            conn.execute("PRAGMA locking_mode=EXCLUSIVE")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA wal_autocheckpoint=256")  # a small WAL, reused (not grown) sooner
            conn.execute("BEGIN IMMEDIATE")  # takes the file's lock, held until close
            conn.execute("CREATE TABLE IF NOT EXISTS entries (idx INTEGER PRIMARY KEY, term INTEGER NOT NULL, "
                         "kind INTEGER NOT NULL, data BLOB NOT NULL)")
            conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID")
            conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('format', ?)", (self._FORMAT,))
            conn.execute("COMMIT")
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
            if meta["format"] != self._FORMAT:
                raise StorageError(f"SQLiteLog {self.path}: format {meta['format']!r}, this version reads {self._FORMAT}")
            top = conn.execute("SELECT max(idx) FROM entries").fetchone()[0]
        except sqlite3.OperationalError as e:
            conn.close()
            if "locked" in str(e):
                raise DataDirLocked(f"SQLiteLog {self.path} is in use (another SQLiteLog has it open)") from e
            raise StorageError(f"SQLiteLog {self.path}: {e}") from e
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        self._failure = None
        # The live state, as every write leaves it (the database holds it once flushed).
        self._prefix = (meta.get("prefix_index", 0), meta.get("prefix_term", 0))
        self._last = top if top is not None else self._prefix[0]
        self._commit = self._commit_written = meta.get("commit", 0)
        self._pending: List[Entry] = []  # appended, not yet inserted
        self._tail_reset()

    def _ready(self) -> sqlite3.Connection:
        if self._failure is not None:
            raise StorageError(f"SQLiteLog {self.path}: an earlier write failed ({self._failure!r}); the writes "
                               "since the last sync were rolled back; close() it and start again")
        if self._conn is None:
            self._open()
        return self._conn

    def _meta(self, *keys):
        q = "SELECT key, value FROM meta WHERE key IN (%s)" % ",".join("?" * len(keys))
        return dict(self._conn.execute(q, keys).fetchall())

    def _flush(self, conn):
        """Inserts the pending entries into the working transaction."""
        if not conn.in_transaction:
            conn.execute("BEGIN")
        pending, self._pending = self._pending, []
        i, n = 0, len(pending)
        while i < n:
            k = self._INSERT_MAX
            while k > n - i:
                k >>= 1
            conn.execute(self._INSERTS[k], [x for e in pending[i:i + k] for x in e])
            i += k

    def _write(self, fn, *args):
        """Runs one write inside the working transaction; a failure rolls it back and fails the log."""
        with self._lock:
            conn = self._ready()
            try:
                self._flush(conn)
                fn(conn, *args)
            except BaseException as e:
                self._fail(e)
                raise

    def _fail(self, e):
        self._failure = e
        self._pending = []
        try:
            if self._conn is not None and self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass

    def close(self) -> None:
        """Rolls back the writes not synced (as a crash would lose them) and closes the file;
        the next call reopens it."""
        with self._lock:
            conn, self._conn, failed, self._failure = self._conn, None, self._failure, None
            if conn is None:
                return
            try:
                if conn.in_transaction or self._pending:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                elif failed is None and self._commit > self._commit_written:
                    # Everything else is durable: the lazy commit index may follow it.
                    conn.execute("BEGIN")
                    conn.execute(self._PUT, ("commit", self._commit))
                    conn.execute("COMMIT")
            finally:
                self._pending = []
                conn.close()

    # -- the tail: the newest entries in memory, always exactly _tail_first ... _last --

    def _tail_reset(self):
        self._tail: List[Entry] = []
        self._tail_first = self._last + 1
        self._tail_bytes = 0

    def _tail_append(self, entries):
        t = self._tail
        t.extend(entries)
        self._tail_bytes += sum(len(e[3]) for e in entries)
        if len(t) > 2 * self._TAIL_ENTRIES or self._tail_bytes > self._TAIL_BYTES:
            k = max(0, len(t) - self._TAIL_ENTRIES)
            left = self._tail_bytes - sum(len(e[3]) for e in t[:k])
            while k < len(t) and left > self._TAIL_BYTES // 2:
                left -= len(t[k][3])
                k += 1
            del t[:k]
            self._tail_first += k
            self._tail_bytes = left

    def _tail_cut_from(self, index):
        """Drops the entries at or above `index` (a truncate)."""
        n = index - self._tail_first
        if n <= 0:
            self._tail_reset()
            return
        self._tail_bytes -= sum(len(e[3]) for e in self._tail[n:])
        del self._tail[n:]

    def _tail_drop_through(self, index):
        """Drops the entries at or below `index` (a compaction)."""
        k = min(len(self._tail), index - self._tail_first + 1)
        if k > 0:
            self._tail_bytes -= sum(len(e[3]) for e in self._tail[:k])
            del self._tail[:k]
            self._tail_first += k
        if not self._tail:
            self._tail_first = self._last + 1

    # -- loads --

    def load_hard_state(self) -> Tuple[int, Optional[str]]:
        """(term, voted_for or None)."""
        with self._lock:
            self._ready()
            m = self._meta("term", "vote")
            return m.get("term", 0), m.get("vote")

    def load_commit_index(self) -> int:
        """The commit index saved."""
        with self._lock:
            self._ready()
            return self._commit

    def load_bootstrap_config(self) -> Optional[bytes]:
        """The bootstrap configuration, or None."""
        with self._lock:
            self._ready()
            return self._meta("bootstrap").get("bootstrap")

    def load_bounds(self) -> Tuple[int, int, int]:
        """(prefix_index, prefix_term, last_index)."""
        with self._lock:
            self._ready()
            return self._prefix[0], self._prefix[1], self._last

    def read_entries(self, first: int, last: int) -> Iterable[Entry]:
        """The entries first..last: from memory when recent, else fetched lazily in chunks."""
        with self._lock:
            self._ready()
            if first <= self._prefix[0] or last > self._last:
                raise ValueError(f"SQLiteLog {self.path}: entries {first} to {last} asked for, the log holds "
                                 f"{self._prefix[0] + 1} to {self._last}")
            tf = self._tail_first
            if first >= tf:
                return iter(self._tail[first - tf:last - tf + 1])
        return self._read(first, last)

    def _read(self, nxt, last):
        while nxt <= last:
            with self._lock:
                conn = self._ready()
                if self._pending:
                    try:
                        self._flush(conn)
                    except BaseException as e:
                        self._fail(e)
                        raise
                rows = conn.execute(
                    "SELECT idx, term, kind, data FROM entries WHERE idx >= ? AND idx <= ? ORDER BY idx LIMIT ?",
                    (nxt, last, self._READ_CHUNK)).fetchall()
            if not rows:
                return
            yield from rows
            nxt = rows[-1][0] + 1

    def load_snapshot(self) -> Optional[Tuple[bytes, bytes]]:
        """(meta, data), or None."""
        with self._lock:
            self._ready()
            m = self._meta("snapshot_meta", "snapshot_data")
            if m.get("snapshot_meta") is None:
                return None
            return m["snapshot_meta"], m.get("snapshot_data") or b""

    def load_broken(self) -> bool:
        """The broken mark."""
        with self._lock:
            self._ready()
            return bool(self._meta("broken").get("broken", 0))

    # -- writes (all inside the working transaction) --

    def save_hard_state(self, term: int, voted_for: Optional[str]) -> None:
        """Stores the term and vote."""
        self._write(lambda c: c.executemany(self._PUT, (("term", term), ("vote", voted_for))))

    def save_commit_index(self, index: int) -> None:
        """Notes the commit index, written lazily (with the next other write)."""
        with self._lock:
            self._ready()
            self._commit = max(self._commit, index)

    def save_bootstrap_config(self, config: bytes) -> None:
        """Stores the bootstrap configuration."""
        self._write(lambda c: c.execute(self._PUT, ("bootstrap", bytes(config))))

    def append(self, entries: Sequence[Entry]) -> None:
        """Appends entries that run on from the last index (inserted at the next sync or
        other write)."""
        # Kept as given, in memory: tuples of bytes, so nothing can change them later.
        entries = [e if type(e) is tuple and type(e[3]) is bytes else (int(e[0]), int(e[1]), int(e[2]), bytes(e[3]))
                   for e in entries]
        if not entries:
            return
        with self._lock:
            self._ready()
            first, end = entries[0][0], entries[-1][0]
            if first != self._last + 1 or end != first + len(entries) - 1:
                e = ValueError(f"SQLiteLog {self.path}: append of {first} to {end} ({len(entries)} entries), "
                               f"the log ends at {self._last}")
                self._fail(e)
                raise e
            self._pending.extend(entries)
            self._last = end
            self._tail_append(entries)

    def truncate(self, from_index: int) -> None:
        """Removes the entries at or above from_index."""
        def go(c):
            if from_index <= self._prefix[0]:
                raise ValueError(f"SQLiteLog {self.path}: truncate at {from_index}, compacted through {self._prefix[0]}")
            c.execute("DELETE FROM entries WHERE idx >= ?", (from_index,))
            if from_index <= self._last:
                self._last = from_index - 1
                self._tail_cut_from(from_index)
        self._write(go)

    def _store_snapshot(self, c, meta, data):
        c.executemany(self._PUT, (("snapshot_meta", bytes(meta)), ("snapshot_data", bytes(data))))

    def save_snapshot(self, meta: bytes, data: bytes, compact_through: int, compact_term: int) -> None:
        """Stores a snapshot and compacts through compact_through."""
        def go(c):
            self._store_snapshot(c, meta, data)
            if compact_through > self._prefix[0]:
                c.execute("DELETE FROM entries WHERE idx <= ?", (compact_through,))
                c.executemany(self._PUT, (("prefix_index", compact_through), ("prefix_term", compact_term)))
                self._prefix = (compact_through, compact_term)
                self._last = max(self._last, compact_through)
                self._tail_drop_through(compact_through)
        self._write(go)

    def install_snapshot(self, meta: bytes, data: bytes, index: int, term: int, keep_entries: bool) -> None:
        """Stores a received snapshot and makes (index, term) the prefix."""
        def go(c):
            self._store_snapshot(c, meta, data)
            if keep_entries and index <= self._last:
                c.execute("DELETE FROM entries WHERE idx <= ?", (index,))
                self._tail_drop_through(index)
            else:
                c.execute("DELETE FROM entries")
                self._last = index
                self._tail_reset()
            c.executemany(self._PUT, (("prefix_index", index), ("prefix_term", term)))
            self._prefix = (index, term)
        self._write(go)

    def save_broken(self, broken: bool) -> None:
        """Sets or clears the broken mark."""
        self._write(lambda c: c.execute(self._PUT, ("broken", 1 if broken else 0)))

    def sync(self) -> None:
        """Commits the working transaction (durable: synchronous=FULL)."""
        with self._lock:
            conn = self._ready()
            try:
                if self._pending:
                    self._flush(conn)
                if conn.in_transaction:
                    if self._commit > self._commit_written:
                        conn.execute(self._PUT, ("commit", self._commit))
                    conn.execute("COMMIT")
                    self._commit_written = self._commit
            except BaseException as e:
                self._fail(e)
                raise
