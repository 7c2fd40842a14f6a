"""RaftEngine for Python: embed Raft cluster nodes through libraftengine's C ABI (ctypes)."""

from .errors import (AddressError, AlreadyMember, ApplyError, ChangeInProgress, CommandTimeout, CommandTooLarge,
                     CorruptLog, DataDirLocked, DuplicateId, InvalidArgument, LibraryNotFound, LogBroken,
                     NodeStopped, NotLeader, OutcomeUnknown, OutOfMemory, RaftError, Rejected, RetryLater,
                     StorageError, UnknownNode, WrongState)
from .node import Event, Host, Node, Status, version

__all__ = [
    "Node", "Host", "Status", "Event", "version",
    "RaftError", "LibraryNotFound", "InvalidArgument", "AddressError", "DuplicateId", "DataDirLocked",
    "StorageError", "CorruptLog", "LogBroken", "CommandTooLarge", "NodeStopped", "NotLeader", "RetryLater",
    "CommandTimeout", "ApplyError", "ChangeInProgress", "UnknownNode", "WrongState", "Rejected",
    "AlreadyMember", "OutcomeUnknown", "OutOfMemory",
]
