"""Loads libraftengine and declares the C functions of include/raftengine.h for ctypes."""

import ctypes
import ctypes.util
import os

from .errors import LibraryNotFound

ENV_VAR = "RAFTENGINE_LIBRARY"
LIB_NAME = "libraftengine.so"

c_u8_p = ctypes.POINTER(ctypes.c_uint8)

APPLY_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_uint64, c_u8_p, ctypes.c_size_t,
                            ctypes.POINTER(c_u8_p), ctypes.POINTER(ctypes.c_size_t))
SNAPSHOT_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(c_u8_p), ctypes.POINTER(ctypes.c_size_t))
RESTORE_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, c_u8_p, ctypes.c_size_t)


class Event(ctypes.Structure):
    _fields_ = [("kind", ctypes.c_int), ("value", ctypes.c_char_p), ("node", ctypes.c_char_p),
                ("detail", ctypes.c_char_p), ("number", ctypes.c_uint64)]


class Result(ctypes.Structure):
    _fields_ = [("status", ctypes.c_int), ("result", c_u8_p), ("result_len", ctypes.c_size_t),
                ("leader_id", ctypes.c_char_p), ("leader_address", ctypes.c_char_p),
                ("message", ctypes.c_char_p)]


class Command(ctypes.Structure):
    _fields_ = [("index", ctypes.c_uint64), ("data", c_u8_p), ("len", ctypes.c_size_t)]


class ApplyResult(ctypes.Structure):
    _fields_ = [("status", ctypes.c_int), ("result", ctypes.c_void_p), ("result_len", ctypes.c_size_t)]


class BatchResult(ctypes.Structure):
    _fields_ = [("tag", ctypes.c_uint64), ("status", ctypes.c_int), ("result", c_u8_p), ("result_len", ctypes.c_size_t),
                ("leader_id", ctypes.c_char_p), ("leader_address", ctypes.c_char_p), ("message", ctypes.c_char_p)]


# The simulator's machine table (re_sim_machine): the state machine callbacks plus a factory.
SIM_CREATE_FN = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int)
SIM_DESTROY_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p)
SIM_UNTIL_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p)


class SimMachine(ctypes.Structure):
    _fields_ = [("apply", APPLY_FN), ("snapshot", SNAPSHOT_FN), ("restore", RESTORE_FN),
                ("create", SIM_CREATE_FN), ("destroy", SIM_DESTROY_FN)]


# The batch callbacks take raw addresses: their arrays are read and written whole (struct,
# memmove) rather than through one ctypes proxy per element.
APPLY_BATCH_FN = ctypes.CFUNCTYPE(ctypes.c_size_t, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int,
                                  ctypes.c_void_p)
BATCH_DONE_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t)
HOST_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
EVENT_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.POINTER(Event))


# Host-provided storage (re_log_vtable, re_log_entry, re_log_put_fn).
class LogEntry(ctypes.Structure):
    # data is const uint8_t * in C; c_char_p here so a bytes object can be pointed at (and kept
    # by the struct) without a copy. Entries the library passes in are read with struct instead.
    _fields_ = [("index", ctypes.c_uint64), ("term", ctypes.c_uint64), ("kind", ctypes.c_int),
                ("data", ctypes.c_char_p), ("data_len", ctypes.c_size_t)]


_u64_p, _sz_p = ctypes.POINTER(ctypes.c_uint64), ctypes.POINTER(ctypes.c_size_t)
_LOG_RC = ctypes.c_int
# The library's put: called from Python with the GIL held (PYFUNCTYPE) — it only copies the
# entry, and releasing and retaking the GIL once per entry cost more than the copy.
LOG_PUT_FN = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(LogEntry))


