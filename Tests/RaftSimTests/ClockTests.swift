import Testing
import RaftCore
import RaftSim

/// Per-node clocks and per-node options.
@Suite struct ClockTests {
    /// Only N2's clock passes the lease: N3 still hears from N1 and refuses N2's pre-vote, so
    /// N1 keeps leading. With every clock moved (`leaderLost`), N2 wins.
    @Test func aLeaderLostOnOneNodeOnlyDoesNotUnseatTheLeader() {
        let local = SimCluster.elected()
        let (n1, n2, n3) = (local.id(1), local.id(2), local.id(3))
        local.heartbeat(n1)
        local.deliverAll()
        local.leaderLostLocally(n2)
        local.deliverAll()
        #expect(local.time(of: n2) > local.time(of: n3))
        #expect(local.node(n1).role == .leader)
        #expect(local.node(n2).role != .leader)
        #expect(local.node(n1).term == 1 && local.node(n3).term == 1)

        let global = SimCluster.elected()
        global.heartbeat(global.id(1))
        global.deliverAll()
        global.leaderLost(global.id(2))
        global.deliverAll()
        #expect(global.node(global.id(2)).role == .leader)
        _ = n3
    }

    /// The node with the short timeout range times out first and wins: per-node options
    /// settle who campaigns (the seed's split-vote tests).
    @Test func perNodeTimeoutRangesDecideWhoCampaignsFirst() {
        for fast in 1...3 {
            var o = SimCluster.Options()
            o.configureNode = { id, node in
                node.electionTimeoutRange = id == "sim://\(fast)" ? 20_000_000...30_000_000 : 800_000_000...900_000_000
            }
            let c = SimCluster(o)
            c.enableTimers()
            c.run(for: 200_000_000)
            #expect(c.leader?.id == c.id(fast), "\(c.stateDescription)")
            #expect(c.leader?.term == 1)
        }
    }

    /// A node whose clock runs ahead fires its timers earlier in cluster time.
    @Test func aClockAheadFiresItsTimersEarlier() {
        var o = SimCluster.Options()
        o.configureNode = { _, node in node.electionTimeoutRange = 500_000_000...500_000_000 }
        let c = SimCluster(o)
        c.enableTimers()
        c.advanceClock(of: c.id(3), by: 300_000_000)
        c.run(for: 300_000_000)
        #expect(c.leader?.id == c.id(3), "\(c.stateDescription)")
    }
}
