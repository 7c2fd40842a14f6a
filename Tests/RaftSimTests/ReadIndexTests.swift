import Testing
import RaftCore
import RaftSim

/// Linearizable reads (ReadIndex, thesis §6.4).
@Suite struct ReadIndexTests {
    func read(_ c: SimCluster, at id: NodeID) -> UInt64 {
        let rid = c.newRequestID()
        c.with(id) { $0.readIndex(requestID: rid) }
        return rid
    }

    @Test func leaderConfirmsLeadershipBeforeAnsweringARead() {
        let c = SimCluster()
        c.elect(c.id(1))
        c.runCommand("add 5")
        let rid = read(c, at: c.id(1))
        // Not answered until a majority acknowledged a heartbeat sent after the request.
        #expect(c.outcome(rid) == nil)
        c.deliverAll()
        #expect(c.outcome(rid) == .applied([]))
        #expect(c.node(1).total == 5)
    }

    @Test func readsAtAFollowerAreRedirected() {
        let c = SimCluster()
        c.elect(c.id(1))
        let rid = read(c, at: c.id(2))
        #expect(c.outcome(rid) == .redirect(leader: c.id(1), address: ""))
    }

    @Test func aDeposedLeaderCannotServeAStaleRead() {
        let c = SimCluster()
        let (n1, n2, n3) = (c.id(1), c.id(2), c.id(3))
        c.elect(n1)
        c.runCommand("add 1")
        c.partition([[n1], [n2, n3]])
        c.leaderLost(n2)
        c.deliverAll()
        #expect(c.runCommand("add 10", at: n2) == .applied(Array("11".utf8)))
        // N1 still believes it leads, but no majority confirms it: the read never succeeds.
        let rid = read(c, at: n1)
        c.deliverAll()
        #expect(c.outcome(rid) == nil)
        c.heal()
        c.heartbeat(n2)
        c.deliverAll()
        #expect(c.node(1).role == .follower)
        #expect(c.outcome(rid) == .redirect(leader: n2, address: ""))
    }

    @Test func aNewLeaderWaitsForItsTermStartToCommit() {
        let c = SimCluster()
        let n1 = c.id(1)
        c.campaign(n1)
        // Deliver until N1 is leader, but before its term-start entry commits.
        c.deliverUntil { c.node(1).role == .leader }
        #expect(c.node(1).commitIndex == 0)
        let rid = read(c, at: n1)
        #expect(c.outcome(rid) == nil)
        c.deliverAll()
        #expect(c.outcome(rid) == .applied([]))
        #expect(c.node(1).commitIndex >= 1)
    }

    @Test func readsTimeOutWithoutAQuorum() {
        var o = SimCluster.Options()
        o.commandTimeout = 100_000_000
        let c = SimCluster(o)
        let (n1, n2, n3) = (c.id(1), c.id(2), c.id(3))
        c.elect(n1)
        c.partition([[n1], [n2, n3]])
        c.node(1).timersEnabled = true
        let rid = read(c, at: n1)
        c.advance(by: 120_000_000)
        #expect(c.outcome(rid) == .timeout)
    }
}