class LogVtable(ctypes.Structure):
    _fields_ = [
        ("size", ctypes.c_size_t),
        ("load_hard_state", ctypes.CFUNCTYPE(_LOG_RC, ctypes.c_void_p, _u64_p, ctypes.POINTER(ctypes.c_char_p))),
        ("save_hard_state", ctypes.CFUNCTYPE(_LOG_RC, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_char_p)),
        ("load_commit_index", ctypes.CFUNCTYPE(_LOG_RC, ctypes.c_void_p, _u64_p)),
        ("save_commit_index", ctypes.CFUNCTYPE(_LOG_RC, ctypes.c_void_p, ctypes.c_uint64)),
        ("load_bootstrap_config", ctypes.CFUNCTYPE(_LOG_RC, ctypes.c_void_p, ctypes.POINTER(c_u8_p), _sz_p)),
        ("save_bootstrap_config", ctypes.CFUNCTYPE(_LOG_RC, ctypes.c_void_p, c_u8_p, ctypes.c_size_t)),
        ("load_bounds", ctypes.CFUNCTYPE(_LOG_RC, ctypes.c_void_p, _u64_p, _u64_p, _u64_p)),
        ("read_entries", ctypes.CFUNCTYPE(_LOG_RC, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint64, LOG_PUT_FN,
                                          ctypes.c_void_p)),
        ("append", ctypes.CFUNCTYPE(_LOG_RC, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t)),
        ("truncate", ctypes.CFUNCTYPE(_LOG_RC, ctypes.c_void_p, ctypes.c_uint64)),
        ("save_snapshot", ctypes.CFUNCTYPE(_LOG_RC, ctypes.c_void_p, c_u8_p, ctypes.c_size_t, c_u8_p, ctypes.c_size_t,
                                           ctypes.c_uint64, ctypes.c_uint64)),
        ("install_snapshot", ctypes.CFUNCTYPE(_LOG_RC, ctypes.c_void_p, c_u8_p, ctypes.c_size_t, c_u8_p,
                                              ctypes.c_size_t, ctypes.c_uint64, ctypes.c_uint64, ctypes.c_int)),
        ("load_snapshot", ctypes.CFUNCTYPE(_LOG_RC, ctypes.c_void_p, ctypes.POINTER(c_u8_p), _sz_p,
                                           ctypes.POINTER(c_u8_p), _sz_p)),
        ("load_broken", ctypes.CFUNCTYPE(_LOG_RC, ctypes.c_void_p, ctypes.POINTER(ctypes.c_int))),
        ("save_broken", ctypes.CFUNCTYPE(_LOG_RC, ctypes.c_void_p, ctypes.c_int)),
        ("sync", ctypes.CFUNCTYPE(_LOG_RC, ctypes.c_void_p)),
        ("close", ctypes.CFUNCTYPE(None, ctypes.c_void_p)),
    ]


DONE_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.POINTER(Result))


def _candidates():
    """Where the library is looked for, in order."""
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), LIB_NAME)
    found = []
    found.append(("next to the package", here))
    env = os.environ.get(ENV_VAR)
    found.append(("$" + ENV_VAR, env))
    found.append(("the system library path", ctypes.util.find_library("raftengine") or LIB_NAME))
    return found


def load():
    tried = []
    for where, path in _candidates():
        if not path:
            tried.append(f"{where}: not set")
            continue
        if where != "the system library path" and not os.path.exists(path):
            tried.append(f"{where}: {path} does not exist")
            continue
        try:
            return _declare(ctypes.CDLL(path))
        except OSError as e:
            tried.append(f"{where}: {path}: {e}")
    raise LibraryNotFound("libraftengine.so not found. Looked " + "; ".join(tried) +
                          f". Build it with `make` and set {ENV_VAR}, install it with `make install`, "
                          "or copy it next to the raftengine package.")


def _fn(lib, name, restype, *argtypes):
    f = getattr(lib, name)
    f.restype = restype
    f.argtypes = list(argtypes)
    return f


