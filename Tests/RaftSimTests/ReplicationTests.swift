import Testing
import RaftCore
import RaftSim

/// Log replication (Raft §5.3) and the engine's batching and pipelining.
@Suite struct ReplicationTests {
    func elected(_ n: Int = 3, configure: (inout SimCluster.Options) -> Void = { _ in }) -> SimCluster {
        var o = SimCluster.Options(nodeCount: n)
        configure(&o)
        let c = SimCluster(o)
        c.elect(c.id(1))
        return c
    }

    func appends(in outbox: [Message]) -> [AppendEntries] {
        outbox.compactMap { if case .appendEntries(let ae) = $0.body { return ae } else { return nil } }
    }

    func logsEqual(_ c: SimCluster, _ a: Int, _ b: Int) -> Bool {
        let x = c.node(a), y = c.node(b)
        guard x.lastIndex == y.lastIndex else { return false }
        return (1...max(1, x.lastIndex)).allSatisfy { x.log.term(at: $0) == y.log.term(at: $0) }
    }

    @Test func proposalsThatArriveTogetherShareOneAppendPerFollower() {
        let c = elected()
        c.with(c.id(1)) { raft in
            for i in 1...5 { raft.propose(Array("add \(i)".utf8), id: UInt64(100 + i)) }
        }
        let aes = appends(in: c.node(1).outbox)
        #expect(aes.count == 2)
        #expect(aes.allSatisfy { $0.entries.count == 5 })
        c.deliverAll()
        #expect(c.node(1).total == 15)
        #expect((101...105).allSatisfy { c.outcome(UInt64($0)) != nil })
    }

    @Test func severalAppendsAreInFlightPerFollower() {
        let c = elected { $0.settings.maxEntriesPerMessage = 2; $0.settings.maxInflight = 3 }
        c.deliverAll()
        // Ten separate proposals, each flushed on its own, with no acknowledgements yet.
        for i in 1...10 { c.propose(c.id(1), "add \(i)") }
        let toN2 = appends(in: c.node(1).outbox).count / 2
        #expect(toN2 == 3)  // the window, not one round trip per command
        c.deliverAll()
        #expect(c.node(1).total == 55)
        c.heartbeat(c.id(1))
        c.deliverAll()
        #expect(c.node(2).total == 55 && c.node(3).total == 55)
    }

    @Test func appendsNeverCarryMoreThanTheMaximumEntries() {
        let c = elected { $0.settings.maxEntriesPerMessage = 4 }
        c.with(c.id(1)) { raft in
            for i in 1...30 { raft.propose(Array("add \(i)".utf8), id: UInt64(i)) }
        }
        #expect(appends(in: c.node(1).outbox).allSatisfy { $0.entries.count <= 4 })
        c.deliverAll()
        #expect(c.node(1).total == 465)
    }

    @Test func longCatchUpCompletesInBatches() {
        let c = elected()
        let (n1, n2, n3) = (c.id(1), c.id(2), c.id(3))
        c.runCommand("add 1")
        c.partition([[n1, n2], [n3]])
        let maxEntries = Int(c.options.settings.maxEntriesPerMessage)
        for _ in 0..<(5 * maxEntries + 2) { c.runCommand("add 1") }
        #expect(c.node(2).total == Int64(5 * maxEntries + 3))
        #expect(c.node(3).total == 1)
        c.heal()
        var largest = 0
        c.filter = { m in
            if case .appendEntries(let ae) = m.body, m.to == n3 { largest = max(largest, ae.entries.count) }
            return .deliver
        }
        c.heartbeat(n1)
        c.deliverAll()
        c.heartbeat(n1)
        c.deliverAll()
        #expect(c.node(3).total == Int64(5 * maxEntries + 3))
        #expect(logsEqual(c, 1, 3))
        #expect(largest == maxEntries)
        #expect(c.node(1).events.contains(.resync(.sendingBackdown, peer: n3)))
        #expect(c.node(1).events.contains(.resync(.sendingCatchup, peer: n3)))
    }

    @Test func conflictingUncommittedEntriesAreRewritten() {
        let c = elected()
        let (n1, n2, n3) = (c.id(1), c.id(2), c.id(3))
        c.runCommand("add 1")
        // N1 keeps appending alone: six entries nobody else has.
        c.partition([[n1], [n2, n3]])
        for i in 0..<6 { c.propose(n1, "add \(100 + i)") }
        c.deliverAll()
        // N2 and N3 elect N2 and commit entries of a newer term at the same indexes.
        c.leaderLost(n2)
        c.deliverAll()
        for _ in 0..<3 { c.runCommand("add 2", at: n2) }
        c.heal()
        c.heartbeat(n2)
        c.deliverAll()
        c.heartbeat(n2)
        c.deliverAll()
        #expect(logsEqual(c, 1, 2))
        #expect(c.node(1).total == 7)
        #expect(c.node(1).commitIndex == c.node(2).commitIndex)
    }

    @Test func commandsSurviveALeaderChange() {
        let c = elected()
        let (n1, n2) = (c.id(1), c.id(2))
        for _ in 0..<4 { c.runCommand("add 5") }
        c.crash(n1)
        c.leaderLost(n2)
        c.deliverAll()
        #expect(c.node(2).role == .leader)
        #expect(c.runCommand("add 1", at: n2) == .applied(Array("21".utf8)))
        c.restart(n1)
        c.heartbeat(n2)
        c.deliverAll()
        c.heartbeat(n2)
        c.deliverAll()
        #expect(c.node(1).total == 21)
        #expect(c.node(1).leaderID == n2)
    }

    @Test func followersApplyEachCommittedEntryExactlyOnce() {
        let c = elected()
        for i in 1...5 { c.runCommand("add \(i)") }
        // Duplicate and replay old appends at a follower: nothing applies twice.
        let n2 = c.id(2)
        c.filter = { m in m.to == n2 ? .hold : .deliver }
        c.runCommand("add 100")
        c.filter = nil
        let held = c.held
        c.releaseHeld()
        for m in held { c.inject(m) }
        c.deliverAll()
        c.heartbeat(c.id(1))
        c.deliverAll()
        let indexes = c.node(2).machine.applied.map(\.index)
        #expect(indexes == Array(Set(indexes)).sorted())
        #expect(c.node(2).total == 115)
    }

    @Test func heartbeatCarriesCommitAndLostAppendsAreResent() {
        let c = elected()
        let (n1, n3) = (c.id(1), c.id(3))
        c.deliverAll()
        // Every append to N3 is lost for a while.
        c.filter = { m in m.to == n3 ? .drop : .deliver }
        for _ in 0..<3 { c.runCommand("add 1") }
        #expect(c.node(3).total == 0)
        c.filter = nil
        c.heartbeat(n1)
        c.deliverAll()
        c.heartbeat(n1)
        c.deliverAll()
        #expect(c.node(3).total == 3)
        #expect(c.node(3).commitIndex == c.node(1).commitIndex)
    }
}
