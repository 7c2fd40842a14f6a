"""Argument checks whose messages name the argument, before anything reaches the C ABI (where
a negative number would wrap to a huge unsigned one)."""

from .errors import InvalidArgument

# The C ABI's ranges (include/raftengine.h).
RANGES = {
    "heartbeat_ms": (1, 60_000),
    "election_timeout_ms": (1, 600_000),
    "command_timeout_ms": (1, 3_600_000),
    "max_command_size": (1, 64 << 20),
    "snapshot_threshold": (0, 1 << 40),
    "snapshot_trailing": (0, 1 << 40),
    "max_entries_per_message": (1, 100_000),
    "max_inflight": (1, 100_000),
    "max_inflight_bytes": (1, 1 << 40),
}


def integer(name, value, lo=None, hi=None):
    """`value` as an int within [lo, hi] (the C ABI's range for `name` by default)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(f"{name} must be an int, not {type(value).__name__} ({value!r})")
    if lo is None:
        lo, hi = RANGES[name]
    if value < 0 and lo >= 0:
        raise InvalidArgument(f"{name} must not be negative, got {value}")
    if value < lo or (hi is not None and value > hi):
        raise InvalidArgument(f"{name} must be {lo} to {hi}, got {value}")
    return value


def milliseconds_pair(name, value):
    """A (min, max) pair of milliseconds, min <= max."""
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise InvalidArgument(f"{name} must be a (min, max) pair of milliseconds, got {value!r}")
    lo = integer(f"{name}[0]", value[0], *RANGES[name])
    hi = integer(f"{name}[1]", value[1], *RANGES[name])
    if lo > hi:
        raise InvalidArgument(f"{name} must have min <= max, got {tuple(value)}")
    return lo, hi


def timeout(name, value):
    """A positive number of seconds."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidArgument(f"{name} must be a number of seconds, not {type(value).__name__}")
    if value <= 0:
        raise InvalidArgument(f"{name} must be positive, got {value}")
    return float(value)


def text(name, value):
    if not isinstance(value, str) or not value:
        raise InvalidArgument(f"{name} must be a non-empty string, got {value!r}")
    return value