def _declare(lib):
    i, p, cp, u32, u64, sz = ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_uint32, ctypes.c_uint64, ctypes.c_size_t
    pp = ctypes.POINTER(ctypes.c_void_p)
    _fn(lib, "re_strerror", cp, i)
    _fn(lib, "re_errmsg", cp)
    _fn(lib, "re_version", cp)
    _fn(lib, "re_data_dir_clear_broken", i, cp)
    _fn(lib, "re_data_dir_is_broken", i, cp)
    _fn(lib, "re_data_dir_force_sole_voter", i, cp, cp)
    _fn(lib, "re_config_new", i, pp)
    _fn(lib, "re_config_free", None, p)
    for name in ("re_config_set_id", "re_config_set_data_dir", "re_config_set_listen_address", "re_config_set_cluster_id"):
        _fn(lib, name, i, p, cp)
    _fn(lib, "re_config_add_peer", i, p, cp, cp)
    _fn(lib, "re_config_set_heartbeat_ms", i, p, u32)
    _fn(lib, "re_config_set_election_timeout_ms", i, p, u32, u32)
    for name in ("re_config_set_pre_vote", "re_config_set_check_quorum", "re_config_set_apply_policy"):
        _fn(lib, name, i, p, i)
    _fn(lib, "re_config_set_join", i, p, cp)
    _fn(lib, "re_config_set_cluster_secret", i, p, c_u8_p, sz)
    _fn(lib, "re_config_accept_cluster_secret", i, p, c_u8_p, sz)
    _fn(lib, "re_node_counter", i, p, cp, ctypes.POINTER(ctypes.c_uint64))
    _fn(lib, "re_config_errmsg", cp, p)
    _fn(lib, "re_config_set_max_entries_per_message", i, p, u32)
    _fn(lib, "re_config_set_max_inflight", i, p, u32)
    _fn(lib, "re_config_set_max_inflight_bytes", i, p, u64)
    _fn(lib, "re_config_set_max_command_size", i, p, sz)
    _fn(lib, "re_config_set_max_frame_size", i, p, sz)
    _fn(lib, "re_config_set_command_timeout_ms", i, p, u32)
    _fn(lib, "re_config_set_snapshot_threshold", i, p, u64)
    _fn(lib, "re_config_set_snapshot_trailing", i, p, u64)
    _fn(lib, "re_config_set_state_machine", i, p, APPLY_FN, SNAPSHOT_FN, RESTORE_FN, p)
    _fn(lib, "re_config_set_event_callback", i, p, EVENT_FN, p)
    _fn(lib, "re_config_set_apply_batch", i, p, APPLY_BATCH_FN)
    _fn(lib, "re_config_set_storage", i, p, ctypes.POINTER(LogVtable), p)
    _fn(lib, "re_node_submit_batch", i, p, ctypes.c_char_p, ctypes.POINTER(sz), sz, u64, BATCH_DONE_FN, p)
    _fn(lib, "re_host_new", i, pp)
    _fn(lib, "re_host_free", None, p)
    _fn(lib, "re_host_run", i, p, HOST_FN, p)
    _fn(lib, "re_node_submit_sync", i, p, ctypes.c_char_p, sz, u32, pp, ctypes.POINTER(sz), ctypes.c_char_p,
        ctypes.c_char_p, sz)
    _fn(lib, "re_node_start", i, p, p, pp)
    _fn(lib, "re_node_stop", i, p)
    _fn(lib, "re_node_free", None, p)
    _fn(lib, "re_node_listen_port", i, p, ctypes.POINTER(ctypes.c_uint16))
    _fn(lib, "re_node_submit", i, p, c_u8_p, sz, DONE_FN, p)
    _fn(lib, "re_node_get_status", i, p, pp)
    _fn(lib, "re_status_free", None, p)
    _fn(lib, "re_status_role", i, p)
    for name in ("re_status_term", "re_status_commit_index", "re_status_applied_index", "re_status_last_index",
                 "re_status_first_index"):
        _fn(lib, name, u64, p)
    for name in ("re_status_leader_id", "re_status_leader_address", "re_status_stop_reason", "re_status_stop_detail"):
        _fn(lib, name, cp, p)
    _fn(lib, "re_status_member_count", sz, p)
    _fn(lib, "re_status_voter_count", sz, p)
    _fn(lib, "re_status_member_id", cp, p, sz)
    _fn(lib, "re_status_member_address", cp, p, sz)
    _fn(lib, "re_status_member_is_voter", i, p, sz)
    _fn(lib, "re_status_member_progress", i, p, sz, ctypes.POINTER(u64), ctypes.POINTER(ctypes.c_int64))
    _fn(lib, "re_node_add_server", i, p, cp, cp, i, DONE_FN, p)
    _fn(lib, "re_node_remove_server", i, p, cp, DONE_FN, p)
    _fn(lib, "re_node_join", i, p, cp, cp, i, DONE_FN, p)
    _fn(lib, "re_node_read", i, p, DONE_FN, p)
    _fn(lib, "re_node_exit", i, p, DONE_FN, p)
    _fn(lib, "re_node_transfer_leadership", i, p, cp, DONE_FN, p)
    _fn(lib, "re_node_take_snapshot", i, p, DONE_FN, p)
    _fn(lib, "re_node_update_settings", i, p, u32, u32, u32, u32, DONE_FN, p)
    _declare_sim(lib)
    _declare_sim_cluster(lib)
    return lib


