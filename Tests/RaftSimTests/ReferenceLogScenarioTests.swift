import Foundation
import Testing
import RaftCore
import RaftStorage
import RaftSim

extension FileLogCluster {
    /// Deletes `id`'s log directory while the node is down, so it restarts with an empty log.
    func wipe(_ id: NodeID) throws {
        precondition(c.node(id).crashed, "wipe a node's disk only while it is down")
        try FileManager.default.removeItem(atPath: root + "/" + id.filter { $0.isLetter || $0.isNumber })
    }
}

/// Log scenarios of the reference library's suite (`raftengine-behaviour.md` §4) that had no
/// equivalent here: nodes restarting with an empty log, a log closed before its node stops, and
/// a follower whose state machine fails under the halt policy.
@Suite struct ReferenceLogScenarioTests {
    /// test_empty_log_1: the leader crashes after 22 commands and comes back with an empty
    /// log and a fresh state machine. With timers running it is a follower of the new leader,
    /// with the whole log and the total of the 22 commands, within two election timeouts.
    @Test func aLeaderRestartingWithAnEmptyLogCatchesUp() throws {
        let f = FileLogCluster()
        let c = f.c
        let (n1, n2, n3) = (c.id(1), c.id(2), c.id(3))
        c.elect(n1)
        c.proposeBatch(22)
        #expect(c.node(n1).total == 22)
        c.crash(n1)
        c.leaderLost(n2)
        c.deliverAll()
        #expect(c.node(n2).role == .leader)
        try f.wipe(n1)
        c.restart(n1)
        #expect(c.node(n1).lastIndex == 0 && c.node(n1).term == 0 && c.node(n1).total == 0)

        c.enableTimers()
        c.run(for: 2 * c.options.settings.electionTimeoutMax)
        #expect(c.node(n1).role == .follower)
        #expect(c.node(n1).leaderID == c.leader?.id)
        #expect(c.node(n1).total == 22)
        #expect(c.inSync([n1, n2, n3]), "\(c.syncDescription([n1, n2, n3]))")
    }

    /// test_empty_log_2: a follower restarts with an empty log under the same leader. Raft
    /// assumes a log is durable, and here our engine differs from the seed's: our leader (like
    /// etcd's) takes a rejection of entries the follower already acknowledged for a stale
    /// answer, so its heartbeats do not refill the follower (the seed's leader did within five
    /// heartbeat periods). A member whose disk is gone is to be replaced (docs/operations.md,
    /// "Replacing a dead node"); a new leader, which starts with fresh progress, refills it.
    @Test func aFollowerRestartingWithAnEmptyLogWaitsForTheNextLeader() throws {
        let f = FileLogCluster()
        let c = f.c
        let (n1, n2, n3) = (c.id(1), c.id(2), c.id(3))
        c.elect(n1)
        c.proposeBatch(3)
        let acknowledged = c.node(n1).lastIndex
        c.crash(n3)
        try f.wipe(n3)
        c.restart(n3)
        #expect(c.node(n3).lastIndex == 0)

        c.node(n1).timersEnabled = true
        c.run(for: 5 * c.options.settings.heartbeatPeriod)
        #expect(c.node(n3).leaderID == n1 && c.node(n3).term == 1)
        #expect(c.node(n3).lastIndex == 0)
        #expect(c.progress(of: n3, at: n1)?.match == acknowledged)
        c.node(n1).timersEnabled = false

        c.with(n1) { $0.testingForceRole(.follower) }
        c.leaderLost(n2)
        c.deliverAll()
        #expect(c.node(n2).role == .leader)
        c.settle()
        #expect(c.node(n3).lastIndex == c.node(n2).lastIndex)
        #expect(c.node(n3).total == 3)
        #expect(c.inSync([n1, n2, n3]), "\(c.syncDescription([n1, n2, n3]))")
    }

    /// test_shutdown_mis_order: the host closes a node's log before stopping the node. Stopping
    /// it then is harmless, and the others carry on.
    @Test func closingTheLogBeforeStoppingTheNodeIsHarmless() throws {
        let f = FileLogCluster()
        let c = f.c
        let (n1, n2, n3) = (c.id(1), c.id(2), c.id(3))
        c.elect(n1)
        #expect(c.runCommand("add 1") == .applied(Array("1".utf8)))
        let eventsBefore = c.node(n2).events.count
        try #require(c.node(n2).log as? FileLog).close()
        c.with(n2) { $0.stop() }
        #expect(!c.node(n2).isUp)
        #expect(c.node(n2).raft?.stopped == true)
        #expect(c.node(n2).events.count == eventsBefore)
        #expect(c.runCommand("add 1") == .applied(Array("2".utf8)))
        #expect(c.node(n3).total == 2)
    }

    /// A node whose log is closed under it while it runs stops itself at its next write, with
    /// a storage failure, instead of running on without a log.
    @Test func aNodeWhoseLogWasClosedStopsAtItsNextWrite() throws {
        let f = FileLogCluster()
        let c = f.c
        let (n1, n2, n3) = (c.id(1), c.id(2), c.id(3))
        c.elect(n1)
        try #require(c.node(n3).log as? FileLog).close()
        #expect(c.runCommand("add 1") == .applied(Array("1".utf8)))
        #expect(!c.node(n3).isUp)
        let stops = c.node(n3).events.compactMap { e -> StopReason? in
            if case .stopCommanded(let why) = e { return why } else { return nil }
        }
        #expect(stops.count == 1)
        if case .storageFailed? = stops.first {} else { Issue.record("stopped for \(stops), not a storage failure") }
        #expect(c.node(n2).total == 1)
        #expect(c.runCommand("add 1") == .applied(Array("2".utf8)))
    }

    /// The non-idempotent apply failure at a follower (the halt policy): the follower marks its
    /// log broken and stops; the leader and the other follower go on committing. The node
    /// refuses to start on a broken log until the host clears the mark; then it replays the
    /// committed log into a fresh machine and catches up. Unlike the seed's follower, ours
    /// reports the stop to its host (`stopCommanded`), as a leader does.
    @Test func aFollowerWhoseApplyFailsUnderHaltStopsAndRecoversOnceFixed() throws {
        let c = SimCluster.elected { $0.settings.applyPolicy = .halt }
        let (n1, n2, n3) = (c.id(1), c.id(2), c.id(3))
        #expect(c.runCommand("add 1") == .applied(Array("1".utf8)))
        c.node(n3).machine.failing = true
        #expect(c.runCommand("add 1") == .applied(Array("2".utf8)))
        let failed = c.node(n1).commitIndex
        #expect(c.node(n3).events.contains(.applyFailed(index: failed, reason: "injected failure", policy: .halt)))
        #expect(c.node(n3).events.contains(.stopCommanded(reason: .applyHalted(index: failed, reason: "injected failure"))))
        #expect(c.node(n3).log.isBroken)
        #expect(!c.node(n3).isUp)
        #expect(c.node(n3).raft?.appliedIndex == failed - 1)
        #expect(!c.node(n1).log.isBroken && !c.node(n2).log.isBroken)
        #expect(c.runCommand("add 1") == .applied(Array("3".utf8)))
        #expect(c.node(n2).total == 3)

        // A broken log keeps the node down.
        c.restart(n3)
        #expect(!c.node(n3).isUp)
        #expect(c.node(n3).raft == nil)
        try c.node(n3).log.setBroken(false)
        c.restart(n3)
        #expect(c.node(n3).isUp)
        c.settle()
        #expect(c.node(n3).total == 3)
        #expect(c.inSync([n1, n2, n3]), "\(c.syncDescription([n1, n2, n3]))")
    }
}
