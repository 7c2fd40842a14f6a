"""The values the bindings hand out: roles, event kinds, apply policies, status and events, and
the state machine's protocol."""

import enum
from dataclasses import dataclass
from typing import List, Optional, Protocol, Sequence, Tuple, Union, runtime_checkable


class Role(str, enum.Enum):
    """A node's role (compares equal to its name: Role.LEADER == "leader")."""

    FOLLOWER = "follower"
    CANDIDATE = "candidate"
    LEADER = "leader"
    STOPPED = "stopped"

    def __str__(self):
        return self.value


class EventKind(str, enum.Enum):
    """What an Event reports (compares equal to its name: EventKind.ROLE == "role")."""

    ROLE = "role"
    TERM = "term"
    LEADER = "leader"
    ELECTION = "election"
    RESYNC = "resync"
    MEMBERSHIP_DONE = "membership_done"
    MEMBERSHIP_ABORTED = "membership_aborted"
    SETTINGS = "settings"
    SNAPSHOT = "snapshot"
    STOPPED = "stopped"
    ERROR = "error"
    APPLY_FAILED = "apply_failed"

    def __str__(self):
        return self.value


class ApplyPolicy(str, enum.Enum):
    """What an exception raised by the state machine's apply means (a cluster setting)."""

    REJECT = "reject"  #: the command's result: the proposer gets ApplyError, every replica goes on
    RETRY = "retry"  #: apply it again later, with backoff, before anything after it
    HALT = "halt"  #: mark the log broken and stop the node

    def __str__(self):
        return self.value


# The C ABI's numbers for each.
ROLES = {0: Role.FOLLOWER, 1: Role.CANDIDATE, 2: Role.LEADER, 3: Role.STOPPED}
EVENT_KINDS = {1: EventKind.ROLE, 2: EventKind.TERM, 3: EventKind.LEADER, 4: EventKind.ELECTION, 5: EventKind.RESYNC,
               6: EventKind.MEMBERSHIP_DONE, 7: EventKind.MEMBERSHIP_ABORTED, 8: EventKind.SETTINGS,
               9: EventKind.SNAPSHOT, 10: EventKind.STOPPED, 11: EventKind.ERROR, 12: EventKind.APPLY_FAILED}
APPLY_POLICIES = {ApplyPolicy.REJECT: 0, ApplyPolicy.RETRY: 1, ApplyPolicy.HALT: 2}

COUNTERS = ("frames_received", "frames_sent", "unknown_sender", "spoofed_sender", "auth_failed", "wrong_cluster",
            "malformed_frames", "oversized_frames", "connects_failed", "dropped_while_disconnected",
            "proposals", "refused_proposals", "elections_started", "leader_changes", "snapshots_taken",
            "snapshots_installed", "apply_failures", "errors", "log_syncs", "log_sync_micros_total",
            "log_sync_failures", "log_zero_fills", "log_zero_fill_bytes")


@dataclass(frozen=True)
class Member:
    """A member of the configuration in force. On the leader, `match_index` (the highest index
    known on it) and `ms_since_contact` (since it last answered; -1 never) for the others."""

    id: str
    address: str
    voter: bool
    match_index: Optional[int] = None
    ms_since_contact: Optional[int] = None


@dataclass(frozen=True)
class Status:
    """One consistent snapshot of a node."""

    role: Role
    term: int
    leader_id: Optional[str]
    leader_address: Optional[str]
    commit_index: int
    applied_index: int
    last_index: int
    stopped: bool
    voters: int
    learners: int
    members: Tuple[Member, ...] = ()
    #: Why the node stopped itself: "REMOVED", "APPLY_HALTED" or "STORAGE_FAILURE" (None while
    #: it runs, or when close() stopped it), and the detail, e.g. the disk's error.
    stop_reason: Optional[str] = None
    stop_detail: Optional[str] = None

    @property
    def is_leader(self) -> bool:
        """True when this node leads."""
        return self.role == Role.LEADER


@dataclass(frozen=True)
class Event:
    """Something the node reports: `kind`, a name in `value`, the node concerned, details, and
    a number (a term, an index, a role number)."""

    kind: EventKind
    value: Optional[str]
    node: Optional[str]
    detail: Optional[str]
    number: int


@runtime_checkable
class StateMachine(Protocol):
    """The replicated application. Called on the engine's loop thread, in log order, once per
    committed command on every node. Deterministic: every replica must compute the same."""

    def apply(self, command: bytes) -> bytes:
        """Applies a committed command; returns its result (bytes) for the proposer. Raising
        is a failure handled by the cluster's ApplyPolicy."""

    def snapshot(self) -> bytes:
        """The whole state as bytes, as of the last applied command."""

    def restore(self, data: bytes) -> None:
        """Replaces the whole state with a snapshot's bytes."""


@runtime_checkable
class BatchStateMachine(StateMachine, Protocol):
    """A state machine that also applies a run of committed commands in one call (much faster
    from Python: one crossing per batch)."""

    def apply_batch(self, commands: List[bytes]) -> Sequence[Union[bytes, BaseException]]:
        """Applies `commands` in order; returns one result per command: bytes, or the exception
        it failed with. Under the retry and halt policies stop after the first failure (return
        the results so far, the failure last)."""
