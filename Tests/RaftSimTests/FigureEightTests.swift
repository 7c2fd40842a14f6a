import Testing
import RaftCore
import RaftSim

/// Raft paper §5.4.2 and Figure 8: a leader cannot conclude that an entry from an earlier term
/// is committed because it is stored on a majority; a later leader may still overwrite it. Only
/// an entry of the leader's own term is committed by counting replicas, and with it everything
/// before it.
///
/// Five servers S1..S5, one entry per append so replication can be cut between two entries,
/// pre-vote off so each election is one round. Our leaders start their term with a term-start
/// entry, which plays the part of the figure's entries written by S5 in (b) and by S1 in (c).
/// Terms are one lower than in the figure, which starts with an entry already in term 2.
@Suite struct FigureEightTests {
    let s1 = "sim://1", s2 = "sim://2", s3 = "sim://3", s4 = "sim://4", s5 = "sim://5"

    func cluster() -> (SimCluster, SafetyChecker) {
        var o = SimCluster.Options(nodeCount: 5, preVote: false)
        o.settings.maxEntriesPerMessage = 1
        let c = SimCluster(o)
        let checker = SafetyChecker()
        checker.attach(to: c)
        c.afterStep = { [unowned c] in checker.check(c) }
        return (c, checker)
    }

    func term(_ c: SimCluster, _ id: NodeID, at index: LogIndex) -> Term? { c.node(id).log.term(at: index) }

    /// Appends from `from` are dropped when they go to one of `to`, or carry an entry at one
    /// of `indexes`.
    func dropAppends(_ c: SimCluster, from: NodeID, to: Set<NodeID> = [], carrying indexes: Set<LogIndex> = []) {
        c.filter = { m in
            guard m.from == from, case .appendEntries(let ae) = m.body else { return .deliver }
            if to.contains(m.to) || ae.entries.contains(where: { indexes.contains($0.index) }) { return .drop }
            return .deliver
        }
    }

    /// `id`'s election timer fires until it wins, at most `tries` times: a first try may run
    /// in a term whose votes are already given.
    func timeOutUntilLeader(_ c: SimCluster, _ id: NodeID, tries: Int = 2) {
        for _ in 0..<tries where c.node(id).role != .leader {
            c.leaderLost(id)
            c.deliverAll()
        }
    }

    /// Figure 8 (a) to (c). Returns with S1 leading term 3, having appended its term-start
    /// entry at index 3, and index 2 (S1's command from term 1) on S1, S2 and S3.
    func runToC(_ c: SimCluster) {
        // Index 1: S1's term-1 start, committed everywhere.
        c.elect(s1)
        c.settle()
        for id in c.ids { #expect(c.node(id).commitIndex == 1) }

        // (a) S1 leads term 1 and replicates the entry at index 2 to S2 only.
        dropAppends(c, from: s1, to: [s3, s4, s5])
        c.propose(s1, "add 2")
        c.deliverAll()
        #expect(term(c, s1, at: 2) == 1 && term(c, s2, at: 2) == 1)
        #expect(c.node(s3).lastIndex == 1)
        #expect(c.node(s1).commitIndex == 1)

        // (b) S1 crashes; S5 is elected for term 2 by S3, S4 and itself (S2's log is more up
        // to date and refuses), writes a different entry at index 2 and crashes before it
        // leaves.
        c.crash(s1)
        dropAppends(c, from: s5, to: Set(c.ids))
        c.leaderLost(s5)
        c.deliverAll()
        #expect(c.node(s5).role == .leader && c.node(s5).term == 2)
        #expect(c.node(s2).raft?.votedFor != s5)
        #expect(term(c, s5, at: 2) == 2)
        c.crash(s5)

        // (c) S1 restarts (in term 1) and is elected for term 3: in term 2 only S2 can vote
        // for it. Its term-start entry goes to index 3; it brings S3 the entry at index 2, and
        // the entry at index 3 is lost.
        c.restart(s1)
        dropAppends(c, from: s1, to: [s4], carrying: [3])
        timeOutUntilLeader(c, s1)
        #expect(c.node(s1).role == .leader && c.node(s1).term == 3)
        #expect(term(c, s1, at: 3) == 3)
        c.heartbeat(s1)
        c.deliverAll()
    }

    @Test func anOldTermEntryOnAMajorityIsNotCommittedAndIsOverwritten() {
        let (c, checker) = cluster()
        runToC(c)
        // Index 2, from term 1, is on three of five servers...
        for id in [s1, s2, s3] { #expect(term(c, id, at: 2) == 1) }
        #expect(c.node(s3).lastIndex == 2 && c.node(s2).lastIndex == 2)
        // ...yet S1 does not count it committed: it is not from S1's term.
        #expect(c.node(s1).commitIndex == 1)
        for id in [s2, s3] { #expect(c.node(id).commitIndex == 1) }

        // (d) S1 crashes. S5 restarts; its last entry (index 2, term 2) is more up to date than
        // anyone else's, so S2, S3 and S4 elect it (term 3 is taken: they voted for S1, so it
        // takes two tries), and it overwrites index 2 everywhere.
        c.crash(s1)
        c.filter = nil
        c.restart(s5)
        timeOutUntilLeader(c, s5)
        #expect(c.node(s5).role == .leader && c.node(s5).term == 4)
        c.settle()
        for id in [s2, s3, s4, s5] {
            #expect(term(c, id, at: 2) == 2, "\(id) index 2")
            #expect(c.node(id).commitIndex == 3)
        }
        // S1's command was never applied anywhere; the history is safe.
        for id in [s2, s3, s4, s5] {
            #expect(c.node(id).total == 0)
            #expect(c.node(id).machine.applied.isEmpty)
        }
        #expect(checker.violations.isEmpty, "\(checker.violations)")

        // S1 comes back and its uncommitted entries give way too.
        c.restart(s1)
        c.settle()
        #expect(term(c, s1, at: 2) == 2)
        #expect(c.inSync(c.ids), "\(c.syncDescription(c.ids))")
        #expect(checker.violations.isEmpty, "\(checker.violations)")
    }

    /// Figure 8 (e): had S1 replicated an entry of its own term to a majority before crashing,
    /// that entry would commit, and index 2 with it; S5 could then never be elected.
    @Test func anEntryOfTheLeadersTermOnAMajorityCommitsTheOlderOnes() {
        let (c, checker) = cluster()
        runToC(c)
        dropAppends(c, from: s1, to: [s4])
        c.heartbeat(s1)
        c.deliverAll()
        for id in [s1, s2, s3] { #expect(term(c, id, at: 3) == 3) }
        #expect(c.node(s1).commitIndex == 3)
        c.heartbeat(s1)
        c.deliverAll()
        for id in [s2, s3] { #expect(c.node(id).commitIndex == 3) }

        c.crash(s1)
        c.filter = nil
        c.restart(s5)
        for _ in 0..<3 {
            c.leaderLost(s5)
            c.deliverAll()
        }
        // S2 and S3 hold a log ending in term 3; S5's ends in term 2. Only S4 votes for it.
        #expect(c.node(s5).role != .leader)
        #expect(c.leaders.isEmpty)
        for id in [s2, s3] { #expect(term(c, id, at: 2) == 1 && term(c, id, at: 3) == 3) }
        // One of them is elected instead, and S5's stray entry at index 2 is replaced.
        c.leaderLost(s2)
        c.deliverAll()
        #expect(c.node(s2).role == .leader)
        c.settle()
        #expect(term(c, s5, at: 2) == 1)
        #expect(c.node(s5).total == 2)
        #expect(checker.violations.isEmpty, "\(checker.violations)")
    }
}
