"""A small network lab for end-to-end fault tests: one network namespace per raftengine-node
process, each joined by a veth pair to a bridge in the root namespace, and faults as nftables
rules inside the node namespaces.

Layout for a lab with subnet S and n nodes:

    root namespace: bridge <prefix>b with 10.S.0.254/24 (the test process: the clients' network)
    node i:         namespace <prefix>n<i>, eth0 = 10.S.0.<i>/24, the outer veth end <prefix>v<i>
                    on the bridge; raft on 10.S.0.<i>:7000, clients on 10.S.0.<i>:6379

Names start with "rtp<pid><letter>" (at most 13 characters with the interface suffix, the limit
is 15) so that leftovers of a test process that died can be recognised and removed: the pid in
the name is no longer alive.

Raft traffic is one-way per TCP connection: node A sends its messages to B only on the
connection A dialled to B's raft port (PeerLink), and reads nothing back on it except ACKs.
So "B does not hear A" is one rule in B's input chain, matching packets from A's address to the
raft port; packets from A's raft port (ACKs of B's own connection to A) and everything from the
bridge address (.254, the clients) pass. Every fault below is a set of such directed links.
"""

import os
import re
import shutil
import signal
import subprocess
import time

RAFT_PORT = 7000
CLIENT_PORT = 6379
FAMILY = "rtp"
TABLE = "raftfault"
_NAME = re.compile(r"^%s(\d+)[a-z](b|n\d+|v\d+)$" % FAMILY)
_labs_made = 0


