"""raftengine-node's operator face: the Prometheus endpoint (--metrics-addr), --version and
--help, and one clear line for every bad flag value."""

import re
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.request

import pytest

from conftest import BIN, Cluster, Client, free_ports, wait_for


def scrape(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return r.read().decode()


def samples(text):
    """{(name, labels-text): value} from the exposition text; checks every family is typed."""
    out, typed = {}, set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            typed.add(line.split()[2])
            continue
        if line.startswith("#") or not line:
            continue
        m = re.fullmatch(r'([a-z_]+)(\{[^}]*\})? (\S+)', line)
        assert m, line
        name = m.group(1)
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        assert name in typed or base in typed, f"{name} has no TYPE line"
        out[(name, m.group(2) or "")] = float(m.group(3))
    return out


@pytest.fixture
def cluster():
    base = tempfile.mkdtemp(prefix="raftengine-metrics-")
    c = Cluster(base, metrics=True)
    c.start_all()
    assert c.wait_leader()
    yield c
    c.stop_all()
    shutil.rmtree(base, ignore_errors=True)


def test_metrics_show_roles_progress_counters_and_sync_latency(cluster):
    leader = cluster.leader()
    c = Client(cluster.client[leader])
    for i in range(20):
        assert c.call("SET", f"k{i}", "v") == "OK"
    c.call("RAFT.SNAPSHOT")
    s = samples(scrape(cluster.metrics[leader]))
    assert s[("raftengine_role", '{role="leader"}')] == 1 and s[("raftengine_role", '{role="follower"}')] == 0
    assert s[("raftengine_term", "")] >= 1
    assert s[("raftengine_commit_index", "")] >= 20 and s[("raftengine_applied_index", "")] >= 20
    assert s[("raftengine_proposals_total", "")] >= 20
    assert s[("raftengine_snapshots_taken_total", "")] == 1
    assert s[("raftengine_keys", "")] == 20
    assert s[("raftengine_voters", "")] == 3
    for f in cluster.ids:
        if f != leader:
            assert s[("raftengine_follower_match_index", '{follower="%s"}' % f)] >= 0
            assert ("raftengine_follower_lag_entries", '{follower="%s"}' % f) in s
            assert 0 <= s[("raftengine_follower_last_contact_seconds", '{follower="%s"}' % f)] < 5
    # A leader's fsyncs run on its sync thread: one may cover several SETs, and the last may still
    # be in flight once its SET committed on the followers' copies.
    count = s[("raftengine_log_sync_duration_seconds_count", "")]
    assert count >= 1 and s[("raftengine_log_sync_duration_seconds_bucket", '{le="+Inf"}')] == count
    assert s[("raftengine_log_sync_duration_seconds_sum", "")] > 0
    assert s[("raftengine_peer_connections", '{direction="outbound"}')] == 2
    assert s[("raftengine_client_connections", "")] >= 1
    assert s[("raftengine_client_commands_total", "")] >= 21
    assert s[("raftengine_frames_rejected_total", '{reason="malformed"}')] == 0
    follower = next(n for n in cluster.ids if n != leader)
    fs = samples(scrape(cluster.metrics[follower]))
    assert fs[("raftengine_role", '{role="follower"}')] == 1
    assert not any(k[0] == "raftengine_follower_match_index" for k in fs)
    assert fs[("raftengine_applied_index", "")] >= 20
    # Each node zeroes log space ahead of its records, in stretches of 1 MiB or less.
    assert wait_for(lambda: samples(scrape(cluster.metrics[follower]))[("raftengine_log_zero_fills_total", "")] >= 1, 5)
    fs = samples(scrape(cluster.metrics[follower]))
    fills, zeroed = fs[("raftengine_log_zero_fills_total", "")], fs[("raftengine_log_zero_fill_bytes_total", "")]
    assert 4096 * fills <= zeroed <= (1 << 20) * fills
    # Someone talking garbage to the raft port is counted as rejected.
    import socket
    sock = socket.create_connection(("127.0.0.1", cluster.raft[follower]))
    sock.sendall(b"\xff" * 64)
    sock.close()
    assert wait_for(lambda: sum(v for k, v in samples(scrape(cluster.metrics[follower])).items()
                                if k[0] == "raftengine_frames_rejected_total") >= 1, 5)


def test_other_paths_and_methods_are_refused(cluster):
    port = cluster.metrics[cluster.ids[0]]
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5)
    assert e.value.code == 404
    req = urllib.request.Request(f"http://127.0.0.1:{port}/metrics", data=b"x", method="POST")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=5)
    assert e.value.code == 405


