"""RaftEngine for Python: embed Raft cluster nodes through libraftengine's C ABI (ctypes)."""

from ._calls import version
from .errors import (AddressError, AlreadyMember, ApplyError, ChangeInProgress, CommandTimeout, CommandTooLarge,
                     CorruptLog, DataDirLocked, DuplicateId, InvalidArgument, LibraryNotFound, LogBroken,
                     NodeStopped, NotLeader, OutcomeUnknown, OutOfMemory, RaftError, Rejected, RetryLater,
                     StorageError, UnknownNode, WrongState)
from .host import Host
from .node import Node
from .repair import clear_broken, force_sole_voter, is_broken
from .storage import Log, SQLiteLog
from .types import ApplyPolicy, BatchStateMachine, Event, EventKind, Member, Role, StateMachine, Status

__all__ = [
    "Node", "Host", "Status", "Member", "Event", "EventKind", "Role", "ApplyPolicy", "StateMachine",
    "BatchStateMachine", "Log", "SQLiteLog", "version", "is_broken", "clear_broken", "force_sole_voter",
    "RaftError", "LibraryNotFound", "InvalidArgument", "AddressError", "DuplicateId", "DataDirLocked",
    "StorageError", "CorruptLog", "LogBroken", "CommandTooLarge", "NodeStopped", "NotLeader", "RetryLater",
    "CommandTimeout", "ApplyError", "ChangeInProgress", "UnknownNode", "WrongState", "Rejected",
    "AlreadyMember", "OutcomeUnknown", "OutOfMemory",
]
