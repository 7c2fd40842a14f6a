"""Typed exceptions for every RaftEngine status code. The classes come from the C header's
status table (generated into _status.py); this module adds the ones that are not C codes."""

from ._errors_base import LeaderHint, RaftError
from ._status import *  # noqa: F401,F403 - one class per status code
from ._status import BY_STATUS, STATUS_CODES


class LibraryNotFound(RaftError, ImportError):
    """libraftengine.so could not be loaded from any of the places searched."""


def error_for(status, message="", leader_id=None, leader_address=None):
    """The exception instance for a non-zero status code."""
    cls = BY_STATUS.get(status)
    if cls is None:
        return RaftError(message or f"status {status}", status=status)
    if issubclass(cls, LeaderHint):
        return cls(message, leader_id=leader_id, leader_address=leader_address)
    return cls(message)


__all__ = ["RaftError", "LeaderHint", "LibraryNotFound", "error_for", "STATUS_CODES"] + [c.__name__ for c in BY_STATUS.values()]
