import Testing
import RaftCore
import RaftSim

/// A node's own options changed at a restart through the public API (`restart(_:adjusting:)`):
/// the node that comes back with the short election timeout wins the next election.
@Suite struct NodeOptionsRestartTests {
    static let fast: ClosedRange<Nanos> = 20_000_000...30_000_000
    static let slow: ClosedRange<Nanos> = 800_000_000...900_000_000

    @Test func aRestartWithANewTimeoutRangeDecidesTheNextElection() {
        var o = SimCluster.Options()
        o.configureNode = { id, node in node.electionTimeoutRange = id == "sim://3" ? Self.fast : Self.slow }
        let c = SimCluster(o)
        let (n1, n2, n3) = (c.id(1), c.id(2), c.id(3))
        c.enableTimers()
        c.run(for: 200_000_000)
        #expect(c.leader?.id == n3, "\(c.stateDescription)")
        #expect(c.nodeOptions(n3).electionTimeoutRange == Self.fast)

        c.enableTimers(false)
        c.restart(n3) { $0.electionTimeoutRange = Self.slow }
        c.restart(n2) { $0.electionTimeoutRange = Self.fast }
        #expect(c.nodeOptions(n2).electionTimeoutRange == Self.fast)
        #expect(c.nodeOptions(n3).electionTimeoutRange == Self.slow)
        #expect(c.node(n2).lifetime == 2 && c.node(n1).lifetime == 1)
        #expect(c.leaders.isEmpty)
        c.enableTimers()
        c.run(for: 2_000_000_000)
        #expect(c.leader?.id == n2, "\(c.stateDescription)")
        #expect(c.node(n1).leaderID == n2 && c.node(n3).leaderID == n2)

        // nil: back to the cluster settings' range; the id cannot be changed.
        c.restart(n2) { $0.electionTimeoutRange = nil; $0.id = "elsewhere" }
        #expect(c.nodeOptions(n2).electionTimeoutRange == nil)
        #expect(c.nodeOptions(n2).id == n2 && c.node(n2).isUp)
    }
}