def _declare_sim(lib):
    """The deterministic simulator (re_sim_*)."""
    i, p, cp, u64, sz = ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_uint64, ctypes.c_size_t
    pp = ctypes.POINTER(ctypes.c_void_p)
    sz_p, u64_p, i_p = ctypes.POINTER(sz), ctypes.POINTER(u64), ctypes.POINTER(i)
    _fn(lib, "re_sim_new", i, i, u64, i, ctypes.POINTER(SimMachine), p, pp)
    _fn(lib, "re_sim_free", None, p)
    _fn(lib, "re_sim_node_count", i, p)
    _fn(lib, "re_sim_propose", i, p, i, ctypes.c_char_p, sz, u64_p)
    _fn(lib, "re_sim_outcome", i, p, u64, i_p, ctypes.POINTER(c_u8_p), sz_p)
    _fn(lib, "re_sim_transmit", i, p)
    _fn(lib, "re_sim_deliver", i, p, i, sz)
    _fn(lib, "re_sim_deliver_all", i, p, sz, sz_p)
    _fn(lib, "re_sim_deliver_until", i, p, SIM_UNTIL_FN, p, sz)
    _fn(lib, "re_sim_inbox_count", sz, p, i)
    _fn(lib, "re_sim_drop", i, p, i, sz)
    _fn(lib, "re_sim_duplicate", i, p, i, sz)
    _fn(lib, "re_sim_hold", i, p, i, i, i)
    _fn(lib, "re_sim_held_count", sz, p)
    _fn(lib, "re_sim_release_held", i, p, i, i, sz, sz_p)
    _fn(lib, "re_sim_drop_held", i, p, i, i)
    _fn(lib, "re_sim_partition", i, p, i_p, sz)
    _fn(lib, "re_sim_heal", i, p)
    _fn(lib, "re_sim_transmit", i, p, i)
    for name in ("re_sim_cut", "re_sim_uncut"):
        _fn(lib, name, i, p, i, i)
    for name in ("re_sim_crash", "re_sim_restart", "re_sim_campaign", "re_sim_elect", "re_sim_heartbeat", "re_sim_role",
                 "re_sim_leader_of"):
        _fn(lib, name, i, p, i)
    for name in ("re_sim_advance", "re_sim_run"):
        _fn(lib, name, i, p, u64)
    _fn(lib, "re_sim_advance_node", i, p, i, u64)
    _fn(lib, "re_sim_enable_timers", i, p, i)
    for name in ("re_sim_term", "re_sim_commit_index", "re_sim_applied_index", "re_sim_last_index"):
        _fn(lib, name, u64, p, i)
    _fn(lib, "re_sim_leader", i, p)
    _fn(lib, "re_sim_section", i, p, cp)
    _fn(lib, "re_sim_section_count", sz, p)
    _fn(lib, "re_sim_trace", i, p, i, sz, pp)
    _fn(lib, "re_sim_write_trace", i, p, i, sz, cp)
    _fn(lib, "re_sim_fault_sweep", i, u64, u64, i_p, sz, ctypes.POINTER(SimMachine), p, i, u64_p, u64_p, pp)


# The simulator's links, nodes and cluster operations (re_sim_progress, re_sim_apply_record).
class SimProgress(ctypes.Structure):
    _fields_ = [("node", ctypes.c_int), ("state", ctypes.c_int), ("match", ctypes.c_uint64),
                ("next", ctypes.c_uint64), ("snapshot_index", ctypes.c_uint64), ("inflight", ctypes.c_size_t)]


