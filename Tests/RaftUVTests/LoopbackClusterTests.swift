import Foundation
import Testing
import RaftCore
import RaftUV
import RaftTestSupport

/// Counter state machine for runtime tests; apply runs on the loop thread, tests read from
/// theirs, hence the lock.
final class LockedCounter: StateMachine, @unchecked Sendable {
    private let lock = NSLock()
    private var value: Int64 = 0
    var total: Int64 { lock.lock(); defer { lock.unlock() }; return value }
    func apply(_ command: [UInt8], index: LogIndex) throws -> [UInt8] {
        lock.lock(); defer { lock.unlock() }
        value += Int64(String(decoding: command, as: UTF8.self)) ?? 0
        return Array(String(value).utf8)
    }
    func snapshot() throws -> [UInt8] { Array(String(total).utf8) }
    func restore(_ data: [UInt8]) throws {
        lock.lock(); defer { lock.unlock() }
        value = Int64(String(decoding: data, as: UTF8.self)) ?? 0
    }
}

func waitUntil(_ timeout: Double = 10, _ cond: () -> Bool) -> Bool {
    let end = Date().addingTimeInterval(timeout)
    while Date() < end {
        if cond() { return true }
        usleep(10_000)
    }
    return cond()
}

final class LoopbackCluster {
    let host: UVHost
    let dir: String
    let ids: [NodeID]
    let addresses: [NodeID: String]
    var machines: [NodeID: LockedCounter] = [:]
    var nodes: [NodeID: HostedNode] = [:]
    var settings = ClusterSettings(heartbeatPeriod: 20_000_000, electionTimeoutMin: 150_000_000, electionTimeoutMax: 300_000_000)
    /// Where a node reaches a peer when not at its listen address: routes[from][to] (a proxy).
    var routes: [NodeID: [NodeID: String]] = [:]
    /// Each node's cluster secrets (none: no peer authentication).
    var secrets: [NodeID: ClusterSecrets] = [:]
    /// Where every node's fsync runs.
    var syncPlacement = SyncPlacement.offLoopWhenLeading
    /// Automatic snapshots (0: none) and the entries each keeps before it.
    var snapshotThreshold: LogIndex = 0
    var snapshotTrailing: LogIndex = 1000

    /// Free ports picked with the nodes' (so none is one of theirs), for proxies.
    let sparePorts: [UInt16]

    init(size: Int = 3, sparePorts spare: Int = 0) throws {
        host = try UVHost()
        dir = NSTemporaryDirectory() + "raftuv-" + UUID().uuidString
        ids = (1...size).map { "n\($0)" }
        let ports = freeLoopbackPorts(size + spare)
        addresses = Dictionary(uniqueKeysWithValues: zip(ids, ports.map { "127.0.0.1:\($0)" }))
        sparePorts = Array(ports.dropFirst(size))
    }

    func config(_ id: NodeID) -> RuntimeNodeConfig {
        var peers = addresses
        peers[id] = nil
        for (to, address) in routes[id] ?? [:] { peers[to] = address }
        var c = RuntimeNodeConfig(id: id, dataDir: "\(dir)/\(id)", listenAddress: addresses[id]!, peers: peers,
                                  clusterID: "test", settings: settings, commandTimeout: 3_000_000_000)
        c.secrets = secrets[id]
        c.syncPlacement = syncPlacement
        c.snapshotThreshold = snapshotThreshold
        c.snapshotTrailing = snapshotTrailing
        return c
    }

    @discardableResult
    func start(_ id: NodeID) throws -> HostedNode {
        let m = LockedCounter()
        machines[id] = m
        let n = try host.startNode(config(id), stateMachine: m)
        nodes[id] = n
        return n
    }

    func startAll() throws { for id in ids { try start(id) } }

    var leader: NodeID? {
        nodes.first { !$0.value.isStopped && $0.value.status()?.role == .leader }?.key
    }

    func submit(_ cmd: String, timeout: Double = 10) -> CommandOutcome? {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            guard let l = leader, let n = nodes[l] else { usleep(10_000); continue }
            let o = n.submitSync(Array(cmd.utf8), timeout: 3)
            if case .applied = o { return o }
            usleep(20_000)
        }
        return nil
    }

    func shutdown() {
        host.shutdown()
        try? FileManager.default.removeItem(atPath: dir)
    }
}

