import Testing
import RaftCore
import RaftSim

/// The simulator's finer network controls: selective release of held messages, delivery by
/// count and by link, one-way cuts, per-link loss and delay, and crashes that lose unsynced
/// writes in memory.
@Suite struct NetworkTests {
    func isAppend(_ m: Message) -> Bool { if case .appendEntries = m.body { return true } else { return false } }

    @Test func releaseHeldTakesAPredicateALimitAndAnOrder() {
        let c = SimCluster.elected()
        let (n1, n2, n3) = (c.id(1), c.id(2), c.id(3))
        c.filter = { m in m.from == n1 ? .hold : .deliver }
        c.heartbeat(n1)
        c.heartbeat(n1)
        c.deliverAll()
        #expect(c.held.count == 4)
        c.filter = nil
        // Only messages to N3, one of them, the newest.
        let newest = c.held.last { $0.to == n3 }
        #expect(c.releaseHeld(where: { $0.to == n3 }, limit: 1, order: .newestFirst) == 1)
        #expect(c.node(n3).inbox == [newest!])
        #expect(c.held.count == 3)
        // The rest in a chosen order: by receiver, descending.
        #expect(c.releaseHeld(order: .by { $0.to > $1.to }) == 3)
        #expect(c.held.isEmpty)
        #expect(c.node(n3).inbox.count == 2 && c.node(n2).inbox.count == 2)
    }

    @Test func aReleasedMessageDoesNotCrossAPartition() {
        let c = SimCluster.elected()
        let (n1, n2, n3) = (c.id(1), c.id(2), c.id(3))
        c.filter = { _ in .hold }
        c.heartbeat(n1)
        c.transmit(n1)
        c.filter = nil
        #expect(c.held.count == 2)
        c.partition([[n1, n2], [n3]])
        let lostBefore = c.lost.count
        #expect(c.releaseHeld() == 1)
        #expect(c.node(n2).inbox.count == 1)
        #expect(c.node(n3).inbox.isEmpty)
        #expect(c.lost.count == lostBefore + 1)
    }

    @Test func deliverHandlesExactlyKMessages() {
        let c = SimCluster.elected()
        c.heartbeat(c.id(1))
        #expect(c.deliver(1) == 1)
        let waiting = c.ids.map { c.node($0).inbox.count + c.node($0).outbox.count }.reduce(0, +)
        #expect(waiting > 0)
        #expect(c.deliver(100) == 3)
        #expect(c.deliver(5) == 0)
    }

    @Test func deliveringOnlyBetweenTwoNodesLeavesTheRestQueued() {
        let c = SimCluster.elected()
        let (n1, n2, n3) = (c.id(1), c.id(2), c.id(3))
        c.propose(n1, "add 1")
        #expect(c.deliverAll(between: n1, and: n2) >= 2)
        // The entry committed with N2 alone; N3's append still waits in its inbox.
        #expect(c.node(n1).commitIndex == 2)
        #expect(c.node(n3).inbox.count == 1 && isAppend(c.node(n3).inbox[0]))
        #expect(c.node(n3).lastIndex == 1)
        c.deliverAll()
        #expect(c.node(n3).lastIndex == 2)
    }

    /// N1 can reach N3 but N3's answers are lost: N1 never counts N3's acknowledgement.
    @Test func aOneWayCutLosesOnlyOneDirection() {
        let c = SimCluster.elected()
        let (n1, n2, n3) = (c.id(1), c.id(2), c.id(3))
        c.cut(from: n3, to: n1)
        #expect(!c.connected(n3, n1) && c.connected(n1, n3))
        c.crash(n2)
        c.propose(n1, "add 1")
        c.deliverAll()
        #expect(c.node(n3).lastIndex == 2)
        #expect(c.node(n1).commitIndex == 1)
        #expect(c.progress(of: n3, at: n1)?.match == 1)
        c.uncut(from: n3, to: n1)
        c.settle()
        #expect(c.node(n1).commitIndex == 2)
    }

    @Test func aLossyLinkLosesAShareOfItsMessages() {
        let c = SimCluster.elected()
        let (n1, n2, n3) = (c.id(1), c.id(2), c.id(3))
        c.setLinkFault(from: n1, to: n2, SimCluster.LinkFault(loss: 0.5))
        var reached = (n2: 0, n3: 0)
        c.addFilter { m in
            if m.from == n1 && m.to == n2 { reached.n2 += 1 }
            if m.from == n1 && m.to == n3 { reached.n3 += 1 }
            return .deliver
        }
        let lostBefore = c.lost.count
        for _ in 0..<200 {
            c.heartbeat(n1)
            c.deliverAll()
        }
        let lostToN2 = c.lost.count - lostBefore
        // Filters see all 200 to each; about half of N2's are lost (binomial, seeded).
        #expect(reached.n2 == 200 && reached.n3 == 200)
        #expect((70...130).contains(lostToN2), "\(lostToN2)")
    }

    @Test func aDelayedLinkDeliversOnlyOnceVirtualTimePasses() {
        let c = SimCluster.elected()
        let (n1, n2) = (c.id(1), c.id(2))
        c.setLinkFault(from: n1, to: n2, SimCluster.LinkFault(delay: 5_000_000))
        c.propose(n1, "add 1")
        c.deliverAll()
        #expect(c.node(n2).lastIndex == 1)
        #expect(c.inFlight.count == 1)
        c.advance(by: 4_000_000)
        c.deliverAll()
        #expect(c.node(n2).lastIndex == 1)
        c.advance(by: 1_000_000)
        c.deliverAll()
        #expect(c.node(n2).lastIndex == 2)
        #expect(c.inFlight.isEmpty)
    }

    /// With `memoryLogLosesUnsyncedWrites`, a follower that crashes before its sync forgets
    /// the entries it appended; a plain MemoryLog keeps them.
    @Test func aCrashLosesUnsyncedWritesInMemory() {
        for loses in [true, false] {
            let c = SimCluster.elected { $0.memoryLogLosesUnsyncedWrites = loses }
            let (n1, n2) = (c.id(1), c.id(2))
            c.runCommand("add 1")
            c.node(n2).syncsDeferred = true
            c.propose(n1, "add 2")
            c.deliverAll()
            #expect(c.node(n2).lastIndex == 3)
            c.crash(n2)
            c.restart(n2)
            #expect(c.node(n2).lastIndex == (loses ? 2 : 3), "loses=\(loses)")
            #expect(c.node(n2).term == 1)
            c.node(n2).syncsDeferred = false
            c.settle()
            #expect(c.inSync(c.ids), "\(c.syncDescription(c.ids))")
        }
    }

    /// What a sync made durable survives: the vote and the term too.
    @Test func syncedWritesSurviveACrash() throws {
        let log = SyncedMemoryLog()
        try log.saveHardState(HardState(term: 3, votedFor: "a"))
        try log.append([Entry(index: 1, term: 3, kind: .command, data: [1])])
        try log.sync()
        try log.append([Entry(index: 2, term: 3, kind: .command, data: [2])])
        try log.saveHardState(HardState(term: 4, votedFor: nil))
        #expect(log.unsyncedWrites == 2)
        log.closeWithoutSync()
        let again = log.reopened()
        #expect(again.hardState == HardState(term: 3, votedFor: "a"))
        #expect(again.lastIndex == 1)
        #expect(try again.entry(at: 1).data == [1])
    }
}
