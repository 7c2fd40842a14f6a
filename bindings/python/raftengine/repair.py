"""Repairs of a stopped node's data directory, for an operator (the C ABI's re_data_dir_*)."""

from . import _args
from ._calls import _check, lib


def is_broken(data_dir: str) -> bool:
    """True when the log in `data_dir` is marked broken (a halted apply; the node refuses to
    start with LogBroken). Raises DataDirLocked while a node runs on it, StorageError when the
    directory holds no node data."""
    _args.text("data_dir", data_dir)
    status = lib().re_data_dir_is_broken(data_dir.encode())
    if status < 0:
        _check(status, "is_broken")
    return status == 1


def clear_broken(data_dir: str) -> None:
    """Clears the broken mark, once the state machine is fixed: the next start replays the
    snapshot and the log into it."""
    _args.text("data_dir", data_dir)
    _check(lib().re_data_dir_clear_broken(data_dir.encode()), "clear_broken")


def force_sole_voter(data_dir: str, id: str) -> None:
    """Quorum loss: makes node `id` the only voter of the membership stored in `data_dir`.
    Started again, it elects itself and commits its whole log; add the others back as new,
    empty nodes that join. Unsafe by nature, for a majority lost for good: entries the lost
    majority committed but this log lacks are gone, and the removed members must never run
    again on their old data. Raises UnknownNode when `id` is not in that membership."""
    _args.text("data_dir", data_dir)
    _args.text("id", id)
    _check(lib().re_data_dir_force_sole_voter(data_dir.encode(), id.encode()), "force_sole_voter")
