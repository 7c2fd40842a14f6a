import Testing
import RaftCore
import RaftSim

/// The single-server change rule's 2015 correction (Ongaro, raft-dev, "bug in single-server
/// membership changes"): a leader must not start a configuration change before it has committed
/// an entry of its own term. Without that rule a new leader can commit a change under a quorum
/// that does not overlap the quorum of an uncommitted change from the previous term, and two
/// leaders commit different entries at the same index.
///
/// Both histories below start with four voters S1–S4 and one entry per message:
/// 1. S1 (term 1) adds S5; the config {S1..S5} reaches only S5. S1 crashes.
/// 2. S2 wins term 2 with S3 and S4; its term-start entry reaches S3 only.
/// 3. S2 at once removes S1 (or adds S6) and a client proposes a command.
/// 4. S1 restarts cut off with S4 and S5, wins term 3 under {S1..S5} and commits.
@Suite struct MembershipSafetyTests {
    struct History {
        let c: SimCluster
        let checker = SafetyChecker()
        var s: [NodeID] { c.ids }

        init() {
            var o = SimCluster.Options(nodeCount: 4, preVote: false)
            o.settings.maxEntriesPerMessage = 1
            c = SimCluster(o)
            checker.attach(to: c)
            let checker = self.checker, c = self.c
            c.afterStep = { checker.check(c) }
        }

        /// Steps 1 and 2: returns with S2 leading term 2, its term-start entry on S3 only.
        func setUp() {
            let (s1, s2, s4) = (c.id(1), c.id(2), c.id(4))
            c.elect(s1)
            c.heartbeat(s1)
            c.deliverAll()
            let s5 = "sim://5"
            // S1's appends reach S5 only, so the config adding S5 stays uncommitted.
            c.filter = { m in
                if m.from == s1, m.to != s5, case .appendEntries(let ae) = m.body, !ae.entries.isEmpty { return .drop }
                return .deliver
            }
            c.join(s5, via: s1)
            c.deliverAll()
            #expect(c.node(s1).raft?.config.memberIDs.contains(s5) == true)
            #expect(c.node(s5).lastIndex == 2)
            #expect(c.node(c.id(2)).lastIndex == 1)
            c.crash(s1)

            // S2's appends do not reach S4; its votes do.
            c.filter = { m in
                if m.from == s2, m.to == s4, case .appendEntries = m.body { return .drop }
                return .deliver
            }
            // Past every follower's lease of S1, S2's election timer fires.
            c.leaderLost(s2)
            c.deliverAll()
            #expect(c.node(s2).role == .leader)
            #expect(c.node(s2).term == 2)
            #expect(c.node(c.id(3)).lastIndex == 2)
            #expect(c.node(s4).lastIndex == 1)
        }

        /// Step 4: S1 restarts with S4 and S5 while S2 and S3 are cut off, and campaigns.
        func oldLeaderReturns() -> UInt64 {
            let (s1, s2, s3, s4) = (c.id(1), c.id(2), c.id(3), c.id(4))
            let s5 = "sim://5"
            c.filter = nil
            c.partition([[s1, s4, s5], [s2, s3]])
            c.restart(s1)
            for _ in 0..<3 where c.node(s1).role != .leader {
                c.leaderLost(s1)
                c.deliverAll()
            }
            var rid: UInt64 = 0
            if c.node(s1).role == .leader {
                rid = c.propose(s1, "add 100")
                c.deliverAll()
                c.heartbeat(s1)
                c.deliverAll()
            }
            _ = s2; _ = s3
            return rid
        }
    }

