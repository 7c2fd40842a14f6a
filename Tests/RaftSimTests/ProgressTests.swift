import Testing
import RaftCore
import RaftSim

/// The leader's public view of its followers (RaftNode.followers, SimCluster.progress): match,
/// next and replication state, read as a value, never parsed from a debug string.
@Suite struct ProgressTests {
    @Test func aNewLeaderProbesThenReplicates() {
        let c = SimCluster(SimCluster.Options())
        let (n1, n2, n3) = (c.id(1), c.id(2), c.id(3))
        // Votes only: the leader's first appends stay on the network.
        c.campaign(n1)
        c.deliverUntil { c.node(n1).role == .leader }
        let fresh = c.progress(at: n1)
        #expect(fresh.map(\.id) == [n2, n3])
        for p in fresh {
            #expect(p.state == .probe)
            #expect(p.match == 0)
            #expect(p.next == 1)
            #expect(p.lastContact == nil)
        }
        c.deliverAll()
        c.runCommand("add 1")
        for p in c.progress(at: n1) {
            #expect(p.state == .replicate)
            #expect(p.match == 2)
            #expect(p.next == 3)
            #expect(p.inflight == 0)
            #expect(p.lastContact != nil)
        }
        // A follower has no view of others.
        #expect(c.progress(at: n2).isEmpty)
        #expect(c.progress(of: n3, at: n2) == nil)
    }

    @Test func appendsInFlightShowAsNextAheadOfMatch() {
        let c = SimCluster.elected()
        let (n1, n3) = (c.id(1), c.id(3))
        c.filter = { m in m.to == n3 ? .hold : .deliver }
        for _ in 0..<3 { c.propose(n1, "add 1") }
        c.deliverAll()
        let p = c.progress(of: n3, at: n1)
        #expect(p?.state == .replicate)
        #expect(p?.match == 1)
        #expect(p?.next == 5)
        #expect(p?.inflight == 3)
        #expect(c.progress(of: c.id(2), at: n1)?.match == 4)
        c.filter = nil
        c.releaseHeld()
        c.deliverAll()
        #expect(c.progress(of: n3, at: n1)?.match == 4)
        #expect(c.progress(of: n3, at: n1)?.inflight == 0)
    }

    @Test func aFollowerBehindTheSnapshotIsSentOne() throws {
        let c = SimCluster.elected()
        let (n1, n3) = (c.id(1), c.id(3))
        c.crash(n3)
        c.proposeBatch(5)
        let meta = try #require(c.takeSnapshot(n1))
        c.restart(n3)
        c.heartbeat(n1)
        var states: [ReplicationState] = []
        c.deliverUntil {
            if let s = c.progress(of: n3, at: n1)?.state, s != states.last { states.append(s) }
            return c.node(n3).log.snapshotMeta != nil && c.progress(of: n3, at: n1)?.state == .replicate
        }
        c.settle()
        #expect(states.contains(.snapshot(meta.index)), "\(states)")
        #expect(states.last == .replicate)
        #expect(c.progress(of: n3, at: n1)?.match == c.node(n1).lastIndex)
    }
}
