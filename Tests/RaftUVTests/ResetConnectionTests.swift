import Foundation
import Testing
import RaftCore
import RaftUV
import RaftTestSupport

/// Issue 11: a partition that resets connections mid-stream. A write to a reset socket raises
/// SIGPIPE, which kills the whole process unless the writing thread blocks it or the process
/// ignores it; the library must survive whatever the host did, without touching the host's
/// disposition. This test process is the host.
@Suite(.serialized) struct ResetConnectionTests {
    @Test func connectionsResetMidStreamNeitherKillTheProcessNorStopTheCluster() throws {
        try requireSIGPIPEDelivered()
        let c = try LoopbackCluster(sparePorts: 3)
        defer { c.shutdown() }
        // Every link to and from n3 goes through a proxy in front of its target's real port.
        let cut: NodeID = "n3"
        var proxies: [NodeID: FaultProxy] = [:]
        for (id, spare) in zip(c.ids, c.sparePorts) {
            proxies[id] = try FaultProxy(port: spare, targetPort: port(of: c.addresses[id]!))
        }
        defer { for p in proxies.values { p.stop() } }
        func via(_ id: NodeID) -> String { "127.0.0.1:\(proxies[id]!.port)" }
        for id in c.ids where id != cut { c.routes[id] = [cut: via(cut)] }
        c.routes[cut] = Dictionary(uniqueKeysWithValues: c.ids.filter { $0 != cut }.map { ($0, via($0)) })
        try c.startAll()
        #expect(waitUntil { c.leader != nil })
        #expect(c.submit("1") == .applied(Array("1".utf8)))
        #expect(waitUntil { c.machines.values.allSatisfy { $0.total == 1 } })
        // The cut node follows: the case to watch is a follower cut off, then catching up.
        #expect(waitUntil(20) {
            if c.leader == cut {
                let n = c.nodes[cut]!
                _ = n.waitFor(timeout: 3) { n.transferLeadership(to: "n1", completion: $0) } as CommandOutcome?
            }
            return c.leader.map { $0 != cut } ?? false
        })

        let client = SteadyClient(cluster: c)
        client.start()
        defer { client.stop() }

        // For a few seconds every connection through the proxies is reset 30 ms after it opens.
        for p in proxies.values { p.mode = .reset(after: .milliseconds(30)) }
        let resetFrom = Date()
        let resets = { proxies.values.reduce(0) { $0 + $1.counts.resets } }
        #expect(waitUntil(60) { Date().timeIntervalSince(resetFrom) >= 3 && resets() >= 20 },
                "resets: \(proxies.mapValues { $0.counts })")

        // Healed, the cluster commits again and n3 catches up with the leader.
        for p in proxies.values { p.mode = .forward }
        let appliedAtHeal = client.applied
        #expect(waitUntil(30) { client.applied >= appliedAtHeal + 10 })
        client.stop()
        #expect(c.submit("1") != nil)
        // Every node, the cut one included, applies all the leader committed.
        let caughtUp = waitUntil(30) {
            guard let l = c.leader, let commit = c.nodes[l]!.status()?.commitIndex else { return false }
            return c.ids.allSatisfy { c.nodes[$0]!.status()?.appliedIndex == commit }
                && Set(c.ids.map { c.machines[$0]!.total }).count == 1
        }
        #expect(caughtUp, "leader \(String(describing: c.leader)): \(c.ids.map { c.nodes[$0]!.status().map { "\($0.id) commit \($0.commitIndex) applied \($0.appliedIndex)" } ?? "-" })")
        // Every command the client saw applied is in the machines (timed-out ones may be too).
        #expect(c.machines[cut]!.total >= Int64(2 + client.applied))
        #expect(!c.nodes[cut]!.isStopped)
    }

    /// Callbacks run on the loop thread, so the state machine sees its signal mask.
    @Test func loopThreadsBlockSIGPIPEAndLeaveTheDispositionAlone() throws {
        final class MaskProbe: StateMachine, @unchecked Sendable {
            let lock = NSLock()
            var blocked: [Bool] = []
            func apply(_ command: [UInt8], index: LogIndex) throws -> [UInt8] {
                var mask = sigset_t()
                pthread_sigmask(SIG_BLOCK, nil, &mask)
                lock.lock(); defer { lock.unlock() }
                blocked.append(sigismember(&mask, SIGPIPE) == 1)
                return []
            }
            func snapshot() throws -> [UInt8] { [] }
            func restore(_ data: [UInt8]) throws {}
            var seen: [Bool] { lock.lock(); defer { lock.unlock() }; return blocked }
        }
        try requireSIGPIPEDelivered()
        let host = try UVHost()
        defer { host.shutdown() }
        let dir = NSTemporaryDirectory() + "raftuv-mask-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let probe = MaskProbe()
        let node = try host.startNode(RuntimeNodeConfig(id: "solo", dataDir: dir, listenAddress: "127.0.0.1:0"), stateMachine: probe)
        #expect(waitUntil { node.status()?.role == .leader })
        #expect(node.submitSync(Array("x".utf8), timeout: 5) == .applied([]))
        #expect(!probe.seen.isEmpty && probe.seen.allSatisfy { $0 }, "SIGPIPE blocked in apply: \(probe.seen)")
        #expect(sigpipeDisposition() == .default)
        var mine = sigset_t()
        pthread_sigmask(SIG_BLOCK, nil, &mine)
        #expect(sigismember(&mine, SIGPIPE) == 0, "the caller's own mask is unchanged")
    }
}

enum Disposition: Equatable { case `default`, ignored, handled }

func sigpipeDisposition() -> Disposition {
    var sa = sigaction()
    sigaction(SIGPIPE, nil, &sa)
    if sa.sa_flags & SA_SIGINFO != 0 { return .handled }
    guard let h = sa.__sigaction_handler.sa_handler else { return .default }
    return unsafeBitCast(h, to: Int.self) == 1 ? .ignored : .handled
}

/// The test proves something only if a SIGPIPE raised on a loop thread would kill us: the
/// disposition is the default (the runner does not ignore it; checked, Swift 6.3 on Linux)
/// and this thread, whose mask a new loop thread inherits, does not block it.
func requireSIGPIPEDelivered() throws {
    try #require(sigpipeDisposition() == .default)
    var mask = sigset_t()
    pthread_sigmask(SIG_BLOCK, nil, &mask)
    try #require(sigismember(&mask, SIGPIPE) == 0)
}

func port(of address: String) -> UInt16 { UInt16(address.split(separator: ":").last!)! }

/// Submits "1" to whoever leads, one command at a time, from its own thread, until stopped.
final class SteadyClient: @unchecked Sendable {
    private let cluster: LoopbackCluster
    private let lock = NSLock()
    private var stopping = false
    private var count = 0
    private var thread: Thread?
    private let finished = DispatchSemaphore(value: 0)

    init(cluster: LoopbackCluster) { self.cluster = cluster }

    var applied: Int { lock.lock(); defer { lock.unlock() }; return count }

    func start() {
        let t = Thread { [self] in
            while !(lock.withLock { stopping }) {
                guard let l = cluster.leader, let n = cluster.nodes[l] else { usleep(10_000); continue }
                if case .applied = n.submitSync(Array("1".utf8), timeout: 1) {
                    lock.withLock { count += 1 }
                } else {
                    usleep(10_000)
                }
            }
            finished.signal()
        }
        thread = t
        t.start()
    }

    /// Waits for the thread to end. Idempotent.
    func stop() {
        guard thread != nil else { return }
        thread = nil
        lock.withLock { stopping = true }
        finished.wait()
    }
}