def test_version_and_help():
    v = subprocess.run([BIN, "--version"], capture_output=True, text=True, timeout=10)
    assert v.returncode == 0 and re.fullmatch(r"raftengine-node \d+\.\d+\.\d+\n", v.stdout)
    h = subprocess.run([BIN, "--help"], capture_output=True, text=True, timeout=10)
    assert h.returncode == 0
    lines = h.stdout.splitlines()
    assert all(len(l) <= 100 for l in lines), [l for l in lines if len(l) > 100]
    # Every example command line is whole: continuation lines end with a backslash, and no
    # line ends inside a flag's value.
    examples = [l for l in lines if l.strip().startswith(("raftengine-node ", "redis-cli ", "--"))]
    assert examples and all(not l.rstrip().endswith(("--", "=", ",")) for l in examples)
    for flag in ("--metrics-addr", "--requirepass", "--join", "--peer", "--cluster-secret-file"):
        assert flag in h.stdout


BAD = [
    (["--heartbeat-ms", "-5"], "--heartbeat-ms -5: must not be negative"),
    (["--heartbeat-ms", "abc"], "--heartbeat-ms abc: not a whole number"),
    (["--snapshot-every", "-1"], "--snapshot-every -1: must not be negative"),
    (["--election-timeout-ms", "5"], "--election-timeout-ms 5: must be MIN-MAX in milliseconds, e.g. 300-600"),
    (["--metrics-addr", "nohost"], 'address "nohost" is not HOST:PORT (HOST an IPv4 literal, [IPv6] or localhost)'),
    (["--metrics-addr", "127.0.0.1:99999"], 'the port of "127.0.0.1:99999" is outside 1-65535'),
    (["--requirepass="], "--requirepass must not be empty"),
    (["--log-level", "loud"], "--log-level loud: must be error, warn, info or debug"),
    (["--data-dir", "/proc/nope/x"], "cannot create /proc/nope/: No such file or directory"),
    (["--data-dir", "/etc/passwd/x"], "Not a directory"),
    (["--config", "/nonexistent"], "--config /nonexistent: no such file"),
]


@pytest.mark.parametrize("extra,words", BAD)
def test_bad_values_are_one_clear_line(tmp_path, extra, words):
    raft, client = free_ports(2)
    args = [BIN, "--id", "x1", "--raft-addr", f"127.0.0.1:{raft}", "--client-addr", f"127.0.0.1:{client}"]
    if "--data-dir" not in extra:
        args += ["--data-dir", str(tmp_path / "d")]
    r = subprocess.run(args + extra, capture_output=True, text=True, timeout=30)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("raftengine-node: ") and lines[0].endswith(words), r.stderr


def test_a_port_in_use_is_one_clear_error(tmp_path):
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    busy = s.getsockname()[1]
    raft, client = free_ports(2)
    r = subprocess.run([BIN, "--id", "x1", "--data-dir", str(tmp_path / "d"), "--raft-addr", f"127.0.0.1:{raft}",
                        "--client-addr", f"127.0.0.1:{client}", "--metrics-addr", f"127.0.0.1:{busy}"],
                       capture_output=True, text=True, timeout=30)
    s.close()
    assert r.returncode == 2
    assert f"cannot serve metrics on 127.0.0.1:{busy}: cannot listen on 127.0.0.1:{busy}: address already in use" \
        in r.stderr
