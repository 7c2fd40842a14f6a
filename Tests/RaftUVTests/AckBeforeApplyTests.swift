import Foundation
import Testing
import RaftCore
import RaftUV
import RaftTestSupport

/// A counter whose applies can be held at a gate: from `gateFrom` on, `apply` waits (on the
/// node's loop thread) until the gate opens.
final class GatedCounter: StateMachine, @unchecked Sendable {
    private let cond = NSCondition()
    private var gateFrom: LogIndex = .max
    private var waitingAt: LogIndex?
    private var appliedIndexes: [LogIndex] = []

    func apply(_ command: [UInt8], index: LogIndex) throws -> [UInt8] {
        cond.lock(); defer { cond.unlock() }
        while index >= gateFrom {
            waitingAt = index
            cond.wait()
        }
        waitingAt = nil
        appliedIndexes.append(index)
        return Array(String(appliedIndexes.count).utf8)
    }
    func snapshot() throws -> [UInt8] { [] }
    func restore(_ data: [UInt8]) throws {}

    func close(from index: LogIndex) { cond.lock(); gateFrom = index; cond.unlock() }
    func open() { cond.lock(); gateFrom = .max; cond.broadcast(); cond.unlock() }
    var heldAt: LogIndex? { cond.lock(); defer { cond.unlock() }; return waitingAt }
    var applied: [LogIndex] { cond.lock(); defer { cond.unlock() }; return appliedIndexes }
}

/// A follower acknowledges the entries of an append before it applies what that append
/// committed (persist, send, then apply; `NodeOptions.deferredApply`): a slow state machine on
/// the followers does not hold up the leader's next commit.
@Suite(.serialized) struct AckBeforeApplyTests {
    @Test func followersBlockedInApplyStillAcknowledgeTheAppendThatCommittedIt() throws {
        let ids: [NodeID] = ["n1", "n2", "n3"]
        let ports = freeLoopbackPorts(3)
        let addresses = Dictionary(uniqueKeysWithValues: zip(ids, ports.map { "127.0.0.1:\($0)" }))
        let dir = NSTemporaryDirectory() + "ackapply-" + UUID().uuidString
        // A loop per node, as in production: one node's blocked apply stalls only that node.
        var hosts: [NodeID: UVHost] = [:]
        var nodes: [NodeID: HostedNode] = [:]
        var machines: [NodeID: GatedCounter] = [:]
        defer {
            for m in machines.values { m.open() }
            for h in hosts.values { h.shutdown() }
            try? FileManager.default.removeItem(atPath: dir)
        }
        // Heartbeats rare, so the leader's next append, not a heartbeat, is what tells the
        // followers of the first command's commit.
        let settings = ClusterSettings(heartbeatPeriod: 1_000_000_000, electionTimeoutMin: 5_000_000_000,
                                       electionTimeoutMax: 8_000_000_000)
        for id in ids {
            var peers = addresses
            peers[id] = nil
            let config = RuntimeNodeConfig(id: id, dataDir: "\(dir)/\(id)", listenAddress: addresses[id]!, peers: peers,
                                           clusterID: "test", settings: settings, commandTimeout: 60_000_000_000)
            let m = GatedCounter()
            let h = try UVHost()
            hosts[id] = h
            machines[id] = m
            nodes[id] = try h.startNode(config, stateMachine: m)
        }
        func leader() -> NodeID? { ids.first { nodes[$0]!.status()?.role == .leader } }
        #expect(waitUntil(60) { leader() != nil })
        let l = try #require(leader())
        let lead = nodes[l]!
        guard case .applied = lead.submitSync(Array("warm".utf8), timeout: 30) else {
            Issue.record("the first command did not apply")
            return
        }
        let warmIndex = try #require(lead.status()).commitIndex
        #expect(waitUntil(30) { ids.allSatisfy { machines[$0]!.applied.last == warmIndex } })
        let followers = ids.filter { $0 != l }
        for f in followers { machines[f]!.close(from: warmIndex + 1) }

        // A, then B from A's completion (the leader's loop thread): B's append carries A's
        // commit. Each follower must acknowledge B before it blocks applying A.
        let lock = NSLock()
        var outcomes: [String: CommandOutcome] = [:]
        let accepted = lead.submit(Array("A".utf8)) { a in
            lock.lock(); outcomes["A"] = a; lock.unlock()
            _ = lead.submit(Array("B".utf8)) { b in lock.lock(); outcomes["B"] = b; lock.unlock() }
        }
        #expect(accepted)
        let bCommitted = waitUntil(60) { lock.lock(); defer { lock.unlock() }; return outcomes["B"] != nil }
        #expect(bCommitted, "B never committed while the followers were applying A")
        lock.lock()
        let (a, b) = (outcomes["A"], outcomes["B"])
        lock.unlock()
        if case .applied = a {} else { Issue.record("A: \(String(describing: a))") }
        if case .applied = b {} else { Issue.record("B: \(String(describing: b))") }
        // Both followers are still held in A's apply: B committed on their acknowledgements
        // alone, the state machine off their acknowledgement path.
        for f in followers { #expect(machines[f]!.heldAt == warmIndex + 1) }

        for f in followers { machines[f]!.open() }
        #expect(waitUntil(30) { ids.allSatisfy { machines[$0]!.applied.suffix(2) == [warmIndex + 1, warmIndex + 2] } })
    }
}
