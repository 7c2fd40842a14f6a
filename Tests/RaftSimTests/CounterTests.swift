import Testing
import RaftCore
import RaftSim

/// The running totals a node keeps for operators count what happened, once each.
@Suite struct CounterTests {
    @Test func proposalsRefusalsElectionsAndLeaderChangesAreCounted() {
        let c = SimCluster.elected()
        let before = c.node(1).raft!.counters
        #expect(before.electionsStarted == 1)
        #expect(before.leaderChanges >= 1)
        for _ in 0..<5 { _ = c.runCommand("add 1") }
        _ = c.propose(c.id(2), "add 1")  // a follower refuses
        _ = c.deliverAll()
        let l = c.node(1).raft!.status.counters
        #expect(l.proposals == 5)
        #expect(l.refusedProposals == 0)
        let f = c.node(2).raft!.counters
        #expect(f.proposals == 0)
        #expect(f.refusedProposals == 1)
        #expect(f.electionsStarted == 0)
    }

    @Test func snapshotsTakenInstalledAndApplyFailuresAreCounted() {
        let c = SimCluster.elected()
        c.crash(c.id(3))
        for _ in 0..<10 { _ = c.runCommand("add 1") }
        _ = c.runCommand("fail bad")
        #expect(c.takeSnapshot(c.id(1)) != nil)
        #expect(c.node(1).raft!.counters.snapshotsTaken == 1)
        #expect(c.node(1).raft!.counters.applyFailures == 1)
        c.restart(c.id(3))
        c.heartbeat(c.id(1))
        _ = c.deliverAll()
        c.heartbeat(c.id(1))
        _ = c.deliverAll()
        #expect(c.node(3).raft!.counters.snapshotsInstalled == 1)
        #expect(c.node(3).total == 10)
    }
}