    @Test func aNewLeaderDefersARemovalUntilItsTermHasACommittedEntry() {
        let h = History()
        h.setUp()
        let (s1, s2) = (h.c.id(1), h.c.id(2))
        let removal = h.c.removeServer(s1, at: s2)
        let command = h.c.propose(s2, "add 1")
        h.c.deliverAll()
        // Without the rule the removal commits under {S2,S3,S4} with S3 alone and the command
        // is acknowledged; with it nothing of term 2 can commit without S4.
        #expect(h.c.outcome(removal) == nil)
        #expect(h.c.outcome(command) == nil)
        #expect(h.c.node(s2).raft?.config.memberIDs.contains(s1) == true)
        #expect(h.c.node(s2).commitIndex == 1)

        let late = h.oldLeaderReturns()
        #expect(h.c.node(s1).role == .leader)
        #expect(h.c.outcome(late) == .applied(Array("100".utf8)))
        #expect(h.checker.violations.isEmpty, "\(h.checker.violations)")

        // After the heal S2 steps down: the deferred removal is answered, the command lost.
        h.c.heal()
        h.c.heartbeat(s1)
        h.c.deliverAll()
        h.c.settle()
        #expect(h.c.node(s2).role == .follower)
        #expect(h.c.outcome(removal) != nil && h.c.outcome(removal) != .applied([]))
        #expect(h.c.outcome(command) != .applied(Array("1".utf8)))
        #expect(h.c.inSync(h.s), "\(h.c.syncDescription(h.s))")
        #expect(h.checker.violations.isEmpty, "\(h.checker.violations)")
    }

    @Test func aNewLeaderDefersAnAdditionUntilItsTermHasACommittedEntry() {
        let h = History()
        h.setUp()
        let s2 = h.c.id(2)
        let s6 = "sim://6"
        let join = h.c.join(s6, via: s2)
        h.c.deliverAll()
        let command = h.c.propose(s2, "add 1")
        h.c.deliverAll()
        #expect(h.c.outcome(join) == nil)
        #expect(h.c.outcome(command) == nil)
        #expect(h.c.node(s2).raft?.config.memberIDs.contains(s6) == false)
        #expect(h.c.node(s2).commitIndex == 1)

        let late = h.oldLeaderReturns()
        #expect(h.c.outcome(late) == .applied(Array("100".utf8)))
        #expect(h.checker.violations.isEmpty, "\(h.checker.violations)")
        h.c.heal()
        h.c.heartbeat(h.c.id(1))
        h.c.deliverAll()
        h.c.settle()
        #expect(h.c.outcome(command) != .applied(Array("1".utf8)))
        #expect(h.checker.violations.isEmpty, "\(h.checker.violations)")
    }

    /// The deferral is short in a healthy cluster: once the term-start entry commits, the
    /// deferred change runs by itself.
    @Test func aDeferredChangeRunsOnceTheTermStartEntryCommits() {
        let c = SimCluster(SimCluster.Options(nodeCount: 3))
        let (n1, n2, n3) = (c.id(1), c.id(2), c.id(3))
        c.filter = { m in
            if case .appendEntries = m.body { return .hold }
            return .deliver
        }
        c.campaign(n1)
        c.deliverAll()
        #expect(c.node(n1).role == .leader)
        let removal = c.removeServer(n3, at: n1)
        var next = ClusterSettings.default
        next.heartbeatPeriod = 20_000_000
        let settingsID = c.newRequestID()
        c.with(n1) { $0.updateSettings(next, requestID: settingsID) }
        c.deliverAll()
        #expect(c.outcome(removal) == nil)
        // One change at a time: the second request is refused, not queued behind the first.
        #expect(c.outcome(settingsID) == .rejected(.changeInProgress))
        #expect(c.node(n1).raft?.config.voterIDs == [n1, n2, n3])
        c.filter = nil
        c.releaseHeld()
        c.deliverAll()
        #expect(c.outcome(removal) == .applied([]))
        #expect(c.node(n1).raft?.config.voterIDs == [n1, n2])
    }

    /// A leader that loses its term before committing in it answers the deferred change.
    @Test func aDeferredChangeIsAnsweredWhenLeadershipEnds() {
        let c = SimCluster(SimCluster.Options(nodeCount: 3))
        let (n1, n2, n3) = (c.id(1), c.id(2), c.id(3))
        c.filter = { m in
            if m.from == n1, case .appendEntries = m.body { return .drop }
            return .deliver
        }
        c.campaign(n1)
        c.deliverAll()
        let removal = c.removeServer(n3, at: n1)
        let exit = c.exitCluster(n1)
        c.deliverAll()
        #expect(c.outcome(removal) == nil)
        #expect(c.outcome(exit) == .rejected(.changeInProgress))
        c.filter = nil
        c.leaderLost(n2)
        c.deliverAll()
        #expect(c.node(n2).role == .leader)
        #expect(c.node(n1).role == .follower)
        #expect(c.outcome(removal) == .redirect(leader: n2, address: ""))
    }
}
