import Testing
import RaftCore
@testable import RaftSim

/// test_reelection_3 of the reference library's suite (`raftengine-behaviour.md` §4): per-node
/// election timeout ranges decide who campaigns first, and so who wins after a split vote.
@Suite struct ReferenceTimeoutRangeTests {
    static let fast: ClosedRange<Nanos> = 10_000_000...11_000_000
    static let slow: ClosedRange<Nanos> = 10_000_000_000...30_000_000_000

    /// A node's timeout range is one of its own options, not a replicated setting, so a host
    /// changes it by restarting the node with new options (the seed rewrote each node's stored
    /// settings). The node comes back from its log as a follower.
    func restart(_ c: SimCluster, _ id: NodeID, range: ClosedRange<Nanos>) {
        c.node(id).options.electionTimeoutRange = range
        c.restart(id)
    }

    @Test func perNodeTimeoutRangesResolveASplitVote() {
        // Without pre-vote, three simultaneous campaigns are sure to split: each candidate has
        // voted for itself before it hears from the others.
        var o = SimCluster.Options(preVote: false)
        o.configureNode = { id, node in node.electionTimeoutRange = id == "sim://3" ? Self.fast : Self.slow }
        let c = SimCluster(o)
        let (n1, n2, n3) = (c.id(1), c.id(2), c.id(3))

        // N-3 times out first (10-11 ms against 10-30 s) and is elected.
        c.enableTimers()
        c.run(for: 100_000_000)
        #expect(c.node(n3).role == .leader && c.node(n3).term == 1, "\(c.stateDescription)")
        #expect(c.node(n1).leaderID == n3 && c.node(n2).leaderID == n3)

        // The ranges now favour N-2 (1-1.1 ms against 1-1.2 s); restarting for them demotes N-3.
        c.enableTimers(false)
        restart(c, n1, range: 1_000_000_000...1_200_000_000)
        restart(c, n2, range: 1_000_000...1_100_000)
        restart(c, n3, range: 1_000_000_000...1_200_000_000)
        #expect(c.leaders.isEmpty)

        // All three campaign at once: each votes for itself, nobody gets a majority.
        c.leaderLost(n1)
        c.leaderLost(n2)
        c.leaderLost(n3)
        c.deliverAll()
        #expect(c.leaders.isEmpty, "\(c.stateDescription)")
        let splitTerm = c.node(n2).term
        for id in [n1, n2, n3] {
            #expect(c.node(id).term == splitTerm)
            #expect(c.node(id).raft?.votedFor == id)
        }

        // N-2's timer fires first; it wins the next term and the others follow it.
        c.enableTimers()
        c.run(for: 50_000_000)
        #expect(c.node(n2).role == .leader, "\(c.stateDescription)")
        #expect(c.node(n2).term == splitTerm + 1)
        #expect(c.node(n1).leaderID == n2 && c.node(n3).leaderID == n2)
        #expect(c.leaders.count == 1)
    }
}
