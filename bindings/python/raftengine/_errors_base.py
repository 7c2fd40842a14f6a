"""The root of every exception the bindings raise (the classes per status code are generated
into _status.py from the C header)."""


class RaftError(Exception):
    """Base class of every error the bindings raise. `status` is the C status code, `c_name`
    its name in include/raftengine.h."""

    status = None
    c_name = None

    def __init__(self, message="", status=None):
        super().__init__(message)
        if status is not None:
            self.status = status


class LeaderHint:
    """Carries the leader a refusal names: `leader_id` / `leader_address`, None when unknown."""

    def __init__(self, message="", leader_id=None, leader_address=None):
        super().__init__(message)
        self.leader_id = leader_id or None
        self.leader_address = leader_address or None
