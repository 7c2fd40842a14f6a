import Testing
import RaftCore
import RaftSim

/// The checker itself: it must accept every legal history (a checker that cries wolf makes every
/// large seed run useless) and still report real violations.
@Suite struct SafetyCheckerTests {
    func checked(_ c: SimCluster) -> SafetyChecker {
        let checker = SafetyChecker()
        checker.attach(to: c)
        c.afterStep = { checker.check(c) }
        return checker
    }

    /// Leader completeness is about leaders of terms after the entry was committed. Here S3
    /// leads term 2, cut off, while S1 wins term 3 and commits a term-1 entry S3 never had:
    /// S3 is a stale leader that lacks a committed entry, which Raft allows.
    @Test func aStaleLeaderOfAnOlderTermMayLackALaterCommit() {
        let c = SimCluster(SimCluster.Options(nodeCount: 5, preVote: false))
        let checker = checked(c)
        let (s1, s2, s3, s4, s5) = (c.id(1), c.id(2), c.id(3), c.id(4), c.id(5))
        c.elect(s1)
        c.heartbeat(s1)
        c.deliverAll()
        // A term-1 entry reaches S2 only.
        c.partition([[s1, s2], [s3, s4, s5]])
        c.propose(s1, "add 7")
        c.deliverAll()
        #expect(c.node(s2).lastIndex == 2)
        #expect(c.node(s3).lastIndex == 1)
        // S3 wins term 2 with S4 and S5, but its own appends are lost.
        c.filter = { m in
            if m.from == s3, case .appendEntries = m.body { return .drop }
            return .deliver
        }
        c.leaderLost(s3)
        c.deliverAll()
        #expect(c.node(s3).role == .leader)
        #expect(c.node(s3).term == 2)
        // S3 is cut off; S1 restarts and campaigns until it wins term 3 with S2, S4 and S5.
        c.filter = nil
        c.partition([[s3], [s1, s2, s4, s5]])
        c.crash(s1)
        c.restart(s1)
        for _ in 0..<3 where c.node(s1).role != .leader || c.node(s1).term < 3 {
            c.leaderLost(s1)
            c.deliverAll()
        }
        #expect(c.node(s1).role == .leader)
        #expect(c.node(s1).term == 3)
        c.heartbeat(s1)
        c.deliverAll()
        #expect(c.node(s1).commitIndex >= 2)
        #expect(c.node(s3).role == .leader && c.node(s3).term == 2)
        #expect(c.node(s3).log.term(at: 2) == 2)
        #expect(checker.violations.isEmpty, "\(checker.violations)")
    }

    /// A leader that lacks a committed entry of an earlier term is a real violation (forced here
    /// through the test hooks, as no legal run produces one).
    @Test func aLeaderWithoutACommittedEntryIsReported() {
        let c = SimCluster(SimCluster.Options(nodeCount: 3))
        let checker = checked(c)
        let (n1, n2, n3) = (c.id(1), c.id(2), c.id(3))
        c.elect(n1)
        c.partition([[n1, n2], [n3]])
        #expect(c.runCommand("add 1", at: n1) == .applied(Array("1".utf8)))
        #expect(checker.violations.isEmpty, "\(checker.violations)")
        c.with(n3) {
            $0.testingForceTerm(5)
            $0.testingForceRole(.leader)
        }
        #expect(c.node(n3).role == .leader)
        #expect(checker.violations.contains { $0.hasPrefix("leader completeness: leader \(n3) of term 5 lacks committed index 2") },
                "\(checker.violations)")
    }

    /// Two nodes committing different entries at one index is reported.
    @Test func divergentCommitsAreReported() {
        let c = SimCluster(SimCluster.Options(nodeCount: 3))
        let checker = checked(c)
        let (n1, n2, n3) = (c.id(1), c.id(2), c.id(3))
        c.elect(n1)
        c.partition([[n1, n2], [n3]])
        #expect(c.runCommand("add 1", at: n1) == .applied(Array("1".utf8)))
        // N3 is forced to lead a later term on its own and commits a different entry at index 2.
        c.partition([[n1, n2], [n3]])
        c.with(n3) {
            $0.testingForceTerm(9)
            $0.testingForceRole(.leader)
        }
        c.propose(n3, "add 2")
        c.deliverAll()
        #expect(checker.violations.contains { $0.hasPrefix("leader completeness") }, "\(checker.violations)")
    }
}
