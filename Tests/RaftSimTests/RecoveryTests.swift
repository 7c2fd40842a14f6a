import Testing
import RaftCore
import RaftSim

/// Operator repairs for what Raft cannot recover from by itself.
@Suite struct RecoveryTests {
    /// Quorum loss: three of five nodes are gone for good; the survivors can elect no one. The
    /// operator makes one survivor the sole voter; it leads again, with every entry it had.
    @Test func aSurvivorForcedToBeTheSoleVoterLeadsWithItsLog() throws {
        let c = SimCluster.elected { $0.nodeCount = 5 }
        for _ in 0..<5 { _ = c.runCommand("add 2") }
        for n in 3...5 { c.crash(c.id(n)) }
        // No majority: a command cannot commit.
        let stuck = c.propose(c.id(1), "add 100")
        _ = c.deliverAll()
        #expect(c.outcome(stuck) == nil)
        c.crash(c.id(2))
        c.crash(c.id(1))

        let (before, after) = try LogRecovery.forceSoleVoter(c.node(1).log, id: c.id(1))
        #expect(before.voterIDs.count == 5)
        #expect(after.voterIDs == [c.id(1)])
        #expect(try LogRecovery.configuration(of: c.node(1).log) == after)

        c.restart(c.id(1))
        c.elect(c.id(1))
        #expect(c.node(1).role == .leader)
        #expect(c.runCommand("add 1") == .applied(Array("111".utf8)))  // 5×2, the stuck 100, then 1
        #expect(c.node(1).raft!.status.config.voterIDs == [c.id(1)])
    }

    @Test func aNodeNotInItsOwnConfigurationCannotBeForced() {
        let c = SimCluster.elected()
        c.crash(c.id(1))
        #expect(throws: RaftError.unknownNode("sim://n9")) { try LogRecovery.forceSoleVoter(c.node(1).log, id: "sim://n9") }
    }

    /// A halted apply marks the log broken; once cleared, the node replays into its machine.
    @Test func clearingTheBrokenMarkLetsTheNodeStartAndReplay() throws {
        let c = SimCluster.elected { $0.settings.applyPolicy = .halt }
        _ = c.runCommand("add 3")
        c.node(3).machine.failing = true
        _ = c.runCommand("add 4")
        c.heartbeat(c.id(1))
        _ = c.deliverAll()
        #expect(c.node(3).raft == nil || c.node(3).raft!.stopped)
        #expect(c.node(3).log.isBroken)
        c.crash(c.id(3))
        c.node(3).machine.failing = false
        try LogRecovery.clearBroken(c.node(3).log)
        #expect(!c.node(3).log.isBroken)
        c.restart(c.id(3))
        c.heartbeat(c.id(1))
        _ = c.deliverAll()
        #expect(c.node(3).total == 7)
    }
}
