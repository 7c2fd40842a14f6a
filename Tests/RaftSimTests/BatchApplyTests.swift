import Testing
import RaftCore
import RaftSim

/// The batch path of applying (C and Python hosts): runs of committed commands reach the
/// machine in one call, each command still gets its own outcome, and the apply policies hold.
@Suite struct BatchApplyTests {
    func elected(_ policy: ApplyPolicy = .reject) -> SimCluster {
        SimCluster.elected {
            $0.batchApply = true
            $0.settings.applyPolicy = policy
        }
    }

    @Test func runsOfCommandsArriveTogetherAndEachGetsItsOwnResult() {
        let c = elected()
        let rids = ["add 1", "fail not a number", "add 2", "add 3"].map { c.propose(c.id(1), $0) }
        c.deliverAll()
        c.heartbeat(c.id(1))
        c.deliverAll()
        #expect(rids.map { c.outcome($0) } == [.applied(Array("1".utf8)), .applyError("not a number"),
                                               .applied(Array("3".utf8)), .applied(Array("6".utf8))])
        for n in 1...3 { #expect(c.node(n).total == 6) }
        #expect(c.inSync(c.ids), "\(c.syncDescription(c.ids))")
        // A follower learns the commit of all four at once and applies them in one call.
        #expect(c.node(2).batching?.batchSizes.contains(4) == true, "\(String(describing: c.node(2).batching?.batchSizes))")
    }

    @Test func underRetryTheBatchStopsAtTheFailureAndResumesInOrder() {
        let c = elected(.retry)
        c.runCommand("add 1")
        c.node(3).machine.failing = true
        let rids = ["add 1", "add 1", "add 1"].map { c.propose(c.id(1), $0) }
        c.deliverAll()
        c.heartbeat(c.id(1))
        c.deliverAll()
        #expect(rids.map { c.outcome($0) } == ["2", "3", "4"].map { .applied(Array($0.utf8)) })
        #expect(c.node(3).total == 1)
        #expect(c.node(3).raft?.appliedIndex == 2)
        c.node(3).machine.failing = false
        c.enableTimers()
        c.run(for: 200_000_000)
        #expect(c.node(3).total == 4)
        #expect(c.node(3).machine.applied.map(\.index) == [2, 3, 4, 5])
    }
}