class SimApplyRecord(ctypes.Structure):
    _fields_ = [("lifetime", ctypes.c_int), ("kind", ctypes.c_int), ("index", ctypes.c_uint64),
                ("command", c_u8_p), ("command_len", ctypes.c_size_t)]


def _declare_sim_cluster(lib):
    """The simulator's links, nodes and cluster operations (its own section of the header)."""
    i, p, u32, u64, sz = ctypes.c_int, ctypes.c_void_p, ctypes.c_uint32, ctypes.c_uint64, ctypes.c_size_t
    pp = ctypes.POINTER(ctypes.c_void_p)
    sz_p, u64_p, i_p = ctypes.POINTER(sz), ctypes.POINTER(u64), ctypes.POINTER(i)
    _fn(lib, "re_sim_options_new", i, i, u64, i, pp)
    _fn(lib, "re_sim_options_free", None, p)
    _fn(lib, "re_sim_options_set_election_timeout", i, p, i, u32, u32)
    _fn(lib, "re_sim_options_set_lose_unsynced_writes", i, p, i)
    _fn(lib, "re_sim_new_with_options", i, p, ctypes.POINTER(SimMachine), p, pp)
    _fn(lib, "re_sim_restart_with_election_timeout", i, p, i, u32, u32)
    _fn(lib, "re_sim_set_syncs_deferred", i, p, i, i)
    _fn(lib, "re_sim_finish_sync", i, p, i)
    _fn(lib, "re_sim_set_sync_placement", i, p, i, i)
    _fn(lib, "re_sim_run_sync_job", i, p, i, i_p)
    _fn(lib, "re_sim_complete_sync_job", i, p, i, i_p)
    _fn(lib, "re_sim_sync_jobs", i, p, i, sz_p, sz_p)
    _fn(lib, "re_sim_set_link_fault", i, p, i, i, ctypes.c_double, u64)
    _fn(lib, "re_sim_clear_link_faults", i, p)
    _fn(lib, "re_sim_in_flight_count", sz, p)
    _fn(lib, "re_sim_lost_count", sz, p)
    _fn(lib, "re_sim_deliver_between", i, p, i, i, sz, sz_p)
    _fn(lib, "re_sim_deliver_count", i, p, sz, sz_p)
    _fn(lib, "re_sim_release_held_in_order", i, p, i, i, sz, i, sz_p)
    _fn(lib, "re_sim_add_node", i, p, i_p)
    _fn(lib, "re_sim_join", i, p, i, i, i, u64_p)
    _fn(lib, "re_sim_add_server", i, p, i, i, i, u64_p)
    _fn(lib, "re_sim_remove_server", i, p, i, i, u64_p)
    _fn(lib, "re_sim_exit_cluster", i, p, i, u64_p)
    _fn(lib, "re_sim_transfer_leadership", i, p, i, i, u64_p)
    _fn(lib, "re_sim_take_snapshot", i, p, i, u64, u64_p)
    _fn(lib, "re_sim_membership", i, p, i, i)
    _fn(lib, "re_sim_follower_progress", i, p, i, ctypes.POINTER(SimProgress), sz, sz_p)
    _fn(lib, "re_sim_apply_history", i, p, i, ctypes.POINTER(ctypes.POINTER(SimApplyRecord)), sz_p)
    _fn(lib, "re_sim_reapplied_indexes", i, p, i, i, ctypes.POINTER(u64_p), sz_p)
    _fn(lib, "re_sim_lifetime", i, p, i)


_libc = ctypes.CDLL(None)
malloc = _libc.malloc
malloc.restype = ctypes.c_void_p
malloc.argtypes = [ctypes.c_size_t]
free = _libc.free
free.restype = None
free.argtypes = [ctypes.c_void_p]


def malloc_copy(data):
    """A malloc()ed copy of `data` (the library frees it), as the C ABI requires for results."""
    n = len(data)
    if n == 0:
        return None, 0
    buf = malloc(n)
    if not buf:
        raise MemoryError("malloc failed")
    ctypes.memmove(buf, data, n)
    return ctypes.cast(buf, c_u8_p), n
