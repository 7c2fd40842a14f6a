"""Bad input gives clear Python exceptions."""

import os
import subprocess
import sys

import pytest

import raftengine
from conftest import Counter, free_ports


def test_wrong_types(tmpdir_path):
    with pytest.raises(raftengine.InvalidArgument):
        raftengine.Node(id="", data_dir=tmpdir_path, listen="127.0.0.1:1", state_machine=Counter())
    with pytest.raises(raftengine.InvalidArgument):
        raftengine.Node(id="a", data_dir=tmpdir_path, listen="127.0.0.1:1", state_machine=object())
    with pytest.raises(raftengine.InvalidArgument):
        raftengine.Node(id="a", data_dir=tmpdir_path, listen="127.0.0.1:1", state_machine=Counter(), peers=["x"])
    with pytest.raises(raftengine.AddressError):
        raftengine.Node(id="a", data_dir=tmpdir_path, listen="nowhere", state_machine=Counter())


def test_str_command_and_closed_node(tmpdir_path):
    (port,) = free_ports(1)
    node = raftengine.Node(id="solo", data_dir=tmpdir_path, listen=f"127.0.0.1:{port}", state_machine=Counter(),
                           heartbeat_ms=20, election_timeout_ms=(100, 200))
    with pytest.raises(raftengine.InvalidArgument):
        node.submit("not bytes")
    with pytest.raises(raftengine.InvalidArgument):
        node.submit(12)
    node.close()
    with pytest.raises(raftengine.NodeStopped):
        node.submit(b"1")
    with pytest.raises(raftengine.NodeStopped):
        node.status()


def test_oversized_command(tmpdir_path):
    (port,) = free_ports(1)
    with raftengine.Node(id="solo", data_dir=tmpdir_path, listen=f"127.0.0.1:{port}", state_machine=Counter(),
                         max_command_size=100, heartbeat_ms=20, election_timeout_ms=(100, 200)) as node:
        with pytest.raises(raftengine.CommandTooLarge):
            node.submit(b"x" * 101)


def test_locked_data_dir(tmpdir_path):
    p1, p2 = free_ports(2)
    with raftengine.Node(id="solo", data_dir=tmpdir_path, listen=f"127.0.0.1:{p1}", state_machine=Counter()):
        with pytest.raises(raftengine.DataDirLocked):
            raftengine.Node(id="solo", data_dir=tmpdir_path, listen=f"127.0.0.1:{p2}", state_machine=Counter())


def test_missing_library_names_every_place_searched():
    code = "import raftengine\ntry:\n    raftengine.version()\nexcept raftengine.LibraryNotFound as e:\n    print(e)\n"
    env = dict(os.environ, RAFTENGINE_LIBRARY="/nonexistent/libraftengine.so", LD_LIBRARY_PATH="")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__)))).stdout
    assert "next to the package" in out
    assert "RAFTENGINE_LIBRARY" in out
    assert "system library path" in out


def test_library_next_to_the_package_is_found_first(tmp_path):
    import shutil
    lib = os.environ.get("RAFTENGINE_LIBRARY")
    if not lib or not os.path.exists(lib):
        pytest.skip("needs RAFTENGINE_LIBRARY pointing at a built library")
    pkg_src = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "raftengine")
    shutil.copytree(pkg_src, tmp_path / "raftengine", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(lib, tmp_path / "raftengine" / "libraftengine.so")
    code = "import raftengine, raftengine._lib as L; print(raftengine.version())"
    env = dict(os.environ, RAFTENGINE_LIBRARY="/nonexistent/libraftengine.so")
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    header = open(os.path.join(os.path.dirname(pkg_src), "..", "..", "include", "raftengine.h")).read()
    want = header.split('#define RAFTENGINE_VERSION_STRING "')[1].split('"')[0]
    assert out.stdout.strip() == want
