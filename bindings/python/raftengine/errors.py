"""Typed exceptions for every RaftEngine status code."""


class RaftError(Exception):
    """Base class of every error the bindings raise. `status` is the C status code."""

    status = None

    def __init__(self, message="", status=None):
        super().__init__(message)
        if status is not None:
            self.status = status


class LibraryNotFound(RaftError, ImportError):
    """libraftengine.so could not be loaded from any of the places searched."""


class InvalidArgument(RaftError, ValueError):
    status = -1


class AddressError(RaftError, ValueError):
    status = -3


class DuplicateId(RaftError, ValueError):
    status = -4


class DataDirLocked(RaftError):
    status = -5


class StorageError(RaftError, OSError):
    status = -6


class CorruptLog(RaftError):
    status = -7


class LogBroken(RaftError):
    status = -8


class CommandTooLarge(RaftError, ValueError):
    status = -9


class NodeStopped(RaftError):
    status = -10


class NotLeader(RaftError):
    """The node is not the leader. `leader_id` / `leader_address` name the leader if known."""

    status = -11

    def __init__(self, message="", leader_id=None, leader_address=None):
        super().__init__(message)
        self.leader_id = leader_id or None
        self.leader_address = leader_address or None


class RetryLater(RaftError):
    """No leader can take commands now (election or leadership transfer)."""

    status = -12


class CommandTimeout(RaftError, TimeoutError):
    """Not done in time; a command may still commit later."""

    status = -13


class ApplyError(RaftError):
    status = -14


class ChangeInProgress(RaftError):
    status = -15


class UnknownNode(RaftError, KeyError):
    status = -16


class WrongState(RaftError):
    status = -17


class Rejected(RaftError):
    status = -18


_BY_STATUS = {cls.status: cls for cls in (
    InvalidArgument, AddressError, DuplicateId, DataDirLocked, StorageError, CorruptLog, LogBroken,
    CommandTooLarge, NodeStopped, NotLeader, RetryLater, CommandTimeout, ApplyError, ChangeInProgress,
    UnknownNode, WrongState, Rejected)}


def error_for(status, message="", leader_id=None, leader_address=None):
    """The exception instance for a non-zero status code."""
    if status == -11:
        return NotLeader(message, leader_id=leader_id, leader_address=leader_address)
    if status == -2:
        return MemoryError(message)
    cls = _BY_STATUS.get(status, RaftError)
    err = cls(message)
    if err.status is None:
        err.status = status
    return err