def run(*args, check=True, input=None, timeout=20):
    r = subprocess.run(list(args), capture_output=True, text=True, input=input, timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({r.returncode}): {r.stderr.strip()}")
    return r


def _alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def _netns_names():
    out = run("ip", "netns", "list", check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def _link_names():
    out = run("ip", "-o", "link", "show", check=False).stdout
    names = []
    for line in out.splitlines():
        parts = line.split(":", 2)
        if len(parts) >= 2:
            names.append(parts[1].strip().split("@")[0])
    return names


def remove_stale():
    """Removes namespaces, veths and bridges of this suite whose test process is gone (a run
    killed before its teardown). The node processes still inside such a namespace are ours
    from that run: they are stopped first so they do not linger in an anonymous namespace."""
    removed = []
    for ns in _netns_names():
        m = _NAME.match(ns)
        if m and not _alive(int(m.group(1))):
            pids = run("ip", "netns", "pids", ns, check=False).stdout.split()
            for p in pids:
                try:
                    os.kill(int(p), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
            run("ip", "netns", "del", ns, check=False)
            removed.append(ns)
    for link in _link_names():
        m = _NAME.match(link)
        if m and not _alive(int(m.group(1))):
            run("ip", "link", "del", link, check=False)
            removed.append(link)
    return removed


_unavailable = None


def unavailable_reason():
    """None when this machine can run the lab, otherwise why not (checked once per process)."""
    global _unavailable
    if _unavailable is not None:
        return _unavailable or None
    _unavailable = _probe() or ""
    return _unavailable or None


def _probe():
    if os.geteuid() != 0:
        return "network namespaces and nftables need root (euid is %d)" % os.geteuid()
    for tool in ("ip", "nft", "ss"):
        if shutil.which(tool) is None:
            return f"`{tool}` is not installed (apt-get install iproute2 nftables)"
    tag = f"{FAMILY}{os.getpid()}z"
    ns, br, va, vb = tag + "n0", tag + "b", tag + "v0", tag + "v1"
    try:
        steps = [("ip", "netns", "add", ns),
                 ("ip", "link", "add", br, "type", "bridge"),
                 ("ip", "link", "add", va, "type", "veth", "peer", "name", vb),
                 ("ip", "link", "set", vb, "netns", ns),
                 ("ip", "netns", "exec", ns, "nft", "add", "table", "inet", TABLE)]
        for s in steps:
            r = run(*s, check=False)
            if r.returncode != 0:
                return f"`{' '.join(s)}` failed: {r.stderr.strip()}"
        return None
    finally:
        run("ip", "netns", "del", ns, check=False)
        run("ip", "link", "del", br, check=False)
        run("ip", "link", "del", va, check=False)


def _free_subnet():
    """A 10.S.0.0/24 that no interface or route of this machine uses."""
    used = run("ip", "-o", "addr", "show", check=False).stdout + run("ip", "route", "show", check=False).stdout
    start = 100 + os.getpid() % 100
    for k in range(150):
        s = 100 + (start - 100 + k) % 150
        if not re.search(r"\b10\.%d\." % s, used):
            return s
    raise RuntimeError("no free 10.S.0.0/24 subnet for the lab")


class Link:
    """Directed: traffic from `src` to `dst` (node ids)."""

    def __init__(self, src, dst):
        self.src, self.dst = src, dst

    def __repr__(self):
        return f"{self.src}->{self.dst}"


class NetLab:
    def __init__(self, ids):
        global _labs_made
        self.ids = list(ids)
        self.prefix = f"{FAMILY}{os.getpid()}{chr(ord('a') + _labs_made % 26)}"
        _labs_made += 1
        self.subnet = None
        self.bridge = self.prefix + "b"
        self.ns = {nid: f"{self.prefix}n{i + 1}" for i, nid in enumerate(self.ids)}
        self.veth = {nid: f"{self.prefix}v{i + 1}" for i, nid in enumerate(self.ids)}
        self.ip = {}
        self.faulted = set()

    @property
    def gateway(self):
        return f"10.{self.subnet}.0.254"

    def setup(self):
        remove_stale()
        # Our own names from a lab of this process that failed half way.
        self.teardown()
        self.subnet = _free_subnet()
        self.ip = {nid: f"10.{self.subnet}.0.{i + 1}" for i, nid in enumerate(self.ids)}
        run("ip", "link", "add", self.bridge, "type", "bridge")
        run("ip", "addr", "add", f"{self.gateway}/24", "dev", self.bridge)
        run("ip", "link", "set", self.bridge, "up")
        for nid in self.ids:
            ns, veth = self.ns[nid], self.veth[nid]
            run("ip", "netns", "add", ns)
            run("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
            run("ip", "link", "set", veth, "master", self.bridge, "up")
            run("ip", "-n", ns, "addr", "add", f"{self.ip[nid]}/24", "dev", "eth0")
            run("ip", "-n", ns, "link", "set", "eth0", "up")
            run("ip", "-n", ns, "link", "set", "lo", "up")

    def teardown(self):
        for ns in self.ns.values():
            if os.path.exists(f"/run/netns/{ns}"):
                run("ip", "netns", "del", ns, check=False)
        names = set(_link_names())
        for link in list(self.veth.values()) + [self.bridge]:
            if link in names:
                run("ip", "link", "del", link, check=False)

    def leftovers(self):
        """Names of this lab still present (empty after a clean teardown)."""
        prefix = self.prefix
        return [n for n in _netns_names() + _link_names() if n.startswith(prefix)]

    def exec_args(self, nid, argv):
        return ["ip", "netns", "exec", self.ns[nid]] + list(argv)

    # Faults -------------------------------------------------------------------------------

    def _match(self, link):
        return f"ip saddr {self.ip[link.src]} tcp dport {RAFT_PORT}"

    def drop_rule(self, link):
        """`link.dst` never hears `link.src`: every packet of src's connections to dst's raft
        port (SYNs included) is dropped in dst's input."""
        return link.dst, f"{self._match(link)} drop"

    def reset_rule(self, link):
        """Every packet of src's connections to dst's raft port is answered with a TCP reset:
        connects are refused, established connections are torn down at their next segment."""
        return link.dst, f"{self._match(link)} reject with tcp reset"

    def blackhole_rule(self, link):
        """Connects complete but nothing arrives: SYNs pass (dst answers SYN-ACK, so src's
        connect succeeds), every other packet from src to dst's raft port is dropped (the
        handshake's final ACK and all data), so dst never accepts and src writes into the void."""
        return link.dst, f"{self._match(link)} tcp flags & syn == 0 drop"

    def loss_rule(self, nid, percent):
        """`percent`% of every packet between nodes arriving at `nid` is dropped, in both
        directions of every connection (data to the raft port and the ACKs from it); client
        traffic from the bridge address is not matched."""
        peers = ", ".join(self.ip[p] for p in self.ids if p != nid)
        return [(nid, f"ip saddr {{ {peers} }} tcp dport {RAFT_PORT} numgen random mod 100 < {percent} drop"),
                (nid, f"ip saddr {{ {peers} }} tcp sport {RAFT_PORT} numgen random mod 100 < {percent} drop")]

    def apply(self, rules):
        """Installs [(node, rule)] (replacing any earlier fault) in each node's input chain."""
        by_node = {}
        for nid, rule in rules:
            by_node.setdefault(nid, []).append(rule)
        for nid in self.ids:
            body = "\n".join(f"    {r}" for r in by_node.get(nid, []))
            script = (f"table inet {TABLE} {{}}\ndelete table inet {TABLE}\n"
                      f"table inet {TABLE} {{\n  chain input {{\n"
                      f"    type filter hook input priority 0; policy accept;\n{body}\n  }}\n}}\n")
            if nid in by_node or nid in self.faulted:
                run(*self.exec_args(nid, ["nft", "-f", "-"]), input=script)
        self.faulted = set(by_node)

    def kill_connections(self, link):
        """Aborts src's established connections to dst's raft port (its PeerLink reconnects)."""
        run(*self.exec_args(link.src, ["ss", "-K", "dst", self.ip[link.dst], "dport", "=", f":{RAFT_PORT}"]),
            check=False)

    def heal(self):
        for nid in self.faulted:
            run(*self.exec_args(nid, ["nft", "delete", "table", "inet", TABLE]), check=False)
        self.faulted = set()

    def ruleset(self, nid):
        return run(*self.exec_args(nid, ["nft", "list", "ruleset"]), check=False).stdout


def wait_for(pred, timeout, interval=0.05):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    return pred()


class LabCluster:
    """raftengine-node processes, one per namespace of `lab` (debug build, fast timers)."""

    def __init__(self, lab, base, binary, client_cls):
        self.lab = lab
        self.base = base
        self.bin = binary
        self.Client = client_cls
        self.ids = lab.ids
        self.procs = {}
        self.addr = {nid: (lab.ip[nid], CLIENT_PORT) for nid in self.ids}
        self.by_addr = {f"{h}:{p}": nid for nid, (h, p) in self.addr.items()}

    def log_path(self, nid):
        return os.path.join(self.base, f"{nid}.log")

    def start(self, nid):
        lab = self.lab
        args = [self.bin, "--data-dir", os.path.join(self.base, nid), "--id", nid,
                "--raft-addr", f"{lab.ip[nid]}:{RAFT_PORT}", "--client-addr", f"{lab.ip[nid]}:{CLIENT_PORT}",
                "--heartbeat-ms", "20", "--election-timeout-ms", "150-300", "--log-level", "debug"]
        for p in self.ids:
            if p != nid:
                args += ["--peer", f"{p}={lab.ip[p]}:{RAFT_PORT},{lab.ip[p]}:{CLIENT_PORT}"]
        log = open(self.log_path(nid), "a")
        # `ip netns exec` execs the node in place: the Popen's pid is the node's.
        self.procs[nid] = subprocess.Popen(lab.exec_args(nid, args), stdout=log, stderr=log)
        log.close()

    def start_all(self, timeout=30):
        for nid in self.ids:
            self.start(nid)
        for nid in self.ids:
            if not wait_for(lambda: self.ping(nid), timeout):
                raise RuntimeError(f"{nid} does not answer PING on {self.addr[nid]}: {self.log_tail(nid)}")

    def client(self, nid, timeout=2.0):
        h, p = self.addr[nid]
        return self.Client(p, timeout=timeout, host=h)

    def ping(self, nid):
        try:
            c = self.client(nid, timeout=1.0)
            try:
                return c.call("PING") == "PONG"
            finally:
                c.close()
        except (OSError, Exception):
            return False

    def info(self, nid, timeout=2.0):
        c = self.client(nid, timeout=timeout)
        try:
            text = c.call("INFO").decode()
        finally:
            c.close()
        return dict(line.split(":", 1) for line in text.split("\r\n") if ":" in line)

    def infos(self, timeout=2.0):
        out = {}
        for nid in self.ids:
            try:
                out[nid] = self.info(nid, timeout)
            except Exception:
                pass
        return out

    def stable_leader(self):
        """The leader every node names, or None."""
        infos = self.infos()
        if len(infos) != len(self.ids):
            return None
        leaders = [nid for nid, i in infos.items() if i.get("role") == "leader"]
        if len(leaders) != 1:
            return None
        if all(i.get("leader") == leaders[0] for i in infos.values()):
            return leaders[0]
        return None

    def exited(self):
        return {nid: p.poll() for nid, p in self.procs.items() if p.poll() is not None}

    def log_tail(self, nid, lines=25):
        try:
            with open(self.log_path(nid), errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""

    def stop_all(self):
        for p in self.procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs.values():
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)