@Suite(.serialized) struct LoopbackClusterTests {
    @Test func electsCommitsRedirectsFailsOverAndCatchesUp() throws {
        let c = try LoopbackCluster()
        defer { c.shutdown() }
        try c.startAll()
        #expect(waitUntil { c.leader != nil })
        #expect(c.submit("5") == .applied(Array("5".utf8)))
        #expect(waitUntil { c.machines.values.allSatisfy { $0.total == 5 } })

        // A follower redirects to the leader and its address.
        let l = try #require(c.leader)
        let f = c.ids.first { $0 != l }!
        #expect(c.nodes[f]!.submitSync(Array("1".utf8), timeout: 3) == .redirect(leader: l, address: c.addresses[l]!))

        // The leader stops: a new one takes over and commands continue.
        c.nodes[l]!.stop()
        #expect(c.nodes[l]!.submitSync(Array("1".utf8), timeout: 1) == .stopped)
        #expect(waitUntil { c.leader != nil && c.leader != l })
        #expect(c.submit("3") == .applied(Array("8".utf8)))

        // Restarted from its data dir, the old leader replays and catches up.
        try c.start(l)
        #expect(waitUntil { c.machines[l]!.total == 8 })
    }

    /// A command submitted from a completion callback runs at once; a client that retries every
    /// redirect that way must still leave the loop free to serve sockets and timers (all three
    /// nodes share this loop).
    @Test func aClientRetryingFromItsCompletionDoesNotStallTheLoop() throws {
        final class Retrier: @unchecked Sendable {
            let lock = NSLock()
            var redirects = 0
            var stop = false
        }
        let c = try LoopbackCluster()
        defer { c.shutdown() }
        try c.startAll()
        #expect(waitUntil { c.leader != nil })
        let l = try #require(c.leader)
        let follower = c.nodes[c.ids.first { $0 != l }!]!
        let r = Retrier()
        func retry() {
            follower.submit(Array("1".utf8)) { outcome in
                r.lock.lock()
                if case .redirect = outcome { r.redirects += 1 }
                let again = !r.stop
                r.lock.unlock()
                if again { retry() }
            }
        }
        retry()
        for i in 1...20 { #expect(c.submit("1") != nil, "command \(i)") }
        r.lock.lock()
        r.stop = true
        let redirects = r.redirects
        r.lock.unlock()
        #expect(redirects > 100)
    }

    /// A state machine that submits from inside `apply` (user code running inside the core):
    /// the runtime queues that request until the core returns (requests from other callbacks
    /// go straight in), and it commits like any other; the followers' machines get redirects.
    @Test func aSubmitFromInsideApplyIsQueuedAndCommits() throws {
        final class ChainingMachine: StateMachine, @unchecked Sendable {
            let lock = NSLock()
            var total = 0
            var node: HostedNode?
            var outcomes: [CommandOutcome] = []
            func apply(_ command: [UInt8], index: LogIndex) throws -> [UInt8] {
                let text = String(decoding: command, as: UTF8.self)
                lock.lock()
                defer { lock.unlock() }
                if text == "chain" {
                    node?.submit(Array("7".utf8)) { [self] outcome in
                        lock.lock()
                        outcomes.append(outcome)
                        lock.unlock()
                    }
                } else {
                    total += Int(text) ?? 0
                }
                return []
            }
            func snapshot() throws -> [UInt8] { [] }
            func restore(_ data: [UInt8]) throws {}
            var state: (Int, [CommandOutcome]) { lock.lock(); defer { lock.unlock() }; return (total, outcomes) }
        }
        let c = try LoopbackCluster()
        defer { c.shutdown() }
        var machines: [NodeID: ChainingMachine] = [:]
        for id in c.ids {
            let m = ChainingMachine()
            let n = try c.host.startNode(c.config(id), stateMachine: m)
            m.lock.lock()
            m.node = n
            m.lock.unlock()
            machines[id] = m
            c.nodes[id] = n
        }
        #expect(waitUntil { c.leader != nil })
        let l = try #require(c.leader)
        #expect(c.nodes[l]!.submitSync(Array("chain".utf8), timeout: 3) == .applied([]))
        // The leader's machine proposed 7 (applied everywhere); the followers' were redirected.
        #expect(waitUntil { machines.values.allSatisfy { $0.state.0 == 7 } })
        #expect(machines[l]!.state.1 == [.applied([])])
        for (id, m) in machines where id != l {
            #expect(waitUntil { m.state.1.count == 1 })
            guard case .redirect? = m.state.1.first else {
                Issue.record("\(id): expected a redirect, got \(m.state.1)")
                continue
            }
        }
    }

    @Test func badFramesAreCountedAndNeverCrashTheNode() throws {
        let c = try LoopbackCluster()
        defer { c.shutdown() }
        try c.startAll()
        #expect(waitUntil { c.leader != nil })
        let target = c.nodes["n1"]!
        let port = UInt16(c.addresses["n1"]!.split(separator: ":")[1])!

        func sendRaw(_ frames: [[UInt8]]) {
            let fd = connectLoopback(port: port)
            var bytes: [UInt8] = []
            for f in frames {
                let n = UInt32(f.count)
                bytes += [UInt8(n & 0xff), UInt8((n >> 8) & 0xff), UInt8((n >> 16) & 0xff), UInt8(n >> 24)] + f
            }
            _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            usleep(50_000)
            close(fd)
        }
        var hello = ByteWriter()
        hello.u32(0x5241_4654); hello.u8(1); hello.string("test"); hello.string("n2"); hello.string("")
        var otherCluster = ByteWriter()
        otherCluster.u32(0x5241_4654); otherCluster.u8(1); otherCluster.string("other"); otherCluster.string("n2"); otherCluster.string("")
        var stranger = ByteWriter()
        stranger.u32(0x5241_4654); stranger.u8(1); stranger.string("test"); stranger.string("mallory"); stranger.string("")
        let fromStranger = MessageCodec.encode(Message(from: "mallory", to: "n1", term: 99, body: .appendEntries(AppendEntries(prevIndex: 0, prevTerm: 0, commitIndex: 0))))

        sendRaw([hello.bytes, [1, 2, 3, 4, 5]])                   // malformed message
        sendRaw([otherCluster.bytes])                               // other cluster
        sendRaw([stranger.bytes, fromStranger])                     // unknown sender
        sendRaw([[9, 9, 9]])                                        // garbage handshake
        sendRaw([hello.bytes, [UInt8](repeating: 0, count: 10)])    // truncated/garbage
        #expect(waitUntil {
            let s = target.transportStats
            return s.malformed >= 3 && s.wrongCluster >= 1 && s.unknownSender >= 1
        })
        // Still healthy: commands commit and the term did not jump to 99.
        #expect(c.submit("1") == .applied(Array("1".utf8)))
        #expect((target.status()?.term ?? 99) < 99)
    }

    @Test func oversizedFramesCloseTheConnection() throws {
        let c = try LoopbackCluster()
        defer { c.shutdown() }
        try c.startAll()
        let port = UInt16(c.addresses["n2"]!.split(separator: ":")[1])!
        let fd = connectLoopback(port: port)
        var huge: [UInt8] = [0xff, 0xff, 0xff, 0x7f]
        huge += [UInt8](repeating: 1, count: 100)
        _ = huge.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        #expect(waitUntil { c.nodes["n2"]!.transportStats.oversized >= 1 })
        close(fd)
        #expect(waitUntil { c.leader != nil })
    }

    @Test func shutdownIsPromptAndTheDataDirReopens() throws {
        let c = try LoopbackCluster()
        defer { c.shutdown() }
        try c.startAll()
        #expect(waitUntil { c.leader != nil })
        #expect(c.submit("2") != nil)
        let started = Date()
        c.nodes["n3"]!.stop()
        #expect(Date().timeIntervalSince(started) < 1)
        // Same data dir and port, at once.
        try c.start("n3")
        #expect(waitUntil { c.machines["n3"]!.total == 2 })
        // A second node on a locked data dir is refused.
        #expect(throws: StartError.self) { try c.host.startNode(c.config("n3"), stateMachine: LockedCounter()) }
    }

    @Test func hostBroughtTransport() throws {
        let host = try UVHost()
        defer { host.shutdown() }
        let dir = NSTemporaryDirectory() + "raftuv-custom-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let ids = ["a", "b", "c"]
        final class Registry: @unchecked Sendable { var nodes: [NodeID: HostedNode] = [:]; let lock = NSLock() }
        let reg = Registry()
        var machines: [NodeID: LockedCounter] = [:]
        for id in ids {
            let m = LockedCounter()
            machines[id] = m
            var peers: [NodeID: String] = [:]
            for p in ids where p != id { peers[p] = "127.0.0.1:1" }
            let cfg = RuntimeNodeConfig(id: id, dataDir: "\(dir)/\(id)", listenAddress: "127.0.0.1:0", peers: peers,
                                        settings: ClusterSettings(heartbeatPeriod: 20_000_000, electionTimeoutMin: 150_000_000, electionTimeoutMax: 300_000_000))
            let n = try host.startNode(cfg, stateMachine: m, customSend: { to, frame in
                reg.lock.lock(); let target = reg.nodes[to]; reg.lock.unlock()
                target?.deliver(frame: frame)
            })
            reg.lock.lock(); reg.nodes[id] = n; reg.lock.unlock()
        }
        let leaderNode = { reg.nodes.values.first { $0.status()?.role == .leader } }
        #expect(waitUntil { leaderNode() != nil })
        #expect(leaderNode()?.submitSync(Array("4".utf8), timeout: 3) == .applied(Array("4".utf8)))
        #expect(waitUntil { machines.values.allSatisfy { $0.total == 4 } })
    }
}
