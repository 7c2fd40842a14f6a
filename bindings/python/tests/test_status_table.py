"""The Python exceptions come from the C header's status table: every code has its class, the
library names every code as the header does, and the generated module is current."""

import os
import subprocess
import sys

import raftengine
from raftengine import errors
from raftengine.node import lib

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def test_the_generated_tables_match_the_header():
    r = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "gen_status.py"), "--check"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_every_code_has_its_class_and_the_library_agrees():
    for code, c_name, cls_name, meaning in errors.STATUS_CODES:
        assert lib().re_strerror(code).decode() == f"{c_name}: {meaning}"
        if code == 0:
            continue
        cls = getattr(raftengine, cls_name)
        assert cls.status == code and cls.c_name == c_name
        assert issubclass(cls, raftengine.RaftError)
        err = errors.error_for(code, "why")
        assert type(err) is cls and err.args[0] == "why"


def test_not_leader_carries_the_leader():
    err = errors.error_for(-11, "not the leader", leader_id="n2", leader_address="127.0.0.1:7002")
    assert isinstance(err, raftengine.NotLeader)
    assert (err.leader_id, err.leader_address) == ("n2", "127.0.0.1:7002")


def test_python_bases_still_catch():
    assert issubclass(raftengine.InvalidArgument, ValueError)
    assert issubclass(raftengine.CommandTimeout, TimeoutError)
    assert issubclass(raftengine.UnknownNode, KeyError)
