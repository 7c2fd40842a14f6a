"""raftengine-node with --cluster-secret-file: peers prove they know the secret; a node with
the wrong one is refused and counted (INFO), a secret file others can read is refused."""

import os
import shutil
import subprocess
import tempfile

import pytest

from conftest import BIN, Cluster, call_any, free_ports, wait_for


def secret_file(base, name, text, mode=0o600):
    path = os.path.join(base, name)
    with open(path, "w") as f:
        f.write(text + "\n")
    os.chmod(path, mode)
    return path


@pytest.fixture
def base():
    d = tempfile.mkdtemp(prefix="raftengine-auth-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_a_secured_cluster_works_and_refuses_the_wrong_secret(base):
    good = secret_file(base, "good", "correct horse battery staple")
    bad = secret_file(base, "bad", "a different secret entirely")
    c = Cluster(base)
    try:
        for nid in c.ids:
            c.start(nid, extra=["--cluster-secret-file", good if nid != "n3" else bad])
        assert c.wait_leader()
        assert call_any(c, "SET", "k", "v") == "OK"
        assert c.leader() != "n3"
        assert wait_for(lambda: int(c.info("n3")["auth_failed"]) > 0, 10)
        assert wait_for(lambda: int(c.info(c.leader())["auth_failed"]) > 0, 10)
        assert c.info("n1")["peer_auth"] == "on"
        assert c.procs["n3"].poll() is None
        # The refused node never learns the write.
        assert c.info("n3").get("applied_index") in ("0", None)

        # A secured node restarted keeps working with the others.
        follower = next(n for n in ("n1", "n2") if n != c.leader())
        c.kill(follower, sig=15)
        c.start(follower, extra=["--cluster-secret-file", good], fresh_args=[])
        assert call_any(c, "SET", "k2", "v2") == "OK"
        assert wait_for(lambda: c.info(follower)["applied_index"] == c.info(c.leader())["applied_index"], 10)
    finally:
        c.stop_all()


def test_a_secret_file_others_can_read_is_refused(base):
    path = secret_file(base, "open", "correct horse battery staple", mode=0o644)
    raft, client = free_ports(2)
    r = subprocess.run([BIN, "--id", "x1", "--data-dir", os.path.join(base, "x1"), "--raft-addr", f"127.0.0.1:{raft}",
                        "--client-addr", f"127.0.0.1:{client}", "--cluster-secret-file", path],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2
    assert r.stderr.strip() == (f"raftengine-node: --cluster-secret-file: the cluster secret file {path} is readable "
                                "by others (mode 644); chmod 600 it")
    assert not os.path.exists(os.path.join(base, "x1"))
