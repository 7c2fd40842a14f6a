"""The README's examples run as written: examples/counter.py as three processes (and the
README shows that file verbatim), every other ```python block as a script of its own."""

import os
import re
import subprocess
import sys

import pytest

from conftest import free_ports

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
README = os.path.join(ROOT, "README.md")
COUNTER = os.path.join(ROOT, "examples", "counter.py")
MARK = "<!-- examples/counter.py -->"


def blocks():
    text = open(README).read()
    out = []
    for m in re.finditer(r"(<!-- [^>]+ -->\n)?```python\n(.*?)```", text, re.S):
        out.append(((m.group(1) or "").strip(), m.group(2)))
    return out


def env_for_scripts(**extra):
    return dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]), **extra)


def test_the_readme_shows_examples_counter_py_verbatim():
    shown = [code for mark, code in blocks() if mark == MARK]
    assert shown == [open(COUNTER).read()]


@pytest.mark.parametrize("index", [i for i, (mark, _) in enumerate(blocks()) if mark != MARK])
def test_each_other_readme_block_runs(index, tmpdir_path):
    code = blocks()[index][1]
    r = subprocess.run([sys.executable, "-c", code], cwd=tmpdir_path, env=env_for_scripts(),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


def test_three_counter_processes(tmpdir_path):
    ports = free_ports(3)
    members = ",".join(f"n{i + 1}=127.0.0.1:{p}" for i, p in enumerate(ports))
    env = env_for_scripts(MEMBERS=members)
    procs = {n: subprocess.Popen([sys.executable, COUNTER, n], cwd=tmpdir_path, env=env, text=True,
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE)
             for n in ("n1", "n2", "n3")}
    try:
        ups = {n: p.stdout.readline().split() for n, p in procs.items()}
        leaders = {u[-1] for u in ups.values()}
        assert all(u[1] == "up;" for u in ups.values()) and len(leaders) == 1, ups
        leader = leaders.pop()

        def ask(n, line):
            procs[n].stdin.write(line + "\n")
            procs[n].stdin.flush()
            return procs[n].stdout.readline().strip()

        assert ask(leader, "add 5") == "total 5"
        assert ask(leader, "add 3") == "total 8"
        assert ask(leader, "add x").startswith("error ApplyError")
        follower = next(n for n in procs if n != leader)
        assert ask(follower, "add 1") == f"not leader; ask {leader} at 127.0.0.1:{ports[int(leader[1]) - 1]}"
        assert ask(leader, "total") == "total 8"
    finally:
        for p in procs.values():
            p.stdin.close()
        for p in procs.values():
            assert p.wait(timeout=20) == 0
